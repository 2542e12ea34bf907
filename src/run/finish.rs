//! After the last step: take back what the run created on a real target, retire a
//! key made for the run, read CloudWatch's account-wide count when asked, then one
//! run record from which the summary is built (as `merge` builds it), the results
//! files, charts, a baseline, and the upload of `--out s3://...`.

use super::execute::Executed;
use super::preflight::RunPlan;
use super::prepare::{Prepared, report_left_behind};
use super::{RunOptions, RunOutcome};
use crate::cli::exit;
use crate::error::{Error, Result};
use crate::kms::cloudwatch::AccountUsage;
use crate::results::record::{RunRecord, SHARD_FILE, SHARD_FORMAT, Series, scenario_digest};
use crate::results::summary::{self, KmsSource, SkippedMode, TargetInfo};
use crate::results::{self, Summary};
use crate::scenario::{LoadedScenario, Mode, TargetKind};
use crate::targets::{ClientOptions, RetryPolicy, StaticCredentials, Target, TargetSpec};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;

/// RFC 3339, UTC.
pub(super) fn rfc3339(t: time::OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// Where `--save-baseline` writes (`SSE_BENCH_BASELINES` overrides `results/baselines`).
fn baselines_dir() -> PathBuf {
    std::env::var_os("SSE_BENCH_BASELINES")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("results").join("baselines"))
}

/// Cleans up a real target (Ctrl-C included) unless `--keep`; returns what is left there.
async fn take_back(target: &Target, plan: &RunPlan, opts: &RunOptions) -> Vec<String> {
    if target.spec == TargetSpec::Embedded {
        target.flush_sim_logs();
        return Vec::new();
    }
    let created: Vec<String> = target.created.iter().cloned().collect();
    if !opts.keep {
        let left = target.cleanup(&plan.run_id).await;
        report_left_behind(&left);
        return left.into_iter().map(|l| l.what).collect();
    }
    if !opts.quiet {
        if target.key_prefix.is_empty() {
            eprintln!(
                "--keep: left {} bucket(s) tagged sse-bench:run={}",
                created.len(),
                plan.run_id
            );
        } else {
            eprintln!(
                "--keep: left the run's objects under {} in {}",
                target.key_prefix,
                target.bucket_names().join(", ")
            );
        }
    }
    created
}

/// Ends the run: cleanup, record, summary, files. `started` is the wall clock and the
/// monotonic instant of the run's start.
pub(super) async fn finish(
    ls: &LoadedScenario,
    plan: &RunPlan,
    opts: &RunOptions,
    ready: Prepared,
    done: Executed,
    started: (time::OffsetDateTime, Instant),
    cancel: &CancellationToken,
) -> Result<RunOutcome, Error> {
    let target = &ready.target;
    let left_behind = take_back(target, plan, opts).await;
    let created_key = target.retire_key(opts.keep).await;
    let ended = time::OffsetDateTime::now_utc();
    let kms_account_wide = account_wide_kms(target, ls, started.0, ended, cancel).await;
    let record = RunRecord {
        started_at: rfc3339(started.0),
        ended_at: rfc3339(ended),
        duration_s: started.1.elapsed().as_secs_f64(),
        incomplete_reason: done.incomplete,
        barrier: done.barrier,
        target: target_info(target, &ready, left_behind, created_key),
        series: done
            .recorded
            .stats
            .into_iter()
            .map(|(key, stats)| Series { key, stats })
            .collect(),
        steps: done.recorded.steps,
        kms_per_second: done.recorded.kms_per_second,
        step_kms: done.step_kms,
        prefills: done.prefills,
        kms_account_wide,
        ..started_record(ls, plan, opts, &ready, done.start_unix)
    };
    let mut record = record;
    let mut summary = results::build(&record, ls, &plan.prices);
    if let Some(counts) = cloudtrail_kms(target, opts, &summary, started.0, ended, cancel).await {
        record.kms_cloudtrail = Some(counts);
        summary = results::build(&record, ls, &plan.prices);
    }
    if !opts.shard.is_single() || record.barrier.is_some() {
        summary.shards = Some(summary::ShardsInfo {
            count: opts.shard.count,
            index: Some(opts.shard.index),
            start_at: record.barrier.as_ref().map(|b| b.start_at.clone()),
            late_by_s: record.barrier.as_ref().map(|b| b.late_by_s),
            merged: Vec::new(),
        });
    }
    let dir = &plan.dir;
    let record_json = serde_json::to_vec(&record)
        .map_err(|e| Error::failure(format!("encoding {SHARD_FILE}: {e}")))?;
    // A full or unwritable disk: every file goes in whole or not at all, and the
    // summary in memory is still printed, with the error.
    let written = results::write_atomic(&dir.join(SHARD_FILE), &record_json)
        .and_then(|()| results::write_dir(dir, &summary, &ls.text))
        .map_err(|e| format!("writing the results into {}: {e}", dir.display()));
    if let Some(e) = done.stream_error.clone().or(written.clone().err()) {
        return Ok(RunOutcome {
            exit_code: exit::FAILURE,
            summary,
            dir: dir.clone(),
            write_error: Some(e),
        });
    }
    // Charts and reports: a failure here loses nothing measured, so it is a warning.
    if let Err(e) = crate::report::load(dir).and_then(|data| crate::report::render(&[data], dir)) {
        tracing::warn!("charts and report not written: {e}");
    }
    save_baseline(&summary, ls, opts)?;
    append_history(&summary, opts).await?;
    let dir = upload(plan, opts).await?;
    Ok(RunOutcome {
        exit_code: exit_code(&summary),
        summary,
        dir,
        write_error: None,
    })
}

