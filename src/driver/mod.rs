//! Load generation on tokio: closed loop (fixed concurrency) and open loop
//! (arrival schedule; latency measured from each request's intended start, as
//! wrk2 does, so stalls are not hidden by coordinated omission).

pub mod budget;
pub mod ops;
pub mod payload;
mod replay;
mod schedule;

pub use schedule::{arrival_time, arrivals_before, scheduled_arrivals};

use crate::recorder::Recorder;
use crate::scenario::{Load, Mode, Op, Phase, Rate, SizeDist, Stream};
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

/// Open-loop in-flight cap when the phase does not set `max_in_flight`.
pub const DEFAULT_MAX_IN_FLIGHT: u32 = 256;

/// A worker's slice `[lo, hi)` of a stream's `keys` (all of them when there are
/// fewer keys than shards: every shard then uses them all).
pub fn key_slice(keys: u64, shard: Shard) -> (u64, u64) {
    let all = keys.max(1);
    match shard.range(all) {
        (lo, hi) if hi > lo => (lo, hi),
        _ => (0, all),
    }
}

/// Keys of a slice of `len` that prefill writes (and reads draw from): the first
/// `--prefill-limit`, else all.
pub fn prefilled(len: u64, limit: Option<u64>) -> u64 {
    limit.map_or(len, |l| l.clamp(1, len))
}

/// Phases given only an operation count still stop after this long.
pub const MAX_PHASE: Duration = Duration::from_secs(3600);

/// An open-loop arrival issued later than this after its scheduled time counts as
/// late (the in-flight cap was full, or the generator could not keep up).
pub const LATE_START: Duration = Duration::from_millis(100);

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
    /// How many keys from `keys.0` prefill writes and reads draw from (`--prefill-limit`).
    pub filled: u64,
    sizes: SizeSampler,
    ops: Vec<Op>,
    mix: Option<WeightedIndex<u32>>,
    /// Every principal's name, by index (a trace names its requesters).
    principals: Vec<String>,
}

