//! Threshold verdicts: each `[thresholds]` rule of the scenario against a summary.
//! The worst value over the selected series decides; a rule whose series never ran
//! fails rather than passing silently, except a rule on a mode the target could not
//! honour, which is reported as skipped.

use super::record::THROTTLED_KMS;
use super::summary::{OpResult, Summary, ThresholdResult};
use super::verdict::Percentile;
use crate::scenario::Threshold;
use crate::scenario::thresholds::Cmp;

/// Evaluates a threshold against a summary: every selected series must pass.
pub fn evaluate(t: &Threshold, s: &Summary) -> ThresholdResult {
    if let Some(m) = t.mode
        && let Some(sk) = s.target.skipped_modes.iter().find(|k| k.mode == m)
    {
        return ThresholdResult {
            name: t.name.clone(),
            rule: t.rule.clone(),
            actual: None,
            passed: false,
            skipped: Some(format!("{m} was skipped: {}", sk.reason)),
        };
    }
    let mut values = Vec::new();
    if t.mode_metric {
        for k in s.kms.iter().filter(|k| t.mode.is_none_or(|m| m == k.mode)) {
            let v = match t.metric.as_str() {
                "kms_per_op" => Some(k.per_s3_op),
                "kms_calls" => Some(k.calls as f64),
                "kms_peak_rps" => Some(k.peak_rps as f64),
                // Open-loop modes only: a closed-loop run has no schedule to drop from.
                "dropped_rate" => s
                    .load
                    .iter()
                    .find(|l| l.mode == k.mode)
                    .map(|l| l.dropped_rate),
                "achieved_rate" => s
                    .load
                    .iter()
                    .find(|l| l.mode == k.mode)
                    .map(|l| l.achieved_per_s),
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
                "p50_overhead" => s
                    .verdict
                    .as_ref()
                    .and_then(|v| v.overhead(r.mode, r.op, Percentile::P50)),
                "p99_overhead" => s
                    .verdict
                    .as_ref()
                    .and_then(|v| v.overhead(r.mode, r.op, Percentile::P99)),
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
    let upper = matches!(t.cmp, Cmp::Lt | Cmp::Le);
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
        skipped: None,
    }
}
