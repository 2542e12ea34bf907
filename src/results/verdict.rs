//! The verdict: what each mode changes against SSE-S3 on the same workload, with
//! its uncertainty. Latency changes come from the paired per-round differences of
//! the run's own histograms (rounds interleave the modes, so the machine's drift
//! moves both sides of a pair alike); KMS load and cost from the summary's figures.
//! Every output opens with it, and `summary.json` carries it.

use super::record::{Hist, RunRecord, new_hist};
use super::summary::{KmsSource, ModeCost, ModeKms, OpResult};
use crate::kms::Status;
use crate::scenario::{Mode, Op, Scenario, TargetKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The mode every other is compared with.
pub const BASELINE: Mode = Mode::SseS3;

/// A latency percentile the verdict reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Percentile {
    /// The median.
    P50,
    /// The 99th percentile.
    P99,
}

impl Percentile {
    /// The quantile.
    pub fn quantile(self) -> f64 {
        match self {
            Percentile::P50 => 0.5,
            Percentile::P99 => 0.99,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Percentile::P50 => "p50",
            Percentile::P99 => "p99",
        }
    }
}

/// What a latency change amounts to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assessment {
    /// The interval lies above zero.
    Slower,
    /// The interval lies below zero.
    Faster,
    /// The interval spans zero.
    NotDistinguishable,
    /// Fewer than three rounds ([`MIN_ROUNDS`]): no interval worth the name, so no
    /// change is claimed.
    TooFewRounds,
}

/// One operation's change at one percentile.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct LatencyChange {
    /// Operation.
    pub op: Op,
    /// Percentile.
    pub percentile: Percentile,
    /// Rounds both modes ran.
    pub rounds: u32,
    /// Mean over rounds of the mode's percentile minus SSE-S3's (ms); none with too few rounds.
    pub change_ms: Option<f64>,
    /// The same against SSE-S3's mean, percent.
    pub change_pct: Option<f64>,
    /// 95 % interval of the change (Student's t over the per-round differences), ms.
    pub interval_ms: Option<[f64; 2]>,
    /// The mode's percentile over SSE-S3's (means over rounds): 1.5 is 50 % slower.
    #[serde(default)]
    pub ratio: Option<f64>,
    /// 95 % interval of the ratio (the change's interval over SSE-S3's mean).
    #[serde(default)]
    pub ratio_interval: Option<[f64; 2]>,
    /// What the change amounts to.
    pub assessment: Assessment,
}

/// The KMS load a mode puts on the account.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KmsLoad {
    /// KMS requests per 1,000 S3 operations (measured where the target counts them).
    pub per_1000_ops: f64,
    /// The S3 rate the scenario runs at (its steady open-loop rate, else what it achieved).
    pub ops_per_s: f64,
    /// KMS requests per second this workload needs at that rate.
    pub kms_rps: f64,
    /// The KMS quota in force, requests per second.
    pub quota_rps: Option<u64>,
    /// `kms_rps` as a share of the quota, percent.
    pub quota_share_pct: Option<f64>,
    /// The S3 rate at which this mode would reach the quota; none when its KMS requests
    /// do not grow with the S3 rate (SSE-S3, Bucket Keys).
    pub ops_per_s_at_quota: Option<f64>,
}

/// A mode's monthly bill against SSE-S3's: the mode's one monthly total (its cost's
/// `monthly`), on the traffic every mode is priced on, so what differs is KMS
/// requests, keys and DSSE.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CostChange {
    /// The mode's monthly total, USD (the same figure as its cost's `monthly.cost.total_usd`).
    pub monthly_usd: f64,
    /// Minus SSE-S3's, USD.
    pub change_usd: f64,
    /// Against SSE-S3's, percent.
    pub change_pct: Option<f64>,
}

/// What one mode changes.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModeVerdict {
    /// Mode.
    pub mode: Mode,
    /// Latency changes per operation at p50 and p99 (none for SSE-S3 itself).
    pub latency: Vec<LatencyChange>,
    /// KMS load.
    pub kms: KmsLoad,
    /// Monthly cost against SSE-S3 (none without prices).
    pub cost: Option<CostChange>,
}

