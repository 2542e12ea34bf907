//! The comparison charts, drawn with plotters into PNG and SVG. Text goes through
//! ab_glyph with the bundled DejaVu Sans, so no system font library is needed.
//! Every mode has one colour in every chart.

use super::RunData;
use crate::scenario::{Mode, Op, Rate};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Size of every chart, pixels.
pub const SIZE: (u32, u32) = (960, 540);
const FONT: &str = "sans-serif";
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

type DrawResult = Result<(), String>;

fn font() -> Result<(), String> {
    static ONCE: OnceLock<Result<(), String>> = OnceLock::new();
    ONCE.get_or_init(|| {
        plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES)
            .map_err(|_| "the bundled font does not load".to_owned())
    })
    .clone()
}

/// The colour of a mode (the same in every chart).
pub fn mode_color(m: Mode) -> RGBColor {
    match m {
        Mode::SseS3 => RGBColor(31, 119, 180),
        Mode::SseKms => RGBColor(255, 127, 14),
        Mode::SseKmsBucketKey => RGBColor(44, 160, 44),
        Mode::DsseKms => RGBColor(214, 39, 40),
        Mode::KmsDirect => RGBColor(148, 103, 189),
    }
}

/// A mode's colour for the i-th overlaid run: later runs are lighter.
fn run_color(m: Mode, run: usize) -> RGBColor {
    let RGBColor(r, g, b) = mode_color(m);
    let k = (run as f64 * 0.3).min(0.7);
    let mix = |c: u8| (c as f64 + (255.0 - c as f64) * k) as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

fn err<E: std::fmt::Debug>(e: E) -> String {
    format!("drawing a chart: {e:?}")
}

fn label(runs: &[RunData], run: usize, what: &str) -> String {
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
) -> Result<Chart, String> {
    let (w, h) = SIZE;
    let mut buf = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut buf, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    let img = image::RgbImage::from_raw(w, h, buf).ok_or("bitmap size mismatch")?;
    let mut png = std::io::Cursor::new(Vec::new());
    img.write_to(&mut png, image::ImageOutputFormat::Png)
        .map_err(|e| format!("encoding PNG: {e}"))?;
    let png_path = dir.join(format!("{name}.png"));
    crate::results::write_atomic(&png_path, png.get_ref()).map_err(|e| e.to_string())?;
    let mut svg_text = String::new();
    {
        let root = SVGBackend::with_string(&mut svg_text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw_svg(&root)?;
        root.present().map_err(err)?;
    }
    let svg_path = dir.join(format!("{name}.svg"));
    crate::results::write_atomic(&svg_path, svg_text.as_bytes()).map_err(|e| e.to_string())?;
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
pub fn draw_all(runs: &[RunData], dir: &Path) -> Result<Vec<Chart>, String> {
    font()?;
    let mut out = Vec::new();
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
        kms_bars(runs, &title)
    )?);
    if runs.iter().any(|r| !r.summary.cost.is_empty()) {
        let title = format!("Cost per million operations, USD ({})", subtitle(runs));
        out.push(chart!(
            dir,
            "cost_per_million_ops",
            title.clone(),
            cost_bars(runs, &title)
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

fn title_style() -> TextStyle<'static> {
    (FONT, 20).into_font().into()
}

fn percentile_label(v: &f64) -> String {
    match (*v * 100.0).round() as i64 {
        0 => "0%".into(),
        100 => "90%".into(),
        200 => "99%".into(),
        300 => "99.9%".into(),
        400 => "99.99%".into(),
        500 => "99.999%".into(),
        _ => format!("{:.3}%", 100.0 * (1.0 - 10f64.powf(-*v))),
    }
}

/// 1. Latency percentile spectrum: x is the percentile on the usual log scale.
fn spectrum<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunData],
    op: Op,
    title: &str,
) -> DrawResult {
    let mut series = Vec::new();
    let mut ymax: f64 = 1.0;
    for (ri, r) in runs.iter().enumerate() {
        for ((mode, o), h) in &r.histograms {
            if *o != op || h.is_empty() {
                continue;
            }
            // Up to 99.99 %, as far as the sample supports (a point needs 10^k samples).
            let nines = ((h.len() as f64).log10()).clamp(1.0, 4.0);
            let pts: Vec<(f64, f64)> = (0..=(nines * 50.0) as u32)
                .map(|i| {
                    let x = i as f64 / 50.0;
                    let q = 1.0 - 10f64.powf(-x);
                    (x, h.value_at_quantile(q) as f64 / 1000.0)
                })
                .collect();
            ymax = pts.iter().map(|p| p.1).fold(ymax, f64::max);
            series.push((label(runs, ri, mode.as_str()), run_color(*mode, ri), pts));
        }
    }
    let mut c = ChartBuilder::on(root)
        .caption(title, title_style())
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..4.0f64, 0.0..ymax * 1.1)
        .map_err(err)?;
    c.configure_mesh()
        .x_labels(5)
        .x_label_formatter(&percentile_label)
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(err)?;
    for (name, color, pts) in series {
        c.draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(err)?
            .label(name)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
            });
    }
    legend(&mut c)
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    c: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
) -> DrawResult {
    c.configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)
}

