//! [`DataLoader`]: mini-batches over a [`Dataset`], shuffled per epoch (reproducibly), with an
//! optional background prefetch so that the model never waits on I/O.

use std::sync::mpsc::{sync_channel, Receiver};
use std::sync::Arc;
use std::thread::JoinHandle;

use kensho_core::{seeded_rng, Error, Result};
use rand::seq::SliceRandom;

use crate::{Batch, Dataset};

/// Splits a [`Dataset`] into mini-batches, epoch after epoch.
///
/// * `shuffle(seed)`: each epoch visits the items in a different order, derived from `seed` and
///   the epoch number, so epoch 3 of a run is the same in every run with that seed (Keras
///   `shuffle=True`, made reproducible).
/// * `drop_last(true)`: skip the last batch when it is smaller than `batch_size`
///   (PyTorch `drop_last`); by default it is kept, as in Keras.
/// * `prefetch(n)`: a worker thread prepares up to `n` batches ahead through a bounded channel;
///   the batches are exactly the same as without prefetching.
///
/// Each epoch yields `Result<`[`Batch`]`>`: one tensor per model input in `batch.inputs`, one per
/// model output in `batch.targets`.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::{DataLoader, TensorDataset};
/// let x = Tensor::from_vec((0..10).map(|v| v as f32).collect(), &[10, 1])?;
/// let ds = TensorDataset::new(x, Tensor::zeros(&[10]))?;
/// let loader = DataLoader::new(ds, 4)?.shuffle(7).prefetch(2);
/// let sizes: Vec<usize> = loader.epoch(0).map(|b| b.map(|batch| batch.rows())).collect::<Result<_, _>>()?;
/// assert_eq!(sizes, vec![4, 4, 2]);
/// for batch in loader.epoch(1) {
///     let batch = batch?;
///     let (x, y) = (&batch.inputs[0], &batch.targets[0]);
///     assert_eq!(x.shape()[0], y.shape()[0]);
/// }
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone)]
pub struct DataLoader {
    dataset: Arc<dyn Dataset>,
    batch_size: usize,
    seed: Option<u64>,
    drop_last: bool,
    prefetch: usize,
}

impl std::fmt::Debug for DataLoader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DataLoader")
            .field("len", &self.dataset.len())
            .field("batch_size", &self.batch_size)
            .field("seed", &self.seed)
            .field("drop_last", &self.drop_last)
            .field("prefetch", &self.prefetch)
            .finish()
    }
}

impl DataLoader {
    /// Batches of `batch_size` items of `dataset`, in order, no prefetch.
    ///
    /// # Errors
    /// `batch_size == 0`.
    pub fn new(dataset: impl Dataset + 'static, batch_size: usize) -> Result<Self> {
        Self::from_arc(Arc::new(dataset), batch_size)
    }

    /// Like [`DataLoader::new`], for a data set that is already shared.
    ///
    /// # Errors
    /// `batch_size == 0`.
    pub fn from_arc(dataset: Arc<dyn Dataset>, batch_size: usize) -> Result<Self> {
        if batch_size == 0 {
            return Err(Error::invalid("DataLoader: batch_size", 0, "a batch size of at least 1"));
        }
        Ok(DataLoader { dataset, batch_size, seed: None, drop_last: false, prefetch: 0 })
    }

