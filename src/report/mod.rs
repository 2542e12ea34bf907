//! Reports from results directories: PNG and SVG charts (`charts/`), a
//! self-contained `report.html` and `summary.md` (DESIGN.md §4). Drawn at the end
//! of every run and by `sse-bench report`, which can overlay several runs.

pub mod charts;
pub mod html;

use crate::results::Summary;
use crate::scenario::{Mode, Op};
use hdrhistogram::Histogram;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One row of `timeseries.csv`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct SecondRow {
    /// Seconds since the run's start.
    pub second: u64,
    /// Wall clock when the second closed.
    pub unix_time: f64,
    /// Mode.
    pub mode: Mode,
    /// Phase.
    pub phase: String,
    /// Round.
    pub round: u32,
    /// Operation, or "all".
    pub op: String,
    /// Operations completed in the second.
    pub ops: u64,
    /// Of them, failed.
    pub errors: u64,
    /// Of them, KMS-throttled.
    pub throttled: u64,
    /// MiB moved.
    pub mib: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Maximum, ms.
    pub max_ms: f64,
    /// KMS calls the target served in the second ("all" rows, when known).
    pub kms_calls: Option<u64>,
    /// KMS calls throttled in the second.
    pub kms_throttled: Option<u64>,
}

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
pub fn load(dir: &Path) -> Result<RunData, String> {
    let summary = crate::results::read_summary(dir)?;
    let mut histograms = BTreeMap::new();
    for r in &summary.results {
        let path = dir
            .join("histograms")
            .join(format!("{}.{}.hlog", r.mode, r.op));
        if let Ok(bytes) = std::fs::read(&path) {
            histograms.insert((r.mode, r.op), read_hlog(&bytes)?);
        }
    }
    let mut seconds = Vec::new();
    let ts = dir.join("timeseries.csv");
    if ts.exists() {
        let mut rdr = csv::Reader::from_path(&ts).map_err(|e| format!("{}: {e}", ts.display()))?;
        for row in rdr.deserialize() {
            seconds.push(row.map_err(|e| format!("{}: {e}", ts.display()))?);
        }
    }
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

/// Adds every interval of an HdrHistogram interval log into one histogram.
pub fn read_hlog(bytes: &[u8]) -> Result<Histogram<u64>, String> {
    use base64::Engine as _;
    use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
    let mut total = crate::recorder::new_hist();
    for item in IntervalLogIterator::new(bytes) {
        if let LogEntry::Interval(ih) = item.map_err(|e| format!("interval log: {e:?}"))? {
            let raw = base64::engine::general_purpose::STANDARD
                .decode(ih.encoded_histogram())
                .map_err(|e| format!("interval log: {e}"))?;
            let h: Histogram<u64> = hdrhistogram::serialization::Deserializer::new()
                .deserialize(&mut raw.as_slice())
                .map_err(|e| format!("interval log: {e:?}"))?;
            total.add(&h).map_err(|e| format!("interval log: {e:?}"))?;
        }
    }
    Ok(total)
}

/// What a report wrote.
#[derive(Debug, Clone)]
pub struct Written {
    /// Chart files (PNG and SVG).
    pub charts: Vec<PathBuf>,
    /// report.html.
    pub html: PathBuf,
    /// summary.md.
    pub markdown: PathBuf,
}

/// Renders charts, report.html and summary.md for one or several runs into `out`.
pub fn render(runs: &[RunData], out: &Path) -> Result<Written, String> {
    if runs.is_empty() {
        return Err("no results to report".into());
    }
    let chart_dir = out.join("charts");
    std::fs::create_dir_all(&chart_dir).map_err(|e| format!("{}: {e}", chart_dir.display()))?;
    let drawn = charts::draw_all(runs, &chart_dir)?;
    let md = summary_markdown(runs);
    let markdown = out.join("summary.md");
    crate::results::write_atomic(&markdown, md.as_bytes())
        .map_err(|e| format!("{}: {e}", markdown.display()))?;
    append_step_summary(&md);
    let html_path = out.join("report.html");
    let page = html::page(runs, &drawn);
    crate::results::write_atomic(&html_path, page.as_bytes())
        .map_err(|e| format!("{}: {e}", html_path.display()))?;
    Ok(Written {
        charts: drawn
            .iter()
            .flat_map(|c| [c.png.clone(), c.svg.clone()])
            .collect(),
        html: html_path,
        markdown,
    })
}

/// summary.md: the comparison, KMS and cost tables and the verdicts of every run.
pub fn summary_markdown(runs: &[RunData]) -> String {
    let mut md = String::new();
    for r in runs {
        if runs.len() > 1 {
            md.push_str(&format!("## {}\n\n", r.label));
        }
        md.push_str(&crate::results::table::render_markdown(&r.summary));
        md.push('\n');
    }
    md
}

/// Appends to `$GITHUB_STEP_SUMMARY` when it is set (GitHub Actions).
pub fn append_step_summary(md: &str) {
    if let Ok(p) = std::env::var("GITHUB_STEP_SUMMARY")
        && !p.is_empty()
    {
        use std::io::Write as _;
        let r = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&p)
            .and_then(|mut f| f.write_all(md.as_bytes()));
        if let Err(e) = r {
            tracing::warn!("appending to $GITHUB_STEP_SUMMARY failed: {e}");
        }
    }
}

/// `sse-bench report DIR... [--out DIR]`: one directory re-renders in place; several
/// are overlaid into `--out`.
pub fn command(dirs: &[PathBuf], out: Option<&Path>) -> Result<Written, String> {
    let runs = dirs
        .iter()
        .map(|d| load(d))
        .collect::<Result<Vec<_>, _>>()?;
    let out = match (out, dirs) {
        (Some(o), _) => o.to_owned(),
        (None, [one]) => one.clone(),
        (None, _) => return Err("several results directories need --out DIR".into()),
    };
    render(&runs, &out)
}
