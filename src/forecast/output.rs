//! What `forecast` tells: the machine-readable report (JSON) and the document it
//! renders as text, Markdown, HTML and CSV, opening with the verdict.

use super::model::{Forecast, ModeForecast, Settings, op_totals};
use super::traffic::Traffic;
use crate::logs::record::{Class, Op, class_of, short_names};
use crate::scenario::Mode;
use serde::Serialize;
use std::collections::BTreeMap;

/// Version of the report's JSON shape.
pub const SCHEMA_VERSION: u32 = 1;

/// Sizes of one bucket's objects.
#[derive(Clone, Debug, Serialize)]
pub struct Sizes {
    /// Operation.
    pub op: Op,
    /// Requests with a size.
    pub count: u64,
    /// Percentiles in bytes.
    pub p50: u64,
    /// 90th.
    pub p90: u64,
    /// 99th.
    pub p99: u64,
}

/// One bucket's traffic and KMS load per mode.
#[derive(Clone, Debug, Serialize)]
pub struct BucketRow {
    /// Bucket.
    pub bucket: String,
    /// Successful requests by operation.
    pub requests: BTreeMap<Op, u64>,
    /// Object sizes.
    pub sizes: Vec<Sizes>,
    /// KMS calls per mode.
    pub kms: BTreeMap<Mode, f64>,
}

/// One requester's traffic and KMS load per mode.
#[derive(Clone, Debug, Serialize)]
pub struct RequesterRow {
    /// The identity (a role ARN, a user ARN, `anonymous`, a canonical id).
    pub requester: String,
    /// Its name in tables: short, and never another requester's.
    pub name: String,
    /// Own account, cross-account, anonymous, other.
    pub class: Class,
    /// Successful requests.
    pub requests: u64,
    /// KMS calls per mode.
    pub kms: BTreeMap<Mode, f64>,
    /// KMS calls per mode and API.
    pub kms_by_api: BTreeMap<Mode, BTreeMap<String, f64>>,
}

/// Today's KMS calls as CloudTrail recorded them, beside the model's count for the
/// configuration the records show.
#[derive(Clone, Debug, Serialize)]
pub struct Today {
    /// Each bucket's mode as its KMS records show it (inferred from the encryption
    /// context: a bucket ARN means Bucket Keys, an object ARN SSE-KMS or DSSE-KMS;
    /// no KMS records, SSE-S3).
    pub buckets: BTreeMap<String, Mode>,
    /// Measured calls by API.
    pub measured: BTreeMap<String, u64>,
    /// The model's calls by API for that configuration.
    pub model: BTreeMap<String, f64>,
    /// Per (requester, API): measured and model.
    pub by_requester: Vec<TodayRow>,
    /// Calls refused by the quota.
    pub throttled: u64,
}

/// One (requester, API) of [`Today`].
#[derive(Clone, Debug, Serialize)]
pub struct TodayRow {
    /// Requester identity.
    pub requester: String,
    /// Its name in tables (as in [`RequesterRow::name`]).
    pub name: String,
    /// KMS API.
    pub api: String,
    /// Calls CloudTrail recorded.
    pub measured: u64,
    /// Calls the model predicts.
    pub model: f64,
}

/// Where the numbers came from.
#[derive(Clone, Debug, Serialize)]
pub struct SourceInfo {
    /// Files read.
    pub files: usize,
    /// Records read (lines or CloudTrail records).
    pub records: u64,
    /// Records not understood (skipped).
    pub malformed: u64,
    /// The first few, with file and line.
    pub first_malformed: Vec<String>,
    /// S3 data events in CloudTrail not counted because access logs were given.
    pub duplicate_events: u64,
    /// Records delivered more than once, counted once.
    pub duplicates_removed: u64,
    /// CloudTrail digest files skipped.
    pub digest_files: u64,
    /// CloudTrail Insights files skipped.
    pub insight_files: u64,
    /// CloudTrail Insights records skipped.
    pub insight_records: u64,
    /// The `--since`/`--until` window (Unix seconds), when given.
    pub window: (Option<i64>, Option<i64>),
    /// Records outside the window, not counted.
    pub outside_window: u64,
    /// Files (and folders) not read: named as delivered outside the window.
    pub pruned_files: u64,
}

