//! A whole results directory read back: the summary (rebuilt from the streamed files
//! when the run never finished), the whole-run histograms from the interval logs and
//! the per-second rows. What reports and charts draw from.

use crate::error::Error;
use crate::results::Summary;
use crate::scenario::{Mode, Op};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use crate::results::timeseries::SecondRow;

/// Everything a report draws from one results directory.
pub struct RunData {
    /// Short label (the directory name).
    pub label: String,
    /// The directory.
    pub dir: PathBuf,
    /// summary.json.
    pub summary: Summary,
    /// Whole-run latency histogram per (mode, operation), from the interval logs.
    pub histograms: BTreeMap<(Mode, Op), Histogram<u64>>,
    /// timeseries.csv.
    pub seconds: Vec<SecondRow>,
}

/// Reads a results directory.
pub fn load(dir: &Path) -> Result<RunData, Error> {
    let summary = if crate::results::recover::is_unfinished(dir) {
        unfinished_summary(dir)?
    } else {
        crate::results::read_summary(dir)?
    };
    let mut histograms = BTreeMap::new();
    for r in &summary.results {
        let name = crate::results::hlog::file_name(r.mode.as_str(), r.op.as_str());
        let Some(path) = crate::results::streamed(&dir.join("histograms").join(name)) else {
            continue;
        };
        if let Ok(bytes) = std::fs::read(&path) {
            let h =
                crate::results::hlog::read_total(&bytes).map_err(|e| e.context(path.display()))?;
            histograms.insert((r.mode, r.op), h);
        }
    }
    let seconds = match crate::results::streamed(&dir.join(crate::results::timeseries::FILE)) {
        Some(ts) => crate::results::timeseries::read(&ts)?,
        None => Vec::new(),
    };
    let label = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| summary.scenario.name.clone());
    Ok(RunData {
        label,
        dir: dir.to_owned(),
        summary,
        histograms,
        seconds,
    })
}

/// The summary of a run that never finished, rebuilt from what it streamed (marked
/// incomplete; error classes and service times are not in the streamed files).
fn unfinished_summary(dir: &Path) -> Result<Summary, Error> {
    let (record, text) =
        crate::results::recover::recover(dir).map_err(|e| e.context(dir.display()))?;
    let ls = crate::scenario::parse(&dir.join("scenario.toml"), &text)?;
    let prices = crate::prices::PriceTable::builtin()?;
    Ok(crate::results::build(&record, &ls, &prices))
}
