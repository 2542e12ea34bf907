//! `forecast --emit-scenario`: a scenario with the logs' shape. One stream per bucket
//! with the bucket's operation mix, object sizes fitted from the logs (fixed,
//! lognormal, or the empirical distribution when neither fits), the requesters that
//! wrote and read it under their role names; one phase per minute of the busiest hour,
//! at that minute's rate times `scale`.

use super::traffic::Traffic;
use crate::error::Error;
use crate::logs::record::{Op, account_of};
use crate::scenario::Op as ScenarioOp;
use crate::scenario::safe_name;
use crate::scenario::trace::{Entry, Trace};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::time::Duration;

/// How to shape the scenario.
#[derive(Clone, Debug)]
pub struct EmitOptions {
    /// Scenario name.
    pub name: String,
    /// Rate factor; None: 1, or less so the busiest minute is at most `max_rate`.
    pub scale: Option<f64>,
    /// Most operations per second of an automatically scaled scenario.
    pub max_rate: f64,
    /// How long each minute of the busiest hour lasts in the scenario.
    pub phase_duration: Duration,
    /// Region of the simulator.
    pub region: String,
}

/// A fitted size distribution, as scenario TOML.
fn fit_sizes(h: Option<&Histogram<u64>>) -> (String, &'static str) {
    let Some(h) = h.filter(|h| !h.is_empty()) else {
        return ("\"64KiB\"".into(), "no sizes in the logs: the default");
    };
    // The bucket's lowest value: exact for sizes like 4096, under 1% low otherwise.
    let q = |p: f64| h.lowest_equivalent(h.value_at_quantile(p)).max(1);
    let (p50, p90, p99, max) = (q(0.5), q(0.9), q(0.99), h.max().max(1));
    if (p99 as f64) <= p50 as f64 * 1.05 && (h.min().max(1) as f64) >= p50 as f64 * 0.95 {
        return (
            format!("{p50}"),
            "fixed: every size within 5% of the median",
        );
    }
    // A lognormal through the median and p99 predicts p90; it fits when that is within 5%.
    let (z90, z99) = (1.281_551_565_5, 2.326_347_874);
    let sigma = ((p99 as f64).ln() - (p50 as f64).ln()) / z99;
    let predicted90 = ((p50 as f64).ln() + z90 * sigma).exp();
    if sigma > 0.0 && (predicted90 / p90 as f64 - 1.0).abs() <= 0.05 {
        return (
            format!("{{ dist = \"lognormal\", median = {p50}, p99 = {p99}, max = {max} }}"),
            "lognormal through the observed median and p99 (its p90 within 5% of the observed)",
        );
    }
    // The empirical distribution: 200 equally likely sizes at the quantiles.
    let mut buckets: Vec<(u64, u32)> = Vec::new();
    for i in 0..200 {
        let v = q((f64::from(i) + 0.5) / 200.0);
        match buckets.last_mut() {
            Some((s, w)) if *s == v => *w += 1,
            _ => buckets.push((v, 1)),
        }
    }
    let list = buckets
        .iter()
        .map(|(s, w)| format!("{{ size = {s}, weight = {w} }}"))
        .collect::<Vec<_>>()
        .join(", ");
    (
        format!("{{ dist = \"weighted\", buckets = [{list}] }}"),
        "empirical: neither a fixed size nor a lognormal fits",
    )
}

/// A principal name for an identity: the role or user name, with the account when
/// it is not the buckets' own.
fn principal(identity: &str, home: Option<&str>) -> (String, Option<String>) {
    if identity == "anonymous" {
        return ("anonymous".into(), None);
    }
    let res = identity.rsplit(':').next().unwrap_or(identity);
    let mut parts = res.split('/');
    let kind = parts.next().unwrap_or("");
    let name = parts.next().unwrap_or(res);
    let acct = account_of(identity).filter(|a| Some(*a) != home);
    let base = match acct {
        Some(a) => format!("{}-{a}", safe_name(name)),
        None => safe_name(name),
    };
    match kind {
        "role" => (base.clone(), Some(base)),
        // A session counted on its own: named after the session, a session of its role.
        "assumed-role" => {
            let session = parts.next().unwrap_or("session");
            (format!("{base}.{}", safe_name(session)), Some(base))
        }
        _ => (base, None),
    }
}

