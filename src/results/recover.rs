//! A run that died without finishing (SIGKILL, power loss) leaves the run record it
//! started with (`run.partial.json`), the scenario, and the streamed measurements:
//! the per-second time series and the per-second interval histograms. This rebuilds
//! a run record from them, marked incomplete, so `report` renders what exists.

use super::hlog;
use super::record::{
    OpStats, RunRecord, STARTED_FILE, Series, SeriesKey, StepTotals, THROTTLED_KMS,
};
use super::timeseries::{self, SecondRow};
use crate::error::Error;
use crate::scenario::{Mode, Op};
use std::collections::BTreeMap;
use std::path::Path;

/// Errors whose class the streamed files do not keep.
pub const UNCLASSIFIED: &str = "unclassified";

/// Whether `dir` holds a run that never finished.
pub fn is_unfinished(dir: &Path) -> bool {
    dir.join(STARTED_FILE).is_file() && !dir.join("summary.json").exists()
}

/// The run record of an unfinished run, rebuilt from the streamed files, and the
/// scenario text.
pub fn recover(dir: &Path) -> Result<(RunRecord, String), Error> {
    let read = |name: &str| {
        std::fs::read(dir.join(name))
            .map_err(|e| Error::usage(format!("{}: {e}", dir.join(name).display())))
    };
    let mut record: RunRecord = serde_json::from_slice(&read(STARTED_FILE)?)
        .map_err(|e| Error::usage(format!("{STARTED_FILE}: {e}")))?;
    let scenario = String::from_utf8_lossy(&read("scenario.toml")?).into_owned();
    let rows = match super::streamed(&dir.join(timeseries::FILE)) {
        Some(p) => timeseries::read(&p)?,
        None => Vec::new(),
    };
    record.steps = steps(&rows);
    let stream = match record.stream_roles.len() {
        1 => record
            .stream_roles
            .keys()
            .next()
            .cloned()
            .unwrap_or_default(),
        _ => "(all streams)".to_owned(),
    };
    record.series = series(dir, &rows, &stream)?;
    if let Some(last) = rows.last() {
        record.duration_s = last.unix_time - record.start_unix;
    }
    Ok((record, scenario))
}

/// One step per (mode, phase, round) seen, one second per row of it.
fn steps(rows: &[SecondRow]) -> Vec<StepTotals> {
    let mut out: Vec<StepTotals> = Vec::new();
    for r in rows.iter().filter(|r| r.op == "all") {
        match out
            .iter_mut()
            .find(|t| t.mode == r.mode && t.phase == r.phase && t.round == r.round)
        {
            Some(t) => t.seconds += 1.0,
            None => out.push(StepTotals {
                mode: r.mode,
                phase: r.phase.clone(),
                round: r.round,
                record: true,
                seconds: 1.0,
                late: 0,
                start_s: r.second as f64,
                offered: Vec::new(),
                open: None,
            }),
        }
    }
    out
}

/// Series per (mode, phase, round, operation): latencies from the interval logs,
/// counts from the time series.
fn series(dir: &Path, rows: &[SecondRow], stream: &str) -> Result<Vec<Series>, Error> {
    let mut counts: BTreeMap<(Mode, String, u32, String), SecondRow> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.op != "all") {
        let c = counts
            .entry((r.mode, r.phase.clone(), r.round, r.op.clone()))
            .or_insert_with(|| SecondRow {
                ops: 0,
                errors: 0,
                throttled: 0,
                mib: 0.0,
                ..r.clone()
            });
        c.ops += r.ops;
        c.errors += r.errors;
        c.throttled += r.throttled;
        c.mib += r.mib;
    }
    let mut stats: BTreeMap<SeriesKey, OpStats> = BTreeMap::new();
    for ((mode, phase, round, op), c) in &counts {
        let Some(op) = Op::parse(op) else { continue };
        let name = hlog::file_name(mode.as_str(), op.as_str());
        let path = super::streamed(&dir.join("histograms").join(name));
        let mut s = OpStats::default();
        if let Some(p) = path {
            let bytes =
                std::fs::read(&p).map_err(|e| Error::usage(format!("{}: {e}", p.display())))?;
            let tag = hlog::tag(phase, *round);
            for i in hlog::read(&bytes)?
                .into_iter()
                .filter(|i| i.tag.as_deref() == Some(tag.as_str()))
            {
                let _ = s.corrected.add(&i.hist);
            }
        }
        // Service time is not streamed: the corrected latency stands in (equal in closed loop).
        s.uncorrected = s.corrected.clone();
        s.count = c.ops;
        s.ok = c.ops - c.errors;
        s.bytes = (c.mib * (1u64 << 20) as f64) as u64;
        if c.throttled > 0 {
            s.errors.insert(THROTTLED_KMS.to_owned(), c.throttled);
        }
        if c.errors > c.throttled {
            s.errors
                .insert(UNCLASSIFIED.to_owned(), c.errors - c.throttled);
        }
        stats.insert(
            SeriesKey {
                mode: *mode,
                phase: phase.clone(),
                round: *round,
                stream: stream.to_owned(),
                op,
            },
            s,
        );
    }
    Ok(stats
        .into_iter()
        .map(|(key, stats)| Series { key, stats })
        .collect())
}
