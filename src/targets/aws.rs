//! Real AWS through aws-config's standard chain: environment, shared profiles (`--profile`),
//! SSO, web identity, container and instance roles; `AWS_ENDPOINT_URL` (and the per-service
//! `AWS_ENDPOINT_URL_S3`, `_KMS`, `_STS`, `_CLOUDWATCH`) honoured. One credential source per
//! requester principal: a named profile or a role assumed through STS.

use crate::error::{Context as _, Error, Result};
use crate::scenario::PrincipalSource;
use crate::scenario::RetryPolicy;
use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
use std::time::Duration;

/// Loads the shared configuration: `profile` (else `AWS_PROFILE` / default) and `region`
/// (else the chain's: `AWS_REGION`, the profile's region, instance metadata).
pub async fn load(profile: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader =
        aws_config::defaults(BehaviorVersion::latest()).http_client(super::clients::https_client());
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    if let Some(r) = region {
        loader = loader.region(aws_config::Region::new(r.to_owned()));
    }
    loader.load().await
}

/// Whether S3 requests go to a custom endpoint (`AWS_ENDPOINT_URL[_S3]` or a profile's
/// `endpoint_url`): then buckets are addressed path-style, as S3-compatible servers expect.
pub fn custom_s3_endpoint(base: &SdkConfig) -> bool {
    base.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some()
}

/// The configuration one principal signs with.
pub async fn principal_config(
    base: &SdkConfig,
    region: &str,
    name: &str,
    src: &PrincipalSource,
    run_id: &str,
) -> SdkConfig {
    let source = match &src.profile {
        Some(p) => load(Some(p), Some(region)).await,
        None => base.clone(),
    };
    let Some(role) = &src.role_arn else {
        return source;
    };
    let mut b = aws_config::sts::AssumeRoleProvider::builder(role)
        .session_name(session_name(run_id, name))
        .region(aws_config::Region::new(region.to_owned()))
        .configure(&source);
    if let Some(id) = &src.external_id {
        b = b.external_id(id);
    }
    let provider = b.build().await;
    source
        .to_builder()
        .credentials_provider(SharedCredentialsProvider::new(provider))
        .build()
}

/// An STS role session name: `sse-bench-<run>-<principal>`, at most 64 characters of
/// `[A-Za-z0-9+=,.@-]`, so CloudTrail shows which run and requester made each call.
pub fn session_name(run_id: &str, principal: &str) -> String {
    let mut s: String = format!("sse-bench-{run_id}-{principal}")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    s.truncate(64);
    s
}

/// Fails early, with the chain's own explanation, when no credentials can be found.
/// The error names where it looked, never a secret.
pub async fn check_credentials(cfg: &SdkConfig, who: &str) -> Result<()> {
    let provider = cfg
        .credentials_provider()
        .with_context(|| format!("{who}: no credentials provider in the AWS configuration"))?;
    provider.provide_credentials().await.map_err(|e| {
        Error::failure(format!("{who}: no AWS credentials ({}); the standard chain looks at AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE or --profile (shared config and credentials files, SSO, credential_process), web identity (AWS_WEB_IDENTITY_TOKEN_FILE), container and instance roles",
            crate::sdk_error::root_cause(&e)))
    })?;
    Ok(())
}

fn timeouts(timeout: Duration) -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .operation_attempt_timeout(timeout)
        .connect_timeout(Duration::from_secs(5))
        .build()
}

/// An S3 client from a shared configuration.
pub fn s3_client(
    cfg: &SdkConfig,
    retry: RetryPolicy,
    timeout: Duration,
    path_style: bool,
) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(cfg)
        .retry_config(super::clients::retry_config(retry))
        .timeout_config(timeouts(timeout))
        .stalled_stream_protection(aws_sdk_s3::config::StalledStreamProtectionConfig::disabled())
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A KMS client from a shared configuration.
pub fn kms_client(cfg: &SdkConfig, retry: RetryPolicy, timeout: Duration) -> aws_sdk_kms::Client {
    let conf = aws_sdk_kms::config::Builder::from(cfg)
        .retry_config(super::clients::retry_config(retry))
        .timeout_config(timeouts(timeout))
        .build();
    aws_sdk_kms::Client::from_conf(conf)
}

/// A CloudWatch client from a shared configuration.
pub fn cloudwatch_client(
    cfg: &SdkConfig,
    retry: RetryPolicy,
    timeout: Duration,
) -> aws_sdk_cloudwatch::Client {
    let conf = aws_sdk_cloudwatch::config::Builder::from(cfg)
        .retry_config(super::clients::retry_config(retry))
        .timeout_config(timeouts(timeout))
        .build();
    aws_sdk_cloudwatch::Client::from_conf(conf)
}

/// A CloudTrail client on the target's chain and region (`AWS_ENDPOINT_URL_CLOUDTRAIL`
/// applies); the standard retry mode backs off when LookupEvents is throttled.
pub fn cloudtrail_client(cfg: &SdkConfig, timeout: Duration) -> aws_sdk_cloudtrail::Client {
    let conf = aws_sdk_cloudtrail::config::Builder::from(cfg)
        .retry_config(super::clients::retry_config(RetryPolicy::Standard))
        .timeout_config(timeouts(timeout))
        .build();
    aws_sdk_cloudtrail::Client::from_conf(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_names_are_valid_for_sts() {
        let n = session_name("0a1b2c3d", "etl reader/1");
        assert_eq!(n, "sse-bench-0a1b2c3d-etl-reader-1");
        let long = session_name("0a1b2c3d", &"x".repeat(100));
        assert_eq!(long.len(), 64);
        assert!(
            long.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+=,.@-".contains(c))
        );
    }
}
