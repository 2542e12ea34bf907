//! Builds `summary.json` from a run record: the same code for a single run and for
//! a merge of shards. Percentiles come from the record's histograms; KMS counts from
//! its per-step counts; costs and knees from [`super::economics`].

use super::economics::{self, Context};
use super::record::{OpStats, Percentiles, RunRecord, THROTTLED_KMS};
use super::summary::*;
use super::thresholds;
use crate::kms::KmsRules;
use crate::prices::PriceTable;
use crate::scenario::{LoadedScenario, Mode, Op, TargetKind};
use std::collections::BTreeMap;

fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// `part / whole`, or 0 when there is no whole.
fn share(part: f64, whole: f64) -> f64 {
    if whole > 0.0 { part / whole } else { 0.0 }
}

fn op_result(mode: Mode, op: Op, s: &OpStats, seconds: f64) -> OpResult {
    let secs = seconds.max(1e-9);
    let n = s.count as f64;
    OpResult {
        mode,
        op,
        count: s.count,
        ok: s.ok,
        errors: s.errors.clone(),
        error_rate: share(s.failed() as f64, n),
        throttle_rate: share(s.errors_of(THROTTLED_KMS) as f64, n),
        ops_per_s: n / secs,
        mib_per_s: mib(s.bytes) / secs,
        latency_ms: Percentiles::of(&s.corrected),
        service_time_ms: Percentiles::of(&s.uncorrected),
        ttfb_ms: (!s.ttfb.is_empty()).then(|| Percentiles::of(&s.ttfb)),
    }
}

/// The scenario as measured: modes the target skipped are left out.
fn measured(ls: &LoadedScenario, target: &TargetInfo) -> LoadedScenario {
    let mut m = ls.clone();
    m.scenario
        .modes
        .retain(|mode| !target.skipped_modes.iter().any(|s| s.mode == *mode));
    m
}

/// Builds the summary of a run record of `ls`, priced with `table`.
pub fn build(record: &RunRecord, ls: &LoadedScenario, table: &PriceTable) -> Summary {
    let ls = measured(ls, &record.target);
    let s = &ls.scenario;
    let prices = match PriceInfo::from_table(table, &record.target.region) {
        _ if !s.costs => None,
        Ok(p) => Some(p),
        Err(e) => {
            tracing::warn!("costs left out: {e}");
            None
        }
    };
    let ctx = Context {
        record,
        scenario: s,
        // The simulator follows the scenario's settings of the inferred rules.
        rules: if record.target.kind == TargetKind::Embedded {
            KmsRules::from_sim(&s.simulator)
        } else {
            KmsRules::default()
        },
        prices,
        hours_per_month: table.hours_per_month,
        load: super::load::of_steps(&record.steps),
    };
    let (results, phases, streams) = series_results(record);
    let kms: Vec<ModeKms> = s
        .modes
        .iter()
        .map(|&mode| mode_kms(&ctx, mode, &results))
        .collect();
    let cost: Vec<ModeCost> = kms
        .iter()
        .filter_map(|k| economics::mode_cost(&ctx, k))
        .collect();
    let knees = economics::knees(&ctx, &kms);
    let verdict = super::verdict::build(&super::verdict::Inputs {
        record,
        scenario: s,
        results: &results,
        kms: &kms,
        cost: &cost,
        load: &ctx.load,
    });
    let mut summary = Summary {
        schema_version: SCHEMA_VERSION,
        tool: Tool {
            name: "sse-bench".into(),
            version: crate::provenance::VERSION.into(),
            git_commit: crate::provenance::COMMIT.map(str::to_owned),
            git_dirty: crate::provenance::COMMIT.map(|_| crate::provenance::DIRTY),
        },
        scenario: ScenarioEcho {
            name: s.name.clone(),
            description: s.description.clone(),
            file: ls.path.display().to_string(),
            seed: record.seed,
            modes: s.modes.clone(),
            order: s.order,
            rounds: s.rounds,
            definition: scenario_json(&ls),
        },
        target: record.target.clone(),
        machine: Machine::current(),
        started_at: record.started_at.clone(),
        ended_at: record.ended_at.clone(),
        duration_s: record.duration_s,
        complete: record.incomplete_reason.is_none(),
        incomplete_reason: record.incomplete_reason.clone(),
        verdict,
        results,
        phases,
        streams,
        kms,
        kms_account_wide: record.kms_account_wide.clone(),
        kms_cloudtrail: record.kms_cloudtrail.clone(),
        cost,
        prices: ctx.prices.clone(),
        knees,
        steps: record.steps.clone(),
        load: ctx.load.clone(),
        thresholds: Vec::new(),
        shards: None,
    };
    summary.thresholds = ls
        .thresholds
        .iter()
        .map(|t| thresholds::evaluate(t, &summary))
        .collect();
    summary
}