/// KMS requests per second over the logs' time range, per mode, as the busiest second
/// of each step (at most [`TIMELINE_POINTS`] steps, so a month of logs stays small).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Timeline {
    /// Unix second of the first step.
    pub start: i64,
    /// Seconds per step.
    pub step_s: u64,
    /// Per mode, the busiest second of each step.
    pub kms_rps: BTreeMap<Mode, Vec<f64>>,
}

/// Steps of a [`Timeline`] at most.
pub const TIMELINE_POINTS: usize = 720;

fn timeline(t: &Traffic, f: &Forecast) -> Timeline {
    let (first, len) = t.span.map_or((0, 0), |(a, z)| (a, (z - a + 1) as usize));
    let step = len.div_ceil(TIMELINE_POINTS).max(1);
    let steps = len.div_ceil(step);
    Timeline {
        start: first,
        step_s: step as u64,
        kms_rps: Mode::ALL
            .iter()
            .zip(&f.per_second)
            .map(|(m, series)| {
                let mut peaks = vec![0.0f64; steps];
                for (sec, v) in series {
                    if let Some(p) = peaks.get_mut(((sec - first) as usize) / step) {
                        *p = p.max(*v);
                    }
                }
                (*m, peaks)
            })
            .collect(),
    }
}

/// The whole forecast.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    /// Shape version.
    pub schema_version: u32,
    /// The verdict, one finding a line.
    pub verdict: Vec<String>,
    /// Region priced.
    pub region: String,
    /// Where the region came from: `--region`, "from the logs", or the default.
    pub region_from: String,
    /// KMS quota, req/s.
    pub quota_rps: u64,
    /// Bucket Key lifetime assumed, seconds.
    pub bucket_key_lifetime_s: f64,
    /// Requesters counted per session instead of per role.
    pub per_session: bool,
    /// The account that owns the buckets (given, or the commonest requester account).
    pub home_account: Option<String>,
    /// Sources.
    pub sources: SourceInfo,
    /// First and last second (RFC 3339) and the seconds between.
    pub span: (String, String, f64),
    /// Successful requests by operation.
    pub requests: BTreeMap<Op, u64>,
    /// Failed requests (billed, no KMS work).
    pub failed: u64,
    /// Per mode.
    pub modes: Vec<ModeForecast>,
    /// Per bucket.
    pub buckets: Vec<BucketRow>,
    /// Per requester, busiest first.
    pub requesters: Vec<RequesterRow>,
    /// Measured KMS calls, when CloudTrail KMS events were read.
    pub today: Option<Today>,
    /// KMS requests per second over time, per mode.
    pub timeline: Timeline,
    /// What the reader must know.
    pub caveats: Vec<String>,
}

/// Unix seconds as RFC 3339 (UTC).
pub(crate) fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

pub(super) fn mode_of(f: &Forecast, m: Mode) -> &ModeForecast {
    let i = Mode::ALL.iter().position(|x| *x == m).unwrap_or(0);
    &f.modes[i]
}

