//! The traffic model: requests counted per second, bucket, requester and operation,
//! object sizes per bucket and operation, and the KMS calls CloudTrail recorded. Memory
//! grows with distinct (second, bucket, requester) cells, never with the number of lines.

use crate::logs::cloudtrail::KmsCall;
use crate::logs::record::{Op, Request, S3_INTERNAL, identity};
use hdrhistogram::Histogram;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Names to dense ids.
#[derive(Clone, Debug, Default)]
pub struct Names {
    ids: HashMap<String, u32>,
    /// Names by id.
    pub names: Vec<String>,
}

impl Names {
    /// The id of `name`, added if new.
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.ids.get(name) {
            return i;
        }
        let i = self.names.len() as u32;
        self.ids.insert(name.to_owned(), i);
        self.names.push(name.to_owned());
        i
    }
}

/// Counts of one (second, bucket, requester) cell, by operation.
pub type Counts = [u32; Op::COUNT];

/// Measured KMS calls (CloudTrail) of one (bucket, requester, API).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Measured {
    /// Calls served.
    pub calls: u64,
    /// Calls refused by the quota.
    pub throttled: u64,
    /// Calls whose context named the bucket (Bucket Key calls).
    pub bucket_level: u64,
}

/// Everything read from the sources.
#[derive(Debug, Default)]
pub struct Traffic {
    /// Count each assumed-role session apart instead of as its role.
    pub per_session: bool,
    /// Records outside it are counted apart, not as traffic.
    pub window: super::window::Window,
    /// Records outside the window.
    pub outside_window: u64,
    /// Files not read: their names say they were delivered outside the window.
    pub pruned_files: u64,
    /// Bucket names.
    pub buckets: Names,
    /// Requester identities (see [`identity`]).
    pub requesters: Names,
    raw: HashMap<String, u32>,
    last: Option<(String, Option<String>, u32, u32)>,
    /// Successful requests per (second, bucket, requester).
    pub seconds: HashMap<(i64, u32, u32), Counts>,
    /// Failed requests (billed by S3, no KMS work) per bucket and operation.
    pub failed: BTreeMap<(u32, Op), u64>,
    /// Object sizes of successful requests per bucket and operation.
    pub sizes: HashMap<(u32, Op), Histogram<u64>>,
    /// Bytes written by successful PUTs and parts (DSSE-KMS is priced per GB).
    pub bytes_written: f64,
    /// KMS calls for S3 from CloudTrail, per (bucket, requester, API).
    pub kms: BTreeMap<(u32, u32, String), Measured>,
    /// Measured KMS calls per second.
    pub kms_seconds: BTreeMap<i64, u64>,
    /// KMS keys those calls used.
    pub kms_keys: BTreeSet<String>,
    /// First and last second with a request.
    pub span: Option<(i64, i64)>,
    /// Records read (lines or CloudTrail records).
    pub records: u64,
    /// Records that were not understood.
    pub malformed: u64,
    /// The first few malformed records, as `file:line: why`.
    pub first_malformed: Vec<String>,
    /// S3 data events from CloudTrail left out because access logs were given.
    pub duplicate_events: u64,
    /// Records delivered more than once (same request ID, same eventID), left out.
    pub duplicates: u64,
    /// CloudTrail digest files skipped (hashes of log files, no events).
    pub digest_files: u64,
    /// CloudTrail Insights files skipped (under `CloudTrail-Insight/`).
    pub insight_files: u64,
    /// CloudTrail Insights records skipped (`eventCategory: Insight`).
    pub insight_records: u64,
    /// CloudTrail's `recipientAccountId`s (the account that owns the trail), counted.
    pub recipients: BTreeMap<String, u64>,
    /// Records per AWS region, where the record names one.
    pub regions: BTreeMap<String, u64>,
    /// Every successful object request, when a trace is wanted (one row each: the only
    /// part of the model that grows with the logs).
    pub trace: Option<Vec<TraceRow>>,
}

/// One request kept for `--emit-trace`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TraceRow {
    /// Unix second.
    pub unix: i64,
    /// Bucket id.
    pub bucket: u32,
    /// Requester id.
    pub requester: u32,
    /// Operation.
    pub op: Op,
    /// Hash of the key.
    pub key: u64,
    /// Object size (0: unknown).
    pub size: u64,
}

