//! Where `fit` and `evaluate` get their batches: in-memory tensors (with optional per-sample
//! weights) or a [`DataLoader`] over any dataset (which batches, shuffles and prefetches on its
//! own), and the per-sample weights that class and sample weights give.

use crate::parallel::shard_rows;
use kensho_core::{seeded_rng, Error, Result, Tensor};
use kensho_data::DataLoader;
use rand::seq::SliceRandom;
use smallvec::SmallVec;
use std::collections::HashMap;

/// A batch: one tensor per model input, one per output's targets, and optional per-sample
/// loss weights. In data-parallel training the inputs and weights may hold only this rank's
/// share of the rows (`local`), the targets always hold every row (for the metrics).
pub(crate) struct Batch {
    pub(crate) x: SmallVec<[Tensor; 1]>,
    pub(crate) y: SmallVec<[Tensor; 1]>,
    pub(crate) weights: Option<Tensor>,
    /// Whether `x` and `weights` hold only this rank's rows (see [`shard_rows`]).
    pub(crate) local: bool,
}

impl Batch {
    /// The number of samples (of the whole batch).
    pub(crate) fn rows(&self) -> usize {
        self.y[0].shape()[0]
    }

    /// This process's rows of the inputs and weights: rank `rank` of `size`'s share for a
    /// `shard`, unless they hold only those already; all of them without one.
    pub(crate) fn own_rows(&self, shard: Option<(usize, usize)>) -> (Vec<Tensor>, Option<Tensor>) {
        match shard.filter(|_| !self.local) {
            None => (self.x.to_vec(), self.weights.clone()),
            Some((rank, size)) => {
                let range = shard_rows(self.rows(), rank, size);
                let take = |t: &Tensor| t.slice_axis(0, range.start, range.end);
                (self.x.iter().map(take).collect(), self.weights.as_ref().map(take))
            }
        }
    }
}

impl From<kensho_data::Batch> for Batch {
    fn from(batch: kensho_data::Batch) -> Batch {
        Batch { x: batch.inputs.into(), y: batch.targets.into(), weights: None, local: false }
    }
}

/// A source of training or evaluation batches (one per `fit`, so its size does not matter).
#[allow(clippy::large_enum_variant)]
pub(crate) enum Source<'a> {
    /// Rows of in-memory tensors (one per model input, one per model output).
    Tensors { x: Vec<Tensor>, y: Vec<Tensor>, weights: Option<Tensor> },
    /// Batches of a data loader, read on demand (possibly prefetched on a worker thread).
    Loader(&'a DataLoader),
}

impl Source<'_> {
    /// The number of samples.
    pub(crate) fn len(&self) -> usize {
        match self {
            Source::Tensors { x, .. } => x[0].shape()[0],
            Source::Loader(loader) => loader.dataset().len(),
        }
    }

    /// The number of batches in one epoch.
    pub(crate) fn steps(&self, batch_size: usize) -> usize {
        match self {
            Source::Tensors { .. } => self.len().div_ceil(batch_size),
            Source::Loader(loader) => loader.num_batches(),
        }
    }

    /// The first sample alone (to build the model and check the targets).
    pub(crate) fn first(&self) -> Result<Batch> {
        match self {
            Source::Tensors { .. } => self.epoch(None, 1, None).next().expect("a non-empty source"),
            Source::Loader(loader) => loader.dataset().batch(&[0]).map(Batch::from),
        }
    }

    /// The batches of one epoch. For tensors, `shuffle_seed` shuffles the samples first; a
    /// loader batches and shuffles by its own settings, its order a function of `epoch`.
    /// With `shard` (rank, number of ranks), tensors give each batch's inputs and weights for
    /// the rank's rows only (a loader's batches stay whole).
    pub(crate) fn epoch(
        &self,
        shuffle_seed: Option<u64>,
        batch_size: usize,
        shard: Option<(usize, usize)>,
    ) -> Box<dyn Iterator<Item = Result<Batch>> + '_> {
        match self {
            Source::Tensors { x, y, weights } => {
                let mut order: Vec<usize> = (0..x[0].shape()[0]).collect();
                if let Some(seed) = shuffle_seed {
                    order.shuffle(&mut seeded_rng(seed));
                }
                let chunks: Vec<Vec<usize>> = order.chunks(batch_size).map(<[usize]>::to_vec).collect();
                Box::new(chunks.into_iter().map(move |indices| {
                    let mine = match shard {
                        Some((rank, size)) => &indices[shard_rows(indices.len(), rank, size)],
                        None => &indices[..],
                    };
                    Ok(Batch {
                        x: x.iter().map(|t| t.index_select(0, mine)).collect(),
                        y: y.iter().map(|t| t.index_select(0, &indices)).collect(),
                        weights: weights.as_ref().map(|w| w.index_select(0, mine)),
                        local: shard.is_some(),
                    })
                }))
            }
            Source::Loader(loader) => {
                let epoch = shuffle_seed.unwrap_or(0) as usize;
                Box::new(loader.epoch(epoch).map(|batch| batch.map(Batch::from)))
            }
        }
    }

    /// The rows `start..end` as a source of its own (used for `validation_split`).
    pub(crate) fn rows(&self, start: usize, end: usize) -> Source<'static> {
        match self {
            Source::Tensors { x, y, weights } => Source::Tensors {
                x: x.iter().map(|t| t.slice_axis(0, start, end)).collect(),
                y: y.iter().map(|t| t.slice_axis(0, start, end)).collect(),
                weights: weights.as_ref().map(|w| w.slice_axis(0, start, end)),
            },
            Source::Loader(_) => unreachable!("validation_split on a loader is rejected earlier"),
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
