//! `run --dry-run`: the run's preflight, printed instead of run. What a run would do
//! (the plan, memory, the buckets and key it would create, the principals, the cost),
//! from the same [`RunPlan`] the run itself reads, touching nothing.

use super::RunOptions;
use super::finish::rfc3339;
use super::preflight::{self, RunPlan};
use crate::error::Error;
use crate::scenario::{Load, LoadedScenario, ScenarioKind};
use crate::targets::TargetSpec;
use std::fmt::Write as _;

/// `--dry-run`: what a run would do, touching nothing.
pub fn dry_run(ls: &LoadedScenario, opts: &RunOptions) -> Result<String, Error> {
    let plan = preflight::plan(ls, opts)?;
    preflight::credentials(ls, &plan)?;
    let mut o = String::new();
    let _ = writeln!(o, "dry run: nothing is created, sent or written");
    let _ = writeln!(
        o,
        "scenario: {} ({}), target: {}",
        ls.scenario.name,
        ls.path.display(),
        match &plan.spec {
            TargetSpec::Embedded => "embedded simulator".to_owned(),
            TargetSpec::Endpoint(u) => format!("endpoint {u}"),
            TargetSpec::Aws => "aws".to_owned(),
        }
    );
    steps(&mut o, ls, &plan, opts);
    let _ = writeln!(o, "{}", plan.memory.describe());
    storage(&mut o, ls, &plan);
    buckets_and_key(&mut o, ls, &plan, opts);
    cost(&mut o, ls, &plan, opts);
    Ok(o)
}

/// The plan's steps, and the shard and start barrier they run under.
fn steps(o: &mut String, ls: &LoadedScenario, plan: &RunPlan, opts: &RunOptions) {
    let _ = writeln!(o, "plan: {} steps", plan.steps.len());
    if !opts.shard.is_single() {
        let _ = writeln!(
            o,
            "shard {}: every {}th arrival of each open-loop schedule, 1/{} of the workers, operations and keys",
            opts.shard, opts.shard.count, opts.shard.count
        );
    }
    if let Some(at) = plan.start_at {
        let _ = writeln!(
            o,
            "start barrier: waits for {} before the first measured phase",
            rfc3339(at)
        );
    }
    for st in &plan.steps {
        let p = &ls.scenario.phases[st.phase];
        let load = match &p.load {
            Load::Open { rate, .. } => match rate.bounds() {
                (a, b) if a == b => format!("open loop {a}/s"),
                (a, b) => format!("open loop {a}/s to {b}/s"),
            },
            Load::Closed { concurrency } => format!("closed loop, concurrency {concurrency}"),
            Load::Trace { trace, .. } => {
                format!("replays {} at {}x", trace.file.display(), trace.speed)
            }
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
}

/// Where the embedded simulator would keep the run's objects.
fn storage(o: &mut String, ls: &LoadedScenario, plan: &RunPlan) {
    let s = &ls.scenario;
    let stored = crate::plan::stored_bytes(s);
    if plan.spec != TargetSpec::Embedded || stored <= 0.0 {
        return;
    }
    let _ = writeln!(
        o,
        "simulator objects: about {:.0} MiB, {}",
        stored / 1048576.0,
        if s.simulator.data_dir.is_some() {
            "in [simulator] data_dir"
        } else if stored > crate::plan::MEMORY_BUDGET_BYTES {
            "in a temporary directory (over the 256 MiB kept in memory), removed at the end"
        } else {
            "in memory"
        }
    );
}

/// The buckets and key the run would create or use, and who signs.
fn buckets_and_key(o: &mut String, ls: &LoadedScenario, plan: &RunPlan, opts: &RunOptions) {
    let s = &ls.scenario;
    // The real id is random per run.
    let run_id = "xxxxxxxx";
    let access = &plan.access;
    if s.kind == ScenarioKind::S3 && access.reuse.is_empty() {
        let _ = writeln!(
            o,
            "buckets it would create (xxxxxxxx: a random id per run), tagged sse-bench:run=<id>, objects expiring after 1 day, deleted at the end{}:",
            if opts.keep { " (not: --keep)" } else { "" }
        );
        for &m in &s.modes {
            for role in &plan.roles {
                let name = crate::targets::bucket_name(&s.target.bucket_prefix, run_id, m, role);
                let _ = writeln!(o, "  {name}");
            }
        }
    } else if s.kind == ScenarioKind::S3 {
        let prefix = access
            .key_prefix
            .clone()
            .unwrap_or_else(|| format!("sse-bench-{run_id}/"));
        let _ = writeln!(
            o,
            "existing buckets it would use (not reconfigured), under the key prefix {prefix} (refused if objects are there already; what it writes there is deleted at the end{}):",
            if opts.keep { ", not: --keep" } else { "" }
        );
        for role in &plan.roles {
            let name = access
                .bucket_for(role)
                .unwrap_or("(no --bucket for this role)");
            let _ = writeln!(o, "  {role}: {name}");
        }
    }
    if s.kind == ScenarioKind::Kms || s.modes.iter().any(|m| m.uses_kms()) {
        if access.create_key {
            let _ = writeln!(
                o,
                "KMS key: a new key it would create, tagged sse-bench:run=<id>, deletion scheduled at the end ({}-day window){}",
                crate::targets::KEY_DELETION_DAYS,
                if opts.keep { " (not: --keep)" } else { "" }
            );
        } else {
            let key = access.kms_key.as_deref().unwrap_or(&s.target.kms_key);
            let _ = writeln!(o, "KMS key: {key}");
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
}

/// The plan's cost estimate, and whether the cost guard would refuse the run.
fn cost(o: &mut String, ls: &LoadedScenario, plan: &RunPlan, opts: &RunOptions) {
    let Some(p) = plan.priced.as_ref().filter(|_| ls.scenario.costs) else {
        let _ = writeln!(o, "predicted cost: not computed (costs = false)");
        return;
    };
    let est = &p.estimate;
    let billed = plan.spec != TargetSpec::Embedded;
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
        match plan.cost_limit(opts) {
            Some(max) if billed => format!("; --max-cost ${max}"),
            _ => "; the embedded simulator costs nothing".into(),
        }
    );
    if let Some(why) = plan.refused_by_cost(opts) {
        let _ = writeln!(o, "the run would be refused: {why}");
    }
}
