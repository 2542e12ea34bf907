//! `run --dry-run`: what a run would do (the plan, the buckets and key it would
//! create, the principals, the predicted cost), touching nothing.

use super::finish::rfc3339;
use super::{DEFAULT_MAX_COST, RunOptions};
use crate::error::Error;
use crate::plan;
use crate::scenario::{self, LoadedScenario};
use crate::targets::TargetSpec;
use std::fmt::Write as _;

/// `--dry-run`: what a run would do, touching nothing.
pub fn dry_run(ls: &LoadedScenario, opts: &RunOptions) -> Result<String, Error> {
    let s = &ls.scenario;
    let spec = TargetSpec::resolve(opts.target.as_deref(), ls).map_err(Error::Usage)?;
    let table = crate::prices::PriceTable::load(opts.prices.as_deref())
        .map_err(|e| Error::Usage(e.to_string()))?;
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
            .map_err(Error::Usage)?;
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
    let memory = super::preflight::bounds(ls, opts, &spec)?;
    let _ = writeln!(o, "{}", memory.describe());
    let stored = crate::plan::stored_bytes(s);
    if spec == TargetSpec::Embedded && stored > 0.0 {
        let mib = stored / 1048576.0;
        let _ = writeln!(
            o,
            "simulator objects: about {mib:.0} MiB, {}",
            if s.simulator.data_dir.is_some() {
                "in [simulator] data_dir"
            } else if stored > crate::plan::MEMORY_BUDGET_BYTES {
                "in a temporary directory (over the 256 MiB kept in memory), removed at the end"
            } else {
                "in memory"
            }
        );
    }
    if s.kind == scenario::ScenarioKind::S3 {
        let roles = s.bucket_roles();
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
                        crate::targets::bucket_name(&s.target.bucket_prefix, run_id, m, role)
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
                crate::targets::KEY_DELETION_DAYS,
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
    let region = super::preflight::priced_region(ls, &access, &spec);
    match table.region(&region) {
        Ok(_) if !s.costs => {
            let _ = writeln!(o, "predicted cost: not computed (costs = false)");
        }
        Ok(p) => {
            let est = crate::cost::run_estimate(s, p, table.hours_per_month);
            let billed = spec != TargetSpec::Embedded;
            let _ = writeln!(
                o,
                "{} cost{}: ${:.4} ({} {:.0} S3 operations, {:.0} KMS requests; S3 ${:.4}, KMS ${:.4}, key ${:.4}){}",
                if est.bound { "predicted" } else { "estimated" },
                if billed { "" } else { " on AWS" },
                est.cost.total_usd,
                est.qualifier(),
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
        Err(_) if !s.costs => {
            let _ = writeln!(o, "predicted cost: not computed (costs = false)");
        }
        Err(e) => {
            return Err(Error::Usage(format!(
                "{e}: pass --prices FILE with this region's prices, or set costs = false in the scenario"
            )));
        }
    }
    Ok(o)
}
