//! Getting a target ready: connect (start the simulator, build the clients, settle
//! the KMS key), then provision the buckets and probe which modes the target honours,
//! or, for a KMS scenario, make the data keys Decrypt works on. A failure here takes
//! back whatever was created before it.

use super::RunOptions;
use super::preflight::RunPlan;
use crate::driver;
use crate::error::{Error, Result};
use crate::scenario::{LoadedScenario, Mode, ScenarioKind, Stream};
use crate::targets::{LeftBehind, Target, TargetSpec};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A target ready for load.
pub(super) struct Prepared {
    /// The target.
    pub target: Target,
    /// Modes the target does not honour, with its answer.
    pub skipped: BTreeMap<Mode, String>,
    /// KMS clients, key and data keys (KMS scenarios).
    pub kms: Option<Arc<driver::ops::KmsEnv>>,
}

/// Connects and makes ready.
pub(super) async fn prepare(
    ls: &LoadedScenario,
    plan: &RunPlan,
    opts: &RunOptions,
) -> Result<Prepared, Error> {
    let s = &ls.scenario;
    let mut target = Target::connect(
        plan.spec.clone(),
        ls,
        plan.seed,
        plan.principals.clone(),
        &plan.access,
        &plan.run_id,
    )
    .await?;
    if s.kind == ScenarioKind::Kms {
        let streams: Vec<Stream> = plan.streams.iter().map(|(s, _)| s.clone()).collect();
        return match kms_env(&target, &streams).await {
            Ok(k) => Ok(Prepared {
                target,
                skipped: BTreeMap::new(),
                kms: Some(Arc::new(k)),
            }),
            Err(e) => {
                target.retire_key(opts.keep).await;
                Err(e)
            }
        };
    }
    match ready_buckets(&mut target, ls, plan).await {
        Ok(skipped) => {
            for (m, why) in &skipped {
                eprintln!("probe: {m} is not honoured by this target, skipped: {why}");
            }
            Ok(Prepared {
                target,
                skipped,
                kms: None,
            })
        }
        Err(e) => {
            // Take back what was created before the failure.
            if target.spec != TargetSpec::Embedded && !opts.keep {
                report_left_behind(&target.cleanup(&plan.run_id).await);
            }
            target.retire_key(opts.keep).await;
            Err(e)
        }
    }
}

/// Provisions the buckets and probes the modes; refuses a target that honours none.
async fn ready_buckets(
    target: &mut Target,
    ls: &LoadedScenario,
    plan: &RunPlan,
) -> Result<BTreeMap<Mode, String>> {
    let s = &ls.scenario;
    let mut skipped = target
        .provision(
            &s.modes,
            &plan.roles,
            &s.target.bucket_prefix,
            &plan.run_id,
            &plan.access,
        )
        .await?;
    let probed: Vec<Mode> = s
        .modes
        .iter()
        .copied()
        .filter(|m| !skipped.contains_key(m))
        .collect();
    skipped.extend(target.probe(&probed, &plan.roles).await);
    if skipped.len() == s.modes.len() {
        return Err(Error::failure(format!(
            "the target honours none of the scenario's modes:\n{}",
            skipped
                .iter()
                .map(|(m, why)| format!("  {m}: {why}"))
                .collect::<Vec<_>>()
                .join("\n")
        )));
    }
    Ok(skipped)
}

/// Prints what cleanup could not remove, and how to remove it.
pub(super) fn report_left_behind(left: &[LeftBehind]) {
    for l in left {
        eprintln!(
            "left behind: {} ({}); remove it with: {}",
            l.what, l.why, l.remove
        );
    }
}

/// KMS clients, key and a pool of data keys for a KMS scenario.
async fn kms_env(target: &Target, streams: &[Stream]) -> Result<driver::ops::KmsEnv> {
    let Some(first) = target.kms_clients.first() else {
        return Err(Error::failure(
            "a kind = \"kms\" scenario needs a KMS endpoint: set target.kms_endpoint (or use the embedded simulator)",
        ));
    };
    let key_id = target
        .kms_key_arn
        .clone()
        .ok_or_else(|| Error::failure("no KMS key for the KMS scenario"))?;
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
