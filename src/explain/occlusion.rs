//! [`occlusion`]: how much a chosen output drops when a window of an image is covered
//! (Zeiler & Fergus, 2014), the window slid over height and width.

use super::{check_model_and_input, resolve_target, Target};
use crate::Model;
use kensho_core::{Error, Result, Tensor};

/// The most rows (occluded copies times rows of `x`) predicted in one call.
const ROWS_PER_PASS: usize = 512;

/// Occlusion attributions for images `x` of shape `[batch, height, width, channels]`: a
/// `window` of `(height, width)` pixels, all channels, is set to `fill` at positions `stride`
/// apart, and each pixel gets the mean, over the windows covering it, of the drop of the
/// row's `target` output `F(x) - F(x occluded)` (the same value for each channel of a pixel).
/// A tensor of `x`'s shape.
///
/// Windows start at `0, stride, 2 * stride, ..` along each axis, plus one window flush with
/// the far edge when the stride does not land there, so every pixel is covered. The model
/// runs in inference mode, several occluded copies per call.
///
/// # Errors
/// As [`saliency`](super::saliency), or if `x` is not of rank 4, a window or stride dimension
/// is 0, the window is larger than the image, or `fill` is not finite.
///
/// ```
/// use kensho::prelude::*;
/// use kensho::explain::{occlusion, Target};
/// # fn main() -> kensho::Result<()> {
/// let mut model = Sequential::new().add(Input::new(&[4, 4, 1])).add(Flatten::new()).add(Dense::new(2));
/// model.build_model()?;
/// let x = Tensor::ones(&[1, 4, 4, 1]);
/// let map = occlusion(&model, &x, (2, 2), (2, 2), 0.0, Target::Class(0))?;
/// assert_eq!(map.shape(), &[1, 4, 4, 1]);
/// # Ok(())
/// # }
/// ```
pub fn occlusion(
    model: &Model,
    x: &Tensor,
    window: (usize, usize),
    stride: (usize, usize),
    fill: f32,
    target: Target,
) -> Result<Tensor> {
    const CONTEXT: &str = "occlusion";
    check_model_and_input(model, x, CONTEXT)?;
    let &[n, h, w, c] = x.shape() else {
        return Err(Error::shape(format!("{CONTEXT}: x"), "images [batch, height, width, channels]", x.shape()));
    };
    if window.0 == 0 || window.1 == 0 || window.0 > h || window.1 > w {
        return Err(Error::invalid(
            format!("{CONTEXT}: window"),
            format!("{window:?}"),
            format!("a (height, width) of at least 1 and at most the image's ({h}, {w})"),
        ));
    }
    if stride.0 == 0 || stride.1 == 0 {
        return Err(Error::invalid(
            format!("{CONTEXT}: stride"),
            format!("{stride:?}"),
            "positive steps, such as the window",
        ));
    }
    if !fill.is_finite() {
        return Err(Error::invalid(format!("{CONTEXT}: fill"), fill, "a finite value, such as 0"));
    }
    let targets = resolve_target(model, x, target, CONTEXT)?;
    // The target output of each row of predictions for copies of `x` stacked along the batch.
    let chosen = |y: &Tensor| -> Vec<f32> {
        let rows = y.shape()[0];
        let y = y.to_vec();
        let width = y.len() / rows;
        (0..rows).map(|q| y[q * width + targets[q % n]]).collect()
    };
    let reference = chosen(&model.predict(x)?);
    let x = x.to_vec();
    let windows: Vec<(usize, usize)> = starts(h, window.0, stride.0)
        .into_iter()
        .flat_map(|top| starts(w, window.1, stride.1).into_iter().map(move |left| (top, left)))
        .collect();
    let covers = |&(top, left): &(usize, usize), i: usize, j: usize| {
        (top..top + window.0).contains(&i) && (left..left + window.1).contains(&j)
    };
    let mut total = vec![0.0f32; n * h * w];
    let mut count = vec![0u32; h * w];
    for group in windows.chunks((ROWS_PER_PASS / n).max(1)) {
        let mut data = Vec::with_capacity(group.len() * x.len());
        for win in group {
            let mut copy = x.clone();
            for (p, v) in copy.iter_mut().enumerate() {
                if covers(win, p / c / w % h, p / c % w) {
                    *v = fill;
                }
            }
            data.extend(copy);
        }
        let occluded = model.predict_batched(&Tensor::from_vec(data, &[group.len() * n, h, w, c])?, ROWS_PER_PASS)?;
        let values = chosen(&occluded);
        for (g, win) in group.iter().enumerate() {
            for i in win.0..win.0 + window.0 {
                for j in win.1..win.1 + window.1 {
                    count[i * w + j] += 1;
                    for r in 0..n {
                        total[(r * h + i) * w + j] += reference[r] - values[g * n + r];
                    }
                }
            }
        }
    }
    let mut out = Vec::with_capacity(x.len());
    for (p, &sum) in total.iter().enumerate() {
        let mean = sum / count[p % (h * w)] as f32;
        out.extend(std::iter::repeat_n(mean, c));
    }
    Tensor::from_vec(out, &[n, h, w, c])
}

/// The first positions of windows of `size` along an axis of `len`, `stride` apart, plus one
/// flush with the end if the stride does not land there.
fn starts(len: usize, size: usize, stride: usize) -> Vec<usize> {
    let last = len - size;
    let mut starts: Vec<usize> = (0..=last).step_by(stride).collect();
    if starts.last() != Some(&last) {
        starts.push(last);
    }
    starts
}