/// Buckets with object requests, in name order: the emitted scenario's streams and a
/// trace's bucket indexes, so the two line up.
pub fn object_buckets(t: &Traffic) -> Vec<u32> {
    let mut seen: BTreeSet<u32> = BTreeSet::new();
    for (&(_, b, _), c) in &t.seconds {
        if OBJECT_OPS.iter().any(|op| c[op.index()] > 0) {
            seen.insert(b);
        }
    }
    let mut v: Vec<u32> = seen.into_iter().collect();
    v.sort_by_key(|b| &t.buckets.names[*b as usize]);
    v
}

/// Operations a scenario stream (and a trace) replays.
const OBJECT_OPS: [Op; 6] = [
    Op::Put,
    Op::MpuCreate,
    Op::Get,
    Op::Head,
    Op::Copy,
    Op::Delete,
];

/// The trace of every successful object request (anonymous ones left out: a scenario's
/// principals sign). Requests within a logged second are spread over its first 500 ms,
/// in a stable order, so a replay's requests stay in their second.
pub fn trace(t: &Traffic, home: Option<&str>, names: bool) -> Trace {
    let buckets = object_buckets(t);
    let index: BTreeMap<u32, u32> = buckets
        .iter()
        .enumerate()
        .map(|(i, b)| (*b, i as u32))
        .collect();
    let mut rows: Vec<_> = t
        .trace
        .iter()
        .flatten()
        .filter(|r| !t.anonymous(r.requester) && index.contains_key(&r.bucket))
        .copied()
        .collect();
    rows.sort_unstable();
    let start = rows.first().map_or(0, |r| r.unix);
    let mut requesters: Vec<String> = Vec::new();
    let mut entries = Vec::with_capacity(rows.len());
    let mut i = 0;
    while i < rows.len() {
        let sec = rows[i].unix;
        let n = rows[i..].iter().take_while(|r| r.unix == sec).count();
        for (j, r) in rows[i..i + n].iter().enumerate() {
            let (name, _) = principal(&t.requesters.names[r.requester as usize], home);
            let q = match requesters.iter().position(|x| *x == name) {
                Some(q) => q,
                None => {
                    requesters.push(name);
                    requesters.len() - 1
                }
            };
            entries.push(Entry {
                ms: (sec - start) as u64 * 1000 + (j as u64 * 500) / n as u64,
                bucket: index[&r.bucket],
                op: match r.op {
                    Op::Get => ScenarioOp::Get,
                    Op::Head => ScenarioOp::Head,
                    Op::Copy => ScenarioOp::Copy,
                    Op::Delete => ScenarioOp::Delete,
                    _ => ScenarioOp::Put,
                },
                size: r.size,
                requester: q as u32,
                key: r.key,
            });
        }
        i += n;
    }
    Trace {
        start: rows.first().map(|r| r.unix),
        buckets: buckets
            .iter()
            .enumerate()
            .map(|(i, b)| {
                if names {
                    t.buckets.names[*b as usize].clone()
                } else {
                    format!("bucket-{}", i + 1)
                }
            })
            .collect(),
        requesters,
        entries,
    }
}

