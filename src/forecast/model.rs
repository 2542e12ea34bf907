//! The forecast: the traffic run through the KMS model (crate::kms) for every mode,
//! second by second, and priced (crate::prices).

use super::traffic::Traffic;
use crate::kms::{KmsRules, S3Requests, S3Work, Status, bucket_key_rates, per_request};
use crate::logs::record::Op;
use crate::prices::{CostBreakdown, KeyBilling, RegionPrices};
use crate::scenario::Mode;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What the forecast needs besides the traffic.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Region (prices, quota).
    pub region: String,
    /// Where the region came from (`--region`, the logs, the default).
    pub region_from: String,
    /// The KMS request quota, req/s.
    pub quota_rps: u64,
    /// The inferred rules in force.
    pub rules: KmsRules,
    /// KMS keys the buckets would use (customer-managed, billed per month).
    pub keys: u32,
    /// How those keys are billed.
    pub key_billing: KeyBilling,
    /// The account that owns the buckets and keys: its quota is the one forecast.
    /// Calls S3 makes for another account's requester count against that account's
    /// quota (docs/aws-behaviour.md §4).
    pub home_account: Option<String>,
}

/// One mode's forecast.
#[derive(Clone, Debug, Serialize)]
pub struct ModeForecast {
    /// Mode.
    pub mode: Mode,
    /// KMS calls over the logs' time range.
    pub kms_calls: f64,
    /// The same by KMS API.
    pub by_api: BTreeMap<String, f64>,
    /// KMS requests in the busiest second.
    pub peak_rps: f64,
    /// When that second was (Unix seconds).
    pub peak_at: Option<i64>,
    /// The 99th-percentile second.
    pub p99_rps: f64,
    /// Average over the time range.
    pub avg_rps: f64,
    /// Peak as a share of the quota, percent.
    pub peak_quota_pct: f64,
    /// Seconds in which the quota would have been exceeded.
    pub seconds_over_quota: u64,
    /// The first of them (Unix seconds), at most ten.
    pub over_quota_at: Vec<i64>,
    /// KMS requests per month, projected.
    pub monthly_kms_requests: f64,
    /// How the month was projected: `scaled` (the logs' rate) or `steady-state`
    /// (Bucket Key fetches per lifetime, when the logs are shorter than an hour).
    pub projection: &'static str,
    /// Monthly cost.
    pub monthly: CostBreakdown,
    /// Documented when every rule used is documented.
    pub status: Status,
    /// A lower bound (Bucket Keys: at least once per requester).
    pub lower_bound: bool,
    /// Calls made for other accounts' requesters: their busiest second per account
    /// (req/s). They count against those accounts' quotas, so the peak, p99 and
    /// seconds over quota above leave them out.
    pub other_accounts_peak: BTreeMap<String, f64>,
}

/// KMS calls of one mode per (bucket, requester, API).
pub type Cells = BTreeMap<(u32, u32, String), f64>;

/// The forecast of every mode.
#[derive(Clone, Debug)]
pub struct Forecast {
    /// Per mode, in [`Mode::ALL`] order.
    pub modes: Vec<ModeForecast>,
    /// Per mode, the calls per (bucket, requester, API).
    pub cells: Vec<Cells>,
    /// Per mode, KMS requests in each second that has any (Unix second → requests):
    /// sparse, so memory follows the active seconds, not the logs' time range.
    pub per_second: Vec<BTreeMap<i64, f64>>,
}

fn work_of(op: Op) -> S3Work {
    let mut w = S3Work::default();
    match op {
        Op::Put => w.puts = 1.0,
        Op::Get => w.gets = 1.0,
        Op::Head => w.heads = 1.0,
        Op::Copy => w.copies = 1.0,
        // The upload's Complete-time Decrypt is counted with its Create (same
        // requester, same upload): the model prices whole uploads.
        Op::MpuCreate => w.multipart_uploads = 1.0,
        Op::MpuPart => w.parts = 1.0,
        Op::Delete => w.deletes = 1.0,
        Op::MpuComplete | Op::OtherTier1 | Op::OtherTier2 | Op::Internal => {}
    }
    w
}

