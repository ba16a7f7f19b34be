//! Where `fit` and `evaluate` get their batches: in-memory tensors (with optional per-sample
//! weights) or any [`Dataset`], and the per-sample weights that class and sample weights give.

use kensho_core::{Error, Result, Tensor};
use kensho_data::Dataset;
use std::collections::HashMap;

/// A batch: inputs, targets, and optional per-sample loss weights.
pub(crate) type Batch = (Tensor, Tensor, Option<Tensor>);

/// A source of training or evaluation batches (one per `fit`, so its size does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Source<'a> {
    /// Rows of in-memory tensors.
    Tensors { x: Tensor, y: Tensor, weights: Option<Tensor> },
    /// Samples of a dataset, read on demand.
    Dataset(&'a dyn Dataset),
}

impl Source<'_> {
    /// The number of samples.
    pub(crate) fn len(&self) -> usize {
        match self {
            Source::Tensors { x, .. } => x.shape()[0],
            Source::Dataset(d) => d.len(),
        }
    }

    /// The samples at `indices`.
    pub(crate) fn batch(&self, indices: &[usize]) -> Result<Batch> {
        match self {
            Source::Tensors { x, y, weights } => Ok((
                x.index_select(0, indices),
                y.index_select(0, indices),
                weights.as_ref().map(|w| w.index_select(0, indices)),
            )),
            Source::Dataset(d) => {
                let (x, y) = d.batch(indices)?;
                Ok((x, y, None))
            }
        }
    }

    /// The rows `start..end` as a source of its own (used for `validation_split`).
    pub(crate) fn rows(&self, start: usize, end: usize) -> Source<'static> {
        match self {
            Source::Tensors { x, y, weights } => Source::Tensors {
                x: x.slice_axis(0, start, end),
                y: y.slice_axis(0, start, end),
                weights: weights.as_ref().map(|w| w.slice_axis(0, start, end)),
            },
            Source::Dataset(_) => unreachable!("validation_split on a dataset is rejected earlier"),
        }
    }
}

/// The class index of each target row: the value itself for `[n]` / `[n, 1]` labels, the argmax
/// for one-hot `[n, C]` rows.
fn class_of_rows(y: &Tensor) -> Vec<usize> {
    match y.shape() {
        [_, c] if *c > 1 => y.argmax(1).to_vec().iter().map(|&v| v as usize).collect(),
        _ => y.to_vec().iter().map(|&v| v.max(0.0).round() as usize).collect(),
    }
}

/// Per-sample loss weights from Keras' `class_weight` and `sample_weight`, multiplied together;
/// `None` when neither is given.
pub(crate) fn sample_weights(
    y: &Tensor,
    class_weight: Option<&HashMap<usize, f32>>,
    sample_weight: Option<&Tensor>,
) -> Result<Option<Tensor>> {
    let n = y.shape()[0];
    let mut weights = match sample_weight {
        None => None,
        Some(w) if w.len() == n => Some(w.reshape_to(&[n]).to_vec()),
        Some(w) => {
            return Err(Error::shape("fit: sample_weight", format!("one weight per sample, shape [{n}]"), w.shape()))
        }
    };
    if let Some(class_weight) = class_weight {
        let classes = class_of_rows(y);
        let w = weights.get_or_insert_with(|| vec![1.0; n]);
        for (wi, c) in w.iter_mut().zip(classes) {
            *wi *= class_weight.get(&c).copied().unwrap_or(1.0);
        }
    }
    match weights {
        Some(w) if w.iter().any(|v| !v.is_finite() || *v < 0.0) => {
            Err(Error::invalid("fit: sample or class weight", "a negative or non-finite weight", "weights >= 0"))
        }
        Some(w) => Ok(Some(Tensor::from_vec(w, &[n])?)),
        None => Ok(None),
    }
}
