//! Load generation on tokio: closed loop (fixed concurrency) and open loop
//! (arrival schedule; latency measured from each request's intended start, as
//! wrk2 does, so stalls are not hidden by coordinated omission).

pub mod ops;
pub mod payload;

use crate::recorder::Recorder;
use crate::scenario::{Op, Phase, Rate, SizeDist, Stream};
use crate::shard::Shard;
use ops::{OpEnv, Pick};
use rand::distr::Distribution;
use rand::distr::weighted::WeightedIndex;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// Phases given only an operation count still stop after this long.
pub const MAX_PHASE: Duration = Duration::from_secs(3600);

/// Draws object sizes.
pub enum SizeSampler {
    /// Constant.
    Fixed(u64),
    /// Uniform.
    Uniform(u64, u64),
    /// Lognormal, capped.
    Lognormal(rand_distr::LogNormal<f64>, u64),
    /// Weighted.
    Weighted(WeightedIndex<u32>, Vec<u64>),
}

impl SizeSampler {
    /// From a validated distribution.
    pub fn new(d: &SizeDist) -> Self {
        match d {
            SizeDist::Fixed { value } => SizeSampler::Fixed(value.0),
            SizeDist::Uniform { min, max } => SizeSampler::Uniform(min.0, max.0),
            SizeDist::Lognormal { median, p99, max } => {
                let mu = (median.0 as f64).ln();
                let sigma = ((p99.0 as f64).ln() - mu).max(0.0) / 2.326_347_874;
                match rand_distr::LogNormal::new(mu, sigma) {
                    Ok(ln) => SizeSampler::Lognormal(ln, max.0),
                    Err(_) => SizeSampler::Fixed(median.0),
                }
            }
            SizeDist::Weighted { buckets } => {
                match WeightedIndex::new(buckets.iter().map(|b| b.weight)) {
                    Ok(w) => SizeSampler::Weighted(w, buckets.iter().map(|b| b.size.0).collect()),
                    Err(_) => SizeSampler::Fixed(buckets.first().map_or(1, |b| b.size.0)),
                }
            }
        }
    }

    /// One size.
    pub fn sample(&self, rng: &mut ChaCha8Rng) -> u64 {
        match self {
            SizeSampler::Fixed(v) => *v,
            SizeSampler::Uniform(a, b) => rng.random_range(*a..=*b),
            SizeSampler::Lognormal(d, max) => (d.sample(rng).round() as u64).clamp(1, *max),
            SizeSampler::Weighted(w, sizes) => sizes[w.sample(rng)],
        }
    }
}

/// A stream ready to drive.
pub struct StreamPlan {
    /// Stream definition.
    pub stream: Stream,
    /// Normalised share of rate and concurrency.
    pub share: f64,
    /// Principal indexes that write.
    pub writers: Vec<usize>,
    /// Principal indexes that read.
    pub readers: Vec<usize>,
    /// This worker's key range `[lo, hi)` (all keys unless sharded).
    pub keys: (u64, u64),
    sizes: SizeSampler,
    ops: Vec<Op>,
    mix: Option<WeightedIndex<u32>>,
}

impl StreamPlan {
    /// Builds a stream plan; principals are looked up by name. A shard keeps its slice
    /// of the key space and, when the stream has at least N of them, its requesters.
    pub fn new(stream: Stream, share: f64, principals: &[String], shard: Shard) -> Self {
        let idx = |names: Vec<String>| -> Vec<usize> {
            shard
                .principals(&names)
                .iter()
                .filter_map(|n| principals.iter().position(|p| p == n))
                .collect()
        };
        let writers = idx(stream.writer_names());
        let readers = idx(stream.reader_names());
        let all = stream.keys.max(1);
        let keys = match shard.range(all) {
            // Fewer keys than shards: every shard uses them all.
            (lo, hi) if hi > lo => (lo, hi),
            _ => (0, all),
        };
        let pairs: Vec<(Op, u32)> = stream.mix.weights();
        let mix = WeightedIndex::new(pairs.iter().map(|p| p.1)).ok();
        StreamPlan {
            sizes: SizeSampler::new(&stream.size),
            ops: pairs.iter().map(|p| p.0).collect(),
            mix,
            stream,
            share,
            writers,
            readers,
            keys,
        }
    }

    /// Chooses the next operation from the mix.
    pub fn pick(&self, index: usize, rng: &mut ChaCha8Rng) -> Pick {
        let op = match &self.mix {
            Some(m) => self.ops[m.sample(rng)],
            None => Op::Get,
        };
        self.pick_op(op, index, rng)
    }

