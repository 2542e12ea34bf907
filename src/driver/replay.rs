//! A phase that replays a trace (`trace = { file, speed }`): every request of the trace,
//! open loop at its recorded time divided by the speed, into the stream at the trace
//! bucket's position, signed by the principal the trace names, for the key its hash
//! picks, with its recorded size. Latency counts from the intended time, as in every
//! open-loop phase.

use super::{Harness, Pick, Placement, StreamPlan, issue, join_until};
use crate::scenario::trace::{Entry, Trace, TracePhase};
use crate::scenario::{Op, Phase};
use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// The request an entry asks for.
fn pick(sp: &StreamPlan, stream: usize, e: &Entry, requester: &str, rng: &mut ChaCha8Rng) -> Pick {
    let mut p = sp.pick_op(e.op, stream, rng);
    let read = matches!(e.op, Op::Get | Op::Head | Op::Copy) && sp.stream.prefill;
    let span = if read {
        sp.filled
    } else {
        sp.keys.1 - sp.keys.0
    }
    .max(1);
    p.key = sp.keys.0 + e.key % span;
    if e.size > 0 {
        p.size = e.size;
    }
    if let Some(i) = sp.principals.iter().position(|n| n == requester) {
        p.principal = i;
    }
    p
}

/// Replays the trace for every stream at once, from the next whole second of the
/// clock; the phase lasts its `duration`, or the trace's length at this speed (plus a
/// second).
pub(super) async fn run(
    h: &Arc<Harness>,
    place: Arc<Placement>,
    phase: &Phase,
    t: &TracePhase,
    seed: u64,
) {
    let trace = match Trace::read(&t.file) {
        Ok(tr) => Arc::new(tr),
        Err(e) => {
            // Validated before the run; a file changed since then stops the run.
            tracing::error!("replaying {}: {e}", t.file.display());
            h.cancel.cancel();
            return;
        }
    };
    let speed = t.speed.max(1e-9);
    let length = Duration::from_secs_f64(trace.span_ms() as f64 / 1000.0 / speed + 1.0);
    let duration = phase.duration.map_or(length, |d| d.0).min(super::MAX_PHASE);
    // The replay starts on a whole second of the clock, so the seconds of the target's
    // logs are the trace's seconds.
    let frac = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let start = Instant::now() + Duration::from_nanos(u64::from(1_000_000_000 - frac));
    let deadline = start + duration;
    let stop = h.cancel.child_token();
    let cap = phase
        .load
        .max_in_flight()
        .unwrap_or(super::DEFAULT_MAX_IN_FLIGHT) as usize;
    let mut tasks = Vec::new();
    for s in 0..h.streams.len().min(trace.buckets.len()) {
        let (h, place, stop, trace) = (h.clone(), place.clone(), stop.clone(), trace.clone());
        let seed = seed ^ ((s as u64 + 1) << 40);
        tasks.push(tokio::spawn(async move {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let sem = Arc::new(Semaphore::new(cap));
            let (mut scheduled, mut issued) = (0u64, 0u64);
            // A sharded run replays every N-th request of each bucket.
            let step = u64::from(h.shard.count.max(1));
            let mine = trace
                .entries
                .iter()
                .filter(|e| e.bucket as usize == s)
                .enumerate()
                .filter(|(i, _)| *i as u64 % step == u64::from(h.shard.index))
                .map(|(_, e)| e);
            for e in mine {
                let intended = start + Duration::from_secs_f64(e.ms as f64 / 1000.0 / speed);
                if intended >= deadline || stop.is_cancelled() {
                    break;
                }
                scheduled += 1;
                tokio::select! {
                    _ = tokio::time::sleep_until(intended.into()) => {}
                    _ = stop.cancelled() => break,
                }
                let Ok(permit) = sem.clone().acquire_owned().await else {
                    break;
                };
                if Instant::now() >= deadline {
                    break;
                }
                let who = &trace.requesters[e.requester as usize];
                let p = pick(&h.streams[s], s, e, who, &mut rng);
                if !h.admit(&place, &p) {
                    break;
                }
                issued += 1;
                // The key's version varies per write, as in other phases.
                let p = Pick {
                    version: rng.random::<u64>() | 1,
                    ..p
                };
                issue(&h, &place, &stop, p, intended, permit);
            }
            h.recorder
                .open_loop(scheduled, issued, duration.as_secs_f64());
            tokio::select! {
                _ = sem.acquire_many(cap as u32) => {}
                _ = stop.cancelled() => {}
            }
        }));
    }
    let give_up = tokio::time::Instant::from_std(deadline + h.drain);
    join_until(tasks, &stop, give_up).await;
}