    /// Shuffle the items at every epoch, reproducibly from `seed` and the epoch number.
    pub fn shuffle(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Drop the last, incomplete batch of each epoch (`false` by default).
    pub fn drop_last(mut self, drop_last: bool) -> Self {
        self.drop_last = drop_last;
        self
    }

    /// Prepare up to `batches` batches ahead on a worker thread (`0`, the default, disables it).
    pub fn prefetch(mut self, batches: usize) -> Self {
        self.prefetch = batches;
        self
    }

    /// The data set being batched.
    pub fn dataset(&self) -> &Arc<dyn Dataset> {
        &self.dataset
    }

    /// The batch size.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The number of batches in one epoch.
    pub fn num_batches(&self) -> usize {
        let n = self.dataset.len();
        if self.drop_last {
            n / self.batch_size
        } else {
            n.div_ceil(self.batch_size)
        }
    }

    /// The order in which `epoch` visits the items: `0..len` unshuffled, otherwise a
    /// permutation that depends only on the seed and `epoch`.
    pub fn order(&self, epoch: usize) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.dataset.len()).collect();
        if let Some(seed) = self.seed {
            // Mix the epoch in with an odd constant so that (seed, epoch) pairs rarely collide.
            let mixed = seed ^ (epoch as u64).wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            order.shuffle(&mut seeded_rng(mixed));
        }
        order
    }

    /// The batches of epoch number `epoch` (counting from 0), as `Result<Batch>` items.
    ///
    /// Iteration ends after the first error (a batch that could not be read).
    pub fn epoch(&self, epoch: usize) -> Batches {
        let order = self.order(epoch);
        let chunks: Vec<Vec<usize>> =
            order.chunks(self.batch_size).take(self.num_batches()).map(|c| c.to_vec()).collect();
        let remaining = chunks.len();
        let dataset = Arc::clone(&self.dataset);
        if self.prefetch == 0 {
            return Batches { remaining, source: Source::Direct { dataset, chunks: chunks.into_iter() } };
        }
        let (tx, rx) = sync_channel(self.prefetch);
        let worker = std::thread::spawn(move || {
            for chunk in chunks {
                let batch = dataset.batch(&chunk);
                let failed = batch.is_err();
                if tx.send(batch).is_err() || failed {
                    break; // the consumer hung up, or the error was delivered
                }
            }
        });
        Batches { remaining, source: Source::Prefetch { rx: Some(rx), worker: Some(worker) } }
    }
}

enum Source {
    Direct { dataset: Arc<dyn Dataset>, chunks: std::vec::IntoIter<Vec<usize>> },
    Prefetch { rx: Option<Receiver<Result<Batch>>>, worker: Option<JoinHandle<()>> },
}

/// The batches of one epoch of a [`DataLoader`]; each item is a `Result<`[`Batch`]`>`.
pub struct Batches {
    remaining: usize,
    source: Source,
}

