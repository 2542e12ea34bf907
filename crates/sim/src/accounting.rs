//! Exact counts of what the simulator served: KMS calls per API, key, caller and
//! second, throttles, and S3 requests per operation. Shared by the KMS and S3
//! servers; read in-process as a [`SimStats`] snapshot or over the admin endpoint.

use crate::clock::Clock;
use crate::stats::{KmsCallCount, KmsStats, S3Stats, SecondCount, ServedLatency, SimStats, Via};
use parking_lot::Mutex;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// Who made a KMS call.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Caller {
    /// True when S3 called KMS on the requester's behalf.
    pub via_s3: bool,
    /// Access key id of the principal.
    pub requester: String,
    /// Bucket S3 called KMS for (from the `aws:s3:arn` context); empty for direct calls.
    pub bucket: String,
}

impl Caller {
    /// A direct KMS caller.
    pub fn direct(requester: &str) -> Self {
        Caller {
            via_s3: false,
            requester: requester.to_owned(),
            bucket: String::new(),
        }
    }

    /// S3 calling on a requester's behalf for a bucket.
    pub fn via_s3(requester: &str, bucket: &str) -> Self {
        Caller {
            via_s3: true,
            requester: requester.to_owned(),
            bucket: bucket.to_owned(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct CallKey {
    api: &'static str,
    key_arn: String,
    caller: Caller,
}

#[derive(Default)]
struct Inner {
    kms: HashMap<CallKey, u64>,
    kms_throttled: HashMap<CallKey, u64>,
    per_second: BTreeMap<u64, (u64, u64)>,
    /// Calls S3 made per (second, bucket): what attributes a second's calls to a bucket.
    per_second_bucket: BTreeMap<(u64, String), u64>,
    s3_ops: BTreeMap<String, u64>,
    s3_errors: BTreeMap<String, u64>,
    s3_requests: u64,
    served: Option<hdrhistogram::Histogram<u64>>,
    kms_served: u64,
    kms_throttled_total: u64,
}

/// The counters.
pub struct Accounting {
    inner: Mutex<Inner>,
    clock: Clock,
}

impl Accounting {
    /// Empty counters on the given clock.
    pub fn new(clock: Clock) -> Self {
        Accounting {
            inner: Mutex::new(Inner::default()),
            clock,
        }
    }

    /// Records a KMS call; `crypto` marks symmetric cryptographic operations (quota-counted).
    pub fn kms_call(
        &self,
        api: &'static str,
        key_arn: &str,
        caller: &Caller,
        crypto: bool,
        throttled: bool,
    ) {
        let key = CallKey {
            api,
            key_arn: key_arn.to_owned(),
            caller: caller.clone(),
        };
        let sec = self.clock.now().as_secs();
        let mut g = self.inner.lock();
        if throttled {
            *g.kms_throttled.entry(key).or_default() += 1;
            g.kms_throttled_total += 1;
        } else {
            *g.kms.entry(key).or_default() += 1;
            g.kms_served += 1;
        }
        if crypto {
            let e = g.per_second.entry(sec).or_default();
            if throttled {
                e.1 += 1;
            } else {
                e.0 += 1;
                if caller.via_s3 && !caller.bucket.is_empty() {
                    *g.per_second_bucket
                        .entry((sec, caller.bucket.clone()))
                        .or_default() += 1;
                }
            }
        }
    }

    /// Cumulative (served, throttled) KMS calls, without building a snapshot.
    pub fn kms_totals(&self) -> (u64, u64) {
        let g = self.inner.lock();
        (g.kms_served, g.kms_throttled_total)
    }

    /// Records an S3 HTTP request (any outcome).
    pub fn s3_request(&self) {
        self.inner.lock().s3_requests += 1;
    }

    /// Records an S3 operation reaching its handler.
    pub fn s3_op(&self, op: &str) {
        let mut g = self.inner.lock();
        if let Some(n) = g.s3_ops.get_mut(op) {
            *n += 1;
        } else {
            g.s3_ops.insert(op.to_owned(), 1);
        }
    }

    /// Records how long the simulator took to serve an S3 request.
    pub fn s3_served(&self, d: std::time::Duration) {
        let mut g = self.inner.lock();
        let h = g.served.get_or_insert_with(|| {
            hdrhistogram::Histogram::new(3).expect("3 significant digits is valid")
        });
        let _ = h.record(d.as_micros().max(1) as u64);
    }

    /// Records an S3 error response.
    pub fn s3_error(&self, code: &str) {
        *self
            .inner
            .lock()
            .s3_errors
            .entry(code.to_owned())
            .or_default() += 1;
    }

    /// Zeroes every counter.
    pub fn reset(&self) {
        *self.inner.lock() = Inner::default();
    }

    /// A consistent copy of the counters.
    pub fn snapshot(&self) -> SimStats {
        let g = self.inner.lock();
        type Row = (String, String, Via, String, String);
        let mut rows: BTreeMap<Row, (u64, u64)> = BTreeMap::new();
        let row_key = |k: &CallKey| {
            (
                k.api.to_owned(),
                k.key_arn.clone(),
                if k.caller.via_s3 {
                    Via::S3
                } else {
                    Via::Direct
                },
                k.caller.requester.clone(),
                k.caller.bucket.clone(),
            )
        };
        for (k, n) in &g.kms {
            rows.entry(row_key(k)).or_default().0 += n;
        }
        for (k, n) in &g.kms_throttled {
            rows.entry(row_key(k)).or_default().1 += n;
        }
        let mut kms = KmsStats::default();
        for ((api, key_arn, via, requester, bucket), (count, throttled)) in rows {
            kms.total += count;
            kms.throttled += throttled;
            if count > 0 {
                *kms.by_api.entry(api.clone()).or_default() += count;
            }
            if throttled > 0 {
                *kms.throttled_by_api.entry(api.clone()).or_default() += throttled;
            }
            kms.calls.push(KmsCallCount {
                api,
                key_arn,
                via,
                requester,
                bucket,
                count,
                throttled,
            });
        }
        let mut by_bucket: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
        for ((sec, bucket), n) in &g.per_second_bucket {
            by_bucket
                .entry(*sec)
                .or_default()
                .insert(bucket.clone(), *n);
        }
        kms.per_second = g
            .per_second
            .iter()
            .map(|(s, (c, t))| SecondCount {
                second: *s,
                calls: *c,
                throttled: *t,
                by_bucket: by_bucket.remove(s).unwrap_or_default(),
            })
            .collect();
        SimStats {
            kms,
            s3: S3Stats {
                requests: g.s3_requests,
                by_operation: g.s3_ops.clone(),
                errors_by_code: g.s3_errors.clone(),
                served_latency: g.served.as_ref().map_or_else(ServedLatency::default, |h| {
                    ServedLatency {
                        count: h.len(),
                        p50_ms: h.value_at_quantile(0.5) as f64 / 1000.0,
                        p99_ms: h.value_at_quantile(0.99) as f64 / 1000.0,
                        max_ms: h.max() as f64 / 1000.0,
                    }
                }),
            },
        }
    }
}

/// A fixed one-second window shared by every symmetric cryptographic call.
pub struct Quota {
    limit: std::sync::atomic::AtomicU64,
    window: Mutex<(u64, u64)>,
}

impl Quota {
    /// A quota of `limit` calls per second (0 = unlimited).
    pub fn new(limit: u64) -> Self {
        Quota {
            limit: limit.into(),
            window: Mutex::new((u64::MAX, 0)),
        }
    }

    /// Changes the limit at run time.
    pub fn set_limit(&self, limit: u64) {
        self.limit
            .store(limit, std::sync::atomic::Ordering::Relaxed);
    }

    /// The current limit (0 = unlimited).
    pub fn limit(&self) -> u64 {
        self.limit.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Takes one call from the window of `second`; false when over the quota.
    pub fn try_acquire(&self, second: u64) -> bool {
        let limit = self.limit();
        let mut w = self.window.lock();
        if w.0 != second {
            *w = (second, 0);
        }
        if limit != 0 && w.1 >= limit {
            return false;
        }
        w.1 += 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quota_resets_each_second() {
        let q = Quota::new(2);
        assert!(q.try_acquire(0));
        assert!(q.try_acquire(0));
        assert!(!q.try_acquire(0));
        assert!(q.try_acquire(1));
        q.set_limit(0);
        assert!((0..100).all(|_| q.try_acquire(1)));
    }

    #[test]
    fn snapshot_groups_calls() {
        let clock = Clock::manual();
        let a = Accounting::new(clock.clone());
        let c = Caller::via_s3("R1", "b");
        a.kms_call("Decrypt", "arn:k", &c, true, false);
        a.kms_call("Decrypt", "arn:k", &c, true, true);
        clock.advance(std::time::Duration::from_secs(1));
        a.kms_call("Decrypt", "arn:k", &c, true, false);
        let s = a.snapshot();
        assert_eq!(s.kms.total, 2);
        assert_eq!(s.kms.throttled, 1);
        assert_eq!(s.kms.api("Decrypt"), 2);
        assert_eq!(s.kms.per_second.len(), 2);
        assert_eq!(
            s.kms.per_second[0],
            SecondCount {
                second: 0,
                calls: 1,
                throttled: 1,
                by_bucket: [("b".to_owned(), 1)].into(),
            },
            "a served call S3 made is counted for its bucket"
        );
        assert_eq!(a.kms_totals(), (s.kms.total, s.kms.throttled));
        assert!(s.to_prometheus().contains("api=\"Decrypt\""));
        a.reset();
        assert_eq!(a.snapshot(), SimStats::default());
        assert_eq!(a.kms_totals(), (0, 0));
    }
}
