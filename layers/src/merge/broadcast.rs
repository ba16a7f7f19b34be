//! Keras' broadcasting for the elementwise merges. The per-sample shapes of the inputs are
//! aligned on their last axes (an input of lower rank gains axes of size 1 just after the batch
//! axis, as Keras' `expand_dims(x, 1)`), then along each axis the sizes must be equal or 1, and
//! a size of 1 stretches to the other. An unknown size (`None`) is accepted against any other;
//! it gives the other size when that is known and not 1 (the only way the inputs can fit), and
//! stays unknown otherwise (Keras keeps every such axis unknown).

use crate::Shape;
use kensho_autograd::Var;

/// The per-sample output shape for inputs of per-sample shapes `inputs`, or `None` if they do
/// not broadcast together (or there are none).
pub(super) fn broadcast_shapes(inputs: &[Shape]) -> Option<Shape> {
    let rank = inputs.iter().map(Shape::rank).max()?;
    let mut out = vec![Some(1); rank];
    for shape in inputs {
        for (o, &d) in out[rank - shape.rank()..].iter_mut().zip(shape.dims()) {
            *o = combine(*o, d)?;
        }
    }
    Some(Shape::new(out))
}

/// The output size along one axis for sizes `a` and `b` (`None`: unknown): `Some(size)` if
/// they fit together, `None` if they do not.
fn combine(a: Option<usize>, b: Option<usize>) -> Option<Option<usize>> {
    match (a, b) {
        (Some(1), d) | (d, Some(1)) => Some(d),
        (Some(a), Some(b)) => (a == b).then_some(Some(a)),
        (None, d) | (d, None) => Some(d),
    }
}

/// `shape` (batch axis first) with axes of size 1 inserted after the batch axis up to `rank`.
pub(super) fn aligned_shape(shape: &[usize], rank: usize) -> Vec<usize> {
    let (batch, sample) = shape.split_at(shape.len().min(1));
    let ones = rank.saturating_sub(shape.len());
    batch.iter().copied().chain(std::iter::repeat_n(1, ones)).chain(sample.iter().copied()).collect()
}

/// `x` with axes of size 1 inserted after the batch axis up to `rank` (unchanged if it has
/// them already), so that NumPy's broadcasting then aligns it as Keras does.
pub(super) fn align<'t>(x: Var<'t>, rank: usize) -> Var<'t> {
    let shape = x.shape();
    if shape.len() >= rank {
        x
    } else {
        x.reshape(&aligned_shape(&shape, rank))
    }
}

/// The shape that aligned batched shapes of one rank broadcast to (they are known to fit: the
/// build checked them, and the op itself reports a size that only the data revealed).
pub(super) fn broadcast_dims<'a>(shapes: impl IntoIterator<Item = &'a [usize]>) -> Vec<usize> {
    shapes.into_iter().fold(Vec::new(), |out, s| {
        if out.is_empty() {
            return s.to_vec();
        }
        out.iter().zip(s).map(|(&o, &d)| if o == 1 { d } else { o }).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_align_on_the_last_axes_and_stretch_ones() {
        let s = |d: &[Option<usize>]| Shape::new(d.to_vec());
        let out = broadcast_shapes(&[s(&[Some(3), Some(1)]), s(&[Some(4)])]);
        assert_eq!(out, Some(s(&[Some(3), Some(4)])));
        // An unknown size takes a known size other than 1, and stays unknown against 1.
        let out = broadcast_shapes(&[s(&[None, None]), s(&[Some(5), Some(1)])]);
        assert_eq!(out, Some(s(&[Some(5), None])));
        assert_eq!(broadcast_shapes(&[s(&[Some(3)]), s(&[Some(4)])]), None);
        assert_eq!(aligned_shape(&[8, 4], 4), vec![8, 1, 1, 4]);
        assert_eq!(broadcast_dims([&[2, 1, 4][..], &[2, 3, 1]]), vec![2, 3, 4]);
    }
}
