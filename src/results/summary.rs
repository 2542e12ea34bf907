//! `summary.json`: one versioned document with everything a run measured
//! (schema checked in as `results/schema.json`).

use super::economics;
use crate::cost::{CostBreakdown, RegionPrices};
use crate::kms::{KmsRules, Prediction};
use crate::recorder::{OpStats, Percentiles, Recorded, StepTotals, THROTTLED_KMS};
use crate::scenario::{LoadedScenario, Mode, Op, Threshold};
use crate::sim::accounting::KmsCallCount;
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
    pub kms_account_wide: Option<crate::kms::cloudwatch::AccountUsage>,
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
    /// Threshold verdicts.
    pub thresholds: Vec<ThresholdResult>,
    /// Sharded runs: this worker's shard and start barrier, or what a merge added up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardsInfo>,
}

/// Tool identity.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Tool {
    /// "sse-bench".
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Git commit of the build, when known.
    pub git_commit: Option<String>,
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
    pub order: String,
    /// Rounds.
    pub rounds: u32,
    /// The parsed scenario.
    pub definition: serde_json::Value,
}

/// Target description (never credentials).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetInfo {
    /// embedded | endpoint | aws.
    pub kind: String,
    /// URL or "embedded".
    pub label: String,
    /// Region.
    pub region: String,
    /// KMS key used by the KMS modes.
    pub kms_key_arn: Option<String>,
    /// Simulator settings (embedded only; no secrets).
    pub simulator: Option<serde_json::Value>,
    /// How per-mode KMS counts were obtained: "measured" (the simulator counted them),
    /// "predicted" (real AWS: the model's count; CloudWatch's account-wide total is
    /// `kms_account_wide`), "unavailable" (an endpoint whose KMS calls nobody counts; the
    /// predicted column says what AWS would do).
    pub kms_counts: String,
    /// Buckets the run created.
    #[serde(default)]
    pub buckets: Vec<String>,
    /// What is still there after the run (kept with --keep, or cleanup failed).
    #[serde(default)]
    pub left_behind: Vec<String>,
    /// Existing buckets the run used (`--bucket`), under `key_prefix`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reused_buckets: Vec<String>,
    /// The run's key prefix in reused buckets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_prefix: Option<String>,
    /// The KMS key the run created (`--create-key`) and what became of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_key: Option<crate::target::CreatedKey>,
    /// Modes the target does not honour, left out of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_modes: Vec<SkippedMode>,
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

/// A mode the run skipped, with the target's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SkippedMode {
    /// The mode.
    pub mode: Mode,
    /// What the target did instead.
    pub reason: String,
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
    /// "measured" (counted by the target) or "unavailable".
    pub source: String,
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
        table: &crate::cost::PriceTable,
        region: &str,
    ) -> Result<PriceInfo, crate::cost::PriceError> {
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
    /// "measured" or "predicted": which KMS count the KMS cost uses.
    pub kms_calls_basis: String,
    /// KMS calls priced.
    pub kms_calls: f64,
    /// S3 requests priced by tier (successful operations; 5xx are not billed).
    pub s3_requests: crate::cost::S3Requests,
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
    /// "scenario" (its open-loop rate) or "measured" (closed loop: what the run achieved).
    pub rate_source: String,
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
    /// Whether it passed.
    pub passed: bool,
}

/// KMS calls of one step, as counted by the target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepKms {
    /// Mode.
    pub mode: Mode,
    /// Whether the step was measured.
    pub record: bool,
    /// Calls made during the step.
    pub calls: Vec<KmsCallCount>,
    /// SDK attempts during the step.
    pub attempts: u64,
    /// KMS calls per second of the target's quota windows during the step.
    pub per_second: Vec<crate::sim::accounting::SecondCount>,
}

