//! Running the plan: for each step, prefill the mode's buckets once, wait for the
//! start barrier, drive the phase, and read the target's KMS counts before and
//! after it. A ticker closes every second in the recorder (streamed files and the
//! per-second KMS column); Ctrl-C ends the loop and what was measured is kept.

use super::preflight::RunPlan;
use super::prepare::Prepared;
use super::{AfterPrefill, RunOptions};
use crate::driver::{self, Harness, StreamPlan};
use crate::error::{Context as _, Result};
use crate::kms::counts::KmsSnapshot;
use crate::recorder::{Recorded, Recorder};
use crate::results::record::{PrefillSpan, STARTED_FILE, StepKms};
use crate::scenario::{LoadedScenario, Mode, ScenarioKind};
use crate::shard::Barrier;
use crate::targets::{CounterScope, KmsCounter, Target};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// What the steps produced.
pub(super) struct Executed {
    /// The recorder's measurements.
    pub recorded: Recorded,
    /// Unix time of the recorder's start.
    pub start_unix: f64,
    /// KMS counts per step.
    pub step_kms: Vec<StepKms>,
    /// Prefill spans.
    pub prefills: Vec<PrefillSpan>,
    /// The start barrier, when there was one.
    pub barrier: Option<Barrier>,
    /// Why the run stopped early, if it did.
    pub incomplete: Option<String>,
    /// Why the streamed files could not be written, if they could not.
    pub stream_error: Option<String>,
}

/// Where one step's objects go.
fn placement(target: &Target, plan: &RunPlan, mode: Mode) -> driver::Placement {
    driver::Placement {
        mode,
        buckets: plan
            .streams
            .iter()
            .map(|(st, _)| {
                target
                    .buckets
                    .get(&(mode, st.bucket_role().to_owned()))
                    .cloned()
                    .unwrap_or_default()
            })
            .collect(),
        // Modes share reused buckets: each writes under its own part of the run prefix.
        key_prefix: if target.key_prefix.is_empty() {
            String::new()
        } else {
            format!("{}{mode}/", target.key_prefix)
        },
        sse: target.sse_for(mode),
    }
}

/// Closes a second in the recorder every second, with the counter's KMS totals.
fn spawn_ticker(
    recorder: Arc<Recorder>,
    counter: Option<Arc<dyn KmsCounter>>,
    failed: Arc<parking_lot::Mutex<Option<String>>>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut iv = tokio::time::interval_at(
            tokio::time::Instant::now() + Duration::from_secs(1),
            Duration::from_secs(1),
        );
        iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            iv.tick().await;
            let totals = counter.as_ref().and_then(|c| c.totals());
            if let Err(e) = recorder.tick(totals) {
                tracing::error!("writing the time series failed: {e}");
                *failed.lock() = Some(e.to_string());
                break;
            }
        }
    })
}

