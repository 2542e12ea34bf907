//! Everything a run decides before it touches a target, decided once into a
//! [`RunPlan`]: the target and its flags, the steps, principals and bucket roles, the
//! start barrier, the machine's bounds, the priced region with its prices and the
//! run's cost estimate, and where the results go. `validate`, `run --dry-run`, the run
//! itself and its cost cap all read the same plan. A problem here is a usage error
//! (exit 2) and nothing has been created or sent.

use super::{DEFAULT_MAX_COST, RunOptions};
use crate::bounds::MemoryEstimate;
use crate::cost::RunEstimate;
use crate::error::Error;
use crate::plan::{self, Step};
use crate::prices::{PriceTable, RegionPrices};
use crate::remote::S3Url;
use crate::scenario::{LoadedScenario, Stream};
use crate::targets::{Access, TargetSpec};
use std::path::PathBuf;

/// What a run decided before anything is touched.
pub struct RunPlan {
    /// The target.
    pub spec: TargetSpec,
    /// How the run may use it.
    pub access: Access,
    /// The seed in force.
    pub seed: u64,
    /// The steps, in order.
    pub steps: Vec<Step>,
    /// The streams with their normalised shares.
    pub streams: Vec<(Stream, f64)>,
    /// Every principal name.
    pub principals: Vec<String>,
    /// The bucket roles.
    pub roles: Vec<String>,
    /// The start barrier instant (`--start-at`).
    pub start_at: Option<time::OffsetDateTime>,
    /// The price table in force (built in, or merged with `--prices`).
    pub prices: PriceTable,
    /// The region the run is priced in, with its prices and the run's cost estimate;
    /// `None` only when the scenario wants no costs and the region has no prices.
    pub priced: Option<Priced>,
    /// What the run asks of this machine's memory (within its limits, or the plan
    /// would not exist).
    pub memory: MemoryEstimate,
    /// The local results directory.
    pub dir: PathBuf,
    /// Where it is uploaded at the end (`--out s3://...`).
    pub remote: Option<S3Url>,
    /// A random id naming the run's buckets and tags.
    pub run_id: String,
}

/// A run's prices and what it costs, in the region it is priced in.
pub struct Priced {
    /// The simulator's region on the embedded target, else the billed one.
    pub region: String,
    /// Its prices.
    pub prices: RegionPrices,
    /// The run's cost: a bound when every phase is open loop or counted.
    pub estimate: RunEstimate,
}

impl RunPlan {
    /// The cost cap in force: `--max-cost`, by default $1 on targets that bill.
    pub fn cost_limit(&self, opts: &RunOptions) -> Option<f64> {
        opts.max_cost
            .or_else(|| (self.spec != TargetSpec::Embedded).then_some(DEFAULT_MAX_COST))
    }

    /// Why the cost guard refuses this run, if it does: a bound above the cap cannot
    /// finish. An estimate above it may still fit; the running total stops the run at
    /// the cap if not.
    pub fn refused_by_cost(&self, opts: &RunOptions) -> Option<String> {
        let (Some(max), Some(p)) = (self.cost_limit(opts), &self.priced) else {
            return None;
        };
        (self.spec != TargetSpec::Embedded && p.estimate.bound && p.estimate.cost.total_usd > max)
            .then(|| {
                format!(
                    "predicted cost ${:.4} is above --max-cost ${max}: nothing was started (raise --max-cost to run it)",
                    p.estimate.cost.total_usd
                )
            })
    }
}

/// Decides a run: everything about the scenario, the options and this machine that
/// can be known without credentials or a target.
pub fn plan(ls: &LoadedScenario, opts: &RunOptions) -> Result<RunPlan, Error> {
    let s = &ls.scenario;
    let spec = TargetSpec::resolve(opts.target.as_deref(), ls)?;
    let principals = s.principals();
    let roles = s.bucket_roles();
    if let Some(name) = &opts.save_baseline
        && (name.is_empty()
            || !name.chars().all(crate::scenario::is_name_char)
            || name.starts_with('.'))
    {
        return Err(Error::Usage(format!(
            "--save-baseline: expected letters, digits, '-', '_' or '.', got {name:?}"
        )));
    }
    let access = opts.access.resolve(&spec)?;
    let start_at = opts
        .start_at
        .as_deref()
        .map(|t| crate::shard::parse_start_at(t, time::OffsetDateTime::now_utc()))
        .transpose()?;
    access.check_roles(&roles)?;
    unmapped_principals(ls, &spec, &principals)?;
    let memory = bounds(ls, opts, &spec)?;
    let prices = PriceTable::load(opts.prices.as_deref())?;
    let priced = priced(ls, opts, &access, &spec, &prices)?;
    let (dir, remote) = out_dir(ls, opts)?;
    let seed = opts.seed.unwrap_or(s.seed);
    Ok(RunPlan {
        steps: plan::plan(s, seed),
        streams: s.shares(),
        spec,
        access,
        seed,
        principals,
        roles,
        start_at,
        prices,
        priced,
        memory,
        dir,
        remote,
        run_id: format!("{:08x}", rand::random::<u32>()),
    })
}

