//! `sse-bench compare`: the regression gate for CI. Compares two results per
//! (mode, operation) and per mode, applies tolerance rules, and tells a
//! regression from round-to-round noise.

use crate::cli::Format;
use crate::results::Summary;
use crate::results::summary::PhaseResult;
use crate::scenario::{Mode, Op};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

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

    fn label(self) -> &'static str {
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

    fn lower_is_worse(self) -> bool {
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

/// Bad input: exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

fn usage(s: impl Into<String>) -> UsageError {
    UsageError(s.into())
}

/// Parses `key=value` (flag form) into a rule.
pub fn parse_rule(text: &str) -> Result<Rule, UsageError> {
    let (key, value) = text.split_once('=').ok_or_else(|| {
        usage(format!(
            "--max-regression {text:?}: expected METRIC=TOLERANCE like p99=10% or error_rate=0.1pp"
        ))
    })?;
    rule(key.trim(), value.trim())
}

fn rule(key: &str, value: &str) -> Result<Rule, UsageError> {
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
    let mode_of = |s: &str| -> Result<Option<Mode>, UsageError> {
        if s == "all" {
            return Ok(None);
        }
        Mode::parse(s)
            .or((s == "kms-direct").then_some(Mode::KmsDirect))
            .map(Some)
            .ok_or_else(|| usage(format!("rule {text:?}: unknown mode {s:?}")))
    };
    let op_of = |s: &str| -> Result<Option<Op>, UsageError> {
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
pub fn rules_file(path: &Path) -> Result<Vec<Rule>, UsageError> {
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
    fn as_str(self) -> &'static str {
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
    fn key(&self) -> String {
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
            if k.source == "measured" {
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
) -> Result<Vec<Row>, UsageError> {
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
    /// `--markdown FILE`.
    pub markdown: Option<PathBuf>,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// `--allow-different`.
    pub allow_different: bool,
}

/// Runs `compare`: returns the rendered output and the exit code (0 or 3).
pub fn command(o: &CompareOptions, format: Format) -> Result<(String, i32), UsageError> {
    let base = crate::results::read_summary(&o.baseline).map_err(usage)?;
    let cur = crate::results::read_summary(&o.current).map_err(usage)?;
    let mut rules = match &o.rules {
        Some(f) => rules_file(f)?,
        None => Vec::new(),
    };
    for r in &o.max_regression {
        rules.push(parse_rule(r)?);
    }
    let strict = !rules.is_empty();
    if rules.is_empty() {
        rules = default_rules();
    }
    let rows = compare(&base, &cur, &rules, o.allow_different, strict)?;
    let regressions = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regressed)
        .count();
    let c = Comparison {
        baseline: o.baseline.display().to_string(),
        current: o.current.display().to_string(),
        scenario: cur.scenario.name.clone(),
        rules,
        rows,
        regressions,
    };
    let md = render_markdown(&c);
    if let Some(f) = &o.markdown {
        crate::results::write_atomic(f, md.as_bytes())
            .map_err(|e| usage(format!("--markdown {}: {e}", f.display())))?;
    }
    crate::report::append_step_summary(&md);
    if let Some(f) = &o.junit {
        crate::results::write_atomic(f, render_junit(&c).as_bytes())
            .map_err(|e| usage(format!("--junit {}: {e}", f.display())))?;
    }
    let out = match format {
        Format::Json => serde_json::to_string_pretty(&c).unwrap_or_default() + "\n",
        Format::Markdown => md,
        Format::Text | Format::Csv => render_text(&c),
    };
    let code = if regressions > 0 {
        crate::cli::exit::THRESHOLD
    } else {
        crate::cli::exit::OK
    };
    Ok((out, code))
}

fn num(v: Option<f64>) -> String {
    match v {
        None => "missing".into(),
        Some(v) if v.abs() >= 100.0 => format!("{v:.1}"),
        Some(v) if v.abs() >= 1.0 => format!("{v:.2}"),
        Some(v) => format!("{v:.4}"),
    }
}

fn pct(v: Option<f64>) -> String {
    v.map_or("-".into(), |p| format!("{p:+.1}%"))
}

fn verdict_line(c: &Comparison) -> String {
    if c.regressions == 0 {
        format!("no regression ({} gated rows)", gated(c))
    } else {
        format!("{} regression(s) in {} gated rows", c.regressions, gated(c))
    }
}

fn gated(c: &Comparison) -> usize {
    c.rows
        .iter()
        .filter(|r| r.verdict != Verdict::NotGated)
        .count()
}

/// The terminal table.
pub fn render_text(c: &Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{}: baseline {} vs current {}",
        c.scenario, c.baseline, c.current
    );
    let _ = writeln!(
        o,
        "{:<20} {:<17} {:<14} {:>11} {:>11} {:>9} {:>9} {:<22} verdict",
        "mode", "op", "metric", "baseline", "current", "change", "noise", "rule"
    );
    for r in &c.rows {
        let _ = writeln!(
            o,
            "{:<20} {:<17} {:<14} {:>11} {:>11} {:>9} {:>9} {:<22} {}",
            r.mode.as_str(),
            r.op.map_or("-", |o| o.as_str()),
            r.metric.label(),
            num(r.baseline),
            num(r.current),
            pct(r.change_pct),
            r.noise.map_or("-".into(), |n| num(Some(n))),
            r.rule.as_deref().unwrap_or("-"),
            r.note
                .as_deref()
                .map_or(r.verdict.as_str().to_owned(), |n| format!("- ({n})"))
        );
    }
    let _ = writeln!(o, "\n{}", verdict_line(c));
    o
}

/// The Markdown report (also appended to `$GITHUB_STEP_SUMMARY`).
pub fn render_markdown(c: &Comparison) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "### sse-bench compare: {}\n\n{}: baseline `{}`, current `{}`\n",
        c.scenario,
        verdict_line(c),
        c.baseline,
        c.current
    );
    let _ = writeln!(
        o,
        "| mode | op | metric | baseline | current | change | noise | rule | verdict |\n|---|---|---|---:|---:|---:|---:|---|---|"
    );
    for r in &c.rows {
        let v = match r.verdict {
            Verdict::Regressed => "**regressed**",
            v => v.as_str(),
        };
        let _ = writeln!(
            o,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.mode,
            r.op.map_or("-", |o| o.as_str()),
            r.metric.label(),
            num(r.baseline),
            num(r.current),
            pct(r.change_pct),
            r.noise.map_or("-".into(), |n| num(Some(n))),
            r.rule.as_deref().map_or("-".into(), |r| format!("`{r}`")),
            v
        );
    }
    o
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// JUnit XML: one testcase per gated row; failures carry the numbers.
pub fn render_junit(c: &Comparison) -> String {
    let cases: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.verdict != Verdict::NotGated)
        .collect();
    let mut o = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        o,
        "<testsuites name=\"sse-bench compare\" tests=\"{}\" failures=\"{}\">",
        cases.len(),
        c.regressions
    );
    let _ = writeln!(
        o,
        "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
        xml(&c.scenario),
        cases.len(),
        c.regressions
    );
    for r in cases {
        let class = match r.op {
            Some(op) => format!("{}.{}", r.mode, op),
            None => r.mode.to_string(),
        };
        let _ = write!(
            o,
            "    <testcase classname=\"{}\" name=\"{}\"",
            xml(&class),
            r.metric.name()
        );
        if r.verdict == Verdict::Regressed {
            let msg = format!(
                "{} regressed: {} -> {} ({}), rule {}{}",
                r.key(),
                num(r.baseline),
                num(r.current),
                pct(r.change_pct),
                r.rule.as_deref().unwrap_or("-"),
                r.noise.map_or(String::new(), |n| format!(
                    ", round-to-round noise {}",
                    num(Some(n))
                ))
            );
            let _ = writeln!(
                o,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                xml(&msg),
                xml(&msg)
            );
        } else {
            let _ = writeln!(o, "/>");
        }
    }
    o.push_str("  </testsuite>\n</testsuites>\n");
    o
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

    #[test]
    fn junit_escapes_and_counts() {
        let c = Comparison {
            baseline: "a".into(),
            current: "b".into(),
            scenario: "x<y".into(),
            rules: vec![],
            rows: vec![Row {
                mode: Mode::SseKms,
                op: Some(Op::Put),
                metric: Metric::P99,
                baseline: Some(10.0),
                current: Some(20.0),
                change_pct: Some(100.0),
                rule: Some("p99=10%".into()),
                noise: None,
                verdict: Verdict::Regressed,
                note: None,
            }],
            regressions: 1,
        };
        let x = render_junit(&c);
        assert!(x.contains("name=\"x&lt;y\"") && x.contains("failures=\"1\""));
        assert!(
            x.contains("sse-kms.put.p99 regressed: 10.00 -&gt; 20.00 (+100.0%)"),
            "{x}"
        );
    }
}