/// Inputs to [`build`] besides the recorded data.
pub struct BuildInput<'a> {
    /// The scenario.
    pub scenario: &'a LoadedScenario,
    /// Seed in force.
    pub seed: u64,
    /// Target description.
    pub target: TargetInfo,
    /// KMS quota in force, when known.
    pub quota_rps: Option<u64>,
    /// Per-step KMS counts (empty when unavailable).
    pub step_kms: Vec<StepKms>,
    /// Bucket name → bucket role.
    pub bucket_roles: BTreeMap<String, String>,
    /// Principal access key → principal name.
    pub principal_names: BTreeMap<String, String>,
    /// Stream name → bucket role.
    pub stream_roles: BTreeMap<String, String>,
    /// Start and end, RFC 3339.
    pub started_at: String,
    /// End time.
    pub ended_at: String,
    /// Wall-clock seconds.
    pub duration_s: f64,
    /// Why incomplete, if so.
    pub incomplete_reason: Option<String>,
    /// The rules the KMS model follows (the simulator's, or the defaults).
    pub rules: KmsRules,
    /// Prefill spans per mode (seconds from the run's start).
    pub prefills: Vec<(Mode, f64, f64)>,
    /// Prices of the run's region, when known.
    pub prices: Option<PriceInfo>,
    /// Hours in a billing month.
    pub hours_per_month: f64,
    /// Customer-managed KMS keys the KMS modes use.
    pub keys: u32,
    /// CloudWatch's account-wide KMS count over the run, when read.
    pub kms_account_wide: Option<crate::kms::cloudwatch::AccountUsage>,
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

fn op_result(mode: Mode, op: Op, s: &OpStats, seconds: f64) -> OpResult {
    let secs = seconds.max(1e-9);
    let throttled = s.errors.get(THROTTLED_KMS).copied().unwrap_or(0);
    OpResult {
        mode,
        op,
        count: s.count,
        ok: s.ok,
        errors: s.errors.clone(),
        error_rate: if s.count > 0 {
            s.failed() as f64 / s.count as f64
        } else {
            0.0
        },
        throttle_rate: if s.count > 0 {
            throttled as f64 / s.count as f64
        } else {
            0.0
        },
        ops_per_s: s.count as f64 / secs,
        mib_per_s: mib(s.bytes) / secs,
        latency_ms: Percentiles::of(&s.corrected),
        service_time_ms: Percentiles::of(&s.uncorrected),
        ttfb_ms: (!s.ttfb.is_empty()).then(|| Percentiles::of(&s.ttfb)),
    }
}

