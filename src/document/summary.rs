//! A run's summary as a document: latency and throughput per (mode, operation),
//! KMS calls measured and predicted against the quota, cost, throttling knees,
//! threshold verdicts. The terminal, summary.md, report.html and `merge` all show
//! this one document.

use super::doc::Doc;
use super::format::{opt, thousands, usd, usd_precise};
use super::table::Table;
use crate::kms::cloudtrail::{Settled, TrailCounts};
use crate::results::record::THROTTLED_KMS;
use crate::results::summary::{KmsSource, Summary};

/// Where the measured KMS column comes from, in words.
fn kms_source(s: &Summary) -> &'static str {
    match s.target.kms_counts {
        KmsSource::Measured => "measured by the target",
        KmsSource::Predicted => "real AWS: per-mode counts are the model's, not measured",
        KmsSource::Unavailable => {
            "not counted by this target: the predicted column is what AWS would do"
        }
    }
}

/// What a `≥` before a predicted count means (docs/aws-behaviour.md §2).
pub const LOWER_BOUND_NOTE: &str = "≥: AWS fetches a Bucket Key at least once per requester (IAM role) and lifetime; several S3 hosts caching separately, per-session requesters and early expiry add calls (docs/aws-behaviour.md §2)";

/// Latency and throughput per (mode, operation).
pub fn results_table(s: &Summary) -> Table {
    let mut t = Table::new(&[
        "<mode",
        "<op",
        "ops",
        "ops/s",
        "MiB/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "max ms",
        "errors",
        "throttled",
    ])
    .with_class("results");
    for r in &s.results {
        t.row([
            r.mode.to_string(),
            r.op.to_string(),
            r.count.to_string(),
            format!("{:.1}", r.ops_per_s),
            format!("{:.2}", r.mib_per_s),
            format!("{:.2}", r.latency_ms.p50),
            format!("{:.2}", r.latency_ms.p99),
            format!("{:.2}", r.latency_ms.p999),
            format!("{:.2}", r.latency_ms.max),
            (r.count - r.ok).to_string(),
            r.errors
                .get(THROTTLED_KMS)
                .copied()
                .unwrap_or(0)
                .to_string(),
        ]);
    }
    t
}

/// KMS calls per mode: measured, predicted, against the quota.
pub fn kms_table(s: &Summary) -> Table {
    let mut t = Table::new(&[
        "<mode",
        "measured",
        "predicted",
        "diff",
        "per 1k op",
        "GenDataKey",
        "Decrypt",
        "peak/s",
        "mean/s",
        "headroom",
        "throttled",
        "<model",
    ])
    .with_class("kms");
    for k in &s.kms {
        let measured = k.source.is_measured();
        let api = |name: &str| {
            if measured {
                k.calls_by_api.get(name).copied().unwrap_or(0).to_string()
            } else {
                format!(
                    "~{:.0}",
                    k.predicted.calls_by_api.get(name).copied().unwrap_or(0.0)
                )
            }
        };
        let headroom = k
            .peak_headroom_pct
            .filter(|_| measured)
            .or(k.mean_headroom_pct);
        t.row([
            k.mode.to_string(),
            if measured {
                k.calls.to_string()
            } else {
                "n/a".into()
            },
            k.predicted.calls_text(),
            opt(k.difference, |d| format!("{d:+.0}")),
            format!(
                "{:.1}",
                if measured {
                    k.per_1000_ops
                } else {
                    k.predicted_per_1000_ops
                }
            ),
            api("GenerateDataKey"),
            api("Decrypt"),
            if measured {
                k.peak_rps.to_string()
            } else {
                "n/a".into()
            },
            format!(
                "{:.1}",
                if measured {
                    k.mean_rps
                } else {
                    k.predicted_mean_rps
                }
            ),
            opt(headroom, |h| format!("{h:.1}%")),
            k.throttled.to_string(),
            k.predicted.status.map_or("-", |st| st.as_str()).to_owned(),
        ]);
    }
    t
}