/// Per-second "all" rows of a mode, with their x (seconds from the run's start).
fn all_rows(r: &RunData) -> BTreeMap<Mode, Vec<&super::SecondRow>> {
    let mut m: BTreeMap<Mode, Vec<&super::SecondRow>> = BTreeMap::new();
    for s in r.seconds.iter().filter(|s| s.op == "all") {
        m.entry(s.mode).or_default().push(s);
    }
    m
}

/// Seconds at which a new (mode, phase, round) starts.
fn boundaries(r: &RunData) -> Vec<f64> {
    let mut out = Vec::new();
    let mut last: Option<(Mode, &str, u32)> = None;
    for s in r.seconds.iter().filter(|s| s.op == "all") {
        let k = (s.mode, s.phase.as_str(), s.round);
        if last != Some(k) {
            out.push(s.second as f64);
            last = Some(k);
        }
    }
    out
}

/// 2. Throughput (top) and p99 (bottom) over time, phase boundaries as grey lines.
fn over_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunData],
    title: &str,
) -> DrawResult {
    let root = root.titled(title, title_style()).map_err(err)?;
    let (top, bottom) = root.split_vertically(SIZE.1 as i32 / 2 - 20);
    let xmax = runs
        .iter()
        .flat_map(|r| r.seconds.iter().map(|s| s.second as f64 + 1.0))
        .fold(1.0, f64::max);
    let ops_max = runs
        .iter()
        .flat_map(|r| {
            r.seconds
                .iter()
                .filter(|s| s.op == "all")
                .map(|s| s.ops as f64)
        })
        .fold(1.0, f64::max);
    let p99_max = runs
        .iter()
        .flat_map(|r| r.seconds.iter().filter(|s| s.op == "all").map(|s| s.p99_ms))
        .fold(1.0, f64::max);
    for (area, ymax, desc, is_ops) in [
        (&top, ops_max, "operations per second", true),
        (&bottom, p99_max, "p99 latency (ms)", false),
    ] {
        let mut c = ChartBuilder::on(area)
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(60)
            .build_cartesian_2d(0.0..xmax, 0.0..ymax * 1.15)
            .map_err(err)?;
        c.configure_mesh()
            .x_desc("seconds since the run started")
            .y_desc(desc)
            .label_style((FONT, 12))
            .axis_desc_style((FONT, 14))
            .draw()
            .map_err(err)?;
        for r in runs.iter().take(1) {
            for b in boundaries(r) {
                c.draw_series(LineSeries::new(
                    vec![(b, 0.0), (b, ymax * 1.15)],
                    BLACK.mix(0.25),
                ))
                .map_err(err)?;
            }
        }
        for (ri, r) in runs.iter().enumerate() {
            for (mode, rows) in all_rows(r) {
                let color = run_color(mode, ri);
                // One line per contiguous stretch (a mode's steps are separated by others').
                let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
                let mut prev: Option<u64> = None;
                for s in rows {
                    let y = if is_ops { s.ops as f64 } else { s.p99_ms };
                    if prev.is_none_or(|p| s.second != p + 1) {
                        segments.push(Vec::new());
                    }
                    if let Some(seg) = segments.last_mut() {
                        seg.push((s.second as f64 + 0.5, y));
                    }
                    prev = Some(s.second);
                }
                for (i, seg) in segments.into_iter().enumerate() {
                    let drawn = c
                        .draw_series(LineSeries::new(seg, color.stroke_width(2)))
                        .map_err(err)?;
                    if i == 0 && is_ops {
                        drawn
                            .label(label(runs, ri, mode.as_str()))
                            .legend(move |(x, y)| {
                                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(3))
                            });
                    }
                }
            }
        }
        if is_ops {
            legend(&mut c)?;
        }
    }
    Ok(())
}

