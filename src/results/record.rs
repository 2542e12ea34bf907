//! The run record (`shard.json`): everything one run measured, in full. Series keep
//! their whole histograms and steps their KMS counts, so records of N shards can be
//! added (`merge`) and a summary built from any record the same way. The measurement
//! types the recorder fills live here too, since this is the format they are kept in.

use crate::kms::cloudwatch::AccountUsage;
use crate::kms::counts::{KmsCalls, SecondCount};
use crate::scenario::{Mode, Op, TargetKind};
use crate::shard::{Barrier, Shard};
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The file every run writes, and `merge` reads.
pub const SHARD_FILE: &str = "shard.json";
/// The run record as it stood when the steps began; removed when the results are
/// written, so its presence beside no `summary.json` marks a run that never finished.
pub const STARTED_FILE: &str = "run.partial.json";
/// Version of [`RunRecord`].
pub const SHARD_FORMAT: u32 = 1;

/// The error class of the KMS-throttling S3 error.
pub const THROTTLED_KMS: &str = "throttled_kms";
/// The error class of failed payload verification.
pub const INTEGRITY: &str = "integrity";

/// Latency histograms count microseconds.
pub type Hist = Histogram<u64>;

/// A new histogram with three significant digits that grows as needed.
pub fn new_hist() -> Hist {
    Histogram::new(3)
        .unwrap_or_else(|_| Histogram::new_with_max(3_600_000_000, 3).expect("valid bounds"))
}

/// Identifies one series of measurements.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct SeriesKey {
    /// Mode.
    pub mode: Mode,
    /// Phase name.
    pub phase: String,
    /// Round.
    pub round: u32,
    /// Stream name.
    pub stream: String,
    /// Operation.
    pub op: Op,
}

/// Everything measured for one series.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OpStats {
    /// Operations completed (ok or not).
    pub count: u64,
    /// Operations that succeeded.
    pub ok: u64,
    /// Payload bytes moved by successful operations.
    pub bytes: u64,
    /// Failures by class.
    pub errors: BTreeMap<String, u64>,
    /// Successful multipart uploads among the operations.
    pub multipart: u64,
    /// Parts of those uploads.
    pub parts: u64,
    /// Latency from the intended start (open loop) or the actual start (closed loop).
    #[serde(with = "hist_b64")]
    pub corrected: Hist,
    /// Service time from the actual start.
    #[serde(with = "hist_b64")]
    pub uncorrected: Hist,
    /// Time to first byte (GET).
    #[serde(with = "hist_b64")]
    pub ttfb: Hist,
}

impl Default for OpStats {
    fn default() -> Self {
        OpStats {
            count: 0,
            ok: 0,
            bytes: 0,
            errors: BTreeMap::new(),
            multipart: 0,
            parts: 0,
            corrected: new_hist(),
            uncorrected: new_hist(),
            ttfb: new_hist(),
        }
    }
}

impl OpStats {
    /// Adds another series into this one (histograms are added, never percentiles).
    pub fn merge(&mut self, o: &OpStats) {
        let _ = self.corrected.add(&o.corrected);
        let _ = self.uncorrected.add(&o.uncorrected);
        let _ = self.ttfb.add(&o.ttfb);
        self.count += o.count;
        self.ok += o.ok;
        self.bytes += o.bytes;
        self.multipart += o.multipart;
        self.parts += o.parts;
        for (k, v) in &o.errors {
            *self.errors.entry(k.clone()).or_default() += v;
        }
    }

    /// Failed operations.
    pub fn failed(&self) -> u64 {
        self.count - self.ok
    }

    /// Failures of one class.
    pub fn errors_of(&self, class: &str) -> u64 {
        self.errors.get(class).copied().unwrap_or(0)
    }
}

/// Histograms as V2-deflate bytes in base64 (HdrHistogram's own interchange form).
mod hist_b64 {
    use super::{Hist, new_hist};
    use crate::error::Error;
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD as B64;
    use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
    use serde::{Deserialize, Serializer};

