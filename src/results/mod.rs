//! The results directory: `summary.json`, `ops.csv`,
//! `timeseries.csv`, `histograms/*.hlog`, the scenario copy. Every file is
//! written atomically (temporary file, then rename).

mod build;
pub mod directory;
mod economics;
pub mod hlog;
pub mod load;
pub mod record;
pub mod recover;
pub mod summary;
mod thresholds;
pub mod timeseries;
pub mod verdict;

pub use build::build;
pub use summary::{SCHEMA_VERSION, Summary};

use crate::error::Error;
use std::io::Write;
use std::path::Path;

/// A streamed file (`timeseries.csv`, `histograms/*.hlog`) under its final name, or,
/// when the run never finished, under the `.partial` name it was streamed to.
pub fn streamed(path: &Path) -> Option<std::path::PathBuf> {
    let partial = path.with_file_name(format!("{}.partial", path.file_name()?.to_str()?));
    [path.to_owned(), partial].into_iter().find(|p| p.exists())
}

/// Writes `bytes` to `path` through a temporary file and a rename.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!(
        "{}.tmp",
        path.extension().and_then(|e| e.to_str()).unwrap_or("")
    ));
    let written = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()
    })();
    if let Err(e) = written {
        // A full disk leaves no half-written temporary file behind either.
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(tmp, path)
}

/// Renders `ops.csv`: one row per (mode, phase, round, stream, operation).
pub fn ops_csv(s: &Summary) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record([
        "mode",
        "phase",
        "round",
        "stream",
        "op",
        "count",
        "errors",
        "throttled",
        "ops_per_s",
        "mib_per_s",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "p999_ms",
        "max_ms",
        "service_p99_ms",
        "kms_calls_per_op",
        "kms_predicted_per_op",
        "kms_peak_headroom_pct",
        "cost_per_million_ops_usd",
        "cost_per_month_usd",
    ])?;
    for p in &s.phases {
        let kms = s
            .kms
            .iter()
            .find(|k| k.mode == p.mode)
            .filter(|k| k.source.is_measured())
            .map(|k| k.per_s3_op);
        let k = s.kms.iter().find(|k| k.mode == p.mode);
        let predicted = k
            .filter(|k| k.s3_ops > 0)
            .map(|k| k.predicted.calls / k.s3_ops as f64);
        let headroom = k.and_then(|k| k.peak_headroom_pct.or(k.mean_headroom_pct));
        let cost = s.cost.iter().find(|c| c.mode == p.mode);
        let f = |v: f64| format!("{v:.3}");
        w.write_record([
            p.mode.to_string(),
            p.phase.clone(),
            p.round.to_string(),
            p.stream.clone(),
            p.op.to_string(),
            p.count.to_string(),
            p.errors.to_string(),
            p.throttled.to_string(),
            f(p.ops_per_s),
            f(p.mib_per_s),
            f(p.latency_ms.p50),
            f(p.latency_ms.p90),
            f(p.latency_ms.p99),
            f(p.latency_ms.p999),
            f(p.latency_ms.max),
            f(p.service_time_ms.p99),
            kms.map(|k| format!("{k:.5}")).unwrap_or_default(),
            predicted.map(|k| format!("{k:.5}")).unwrap_or_default(),
            headroom.map(|h| format!("{h:.2}")).unwrap_or_default(),
            cost.map(|c| format!("{:.6}", c.per_million_ops.total_usd))
                .unwrap_or_default(),
            cost.map(|c| format!("{:.4}", c.monthly.cost.total_usd))
                .unwrap_or_default(),
        ])?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// Writes the summary files into `dir` and renames the streamed files into place.
pub fn write_dir(dir: &Path, s: &Summary, scenario_text: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let json = serde_json::to_vec_pretty(s).map_err(std::io::Error::other)?;
    write_atomic(
        &dir.join("ops.csv"),
        &ops_csv(s).map_err(std::io::Error::other)?,
    )?;
    write_atomic(&dir.join("scenario.toml"), scenario_text.as_bytes())?;
    let partial = dir.join(timeseries::PARTIAL);
    if partial.exists() {
        std::fs::rename(partial, dir.join(timeseries::FILE))?;
    }
    let hist = dir.join("histograms");
    if hist.is_dir() {
        for e in std::fs::read_dir(&hist)? {
            let p = e?.path();
            if let Some(name) = p
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".partial"))
            {
                std::fs::rename(&p, hist.join(name))?;
            }
        }
    }
    // summary.json last: its presence marks a finished directory.
    write_atomic(&dir.join("summary.json"), &json)?;
    match std::fs::remove_file(dir.join(record::STARTED_FILE)) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Reads a summary from a results directory or a summary.json path.
pub fn read_summary(path: &Path) -> Result<Summary, Error> {
    let file = if path.is_dir() {
        path.join("summary.json")
    } else {
        path.to_owned()
    };
    let text = std::fs::read_to_string(&file)
        .map_err(|e| Error::usage(format!("{}: {e}", file.display())))?;
    let v: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| Error::usage(format!("{}: {e}", file.display())))?;
    match v.get("schema_version").and_then(|x| x.as_u64()) {
        Some(n) if n == SCHEMA_VERSION as u64 => {}
        other => {
            return Err(Error::usage(format!(
                "{}: schema_version {other:?}, this build reads {SCHEMA_VERSION}",
                file.display()
            )));
        }
    }
    serde_json::from_value(v).map_err(|e| Error::usage(format!("{}: {e}", file.display())))
}

/// Writes a baseline: the summary and the scenario it ran, atomically.
pub fn save_baseline(dir: &Path, s: &Summary, scenario_text: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomic(&dir.join("scenario.toml"), scenario_text.as_bytes())?;
    let json = serde_json::to_vec_pretty(s).map_err(std::io::Error::other)?;
    write_atomic(&dir.join("summary.json"), &json)
}