/// The scenario TOML; with `trace`, its one phase replays that file (relative to the
/// scenario) instead of the busiest hour's minutes.
pub fn scenario(
    t: &Traffic,
    home: Option<&str>,
    o: &EmitOptions,
    trace: Option<&str>,
) -> Result<String, Error> {
    let (hour, minutes) =
        busiest_hour(t).ok_or_else(|| Error::usage("no requests to shape a scenario from"))?;
    let peak = minutes
        .iter()
        .map(|(_, n)| *n as f64 / 60.0)
        .fold(0.0, f64::max);
    let scale = o.scale.unwrap_or_else(|| {
        if peak > o.max_rate {
            o.max_rate / peak
        } else {
            1.0
        }
    });
    let buckets = BucketTraffic::of(t);
    let mut s = String::new();
    let when = |minute: i64| super::output::rfc3339(minute * 60);
    let _ = writeln!(
        s,
        "# Emitted by `sse-bench forecast --emit-scenario` from {} records.\n\
         # Phases: the busiest hour ({} to {}), one phase per minute, rates x {scale:.4}.",
        t.records,
        when(hour * 60),
        when(hour * 60 + 60)
    );
    let _ = writeln!(
        s,
        "version = 1\nname = \"{}\"\ndescription = \"The shape of the logs' traffic: {} bucket(s), busiest hour, rates x {scale:.4}\"\n\
         modes = [\"sse-s3\", \"sse-kms\", \"sse-kms-bucket-key\", \"dsse-kms\"]\norder = \"interleaved\"\n\n[target]\nregion = \"{r}\"\n\n[simulator]\nregion = \"{r}\"\n",
        o.name,
        buckets.ops.len(),
        r = o.region
    );
    let roles = streams(&mut s, t, home, &buckets);
    if !roles.is_empty() {
        s.push_str("[principal_roles]\n");
        for (p, r) in &roles {
            let _ = writeln!(s, "\"{p}\" = \"{r}\"");
        }
        s.push('\n');
    }
    if let Some(file) = trace {
        let _ = writeln!(
            s,
            "[[phases]]\nname = \"replay\"\ntrace = {{ file = \"{file}\", speed = 1 }}\n"
        );
        return Ok(s);
    }
    for (m, n) in &minutes {
        let rate = (*n as f64 / 60.0 * scale).max(0.01);
        let _ = writeln!(
            s,
            "[[phases]]\nname = \"minute-{:02}\"\nduration = \"{}\"\nrate = {rate:.3}\n",
            m - hour * 60,
            humantime::format_duration(o.phase_duration)
        );
    }
    Ok(s)
}

/// The busiest calendar hour of the logs and its requests per minute.
fn busiest_hour(t: &Traffic) -> Option<(i64, Vec<(i64, u64)>)> {
    let mut per_minute: BTreeMap<i64, u64> = BTreeMap::new();
    for (&(sec, _, _), c) in &t.seconds {
        *per_minute.entry(sec.div_euclid(60)).or_default() +=
            c.iter().map(|&n| u64::from(n)).sum::<u64>();
    }
    let mut per_hour: BTreeMap<i64, u64> = BTreeMap::new();
    for (m, n) in &per_minute {
        *per_hour.entry(m.div_euclid(60)).or_default() += n;
    }
    let (&hour, _) = per_hour.iter().max_by_key(|(h, n)| (**n, -**h))?;
    let minutes = per_minute
        .range(hour * 60..(hour + 1) * 60)
        .map(|(m, n)| (*m, *n))
        .collect();
    Some((hour, minutes))
}

/// Per bucket: requests per operation, and who wrote and who read.
struct BucketTraffic {
    ops: BTreeMap<u32, [u64; Op::COUNT]>,
    writers: BTreeMap<u32, BTreeSet<u32>>,
    readers: BTreeMap<u32, BTreeSet<u32>>,
}

impl BucketTraffic {
    fn of(t: &Traffic) -> BucketTraffic {
        let mut b = BucketTraffic {
            ops: BTreeMap::new(),
            writers: BTreeMap::new(),
            readers: BTreeMap::new(),
        };
        for (&(_, bucket, q), c) in &t.seconds {
            let e = b.ops.entry(bucket).or_insert([0; Op::COUNT]);
            for (x, y) in e.iter_mut().zip(c) {
                *x += u64::from(*y);
            }
            if Op::ALL.iter().any(|op| op.writes() && c[op.index()] > 0) {
                b.writers.entry(bucket).or_default().insert(q);
            }
            if [Op::Get, Op::Head].iter().any(|op| c[op.index()] > 0) {
                b.readers.entry(bucket).or_default().insert(q);
            }
        }
        b
    }
}

