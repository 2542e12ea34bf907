//! How every chart looks: type sizes that stay legible at half size, one colour and
//! one marker shape per mode (so modes tell apart in greyscale too), and the legend
//! in a panel beside the plot, where it can never cover data.

use super::{DrawResult, FONT, err};
use crate::error::Error;
use crate::scenario::Mode;
use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

/// Width of the legend panel at the right of every chart, pixels.
pub const LEGEND_W: u32 = 250;
/// Chart titles.
pub const TITLE_PX: u32 = 26;
/// Axis descriptions.
pub const AXIS_PX: u32 = 22;
/// Tick labels, legend entries and values on bars.
pub const LABEL_PX: u32 = 20;

/// Gives `root` a title, in a smaller type when the full size would run off its edges
/// (long scenario names), but never below the label size.
pub fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, Error> {
    let room = root.dim_in_pixel().0.saturating_sub(16);
    let mut px = TITLE_PX;
    while px > LABEL_PX {
        let style: TextStyle = (FONT, px).into_font().into();
        match root.estimate_text_size(title, &style) {
            Ok((w, _)) if w > room => px -= 1,
            _ => break,
        }
    }
    root.titled(title, (FONT, px).into_font()).map_err(err)
}

/// The proportions of a plot: one filling the area beside the legend, or one of two
/// stacked halves (smaller margins and label areas).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Frame {
    /// The whole plot area.
    Full,
    /// The top or bottom half.
    Half,
}

/// A chart with f64 axes on `area`, laid out as every chart here is.
pub fn cartesian<'a, DB: DrawingBackend>(
    area: &'a DrawingArea<DB, Shift>,
    frame: Frame,
    x: std::ops::Range<f64>,
    y: std::ops::Range<f64>,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, Error> {
    let (margin, x_labels, y_labels) = match frame {
        Frame::Full => (12, 55, 85),
        Frame::Half => (10, 45, 75),
    };
    ChartBuilder::on(area)
        .margin(margin)
        .x_label_area_size(x_labels)
        .y_label_area_size(y_labels)
        .build_cartesian_2d(x, y)
        .map_err(err)
}

/// Tick labels of a category axis: category `i` sits at x = i; other ticks are blank.
pub fn category_labels(names: Vec<String>) -> impl Fn(&f64) -> String {
    move |v: &f64| {
        let i = v.round() as i64;
        if (v - i as f64).abs() < 0.01 && i >= 0 && (i as usize) < names.len() {
            names[i as usize].clone()
        } else {
            String::new()
        }
    }
}

/// The colour of a mode (the same in every chart). Their grey levels differ too.
pub fn mode_color(m: Mode) -> RGBColor {
    match m {
        Mode::SseS3 => RGBColor(31, 70, 140),
        Mode::SseKms => RGBColor(255, 140, 20),
        Mode::SseKmsBucketKey => RGBColor(60, 170, 60),
        Mode::DsseKms => RGBColor(190, 30, 35),
        Mode::KmsDirect => RGBColor(120, 80, 170),
    }
}

/// A mode's colour for the i-th overlaid run: later runs are lighter.
pub fn run_color(m: Mode, run: usize) -> RGBColor {
    let RGBColor(r, g, b) = mode_color(m);
    let k = (run as f64 * 0.3).min(0.7);
    let mix = |c: u8| (c as f64 + (255.0 - c as f64) * k) as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

/// A marker shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mark {
    /// A filled circle.
    Circle,
    /// A filled triangle.
    Triangle,
    /// A filled square.
    Square,
    /// A cross.
    Cross,
    /// A filled diamond.
    Diamond,
}

/// The marker of a mode (the same in every chart).
pub fn mode_mark(m: Mode) -> Mark {
    match m {
        Mode::SseS3 => Mark::Circle,
        Mode::SseKms => Mark::Triangle,
        Mode::SseKmsBucketKey => Mark::Square,
        Mode::DsseKms => Mark::Diamond,
        Mode::KmsDirect => Mark::Cross,
    }
}

/// The outline of a marker of `r` pixels around `(x, y)` (a cross is one of its strokes).
fn mark_points(mark: Mark, (x, y): (i32, i32), r: i32) -> Vec<(i32, i32)> {
    match mark {
        Mark::Circle => (0..16)
            .map(|i| {
                let a = i as f64 * std::f64::consts::TAU / 16.0;
                (
                    x + (r as f64 * a.cos()).round() as i32,
                    y + (r as f64 * a.sin()).round() as i32,
                )
            })
            .collect(),
        Mark::Triangle => vec![(x, y - r), (x + r, y + r), (x - r, y + r)],
        Mark::Square => vec![
            (x - r, y - r),
            (x + r, y - r),
            (x + r, y + r),
            (x - r, y + r),
        ],
        Mark::Diamond => vec![
            (x, y - r - 1),
            (x + r + 1, y),
            (x, y + r + 1),
            (x - r - 1, y),
        ],
        Mark::Cross => vec![(x - r, y - r), (x + r, y + r)],
    }
}

