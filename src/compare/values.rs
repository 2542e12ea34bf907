//! What the gate reads from a summary: each metric's value, its per-round values (the
//! round-to-round noise), and which runs count as the same scenario.

use super::rules::Metric;
use crate::results::Summary;
use crate::results::summary::{KmsSource, PhaseResult};
use crate::results::verdict::BASELINE;
use crate::scenario::{Mode, Op};
use std::collections::{BTreeMap, BTreeSet};

/// The name a rule gives a metric of a mode (and operation): `sse-kms.put.p50`.
pub fn key(mode: Mode, op: Option<Op>, metric: Metric) -> String {
    match op {
        Some(op) => format!("{mode}.{op}.{}", metric.name()),
        None => format!("{mode}.{}", metric.name()),
    }
}

/// Per-round values of a per-operation metric (aggregated over streams and phases), by round.
pub fn round_values(
    phases: &[PhaseResult],
    mode: Mode,
    op: Op,
    metric: Metric,
) -> BTreeMap<u32, f64> {
    if let Some(of) = metric.overhead_of() {
        // The overhead of a round: the mode's value minus SSE-S3's in the same round.
        let base = round_values(phases, BASELINE, op, of);
        return round_values(phases, mode, op, of)
            .into_iter()
            .filter_map(|(r, v)| base.get(&r).map(|b| (r, v - b)))
            .collect();
    }
    let rounds: BTreeSet<u32> = phases
        .iter()
        .filter(|p| p.mode == mode && p.op == op)
        .map(|p| p.round)
        .collect();
    rounds
        .into_iter()
        .filter_map(|r| {
            let rows: Vec<&PhaseResult> = phases
                .iter()
                .filter(|p| p.mode == mode && p.op == op && p.round == r)
                .collect();
            let count: u64 = rows.iter().map(|p| p.count).sum();
            if count == 0 {
                return None;
            }
            let weighted = |f: &dyn Fn(&PhaseResult) -> f64| {
                rows.iter().map(|p| f(p) * p.count as f64).sum::<f64>() / count as f64
            };
            let v = match metric {
                Metric::Ops => {
                    // Streams of one phase run at once: their rates add; phases follow each other.
                    let mut by_phase: BTreeMap<&str, (u64, f64)> = BTreeMap::new();
                    for p in &rows {
                        let e = by_phase.entry(p.phase.as_str()).or_default();
                        e.0 += p.count;
                        if p.ops_per_s > 0.0 {
                            e.1 = e.1.max(p.count as f64 / p.ops_per_s);
                        }
                    }
                    let (n, secs) = by_phase
                        .values()
                        .fold((0u64, 0.0), |a, v| (a.0 + v.0, a.1 + v.1));
                    if secs > 0.0 { n as f64 / secs } else { 0.0 }
                }
                Metric::P50 => weighted(&|p| p.latency_ms.p50),
                Metric::P99 => weighted(&|p| p.latency_ms.p99),
                Metric::P999 => weighted(&|p| p.latency_ms.p999),
                Metric::ErrorRate => {
                    100.0 * rows.iter().map(|p| p.errors).sum::<u64>() as f64 / count as f64
                }
                Metric::KmsPerOp
                | Metric::CostPerMillion
                | Metric::P50Overhead
                | Metric::P99Overhead => return None,
            };
            Some((r, v))
        })
        .collect()
}

/// Max − min of a run's per-round values; `None` below two rounds.
pub fn spread(v: &BTreeMap<u32, f64>) -> Option<f64> {
    if v.len() < 2 {
        return None;
    }
    let max = v.values().copied().fold(f64::MIN, f64::max);
    let min = v.values().copied().fold(f64::MAX, f64::min);
    Some(max - min)
}

/// The median of a run's per-round values; `None` below two rounds.
fn round_median(phases: &[PhaseResult], mode: Mode, op: Op, metric: Metric) -> Option<f64> {
    let mut v: Vec<f64> = round_values(phases, mode, op, metric)
        .into_values()
        .collect();
    if v.len() < 2 {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    })
}

/// A metric's value in a summary: the value the gate judges.
///
/// Latency percentiles and overheads of a run with several rounds are the **median of
/// their per-round values** (an overhead's per-round value is the mode's percentile minus
/// SSE-S3's in that round): a regression of the code shows in every round, a stall of
/// the machine in one, and the median lets one disturbed round pass. With one round a
/// percentile is the run's own; an overhead needs two.
pub fn value(s: &Summary, mode: Mode, op: Option<Op>, metric: Metric) -> Option<f64> {
    match (metric, op) {
        (Metric::KmsPerOp, None) => s.kms.iter().find(|k| k.mode == mode).map(|k| {
            if k.source == KmsSource::Measured {
                k.per_s3_op
            } else if k.s3_ops > 0 {
                k.predicted.calls / k.s3_ops as f64
            } else {
                0.0
            }
        }),
        (Metric::CostPerMillion, None) => s
            .cost
            .iter()
            .find(|c| c.mode == mode)
            .map(|c| c.per_million_ops.total_usd),
        (Metric::P50Overhead | Metric::P99Overhead, Some(op)) => {
            (mode != BASELINE).then(|| round_median(&s.phases, mode, op, metric))?
        }
        (Metric::P50 | Metric::P99 | Metric::P999, Some(op))
            if let Some(m) = round_median(&s.phases, mode, op, metric) =>
        {
            Some(m)
        }
        (_, Some(op)) => s
            .results
            .iter()
            .find(|r| r.mode == mode && r.op == op)
            .map(|r| match metric {
                Metric::Ops => r.ops_per_s,
                Metric::P50 => r.latency_ms.p50,
                Metric::P99 => r.latency_ms.p99,
                Metric::P999 => r.latency_ms.p999,
                Metric::ErrorRate => 100.0 * r.error_rate,
                _ => f64::NAN,
            }),
        _ => None,
    }
}

/// Every (mode, operation) a summary has results for, and every mode (operation `None`).
pub fn series(s: &Summary) -> BTreeSet<(Mode, Option<Op>)> {
    let mut keys = BTreeSet::new();
    for r in &s.results {
        keys.insert((r.mode, Some(r.op)));
        keys.insert((r.mode, None));
    }
    keys
}

/// Every metric value of a summary, by key.
pub fn all_values(s: &Summary) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for (mode, op) in series(s) {
        for metric in Metric::ALL {
            if metric.per_mode() != op.is_none() {
                continue;
            }
            if let Some(v) = value(s, mode, op, metric).filter(|v| v.is_finite()) {
                out.insert(key(mode, op, metric), v);
            }
        }
    }
    out
}

/// The scenario as far as comparability goes: what load ran, not where or with what seed.
pub fn identity(s: &Summary) -> serde_json::Value {
    let mut v = s.scenario.definition.clone();
    if let Some(o) = v.as_object_mut() {
        for k in ["simulator", "target", "seed", "description", "thresholds"] {
            o.remove(k);
        }
    }
    v
}

/// The percentage a change of a metric amounts to. An overhead's change is stated against
/// the mode's own percentile (`of`), a plain metric's against its own value.
pub fn change_pct(metric: Metric, base: f64, current: f64, of: Option<f64>) -> Option<f64> {
    let against = match metric.overhead_of() {
        Some(_) => of?,
        None => base,
    };
    if against != 0.0 {
        Some(100.0 * (current - base) / against.abs())
    } else if base == current {
        Some(0.0)
    } else {
        None
    }
}
