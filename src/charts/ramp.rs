//! A ramped phase: achieved rate and p99 against the offered rate.

use super::style::{Key, Sample, draw_keys, draw_marks, mode_color, mode_mark, split_legend};
use super::{AXIS_PX, DrawResult, FONT, Frame, LABEL_PX, RunData, SIZE, cartesian, err, titled};
use crate::results::timeseries::SecondRow;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// 6. A ramp: achieved against offered rate (top) and p99 against offered rate (bottom).
pub(super) fn ramp_chart<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &RunData,
    t: &crate::results::record::StepTotals,
    title: &str,
) -> DrawResult {
    // Completions per wall-clock second, keyed by the second the row covers.
    let by_second: BTreeMap<i64, &SecondRow> = r
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
    let mark = mode_mark(t.mode);
    let root = titled(root, title)?;
    let (plot, panel) = split_legend(&root);
    let (top, bottom) = plot.split_vertically(SIZE.1 as i32 / 2 - 20);
    let mut c = cartesian(&top, Frame::Half, xmin..xmax, 0.0..xmax * 1.1)?;
    c.configure_mesh()
        .x_desc("offered operations per second")
        .y_desc("not throttled (op/s)")
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, AXIS_PX))
        .draw()
        .map_err(err)?;
    c.draw_series(LineSeries::new(
        vec![(xmin, xmin), (xmax, xmax)],
        RGBColor(170, 170, 170).stroke_width(2),
    ))
    .map_err(err)?;
    draw_marks(&mut c, &achieved, mark, 4, color, true)?;
    draw_keys(
        &panel,
        &[
            Key::new(
                "offered = achieved",
                Sample::Reference(RGBColor(170, 170, 170)),
            ),
            Key::new(t.mode.as_str(), Sample::Line(color, mark)),
        ],
    )?;
    let pmax = p99.iter().map(|p| p.1).fold(1.0, f64::max);
    let mut c = cartesian(&bottom, Frame::Half, xmin..xmax, 0.0..pmax * 1.15)?;
    c.configure_mesh()
        .x_desc("offered operations per second")
        .y_desc("p99 latency (ms)")
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, AXIS_PX))
        .draw()
        .map_err(err)?;
    draw_marks(&mut c, &p99, mark, 4, color, true)?;
    c.draw_series(LineSeries::new(p99, color.stroke_width(2)))
        .map_err(err)?;
    Ok(())
}
