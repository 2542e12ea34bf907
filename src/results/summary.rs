//! `summary.json`: one versioned document with everything a run measured
//! (schema checked in as `results/schema.json`).

pub use super::record::{CreatedKey, KmsSource, SkippedMode, TargetInfo};
use super::record::{Percentiles, StepTotals};
use crate::kms::Prediction;
use crate::kms::S3Requests;
use crate::kms::cloudwatch::AccountUsage;
use crate::prices::{CostBreakdown, RegionPrices};
use crate::scenario::{Mode, Op, Order};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Version of the summary format.
pub const SCHEMA_VERSION: u32 = 1;

/// The whole summary.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Summary {
    /// Format version.
    pub schema_version: u32,
    /// Tool that wrote it.
    pub tool: Tool,
    /// The scenario as run.
    pub scenario: ScenarioEcho,
    /// Where it ran.
    pub target: TargetInfo,
    /// The machine the load came from.
    pub machine: Machine,
    /// Start, RFC 3339 UTC.
    pub started_at: String,
    /// End, RFC 3339 UTC.
    pub ended_at: String,
    /// Wall-clock seconds.
    pub duration_s: f64,
    /// False when the run was interrupted or failed part-way.
    pub complete: bool,
    /// Why it is incomplete, if it is.
    pub incomplete_reason: Option<String>,
    /// What each mode changes against SSE-S3, with its uncertainty (when SSE-S3 ran).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<super::verdict::Verdict>,
    /// Per (mode, operation), over every measured phase and round.
    pub results: Vec<OpResult>,
    /// Per (mode, phase, round, stream, operation).
    pub phases: Vec<PhaseResult>,
    /// Per (mode, stream, operation).
    pub streams: Vec<StreamResult>,
    /// KMS use per mode.
    pub kms: Vec<ModeKms>,
    /// KMS calls CloudWatch counted in the account and region over the run (all callers).
    #[serde(default)]
    pub kms_account_wide: Option<AccountUsage>,
    /// The run's own KMS calls from CloudTrail event history (aws target).
    #[serde(default)]
    pub kms_cloudtrail: Option<crate::kms::cloudtrail::TrailCounts>,
    /// Cost per mode (empty when the region has no prices).
    #[serde(default)]
    pub cost: Vec<ModeCost>,
    /// The prices the costs were computed with.
    #[serde(default)]
    pub prices: Option<PriceInfo>,
    /// Throttling knees of ramped open-loop phases.
    #[serde(default)]
    pub knees: Vec<Knee>,
    /// Every step of the plan that ran.
    pub steps: Vec<StepTotals>,
    /// Open-loop load per mode: offered, achieved, dropped, and whether the load
    /// generator fell behind.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub load: Vec<super::load::ModeLoad>,
    /// Threshold verdicts.
    pub thresholds: Vec<ThresholdResult>,
    /// Sharded runs: this worker's shard and start barrier, or what a merge added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardsInfo>,
}

/// What a monthly projection's rate is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RateSource {
    /// The scenario's longest measured fixed open-loop rate.
    Scenario,
    /// What the run achieved (closed-loop scenarios).
    Measured,
}

/// Tool identity.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tool {
    /// "sse-bench".
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Git commit the binary was built from, when the build knew it.
    pub git_commit: Option<String>,
    /// Whether the build had uncommitted changes to tracked files (absent when the
    /// commit is unknown, and in summaries written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_dirty: Option<bool>,
}

/// The scenario as run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScenarioEcho {
    /// Name.
    pub name: String,
    /// Description.
    pub description: String,
    /// Source file.
    pub file: String,
    /// Seed in force.
    pub seed: u64,
    /// Modes.
    pub modes: Vec<Mode>,
    /// Order.
    pub order: Order,
    /// Rounds.
    pub rounds: u32,
    /// The parsed scenario.
    pub definition: serde_json::Value,
}

/// A sharded run: this worker's place and start barrier, or the shards a merge added up.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ShardsInfo {
    /// Number of shards of the run.
    pub count: u32,
    /// This worker's index (absent in a merged result).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// The common start instant (`--start-at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at: Option<String>,
    /// How late this worker reached the start instant, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_by_s: Option<f64>,
    /// The shards merged into this result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged: Vec<MergedShard>,
}

