//! Seeded latency sampling and fault decisions.

use crate::config::{Faults, LatencyModel};
use parking_lot::Mutex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, LogNormal};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// z-score of the 99th percentile of a standard normal distribution.
const Z99: f64 = 2.326_347_874;

/// What to do with one S3 request before it reaches the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum S3Fault {
    /// Serve it normally.
    None,
    /// Answer 500 InternalError.
    InternalError,
    /// Drop the connection.
    Reset,
}

/// Samples latencies and faults from one seeded generator.
pub struct FaultModel {
    rng: Mutex<ChaCha8Rng>,
    s3: Sampler,
    kms: Sampler,
    faults: Faults,
    s3_requests: AtomicU64,
}

struct Sampler {
    model: LatencyModel,
    dist: Option<LogNormal<f64>>,
}

impl Sampler {
    fn new(model: LatencyModel) -> Self {
        let median = model.median.0.as_secs_f64();
        let p99 = model.p99.0.as_secs_f64().max(median);
        let dist = if median > 0.0 && p99 > median {
            LogNormal::new(median.ln(), (p99.ln() - median.ln()) / Z99).ok()
        } else {
            None
        };
        Sampler { model, dist }
    }

    fn sample(&self, rng: &mut ChaCha8Rng, body_bytes: u64) -> Duration {
        let base = match &self.dist {
            Some(d) => Duration::from_secs_f64(d.sample(rng)),
            None => self.model.median.0,
        };
        let per_mib = self.model.per_mib.0.as_secs_f64() * body_bytes as f64 / (1u64 << 20) as f64;
        base + Duration::from_secs_f64(per_mib)
    }
}

impl FaultModel {
    /// Builds the model from the configuration and seed.
    pub fn new(seed: u64, s3: LatencyModel, kms: LatencyModel, faults: Faults) -> Self {
        FaultModel {
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
            s3: Sampler::new(s3),
            kms: Sampler::new(kms),
            faults,
            s3_requests: AtomicU64::new(0),
        }
    }

    /// Latency to add to one S3 request carrying `body_bytes` (request plus response body),
    /// including any stall.
    pub fn s3_delay(&self, body_bytes: u64, request_no: u64) -> Duration {
        let stall_now = self.faults.stall_at_request == Some(request_no);
        if self.s3.model.is_off() && !stall_now && self.faults.stall_probability == 0.0 {
            return Duration::ZERO;
        }
        let mut rng = self.rng.lock();
        let mut d = self.s3.sample(&mut rng, body_bytes);
        if stall_now
            || (self.faults.stall_probability > 0.0
                && rng.random::<f64>() < self.faults.stall_probability)
        {
            d += self.faults.stall.0;
        }
        d
    }

    /// Latency of one KMS call.
    pub fn kms_delay(&self) -> Duration {
        if self.kms.model.is_off() {
            return Duration::ZERO;
        }
        self.kms.sample(&mut self.rng.lock(), 0)
    }

    /// Counts an S3 request and decides its fault; returns the request's 1-based number.
    pub fn s3_fault(&self) -> (u64, S3Fault) {
        let n = self.s3_requests.fetch_add(1, Ordering::Relaxed) + 1;
        let f = &self.faults;
        if f.s3_5xx == 0.0 && f.connection_reset == 0.0 {
            return (n, S3Fault::None);
        }
        let mut rng = self.rng.lock();
        let x: f64 = rng.random();
        let fault = if x < f.connection_reset {
            S3Fault::Reset
        } else if x < f.connection_reset + f.s3_5xx {
            S3Fault::InternalError
        } else {
            S3Fault::None
        };
        (n, fault)
    }

    /// True when a direct KMS call should fail with an internal error.
    pub fn kms_internal_error(&self) -> bool {
        self.faults.kms_5xx > 0.0 && self.rng.lock().random::<f64>() < self.faults.kms_5xx
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::HumanDuration;

    fn model(median_ms: u64, p99_ms: u64) -> LatencyModel {
        LatencyModel {
            median: HumanDuration(Duration::from_millis(median_ms)),
            p99: HumanDuration(Duration::from_millis(p99_ms)),
            per_mib: HumanDuration::default(),
        }
    }

    #[test]
    fn lognormal_hits_configured_percentiles() {
        let m = FaultModel::new(7, model(8, 40), LatencyModel::default(), Faults::default());
        let mut v: Vec<f64> = (0..200_000)
            .map(|_| m.s3_delay(0, 0).as_secs_f64() * 1e3)
            .collect();
        v.sort_by(f64::total_cmp);
        let p50 = v[v.len() / 2];
        let p99 = v[v.len() * 99 / 100];
        assert!((p50 - 8.0).abs() < 0.2, "p50 {p50}");
        assert!((p99 - 40.0).abs() < 1.5, "p99 {p99}");
    }

    #[test]
    fn fixed_latency_and_per_mib() {
        let mut lm = LatencyModel::fixed(Duration::from_millis(20));
        lm.per_mib = HumanDuration(Duration::from_millis(10));
        let m = FaultModel::new(1, lm, LatencyModel::default(), Faults::default());
        assert_eq!(m.s3_delay(0, 0), Duration::from_millis(20));
        assert_eq!(m.s3_delay(2 << 20, 0), Duration::from_millis(40));
        assert_eq!(m.kms_delay(), Duration::ZERO);
    }

    #[test]
    fn seeded_faults_are_reproducible_and_near_the_rate() {
        let faults = Faults {
            s3_5xx: 0.1,
            ..Faults::default()
        };
        let run = || {
            let m = FaultModel::new(
                3,
                LatencyModel::default(),
                LatencyModel::default(),
                faults.clone(),
            );
            (0..10_000).map(|_| m.s3_fault().1).collect::<Vec<_>>()
        };
        let a = run();
        assert_eq!(a, run());
        let errors = a.iter().filter(|f| **f == S3Fault::InternalError).count();
        assert!((800..1200).contains(&errors), "{errors}");
    }

    #[test]
    fn stall_at_request_hits_only_that_request() {
        let faults = Faults {
            stall_at_request: Some(3),
            ..Faults::default()
        };
        let m = FaultModel::new(1, LatencyModel::default(), LatencyModel::default(), faults);
        assert_eq!(m.s3_delay(0, 2), Duration::ZERO);
        assert_eq!(m.s3_delay(0, 3), Duration::from_secs(1));
    }
}