/// The exit code a finished run's summary calls for.
fn exit_code(summary: &Summary) -> i32 {
    if !summary.complete {
        match &summary.incomplete_reason {
            Some(r) if r.starts_with(super::COST_CAP_REASON) => exit::COST_CAP,
            _ => exit::INTERRUPTED,
        }
    } else if summary
        .thresholds
        .iter()
        .any(|t| !t.passed && t.skipped.is_none())
    {
        exit::THRESHOLD
    } else {
        exit::OK
    }
}

/// `--save-baseline NAME`: a complete run's summary and scenario under `results/baselines/NAME/`.
fn save_baseline(summary: &Summary, ls: &LoadedScenario, opts: &RunOptions) -> Result<(), Error> {
    let Some(name) = &opts.save_baseline else {
        return Ok(());
    };
    if !summary.complete {
        tracing::warn!("the run is incomplete: baseline {name} not saved");
        return Ok(());
    }
    let dest = baselines_dir().join(name);
    results::save_baseline(&dest, summary, &ls.text)
        .map_err(|e| Error::failure(format!("saving baseline {}: {e}", dest.display())))?;
    if !opts.quiet {
        eprintln!("baseline saved: {}", dest.display());
    }
    Ok(())
}

/// `--history`: a complete run's record joins the history.
async fn append_history(summary: &Summary, opts: &RunOptions) -> Result<(), Error> {
    let Some(at) = &opts.history else {
        return Ok(());
    };
    if !summary.complete {
        tracing::warn!("the run is incomplete: not added to the history {at}");
        return Ok(());
    }
    let record = crate::compare::HistoryRecord::of(summary);
    let path = crate::compare::history::append(at, &record, &opts.access).await?;
    if !opts.quiet {
        eprintln!("history: {path}");
    }
    Ok(())
}

/// `--out s3://...`: the directory goes up (summary.json last); the local copy is
/// removed only once everything is there. Returns where the results are.
async fn upload(plan: &RunPlan, opts: &RunOptions) -> Result<PathBuf, Error> {
    let Some(url) = &plan.remote else {
        return Ok(plan.dir.clone());
    };
    match crate::remote::upload_dir(&plan.dir, url, &opts.access).await {
        Ok(()) => {
            let _ = std::fs::remove_dir_all(&plan.dir);
            Ok(PathBuf::from(url.to_string()))
        }
        Err(e) => {
            eprintln!(
                "error: uploading the results to {url} failed ({e}); they are in {}",
                plan.dir.display()
            );
            Err(Error::failure(format!("uploading results to {url}: {e}")))
        }
    }
}

