//! [`plot_roc_curve`] and [`plot_precision_recall_curve`]: the curves of a binary classifier's
//! scores, with the area under each in the legend.

use std::path::Path;

use kensho_core::{Result, Tensor};
use kensho_metrics::{average_precision_score, precision_recall_curve, roc_auc_score, roc_curve};
use plotters::prelude::*;

use super::{write_svg, DrawResult, FONT, MAIN};

/// The width and height of a curve picture, in pixels.
const SIZE: (u32, u32) = (560, 500);

/// One curve picture: title, axis names, the curve with its legend, the chance line with its.
struct Figure<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    curve: (String, Vec<(f64, f64)>),
    chance: (String, Vec<(f64, f64)>),
}

/// Writes an SVG picture of the ROC curve of binary scores to `path`: true-positive rate against
/// false-positive rate at every threshold, from (0, 0) to (1, 1), with the exact area under it
/// ([`roc_auc_score`]) in the legend and the diagonal of a chance classifier. Inputs as
/// [`roc_curve`]: labels 0/1 and scores (probabilities or logits, `[n]`, `[n, 1]` or `[n, 2]`).
///
/// Available with the `plot` feature.
///
/// # Errors
/// Bad input or a single class (as [`roc_curve`]), or writing the file failed (naming `path`).
///
/// ```no_run
/// use kensho::Tensor;
/// # fn main() -> kensho::Result<()> {
/// let y = Tensor::from_vec(vec![0., 0., 1., 1.], &[4])?;
/// let scores = Tensor::from_vec(vec![0.1, 0.4, 0.35, 0.8], &[4])?;
/// kensho::plot::plot_roc_curve(&y, &scores, "roc.svg")?;
/// # Ok(())
/// # }
/// ```
pub fn plot_roc_curve(y_true: &Tensor, y_score: &Tensor, path: impl AsRef<Path>) -> Result<()> {
    let roc = roc_curve(y_true, y_score)?;
    let auc = roc_auc_score(y_true, y_score)?;
    let points = roc.fpr.iter().zip(&roc.tpr).map(|(&x, &y)| (f64::from(x), f64::from(y))).collect();
    let figure = Figure {
        title: "ROC curve",
        x_desc: "false positive rate",
        y_desc: "true positive rate",
        curve: (format!("ROC (AUC = {auc:.3})"), points),
        chance: ("chance (AUC = 0.5)".to_string(), vec![(0.0, 0.0), (1.0, 1.0)]),
    };
    write_svg(path.as_ref(), SIZE, |root| draw(root, figure))
}

/// Writes an SVG picture of the precision-recall curve of binary scores to `path`: precision
/// against recall at every threshold, drawn as steps (each threshold's precision held over the
/// recall it adds), so that the area under the line is the average precision
/// ([`average_precision_score`]) shown in the legend; the horizontal line is the precision of a
/// chance classifier (the share of positives). Inputs as [`precision_recall_curve`].
///
/// Available with the `plot` feature.
///
/// # Errors
/// Bad input or no positive label (as [`precision_recall_curve`]), or writing the file failed
/// (naming `path`).
pub fn plot_precision_recall_curve(y_true: &Tensor, y_score: &Tensor, path: impl AsRef<Path>) -> Result<()> {
    let pr = precision_recall_curve(y_true, y_score)?;
    let ap = average_precision_score(y_true, y_score)?;
    let mut steps = vec![(f64::from(pr.recall[0]), f64::from(pr.precision[0]))];
    for i in 1..pr.recall.len() {
        let (r0, r1, p) = (f64::from(pr.recall[i - 1]), f64::from(pr.recall[i]), f64::from(pr.precision[i]));
        steps.extend([(r0, p), (r1, p)]);
    }
    // The last point holds every sample as positive: its precision is the share of positives.
    let base = f64::from(*pr.precision.last().unwrap_or(&0.0));
    let figure = Figure {
        title: "Precision-recall curve",
        x_desc: "recall",
        y_desc: "precision",
        curve: (format!("precision-recall (AP = {ap:.3})"), steps),
        chance: (format!("chance (AP = {base:.3})"), vec![(0.0, base), (1.0, base)]),
    };
    write_svg(path.as_ref(), SIZE, |root| draw(root, figure))
}

/// Draws a curve picture on the unit square.
fn draw(root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>, figure: Figure<'_>) -> DrawResult {
    let mut chart = ChartBuilder::on(root)
        .caption(figure.title, (FONT, 22))
        .margin(16)
        .x_label_area_size(45)
        .y_label_area_size(55)
        .build_cartesian_2d(-0.01..1.01, -0.01..1.01)?;
    chart
        .configure_mesh()
        .x_desc(figure.x_desc)
        .y_desc(figure.y_desc)
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 12))
        .light_line_style(WHITE)
        .draw()?;
    let grey = RGBColor(128, 128, 128);
    let (label, points) = figure.chance;
    chart
        .draw_series(LineSeries::new(points, grey.stroke_width(1)))?
        .label(label)
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1)));
    let (label, points) = figure.curve;
    chart
        .draw_series(LineSeries::new(points, MAIN.stroke_width(2)))?
        .label(label)
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MAIN.stroke_width(2)));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .label_font((FONT, 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .draw()
}