/// Runs every step of the plan the target honours.
pub(super) async fn execute(
    ls: &LoadedScenario,
    plan: &RunPlan,
    opts: &RunOptions,
    ready: &Prepared,
    cancel: &CancellationToken,
    after_prefill: Option<&AfterPrefill>,
    run_start: Instant,
) -> Result<Executed> {
    let target = &ready.target;
    let recorder = Arc::new(
        Recorder::new(&plan.dir, run_start)
            .with_context(|| format!("creating {}", plan.dir.display()))?,
    );
    let cap = cost_cap(plan, opts);
    let harness = harness(ls, plan, opts, ready, &recorder, cancel, cap.clone());
    write_started(ls, plan, opts, ready, &recorder)?;
    let stream_error = Arc::new(parking_lot::Mutex::new(None));
    let ticker = spawn_ticker(
        recorder.clone(),
        target.counter.clone(),
        stream_error.clone(),
    );
    let progress = crate::progress::spawn(recorder.clone(), opts.quiet);
    let shared_counter = target.counter_scope() == CounterScope::Shared;
    if shared_counter && !opts.shard.is_single() && target.created.is_empty() {
        tracing::warn!(
            "shard {}: buckets shared with other workers (--bucket): this shard's KMS counts are the whole target's",
            opts.shard
        );
    }
    let mut steps = Steps {
        ls,
        plan,
        opts,
        target,
        harness: &harness,
        recorder: &recorder,
        progress: &progress,
        cancel,
        after_prefill,
        run_start,
        shared_counter,
        step_kms: Vec::new(),
        prefills: Vec::new(),
        prefilled: BTreeSet::new(),
        barrier: None,
    };
    for step in plan
        .steps
        .iter()
        .filter(|st| !ready.skipped.contains_key(&st.mode))
    {
        if cancel.is_cancelled() || !steps.run(step).await {
            break;
        }
    }
    let Steps {
        step_kms,
        prefills,
        barrier,
        ..
    } = steps;
    let incomplete = match &cap {
        Some(c) if c.tripped() => Some(format!(
            "{} ${}: the next request would have taken the priced requests (${:.4}) past it",
            super::COST_CAP_REASON,
            c.limit_usd(),
            c.spent_usd()
        )),
        _ => cancel
            .is_cancelled()
            .then(|| "interrupted (SIGINT/SIGTERM)".to_owned()),
    };
    ticker.abort();
    progress.finish();
    // A full disk stops the streamed files, not the run: what is in memory goes on to
    // the summary, and the error is reported with it.
    let stream_error = (*stream_error.lock())
        .clone()
        .or_else(|| recorder.flush().err().map(|e| e.to_string()))
        .map(|e| {
            format!(
                "streaming the time series and histograms into {}: {e}",
                plan.dir.display()
            )
        });
    Ok(Executed {
        recorded: recorder.finish(),
        start_unix: recorder.start_unix(),
        step_kms,
        prefills,
        barrier,
        incomplete,
        stream_error,
    })
}

/// The cost cap: the plan's limit, priced as the plan priced the run.
fn cost_cap(plan: &RunPlan, opts: &RunOptions) -> Option<Arc<driver::budget::CostCap>> {
    let (limit, p) = (plan.cost_limit(opts)?, plan.priced.as_ref()?);
    let cap = driver::budget::CostCap::new(limit, p.prices.clone());
    // The key's charge for the run's hours comes first, as the run's cost shows it.
    cap.reserve(p.estimate.cost.key_usd);
    Some(Arc::new(cap))
}

/// What the driver runs every step with.
fn harness(
    ls: &LoadedScenario,
    plan: &RunPlan,
    opts: &RunOptions,
    ready: &Prepared,
    recorder: &Arc<Recorder>,
    cancel: &CancellationToken,
    cap: Option<Arc<driver::budget::CostCap>>,
) -> Arc<Harness> {
    Arc::new(Harness {
        streams: plan
            .streams
            .iter()
            .map(|(st, share)| {
                StreamPlan::new(
                    st.clone(),
                    *share,
                    &plan.principals,
                    opts.shard,
                    opts.prefill_limit,
                )
            })
            .collect(),
        clients: ready.target.clients.clone(),
        seed: plan.seed,
        recorder: recorder.clone(),
        cancel: cancel.clone(),
        kms: ready.kms.clone(),
        shard: opts.shard,
        // Requests are bounded by the SDK's timeout; a second more for the last to land.
        drain: ls.scenario.target.timeout.0 + Duration::from_secs(1),
        cap,
    })
}

/// What a report needs if the process dies before finishing: the scenario and the run
/// record as it starts (the measurements stream beside them).
fn write_started(
    ls: &LoadedScenario,
    plan: &RunPlan,
    opts: &RunOptions,
    ready: &Prepared,
    recorder: &Recorder,
) -> Result<()> {
    let started = super::finish::started_record(ls, plan, opts, ready, recorder.start_unix());
    let started = serde_json::to_vec(&started).context("the run record")?;
    crate::results::write_atomic(&plan.dir.join(STARTED_FILE), &started)
        .and_then(|()| {
            crate::results::write_atomic(&plan.dir.join("scenario.toml"), ls.text.as_bytes())
        })
        .with_context(|| format!("writing {}", plan.dir.display()))
}

