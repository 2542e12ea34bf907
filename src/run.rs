//! `sse-bench run`: scenario → plan → target → driver → recorder → results.

use crate::cli::{Format, exit};
use crate::driver::{self, Cancel, Harness, StreamPlan};
use crate::plan;
use crate::recorder::Recorder;
use crate::results::{self, Summary, summary};
use crate::scenario::{self, LoadedScenario, Mode};
use crate::sim::KmsStats;
use crate::target::{Access, Target, TargetSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Options of one run.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// `--target`.
    pub target: Option<String>,
    /// `--out`.
    pub out: Option<PathBuf>,
    /// `--seed`.
    pub seed: Option<u64>,
    /// Output format of the final summary.
    pub format: Format,
    /// No progress output.
    pub quiet: bool,
    /// A price file merged over the built-in table (`--prices`).
    pub prices: Option<PathBuf>,
    /// `--save-baseline NAME`: also write the summary to `results/baselines/NAME/`.
    pub save_baseline: Option<String>,
    /// `--keep`: leave the buckets a run on a real target created.
    pub keep: bool,
    /// `--max-cost USD`: refuse a billed run predicted to cost more (default $1).
    pub max_cost: Option<f64>,
    /// `--profile`, `--region`, `--kms-key`, `--create-key`, `--bucket`, `--key-prefix`.
    pub access: AccessOptions,
    /// `--shard I/N` (or `--shards N` with `JOB_COMPLETION_INDEX`).
    pub shard: crate::shard::Shard,
    /// `--start-at`: RFC 3339 or `+30s`.
    pub start_at: Option<String>,
}

/// How to reach a real target, as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct AccessOptions {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--region`.
    pub region: Option<String>,
    /// `--kms-key`.
    pub kms_key: Option<String>,
    /// `--create-key`.
    pub create_key: bool,
    /// `--bucket [ROLE=]NAME`, repeatable.
    pub buckets: Vec<String>,
    /// `--key-prefix`.
    pub key_prefix: Option<String>,
}

impl AccessOptions {
    /// Checks the flags against the target; the target module's view of them.
    fn resolve(&self, spec: &TargetSpec) -> Result<Access, RunError> {
        let reuse = Access::parse_buckets(&self.buckets).map_err(RunError::Usage)?;
        if *spec == TargetSpec::Embedded
            && (!reuse.is_empty() || self.create_key || self.key_prefix.is_some())
        {
            return Err(RunError::Usage(
                "--bucket, --key-prefix and --create-key apply to endpoint and aws targets; the embedded simulator makes its own buckets and key".into(),
            ));
        }
        if self.key_prefix.is_some() && reuse.is_empty() {
            return Err(RunError::Usage(
                "--key-prefix applies with --bucket (existing buckets)".into(),
            ));
        }
        if self.create_key && self.kms_key.is_some() {
            return Err(RunError::Usage(
                "give --kms-key or --create-key, not both".into(),
            ));
        }
        Ok(Access {
            profile: self.profile.clone(),
            region: self.region.clone(),
            kms_key: self.kms_key.clone(),
            create_key: self.create_key,
            reuse,
            key_prefix: self.key_prefix.clone(),
        })
    }
}

/// The cost guard's default ceiling, USD.
pub const DEFAULT_MAX_COST: f64 = 1.0;

/// Test hook, called once per mode after its buckets are prefilled.
pub type AfterPrefill = Box<dyn Fn(&Target, Mode) + Send + Sync>;

/// What a finished (or interrupted) run produced.
pub struct RunOutcome {
    /// The summary written.
    pub summary: Summary,
    /// The results directory.
    pub dir: PathBuf,
    /// Process exit code (0, 3 for crossed thresholds, 130 when interrupted).
    pub exit_code: i32,
}

/// Why a run did not produce results.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Bad input; nothing was started (exit 2).
    #[error("{0}")]
    Usage(String),
    /// The target or the file system failed (exit 1).
    #[error("{0:#}")]
    Failure(anyhow::Error),
}

impl RunError {
    /// The exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self {
            RunError::Usage(_) => exit::USAGE,
            RunError::Failure(_) => exit::FAILURE,
        }
    }
}

fn default_out(name: &str) -> PathBuf {
    let now = time::OffsetDateTime::now_utc();
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        now.year(),
        now.month() as u8,
        now.day(),
        now.hour(),
        now.minute(),
        now.second()
    );
    let base = PathBuf::from("results").join(format!("{name}-{stamp}"));
    let mut p = base.clone();
    let mut n = 2;
    while p.exists() {
        p = PathBuf::from(format!("{}-{n}", base.display()));
        n += 1;
    }
    p
}