/// Draws a marker at pixel `at` of `area`: filled, or an outline.
pub fn draw_mark_px<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    mark: Mark,
    at: (i32, i32),
    r: i32,
    color: RGBColor,
    filled: bool,
) -> DrawResult {
    let pts = mark_points(mark, at, r);
    if mark == Mark::Cross {
        let (x, y) = at;
        area.draw(&PathElement::new(pts, color.stroke_width(3)))
            .map_err(err)?;
        return area
            .draw(&PathElement::new(
                vec![(x - r, y + r), (x + r, y - r)],
                color.stroke_width(3),
            ))
            .map_err(err);
    }
    if filled {
        area.draw(&Polygon::new(pts, color.filled())).map_err(err)
    } else {
        let mut ring = pts.clone();
        ring.push(pts[0]);
        area.draw(&PathElement::new(ring, color.stroke_width(2)))
            .map_err(err)
    }
}

/// Draws markers at points of a chart (chart coordinates): filled, or outlines.
pub fn draw_marks<DB: DrawingBackend>(
    c: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    pts: &[(f64, f64)],
    mark: Mark,
    r: i32,
    color: RGBColor,
    filled: bool,
) -> DrawResult {
    let style = if filled {
        color.filled()
    } else {
        color.stroke_width(2)
    };
    let at = pts.iter().copied();
    match mark {
        Mark::Circle => c
            .draw_series(at.map(|p| Circle::new(p, r, style)))
            .map(|_| ()),
        Mark::Cross => c
            .draw_series(at.map(|p| Cross::new(p, r, color.stroke_width(3))))
            .map(|_| ()),
        // Polygons: filled, or their outline closed.
        _ if filled => {
            let outline = mark_points(mark, (0, 0), r);
            c.draw_series(at.map(|p| EmptyElement::at(p) + Polygon::new(outline.clone(), style)))
                .map(|_| ())
        }
        _ => {
            let mut ring = mark_points(mark, (0, 0), r);
            ring.push(ring[0]);
            c.draw_series(at.map(|p| EmptyElement::at(p) + PathElement::new(ring.clone(), style)))
                .map(|_| ())
        }
    }
    .map_err(err)
}

/// How a series shows in the legend.
#[derive(Clone, Debug)]
pub enum Sample {
    /// A line with a marker on it.
    Line(RGBColor, Mark),
    /// A marker alone.
    Mark(RGBColor, Mark, bool),
    /// A thin grey line (references: the quota, offered = achieved).
    Reference(RGBColor),
    /// A filled swatch (bars).
    Swatch(RGBColor),
}

/// One legend entry.
#[derive(Clone, Debug)]
pub struct Key {
    /// Label.
    pub label: String,
    /// Sample.
    pub sample: Sample,
}

impl Key {
    /// An entry.
    pub fn new(label: impl Into<String>, sample: Sample) -> Key {
        Key {
            label: label.into(),
            sample,
        }
    }
}

/// Splits a chart's area: the plot on the left, the legend panel on the right.
pub fn split_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
) -> (DrawingArea<DB, Shift>, DrawingArea<DB, Shift>) {
    let w = area.dim_in_pixel().0;
    area.split_horizontally(w.saturating_sub(LEGEND_W))
}

/// Draws the legend entries down the panel.
pub fn draw_keys<DB: DrawingBackend>(panel: &DrawingArea<DB, Shift>, keys: &[Key]) -> DrawResult {
    let style = TextStyle::from((FONT, LABEL_PX).into_font()).color(&BLACK);
    let width = LEGEND_W as usize;
    // Long labels are cut to the panel, so an entry never spills into the plot.
    let max_chars = (width - 50) / (LABEL_PX as usize * 11 / 20);
    for (i, k) in keys.iter().enumerate() {
        let y = 40 + i as i32 * (LABEL_PX as i32 + 12);
        match &k.sample {
            Sample::Line(c, m) => {
                panel
                    .draw(&PathElement::new(vec![(8, y), (38, y)], c.stroke_width(3)))
                    .map_err(err)?;
                draw_mark_px(panel, *m, (23, y), 5, *c, true)?;
            }
            Sample::Mark(c, m, filled) => draw_mark_px(panel, *m, (23, y), 6, *c, *filled)?,
            Sample::Reference(c) => {
                panel
                    .draw(&PathElement::new(vec![(8, y), (38, y)], c.stroke_width(2)))
                    .map_err(err)?;
            }
            Sample::Swatch(c) => {
                panel
                    .draw(&Rectangle::new([(10, y - 7), (36, y + 7)], c.filled()))
                    .map_err(err)?;
            }
        }
        let mut label = k.label.clone();
        if label.chars().count() > max_chars {
            label = label.chars().take(max_chars.saturating_sub(1)).collect();
            label.push('…');
        }
        panel
            .draw(&Text::new(
                label,
                (46, y - LABEL_PX as i32 / 2),
                style.clone(),
            ))
            .map_err(err)?;
    }
    Ok(())
}

/// Markers on every `every`-th point of a series.
pub fn marks_along<DB: DrawingBackend>(
    c: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    pts: &[(f64, f64)],
    every: usize,
    color: RGBColor,
    mark: Mark,
) -> DrawResult {
    let some: Vec<(f64, f64)> = pts.iter().step_by(every.max(1)).copied().collect();
    draw_marks(c, &some, mark, 5, color, true)
}