    pub fn serialize<S: Serializer>(h: &Hist, s: S) -> Result<S::Ok, S::Error> {
        let mut buf = Vec::new();
        V2DeflateSerializer::new()
            .serialize(h, &mut buf)
            .map_err(|e| serde::ser::Error::custom(format!("histogram: {e:?}")))?;
        s.serialize_str(&B64.encode(&buf))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Hist, D::Error> {
        let text = String::deserialize(d)?;
        decode(&text).map_err(serde::de::Error::custom)
    }

    /// Decodes one base64 histogram (an empty string is an empty histogram).
    pub fn decode(text: &str) -> Result<Hist, Error> {
        if text.is_empty() {
            return Ok(new_hist());
        }
        let bytes = B64
            .decode(text)
            .map_err(|e| Error::usage(format!("histogram: {e}")))?;
        let h: hdrhistogram::Histogram<u64> = Deserializer::new()
            .deserialize(&mut std::io::Cursor::new(bytes))
            .map_err(|e| Error::usage(format!("histogram: {e:?}")))?;
        let mut out = new_hist();
        out.add(&h)
            .map_err(|e| Error::usage(format!("histogram: {e:?}")))?;
        Ok(out)
    }
}

pub use hist_b64::decode as decode_hist;

/// One recorded series with its histograms.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Series {
    /// Mode, phase, round, stream, operation.
    pub key: SeriesKey,
    /// What was measured.
    #[serde(flatten)]
    pub stats: OpStats,
}

/// Operations by the wall-clock second of their intended start (open loop: the
/// offered load), with how many of them KMS throttled.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfferedSecond {
    /// Unix second.
    pub unix_second: i64,
    /// Operations whose intended start fell in it.
    pub arrivals: u64,
    /// Of those, KMS-throttled.
    pub throttled: u64,
}

/// Totals for one step.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepTotals {
    /// Mode.
    pub mode: Mode,
    /// Phase.
    pub phase: String,
    /// Round.
    pub round: u32,
    /// Whether it was measured.
    pub record: bool,
    /// Seconds it ran.
    pub seconds: f64,
    /// Open-loop arrivals issued more than 100 ms after their scheduled time (the
    /// in-flight cap was full, or the generator fell behind).
    pub late: u64,
    /// Seconds from the run's start to the step's start.
    #[serde(default)]
    pub start_s: f64,
    /// Operations per wall-clock second of intended start (measured steps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub offered: Vec<OfferedSecond>,
    /// What an open-loop step was asked to offer and what it did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenLoad>,
}

/// Offered against achieved load of an open-loop step.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct OpenLoad {
    /// Arrivals the schedule placed inside the phase (this worker's).
    pub scheduled: u64,
    /// Arrivals issued before the deadline.
    pub issued: u64,
    /// Arrivals not issued: the generator was still behind at the deadline, or the
    /// run stopped (`scheduled - issued`).
    pub dropped: u64,
    /// Scheduled arrivals per second of the phase's planned duration.
    pub offered_per_s: f64,
    /// Operations completed per second of the step's wall time.
    pub achieved_per_s: f64,
}

impl OpenLoad {
    /// Share of the schedule that was dropped.
    pub fn dropped_rate(&self) -> f64 {
        if self.scheduled == 0 {
            0.0
        } else {
            self.dropped as f64 / self.scheduled as f64
        }
    }

    /// Adds another stream's or step's figures (rates add for streams of one step).
    pub fn plus(&self, o: &OpenLoad) -> OpenLoad {
        OpenLoad {
            scheduled: self.scheduled + o.scheduled,
            issued: self.issued + o.issued,
            dropped: self.dropped + o.dropped,
            offered_per_s: self.offered_per_s + o.offered_per_s,
            achieved_per_s: self.achieved_per_s + o.achieved_per_s,
        }
    }
}