/// The run's own KMS calls from CloudTrail event history (aws target, unless
/// `--no-cloudtrail`), read until the count holds at the predicted count or more, or the
/// wait's bound passes. Optional: a failure is a warning; Ctrl-C skips it.
async fn cloudtrail_kms(
    target: &Target,
    opts: &RunOptions,
    summary: &Summary,
    start: time::OffsetDateTime,
    end: time::OffsetDateTime,
    cancel: &CancellationToken,
) -> Option<crate::kms::cloudtrail::TrailCounts> {
    use crate::kms::cloudtrail;
    let bound = opts.cloudtrail?;
    let cfg = target
        .sdk_config
        .as_ref()
        .filter(|_| target.spec == TargetSpec::Aws)?;
    let client = crate::targets::aws::cloudtrail_client(cfg, Duration::from_secs(30));
    let buckets = target
        .buckets
        .iter()
        .map(|((mode, _), b)| (b.clone(), *mode))
        .collect();
    // The model's count is a floor: Bucket Key predictions are lower bounds.
    let at_least = summary
        .kms
        .iter()
        .map(|k| k.predicted.calls.floor() as u64)
        .sum();
    // A minute's slack either side: CloudTrail's event times are S3's, not ours.
    let (from, to) = (
        to_system(start) - Duration::from_secs(60),
        to_system(end) + Duration::from_secs(60),
    );
    let clock = cloudtrail::RealClock::start();
    let poll = (bound / 10).clamp(Duration::from_millis(200), Duration::from_secs(60));
    if !opts.quiet {
        eprintln!(
            "reading the run's KMS calls from CloudTrail (delivery takes up to about 15 minutes; waiting at most {}, Ctrl-C skips)",
            humantime::format_duration(bound)
        );
    }
    let read = cloudtrail::settle(&clock, poll, bound, at_least, || async {
        let events = cloudtrail::lookup(&client, &clock, from, to, bound).await?;
        Ok(cloudtrail::attribute(&events, &buckets))
    });
    optional("CloudTrail KMS counts", read, cancel).await
}

/// CloudWatch's account-wide KMS count over the run, when `[target.cloudwatch]` asks for
/// it (real AWS, or an endpoint target with a CloudWatch endpoint). Optional: a failure
/// is a warning, and Ctrl-C during the settle wait skips it.
async fn account_wide_kms(
    target: &Target,
    ls: &LoadedScenario,
    start: time::OffsetDateTime,
    end: time::OffsetDateTime,
    cancel: &CancellationToken,
) -> Option<AccountUsage> {
    let cw = ls.scenario.target.cloudwatch.as_ref()?;
    let client = match (target.spec.kind(), &cw.endpoint, &target.sdk_config) {
        // The aws target's own chain and region; `endpoint` overrides where it is sent.
        (TargetKind::Aws, e, Some(cfg)) => {
            let cfg = match e {
                Some(url) => cfg.to_builder().endpoint_url(url).build(),
                None => cfg.clone(),
            };
            crate::targets::aws::cloudwatch_client(
                &cfg,
                RetryPolicy::Standard,
                Duration::from_secs(30),
            )
        }
        (TargetKind::Endpoint, Some(_), _) => crate::targets::cloudwatch_client(&ClientOptions {
            endpoint: cw.endpoint.clone(),
            region: target.region.clone(),
            credentials: StaticCredentials::from_env(),
            retry: RetryPolicy::Standard,
            timeout: Duration::from_secs(30),
        }),
        _ => {
            tracing::warn!(
                "[target.cloudwatch] applies to the aws target, or an endpoint target with a CloudWatch endpoint: skipped"
            );
            return None;
        }
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
    optional("CloudWatch KMS usage", query, cancel).await
}

/// A wall-clock time as a `SystemTime`, for the AWS readers' windows.
fn to_system(t: time::OffsetDateTime) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + Duration::from_secs(t.unix_timestamp().max(0) as u64)
}

/// An optional reading after the run: its value, or `None` with a warning naming
/// `what` when it fails, or at once when Ctrl-C cancels the wait.
async fn optional<T>(
    what: &str,
    read: impl std::future::Future<Output = Result<T>>,
    cancel: &CancellationToken,
) -> Option<T> {
    tokio::select! {
        r = read => match r {
            Ok(v) => Some(v),
            Err(e) => {
                tracing::warn!("{what} unavailable: {e}");
                None
            }
        },
        _ = cancel.cancelled() => None,
    }
}

