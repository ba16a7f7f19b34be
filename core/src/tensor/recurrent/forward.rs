//! The forward pass of a recurrent sequence: the input projection of all steps in one GEMM,
//! then per step one product for the recurrent projection of all gates and the cell's row
//! math, with masked rows carrying their states over. The samples of a batch never meet, so
//! large batches run the time loop in row shards on the kernel threads.

use super::cells::ForwardRow;
use super::packed::PackedRight;
use super::{
    real, repeated, run_shards, shard_rows, slice, split_rows, zeros, Dims, RecurrentArgs, RecurrentCell,
    RecurrentSpec, RecurrentTrace, Tensor, View,
};
use ndarray::{ArrayD, IxDyn};

/// What every shard of the forward time loop reads.
struct Shared<'a> {
    d: Dims,
    init: &'a [f32],
    mask: Option<&'a [f32]>,
    dropout: Option<&'a [f32]>,
    recurrent_bias: Option<&'a [f32]>,
    recurrent_kernel: &'a PackedRight<'a>,
    zero_start: bool,
}

/// One shard's rows (`rows` samples from `row0`) of the buffers the time loop writes.
struct Shard<'a> {
    row0: usize,
    rows: usize,
    gates: &'a mut [f32],
    states: &'a mut [f32],
    candidate: &'a mut [f32],
}

impl RecurrentSpec {
    /// Runs the sequence: every step's states (see [`RecurrentTrace::states`]) and what
    /// [`RecurrentSpec::backward`] needs.
    ///
    /// ```
    /// use kensho_core::{CellActivation, RecurrentArgs, RecurrentCell, RecurrentSpec, Tensor};
    /// let spec = RecurrentSpec {
    ///     cell: RecurrentCell::SimpleRnn,
    ///     activation: CellActivation::Linear,
    ///     recurrent_activation: CellActivation::Sigmoid,
    ///     go_backwards: false,
    /// };
    /// // h' = x + 2 h, one unit, from the inputs 1, 1, 1.
    /// let args = RecurrentArgs {
    ///     x: Tensor::ones(&[1, 3, 1]),
    ///     kernel: Tensor::ones(&[1, 1]),
    ///     recurrent_kernel: Tensor::full(&[1, 1], 2.0),
    ///     bias: None,
    ///     recurrent_bias: None,
    ///     initial_state: vec![],
    ///     mask: None,
    ///     recurrent_dropout: None,
    /// };
    /// assert_eq!(spec.forward(&args).states.to_vec(), vec![1.0, 3.0, 7.0]);
    /// ```
    ///
    /// # Panics
    /// If the operands' shapes do not fit (see [`RecurrentSpec::try_check`]).
    #[track_caller]
    pub fn forward(&self, args: &RecurrentArgs) -> RecurrentTrace {
        let d = self.dims(args).unwrap_or_else(|e| panic!("{e}"));
        let Dims { batch, time, features, units, width, state_width } = d;
        let (x, kernel) = (args.x.to_contiguous(), args.kernel.to_contiguous());
        let recurrent_kernel = args.recurrent_kernel.to_contiguous();
        let gru = self.cell == RecurrentCell::Gru;

        // The input projection of every step, bias first.
        let mut gates = match &args.bias {
            Some(b) => repeated(slice(&b.to_contiguous()), batch * time * width),
            None => zeros(batch * time * width),
        };
        let packed_kernel = PackedRight::new(View::rows(slice(&kernel), width), features, width);
        packed_kernel.mul_threads(batch * time, View::rows(slice(&x), features), 1.0, &mut gates, width);

        let mut states = zeros(batch * time * state_width);
        let mut candidate = zeros(if gru { batch * time * units } else { 0 });
        let init = initial_states(args, &d);
        let (mask, dropout) =
            (args.mask.as_ref().map(Tensor::to_contiguous), args.recurrent_dropout.as_ref().map(Tensor::to_contiguous));
        let recurrent_bias = args.recurrent_bias.as_ref().map(Tensor::to_contiguous);
        let packed = PackedRight::new(View::rows(slice(&recurrent_kernel), width), units, width);
        let shared = Shared {
            d,
            init: &init,
            mask: mask.as_ref().map(slice),
            dropout: dropout.as_ref().map(slice),
            recurrent_bias: recurrent_bias.as_ref().map(slice),
            recurrent_kernel: &packed,
            zero_start: args.initial_state.is_empty(),
        };
        let per = shard_rows(&d);
        let shards = split_rows(&mut gates, time * width, per, batch)
            .into_iter()
            .zip(split_rows(&mut states, time * state_width, per, batch))
            .zip(split_rows(&mut candidate, time * units, per, batch))
            .enumerate()
            .map(|(k, ((gates, states), candidate))| {
                let rows = per.min(batch - k * per);
                Shard { row0: k * per, rows, gates, states, candidate }
            })
            .collect();
        run_shards(shards, |shard| {
            crate::with_wide_vectors(
                #[inline(always)]
                || self.forward_shard(&shared, shard),
            )
        });
        let shape = IxDyn(&[batch, time, state_width]);
        let states = Tensor::from_array(ArrayD::from_shape_vec(shape, states).expect("length matches shape"));
        RecurrentTrace { states, gates, candidate }
    }