/// How the CloudTrail count was read, in words.
fn cloudtrail_heading(t: &TrailCounts) -> String {
    let how = match t.settled {
        Settled::Stable => format!("the count held after {:.0} s", t.waited_s),
        Settled::Bound => format!(
            "the wait's bound passed after {:.0} s: events may still be arriving",
            t.waited_s
        ),
    };
    format!(
        "KMS calls measured (CloudTrail): every call on the run's buckets, prefill, warm-up and the probe included (the prediction counts measured steps); {} event(s) of other buckets left out; {how}",
        t.excluded_events
    )
}

/// The run's KMS calls per mode from CloudTrail beside the model's prediction.
pub fn cloudtrail_table(s: &Summary, t: &TrailCounts) -> Table {
    let mut table = Table::new(&[
        "<mode",
        "measured (CloudTrail)",
        "predicted",
        "diff",
        "GenDataKey",
        "Decrypt",
        "failed",
        "peak/s",
        "requesters",
    ])
    .with_class("kms");
    for k in &s.kms {
        let m = t.per_mode.get(&k.mode).cloned().unwrap_or_default();
        let api = |a: &str| m.calls_by_api.get(a).copied().unwrap_or(0).to_string();
        table.row([
            k.mode.to_string(),
            m.calls.to_string(),
            k.predicted.calls_text(),
            format!("{:+.0}", m.calls as f64 - k.predicted.calls),
            api("GenerateDataKey"),
            api("Decrypt"),
            m.failed.to_string(),
            m.peak_per_s.to_string(),
            m.by_requester.len().to_string(),
        ]);
    }
    table
}

/// Cost per mode: this run, per million operations, a month at the steady rate.
pub fn cost_table(s: &Summary) -> Table {
    let mut t = Table::new(&[
        "<mode",
        "this run",
        "per 1M ops",
        "month at",
        "S3 req/month",
        "KMS req/month",
        "key/month",
        "DSSE/month",
        "total/month",
    ])
    .with_class("cost");
    for c in &s.cost {
        let m = &c.monthly;
        t.row([
            c.mode.to_string(),
            usd_precise(c.run.total_usd),
            usd(c.per_million_ops.total_usd),
            format!("{:.0} op/s", m.ops_per_s),
            usd(m.cost.s3_requests_usd),
            usd(m.cost.kms_requests_usd),
            usd(m.cost.key_usd),
            m.cost.dsse_usd.map_or_else(|| "-".to_owned(), usd),
            usd(m.cost.total_usd),
        ]);
    }
    t
}

/// One line per throttling knee.
fn knee_lines(s: &Summary) -> Vec<String> {
    s.knees
        .iter()
        .map(|kn| {
            let what = match (kn.knee_ops_per_s, kn.throttling_from_ops_per_s) {
                (Some(k), Some(t)) => format!(
                    "under 0.1% KMS-throttled up to {k:.0} op/s ({:.0} KMS req/s); throttled from {t:.0} op/s",
                    k * kn.kms_per_op
                ),
                (Some(k), None) => format!(
                    "no throttling up to {k:.0} op/s ({:.0} KMS req/s)",
                    k * kn.kms_per_op
                ),
                (None, Some(t)) => format!("throttled from the first full second ({t:.0} op/s)"),
                (None, None) => "too short to tell (fewer than three whole seconds)".into(),
            };
            format!(
                "knee {} {} round {} (ramp {:.0}->{:.0} op/s): {what}",
                kn.mode,
                kn.phase,
                kn.round + 1,
                kn.ramp.0,
                kn.ramp.1
            )
        })
        .collect()
}