/// S3 requests by tier, all of them (failed ones are billed too).
pub fn s3_requests(t: &Traffic) -> S3Requests {
    let mut r = S3Requests::default();
    let mut add = |op: Op, n: f64| match op.tier() {
        1 => r.tier1 += n,
        2 => r.tier2 += n,
        _ => {}
    };
    for c in t.seconds.values() {
        for op in Op::ALL {
            add(op, f64::from(c[op.index()]));
        }
    }
    for (&(_, op), &n) in &t.failed {
        add(op, n as f64);
    }
    r
}

/// Per-request modes: each cell's counts times the calls per operation.
fn per_request_cells(
    mode: Mode,
    s: &Settings,
    t: &Traffic,
    add: &mut impl FnMut(i64, u32, u32, &str, f64),
) -> (Status, bool) {
    let coef: Vec<(Op, crate::kms::Prediction)> = Op::ALL
        .iter()
        .map(|&op| (op, per_request(mode, &s.rules, &work_of(op))))
        .collect();
    let totals = op_totals(t);
    let mut status = Status::Documented;
    for (op, p) in &coef {
        if p.calls > 0.0 && totals[op.index()] > 0 {
            status = status.max(p.status.unwrap_or(Status::Documented));
        }
    }
    for (&(sec, b, q), c) in &t.seconds {
        // Unsigned requests for KMS-encrypted objects fail: no KMS call.
        if t.anonymous(q) {
            continue;
        }
        for (op, p) in &coef {
            let n = f64::from(c[op.index()]);
            if n == 0.0 {
                continue;
            }
            for (api, per) in &p.calls_by_api {
                add(sec, b, q, api, n * per);
            }
        }
    }
    (status, false)
}

/// Activity of one requester in one bucket: (second, writes, reads) in time order.
type Activity = Vec<(i64, u64, u64)>;

/// One reader of a bucket: (bucket, requester, (second, reads) in time order).
type Reader = (u32, u32, Vec<(i64, u64)>);

/// The lifetimes of a cache entry used in `secs` (in time order): each starts at a use
/// that finds no live entry (a fetch) and holds that lifetime's uses, second by second.
fn windows(secs: &[(i64, u64)], lifetime: i64) -> Vec<Vec<(i64, u64)>> {
    let mut out: Vec<Vec<(i64, u64)>> = Vec::new();
    for &(t, n) in secs {
        if n == 0 {
            continue;
        }
        match out.last_mut() {
            Some(w) if t < w[0].0 + lifetime => w.push((t, n)),
            _ => out.push(vec![(t, n)]),
        }
    }
    out
}

/// Expected distinct keys met by `n` reads spread evenly over `k` keys.
fn keys_met(k: f64, n: f64) -> f64 {
    k * (1.0 - (1.0 - 1.0 / k).powf(n))
}