/// KMS calls of one step, as counted by the target.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct StepKms {
    /// Mode.
    pub mode: Mode,
    /// Whether the step was measured.
    pub record: bool,
    /// Calls made during the step.
    pub calls: Vec<KmsCalls>,
    /// SDK attempts during the step.
    pub attempts: u64,
    /// KMS calls per second of the target's quota windows during the step.
    pub per_second: Vec<SecondCount>,
}

/// A prefill span of one mode (seconds since the recorder's start).
pub type PrefillSpan = (Mode, f64, f64);

/// What one run (or one shard of a run, or a merge of shards) recorded, in full.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct RunRecord {
    /// [`SHARD_FORMAT`].
    pub format: u32,
    /// This worker's shard (0/1 for an unsharded run).
    pub shard: Shard,
    /// SHA-256 of the scenario file's text.
    pub scenario_sha256: String,
    /// The run's seed.
    pub seed: u64,
    /// Unix time of the recorder's start (the hlogs' StartTime).
    pub start_unix: f64,
    /// Start (RFC 3339).
    pub started_at: String,
    /// End (RFC 3339).
    pub ended_at: String,
    /// Wall-clock seconds of the run.
    #[serde(default)]
    pub duration_s: f64,
    /// Why the run is incomplete, if it is.
    pub incomplete_reason: Option<String>,
    /// The start barrier, when `--start-at` was given.
    pub barrier: Option<Barrier>,
    /// Whose KMS counter the per-second counts are.
    pub kms_counter: CounterScope,
    /// The target.
    pub target: TargetInfo,
    /// KMS quota in force.
    pub quota_rps: Option<u64>,
    /// Keys charged.
    pub keys: u32,
    /// How the key is billed.
    #[serde(default)]
    pub key_billing: crate::prices::KeyBilling,
    /// Recorded series, in key order.
    pub series: Vec<Series>,
    /// Per-step totals.
    pub steps: Vec<StepTotals>,
    /// KMS (second, calls, throttled) per mode.
    pub kms_per_second: BTreeMap<Mode, Vec<(u64, u64, u64)>>,
    /// KMS counts per step (this shard's buckets only, when the counter is shared).
    pub step_kms: Vec<StepKms>,
    /// Prefill spans per mode (seconds since the recorder's start).
    pub prefills: Vec<PrefillSpan>,
    /// Bucket → bucket role.
    pub bucket_roles: BTreeMap<String, String>,
    /// Bucket → the one mode that used it (buckets modes share, `--bucket`, are left
    /// out): attributes the target's per-bucket KMS counts to modes.
    #[serde(default)]
    pub bucket_modes: BTreeMap<String, Mode>,
    /// Access key id → principal name.
    pub principal_names: BTreeMap<String, String>,
    /// Stream → bucket role.
    pub stream_roles: BTreeMap<String, String>,
    /// CloudWatch's account-wide count, when read.
    pub kms_account_wide: Option<AccountUsage>,
    /// The run's KMS calls from CloudTrail event history (aws target), when read.
    #[serde(default)]
    pub kms_cloudtrail: Option<crate::kms::cloudtrail::TrailCounts>,
    /// How many separate sets of buckets the operations went to: 1 for a run; for a
    /// merge, one per shard when each made its own (Bucket Keys are per bucket).
    #[serde(default = "one_bucket_set")]
    pub bucket_sets: u32,
}

fn one_bucket_set() -> u32 {
    1
}

impl RunRecord {
    /// Seconds of measured steps of a mode.
    pub fn mode_seconds(&self, mode: Mode) -> f64 {
        self.steps
            .iter()
            .filter(|t| t.record && t.mode == mode)
            .map(|t| t.seconds)
            .sum()
    }

    /// The series of one mode.
    pub fn series_of(&self, mode: Mode) -> impl Iterator<Item = &Series> {
        self.series.iter().filter(move |s| s.key.mode == mode)
    }
}

/// Whose KMS counters a run read.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CounterScope {
    /// This run's own in-process simulator: every count is this run's.
    Own,
    /// A simulator other workers may use too (`sse-bench serve`): counts are filtered
    /// by bucket, per-second readings are the whole simulator's.
    Shared,
    /// Nobody counts.
    None,
}

