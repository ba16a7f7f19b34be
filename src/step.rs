//! The train step: forward, loss, backward and optimizer update on one batch.
//!
//! With several kernel threads and a batch large enough, the batch is split into one shard per
//! thread: each shard runs its forward and backward on its own tape at the same time, its loss
//! scaled by its share of the batch, and the gradients are added in shard order before the one
//! optimizer update. The sum is the full batch's gradient (up to float rounding; the result is
//! the same for every run with the same thread count, and on one thread nothing is split).

use crate::compile::{shard_loss, Compiled};
use crate::Sequential;
use kensho_autograd::{Grads, Tape};
use kensho_core::{seeded_rng, Error, Result, Tensor};
use kensho_layers::{Ctx, Layer, Loss};
use rayon::prelude::*;

/// The result of one train step.
#[derive(Clone, Debug)]
pub struct StepOutput {
    /// The batch's loss (including regularization penalties).
    pub loss: f32,
    /// The model's output for the batch (in training mode).
    pub y_pred: Tensor,
}

/// Batches are split only into shards of at least this many rows.
const MIN_SHARD_ROWS: usize = 32;

/// What one shard of a batch gives back.
struct Shard {
    grads: Grads,
    loss: f32,
    y_pred: Tensor,
}

/// One batch (or one shard of it) through the layers and back, on its own tape.
struct ShardJob<'a> {
    layers: &'a [Box<dyn Layer>],
    loss: &'a dyn Loss,
    batch_rows: usize,
}

impl ShardJob<'_> {
    fn run(&self, x: &Tensor, y: &Tensor, weights: Option<&Tensor>, with_penalties: bool, seed: u64) -> Shard {
        let tape = Tape::new();
        let cx = Ctx::new(&tape, true, seeded_rng(seed));
        let prediction = crate::sequential::forward_layers(self.layers, tape.constant(x.clone()), &cx);
        let total = shard_loss(self.layers, self.loss, &prediction, y, weights, self.batch_rows, with_penalties);
        Shard { grads: tape.backward(total), loss: total.value().item(), y_pred: prediction.output.value() }
    }
}

/// How many shards a batch of `rows` is split into.
fn shard_count(rows: usize, layers: &[Box<dyn Layer>]) -> usize {
    let threads = kensho_core::num_threads();
    if threads <= 1 || rows < 2 * MIN_SHARD_ROWS || !layers.iter().all(|l| l.per_sample()) {
        return 1;
    }
    threads.min(rows / MIN_SHARD_ROWS)
}

/// Gradients with fewer elements than this are added on the calling thread.
const PARALLEL_ADD_MIN: usize = 1 << 16;

/// `acc += g`, elementwise, split across the kernel threads for large tensors.
fn add_into(acc: &mut Tensor, g: &Tensor) {
    let (acc, g) = (acc.as_mut_slice(), g.to_contiguous());
    let g = g.as_slice().expect("contiguous");
    let add = |(a, b): (&mut [f32], &[f32])| a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
    if acc.len() < PARALLEL_ADD_MIN {
        return add((acc, g));
    }
    let chunk = acc.len().div_ceil(kensho_core::num_threads());
    kensho_core::threads::pool().install(|| acc.par_chunks_mut(chunk).zip(g.par_chunks(chunk)).for_each(add));
}

/// Adds the shards' gradients in shard order into the first shard's.
fn sum_grads(shards: &mut [Shard]) -> Grads {
    let (first, rest) = shards.split_first_mut().expect("at least one shard");
    let mut grads = std::mem::take(&mut first.grads);
    for shard in rest {
        for (id, g) in shard.grads.iter() {
            match grads.get_mut(id) {
                Some(acc) => add_into(acc, g),
                None => grads.insert(id, g.clone()),
            }
        }
    }
    grads
}

impl Sequential {
    /// One gradient step on a batch, for custom training loops: forward in training mode, loss
    /// (weighted by `sample_weight` and averaged over the batch, plus regularization penalties),
    /// backward, optimizer update. `seed` drives dropout.
    ///
    /// # Errors
    /// If the model is not compiled or built, or the batch does not fit the model and the loss
    /// (shapes, label range, one weight per sample).
    pub fn train_step(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        sample_weight: Option<&Tensor>,
        seed: u64,
    ) -> Result<StepOutput> {
        self.check_input(x, "train_step")?;
        self.check_targets("train_step", x, y)?;
        if let Some(w) = sample_weight.filter(|w| w.shape() != [x.shape()[0]]) {
            return Err(Error::shape(
                "train_step: sample_weight",
                format!("[{}], one per sample", x.shape()[0]),
                w.shape(),
            ));
        }
        self.train_step_unchecked(x, y, sample_weight, seed)
    }

    /// [`Sequential::train_step`] on a batch that `fit` has already checked.
    pub(crate) fn train_step_unchecked(
        &mut self,
        x: &Tensor,
        y: &Tensor,
        sample_weight: Option<&Tensor>,
        seed: u64,
    ) -> Result<StepOutput> {
        let compiled = self.compiled("train_step")?;
        let rows = x.shape()[0];
        let job = ShardJob { layers: self.layers(), loss: compiled.loss.as_ref(), batch_rows: rows };
        let shards = shard_count(rows, self.layers());
        let mut results: Vec<Shard> = if shards == 1 {
            vec![job.run(x, y, sample_weight, true, seed)]
        } else {
            let bounds: Vec<(usize, usize)> =
                (0..shards).map(|s| (s * rows / shards, (s + 1) * rows / shards)).collect();
            kensho_core::threads::pool().install(|| {
                bounds
                    .par_iter()
                    .enumerate()
                    .map(|(s, &(start, end))| {
                        let rows_of = |t: &Tensor| t.slice_axis(0, start, end);
                        let w = sample_weight.map(rows_of);
                        let shard_seed = seed ^ (s as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                        job.run(&rows_of(x), &rows_of(y), w.as_ref(), s == 0, shard_seed)
                    })
                    .collect()
            })
        };
        let grads = sum_grads(&mut results);
        let loss = results.iter().map(|s| s.loss).sum();
        let y_pred = match results.len() {
            1 => results.pop().expect("one shard").y_pred,
            _ => Tensor::concat(&results.iter().map(|s| s.y_pred.clone()).collect::<Vec<_>>(), 0),
        };
        let compiled = self.compiled.take().expect("checked");
        let mut optimizer = compiled.optimizer;
        optimizer.step(&mut self.params_mut(), &grads);
        self.compiled = Some(Compiled { optimizer, ..compiled });
        Ok(StepOutput { loss, y_pred })
    }
}
