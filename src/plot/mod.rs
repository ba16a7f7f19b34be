//! Training pictures as SVG files, drawn with plotters' SVG backend (the optional `plot`
//! feature): [`History::plot`](crate::History::plot) for the loss and metrics per epoch,
//! [`plot_confusion_matrix`] for a confusion-matrix heatmap, [`plot_roc_curve`] and
//! [`plot_precision_recall_curve`] for binary classifiers, [`plot_attributions`] for an image
//! beside its attribution maps (see [`explain`](crate::explain)).
//!
//! No fonts or system libraries are needed: text is written as SVG `<text>` elements, which the
//! viewer renders with its own fonts (labels are placed from an estimate of their width).
//! Convert a picture to PNG with any SVG tool, for example `rsvg-convert -w 800 -o a.png a.svg`.

mod attributions;
mod confusion;
mod curves;
mod history;

use std::path::Path;

use kensho_core::{Error, Result};
use plotters::coord::Shift;
use plotters::prelude::*;

pub use attributions::plot_attributions;
pub use confusion::plot_confusion_matrix;
pub use curves::{plot_precision_recall_curve, plot_roc_curve};

/// The colour of training series and of the curve being shown.
pub(crate) const MAIN: RGBColor = RGBColor(31, 119, 180);
/// The colour of validation series.
pub(crate) const VALIDATION: RGBColor = RGBColor(230, 110, 20);
/// The font family of every text (resolved by the SVG viewer).
pub(crate) const FONT: &str = "sans-serif";

/// What a drawing closure returns (the SVG backend's error type is `std::io::Error`).
pub(crate) type DrawResult = std::result::Result<(), DrawingAreaErrorKind<std::io::Error>>;

/// Draws a picture of `size` pixels on a white background with `draw`, then writes it to `path`.
/// Errors (drawing or writing) name the path.
pub(crate) fn write_svg(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(&DrawingArea<SVGBackend<'_>, Shift>) -> DrawResult,
) -> Result<()> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .map_err(|e| Error::io(path, std::io::Error::other(format!("drawing the picture failed: {e}"))))?;
    }
    std::fs::write(path, svg).map_err(|e| Error::io(path, e))
}

/// `(low, high)` around the finite `values`, padded by 5% of their span so that lines do not
/// run along the frame; `(0, 1)` when there is no finite value.
pub(crate) fn padded_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if lo > hi {
        return (0.0, 1.0);
    }
    let pad = if hi > lo { (hi - lo) * 0.05 } else { lo.abs().max(1.0) * 0.05 };
    (lo - pad, hi + pad)
}
