//! The train step: forward, loss, backward, gradient reduction, optimizer update and state
//! updates on one batch.
//!
//! A batch large enough is split into shards: each shard runs its forward and backward on its
//! own tape (side by side on the kernel threads), its loss scaled by its share of the batch, and
//! the gradients are added in shard order before the one optimizer update. The sum is the full
//! batch's gradient up to float rounding. By default there is one shard per thread (and none on
//! one thread), repeatable bit for bit for a given thread count; in the deterministic mode (see
//! [`kensho_core::set_deterministic`]) the shards depend on the batch size alone, so the weights
//! are the same bits on any number of threads. A model with a layer that makes
//! masks is not split (the divisor of its loss, the mask's sum, is only known for the whole
//! batch), nor one with a layer that needs the whole batch.
//!
//! Between backward and the optimizer the gradients, laid out in parameter order, pass through
//! the model's [`GradientReducer`](crate::GradientReducer). State updates recorded by the
//! forward pass (moving statistics) are applied after the optimizer step; with several shards,
//! their values are averaged.

use crate::compile::LossParts;
use crate::graph::Graph;
use crate::parallel::gather::{gather_figures, sum_losses, StepFigures};
use crate::parallel::{average_updates, shard_rows, CommunicatorSum};
use crate::Model;
use kensho_autograd::{GradientReady, Grads, ParamId, Tape, Var};
use kensho_core::{seeded_rng, Error, Result, Tensor};
use kensho_layers::{apply_state_updates, Ctx, Layer, Replicas, StateUpdate};
use rayon::prelude::*;
use smallvec::SmallVec;
use std::sync::Arc;

/// The result of one train step.
#[derive(Clone, Debug)]
pub struct StepOutput {
    /// The batch's loss (including regularization penalties).
    pub loss: f32,
    /// The model's outputs for the batch (in training mode), one per model output.
    pub outputs: Vec<Tensor>,
    /// With several outputs, each output's weighted loss (they add up to `loss` without the
    /// penalties); empty for one output.
    pub output_losses: Vec<f32>,
}

impl StepOutput {
    /// The first (for most models the only) output.
    pub fn y_pred(&self) -> &Tensor {
        &self.outputs[0]
    }
}

/// Batches are split only into shards of at least this many rows.
const MIN_SHARD_ROWS: usize = 32;

/// In the deterministic mode (see [`kensho_core::set_deterministic`]), the most shards a batch
/// is split into, whatever the thread count.
const DETERMINISTIC_SHARDS: usize = 2;

/// What one shard of a batch gives back.
struct Shard {
    grads: Grads,
    loss: f32,
    output_losses: SmallVec<[f32; 2]>,
    outputs: Vec<Tensor>,
    updates: Vec<StateUpdate>,
}

/// One batch (or one shard of it) through the model and back, on its own tape.
struct ShardJob<'a> {
    graph: &'a Graph,
    loss: LossParts<'a>,
    /// The other ranks of data-parallel training, for layers that sum statistics across them.
    replicas: Option<Replicas>,
}

impl ShardJob<'_> {
    fn run(
        &self,
        x: &[Tensor],
        y: &[Tensor],
        weights: Option<&Tensor>,
        with_penalties: bool,
        seed: u64,
        ready: Option<GradientReady<'_>>,
    ) -> Shard {
        let tape = Tape::new();
        let cx = Ctx::new(&tape, true, seeded_rng(seed)).with_replicas(self.replicas.clone());
        let inputs: SmallVec<[Var<'_>; 2]> = x.iter().map(|t| tape.constant(t.clone())).collect();
        let outputs = self.graph.run(&inputs, &cx);
        let parts = LossParts { with_penalties: with_penalties && self.loss.with_penalties, ..self.loss.clone() };
        let (total, output_losses) = parts.share(&outputs, y, weights);
        let loss = total.value().item();
        let outputs: Vec<Tensor> = outputs.iter().map(|(v, _)| v.value()).collect();
        let grads = tape.backward_with(total, ready);
        Shard { grads, loss, output_losses, outputs, updates: cx.take_updates() }
    }
}

/// How many shards a batch of `rows` is split into: in the deterministic mode a function of
/// `rows` alone, so that the gradient sums are rounded the same on any number of threads;
/// otherwise one shard per thread.
fn shard_count(rows: usize, layers: &[Box<dyn Layer>]) -> usize {
    let whole_batch = layers.iter().any(|l| !l.per_sample() || l.makes_mask());
    if rows < 2 * MIN_SHARD_ROWS || whole_batch {
        return 1;
    }
    let most = if kensho_core::deterministic() { DETERMINISTIC_SHARDS } else { kensho_core::num_threads() };
    most.min(rows / MIN_SHARD_ROWS)
}