/// The steps as they run: what each needs, and what they have produced so far.
struct Steps<'a> {
    ls: &'a LoadedScenario,
    plan: &'a RunPlan,
    opts: &'a RunOptions,
    target: &'a Target,
    harness: &'a Arc<Harness>,
    recorder: &'a Arc<Recorder>,
    progress: &'a crate::progress::Progress,
    cancel: &'a CancellationToken,
    after_prefill: Option<&'a AfterPrefill>,
    run_start: Instant,
    /// Other workers read the same counter (a shared `sse-bench serve`).
    shared_counter: bool,
    step_kms: Vec<StepKms>,
    prefills: Vec<PrefillSpan>,
    prefilled: BTreeSet<Mode>,
    barrier: Option<Barrier>,
}

impl Steps<'_> {
    /// Runs one step (prefilling its mode's buckets the first time, waiting at the start
    /// barrier before the first); false when the run was cancelled on the way.
    async fn run(&mut self, step: &crate::plan::Step) -> bool {
        let place = Arc::new(placement(self.target, self.plan, step.mode));
        if self.prefilled.insert(step.mode) {
            self.prefill(step.mode, &place).await;
        }
        if !self.wait_at_barrier().await {
            return false;
        }
        let phase = &self.ls.scenario.phases[step.phase];
        self.progress.set_label(format!(
            "{} {} round {}",
            step.mode,
            step.phase_name,
            step.round + 1
        ));
        self.progress.set_length(phase.duration.map(|d| d.0));
        let before: Option<KmsSnapshot> = self.target.kms_snapshot().await;
        let attempts_before = self.target.attempts.0.load(Ordering::Relaxed);
        let streams = self
            .plan
            .streams
            .iter()
            .map(|(st, _)| st.name.clone())
            .collect();
        self.recorder.begin_step(
            step.mode,
            &step.phase_name,
            step.round,
            step.record,
            streams,
        );
        let step_seed = self.plan.seed ^ (step.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        driver::run_phase(self.harness, place, phase, step_seed).await;
        self.recorder.end_step();
        if let (Some(after), Some(before)) = (self.target.kms_snapshot().await, before) {
            let mut calls = after.since(&before);
            // Other workers use the same simulator: a shard counts the calls made for
            // its own buckets (merge adds them up; per-second readings stay target-wide).
            if self.shared_counter
                && !self.opts.shard.is_single()
                && !self.target.created.is_empty()
            {
                calls.retain(|c| self.target.created.contains(&c.bucket));
            }
            self.step_kms.push(StepKms {
                mode: step.mode,
                record: step.record,
                calls,
                per_second: after.seconds_since(&before),
                attempts: self.target.attempts.0.load(Ordering::Relaxed) - attempts_before,
            });
        }
        true
    }

    /// Fills the mode's buckets with the streams' keys (S3 scenarios that want it).
    async fn prefill(&mut self, mode: Mode, place: &Arc<driver::Placement>) {
        let wanted = self.ls.scenario.kind != ScenarioKind::Kms
            && self.plan.streams.iter().any(|(st, _)| st.prefill);
        if !wanted {
            return;
        }
        self.progress.set_label(format!("{mode} prefill"));
        // Prefill has no fixed duration: no stale length from the previous step.
        self.progress.set_length(None);
        let from = self.run_start.elapsed().as_secs_f64();
        let failed = driver::prefill(self.harness, place.clone(), 32).await;
        self.prefills
            .push((mode, from, self.run_start.elapsed().as_secs_f64()));
        if failed > 0 {
            tracing::warn!("{mode}: {failed} prefill writes failed");
        }
        if let Some(hook) = self.after_prefill {
            hook(self.target, mode);
        }
    }

    /// Waits once for `--start-at` before the first measured phase; false when the run
    /// was cancelled while waiting.
    async fn wait_at_barrier(&mut self) -> bool {
        let Some(at) = self.plan.start_at.filter(|_| self.barrier.is_none()) else {
            return true;
        };
        self.progress.set_length(None);
        self.progress.set_label(format!(
            "waiting for --start-at {}",
            self.opts.start_at.as_deref().unwrap_or("")
        ));
        let b = crate::shard::wait_until(at, self.cancel).await;
        if b.late_by_s > 0.0 {
            eprintln!(
                "shard {}: reached the start instant {} {:.3} s late",
                self.opts.shard, b.start_at, b.late_by_s
            );
        }
        self.barrier = Some(b);
        !self.cancel.is_cancelled()
    }
}