/// The plan, and what the environment must hold for it (credentials an endpoint
/// signs with); then the cost guard: on a billed target nothing is touched when the
/// bound is above the cap.
pub(super) fn check(ls: &LoadedScenario, opts: &RunOptions) -> Result<RunPlan, Error> {
    let plan = plan(ls, opts)?;
    credentials(ls, &plan)?;
    if plan.spec != TargetSpec::Embedded
        && let Some(p) = &plan.priced
        && !opts.quiet
    {
        let what = if p.estimate.bound {
            "predicted cost of this run, at most"
        } else {
            "estimated cost of this run (not a bound: closed-loop phases go as fast as the target answers)"
        };
        eprintln!(
            "{what}: ${:.4} ({} {:.0} S3 operations, {:.0} KMS requests); --max-cost ${} is enforced as the run goes",
            p.estimate.cost.total_usd,
            p.estimate.qualifier(),
            p.estimate.operations,
            p.estimate.kms_requests,
            plan.cost_limit(opts).unwrap_or(DEFAULT_MAX_COST)
        );
    }
    match plan.refused_by_cost(opts) {
        Some(why) => Err(Error::Usage(why)),
        None => Ok(plan),
    }
}

/// On AWS every principal must be a distinct identity, or Bucket Key counts would be
/// those of one requester.
fn unmapped_principals(
    ls: &LoadedScenario,
    spec: &TargetSpec,
    principals: &[String],
) -> Result<(), Error> {
    let s = &ls.scenario;
    if *spec != TargetSpec::Aws || principals.len() < 2 {
        return Ok(());
    }
    let unmapped: Vec<&str> = principals
        .iter()
        .filter(|p| !s.target.principals.contains_key(*p))
        .map(String::as_str)
        .collect();
    if unmapped.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "the scenario has {} principals; on the aws target each needs its own credentials in [target.principals] (a profile or a role_arn), missing: {}",
        principals.len(),
        unmapped.join(", ")
    )))
}

/// An endpoint signs with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY unless a principal
/// has its own profile or role: without either it is a usage error, found before
/// anything is sent.
pub(super) fn credentials(ls: &LoadedScenario, plan: &RunPlan) -> Result<(), Error> {
    if let TargetSpec::Endpoint(url) = &plan.spec
        && crate::targets::StaticCredentials::from_env().is_none()
        && let Some(p) = plan
            .principals
            .iter()
            .find(|p| !ls.scenario.target.principals.contains_key(*p))
    {
        return Err(Error::Usage(format!(
            "endpoint target {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the endpoint (or map principal {p} in [target.principals])"
        )));
    }
    Ok(())
}

/// The scenario's demands against this machine and the absolute caps (exit 2 when
/// they do not fit); returns the memory estimate.
fn bounds(
    ls: &LoadedScenario,
    opts: &RunOptions,
    spec: &TargetSpec,
) -> Result<MemoryEstimate, Error> {
    if opts.prefill_limit == Some(0) {
        return Err(Error::Usage(
            "--prefill-limit: expected at least 1 key (set prefill = false to skip prefill)".into(),
        ));
    }
    let shape = crate::bounds::RunShape {
        embedded: *spec == TargetSpec::Embedded,
        shard: opts.shard,
        prefill_limit: opts.prefill_limit,
    };
    Ok(crate::bounds::check(
        ls,
        &crate::bounds::Machine::read(),
        shape,
    )?)
}

/// The priced region, its prices and the run's estimate. A region without prices is a
/// usage error (unless the scenario wants no costs and no cost cap applies).
fn priced(
    ls: &LoadedScenario,
    opts: &RunOptions,
    access: &Access,
    spec: &TargetSpec,
    table: &PriceTable,
) -> Result<Option<Priced>, Error> {
    let s = &ls.scenario;
    let region = priced_region(ls, access, spec);
    match table.region(&region) {
        Ok(prices) => Ok(Some(Priced {
            estimate: crate::cost::run_estimate(s, prices, table.hours_per_month),
            prices: prices.clone(),
            region,
        })),
        Err(_) if !s.costs && opts.max_cost.is_none() && *spec == TargetSpec::Embedded => Ok(None),
        Err(e) => {
            // Say where the region came from (the flag, or the scenario) and what
            // needs its prices.
            let from = if access.region.is_some() {
                format!("--region {region}: ")
            } else {
                String::new()
            };
            let way_out = if s.costs {
                "pass --prices FILE with this region's prices, or set costs = false in the scenario"
            } else {
                "the cost cap needs them: pass --prices FILE with this region's prices"
            };
            Err(Error::Usage(format!("{from}{e}: {way_out}")))
        }
    }
}

/// The region a run is priced in: the simulator's (which `--region` and `[target]
/// region` set) on the embedded target, else the billed one.
fn priced_region(ls: &LoadedScenario, access: &Access, spec: &TargetSpec) -> String {
    let s = &ls.scenario;
    let region = access.region.clone().or_else(|| s.target.region.clone());
    match spec {
        TargetSpec::Embedded => region.unwrap_or_else(|| s.simulator.region.clone()),
        _ => region.unwrap_or_else(|| "us-east-1".into()),
    }
}

/// Where the results go: `--out` (with `{shard}` replaced by this worker's index), a
/// temporary directory uploaded at the end for `--out s3://...`, or
/// `results/<name>-<UTC timestamp>`.
fn out_dir(ls: &LoadedScenario, opts: &RunOptions) -> Result<(PathBuf, Option<S3Url>), Error> {
    let name = &ls.scenario.name;
    let out = opts.out.as_ref().map(|p| {
        p.to_string_lossy()
            .replace("{shard}", &opts.shard.index.to_string())
    });
    match out {
        Some(url) if url.starts_with("s3://") => {
            let remote = S3Url::parse(&url)?;
            // Written locally first, then uploaded: summary.json last, as on disk.
            let tmp = std::env::temp_dir().join(format!(
                "sse-bench-{name}-{}-{:08x}",
                opts.shard.index,
                rand::random::<u32>()
            ));
            Ok((tmp, Some(remote)))
        }
        Some(p) => Ok((PathBuf::from(p), None)),
        None => Ok((default_out(name), None)),
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