/// The recorded series, per (mode, operation) over the whole run, per (mode, phase,
/// round, stream, operation), and per (mode, stream, operation).
fn series_results(record: &RunRecord) -> (Vec<OpResult>, Vec<PhaseResult>, Vec<StreamResult>) {
    let step_seconds = |mode: Mode, phase: &str, round: u32| -> f64 {
        record
            .steps
            .iter()
            .filter(|t| t.mode == mode && t.phase == phase && t.round == round)
            .map(|t| t.seconds)
            .sum()
    };
    let mut by_mode_op: BTreeMap<(Mode, Op), OpStats> = BTreeMap::new();
    let mut by_stream: BTreeMap<(Mode, String, Op), OpStats> = BTreeMap::new();
    let mut phases = Vec::new();
    for series in &record.series {
        let (k, st) = (&series.key, &series.stats);
        by_mode_op.entry((k.mode, k.op)).or_default().merge(st);
        by_stream
            .entry((k.mode, k.stream.clone(), k.op))
            .or_default()
            .merge(st);
        let secs = step_seconds(k.mode, &k.phase, k.round).max(1e-9);
        phases.push(PhaseResult {
            mode: k.mode,
            phase: k.phase.clone(),
            round: k.round,
            stream: k.stream.clone(),
            op: k.op,
            count: st.count,
            errors: st.failed(),
            throttled: st.errors_of(THROTTLED_KMS),
            ops_per_s: st.count as f64 / secs,
            mib_per_s: mib(st.bytes) / secs,
            latency_ms: Percentiles::of(&st.corrected),
            service_time_ms: Percentiles::of(&st.uncorrected),
        });
    }
    let results = by_mode_op
        .iter()
        .map(|((m, o), st)| op_result(*m, *o, st, record.mode_seconds(*m)))
        .collect();
    let streams = by_stream
        .iter()
        .map(|((m, stream, op), st)| StreamResult {
            mode: *m,
            stream: stream.clone(),
            bucket_role: record.stream_roles.get(stream).cloned().unwrap_or_default(),
            op: *op,
            count: st.count,
            errors: st.failed(),
            ops_per_s: st.count as f64 / record.mode_seconds(*m).max(1e-9),
            latency_ms: Percentiles::of(&st.corrected),
        })
        .collect();
    (results, phases, streams)
}