/// Bucket Keys: each writer fetches a Bucket Key (GenerateDataKey) at its first write
/// and at its first write after each lifetime; each reader, per lifetime, decrypts the
/// Bucket Keys its reads meet: of K keys written by then, K·(1 − (1 − 1/K)ⁿ) for n
/// reads (docs/aws-behaviour.md §2; the lifetime is inferred).
fn bucket_key_cells(s: &Settings, t: &Traffic, add: &mut impl FnMut(i64, u32, u32, &str, f64)) {
    let lifetime = (s.rules.bucket_key_lifetime.as_secs() as i64).max(1);
    let mut by: HashMap<(u32, u32), Activity> = HashMap::new();
    for (&(sec, b, q), c) in &t.seconds {
        if t.anonymous(q) {
            continue;
        }
        let sum = |f: fn(Op) -> bool| -> u64 {
            Op::ALL
                .iter()
                .filter(|o| f(**o))
                .map(|o| u64::from(c[o.index()]))
                .sum()
        };
        let mut reads = sum(Op::reads);
        if !s.rules.upload_part_decrypt {
            reads -= u64::from(c[Op::MpuPart.index()]);
        }
        if !s.rules.complete_checksum_decrypt {
            reads -= u64::from(c[Op::MpuComplete.index()]);
        }
        by.entry((b, q))
            .or_default()
            .push((sec, sum(Op::writes), reads));
    }
    // Generations (fetch seconds) per bucket, over all its writers.
    let mut generations: HashMap<u32, Vec<i64>> = HashMap::new();
    let mut readers: Vec<Reader> = Vec::new();
    let mut keys: Vec<_> = by.into_iter().collect();
    keys.sort_by_key(|(k, _)| *k);
    for ((b, q), mut act) in keys {
        act.sort_unstable();
        let writes: Vec<(i64, u64)> = act.iter().map(|&(t, w, _)| (t, w)).collect();
        for w in windows(&writes, lifetime) {
            let t0 = w[0].0;
            add(t0, b, q, "GenerateDataKey", 1.0);
            generations.entry(b).or_default().push(t0);
        }
        readers.push((b, q, act.iter().map(|&(t, _, r)| (t, r)).collect()));
    }
    for g in generations.values_mut() {
        g.sort_unstable();
    }
    for (b, q, reads) in readers {
        let gens = generations.get(&b).map_or(&[][..], Vec::as_slice);
        for w in windows(&reads, lifetime) {
            // Keys that exist by the window's end; data older than the logs is at
            // least one key.
            let t0 = w[0].0;
            let k = gens.partition_point(|&g| g < t0 + lifetime).max(1) as f64;
            // Each second decrypts the keys its reads meet for the first time in
            // this lifetime, so the fetches fall when the reads do.
            let mut seen = 0.0;
            for (sec, n) in w {
                let before = keys_met(k, seen);
                seen += n as f64;
                let d = keys_met(k, seen) - before;
                if d > 0.0 {
                    add(sec, b, q, "Decrypt", d);
                }
            }
        }
    }
}

/// Every mode's forecast.
pub fn forecast(
    t: &Traffic,
    s: &Settings,
    prices: &RegionPrices,
    seconds_per_month: f64,
) -> Forecast {
    let (first, last) = t.span.unwrap_or((0, 0));
    let len = (last - first + 1).max(1) as usize;
    let span = t.span_seconds().max(1.0);
    let scale = seconds_per_month / span;
    let s3 = s3_requests(t);
    let s3_monthly = prices.s3_requests_usd(s3.scaled(scale));
    let mut out = Forecast {
        modes: Vec::new(),
        cells: Vec::new(),
        per_second: Vec::new(),
    };
    // The account each requester's calls count against, when it is not the owner's.
    let foreign: Vec<Option<&str>> = t
        .requesters
        .names
        .iter()
        .map(|n| {
            crate::logs::record::account_of(n)
                .filter(|a| s.home_account.as_deref().is_some_and(|h| h != *a))
        })
        .collect();
    for mode in Mode::ALL {
        let mut series: BTreeMap<i64, f64> = BTreeMap::new();
        let mut theirs: BTreeMap<&str, BTreeMap<i64, f64>> = BTreeMap::new();
        let mut cells: Cells = BTreeMap::new();
        let mut add = |sec: i64, b: u32, q: u32, api: &str, n: f64| {
            match foreign.get(q as usize).copied().flatten() {
                Some(a) => *theirs.entry(a).or_default().entry(sec).or_default() += n,
                None => *series.entry(sec).or_default() += n,
            }
            *cells.entry((b, q, api.to_owned())).or_default() += n;
        };
        let (status, lower_bound) = if mode == Mode::SseKmsBucketKey {
            bucket_key_cells(s, t, &mut add);
            (Status::Inferred, true)
        } else {
            per_request_cells(mode, s, t, &mut add)
        };
        let mut by_api: BTreeMap<String, f64> = BTreeMap::new();
        for ((_, _, api), n) in &cells {
            *by_api.entry(api.clone()).or_default() += n;
        }
        // fold from +0.0: an empty sum of f64 is -0.0.
        let kms_calls: f64 = by_api.values().fold(0.0, |a, b| a + b);
        let (mut peak, mut peak_at) = (0.0, None);
        for (&sec, &v) in &series {
            if v > peak {
                peak = v;
                peak_at = Some(sec);
            }
        }
        let p99 = percentile_second(&series, len, 0.99);
        let quota = s.quota_rps as f64;
        let over: Vec<i64> = series
            .iter()
            .filter(|(_, v)| quota > 0.0 && **v > quota)
            .map(|(sec, _)| *sec)
            .collect();
        let lifetime = s.rules.bucket_key_lifetime.as_secs_f64();
        let (monthly_kms, projection) = if mode == Mode::SseKmsBucketKey && span < 12.0 * lifetime {
            (
                bucket_key_steady_monthly(t, s, span) * seconds_per_month,
                "steady-state",
            )
        } else {
            (kms_calls * scale, "scaled")
        };
        let key = if mode.uses_kms() {
            prices.key_month_usd(s.keys, &s.key_billing)
        } else {
            0.0
        };
        let dsse = (mode == Mode::DsseKms)
            .then(|| prices.dsse_usd(t.bytes_written * scale))
            .flatten();
        out.modes.push(ModeForecast {
            mode,
            kms_calls,
            by_api,
            peak_rps: peak,
            peak_at,
            p99_rps: p99,
            avg_rps: series.values().fold(0.0, |a, b| a + b) / span,
            peak_quota_pct: if quota > 0.0 {
                peak / quota * 100.0
            } else {
                0.0
            },
            seconds_over_quota: over.len() as u64,
            over_quota_at: over.into_iter().take(10).collect(),
            monthly_kms_requests: monthly_kms,
            projection,
            monthly: CostBreakdown::new(s3_monthly, prices.kms_monthly_usd(monthly_kms), key, dsse),
            status,
            lower_bound,
            other_accounts_peak: theirs
                .into_iter()
                .map(|(a, s)| (a.to_owned(), s.values().fold(0.0, |m: f64, v| m.max(*v))))
                .collect(),
        });
        out.cells.push(cells);
        out.per_second.push(series);
    }
    out
}

