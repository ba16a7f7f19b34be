//! Data-parallel training across processes: the [`Communicator`] seam that `fit` and
//! `evaluate` use when a model trains on several processes at once, and what they do with it.
//!
//! Under a communicator of `N` processes (ranks), every rank walks the same global batches (the
//! batch size stays the one the user asked for, as in Keras' data-parallel training) and takes
//! its own contiguous share of each batch's rows (see [`shard_rows`]). Each rank's loss is its
//! share of the whole batch's loss, so the sum of the ranks' gradients is the whole batch's
//! gradient. The gradients are summed in buckets, started while backward is still running
//! (`bucketed.rs`). Inside `fit` the optimizer step is sharded, as ZeRO stage 1 does: each rank
//! gets the sums of its share of each parameter only ([`Communicator::sum_owned`]), updates that
//! share with its share of the optimizer state, and the ranks exchange the updated shares
//! ([`Communicator::gather_owned`]); the state is made whole at the end of each epoch. So every
//! rank holds the same weights after every step, as if each had made the whole step. The
//! ranks' losses and outputs are gathered after each step (`gather.rs`), so every rank updates
//! its metrics with the whole batch and logs the global figures: callbacks see the same values
//! everywhere (an `EarlyStopping` stops every rank on the same epoch). Only rank 0 prints and
//! writes files ([`is_chief`]).
//!
//! `kensho::mpi::World` (feature `mpi`) is the communicator on MPI; any other transport can
//! implement the trait.

pub(crate) mod bucketed;
pub(crate) mod gather;
pub(crate) mod setup;

pub use setup::DataParallel;

use kensho_autograd::Param;
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{ReplicaSum, StateUpdate};
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::sync::Mutex;

/// A group of processes that train one model together: collective operations on `f32`
/// buffers, called in the same order on every rank.
pub trait Communicator: Send + Sync {
    /// This process's index in the group, from 0.
    fn rank(&self) -> usize;
    /// The number of processes in the group.
    fn size(&self) -> usize;
    /// Starts summing `values` elementwise across the group; the sum arrives through
    /// [`Pending::wait`], and the caller may compute meanwhile.
    ///
    /// # Errors
    /// If the operation cannot be started (the group is gone).
    fn start_all_reduce(&self, values: Vec<f32>) -> Result<Pending>;
    /// Every rank's `values` (each rank may give a different number), in rank order.
    ///
    /// # Errors
    /// If the operation fails.
    fn all_gather(&self, values: Vec<f32>) -> Result<Vec<Vec<f32>>>;
    /// Rank `root`'s `values`, on every rank (the others give buffers of the same length).
    ///
    /// # Errors
    /// If the operation fails.
    fn broadcast(&self, values: Vec<f32>, root: usize) -> Result<Vec<f32>>;
    /// Ends every process of the group at once, after printing `message` on stderr: what a
    /// rank does when it cannot go on, so that the others do not wait for it forever.
    fn abort(&self, message: &str) -> !;
    /// The elementwise sum of `values` across the group, waiting for it.
    ///
    /// # Errors
    /// As [`Communicator::start_all_reduce`].
    fn all_reduce(&self, values: Vec<f32>) -> Result<Vec<f32>> {
        self.start_all_reduce(values)?.wait()
    }
    /// Sums `values` across the group where this rank needs it: afterwards the positions this
    /// rank owns hold the sums ([`owned_positions`] of `segments`, the lengths of the parts of
    /// `values`), and the others hold anything. The sharded optimizer step uses it for the
    /// gradients. The default sums every position.
    ///
    /// # Errors
    /// As [`Communicator::all_reduce`].
    fn sum_owned(&self, values: Vec<f32>, segments: &[usize]) -> Result<Vec<f32>> {
        let _ = segments;
        self.all_reduce(values)
    }
    /// Gives every rank each rank's owned positions ([`owned_positions`] of `segments`) of its
    /// `values`: the sharded optimizer step uses it for the updated weights. The default
    /// gathers the owned positions of every rank.
    ///
    /// # Errors
    /// As [`Communicator::all_gather`].
    fn gather_owned(&self, values: Vec<f32>, segments: &[usize]) -> Result<Vec<f32>> {
        gather_owned_by_all_gather(self, values, segments)
    }
}

/// [`Communicator::gather_owned`] by [`Communicator::all_gather`] of each rank's owned
/// positions (the trait's default, which other implementations may fall back on).
///
/// # Errors
/// As [`Communicator::all_gather`], or if a rank sent another number of values than its
/// shares hold.
pub fn gather_owned_by_all_gather<C: Communicator + ?Sized>(
    comm: &C,
    mut values: Vec<f32>,
    segments: &[usize],
) -> Result<Vec<f32>> {
    let mine = owned_positions(segments, comm.rank(), comm.size());
    let sent: Vec<f32> = mine.iter().flat_map(|r| values[r.clone()].iter().copied()).collect();
    for (rank, received) in comm.all_gather(sent)?.into_iter().enumerate() {
        let mut at = 0;
        for range in owned_positions(segments, rank, comm.size()) {
            let piece = received.get(at..at + range.len()).ok_or_else(|| {
                Error::invalid(
                    format!("data-parallel shares of rank {rank}"),
                    format!("{} values", received.len()),
                    "the shares of the segments every rank announces (do all ranks run the same model?)",
                )
            })?;
            values[range.clone()].copy_from_slice(piece);
            at += range.len();
        }
    }
    Ok(values)
}