/// Adds the shards' gradients in shard order into the first shard's.
fn sum_grads(shards: &mut [Shard]) -> Grads {
    let (first, rest) = shards.split_first_mut().expect("at least one shard");
    let mut grads = std::mem::take(&mut first.grads);
    for shard in rest {
        for (id, g) in shard.grads.iter() {
            match grads.get_mut(id) {
                Some(acc) => acc.add_assign(g),
                None => grads.insert(id, g.clone()),
            }
        }
    }
    grads
}

/// The shards' state updates: each state's values averaged over the shards that updated it.
fn merge_updates(shards: &mut [Shard]) -> Vec<StateUpdate> {
    let mut merged: Vec<(StateUpdate, usize)> = Vec::new();
    for update in shards.iter_mut().flat_map(|s| std::mem::take(&mut s.updates)) {
        match merged.iter_mut().find(|(m, _)| m.id == update.id) {
            Some((m, count)) => {
                m.value.add_assign(&update.value);
                *count += 1;
            }
            None => merged.push((update, 1)),
        }
    }
    merged
        .into_iter()
        .map(|(mut m, count)| {
            if count > 1 {
                m.value = m.value.mul_scalar(1.0 / count as f32);
            }
            m
        })
        .collect()
}

impl Model {
    /// One gradient step on a batch of a one-input, one-output model, for custom training
    /// loops: forward in training mode, loss (weighted by `sample_weight` and averaged over the
    /// batch, plus regularization penalties), backward, optimizer update, state updates.
    /// `seed` drives dropout.
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
        let (x, y) = (std::slice::from_ref(x), std::slice::from_ref(y));
        self.check_input(x, "train_step")?;
        self.check_targets("train_step", x, y)?;
        let rows = x[0].shape()[0];
        if let Some(w) = sample_weight.filter(|w| w.shape() != [rows]) {
            return Err(Error::shape("train_step: sample_weight", format!("[{rows}], one per sample"), w.shape()));
        }
        // In data-parallel training the batch is the global one: this rank trains on its rows,
        // and the loss and outputs returned are the whole batch's.
        let Some(comm) = self.communicator() else {
            return self.train_step_local(x, y, sample_weight, seed, true, false);
        };
        let range = shard_rows(rows, comm.rank(), comm.size());
        let take = |t: &Tensor| t.slice_axis(0, range.start, range.end);
        self.train_step_local(&[take(&x[0])], y, sample_weight.map(take).as_ref(), seed, true, false)
    }

    /// The train step on this process's rows `x` (and their weights) of a batch whose targets
    /// are all of `y`: in one process the whole batch, in data-parallel training this rank's
    /// share (see [`shard_rows`]). The loss returned is the whole batch's; so are the outputs
    /// if `gather_outputs` (metrics need them), otherwise they are this rank's rows only. With
    /// `may_shard` (inside `fit`, which makes the optimizer state whole after each epoch), the
    /// data-parallel step may be sharded (see [`GradientReducer::shard_step`]).
    pub(crate) fn train_step_local(
        &mut self,
        x: &[Tensor],
        y: &[Tensor],
        sample_weight: Option<&Tensor>,
        seed: u64,
        gather_outputs: bool,
        may_shard: bool,
    ) -> Result<StepOutput> {
        let rows = y[0].shape()[0];
        let Some(comm) = self.communicator() else {
            let mine = self.step_on_rows(x, y, sample_weight, seed, rows, true, false)?;
            return Ok(StepOutput { loss: mine.loss, outputs: mine.outputs, output_losses: mine.output_losses });
        };
        let (rank, range) = (comm.rank(), shard_rows(rows, comm.rank(), comm.size()));
        let ys: Vec<Tensor> = y.iter().map(|t| t.slice_axis(0, range.start, range.end)).collect();
        let rank_seed = seed ^ (rank as u64).wrapping_mul(0xD1B5_4A32_D192_ED03);
        let mine = self.step_on_rows(x, &ys, sample_weight, rank_seed, rows, rank == 0, may_shard)?;
        let all = match gather_outputs {
            true => gather_figures(&*comm, &mine, y.len())?,
            false => sum_losses(&*comm, mine)?,
        };
        Ok(StepOutput { loss: all.loss, outputs: all.outputs, output_losses: all.output_losses })
    }

    /// The train step on `x`, rows of a batch of `batch_rows` rows (all of them in one
    /// process; this rank's share in data-parallel training, possibly none): the loss is this
    /// share of the batch's loss, with the penalties if `with_penalties`. The optimizer step is
    /// sharded if `may_shard` and the reducer and the optimizer allow it.
    #[allow(clippy::too_many_arguments)]
    fn step_on_rows(
        &mut self,
        x: &[Tensor],
        y: &[Tensor],
        sample_weight: Option<&Tensor>,
        seed: u64,
        batch_rows: usize,
        with_penalties: bool,
        may_shard: bool,
    ) -> Result<StepFigures> {
        self.compiled("train_step")?;
        let elementwise = self.compiled.as_ref().is_some_and(|c| c.optimizer.updates_elementwise());
        let sharded_step = self.reducer.as_mut().and_then(|r| r.shard_step(may_shard && elementwise));
        // Training allocates and frees the same buffers every step: keep them for reuse.
        kensho_core::keep_freed_buffers();
        let rows = x[0].shape()[0];
        // Borrowed field by field: the reducer is used mutably while the graph runs.
        let compiled_heads = &self.compiled.as_ref().expect("checked above").heads;
        let loss = LossParts { with_penalties, ..LossParts::new(&self.graph.layers, compiled_heads, batch_rows) };
        let heads = compiled_heads.len();
        // The reducer's layout of the gradients (none is made when training alone).
        let trainable: Vec<(ParamId, usize)> = match self.reducer {
            Some(_) => self.params().iter().filter(|p| p.trainable).map(|p| (p.id(), p.value.len())).collect(),
            None => Vec::new(),
        };
        let mut early_error = None;
        let replicas = self.communicator().map(|comm| Arc::new(CommunicatorSum(comm)) as Replicas);
        let job = ShardJob { graph: &self.graph, loss, replicas };
        let mut shards = match (rows, shard_count(rows, &self.graph.layers), self.reducer.as_mut()) {
            (0, ..) => SmallVec::new(),
            (_, 1, Some(reducer)) => {
                // One piece: hand each gradient to the reducer as soon as backward finishes it.
                let sizes: Vec<usize> = trainable.iter().map(|&(_, n)| n).collect();
                reducer.begin(&sizes)?;
                let mut ready = |id: ParamId, grad: &Tensor| {
                    if let Some(index) = trainable.iter().position(|&(p, _)| p == id)
                        && let Err(e) = reducer.gradient_ready(index, grad)
                    {
                        early_error.get_or_insert(e);
                    }
                };
                smallvec::smallvec![job.run(x, y, sample_weight, true, seed, Some(&mut ready))]
            }
            (_, 1, None) => smallvec::smallvec![job.run(x, y, sample_weight, true, seed, None)],
            (_, count, _) => run_shards(&job, count, x, y, sample_weight, seed),
        };
        drop(job);
        if let Some(e) = early_error {
            return Err(e);
        }
        let grads = sum_grads(&mut shards);
        let updates = merge_updates(&mut shards);
        let loss = shards.iter().map(|s| s.loss).sum();
        // With several outputs, each output's loss (none are reported for a single output).
        let per_output = if heads > 1 { heads } else { 0 };
        let output_losses: Vec<f32> =
            (0..per_output).map(|o| shards.iter().map(|s| s.output_losses[o]).sum()).collect();
        let outputs = match shards.len() {
            0 => Vec::new(),
            1 => shards.pop().expect("one shard").outputs,
            _ => (0..shards[0].outputs.len())
                .map(|o| Tensor::concat(&shards.iter().map(|s| s.outputs[o].clone()).collect::<Vec<_>>(), 0))
                .collect(),
        };
        let grads = self.reduce_gradients(grads)?;
        let updates = match self.communicator() {
            Some(comm) => {
                let states: Vec<&kensho_autograd::Param> = self.layers().iter().flat_map(|l| l.state()).collect();
                average_updates(&*comm, &states, updates)?
            }
            None => updates,
        };
        let mut compiled = self.compiled.take().expect("checked");
        match sharded_step {
            // This rank's share of each parameter, then every rank's shares to every rank.
            Some((rank, ranks)) => {
                let part = |len| shard_rows(len, rank, ranks);
                compiled.optimizer.step_part(&mut self.params_mut(), &grads, &part);
                self.compiled = Some(compiled);
                self.optimizer_state_sharded = true;
                self.gather_weights()?;
            }
            None => {
                compiled.optimizer.step(&mut self.params_mut(), &grads);
                self.compiled = Some(compiled);
            }
        }
        for layer in &mut self.graph.layers {
            apply_state_updates(layer.state_mut(), &updates);
        }
        Ok(StepFigures { loss, outputs, output_losses })
    }

    /// Makes every trainable parameter whole on every rank after a sharded step, each rank
    /// holding the updated values of its share.
    fn gather_weights(&mut self) -> Result<()> {
        let mut values: Vec<Tensor> = self
            .params_mut()
            .into_iter()
            .filter(|p| p.trainable)
            .map(|p| std::mem::replace(&mut p.value, Tensor::zeros(&[0])))
            .collect();
        self.reducer.as_mut().expect("a sharded step has a reducer").gather_shares(&mut values)?;
        for (p, value) in self.params_mut().into_iter().filter(|p| p.trainable).zip(values) {
            p.value = value;
        }
        Ok(())
    }

    /// Makes the optimizer state whole on every rank after sharded steps (each rank updated
    /// only its share of each slot): `fit` calls it at the end of each epoch, before the
    /// callbacks, so checkpoints and later steps see the whole state.
    pub(crate) fn gather_optimizer_state(&mut self) -> Result<()> {
        if !std::mem::take(&mut self.optimizer_state_sharded) {
            return Ok(());
        }
        let compiled = self.compiled.as_ref().expect("a sharded step ran, so the model is compiled");
        let params = self.params();
        let trainable = params.iter().filter(|p| p.trainable).count();
        let mut state = compiled.optimizer.state(&params);
        // One entry per slot per trainable parameter, parameter by parameter, then "iterations".
        let slots = (state.len() - 1) / trainable.max(1);
        drop(params);
        for slot in 0..slots {
            let mut tensors: Vec<Tensor> = (0..trainable)
                .map(|k| std::mem::replace(&mut state[k * slots + slot].1, Tensor::zeros(&[0])))
                .collect();
            self.reducer.as_mut().expect("a sharded step has a reducer").gather_shares(&mut tensors)?;
            for (k, t) in tensors.into_iter().enumerate() {
                state[k * slots + slot].1 = t;
            }
        }
        let mut compiled = self.compiled.take().expect("compiled, as above");
        let loaded = compiled.optimizer.load_state(&self.params(), &state);
        self.compiled = Some(compiled);
        loaded
    }

    /// Lays the gradients out in parameter order (zeros where a trainable parameter got none),
    /// passes them through the gradient reducer, and gives back those of the parameters that
    /// had a gradient here.
    fn reduce_gradients(&mut self, grads: Grads) -> Result<Grads> {
        if self.reducer.is_none() {
            return Ok(grads);
        }
        let trainable: Vec<(ParamId, Vec<usize>)> =
            self.params().iter().filter(|p| p.trainable).map(|p| (p.id(), p.value.shape().to_vec())).collect();
        let mut present = Vec::with_capacity(trainable.len());
        let mut ordered: Vec<Tensor> = trainable
            .iter()
            .map(|(id, shape)| {
                let g = grads.get(*id).cloned();
                present.push(g.is_some());
                g.unwrap_or_else(|| Tensor::zeros(shape))
            })
            .collect();
        drop(grads); // the ordered list now holds the only reference to each buffer
        self.reducer.as_mut().expect("checked above").reduce(&mut ordered)?;
        let mut out = Grads::new();
        for (((id, _), g), here) in trainable.iter().zip(ordered).zip(present) {
            if here {
                out.insert(*id, g);
            }
        }
        Ok(out)
    }
}

/// Runs a batch as `count` shards side by side on the kernel threads.
fn run_shards(
    job: &ShardJob<'_>,
    count: usize,
    x: &[Tensor],
    y: &[Tensor],
    sample_weight: Option<&Tensor>,
    seed: u64,
) -> SmallVec<[Shard; 2]> {
    let rows = x[0].shape()[0];
    let bounds: Vec<(usize, usize)> = (0..count).map(|s| (s * rows / count, (s + 1) * rows / count)).collect();
    kensho_core::threads::pool().install(|| {
        bounds
            .par_iter()
            .enumerate()
            .map(|(s, &(start, end))| {
                let rows_of = |t: &Tensor| t.slice_axis(0, start, end);
                let (xs, ys): (Vec<Tensor>, Vec<Tensor>) =
                    (x.iter().map(rows_of).collect(), y.iter().map(rows_of).collect());
                let w = sample_weight.map(rows_of);
                let shard_seed = seed ^ (s as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                job.run(&xs, &ys, w.as_ref(), s == 0, shard_seed, None)
            })
            .collect::<Vec<Shard>>()
            .into()
    })
}
