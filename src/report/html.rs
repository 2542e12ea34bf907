//! `report.html`: one self-contained page (charts inline as SVG, no network
//! resources; a Content-Security-Policy forbids any) with the run's metadata,
//! the comparison, KMS and cost tables, thresholds and charts.

use super::RunData;
use super::charts::Chart;
use crate::results::Summary;
use std::fmt::Write as _;

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222;max-width:1100px}\
table{border-collapse:collapse;margin:1em 0;font-size:14px}\
th,td{border:1px solid #ccc;padding:3px 8px;text-align:right}\
th:first-child,td:first-child,td.l{text-align:left}th{background:#f3f3f3}\
.fail{color:#b00020;font-weight:bold}.pass{color:#1b5e20}.warn{background:#fff3cd;padding:.5em}\
figure.chart{margin:1.5em 0}figure.chart svg{max-width:100%;height:auto}\
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}";

/// The page.
pub fn page(runs: &[RunData], charts: &[Chart]) -> String {
    let first = &runs[0].summary;
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>sse-bench: {}</title><style>{STYLE}</style></head><body>\n",
        esc(&first.scenario.name)
    );
    let _ = writeln!(
        o,
        "<h1>sse-bench report: {}</h1><p>{}</p>",
        esc(&first.scenario.name),
        esc(&first.scenario.description)
    );
    for r in runs {
        run_section(&mut o, r, runs.len() > 1);
    }
    let _ = writeln!(o, "<h2>Charts</h2>");
    for c in charts {
        let _ = writeln!(
            o,
            "<figure class=\"chart\" id=\"chart-{}\">{}<figcaption>{}</figcaption></figure>",
            esc(&c.name),
            strip_xml_decl(&c.svg_text),
            esc(&c.title)
        );
    }
    o.push_str("</body></html>\n");
    o
}

fn strip_xml_decl(svg: &str) -> &str {
    match svg.find("<svg") {
        Some(i) => &svg[i..],
        None => svg,
    }
}

fn run_section(o: &mut String, r: &RunData, several: bool) {
    let s = &r.summary;
    if several {
        let _ = writeln!(o, "<h2>{}</h2>", esc(&r.label));
    }
    if !s.complete {
        let _ = writeln!(
            o,
            "<p class=\"warn\">Incomplete run: {}</p>",
            esc(s.incomplete_reason.as_deref().unwrap_or("interrupted"))
        );
    }
    metadata(o, s);
    results_table(o, s);
    kms_table(o, s);
    cost_table(o, s);
    if !s.knees.is_empty() {
        let _ = writeln!(o, "<h3>Throttling knees</h3><ul>");
        for k in &s.knees {
            let what = match (k.knee_ops_per_s, k.throttling_from_ops_per_s) {
                (Some(kn), Some(t)) => format!(
                    "under 0.1% KMS-throttled up to {kn:.0} op/s ({:.0} KMS req/s); throttled from {t:.0} op/s",
                    kn * k.kms_per_op
                ),
                (Some(kn), None) => format!("no throttling up to {kn:.0} op/s"),
                (None, Some(t)) => format!("throttled from the first full second ({t:.0} op/s)"),
                (None, None) => "too short to tell".into(),
            };
            let _ = writeln!(
                o,
                "<li>{} {} round {} (ramp {:.0} to {:.0} op/s): {}</li>",
                k.mode,
                esc(&k.phase),
                k.round + 1,
                k.ramp.0,
                k.ramp.1,
                esc(&what)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    if !s.thresholds.is_empty() {
        let _ = writeln!(
            o,
            "<h3>Thresholds</h3><table class=\"thresholds\"><tr><th>threshold</th><th>rule</th><th>actual</th><th>verdict</th></tr>"
        );
        for t in &s.thresholds {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td></tr>",
                esc(&t.name),
                esc(&t.rule),
                t.actual.map_or("no data".into(), |a| format!("{a:.4}")),
                if t.passed { "pass" } else { "fail" },
                if t.passed { "passed" } else { "FAILED" }
            );
        }
        let _ = writeln!(o, "</table>");
    }
}

fn metadata(o: &mut String, s: &Summary) {
    let _ = writeln!(o, "<h3>Run</h3><dl class=\"meta\">");
    let mut row = |k: &str, v: String| {
        let _ = writeln!(o, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    };
    row(
        "scenario",
        format!("{} ({})", s.scenario.name, s.scenario.file),
    );
    row(
        "modes",
        s.scenario
            .modes
            .iter()
            .map(|m| m.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    );
    row(
        "target",
        format!(
            "{} ({}), region {}",
            s.target.label, s.target.kind, s.target.region
        ),
    );
    row("KMS counts", s.target.kms_counts.clone());
    for m in &s.target.skipped_modes {
        row(&format!("skipped {}", m.mode), m.reason.clone());
    }
    if let Some(k) = &s.target.created_key {
        row("KMS key created", format!("{}: {}", k.arn, k.fate));
    }
    if let Some(p) = &s.target.key_prefix {
        row(
            "reused buckets",
            format!("{} under {p}", s.target.reused_buckets.join(", ")),
        );
    }
    if let Some(sim) = &s.target.simulator {
        row("simulator", serde_json::to_string(sim).unwrap_or_default());
    }
    row(
        "tool",
        format!(
            "{} {} ({})",
            s.tool.name,
            s.tool.version,
            s.tool.git_commit.as_deref().unwrap_or("commit unknown")
        ),
    );
    row(
        "machine",
        format!(
            "{} {}, {} cores",
            s.machine.os, s.machine.arch, s.machine.cores
        ),
    );
    row(
        "time",
        format!("{} to {} ({:.1} s)", s.started_at, s.ended_at, s.duration_s),
    );
    row(
        "complete",
        if s.complete {
            "yes".into()
        } else {
            "no".into()
        },
    );
    if let Some(p) = &s.prices {
        row(
            "prices",
            format!("{} ({}, as of {})", p.region, p.source, p.as_of),
        );
    }
    let _ = writeln!(o, "</dl>");
}

fn results_table(o: &mut String, s: &Summary) {
    let _ = writeln!(
        o,
        "<h3>Comparison</h3><table class=\"results\"><tr><th>mode</th><th>op</th><th>ops</th><th>ops/s</th><th>MiB/s</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th><th>KMS-throttled</th></tr>"
    );
    for r in &s.results {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td class=\"l\">{}</td><td>{}</td><td>{:.1}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{}</td><td>{}</td></tr>",
            r.mode,
            r.op,
            r.count,
            r.ops_per_s,
            r.mib_per_s,
            r.latency_ms.p50,
            r.latency_ms.p90,
            r.latency_ms.p99,
            r.latency_ms.p999,
            r.latency_ms.max,
            r.count - r.ok,
            r.errors
                .get(crate::recorder::THROTTLED_KMS)
                .copied()
                .unwrap_or(0)
        );
    }
    let _ = writeln!(o, "</table>");
}

fn kms_table(o: &mut String, s: &Summary) {
    let _ = writeln!(
        o,
        "<h3>KMS</h3><table class=\"kms\"><tr><th>mode</th><th>measured</th><th>predicted</th><th>difference</th><th>per 1,000 ops</th><th>peak req/s</th><th>mean req/s</th><th>quota req/s</th><th>peak headroom</th><th>throttled</th><th>model</th></tr>"
    );
    for k in &s.kms {
        let measured = k.source == "measured";
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{}</td><td>{:.0}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{:.1}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td></tr>",
            k.mode,
            if measured {
                k.calls.to_string()
            } else {
                "unavailable".into()
            },
            k.predicted.calls,
            k.difference.map_or("-".into(), |d| format!("{d:+.0}")),
            if measured {
                k.per_1000_ops
            } else {
                k.predicted_per_1000_ops
            },
            if measured {
                k.peak_rps.to_string()
            } else {
                "-".into()
            },
            if measured {
                k.mean_rps
            } else {
                k.predicted_mean_rps
            },
            k.quota_rps.map_or("-".into(), |q| q.to_string()),
            k.peak_headroom_pct
                .filter(|_| measured)
                .or(k.mean_headroom_pct)
                .map_or("-".into(), |h| format!("{h:.1}%")),
            k.throttled,
            k.predicted.status.map_or("-", |st| st.as_str())
        );
    }
    let _ = writeln!(o, "</table>");
    if let Some(u) = &s.kms_account_wide {
        let _ = writeln!(
            o,
            "<p>Account-wide (CloudWatch AWS/Usage, {}): {:.0} KMS calls over the run's minutes, every caller in the account included.</p>",
            esc(&u.region),
            u.calls
        );
    }
}

fn cost_table(o: &mut String, s: &Summary) {
    if s.cost.is_empty() {
        return;
    }
    let _ = writeln!(
        o,
        "<h3>Cost (USD)</h3><table class=\"cost\"><tr><th>mode</th><th>this run</th><th>per 1M ops: S3</th><th>KMS</th><th>key</th><th>total</th><th>month at</th><th>S3 requests/month</th><th>KMS requests/month</th><th>key/month</th><th>total/month</th></tr>"
    );
    for c in &s.cost {
        let p = &c.per_million_ops;
        let m = &c.monthly;
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td>{:.6}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.4}</td><td>{:.0} op/s</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td><td>{:.2}</td></tr>",
            c.mode,
            c.run.total_usd,
            p.s3_requests_usd,
            p.kms_requests_usd,
            p.key_usd,
            p.total_usd,
            m.ops_per_s,
            m.cost.s3_requests_usd,
            m.cost.kms_requests_usd,
            m.cost.key_usd,
            m.cost.total_usd
        );
    }
    let _ = writeln!(o, "</table>");
}