/// Builds the summary from what was recorded.
pub fn build(rec: &Recorded, input: BuildInput<'_>, thresholds: &[Threshold]) -> Summary {
    let s = &input.scenario.scenario;
    let mode_seconds = |mode: Mode| -> f64 {
        rec.steps
            .iter()
            .filter(|t| t.record && t.mode == mode)
            .map(|t| t.seconds)
            .sum()
    };
    let step_seconds = |mode: Mode, phase: &str, round: u32| -> f64 {
        rec.steps
            .iter()
            .filter(|t| t.mode == mode && t.phase == phase && t.round == round)
            .map(|t| t.seconds)
            .sum()
    };

    let mut by_mode_op: BTreeMap<(Mode, Op), OpStats> = BTreeMap::new();
    let mut by_stream: BTreeMap<(Mode, String, Op), OpStats> = BTreeMap::new();
    let mut phases = Vec::new();
    for (k, st) in &rec.stats {
        by_mode_op.entry((k.mode, k.op)).or_default().merge(st);
        by_stream
            .entry((k.mode, k.stream.clone(), k.op))
            .or_default()
            .merge(st);
        let secs = step_seconds(k.mode, &k.phase, k.round).max(1e-9);
        phases.push(PhaseResult {
            mode: k.mode,
            phase: k.phase.clone(),
            round: k.round,
            stream: k.stream.clone(),
            op: k.op,
            count: st.count,
            errors: st.failed(),
            throttled: st.errors.get(THROTTLED_KMS).copied().unwrap_or(0),
            ops_per_s: st.count as f64 / secs,
            mib_per_s: mib(st.bytes) / secs,
            latency_ms: Percentiles::of(&st.corrected),
            service_time_ms: Percentiles::of(&st.uncorrected),
        });
    }
    let results: Vec<OpResult> = by_mode_op
        .iter()
        .map(|((m, o), st)| op_result(*m, *o, st, mode_seconds(*m)))
        .collect();
    let streams = by_stream
        .iter()
        .map(|((m, stream, op), st)| StreamResult {
            mode: *m,
            stream: stream.clone(),
            bucket_role: input.stream_roles.get(stream).cloned().unwrap_or_default(),
            op: *op,
            count: st.count,
            errors: st.failed(),
            ops_per_s: st.count as f64 / mode_seconds(*m).max(1e-9),
            latency_ms: Percentiles::of(&st.corrected),
        })
        .collect();

    let measured = !input.step_kms.is_empty();
    let kms = s
        .modes
        .iter()
        .map(|&mode| {
            let mut calls_by_api = BTreeMap::new();
            let mut by_bucket_role = BTreeMap::new();
            let mut by_requester = BTreeMap::new();
            let (mut calls, mut throttled, mut attempts) = (0u64, 0u64, 0u64);
            for sk in input.step_kms.iter().filter(|k| k.mode == mode && k.record) {
                attempts += sk.attempts;
                for c in &sk.calls {
                    calls += c.count;
                    throttled += c.throttled;
                    if c.count > 0 {
                        *calls_by_api.entry(c.api.clone()).or_insert(0) += c.count;
                        let role = input
                            .bucket_roles
                            .get(&c.bucket)
                            .cloned()
                            .unwrap_or_else(|| c.bucket.clone());
                        *by_bucket_role.entry(role).or_insert(0) += c.count;
                        let who = input
                            .principal_names
                            .get(&c.requester)
                            .cloned()
                            .unwrap_or_else(|| c.requester.clone());
                        *by_requester.entry(who).or_insert(0) += c.count;
                    }
                }
            }
            let s3_ops: u64 = results
                .iter()
                .filter(|r| r.mode == mode)
                .map(|r| r.count)
                .sum();
            // Peak on the target's own one-second quota windows when it reports them.
            let peak_rps = input
                .step_kms
                .iter()
                .filter(|k| k.mode == mode && k.record)
                .flat_map(|k| k.per_second.iter().map(|s| s.calls))
                .max()
                .or_else(|| {
                    rec.kms_per_second
                        .get(&mode)
                        .and_then(|v| v.iter().map(|x| x.1).max())
                })
                .unwrap_or(0);
            let secs = mode_seconds(mode).max(1e-9);
            let predicted = economics::predict(rec, &input, mode);
            let per_1000 = |calls: f64| {
                if s3_ops > 0 {
                    1000.0 * calls / s3_ops as f64
                } else {
                    0.0
                }
            };
            let headroom = |rps: f64| {
                input
                    .quota_rps
                    .filter(|q| *q > 0)
                    .map(|q| 100.0 * (1.0 - rps / q as f64))
            };
            ModeKms {
                mode,
                source: if measured { "measured" } else { "unavailable" }.into(),
                calls_by_api,
                calls,
                throttled,
                s3_ops,
                per_s3_op: if s3_ops > 0 {
                    calls as f64 / s3_ops as f64
                } else {
                    0.0
                },
                per_1000_ops: if s3_ops > 0 {
                    1000.0 * calls as f64 / s3_ops as f64
                } else {
                    0.0
                },
                peak_rps,
                mean_rps: calls as f64 / secs,
                quota_rps: input.quota_rps,
                peak_headroom_pct: input
                    .quota_rps
                    .filter(|q| *q > 0)
                    .map(|q| 100.0 * (1.0 - peak_rps as f64 / q as f64)),
                by_bucket_role,
                by_requester,
                attempts_per_op: (measured && s3_ops > 0).then(|| attempts as f64 / s3_ops as f64),
                predicted_per_1000_ops: per_1000(predicted.calls),
                predicted_mean_rps: predicted.calls / secs,
                difference: measured.then_some(calls as f64 - predicted.calls),
                mean_headroom_pct: headroom(if measured {
                    calls as f64 / secs
                } else {
                    predicted.calls / secs
                }),
                predicted,
            }
        })
        .collect::<Vec<_>>();

    let run_seconds = input.duration_s;
    let cost = kms
        .iter()
        .filter_map(|k| economics::mode_cost(rec, &input, k, mode_seconds(k.mode), run_seconds))
        .collect();
    let knees = economics::knees(rec, &input, &kms);
    let mut summary = Summary {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "sse-bench".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            git_commit: option_env!("SSE_BENCH_GIT_COMMIT")
                .map(str::to_owned)
                .or_else(git_commit),
        },
        scenario: ScenarioEcho {
            name: s.name.clone(),
            description: s.description.clone(),
            file: input.scenario.path.display().to_string(),
            seed: input.seed,
            modes: s.modes.clone(),
            order: format!("{:?}", s.order).to_lowercase(),
            rounds: s.rounds,
            definition: scenario_json(input.scenario),
        },
        target: input.target,
        machine: Machine::current(),
        started_at: input.started_at,
        ended_at: input.ended_at,
        duration_s: input.duration_s,
        complete: input.incomplete_reason.is_none(),
        incomplete_reason: input.incomplete_reason,
        results,
        phases,
        streams,
        kms,
        kms_account_wide: input.kms_account_wide.clone(),
        cost,
        prices: input.prices.clone(),
        knees,
        steps: rec.steps.clone(),
        thresholds: Vec::new(),
        shards: None,
    };
    summary.thresholds = thresholds.iter().map(|t| evaluate(t, &summary)).collect();
    summary
}

