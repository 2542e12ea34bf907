//! `sse-bench compare`: the regression gate for CI. Judges a run per (mode, operation)
//! and per mode either against one baseline (`pairwise`: fixed tolerances beyond the
//! round-to-round noise) or against the last runs of a history (`history` stores them,
//! `against_history` judges with the statistical test of `stats`). `values` reads the
//! metrics from a summary, `rules` parses what is gated and how.

mod against_history;
pub mod history;
mod pairwise;
mod rules;
pub mod stats;
mod values;

pub use against_history::HistoryCell;
pub use history::{HistoryRecord, Location};
pub use rules::{
    HistoryTable, Metric, Rule, RulesFile, default_rules, parse_percent, parse_rule, rules_file,
};
pub use stats::{Settings, Test};

use crate::error::Error;
use crate::scenario::{Mode, Op};
use crate::targets::AccessOptions;
use serde::{Deserialize, Serialize};
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
    /// Against a history: its distribution and the test's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryCell>,
}

impl Row {
    /// `mode.op.metric` (or `mode.metric`): the name a rule would give it.
    pub fn key(&self) -> String {
        values::key(self.mode, self.op, self.metric)
    }
}

/// The whole comparison.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Comparison {
    /// Baseline path, or the history and how many runs it gave.
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
    /// Against a history: what it held and how it was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub history: Option<HistoryInfo>,
}

/// How a comparison against a history went.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HistoryInfo {
    /// Where the history is.
    pub location: String,
    /// Runs judged against (the window).
    pub runs: usize,
    /// The settings in force.
    pub settings: Settings,
    /// Why the statistical test was not used, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    /// Records of the scenario left out: another version of it, or another kind of target.
    pub other: usize,
    /// Files in the history that are not records this build reads.
    pub unreadable: usize,
    /// Where `--append` wrote the current run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub appended: Option<String>,
}

/// `compare --history`'s options.
#[derive(Clone, Debug)]
pub struct HistoryOptions {
    /// `--history DIR|s3://...`.
    pub location: Location,
    /// `--append`: add the current run after judging it.
    pub append: bool,
    /// `--window N`.
    pub window: Option<usize>,
    /// `--min-history N`.
    pub min_runs: Option<usize>,
    /// `--test t|z`.
    pub test: Option<String>,
    /// `--significance P`.
    pub significance: Option<f64>,
    /// `--min-effect PCT`.
    pub min_effect: Option<String>,
    /// Credentials and region for an s3:// history.
    pub access: AccessOptions,
}

/// `compare`'s options.
#[derive(Clone, Debug, Default)]
pub struct CompareOptions {
    /// Baseline results directory or summary.json (none with a history).
    pub baseline: Option<PathBuf>,
    /// Current results directory or summary.json.
    pub current: PathBuf,
    /// `--max-regression` rules.
    pub max_regression: Vec<String>,
    /// `--rules FILE`.
    pub rules: Option<PathBuf>,
    /// `--allow-different`.
    pub allow_different: bool,
    /// `--history` and its settings.
    pub history: Option<HistoryOptions>,
}

/// The settings: defaults, then the rules file's `[history]`, then the flags.
fn settings(file: &HistoryTable, h: &HistoryOptions) -> Result<Settings, Error> {
    let mut s = Settings::default();
    let test = h.test.as_ref().or(file.test.as_ref());
    if let Some(t) = test {
        s.test = Test::parse(t).ok_or_else(|| usage(format!("--test {t:?}: expected t or z")))?;
    }
    s.window = h.window.or(file.window).unwrap_or(s.window);
    s.min_runs = h.min_runs.or(file.min_runs).unwrap_or(s.min_runs);
    s.significance = h
        .significance
        .or(file.significance)
        .unwrap_or(s.significance);
    if let Some(m) = h.min_effect.as_ref().or(file.min_effect.as_ref()) {
        s.min_effect_pct = parse_percent("--min-effect", m)?;
    }
    if s.window == 0 {
        return Err(usage("--window: at least 1 run"));
    }
    if s.min_runs < 2 {
        return Err(usage(
            "--min-history: at least 2 runs (a spread needs two values)",
        ));
    }
    if !(s.significance > 0.0 && s.significance <= 0.5) {
        return Err(usage(format!(
            "--significance {}: expected a probability in (0, 0.5], like 0.01",
            s.significance
        )));
    }
    Ok(s)
}

/// Reads the summaries (or the history) and the rules, and compares.
pub async fn run(o: &CompareOptions) -> Result<Comparison, Error> {
    let cur = crate::results::read_summary(&o.current)?;
    let file = match &o.rules {
        Some(f) => rules_file(f)?,
        None => RulesFile::default(),
    };
    let mut rules = file.rules.clone();
    for r in &o.max_regression {
        rules.push(parse_rule(r)?);
    }
    // Rules someone wrote must each gate something; the defaults need not.
    let strict = !rules.is_empty();
    if rules.is_empty() {
        rules = default_rules();
    }
    let (baseline, rows, history) = match (&o.history, &o.baseline) {
        (Some(_), Some(b)) => {
            return Err(usage(format!(
                "with --history, give only the current results (not {})",
                b.display()
            )));
        }
        (None, None) => {
            return Err(usage(
                "expected BASELINE CURRENT, or CURRENT with --history DIR",
            ));
        }
        (None, Some(b)) => {
            let base = crate::results::read_summary(b)?;
            let rows = pairwise::compare(&base, &cur, &rules, o.allow_different, strict)?;
            (b.display().to_string(), rows, None)
        }
        (Some(h), None) => {
            let settings = settings(&file.history, h)?;
            let loaded = history::load(&h.location, &cur.scenario.name, &h.access).await?;
            let identity = values::identity(&cur);
            let (mut same, mut other) = (Vec::new(), 0);
            for r in loaded.records {
                let comparable = r.comparable(&identity, cur.target.kind);
                // The run itself, when `run --history` already appended it.
                if comparable && r.started_at == cur.started_at {
                    continue;
                }
                if o.allow_different || comparable {
                    same.push(r);
                } else {
                    other += 1;
                }
            }
            let window = same.split_off(same.len().saturating_sub(settings.window));
            let gate = against_history::Gate {
                rules: &rules,
                min_effect: &file.min_effect,
                settings: &settings,
            };
            let (rows, used) = against_history::judge_against(&cur, &window, &gate);
            if strict && let Some(i) = used.iter().position(|u| !u) {
                return Err(usage(format!(
                    "rule {:?} matches no metric in these results",
                    rules[i].text
                )));
            }
            let fallback = (window.len() < settings.min_runs).then(|| {
                format!(
                    "{} run(s) in the history, fewer than the {} the {}-test needs: measured metrics judged by the fixed tolerances against the history's mean",
                    window.len(),
                    settings.min_runs,
                    settings.test.as_str()
                )
            });
            let appended = if h.append && cur.complete {
                Some(history::append(&h.location, &HistoryRecord::of(&cur), &h.access).await?)
            } else {
                if h.append {
                    tracing::warn!("the run is incomplete: not added to the history");
                }
                None
            };
            let info = HistoryInfo {
                location: h.location.to_string(),
                runs: window.len(),
                settings,
                fallback,
                other,
                unreadable: loaded.unreadable,
                appended,
            };
            (
                format!("history {} ({} runs)", info.location, info.runs),
                rows,
                Some(info),
            )
        }
    };
    let regressions = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regressed)
        .count();
    Ok(Comparison {
        baseline,
        current: o.current.display().to_string(),
        scenario: cur.scenario.name.clone(),
        rules,
        rows,
        regressions,
        verdict: cur.verdict.clone(),
        history,
    })
}
