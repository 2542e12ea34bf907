//! Charts over the run's time: throughput and p99, and KMS requests per second
//! against the quota.

use super::style::{
    Key, Mark, Sample, draw_keys, draw_marks, marks_along, mode_mark, run_color, split_legend,
};
use super::{
    AXIS_PX, DrawResult, FONT, Frame, LABEL_PX, RunData, SIZE, cartesian, err, label, titled,
};
use crate::results::timeseries::SecondRow;
use crate::scenario::Mode;
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeMap;

/// Phase boundaries.
const GREY_LINE: RGBColor = RGBColor(190, 190, 190);

/// Per-second "all" rows of a mode, with their x (seconds from the run's start).
fn all_rows(r: &RunData) -> BTreeMap<Mode, Vec<&SecondRow>> {
    let mut m: BTreeMap<Mode, Vec<&SecondRow>> = BTreeMap::new();
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
pub(super) fn over_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunData],
    title: &str,
) -> DrawResult {
    let root = titled(root, title)?;
    let (plot, panel) = split_legend(&root);
    let (top, bottom) = plot.split_vertically(SIZE.1 as i32 / 2 - 20);
    let mut keys = Vec::new();
    let xmax = seconds_end(runs);
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
        let mut c = cartesian(area, Frame::Half, 0.0..xmax, 0.0..ymax * 1.15)?;
        c.configure_mesh()
            .x_desc("seconds since the run started")
            .y_desc(desc)
            .label_style((FONT, LABEL_PX))
            .axis_desc_style((FONT, AXIS_PX))
            .draw()
            .map_err(err)?;
        for r in runs.iter().take(1) {
            for b in boundaries(r) {
                c.draw_series(LineSeries::new(vec![(b, 0.0), (b, ymax * 1.15)], GREY_LINE))
                    .map_err(err)?;
            }
        }
        for (ri, r) in runs.iter().enumerate() {
            for (mode, rows) in all_rows(r) {
                let color = run_color(mode, ri);
                let mark = mode_mark(mode);
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
                for seg in segments {
                    marks_along(&mut c, &seg, 4, color, mark)?;
                    c.draw_series(LineSeries::new(seg, color.stroke_width(2)))
                        .map_err(err)?;
                }
                if is_ops {
                    keys.push(Key::new(
                        label(runs, ri, mode.as_str()),
                        Sample::Line(color, mark),
                    ));
                }
            }
        }
    }
    keys.push(Key::new("phase boundary", Sample::Reference(GREY_LINE)));
    draw_keys(&panel, &keys)
}

/// 4. KMS requests per second over time, the quota line and throttled seconds.
pub(super) fn kms_over_time<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    runs: &[RunData],
    title: &str,
) -> DrawResult {
    let xmax = seconds_end(runs);
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
    let root = titled(root, &caption)?;
    let (plot, panel) = split_legend(&root);
    let mut keys = Vec::new();
    let mut c = cartesian(&plot, Frame::Full, 0.0..xmax, 0.0..ymax)?;
    c.configure_mesh()
        .x_desc("seconds since the run started")
        .y_desc("KMS requests per second")
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, AXIS_PX))
        .draw()
        .map_err(err)?;
    if let Some(q) = show_quota {
        c.draw_series(LineSeries::new(
            vec![(0.0, q), (xmax, q)],
            BLACK.stroke_width(2),
        ))
        .map_err(err)?;
        keys.push(Key::new(
            format!("quota {q:.0} req/s"),
            Sample::Reference(BLACK),
        ));
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
            let mark = mode_mark(mode);
            draw_marks(&mut c, &pts, mark, 4, color, true)?;
            keys.push(Key::new(
                label(runs, ri, mode.as_str()),
                Sample::Mark(color, mark, true),
            ));
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
                draw_marks(&mut c, &throttled, Mark::Cross, 7, BLACK, true)?;
                keys.push(Key::new(
                    label(runs, ri, &format!("{mode}: throttled seconds")),
                    Sample::Mark(BLACK, Mark::Cross, true),
                ));
            }
        }
    }
    draw_keys(&panel, &keys)
}

/// The end of the last recorded second of any run (the time axis' extent), at least 1.
fn seconds_end(runs: &[RunData]) -> f64 {
    runs.iter()
        .flat_map(|r| r.seconds.iter().map(|s| s.second as f64 + 1.0))
        .fold(1.0, f64::max)
}
