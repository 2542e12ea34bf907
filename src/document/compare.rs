//! A comparison as a document (terminal text, Markdown for CI step summaries) and as
//! JUnit: one row per compared metric with the baseline (or the history's mean and
//! spread), the current value, the change, the noise or the test, the rule and the
//! verdict.

use super::doc::Doc;
use super::format::{num, pct};
use super::junit::{Case, junit};
use super::table::Table;
use crate::compare::{Comparison, HistoryInfo, Row, Verdict};

fn gated(c: &Comparison) -> usize {
    c.rows
        .iter()
        .filter(|r| r.verdict != Verdict::NotGated)
        .count()
}

/// "no regression (N gated rows)" or "K regression(s) in N gated rows".
pub fn verdict_line(c: &Comparison) -> String {
    if c.regressions == 0 {
        format!("no regression ({} gated rows)", gated(c))
    } else {
        format!("{} regression(s) in {} gated rows", c.regressions, gated(c))
    }
}

/// A p-value in a few characters.
fn p_value(p: f64) -> String {
    if p < 1e-4 {
        "<0.0001".into()
    } else {
        format!("{p:.4}")
    }
}

/// How a row was judged against the history: `t=+4.12 p=0.0003 (min 5%)`, or the
/// fixed tolerance's method.
fn test_cell(r: &Row) -> String {
    let Some(h) = &r.history else {
        return "-".into();
    };
    match (h.statistic, h.p_value) {
        (Some(t), Some(p)) => format!(
            "{}={t:+.2} p={}{}",
            h.method,
            p_value(p),
            h.min_effect_pct
                .map_or(String::new(), |m| format!(" (min {m}%)"))
        ),
        _ => h.method.clone(),
    }
}

fn verdict_cell(r: &Row) -> String {
    r.note
        .as_deref()
        .map_or(r.verdict.as_str().to_owned(), |n| format!("- ({n})"))
}

/// The table against a history: its mean and spread, the current value, the test.
fn history_table(c: &Comparison) -> Table {
    let mut t = Table::new(&[
        "<mode",
        "<op",
        "<metric",
        "history mean",
        "sd",
        "runs",
        "current",
        "change",
        "<test",
        "<rule",
        "<verdict",
    ])
    .with_class("compare");
    for r in &c.rows {
        let h = r.history.as_ref();
        t.row([
            r.mode.to_string(),
            r.op.map_or("-", |o| o.as_str()).to_owned(),
            r.metric.label().to_owned(),
            num(h.map(|h| h.mean).or(r.baseline)),
            h.map_or("-".into(), |h| num(Some(h.sd))),
            h.map_or("-".into(), |h| h.runs.to_string()),
            num(r.current),
            pct(r.change_pct),
            test_cell(r),
            r.rule.clone().unwrap_or_else(|| "-".into()),
            verdict_cell(r),
        ]);
    }
    t
}

/// What the history held and how it was used, in sentences.
fn history_lines(h: &HistoryInfo) -> Vec<String> {
    let s = &h.settings;
    let mut out = vec![format!(
        "judged against {} run(s) of history {} (last {} at most): {}-test, one-sided significance {} per metric, minimum effect {}% unless a row says otherwise (both needed for a regression); counts and prices against the latest run by their tolerance",
        h.runs,
        h.location,
        s.window,
        s.test.as_str(),
        s.significance,
        s.min_effect_pct
    )];
    if let Some(f) = &h.fallback {
        out.push(format!("fallback: {f}"));
    }
    if h.other > 0 {
        out.push(format!(
            "{} run(s) of another version of the scenario or on another kind of target left out (--allow-different takes them)",
            h.other
        ));
    }
    if h.unreadable > 0 {
        out.push(format!(
            "{} file(s) in the history are not records this build reads: ignored",
            h.unreadable
        ));
    }
    if let Some(a) = &h.appended {
        out.push(format!("appended this run to the history: {a}"));
    }
    out
}

/// The comparison table.
pub fn compare_table(c: &Comparison) -> Table {
    if c.history.is_some() {
        return history_table(c);
    }
    let mut t = Table::new(&[
        "<mode", "<op", "<metric", "baseline", "current", "change", "noise", "<rule", "<verdict",
    ])
    .with_class("compare");
    for r in &c.rows {
        t.row([
            r.mode.to_string(),
            r.op.map_or("-", |o| o.as_str()).to_owned(),
            r.metric.label().to_owned(),
            num(r.baseline),
            num(r.current),
            pct(r.change_pct),
            r.noise.map_or("-".into(), |n| num(Some(n))),
            r.rule.clone().unwrap_or_else(|| "-".into()),
            verdict_cell(r),
        ]);
    }
    t
}

/// The whole comparison, verdict first.
pub fn compare_doc(c: &Comparison) -> Doc {
    let mut d = Doc::default();
    d.heading(format!("sse-bench compare: {}", c.scenario));
    d.text([
        verdict_line(c),
        format!("baseline {} vs current {}", c.baseline, c.current),
    ]);
    if let Some(h) = &c.history {
        d.text(history_lines(h));
    }
    d.table(compare_table(c));
    if let Some(v) = &c.verdict {
        d.extend(super::verdict::verdict_doc(v));
    }
    d
}

/// JUnit: one testcase per gated row; failures carry the numbers.
pub fn compare_junit(c: &Comparison) -> String {
    let cases: Vec<Case> = c
        .rows
        .iter()
        .filter(|r| r.verdict != Verdict::NotGated)
        .map(|r| Case {
            classname: match r.op {
                Some(op) => format!("{}.{}", r.mode, op),
                None => r.mode.to_string(),
            },
            name: r.metric.name().to_owned(),
            failure: (r.verdict == Verdict::Regressed).then(|| match &r.history {
                Some(h) => format!(
                    "{} regressed: history mean {} (sd {}, {} runs) -> {} ({}), test {}, rule {}",
                    r.key(),
                    num(Some(h.mean)),
                    num(Some(h.sd)),
                    h.runs,
                    num(r.current),
                    pct(r.change_pct),
                    test_cell(r),
                    r.rule.as_deref().unwrap_or("-"),
                ),
                None => format!(
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
                ),
            }),
        })
        .collect();
    junit("sse-bench compare", &c.scenario, &cases)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare::{Metric, Row};
    use crate::scenario::{Mode, Op};

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
                history: None,
            }],
            regressions: 1,
            verdict: None,
            history: None,
        };
        let x = compare_junit(&c);
        assert!(x.contains("name=\"x&lt;y\"") && x.contains("failures=\"1\""));
        assert!(
            x.contains("sse-kms.put.p99 regressed: 10.00 -&gt; 20.00 (+100.0%)"),
            "{x}"
        );
    }
}
