//! The verdict as a chart: each mode's latency change against SSE-S3 per operation
//! at p50 and p99, with its 95% interval; hollow markers where the interval spans
//! zero (not distinguishable from noise).

use super::style::{Key, Mark, Sample, draw_keys, draw_marks, mode_mark, run_color, split_legend};
use super::{
    AXIS_PX, DrawResult, FONT, Frame, LABEL_PX, RunData, cartesian, category_labels, err, label,
    titled,
};
use crate::results::verdict::{Assessment, Percentile};
use crate::scenario::Op;
use plotters::coord::Shift;
use plotters::prelude::*;

/// One point: category, offset, change, interval, whether it is distinguishable.
struct Point {
    x: f64,
    change: f64,
    interval: [f64; 2],
    distinguishable: bool,
}

/// The (operation, percentile) categories the runs' verdicts have intervals for.
pub(super) fn categories(runs: &[RunData]) -> Vec<(Op, Percentile)> {
    let mut out: Vec<(Op, Percentile)> = Vec::new();
    for r in runs {
        for m in r.summary.verdict.iter().flat_map(|v| &v.modes) {
            for c in m.latency.iter().filter(|c| c.interval_ms.is_some()) {
                if !out.contains(&(c.op, c.percentile)) {
                    out.push((c.op, c.percentile));
                }
            }
        }
    }
    out.sort();
    out
}

/// 7. Latency change against SSE-S3 with intervals.
pub(super) fn change_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunData],
    title: &str,
) -> DrawResult {
    let cats = categories(runs);
    let series: Vec<(String, RGBColor, Mark, Vec<Point>)> = runs
        .iter()
        .enumerate()
        .flat_map(|(ri, r)| {
            r.summary
                .verdict
                .iter()
                .flat_map(|v| &v.modes)
                .filter(|m| !m.latency.is_empty())
                .map(move |m| (ri, m))
        })
        .map(|(ri, m)| {
            let pts = m
                .latency
                .iter()
                .filter_map(|c| {
                    let i = cats.iter().position(|k| *k == (c.op, c.percentile))?;
                    Some(Point {
                        x: i as f64,
                        change: c.change_ms?,
                        interval: c.interval_ms?,
                        distinguishable: c.assessment != Assessment::NotDistinguishable,
                    })
                })
                .collect();
            (
                label(runs, ri, m.mode.as_str()),
                run_color(m.mode, ri),
                mode_mark(m.mode),
                pts,
            )
        })
        .collect();
    let n = series.len().max(1);
    let (lo, hi) = series
        .iter()
        .flat_map(|s| s.3.iter().flat_map(|p| p.interval))
        .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let pad = ((hi - lo) * 0.1).max(0.5);
    let names: Vec<String> = cats
        .iter()
        .map(|(op, p)| format!("{op} {}", p.as_str()))
        .collect();
    let fmt = category_labels(names);
    let root = titled(root, title)?;
    let (plot, panel) = split_legend(&root);
    let x = -0.6..(cats.len() as f64 - 0.4);
    let mut c = cartesian(&plot, Frame::Full, x, (lo - pad)..(hi + pad))?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(cats.len() * 2 + 1)
        .x_label_formatter(&fmt)
        .y_desc("change against SSE-S3 (ms)")
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, AXIS_PX))
        .draw()
        .map_err(err)?;
    c.draw_series(LineSeries::new(
        vec![(-0.6, 0.0), (cats.len() as f64 - 0.4, 0.0)],
        BLACK.stroke_width(1),
    ))
    .map_err(err)?;
    let mut keys = Vec::new();
    for (j, (name, color, mark, pts)) in series.iter().enumerate() {
        let dx = (j as f64 - (n as f64 - 1.0) / 2.0) * (0.7 / n as f64);
        for p in pts {
            let x = p.x + dx;
            c.draw_series(std::iter::once(PathElement::new(
                vec![(x, p.interval[0]), (x, p.interval[1])],
                color.stroke_width(2),
            )))
            .map_err(err)?;
            for y in p.interval {
                c.draw_series(std::iter::once(PathElement::new(
                    vec![(x - 0.04, y), (x + 0.04, y)],
                    color.stroke_width(2),
                )))
                .map_err(err)?;
            }
            draw_marks(
                &mut c,
                &[(x, p.change)],
                *mark,
                6,
                *color,
                p.distinguishable,
            )?;
        }
        keys.push(Key::new(name.clone(), Sample::Mark(*color, *mark, true)));
    }
    keys.push(Key::new(
        "hollow: noise",
        Sample::Mark(RGBColor(90, 90, 90), Mark::Circle, false),
    ));
    keys.push(Key::new(
        "bar: 95% interval",
        Sample::Reference(RGBColor(90, 90, 90)),
    ));
    draw_keys(&panel, &keys)
}