/// The first 64 bits of the key's SHA-256: stable, and no object name in the trace.
pub fn key_hash(key: &str) -> u64 {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(key.as_bytes());
    u64::from_be_bytes([d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7]])
}

/// Malformed records reported by name.
pub const REPORTED_MALFORMED: usize = 5;

impl Traffic {
    /// Empty.
    pub fn new(per_session: bool) -> Self {
        Traffic {
            per_session,
            ..Default::default()
        }
    }

    fn requester_id(&mut self, raw: Option<&str>) -> u32 {
        let key = raw.unwrap_or("");
        if let Some(&i) = self.raw.get(key) {
            return i;
        }
        let i = self.requesters.id(&identity(raw, self.per_session));
        self.raw.insert(key.to_owned(), i);
        i
    }

    /// Counts a record outside the window; true when it is.
    fn outside(&mut self, unix: i64) -> bool {
        if self.window.contains(unix) {
            return false;
        }
        self.records += 1;
        self.outside_window += 1;
        true
    }

    /// Counts a record of `n` requests as read: outside the window, failed, or (the
    /// bucket and requester ids returned) to be counted as traffic.
    fn admit(&mut self, r: &Request<'_>, n: u32) -> Option<(u32, u32)> {
        if self.outside(r.unix) {
            return None;
        }
        self.records += 1;
        let (b, q) = self.ids(r);
        if !r.succeeded() {
            *self.failed.entry((b, r.op)).or_default() += u64::from(n);
            return None;
        }
        self.seconds.entry((r.unix, b, q)).or_default()[r.op.index()] += n;
        Some((b, q))
    }

    /// Counts one request.
    pub fn add(&mut self, r: &Request<'_>) {
        let Some((b, q)) = self.admit(r, 1) else {
            return;
        };
        if let Some(rows) = self.trace.as_mut()
            && matches!(
                r.op,
                Op::Put | Op::Get | Op::Head | Op::Copy | Op::Delete | Op::MpuCreate
            )
        {
            rows.push(TraceRow {
                unix: r.unix,
                bucket: b,
                requester: q,
                op: r.op,
                key: key_hash(r.key.unwrap_or("")),
                size: r.size.unwrap_or(0),
            });
        }
        if let Some(size) = r.size
            && matches!(r.op, Op::Put | Op::Get | Op::MpuPart)
        {
            if r.op != Op::Get {
                self.bytes_written += size as f64;
            }
            let h = self.sizes.entry((b, r.op)).or_insert_with(|| {
                Histogram::new_with_bounds(1, 1 << 43, 2).expect("static histogram bounds")
            });
            let _ = h.record(size.max(1));
        }
    }

    /// Counts `n` requests alike (a row of an aggregate) of `bytes` in all; sizes
    /// of single requests are not known.
    pub fn add_many(&mut self, r: &Request<'_>, n: u32, bytes: f64) {
        if self.admit(r, n).is_some() && matches!(r.op, Op::Put | Op::MpuPart) {
            self.bytes_written += bytes;
        }
    }

    /// Counts a record's region.
    fn region(&mut self, region: Option<&str>) {
        if let Some(r) = region {
            match self.regions.get_mut(r) {
                Some(n) => *n += 1,
                None => {
                    self.regions.insert(r.to_owned(), 1);
                }
            }
        }
    }

    /// Bucket and requester ids of a request, and the time range it widens.
    fn ids(&mut self, r: &Request<'_>) -> (u32, u32) {
        self.region(r.region);
        // S3's own operations are S3's, whoever the record names.
        let requester = if r.op == Op::Internal {
            Some(S3_INTERNAL)
        } else {
            r.requester
        };
        // Consecutive lines usually share bucket and requester: skip the lookups.
        let (b, q) = match &self.last {
            Some((lb, lr, b, q)) if lb == r.bucket && lr.as_deref() == requester => (*b, *q),
            _ => {
                let b = self.buckets.id(r.bucket);
                let q = self.requester_id(requester);
                self.last = Some((r.bucket.to_owned(), requester.map(str::to_owned), b, q));
                (b, q)
            }
        };
        self.span = Some(match self.span {
            Some((a, z)) => (a.min(r.unix), z.max(r.unix)),
            None => (r.unix, r.unix),
        });
        (b, q)
    }