/// The `q` quantile of the seconds of a `len`-second range, of which `series` holds
/// those with any requests (the others are zero).
fn percentile_second(series: &BTreeMap<i64, f64>, len: usize, q: f64) -> f64 {
    let rank = ((len as f64 * q).ceil() as usize).clamp(1, len.max(1));
    let zeros = len.saturating_sub(series.len());
    if rank <= zeros {
        return 0.0;
    }
    let mut v: Vec<f64> = series.values().copied().collect();
    v.sort_by(f64::total_cmp);
    v.get(rank - zeros - 1).copied().unwrap_or(0.0)
}

/// Steady-state Bucket Key calls per second of the traffic's buckets (for months
/// projected from logs shorter than an hour, where one-off fetches would be scaled up).
fn bucket_key_steady_monthly(t: &Traffic, s: &Settings, span: f64) -> f64 {
    let mut per_bucket: BTreeMap<
        u32,
        (
            std::collections::BTreeSet<u32>,
            std::collections::BTreeSet<u32>,
            f64,
        ),
    > = BTreeMap::new();
    for (&(_, b, q), c) in &t.seconds {
        let e = per_bucket.entry(b).or_default();
        let w: u32 = Op::ALL
            .iter()
            .filter(|o| o.writes())
            .map(|o| c[o.index()])
            .sum();
        let r: u32 = Op::ALL
            .iter()
            .filter(|o| o.reads())
            .map(|o| c[o.index()])
            .sum();
        if w > 0 {
            e.0.insert(q);
        }
        if r > 0 {
            e.1.insert(q);
        }
        e.2 += f64::from(r);
    }
    let age =
        std::time::Duration::from_secs_f64(span.max(s.rules.bucket_key_lifetime.as_secs_f64()));
    per_bucket
        .values()
        .map(|(w, r, reads)| {
            let (g, d) =
                bucket_key_rates(&s.rules, w.len() as u32, r.len() as u32, reads / span, age);
            g + d
        })
        .sum()
}

