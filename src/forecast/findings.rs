//! What the forecast says in words: the verdict (one finding a line) and the caveats,
//! built from the report's figures; nothing here computes a figure.

use super::model::Forecast;
use super::output::{Report, SourceInfo, mode_of};
use crate::logs::record::{Class, Op};
use crate::scenario::Mode;
use crate::units::{dollars, signed_dollars};

/// The caveats: what the figures rest on and what the sources held besides traffic.
pub fn caveats(r: &Report, f: &Forecast) -> Vec<String> {
    let mut c = Vec::new();
    let anon: u64 = r
        .requesters
        .iter()
        .filter(|q| q.class == Class::Anonymous)
        .map(|q| q.requests)
        .sum();
    if anon > 0 {
        c.push(format!(
            "{anon} anonymous requests: under SSE-KMS and DSSE-KMS, requests for KMS-encrypted objects must be signed (SigV4), so these would fail instead of calling KMS (documented: S3 UG, Using SSE-KMS)"
        ));
    }
    let cross: Vec<&str> = r
        .requesters
        .iter()
        .filter(|q| q.class == Class::CrossAccount)
        .map(|q| q.requester.as_str())
        .collect();
    if !cross.is_empty() {
        let kms = mode_of(f, Mode::SseKms);
        let peaks: Vec<String> = kms
            .other_accounts_peak
            .iter()
            .map(|(a, p)| format!("{a} {p:.0} req/s"))
            .collect();
        c.push(format!(
            "{} cross-account requester(s): AWS counts the KMS calls S3 makes for them against their own accounts' quotas, not the bucket owner's (documented: KMS-DG, Request quotas), so the quota figures leave them out (busiest second under SSE-KMS: {}); the key policy must allow them",
            cross.len(),
            if peaks.is_empty() { "none".to_owned() } else { peaks.join(", ") }
        ));
    }
    let internal = r.requests.get(&Op::Internal).copied().unwrap_or(0);
    if internal > 0 {
        c.push(format!(
            "{internal} S3-internal records (lifecycle expirations and transitions, logged as S3.*): counted as the requester s3-internal, with no KMS call for a requester, and not priced (transitions have a lifecycle request price of their own, which the forecast leaves out)"
        ));
    }
    let bk = mode_of(f, Mode::SseKmsBucketKey);
    if bk.projection == "steady-state" {
        c.push("the logs cover less than 12 Bucket Key lifetimes: the monthly Bucket Key count is the steady state (one fetch per requester and lifetime), not the logs' count scaled".to_owned());
    }
    c.push("Bucket Key counts are inferred (the lifetime is not documented) and a lower bound: AWS fetches at least once per requester".into());
    if r.sources.duplicate_events > 0 {
        c.push(format!(
            "{} S3 data events in CloudTrail were not counted as traffic: the access logs already have those requests",
            r.sources.duplicate_events
        ));
    }
    c.extend(skipped(&r.sources));
    c
}

/// What the sources held that is not traffic, said so nobody wonders where it went.
fn skipped(s: &SourceInfo) -> Vec<String> {
    let mut c = Vec::new();
    if s.window.0.is_some() || s.window.1.is_some() {
        let at = |t: Option<i64>| t.map_or("-".to_owned(), super::output::rfc3339);
        c.push(format!(
            "window {} to {}: {} records outside it not counted; {} files or folders not read, named as delivered before it or over 24 h after it (files named up to 24 h after --until are read for records delivered late)",
            at(s.window.0),
            at(s.window.1),
            s.outside_window,
            s.pruned_files
        ));
    }
    if s.duplicates_removed > 0 {
        c.push(format!(
            "{} duplicate records removed (the same access log request ID and operation, or the same CloudTrail eventID, delivered again); --keep-duplicates counts them",
            s.duplicates_removed
        ));
    }
    if s.digest_files > 0 {
        c.push(format!(
            "{} CloudTrail digest file(s) skipped: they hold hashes of log files, no events",
            s.digest_files
        ));
    }
    if s.insight_files + s.insight_records > 0 {
        c.push(format!(
            "{} CloudTrail Insights file(s) and {} Insights record(s) skipped: they describe unusual activity, not calls",
            s.insight_files, s.insight_records
        ));
    }
    c
}

fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b * 100.0 } else { 0.0 }
}

/// The verdict, one finding a line.
pub fn verdict(r: &Report, f: &Forecast) -> Vec<String> {
    let mut v = Vec::new();
    let total: u64 = r.requests.values().sum();
    v.push(format!(
        "Traffic: {total} requests over {} in {} bucket(s) from {} requester(s); {}{} KMS quota {} req/s.",
        humantime::format_duration(std::time::Duration::from_secs(r.span.2 as u64)),
        r.buckets.len(),
        r.requesters.len(),
        r.region,
        // Said only when the region was not given.
        if r.region_from == "--region" {
            String::new()
        } else {
            format!(" ({})", r.region_from)
        },
        r.quota_rps
    ));
    let base = mode_of(f, Mode::SseS3).monthly.total_usd;
    for m in [Mode::SseKms, Mode::SseKmsBucketKey, Mode::DsseKms] {
        let x = mode_of(f, m);
        let over = if x.seconds_over_quota > 0 {
            format!(", over the quota in {} second(s)", x.seconds_over_quota)
        } else {
            format!(", {:.1}% headroom", 100.0 - x.peak_quota_pct)
        };
        v.push(format!(
            "{}: peak {:.0} KMS req/s ({:.1}% of quota{over}), p99 second {:.0}, average {:.1}; {:.3} M KMS requests/month; {} a month, {} against SSE-S3.",
            m.as_str(),
            x.peak_rps,
            x.peak_quota_pct,
            x.p99_rps,
            x.avg_rps,
            x.monthly_kms_requests / 1e6,
            dollars(x.monthly.total_usd),
            signed_dollars(x.monthly.total_usd - base),
        ));
    }
    let kms = mode_of(f, Mode::SseKms);
    let bk = mode_of(f, Mode::SseKmsBucketKey);
    let fewer = 100.0 - pct(bk.monthly_kms_requests, kms.monthly_kms_requests);
    v.push(match crate::prices::Saving::of(&kms.monthly, &bk.monthly) {
        Some(s) => format!(
            "{} {fewer:.1}% fewer KMS requests than SSE-KMS.",
            s.sentence()
        ),
        None => format!("Bucket Keys: {fewer:.1}% fewer KMS requests than SSE-KMS."),
    });
    if let Some(top) = r.requesters.first()
        && kms.kms_calls > 0.0
    {
        let n = top.kms.get(&Mode::SseKms).copied().unwrap_or(0.0);
        v.push(format!(
            "Top KMS driver under SSE-KMS: {} ({:.0}% of calls).",
            top.name,
            pct(n, kms.kms_calls)
        ));
    }
    if let Some(t) = &r.today {
        let m: u64 = t.measured.values().sum();
        let p: f64 = t.model.values().fold(0.0, |a, b| a + b);
        v.push(format!(
            "Today (CloudTrail): {m} KMS calls for S3 measured, {p:.0} predicted by the model for the configuration the records show ({:+.1}%).",
            pct(m as f64 - p, p)
        ));
    }
    v
}