fn today(t: &Traffic, f: &Forecast) -> Option<Today> {
    if t.kms.is_empty() {
        return None;
    }
    let mut modes: BTreeMap<u32, Mode> = BTreeMap::new();
    for (&(b, _, _), m) in &t.kms {
        let seen = if m.bucket_level > 0 {
            Mode::SseKmsBucketKey
        } else {
            Mode::SseKms
        };
        let e = modes.entry(b).or_insert(seen);
        if seen == Mode::SseKmsBucketKey {
            *e = seen;
        }
    }
    let mut measured: BTreeMap<String, u64> = BTreeMap::new();
    let mut rows: BTreeMap<(u32, String), (u64, f64)> = BTreeMap::new();
    let mut throttled = 0;
    for ((_, q, api), m) in &t.kms {
        *measured.entry(api.clone()).or_default() += m.calls;
        rows.entry((*q, api.clone())).or_default().0 += m.calls;
        throttled += m.throttled;
    }
    let mut model: BTreeMap<String, f64> = BTreeMap::new();
    for (i, mode) in Mode::ALL.iter().enumerate() {
        for ((b, q, api), n) in &f.cells[i] {
            if modes.get(b).unwrap_or(&Mode::SseS3) == mode {
                *model.entry(api.clone()).or_default() += n;
                rows.entry((*q, api.clone())).or_default().1 += n;
            }
        }
    }
    Some(Today {
        buckets: modes
            .iter()
            .map(|(b, m)| (t.buckets.names[*b as usize].clone(), *m))
            .collect(),
        measured,
        model,
        by_requester: rows
            .into_iter()
            .map(|((q, api), (measured, model))| TodayRow {
                requester: t.requesters.names[q as usize].clone(),
                name: String::new(),
                api,
                measured,
                model,
            })
            .collect(),
        throttled,
    })
}

/// The commonest account among the requesters (by requests).
fn commonest_account(t: &Traffic) -> Option<String> {
    let mut by: BTreeMap<&str, u64> = BTreeMap::new();
    for (&(_, _, q), c) in &t.seconds {
        if let Some(a) = crate::logs::record::account_of(&t.requesters.names[q as usize]) {
            *by.entry(a).or_default() += c.iter().map(|n| u64::from(*n)).sum::<u64>();
        }
    }
    by.into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(a, _)| a.to_owned())
}

/// The account that owns the buckets: `--account`, else the trail's own account
/// (CloudTrail's `recipientAccountId`), else the commonest requester account.
pub fn home_account(t: &Traffic, given: Option<String>) -> Option<String> {
    given
        .or_else(|| {
            t.recipients
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(a, _)| a.clone())
        })
        .or_else(|| commonest_account(t))
}

/// Builds the report.
pub fn build(t: &Traffic, f: &Forecast, s: &Settings, files: usize) -> Report {
    let home = s.home_account.clone();
    let nq = t.requesters.names.len();
    let mut req_requests = vec![0u64; nq];
    let mut bucket_ops: BTreeMap<u32, BTreeMap<Op, u64>> = BTreeMap::new();
    for (&(_, b, q), c) in &t.seconds {
        let e = bucket_ops.entry(b).or_default();
        for op in Op::ALL {
            let n = u64::from(c[op.index()]);
            if n > 0 {
                *e.entry(op).or_default() += n;
                req_requests[q as usize] += n;
            }
        }
    }
    let totals = op_totals(t);
    let requests: BTreeMap<Op, u64> = Op::ALL
        .iter()
        .filter(|o| totals[o.index()] > 0)
        .map(|o| (*o, totals[o.index()]))
        .collect();
    let (a, z) = t.span.unwrap_or((0, 0));
    let mut r = Report {
        schema_version: SCHEMA_VERSION,
        verdict: Vec::new(),
        region: s.region.clone(),
        region_from: s.region_from.clone(),
        quota_rps: s.quota_rps,
        bucket_key_lifetime_s: s.rules.bucket_key_lifetime.as_secs_f64(),
        per_session: t.per_session,
        sources: SourceInfo {
            files,
            records: t.records,
            malformed: t.malformed,
            first_malformed: t.first_malformed.clone(),
            duplicate_events: t.duplicate_events,
            duplicates_removed: t.duplicates,
            digest_files: t.digest_files,
            insight_files: t.insight_files,
            insight_records: t.insight_records,
            window: (t.window.since, t.window.until),
            outside_window: t.outside_window,
            pruned_files: t.pruned_files,
        },
        span: (rfc3339(a), rfc3339(z), t.span_seconds()),
        requests,
        failed: t.failed.values().sum(),
        modes: f.modes.clone(),
        buckets: bucket_rows(t, f, bucket_ops),
        requesters: requester_rows(t, f, &req_requests, home.as_deref()),
        home_account: home,
        today: today(t, f),
        timeline: timeline(t, f),
        caveats: Vec::new(),
    };
    name_requesters(&mut r);
    r.caveats = super::findings::caveats(&r, f);
    r.verdict = super::findings::verdict(&r, f);
    r
}