/// One shard of a merged result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MergedShard {
    /// Shard index.
    pub index: u32,
    /// Where its results were read from.
    pub dir: String,
    /// Operations it recorded.
    pub operations: u64,
    /// How late it reached the start instant, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_by_s: Option<f64>,
}

/// Machine facts.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Machine {
    /// Operating system.
    pub os: String,
    /// CPU architecture.
    pub arch: String,
    /// Logical cores.
    pub cores: usize,
}

impl Machine {
    /// This machine.
    pub fn current() -> Self {
        Machine {
            os: std::env::consts::OS.into(),
            arch: std::env::consts::ARCH.into(),
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// Results of one (mode, operation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpResult {
    /// Mode.
    pub mode: Mode,
    /// Operation.
    pub op: Op,
    /// Operations completed.
    pub count: u64,
    /// Operations that succeeded.
    pub ok: u64,
    /// Failures by class (`throttled_kms`, `slowdown`, `5xx:<code>`, `4xx:<code>`, `timeout`, `connection`, `integrity`).
    pub errors: BTreeMap<String, u64>,
    /// Failed / completed.
    pub error_rate: f64,
    /// KMS-throttled / completed.
    pub throttle_rate: f64,
    /// Completed operations per second of measured time.
    pub ops_per_s: f64,
    /// Payload MiB per second.
    pub mib_per_s: f64,
    /// Latency from the intended start (coordinated-omission corrected in open loop), ms.
    pub latency_ms: Percentiles,
    /// Service time from the actual start, ms.
    pub service_time_ms: Percentiles,
    /// Time to first byte (GET), ms.
    pub ttfb_ms: Option<Percentiles>,
}

/// Results of one (mode, phase, round, stream, operation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PhaseResult {
    /// Mode.
    pub mode: Mode,
    /// Phase.
    pub phase: String,
    /// Round.
    pub round: u32,
    /// Stream.
    pub stream: String,
    /// Operation.
    pub op: Op,
    /// Operations completed.
    pub count: u64,
    /// Failed operations.
    pub errors: u64,
    /// KMS-throttled operations.
    pub throttled: u64,
    /// Operations per second.
    pub ops_per_s: f64,
    /// MiB per second.
    pub mib_per_s: f64,
    /// Corrected latency, ms.
    pub latency_ms: Percentiles,
    /// Service time, ms.
    pub service_time_ms: Percentiles,
}

/// Results of one (mode, stream, operation).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StreamResult {
    /// Mode.
    pub mode: Mode,
    /// Stream.
    pub stream: String,
    /// Bucket role of the stream.
    pub bucket_role: String,
    /// Operation.
    pub op: Op,
    /// Operations completed.
    pub count: u64,
    /// Failed operations.
    pub errors: u64,
    /// Operations per second.
    pub ops_per_s: f64,
    /// Corrected latency, ms.
    pub latency_ms: Percentiles,
}

/// KMS use of one mode over its measured steps.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModeKms {
    /// Mode.
    pub mode: Mode,
    /// Measured (counted by the target) or unavailable.
    pub source: KmsSource,
    /// Calls S3 made, by KMS API.
    pub calls_by_api: BTreeMap<String, u64>,
    /// All calls.
    pub calls: u64,
    /// KMS calls throttled.
    pub throttled: u64,
    /// S3 operations completed.
    pub s3_ops: u64,
    /// KMS calls per S3 operation.
    pub per_s3_op: f64,
    /// KMS calls per 1,000 S3 operations.
    pub per_1000_ops: f64,
    /// Highest KMS calls in one second.
    pub peak_rps: u64,
    /// Mean KMS calls per second.
    pub mean_rps: f64,
    /// The KMS quota in force, when known.
    pub quota_rps: Option<u64>,
    /// 100 × (1 − peak / quota).
    pub peak_headroom_pct: Option<f64>,
    /// Calls by bucket role (streams that share a role share a bucket).
    pub by_bucket_role: BTreeMap<String, u64>,
    /// Calls by requester principal.
    pub by_requester: BTreeMap<String, u64>,
    /// SDK attempts per completed operation (1.0 without retries).
    pub attempts_per_op: Option<f64>,
    /// KMS calls the model predicts for the operations that succeeded.
    #[serde(default)]
    pub predicted: Prediction,
    /// Predicted KMS calls per 1,000 S3 operations.
    #[serde(default)]
    pub predicted_per_1000_ops: f64,
    /// Predicted KMS calls per second of measured time.
    #[serde(default)]
    pub predicted_mean_rps: f64,
    /// Measured minus predicted calls (when measured).
    #[serde(default)]
    pub difference: Option<f64>,
    /// 100 × (1 − mean / quota).
    #[serde(default)]
    pub mean_headroom_pct: Option<f64>,
}

