//! [`plot_attributions`]: an image beside its attribution maps (saliency, integrated gradients,
//! occlusion, ...), each drawn as a heatmap of one cell per pixel.

use std::path::Path;

use kensho_core::{Error, Result, Tensor};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::{write_svg, DrawResult, FONT};

/// The colour of the most negative value of a map (`-max |value|`).
const NEGATIVE: RGBColor = RGBColor(33, 102, 172);
/// The colour of the most positive value of a map (`+max |value|`); 0 is white.
const POSITIVE: RGBColor = RGBColor(178, 24, 43);
/// The colour of the image's largest value; its smallest is white.
const INK: RGBColor = RGBColor(0, 0, 0);
/// The outline of each heatmap (so that the image's extent shows where its edges are white).
const FRAME: RGBColor = RGBColor(190, 190, 190);
/// The number of bands of each map's colour bar, from `-max |value|` (bottom) to `+max |value|`.
const COLOUR_BAR_STEPS: usize = 40;

/// Side of a panel's heatmap, margin around it, height of a title line, width of a colour bar.
const SIDE: u32 = 280;
const MARGIN: u32 = 12;
const TITLE: u32 = 34;
const BAR: u32 = 84;

/// Writes an SVG picture to `path`: `image` on the left, then each attribution map of `maps`
/// (`(title, map)`) to its right, one square cell per pixel, row 0 at the top.
///
/// - The image is drawn in grey levels from white (its smallest value) to black (its largest),
///   as ink on paper, under the title "input".
/// - Each map is drawn with a diverging colour scale centred on 0: white at 0, shades of red
///   (`#B2182B`) for positive values and of blue (`#2166AC`) for negative ones, each reaching
///   its full colour at the map's largest absolute value `m`. Every map has its own `m` (a
///   gradient and an integrated gradient are not in the same unit); a colour bar beside the
///   map shows the scale, labelled `m`, `0` and `-m` (a map of zeros is all white).
/// - `title`, when not empty, is written above all the panels (for example the predicted class).
///
/// `image` and every map are `[height, width]` or `[height, width, 1]` (one channel), of the
/// same height and width: take one row of a batch with `x.slice_axis(0, i, i + 1).squeeze(0)`.
///
/// Available with the `plot` feature.
///
/// # Errors
/// No map, an image or map of another shape (or several channels), a non-finite value, or
/// writing the file failed; the errors name `path` and the argument.
///
/// ```no_run
/// use kensho::prelude::*;
/// use kensho::explain::{integrated_gradients, saliency, Target};
/// # fn main() -> kensho::Result<()> {
/// let mut model = Sequential::new()
///     .add(Input::new(&[8, 8, 1]))
///     .add(Flatten::new())
///     .add(Dense::new(10));
/// model.build_model()?;
/// let x = Tensor::rand_uniform(&[1, 8, 8, 1], 0.0, 1.0, &mut kensho::core::seeded_rng(0));
/// let grad = saliency(&model, &x, Target::Predicted)?;
/// let ig = integrated_gradients(&model, &x, None, 64, Target::Predicted)?;
/// let one = |t: &Tensor| t.squeeze(0);
/// kensho::plot::plot_attributions(
///     &one(&x),
///     &[("saliency", &one(&grad)), ("integrated gradients", &one(&ig))],
///     "a random image",
///     "attributions.svg",
/// )?;
/// # Ok(())
/// # }
/// ```
pub fn plot_attributions(image: &Tensor, maps: &[(&str, &Tensor)], title: &str, path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    let what = |arg: &str| format!("plot_attributions(\"{}\"): {arg}", path.display());
    if maps.is_empty() {
        return Err(Error::invalid(what("maps"), "no map", "at least one (title, attribution map) pair"));
    }
    let (height, width) = image_size(image, &what("image"))?;
    let image_values = finite_values(image, &what("image"))?;
    let mut map_values = Vec::with_capacity(maps.len());
    for (i, (name, map)) in maps.iter().enumerate() {
        let arg = what(&format!("maps[{i}] (\"{name}\")"));
        let size = image_size(map, &arg)?;
        if size != (height, width) {
            let expected = format!("the image's height and width, [{height}, {width}] or [{height}, {width}, 1]");
            return Err(Error::invalid(arg, format!("{:?}", map.shape()), expected));
        }
        map_values.push(finite_values(map, &arg)?);
    }
    let grid = Grid { height, width };
    let title_height = if title.is_empty() { 0 } else { TITLE };
    let image_width = SIDE + 2 * MARGIN;
    let map_width = SIDE + 2 * MARGIN + BAR;
    let size = (image_width + maps.len() as u32 * map_width, title_height + TITLE + SIDE + 2 * MARGIN);
    write_svg(path, size, |root| {
        let root = if title.is_empty() { root.clone() } else { root.titled(title, (FONT, 22))? };
        let breaks: Vec<i32> = (0..maps.len() as u32).map(|m| (image_width + m * map_width) as i32).collect();
        let panels = root.split_by_breakpoints(breaks, [] as [i32; 0]);
        draw_image(&panels[0], &grid, &image_values)?;
        for ((name, _), (panel, values)) in maps.iter().zip(panels[1..].iter().zip(&map_values)) {
            draw_map(panel, name, &grid, values)?;
        }
        Ok(())
    })
}

