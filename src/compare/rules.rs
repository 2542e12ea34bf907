//! Tolerance rules of the regression gate: `[mode.][op.]metric = tolerance`, from
//! flags or a TOML file, and the defaults when none are given.

use crate::error::Error;
use crate::scenario::{Mode, Op};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

fn usage(s: impl Into<String>) -> Error {
    Error::Usage(s.into())
}

/// A gated quantity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Operations per second (lower is worse).
    Ops,
    /// Median latency.
    P50,
    /// 99th percentile latency.
    P99,
    /// 99.9th percentile latency.
    P999,
    /// Failed / completed.
    ErrorRate,
    /// KMS calls per S3 operation (per mode; deterministic).
    KmsPerOp,
    /// Cost per million operations (per mode).
    CostPerMillion,
    /// The mode's p50 minus SSE-S3's, paired round by round in the same run (ms).
    P50Overhead,
    /// The mode's p99 minus SSE-S3's, paired round by round in the same run (ms).
    P99Overhead,
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 9] = [
        Metric::Ops,
        Metric::P50,
        Metric::P99,
        Metric::P999,
        Metric::P50Overhead,
        Metric::P99Overhead,
        Metric::ErrorRate,
        Metric::KmsPerOp,
        Metric::CostPerMillion,
    ];

    /// The name rules use.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Ops => "ops",
            Metric::P50 => "p50",
            Metric::P99 => "p99",
            Metric::P999 => "p999",
            Metric::ErrorRate => "error_rate",
            Metric::KmsPerOp => "kms_per_op",
            Metric::CostPerMillion => "cost_per_million",
            Metric::P50Overhead => "p50_overhead",
            Metric::P99Overhead => "p99_overhead",
        }
    }

    /// The metric as a column header names it.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Ops => "ops/s",
            Metric::P50 => "p50 ms",
            Metric::P99 => "p99 ms",
            Metric::P999 => "p99.9 ms",
            Metric::ErrorRate => "error rate %",
            Metric::KmsPerOp => "KMS calls/op",
            Metric::CostPerMillion => "$ per 1M ops",
            Metric::P50Overhead => "p50 overhead ms",
            Metric::P99Overhead => "p99 overhead ms",
        }
    }

    /// For an overhead, the percentile it is the overhead of: its changes are stated
    /// against the mode's own value of that percentile, so "+10%" means the same for a
    /// PUT's p50 and for the KMS overhead inside it.
    pub fn overhead_of(self) -> Option<Metric> {
        match self {
            Metric::P50Overhead => Some(Metric::P50),
            Metric::P99Overhead => Some(Metric::P99),
            _ => None,
        }
    }

    /// Measured with run-to-run noise, so judged statistically against a history;
    /// the others (counts, rates, prices) are judged by their fixed tolerance.
    pub fn statistical(self) -> bool {
        matches!(
            self,
            Metric::Ops
                | Metric::P50
                | Metric::P99
                | Metric::P999
                | Metric::P50Overhead
                | Metric::P99Overhead
        )
    }

    /// Per mode rather than per (mode, operation).
    pub fn per_mode(self) -> bool {
        matches!(self, Metric::KmsPerOp | Metric::CostPerMillion)
    }

    pub(super) fn lower_is_worse(self) -> bool {
        self == Metric::Ops
    }

    fn parse(s: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == s)
    }
}

/// How much worse a metric may get.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Tolerance {
    /// Relative change, percent.
    Percent(f64),
    /// Absolute change in percentage points (rates).
    Points(f64),
}

impl std::fmt::Display for Tolerance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tolerance::Percent(p) => write!(f, "{p}%"),
            Tolerance::Points(p) => write!(f, "{p}pp"),
        }
    }
}

/// One rule: `[mode.][op.]metric = tolerance`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// The rule as written.
    pub text: String,
    /// Only this mode.
    pub mode: Option<Mode>,
    /// Only this operation.
    pub op: Option<Op>,
    /// The metric.
    pub metric: Metric,
    /// The tolerance.
    pub tolerance: Tolerance,
}

impl Rule {
    fn specificity(&self) -> u8 {
        u8::from(self.mode.is_some()) + u8::from(self.op.is_some())
    }

    fn matches(&self, mode: Mode, op: Option<Op>, metric: Metric) -> bool {
        self.metric == metric
            && self.mode.is_none_or(|m| m == mode)
            && (self.op.is_none() || self.op == op)
    }
}

/// The most specific of `rules` that matches (mode, op, metric), with its index.
pub(super) fn rule_for(
    rules: &[Rule],
    mode: Mode,
    op: Option<Op>,
    metric: Metric,
) -> Option<(usize, &Rule)> {
    rules
        .iter()
        .enumerate()
        .filter(|(_, r)| r.matches(mode, op, metric))
        .max_by_key(|(_, r)| r.specificity())
}

/// Parses `key=value` (flag form) into a rule.
pub fn parse_rule(text: &str) -> Result<Rule, Error> {
    let (key, value) = text.split_once('=').ok_or_else(|| {
        usage(format!(
            "--max-regression {text:?}: expected METRIC=TOLERANCE like p99=10% or error_rate=0.1pp"
        ))
    })?;
    rule(key.trim(), value.trim())
}

