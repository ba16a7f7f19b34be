//! Masks through the merge layers, by Keras 3's rules (`base_merge.py`, `multiply.py`,
//! `concatenate.py`). A mask has its input's batched shape without the last axis, 1 where a
//! position is real and 0 where it is padding.
//!
//! - Every elementwise merge gives the positions real in *any* input (a logical OR), if every
//!   input has a mask, and no mask if one of them has none.
//! - `Maximum` and `Minimum` also leave padded entries out of the comparison, and `Multiply`
//!   counts them as 1 (giving 0 where every input is padded); `Add`, `Subtract` and `Average`
//!   use the values as they are.
//! - `Concatenate` joins the masks along its axis, an input without a mask counting as real
//!   everywhere (see [`concatenated`]); `Dot` gives no mask.

use super::broadcast::aligned_shape;
use kensho_autograd::Var;
use kensho_core::Tensor;

/// The OR of the masks (their elementwise maximum, lower ranks aligned as their inputs are),
/// if every input has one; `None` if any input has none.
pub(super) fn any_of(masks: &[Option<Tensor>]) -> Option<Tensor> {
    let masks: Vec<&Tensor> = masks.iter().map(Option::as_ref).collect::<Option<_>>()?;
    let rank = masks.iter().map(|m| m.ndim()).max()?;
    masks.into_iter().map(|m| m.reshape_to(&aligned_shape(m.shape(), rank))).reduce(|a, b| a.maximum(&b))
}

/// Each input's mask spread over the merge's batched output shape `out` (Keras'
/// `broadcast_to(expand_dims(mask, -1), shape(x))`, after aligning the input to rank `rank`),
/// `None` for an input without one.
///
/// # Panics
/// If a mask does not have its input's shape without the last axis (`owner` names the layer).
pub(super) fn spread(owner: &str, inputs: &[Var<'_>], masks: &[Option<Tensor>], out: &[usize]) -> Vec<Option<Tensor>> {
    let mask = |(i, x): (usize, &Var<'_>)| {
        let m = masks.get(i).cloned().flatten()?;
        let shape = x.shape();
        assert!(
            !shape.is_empty() && m.shape() == &shape[..shape.len() - 1],
            "{owner}: input {i} of shape {shape:?} has a mask of shape {:?}; expected the input's shape \
             without its last axis",
            m.shape()
        );
        let mut aligned = aligned_shape(&shape, out.len());
        *aligned.last_mut().expect("a batched shape") = 1;
        Some(m.reshape_to(&aligned).broadcast_to(out))
    };
    inputs.iter().enumerate().map(mask).collect()
}

/// Keras' `where(mask, a, b)` on the tape: `a` where the mask is 1, `b` where it is 0.
fn select<'t>(mask: &Tensor, a: Var<'t>, b: Var<'t>) -> Var<'t> {
    let tape = a.tape();
    a.mul(tape.constant(mask.clone())).add(b.mul(tape.constant(mask.map(|m| 1.0 - m))))
}

/// Keras' `Maximum` / `Minimum` (`op`) with the spread masks `masks`: at each position the op
/// over the inputs real there (an input without a mask is real everywhere), and where none is,
/// the first input's value.
pub(super) fn masked_fold<'t>(
    xs: &[Var<'t>],
    masks: &[Option<Tensor>],
    op: impl Fn(Var<'t>, Var<'t>) -> Var<'t>,
) -> Var<'t> {
    let mut out = xs[0];
    let mut out_mask = masks[0].clone();
    for (&x, mask) in xs.iter().zip(masks).skip(1) {
        let x = mask.as_ref().map_or(x, |m| select(m, x, out));
        if let Some(m) = &out_mask {
            out = select(m, out, x);
        }
        out_mask = out_mask.zip(mask.as_ref()).map(|(a, b)| a.maximum(b));
        out = op(out, x);
    }
    out
}

/// Keras' `Multiply` with the spread masks `masks`: padded entries count as 1, and if every
/// input has a mask, the positions padded in all of them give 0.
pub(super) fn masked_product<'t>(xs: &[Var<'t>], masks: &[Option<Tensor>]) -> Var<'t> {
    let tape = xs[0].tape();
    let real = |(&x, mask): (&Var<'t>, &Option<Tensor>)| match mask {
        Some(m) => x.mul(tape.constant(m.clone())).add(tape.constant(m.map(|v| 1.0 - v))),
        None => x,
    };
    let product = xs.iter().zip(masks).map(real).reduce(Var::mul).expect("at least two inputs");
    match masks.iter().cloned().collect::<Option<Vec<Tensor>>>() {
        Some(all) => {
            let any = all.into_iter().reduce(|a, b| a.maximum(&b)).expect("at least two masks");
            product.mul(tape.constant(any))
        }
        None => product,
    }
}

/// Keras' `Concatenate` mask, if any input has one: each input's mask spread over the input's
/// whole shape (all ones for an input without a mask), joined along `axis` like the values,
/// then reduced by OR over the last axis. Along a middle axis this is the masks joined; along
/// the last axis, the OR of the masks (all real if one input has none).
pub(super) fn concatenated(inputs: &[Var<'_>], masks: &[Option<Tensor>], axis: usize) -> Option<Tensor> {
    if masks.iter().all(Option::is_none) {
        return None;
    }
    let full: Vec<Tensor> = inputs
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let shape = x.shape();
            match masks.get(i).and_then(Option::as_ref) {
                None => Tensor::ones(&shape),
                Some(m) if m.ndim() < shape.len() => m.unsqueeze(m.ndim()).broadcast_to(&shape),
                Some(m) => m.clone(),
            }
        })
        .collect();
    let last = full[0].ndim() - 1;
    Some(Tensor::concat(&full, axis).max_axes(&[last], false))
}
