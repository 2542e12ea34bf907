//! Bar charts per mode: KMS calls per 1,000 operations, cost per million.

use super::style::{Key, Sample, draw_keys, mode_color, run_color, split_legend};
use super::{
    AXIS_PX, DrawResult, FONT, Frame, LABEL_PX, RunData, cartesian, category_labels, err, label,
    titled,
};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::collections::BTreeSet;

/// One bar group (a mode of a run): its parts, stacked or side by side.
pub(super) struct BarGroup {
    label: String,
    parts: Vec<(String, f64, RGBColor)>,
}

impl BarGroup {
    /// A group of named, coloured parts.
    pub(super) fn new(label: String, parts: Vec<(String, f64, RGBColor)>) -> BarGroup {
        BarGroup { label, parts }
    }
}

/// Bars per mode, stacked or side by side.
pub(super) fn bars<DB: DrawingBackend>(
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
    let fmt = category_labels(names);
    let root = titled(root, title)?;
    let (plot, panel) = split_legend(&root);
    let mut keys = Vec::new();
    let mut c = cartesian(&plot, Frame::Full, -0.6..(n as f64 - 0.4), 0.0..ymax * 1.2)?;
    c.configure_mesh()
        .disable_x_mesh()
        .x_labels(n * 2 + 1)
        .x_label_formatter(&fmt)
        .y_desc(ydesc)
        .label_style((FONT, LABEL_PX))
        .axis_desc_style((FONT, AXIS_PX))
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
            c.draw_series(std::iter::once(Rectangle::new(
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
                keys.push(Key::new(part.clone(), Sample::Swatch(swatch)));
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
                    (FONT, LABEL_PX),
                )))
                .map_err(err)?;
            }
        }
    }
    draw_keys(&panel, &keys)
}

/// One bar group per item (a mode's row) of every run.
fn per_run<'a, T: 'a>(
    runs: &'a [RunData],
    items: impl Fn(&'a RunData) -> &'a [T],
    group: impl Fn(usize, &T) -> BarGroup,
) -> Vec<BarGroup> {
    runs.iter()
        .enumerate()
        .flat_map(|(ri, r)| items(r).iter().map(move |x| (ri, x)))
        .map(|(ri, x)| group(ri, x))
        .collect()
}

/// 3. KMS calls per 1,000 S3 operations: predicted and measured bars per mode.
pub(super) fn kms_groups(runs: &[RunData]) -> Vec<BarGroup> {
    per_run(
        runs,
        |r| &r.summary.kms,
        |ri, k| {
            let base = mode_color(k.mode);
            let mut parts = vec![(
                "predicted (light)".to_owned(),
                k.predicted_per_1000_ops,
                RGBColor(base.0 / 2 + 100, base.1 / 2 + 100, base.2 / 2 + 100),
            )];
            if k.source.is_measured() {
                parts.push((
                    "measured (full colour)".to_owned(),
                    k.per_1000_ops,
                    run_color(k.mode, ri),
                ));
            }
            BarGroup {
                label: label(runs, ri, k.mode.as_str()),
                parts,
            }
        },
    )
}

/// A cost split into bar parts: S3 requests, KMS requests, the key, DSSE per GB.
pub(super) fn cost_parts(p: &crate::prices::CostBreakdown) -> Vec<(String, f64, RGBColor)> {
    vec![
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
        (
            "DSSE per GB".to_owned(),
            p.dsse_usd.unwrap_or(0.0),
            RGBColor(156, 39, 176),
        ),
    ]
}

/// 5. Cost per million operations, stacked: S3 requests, KMS requests, key, and
///    DSSE's per-GB charge.
pub(super) fn cost_groups(runs: &[RunData]) -> Vec<BarGroup> {
    per_run(
        runs,
        |r| &r.summary.cost,
        |ri, c| BarGroup {
            label: label(runs, ri, c.mode.as_str()),
            parts: cost_parts(&c.per_million_ops),
        },
    )
}
