//! `--max-cost` as a hard cap: every operation is priced before it is sent (S3
//! requests by tier, the KMS calls S3 makes for it without Bucket Keys, which bound
//! the calls with them, DSSE-KMS's per-GB charge) and added to a running total; the
//! operation that would take the total past the cap is not sent, and the run stops.
//! The key's charge for the run's hours is reserved before the first request.

use super::ops::Pick;
use crate::kms::{self, KmsRules, S3Work};
use crate::prices::RegionPrices;
use crate::scenario::{Mode, Op, Stream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// Prices are kept in nano-dollars, so the running total is one atomic integer.
const NANO: f64 = 1e9;

/// The running total of priced requests against the cap.
#[derive(Debug)]
pub struct CostCap {
    limit: u64,
    spent: AtomicU64,
    tripped: AtomicBool,
    prices: RegionPrices,
    rules: KmsRules,
}

impl CostCap {
    /// A cap of `limit_usd`, priced with `prices`.
    pub fn new(limit_usd: f64, prices: RegionPrices) -> CostCap {
        CostCap {
            limit: (limit_usd.max(0.0) * NANO) as u64,
            spent: AtomicU64::new(0),
            tripped: AtomicBool::new(false),
            prices,
            rules: KmsRules::default(),
        }
    }

    /// What one operation is billed at most, USD: its S3 requests and the KMS calls
    /// S3 makes for them (a Bucket Key mode priced as if every call reached KMS).
    pub fn price(&self, mode: Mode, stream: &Stream, p: &Pick) -> f64 {
        let kms_calls = |n: f64| self.prices.kms_requests_usd(n);
        match p.op {
            Op::GenerateDataKey | Op::Decrypt | Op::Encrypt => return kms_calls(1.0),
            _ => {}
        }
        let mut w = S3Work::default();
        match p.op {
            Op::Put => match stream.multipart {
                Some(m) if p.size >= m.threshold.0 => {
                    w.multipart_uploads = 1.0;
                    w.parts = p.size.div_ceil(m.part.0.max(1)).max(1) as f64;
                }
                _ => w.puts = 1.0,
            },
            Op::Get => w.gets = 1.0,
            Op::Head => w.heads = 1.0,
            Op::Copy => w.copies = 1.0,
            Op::Delete => w.deletes = 1.0,
            Op::GenerateDataKey | Op::Decrypt | Op::Encrypt => {}
        }
        let unbucketed = if mode.bucket_key() {
            Mode::SseKms
        } else {
            mode
        };
        let calls = kms::per_request(unbucketed, &self.rules, &w).calls;
        let dsse = match (mode, p.op) {
            (Mode::DsseKms, Op::Put) => self.prices.dsse_usd(p.size as f64).unwrap_or(0.0),
            _ => 0.0,
        };
        self.prices.s3_requests_usd(w.requests()) + kms_calls(calls) + dsse
    }

    /// Adds an operation's price to the total; false (and the cap is tripped) when
    /// that would pass the cap, in which case nothing is added.
    pub fn reserve(&self, usd: f64) -> bool {
        let n = (usd * NANO).ceil() as u64;
        let ok = self
            .spent
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |s| {
                s.checked_add(n).filter(|t| *t <= self.limit)
            })
            .is_ok();
        if !ok {
            self.tripped.store(true, Ordering::Release);
        }
        ok
    }

    /// USD priced so far.
    pub fn spent_usd(&self) -> f64 {
        self.spent.load(Ordering::Acquire) as f64 / NANO
    }

    /// The cap, USD.
    pub fn limit_usd(&self) -> f64 {
        self.limit as f64 / NANO
    }

    /// Whether a request was held back by the cap.
    pub fn tripped(&self) -> bool {
        self.tripped.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> RegionPrices {
        crate::prices::PriceTable::builtin()
            .expect("built-in prices")
            .region("us-east-1")
            .expect("us-east-1")
            .clone()
    }

    fn pick(op: Op, size: u64) -> Pick {
        Pick {
            op,
            stream: 0,
            key: 0,
            aux: 0,
            size,
            version: 1,
            principal: 0,
        }
    }

    #[test]
    fn prices_requests_and_kms_calls_and_stops_at_the_cap() {
        let p = prices();
        let cap = CostCap::new(0.0001, p.clone());
        let ls = crate::scenario::parse(
            std::path::Path::new("c.toml"),
            "version = 1\nname = \"c\"\nmodes = [\"sse-s3\"]\n[workload]\n[[phases]]\nname = \"m\"\nduration = \"1s\"\nconcurrency = 1\n",
        )
        .expect("valid scenario");
        let st = ls.scenario.streams().remove(0);
        let put_s3 = cap.price(Mode::SseS3, &st, &pick(Op::Put, 1024));
        let put_kms = cap.price(Mode::SseKms, &st, &pick(Op::Put, 1024));
        let put_bk = cap.price(Mode::SseKmsBucketKey, &st, &pick(Op::Put, 1024));
        assert!((put_s3 - p.s3_tier1_per_1000 / 1000.0).abs() < 1e-12);
        assert!((put_kms - put_s3 - p.kms_per_10000 / 10000.0).abs() < 1e-12);
        assert_eq!(
            put_bk, put_kms,
            "Bucket Key modes are priced at their bound"
        );
        // $0.0001 holds 20 SSE-S3 PUTs at $0.005 per 1000, not 21.
        let n = (0..100).take_while(|_| cap.reserve(put_s3)).count();
        assert_eq!(n, 20);
        assert!(cap.tripped());
        assert!(cap.spent_usd() <= cap.limit_usd());
    }
}
