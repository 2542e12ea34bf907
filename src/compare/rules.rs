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
}

impl Metric {
    /// Every metric.
    pub const ALL: [Metric; 7] = [
        Metric::Ops,
        Metric::P50,
        Metric::P99,
        Metric::P999,
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
        }
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
    pub(super) fn specificity(&self) -> u8 {
        u8::from(self.mode.is_some()) + u8::from(self.op.is_some())
    }

    pub(super) fn matches(&self, mode: Mode, op: Option<Op>, metric: Metric) -> bool {
        self.metric == metric
            && self.mode.is_none_or(|m| m == mode)
            && (self.op.is_none() || self.op == op)
    }
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

/// Rules from a TOML file: a `[max_regression]` table of `key = "tolerance"`.
pub fn rules_file(path: &Path) -> Result<Vec<Rule>, Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        max_regression: BTreeMap<String, String>,
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
    f.max_regression
        .iter()
        .map(|(k, v)| rule(k, v).map_err(|e| usage(format!("{}: {e}", path.display()))))
        .collect()
}

/// The rules used when none are given.
pub fn default_rules() -> Vec<Rule> {
    [
        ("ops", "5%"),
        ("p50", "10%"),
        ("p99", "15%"),
        ("error_rate", "0.1pp"),
        ("kms_per_op", "0%"),
        ("cost_per_million", "1%"),
    ]
    .into_iter()
    .filter_map(|(k, v)| rule(k, v).ok())
    .collect()
}
