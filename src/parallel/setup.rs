//! Putting a model on a communicator: [`Model::set_data_parallel`], its options
//! ([`DataParallel`]), the broadcast of rank 0's weights and the figures of the communication.

use super::bucketed::BucketedAllReduce;
use super::{set_process_rank, shard_rows, Communicator};
use crate::Model;
use kensho_autograd::ParamId;
use kensho_core::{Error, Result, Tensor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Options of data-parallel training (see [`Model::set_data_parallel_with`]).
#[derive(Clone, Debug)]
pub struct DataParallel {
    /// The number of gradient values a bucket grows to before the next one starts (default
    /// 65,536, 256 KiB): smaller buckets start sending earlier, larger ones send fewer messages.
    pub bucket_values: usize,
    /// Whether each bucket's sum starts (on the MPI thread) as soon as backward has finished
    /// its gradients, rather than after backward. The default is true when this process may
    /// run on more cores than kensho's kernel threads use (`available_parallelism` greater than
    /// [`kensho_core::num_threads`] when the options are made), so that a core is free for the
    /// communication; else false: on a core that computes, a bucket sent early only interrupts
    /// backward (two thread switches a bucket, measured slower on two cores with two ranks).
    pub overlap_backward: bool,
    /// Whether `fit` shards the optimizer step (default true, as ZeRO stage 1 does): each rank
    /// gets the summed gradients of its share of each parameter only, updates that share (with
    /// its share of the optimizer state), and the ranks then exchange the updated shares, so no
    /// rank repeats the others' update. The optimizer state is made whole again at the end of
    /// each epoch, before the callbacks (checkpoints) see it; in the middle of an epoch (a
    /// callback's `on_train_step_end`) each rank's state is whole on its share only, so a
    /// callback that saves the optimizer state there needs `false`. Optimizers that clip by
    /// norm take whole steps.
    pub shard_optimizer: bool,
}

impl Default for DataParallel {
    fn default() -> Self {
        let spare_core = std::thread::available_parallelism().is_ok_and(|n| n.get() > kensho_core::num_threads());
        DataParallel {
            bucket_values: super::bucketed::BUCKET_FLOATS,
            overlap_backward: spare_core,
            shard_optimizer: true,
        }
    }
}

/// A model's communicator and the time its steps waited for gradient all-reduces.
pub(crate) struct ParallelState {
    pub(crate) comm: Arc<dyn Communicator>,
    waited_nanos: Arc<AtomicU64>,
}

impl Model {
    /// Trains this model together with the other processes of `comm` (data parallelism):
    /// from now on `fit`, `fit_loader` and `evaluate` split every batch across the ranks, sum
    /// the gradients across them once per step, and log the global figures on every rank.
    /// Rank 0's weights are sent to every rank at the start of each `fit`. Only rank 0 prints
    /// and writes files. `fit`, `fit_loader`, `evaluate` and `train_step` are collective: call
    /// them on every rank, in the same order (a call on rank 0 alone waits for the others);
    /// `predict` stays local to each process. See `kensho::mpi` (feature `mpi`) for running it
    /// under `mpirun`.
    ///
    /// # Errors
    /// If a layer makes masks (the loss of a masked batch divides by the whole batch's mask,
    /// which no rank holds): such models train in one process for now.
    pub fn set_data_parallel(&mut self, comm: Arc<dyn Communicator>) -> Result<()> {
        self.set_data_parallel_with(comm, DataParallel::default())
    }

    /// [`Model::set_data_parallel`] with options.
    ///
    /// # Errors
    /// As [`Model::set_data_parallel`], or if `bucket_values` is 0.
    pub fn set_data_parallel_with(&mut self, comm: Arc<dyn Communicator>, options: DataParallel) -> Result<()> {
        if let Some(layer) = self.layers().iter().find(|l| l.makes_mask()) {
            return Err(Error::invalid(
                "set_data_parallel",
                format!("layer \"{}\" ({}), which makes masks", layer.name(), layer.kind()),
                "a model without masking layers (masked models train in one process for now)",
            ));
        }
        if options.bucket_values == 0 {
            return Err(Error::invalid("DataParallel::bucket_values", 0, "a positive number of values per bucket"));
        }
        set_process_rank(comm.rank());
        let waited_nanos = Arc::new(AtomicU64::new(0));
        if comm.size() > 1 {
            self.reducer = Some(Box::new(BucketedAllReduce::new(comm.clone(), &options, waited_nanos.clone())));
        }
        self.parallel = Some(ParallelState { comm, waited_nanos });
        Ok(())
    }

    /// This process's rank and the number of ranks in data-parallel training (`(0, 1)` for
    /// a model that trains alone).
    pub fn data_parallel_rank(&self) -> (usize, usize) {
        self.parallel.as_ref().map_or((0, 1), |p| (p.comm.rank(), p.comm.size()))
    }

    /// The total time train steps have waited for gradient all-reduces after backward: the
    /// communication that backward did not hide (zero when training alone).
    pub fn communication_wait(&self) -> Duration {
        self.parallel.as_ref().map_or(Duration::ZERO, |p| Duration::from_nanos(p.waited_nanos.load(Ordering::Relaxed)))
    }

    /// The communicator, if the model trains data-parallel with other processes (a group of
    /// one trains as a single process does, without any communication).
    pub(crate) fn communicator(&self) -> Option<Arc<dyn Communicator>> {
        self.parallel.as_ref().filter(|p| p.comm.size() > 1).map(|p| p.comm.clone())
    }

    /// [`Model::check_input`] on data every rank holds whole: in data-parallel training each
    /// rank checks the finiteness of its share of the rows only, and the ranks agree on the
    /// first failure (every rank then returns the error one process would).
    pub(crate) fn check_input_shared(&self, x: &[Tensor], context: &str) -> Result<()> {
        let Some(comm) = self.communicator() else { return self.check_input(x, context) };
        self.check_input_shapes(x, context)?;
        let rows = x[0].shape()[0];
        let check_shard = |rank: usize| {
            let range = shard_rows(rows, rank, comm.size());
            let part: Vec<Tensor> = x.iter().map(|t| t.slice_axis(0, range.start, range.end)).collect();
            self.check_finite_inputs(&part, context, range.start)
        };
        let mut failed = vec![0.0; comm.size()];
        failed[comm.rank()] = if check_shard(comm.rank()).is_err() { 1.0 } else { 0.0 };
        match comm.all_reduce(failed)?.iter().position(|&f| f > 0.0) {
            Some(rank) => check_shard(rank),
            None => Ok(()),
        }
    }

    /// Gives every rank rank 0's weights (parameters and state), so that all start equal.
    pub(crate) fn broadcast_weights(&mut self) -> Result<()> {
        let Some(comm) = self.communicator() else { return Ok(()) };
        let weights = self.weights();
        let flat: Vec<f32> = weights.iter().flat_map(|p| p.value.to_vec()).collect();
        let shapes: Vec<(ParamId, Vec<usize>)> = weights.iter().map(|p| (p.id(), p.value.shape().to_vec())).collect();
        let received = comm.broadcast(flat, 0)?;
        let mut at = 0;
        let mut values = Vec::with_capacity(shapes.len());
        for (id, shape) in shapes {
            let n: usize = shape.iter().product();
            values.push((id, Tensor::from_vec(received[at..at + n].to_vec(), &shape)?));
            at += n;
        }
        self.set_weight_values(&values);
        Ok(())
    }
}
