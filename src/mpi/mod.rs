//! Data-parallel training on MPI (feature `mpi`): [`World`], the [`Communicator`] of the
//! processes that `mpirun` started. Every rank runs the same program:
//!
//! ```no_run
//! use kensho::prelude::*;
//! # fn main() -> kensho::Result<()> {
//! let world = kensho::mpi::World::init()?;           // one per process, before training
//! let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(3));
//! model.compile(Sgd::new(0.1), losses::SparseCategoricalCrossentropy::from_logits(), vec![])?;
//! model.set_data_parallel(world.clone())?;          // fit, evaluate now span every rank
//! # let (x, y) = (Tensor::zeros(&[8, 4]), Tensor::zeros(&[8]));
//! model.fit(&x, &y, FitOptions { batch_size: 512, ..Default::default() })?;
//! # Ok(()) }
//! ```
//!
//! and runs as `mpirun -np 2 target/release/examples/mpi_mnist DIR`. Each rank reads the same
//! data and walks the same global batches of `batch_size` rows, training on its share of
//! each (see [`crate::parallel`]).
//!
//! MPI is called from one thread of kensho's, which owns the MPI environment (initialized
//! with `MPI_THREAD_MULTIPLE`) and runs the collective operations in the order the training
//! loop asks for them, the gradient buckets' all-reduces while backward goes on. When every
//! rank runs on one host, the all-reduces go through a window of memory the ranks share
//! (MPI-3), with two barriers a call and none of the message protocol of MPI's own
//! all-reduce; on several hosts, or with `KENSHO_MPI_ALLREDUCE=mpi` in the environment, they
//! are `MPI_Allreduce`. A panic on
//! any rank, and an error inside `fit`, end every rank at once through `MPI_Abort` (so no rank
//! waits forever for a dead one); `mpirun` then exits with a non-zero code.

#[allow(unsafe_code)]
mod shared;

use crate::parallel::{gather_owned_by_all_gather, Communicator, Pending};
use kensho_core::{Error, Result};
use mpi::collective::SystemOperation;
use mpi::datatype::PartitionMut;
use mpi::environment::Threading;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives, Root};
use mpi::Count;
use shared::SharedSums;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// How many sent buffers the MPI thread keeps for receiving (one per gradient bucket of a
/// typical model, and a few more).
const SPARE_BUFFERS: usize = 8;

/// A request to the MPI thread: an operation, which sends its result where it goes.
type Job = Box<dyn FnOnce(&SimpleCommunicator, &Sums) + Send>;

/// The processes of `MPI_COMM_WORLD`, as a [`Communicator`] for
/// [`Model::set_data_parallel`](crate::Model::set_data_parallel).
///
/// Operations started early ([`Communicator::start_all_reduce`]) run on the MPI thread; a
/// blocking operation runs on the calling thread itself when the MPI thread has nothing under
/// way (saving two thread wake-ups), else it queues behind the started ones, so each process
/// issues its collective operations in program order either way.
pub struct World {
    rank: usize,
    size: usize,
    /// The queue to the MPI thread; its lock also serialises the direct calls.
    jobs: Mutex<Option<Sender<Job>>>,
    /// Jobs sent to the MPI thread whose MPI call has not returned yet.
    outstanding: Arc<AtomicUsize>,
    /// What the all-reduces use, shared by the MPI thread and the direct calls.
    sums: Sums,
    worker: Mutex<Option<JoinHandle<()>>>,
}

impl World {
    /// Starts MPI (on a thread of its own) and joins this process's group; outside `mpirun`
    /// the process is a group of one. Installs a panic hook that ends every rank.
    ///
    /// # Errors
    /// If MPI was already started in this process, or does not start.
    pub fn init() -> Result<Arc<World>> {
        let (jobs, requests) = channel();
        let (started, start) = channel();
        let outstanding = Arc::new(AtomicUsize::new(0));
        let sums = Sums::default();
        let thread_sums = sums.clone();
        let worker = std::thread::Builder::new()
            .name("kensho-mpi".into())
            .spawn(move || serve(requests, started, thread_sums))
            .map_err(|e| Error::invalid("kensho::mpi::World::init", e.to_string(), "a thread for MPI"))?;
        let (rank, size) = start
            .recv()
            .map_err(|_| Error::invalid("kensho::mpi::World::init", "the MPI thread ended", "MPI to start"))??;
        install_abort_on_panic(rank);
        let (jobs, worker) = (Mutex::new(Some(jobs)), Mutex::new(Some(worker)));
        Ok(Arc::new(World { rank, size, jobs, outstanding, sums, worker }))
    }

