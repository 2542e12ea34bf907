//! `sse-bench merge`: the results of N shards of one run become one results directory.
//! Every run writes its run record (`shard.json`) beside its summary: the recorded
//! series with their full histograms and the per-step KMS counts, which a summary
//! alone (percentiles) could not be added from. The records are added into one
//! ([`records`]), the streamed files too ([`files`]), and the summary is built by the
//! same code as a single run's, so `report` and `compare` take the merged directory
//! as they take any. What must not live here: any format of its own.

mod files;
mod records;

use crate::error::Error;
use crate::results::record::CounterScope;
use crate::results::record::{RunRecord, SHARD_FILE, SHARD_FORMAT};
use crate::results::summary::{self, Summary};
use crate::scenario;
use std::path::{Path, PathBuf};

/// A shard's results directory, loaded.
pub(crate) struct Loaded {
    dir: PathBuf,
    record: RunRecord,
    scenario_text: String,
}

/// The checked shards of one run, in index order.
pub(crate) struct MergeInput {
    shards: Vec<Loaded>,
    /// The earliest shard start (Unix seconds): time zero of the merged run.
    base: f64,
    /// Whether the shards read one shared KMS counter.
    shared: bool,
}

/// Results directories under `path`: itself if it holds `shard.json`, else its
/// subdirectories that do (one level), sorted.
fn shard_dirs(path: &Path) -> Result<Vec<PathBuf>, Error> {
    if path.join(SHARD_FILE).is_file() {
        return Ok(vec![path.to_owned()]);
    }
    let entries =
        std::fs::read_dir(path).map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    let mut v: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join(SHARD_FILE).is_file())
        .collect();
    v.sort();
    if v.is_empty() {
        return Err(Error::Usage(format!(
            "{}: no {SHARD_FILE} there or in its subdirectories (is it a results directory of sse-bench 0.1 or later?)",
            path.display()
        )));
    }
    Ok(v)
}

fn load(dir: &Path) -> Result<Loaded, Error> {
    let read = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .map_err(|e| Error::Usage(format!("{}: {e}", dir.join(name).display())))
    };
    let path = records::record_path(dir);
    let record: RunRecord = serde_json::from_str(&read(SHARD_FILE)?)
        .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
    if record.format != SHARD_FORMAT {
        return Err(Error::Usage(format!(
            "{}: shard format {} (this build reads {SHARD_FORMAT})",
            dir.display(),
            record.format
        )));
    }
    Ok(Loaded {
        dir: dir.to_owned(),
        record,
        scenario_text: read("scenario.toml")?,
    })
}

/// What a merge produced.
pub struct Merged {
    /// The summary written.
    pub summary: Summary,
    /// Shard directories merged, by index.
    pub inputs: Vec<PathBuf>,
}

/// Merges the shard directories found under `inputs` into `out`.
pub fn merge(inputs: &[PathBuf], out: &Path, prices: Option<&Path>) -> Result<Merged, Error> {
    let mut dirs = Vec::new();
    for p in inputs {
        dirs.extend(shard_dirs(p)?);
    }
    let mut shards: Vec<Loaded> = dirs.iter().map(|d| load(d)).collect::<Result<_, _>>()?;
    let n = records::check(&shards)?;
    shards.sort_by_key(|s| s.record.shard.index);
    let text = shards[0].scenario_text.clone();
    let ls = scenario::parse(&shards[0].dir.join("scenario.toml"), &text)?;
    let table = crate::prices::PriceTable::load(prices)?;
    let input = MergeInput {
        base: shards
            .iter()
            .map(|s| s.record.start_unix)
            .fold(f64::INFINITY, f64::min),
        shared: shards
            .iter()
            .any(|s| s.record.kms_counter == CounterScope::Shared),
        shards,
    };
    let record = records::add(&input);
    let mut summary = crate::results::build(&record, &ls, &table);
    let first = &input.shards[0].record;
    summary.shards = Some(summary::ShardsInfo {
        count: n,
        merged: input
            .shards
            .iter()
            .map(|s| summary::MergedShard {
                index: s.record.shard.index,
                dir: s.dir.display().to_string(),
                operations: s.record.series.iter().map(|x| x.stats.count).sum(),
                late_by_s: s.record.barrier.as_ref().map(|b| b.late_by_s),
            })
            .collect(),
        index: None,
        start_at: first.barrier.as_ref().map(|b| b.start_at.clone()),
        late_by_s: None,
    });

    std::fs::create_dir_all(out.join("histograms"))
        .map_err(|e| Error::failure(format!("{}: {e}", out.display())))?;
    let hists = files::merge_hlogs(&input.shards, input.base, &out.join("histograms"))
        .map_err(|e| Error::failure(format!("merging histograms: {e}")))?;
    files::merge_timeseries(
        &input.shards,
        input.base,
        &hists,
        input.shared,
        &out.join(crate::results::timeseries::FILE),
    )
    .map_err(|e| Error::failure(format!("merging time series: {e}")))?;
    crate::results::write_dir(out, &summary, &text)
        .map_err(|e| Error::failure(format!("writing {}: {e}", out.display())))?;
    if let Err(e) = crate::report::load(out).and_then(|d| crate::report::render(&[d], out)) {
        tracing::warn!("charts and report not written: {e}");
    }
    Ok(Merged {
        summary,
        inputs: input.shards.into_iter().map(|s| s.dir).collect(),
    })
}