/// The height and width of a `[h, w]` or `[h, w, 1]` tensor.
fn image_size(t: &Tensor, what: &str) -> Result<(usize, usize)> {
    match *t.shape() {
        [h, w] | [h, w, 1] if h > 0 && w > 0 => Ok((h, w)),
        _ => Err(Error::invalid(
            what,
            format!("{:?}", t.shape()),
            "a non-empty [height, width] or [height, width, 1] tensor (one image of a batch: \
             x.slice_axis(0, i, i + 1).squeeze(0))",
        )),
    }
}

/// The values of `t` in row-major order, or an error naming the first non-finite one.
fn finite_values(t: &Tensor, what: &str) -> Result<Vec<f64>> {
    let values: Vec<f64> = t.iter().map(f64::from).collect();
    match values.iter().position(|v| !v.is_finite()) {
        Some(i) => Err(Error::invalid(format!("{what} at flat index {i}"), values[i], "finite values")),
        None => Ok(values),
    }
}

/// The cells of an image: `height` rows of `width` pixels.
struct Grid {
    height: usize,
    width: usize,
}

/// Mixes white with `colour` in the share `t` (0 = white, 1 = `colour`).
fn towards(colour: RGBColor, t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0);
    let mix = |c: u8| (255.0 - t * (255.0 - f64::from(c))).round() as u8;
    RGBColor(mix(colour.0), mix(colour.1), mix(colour.2))
}

/// The diverging colour of `v` on a scale symmetric at `max_abs`.
fn diverging(v: f64, max_abs: f64) -> RGBColor {
    if max_abs <= 0.0 {
        return WHITE;
    }
    if v >= 0.0 {
        towards(POSITIVE, v / max_abs)
    } else {
        towards(NEGATIVE, -v / max_abs)
    }
}

/// A short label for a scale's end: 3 significant digits, in scientific notation when far from 1.
fn scale_label(v: f64) -> String {
    let a = v.abs();
    if a == 0.0 {
        "0".to_string()
    } else if (1e-2..1e4).contains(&a) {
        let decimals = (2 - a.log10().floor() as i32).max(0) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.2e}")
    }
}

