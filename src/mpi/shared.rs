//! The sums of ranks that all run on one host, through a window of memory they share (MPI-3
//! `MPI_Win_allocate_shared`). For an all-reduce each rank sums one share of the positions,
//! reading the other ranks' values of that share from their slots of the window, and copies
//! the other shares of the sums out of theirs; the sharded optimizer step's two operations are
//! its halves (the sums of a rank's own share only, and the exchange of shares). Nothing else
//! is done: no message headers, fragments or handshakes, one or two barriers a call.
//!
//! This is the one module of the facade with `unsafe` code: the window is memory that other
//! processes write, reached through raw pointers. What keeps it sound is the order of the
//! phases, separated by barriers (`MPI_Win_sync`, `MPI_Barrier`, `MPI_Win_sync`, the MPI-3
//! pattern for shared windows): a rank writes only its own slot, and only positions no other
//! rank reads in that phase.

use crate::parallel::owned_positions;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::SimpleCommunicator;
use mpi::traits::{Communicator as _, CommunicatorCollectives};
use std::ffi::c_void;
use std::ops::Range;

/// Values per piece: an all-reduce of more values goes in pieces of this many. Each rank's
/// slot holds two pieces (2 MiB), so the window stays small even on a host whose `/dev/shm`
/// is small, as in containers.
pub(super) const PIECE: usize = 1 << 18;

/// Positions summed at a time (a block of the stack, kept in the first-level cache).
const BLOCK: usize = 1024;

/// The shared window of the ranks of one host, and where each rank's slot is mapped here.
pub(super) struct SharedSums {
    node: SimpleCommunicator,
    window: ffi::MPI_Win,
    /// Each rank's slot: two pieces, used in turn.
    slots: Vec<*mut f32>,
    /// Which piece of the slots the next call uses.
    turn: usize,
}

// SAFETY: the pointers are into the window, which lives as long as the `SharedSums`; the MPI
// environment runs with `MPI_THREAD_MULTIPLE`, and `World` uses it from one thread at a time.
unsafe impl Send for SharedSums {}

impl SharedSums {
    /// The shared window of `world`'s ranks, if they all run on this host and MPI gives the
    /// window (collective: every rank calls it, and all get the same answer).
    pub(super) fn new(world: &SimpleCommunicator) -> Option<SharedSums> {
        let node = world.split_shared(0);
        if node.size() != world.size() || world.size() < 2 {
            return None;
        }
        let size = node.size() as usize;
        let mut base: *mut f32 = std::ptr::null_mut();
        // SAFETY: plain MPI calls on a valid communicator, with out-pointers to locals; errors
        // are returned (not fatal) on this communicator, and every rank sees the same outcome.
        let window = unsafe {
            ffi::MPI_Comm_set_errhandler(node.as_raw(), ffi::RSMPI_ERRORS_RETURN);
            let mut window: ffi::MPI_Win = std::mem::zeroed();
            let bytes = (2 * PIECE * size_of::<f32>()) as ffi::MPI_Aint;
            let out = (&mut base as *mut *mut f32).cast::<c_void>();
            let code = ffi::MPI_Win_allocate_shared(bytes, 4, ffi::RSMPI_INFO_NULL, node.as_raw(), out, &mut window);
            let made = code == ffi::MPI_SUCCESS as i32;
            let mut everywhere = 0;
            world.all_reduce_into(&i32::from(made), &mut everywhere, mpi::collective::SystemOperation::min());
            if everywhere == 0 {
                if made {
                    ffi::MPI_Win_free(&mut window);
                }
                return None;
            }
            ffi::MPI_Win_lock_all(ffi::MPI_MODE_NOCHECK as i32, window);
            window
        };
        let slots = (0..size)
            .map(|rank| {
                let (mut bytes, mut unit, mut slot) = (0 as ffi::MPI_Aint, 0, std::ptr::null_mut::<f32>());
                // SAFETY: a query of the window just made, with out-pointers to locals.
                unsafe {
                    let out = (&mut slot as *mut *mut f32).cast::<c_void>();
                    ffi::MPI_Win_shared_query(window, rank as i32, &mut bytes, &mut unit, out);
                }
                slot
            })
            .collect();
        Some(SharedSums { node, window, slots, turn: 0 })
    }

    /// Replaces `values` by their elementwise sum over the ranks (each position added in rank
    /// order, so every rank gets the same bits). Collective: every rank calls it with values
    /// of the same length.
    pub(super) fn all_reduce(&mut self, values: &mut [f32]) {
        for piece in values.chunks_mut(PIECE) {
            let len = piece.len();
            self.sum_piece(piece, &[len], true);
        }
    }

    /// [`Communicator::sum_owned`](crate::parallel::Communicator::sum_owned) of at most
    /// [`PIECE`] values, in place: only this rank's owned positions get the sums.
    pub(super) fn sum_owned(&mut self, values: &mut [f32], segments: &[usize]) {
        assert!(values.len() <= PIECE, "SharedSums::sum_owned: {} values", values.len());
        self.sum_piece(values, segments, false);
    }

