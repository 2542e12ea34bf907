//! The terminal comparison table.

use super::Summary;
use std::fmt::Write as _;

/// Renders the comparison table and the KMS table.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<20} {:<6} {:>9} {:>9} {:>8} {:>8} {:>8} {:>9} {:>7} {:>9} {:>9}",
        "mode",
        "op",
        "ops",
        "ops/s",
        "MiB/s",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "errors",
        "throttled",
        "KMS/1k op"
    );
    for r in &s.results {
        let kms = s.kms.iter().find(|k| k.mode == r.mode);
        let kms_col = match kms {
            Some(k) if k.source == "measured" => format!("{:.1}", k.per_1000_ops),
            _ => "n/a".into(),
        };
        let _ = writeln!(
            out,
            "{:<20} {:<6} {:>9} {:>9.1} {:>8.2} {:>8.2} {:>8.2} {:>9.2} {:>7} {:>9} {:>9}",
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
            kms_col,
        );
    }
    if s.kms.iter().any(|k| k.source == "measured") {
        let _ = writeln!(out);
        let _ = writeln!(
            out,
            "{:<20} {:>10} {:>16} {:>10} {:>10} {:>10} {:>10} {:>9}",
            "mode",
            "KMS calls",
            "GenerateDataKey",
            "Decrypt",
            "peak/s",
            "quota/s",
            "headroom",
            "throttled"
        );
        for k in &s.kms {
            let _ = writeln!(
                out,
                "{:<20} {:>10} {:>16} {:>10} {:>10} {:>10} {:>10} {:>9}",
                k.mode.as_str(),
                k.calls,
                k.calls_by_api.get("GenerateDataKey").copied().unwrap_or(0),
                k.calls_by_api.get("Decrypt").copied().unwrap_or(0),
                k.peak_rps,
                k.quota_rps.map_or("-".into(), |q| q.to_string()),
                k.peak_headroom_pct
                    .map_or("-".into(), |h| format!("{h:.1}%")),
                k.throttled,
            );
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