/// 4. KMS requests per second over time, the quota line and throttled seconds.
fn kms_over_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunData],
    title: &str,
) -> DrawResult {
    let xmax = runs
        .iter()
        .flat_map(|r| r.seconds.iter().map(|s| s.second as f64 + 1.0))
        .fold(1.0, f64::max);
    let peak = runs
        .iter()
        .flat_map(|r| {
            r.seconds
                .iter()
                .filter_map(|s| s.kms_calls.map(|c| c + s.kms_throttled.unwrap_or(0)))
        })
        .fold(1, u64::max) as f64;
    let quota = runs[0]
        .summary
        .kms
        .iter()
        .find_map(|k| k.quota_rps)
        .map(|q| q as f64);
    // The quota is drawn when it is within reach of the traffic, else named in the caption.
    let show_quota = quota.filter(|q| *q > 0.0 && *q <= peak * 3.0);
    let ymax = show_quota.map_or(peak, |q| q.max(peak)) * 1.15;
    let caption = match (quota, show_quota) {
        (Some(q), None) if q > 0.0 => format!("{title}; quota {q:.0} req/s, off scale"),
        _ => title.to_owned(),
    };
    let mut c = ChartBuilder::on(root)
        .caption(caption, title_style())
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..xmax, 0.0..ymax)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("seconds since the run started")
        .y_desc("KMS requests per second")
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(err)?;
    if let Some(q) = show_quota {
        c.draw_series(LineSeries::new(
            vec![(0.0, q), (xmax, q)],
            BLACK.stroke_width(2),
        ))
        .map_err(err)?
        .label(format!("quota {q:.0} req/s"))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.stroke_width(2)));
    }
    for (ri, r) in runs.iter().enumerate() {
        for (mode, rows) in all_rows(r) {
            let color = run_color(mode, ri);
            let pts: Vec<(f64, f64)> = rows
                .iter()
                .filter_map(|s| {
                    s.kms_calls.map(|k| {
                        (
                            s.second as f64 + 0.5,
                            (k + s.kms_throttled.unwrap_or(0)) as f64,
                        )
                    })
                })
                .collect();
            if pts.is_empty() {
                continue;
            }
            c.draw_series(pts.iter().map(|p| Circle::new(*p, 3, color.filled())))
                .map_err(err)?
                .label(label(runs, ri, mode.as_str()))
                .legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
            let throttled: Vec<(f64, f64)> = rows
                .iter()
                .filter(|s| s.kms_throttled.unwrap_or(0) > 0)
                .filter_map(|s| {
                    s.kms_calls.map(|k| {
                        (
                            s.second as f64 + 0.5,
                            (k + s.kms_throttled.unwrap_or(0)) as f64,
                        )
                    })
                })
                .collect();
            if !throttled.is_empty() {
                c.draw_series(
                    throttled
                        .into_iter()
                        .map(|p| Cross::new(p, 6, RED.stroke_width(2))),
                )
                .map_err(err)?
                .label(label(runs, ri, &format!("{mode}: seconds with throttling")))
                .legend(|(x, y)| Cross::new((x + 9, y), 5, RED.stroke_width(2)));
            }
        }
    }
    legend(&mut c)
}