/// One row per bucket, busiest first: its requests, object sizes and KMS calls per mode.
fn bucket_rows(
    t: &Traffic,
    f: &Forecast,
    mut bucket_ops: BTreeMap<u32, BTreeMap<Op, u64>>,
) -> Vec<BucketRow> {
    let mut buckets: Vec<BucketRow> = t
        .buckets
        .names
        .iter()
        .enumerate()
        .map(|(b, name)| {
            let b = b as u32;
            let mut sizes: Vec<Sizes> = t
                .sizes
                .iter()
                .filter(|((x, _), _)| *x == b)
                .map(|((_, op), h)| Sizes {
                    op: *op,
                    count: h.len(),
                    p50: h.lowest_equivalent(h.value_at_quantile(0.5)),
                    p90: h.lowest_equivalent(h.value_at_quantile(0.9)),
                    p99: h.lowest_equivalent(h.value_at_quantile(0.99)),
                })
                .collect();
            sizes.sort_by_key(|s| s.op);
            let kms = Mode::ALL
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let n = f.cells[i]
                        .iter()
                        .filter(|((x, _, _), _)| *x == b)
                        .fold(0.0, |a, (_, n)| a + n);
                    (*m, n)
                })
                .collect();
            BucketRow {
                bucket: name.clone(),
                requests: bucket_ops.remove(&b).unwrap_or_default(),
                sizes,
                kms,
            }
        })
        .collect();
    buckets.sort_by(|a, b| {
        b.requests
            .values()
            .sum::<u64>()
            .cmp(&a.requests.values().sum::<u64>())
    });
    buckets
}

/// One row per requester with requests or KMS calls, the biggest SSE-KMS driver first.
fn requester_rows(
    t: &Traffic,
    f: &Forecast,
    req_requests: &[u64],
    home: Option<&str>,
) -> Vec<RequesterRow> {
    let mut requesters: Vec<RequesterRow> = t
        .requesters
        .names
        .iter()
        .enumerate()
        .map(|(q, name)| {
            let q = q as u32;
            let mut kms = BTreeMap::new();
            let mut kms_by_api: BTreeMap<Mode, BTreeMap<String, f64>> = BTreeMap::new();
            for (i, m) in Mode::ALL.iter().enumerate() {
                for ((_, x, api), n) in &f.cells[i] {
                    if *x == q {
                        *kms.entry(*m).or_default() += n;
                        *kms_by_api
                            .entry(*m)
                            .or_default()
                            .entry(api.clone())
                            .or_default() += n;
                    }
                }
            }
            RequesterRow {
                requester: name.clone(),
                name: String::new(),
                class: class_of(name, home),
                requests: req_requests[q as usize],
                kms,
                kms_by_api,
            }
        })
        .filter(|r| r.requests > 0 || !r.kms.is_empty())
        .collect();
    requesters.sort_by(|a, b| {
        let k = |r: &RequesterRow| r.kms.get(&Mode::SseKms).copied().unwrap_or(0.0);
        k(b).total_cmp(&k(a)).then(b.requests.cmp(&a.requests))
    });
    requesters
}

/// Every requester's table name, unique across the report.
fn name_requesters(r: &mut Report) {
    let ids = r.requesters.iter().map(|q| q.requester.clone()).chain(
        r.today
            .iter()
            .flat_map(|t| t.by_requester.iter().map(|x| x.requester.clone())),
    );
    let ids: Vec<String> = ids.collect();
    let names = short_names(ids.iter().map(String::as_str));
    let name = |id: &str| names.get(id).cloned().unwrap_or_else(|| id.to_owned());
    for q in &mut r.requesters {
        q.name = name(&q.requester);
    }
    if let Some(t) = &mut r.today {
        for x in &mut t.by_requester {
            x.name = name(&x.requester);
        }
    }
}
