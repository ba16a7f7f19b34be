//! Fused recurrent sequences (SimpleRNN, LSTM, GRU in Keras' formulas and gate orders): the whole
//! time loop of a layer as one forward kernel and one backward kernel (backpropagation through
//! time), so that a sequence is two entries on the tape, not a few ops per step.
//!
//! - Forward: the input projection of every step is one GEMM (`[batch * time, features] x
//!   [features, gates * units]`, bias added in the same buffer); then per step one GEMM of the
//!   previous state with the recurrent kernel for all gates, and the cell's elementwise math
//!   (`cells.rs`). The gate activations of every step are kept for the backward pass.
//! - Backward: per step (in reverse) the cell's local gradient and one GEMM for the gradient of
//!   the previous state; then one GEMM each for the input, kernel and recurrent-kernel
//!   gradients over all steps at once, into buffers allocated once.
//! - Masks (Keras semantics): at a step where a sample's mask is 0 its states are carried over
//!   unchanged, so the states (and the output, which is the first state) repeat the previous
//!   step's, and the gradient passes straight through.
//!
//! Layout: `x` is `[batch, time, features]`; the result holds every step's states,
//! `[batch, time, states * units]` (`h`, then `c` for an LSTM), in processing order (reversed
//! time with `go_backwards`, as Keras returns it).

mod activation;
mod backward;
mod cells;
mod forward;
mod packed;

pub use activation::CellActivation;

use super::Tensor;
use crate::gemm::{gemm_threads, sgemm, Mat, PARALLEL_MIN_MACS};
use crate::{Error, Result};
use serde::{Deserialize, Serialize};
use std::mem::MaybeUninit;

/// The recurrent cell, with Keras' gate order in its kernels' columns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RecurrentCell {
    /// `h = activation(x W + h U + b)`: one gate.
    SimpleRnn,
    /// Gates `i, f, c, o` (PyTorch's `i, f, g, o`): `c' = f c + i act(g)`, `h' = o act(c')`.
    Lstm,
    /// Gates `z, r, h` with the reset gate applied after the recurrent product (Keras'
    /// `reset_after = True`, PyTorch's GRU): `hh = act(x W_h + b_h + r (h U_h + rb_h))`,
    /// `h' = z h + (1 - z) hh`.
    Gru,
}

impl RecurrentCell {
    /// Blocks of `units` columns in the kernels (1, 4 or 3).
    pub fn gates(self) -> usize {
        match self {
            RecurrentCell::SimpleRnn => 1,
            RecurrentCell::Lstm => 4,
            RecurrentCell::Gru => 3,
        }
    }

    /// States carried from step to step (2 for an LSTM: `h` and `c`; else 1).
    pub fn states(self) -> usize {
        match self {
            RecurrentCell::Lstm => 2,
            _ => 1,
        }
    }
}

/// What a recurrent sequence computes: the cell, its activations and the direction.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecurrentSpec {
    /// The cell.
    pub cell: RecurrentCell,
    /// The activation of the candidate and of the output (Keras' `activation`, tanh).
    pub activation: CellActivation,
    /// The activation of the gates (Keras' `recurrent_activation`, sigmoid; unused by SimpleRNN).
    pub recurrent_activation: CellActivation,
    /// Process the steps from last to first (the states come out in that order).
    pub go_backwards: bool,
}

/// The operands of a recurrent sequence (cheap clones of the tensors).
#[derive(Clone, Debug)]
pub struct RecurrentArgs {
    /// The inputs, `[batch, time, features]`.
    pub x: Tensor,
    /// `[features, gates * units]`.
    pub kernel: Tensor,
    /// `[units, gates * units]`.
    pub recurrent_kernel: Tensor,
    /// `[gates * units]`, added to the input projection.
    pub bias: Option<Tensor>,
    /// `[gates * units]`, added to the recurrent projection (GRU only).
    pub recurrent_bias: Option<Tensor>,
    /// The initial states, `[batch, units]` each (`h`, then `c` for an LSTM); zeros if empty.
    pub initial_state: Vec<Tensor>,
    /// `[batch, time]`: 1 where a step is real, 0 where it is padding (carried over).
    pub mask: Option<Tensor>,
    /// `[batch, units]`: multiplies the previous `h` inside the recurrent projection
    /// (recurrent dropout's mask, with the `1 / keep` scale).
    pub recurrent_dropout: Option<Tensor>,
}

/// Which gradients [`RecurrentSpec::backward`] computes, in the order of the fields of
/// [`RecurrentArgs`] (the initial states one flag each).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RecurrentNeeds {
    /// The input.
    pub x: bool,
    /// The kernel.
    pub kernel: bool,
    /// The recurrent kernel.
    pub recurrent_kernel: bool,
    /// The bias.
    pub bias: bool,
    /// The recurrent bias.
    pub recurrent_bias: bool,
    /// Each initial state.
    pub initial_state: Vec<bool>,
}

