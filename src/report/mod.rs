//! Reports from results directories: PNG and SVG charts (`charts/`), a
//! self-contained `report.html` and `summary.md`. Drawn at the end
//! of every run and by `sse-bench report`, which can overlay several runs.

pub mod charts;
pub mod html;

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
            let h = crate::results::hlog::read_total(&bytes)
                .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
            histograms.insert((r.mode, r.op), h);
        }
    }
    let seconds = match crate::results::streamed(&dir.join(crate::results::timeseries::FILE)) {
        Some(ts) => crate::results::timeseries::read(&ts).map_err(Error::Usage)?,
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
    let (record, text) = crate::results::recover::recover(dir)
        .map_err(|e| Error::Usage(format!("{}: {e}", dir.display())))?;
    let ls = crate::scenario::parse(&dir.join("scenario.toml"), &text)
        .map_err(|e| Error::Usage(e.to_string()))?;
    let prices = crate::cost::PriceTable::builtin().map_err(|e| Error::failure(e.to_string()))?;
    Ok(crate::results::build(&record, &ls, &prices))
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
pub fn render(runs: &[RunData], out: &Path) -> Result<Written, Error> {
    if runs.is_empty() {
        return Err(Error::Usage("no results to report".into()));
    }
    let chart_dir = out.join("charts");
    std::fs::create_dir_all(&chart_dir)
        .map_err(|e| Error::failure(format!("{}: {e}", chart_dir.display())))?;
    let drawn = charts::draw_all(runs, &chart_dir).map_err(Error::failure)?;
    let md = summary_markdown(runs);
    let markdown = out.join("summary.md");
    crate::results::write_atomic(&markdown, md.as_bytes())
        .map_err(|e| Error::failure(format!("{}: {e}", markdown.display())))?;
    append_step_summary(&md);
    let html_path = out.join("report.html");
    let page = html::page(runs, &drawn);
    crate::results::write_atomic(&html_path, page.as_bytes())
        .map_err(|e| Error::failure(format!("{}: {e}", html_path.display())))?;
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
        md.push_str(&crate::render::summary::summary_doc(&r.summary).markdown());
        md.push('\n');
    }
    md
}

/// The self-contained page of `forecast --html`.
pub fn forecast_html(r: &crate::forecast::report::Report) -> Result<String, Error> {
    let charts = charts::forecast_svgs(r).map_err(Error::failure)?;
    let doc = crate::render::forecast::forecast_doc(r).html();
    Ok(html::forecast_page(&doc, &charts))
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
pub fn command(dirs: &[PathBuf], out: Option<&Path>) -> Result<Written, Error> {
    let runs = dirs
        .iter()
        .map(|d| load(d))
        .collect::<Result<Vec<_>, _>>()?;
    let out = match (out, dirs) {
        (Some(o), _) => o.to_owned(),
        (None, [one]) => one.clone(),
        (None, _) => {
            return Err(Error::Usage(
                "several results directories need --out DIR".into(),
            ));
        }
    };
    render(&runs, &out)
}