/// Draws one titled panel's cells, `colour(value)` for each, in a square area; returns the
/// picture's pixel rows of the top and bottom of the cells.
fn draw_cells(
    area: &DrawingArea<SVGBackend<'_>, Shift>,
    title: &str,
    grid: &Grid,
    values: &[f64],
    colour: impl Fn(f64) -> RGBColor,
) -> std::result::Result<(i32, i32), DrawingAreaErrorKind<std::io::Error>> {
    let area = area.titled(title, (FONT, 18))?.margin(MARGIN, MARGIN, MARGIN, MARGIN);
    // Square cells of whole pixels: the longer side of the image fills (at most) SIDE.
    let cell = (SIDE as usize / grid.height.max(grid.width)).max(1) as i32;
    let (rows, columns) = (grid.height as i32, grid.width as i32);
    for (i, &v) in values.iter().enumerate() {
        let (r, c) = (i as i32 / columns, i as i32 % columns);
        // Each cell but the last of a row or column reaches 1 pixel under its neighbour, so that
        // no seam shows between cells when a viewer scales the picture (anti-aliasing).
        let (right, bottom) = ((c + 1) * cell + i32::from(c + 1 < columns), (r + 1) * cell + i32::from(r + 1 < rows));
        area.draw(&Rectangle::new([(c * cell, r * cell), (right, bottom)], colour(v).filled()))?;
    }
    let (w, h) = (cell * columns, cell * rows);
    area.draw(&Rectangle::new([(0, 0), (w, h)], FRAME.stroke_width(1)))?;
    let top = area.get_base_pixel().1;
    Ok((top, top + h))
}

/// The input image in grey levels, white at its smallest value and black at its largest.
fn draw_image(area: &DrawingArea<SVGBackend<'_>, Shift>, grid: &Grid, values: &[f64]) -> DrawResult {
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = hi - lo;
    draw_cells(area, "input", grid, values, |v| if span > 0.0 { towards(INK, (v - lo) / span) } else { WHITE })?;
    Ok(())
}

/// One attribution map and its colour bar.
fn draw_map(area: &DrawingArea<SVGBackend<'_>, Shift>, title: &str, grid: &Grid, values: &[f64]) -> DrawResult {
    let max_abs = values.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let (cells, bar) = area.split_horizontally(SIDE + 2 * MARGIN);
    let (top, bottom) = draw_cells(&cells, title, grid, values, |v| diverging(v, max_abs))?;
    // The bar: COLOUR_BAR_STEPS bands from -m (bottom) to +m (top), as high as the heatmap.
    let (x0, y0) = (4, top - bar.get_base_pixel().1);
    let (bar_width, bar_height) = (16, bottom - top);
    let band = f64::from(bar_height) / COLOUR_BAR_STEPS as f64;
    for k in 0..COLOUR_BAR_STEPS {
        let top = y0 + (band * k as f64).round() as i32;
        let bottom = y0 + (band * (k + 1) as f64).round() as i32;
        // Evenly spaced from +m (the top band) to -m (the bottom band).
        let v = 1.0 - 2.0 * k as f64 / (COLOUR_BAR_STEPS - 1) as f64;
        bar.draw(&Rectangle::new([(x0, top), (x0 + bar_width, bottom)], diverging(v, 1.0).filled()))?;
    }
    bar.draw(&Rectangle::new([(x0, y0), (x0 + bar_width, y0 + bar_height)], BLACK.stroke_width(1)))?;
    let style = (FONT, 14).into_font().color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center));
    let x = x0 + bar_width + 5;
    for (label, y) in
        [(scale_label(max_abs), y0), ("0".to_string(), y0 + bar_height / 2), (scale_label(-max_abs), y0 + bar_height)]
    {
        bar.draw(&Text::new(label, (x, y), style.clone()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_labels_keep_three_significant_digits() {
        assert_eq!(scale_label(0.0), "0");
        assert_eq!(scale_label(0.123456), "0.123");
        assert_eq!(scale_label(-2.5), "-2.50");
        assert_eq!(scale_label(123.4), "123");
        assert_eq!(scale_label(0.00123), "1.23e-3");
        assert_eq!(scale_label(-45678.0), "-4.57e4");
    }

    #[test]
    fn the_diverging_scale_is_white_at_zero_and_full_at_the_ends() {
        assert_eq!(diverging(0.0, 2.0), WHITE);
        assert_eq!(diverging(2.0, 2.0), POSITIVE);
        assert_eq!(diverging(-2.0, 2.0), NEGATIVE);
        assert_eq!(diverging(1.0, 0.0), WHITE);
        let half = diverging(1.0, 2.0);
        assert!(half.0 > POSITIVE.0 && half.1 > POSITIVE.1 && half.1 < 255, "{half:?}");
    }
}