/// Why a reader should weigh the figures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaveatKind {
    /// Some KMS counts rest on rules AWS does not document.
    InferredRules,
    /// KMS counts are the model's, or measured counts differ from it.
    PredictedCounts,
    /// The target is a simulator or another S3-compatible server, not AWS.
    NotAws,
    /// The load generator could not offer the load asked of it.
    GeneratorSaturated,
    /// The run was interrupted.
    Incomplete,
}

/// One caveat, in a sentence.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Caveat {
    /// Kind.
    pub kind: CaveatKind,
    /// The sentence.
    pub text: String,
}

/// The verdict of a run.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Verdict {
    /// The mode compared against (SSE-S3).
    pub baseline: Mode,
    /// Every mode of the run, the baseline first.
    pub modes: Vec<ModeVerdict>,
    /// What Bucket Keys save against SSE-KMS, when both ran and prices are known.
    pub bucket_key_saving: Option<crate::prices::Saving>,
    /// Caveats.
    pub caveats: Vec<Caveat>,
}

impl Verdict {
    /// The paired overhead of a mode's operation at a percentile (the mean over rounds of
    /// its percentile minus SSE-S3's), ms; none for SSE-S3 itself or below two rounds.
    pub fn overhead(&self, mode: Mode, op: Op, p: Percentile) -> Option<f64> {
        self.modes
            .iter()
            .find(|m| m.mode == mode && mode != BASELINE)?
            .latency
            .iter()
            .find(|c| c.op == op && c.percentile == p)?
            .change_ms
    }
}

/// Two-sided 95 % Student's t quantile for `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    if df == 0 {
        return f64::INFINITY;
    }
    StudentsT::new(0.0, 1.0, df as f64).map_or(f64::INFINITY, |t| t.inverse_cdf(0.975))
}

