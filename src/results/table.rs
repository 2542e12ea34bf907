//! The terminal (and Markdown) comparison tables: latency and throughput per
//! (mode, operation), KMS calls predicted and measured, cost, throttling knees.

use super::Summary;
use crate::cost::estimate::thousands;
use std::fmt::Write as _;

fn usd(v: f64) -> String {
    if v == 0.0 {
        "0".into()
    } else if v < 0.01 {
        format!("{v:.6}")
    } else if v < 100.0 {
        format!("{v:.2}")
    } else {
        thousands(v)
    }
}

fn opt(v: Option<f64>, f: impl Fn(f64) -> String) -> String {
    v.map_or("-".into(), f)
}

/// Where the measured KMS column comes from, in words.
fn kms_source(s: &Summary) -> &'static str {
    match s.target.kms_counts.as_str() {
        "measured" => "measured by the target",
        "predicted" => "real AWS: per-mode counts are the model's, not measured",
        _ => "not counted by this target: the predicted column is what AWS would do",
    }
}

/// One line per mode the target does not honour.
fn skipped_lines(s: &Summary, markdown: bool) -> String {
    let mut o = String::new();
    for m in &s.target.skipped_modes {
        if markdown {
            let _ = writeln!(o, "- **skipped {}**: {}", m.mode, m.reason);
        } else {
            let _ = writeln!(o, "skipped {}: {}", m.mode, m.reason);
        }
    }
    o
}

/// Renders the comparison, KMS, cost and knee tables.
pub fn render(s: &Summary) -> String {
    let mut out = skipped_lines(s, false);
    let _ = writeln!(
        out,
        "{:<20} {:<17} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:>7} {:>9}",
        "mode",
        "op",
        "ops",
        "ops/s",
        "MiB/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "throttled"
    );
    for r in &s.results {
        let _ = writeln!(
            out,
            "{:<20} {:<17} {:>9} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>7} {:>9}",
            r.mode.as_str(),
            r.op.as_str(),
            r.count,
            r.ops_per_s,
            r.mib_per_s,
            r.latency_ms.p50,
            r.latency_ms.p99,
            r.latency_ms.p999,
            r.count - r.ok,
            r.errors
                .get(crate::recorder::THROTTLED_KMS)
                .copied()
                .unwrap_or(0),
        );
    }
    let _ = writeln!(out);
    let quota = s.kms.iter().find_map(|k| k.quota_rps);
    let _ = writeln!(
        out,
        "KMS calls ({}; predicted by the model{})",
        kms_source(s),
        quota.map_or(String::new(), |q| format!(
            "; quota {} req/s",
            thousands(q as f64)
        ))
    );
    let _ = writeln!(
        out,
        "{:<20} {:>9} {:>10} {:>6} {:>10} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9}  model",
        "mode",
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
    );
    for k in &s.kms {
        let measured = k.source == "measured";
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
        let _ = writeln!(
            out,
            "{:<20} {:>9} {:>10.0} {:>6} {:>10.1} {:>9} {:>9} {:>8} {:>8.1} {:>9} {:>9}  {}",
            k.mode.as_str(),
            if measured {
                k.calls.to_string()
            } else {
                "n/a".into()
            },
            k.predicted.calls,
            opt(k.difference, |d| format!("{d:+.0}")),
            if measured {
                k.per_1000_ops
            } else {
                k.predicted_per_1000_ops
            },
            api("GenerateDataKey"),
            api("Decrypt"),
            if measured {
                k.peak_rps.to_string()
            } else {
                "n/a".into()
            },
            if measured {
                k.mean_rps
            } else {
                k.predicted_mean_rps
            },
            opt(
                k.peak_headroom_pct
                    .filter(|_| measured)
                    .or(k.mean_headroom_pct),
                |h| { format!("{h:.1}%") }
            ),
            k.throttled,
            k.predicted.status.map_or("-", |st| st.as_str()),
        );
    }
    if let Some(u) = &s.kms_account_wide {
        let _ = writeln!(
            out,
            "{:<20} {:>9.0} KMS calls account-wide (CloudWatch AWS/Usage, {}, {} one-minute periods; every caller in the account, not only this run); busiest minute {:.1} req/s",
            "all modes",
            u.calls,
            u.region,
            u.per_minute.len(),
            u.peak_minute_rps
        );
    }
    if !s.cost.is_empty() {
        let _ = writeln!(out);
        let region = s.prices.as_ref().map_or("", |p| p.region.as_str());
        let as_of = s.prices.as_ref().map_or("", |p| p.as_of.as_str());
        let _ = writeln!(
            out,
            "cost in USD ({region} prices as of {as_of}; this run and per 1M ops before the KMS free tier, per month after it)"
        );
        let _ = writeln!(
            out,
            "{:<20} {:>10} {:>11} {:>12} {:>13} {:>13} {:>9} {:>11}",
            "mode",
            "this run",
            "per 1M ops",
            "month at",
            "S3 req/month",
            "KMS req/month",
            "key/month",
            "total/month"
        );
        for c in &s.cost {
            let m = &c.monthly;
            let _ = writeln!(
                out,
                "{:<20} {:>10} {:>11} {:>12} {:>13} {:>13} {:>9} {:>11}",
                c.mode.as_str(),
                usd(c.run.total_usd),
                usd(c.per_million_ops.total_usd),
                format!("{:.0} op/s", m.ops_per_s),
                usd(m.cost.s3_requests_usd),
                usd(m.cost.kms_requests_usd),
                usd(m.cost.key_usd),
                usd(m.cost.total_usd),
            );
        }
    }
    for kn in &s.knees {
        let _ = writeln!(out);
        let _ = write!(
            out,
            "knee {} {} round {} (ramp {:.0}->{:.0} op/s): ",
            kn.mode,
            kn.phase,
            kn.round + 1,
            kn.ramp.0,
            kn.ramp.1
        );
        match (kn.knee_ops_per_s, kn.throttling_from_ops_per_s) {
            (Some(k), Some(t)) => {
                let _ = writeln!(
                    out,
                    "under 0.1% KMS-throttled up to {k:.0} op/s ({:.0} KMS req/s); throttled from {t:.0} op/s",
                    k * kn.kms_per_op
                );
            }
            (Some(k), None) => {
                let _ = writeln!(
                    out,
                    "no throttling up to {k:.0} op/s ({:.0} KMS req/s)",
                    k * kn.kms_per_op
                );
            }
            (None, Some(t)) => {
                let _ = writeln!(out, "throttled from the first full second ({t:.0} op/s)");
            }
            (None, None) => {
                let _ = writeln!(out, "too short to tell (fewer than three whole seconds)");
            }
        }
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(out);
        for t in &s.thresholds {
            let actual = t.actual.map_or("no data".into(), |a| format!("{a:.4}"));
            let _ = writeln!(
                out,
                "{} {} {} (actual {actual})",
                if t.passed { "PASS" } else { "FAIL" },
                t.name,
                t.rule
            );
        }
    }
    if !s.complete {
        let _ = writeln!(
            out,
            "\nINCOMPLETE: {}",
            s.incomplete_reason.as_deref().unwrap_or("interrupted")
        );
    }
    out
}

