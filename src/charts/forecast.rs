//! The forecast's charts (for `forecast --html`): KMS requests per second over the
//! logs' time range per mode with the quota line, monthly cost per mode, and the
//! requesters' shares of the SSE-KMS load. SVG only: the page inlines them.

use super::bars::{BarGroup, bars, cost_parts};
use super::style::{Key, Sample, draw_keys, marks_along, mode_color, mode_mark, split_legend};
use super::{AXIS_PX, DrawResult, FONT, Frame, LABEL_PX, SIZE, cartesian, err, font, titled};
use crate::error::Error;
use crate::forecast::output::Report;
use crate::scenario::Mode;
use plotters::coord::Shift;
use plotters::prelude::*;

const QUOTA: RGBColor = RGBColor(183, 28, 28);

fn kms_timeline<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    r: &Report,
    title: &str,
) -> DrawResult {
    let t = &r.timeline;
    let n = t.kms_rps.values().map(Vec::len).max().unwrap_or(0).max(1);
    let step_h = t.step_s as f64 / 3600.0;
    let xmax = n as f64 * step_h;
    let peak = t
        .kms_rps
        .values()
        .flat_map(|v| v.iter().copied())
        .fold(1.0, f64::max);
    let quota = r.quota_rps as f64;
    // The quota line is drawn when it is within reach of the load; else it is named.
    let show_quota = quota > 0.0 && quota <= peak * 3.0;
    let ymax = if show_quota { quota.max(peak) } else { peak } * 1.15;
    let caption = if show_quota || quota <= 0.0 {
        title.to_owned()
    } else {
        format!("{title}; quota {quota:.0} req/s, off scale")
    };
    let root = titled(root, &caption)?;
    let (plot, panel) = split_legend(&root);
    let mut c = cartesian(&plot, Frame::Full, 0.0..xmax, 0.0..ymax)?;
    c.configure_mesh()
        .x_desc("hours since the logs' first request")
        .y_desc("KMS requests per second (busiest second)")
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, AXIS_PX))
        .draw()
        .map_err(err)?;
    let mut keys = Vec::new();
    if show_quota {
        c.draw_series(LineSeries::new(
            vec![(0.0, quota), (xmax, quota)],
            QUOTA.stroke_width(2),
        ))
        .map_err(err)?;
        keys.push(Key::new(
            format!("quota {quota:.0} req/s"),
            Sample::Reference(QUOTA),
        ));
    }
    // Modes with the same series (SSE-KMS and DSSE-KMS make the same calls) would hide
    // one another: one line, labelled with every mode it stands for.
    let mut groups: Vec<(Vec<Mode>, &Vec<f64>)> = Vec::new();
    for (mode, series) in t.kms_rps.iter().filter(|(m, _)| m.uses_kms()) {
        match groups.iter_mut().find(|(_, s)| *s == series) {
            Some((modes, _)) => modes.push(*mode),
            None => groups.push((vec![*mode], series)),
        }
    }
    for (modes, series) in groups {
        let mode = modes[0];
        let color = mode_color(mode);
        let pts: Vec<(f64, f64)> = series
            .iter()
            .enumerate()
            .map(|(i, v)| ((i as f64 + 0.5) * step_h, *v))
            .collect();
        marks_along(&mut c, &pts, 6, color, mode_mark(mode))?;
        c.draw_series(LineSeries::new(pts, color.stroke_width(2)))
            .map_err(err)?;
        let label: Vec<&str> = modes.iter().map(|m| m.as_str()).collect();
        keys.push(Key::new(
            label.join(" = "),
            Sample::Line(color, mode_mark(mode)),
        ));
    }
    draw_keys(&panel, &keys)
}

fn svg(draw: impl Fn(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult) -> Result<String, Error> {
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        draw(&root)?;
        root.present().map_err(err)?;
    }
    Ok(text)
}

/// The forecast's charts as (title, SVG text).
pub fn forecast_svgs(r: &Report) -> Result<Vec<(String, String)>, Error> {
    font()?;
    let mut out = Vec::new();
    let title = format!("KMS requests per second against the quota ({})", r.region);
    out.push((title.clone(), svg(|root| kms_timeline(root, r, &title))?));
    let groups: Vec<BarGroup> = r
        .modes
        .iter()
        .map(|m| BarGroup::new(m.mode.as_str().to_owned(), cost_parts(&m.monthly)))
        .collect();
    let title = "Monthly cost per mode, USD".to_owned();
    out.push((
        title.clone(),
        svg(|root| bars(root, &title, "USD per month", &groups, true))?,
    ));
    let groups: Vec<BarGroup> = r
        .requesters
        .iter()
        .take(8)
        .map(|q| {
            BarGroup::new(
                q.name.clone(),
                [Mode::SseKms, Mode::SseKmsBucketKey]
                    .iter()
                    .map(|m| {
                        (
                            m.as_str().to_owned(),
                            q.kms.get(m).copied().unwrap_or(0.0),
                            mode_color(*m),
                        )
                    })
                    .collect(),
            )
        })
        .collect();
    let title = "KMS calls per requester (the busiest eight)".to_owned();
    out.push((
        title.clone(),
        svg(|root| bars(root, &title, "KMS calls over the logs", &groups, false))?,
    ));
    Ok(out)
}