fn scenario_json(ls: &LoadedScenario) -> serde_json::Value {
    let mut v = serde_json::to_value(&ls.scenario).unwrap_or(serde_json::Value::Null);
    // Credentials never leave the process.
    if let Some(sim) = v.get_mut("simulator").and_then(|s| s.as_object_mut()) {
        sim.remove("credentials");
    }
    v
}

fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "--short=12", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Evaluates a threshold against a summary: every selected series must pass.
pub fn evaluate(t: &Threshold, s: &Summary) -> ThresholdResult {
    let mut values = Vec::new();
    if t.mode_metric {
        for k in s.kms.iter().filter(|k| t.mode.is_none_or(|m| m == k.mode)) {
            let v = match t.metric.as_str() {
                "kms_per_op" => Some(k.per_s3_op),
                "kms_calls" => Some(k.calls as f64),
                "kms_peak_rps" => Some(k.peak_rps as f64),
                "error_rate" | "throttle_rate" => {
                    let rs: Vec<&OpResult> =
                        s.results.iter().filter(|r| r.mode == k.mode).collect();
                    let n: u64 = rs.iter().map(|r| r.count).sum();
                    let bad: u64 = rs
                        .iter()
                        .map(|r| {
                            if t.metric == "error_rate" {
                                r.count - r.ok
                            } else {
                                r.errors.get(THROTTLED_KMS).copied().unwrap_or(0)
                            }
                        })
                        .sum();
                    Some(if n > 0 { bad as f64 / n as f64 } else { 0.0 })
                }
                _ => None,
            };
            values.extend(v);
        }
    } else {
        for r in s
            .results
            .iter()
            .filter(|r| t.mode.is_none_or(|m| m == r.mode) && t.op.is_none_or(|o| o == r.op))
        {
            let v = match t.metric.as_str() {
                "ops_per_s" => Some(r.ops_per_s),
                "mib_per_s" => Some(r.mib_per_s),
                "error_rate" => Some(r.error_rate),
                "throttle_rate" => Some(r.throttle_rate),
                m => r.latency_ms.get(m),
            };
            values.extend(v);
        }
    }
    // The worst value decides: the largest for upper bounds, the smallest for lower bounds.
    let upper = matches!(
        t.cmp,
        crate::scenario::thresholds::Cmp::Lt | crate::scenario::thresholds::Cmp::Le
    );
    let actual = values.iter().copied().fold(None, |acc: Option<f64>, v| {
        Some(match acc {
            None => v,
            Some(a) if upper => a.max(v),
            Some(a) => a.min(v),
        })
    });
    ThresholdResult {
        name: t.name.clone(),
        rule: t.rule.clone(),
        actual,
        // A rule whose series never ran cannot pass silently.
        passed: actual.is_some_and(|a| t.passes(a)),
    }
}