/// Where `--save-baseline` writes (`SSE_BENCH_BASELINES` overrides `results/baselines`).
fn baselines_dir() -> PathBuf {
    std::env::var_os("SSE_BENCH_BASELINES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("results").join("baselines"))
}

fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Loads the scenario and runs it.
pub async fn run(
    path: &Path,
    opts: RunOptions,
    cancel: Arc<Cancel>,
) -> Result<RunOutcome, RunError> {
    let ls = scenario::load(path).map_err(|e| RunError::Usage(e.to_string()))?;
    run_loaded(&ls, opts, cancel, None).await
}

/// Runs a loaded scenario.
pub async fn run_loaded(
    ls: &LoadedScenario,
    opts: RunOptions,
    cancel: Arc<Cancel>,
    after_prefill: Option<AfterPrefill>,
) -> Result<RunOutcome, RunError> {
    let s = &ls.scenario;
    let spec = TargetSpec::resolve(opts.target.as_deref(), ls).map_err(RunError::Usage)?;
    let seed = opts.seed.unwrap_or(s.seed);
    let steps = plan::plan(s, seed);
    let streams = scenario::streams(s);
    let mut principals: Vec<String> = Vec::new();
    for st in &streams {
        for n in st.writer_names().into_iter().chain(st.reader_names()) {
            if !principals.contains(&n) {
                principals.push(n);
            }
        }
    }
    let roles: Vec<String> = streams
        .iter()
        .map(|st| st.bucket_role().to_owned())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some(name) = &opts.save_baseline
        && (name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            || name.starts_with('.'))
    {
        return Err(RunError::Usage(format!(
            "--save-baseline: expected letters, digits, '-', '_' or '.', got {name:?}"
        )));
    }
    let access = opts.access.resolve(&spec)?;
    let start_at = opts
        .start_at
        .as_deref()
        .map(|t| crate::shard::parse_start_at(t, time::OffsetDateTime::now_utc()))
        .transpose()
        .map_err(RunError::Usage)?;
    access.check_roles(&roles).map_err(RunError::Usage)?;
    // On AWS every principal must be a distinct identity, or Bucket Key counts would be
    // those of one requester.
    if spec == TargetSpec::Aws && principals.len() > 1 {
        let unmapped: Vec<&String> = principals
            .iter()
            .filter(|p| !s.target.principals.contains_key(*p))
            .collect();
        if !unmapped.is_empty() {
            return Err(RunError::Usage(format!(
                "the scenario has {} principals; on the aws target each needs its own credentials in [target.principals] (a profile or a role_arn), missing: {}",
                principals.len(),
                unmapped
                    .iter()
                    .map(|p| p.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
    }
    // Prices are checked before anything starts: a broken price file is a usage error.
    let price_table = crate::cost::PriceTable::load(opts.prices.as_deref())
        .map_err(|e| RunError::Usage(e.to_string()))?;
    // The cost guard: on a billed target, nothing is touched when the prediction is too high.
    if spec != TargetSpec::Embedded {
        let max = opts.max_cost.unwrap_or(DEFAULT_MAX_COST);
        let region = access
            .region
            .clone()
            .or_else(|| s.target.region.clone())
            .unwrap_or_else(|| "us-east-1".into());
        let prices = price_table
            .region(&region)
            .map_err(|e| RunError::Usage(format!("the cost guard needs prices: {e}")))?;
        let est = crate::cost::estimate::run_estimate(s, prices, price_table.hours_per_month);
        if !opts.quiet {
            eprintln!(
                "predicted cost of this run: ${:.4} (at most {:.0} S3 operations, {:.0} KMS requests); --max-cost ${max}",
                est.cost.total_usd, est.operations, est.kms_requests
            );
        }
        if est.cost.total_usd > max {
            return Err(RunError::Usage(format!(
                "predicted cost ${:.4} is above --max-cost ${max}: nothing was started (raise --max-cost to run it)",
                est.cost.total_usd
            )));
        }
    }
    // `{shard}` in --out is this worker's index (one manifest for every worker).
    let out = opts.out.as_ref().map(|p| {
        PathBuf::from(
            p.to_string_lossy()
                .replace("{shard}", &opts.shard.index.to_string()),
        )
    });
    let remote = match &out {
        Some(p) if p.to_string_lossy().starts_with("s3://") => Some(
            crate::results::remote::S3Url::parse(&p.to_string_lossy()).map_err(RunError::Usage)?,
        ),
        _ => None,
    };
    let dir = match (&remote, out) {
        // Written locally first, then uploaded: summary.json last, as on disk.
        (Some(_), _) => std::env::temp_dir().join(format!(
            "sse-bench-{}-{}-{:08x}",
            s.name,
            opts.shard.index,
            rand::random::<u32>()
        )),
        (None, Some(p)) => p,
        (None, None) => default_out(&s.name),
    };
    let run_id = format!("{:08x}", rand::random::<u32>());

    let started_wall = time::OffsetDateTime::now_utc();
    let run_start = Instant::now();
    let fail = |e: anyhow::Error| RunError::Failure(e);
    let mut target = Target::connect(spec, ls, seed, principals.clone(), &access, &run_id)
        .await
        .map_err(fail)?;
    let kms_scenario = s.kind == scenario::ScenarioKind::Kms;
    let mut skipped: BTreeMap<Mode, String> = BTreeMap::new();
    let kms_env = if kms_scenario {
        match kms_env(&target, &streams).await {
            Ok(k) => Some(Arc::new(k)),
            Err(e) => {
                target.retire_key(opts.keep).await;
                return Err(fail(e));
            }
        }
    } else {
        let ready = match target
            .provision(&s.modes, &roles, &s.target.bucket_prefix, &run_id, &access)
            .await
        {
            Ok(refused) => {
                skipped = refused;
                let probed: Vec<Mode> = s
                    .modes
                    .iter()
                    .copied()
                    .filter(|m| !skipped.contains_key(m))
                    .collect();
                skipped.extend(target.probe(&probed, &roles).await);
                if skipped.len() == s.modes.len() {
                    Err(anyhow::anyhow!(
                        "the target honours none of the scenario's modes:\n{}",
                        skipped
                            .iter()
                            .map(|(m, why)| format!("  {m}: {why}"))
                            .collect::<Vec<_>>()
                            .join("\n")
                    ))
                } else {
                    Ok(())
                }
            }
            Err(e) => Err(e),
        };
        if let Err(e) = ready {
            // Take back what was created before the failure.
            if target.sim.is_none() && !opts.keep {
                report_left_behind(&target.cleanup(&run_id).await);
            }
            target.retire_key(opts.keep).await;
            return Err(fail(e));
        }
        for (m, why) in &skipped {
            eprintln!("probe: {m} is not honoured by this target, skipped: {why}");
        }
        None
    };
    let steps: Vec<plan::Step> = steps
        .into_iter()
        .filter(|st| !skipped.contains_key(&st.mode))
        .collect();
    let recorder = Arc::new(
        Recorder::new(&dir, run_start)
            .map_err(|e| fail(anyhow::anyhow!("creating {}: {e}", dir.display())))?,
    );

    let total_share: f64 = streams.iter().map(|st| st.share).sum();
    let harness = Arc::new(Harness {
        streams: streams
            .iter()
            .map(|st| StreamPlan::new(st.clone(), st.share / total_share, &principals, opts.shard))
            .collect(),
        clients: target.clients.clone(),
        seed,
        recorder: recorder.clone(),
        cancel: cancel.clone(),
        kms: kms_env,
        shard: opts.shard,
    });

    // The in-process simulator's counters feed the per-second KMS column.
    let counter = target.kms_counter();
    let ticker = {
        let (recorder, counter) = (recorder.clone(), counter.clone());
        tokio::spawn(async move {
            let mut iv = tokio::time::interval_at(
                tokio::time::Instant::now() + Duration::from_secs(1),
                Duration::from_secs(1),
            );
            iv.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                iv.tick().await;
                let totals = counter.as_ref().map(|c| c.kms_totals());
                if let Err(e) = recorder.tick(totals) {
                    tracing::error!("writing the time series failed: {e}");
                    break;
                }
            }
        })
    };
    let progress = crate::progress::spawn(recorder.clone(), opts.quiet);

    let mut step_kms = Vec::new();
    let mut prefills: Vec<(Mode, f64, f64)> = Vec::new();
    let mut prefilled: BTreeSet<Mode> = BTreeSet::new();
    let mut incomplete: Option<String> = None;
    let mut barrier: Option<crate::shard::Barrier> = None;
    let shared_counter = target.sim.is_none() && target.admin.is_some();
    if shared_counter && !opts.shard.is_single() && target.created.is_empty() {
        tracing::warn!(
            "shard {}: buckets shared with other workers (--bucket): this shard's KMS counts are the whole target's",
            opts.shard
        );
    }
    for step in &steps {
        if cancel.is_cancelled() {
            break;
        }
        let buckets = Arc::new(driver::Placement {
            buckets: streams
                .iter()
                .map(|st| {
                    target
                        .buckets
                        .get(&(step.mode, st.bucket_role().to_owned()))
                        .cloned()
                        .unwrap_or_default()
                })
                .collect(),
            // Modes share reused buckets: each writes under its own part of the run prefix.
            key_prefix: if target.key_prefix.is_empty() {
                String::new()
            } else {
                format!("{}{}/", target.key_prefix, step.mode)
            },
            sse: target.sse_for(step.mode),
        });
        if prefilled.insert(step.mode) && !kms_scenario && streams.iter().any(|st| st.prefill) {
            progress.set_label(format!("{} prefill", step.mode));
            let from = run_start.elapsed().as_secs_f64();
            let failed = driver::prefill(&harness, buckets.clone(), 32).await;
            prefills.push((step.mode, from, run_start.elapsed().as_secs_f64()));
            if failed > 0 {
                tracing::warn!("{}: {failed} prefill writes failed", step.mode);
            }
            if let Some(hook) = &after_prefill {
                hook(&target, step.mode);
            }
        }
        let phase = &s.phases[step.phase];
        progress.set_label(format!(
            "{} {} round {}",
            step.mode,
            step.phase_name,
            step.round + 1
        ));
        progress.set_length(phase.duration.map(|d| d.0));
        if let Some(at) = start_at
            && barrier.is_none()
        {
            progress.set_label(format!(
                "waiting for --start-at {}",
                opts.start_at.as_deref().unwrap_or("")
            ));
            let b = crate::shard::wait_until(at, &cancel).await;
            if b.late_by_s > 0.0 {
                eprintln!(
                    "shard {}: reached the start instant {} {:.3} s late",
                    opts.shard, b.start_at, b.late_by_s
                );
            }
            barrier = Some(b);
            if cancel.is_cancelled() {
                break;
            }
        }
        let before: Option<KmsStats> = target.kms_snapshot().await;
        let attempts_before = target.attempts.0.load(std::sync::atomic::Ordering::Relaxed);
        recorder.begin_step(
            step.mode,
            &step.phase_name,
            step.round,
            step.record,
            streams.iter().map(|st| st.name.clone()).collect(),
        );
        let step_seed = seed ^ (step.index as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        driver::run_phase(&harness, buckets, phase, step_seed).await;
        recorder.end_step();
        if let (Some(after), Some(before)) = (target.kms_snapshot().await, before) {
            let mut calls = after.since(&before);
            // Other workers use the same simulator: a shard counts the calls made for
            // its own buckets (merge adds them up; per-second readings stay target-wide).
            if shared_counter && !opts.shard.is_single() && !target.created.is_empty() {
                calls.retain(|c| target.created.contains(&c.bucket));
            }
            step_kms.push(summary::StepKms {
                mode: step.mode,
                record: step.record,
                calls,
                per_second: after.seconds_since(&before),
                attempts: target.attempts.0.load(std::sync::atomic::Ordering::Relaxed)
                    - attempts_before,
            });
        }
    }
    if cancel.is_cancelled() {
        incomplete = Some("interrupted (SIGINT/SIGTERM)".into());
    }
    ticker.abort();
    progress.finish();
    let recorded = recorder
        .finish()
        .map_err(|e| fail(anyhow::anyhow!("writing measurements: {e}")))?;

    // A real target gets back what the run put there (Ctrl-C included), unless --keep.
    let created: Vec<String> = target.created.iter().cloned().collect();
    let left_behind = if target.sim.is_some() {
        Vec::new()
    } else if opts.keep {
        if !opts.quiet {
            if target.key_prefix.is_empty() {
                eprintln!(
                    "--keep: left {} bucket(s) tagged sse-bench:run={run_id}",
                    created.len()
                );
            } else {
                eprintln!(
                    "--keep: left the run's objects under {} in {}",
                    target.key_prefix,
                    target.bucket_names().join(", ")
                );
            }
        }
        created.clone()
    } else {
        let left = target.cleanup(&run_id).await;
        report_left_behind(&left);
        left.into_iter().map(|l| l.what).collect()
    };
    let created_key = target.retire_key(opts.keep).await;
    let ended = time::OffsetDateTime::now_utc();
    let kms_account_wide = account_wide_kms(&target, ls, started_wall, ended, &cancel).await;
    let stream_roles: BTreeMap<String, String> = streams
        .iter()
        .map(|st| (st.name.clone(), st.bucket_role().to_owned()))
        .collect();
    let bucket_roles: BTreeMap<String, String> = target
        .buckets
        .iter()
        .map(|((_, role), b)| (b.clone(), role.clone()))
        .collect();
    let principal_names: BTreeMap<String, String> = match &target.sim {
        Some(sim) => sim
            .credentials()
            .iter()
            .zip(&principals)
            .map(|(c, n)| (c.access_key_id.clone(), n.clone()))
            .collect(),
        None => BTreeMap::new(),
    };
    let target_info = summary::TargetInfo {
        kind: match target.spec {
            TargetSpec::Embedded => "embedded",
            TargetSpec::Endpoint(_) => "endpoint",
            TargetSpec::Aws => "aws",
        }
        .into(),
        label: target.label(),
        region: target.region.clone(),
        kms_key_arn: target.kms_key_arn.clone(),
        simulator: target.sim.as_ref().map(|sim| {
            let mut v = serde_json::to_value(sim.config()).unwrap_or_default();
            if let Some(o) = v.as_object_mut() {
                o.remove("credentials");
                o.insert(
                    "kms_quota_rps".into(),
                    serde_json::json!(sim.state().kms.quota.limit()),
                );
            }
            v
        }),
        buckets: created,
        left_behind,
        kms_counts: if target.kms_measured() {
            "measured"
        } else if target.spec == TargetSpec::Aws {
            "predicted"
        } else {
            "unavailable"
        }
        .into(),
        key_prefix: (!target.key_prefix.is_empty()).then(|| target.key_prefix.clone()),
        reused_buckets: if target.key_prefix.is_empty() {
            Vec::new()
        } else {
            target.bucket_names()
        },
        created_key,
        skipped_modes: skipped
            .iter()
            .map(|(m, why)| summary::SkippedMode {
                mode: *m,
                reason: why.clone(),
            })
            .collect(),
    };
    let prices = match summary::PriceInfo::from_table(&price_table, &target.region) {
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!("costs left out: {e}");
            None
        }
    };
    let rules = target
        .sim
        .as_ref()
        .map_or_else(crate::kms::KmsRules::default, |sim| {
            crate::kms::KmsRules::from_sim(sim.config())
        });
    let quota_rps = target
        .kms_quota()
        .or(prices.as_ref().map(|p| p.prices.kms_quota_rps));
    // Skipped modes have no rows; the scenario echo (summary.scenario_toml) stays whole.
    let mut measured_ls = ls.clone();
    measured_ls
        .scenario
        .modes
        .retain(|m| !skipped.contains_key(m));
    let keys = u32::from(target.kms_key_arn.is_some());
    let record = crate::merge::ShardRecord {
        format: crate::merge::SHARD_FORMAT,
        shard: opts.shard,
        scenario_sha256: crate::merge::scenario_digest(&ls.text),
        seed,
        start_unix: recorder.start_unix(),
        started_at: rfc3339(started_wall),
        ended_at: rfc3339(ended),
        incomplete_reason: incomplete.clone(),
        barrier: barrier.clone(),
        kms_counter: if target.sim.is_some() {
            "own"
        } else if target.admin.is_some() {
            "shared"
        } else {
            "none"
        }
        .into(),
        target: target_info.clone(),
        quota_rps,
        keys,
        series: recorded
            .stats
            .iter()
            .map(|(k, v)| crate::merge::SeriesRecord::of(k, v))
            .collect(),
        steps: recorded.steps.clone(),
        kms_per_second: recorded.kms_per_second.clone(),
        step_kms: step_kms.clone(),
        prefills: prefills.clone(),
        bucket_roles: bucket_roles.clone(),
        principal_names: principal_names.clone(),
        stream_roles: stream_roles.clone(),
        kms_account_wide: kms_account_wide.clone(),
    };
    let mut summary = summary::build(
        &recorded,
        summary::BuildInput {
            scenario: &measured_ls,
            seed,
            target: target_info,
            quota_rps,
            step_kms,
            bucket_roles,
            principal_names,
            stream_roles,
            started_at: rfc3339(started_wall),
            ended_at: rfc3339(ended),
            duration_s: run_start.elapsed().as_secs_f64(),
            incomplete_reason: incomplete,
            rules,
            prefills,
            prices,
            hours_per_month: price_table.hours_per_month,
            // The run's KMS modes share one customer-managed key.
            keys,
            kms_account_wide,
        },
        &measured_ls.thresholds,
    );
    if !opts.shard.is_single() || barrier.is_some() {
        summary.shards = Some(summary::ShardsInfo {
            count: opts.shard.count,
            index: Some(opts.shard.index),
            start_at: barrier.as_ref().map(|b| b.start_at.clone()),
            late_by_s: barrier.as_ref().map(|b| b.late_by_s),
            merged: Vec::new(),
        });
    }
    let record_json = serde_json::to_vec(&record).map_err(|e| {
        fail(anyhow::anyhow!(
            "encoding {}: {e}",
            crate::merge::SHARD_FILE
        ))
    })?;
    results::write_atomic(&dir.join(crate::merge::SHARD_FILE), &record_json)
        .map_err(|e| fail(anyhow::anyhow!("writing {}: {e}", dir.display())))?;
    results::write_dir(&dir, &summary, &ls.text)
        .map_err(|e| fail(anyhow::anyhow!("writing {}: {e}", dir.display())))?;
    // Charts and reports: a failure here loses nothing measured, so it is a warning.
    match crate::report::load(&dir).and_then(|data| crate::report::render(&[data], &dir)) {
        Ok(_) => {}
        Err(e) => tracing::warn!("charts and report not written: {e}"),
    }
    if let Some(name) = &opts.save_baseline {
        if summary.complete {
            let dest = baselines_dir().join(name);
            results::save_baseline(&dest, &summary, &ls.text)
                .map_err(|e| fail(anyhow::anyhow!("saving baseline {}: {e}", dest.display())))?;
            if !opts.quiet {
                eprintln!("baseline saved: {}", dest.display());
            }
        } else {
            tracing::warn!("the run is incomplete: baseline {name} not saved");
        }
    }
    // `--out s3://...`: the directory goes up (summary.json last); the local copy is
    // removed only once everything is there.
    let dir = match &remote {
        Some(url) => match crate::results::remote::upload_dir(&dir, url, &opts.access).await {
            Ok(()) => {
                let _ = std::fs::remove_dir_all(&dir);
                PathBuf::from(url.to_string())
            }
            Err(e) => {
                eprintln!(
                    "error: uploading the results to {url} failed ({e:#}); they are in {}",
                    dir.display()
                );
                return Err(fail(anyhow::anyhow!("uploading results to {url}: {e:#}")));
            }
        },
        None => dir,
    };
    let exit_code = if !summary.complete {
        exit::INTERRUPTED
    } else if summary.thresholds.iter().any(|t| !t.passed) {
        exit::THRESHOLD
    } else {
        exit::OK
    };
    Ok(RunOutcome {
        summary,
        dir,
        exit_code,
    })
}

/// CloudWatch's account-wide KMS count over the run, when `[target.cloudwatch]` asks for
/// it (real AWS, or an endpoint target with a CloudWatch endpoint). Optional: a failure
/// is a warning, and Ctrl-C during the settle wait skips it.
async fn account_wide_kms(
    target: &Target,
    ls: &LoadedScenario,
    start: time::OffsetDateTime,
    end: time::OffsetDateTime,
    cancel: &Cancel,
) -> Option<crate::kms::cloudwatch::AccountUsage> {
    let cw = ls.scenario.target.cloudwatch.as_ref()?;
    let mut o = crate::target::ClientOptions {
        endpoint: cw.endpoint.clone(),
        region: target.region.clone(),
        credentials: None,
        retry: crate::target::RetryPolicy::Standard,
        timeout: Duration::from_secs(30),
    };
    let client = match (&target.spec, &cw.endpoint, &target.sdk_config) {
        // The aws target's own chain and region; `endpoint` overrides where it is sent.
        (TargetSpec::Aws, e, Some(cfg)) => {
            let cfg = match e {
                Some(url) => cfg.to_builder().endpoint_url(url).build(),
                None => cfg.clone(),
            };
            crate::target::aws::cloudwatch_client(&cfg)
        }
        (TargetSpec::Endpoint(_), Some(_), _) => {
            o.credentials = crate::target::StaticCredentials::from_env();
            crate::target::cloudwatch_client(&o)
        }
        _ => {
            tracing::warn!(
                "[target.cloudwatch] applies to the aws target, or an endpoint target with a CloudWatch endpoint: skipped"
            );
            return None;
        }
    };
    let to_system = |t: time::OffsetDateTime| {
        std::time::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp().max(0) as u64)
    };
    if !cw.settle.0.is_zero() {
        eprintln!(
            "waiting {} for CloudWatch to publish KMS usage (Ctrl-C skips)",
            humantime::format_duration(cw.settle.0)
        );
    }
    let query = crate::kms::cloudwatch::after_settle(
        &client,
        &target.region,
        to_system(start),
        to_system(end),
        cw.settle.0,
    );
    tokio::select! {
        r = query => match r {
            Ok(u) => Some(u),
            Err(e) => {
                tracing::warn!("CloudWatch KMS usage unavailable: {e:#}");
                None
            }
        },
        _ = cancel.cancelled() => None,
    }
}

/// Prints what cleanup could not remove, and how to remove it.
fn report_left_behind(left: &[crate::target::LeftBehind]) {
    for l in left {
        eprintln!(
            "left behind: {} ({}); remove it with: {}",
            l.what, l.why, l.remove
        );
    }
}

/// KMS clients, key and a pool of data keys for a KMS scenario.
async fn kms_env(
    target: &Target,
    streams: &[scenario::Stream],
) -> anyhow::Result<driver::ops::KmsEnv> {
    let Some(first) = target.kms_clients.first() else {
        anyhow::bail!(
            "a kind = \"kms\" scenario needs a KMS endpoint: set target.kms_endpoint (or use the embedded simulator)"
        );
    };
    let key_id = target
        .kms_key_arn
        .clone()
        .ok_or_else(|| anyhow::anyhow!("no KMS key for the KMS scenario"))?;
    let context: std::collections::HashMap<String, String> =
        [("sse-bench".to_owned(), "kms-direct".to_owned())].into();
    // Decrypt works on data keys made before the run, one per key index (at most 256).
    let needs_pool = streams.iter().any(|st| st.mix.decrypt > 0);
    let n = streams
        .iter()
        .map(|st| st.keys)
        .max()
        .unwrap_or(1)
        .clamp(1, 256) as usize;
    let pool = if needs_pool {
        driver::ops::kms_pool(first, &key_id, &context, n).await?
    } else {
        Vec::new()
    };
    Ok(driver::ops::KmsEnv {
        clients: target.kms_clients.clone(),
        key_id,
        context,
        pool,
    })
}

/// `--dry-run`: what a run would do, touching nothing.
pub fn dry_run(ls: &LoadedScenario, opts: &RunOptions) -> Result<String, RunError> {
    use std::fmt::Write as _;
    let s = &ls.scenario;
    let spec = TargetSpec::resolve(opts.target.as_deref(), ls).map_err(RunError::Usage)?;
    let table = crate::cost::PriceTable::load(opts.prices.as_deref())
        .map_err(|e| RunError::Usage(e.to_string()))?;
    let seed = opts.seed.unwrap_or(s.seed);
    let steps = plan::plan(s, seed);
    // The real id is random per run.
    let run_id = "xxxxxxxx";
    let mut o = String::new();
    let _ = writeln!(o, "dry run: nothing is created, sent or written");
    let _ = writeln!(
        o,
        "scenario: {} ({}), target: {}",
        s.name,
        ls.path.display(),
        match &spec {
            TargetSpec::Embedded => "embedded simulator".to_owned(),
            TargetSpec::Endpoint(u) => format!("endpoint {u}"),
            TargetSpec::Aws => "aws".to_owned(),
        }
    );
    let _ = writeln!(o, "plan: {} steps", steps.len());
    if !opts.shard.is_single() {
        let _ = writeln!(
            o,
            "shard {}: every {}th arrival of each open-loop schedule, 1/{} of the workers, operations and keys",
            opts.shard, opts.shard.count, opts.shard.count
        );
    }
    if let Some(t) = &opts.start_at {
        let at = crate::shard::parse_start_at(t, time::OffsetDateTime::now_utc())
            .map_err(RunError::Usage)?;
        let _ = writeln!(
            o,
            "start barrier: waits for {} before the first measured phase",
            rfc3339(at)
        );
    }
    for st in &steps {
        let p = &s.phases[st.phase];
        let load = match (p.rate, p.concurrency) {
            (Some(r), _) => {
                let (a, b) = r.bounds();
                if a == b {
                    format!("open loop {a}/s")
                } else {
                    format!("open loop {a}/s to {b}/s")
                }
            }
            (None, Some(c)) => format!("closed loop, concurrency {c}"),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "  {:>3}. {} {} round {}: {load}{}{}",
            st.index + 1,
            st.mode,
            st.phase_name,
            st.round + 1,
            p.duration.map_or(String::new(), |d| format!(
                ", {}",
                humantime::format_duration(d.0)
            )),
            if st.record { "" } else { " (not measured)" }
        );
    }
    let access = opts.access.resolve(&spec)?;
    if s.kind == scenario::ScenarioKind::S3 {
        let roles: BTreeSet<String> = scenario::streams(s)
            .iter()
            .map(|st| st.bucket_role().to_owned())
            .collect();
        if access.reuse.is_empty() {
            let _ = writeln!(
                o,
                "buckets it would create (xxxxxxxx: a random id per run), tagged sse-bench:run=<id>, objects expiring after 1 day, deleted at the end{}:",
                if opts.keep { " (not: --keep)" } else { "" }
            );
            for &m in &s.modes {
                for role in &roles {
                    let _ = writeln!(
                        o,
                        "  {}",
                        crate::target::bucket_name(&s.target.bucket_prefix, run_id, m, role)
                    );
                }
            }
        } else {
            let prefix = access
                .key_prefix
                .clone()
                .unwrap_or_else(|| format!("sse-bench-{run_id}/"));
            let _ = writeln!(
                o,
                "existing buckets it would use (not reconfigured), under the key prefix {prefix} (refused if objects are there already; what it writes there is deleted at the end{}):",
                if opts.keep { ", not: --keep" } else { "" }
            );
            for role in &roles {
                let name = access
                    .bucket_for(role)
                    .unwrap_or("(no --bucket for this role)");
                let _ = writeln!(o, "  {role}: {name}");
            }
        }
    }
    if s.kind == scenario::ScenarioKind::Kms || s.modes.iter().any(|m| m.uses_kms()) {
        if access.create_key {
            let _ = writeln!(
                o,
                "KMS key: a new key it would create, tagged sse-bench:run=<id>, deletion scheduled at the end ({}-day window){}",
                crate::target::KEY_DELETION_DAYS,
                if opts.keep { " (not: --keep)" } else { "" }
            );
        } else {
            let _ = writeln!(
                o,
                "KMS key: {}",
                access.kms_key.as_deref().unwrap_or(&s.target.kms_key)
            );
        }
    }
    for (name, src) in &s.target.principals {
        let _ = writeln!(
            o,
            "principal {name}: {}{}",
            src.profile.as_deref().map_or_else(
                || "default credentials".to_owned(),
                |p| format!("profile {p}")
            ),
            src.role_arn
                .as_deref()
                .map_or(String::new(), |r| format!(", assuming {r}"))
        );
    }
    // The same region the guard prices: the simulator's for embedded runs.
    let region = access
        .region
        .clone()
        .or_else(|| s.target.region.clone())
        .unwrap_or_else(|| {
            if spec == TargetSpec::Embedded {
                s.simulator.region.clone()
            } else {
                "us-east-1".into()
            }
        });
    match table.region(&region) {
        Ok(p) => {
            let est = crate::cost::estimate::run_estimate(s, p, table.hours_per_month);
            let billed = spec != TargetSpec::Embedded;
            let _ = writeln!(
                o,
                "predicted cost{}: ${:.4} (at most {:.0} S3 operations, {:.0} KMS requests; S3 ${:.4}, KMS ${:.4}, key ${:.4}){}",
                if billed { "" } else { " on AWS" },
                est.cost.total_usd,
                est.operations,
                est.kms_requests,
                est.cost.s3_requests_usd,
                est.cost.kms_requests_usd,
                est.cost.key_usd,
                if billed {
                    format!(
                        "; --max-cost ${}",
                        opts.max_cost.unwrap_or(DEFAULT_MAX_COST)
                    )
                } else {
                    "; the embedded simulator costs nothing".into()
                }
            );
        }
        Err(e) => {
            let _ = writeln!(o, "predicted cost: unknown ({e})");
        }
    }
    Ok(o)
}

/// Cancels on SIGINT or SIGTERM.
pub fn cancel_on_signals(cancel: Arc<Cancel>) {
    tokio::spawn(async move {
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        cancel.cancel();
                        return;
                    }
                };
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        eprintln!("\nstopping: writing what was measured (marked incomplete)");
        cancel.cancel();
    });
}
