//! Simulator settings: a TOML file for `serve --config`, and the scenario's
//! `[simulator]` table. Every value has a default; latency and faults are off
//! by default.

use crate::units::HumanDuration;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::time::Duration;

/// Account id the simulator reports in ARNs.
pub const DEFAULT_ACCOUNT_ID: &str = "111122223333";

/// The whole simulator configuration.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SimConfig {
    /// Region the simulator claims to be (ARNs, default quota).
    pub region: String,
    /// Account id used in ARNs.
    pub account_id: String,
    /// Shared symmetric-crypto quota per second; `None` uses the region's real default.
    pub kms_quota_rps: Option<u64>,
    /// Latency of each KMS call (direct, and S3's calls on your behalf).
    pub kms_latency: LatencyModel,
    /// Latency of each S3 request, plus time per MiB of body.
    pub s3_latency: LatencyModel,
    /// How long S3 keeps a Bucket Key before asking KMS for a new one (not documented by AWS).
    pub bucket_key_lifetime: HumanDuration,
    /// Injected faults.
    pub faults: Faults,
    /// Seed for latency and fault sampling.
    pub seed: u64,
    /// Number of generated requester credentials (`requester_credentials`).
    pub requesters: u32,
    /// Extra credentials accepted besides the generated ones.
    pub credentials: Vec<Credential>,
    /// The role generated requester i is a session of (position i; `None`: its own
    /// identity). Set by the harness from a scenario's `[principal_roles]`.
    #[serde(skip)]
    pub requester_roles: Vec<Option<String>>,
    /// Who is one requester for Bucket Keys: the role of a credential that names one
    /// (AWS today), or each credential (session) on its own (AWS's older rule).
    pub bucket_key_requester: RequesterRule,
    /// Keep object data (still encrypted) in this directory instead of memory.
    pub data_dir: Option<PathBuf>,
    /// HEAD with `x-amz-checksum-mode: ENABLED` on a KMS object calls Decrypt (inferred).
    pub head_checksum_decrypt: bool,
    /// UploadPart on a KMS object calls Decrypt once per part (inferred).
    pub upload_part_decrypt: bool,
    /// CompleteMultipartUpload of a KMS object whose parts carry checksums calls Decrypt once (inferred).
    pub complete_checksum_decrypt: bool,
    /// Limits on what a client may send (sizes, slow or stalled requests).
    pub limits: crate::limits::Limits,
    /// Write S3 server access logs and CloudTrail records of the simulator's own
    /// traffic into this directory (`access-logs/`, `cloudtrail/`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logs: Option<PathBuf>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            region: "us-east-1".into(),
            account_id: DEFAULT_ACCOUNT_ID.into(),
            kms_quota_rps: None,
            kms_latency: LatencyModel::default(),
            s3_latency: LatencyModel::default(),
            bucket_key_lifetime: HumanDuration(Duration::from_secs(300)),
            faults: Faults::default(),
            seed: 1,
            requesters: 1,
            credentials: Vec::new(),
            requester_roles: Vec::new(),
            bucket_key_requester: RequesterRule::Role,
            data_dir: None,
            head_checksum_decrypt: true,
            upload_part_decrypt: true,
            complete_checksum_decrypt: true,
            limits: crate::limits::Limits::default(),
            logs: None,
        }
    }
}

impl SimConfig {
    /// The quota in force: the configured one or the region's default.
    pub fn effective_kms_quota(&self) -> u64 {
        self.kms_quota_rps
            .unwrap_or_else(|| default_kms_quota(&self.region))
    }

    /// Access keys that are sessions of a role, with the role.
    pub fn credential_roles(&self) -> std::collections::HashMap<String, String> {
        self.all_credentials()
            .into_iter()
            .filter_map(|c| Some((c.access_key_id, c.role?)))
            .collect()
    }

    /// Access keys whose Bucket Key requester is their role, under the role rule.
    pub fn bucket_key_identities(&self) -> std::collections::HashMap<String, String> {
        match self.bucket_key_requester {
            RequesterRule::Session => Default::default(),
            RequesterRule::Role => self.credential_roles(),
        }
    }