/// The price table entry used.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PriceInfo {
    /// Region priced.
    pub region: String,
    /// Source of the figures.
    pub source: String,
    /// When they were taken.
    pub as_of: String,
    /// A user price file merged over the built-in table.
    pub file: Option<String>,
    /// The figures.
    pub prices: RegionPrices,
}

impl PriceInfo {
    /// The entry of `region` in `table`, with where it came from.
    pub fn from_table(
        table: &crate::prices::PriceTable,
        region: &str,
    ) -> Result<PriceInfo, crate::error::Error> {
        let p = table.region(region)?;
        Ok(PriceInfo {
            region: p.region.clone(),
            source: p.source.clone(),
            as_of: p.as_of.clone(),
            file: table.user_file.as_ref().map(|f| f.display().to_string()),
            prices: p.clone(),
        })
    }
}

/// Cost of one mode: this run, per million operations, and per month at the steady rate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModeCost {
    /// Mode.
    pub mode: Mode,
    /// Measured or predicted: which KMS count the KMS cost uses.
    pub kms_calls_basis: KmsSource,
    /// KMS calls priced.
    pub kms_calls: f64,
    /// S3 requests priced by tier (successful operations; 5xx are not billed).
    pub s3_requests: S3Requests,
    /// Customer-managed keys charged (0 for SSE-S3).
    pub keys: u32,
    /// This run, before the KMS free tier; the key charge prorated hourly over the run.
    pub run: CostBreakdown,
    /// Per million S3 operations at the steady rate (key charge spread over a month's operations).
    pub per_million_ops: CostBreakdown,
    /// A month at the steady rate.
    pub monthly: MonthlyProjection,
}

/// A month of traffic at one rate.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MonthlyProjection {
    /// S3 operations per second projected.
    pub ops_per_s: f64,
    /// The scenario's open-loop rate, or (closed loop) what the run achieved.
    pub rate_source: RateSource,
    /// S3 operations in the month.
    pub operations: f64,
    /// KMS requests in the month.
    pub kms_requests: f64,
    /// KMS requests per second needed.
    pub kms_rps: f64,
    /// Charges, KMS after the monthly free tier.
    pub cost: CostBreakdown,
}

/// Where throttling starts in a ramped open-loop phase.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Knee {
    /// Mode.
    pub mode: Mode,
    /// Phase.
    pub phase: String,
    /// Round.
    pub round: u32,
    /// Offered rate at the start and end of the ramp (ops/s).
    pub ramp: (f64, f64),
    /// The highest offered rate (ops/s, whole wall-clock seconds) with under 0.1 % of
    /// operations KMS-throttled, before throttling first crossed 0.1 %.
    pub knee_ops_per_s: Option<f64>,
    /// The same in KMS requests per second (× KMS calls per operation).
    pub knee_kms_rps: Option<f64>,
    /// The first offered rate with 0.1 % or more throttled; None if throttling never started.
    pub throttling_from_ops_per_s: Option<f64>,
    /// KMS calls per operation used for the conversion.
    pub kms_per_op: f64,
}

/// One threshold verdict.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ThresholdResult {
    /// Key as written.
    pub name: String,
    /// Rule as written.
    pub rule: String,
    /// The worst actual value over the selected series.
    pub actual: Option<f64>,
    /// Whether it passed (false when skipped).
    pub passed: bool,
    /// Why it was not evaluated: its mode was skipped because the target does not
    /// honour it. A skipped rule neither passes nor fails the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
}
