//! [`plot_confusion_matrix`]: a confusion matrix as two heatmaps side by side, the counts and the
//! counts normalised by row (each true class sums to 1, so the diagonal is the recall).

use std::path::Path;

use kensho_core::{Error, Result};
use kensho_metrics::ConfusionMatrix;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{write_svg, DrawResult, FONT};

/// The darkest cell colour (the largest value of a panel); the lightest is white.
const DARK: (f64, f64, f64) = (8.0, 48.0, 107.0);

/// Writes an SVG picture of `cm` to `path`: on the left the counts, on the right each row divided
/// by its total (the fraction of each true class predicted as each class; an empty row stays 0).
/// Rows are true classes, top to bottom; columns predicted classes, left to right; each cell
/// shows its value and a shade of blue that darkens with it.
///
/// `class_names` label the classes in order; pass `&[]` to label them `0`, `1`, ...
///
/// Available with the `plot` feature.
///
/// # Errors
/// `class_names` neither empty nor one per class, a matrix without classes, or writing the file
/// failed; the errors name `path`.
///
/// ```no_run
/// use kensho::metrics::ConfusionMatrix;
/// use kensho::Tensor;
/// # fn main() -> kensho::Result<()> {
/// let mut cm = ConfusionMatrix::new(3);
/// cm.update(&Tensor::from_vec(vec![0., 1., 2., 2.], &[4])?, &Tensor::from_vec(vec![0., 2., 2., 1.], &[4])?)?;
/// kensho::plot::plot_confusion_matrix(&cm, &["cat", "dog", "bird"], "confusion.svg")?;
/// # Ok(())
/// # }
/// ```
pub fn plot_confusion_matrix(cm: &ConfusionMatrix, class_names: &[&str], path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let k = cm.num_classes();
    let what = |arg: &str| format!("plot_confusion_matrix(\"{}\"): {arg}", path.display());
    if k == 0 {
        return Err(Error::invalid(what("cm"), "a matrix of 0 classes", "a confusion matrix of at least 1 class"));
    }
    if !class_names.is_empty() && class_names.len() != k {
        let seen = format!("{} names", class_names.len());
        return Err(Error::invalid(what("class_names"), seen, format!("{k} names (one per class), or none")));
    }
    let names: Vec<String> = match class_names {
        [] => (0..k).map(|c| c.to_string()).collect(),
        names => names.iter().map(|n| n.to_string()).collect(),
    };
    let counts: Vec<Vec<f64>> =
        cm.to_vec().into_iter().map(|row| row.into_iter().map(|c| c as f64).collect()).collect();
    let normalised: Vec<Vec<f64>> = counts
        .iter()
        .map(|row| {
            let total: f64 = row.iter().sum();
            row.iter().map(|&c| if total > 0.0 { c / total } else { 0.0 }).collect()
        })
        .collect();
    let side = (200 + 40 * k as u32).min(900);
    write_svg(path, (2 * side, side), |root| {
        let halves = root.split_evenly((1, 2));
        draw_heatmap(&halves[0], "counts", &counts, &names, |v| format!("{v:.0}"))?;
        draw_heatmap(&halves[1], "normalised by true class", &normalised, &names, |v| format!("{v:.2}"))
    })
}

/// The fill of a cell holding `t` of the panel's largest value (`t` in 0..=1).
fn shade(t: f64) -> RGBColor {
    let mix = |dark: f64| (255.0 - t * (255.0 - dark)).round() as u8;
    RGBColor(mix(DARK.0), mix(DARK.1), mix(DARK.2))
}

/// The class name at a key point in the middle of a cell (`c + 0.5`), empty elsewhere.
fn cell_label(value: f64, names: &[String]) -> String {
    let cell = value - 0.5;
    if (cell - cell.round()).abs() > 1e-6 || cell < -0.5 {
        return String::new();
    }
    names.get(cell.round() as usize).cloned().unwrap_or_default()
}

/// Draws one heatmap: `values[true][predicted]`, row 0 at the top.
fn draw_heatmap(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    values: &[Vec<f64>],
    names: &[String],
    format: impl Fn(f64) -> String,
) -> DrawResult {
    let k = values.len();
    let size = k as f64;
    let max = values.iter().flatten().fold(0.0_f64, |m, &v| m.max(v));
    let label_width = 20 + 8 * names.iter().map(|n| n.chars().count()).max().unwrap_or(1).min(16) as u32;
    let mut chart = ChartBuilder::on(area)
        .caption(title, (FONT, 20))
        .margin(12)
        .x_label_area_size(50)
        .y_label_area_size(label_width + 30)
        .build_cartesian_2d(0.0..size, 0.0..size)?;
    // Key points every half cell, so that one falls in the middle of each cell for its name.
    let x_label = |v: &f64| cell_label(*v, names);
    let y_label = |v: &f64| cell_label(size - *v, names);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(2 * k + 1)
        .y_labels(2 * k + 1)
        .x_label_formatter(&x_label)
        .y_label_formatter(&y_label)
        .x_desc("predicted class")
        .y_desc("true class")
        .axis_desc_style((FONT, 15))
        .label_style((FONT, 13))
        .draw()?;
    let font_size = if k > 12 { 10 } else { 14 };
    for (t, row) in values.iter().enumerate() {
        for (p, &v) in row.iter().enumerate() {
            let share = if max > 0.0 { v / max } else { 0.0 };
            let (x, y) = (p as f64, size - 1.0 - t as f64);
            chart.draw_series(std::iter::once(Rectangle::new([(x, y), (x + 1.0, y + 1.0)], shade(share).filled())))?;
            let ink = if share > 0.5 { WHITE } else { BLACK };
            let style = (FONT, font_size).into_font().color(&ink).pos(Pos::new(HPos::Center, VPos::Center));
            chart.draw_series(std::iter::once(Text::new(format(v), (x + 0.5, y + 0.5), style)))?;
        }
    }
    Ok(())
}