/// What the run ran against, as the results describe it.
fn target_info(
    target: &Target,
    ready: &Prepared,
    left_behind: Vec<String>,
    created_key: Option<crate::targets::CreatedKey>,
) -> TargetInfo {
    TargetInfo {
        kind: target.spec.kind(),
        label: target.label(),
        region: target.region.clone(),
        kms_key_arn: target.kms_key_arn.clone(),
        simulator: target.simulator_settings(),
        buckets: target.created.iter().cloned().collect(),
        left_behind,
        kms_counts: if target.kms_measured() {
            KmsSource::Measured
        } else if target.spec == TargetSpec::Aws {
            KmsSource::Predicted
        } else {
            KmsSource::Unavailable
        },
        key_prefix: (!target.key_prefix.is_empty()).then(|| target.key_prefix.clone()),
        reused_buckets: if target.key_prefix.is_empty() {
            Vec::new()
        } else {
            target.bucket_names()
        },
        created_key,
        skipped_modes: ready
            .skipped
            .iter()
            .map(|(m, why)| SkippedMode {
                mode: *m,
                reason: why.clone(),
            })
            .collect(),
    }
}

/// The run record as it stands when the steps begin: written as `run.partial.json`,
/// so a run killed without a chance to finish can still be reported
/// (`sse-bench report` rebuilds what it measured from the streamed files).
pub(super) fn started_record(
    ls: &LoadedScenario,
    plan: &RunPlan,
    opts: &RunOptions,
    ready: &Prepared,
    start_unix: f64,
) -> RunRecord {
    let target = &ready.target;
    let started = time::OffsetDateTime::from_unix_timestamp_nanos((start_unix * 1e9) as i128)
        .unwrap_or_else(|_| time::OffsetDateTime::now_utc());
    RunRecord {
        format: SHARD_FORMAT,
        shard: opts.shard,
        scenario_sha256: scenario_digest(&ls.text),
        seed: plan.seed,
        start_unix,
        started_at: rfc3339(started),
        ended_at: String::new(),
        duration_s: 0.0,
        incomplete_reason: Some(
            "the run did not finish (the process ended before writing its results): rebuilt from the streamed files".into(),
        ),
        barrier: None,
        kms_counter: target.counter_scope(),
        target: target_info(target, ready, Vec::new(), None),
        quota_rps: quota_rps(target, plan),
        // The run's KMS modes share one customer-managed key.
        keys: u32::from(target.kms_key_arn.is_some()),
        key_billing: crate::prices::KeyBilling::for_target(&ls.scenario.target),
        series: Vec::new(),
        steps: Vec::new(),
        kms_per_second: BTreeMap::new(),
        step_kms: Vec::new(),
        prefills: Vec::new(),
        bucket_roles: target
            .buckets
            .iter()
            .map(|((_, role), b)| (b.clone(), role.clone()))
            .collect(),
        bucket_modes: bucket_modes(target),
        principal_names: target.principal_names(),
        stream_roles: plan
            .streams
            .iter()
            .map(|(st, _)| (st.name.clone(), st.bucket_role().to_owned()))
            .collect::<BTreeMap<_, _>>(),
        kms_account_wide: None,
        kms_cloudtrail: None,
        bucket_sets: 1,
    }
}

/// Each bucket the run made for one mode, with its mode (buckets several modes share
/// are left out: their calls cannot be told apart by bucket).
fn bucket_modes(target: &Target) -> BTreeMap<String, Mode> {
    let mut modes: BTreeMap<&String, BTreeSet<Mode>> = BTreeMap::new();
    for ((mode, _), b) in &target.buckets {
        modes.entry(b).or_default().insert(*mode);
    }
    modes
        .into_iter()
        .filter_map(
            |(b, m)| match m.into_iter().collect::<Vec<_>>().as_slice() {
                [one] => Some((b.clone(), *one)),
                _ => None,
            },
        )
        .collect()
}

fn quota_rps(target: &Target, plan: &RunPlan) -> Option<u64> {
    target.kms_quota().or_else(|| {
        plan.prices
            .region(&target.region)
            .ok()
            .map(|p| p.kms_quota_rps)
    })
}