fn rule(key: &str, value: &str) -> Result<Rule, Error> {
    let text = format!("{key}={value}");
    let parts: Vec<&str> = key.split('.').collect();
    let known = Metric::ALL.map(|m| m.name()).join(", ");
    let metric_of = |s: &str| {
        Metric::parse(s).ok_or_else(|| {
            usage(format!(
                "rule {text:?}: unknown metric {s:?}; expected one of {known}"
            ))
        })
    };
    let mode_of = |s: &str| -> Result<Option<Mode>, Error> {
        if s == "all" {
            return Ok(None);
        }
        Mode::parse(s)
            .or((s == "kms-direct").then_some(Mode::KmsDirect))
            .map(Some)
            .ok_or_else(|| usage(format!("rule {text:?}: unknown mode {s:?}")))
    };
    let op_of = |s: &str| -> Result<Option<Op>, Error> {
        if s == "all" {
            return Ok(None);
        }
        Op::parse(s)
            .map(Some)
            .ok_or_else(|| usage(format!("rule {text:?}: unknown operation {s:?}")))
    };
    let (mode, op, metric) = match parts.as_slice() {
        [m] => (None, None, metric_of(m)?),
        [mode, m] => (mode_of(mode)?, None, metric_of(m)?),
        [mode, op, m] => (mode_of(mode)?, op_of(op)?, metric_of(m)?),
        _ => {
            return Err(usage(format!(
                "rule {text:?}: expected METRIC, MODE.METRIC or MODE.OP.METRIC"
            )));
        }
    };
    if op.is_some() && metric.per_mode() {
        return Err(usage(format!(
            "rule {text:?}: {} is per mode, not per operation",
            metric.name()
        )));
    }
    let bad = || {
        usage(format!(
            "rule {text:?}: expected a tolerance like 10% (relative) or 0.1pp (percentage points)"
        ))
    };
    let tolerance = if let Some(p) = value.strip_suffix("pp") {
        Tolerance::Points(p.trim().parse().map_err(|_| bad())?)
    } else if let Some(p) = value.strip_suffix('%') {
        Tolerance::Percent(p.trim().parse().map_err(|_| bad())?)
    } else {
        return Err(bad());
    };
    match tolerance {
        Tolerance::Percent(v) | Tolerance::Points(v) if !(v >= 0.0 && v.is_finite()) => {
            return Err(bad());
        }
        _ => {}
    }
    Ok(Rule {
        text,
        mode,
        op,
        metric,
        tolerance,
    })
}

/// The `[history]` table of a rules file: how `compare --history` uses the history
/// (flags override each).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryTable {
    /// The last this many runs.
    pub window: Option<usize>,
    /// Fewer runs than this fall back to the fixed tolerances.
    pub min_runs: Option<usize>,
    /// `t` or `z`.
    pub test: Option<String>,
    /// One-sided significance per metric.
    pub significance: Option<f64>,
    /// Default minimum effect, like `5%`.
    pub min_effect: Option<String>,
}

/// A rules file.
#[derive(Clone, Debug, Default)]
pub struct RulesFile {
    /// `[max_regression]`: which metrics are gated, and their fixed tolerances.
    pub rules: Vec<Rule>,
    /// `[min_effect]`: per-metric minimum effects of the statistical test.
    pub min_effect: Vec<Rule>,
    /// `[history]`.
    pub history: HistoryTable,
}

/// Parses a minimum effect like `5%`.
pub fn parse_percent(what: &str, v: &str) -> Result<f64, Error> {
    v.trim()
        .strip_suffix('%')
        .and_then(|p| p.trim().parse::<f64>().ok())
        .filter(|p| p.is_finite() && *p >= 0.0)
        .ok_or_else(|| usage(format!("{what}: expected a percentage like 5%, got {v:?}")))
}

/// Rules from a TOML file: a `[max_regression]` table of `key = "tolerance"`, and for
/// `compare --history` optionally `[min_effect]` (same keys, percentages) and `[history]`.
pub fn rules_file(path: &Path) -> Result<RulesFile, Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        max_regression: BTreeMap<String, String>,
        #[serde(default)]
        min_effect: BTreeMap<String, String>,
        #[serde(default)]
        history: HistoryTable,
    }
    let text =
        std::fs::read_to_string(path).map_err(|e| usage(format!("{}: {e}", path.display())))?;
    let f: File = toml::from_str(&text).map_err(|e| {
        usage(format!(
            "{}: {} (expected a [max_regression] table like p99 = \"10%\")",
            path.display(),
            e.message()
        ))
    })?;
    let in_file = |e: Error| usage(format!("{}: {e}", path.display()));
    let rules = f
        .max_regression
        .iter()
        .map(|(k, v)| rule(k, v).map_err(in_file))
        .collect::<Result<Vec<_>, _>>()?;
    let min_effect = f
        .min_effect
        .iter()
        .map(|(k, v)| {
            let r = rule(k, v).map_err(in_file)?;
            match r.tolerance {
                Tolerance::Percent(_) if r.metric.statistical() => Ok(r),
                _ => Err(in_file(usage(format!(
                    "[min_effect] {k:?}: a minimum effect is a percentage of a measured metric ({})",
                    Metric::ALL
                        .into_iter()
                        .filter(|m| m.statistical())
                        .map(Metric::name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )))),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RulesFile {
        rules,
        min_effect,
        history: f.history,
    })
}

/// The rules used when none are given.
pub fn default_rules() -> Vec<Rule> {
    [
        ("ops", "5%"),
        ("p50", "10%"),
        ("p99", "15%"),
        ("p50_overhead", "10%"),
        ("p99_overhead", "15%"),
        ("error_rate", "0.1pp"),
        ("kms_per_op", "0%"),
        ("cost_per_million", "1%"),
    ]
    .into_iter()
    .filter_map(|(k, v)| rule(k, v).ok())
    .collect()
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
        let r = parse_rule("sse-kms.get.p50_overhead=10%").unwrap();
        assert_eq!(r.metric, Metric::P50Overhead);
        assert_eq!(r.metric.overhead_of(), Some(Metric::P50));
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
}