/// One bar group (a mode of a run): its parts, stacked or side by side.
struct BarGroup {
    label: String,
    parts: Vec<(String, f64, RGBColor)>,
}

/// Bars per mode, stacked or side by side.
fn bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    ydesc: &str,
    groups: &[BarGroup],
    stacked: bool,
) -> DrawResult {
    let n = groups.len().max(1);
    let ymax = groups
        .iter()
        .map(|g| {
            if stacked {
                g.parts.iter().map(|p| p.1).sum::<f64>()
            } else {
                g.parts.iter().map(|p| p.1).fold(0.0, f64::max)
            }
        })
        .fold(0.0, f64::max)
        .max(1e-6);
    let names: Vec<String> = groups.iter().map(|g| g.label.clone()).collect();
    let fmt = move |v: &f64| {
        let i = v.round() as i64;
        if (v - i as f64).abs() < 0.01 && i >= 0 && (i as usize) < names.len() {
            names[i as usize].clone()
        } else {
            String::new()
        }
    };
    let mut c = ChartBuilder::on(root)
        .caption(title, title_style())
        .margin(12)
        .x_label_area_size(45)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.6..(n as f64 - 0.4), 0.0..ymax * 1.2)
        .map_err(err)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&fmt)
        .y_desc(ydesc)
        .label_style((FONT, 14))
        .axis_desc_style((FONT, 16))
        .draw()
        .map_err(err)?;
    let mut labelled = BTreeSet::new();
    for (i, BarGroup { parts, .. }) in groups.iter().enumerate() {
        let x = i as f64;
        let mut base = 0.0;
        let w = if stacked {
            0.6
        } else {
            0.7 / parts.len().max(1) as f64
        };
        for (j, (part, v, color)) in parts.iter().enumerate() {
            let (x0, y0, y1) = if stacked {
                (x - w / 2.0, base, base + v)
            } else {
                (x - 0.35 + j as f64 * w, 0.0, *v)
            };
            base += v;
            let color = *color;
            let drawn = c
                .draw_series(std::iter::once(Rectangle::new(
                    [(x0, y0), (x0 + w * 0.95, y1)],
                    color.filled(),
                )))
                .map_err(err)?;
            if labelled.insert(part.clone()) {
                // Side by side, bars take their mode's colour: the legend shows the shade.
                let swatch = if stacked {
                    color
                } else if j == 0 {
                    RGBColor(190, 190, 190)
                } else {
                    RGBColor(90, 90, 90)
                };
                drawn.label(part.clone()).legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 14, y + 5)], swatch.filled())
                });
            }
            if !stacked {
                let text = if *v >= 10.0 {
                    format!("{v:.0}")
                } else {
                    format!("{v:.2}")
                };
                c.draw_series(std::iter::once(Text::new(
                    text,
                    (x0 + w * 0.2, y1 + ymax * 0.05),
                    (FONT, 13),
                )))
                .map_err(err)?;
            }
        }
    }
    c.configure_series_labels()
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .position(SeriesLabelPosition::UpperRight)
        .draw()
        .map_err(err)
}

/// 3. KMS calls per 1,000 S3 operations: predicted and measured bars per mode.
fn kms_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunData],
    title: &str,
) -> DrawResult {
    let mut groups = Vec::new();
    for (ri, r) in runs.iter().enumerate() {
        for k in &r.summary.kms {
            let base = mode_color(k.mode);
            let mut parts = vec![(
                "predicted (light)".to_owned(),
                k.predicted_per_1000_ops,
                RGBColor(base.0 / 2 + 100, base.1 / 2 + 100, base.2 / 2 + 100),
            )];
            if k.source == "measured" {
                parts.push((
                    "measured (full colour)".to_owned(),
                    k.per_1000_ops,
                    run_color(k.mode, ri),
                ));
            }
            groups.push(BarGroup {
                label: label(runs, ri, k.mode.as_str()),
                parts,
            });
        }
    }
    bars(
        root,
        title,
        "KMS calls per 1,000 S3 operations",
        &groups,
        false,
    )
}

