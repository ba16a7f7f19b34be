//! Affine resampling of a batch of images, shared by the geometric preprocessing layers: each
//! output pixel reads the input at an affinely mapped point, by bilinear or nearest
//! interpolation, with the points outside the image filled by a [`FillMode`].
//!
//! The map is fixed for one call, so the output is a linear function of the input: it is
//! recorded as a composition of tape ops (a row gather, a product with constant weights and a
//! sum over the taps), whose gradient is the transposed scatter. Semantics follow Keras 3's
//! `affine_transform` (TensorFlow's `ImageProjectiveTransformV3`): pixel centres sit on integer
//! coordinates, and the input is extended by the fill mode before interpolating.

use super::{FillMode, Interpolation};
use kensho_autograd::Var;
use kensho_core::Tensor;

/// The map from an output pixel `(x, y)` (column, row) to the input point it reads:
/// `x_in = a0 x + a1 y + a2`, `y_in = b0 x + b1 y + b2`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Affine {
    pub a0: f32,
    pub a1: f32,
    pub a2: f32,
    pub b0: f32,
    pub b1: f32,
    pub b2: f32,
}

impl Affine {
    /// The identity map.
    pub const IDENTITY: Affine = Affine { a0: 1.0, a1: 0.0, a2: 0.0, b0: 0.0, b1: 1.0, b2: 0.0 };
}

/// The position `i` on an axis of length `n`, extended beyond the edges by `mode`; `None` where
/// the constant fill applies.
fn extend(i: i64, n: usize, mode: FillMode) -> Option<usize> {
    let n = n as i64;
    let index = match mode {
        FillMode::Constant => (0..n).contains(&i).then_some(i)?,
        FillMode::Nearest => i.clamp(0, n - 1),
        FillMode::Wrap => i.rem_euclid(n),
        FillMode::Reflect => {
            let m = i.rem_euclid(2 * n);
            if m < n {
                m
            } else {
                2 * n - 1 - m
            }
        }
    };
    Some(index as usize)
}

/// The input pixels (row, column) and weights that interpolate the point `(x, y)`: the first
/// `count` entries of the array.
fn taps(x: f32, y: f32, interpolation: Interpolation) -> ([(i64, i64, f32); 4], usize) {
    match interpolation {
        Interpolation::Nearest => {
            let tap = ((y + 0.5).floor() as i64, (x + 0.5).floor() as i64, 1.0);
            ([tap; 4], 1)
        }
        Interpolation::Bilinear => {
            let (y0, x0) = (y.floor(), x.floor());
            let (fy, fx) = (y - y0, x - x0);
            let (r, c) = (y0 as i64, x0 as i64);
            let taps = [
                (r, c, (1.0 - fy) * (1.0 - fx)),
                (r, c + 1, (1.0 - fy) * fx),
                (r + 1, c, fy * (1.0 - fx)),
                (r + 1, c + 1, fy * fx),
            ];
            (taps, 4)
        }
    }
}

/// Resamples images `x: [n, h, w, c]` through one map per image. Outside the image, `mode`
/// extends it (with `fill_value` for [`FillMode::Constant`]).
///
/// # Panics
/// If `x` is not of rank 4 or `maps` does not hold one map per image (internal bugs: the
/// layers check their input shape at build).
pub(crate) fn affine_transform<'t>(
    x: Var<'t>,
    maps: &[Affine],
    interpolation: Interpolation,
    mode: FillMode,
    fill_value: f32,
) -> Var<'t> {
    let shape = x.shape();
    let &[n, h, w, c] = shape.as_slice() else { panic!("affine_transform: images of rank 4, got {shape:?}") };
    assert_eq!(maps.len(), n, "affine_transform: one map per image");
    let pixels = n * h * w;
    let count = if interpolation == Interpolation::Nearest { 1 } else { 4 };
    let mut index = vec![0usize; count * pixels];
    let mut weight = vec![0.0f32; count * pixels];
    let mut fill = vec![0.0f32; pixels];
    for (b, m) in maps.iter().enumerate() {
        for row in 0..h {
            for col in 0..w {
                let out = (b * h + row) * w + col;
                let (xo, yo) = (col as f32, row as f32);
                let (xi, yi) = (m.a0 * xo + m.a1 * yo + m.a2, m.b0 * xo + m.b1 * yo + m.b2);
                let (taps, used) = taps(xi, yi, interpolation);
                for (t, &(r, cc, wt)) in taps[..used].iter().enumerate() {
                    match (extend(r, h, mode), extend(cc, w, mode)) {
                        (Some(r), Some(cc)) => {
                            index[t * pixels + out] = (b * h + r) * w + cc;
                            weight[t * pixels + out] = wt;
                        }
                        _ => fill[out] += wt,
                    }
                }
            }
        }
    }
    let tape = x.tape();
    let gathered = x.reshape(&[pixels, c]).index_select(0, &index);
    let mut y = if count == 1 && weight.iter().all(|&v| v == 1.0) {
        gathered
    } else {
        let weight = Tensor::from_vec(weight, &[count, pixels, 1]).expect("sizes match");
        gathered.reshape(&[count, pixels, c]).mul(tape.constant(weight)).sum_axes(&[0], false)
    };
    if fill_value != 0.0 && fill.iter().any(|&f| f != 0.0) {
        let fill = Tensor::from_vec(fill, &[pixels, 1]).expect("sizes match").mul_scalar(fill_value);
        y = y.add(tape.constant(fill));
    }
    y.reshape(&[n, h, w, c])
}

#[cfg(test)]
mod tests {
    use super::*;
    use kensho_autograd::Tape;

    #[test]
    fn fill_modes_extend_a_row_as_keras_draws_them() {
        // a b c d at 0..4; positions -4..8.
        let row = |mode| (-4..8).map(|i| extend(i, 4, mode).map_or(-1, |v| v as i64)).collect::<Vec<_>>();
        assert_eq!(row(FillMode::Reflect), [3, 2, 1, 0, 0, 1, 2, 3, 3, 2, 1, 0]);
        assert_eq!(row(FillMode::Wrap), [0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
        assert_eq!(row(FillMode::Nearest), [0, 0, 0, 0, 0, 1, 2, 3, 3, 3, 3, 3]);
        assert_eq!(row(FillMode::Constant), [-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1]);
    }

    #[test]
    fn a_half_pixel_shift_averages_neighbours_and_fills_the_edge() {
        // One 1x3 image, one channel: [1, 2, 4]; read at x - 0.5.
        let tape = Tape::no_grad();
        let x = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 4.0], &[1, 1, 3, 1]).unwrap());
        let shift = Affine { a2: -0.5, ..Affine::IDENTITY };
        let constant = affine_transform(x, &[shift], Interpolation::Bilinear, FillMode::Constant, 10.0);
        assert_eq!(constant.value().to_vec(), [5.5, 1.5, 3.0]);
        let reflect = affine_transform(x, &[shift], Interpolation::Bilinear, FillMode::Reflect, 10.0);
        assert_eq!(reflect.value().to_vec(), [1.0, 1.5, 3.0]);
    }
}
