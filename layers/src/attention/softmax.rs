//! The fused scaled, masked softmax of attention scores, one tape node.
//!
//! For each row of scores `s` (one query of one head of one sample) and its mask row `m`,
//! as Keras' `Softmax` with a mask: `z = where(m, scale · s, -1e9)`, `p = softmax(z)`, and the
//! result `y = where(m, p, 0)` (a row masked everywhere gives zeros, not a uniform
//! distribution). The softmax is the stable one (the row's maximum subtracted first).
//!
//! Backward: the masked entries of `z` are constants and `y` is zero there, so
//! `ds = scale · y · (dy - Σ_row dy · y)` everywhere.
//!
//! The composition (multiply by the scale, multiply by the mask, add the large negative
//! offsets, softmax, multiply by the mask) would take five passes over the `[batch, heads,
//! T_q, T_k]` scores and five tape nodes; this takes one each way.

use kensho_autograd::{InputGrads, Var};
use kensho_core::Tensor;

/// What a masked position gets before the softmax (Keras' value for float32).
const LARGE_NEGATIVE: f32 = -1e9;

/// `softmax(scale · scores)` over the last axis of `scores: [batch, heads, T_q, T_k]`, with
/// the positions where `mask` is 0 excluded (probability 0). `mask` is `[batch, T_q, T_k]`,
/// or `[1, T_q, T_k]` for every sample alike, 1 where a query may attend to a key.
///
/// # Panics
/// If `scores` is not of rank 4 or `mask` does not fit it.
#[track_caller]
pub(super) fn masked_softmax<'t>(scores: Var<'t>, mask: Option<&Tensor>, scale: f32) -> Var<'t> {
    let s = scores.value().to_contiguous();
    let &[batch, heads, t_q, t_k] = s.shape() else {
        panic!("masked_softmax: scores must be [batch, heads, T_q, T_k], got {:?}", s.shape())
    };
    let mask = mask.map(Tensor::to_contiguous);
    if let Some(m) = &mask {
        assert!(
            m.shape() == [batch, t_q, t_k] || m.shape() == [1, t_q, t_k],
            "masked_softmax: mask {:?} does not fit scores {:?}",
            m.shape(),
            s.shape()
        );
    }
    let m = mask.as_ref().map(|m| m.as_slice().expect("contiguous"));
    let per_sample = mask.as_ref().is_some_and(|m| m.shape()[0] == batch && batch > 1);
    let mut y = s.as_slice().expect("contiguous").to_vec();
    for (r, row) in y.chunks_exact_mut(t_k.max(1)).enumerate() {
        let (b, i) = (r / (heads * t_q), r % t_q);
        let mask_row = m.map(|m| {
            let start = (if per_sample { b * t_q } else { 0 } + i) * t_k;
            &m[start..start + t_k]
        });
        softmax_row(row, mask_row, scale);
    }
    let y = Tensor::from_vec(y, s.shape()).expect("the scores' shape");
    let kept = y.clone();
    scores.tape().record(y, &[scores], move |dy, _| {
        let dy = dy.to_contiguous();
        let (dy, y) = (dy.as_slice().expect("contiguous"), kept.as_slice().expect("contiguous"));
        let mut ds = Vec::with_capacity(y.len());
        for (dy_row, y_row) in dy.chunks_exact(t_k.max(1)).zip(y.chunks_exact(t_k.max(1))) {
            let dot: f32 = dy_row.iter().zip(y_row).map(|(g, p)| g * p).sum();
            ds.extend(dy_row.iter().zip(y_row).map(|(g, p)| scale * p * (g - dot)));
        }
        let grads: InputGrads =
            [Some(Tensor::from_vec(ds, kept.shape()).expect("the scores' shape"))].into_iter().collect();
        grads
    })
}

/// One row in place: the masked, scaled softmax of the scores it holds.
fn softmax_row(row: &mut [f32], mask: Option<&[f32]>, scale: f32) {
    let keep = |j: usize| mask.is_none_or(|m| m[j] != 0.0);
    for (j, v) in row.iter_mut().enumerate() {
        *v = if keep(j) { *v * scale } else { LARGE_NEGATIVE };
    }
    let max = row.iter().fold(f32::NEG_INFINITY, |a, &v| a.max(v));
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    for (j, v) in row.iter_mut().enumerate() {
        *v = if keep(j) { *v * inv } else { 0.0 };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kensho_autograd::Tape;

    #[test]
    fn equals_the_composition_and_zeroes_masked_rows() {
        let tape = Tape::no_grad();
        let mut rng = kensho_core::seeded_rng(1);
        let s = tape.constant(Tensor::rand_uniform(&[2, 3, 2, 4], -3.0, 3.0, &mut rng));
        let m =
            Tensor::from_vec(vec![1., 1., 0., 1., 0., 0., 0., 0., 1., 0., 1., 1., 1., 1., 1., 1.], &[2, 2, 4]).unwrap();
        let y = masked_softmax(s, Some(&m), 0.5).value();
        // The composition Keras writes: where(mask, x, -1e9), softmax, where(mask, p, 0).
        let m4 = tape.constant(m.reshape_to(&[2, 1, 2, 4]));
        let offset = tape.constant(m.reshape_to(&[2, 1, 2, 4]).map(|v| (1.0 - v) * LARGE_NEGATIVE));
        let composed = s.mul_scalar(0.5).mul(m4).add(offset).softmax(3).mul(m4).value();
        assert!(y.allclose(&composed, 1e-6, 1e-7));
        // Sample 0, query 1 is masked everywhere: zeros in every head.
        let row = |h: usize| y.slice_axis(0, 0, 1).slice_axis(1, h, h + 1).slice_axis(2, 1, 2).to_vec();
        assert!((0..3).all(|h| row(h) == [0.0; 4]));
    }
}