/// One line per threshold verdict.
fn threshold_lines(s: &Summary) -> Vec<String> {
    s.thresholds
        .iter()
        .map(|t| match &t.skipped {
            Some(why) => format!("SKIP {} {} ({why})", t.name, t.rule),
            None => format!(
                "{} {} {} (actual {})",
                if t.passed { "PASS" } else { "FAIL" },
                t.name,
                t.rule,
                t.actual.map_or("no data".into(), |a| format!("{a:.4}"))
            ),
        })
        .collect()
}

/// A settings object (the simulator's) as rows of `name | value`, nested names dotted.
pub fn settings_table(v: &serde_json::Value) -> Table {
    fn walk(prefix: &str, v: &serde_json::Value, t: &mut Table) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    let name = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    walk(&name, x, t);
                }
            }
            serde_json::Value::Null => t.row([prefix.to_owned(), "-".into()]),
            serde_json::Value::String(s) => t.row([prefix.to_owned(), s.clone()]),
            other => t.row([prefix.to_owned(), other.to_string()]),
        }
    }
    let mut t = Table::new(&["<setting", "<value"]).with_class("settings");
    walk("", v, &mut t);
    t
}

/// The whole summary: its title, the verdict, then the tables.
pub fn summary_doc(s: &Summary) -> Doc {
    let mut d = Doc::default();
    d.heading(format!(
        "{} on {} ({})",
        s.scenario.name, s.target.label, s.target.region
    ));
    if let Some(v) = &s.verdict {
        d.extend(super::verdict::verdict_doc(v));
    }
    d.extend(tables_doc(s));
    d
}

/// The tables of a summary: latency and throughput, KMS, cost, knees, verdicts.
pub fn tables_doc(s: &Summary) -> Doc {
    let mut d = Doc::default();
    d.text(
        s.target
            .skipped_modes
            .iter()
            .map(|m| format!("skipped {}: {}", m.mode, m.reason)),
    );
    d.heading("Latency and throughput");
    d.table(results_table(s));
    let quota = s.kms.iter().find_map(|k| k.quota_rps);
    d.heading(format!(
        "KMS calls ({}; predicted by the model{})",
        kms_source(s),
        quota.map_or(String::new(), |q| format!(
            "; quota {} req/s",
            thousands(q as f64)
        ))
    ));
    d.table(kms_table(s));
    if s.kms.iter().any(|k| k.predicted.lower_bound) {
        d.text([LOWER_BOUND_NOTE.to_owned()]);
    }
    if let Some(u) = &s.kms_account_wide {
        d.text([format!(
            "all modes: {:.0} KMS calls account-wide (CloudWatch AWS/Usage, {}, {} one-minute periods; every caller in the account, not only this run, so no mode's peak is read from it); busiest minute {:.1} req/s",
            u.calls,
            u.region,
            u.per_minute.len(),
            u.peak_minute_rps
        )]);
    }
    if let Some(t) = &s.kms_cloudtrail {
        d.heading(cloudtrail_heading(t));
        d.table(cloudtrail_table(s, t));
    }
    if !s.cost.is_empty() {
        let region = s.prices.as_ref().map_or("", |p| p.region.as_str());
        let as_of = s.prices.as_ref().map_or("", |p| p.as_of.as_str());
        d.heading(format!(
            "cost in USD ({region} prices as of {as_of}; this run and per 1M ops before the KMS free tier, per month after it)"
        ));
        d.table(cost_table(s));
    }
    if !s.knees.is_empty() {
        d.heading("Throttling knees").list(knee_lines(s));
    }
    if !s.thresholds.is_empty() {
        d.heading("Thresholds").list(threshold_lines(s));
    }
    for l in s.load.iter().filter(|l| l.behind) {
        d.warning(format!(
            "LOAD GENERATOR BEHIND: {}; monthly projections use the achieved rate",
            l.describe()
        ));
    }
    if !s.complete {
        d.warning(format!(
            "INCOMPLETE: {}",
            s.incomplete_reason.as_deref().unwrap_or("interrupted")
        ));
    }
    d
}
