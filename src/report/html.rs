//! `report.html`: one self-contained page (charts inline as SVG, no network
//! resources; a Content-Security-Policy forbids any) with the run's metadata,
//! the comparison, KMS and cost tables, thresholds and charts.

use super::RunData;
use crate::charts::Chart;
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
dl{display:grid;grid-template-columns:max-content auto;gap:2px 12px}dt{font-weight:bold}\
section.verdict{background:#fff7d6;padding:.2em 1em 1em;border-radius:6px}\
section.verdict h3{margin-top:.6em}section.verdict p,section.verdict li{max-width:60em}";

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

/// The page of `forecast --html`: the forecast document (verdict first) and its charts.
pub fn forecast_page(doc_html: &str, charts: &[(String, String)]) -> String {
    let mut o = String::new();
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <title>sse-bench forecast</title><style>{STYLE}</style></head><body>\n"
    );
    o.push_str(doc_html);
    let _ = writeln!(o, "<h2>Charts</h2>");
    for (title, svg) in charts {
        let _ = writeln!(
            o,
            "<figure class=\"chart\">{}<figcaption>{}</figcaption></figure>",
            strip_xml_decl(svg),
            esc(title)
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
    // The verdict first, where a reader lands; then what ran, then the tables.
    if let Some(v) = &s.verdict {
        let _ = writeln!(o, "<section class=\"verdict\">");
        o.push_str(&crate::document::verdict::verdict_doc(v).html());
        let _ = writeln!(o, "</section>");
    }
    metadata(o, s);
    o.push_str(&crate::document::summary::tables_doc(s).html());
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
    row("KMS counts", s.target.kms_counts.as_str().to_owned());
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
    let simulator = s.target.simulator.as_ref();
    row(
        "tool",
        format!(
            "{} {} ({}{})",
            s.tool.name,
            s.tool.version,
            s.tool
                .git_commit
                .as_deref()
                .map_or("commit unknown".into(), |c| format!("commit {c}")),
            if s.tool.git_dirty == Some(true) {
                ", with uncommitted changes"
            } else {
                ""
            }
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
    if let Some(sim) = simulator {
        let _ = writeln!(o, "<h3>Simulator settings</h3>");
        o.push_str(&crate::document::summary::settings_table(sim).html());
    }
}
