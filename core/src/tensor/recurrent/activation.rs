//! [`CellActivation`]: the activations a recurrent cell applies, in place over a slice, with
//! their slopes written as functions of their outputs (so the backward pass needs only the
//! activations the forward pass kept).
//!
//! Sigmoid and tanh, which a cell applies to every gate of every step, use an exponential of
//! a few multiply-adds (Cephes' `expf` polynomial after a range reduction by powers of two,
//! within 2 ulp of `f32::exp`) that the compiler vectorizes; tanh is `1 - 2 / (e^2x + 1)`,
//! exact to about 1e-7 in absolute terms.
//!
//! NaN in gives NaN out, as in PyTorch; the slopes at a NaN output follow PyTorch's backward
//! formulas too (relu and elu pass the gradient through, `y <= 0 ? .. : 1`; the others are NaN).

use crate::tensor::elementwise::relu_scalar;
use serde::{Deserialize, Serialize};

/// An activation inside a recurrent cell.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum CellActivation {
    /// The identity.
    Linear,
    /// `max(x, 0)`.
    Relu,
    /// `x` for positive inputs, `alpha * (e^x - 1)` otherwise.
    Elu {
        /// Scale of the negative part (positive).
        alpha: f32,
    },
    /// `log(1 + e^x)`.
    Softplus,
    /// The logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
}

/// `e^x` for `x` clamped to `[-87, 88]` (finite, normal results).
#[inline(always)]
pub(crate) fn fast_exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // n = round(x / ln 2) by the 1.5 * 2^23 trick (no rounding instruction needed): the low
    // bits of `shifted` hold n.
    let shifted = x * std::f32::consts::LOG2_E + 12_582_912.0;
    let n = shifted - 12_582_912.0;
    // r = x - n ln 2, with ln 2 split in two for precision.
    let r = x - n * 0.693_359_4 + n * 2.121_944_4e-4;
    let p = ((((1.987_569_1e-4 * r + 1.398_199_9e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r + 1.666_666_5e-1)
        * r
        + 0.5;
    let y = p * r * r + r + 1.0;
    // 2^n from n's bits in `shifted` (the constant's own bits shift out), without a float to
    // integer conversion, which does not vectorize.
    y * f32::from_bits(shifted.to_bits().wrapping_add(127) << 23)
}

/// The logistic sigmoid.
#[inline(always)]
pub(crate) fn fast_sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + fast_exp(-x))
}

/// Hyperbolic tangent.
#[inline(always)]
pub(crate) fn fast_tanh(x: f32) -> f32 {
    1.0 - 2.0 / (fast_exp(2.0 * x) + 1.0)
}

