//! Everything a run checks before it touches a target: the target and its flags,
//! the plan, principals and bucket roles, the start barrier, the prices, the cost
//! guard, and where the results go. A problem here is a usage error (exit 2) and
//! nothing has been created or sent.

use super::{DEFAULT_MAX_COST, RunOptions};
use crate::error::Error;
use crate::plan::{self, Step};
use crate::prices::PriceTable;
use crate::remote::S3Url;
use crate::scenario::{LoadedScenario, Stream};
use crate::targets::{Access, TargetSpec};
use std::path::PathBuf;

/// What preflight settled.
pub(super) struct Preflight {
    /// The target.
    pub spec: TargetSpec,
    /// How the run may use it.
    pub access: Access,
    /// The seed in force.
    pub seed: u64,
    /// The plan.
    pub steps: Vec<Step>,
    /// The streams with their normalised shares.
    pub streams: Vec<(Stream, f64)>,
    /// Every principal name.
    pub principals: Vec<String>,
    /// The bucket roles.
    pub roles: Vec<String>,
    /// The start barrier instant (`--start-at`).
    pub start_at: Option<time::OffsetDateTime>,
    /// The prices in force.
    pub prices: PriceTable,
    /// The local results directory.
    pub dir: PathBuf,
    /// Where it is uploaded at the end (`--out s3://...`).
    pub remote: Option<S3Url>,
    /// A random id naming the run's buckets and tags.
    pub run_id: String,
}

/// Checks a run before anything starts.
pub(super) fn check(ls: &LoadedScenario, opts: &RunOptions) -> Result<Preflight, Error> {
    let s = &ls.scenario;
    let spec = TargetSpec::resolve(opts.target.as_deref(), ls).map_err(Error::Usage)?;
    let seed = opts.seed.unwrap_or(s.seed);
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
        .transpose()
        .map_err(Error::Usage)?;
    access.check_roles(&roles).map_err(Error::Usage)?;
    // On AWS every principal must be a distinct identity, or Bucket Key counts would be
    // those of one requester.
    if spec == TargetSpec::Aws && principals.len() > 1 {
        let unmapped: Vec<&str> = principals
            .iter()
            .filter(|p| !s.target.principals.contains_key(*p))
            .map(String::as_str)
            .collect();
        if !unmapped.is_empty() {
            return Err(Error::Usage(format!(
                "the scenario has {} principals; on the aws target each needs its own credentials in [target.principals] (a profile or a role_arn), missing: {}",
                principals.len(),
                unmapped.join(", ")
            )));
        }
    }
    // An endpoint signs with AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY unless a principal
    // has its own profile or role: without either it is a usage error, found before
    // anything is sent.
    if let TargetSpec::Endpoint(url) = &spec
        && crate::targets::StaticCredentials::from_env().is_none()
        && let Some(p) = principals
            .iter()
            .find(|p| !s.target.principals.contains_key(*p))
    {
        return Err(Error::Usage(format!(
            "endpoint target {url}: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the endpoint (or map principal {p} in [target.principals])"
        )));
    }
    bounds(ls, opts, &spec)?;
    // Prices are checked before anything starts: a broken price file or a region
    // without prices is a usage error (unless the scenario wants no costs).
    let prices =
        PriceTable::load(opts.prices.as_deref()).map_err(|e| Error::Usage(e.to_string()))?;
    if s.costs {
        let region = priced_region(ls, &access, &spec);
        prices.region(&region).map_err(|e| {
            // Say where the region came from: the flag, or the scenario.
            let from = if access.region.is_some() {
                format!("--region {region}: ")
            } else {
                String::new()
            };
            Error::Usage(format!(
                "{from}{e}: pass --prices FILE with this region's prices, or set costs = false in the scenario"
            ))
        })?;
    }
    if spec != TargetSpec::Embedded {
        cost_guard(ls, opts, &access, &prices)?;
    }
    let (dir, remote) = out_dir(ls, opts)?;
    Ok(Preflight {
        spec,
        access,
        seed,
        steps: plan::plan(s, seed),
        streams: s.shares(),
        principals,
        roles,
        start_at,
        prices,
        dir,
        remote,
        run_id: format!("{:08x}", rand::random::<u32>()),
    })
}

/// The scenario's demands against this machine and the absolute caps (exit 2 when
/// they do not fit); returns the memory estimate.
pub(super) fn bounds(
    ls: &LoadedScenario,
    opts: &RunOptions,
    spec: &TargetSpec,
) -> Result<crate::bounds::MemoryEstimate, Error> {
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
    crate::bounds::check(ls, &crate::bounds::Machine::read(), shape)
        .map_err(|e| Error::Usage(e.to_string()))
}

/// The region a run is priced in: the simulator's (which `--region` and `[target]
/// region` set) on the embedded target, else the billed one.
pub(super) fn priced_region(ls: &LoadedScenario, access: &Access, spec: &TargetSpec) -> String {
    let s = &ls.scenario;
    if *spec == TargetSpec::Embedded {
        access
            .region
            .clone()
            .or_else(|| s.target.region.clone())
            .unwrap_or_else(|| s.simulator.region.clone())
    } else {
        billed_region(ls, access)
    }
}

/// The region a run on a real target is priced in.
fn billed_region(ls: &LoadedScenario, access: &Access) -> String {
    access
        .region
        .clone()
        .or_else(|| ls.scenario.target.region.clone())
        .unwrap_or_else(|| "us-east-1".into())
}

/// The cost guard: on a billed target, nothing is touched when the prediction is too high.
fn cost_guard(
    ls: &LoadedScenario,
    opts: &RunOptions,
    access: &Access,
    table: &PriceTable,
) -> Result<(), Error> {
    let max = opts.max_cost.unwrap_or(DEFAULT_MAX_COST);
    let region = billed_region(ls, access);
    let prices = table
        .region(&region)
        .map_err(|e| Error::Usage(format!("the cost guard needs prices: {e}")))?;
    let est = crate::cost::run_estimate(&ls.scenario, prices, table.hours_per_month);
    let what = if est.bound {
        "predicted cost of this run, at most"
    } else {
        "estimated cost of this run (not a bound: closed-loop phases go as fast as the target answers)"
    };
    if !opts.quiet {
        eprintln!(
            "{what}: ${:.4} ({} {:.0} S3 operations, {:.0} KMS requests); --max-cost ${max} is enforced as the run goes",
            est.cost.total_usd,
            est.qualifier(),
            est.operations,
            est.kms_requests
        );
    }
    // A bound above the cap cannot finish: refuse. An estimate above it may still fit;
    // the running total stops the run at the cap if not.
    if est.bound && est.cost.total_usd > max {
        return Err(Error::Usage(format!(
            "predicted cost ${:.4} is above --max-cost ${max}: nothing was started (raise --max-cost to run it)",
            est.cost.total_usd
        )));
    }
    Ok(())
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
            let remote = S3Url::parse(&url).map_err(Error::Usage)?;
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
