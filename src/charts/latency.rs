//! The latency percentile spectrum of one operation, every mode of every run.

use super::style::{Key, Sample, draw_keys, marks_along, mode_mark, run_color, split_legend};
use super::{AXIS_PX, DrawResult, FONT, Frame, LABEL_PX, RunData, cartesian, err, label, titled};
use crate::scenario::Op;
use plotters::coord::Shift;
use plotters::prelude::*;

/// 1. Latency percentile spectrum: x is the percentile on the usual log scale.
pub(super) fn spectrum<DB: DrawingBackend>(
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
            series.push((
                label(runs, ri, mode.as_str()),
                run_color(*mode, ri),
                mode_mark(*mode),
                pts,
            ));
        }
    }
    let root = titled(root, title)?;
    let (plot, panel) = split_legend(&root);
    let mut c = cartesian(&plot, Frame::Full, 0.0..4.0, 0.0..ymax * 1.1)?;
    c.configure_mesh()
        .x_labels(5)
        .x_label_formatter(&percentile_label)
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, AXIS_PX))
        .draw()
        .map_err(err)?;
    let mut keys = Vec::new();
    for (name, color, mark, pts) in series {
        marks_along(&mut c, &pts, 25, color, mark)?;
        c.draw_series(LineSeries::new(pts, color.stroke_width(3)))
            .map_err(err)?;
        keys.push(Key::new(name, Sample::Line(color, mark)));
    }
    draw_keys(&panel, &keys)
}

/// The percentile at a position of the log-scaled axis.
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