    /// The time loop over one shard of rows.
    #[inline(always)]
    fn forward_shard(&self, shared: &Shared, shard: Shard) {
        let Dims { time, units, width, state_width, .. } = shared.d;
        let Shard { row0, rows, gates, states, candidate } = shard;
        let gru = self.cell == RecurrentCell::Gru;
        let init = &shared.init[row0 * state_width..(row0 + rows) * state_width];
        let dropout = shared.dropout.map(|m| &m[row0 * units..(row0 + rows) * units]);
        let mut projection = vec![0.0; if gru { rows * width } else { 0 }];
        let mut dropped = vec![0.0; if dropout.is_some() { rows * units } else { 0 }];
        let mut prev = vec![0.0; state_width];
        for s in 0..time {
            let t = self.time_of(s, time);
            // The previous h as a matrix: the initial states, or the states of step s - 1.
            let h_prev = if s == 0 {
                View::rows(init, state_width)
            } else {
                View::rows(&states[(s - 1) * state_width..], time * state_width)
            };
            let h_prev = match dropout {
                Some(mask) => {
                    drop_rows(h_prev, mask, units, &mut dropped);
                    View::rows(&dropped, units)
                }
                None => h_prev,
            };
            if gru {
                shared.recurrent_kernel.mul(rows, h_prev, 0.0, &mut projection, width);
            } else if !(s == 0 && shared.zero_start) {
                shared.recurrent_kernel.mul(rows, h_prev, 1.0, &mut gates[t * width..], time * width);
            }
            for row in 0..rows {
                let source =
                    if s == 0 { &init[row * state_width..] } else { &states[(row * time + s - 1) * state_width..] };
                prev.copy_from_slice(&source[..state_width]);
                let next = &mut states[(row * time + s) * state_width..][..state_width];
                if !real(shared.mask, time, row0 + row, t) {
                    next.copy_from_slice(&prev);
                    continue;
                }
                let at = row * time + t;
                let (candidate, recurrent) = if gru {
                    (&mut candidate[at * units..(at + 1) * units], &projection[row * width..(row + 1) * width])
                } else {
                    (&mut [][..], &[][..])
                };
                self.forward_row(ForwardRow {
                    gates: &mut gates[at * width..(at + 1) * width],
                    recurrent,
                    recurrent_bias: shared.recurrent_bias,
                    candidate,
                    prev: &prev,
                    next,
                });
            }
        }
    }
}

/// `[batch, states * units]`: each row's initial `h` (then `c`), zeros if none are given.
pub(super) fn initial_states(args: &RecurrentArgs, d: &Dims) -> Vec<f32> {
    let mut init = vec![0.0; d.batch * d.state_width];
    for (k, state) in args.initial_state.iter().enumerate() {
        let state = state.to_contiguous();
        for (row, values) in slice(&state).chunks_exact(d.units).enumerate() {
            init[row * d.state_width + k * d.units..][..d.units].copy_from_slice(values);
        }
    }
    init
}

/// Writes the rows of `h` times the rows of `mask` (`[rows, units]`) into `out`.
#[inline(always)]
fn drop_rows(h: View, mask: &[f32], units: usize, out: &mut [f32]) {
    for (row, (out, mask)) in out.chunks_exact_mut(units).zip(mask.chunks_exact(units)).enumerate() {
        let h = &h.data[row * h.rs..row * h.rs + units];
        for ((o, &h), &m) in out.iter_mut().zip(h).zip(mask) {
            *o = h * m;
        }
    }
}