/// One `[[streams]]` entry per bucket with object requests, in bucket-name order (as a
/// trace numbers them, so the same logs always give the same scenario); returns the
/// role of every principal that is a session of one.
fn streams(
    s: &mut String,
    t: &Traffic,
    home: Option<&str>,
    buckets: &BucketTraffic,
) -> BTreeMap<String, String> {
    let mut roles: BTreeMap<String, String> = BTreeMap::new();
    let total: u64 = buckets.ops.values().flat_map(|c| c.iter()).sum();
    let mut nth = 0;
    for b in &object_buckets(t) {
        let c = &buckets.ops[b];
        let bucket = &t.buckets.names[*b as usize];
        let mut names = |set: Option<&BTreeSet<u32>>| -> Vec<String> {
            let mut v: Vec<String> = set
                .into_iter()
                .flatten()
                .filter(|q| !t.anonymous(**q))
                .map(|q| {
                    let (p, role) = principal(&t.requesters.names[*q as usize], home);
                    if let Some(r) = role.filter(|r| *r != p) {
                        roles.insert(p.clone(), r);
                    }
                    p
                })
                .collect();
            v.dedup();
            v
        };
        let w = names(buckets.writers.get(b));
        let mut r = names(buckets.readers.get(b));
        let w = if w.is_empty() { r.clone() } else { w };
        if r.is_empty() {
            r = w.clone();
        }
        let objects: u64 = OBJECT_OPS.iter().map(|op| c[op.index()]).sum();
        if objects == 0 {
            continue;
        }
        // Weights in parts per 100,000 of the bucket's object requests (u32 in scenarios).
        let n = |op: Op| (c[op.index()] as f64 / objects as f64 * 100_000.0).round() as u64;
        let (put, get, head, copy, delete) = (
            n(Op::Put) + n(Op::MpuCreate),
            n(Op::Get),
            n(Op::Head),
            n(Op::Copy),
            n(Op::Delete),
        );
        let sizes = t
            .sizes
            .get(&(*b, Op::Put))
            .or_else(|| t.sizes.get(&(*b, Op::Get)));
        let (size, why) = fit_sizes(sizes);
        // Bucket names stay out of stream names (and the simulator's bucket names,
        // which must stay under 63 characters); the comment says which is which.
        nth += 1;
        let stream = format!("bucket-{nth}");
        let list = |v: &[String]| {
            v.iter()
                .map(|x| format!("\"{x}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            s,
            "# Bucket {bucket}: {objects} object requests ({:.1}% of all).\n[[streams]]\nname = \"{stream}\"\nbucket = \"{stream}\"\nshare = {objects}\nkeys = {}\n# sizes: {why}\nsize = {size}\nmix = {{ put = {put}, get = {get}, head = {head}, copy = {copy}, delete = {delete} }}\nprefill = {}\nverify = false",
            objects as f64 / total.max(1) as f64 * 100.0,
            (c[Op::Put.index()] / 4).clamp(100, 5_000),
            get + head + copy > 0,
        );
        if !w.is_empty() {
            let _ = writeln!(s, "writers = [{}]\nreaders = [{}]", list(&w), list(&r));
        }
        s.push('\n');
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hist(values: impl IntoIterator<Item = u64>) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 1 << 43, 2).unwrap();
        for v in values {
            h.record(v).unwrap();
        }
        h
    }

    #[test]
    fn sizes_fit_fixed_lognormal_or_empirical() {
        let (s, _) = fit_sizes(Some(&hist(std::iter::repeat_n(4096, 100))));
        assert_eq!(s, "4096");
        // Two sizes far apart: neither fixed nor lognormal.
        let (s, why) = fit_sizes(Some(&hist(
            (0..1000).map(|i| if i % 2 == 0 { 1000 } else { 1_000_000 }),
        )));
        assert!(s.contains("weighted"), "{s} ({why})");
        assert_eq!(fit_sizes(None).0, "\"64KiB\"");
    }

    #[test]
    fn principals_are_named_after_roles() {
        let home = Some("111122223333");
        assert_eq!(
            principal("arn:aws:iam::111122223333:role/etl", home),
            ("etl".into(), Some("etl".into()))
        );
        assert_eq!(
            principal("arn:aws:iam::444455556666:role/partner", home).0,
            "partner-444455556666"
        );
        assert_eq!(
            principal("arn:aws:sts::111122223333:assumed-role/etl/job-1", home),
            ("etl.job-1".into(), Some("etl".into()))
        );
    }
}