impl CellActivation {
    /// Applies the activation to every element of `xs`, in place.
    #[inline(always)]
    pub fn apply(self, xs: &mut [f32]) {
        match self {
            CellActivation::Linear => {}
            CellActivation::Relu => xs.iter_mut().for_each(|v| *v = relu_scalar(*v)),
            CellActivation::Elu { alpha } => {
                xs.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { alpha * v.exp_m1() })
            }
            CellActivation::Softplus => xs.iter_mut().for_each(|v| *v = relu_scalar(*v) + (-v.abs()).exp().ln_1p()),
            CellActivation::Sigmoid => xs.iter_mut().for_each(|v| *v = fast_sigmoid(*v)),
            CellActivation::Tanh => xs.iter_mut().for_each(|v| *v = fast_tanh(*v)),
        }
    }

    /// The activation of one value (for the few places that need one value at a time).
    #[inline(always)]
    pub fn of(self, x: f32) -> f32 {
        match self {
            CellActivation::Sigmoid => fast_sigmoid(x),
            CellActivation::Tanh => fast_tanh(x),
            _ => {
                let mut v = [x];
                self.apply(&mut v);
                v[0]
            }
        }
    }

    /// The slope at the input whose activation is `y`.
    pub fn slope(self, y: f32) -> f32 {
        let (ys, mut out) = ([y], [0.0]);
        self.slopes(&ys, &mut out);
        out[0]
    }

    /// `out[j]` = the slope at the input whose activation is `ys[j]` (one pass per kind, so
    /// the loop vectorizes).
    #[inline(always)]
    pub(crate) fn slopes(self, ys: &[f32], out: &mut [f32]) {
        let pairs = out.iter_mut().zip(ys);
        match self {
            CellActivation::Linear => pairs.for_each(|(o, _)| *o = 1.0),
            CellActivation::Relu => pairs.for_each(|(o, &y)| *o = if y <= 0.0 { 0.0 } else { 1.0 }),
            CellActivation::Elu { alpha } => pairs.for_each(|(o, &y)| *o = if y <= 0.0 { y + alpha } else { 1.0 }),
            CellActivation::Softplus => pairs.for_each(|(o, &y)| *o = -(-y).exp_m1()),
            CellActivation::Sigmoid => pairs.for_each(|(o, &y)| *o = y * (1.0 - y)),
            CellActivation::Tanh => pairs.for_each(|(o, &y)| *o = 1.0 - y * y),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_functions_match_the_standard_library() {
        let (mut worst_exp, mut worst_sig, mut worst_tanh) = (0.0f32, 0.0f32, 0.0f32);
        for i in -200_000..=200_000 {
            let x = i as f32 * 1e-4; // [-20, 20]
            worst_exp = worst_exp.max(((fast_exp(x) - x.exp()) / x.exp()).abs());
            let sig = 1.0 / (1.0 + (-x).exp());
            worst_sig = worst_sig.max((fast_sigmoid(x) - sig).abs());
            worst_tanh = worst_tanh.max((fast_tanh(x) - x.tanh()).abs());
        }
        assert!(worst_exp < 4e-7, "exp relative error {worst_exp}");
        assert!(worst_sig < 2e-7, "sigmoid error {worst_sig}");
        assert!(worst_tanh < 3e-7, "tanh error {worst_tanh}");
        assert!(fast_sigmoid(-1000.0) == fast_sigmoid(-88.0) && fast_sigmoid(-1000.0) < 1e-37);
        assert!(fast_sigmoid(1000.0) == 1.0 && fast_tanh(1000.0) == 1.0 && fast_tanh(-1000.0) == -1.0);
        assert!(fast_exp(f32::NAN).is_nan());
    }

    /// Every cell activation (Elu with a non-default alpha).
    const ALL: [CellActivation; 6] = [
        CellActivation::Linear,
        CellActivation::Relu,
        CellActivation::Elu { alpha: 0.7 },
        CellActivation::Softplus,
        CellActivation::Sigmoid,
        CellActivation::Tanh,
    ];

    #[test]
    fn nan_in_gives_nan_out_and_other_values_are_unchanged() {
        for act in ALL.into_iter().filter(|&a| a != CellActivation::Linear) {
            let (mut xs, mut clean) = ([-2.0f32, f32::NAN, 0.5, f32::NAN, 3.0], [-2.0f32, 0.0, 0.5, 0.0, 3.0]);
            act.apply(&mut xs);
            act.apply(&mut clean);
            assert!(xs[1].is_nan() && xs[3].is_nan() && act.of(f32::NAN).is_nan(), "{act:?}: {xs:?}");
            for i in [0, 2, 4] {
                assert_eq!(xs[i].to_bits(), clean[i].to_bits(), "{act:?}: element {i} beside a NaN");
            }
            // The slope at a NaN output, as PyTorch's backward formulas give it: relu and elu
            // (`y <= 0 ? .. : 1`) pass the gradient through, the others are NaN.
            let slope = act.slope(f32::NAN);
            match act {
                CellActivation::Relu | CellActivation::Elu { .. } => assert_eq!(slope, 1.0, "{act:?}"),
                _ => assert!(slope.is_nan(), "{act:?}: {slope}"),
            }
        }
        // Relu as `max(x, 0)` gave it, bit for bit, except -0.0 keeps its sign.
        for x in [-3.0f32, -1e-30, 0.0, 1e-30, 2.5, f32::INFINITY, f32::NEG_INFINITY] {
            assert_eq!(CellActivation::Relu.of(x).to_bits(), x.max(0.0).to_bits(), "relu({x})");
        }
    }

    #[test]
    fn slopes_from_outputs_match_finite_differences() {
        for act in ALL {
            for x in [-2.3f32, -0.4, 0.3, 1.7] {
                let numeric = (f64::from(act.of(x + 1e-3)) - f64::from(act.of(x - 1e-3))) / 2e-3;
                let slope = f64::from(act.slope(act.of(x)));
                assert!((slope - numeric).abs() < 1e-3, "{act:?} at {x}: {slope} vs {numeric}");
            }
        }
    }
}