impl StreamPlan {
    /// Builds a stream plan; principals are looked up by name. A shard keeps its slice
    /// of the key space and, when the stream has at least N of them, its requesters.
    /// With a prefill limit, prefill writes the first keys of the slice and reads draw
    /// from those.
    pub fn new(
        stream: Stream,
        share: f64,
        principals: &[String],
        shard: Shard,
        prefill_limit: Option<u64>,
    ) -> Self {
        let idx = |names: Vec<String>| -> Vec<usize> {
            shard
                .principals(&names)
                .iter()
                .filter_map(|n| principals.iter().position(|p| p == n))
                .collect()
        };
        let writers = idx(stream.writer_names());
        let readers = idx(stream.reader_names());
        let keys = key_slice(stream.keys, shard);
        let filled = prefilled(keys.1 - keys.0, prefill_limit);
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
            filled,
            principals: principals.to_vec(),
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
        // Reads (and a copy's source) find objects only among the prefilled keys.
        let read = matches!(op, Op::Get | Op::Head | Op::Copy) && self.stream.prefill;
        let key_range = if read {
            self.keys.0..self.keys.0 + self.filled
        } else {
            keys.clone()
        };
        Pick {
            op,
            stream: index,
            key: rng.random_range(key_range),
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
    /// How long a phase waits past its deadline for requests in flight (the request
    /// timeout); those still running then are abandoned.
    pub drain: Duration,
    /// `--max-cost`: priced requests stop at the cap.
    pub cap: Option<Arc<budget::CostCap>>,
}

impl Harness {
    /// Prices `p` against the cost cap; false when it would cross it, and then the
    /// run stops (nothing further is issued).
    fn admit(&self, place: &Placement, p: &Pick) -> bool {
        let Some(cap) = &self.cap else { return true };
        if cap.reserve(cap.price(place.mode, &self.streams[p.stream].stream, p)) {
            return true;
        }
        self.cancel.cancel();
        false
    }
}

/// Where one step's objects go: a bucket per stream, a key prefix and, on buckets
/// the run did not configure, the encryption headers each write carries.
#[derive(Clone, Debug, Default)]
pub struct Placement {
    /// The step's encryption mode (what its requests are priced at).
    pub mode: Mode,
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

/// The i-th prefill write: (stream, key), found by arithmetic over the streams'
/// prefilled ranges (no list of keys is built, however large the key space).
fn prefill_job(h: &Harness, mut i: u64) -> Option<(usize, u64)> {
    for (s, sp) in h.streams.iter().enumerate() {
        if !sp.stream.prefill {
            continue;
        }
        if i < sp.filled {
            return Some((s, sp.keys.0 + i));
        }
        i -= sp.filled;
    }
    None
}

/// Writes every prefilled key of every stream once (not measured). Returns failures.
pub async fn prefill(h: &Arc<Harness>, place: Arc<Placement>, concurrency: usize) -> u64 {
    let next = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for w in 0..concurrency.max(1) {
        let (h, place, next, failed) = (h.clone(), place.clone(), next.clone(), failed.clone());
        tasks.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(h.seed ^ 0x9e37_79b9 ^ w as u64);
            loop {
                if h.cancel.is_cancelled() {
                    break;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some((s, key)) = prefill_job(&h, i) else {
                    break;
                };
                let mut p = h.streams[s].pick_op(Op::Put, s, &mut rng);
                p.key = key;
                if !h.admit(&place, &p) {
                    break;
                }
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

/// Runs one phase for every stream at once. Every stream stops issuing at the
/// phase's deadline; requests in flight then get the drain bound to finish, after
/// which they are abandoned, so a phase never outlives its deadline by more.
pub async fn run_phase(h: &Arc<Harness>, place: Arc<Placement>, phase: &Phase, step_seed: u64) {
    if let Load::Trace { trace, .. } = &phase.load {
        replay::run(h, place, phase, trace, step_seed).await;
        return;
    }
    let duration = phase.duration.map_or(MAX_PHASE, |d| d.0.min(MAX_PHASE));
    let start = Instant::now();
    let deadline = start + duration;
    let stop = h.cancel.child_token();
    let mut tasks = Vec::new();
    for (s, sp) in h.streams.iter().enumerate() {
        let budget = phase
            .operations
            .map(|n| ((n as f64 * sp.share).round() as u64).max(1));
        // Shards draw different random sequences from the same step seed.
        let seed = step_seed ^ ((s as u64 + 1) << 40) ^ (u64::from(h.shard.index) << 52);
        match phase.load {
            Load::Closed { concurrency } => {
                let all = u64::from(((concurrency as f64 * sp.share).round() as u32).max(1));
                let workers = h.shard.take(all).max(1) as u32;
                let remaining =
                    Arc::new(AtomicU64::new(budget.map_or(u64::MAX, |b| h.shard.take(b))));
                for w in 0..workers {
                    let worker = Worker {
                        h: h.clone(),
                        place: place.clone(),
                        stop: stop.clone(),
                        s,
                        seed: seed ^ w as u64,
                        deadline,
                    };
                    tasks.push(tokio::spawn(closed_worker(worker, remaining.clone())));
                }
            }
            Load::Open {
                rate,
                max_in_flight,
            } => {
                let rate = rate.scaled(sp.share);
                let all =
                    ((max_in_flight.unwrap_or(DEFAULT_MAX_IN_FLIGHT) as f64 * sp.share).ceil()
                        as u64)
                        .max(1);
                let cap = h.shard.take(all).max(1) as usize;
                let worker = Worker {
                    h: h.clone(),
                    place: place.clone(),
                    stop: stop.clone(),
                    s,
                    seed,
                    deadline,
                };
                tasks.push(tokio::spawn(open_scheduler(
                    worker, start, duration, rate, cap, budget,
                )));
            }
            // Replayed above, for every stream at once.
            Load::Trace { .. } => {}
        }
    }
    let give_up = tokio::time::Instant::from_std(deadline + h.drain);
    join_until(tasks, &stop, give_up).await;
}

/// Waits for each task until `give_up`, then stops what is left in flight.
async fn join_until(
    tasks: Vec<tokio::task::JoinHandle<()>>,
    stop: &CancellationToken,
    give_up: tokio::time::Instant,
) {
    for mut t in tasks {
        tokio::select! {
            _ = &mut t => {}
            _ = tokio::time::sleep_until(give_up) => {
                // Past the drain bound: abandon what is still in flight.
                stop.cancel();
                let _ = t.await;
            }
        }
    }
}

/// Issues one open-loop request due at `intended` (late if it starts past
/// [`LATE_START`]); its latency counts from `intended`, its service time from its start.
fn issue(
    h: &Arc<Harness>,
    place: &Arc<Placement>,
    stop: &CancellationToken,
    p: Pick,
    intended: Instant,
    permit: tokio::sync::OwnedSemaphorePermit,
) {
    if intended.elapsed() > LATE_START {
        h.recorder.late_arrival();
    }
    let (h, place, stop) = (h.clone(), place.clone(), stop.clone());
    tokio::spawn(async move {
        let actual = Instant::now();
        let e = env(&h, &place, &p);
        let out = tokio::select! {
            out = ops::execute(&e, &p) => out,
            _ = stop.cancelled() => return,
        };
        let end = Instant::now();
        h.recorder.record(&out, end - intended, end - actual);
        drop(permit);
    });
}

/// What a worker or scheduler of one stream runs with.
struct Worker {
    h: Arc<Harness>,
    place: Arc<Placement>,
    /// Cancelled with the run, or when the phase's drain bound passes.
    stop: CancellationToken,
    s: usize,
    seed: u64,
    deadline: Instant,
}

async fn closed_worker(w: Worker, remaining: Arc<AtomicU64>) {
    let (h, place, stop, s, deadline) = (w.h, w.place, w.stop, w.s, w.deadline);
    let mut rng = ChaCha8Rng::seed_from_u64(w.seed);
    loop {
        if stop.is_cancelled() || Instant::now() >= deadline {
            break;
        }
        if remaining
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |r| r.checked_sub(1))
            .is_err()
        {
            break;
        }
        let p = h.streams[s].pick(s, &mut rng);
        if !h.admit(&place, &p) {
            break;
        }
        let t0 = Instant::now();
        let e = env(&h, &place, &p);
        let out = tokio::select! {
            out = ops::execute(&e, &p) => out,
            _ = stop.cancelled() => break,
        };
        let d = t0.elapsed();
        h.recorder.record(&out, d, d);
    }
}

async fn open_scheduler(
    w: Worker,
    start: Instant,
    duration: Duration,
    rate: Rate,
    cap: usize,
    budget: Option<u64>,
) {
    let (h, place, stop, s, deadline) = (w.h, w.place, w.stop, w.s, w.deadline);
    let mut rng = ChaCha8Rng::seed_from_u64(w.seed);
    let sem = Arc::new(Semaphore::new(cap));
    let dur = duration.as_secs_f64();
    // `i` walks the scenario's whole schedule; this worker takes its shard's arrivals.
    let first: u64 = h.shard.index as u64;
    let step = u64::from(h.shard.count.max(1));
    let total = budget.map_or_else(
        || scheduled_arrivals(&rate, dur),
        |b| b.min(scheduled_arrivals(&rate, dur)),
    );
    let mut issued = 0u64;
    let mut i = first;
    // The intended time of the arrival the loop is at: one it had not issued when a
    // stop came is not due (it was not asked for before the stop).
    let mut at = dur;
    let until_deadline = tokio::time::sleep_until(deadline.into());
    tokio::pin!(until_deadline);
    while i < total && !stop.is_cancelled() {
        let t = arrival_time(&rate, dur, i);
        if !t.is_finite() || t >= dur {
            break;
        }
        at = t;
        let intended = start + Duration::from_secs_f64(t);
        tokio::select! {
            _ = tokio::time::sleep_until(intended.into()) => {}
            _ = stop.cancelled() => break,
        }
        // Behind schedule past the deadline: what is left is dropped, not fired late. An
        // arrival due inside the phase whose wake-up merely jittered past the deadline
        // (by less than LATE_START) is issued: on a busy machine the last arrival of a
        // phase would otherwise be dropped by a millisecond's scheduling delay.
        if Instant::now() >= deadline && intended.elapsed() > LATE_START {
            break;
        }
        let permit = match sem.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => tokio::select! {
                p = sem.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
                _ = &mut until_deadline => break,
                _ = stop.cancelled() => break,
            },
        };
        let p = h.streams[s].pick(s, &mut rng);
        if !h.admit(&place, &p) {
            break;
        }
        issued += 1;
        issue(&h, &place, &stop, p, intended, permit);
        i += step;
    }
    // A run stopped early (Ctrl-C, the cost cap) was asked for the arrivals due until
    // then, not for the rest of the phase: those are not dropped.
    let (due, planned) = if h.cancel.is_cancelled() {
        let until = start.elapsed().as_secs_f64().min(dur).min(at);
        (total.min(arrivals_before(&rate, dur, until)), until)
    } else {
        (total, dur)
    };
    let scheduled = due.saturating_sub(first).div_ceil(step).max(issued);
    h.recorder.open_loop(scheduled, issued, planned);
    // Wait for requests still in flight (each bounded by the SDK timeout; run_phase
    // abandons them past the drain bound).
    tokio::select! {
        _ = sem.acquire_many(cap as u32) => {}
        _ = stop.cancelled() => {}
    }
}