/// 5. Cost per million operations, stacked: S3 requests, KMS requests, key.
fn cost_bars<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunData],
    title: &str,
) -> DrawResult {
    let mut groups = Vec::new();
    for (ri, r) in runs.iter().enumerate() {
        for c in &r.summary.cost {
            let p = &c.per_million_ops;
            groups.push(BarGroup {
                label: label(runs, ri, c.mode.as_str()),
                parts: vec![
                    (
                        "S3 requests".to_owned(),
                        p.s3_requests_usd,
                        RGBColor(120, 144, 156),
                    ),
                    (
                        "KMS requests".to_owned(),
                        p.kms_requests_usd,
                        RGBColor(255, 152, 0),
                    ),
                    ("KMS key".to_owned(), p.key_usd, RGBColor(121, 85, 72)),
                ],
            });
        }
    }
    bars(root, title, "USD per million operations", &groups, true)
}

/// 6. A ramp: achieved against offered rate (top) and p99 against offered rate (bottom).
fn ramp_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &RunData,
    t: &crate::recorder::StepTotals,
    title: &str,
) -> DrawResult {
    // Completions per wall-clock second, keyed by the second the row covers.
    let by_second: BTreeMap<i64, &super::SecondRow> = r
        .seconds
        .iter()
        .filter(|s| s.op == "all" && s.mode == t.mode && s.phase == t.phase && s.round == t.round)
        .map(|s| ((s.unix_time - 0.5).floor() as i64, s))
        .collect();
    let full = &t.offered[1..t.offered.len() - 1];
    let mut achieved = Vec::new();
    let mut p99 = Vec::new();
    for o in full {
        let offered = o.arrivals as f64;
        achieved.push((offered, (o.arrivals - o.throttled) as f64));
        if let Some(s) = by_second.get(&o.unix_second) {
            p99.push((offered, s.p99_ms));
        }
    }
    let xmin = achieved
        .iter()
        .map(|p| p.0)
        .fold(f64::MAX, f64::min)
        .min(f64::MAX);
    let xmax = achieved
        .iter()
        .map(|p| p.0)
        .fold(0.0, f64::max)
        .max(xmin + 1.0);
    let color = mode_color(t.mode);
    let root = root.titled(title, (FONT, 18)).map_err(err)?;
    let (top, bottom) = root.split_vertically(SIZE.1 as i32 / 2 - 20);
    let mut c = ChartBuilder::on(&top)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(xmin..xmax, 0.0..xmax * 1.1)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("offered operations per second")
        .y_desc("not throttled (op/s)")
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(err)?;
    c.draw_series(LineSeries::new(
        vec![(xmin, xmin), (xmax, xmax)],
        BLACK.mix(0.3),
    ))
    .map_err(err)?
    .label("offered = achieved")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], BLACK.mix(0.3)));
    c.draw_series(achieved.iter().map(|p| Circle::new(*p, 3, color.filled())))
        .map_err(err)?
        .label(t.mode.as_str())
        .legend(move |(x, y)| Circle::new((x + 9, y), 4, color.filled()));
    legend(&mut c)?;
    let pmax = p99.iter().map(|p| p.1).fold(1.0, f64::max);
    let mut c = ChartBuilder::on(&bottom)
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(60)
        .build_cartesian_2d(xmin..xmax, 0.0..pmax * 1.15)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("offered operations per second")
        .y_desc("p99 latency (ms)")
        .label_style((FONT, 12))
        .axis_desc_style((FONT, 14))
        .draw()
        .map_err(err)?;
    c.draw_series(LineSeries::new(p99, color.stroke_width(2)))
        .map_err(err)?;
    Ok(())
}
