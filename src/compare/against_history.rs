//! The gate against a history: each gated metric of the current run judged against its
//! values in the last N runs. Measured metrics (throughput, percentiles, overheads) are
//! a regression only when the statistical test finds the value unlikely under the
//! history **and** the change is at least the minimum effect; counts, rates and prices
//! keep their fixed (often exact) tolerance against the latest run. With too short a
//! history the fixed tolerances judge against its mean, and the comparison says so.

use super::pairwise::{count, judge, samples_needed};
use super::rules::{Metric, Rule, Tolerance, rule_for};
use super::stats::{self, Distribution, Settings};
use super::{HistoryRecord, Row, Verdict, values};
use crate::results::Summary;
use serde::{Deserialize, Serialize};

/// How a row was judged against the history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryCell {
    /// History runs with this metric.
    pub runs: usize,
    /// Their mean.
    pub mean: f64,
    /// Their sample standard deviation.
    pub sd: f64,
    /// `t` or `z` (the statistical test), `fixed` (a tolerance against the history's
    /// mean, or its latest run for counts and prices) or `exact` (a 0 % tolerance).
    pub method: String,
    /// The test statistic, positive when worse (statistical rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub statistic: Option<f64>,
    /// One-sided p-value of a change at least this much worse (statistical rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_value: Option<f64>,
    /// The minimum effect that applied, percent (statistical rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_effect_pct: Option<f64>,
}

/// A metric's values in the history runs that have it, oldest first.
fn past_values(history: &[HistoryRecord], key: &str) -> Vec<f64> {
    history
        .iter()
        .filter_map(|r| r.metrics.get(key).copied())
        .collect()
}

/// What the gate needs besides the two sides.
pub struct Gate<'a> {
    /// `[max_regression]` rules: which metrics are gated, and fixed tolerances.
    pub rules: &'a [Rule],
    /// `[min_effect]` rules.
    pub min_effect: &'a [Rule],
    /// Test, significance, default minimum effect, minimum runs.
    pub settings: &'a Settings,
}

/// Judges `cur` against `history` (already the window, oldest first). Returns the rows
/// and which rules gated something.
pub fn judge_against(
    cur: &Summary,
    history: &[HistoryRecord],
    gate: &Gate<'_>,
) -> (Vec<Row>, Vec<bool>) {
    let mut used = vec![false; gate.rules.len()];
    let mut rows = Vec::new();
    for (mode, op) in values::series(cur) {
        for metric in Metric::ALL {
            if metric.per_mode() != op.is_none() {
                continue;
            }
            let past = past_values(history, &values::key(mode, op, metric));
            let c = values::value(cur, mode, op, metric).filter(|v| v.is_finite());
            if past.is_empty() && c.is_none() {
                continue;
            }
            let rule = rule_for(gate.rules, mode, op, metric);
            if let Some((i, _)) = rule {
                used[i] = true;
            }
            let dist = Distribution::of(&past);
            // An overhead's change is stated against the mode's own percentile.
            let of = metric.overhead_of().and_then(|m| {
                Distribution::of(&past_values(history, &values::key(mode, op, m))).map(|d| d.mean)
            });
            let noise = op.and_then(|op| {
                values::spread(&values::round_values(&cur.phases, mode, op, metric))
            });
            let mut row = Row {
                mode,
                op,
                metric,
                baseline: dist.map(|d| d.mean),
                current: c,
                change_pct: match (dist, c) {
                    (Some(d), Some(c)) => values::change_pct(metric, d.mean, c, of),
                    _ => None,
                },
                rule: rule.map(|(_, r)| r.text.clone()),
                noise,
                verdict: Verdict::NotGated,
                note: None,
                history: None,
            };
            let (Some((_, r)), Some(d), Some(c)) = (rule, dist, c) else {
                match (rule, dist) {
                    // A series the history has and the current run lost is a regression.
                    (Some(_), Some(_)) => row.verdict = Verdict::Regressed,
                    (Some(_), None) => row.note = Some("no history yet".into()),
                    (None, _) => {}
                }
                rows.push(row);
                continue;
            };
            let samples = op.map_or(u64::MAX, |op| count(cur, mode, op));
            if samples < samples_needed(metric) {
                row.note = Some(format!("{samples} operations: too few for this percentile"));
                rows.push(row);
                continue;
            }
            let mut cell = HistoryCell {
                runs: d.n,
                mean: d.mean,
                sd: d.sd,
                method: String::new(),
                statistic: None,
                p_value: None,
                min_effect_pct: None,
            };
            if metric.statistical() && d.n >= gate.settings.min_runs {
                let min_effect = rule_for(gate.min_effect, mode, op, metric)
                    .and_then(|(_, r)| match r.tolerance {
                        Tolerance::Percent(p) => Some(p),
                        Tolerance::Points(_) => None,
                    })
                    .unwrap_or(gate.settings.min_effect_pct);
                let t = stats::test(gate.settings.test, d, c, metric.lower_is_worse());
                let effect = row
                    .change_pct
                    .map(|p| if metric.lower_is_worse() { -p } else { p });
                let a = gate.settings.significance;
                row.verdict = match effect {
                    Some(e) if t.p_worse < a && e >= min_effect => Verdict::Regressed,
                    Some(e) if t.p_better < a && -e >= min_effect => Verdict::Improved,
                    _ => Verdict::Unchanged,
                };
                cell.method = gate.settings.test.as_str().into();
                cell.statistic = Some(t.statistic);
                cell.p_value = Some(t.p_worse);
                cell.min_effect_pct = Some(min_effect);
            } else {
                // Counts and prices against the latest run; measured metrics of a short
                // history against its mean, with tonight's round-to-round noise.
                let against = if metric.statistical() {
                    d.mean
                } else {
                    past[past.len() - 1]
                };
                row.baseline = Some(against);
                row.change_pct = values::change_pct(metric, against, c, of);
                let noise = if metric.statistical() { noise } else { None };
                row.verdict = judge(metric, r.tolerance, against, c, noise, of);
                cell.method = if r.tolerance == Tolerance::Percent(0.0) {
                    "exact".into()
                } else {
                    "fixed".into()
                };
            }
            row.history = Some(cell);
            rows.push(row);
        }
    }
    (rows, used)
}
