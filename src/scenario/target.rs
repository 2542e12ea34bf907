//! `[target]`: where a scenario runs by default, the endpoints of an S3-compatible
//! target, the KMS key, SDK retries and timeouts, CloudWatch, and the credentials of
//! each principal on a real target.

use crate::units::HumanDuration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Kind of target.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TargetKind {
    /// The in-process simulator.
    #[default]
    Embedded,
    /// Any S3-compatible URL.
    Endpoint,
    /// Real AWS.
    Aws,
}

impl TargetKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Embedded => "embedded",
            TargetKind::Endpoint => "endpoint",
            TargetKind::Aws => "aws",
        }
    }
}

impl std::fmt::Display for TargetKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How the SDK retries failed requests (`[target] retries`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
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

/// `[target]`.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetConfig {
    /// embedded | endpoint | aws.
    #[serde(default)]
    pub kind: TargetKind,
    /// Region (default: the simulator's, or us-east-1).
    pub region: Option<String>,
    /// S3 endpoint URL (endpoint targets).
    pub endpoint: Option<String>,
    /// KMS endpoint URL (endpoint targets with a KMS).
    pub kms_endpoint: Option<String>,
    /// Admin endpoint of an `sse-bench serve` target, for exact KMS counts.
    pub admin_endpoint: Option<String>,
    /// KMS key for the KMS modes (embedded: created under this alias).
    #[serde(default = "default_kms_key")]
    pub kms_key: String,
    /// Automatic rotations the key has had (for its monthly charge; an existing key
    /// with rotation on has one a year).
    #[serde(default)]
    pub kms_key_rotations: u32,
    /// Prefix of bucket names the run creates.
    #[serde(default = "default_bucket_prefix")]
    pub bucket_prefix: String,
    /// SDK retries: off | standard | adaptive.
    #[serde(default)]
    pub retries: RetryPolicy,
    /// Timeout of one request attempt.
    #[serde(default = "default_timeout")]
    pub timeout: HumanDuration,
    /// Read account-wide KMS call counts from CloudWatch after the run.
    pub cloudwatch: Option<CloudWatchConfig>,
    /// Credentials per principal on a real target (`[target.principals]`): a named
    /// profile or a role to assume, so each requester is its own principal to AWS.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub principals: BTreeMap<String, PrincipalSource>,
}

/// Where one principal's credentials come from on a real target.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrincipalSource {
    /// A profile of the shared AWS config files.
    pub profile: Option<String>,
    /// A role to assume (through STS, from the default chain or `profile`).
    pub role_arn: Option<String>,
    /// External id for the role, when its trust policy asks for one.
    pub external_id: Option<String>,
}

/// `[target.cloudwatch]`: KMS `CallCount` from CloudWatch `AWS/Usage` (account-wide).
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CloudWatchConfig {
    /// How long to wait after the run for the metric to be published.
    #[serde(default = "default_settle")]
    pub settle: HumanDuration,
    /// CloudWatch endpoint URL (default: the region's; set it for an endpoint target).
    pub endpoint: Option<String>,
}

fn default_settle() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(300))
}

fn default_kms_key() -> String {
    "alias/sse-bench".into()
}
fn default_bucket_prefix() -> String {
    "sse-bench".into()
}
fn default_timeout() -> HumanDuration {
    HumanDuration(std::time::Duration::from_secs(30))
}

impl Default for TargetConfig {
    fn default() -> Self {
        TargetConfig {
            kind: TargetKind::Embedded,
            region: None,
            endpoint: None,
            kms_endpoint: None,
            admin_endpoint: None,
            kms_key: default_kms_key(),
            kms_key_rotations: 0,
            bucket_prefix: default_bucket_prefix(),
            retries: RetryPolicy::Off,
            timeout: default_timeout(),
            cloudwatch: None,
            principals: BTreeMap::new(),
        }
    }
}