/// SHA-256 of a scenario's text, hex.
pub fn scenario_digest(text: &str) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// Target description (never credentials).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct TargetInfo {
    /// embedded | endpoint | aws.
    pub kind: TargetKind,
    /// URL or "embedded".
    pub label: String,
    /// Region.
    pub region: String,
    /// KMS key used by the KMS modes.
    pub kms_key_arn: Option<String>,
    /// Simulator settings (embedded only; no secrets).
    pub simulator: Option<serde_json::Value>,
    /// How per-mode KMS counts were obtained: measured (the simulator counted them),
    /// predicted (real AWS: the model's count; CloudWatch's account-wide total is
    /// `kms_account_wide`), unavailable (an endpoint whose KMS calls nobody counts; the
    /// predicted column says what AWS would do).
    pub kms_counts: KmsSource,
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
    pub created_key: Option<CreatedKey>,
    /// Modes the target does not honour, left out of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skipped_modes: Vec<SkippedMode>,
}

/// The KMS key a run created with `--create-key`, and what became of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    /// Key ARN.
    pub arn: String,
    /// "scheduled for deletion on <date>", "kept (--keep)" or why scheduling failed.
    pub fate: String,
}

/// A mode the run skipped, with the target's answer.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct SkippedMode {
    /// The mode.
    pub mode: Mode,
    /// What the target did instead.
    pub reason: String,
}

/// Where KMS counts come from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KmsSource {
    /// The target counted every call (the simulator).
    Measured,
    /// The model's count (real AWS, where nothing counts per run).
    Predicted,
    /// Nobody counts this target's KMS calls.
    Unavailable,
}

impl KmsSource {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            KmsSource::Measured => "measured",
            KmsSource::Predicted => "predicted",
            KmsSource::Unavailable => "unavailable",
        }
    }

    /// Whether the counts were measured.
    pub fn is_measured(self) -> bool {
        self == KmsSource::Measured
    }
}

/// Latency percentiles in milliseconds.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 90th.
    pub p90: f64,
    /// 99th.
    pub p99: f64,
    /// 99.9th.
    pub p999: f64,
    /// 99.99th.
    pub p9999: f64,
    /// Maximum.
    pub max: f64,
    /// Mean.
    pub mean: f64,
}

impl Percentiles {
    /// Percentiles of a histogram of microseconds.
    pub fn of(h: &Hist) -> Self {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |v: u64| v as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.5)),
            p90: ms(h.value_at_quantile(0.9)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            p9999: ms(h.value_at_quantile(0.9999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }

    /// A percentile by threshold metric name.
    pub fn get(&self, name: &str) -> Option<f64> {
        Some(match name {
            "p50" => self.p50,
            "p90" => self.p90,
            "p99" => self.p99,
            "p999" => self.p999,
            "p9999" => self.p9999,
            "max" => self.max,
            _ => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn series_round_trip_through_json_with_their_histograms() {
        let mut stats = OpStats::default();
        for v in [120u64, 950, 4_000, 31_000] {
            stats.corrected.record(v).unwrap();
            stats.uncorrected.record(v / 2).unwrap();
        }
        stats.count = 4;
        stats.ok = 3;
        stats.errors.insert(THROTTLED_KMS.into(), 1);
        let s = Series {
            key: SeriesKey {
                mode: Mode::SseKms,
                phase: "p".into(),
                round: 0,
                stream: "main".into(),
                op: Op::Put,
            },
            stats,
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains("\"corrected\":\"") && json.contains("\"count\":4"));
        let back: Series = serde_json::from_str(&json).unwrap();
        assert_eq!(back.key, s.key);
        assert_eq!(back.stats.corrected, s.stats.corrected);
        assert_eq!(back.stats.uncorrected, s.stats.uncorrected);
        assert!(back.stats.ttfb.is_empty());
        assert_eq!(back.stats.errors_of(THROTTLED_KMS), 1);
        assert_eq!(back.stats.failed(), 1);
    }
}