/// KMS use of one mode: counted calls over its measured steps, the model's prediction,
/// and both against the quota.
fn mode_kms(ctx: &Context<'_>, mode: Mode, results: &[OpResult]) -> ModeKms {
    let record = ctx.record;
    let measured = !record.step_kms.is_empty();
    let mut calls_by_api = BTreeMap::new();
    let mut by_bucket_role = BTreeMap::new();
    let mut by_requester = BTreeMap::new();
    let (mut calls, mut throttled, mut attempts) = (0u64, 0u64, 0u64);
    let steps = || {
        record
            .step_kms
            .iter()
            .filter(move |k| k.mode == mode && k.record)
    };
    for sk in steps() {
        attempts += sk.attempts;
        for c in sk.calls.iter().filter(|c| c.count > 0) {
            *calls_by_api.entry(c.api.clone()).or_insert(0) += c.count;
            let role = record.bucket_roles.get(&c.bucket).unwrap_or(&c.bucket);
            *by_bucket_role.entry(role.clone()).or_insert(0) += c.count;
            let who = record
                .principal_names
                .get(&c.requester)
                .unwrap_or(&c.requester);
            *by_requester.entry(who.clone()).or_insert(0) += c.count;
        }
        calls += sk.calls.iter().map(|c| c.count).sum::<u64>();
        throttled += sk.calls.iter().map(|c| c.throttled).sum::<u64>();
    }
    let s3_ops: u64 = results
        .iter()
        .filter(|r| r.mode == mode)
        .map(|r| r.count)
        .sum();
    // Peak on the target's own one-second quota windows, of this mode's calls only.
    let peak_rps = kms_seconds_of(record, mode)
        .into_values()
        .max()
        .unwrap_or(0);
    let secs = record.mode_seconds(mode).max(1e-9);
    let predicted = economics::predict(ctx, mode);
    let ops = s3_ops as f64;
    let headroom = |rps: f64| {
        record
            .quota_rps
            .filter(|q| *q > 0)
            .map(|q| 100.0 * (1.0 - rps / q as f64))
    };
    ModeKms {
        mode,
        source: if measured {
            KmsSource::Measured
        } else {
            KmsSource::Unavailable
        },
        calls_by_api,
        calls,
        throttled,
        s3_ops,
        per_s3_op: share(calls as f64, ops),
        per_1000_ops: 1000.0 * share(calls as f64, ops),
        peak_rps,
        mean_rps: calls as f64 / secs,
        quota_rps: record.quota_rps,
        peak_headroom_pct: headroom(peak_rps as f64),
        by_bucket_role,
        by_requester,
        attempts_per_op: (measured && s3_ops > 0).then(|| attempts as f64 / ops),
        predicted_per_1000_ops: 1000.0 * share(predicted.calls, ops),
        predicted_mean_rps: predicted.calls / secs,
        difference: measured.then_some(calls as f64 - predicted.calls),
        mean_headroom_pct: headroom(if measured {
            calls as f64 / secs
        } else {
            predicted.calls / secs
        }),
        predicted,
    }
}

/// A mode's KMS calls per second of the target's quota windows, over the measured
/// steps of every mode: a second's calls for a bucket belong to the mode that made
/// the bucket, whichever mode's step was running (interleaved rounds share seconds
/// where one step ends and the next begins). Calls the target counted without a
/// bucket (direct KMS calls), and those of buckets modes share, belong to the step.
pub fn kms_seconds_of(record: &RunRecord, mode: Mode) -> BTreeMap<u64, u64> {
    // A second's count for a bucket is the target's, whichever step read it: steps that
    // share a wall-clock second (one ends, the next begins; shards drift apart) each
    // carry it, so it is taken once (the largest reading), not added up.
    let mut buckets: BTreeMap<(u64, &str), u64> = BTreeMap::new();
    let mut rest: BTreeMap<u64, u64> = BTreeMap::new();
    for sk in record.step_kms.iter().filter(|k| k.record) {
        for sec in &sk.per_second {
            let mut attributed = 0;
            for (bucket, calls) in &sec.by_bucket {
                match record.bucket_modes.get(bucket) {
                    Some(m) => {
                        attributed += calls;
                        if *m == mode {
                            let e = buckets.entry((sec.second, bucket.as_str())).or_default();
                            *e = (*e).max(*calls);
                        }
                    }
                    None if sk.mode == mode => {
                        attributed += calls;
                        *rest.entry(sec.second).or_default() += calls;
                    }
                    None => attributed += calls,
                }
            }
            if sk.mode == mode {
                let n = sec.calls.saturating_sub(attributed);
                if n > 0 {
                    *rest.entry(sec.second).or_default() += n;
                }
            }
        }
    }
    for ((second, _), n) in buckets {
        *rest.entry(second).or_default() += n;
    }
    rest.retain(|_, n| *n > 0);
    rest
}

fn scenario_json(ls: &LoadedScenario) -> serde_json::Value {
    let mut v = serde_json::to_value(&ls.scenario).unwrap_or(serde_json::Value::Null);
    // Credentials never leave the process.
    if let Some(sim) = v.get_mut("simulator").and_then(|s| s.as_object_mut()) {
        sim.remove("credentials");
    }
    v
}
