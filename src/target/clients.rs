//! aws-sdk clients for every target kind: one code path, different endpoints
//! and credentials.

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_credential_types::Credentials;
use aws_sdk_s3::config::Region;
use std::time::Duration;

/// How the SDK retries failed requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RetryPolicy {
    /// No retries: every failure is recorded as it happened.
    #[default]
    Off,
    /// The SDK's standard mode (3 attempts).
    Standard,
    /// The SDK's adaptive mode (client-side rate limiting).
    Adaptive,
}

impl RetryPolicy {
    /// The SDK retry configuration.
    pub fn to_sdk(self) -> RetryConfig {
        match self {
            RetryPolicy::Off => RetryConfig::disabled(),
            RetryPolicy::Standard => RetryConfig::standard(),
            RetryPolicy::Adaptive => RetryConfig::adaptive(),
        }
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

impl From<&crate::sim::Credential> for StaticCredentials {
    fn from(c: &crate::sim::Credential) -> Self {
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

    fn timeouts(&self) -> aws_config::timeout::TimeoutConfig {
        aws_config::timeout::TimeoutConfig::builder()
            .operation_attempt_timeout(self.timeout)
            .connect_timeout(Duration::from_secs(5))
            .build()
    }
}

/// An S3 client (path-style addressing when an endpoint is set).
pub fn s3_client(o: &ClientOptions) -> aws_sdk_s3::Client {
    let mut b = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(o.region.clone()))
        .retry_config(o.retry.to_sdk())
        .timeout_config(o.timeouts())
        // The per-attempt timeout bounds every request; the SDK's stalled-stream monitor would
        // add a timer to every body poll and turn slow-but-progressing bodies into errors.
        .stalled_stream_protection(aws_sdk_s3::config::StalledStreamProtectionConfig::disabled());
    if let Some(e) = &o.endpoint {
        b = b.endpoint_url(e).force_path_style(true);
    }
    if let Some(c) = &o.credentials {
        b = b.credentials_provider(c.provider());
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

/// A KMS client.
pub fn kms_client(o: &ClientOptions) -> aws_sdk_kms::Client {
    let mut b = aws_sdk_kms::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_kms::config::Region::new(o.region.clone()))
        .retry_config(o.retry.to_sdk())
        .timeout_config(o.timeouts());
    if let Some(e) = &o.endpoint {
        b = b.endpoint_url(e);
    }
    if let Some(c) = &o.credentials {
        b = b.credentials_provider(c.provider());
    }
    aws_sdk_kms::Client::from_conf(b.build())
}

/// A CloudWatch client (reading `AWS/Usage` KMS call counts).
pub fn cloudwatch_client(o: &ClientOptions) -> aws_sdk_cloudwatch::Client {
    let mut b = aws_sdk_cloudwatch::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_sdk_cloudwatch::config::Region::new(o.region.clone()))
        .retry_config(o.retry.to_sdk())
        .timeout_config(o.timeouts());
    if let Some(e) = &o.endpoint {
        b = b.endpoint_url(e);
    }
    if let Some(c) = &o.credentials {
        b = b.credentials_provider(c.provider());
    }
    aws_sdk_cloudwatch::Client::from_conf(b.build())
}