/// The comparison and KMS tables in Markdown.
pub fn render_markdown(s: &Summary) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "### {} on {} ({})\n",
        s.scenario.name, s.target.label, s.target.region
    );
    let skipped = skipped_lines(s, true);
    if !skipped.is_empty() {
        let _ = writeln!(o, "{skipped}");
    }
    let _ = writeln!(
        o,
        "| mode | op | ops | ops/s | p50 ms | p99 ms | p99.9 ms | errors | KMS-throttled |"
    );
    let _ = writeln!(o, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in &s.results {
        let _ = writeln!(
            o,
            "| {} | {} | {} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} |",
            r.mode,
            r.op,
            r.count,
            r.ops_per_s,
            r.latency_ms.p50,
            r.latency_ms.p99,
            r.latency_ms.p999,
            r.count - r.ok,
            r.errors
                .get(crate::recorder::THROTTLED_KMS)
                .copied()
                .unwrap_or(0)
        );
    }
    let _ = writeln!(
        o,
        "\n| mode | KMS calls measured | predicted | per 1k ops | peak req/s | throttled | model | cost per 1M ops | per month |"
    );
    let _ = writeln!(o, "|---|---:|---:|---:|---:|---:|---|---:|---:|");
    for k in &s.kms {
        let c = s.cost.iter().find(|c| c.mode == k.mode);
        let measured = k.source == "measured";
        let _ = writeln!(
            o,
            "| {} | {} | {:.0} | {:.1} | {} | {} | {} | {} | {} |",
            k.mode,
            if measured {
                k.calls.to_string()
            } else {
                "n/a".into()
            },
            k.predicted.calls,
            if measured {
                k.per_1000_ops
            } else {
                k.predicted_per_1000_ops
            },
            if measured {
                k.peak_rps.to_string()
            } else {
                "n/a".into()
            },
            k.throttled,
            k.predicted.status.map_or("-", |st| st.as_str()),
            c.map_or("-".into(), |c| format!(
                "${}",
                usd(c.per_million_ops.total_usd)
            )),
            c.map_or("-".into(), |c| format!(
                "${}",
                usd(c.monthly.cost.total_usd)
            )),
        );
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(o);
        for t in &s.thresholds {
            let _ = writeln!(
                o,
                "- {} `{}` {} (actual {})",
                if t.passed { "PASS" } else { "**FAIL**" },
                t.name,
                t.rule,
                t.actual.map_or("no data".into(), |a| format!("{a:.4}"))
            );
        }
    }
    if !s.complete {
        let _ = writeln!(
            o,
            "\n**Incomplete:** {}",
            s.incomplete_reason.as_deref().unwrap_or("interrupted")
        );
    }
    o
}
