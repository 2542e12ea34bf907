//! The forecast as a document (verdict first, then the tables) and as CSV.

use super::doc::Doc;
use super::table::Table;
use crate::forecast::output::Report;
use crate::logs::record::Op;
use crate::scenario::Mode;

fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b * 100.0 } else { 0.0 }
}

/// The document: verdict, then the tables.
pub fn forecast_doc(r: &Report) -> Doc {
    let mut d = Doc::default();
    d.heading("Forecast");
    d.text(r.verdict.iter().cloned());
    d.heading("KMS load and cost per mode");
    d.table(modes_table(r));
    d.heading("KMS calls per requester");
    d.table(requesters_table(r));
    d.heading("Per bucket");
    d.table(buckets_table(r));
    if let Some(td) = &r.today {
        let mut t = Table::new(&["<requester", "<KMS API", "measured", "model", "difference"]);
        for row in &td.by_requester {
            t.row([
                row.name.clone(),
                row.api.clone(),
                row.measured.to_string(),
                format!("{:.0}", row.model),
                format!("{:+.0}", row.measured as f64 - row.model),
            ]);
        }
        d.heading("Today: KMS calls CloudTrail recorded vs the model");
        d.text(td.buckets.iter().map(|(b, m)| {
            format!(
                "{b}: {} (inferred from the KMS records' encryption context)",
                m.as_str()
            )
        }));
        d.table(t);
    }
    d.heading("Caveats");
    d.list(r.caveats.iter().cloned());
    if r.sources.malformed > 0 {
        d.heading("Malformed records (skipped)");
        d.list(r.sources.first_malformed.iter().cloned());
    }
    d
}

/// KMS load and cost per mode.
fn modes_table(r: &Report) -> Table {
    let mut t = Table::new(&[
        "<mode",
        "KMS calls",
        "peak req/s",
        "p99 req/s",
        "avg req/s",
        "% quota",
        "s over",
        "KMS req/month",
        "projection",
        "$/month",
        "<status",
    ]);
    for m in &r.modes {
        let calls = if m.lower_bound {
            format!("≥{:.0}", m.kms_calls)
        } else {
            format!("{:.0}", m.kms_calls)
        };
        t.row([
            m.mode.as_str().to_owned(),
            calls,
            format!("{:.0}", m.peak_rps),
            format!("{:.0}", m.p99_rps),
            format!("{:.2}", m.avg_rps),
            format!("{:.1}", m.peak_quota_pct),
            m.seconds_over_quota.to_string(),
            format!("{:.0}", m.monthly_kms_requests),
            m.projection.to_owned(),
            crate::units::dollars(m.monthly.total_usd),
            m.status.as_str().to_owned(),
        ]);
    }
    t
}

/// KMS calls per requester, per mode.
fn requesters_table(r: &Report) -> Table {
    let mut t = Table::new(&[
        "<requester",
        "<class",
        "requests",
        "sse-kms",
        "sse-kms-bucket-key",
        "dsse-kms",
    ]);
    for q in &r.requesters {
        let k = |m: Mode| format!("{:.0}", q.kms.get(&m).copied().unwrap_or(0.0));
        t.row([
            q.name.clone(),
            q.class.as_str().to_owned(),
            q.requests.to_string(),
            k(Mode::SseKms),
            k(Mode::SseKmsBucketKey),
            k(Mode::DsseKms),
        ]);
    }
    t
}

/// Per bucket: requests, op mix, PUT sizes and KMS calls.
fn buckets_table(r: &Report) -> Table {
    let mut t = Table::new(&[
        "<bucket",
        "requests",
        "<op mix",
        "put p50/p90/p99",
        "sse-kms",
        "sse-kms-bucket-key",
    ]);
    for b in &r.buckets {
        let n: u64 = b.requests.values().sum();
        let mix = b
            .requests
            .iter()
            .map(|(op, c)| format!("{} {:.0}%", op.as_str(), pct(*c as f64, n as f64)))
            .collect::<Vec<_>>()
            .join(", ");
        let put = b
            .sizes
            .iter()
            .find(|s| s.op == Op::Put)
            .map_or("-".into(), |s| {
                format!(
                    "{}/{}/{}",
                    crate::units::format_size(s.p50),
                    crate::units::format_size(s.p90),
                    crate::units::format_size(s.p99)
                )
            });
        let k = |m: Mode| format!("{:.0}", b.kms.get(&m).copied().unwrap_or(0.0));
        t.row([
            b.bucket.clone(),
            n.to_string(),
            mix,
            put,
            k(Mode::SseKms),
            k(Mode::SseKmsBucketKey),
        ]);
    }
    t
}

/// The modes table as CSV.
pub fn forecast_csv(r: &Report) -> String {
    let mut t = Table::new(&[
        "mode",
        "kms_calls",
        "peak_rps",
        "p99_rps",
        "avg_rps",
        "peak_quota_pct",
        "seconds_over_quota",
        "monthly_kms_requests",
        "monthly_usd",
        "status",
    ]);
    for m in &r.modes {
        t.row([
            m.mode.as_str().to_owned(),
            format!("{:.3}", m.kms_calls),
            format!("{:.3}", m.peak_rps),
            format!("{:.3}", m.p99_rps),
            format!("{:.4}", m.avg_rps),
            format!("{:.3}", m.peak_quota_pct),
            m.seconds_over_quota.to_string(),
            format!("{:.0}", m.monthly_kms_requests),
            format!("{:.4}", m.monthly.total_usd),
            m.status.as_str().to_owned(),
        ]);
    }
    t.csv()
}