/// Successful requests by operation, as u64 (sums over long logs pass u32).
pub fn op_totals(t: &Traffic) -> [u64; Op::COUNT] {
    let mut out = [0u64; Op::COUNT];
    for c in t.seconds.values() {
        for (x, y) in out.iter_mut().zip(c.iter()) {
            *x += u64::from(*y);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logs::record::Request;

    fn request(unix: i64, requester: &str, op: Op) -> Request<'_> {
        Request {
            unix,
            bucket: "b",
            op,
            requester: Some(requester),
            key: Some("k"),
            size: Some(1024),
            status: 200,
            region: None,
            id: None,
        }
    }

    fn settings(home: Option<&str>) -> Settings {
        Settings {
            region: "us-east-1".into(),
            region_from: "--region".into(),
            quota_rps: 100,
            rules: KmsRules::default(),
            keys: 1,
            key_billing: KeyBilling::of("customer-managed", 0),
            home_account: home.map(str::to_owned),
        }
    }

    fn run(t: &Traffic, s: &Settings) -> Forecast {
        let table = crate::prices::PriceTable::builtin().unwrap();
        forecast(t, s, table.region("us-east-1").unwrap(), 730.0 * 3600.0)
    }

    fn series(f: &Forecast, m: Mode) -> &BTreeMap<i64, f64> {
        &f.per_second[Mode::ALL.iter().position(|x| *x == m).unwrap()]
    }

    /// Five writers make five Bucket Keys at second 0; a reader then reads once a
    /// second for a minute. Its Decrypts fall when its reads meet new keys, not all
    /// in the lifetime's first second.
    #[test]
    fn bucket_key_decrypts_fall_when_the_reads_do() {
        let mut t = Traffic::new(false);
        for w in 0..5 {
            t.add(&request(0, &format!("arn:aws:iam::1:role/w{w}"), Op::Put));
        }
        for s in 0..60 {
            t.add(&request(s, "arn:aws:iam::1:role/reader", Op::Get));
        }
        let f = run(&t, &settings(Some("1")));
        let bk = series(&f, Mode::SseKmsBucketKey);
        // Second 0: five GenerateDataKey and the reader's first key (1 Decrypt).
        assert!((bk[&0] - 6.0).abs() < 1e-9, "{bk:?}");
        // Later seconds each decrypt what the new read is expected to meet, less
        // and less as the keys are met.
        assert!(bk[&1] > bk[&10] && bk[&10] > 0.0, "{bk:?}");
        let decrypts: f64 = bk.values().sum::<f64>() - 5.0;
        assert!((decrypts - keys_met(5.0, 60.0)).abs() < 1e-9);
    }

    /// A requester of another account: its calls are counted (and priced) but count
    /// against its own account's quota, not the bucket owner's.
    #[test]
    fn cross_account_calls_are_out_of_the_owners_peak() {
        let mut t = Traffic::new(false);
        t.add(&request(0, "arn:aws:iam::1:role/own", Op::Get));
        for _ in 0..3 {
            t.add(&request(1, "arn:aws:iam::2:role/partner", Op::Get));
        }
        let f = run(&t, &settings(Some("1")));
        let kms = &f.modes[Mode::ALL.iter().position(|m| *m == Mode::SseKms).unwrap()];
        assert_eq!(kms.kms_calls, 4.0, "every call is counted");
        assert_eq!(kms.peak_rps, 1.0, "the owner's busiest second");
        assert_eq!(kms.other_accounts_peak.get("2"), Some(&3.0));
        // Without a known owner, nothing is told apart.
        let f = run(&t, &settings(None));
        let kms = &f.modes[Mode::ALL.iter().position(|m| *m == Mode::SseKms).unwrap()];
        assert_eq!(kms.peak_rps, 3.0);
    }

    /// Lifecycle records make no KMS call in any mode.
    #[test]
    fn s3_internal_records_make_no_kms_calls() {
        let mut t = Traffic::new(false);
        let mut r = request(0, "whatever", Op::Internal);
        r.status = 0;
        t.add(&r);
        let f = run(&t, &settings(None));
        assert!(f.modes.iter().all(|m| m.kms_calls == 0.0));
        assert!(t.failed.is_empty(), "S3's own operations are not failures");
    }
}