/// The positions of a buffer made of parts of lengths `segments` that rank `rank` of `size`
/// owns: its [`shard_rows`] share of each part.
///
/// ```
/// use kensho::parallel::owned_positions;
/// assert_eq!(owned_positions(&[4, 3], 1, 2), [2..4, 5..7]);
/// ```
pub fn owned_positions(segments: &[usize], rank: usize, size: usize) -> Vec<Range<usize>> {
    let mut start = 0;
    let mut owned = Vec::with_capacity(segments.len());
    for &len in segments {
        let share = shard_rows(len, rank, size);
        if !share.is_empty() {
            owned.push(start + share.start..start + share.end);
        }
        start += len;
    }
    owned
}

/// A collective operation under way; [`Pending::wait`] gives its result.
pub struct Pending(Mutex<Box<dyn FnOnce() -> Result<Vec<f32>> + Send>>);

impl Pending {
    /// An operation whose result `wait` gives.
    pub fn new(wait: impl FnOnce() -> Result<Vec<f32>> + Send + 'static) -> Pending {
        Pending(Mutex::new(Box::new(wait)))
    }

    /// Waits for the result.
    ///
    /// # Errors
    /// If the operation failed.
    pub fn wait(self) -> Result<Vec<f32>> {
        (self.0.into_inner().unwrap_or_else(|e| e.into_inner()))()
    }
}

/// The rows of a global batch of `rows` rows that rank `rank` of `size` trains on: contiguous,
/// in rank order, sizes differing by at most one; together they cover each row once.
///
/// ```
/// use kensho::parallel::shard_rows;
/// assert_eq!((0..3).map(|r| shard_rows(10, r, 3)).collect::<Vec<_>>(), [0..3, 3..6, 6..10]);
/// ```
pub fn shard_rows(rows: usize, rank: usize, size: usize) -> Range<usize> {
    rank * rows / size..(rank + 1) * rows / size
}

/// The replicas of a layer's synchronised statistics (see [`kensho_layers::ReplicaSum`]): sums
/// over the communicator's ranks. A failure ends every rank, as a failed step does.
pub(crate) struct CommunicatorSum(pub(crate) Arc<dyn Communicator>);

impl ReplicaSum for CommunicatorSum {
    fn sum(&self, values: &Tensor) -> Tensor {
        let comm = &self.0;
        let summed = comm.all_reduce(values.to_vec()).unwrap_or_else(|e| {
            comm.abort(&format!("kensho: rank {} of {} failed in a layer's all-reduce: {e}", comm.rank(), comm.size()))
        });
        Tensor::from_vec(summed, values.shape()).expect("the sum has the values' shape")
    }
}

/// The rank of this process in data-parallel training (0 when it trains alone).
static PROCESS_RANK: AtomicUsize = AtomicUsize::new(0);

/// Records this process's rank (done when a model is given a communicator).
pub(crate) fn set_process_rank(rank: usize) {
    PROCESS_RANK.store(rank, Ordering::Relaxed);
}

/// Whether this process prints training output and writes checkpoints, logs and event files:
/// true when it trains alone or is rank 0 of data-parallel training.
pub fn is_chief() -> bool {
    PROCESS_RANK.load(Ordering::Relaxed) == 0
}

/// The state updates of a step (moving statistics) averaged over the ranks that made them,
/// so that every rank keeps the same state. `states` are all the model's state parameters, in
/// model order (every rank sends a value, or a flag saying it has none, for each).
pub(crate) fn average_updates(
    comm: &dyn Communicator,
    states: &[&Param],
    updates: Vec<StateUpdate>,
) -> Result<Vec<StateUpdate>> {
    if states.is_empty() {
        return Ok(updates);
    }
    let mut message = Vec::new();
    for state in states {
        match updates.iter().find(|u| u.id == state.id()) {
            Some(update) => {
                message.push(1.0);
                message.extend(update.value.to_vec());
            }
            None => message.extend(std::iter::repeat_n(0.0, state.value.len() + 1)),
        }
    }
    let summed = comm.all_reduce(message)?;
    let mut averaged = Vec::new();
    let mut at = 0;
    for state in states {
        let (count, values) = (summed[at], &summed[at + 1..at + 1 + state.value.len()]);
        at += 1 + state.value.len();
        if count > 0.0 {
            let mean: Vec<f32> = values.iter().map(|v| v / count).collect();
            averaged.push(StateUpdate { id: state.id(), value: Tensor::from_vec(mean, state.value.shape())? });
        }
    }
    Ok(averaged)
}