    /// Whether the all-reduces go through a window of shared memory (every rank on this host,
    /// the default there) rather than MPI's own all-reduce (ranks on several hosts, one rank,
    /// or `KENSHO_MPI_ALLREDUCE=mpi` in the environment).
    pub fn uses_shared_memory(&self) -> bool {
        self.sums.shared.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Runs `op` on this thread if the MPI thread has nothing under way, else queues it behind
    /// the operations under way and waits for its result.
    fn blocking<T: Send + 'static>(
        &self,
        op: impl FnOnce(&SimpleCommunicator, &Sums) -> T + Send + 'static,
    ) -> Result<T> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let Some(queue) = jobs.as_ref() else { return Err(lost()) };
        if self.outstanding.load(Ordering::Acquire) == 0 {
            // Holding the lock: no job can be queued while this call runs.
            return Ok(op(&SimpleCommunicator::world(), &self.sums));
        }
        let result = self.queue(queue, op)?;
        drop(jobs);
        result.recv().map_err(|_| lost())
    }

    /// Queues `op` on the MPI thread (the caller holds the queue's lock); its result arrives on
    /// the receiver.
    fn queue<T: Send + 'static>(
        &self,
        queue: &Sender<Job>,
        op: impl FnOnce(&SimpleCommunicator, &Sums) -> T + Send + 'static,
    ) -> Result<Receiver<T>> {
        let (reply, result) = channel();
        self.outstanding.fetch_add(1, Ordering::AcqRel);
        let outstanding = self.outstanding.clone();
        let job: Job = Box::new(move |world, sums| {
            let value = op(world, sums);
            // Counted down before the reply, so the caller's next call may run directly.
            outstanding.fetch_sub(1, Ordering::AcqRel);
            // A requester that went away (an error elsewhere) does not stop the others' jobs.
            let _ = reply.send(value);
        });
        queue.send(job).map_err(|_| lost())?;
        Ok(result)
    }
}

/// The error when the MPI thread is gone.
fn lost() -> Error {
    Error::invalid("kensho::mpi::World", "the MPI thread has ended", "a running MPI environment")
}

impl Communicator for World {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn start_all_reduce(&self, values: Vec<f32>) -> Result<Pending> {
        let jobs = self.jobs.lock().unwrap_or_else(|e| e.into_inner());
        let result = self.queue(jobs.as_ref().ok_or_else(lost)?, move |world, sums| sums.all_reduce(world, values))?;
        Ok(Pending::new(move || result.recv().map_err(|_| lost())))
    }

    fn all_reduce(&self, values: Vec<f32>) -> Result<Vec<f32>> {
        self.blocking(move |world, sums| sums.all_reduce(world, values))
    }

    fn sum_owned(&self, values: Vec<f32>, segments: &[usize]) -> Result<Vec<f32>> {
        let segments = segments.to_vec();
        self.blocking(move |world, sums| sums.sum_owned(world, values, &segments))
    }

    fn gather_owned(&self, values: Vec<f32>, segments: &[usize]) -> Result<Vec<f32>> {
        if !self.uses_shared_memory() || values.len() > shared::PIECE {
            return gather_owned_by_all_gather(self, values, segments);
        }
        let segments = segments.to_vec();
        self.blocking(move |_, sums| sums.gather_owned(values, &segments))?
    }

    fn all_gather(&self, values: Vec<f32>) -> Result<Vec<Vec<f32>>> {
        self.blocking(move |world, _| all_gather_on(world, values))
    }

    fn broadcast(&self, values: Vec<f32>, root: usize) -> Result<Vec<f32>> {
        self.blocking(move |world, _| broadcast_on(world, values, root))
    }

    fn abort(&self, message: &str) -> ! {
        eprintln!("{message}");
        abort_all()
    }
}

impl Drop for World {
    /// Ends MPI (`MPI_Finalize`, on the MPI thread) once the pending operations are done.
    fn drop(&mut self) {
        self.jobs.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(worker) = self.worker.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = worker.join();
        }
    }
}

/// The MPI thread: starts MPI, reports the rank and size, runs the jobs in order, and ends MPI
/// when the [`World`] is dropped.
fn serve(requests: Receiver<Job>, started: Sender<Result<(usize, usize)>>, sums: Sums) {
    let Some((universe, _)) = mpi::initialize_with_threading(Threading::Multiple) else {
        let _ = started.send(Err(Error::invalid(
            "kensho::mpi::World::init",
            "MPI is already started in this process",
            "one World per process (clone the Arc to share it)",
        )));
        return;
    };
    let world = universe.world();
    if std::env::var("KENSHO_MPI_ALLREDUCE").as_deref() != Ok("mpi") {
        *sums.shared.lock().unwrap_or_else(|e| e.into_inner()) = SharedSums::new(&world);
    }
    let _ = started.send(Ok((world.rank() as usize, world.size() as usize)));
    for job in requests {
        job(&world, &sums);
    }
    // The shared window goes before MPI ends (every rank gets here when its World ends).
    sums.shared.lock().unwrap_or_else(|e| e.into_inner()).take();
    drop(universe);
}

