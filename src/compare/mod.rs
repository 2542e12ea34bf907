//! `sse-bench compare`: the regression gate for CI. Compares two results per
//! (mode, operation) and per mode, applies tolerance rules, and tells a
//! regression from round-to-round noise.

mod rules;

pub use rules::{Metric, Rule, Tolerance, default_rules, parse_rule, rules_file};

use crate::error::Error;
use crate::results::Summary;
use crate::results::summary::{KmsSource, PhaseResult};
use crate::scenario::{Mode, Op};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn usage(s: impl Into<String>) -> Error {
    Error::Usage(s.into())
}

/// What a row concluded.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Better beyond the tolerance and the noise.
    Improved,
    /// Within the tolerance or the noise.
    Unchanged,
    /// Worse beyond the tolerance and the noise.
    Regressed,
    /// Not gated by any rule.
    NotGated,
}

impl Verdict {
    /// The word a report shows.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Unchanged => "unchanged",
            Verdict::Regressed => "REGRESSED",
            Verdict::NotGated => "-",
        }
    }
}

/// One compared value.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Row {
    /// Mode.
    pub mode: Mode,
    /// Operation (None for per-mode metrics).
    pub op: Option<Op>,
    /// Metric.
    pub metric: Metric,
    /// Baseline value (None when the baseline lacks it).
    pub baseline: Option<f64>,
    /// Current value (None when the current run lacks it).
    pub current: Option<f64>,
    /// Relative change, percent.
    pub change_pct: Option<f64>,
    /// The rule applied.
    pub rule: Option<String>,
    /// Round-to-round spread (the larger of the two runs'), in the metric's unit.
    pub noise: Option<f64>,
    /// The conclusion.
    pub verdict: Verdict,
    /// Why a rule did not gate the row, when it did not.
    #[serde(default)]
    pub note: Option<String>,
}

impl Row {
    /// `mode.op.metric` (or `mode.metric`): the name a rule would give it.
    pub fn key(&self) -> String {
        match self.op {
            Some(op) => format!("{}.{}.{}", self.mode, op, self.metric.name()),
            None => format!("{}.{}", self.mode, self.metric.name()),
        }
    }
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    /// Baseline path.
    pub baseline: String,
    /// Current path.
    pub current: String,
    /// Scenario name.
    pub scenario: String,
    /// Rules in force.
    pub rules: Vec<Rule>,
    /// Rows.
    pub rows: Vec<Row>,
    /// Rows that regressed.
    pub regressions: usize,
    /// The current run's verdict (what its modes change against SSE-S3), for context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verdict: Option<crate::results::verdict::Verdict>,
}

/// Per-round values of a per-operation metric (aggregated over streams and phases).
fn round_values(phases: &[PhaseResult], mode: Mode, op: Op, metric: Metric) -> Vec<f64> {
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
            Some(match metric {
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
                Metric::KmsPerOp | Metric::CostPerMillion => return None,
            })
        })
        .collect()
}

fn spread(v: &[f64]) -> Option<f64> {
    if v.len() < 2 {
        return None;
    }
    let max = v.iter().copied().fold(f64::MIN, f64::max);
    let min = v.iter().copied().fold(f64::MAX, f64::min);
    Some(max - min)
}

/// A metric's value in a summary.
fn value(s: &Summary, mode: Mode, op: Option<Op>, metric: Metric) -> Option<f64> {
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
                Metric::KmsPerOp | Metric::CostPerMillion => f64::NAN,
            }),
        _ => None,
    }
}

/// The scenario as far as comparability goes: what load ran, not where or with what seed.
fn identity(s: &Summary) -> serde_json::Value {
    let mut v = s.scenario.definition.clone();
    if let Some(o) = v.as_object_mut() {
        for k in ["simulator", "target", "seed", "description", "thresholds"] {
            o.remove(k);
        }
    }
    v
}

