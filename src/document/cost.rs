//! `sse-bench cost` as a document: the profile in one line, KMS req/s against the
//! quota and the monthly bill per mode, what Bucket Keys save, and the findings.
//! CSV is the same figures unrounded, for spreadsheets.

use super::doc::Doc;
use super::format::{dollars, rate, thousands};
use super::table::Table;
use crate::cost::{CostReport, ModeEstimate, Profile};
use crate::units::format_size;

/// The profile in words: rates, size, parts, requesters.
fn describe(p: &Profile) -> String {
    let r = &p.rates;
    let parts: Vec<String> = [
        ("PUT", r.puts),
        ("GET", r.gets),
        ("HEAD", r.heads),
        ("COPY", r.copies),
        ("DELETE", r.deletes),
    ]
    .into_iter()
    .filter(|(_, v)| *v > 0.0)
    .map(|(n, v)| format!("{} {n}/s", thousands(v)))
    .collect();
    let mut s = format!("{} of {}", parts.join(" + "), format_size(p.size));
    if let Some(part) = p.part_size
        && p.size > part
    {
        s.push_str(&format!(" in {} parts", format_size(part)));
    }
    if p.writers == p.readers {
        s.push_str(&format!(", {} requester(s)", p.writers));
    } else {
        s.push_str(&format!(
            ", {} writer(s) and {} reader(s)",
            p.writers, p.readers
        ));
    }
    s
}

fn basis(m: &ModeEstimate) -> String {
    match &m.rule_status {
        Some(s) => format!("{} ({s})", m.kms_basis.as_str()),
        None => m.kms_basis.as_str().to_owned(),
    }
}

/// The estimate per mode, rounded for reading.
pub fn estimate_table(r: &CostReport) -> Table {
    let mut t = Table::new(&[
        "<mode",
        "KMS req/s",
        "% of quota",
        "KMS/1k ops",
        "S3 req $/month",
        "KMS req $/month",
        "key $/month",
        "total $/month",
        "<KMS basis",
    ])
    .with_class("cost");
    for m in &r.modes {
        t.row([
            m.mode.to_string(),
            if m.kms_lower_bound {
                format!("≥{}", rate(m.kms_rps))
            } else {
                rate(m.kms_rps)
            },
            format!("{:.1}%", m.quota_pct),
            format!("{:.1}", m.kms_per_1000_ops),
            dollars(m.monthly.s3_requests_usd),
            dollars(m.monthly.kms_requests_usd),
            dollars(m.monthly.key_usd),
            dollars(m.monthly.total_usd),
            basis(m),
        ]);
    }
    t
}

/// The whole estimate.
pub fn cost_doc(r: &CostReport) -> Doc {
    let p = &r.profile;
    let mut d = Doc::default();
    d.text([
        format!(
            "{} ({}): {}; KMS quota {} req/s",
            p.region,
            p.source,
            describe(p),
            thousands(r.quota_rps as f64)
        ),
        format!("prices: {} (as of {})", r.prices.source, r.prices.as_of),
    ]);
    d.table(estimate_table(r));
    if r.modes.iter().any(|m| m.kms_lower_bound) {
        d.text([super::summary::LOWER_BOUND_NOTE.to_owned()]);
    }
    let mut findings = Vec::new();
    if let Some(s) = &r.bucket_key_saving {
        findings.push(s.sentence());
    }
    findings.extend(r.messages.iter().cloned());
    d.list(findings);
    d
}

/// The figures unrounded, one row per mode.
pub fn cost_csv(r: &CostReport) -> String {
    let mut t = Table::new(&[
        "region",
        "mode",
        "kms_basis",
        "kms_rps",
        "quota_rps",
        "quota_pct",
        "exceeds_quota",
        "s3_tier1_requests_per_month",
        "s3_tier2_requests_per_month",
        "kms_requests_per_month",
        "s3_requests_usd",
        "kms_requests_usd",
        "key_usd",
        "dsse_usd",
        "total_usd",
    ]);
    for m in &r.modes {
        t.row([
            r.profile.region.clone(),
            m.mode.to_string(),
            m.kms_basis.as_str().to_owned(),
            format!("{:.3}", m.kms_rps),
            r.quota_rps.to_string(),
            format!("{:.3}", m.quota_pct),
            m.exceeds_quota.to_string(),
            format!("{:.0}", m.s3_requests_per_month.tier1),
            format!("{:.0}", m.s3_requests_per_month.tier2),
            format!("{:.0}", m.kms_requests_per_month),
            format!("{:.4}", m.monthly.s3_requests_usd),
            format!("{:.4}", m.monthly.kms_requests_usd),
            format!("{:.4}", m.monthly.key_usd),
            m.monthly
                .dsse_usd
                .map(|d| format!("{d:.4}"))
                .unwrap_or_default(),
            format!("{:.4}", m.monthly.total_usd),
        ]);
    }
    t.csv()
}