    /// Counts one KMS call CloudTrail recorded.
    pub fn add_kms(&mut self, k: &KmsCall) {
        if self.outside(k.unix) {
            return;
        }
        self.records += 1;
        self.region(k.region.as_deref());
        let b = self.buckets.id(&k.bucket);
        let q = self.requester_id(k.requester.as_deref());
        let m = self.kms.entry((b, q, k.api.clone())).or_default();
        if k.failed {
            // Refused calls are not billed and used no key; throttles are counted.
            m.throttled += u64::from(k.throttled);
            return;
        }
        m.calls += 1;
        if k.bucket_level {
            m.bucket_level += 1;
        }
        *self.kms_seconds.entry(k.unix).or_default() += 1;
        if let Some(key) = &k.key {
            self.kms_keys.insert(key.clone());
        }
    }

    /// Counts a malformed record.
    pub fn malformed(&mut self, at: impl FnOnce() -> String) {
        self.records += 1;
        self.malformed += 1;
        if self.first_malformed.len() < REPORTED_MALFORMED {
            self.first_malformed.push(at());
        }
    }

    /// Adds another reader's traffic (ids are remapped by name).
    pub fn merge(&mut self, o: Traffic) {
        let bmap: Vec<u32> = o.buckets.names.iter().map(|n| self.buckets.id(n)).collect();
        let qmap: Vec<u32> = o
            .requesters
            .names
            .iter()
            .map(|n| self.requesters.id(n))
            .collect();
        for ((t, b, q), c) in o.seconds {
            let e = self
                .seconds
                .entry((t, bmap[b as usize], qmap[q as usize]))
                .or_default();
            for (x, y) in e.iter_mut().zip(c) {
                *x += y;
            }
        }
        for ((b, op), n) in o.failed {
            *self.failed.entry((bmap[b as usize], op)).or_default() += n;
        }
        for ((b, op), h) in o.sizes {
            match self.sizes.entry((bmap[b as usize], op)) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let _ = e.get_mut().add(&h);
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(h);
                }
            }
        }
        self.bytes_written += o.bytes_written;
        for ((b, q, api), m) in o.kms {
            let e = self
                .kms
                .entry((bmap[b as usize], qmap[q as usize], api))
                .or_default();
            e.calls += m.calls;
            e.throttled += m.throttled;
            e.bucket_level += m.bucket_level;
        }
        for (t, n) in o.kms_seconds {
            *self.kms_seconds.entry(t).or_default() += n;
        }
        self.kms_keys.extend(o.kms_keys);
        if let Some((a, z)) = o.span {
            self.span = Some(match self.span {
                Some((x, y)) => (x.min(a), y.max(z)),
                None => (a, z),
            });
        }
        self.records += o.records;
        self.malformed += o.malformed;
        for m in o.first_malformed {
            if self.first_malformed.len() < REPORTED_MALFORMED {
                self.first_malformed.push(m);
            }
        }
        self.duplicate_events += o.duplicate_events;
        self.duplicates += o.duplicates;
        self.outside_window += o.outside_window;
        self.pruned_files += o.pruned_files;
        self.digest_files += o.digest_files;
        self.insight_files += o.insight_files;
        self.insight_records += o.insight_records;
        if let (Some(rows), Some(theirs)) = (self.trace.as_mut(), o.trace) {
            rows.extend(theirs.into_iter().map(|r| TraceRow {
                bucket: bmap[r.bucket as usize],
                requester: qmap[r.requester as usize],
                ..r
            }));
        }
        for (a, n) in o.recipients {
            *self.recipients.entry(a).or_default() += n;
        }
        for (r, n) in o.regions {
            *self.regions.entry(r).or_default() += n;
        }
    }

    /// Whether requester `q` is anonymous.
    pub fn anonymous(&self, q: u32) -> bool {
        self.requesters
            .names
            .get(q as usize)
            .is_some_and(|n| n == "anonymous")
    }

    /// Seconds the logs cover (first to last request, inclusive).
    pub fn span_seconds(&self) -> f64 {
        self.span.map_or(0.0, |(a, z)| (z - a + 1) as f64)
    }
}