    /// [`Communicator::gather_owned`](crate::parallel::Communicator::gather_owned) of at most
    /// [`PIECE`] values, in place: each rank copies its owned positions into its slot, and,
    /// after one barrier, the others' owned positions out of theirs.
    pub(super) fn gather_owned(&mut self, values: &mut [f32], segments: &[usize]) {
        assert!(values.len() <= PIECE, "SharedSums::gather_owned: {} values", values.len());
        let (ranks, rank, offset) = (self.slots.len(), self.node.rank() as usize, self.next_offset());
        // SAFETY: as in `sum_piece`: this rank writes its slot's owned positions only, and
        // reads the others' after the barrier, which orders the two phases on every rank.
        unsafe {
            let slot = std::slice::from_raw_parts_mut(self.slots[rank].add(offset), values.len());
            for range in owned_positions(segments, rank, ranks) {
                slot[range.clone()].copy_from_slice(&values[range]);
            }
            self.barrier();
            for r in (0..ranks).filter(|&r| r != rank) {
                let theirs = std::slice::from_raw_parts(self.slots[r].add(offset), values.len());
                for range in owned_positions(segments, r, ranks) {
                    values[range.clone()].copy_from_slice(&theirs[range]);
                }
            }
        }
    }

    /// The offset in every slot of the piece the next call uses (the two pieces alternate).
    ///
    /// No call needs a barrier at its end: a rank writes a piece of its slot again only two
    /// calls later, after the first barrier of the call between, which every rank passes only
    /// once done reading that piece.
    fn next_offset(&mut self) -> usize {
        let offset = self.turn * PIECE;
        self.turn ^= 1;
        offset
    }

    /// Sums `values` (at most [`PIECE`]) over the ranks on the positions each rank owns
    /// ([`owned_positions`] of `segments`), in place; with `whole`, every position.
    ///
    /// Each rank copies into its slot the positions the other ranks own; after a barrier it
    /// sums the positions it owns, its own values read (and the sums written) in place, the
    /// others' read from their slots (with `whole`, it writes the sums into its slot too, and
    /// after a second barrier copies the other ranks' sums out of their slots). The values
    /// stay where backward left them, warm in the cache, and no other buffer is touched.
    fn sum_piece(&mut self, values: &mut [f32], segments: &[usize], whole: bool) {
        let (n, ranks, rank, offset) = (values.len(), self.slots.len(), self.node.rank() as usize, self.next_offset());
        let owned: Vec<Vec<Range<usize>>> = (0..ranks).map(|r| owned_positions(segments, r, ranks)).collect();
        // SAFETY: every slot holds 2 * PIECE values and n <= PIECE. Between the barriers, this
        // rank writes its own slot only (the others' positions, then its own), while the others
        // read other positions or other slots; the barriers order the phases on every rank.
        unsafe {
            let slot = std::slice::from_raw_parts_mut(self.slots[rank].add(offset), n);
            for range in owned.iter().enumerate().filter(|&(r, _)| r != rank).flat_map(|(_, o)| o) {
                slot[range.clone()].copy_from_slice(&values[range.clone()]);
            }
            self.barrier();
            let mine = values.as_mut_ptr();
            for range in &owned[rank] {
                let sources: Vec<*const f32> = (0..ranks)
                    .map(|r| match r == rank {
                        true => mine.add(range.start).cast_const(),
                        false => self.slots[r].add(offset + range.start).cast_const(),
                    })
                    .collect();
                let mut targets = vec![mine.add(range.start)];
                if whole {
                    targets.push(self.slots[rank].add(offset + range.start));
                }
                add_in_rank_order(&sources, &targets, range.len());
            }
            if whole {
                self.barrier();
                for r in (0..ranks).filter(|&r| r != rank) {
                    let theirs = std::slice::from_raw_parts(self.slots[r].add(offset), n);
                    for range in &owned[r] {
                        values[range.clone()].copy_from_slice(&theirs[range.clone()]);
                    }
                }
            }
        }
    }

    /// Makes every rank's writes so far visible to the others, and waits for all of them.
    fn barrier(&self) {
        // SAFETY: MPI calls on the live window and communicator.
        unsafe {
            ffi::MPI_Win_sync(self.window);
            ffi::MPI_Barrier(self.node.as_raw());
            ffi::MPI_Win_sync(self.window);
        }
    }
}

/// `target[i] = ((sources[0][i] + sources[1][i]) + ...)` for `i < len` and each target,
/// block by block; a target may be a source (each block is read whole before it is written).
///
/// # Safety
/// Each target must be valid for writing `len` values and each source for reading as many,
/// with no other thread or process writing them meanwhile.
unsafe fn add_in_rank_order(sources: &[*const f32], targets: &[*mut f32], len: usize) {
    let mut block = [0.0f32; BLOCK];
    for start in (0..len).step_by(BLOCK) {
        let count = BLOCK.min(len - start);
        let acc = &mut block[..count];
        // SAFETY: within the `len` values the caller vouches for; the slices read end before
        // the targets are written.
        unsafe {
            acc.copy_from_slice(std::slice::from_raw_parts(sources[0].add(start), count));
            for source in &sources[1..] {
                let values = std::slice::from_raw_parts(source.add(start), count);
                acc.iter_mut().zip(values).for_each(|(a, v)| *a += v);
            }
            for target in targets {
                std::ptr::copy_nonoverlapping(acc.as_ptr(), target.add(start), count);
            }
        }
    }
}

impl Drop for SharedSums {
    /// Frees the window (collective: every rank drops its `SharedSums` at the same point, when
    /// its `World` ends, before `MPI_Finalize`).
    fn drop(&mut self) {
        // SAFETY: the window is live and locked by `new`; nothing uses it afterwards.
        unsafe {
            ffi::MPI_Win_unlock_all(self.window);
            ffi::MPI_Win_free(&mut self.window);
        }
    }
}