impl Iterator for Batches {
    type Item = Result<Batch>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.remaining == 0 {
            return None;
        }
        let batch = match &mut self.source {
            Source::Direct { dataset, chunks } => dataset.batch(&chunks.next()?),
            Source::Prefetch { rx, .. } => match rx.as_ref()?.recv() {
                Ok(batch) => batch,
                Err(_) => {
                    Err(Error::invalid("DataLoader prefetch worker", "stopped early", "a worker that did not panic"))
                }
            },
        };
        self.remaining = if batch.is_err() { 0 } else { self.remaining - 1 };
        Some(batch)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl ExactSizeIterator for Batches {}

impl Drop for Batches {
    fn drop(&mut self) {
        if let Source::Prefetch { rx, worker } = &mut self.source {
            drop(rx.take()); // unblocks a worker waiting to send
            if let Some(worker) = worker.take() {
                let _ = worker.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{StreamDataset, TensorDataset};
    use kensho_core::Tensor;

    fn numbered(n: usize) -> TensorDataset {
        let x = Tensor::from_vec((0..n).map(|v| v as f32).collect(), &[n, 1]).unwrap();
        TensorDataset::new(x.clone(), x.reshape_to(&[n])).unwrap()
    }

    fn epoch_items(loader: &DataLoader, epoch: usize) -> Vec<Vec<f32>> {
        loader.epoch(epoch).map(|b| b.unwrap().inputs[0].to_vec()).collect()
    }

    #[test]
    fn unshuffled_batches_cover_items_in_order_and_keep_the_last() {
        let loader = DataLoader::new(numbered(7), 3).unwrap();
        assert_eq!(epoch_items(&loader, 0), vec![vec![0., 1., 2.], vec![3., 4., 5.], vec![6.]]);
        assert_eq!(loader.num_batches(), 3);
        let dropped = loader.drop_last(true);
        assert_eq!(epoch_items(&dropped, 0), vec![vec![0., 1., 2.], vec![3., 4., 5.]]);
        assert_eq!(dropped.epoch(0).len(), 2);
    }

    #[test]
    fn shuffle_is_a_permutation_different_per_epoch_and_reproducible() {
        let loader = DataLoader::new(numbered(50), 8).unwrap().shuffle(42);
        let e0: Vec<f32> = epoch_items(&loader, 0).concat();
        let e1: Vec<f32> = epoch_items(&loader, 1).concat();
        assert_ne!(e0, e1);
        assert_ne!(e0, (0..50).map(|v| v as f32).collect::<Vec<_>>());
        let mut sorted = e0.clone();
        sorted.sort_by(f32::total_cmp);
        assert_eq!(sorted, (0..50).map(|v| v as f32).collect::<Vec<_>>());
        let again = DataLoader::new(numbered(50), 8).unwrap().shuffle(42);
        assert_eq!(epoch_items(&again, 1).concat(), e1);
        let other_seed = DataLoader::new(numbered(50), 8).unwrap().shuffle(43);
        assert_ne!(epoch_items(&other_seed, 0).concat(), e0);
    }

    #[test]
    fn prefetch_yields_exactly_the_same_batches() {
        let base = DataLoader::new(numbered(101), 10).unwrap().shuffle(3);
        for prefetch in [1, 2, 5] {
            let pre = base.clone().prefetch(prefetch);
            for epoch in 0..3 {
                let a: Vec<_> = base.epoch(epoch).map(|b| b.unwrap()).collect();
                let b: Vec<_> = pre.epoch(epoch).map(|b| b.unwrap()).collect();
                assert_eq!(a.len(), b.len());
                for (ba, bb) in a.iter().zip(&b) {
                    assert_eq!((ba.inputs.len(), ba.targets.len()), (bb.inputs.len(), bb.targets.len()));
                    for (ta, tb) in ba.inputs.iter().chain(&ba.targets).zip(bb.inputs.iter().chain(&bb.targets)) {
                        assert_eq!(ta.to_vec(), tb.to_vec());
                    }
                }
            }
        }
    }

    #[test]
    fn dropping_a_prefetching_epoch_early_does_not_hang() {
        let loader = DataLoader::new(numbered(1000), 1).unwrap().prefetch(2);
        let mut batches = loader.epoch(0);
        assert!(batches.next().unwrap().is_ok());
        drop(batches); // joins the worker, which must see the closed channel
    }

    #[test]
    fn a_failing_item_ends_the_epoch_with_its_error_in_both_modes() {
        let ds = StreamDataset::new(10, &[1], &[], |i| {
            if i == 5 {
                Err(Error::parse("items.bin", "item 5 is corrupt"))
            } else {
                Ok((vec![i as f32], vec![0.0]))
            }
        });
        for prefetch in [0, 2] {
            let loader = DataLoader::new(ds.clone(), 2).unwrap().prefetch(prefetch);
            let results: Vec<_> = loader.epoch(0).collect();
            assert_eq!(results.len(), 3, "prefetch {prefetch}");
            assert!(results[2].as_ref().unwrap_err().to_string().contains("item 5 is corrupt"));
        }
    }

    #[test]
    fn every_input_and_target_of_a_batch_follows_the_same_order() {
        let n = 23;
        let a = Tensor::from_vec((0..n).map(|v| v as f32).collect(), &[n]).unwrap();
        let b = Tensor::from_vec((0..2 * n).map(|v| -(v as f32)).collect(), &[n, 2]).unwrap();
        let c = Tensor::from_vec((0..3 * n).map(|v| v as f32 * 0.5).collect(), &[n, 3, 1]).unwrap();
        let ds = TensorDataset::from_lists(vec![a.clone(), b.clone()], vec![c.clone(), a.clone()]).unwrap();
        for prefetch in [0, 2] {
            let loader = DataLoader::new(ds.clone(), 5).unwrap().shuffle(9).prefetch(prefetch);
            let order = loader.order(1);
            let batches: Vec<Batch> = loader.epoch(1).map(|b| b.unwrap()).collect();
            assert_eq!(batches.len(), 5);
            for (batch, chunk) in batches.iter().zip(order.chunks(5)) {
                assert_eq!(batch.rows(), chunk.len());
                let expected = [&a, &b, &c, &a].map(|t| t.index_select(0, chunk).to_vec());
                let got: Vec<Vec<f32>> = batch.inputs.iter().chain(&batch.targets).map(Tensor::to_vec).collect();
                assert_eq!(got, expected);
            }
        }
    }

    #[test]
    fn zero_batch_size_is_an_error() {
        assert!(DataLoader::new(numbered(3), 0).is_err());
    }
}
