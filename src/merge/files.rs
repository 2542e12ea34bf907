//! The streamed files of N shards as one: interval logs added per (series, tag,
//! wall-clock second), time-series rows summed per second with percentiles taken
//! from the added interval histograms, never from the shards' percentiles.

use super::Loaded;
use crate::error::{Context as _, Error};
use crate::results::hlog::{self, HlogWriter};
use crate::results::record::{Hist, new_hist};
use crate::results::timeseries::{self, SecondRow, milli};
use crate::results::write_atomic;
use std::collections::BTreeMap;
use std::path::Path;

/// Per (`<mode>.<op>` file stem, tag, second since the merge's base): the added histogram.
pub(super) type IntervalHists = BTreeMap<(String, String, u64), Hist>;

/// Adds the shards' interval logs, aligned by wall clock to whole seconds after `base`,
/// and writes one log per series into `out`.
pub(super) fn merge_hlogs(
    shards: &[Loaded],
    base: f64,
    out: &Path,
) -> Result<IntervalHists, Error> {
    let mut all: IntervalHists = BTreeMap::new();
    for s in shards {
        let Ok(entries) = std::fs::read_dir(s.dir.join("histograms")) else {
            continue;
        };
        let offset = s.record.start_unix - base;
        for e in entries.flatten() {
            let path = e.path();
            let Some(stem) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".hlog"))
                .map(str::to_owned)
            else {
                continue;
            };
            let bytes = std::fs::read(&path)
                .map_err(|e| Error::usage(format!("{}: {e}", path.display())))?;
            for iv in
                hlog::read(&bytes).map_err(|e| Error::usage(format!("{}: {e}", path.display())))?
            {
                let sec = (iv.start_s + offset).max(0.0).floor() as u64;
                let slot = all
                    .entry((stem.clone(), iv.tag.unwrap_or_default(), sec))
                    .or_insert_with(new_hist);
                slot.add(&iv.hist)
                    .map_err(|e| Error::usage(format!("{e:?}")))?;
            }
        }
    }
    // One log per series, intervals in time order.
    let mut by_file: BTreeMap<&str, Vec<(u64, &str, &Hist)>> = BTreeMap::new();
    for ((stem, tag, sec), h) in &all {
        by_file.entry(stem).or_default().push((*sec, tag, h));
    }
    for (stem, mut intervals) in by_file {
        intervals.sort_by_key(|i| i.0);
        let mut w = HlogWriter::begin(
            Vec::new(),
            base,
            Some("[Merged from shards by sse-bench merge: intervals aligned to whole seconds]"),
        )
        .map_err(|e| Error::failure(format!("{stem}.hlog: {e}")))?;
        for (sec, tag, h) in intervals {
            w.append(tag, sec as f64, 1.0, h)
                .map_err(|e| Error::failure(format!("{stem}.hlog: {e}")))?;
        }
        let path = out.join(format!("{stem}.hlog"));
        write_atomic(&path, &w.into_inner())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(all)
}

/// Sums the shards' per-second rows by wall-clock second into `out`.
pub(super) fn merge_timeseries(
    shards: &[Loaded],
    base: f64,
    hists: &IntervalHists,
    shared: bool,
    out: &Path,
) -> Result<(), Error> {
    // (second since base, mode, phase, round, op) → the summed row.
    let mut rows: BTreeMap<(u64, String, String, u32, String), SecondRow> = BTreeMap::new();
    for s in shards {
        let path = s.dir.join(timeseries::FILE);
        if !path.exists() {
            continue;
        }
        let offset = s.record.start_unix - base;
        for r in timeseries::read(&path)? {
            // The same alignment as the interval logs: the shard's second plus its offset.
            let sec = (r.second as f64 + offset).max(0.0).floor() as u64;
            let key = (
                sec,
                r.mode.to_string(),
                r.phase.clone(),
                r.round,
                r.op.clone(),
            );
            let m = rows.entry(key).or_insert_with(|| SecondRow {
                second: sec,
                unix_time: milli(base + sec as f64 + 1.0),
                ops: 0,
                errors: 0,
                throttled: 0,
                mib: 0.0,
                kms_calls: None,
                kms_throttled: None,
                ..r.clone()
            });
            m.ops += r.ops;
            m.errors += r.errors;
            m.throttled += r.throttled;
            m.mib = milli(m.mib + r.mib);
            if let (Some(c), Some(t)) = (r.kms_calls, r.kms_throttled) {
                let (mc, mt) = (m.kms_calls.unwrap_or(0), m.kms_throttled.unwrap_or(0));
                let (c, t) = if shared {
                    (mc.max(c), mt.max(t))
                } else {
                    (mc + c, mt + t)
                };
                m.kms_calls = Some(c);
                m.kms_throttled = Some(t);
            }
        }
    }
    let ms = |v: u64| v as f64 / 1000.0;
    let mut merged = Vec::with_capacity(rows.len());
    for ((sec, mode, phase, round, op), mut r) in rows {
        let tag = hlog::tag(&phase, round);
        let prefix = format!("{mode}.");
        let mut h = new_hist();
        for ((stem, t, s), x) in hists.range((prefix.clone(), String::new(), 0)..) {
            let Some(this_op) = stem.strip_prefix(&prefix) else {
                break;
            };
            if t == &tag && *s == sec && (op == "all" || this_op == op) {
                let _ = h.add(x);
            }
        }
        r.p50_ms = ms(h.value_at_quantile(0.5));
        r.p99_ms = ms(h.value_at_quantile(0.99));
        r.max_ms = ms(h.max());
        merged.push(r);
    }
    let bytes = timeseries::to_bytes(&merged).context("the merged time series")?;
    write_atomic(out, &bytes).with_context(|| format!("writing {}", out.display()))
}