/// Buffers kept for receiving sums.
type Spare = Arc<Mutex<Vec<Vec<f32>>>>;

/// The shared-memory all-reduce, if the ranks have one (made on the MPI thread).
type Shared = Arc<Mutex<Option<SharedSums>>>;

/// What every sum uses, wherever it runs: the spare buffers and the shared window.
#[derive(Clone, Default)]
struct Sums {
    spare: Spare,
    shared: Shared,
}

impl Sums {
    /// The elementwise sum of `values` over the ranks: in place through the shared window when
    /// the ranks have one, else by MPI's all-reduce into a spare buffer.
    fn all_reduce(&self, world: &SimpleCommunicator, mut values: Vec<f32>) -> Vec<f32> {
        if let Some(shared) = self.shared.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            shared.all_reduce(&mut values);
            return values;
        }
        self.with_spare_output(values, |values, sum| world.all_reduce_into(values, sum, SystemOperation::sum()))
    }

    /// [`Communicator::sum_owned`]: in place through the shared window when the ranks have one
    /// and the values fit it, else a whole all-reduce.
    fn sum_owned(&self, world: &SimpleCommunicator, mut values: Vec<f32>, segments: &[usize]) -> Vec<f32> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        match shared.as_mut().filter(|_| values.len() <= shared::PIECE) {
            Some(window) => {
                window.sum_owned(&mut values, segments);
                values
            }
            None => {
                drop(shared);
                self.all_reduce(world, values)
            }
        }
    }

    /// [`Communicator::gather_owned`] through the shared window (which the caller checked the
    /// ranks have, and the values fit).
    fn gather_owned(&self, mut values: Vec<f32>, segments: &[usize]) -> Result<Vec<f32>> {
        let mut shared = self.shared.lock().unwrap_or_else(|e| e.into_inner());
        shared.as_mut().ok_or_else(lost)?.gather_owned(&mut values, segments);
        Ok(values)
    }

    /// Runs `op` from `values` into a buffer of the same length (one of the spare buffers if
    /// there is one), which it returns; `values` then joins the spare buffers (MPI's all-reduce
    /// needs a buffer apart from its input).
    fn with_spare_output(&self, values: Vec<f32>, op: impl FnOnce(&[f32], &mut [f32])) -> Vec<f32> {
        let kept = {
            let mut buffers = self.spare.lock().unwrap_or_else(|e| e.into_inner());
            buffers.iter().position(|b| b.len() == values.len()).map(|i| buffers.swap_remove(i))
        };
        let mut sum = kept.unwrap_or_else(|| vec![0.0f32; values.len()]);
        op(&values, &mut sum);
        let mut buffers = self.spare.lock().unwrap_or_else(|e| e.into_inner());
        if buffers.len() < SPARE_BUFFERS {
            buffers.push(values);
        }
        sum
    }
}

/// Every rank's `values`, in rank order (counts first, then the values).
fn all_gather_on(world: &SimpleCommunicator, values: Vec<f32>) -> Vec<Vec<f32>> {
    let mut counts = vec![0 as Count; world.size() as usize];
    world.all_gather_into(&(values.len() as Count), &mut counts[..]);
    let displs: Vec<Count> = counts.iter().scan(0, |at, &c| Some(std::mem::replace(at, *at + c))).collect();
    let mut all = vec![0.0f32; counts.iter().map(|&c| c as usize).sum()];
    world.all_gather_varcount_into(&values[..], &mut PartitionMut::new(&mut all[..], &counts[..], &displs[..]));
    counts.iter().zip(&displs).map(|(&c, &d)| all[d as usize..(d + c) as usize].to_vec()).collect()
}

/// Rank `root`'s `values` on every rank.
fn broadcast_on(world: &SimpleCommunicator, mut values: Vec<f32>, root: usize) -> Vec<f32> {
    world.process_at_rank(root as i32).broadcast_into(&mut values[..]);
    values
}

/// Makes a panic on this rank end every rank (after the usual panic message), instead of
/// leaving the others waiting in a collective operation.
fn install_abort_on_panic(rank: usize) {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        previous(info);
        eprintln!("kensho: rank {rank} panicked; ending every rank (MPI_Abort)");
        abort_all();
    }));
}

/// `MPI_Abort` on the world: ends every process of the job. MPI runs with
/// `MPI_THREAD_MULTIPLE`, so any thread may call it.
fn abort_all() -> ! {
    SimpleCommunicator::world().abort(1)
}
