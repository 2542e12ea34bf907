//! Adding the run records of N shards into one: they must be the N parts of one
//! run (same scenario, seed and shard count, each index once); series histograms
//! are added, steps and KMS counts aligned by wall clock.

use super::{Loaded, MergeInput};
use crate::error::Error;
use crate::kms::counts::SecondCount;
use crate::results::record::CounterScope;
use crate::results::record::{
    OfferedSecond, OpStats, PrefillSpan, RunRecord, SHARD_FILE, Series, SeriesKey, StepKms,
    StepTotals,
};
use crate::scenario::Mode;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Checks that the shards are the N parts of one run: same scenario, seed and shard
/// count, each index once, none missing. Returns N.
pub(super) fn check(shards: &[Loaded]) -> Result<u32, Error> {
    let first = shards
        .first()
        .ok_or_else(|| Error::Usage("nothing to merge".into()))?;
    let n = first.record.shard.count;
    for s in shards {
        let r = &s.record;
        let what = |field: &str, a: String, b: String| {
            Error::Usage(format!(
                "{} and {} are not shards of one run: {field} differs ({a} vs {b})",
                first.dir.display(),
                s.dir.display()
            ))
        };
        if r.scenario_sha256 != first.record.scenario_sha256 {
            return Err(what(
                "the scenario",
                first.record.scenario_sha256[..12].to_owned(),
                r.scenario_sha256.get(..12).unwrap_or("").to_owned(),
            ));
        }
        if r.seed != first.record.seed {
            return Err(what(
                "the seed",
                first.record.seed.to_string(),
                r.seed.to_string(),
            ));
        }
        if r.shard.count != n {
            return Err(what(
                "the shard count",
                n.to_string(),
                r.shard.count.to_string(),
            ));
        }
    }
    let mut seen: BTreeMap<u32, &Path> = BTreeMap::new();
    for s in shards {
        if let Some(other) = seen.insert(s.record.shard.index, &s.dir) {
            return Err(Error::Usage(format!(
                "shard {} appears twice: {} and {}",
                s.record.shard,
                other.display(),
                s.dir.display()
            )));
        }
    }
    let missing: Vec<String> = (0..n)
        .filter(|i| !seen.contains_key(i))
        .map(|i| format!("{i}/{n}"))
        .collect();
    if !missing.is_empty() {
        return Err(Error::Usage(format!(
            "missing shard{} {} of {n}: got {}",
            if missing.len() > 1 { "s" } else { "" },
            missing.join(", "),
            seen.keys()
                .map(|i| format!("{i}/{n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    Ok(n)
}

/// Adds per-second KMS rows: summed for own counters, the largest reading for a
/// shared counter (every shard reads the same simulator).
fn merge_seconds(
    into: &mut BTreeMap<u64, (u64, u64)>,
    rows: impl Iterator<Item = (u64, u64, u64)>,
    shared: bool,
) {
    for (sec, c, t) in rows {
        let e = into.entry(sec).or_default();
        if shared {
            e.0 = e.0.max(c);
            e.1 = e.1.max(t);
        } else {
            e.0 += c;
            e.1 += t;
        }
    }
}

fn rfc3339_unix(s: &str) -> Option<f64> {
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp_nanos() as f64 / 1e9)
}

/// The earliest (or latest) of the shards' RFC 3339 times.
fn extreme_time(times: impl Iterator<Item = String>, latest: bool) -> String {
    let dated = times.filter_map(|t| rfc3339_unix(&t).map(|u| (u, t)));
    let pick = if latest {
        dated.max_by(|a, b| a.0.total_cmp(&b.0))
    } else {
        dated.min_by(|a, b| a.0.total_cmp(&b.0))
    };
    pick.map(|t| t.1).unwrap_or_default()
}

/// Series: histograms added.
fn add_series(shards: &[Loaded]) -> Vec<Series> {
    let mut stats: BTreeMap<SeriesKey, OpStats> = BTreeMap::new();
    for s in shards {
        for sr in &s.record.series {
            stats.entry(sr.key.clone()).or_default().merge(&sr.stats);
        }
    }
    stats
        .into_iter()
        .map(|(key, stats)| Series { key, stats })
        .collect()
}

/// Steps: the same plan on every shard, aligned to the earliest start.
fn add_steps(shards: &[Loaded], base: f64) -> Vec<StepTotals> {
    let mut steps: Vec<StepTotals> = Vec::new();
    for s in shards {
        let offset = s.record.start_unix - base;
        for st in &s.record.steps {
            match steps
                .iter_mut()
                .find(|x| x.mode == st.mode && x.phase == st.phase && x.round == st.round)
            {
                Some(x) => {
                    x.seconds = x.seconds.max(st.seconds);
                    x.late += st.late;
                    // Shards' schedules are disjoint slices: counts and rates add up.
                    x.open = match (x.open, st.open) {
                        (Some(a), Some(b)) => Some(a.plus(&b)),
                        (a, b) => a.or(b),
                    };
                    x.start_s = x.start_s.min(st.start_s + offset);
                    for o in &st.offered {
                        match x
                            .offered
                            .iter_mut()
                            .find(|y| y.unix_second == o.unix_second)
                        {
                            Some(y) => {
                                y.arrivals += o.arrivals;
                                y.throttled += o.throttled;
                            }
                            None => x.offered.push(o.clone()),
                        }
                    }
                    x.offered.sort_by_key(|o: &OfferedSecond| o.unix_second);
                }
                None => {
                    let mut c = st.clone();
                    c.start_s += offset;
                    steps.push(c);
                }
            }
        }
    }
    steps
}

/// KMS per step: calls are each shard's own; per-second readings summed or maxed.
fn add_step_kms(shards: &[Loaded], shared: bool) -> Vec<StepKms> {
    let steps_n = shards
        .iter()
        .map(|s| s.record.step_kms.len())
        .max()
        .unwrap_or(0);
    let mut out = Vec::new();
    for i in 0..steps_n {
        let parts: Vec<&StepKms> = shards
            .iter()
            .filter_map(|s| s.record.step_kms.get(i))
            .collect();
        let Some(first) = parts.first() else { continue };
        let mut seconds = BTreeMap::new();
        let mut by_bucket: BTreeMap<u64, BTreeMap<String, u64>> = BTreeMap::new();
        for p in &parts {
            merge_seconds(
                &mut seconds,
                p.per_second
                    .iter()
                    .map(|c| (c.second, c.calls, c.throttled)),
                shared,
            );
            for c in &p.per_second {
                let into = by_bucket.entry(c.second).or_default();
                for (b, n) in &c.by_bucket {
                    let e = into.entry(b.clone()).or_default();
                    // A shared counter shows every shard the same buckets' calls.
                    *e = if shared { (*e).max(*n) } else { *e + n };
                }
            }
        }
        out.push(StepKms {
            mode: first.mode,
            record: first.record,
            calls: parts.iter().flat_map(|p| p.calls.iter().cloned()).collect(),
            attempts: parts.iter().map(|p| p.attempts).sum(),
            per_second: seconds
                .into_iter()
                .map(|(second, (calls, throttled))| SecondCount {
                    second,
                    calls,
                    throttled,
                    by_bucket: by_bucket.remove(&second).unwrap_or_default(),
                })
                .collect(),
        });
    }
    out
}

fn add_prefills(shards: &[Loaded], base: f64) -> Vec<PrefillSpan> {
    let mut prefills: BTreeMap<Mode, (f64, f64)> = BTreeMap::new();
    for s in shards {
        let offset = s.record.start_unix - base;
        for (m, a, b) in &s.record.prefills {
            let e = prefills
                .entry(*m)
                .or_insert((f64::INFINITY, f64::NEG_INFINITY));
            e.0 = e.0.min(a + offset);
            e.1 = e.1.max(b + offset);
        }
    }
    prefills.into_iter().map(|(m, (a, b))| (m, a, b)).collect()
}

/// One record of the whole run from its shards' records (sorted by index, checked).
pub(super) fn add(input: &MergeInput) -> RunRecord {
    let shards = &input.shards;
    let base = input.base;
    let shared = input.shared;
    let union = |f: &dyn Fn(&RunRecord) -> &BTreeMap<String, String>| {
        let mut m = BTreeMap::new();
        for s in shards.iter() {
            m.extend(f(&s.record).iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        m
    };
    let first = &shards[0].record;
    let mut target = first.target.clone();
    for s in &shards[1..] {
        let t = &s.record.target;
        target.buckets.extend(t.buckets.iter().cloned());
        target.left_behind.extend(t.left_behind.iter().cloned());
        target
            .reused_buckets
            .extend(t.reused_buckets.iter().cloned());
        for m in &t.skipped_modes {
            if !target.skipped_modes.iter().any(|x| x.mode == m.mode) {
                target.skipped_modes.push(m.clone());
            }
        }
    }
    for v in [
        &mut target.buckets,
        &mut target.left_behind,
        &mut target.reused_buckets,
    ] {
        let set: BTreeSet<String> = v.drain(..).collect();
        v.extend(set);
    }
    // Each shard's prefix differs; the merged result names none.
    target.key_prefix = None;
    // The run spans the first shard's start to the last shard's end.
    let started_at = extreme_time(shards.iter().map(|s| s.record.started_at.clone()), false);
    let ended_at = extreme_time(shards.iter().map(|s| s.record.ended_at.clone()), true);
    let duration_s = match (rfc3339_unix(&started_at), rfc3339_unix(&ended_at)) {
        (Some(a), Some(b)) => (b - a).max(0.0),
        _ => 0.0,
    };
    let incomplete: Vec<String> = shards
        .iter()
        .filter_map(|s| {
            s.record
                .incomplete_reason
                .as_ref()
                .map(|r| format!("shard {}: {r}", s.record.shard))
        })
        .collect();
    let mut kms_per_second: BTreeMap<Mode, Vec<(u64, u64, u64)>> = BTreeMap::new();
    let mut by_mode: BTreeMap<Mode, BTreeMap<u64, (u64, u64)>> = BTreeMap::new();
    for s in shards.iter() {
        for (m, rows) in &s.record.kms_per_second {
            merge_seconds(by_mode.entry(*m).or_default(), rows.iter().copied(), shared);
        }
    }
    for (m, rows) in by_mode {
        kms_per_second.insert(m, rows.into_iter().map(|(s, (c, t))| (s, c, t)).collect());
    }
    RunRecord {
        format: first.format,
        shard: crate::shard::Shard::SINGLE,
        scenario_sha256: first.scenario_sha256.clone(),
        seed: first.seed,
        start_unix: base,
        started_at,
        ended_at,
        duration_s,
        incomplete_reason: (!incomplete.is_empty()).then(|| incomplete.join("; ")),
        barrier: first.barrier.clone(),
        kms_counter: if shared {
            CounterScope::Shared
        } else {
            first.kms_counter
        },
        target,
        quota_rps: first.quota_rps,
        keys: first.keys,
        key_billing: first.key_billing,
        series: add_series(shards),
        steps: add_steps(shards, base),
        kms_per_second,
        step_kms: add_step_kms(shards, shared),
        prefills: add_prefills(shards, base),
        bucket_roles: union(&|r| &r.bucket_roles),
        bucket_modes: shards
            .iter()
            .flat_map(|s| s.record.bucket_modes.iter().map(|(b, m)| (b.clone(), *m)))
            .collect(),
        principal_names: union(&|r| &r.principal_names),
        stream_roles: union(&|r| &r.stream_roles),
        // Each shard's CloudTrail counts stay in its own summary.
        kms_cloudtrail: None,
        kms_account_wide: shards
            .iter()
            .find_map(|s| s.record.kms_account_wide.clone()),
        // Each shard makes its own buckets unless they were given (`--bucket`).
        bucket_sets: if shards
            .iter()
            .all(|s| s.record.target.reused_buckets.is_empty())
        {
            shards.iter().map(|s| s.record.bucket_sets.max(1)).sum()
        } else {
            1
        },
    }
}

/// The file a shard's record was read from, for messages.
pub(super) fn record_path(dir: &Path) -> std::path::PathBuf {
    dir.join(SHARD_FILE)
}
