//! aws-sdk clients for every target kind: one code path, different endpoints
//! and credentials.

use crate::scenario::RetryPolicy;
use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_sdk_s3::config::Region;
use std::time::Duration;

/// The SDK retry configuration of a scenario's retry policy.
pub fn retry_config(p: RetryPolicy) -> RetryConfig {
    match p {
        RetryPolicy::Off => RetryConfig::disabled(),
        RetryPolicy::Standard => RetryConfig::standard(),
        RetryPolicy::Adaptive => RetryConfig::adaptive(),
    }
}

/// Static credentials for a simulator or endpoint requester.
#[derive(Clone)]
pub struct StaticCredentials {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
}

impl std::fmt::Debug for StaticCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "StaticCredentials({}, <redacted>)", self.access_key_id)
    }
}

impl StaticCredentials {
    /// The SDK credentials provider for this key pair.
    pub fn provider(&self) -> Credentials {
        Credentials::new(
            &self.access_key_id,
            &self.secret_access_key,
            None,
            None,
            "sse-bench",
        )
    }
}

impl StaticCredentials {
    /// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, when both are set.
    pub fn from_env() -> Option<StaticCredentials> {
        match (
            std::env::var("AWS_ACCESS_KEY_ID"),
            std::env::var("AWS_SECRET_ACCESS_KEY"),
        ) {
            (Ok(a), Ok(s)) => Some(StaticCredentials {
                access_key_id: a,
                secret_access_key: s,
            }),
            _ => None,
        }
    }
}

impl From<&sse_sim::Credential> for StaticCredentials {
    fn from(c: &sse_sim::Credential) -> Self {
        StaticCredentials {
            access_key_id: c.access_key_id.clone(),
            secret_access_key: c.secret_access_key.clone(),
        }
    }
}

/// Where and how to connect.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// Endpoint URL (`None` for real AWS).
    pub endpoint: Option<String>,
    /// Region.
    pub region: String,
    /// Credentials; `None` uses the standard chain.
    pub credentials: Option<StaticCredentials>,
    /// Retry policy.
    pub retry: RetryPolicy,
    /// Per-attempt timeout.
    pub timeout: Duration,
}

impl ClientOptions {
    /// Options for a loopback endpoint with static credentials.
    pub fn endpoint(url: &str, region: &str, creds: StaticCredentials) -> Self {
        ClientOptions {
            endpoint: Some(url.to_owned()),
            region: region.to_owned(),
            credentials: Some(creds),
            retry: RetryPolicy::Off,
            timeout: Duration::from_secs(30),
        }
    }
}

/// The HTTPS client every SDK client and credential provider uses: hyper with rustls
/// on ring, the proxy taken from the environment (`HTTPS_PROXY`, `NO_PROXY`), as the
/// SDK's default client does with aws-lc.
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().build_with_connector_fn(|settings, components| {
        let mut b = aws_smithy_http_client::ConnectorBuilder::default()
            .tls_provider(Provider::Rustls(CryptoMode::Ring));
        b.set_connector_settings(settings.cloned());
        if let Some(c) = components {
            b.set_sleep_impl(c.sleep_impl());
        }
        b.set_proxy_config(Some(aws_smithy_http_client::proxy::ProxyConfig::from_env()));
        b.build()
    })
}

/// The shared SDK configuration of a client with these options.
fn sdk_config(o: &ClientOptions) -> aws_config::SdkConfig {
    let mut b = aws_config::SdkConfig::builder()
        .http_client(https_client())
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(o.region.clone()));
    if let Some(e) = &o.endpoint {
        b = b.endpoint_url(e);
    }
    if let Some(c) = &o.credentials {
        b = b.credentials_provider(SharedCredentialsProvider::new(c.provider()));
    }
    b.build()
}

/// An S3 client (path-style addressing when an endpoint is set).
pub fn s3_client(o: &ClientOptions) -> aws_sdk_s3::Client {
    super::aws::s3_client(&sdk_config(o), o.retry, o.timeout, o.endpoint.is_some())
}

/// A KMS client.
pub fn kms_client(o: &ClientOptions) -> aws_sdk_kms::Client {
    super::aws::kms_client(&sdk_config(o), o.retry, o.timeout)
}

/// A CloudWatch client (reading `AWS/Usage` KMS call counts).
pub fn cloudwatch_client(o: &ClientOptions) -> aws_sdk_cloudwatch::Client {
    super::aws::cloudwatch_client(&sdk_config(o), o.retry, o.timeout)
}
