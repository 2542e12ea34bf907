//! A comparison as a document (terminal text, Markdown for CI step summaries) and as
//! JUnit: one row per compared metric with the baseline, the current value, the
//! change, the round-to-round noise, the rule and the verdict.

use super::doc::Doc;
use super::format::{num, pct};
use super::junit::{Case, junit};
use super::table::Table;
use crate::compare::{Comparison, Verdict};

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

/// The comparison table.
pub fn compare_table(c: &Comparison) -> Table {
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
            r.note
                .as_deref()
                .map_or(r.verdict.as_str().to_owned(), |n| format!("- ({n})")),
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
            failure: (r.verdict == Verdict::Regressed).then(|| {
                format!(
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
                )
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
            }],
            regressions: 1,
            verdict: None,
        };
        let x = compare_junit(&c);
        assert!(x.contains("name=\"x&lt;y\"") && x.contains("failures=\"1\""));
        assert!(
            x.contains("sse-kms.put.p99 regressed: 10.00 -&gt; 20.00 (+100.0%)"),
            "{x}"
        );
    }
}
