//! Targets: the embedded simulator, an S3-compatible endpoint or real AWS, reached
//! through the same aws-sdk clients. What lives here: which target ([`spec`]), how a
//! run may use it ([`access`]), connecting ([`connect`]) and finding `sse-bench serve`'s
//! KMS behind an endpoint ([`discover`]), buckets ([`provision`],
//! [`cleanup`]), the KMS key ([`keys`]), exact KMS counts ([`counter`]) and SDK clients
//! ([`clients`], [`aws`]). What must not: the load itself (the driver) and what is
//! made of the counts (`kms`, `results`).

pub mod access;
pub mod aws;
pub mod capabilities;
mod cleanup;
pub mod clients;
mod connect;
pub mod counter;
pub mod discover;
mod keys;
mod provision;
pub mod spec;

pub use access::{Access, AccessOptions};
pub use cleanup::LeftBehind;
pub use clients::{ClientOptions, StaticCredentials, cloudwatch_client, kms_client, s3_client};
pub use connect::sim_config;
pub use counter::{CounterScope, KmsCounter};
pub use keys::{CreatedKey, KEY_DELETION_DAYS};
pub use spec::TargetSpec;

use crate::scenario::Mode;
pub use crate::scenario::RetryPolicy;
use sse_sim::Simulator;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Counts SDK attempts (first tries and retries).
#[derive(Debug, Clone, Default)]
pub struct AttemptCounter(pub Arc<AtomicU64>);

impl aws_sdk_s3::config::Intercept for AttemptCounter {
    fn name(&self) -> &'static str {
        "sse-bench attempt counter"
    }

    fn read_before_attempt(
        &self,
        _ctx: &aws_sdk_s3::config::interceptors::BeforeTransmitInterceptorContextRef<'_>,
        _rc: &aws_smithy_runtime_api::client::runtime_components::RuntimeComponents,
        _cfg: &mut aws_smithy_types::config_bag::ConfigBag,
    ) -> Result<(), aws_smithy_runtime_api::box_error::BoxError> {
        self.0.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}

/// Clients whose SDK attempts a run counts.
pub trait Counted: Sized {
    /// The same client, counting its attempts in `a`.
    fn counted(self, a: &AttemptCounter) -> Self;
}

/// Implements [`Counted`] for the clients of SDK crates.
macro_rules! counted {
    ($($sdk:ident),*) => {$(
        impl Counted for $sdk::Client {
            fn counted(self, a: &AttemptCounter) -> Self {
                $sdk::Client::from_conf(self.config().to_builder().interceptor(a.clone()).build())
            }
        }
    )*};
}
counted!(aws_sdk_s3, aws_sdk_kms);

/// A connected target with its buckets.
pub struct Target {
    /// What it is.
    pub spec: TargetSpec,
    /// Region used for signing and ARNs.
    pub region: String,
    /// The simulator, when embedded.
    pub sim: Option<Simulator>,
    /// The temporary directory the embedded simulator keeps objects in when they
    /// exceed the memory budget; removed when the target is dropped.
    pub spill: Option<tempfile::TempDir>,
    /// Principal names, index-aligned with `clients`.
    pub principals: Vec<String>,
    /// One S3 client per principal.
    pub clients: Vec<aws_sdk_s3::Client>,
    /// KMS key ARN used by the KMS modes.
    pub kms_key_arn: Option<String>,
    /// Bucket name per (mode, bucket role).
    pub buckets: BTreeMap<(Mode, String), String>,
    /// SDK attempts across all clients.
    pub attempts: AttemptCounter,
    /// One KMS client per principal, where the target has a KMS endpoint.
    pub kms_clients: Vec<aws_sdk_kms::Client>,
    /// Where exact KMS counts come from: the in-process simulator, or the admin
    /// endpoint of an `sse-bench serve` target; none elsewhere.
    pub counter: Option<Arc<dyn KmsCounter>>,
    /// Buckets this run created (the only ones cleanup may delete).
    pub created: std::collections::BTreeSet<String>,
    /// The prefix of every key in reused buckets (`--bucket`); empty for created buckets.
    pub key_prefix: String,
    /// The KMS key this run created (`--create-key`).
    pub created_key: Option<String>,
    /// Shared configuration of the aws target (CloudWatch clients are built from it).
    pub sdk_config: Option<aws_config::SdkConfig>,
    /// KMS client that created the key (scheduling its deletion).
    pub(super) key_admin: Option<aws_sdk_kms::Client>,
}