    /// Chooses key, size and principal for a given operation (writes by writers, reads by readers).
    pub fn pick_op(&self, op: Op, index: usize, rng: &mut ChaCha8Rng) -> Pick {
        let keys = self.keys.0..self.keys.1;
        let principals = if matches!(op, Op::Get | Op::Head | Op::Decrypt) {
            &self.readers
        } else {
            &self.writers
        };
        Pick {
            op,
            stream: index,
            key: rng.random_range(keys.clone()),
            aux: rng.random_range(keys),
            size: self.sizes.sample(rng),
            version: rng.random::<u64>() | 1,
            principal: principals
                .get(rng.random_range(0..principals.len().max(1)))
                .copied()
                .unwrap_or(0),
        }
    }
}

/// What a phase runs against.
pub struct Harness {
    /// Streams.
    pub streams: Vec<StreamPlan>,
    /// One client per principal.
    pub clients: Vec<aws_sdk_s3::Client>,
    /// Payload seed.
    pub seed: u64,
    /// Recorder.
    pub recorder: Arc<Recorder>,
    /// Cancellation.
    pub cancel: CancellationToken,
    /// KMS clients and data keys (KMS scenarios).
    pub kms: Option<Arc<ops::KmsEnv>>,
    /// This worker's part of the scenario.
    pub shard: Shard,
}

/// Where one step's objects go: a bucket per stream, a key prefix and, on buckets
/// the run did not configure, the encryption headers each write carries.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// Bucket per stream (index-aligned with the harness's streams).
    pub buckets: Vec<String>,
    /// Prepended to every object key (empty, or ending in `/`).
    pub key_prefix: String,
    /// Encryption headers on every write (PUT, CreateMultipartUpload, COPY), when the
    /// bucket's default encryption is not the mode's (`--bucket`).
    pub sse: Option<ops::Sse>,
}

fn env<'a>(h: &'a Harness, place: &'a Placement, p: &Pick) -> OpEnv<'a> {
    let s = &h.streams[p.stream].stream;
    OpEnv {
        client: &h.clients[p.principal.min(h.clients.len() - 1)],
        bucket: &place.buckets[p.stream],
        key_prefix: &place.key_prefix,
        sse: place.sse.as_ref(),
        stream_name: &s.name,
        seed: h.seed,
        multipart: s.multipart,
        verify: s.verify,
        kms: h.kms.as_deref(),
    }
}

/// Seconds after the start of a phase at which the i-th arrival is due.
pub fn arrival_time(rate: &Rate, duration: f64, i: u64) -> f64 {
    let (a, b) = rate.bounds();
    let k = if duration > 0.0 {
        (b - a) / duration
    } else {
        0.0
    };
    let i = i as f64;
    if k.abs() < 1e-12 {
        i / a
    } else {
        // Solve a·t + k·t²/2 = i for the cumulative number of arrivals.
        (-a + (a * a + 2.0 * k * i).max(0.0).sqrt()) / k
    }
}

