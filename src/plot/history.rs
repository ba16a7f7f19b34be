//! [`History::plot`]: the loss and each metric per epoch, one panel per quantity, with the
//! training series and its `val_` twin in the same panel.

use std::path::Path;

use kensho_core::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{padded_range, write_svg, DrawResult, FONT, MAIN, VALIDATION};
use crate::History;

/// The width and height of one panel, in pixels.
const PANEL: (u32, u32) = (480, 340);

/// A series ready to draw: its legend label, colour and (epoch, value) points.
type Series = (String, RGBColor, Vec<(usize, f64)>);

/// One quantity: its name and its training and validation values (either may be missing).
struct Panel<'h> {
    name: &'h str,
    train: Option<&'h [f32]>,
    validation: Option<&'h [f32]>,
}

/// The panels in the order the quantities were first recorded (`loss` first, as `fit` logs it).
fn panels(history: &History) -> Vec<Panel<'_>> {
    let mut panels: Vec<Panel<'_>> = Vec::new();
    for name in history.names() {
        let base = name.strip_prefix("val_").unwrap_or(name);
        if panels.iter().any(|p| p.name == base) {
            continue;
        }
        let validation = history.get(&format!("val_{base}"));
        panels.push(Panel { name: base, train: history.get(base), validation });
    }
    panels
}

impl History {
    /// Writes an SVG picture of the training to `path`: one panel per quantity (the loss and
    /// each metric), its value per epoch (numbered from 1, as the progress bar does) for the
    /// training data and, where `fit` had validation data, its `val_` twin, with axis labels
    /// and a legend. Non-finite values (a NaN loss) are left out of the lines.
    ///
    /// Available with the `plot` feature.
    ///
    /// # Errors
    /// An empty history (no epoch recorded), or writing the file failed; the error names `path`.
    ///
    /// ```no_run
    /// # fn main() -> kensho::Result<()> {
    /// # let history = kensho::History::default();
    /// // let history = model.fit(&x, &y, options)?;
    /// history.plot("history.svg")?;
    /// # Ok(())
    /// # }
    /// ```
    pub fn plot(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let panels = panels(self);
        if self.is_empty() || panels.is_empty() {
            let what = format!("History::plot(\"{}\"): history", path.display());
            return Err(Error::invalid(what, "no epoch recorded", "the History of a fit that ran at least one epoch"));
        }
        let cols = panels.len().min(2);
        let rows = panels.len().div_ceil(cols);
        let size = (PANEL.0 * cols as u32, PANEL.1 * rows as u32);
        let epochs: Vec<usize> = self.epochs.iter().map(|e| e + 1).collect();
        write_svg(path, size, |root| {
            for (area, panel) in root.split_evenly((rows, cols)).iter().zip(&panels) {
                draw_panel(area, panel, &epochs)?;
            }
            Ok(())
        })
    }
}

/// The (epoch, value) points of a series; a series shorter than the history (one that started
/// later) belongs to the last epochs.
fn points(epochs: &[usize], values: &[f32]) -> Vec<(usize, f64)> {
    let skip = epochs.len().saturating_sub(values.len());
    epochs[skip..].iter().zip(values).map(|(&e, &v)| (e, f64::from(v))).filter(|(_, v)| v.is_finite()).collect()
}

/// Draws one quantity's panel.
fn draw_panel(area: &DrawingArea<SVGBackend<'_>, Shift>, panel: &Panel<'_>, epochs: &[usize]) -> DrawResult {
    let series: Vec<Series> =
        [(panel.train, panel.name.to_string(), MAIN), (panel.validation, format!("val_{}", panel.name), VALIDATION)]
            .into_iter()
            .filter_map(|(values, label, color)| values.map(|v| (label, color, points(epochs, v))))
            .collect();
    let (low, high) = padded_range(series.iter().flat_map(|(_, _, pts)| pts.iter().map(|p| p.1)));
    // The legend goes in the corner the lines leave free at the right: below them where they end
    // in the upper half (a rising accuracy), above them otherwise (a falling loss).
    let ends: Vec<f64> = series.iter().filter_map(|(_, _, pts)| pts.last().map(|p| p.1)).collect();
    let end = ends.iter().sum::<f64>() / ends.len().max(1) as f64;
    let corner =
        if end > (low + high) / 2.0 { SeriesLabelPosition::LowerRight } else { SeriesLabelPosition::UpperRight };
    let first = epochs.first().copied().unwrap_or(1);
    let last = epochs.last().copied().unwrap_or(1).max(first + 1);

    let mut chart = ChartBuilder::on(area)
        .caption(panel.name, (FONT, 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(first..last, low..high)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(panel.name)
        .x_labels(10)
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 12))
        .light_line_style(WHITE)
        .draw()?;
    for (label, color, pts) in series {
        chart
            .draw_series(LineSeries::new(pts, color.stroke_width(2)).point_size(2))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(corner)
        .label_font((FONT, 13))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
}