impl Target {
    /// The encryption headers writes carry in `mode`: none on buckets the run configured
    /// (their default encryption applies), the mode's own on reused buckets.
    pub fn sse_for(&self, mode: Mode) -> Option<crate::driver::ops::Sse> {
        if self.key_prefix.is_empty() {
            return None;
        }
        Some(crate::driver::ops::Sse {
            algorithm: mode.algorithm().to_owned(),
            kms_key_id: if mode.uses_kms() {
                self.kms_key_arn.clone()
            } else {
                None
            },
            bucket_key: matches!(mode, Mode::SseKms | Mode::SseKmsBucketKey)
                .then(|| mode.bucket_key()),
        })
    }

    /// The distinct buckets the run uses (created or reused), sorted.
    pub fn bucket_names(&self) -> Vec<String> {
        self.buckets
            .values()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    /// The KMS quota in force, when the target says.
    pub fn kms_quota(&self) -> Option<u64> {
        self.counter.as_ref().and_then(|c| c.quota())
    }

    /// Whether the target counts KMS calls (the simulator, in-process or via its admin endpoint).
    pub fn kms_measured(&self) -> bool {
        self.counter.is_some()
    }

    /// Whose counts the target's KMS counter reads.
    pub fn counter_scope(&self) -> CounterScope {
        self.counter
            .as_ref()
            .map_or(CounterScope::None, |c| c.scope())
    }

    /// The target's cumulative KMS counts, when it has them (a failed reading is a warning).
    pub async fn kms_snapshot(&self) -> Option<crate::kms::counts::KmsSnapshot> {
        match self.counter.as_ref()?.snapshot().await {
            Ok(s) => Some(s),
            Err(e) => {
                tracing::warn!("KMS counts unavailable: {e}");
                None
            }
        }
    }

    /// Principal name by access key id, where the target issued the keys (the simulator).
    pub fn principal_names(&self) -> BTreeMap<String, String> {
        match &self.sim {
            Some(sim) => sim
                .credentials()
                .iter()
                .zip(&self.principals)
                .map(|(c, n)| (c.access_key_id.clone(), n.clone()))
                .collect(),
            None => BTreeMap::new(),
        }
    }

    /// The simulator's settings for summaries (embedded only; never credentials).
    pub fn simulator_settings(&self) -> Option<serde_json::Value> {
        let sim = self.sim.as_ref()?;
        let mut v = serde_json::to_value(sim.config()).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.remove("credentials");
            o.insert("kms_quota_rps".into(), serde_json::json!(sim.kms_quota()));
        }
        Some(v)
    }

    /// The rules the KMS model follows here: the simulator's settings, else the defaults.
    pub fn kms_rules(&self) -> crate::kms::KmsRules {
        self.sim
            .as_ref()
            .map_or_else(crate::kms::KmsRules::default, |sim| {
                crate::kms::KmsRules::from_sim(sim.config())
            })
    }

    /// A description for summaries.
    pub fn label(&self) -> String {
        self.spec.label()
    }
}

/// The tag every bucket a run creates carries.
pub const RUN_TAG: &str = "sse-bench:run";

/// A valid S3 bucket name from its parts (lower case, at most 63 characters).
pub fn bucket_name(prefix: &str, run_id: &str, mode: Mode, role: &str) -> String {
    let clean = |s: &str| {
        s.to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect::<String>()
    };
    let mut name = format!(
        "{}-{}-{}-{}",
        clean(prefix),
        clean(run_id),
        clean(mode.as_str()),
        clean(role)
    );
    name.truncate(63);
    name.trim_end_matches('-').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names_are_valid_and_bounded() {
        let n = bucket_name(
            "SSE_Bench",
            "0a1b2c3d",
            Mode::SseKmsBucketKey,
            "Audio Input",
        );
        assert_eq!(n, "sse-bench-0a1b2c3d-sse-kms-bucket-key-audio-input");
        let long = bucket_name("p", "0a1b2c3d", Mode::DsseKms, &"r".repeat(80));
        assert!(long.len() <= 63 && !long.ends_with('-'), "{long}");
    }
}