/// Writes every key of every stream once (not measured). Returns failures.
pub async fn prefill(h: &Arc<Harness>, place: Arc<Placement>, concurrency: usize) -> u64 {
    let jobs: Vec<(usize, u64)> = h
        .streams
        .iter()
        .enumerate()
        .filter(|(_, sp)| sp.stream.prefill)
        .flat_map(|(s, sp)| (sp.keys.0..sp.keys.1).map(move |k| (s, k)))
        .collect();
    let jobs = Arc::new(jobs);
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..concurrency.max(1) {
        let (h, place, jobs, next, failed) = (
            h.clone(),
            place.clone(),
            jobs.clone(),
            next.clone(),
            failed.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(h.seed ^ 0x9e37_79b9 ^ w as u64);
            loop {
                if h.cancel.is_cancelled() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed) as usize;
                let Some(&(s, key)) = jobs.get(i) else { break };
                let mut p = h.streams[s].pick_op(Op::Put, s, &mut rng);
                p.key = key;
                let out = ops::execute(&env(&h, &place, &p), &p).await;
                if out.error.is_some() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    failed.load(Ordering::Relaxed)
}

/// Runs one phase for every stream at once; returns when all streams are done.
pub async fn run_phase(h: &Arc<Harness>, place: Arc<Placement>, phase: &Phase, step_seed: u64) {
    let duration = phase.duration.map_or(MAX_PHASE, |d| d.0.min(MAX_PHASE));
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for (s, sp) in h.streams.iter().enumerate() {
        let budget = phase
            .operations
            .map(|n| ((n as f64 * sp.share).round() as u64).max(1));
        // Shards draw different random sequences from the same step seed.
        let seed = step_seed ^ ((s as u64 + 1) << 40) ^ (u64::from(h.shard.index) << 52);
        if let Some(conc) = phase.concurrency {
            let all = u64::from(((conc as f64 * sp.share).round() as u32).max(1));
            let workers = h.shard.take(all).max(1) as u32;
            let remaining = Arc::new(AtomicU64::new(budget.map_or(u64::MAX, |b| h.shard.take(b))));
            for w in 0..workers {
                let (h, place, remaining) = (h.clone(), place.clone(), remaining.clone());
                tasks.push(tokio::spawn(closed_worker(
                    h,
                    place,
                    s,
                    seed ^ w as u64,
                    deadline,
                    remaining,
                )));
            }
        } else if let Some(rate) = phase.rate {
            let rate = rate.scaled(sp.share);
            let all = ((phase.max_in_flight.unwrap_or(256) as f64 * sp.share).ceil() as u64).max(1);
            let cap = h.shard.take(all).max(1) as usize;
            let (h, place) = (h.clone(), place.clone());
            tasks.push(tokio::spawn(open_scheduler(
                h, place, s, seed, start, duration, rate, cap, budget,
            )));
        }
    }
    for t in tasks {
        let _ = t.await;
    }
}

async fn closed_worker(
    h: Arc<Harness>,
    place: Arc<Placement>,
    s: usize,
    seed: u64,
    deadline: Instant,
    remaining: Arc<AtomicU64>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    loop {
        if h.cancel.is_cancelled() || Instant::now() >= deadline {
            break;
        }
        if remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
            .is_err()
        {
            break;
        }
        let p = h.streams[s].pick(s, &mut rng);
        let t0 = Instant::now();
        let e = env(&h, &place, &p);
        let out = tokio::select! {
            out = ops::execute(&e, &p) => out,
            _ = h.cancel.cancelled() => break,
        };
        let d = t0.elapsed();
        h.recorder.record(&out, d, d);
    }
}

#[allow(clippy::too_many_arguments)]
async fn open_scheduler(
    h: Arc<Harness>,
    place: Arc<Placement>,
    s: usize,
    seed: u64,
    start: Instant,
    duration: Duration,
    rate: Rate,
    cap: usize,
    budget: Option<u64>,
) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let sem = Arc::new(Semaphore::new(cap));
    let dur = duration.as_secs_f64();
    // `i` walks the scenario's whole schedule; this worker takes its shard's arrivals.
    let mut i: u64 = h.shard.index as u64;
    let step = u64::from(h.shard.count.max(1));
    loop {
        if h.cancel.is_cancelled() || budget.is_some_and(|b| i >= b) {
            break;
        }
        let t = arrival_time(&rate, dur, i);
        if !t.is_finite() || t >= dur {
            break;
        }
        let intended = start + Duration::from_secs_f64(t);
        tokio::select! {
            _ = tokio::time::sleep_until(intended.into()) => {}
            _ = h.cancel.cancelled() => break,
        }
        let permit = match sem.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                h.recorder.late_arrival();
                tokio::select! {
                    p = sem.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                    _ = h.cancel.cancelled() => break,
                }
            }
        };
        let p = h.streams[s].pick(s, &mut rng);
        let (h2, place) = (h.clone(), place.clone());
        tokio::spawn(async move {
            let actual = Instant::now();
            let e = env(&h2, &place, &p);
            let out = tokio::select! {
                out = ops::execute(&e, &p) => out,
                _ = h2.cancel.cancelled() => return,
            };
            let end = Instant::now();
            h2.recorder.record(&out, end - intended, end - actual);
            drop(permit);
        });
        i += step;
    }
    // Wait for requests still in flight (each is bounded by the SDK timeout, and by cancellation).
    let _ = sem.acquire_many(cap as u32).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrival_schedule_matches_fixed_and_ramped_rates() {
        let fixed = Rate::Fixed(500.0);
        assert!((arrival_time(&fixed, 10.0, 500) - 1.0).abs() < 1e-9);
        let ramp = Rate::Ramp {
            from: 100.0,
            to: 300.0,
        };
        // Over 10 s a 100→300 ramp delivers (100+300)/2·10 = 2000 arrivals.
        assert!((arrival_time(&ramp, 10.0, 2000) - 10.0).abs() < 1e-6);
        assert!(
            arrival_time(&ramp, 10.0, 1000) > 5.0,
            "the first half of the arrivals take more than half the time"
        );
        let from_zero = Rate::Ramp {
            from: 0.0,
            to: 100.0,
        };
        assert_eq!(arrival_time(&from_zero, 10.0, 0), 0.0);
        assert!((arrival_time(&from_zero, 10.0, 500) - 10.0).abs() < 1e-6);
    }
}