/// The gradients of a recurrent sequence (`None` where not asked for or absent).
#[derive(Clone, Debug, Default)]
pub struct RecurrentGrads {
    /// Of the input.
    pub x: Option<Tensor>,
    /// Of the kernel.
    pub kernel: Option<Tensor>,
    /// Of the recurrent kernel.
    pub recurrent_kernel: Option<Tensor>,
    /// Of the bias.
    pub bias: Option<Tensor>,
    /// Of the recurrent bias.
    pub recurrent_bias: Option<Tensor>,
    /// Of each initial state.
    pub initial_state: Vec<Option<Tensor>>,
}

/// The result of a forward pass: every step's states and what the backward pass needs.
#[derive(Clone, Debug)]
pub struct RecurrentTrace {
    /// `[batch, time, states * units]`: after each processed step, `h` (the output) then `c`.
    pub states: Tensor,
    /// `[batch, time, gates * units]`, by input time: the gate activations of each step.
    gates: Vec<f32>,
    /// GRU: `[batch, time, units]`, by input time: the recurrent part of the candidate
    /// (`h U_h + rb_h`), before the reset gate. Empty for the other cells.
    candidate: Vec<f32>,
}

/// The sizes of one sequence.
#[derive(Clone, Copy, Debug)]
struct Dims {
    batch: usize,
    time: usize,
    features: usize,
    units: usize,
    /// `gates * units`.
    width: usize,
    /// `states * units`.
    state_width: usize,
}

impl RecurrentSpec {
    /// Checks the operands' shapes and returns the sizes.
    ///
    /// # Errors
    /// [`Error::Shape`] naming the operand that does not fit.
    fn dims(&self, args: &RecurrentArgs) -> Result<Dims> {
        let xs = args.x.shape();
        let &[batch, time, features] = xs else {
            return Err(Error::shape("recurrent input", "[batch, time, features]", xs));
        };
        let ks = args.recurrent_kernel.shape();
        let gates = self.cell.gates();
        let units = ks.first().copied().unwrap_or(0);
        let width = gates * units;
        let check = |what: &str, t: &Tensor, want: &[usize]| {
            (t.shape() == want).then_some(()).ok_or_else(|| Error::shape(what, format!("{want:?}"), t.shape()))
        };
        check("recurrent kernel", &args.recurrent_kernel, &[units, width])?;
        check("recurrent input kernel", &args.kernel, &[features, width])?;
        for b in args.bias.iter().chain(&args.recurrent_bias) {
            check("recurrent bias", b, &[width])?;
        }
        if args.recurrent_bias.is_some() && self.cell != RecurrentCell::Gru {
            return Err(Error::invalid("recurrent bias", format!("{:?}", self.cell), "a GRU"));
        }
        if !args.initial_state.is_empty() && args.initial_state.len() != self.cell.states() {
            let what = "recurrent initial states";
            return Err(Error::invalid(what, args.initial_state.len(), format!("{}", self.cell.states())));
        }
        for s in &args.initial_state {
            check("recurrent initial state", s, &[batch, units])?;
        }
        if let Some(m) = &args.mask {
            check("recurrent mask", m, &[batch, time])?;
        }
        if let Some(d) = &args.recurrent_dropout {
            check("recurrent dropout mask", d, &[batch, units])?;
        }
        Ok(Dims { batch, time, features, units, width, state_width: self.cell.states() * units })
    }

    /// The input time of processing step `s`.
    fn time_of(&self, s: usize, time: usize) -> usize {
        if self.go_backwards {
            time - 1 - s
        } else {
            s
        }
    }

    /// Checks the operands of [`RecurrentSpec::forward`].
    ///
    /// # Errors
    /// [`Error::Shape`] naming the operand that does not fit.
    pub fn try_check(&self, args: &RecurrentArgs) -> Result<()> {
        self.dims(args).map(|_| ())
    }
}

/// The rows of a mask that are real at input time `t` (all when there is no mask).
#[inline(always)]
fn real(mask: Option<&[f32]>, time: usize, row: usize, t: usize) -> bool {
    mask.is_none_or(|m| m[row * time + t] != 0.0)
}

/// Rows per shard of the time loops: the whole batch on the calling thread, or one shard per
/// kernel thread when the batch is large enough and no parallel region is running already.
/// Each sample is computed the same way in any shard, so the results do not depend on it.
fn shard_rows(d: &Dims) -> usize {
    let work = d.batch * d.time * d.units * d.width;
    let threads = if rayon::current_thread_index().is_some() || work < PARALLEL_MIN_MACS {
        1
    } else {
        crate::threads::num_threads().min(d.batch)
    };
    d.batch.div_ceil(threads.max(1)).max(1)
}

