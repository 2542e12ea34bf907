//! `sse-bench run` as a pipeline: [`preflight`] (everything checked, nothing
//! touched, decided once into a [`RunPlan`]) → [`prepare`] (connect, provision, probe)
//! → [`execute`] (the steps) → [`finish`] (cleanup, one run record, summary, files).
//! `--dry-run` prints the plan instead of running it ([`dry_run`]). What must not
//! live here: formats (results), output (document, report), load generation (driver).

mod dry_run;
mod execute;
mod finish;
mod preflight;
mod prepare;

pub use dry_run::dry_run;
pub use preflight::{Priced, RunPlan, plan};

use crate::cli::Format;
use crate::error::Error;
use crate::results::Summary;
use crate::scenario::{self, LoadedScenario, Mode};
use crate::targets::{AccessOptions, Target};
use std::path::{Path, PathBuf};
use std::time::Instant;
use tokio_util::sync::CancellationToken;

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
    /// On the aws target: read the run's KMS calls from CloudTrail, waiting at most this
    /// long for delivery (`None`: `--no-cloudtrail`).
    pub cloudtrail: Option<std::time::Duration>,
    /// `--max-cost USD`: refuse a billed run predicted to cost more (default $1), and
    /// stop any run before its priced requests would cross it.
    pub max_cost: Option<f64>,
    /// `--prefill-limit N`: prefill the first N keys of each stream only.
    pub prefill_limit: Option<u64>,
    /// `--profile`, `--region`, `--kms-key`, `--create-key`, `--bucket`, `--key-prefix`.
    pub access: AccessOptions,
    /// `--shard I/N` (or `--shards N` with `JOB_COMPLETION_INDEX`).
    pub shard: crate::shard::Shard,
    /// `--start-at`: RFC 3339 or `+30s`.
    pub start_at: Option<String>,
    /// `--history`: where a complete run's record is appended.
    pub history: Option<crate::compare::Location>,
}

/// How the incomplete reason of a run stopped by the cost cap begins.
pub const COST_CAP_REASON: &str = "stopped at --max-cost";

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
    /// Process exit code (0, 3 for crossed thresholds, 4 at the cost cap, 130 when
    /// interrupted, 1 when the results could not be written).
    pub exit_code: i32,
    /// Why (some of) the results could not be written; the summary is still here.
    pub write_error: Option<String>,
}

/// Loads the scenario and runs it.
pub fn run(
    path: &Path,
    opts: RunOptions,
    cancel: CancellationToken,
) -> crate::BoxFuture<'_, Result<RunOutcome, Error>> {
    Box::pin(async move {
        let ls = scenario::load(path)?;
        run_loaded(&ls, opts, cancel, None).await
    })
}

/// Runs a loaded scenario.
pub fn run_loaded(
    ls: &LoadedScenario,
    opts: RunOptions,
    cancel: CancellationToken,
    after_prefill: Option<AfterPrefill>,
) -> crate::BoxFuture<'_, Result<RunOutcome, Error>> {
    Box::pin(run_pipeline(ls, opts, cancel, after_prefill))
}

async fn run_pipeline(
    ls: &LoadedScenario,
    opts: RunOptions,
    cancel: CancellationToken,
    after_prefill: Option<AfterPrefill>,
) -> Result<RunOutcome, Error> {
    let plan = preflight::check(ls, &opts)?;
    let started = (time::OffsetDateTime::now_utc(), Instant::now());
    let ready = prepare::prepare(ls, &plan, &opts).await?;
    let done = match execute::execute(
        ls,
        &plan,
        &opts,
        &ready,
        &cancel,
        after_prefill.as_ref(),
        started.1,
    )
    .await
    {
        Ok(d) => d,
        Err(e) => {
            // Nothing was measured, but a real target still gets back what was made.
            if ready.target.spec != crate::targets::TargetSpec::Embedded && !opts.keep {
                prepare::report_left_behind(&ready.target.cleanup(&plan.run_id).await);
            }
            ready.target.retire_key(opts.keep).await;
            return Err(e);
        }
    };
    finish::finish(ls, &plan, &opts, ready, done, started, &cancel).await
}

/// Cancels on SIGINT or SIGTERM.
pub fn cancel_on_signals(cancel: CancellationToken) {
    tokio::spawn(async move {
        crate::signals::interrupted().await;
        eprintln!("\nstopping: writing what was measured (marked incomplete)");
        cancel.cancel();
    });
}
