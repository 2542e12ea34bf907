//! The Bucket Key model (inferred as to the lifetime): KMS calls follow writers,
//! readers and lifetimes on the run's timeline, not operations; and the steady
//! state for projections.

use super::{DECRYPT, GDK, KmsRules, Prediction, RuleUse, Status};
use std::time::Duration;

/// A span of time (seconds from the run's start) in which a principal set was active.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Span {
    /// Start.
    pub start: f64,
    /// End.
    pub end: f64,
    /// Whether KMS calls in it are counted (a measured step).
    pub recorded: bool,
    /// Operations in it that need the Bucket Key (reads), when known; unknown means
    /// plenty (every Bucket Key is met).
    pub ops: Option<f64>,
}

/// What the Bucket Key model needs to know about one bucket.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BucketActivity {
    /// Principals that write (their own Bucket Key each).
    pub writers: u32,
    /// Principals that read KMS-protected data (GET, COPY sources, multipart parts).
    pub readers: u32,
    /// When writes happened, in time order.
    pub writes: Vec<Span>,
    /// When reads happened, in time order.
    pub reads: Vec<Span>,
}

/// Times at which a cache entry used throughout `spans` is (re)fetched: at the first
/// use at or after `from`, then each time it has expired and is used again.
fn fetch_times(spans: &[Span], lifetime: f64, from: f64) -> Vec<(f64, bool)> {
    let mut out = Vec::new();
    let mut next = from;
    for s in spans {
        if s.end <= next {
            continue;
        }
        let mut t = s.start.max(next);
        while t < s.end {
            out.push((t, s.recorded));
            t += lifetime;
            // Bounded: a lifetime under a millisecond is not a useful model.
            if lifetime < 1e-3 {
                break;
            }
        }
        next = t;
    }
    out
}

/// Reads per reader in `[t0, t1)`, spread evenly over each span; None if unknown.
fn reads_in(spans: &[Span], t0: f64, t1: f64, readers: u32) -> Option<f64> {
    let mut n = 0.0;
    for s in spans {
        let overlap = s.end.min(t1) - s.start.max(t0);
        if overlap <= 0.0 {
            continue;
        }
        let len = (s.end - s.start).max(1e-9);
        n += s.ops? * overlap / len;
    }
    Some(n / readers.max(1) as f64)
}

/// KMS calls of SSE-KMS with Bucket Keys on one bucket (docs/aws-behaviour.md §2, inferred as
/// to the lifetime): each writer fetches a Bucket Key (GenerateDataKey) when it first
/// writes and again after each lifetime it keeps writing; each reader decrypts, once
/// per lifetime, each Bucket Key its reads meet. With K Bucket Keys protecting the
/// data and n reads in a lifetime, a reader meets K·(1 − (1 − 1/K)ⁿ) of them
/// (expected value, objects spread evenly over the keys). Only fetches inside
/// recorded spans count. Every Bucket Key is assumed to stay readable (an upper
/// bound when objects are overwritten).
pub fn bucket_key(rules: &KmsRules, b: &BucketActivity) -> Prediction {
    let l = rules.bucket_key_lifetime.as_secs_f64();
    let generations = fetch_times(&b.writes, l, f64::NEG_INFINITY);
    let n_gen = generations.iter().filter(|g| g.1).count() as f64;
    let gdk = n_gen * b.writers as f64;
    let mut met_keys = 0.0;
    for (t, recorded) in fetch_times(&b.reads, l, f64::NEG_INFINITY) {
        if !recorded {
            continue;
        }
        let keys = b.writers as f64 * generations.iter().filter(|g| g.0 < t + l).count() as f64;
        if keys < 1.0 {
            continue;
        }
        met_keys += match reads_in(&b.reads, t, t + l, b.readers) {
            Some(n) => keys * (1.0 - (1.0 - 1.0 / keys).powf(n)),
            None => keys,
        };
    }
    let decrypt = met_keys * b.readers as f64;
    let mut p = Prediction::default();
    let src = "S3 UG bucket-key: fetched at least once per requester (a lower bound, docs/aws-behaviour.md §2); lifetime not documented (inferred)";
    p.add(RuleUse {
        s3_operation: "Bucket Key fetch (writers × lifetimes)".into(),
        kms_api: GDK.into(),
        per_request: b.writers as f64,
        requests: n_gen,
        calls: gdk,
        status: Status::Inferred,
        source: src.into(),
        lower_bound: true,
    });
    p.add(RuleUse {
        s3_operation: "Bucket Key decrypt (readers × Bucket Keys met × lifetimes)".into(),
        kms_api: DECRYPT.into(),
        per_request: b.readers as f64,
        requests: met_keys,
        calls: decrypt,
        status: Status::Inferred,
        source: src.into(),
        lower_bound: true,
    });
    p.status = Some(Status::Inferred);
    p
}

