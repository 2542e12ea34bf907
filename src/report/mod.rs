//! Reports from results directories: PNG and SVG charts (drawn by [`crate::charts`]),
//! a self-contained `report.html` and `summary.md`. Drawn at the end
//! of every run and by `sse-bench report`, which can overlay several runs.

pub mod html;

pub use crate::results::directory::{RunData, load};

use crate::error::Error;
use std::path::{Path, PathBuf};

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
    let drawn = crate::charts::draw_all(runs, &chart_dir).map_err(Error::failure)?;
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
        md.push_str(&crate::document::summary::summary_doc(&r.summary).markdown());
        md.push('\n');
    }
    md
}

/// The self-contained page of `forecast --html`.
pub fn forecast_html(r: &crate::forecast::output::Report) -> Result<String, Error> {
    let charts = crate::charts::forecast_svgs(r).map_err(Error::failure)?;
    let doc = crate::document::forecast::forecast_doc(r).html();
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
