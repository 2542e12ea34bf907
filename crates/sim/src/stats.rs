//! The simulator's counters as one snapshot: KMS calls per API, key, caller, bucket
//! and second, throttles, and S3 requests per operation. This is the type the
//! admin endpoint serves (`/_sim/stats`) and the in-process API returns.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Who made a KMS call: S3 on a requester's behalf, or the requester itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Via {
    /// S3 called KMS on the requester's behalf.
    S3,
    /// The requester called KMS itself.
    Direct,
}

impl Via {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Via::S3 => "s3",
            Via::Direct => "direct",
        }
    }
}

/// One row of KMS calls grouped by API, key and caller.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsCallCount {
    /// KMS API name, e.g. `GenerateDataKey`.
    pub api: String,
    /// ARN of the key used.
    pub key_arn: String,
    /// `"s3"` for calls S3 made on the requester's behalf, `"direct"` otherwise.
    pub via: Via,
    /// Access key id of the principal.
    pub requester: String,
    /// Bucket S3 called KMS for; empty for direct calls.
    #[serde(default)]
    pub bucket: String,
    /// Calls served (not throttled).
    pub count: u64,
    /// Calls rejected by the quota.
    pub throttled: u64,
}

/// KMS calls in one second of simulator time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SecondCount {
    /// Second since the simulator started.
    pub second: u64,
    /// Symmetric cryptographic calls served.
    pub calls: u64,
    /// Calls throttled.
    pub throttled: u64,
    /// Calls S3 made for each bucket in that second (served ones): what lets a reader
    /// attribute a second to the buckets, and so the modes, that made its calls.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_bucket: BTreeMap<String, u64>,
}

/// KMS side of a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KmsStats {
    /// All KMS calls served (every API).
    pub total: u64,
    /// All KMS calls throttled.
    pub throttled: u64,
    /// Calls served per API.
    pub by_api: BTreeMap<String, u64>,
    /// Calls throttled per API.
    pub throttled_by_api: BTreeMap<String, u64>,
    /// Calls per (API, key, caller).
    pub calls: Vec<KmsCallCount>,
    /// Symmetric cryptographic calls per second.
    pub per_second: Vec<SecondCount>,
}

/// S3 side of a snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct S3Stats {
    /// HTTP requests received on the S3 port (including rejected ones).
    pub requests: u64,
    /// Requests per S3 operation that reached a handler.
    pub by_operation: BTreeMap<String, u64>,
    /// Error responses per S3 error code.
    pub errors_by_code: BTreeMap<String, u64>,
    /// Time from a request's arrival to its response, as the simulator served it.
    #[serde(default)]
    pub served_latency: ServedLatency,
}

/// Server-side latency of S3 requests, in milliseconds: the ground truth of injected latency.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ServedLatency {
    /// Requests measured.
    pub count: u64,
    /// Median.
    pub p50_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Maximum.
    pub max_ms: f64,
}

impl Eq for ServedLatency {}

/// A consistent copy of every counter.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimStats {
    /// KMS counters.
    pub kms: KmsStats,
    /// S3 counters.
    pub s3: S3Stats,
}

impl KmsStats {
    /// Calls served for one API.
    pub fn api(&self, api: &str) -> u64 {
        self.by_api.get(api).copied().unwrap_or(0)
    }

    /// Calls served for one API made by S3 for a bucket's key ARN, filtered by `pred`.
    pub fn count_where(&self, pred: impl Fn(&KmsCallCount) -> bool) -> u64 {
        self.calls.iter().filter(|c| pred(c)).map(|c| c.count).sum()
    }

    /// Highest number of symmetric calls served in one second.
    pub fn peak_per_second(&self) -> u64 {
        self.per_second.iter().map(|s| s.calls).max().unwrap_or(0)
    }
}

impl SimStats {
    /// The counters in Prometheus text exposition format.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP sse_sim_kms_requests_total KMS requests served by the simulator.\n");
        out.push_str("# TYPE sse_sim_kms_requests_total counter\n");
        for c in &self.kms.calls {
            let _ = writeln!(
                out,
                "sse_sim_kms_requests_total{{api=\"{}\",key_arn=\"{}\",via=\"{}\",requester=\"{}\",bucket=\"{}\"}} {}",
                c.api,
                c.key_arn,
                c.via.as_str(),
                c.requester,
                c.bucket,
                c.count
            );
        }
        out.push_str("# HELP sse_sim_kms_throttled_total KMS requests rejected by the quota.\n");
        out.push_str("# TYPE sse_sim_kms_throttled_total counter\n");
        for (api, n) in &self.kms.throttled_by_api {
            let _ = writeln!(out, "sse_sim_kms_throttled_total{{api=\"{api}\"}} {n}");
        }
        out.push_str("# HELP sse_sim_s3_requests_total S3 requests per operation.\n");
        out.push_str("# TYPE sse_sim_s3_requests_total counter\n");
        for (op, n) in &self.s3.by_operation {
            let _ = writeln!(out, "sse_sim_s3_requests_total{{operation=\"{op}\"}} {n}");
        }
        out.push_str("# HELP sse_sim_s3_errors_total S3 error responses per code.\n");
        out.push_str("# TYPE sse_sim_s3_errors_total counter\n");
        for (code, n) in &self.s3.errors_by_code {
            let _ = writeln!(out, "sse_sim_s3_errors_total{{code=\"{code}\"}} {n}");
        }
        out
    }
}