/// `buf` (`batch` rows of `row_len` values) cut into pieces of `per` rows; empty pieces for
/// an empty buffer (a buffer the cell does not use).
fn split_rows(buf: &mut [f32], row_len: usize, per: usize, batch: usize) -> Vec<&mut [f32]> {
    let count = batch.div_ceil(per);
    if buf.is_empty() {
        return (0..count).map(|_| &mut [][..]).collect();
    }
    buf.chunks_mut(per * row_len).collect()
}

/// Runs `work` on every shard: the first on the calling thread, the others on the kernel
/// threads at the same time.
fn run_shards<S: Send>(shards: Vec<S>, work: impl Fn(S) + Sync) {
    let mut shards = shards.into_iter();
    let Some(first) = shards.next() else { return };
    if shards.len() == 0 {
        return work(first);
    }
    let work = &work;
    crate::threads::pool().in_place_scope(|scope| {
        for shard in shards {
            scope.spawn(move |_| work(shard));
        }
        work(first);
    });
}

/// Values below which a pass over a buffer (a fill, a sum) runs on the calling thread.
const PARALLEL_MIN_VALUES: usize = 1 << 16;

/// The threads a pass over `len` values is split across: all the kernel threads for a large
/// buffer outside a parallel region, else 1.
fn pass_threads(len: usize) -> usize {
    if len < PARALLEL_MIN_VALUES || rayon::current_thread_index().is_some() {
        1
    } else {
        crate::threads::num_threads().max(1)
    }
}

/// A buffer of `len` values repeating `pattern` (`len` a multiple of its length), e.g. zeros or
/// a bias on every row. The passes' buffers run to megabytes, and filling them on one thread
/// while the others wait was a tenth of a 2-thread training step, so large ones are filled in
/// pieces on the kernel threads.
fn repeated(pattern: &[f32], len: usize) -> Vec<f32> {
    if len == 0 {
        return Vec::new();
    }
    let period = pattern.len();
    assert!(period > 0 && len.is_multiple_of(period), "recurrent buffer: {len} values do not repeat {period}");
    let per = len.div_ceil(pass_threads(len)).next_multiple_of(period);
    let mut out = Vec::with_capacity(len);
    let pieces: Vec<&mut [MaybeUninit<f32>]> = out.spare_capacity_mut()[..len].chunks_mut(per).collect();
    run_shards(pieces, |piece| {
        if let &[value] = pattern {
            return piece.fill(MaybeUninit::new(value));
        }
        // Every piece starts at a multiple of the period.
        for chunk in piece.chunks_mut(period) {
            chunk.iter_mut().zip(pattern).for_each(|(o, &v)| _ = o.write(v));
        }
    });
    // SAFETY: the pieces cover the first `len` values, and every value was written.
    unsafe { out.set_len(len) };
    out
}

/// `len` zeros, written on the kernel threads when there are many (see [`repeated`]).
fn zeros(len: usize) -> Vec<f32> {
    repeated(&[0.0], len)
}

/// A read-only strided matrix for [`gemm`]: its elements and row and column strides.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl<'a> View<'a> {
    /// A row-major matrix whose rows are `rs` apart.
    fn rows(data: &'a [f32], rs: usize) -> View<'a> {
        View { data, rs, cs: 1 }
    }

    /// The transposed matrix (strides swapped).
    fn t(self) -> View<'a> {
        View { data: self.data, rs: self.cs, cs: self.rs }
    }

    /// Checks that an `r x c` matrix fits in the data.
    fn check(&self, r: usize, c: usize) {
        let last = (r.max(1) - 1) * self.rs + (c.max(1) - 1) * self.cs;
        assert!(r == 0 || c == 0 || last < self.data.len(), "recurrent gemm: operand out of bounds");
    }
}

/// `C = A B + beta C` for `A: [m, k]`, `B: [k, n]` and `C` row-major with rows `rsc` apart,
/// on the kernel threads when the product is large.
#[allow(clippy::too_many_arguments)]
fn gemm(m: usize, k: usize, n: usize, a: View, b: View, beta: f32, c: &mut [f32], rsc: usize) {
    if m == 0 || n == 0 {
        return;
    }
    a.check(m, k);
    b.check(k, n);
    View::rows(c, rsc).check(m, n);
    let (am, bm) = (
        Mat { ptr: a.data.as_ptr(), rs: a.rs as isize, cs: a.cs as isize },
        Mat { ptr: b.data.as_ptr(), rs: b.rs as isize, cs: b.cs as isize },
    );
    // SAFETY: the three operands were checked to lie inside their slices, and C is borrowed
    // mutably, so it overlaps neither A nor B.
    unsafe { sgemm(gemm_threads(m, k, n), m, k, n, 1.0, am, bm, beta, c.as_mut_ptr(), rsc as isize, 1) }
}

/// A contiguous tensor's elements.
fn slice(t: &Tensor) -> &[f32] {
    t.as_slice().expect("recurrent operands are made contiguous first")
}

#[cfg(test)]
mod tests;
