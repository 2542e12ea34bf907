//! The gate against one baseline: two summaries of the same scenario, row by row,
//! each judged by its fixed tolerance and the round-to-round noise of both runs.

use super::rules::{Metric, Rule, Tolerance, rule_for};
use super::{Row, Verdict, values};
use crate::error::Error;
use crate::results::Summary;
use crate::scenario::{Mode, Op};
use std::collections::BTreeSet;

/// Compares two summaries under rules.
pub fn compare(
    base: &Summary,
    cur: &Summary,
    rules: &[Rule],
    allow_different: bool,
    strict: bool,
) -> Result<Vec<Row>, Error> {
    if !allow_different && values::identity(base) != values::identity(cur) {
        return Err(Error::Usage(format!(
            "the results are of different scenarios ({:?} and {:?}, or the same name with a different workload, phases or modes); pass --allow-different to compare them anyway",
            base.scenario.name, cur.scenario.name
        )));
    }
    let mut keys = values::series(base);
    keys.extend(values::series(cur));
    let mut rows = Vec::new();
    let mut used: BTreeSet<usize> = BTreeSet::new();
    for (mode, op) in keys {
        for metric in Metric::ALL {
            if metric.per_mode() != op.is_none() {
                continue;
            }
            let b = values::value(base, mode, op, metric);
            let c = values::value(cur, mode, op, metric);
            if b.is_none() && c.is_none() {
                continue;
            }
            // The most specific matching rule wins.
            let rule = rule_for(rules, mode, op, metric);
            if let Some((i, _)) = rule {
                used.insert(i);
            }
            let noise = op.and_then(|op| {
                let sb = values::spread(&values::round_values(&base.phases, mode, op, metric));
                let sc = values::spread(&values::round_values(&cur.phases, mode, op, metric));
                match (sb, sc) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                }
            });
            // An overhead's change is stated against the mode's own percentile.
            let of = metric
                .overhead_of()
                .and_then(|m| values::value(base, mode, op, m));
            let change_pct = match (b, c) {
                (Some(b), Some(c)) => values::change_pct(metric, b, c, of),
                _ => None,
            };
            // A percentile rests on the samples beyond it: p99 of 100 operations is one
            // sample. Below 10 samples beyond the percentile it is shown, not gated.
            let needed = samples_needed(metric);
            let samples = op.map_or(u64::MAX, |op| {
                count(base, mode, op).min(count(cur, mode, op))
            });
            let too_few = b.is_some() && c.is_some() && samples < needed;
            let verdict = match (rule, b, c) {
                (None, _, _) => Verdict::NotGated,
                (Some(_), _, _) if too_few => Verdict::NotGated,
                // A series the baseline has and the current run lost is a regression.
                (Some(_), Some(_), None) => Verdict::Regressed,
                (Some(_), None, Some(_)) => Verdict::NotGated,
                (Some((_, r)), Some(b), Some(c)) => judge(metric, r.tolerance, b, c, noise, of),
                (Some(_), None, None) => Verdict::NotGated,
            };
            rows.push(Row {
                history: None,
                note: (rule.is_some() && too_few)
                    .then(|| format!("{samples} operations: too few for this percentile")),
                mode,
                op,
                metric,
                baseline: b,
                current: c,
                change_pct,
                rule: rule.map(|(_, r)| r.text.clone()),
                noise,
                verdict,
            });
        }
    }
    // A rule someone wrote that gates nothing is a mistake in the gate, not a pass.
    for (i, r) in rules.iter().enumerate() {
        if strict && !used.contains(&i) {
            return Err(Error::Usage(format!(
                "rule {:?} matches no metric in these results",
                r.text
            )));
        }
    }
    Ok(rows)
}

/// Operations a percentile needs before it is gated: 10 samples beyond it (an overhead
/// rests on its percentile).
pub(super) fn samples_needed(metric: Metric) -> u64 {
    match metric.overhead_of().unwrap_or(metric) {
        Metric::P50 => 20,
        Metric::P99 => 1_000,
        Metric::P999 => 10_000,
        _ => 0,
    }
}

/// Operations of a (mode, operation) in a summary.
pub(super) fn count(s: &Summary, mode: Mode, op: Op) -> u64 {
    s.results
        .iter()
        .find(|r| r.mode == mode && r.op == op)
        .map_or(0, |r| r.count)
}

/// A fixed tolerance: worse by more than it and by more than the noise is a regression.
/// An overhead's percentage tolerance is of the mode's own percentile (`of`).
pub(super) fn judge(
    metric: Metric,
    tol: Tolerance,
    b: f64,
    c: f64,
    noise: Option<f64>,
    of: Option<f64>,
) -> Verdict {
    // Positive `worse` means the current run is worse.
    let worse = if metric.lower_is_worse() {
        b - c
    } else {
        c - b
    };
    let allowed = match tol {
        Tolerance::Percent(p) => {
            of.filter(|_| metric.overhead_of().is_some())
                .unwrap_or(b)
                .abs()
                * p
                / 100.0
        }
        Tolerance::Points(p) => p,
    };
    // Deterministic metrics are compared exactly, up to floating-point rounding.
    let eps = 1e-9 * b.abs().max(1.0);
    let beyond_noise = noise.is_none_or(|n| worse.abs() > n);
    if worse > allowed + eps && beyond_noise {
        Verdict::Regressed
    } else if -worse > allowed + eps && beyond_noise && allowed + eps > 0.0 {
        Verdict::Improved
    } else {
        Verdict::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn judging_needs_tolerance_and_noise() {
        use Metric::*;
        use Tolerance::{Percent, Points};
        use Verdict::*;
        // (metric, tolerance, baseline, current, round-to-round noise, expected)
        let cases = [
            // p99 up 30 % with a 10 % tolerance: regressed without noise, not within a 40 ms spread.
            (P99, Percent(10.0), 100.0, 130.0, None, Regressed),
            (P99, Percent(10.0), 100.0, 130.0, Some(40.0), Unchanged),
            // Throughput is worse when lower.
            (Ops, Percent(5.0), 100.0, 90.0, None, Regressed),
            (Ops, Percent(5.0), 100.0, 110.0, None, Improved),
            // Exact gating at 0 %.
            (KmsPerOp, Percent(0.0), 0.9, 0.9, None, Unchanged),
            (KmsPerOp, Percent(0.0), 0.9, 0.9000001, None, Regressed),
            (KmsPerOp, Percent(0.0), 0.0, 0.01, None, Regressed),
            // Percentage points.
            (ErrorRate, Points(0.1), 0.0, 0.05, None, Unchanged),
            (ErrorRate, Points(0.1), 0.0, 0.5, None, Regressed),
        ];
        for (metric, tol, base, cur, noise, want) in cases {
            assert_eq!(
                judge(metric, tol, base, cur, noise, None),
                want,
                "{metric:?} {tol:?} {base} -> {cur} (noise {noise:?})"
            );
        }
    }
}