/// Steady-state KMS calls per second of Bucket Keys (for `cost`): each writer
/// fetches one Bucket Key per lifetime; each reader decrypts, per lifetime, the
/// Bucket Keys its reads meet: at most one per read, at most the number of keys
/// that protect the data it reads (writers × lifetimes the data took to write).
pub fn bucket_key_rates(
    rules: &KmsRules,
    writers: u32,
    readers: u32,
    reads_per_s: f64,
    data_age: Duration,
) -> (f64, f64) {
    let l = rules.bucket_key_lifetime.as_secs_f64().max(1e-3);
    let gdk = if writers > 0 { writers as f64 / l } else { 0.0 };
    let keys_in_data = writers.max(1) as f64 * (data_age.as_secs_f64() / l).ceil().max(1.0);
    let per_reader_reads = if readers > 0 {
        reads_per_s * l / readers as f64
    } else {
        0.0
    };
    let decrypt = readers as f64 * per_reader_reads.min(keys_in_data) / l;
    (gdk, decrypt)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(start: f64, end: f64, recorded: bool) -> Span {
        Span {
            start,
            end,
            recorded,
            ops: None,
        }
    }

    #[test]
    fn bucket_keys_scale_with_requesters_and_lifetimes_not_operations() {
        let rules = KmsRules {
            bucket_key_lifetime: Duration::from_secs(60),
            ..Default::default()
        };
        // Prefill (not recorded) then a 30 s measured step: the writers' keys are warm,
        // the readers meet each writer's key once.
        let b = BucketActivity {
            writers: 2,
            readers: 3,
            writes: vec![span(0.0, 5.0, false), span(5.0, 35.0, true)],
            reads: vec![span(5.0, 35.0, true)],
        };
        let p = bucket_key(&rules, &b);
        assert_eq!(p.calls_by_api.get(GDK).copied().unwrap_or(0.0), 0.0);
        assert_eq!(p.calls_by_api[DECRYPT], 6.0);
        // Ten minutes of measured traffic: 10 lifetimes.
        let b = BucketActivity {
            writers: 2,
            readers: 3,
            writes: vec![span(0.0, 600.0, true)],
            reads: vec![span(0.0, 600.0, true)],
        };
        let p = bucket_key(&rules, &b);
        assert_eq!(p.calls_by_api[GDK], 20.0);
        // Generation g (0..10) is read in lifetimes g..10: 10+9+...+1 = 55 per (writer, reader).
        assert_eq!(p.calls_by_api[DECRYPT], 55.0 * 6.0);
        assert_eq!(p.status, Some(Status::Inferred));
    }

    #[test]
    fn sparse_readers_meet_fewer_bucket_keys() {
        let rules = KmsRules::default();
        // 16 writers' keys, 16 readers with 8 reads each in the window.
        let b = BucketActivity {
            writers: 16,
            readers: 16,
            writes: vec![span(0.0, 1.0, false)],
            reads: vec![Span {
                ops: Some(128.0),
                ..span(1.0, 2.0, true)
            }],
        };
        let met = 16.0 * (1.0 - (15.0f64 / 16.0).powi(8));
        let p = bucket_key(&rules, &b);
        assert!((p.calls_by_api[DECRYPT] - 16.0 * met).abs() < 1e-9);
        assert!(p.calls_by_api[DECRYPT] < 16.0 * 16.0 * 0.5);
    }

    #[test]
    fn a_bucket_key_refetch_waits_for_the_next_use() {
        // Used 0–10 s, idle, used again at 500 s: fetched at 0 and 500, not at 300.
        let t = fetch_times(
            &[span(0.0, 10.0, true), span(500.0, 510.0, true)],
            300.0,
            0.0,
        );
        assert_eq!(t, vec![(0.0, true), (500.0, true)]);
    }

    #[test]
    fn steady_bucket_key_rates() {
        let rules = KmsRules::default();
        let (g, d) = bucket_key_rates(&rules, 1, 1, 1000.0, Duration::from_secs(300));
        assert!((g - 1.0 / 300.0).abs() < 1e-12);
        assert!((d - 1.0 / 300.0).abs() < 1e-12);
        // Data written over an hour by 4 writers: each reader meets up to 48 keys per lifetime.
        let (_, d) = bucket_key_rates(&rules, 4, 2, 1000.0, Duration::from_secs(3600));
        assert!((d - 2.0 * 48.0 / 300.0).abs() < 1e-9);
        // Sparse reads cannot meet more keys than they read.
        let (_, d) = bucket_key_rates(&rules, 4, 2, 0.01, Duration::from_secs(3600));
        assert!((d - 0.01).abs() < 1e-12);
    }
}