/// The mean and 95 % interval of paired differences; `None` below two pairs.
pub fn paired_interval(diffs: &[f64]) -> Option<(f64, [f64; 2])> {
    let n = diffs.len();
    if n < 2 {
        return None;
    }
    let mean = diffs.iter().sum::<f64>() / n as f64;
    let var = diffs.iter().map(|d| (d - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let half = t95(n - 1) * (var / n as f64).sqrt();
    Some((mean, [mean - half, mean + half]))
}

/// Rounds a latency change needs before the verdict states one with its interval.
pub const MIN_ROUNDS: usize = 3;

/// Per-round histograms of each (mode, operation), measured steps only.
fn round_hists(record: &RunRecord) -> BTreeMap<(Mode, Op, u32), Hist> {
    let mut out: BTreeMap<(Mode, Op, u32), Hist> = BTreeMap::new();
    for s in &record.series {
        let h = out
            .entry((s.key.mode, s.key.op, s.key.round))
            .or_insert_with(new_hist);
        let _ = h.add(&s.stats.corrected);
    }
    out
}

fn ms(h: &Hist, q: f64) -> f64 {
    h.value_at_quantile(q) as f64 / 1000.0
}

/// The change of one operation at one percentile against the baseline.
fn latency_change(
    hists: &BTreeMap<(Mode, Op, u32), Hist>,
    mode: Mode,
    op: Op,
    p: Percentile,
) -> LatencyChange {
    let q = p.quantile();
    let (mut diffs, mut bases) = (Vec::new(), Vec::new());
    for ((m, o, round), h) in hists {
        if *m != mode || *o != op || h.is_empty() {
            continue;
        }
        if let Some(b) = hists.get(&(BASELINE, op, *round)).filter(|b| !b.is_empty()) {
            diffs.push(ms(h, q) - ms(b, q));
            bases.push(ms(b, q));
        }
    }
    let rounds = diffs.len() as u32;
    let Some((mean, interval)) = paired_interval(&diffs) else {
        return LatencyChange {
            op,
            percentile: p,
            rounds,
            change_ms: None,
            change_pct: None,
            interval_ms: None,
            ratio: None,
            ratio_interval: None,
            assessment: Assessment::TooFewRounds,
        };
    };
    let base = bases.iter().sum::<f64>() / bases.len() as f64;
    // Two rounds leave one degree of freedom: an interval so wide (t = 12.7) that one
    // stalled round flips a verdict. Below MIN_ROUNDS the mean stays (thresholds on the
    // overhead read it), but no change is claimed and no interval given.
    let (interval, assessment) = if diffs.len() < MIN_ROUNDS {
        (None, Assessment::TooFewRounds)
    } else if interval[0] > 0.0 {
        (Some(interval), Assessment::Slower)
    } else if interval[1] < 0.0 {
        (Some(interval), Assessment::Faster)
    } else {
        (Some(interval), Assessment::NotDistinguishable)
    };
    LatencyChange {
        op,
        percentile: p,
        rounds,
        change_ms: Some(mean),
        change_pct: (base > 0.0).then(|| 100.0 * mean / base),
        interval_ms: interval,
        ratio: (base > 0.0).then(|| (base + mean) / base),
        ratio_interval: interval
            .filter(|_| base > 0.0)
            .map(|i| i.map(|x| (base + x) / base)),
        assessment,
    }
}

/// The KMS load of one mode at the scenario's rate.
fn kms_load(k: &ModeKms, cost: Option<&ModeCost>, rate: f64) -> KmsLoad {
    let per_op = if k.source == KmsSource::Measured {
        k.per_s3_op
    } else if k.s3_ops > 0 {
        k.predicted.calls / k.s3_ops as f64
    } else {
        0.0
    };
    // Bucket Key calls follow requesters and lifetimes: the steady-state model's rate.
    let scales = k.mode.uses_kms() && !k.mode.bucket_key();
    let kms_rps = match (k.mode.bucket_key(), cost) {
        (true, Some(c)) => c.monthly.kms_rps,
        _ => per_op * rate,
    };
    let quota = k.quota_rps.filter(|q| *q > 0);
    KmsLoad {
        per_1000_ops: 1000.0 * per_op,
        ops_per_s: rate,
        kms_rps,
        quota_rps: quota,
        quota_share_pct: quota.map(|q| 100.0 * kms_rps / q as f64),
        ops_per_s_at_quota: quota
            .filter(|_| scales && per_op > 0.0)
            .map(|q| q as f64 / per_op),
    }
}

/// The caveats of a run.
fn caveats(
    record: &RunRecord,
    kms: &[ModeKms],
    load: &[super::load::ModeLoad],
    complete: bool,
    incomplete_reason: Option<&str>,
) -> Vec<Caveat> {
    let mut out = Vec::new();
    let inferred: Vec<&str> = kms
        .iter()
        .filter(|k| k.predicted.status == Some(Status::Inferred))
        .map(|k| k.mode.as_str())
        .collect();
    if !inferred.is_empty() {
        out.push(Caveat {
            kind: CaveatKind::InferredRules,
            text: format!(
                "The KMS model's counts for {} rest on rules AWS does not document (docs/aws-behaviour.md marks each).",
                inferred.join(", ")
            ),
        });
    }
    match record.target.kms_counts {
        KmsSource::Measured => {
            let off: Vec<String> = kms
                .iter()
                .filter_map(|k| {
                    k.difference
                        .filter(|d| d.abs() > 0.5)
                        .map(|d| format!("{} {d:+.0}", k.mode))
                })
                .collect();
            if !off.is_empty() {
                out.push(Caveat {
                    kind: CaveatKind::PredictedCounts,
                    text: format!(
                        "Measured KMS calls differ from the model's prediction: {}.",
                        off.join(", ")
                    ),
                });
            }
        }
        KmsSource::Predicted => out.push(Caveat {
            kind: CaveatKind::PredictedCounts,
            text: "KMS counts are the model's prediction: AWS counts no calls per run (CloudWatch's count is account-wide).".into(),
        }),
        KmsSource::Unavailable => out.push(Caveat {
            kind: CaveatKind::PredictedCounts,
            text: "This target counts no KMS calls: the KMS figures are what the model predicts AWS would do.".into(),
        }),
    }
    match record.target.kind {
        TargetKind::Embedded => out.push(Caveat {
            kind: CaveatKind::NotAws,
            text: "Measured against the embedded simulator: its latency model stands in for a region; the KMS counts are exact.".into(),
        }),
        TargetKind::Endpoint => out.push(Caveat {
            kind: CaveatKind::NotAws,
            text: format!(
                "Measured against an S3-compatible endpoint ({}), not AWS.",
                record.target.label
            ),
        }),
        TargetKind::Aws => {}
    }
    for l in load.iter().filter(|l| l.behind) {
        out.push(Caveat {
            kind: CaveatKind::GeneratorSaturated,
            text: format!(
                "The load generator fell behind ({}): latencies include its queueing, and monthly projections use the achieved rate.",
                l.describe()
            ),
        });
    }
    if !complete {
        out.push(Caveat {
            kind: CaveatKind::Incomplete,
            text: format!(
                "The run is incomplete ({}): fewer operations than planned.",
                incomplete_reason.unwrap_or("interrupted")
            ),
        });
    }
    out
}

/// What the verdict is built from.
pub struct Inputs<'a> {
    /// The run record (per-round histograms, steps, target).
    pub record: &'a RunRecord,
    /// The scenario as measured.
    pub scenario: &'a Scenario,
    /// Results per (mode, operation).
    pub results: &'a [OpResult],
    /// KMS use per mode.
    pub kms: &'a [ModeKms],
    /// Cost per mode.
    pub cost: &'a [ModeCost],
    /// Open-loop load per mode.
    pub load: &'a [super::load::ModeLoad],
}

/// The verdict of a run; none when SSE-S3 did not run (nothing to compare with).
pub fn build(i: &Inputs<'_>) -> Option<Verdict> {
    let modes = &i.scenario.modes;
    if !modes.contains(&BASELINE) {
        return None;
    }
    let hists = round_hists(i.record);
    let ops: Vec<Op> = {
        let mut v: Vec<Op> = i.results.iter().map(|r| r.op).collect();
        v.sort();
        v.dedup();
        v
    };
    let cost_of = |m: Mode| i.cost.iter().find(|c| c.mode == m);
    // Every mode's month is priced on the same traffic (economics::month_basis): its
    // one monthly total is the verdict's figure too.
    let monthly = |m: Mode| cost_of(m).map(|c| c.monthly.cost.total_usd);
    let base_monthly = monthly(BASELINE);
    // The traffic's rate: the month's (the scenario's steady rate, or what SSE-S3
    // achieved), else what SSE-S3 achieved.
    let rate = cost_of(BASELINE)
        .map(|c| c.monthly.ops_per_s)
        .unwrap_or_else(|| {
            i.results
                .iter()
                .filter(|r| r.mode == BASELINE)
                .map(|r| r.ops_per_s)
                .sum()
        });
    let mut out = Vec::new();
    for &mode in std::iter::once(&BASELINE).chain(modes.iter().filter(|m| **m != BASELINE)) {
        let Some(k) = i.kms.iter().find(|k| k.mode == mode) else {
            continue;
        };
        let latency = if mode == BASELINE {
            Vec::new()
        } else {
            ops.iter()
                .flat_map(|&op| {
                    [Percentile::P50, Percentile::P99].map(|p| latency_change(&hists, mode, op, p))
                })
                .collect()
        };
        let cost = match (monthly(mode), base_monthly) {
            (Some(c), Some(b)) => Some(CostChange {
                monthly_usd: c,
                change_usd: c - b,
                change_pct: (b > 0.0).then(|| 100.0 * (c - b) / b),
            }),
            _ => None,
        };
        out.push(ModeVerdict {
            mode,
            latency,
            kms: kms_load(k, cost_of(mode), rate),
            cost,
        });
    }
    let bucket_key_saving = match (cost_of(Mode::SseKms), cost_of(Mode::SseKmsBucketKey)) {
        (Some(kms), Some(bk)) => crate::prices::Saving::of(&kms.monthly.cost, &bk.monthly.cost),
        _ => None,
    };
    Some(Verdict {
        baseline: BASELINE,
        modes: out,
        bucket_key_saving,
        caveats: caveats(
            i.record,
            i.kms,
            i.load,
            i.record.incomplete_reason.is_none(),
            i.record.incomplete_reason.as_deref(),
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_need_two_pairs_and_widen_with_spread() {
        assert_eq!(paired_interval(&[3.0]), None);
        let (m, [lo, hi]) = paired_interval(&[10.0, 10.2, 9.8]).unwrap();
        assert!((m - 10.0).abs() < 1e-9);
        // sd 0.2, n 3: half-width t(2) * 0.2 / sqrt(3) = 4.303 * 0.1155.
        assert!((hi - m - 0.4969).abs() < 1e-3, "{lo} {hi}");
        let (_, [lo, hi]) = paired_interval(&[1.0, -1.0, 0.5]).unwrap();
        assert!(lo < 0.0 && hi > 0.0, "spans zero");
    }

    /// Per-round histograms of two modes' PUTs: SSE-S3 around `base` ms, SSE-KMS the
    /// same values shifted by `shift` ms; round r adds `jitter[r]` ms to both.
    fn rounds(base: &[u64], shift: u64, jitter: &[u64]) -> BTreeMap<(Mode, Op, u32), Hist> {
        let mut m = BTreeMap::new();
        for (r, j) in jitter.iter().enumerate() {
            for (mode, add) in [(BASELINE, 0), (Mode::SseKms, shift)] {
                let mut h = new_hist();
                for v in base {
                    h.record((v + j + add) * 1000).unwrap();
                }
                m.insert((mode, Op::Put, r as u32), h);
            }
        }
        m
    }

    #[test]
    fn identical_modes_are_not_distinguishable_and_a_shift_is() {
        let base = [5, 6, 6, 7, 8, 9, 12, 20];
        let same = rounds(&base, 0, &[0, 3, 1]);
        for p in [Percentile::P50, Percentile::P99] {
            let c = latency_change(&same, Mode::SseKms, Op::Put, p);
            assert_eq!(c.assessment, Assessment::NotDistinguishable, "{c:?}");
            assert_eq!(c.change_ms, Some(0.0));
        }
        let shifted = rounds(&base, 10, &[0, 3, 1]);
        let c = latency_change(&shifted, Mode::SseKms, Op::Put, Percentile::P50);
        assert_eq!(c.assessment, Assessment::Slower, "{c:?}");
        assert!((c.change_ms.unwrap() - 10.0).abs() < 0.1, "{c:?}");
        let one = rounds(&base, 10, &[0]);
        let c = latency_change(&one, Mode::SseKms, Op::Put, Percentile::P50);
        assert_eq!(c.assessment, Assessment::TooFewRounds);
        assert_eq!((c.change_ms, c.interval_ms), (None, None));
        // Two rounds: the mean (which thresholds read), but no interval and no claim.
        let two = rounds(&base, 10, &[0, 3]);
        let c = latency_change(&two, Mode::SseKms, Op::Put, Percentile::P50);
        assert_eq!(c.assessment, Assessment::TooFewRounds);
        assert!(c.change_ms.is_some() && c.interval_ms.is_none());
    }

    #[test]
    fn the_overhead_ignores_a_slowdown_of_both_modes_and_follows_one_of_kms() {
        let base = [5, 6, 6, 7, 8, 9, 12, 20];
        let p50 = |h: &BTreeMap<(Mode, Op, u32), Hist>| {
            latency_change(h, Mode::SseKms, Op::Put, Percentile::P50)
        };
        let before = p50(&rounds(&base, 5, &[0, 3, 1]));
        // Every round 4 ms slower for both modes: the runner got slower.
        let both = rounds(&base, 5, &[4, 7, 5]);
        let still = p50(&both).change_ms.unwrap() - before.change_ms.unwrap();
        // Up to the histogram's resolution (3 significant digits).
        assert!(still.abs() < 0.05, "{still}");
        assert_ne!(
            ms(&both[&(BASELINE, Op::Put, 0)], 0.5),
            ms(&rounds(&base, 5, &[0, 3, 1])[&(BASELINE, Op::Put, 0)], 0.5),
            "the raw percentiles did move"
        );
        // Only the KMS mode 2 ms slower: KMS got slower.
        let kms = p50(&rounds(&base, 7, &[0, 3, 1]));
        let moved = kms.change_ms.unwrap() - before.change_ms.unwrap();
        assert!((moved - 2.0).abs() < 0.1, "{kms:?}");
        // The ratio is the change over SSE-S3's mean, with its interval around it.
        let r = kms.ratio.unwrap();
        let [lo, hi] = kms.ratio_interval.unwrap();
        assert!(r > 1.0 && lo <= r && r <= hi, "{kms:?}");
    }

    #[test]
    fn t_quantiles_fall_towards_the_normal() {
        // Table values: t(0.975; 1) = 12.706, t(0.975; 2) = 4.303, t(0.975; 19) = 2.093.
        assert!((t95(1) - 12.706).abs() < 1e-3, "{}", t95(1));
        assert!((t95(2) - 4.303).abs() < 1e-3);
        assert!((t95(19) - 2.093).abs() < 1e-3);
        assert!(t95(15) < t95(10) && t95(15) > t95(40));
        assert!((t95(100_000) - 1.960).abs() < 1e-3);
        assert_eq!(t95(0), f64::INFINITY);
    }
}