/// Compares two summaries under rules.
pub fn compare(
    base: &Summary,
    cur: &Summary,
    rules: &[Rule],
    allow_different: bool,
    strict: bool,
) -> Result<Vec<Row>, Error> {
    if !allow_different && identity(base) != identity(cur) {
        return Err(usage(format!(
            "the results are of different scenarios ({:?} and {:?}, or the same name with a different workload, phases or modes); pass --allow-different to compare them anyway",
            base.scenario.name, cur.scenario.name
        )));
    }
    let mut keys: BTreeSet<(Mode, Option<Op>)> = BTreeSet::new();
    for r in base.results.iter().chain(&cur.results) {
        keys.insert((r.mode, Some(r.op)));
        keys.insert((r.mode, None));
    }
    let mut rows = Vec::new();
    let mut used: BTreeSet<usize> = BTreeSet::new();
    for (mode, op) in keys {
        for metric in Metric::ALL {
            if metric.per_mode() != op.is_none() {
                continue;
            }
            let b = value(base, mode, op, metric);
            let c = value(cur, mode, op, metric);
            if b.is_none() && c.is_none() {
                continue;
            }
            // The most specific matching rule wins.
            let rule = rules
                .iter()
                .enumerate()
                .filter(|(_, r)| r.matches(mode, op, metric))
                .max_by_key(|(_, r)| r.specificity());
            if let Some((i, _)) = rule {
                used.insert(i);
            }
            let noise = op.and_then(|op| {
                let sb = spread(&round_values(&base.phases, mode, op, metric));
                let sc = spread(&round_values(&cur.phases, mode, op, metric));
                match (sb, sc) {
                    (Some(a), Some(b)) => Some(a.max(b)),
                    (a, b) => a.or(b),
                }
            });
            let change_pct = match (b, c) {
                (Some(b), Some(c)) if b != 0.0 => Some(100.0 * (c - b) / b.abs()),
                (Some(b), Some(c)) if b == c => Some(0.0),
                _ => None,
            };
            // A percentile rests on the samples beyond it: p99 of 100 operations is one
            // sample. Below 10 samples beyond the percentile it is shown, not gated.
            let needed = match metric {
                Metric::P50 => 20,
                Metric::P99 => 1_000,
                Metric::P999 => 10_000,
                _ => 0,
            };
            let samples = op.map_or(u64::MAX, |op| {
                let n = |s: &Summary| {
                    s.results
                        .iter()
                        .find(|r| r.mode == mode && r.op == op)
                        .map_or(0, |r| r.count)
                };
                n(base).min(n(cur))
            });
            let too_few = b.is_some() && c.is_some() && samples < needed;
            let verdict = match (rule, b, c) {
                (None, _, _) => Verdict::NotGated,
                (Some(_), _, _) if too_few => Verdict::NotGated,
                // A series the baseline has and the current run lost is a regression.
                (Some(_), Some(_), None) => Verdict::Regressed,
                (Some(_), None, Some(_)) => Verdict::NotGated,
                (Some((_, r)), Some(b), Some(c)) => judge(metric, r.tolerance, b, c, noise),
                (Some(_), None, None) => Verdict::NotGated,
            };
            rows.push(Row {
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
            return Err(usage(format!(
                "rule {:?} matches no metric in these results",
                r.text
            )));
        }
    }
    Ok(rows)
}

fn judge(metric: Metric, tol: Tolerance, b: f64, c: f64, noise: Option<f64>) -> Verdict {
    // Positive `worse` means the current run is worse.
    let worse = if metric.lower_is_worse() {
        b - c
    } else {
        c - b
    };
    let allowed = match tol {
        Tolerance::Percent(p) => b.abs() * p / 100.0,
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

/// `compare`'s options.
#[derive(Clone, Debug, Default)]
pub struct CompareOptions {
    /// Baseline results directory or summary.json.
    pub baseline: PathBuf,
    /// Current results directory or summary.json.
    pub current: PathBuf,
    /// `--max-regression` rules.
    pub max_regression: Vec<String>,
    /// `--rules FILE`.
    pub rules: Option<PathBuf>,
    /// `--allow-different`.
    pub allow_different: bool,
}

/// Reads both summaries and the rules, and compares.
pub fn run(o: &CompareOptions) -> Result<Comparison, Error> {
    let base = crate::results::read_summary(&o.baseline)?;
    let cur = crate::results::read_summary(&o.current)?;
    let mut rules = match &o.rules {
        Some(f) => rules_file(f)?,
        None => Vec::new(),
    };
    for r in &o.max_regression {
        rules.push(parse_rule(r)?);
    }
    // Rules someone wrote must each gate something; the defaults need not.
    let strict = !rules.is_empty();
    if rules.is_empty() {
        rules = default_rules();
    }
    let rows = compare(&base, &cur, &rules, o.allow_different, strict)?;
    let regressions = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regressed)
        .count();
    Ok(Comparison {
        baseline: o.baseline.display().to_string(),
        current: o.current.display().to_string(),
        scenario: cur.scenario.name.clone(),
        rules,
        rows,
        regressions,
        verdict: cur.verdict.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_parse_and_reject() {
        let r = parse_rule("p99=10%").unwrap();
        assert_eq!(
            (r.metric, r.tolerance),
            (Metric::P99, Tolerance::Percent(10.0))
        );
        let r = parse_rule("sse-kms.put.p99=20%").unwrap();
        assert_eq!((r.mode, r.op), (Some(Mode::SseKms), Some(Op::Put)));
        let r = parse_rule("error_rate=0.1pp").unwrap();
        assert_eq!(r.tolerance, Tolerance::Points(0.1));
        for bad in [
            "p98=10%",
            "p99",
            "p99=ten%",
            "sse-c.p99=1%",
            "sse-kms.put.kms_per_op=0%",
            "p99=-1%",
        ] {
            assert!(parse_rule(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn judging_needs_tolerance_and_noise() {
        // p99 up 30 % with a 10 % tolerance: regressed without noise, not within a 40 ms spread.
        assert_eq!(
            judge(Metric::P99, Tolerance::Percent(10.0), 100.0, 130.0, None),
            Verdict::Regressed
        );
        assert_eq!(
            judge(
                Metric::P99,
                Tolerance::Percent(10.0),
                100.0,
                130.0,
                Some(40.0)
            ),
            Verdict::Unchanged
        );
        // Throughput is worse when lower.
        assert_eq!(
            judge(Metric::Ops, Tolerance::Percent(5.0), 100.0, 90.0, None),
            Verdict::Regressed
        );
        assert_eq!(
            judge(Metric::Ops, Tolerance::Percent(5.0), 100.0, 110.0, None),
            Verdict::Improved
        );
        // Exact gating at 0 %.
        assert_eq!(
            judge(Metric::KmsPerOp, Tolerance::Percent(0.0), 0.9, 0.9, None),
            Verdict::Unchanged
        );
        assert_eq!(
            judge(
                Metric::KmsPerOp,
                Tolerance::Percent(0.0),
                0.9,
                0.9000001,
                None
            ),
            Verdict::Regressed
        );
        assert_eq!(
            judge(Metric::KmsPerOp, Tolerance::Percent(0.0), 0.0, 0.01, None),
            Verdict::Regressed
        );
        // Percentage points.
        assert_eq!(
            judge(Metric::ErrorRate, Tolerance::Points(0.1), 0.0, 0.05, None),
            Verdict::Unchanged
        );
        assert_eq!(
            judge(Metric::ErrorRate, Tolerance::Points(0.1), 0.0, 0.5, None),
            Verdict::Regressed
        );
    }
}
