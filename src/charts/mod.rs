//! The comparison charts, drawn with plotters into PNG and SVG. Text goes through
//! ab_glyph with the bundled DejaVu Sans, so no system font library is needed.
//! Every mode has one colour and one marker in every chart ([`style`]); legends
//! stand beside the plot.

mod bars;
mod change;
mod forecast;
mod latency;
mod ramp;
mod style;
mod time;

use crate::error::{Context as _, Error};
pub use forecast::forecast_svgs;
use style::{AXIS_PX, Frame, LABEL_PX, cartesian, category_labels, titled};
pub use style::{LEGEND_W, mode_color};

use crate::results::directory::RunData;
use crate::scenario::{Op, Rate};
use bars::{bars, cost_groups, kms_groups};
use change::change_chart;
use latency::spectrum;
use plotters::coord::Shift;
use plotters::prelude::*;
use ramp::ramp_chart;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use time::{kms_over_time, over_time};

/// Size of every chart, pixels.
pub const SIZE: (u32, u32) = (960, 540);
pub(crate) const FONT: &str = "sans-serif";
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// One chart as written.
#[derive(Debug, Clone)]
pub struct Chart {
    /// File stem (`latency_spectrum_get`).
    pub name: String,
    /// Title.
    pub title: String,
    /// PNG path.
    pub png: PathBuf,
    /// SVG path.
    pub svg: PathBuf,
    /// The SVG text (inlined in report.html).
    pub svg_text: String,
}

pub(crate) type DrawResult = Result<(), Error>;

fn font() -> Result<(), Error> {
    static ONCE: OnceLock<Result<(), Error>> = OnceLock::new();
    ONCE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| Error::failure("the bundled font does not load"))
    })
    .clone()
}

pub(crate) fn err<E: std::fmt::Debug>(e: E) -> Error {
    Error::failure(format!("drawing a chart: {e:?}"))
}

pub(crate) fn label(runs: &[RunData], run: usize, what: &str) -> String {
    if runs.len() > 1 {
        format!("{}: {what}", runs[run].label)
    } else {
        what.to_owned()
    }
}

fn subtitle(runs: &[RunData]) -> String {
    let s = &runs[0].summary;
    if runs.len() > 1 {
        format!("{} ({} runs)", s.scenario.name, runs.len())
    } else {
        format!(
            "{} on {} ({})",
            s.scenario.name, s.target.label, s.target.region
        )
    }
}

/// Draws a chart into PNG and SVG (both written atomically).
fn render(
    dir: &Path,
    name: &str,
    title: String,
    draw: &dyn Fn(&DrawingArea<BitMapBackend<'_>, Shift>) -> DrawResult,
    draw_svg: &dyn Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Result<Chart, Error> {
    let (w, h) = SIZE;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).context("bitmap size mismatch")?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageOutputFormat::Png)
        .map_err(|e| Error::failure(format!("encoding PNG: {e}")))?;
    let png_path = dir.join(format!("{name}.png"));
    crate::results::write_atomic(&png_path, png.get_ref())
        .with_context(|| format!("writing {}", png_path.display()))?;
    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_svg(&root)?;
        root.present().map_err(err)?;
    }
    let svg_path = dir.join(format!("{name}.svg"));
    crate::results::write_atomic(&svg_path, svg_text.as_bytes())
        .with_context(|| format!("writing {}", svg_path.display()))?;
    Ok(Chart {
        name: name.to_owned(),
        title,
        png: png_path,
        svg: svg_path,
        svg_text,
    })
}

/// Calls `render` with one generic drawing function for both backends.
macro_rules! chart {
    ($dir:expr, $name:expr, $title:expr, $f:ident ( $($arg:expr),* )) => {
        render(
            $dir,
            &$name,
            $title,
            &|root| $f(root, $($arg),*),
            &|root| $f(root, $($arg),*),
        )
    };
}

/// Draws every chart the runs have data for.
pub fn draw_all(runs: &[RunData], dir: &Path) -> Result<Vec<Chart>, Error> {
    font()?;
    let mut out = Vec::new();
    if !change::categories(runs).is_empty() {
        let title = format!(
            "Latency change against SSE-S3, 95% intervals ({})",
            subtitle(runs)
        );
        out.push(chart!(
            dir,
            "change_vs_sse_s3",
            title.clone(),
            change_chart(runs, &title)
        )?);
    }
    let ops: BTreeSet<Op> = runs
        .iter()
        .flat_map(|r| r.histograms.keys().map(|k| k.1))
        .collect();
    for op in ops {
        let title = format!("Latency by percentile, {op} ({})", subtitle(runs));
        out.push(chart!(
            dir,
            format!("latency_spectrum_{op}"),
            title.clone(),
            spectrum(runs, op, &title)
        )?);
    }
    if runs.iter().any(|r| !r.seconds.is_empty()) {
        let title = format!("Throughput and p99 over time ({})", subtitle(runs));
        out.push(chart!(
            dir,
            "throughput_p99_over_time",
            title.clone(),
            over_time(runs, &title)
        )?);
        let title = format!(
            "KMS requests per second against the quota ({})",
            subtitle(runs)
        );
        out.push(chart!(
            dir,
            "kms_rps_over_time",
            title.clone(),
            kms_over_time(runs, &title)
        )?);
    }
    let title = format!("KMS calls per 1,000 S3 operations ({})", subtitle(runs));
    out.push(chart!(
        dir,
        "kms_per_1000_ops",
        title.clone(),
        bars(
            &title,
            "KMS calls per 1,000 S3 operations",
            &kms_groups(runs),
            false
        )
    )?);
    if runs.iter().any(|r| !r.summary.cost.is_empty()) {
        let title = format!("Cost per million operations, USD ({})", subtitle(runs));
        out.push(chart!(
            dir,
            "cost_per_million_ops",
            title.clone(),
            bars(
                &title,
                "USD per million operations",
                &cost_groups(runs),
                true
            )
        )?);
    }
    for (ri, r) in runs.iter().enumerate() {
        for t in r
            .summary
            .steps
            .iter()
            .filter(|t| t.record && t.offered.len() > 2)
        {
            let ramp = r
                .summary
                .scenario
                .definition
                .get("phases")
                .and_then(|p| p.as_array())
                .and_then(|ps| ps.iter().find(|p| p["name"] == t.phase.as_str()))
                .and_then(|p| serde_json::from_value::<Rate>(p["rate"].clone()).ok());
            if !matches!(ramp, Some(Rate::Ramp { .. })) {
                continue;
            }
            let name = format!(
                "ramp_{}{}_{}_r{}",
                if runs.len() > 1 {
                    format!("{ri}_")
                } else {
                    String::new()
                },
                t.mode,
                t.phase,
                t.round + 1
            );
            let title = format!(
                "Ramp {} {} round {}: achieved and p99 against offered rate ({})",
                t.mode,
                t.phase,
                t.round + 1,
                subtitle(std::slice::from_ref(r))
            );
            out.push(chart!(dir, name, title.clone(), ramp_chart(r, t, &title))?);
        }
    }
    Ok(out)
}