    /// Every credential the simulator accepts: generated requesters first.
    pub fn all_credentials(&self) -> Vec<Credential> {
        let mut v: Vec<Credential> = (0..self.requesters.max(1))
            .map(|i| Credential {
                role: self.requester_roles.get(i as usize).cloned().flatten(),
                ..requester_credential(i)
            })
            .collect();
        v.extend(self.credentials.iter().cloned());
        v
    }
}

/// The default KMS symmetric-crypto quota of a region (docs/aws-behaviour.md §4).
pub fn default_kms_quota(region: &str) -> u64 {
    match region {
        "us-east-1" | "us-west-2" | "eu-west-1" => 100_000,
        "us-east-2" | "ap-southeast-1" | "ap-southeast-2" | "ap-northeast-1" | "eu-central-1"
        | "eu-west-2" => 20_000,
        _ => 10_000,
    }
}

/// The i-th generated requester credential (deterministic, loopback-only).
pub fn requester_credential(i: u32) -> Credential {
    Credential {
        access_key_id: format!("SSEBENCHREQUESTER{i:03}"),
        secret_access_key: format!("sse-bench-simulator-secret-{i:03}"),
        role: None,
    }
}

/// Who counts as one requester for S3 Bucket Keys (docs/aws-behaviour.md §2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequesterRule {
    /// Sessions of one IAM role (credentials naming the same `role`) are one requester.
    #[default]
    Role,
    /// Every credential is its own requester, as AWS counted IAM sessions before.
    Session,
}

/// An access key pair the simulator accepts. The secret is never serialized into results.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    /// Access key id.
    pub access_key_id: String,
    /// Secret access key.
    pub secret_access_key: String,
    /// The IAM role these keys are a session of (an ARN or a name), if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credential")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field("role", &self.role)
            .finish()
    }
}

/// A latency distribution: lognormal through `median` and `p99` (equal values mean a
/// fixed latency), plus `per_mib` for every MiB of body. All zero means off.
#[derive(Clone, Copy, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LatencyModel {
    /// Median latency.
    pub median: HumanDuration,
    /// 99th percentile latency (at least the median).
    pub p99: HumanDuration,
    /// Extra time per MiB of request or response body.
    pub per_mib: HumanDuration,
}

impl LatencyModel {
    /// A fixed latency.
    pub fn fixed(d: Duration) -> Self {
        LatencyModel {
            median: HumanDuration(d),
            p99: HumanDuration(d),
            per_mib: HumanDuration::default(),
        }
    }

    /// True when it adds no time.
    pub fn is_off(&self) -> bool {
        self.median.0.is_zero() && self.p99.0.is_zero() && self.per_mib.0.is_zero()
    }

    /// Checks median ≤ p99.
    pub fn validate(&self) -> Result<(), String> {
        if self.p99.0 < self.median.0 && !self.p99.0.is_zero() {
            return Err(format!(
                "p99 ({}) is below the median ({})",
                self.p99, self.median
            ));
        }
        Ok(())
    }
}

/// Injected faults, sampled from the seeded generator.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    /// Probability that an S3 request gets 500 InternalError.
    pub s3_5xx: f64,
    /// Probability that a direct KMS request gets 500 KMSInternalException.
    pub kms_5xx: f64,
    /// Probability that an S3 connection is dropped without a response.
    pub connection_reset: f64,
    /// Probability that an S3 request stalls for `stall`.
    pub stall_probability: f64,
    /// The n-th S3 request (1-based) stalls for `stall`: a deterministic stall for tests.
    pub stall_at_request: Option<u64>,
    /// Length of a stall.
    pub stall: HumanDuration,
}

impl Default for Faults {
    fn default() -> Self {
        Faults {
            s3_5xx: 0.0,
            kms_5xx: 0.0,
            connection_reset: 0.0,
            stall_probability: 0.0,
            stall_at_request: None,
            stall: HumanDuration(Duration::from_secs(1)),
        }
    }
}

impl Faults {
    /// Checks every probability is within [0, 1].
    pub fn validate(&self) -> Result<(), String> {
        for (name, p) in [
            ("s3_5xx", self.s3_5xx),
            ("kms_5xx", self.kms_5xx),
            ("connection_reset", self.connection_reset),
            ("stall_probability", self.stall_probability),
        ] {
            if !(0.0..=1.0).contains(&p) {
                return Err(format!(
                    "faults.{name}: expected a probability between 0 and 1, got {p}"
                ));
            }
        }
        Ok(())
    }
}
