//! The backward pass of a recurrent sequence (backpropagation through time): per step, in
//! reverse, the cell's row gradients and one GEMM for the gradient of the previous `h`; then the
//! gradients of the input, the kernel and the recurrent kernel over all steps, one GEMM each.
//! The buffers are allocated once per pass, none per step.

use super::cells::BackwardRow;
use super::forward::initial_states;
use super::packed::PackedRight;
use super::{
    pass_threads, real, run_shards, shard_rows, slice, split_rows, zeros, Dims, RecurrentArgs, RecurrentCell,
    RecurrentGrads, RecurrentNeeds, RecurrentSpec, RecurrentTrace, Tensor, View,
};
use ndarray::{ArrayD, IxDyn};

/// What every shard of the backward time loop reads.
struct Shared<'a> {
    d: Dims,
    trace: &'a RecurrentTrace,
    init: &'a [f32],
    d_states: &'a [f32],
    mask: Option<&'a [f32]>,
    dropout: Option<&'a [f32]>,
    recurrent_kernel_t: &'a PackedRight<'a>,
    wants_h0: bool,
}

/// One shard's rows (`rows` samples from `row0`) of the buffers the time loop writes.
struct Shard<'a> {
    row0: usize,
    rows: usize,
    d_input: &'a mut [f32],
    d_rec: &'a mut [f32],
    dh: &'a mut [f32],
    dc: &'a mut [f32],
}

/// A tensor of `shape` from its row-major values.
fn tensor(values: Vec<f32>, shape: &[usize]) -> Tensor {
    Tensor::from_array(ArrayD::from_shape_vec(IxDyn(shape), values).expect("length matches shape"))
}

/// The sums of the columns of a row-major matrix of `width` columns, the columns shared among
/// the kernel threads when the matrix is large (each column is summed in row order all the same).
fn column_sums(values: &[f32], width: usize) -> Vec<f32> {
    let mut sums = vec![0.0; width];
    let per = width.div_ceil(pass_threads(values.len())).max(1);
    let pieces: Vec<(usize, &mut [f32])> = sums.chunks_mut(per).enumerate().collect();
    run_shards(pieces, |(p, sums)| {
        for row in values.chunks_exact(width) {
            sums.iter_mut().zip(&row[p * per..]).for_each(|(s, &v)| *s += v);
        }
    });
    sums
}

impl RecurrentSpec {
    /// The gradients of the operands asked for in `needs`, given the gradient `d_states` of the
    /// forward pass's [`RecurrentTrace::states`] and the trace itself.
    ///
    /// # Panics
    /// If the operands' shapes do not fit, or `d_states` does not have the shape of the states.
    #[track_caller]
    pub fn backward(
        &self,
        args: &RecurrentArgs,
        trace: &RecurrentTrace,
        d_states: &Tensor,
        needs: &RecurrentNeeds,
    ) -> RecurrentGrads {
        let d = self.dims(args).unwrap_or_else(|e| panic!("{e}"));
        let Dims { batch, time, features, units, width, .. } = d;
        assert_eq!(d_states.shape(), trace.states.shape(), "recurrent backward: gradient and states differ in shape");
        let (d_input, d_recurrent, dh, dc) = self.through_time(args, trace, d_states, &d, needs);
        let d_recurrent = d_recurrent.as_deref().unwrap_or(&d_input);
        let (x, kernel) = (args.x.to_contiguous(), args.kernel.to_contiguous());
        let mut grads = RecurrentGrads::default();
        let rows = batch * time;
        if needs.x {
            let mut dx = zeros(rows * features);
            let w_t = PackedRight::new(View::rows(slice(&kernel), width).t(), width, features);
            w_t.mul_threads(rows, View::rows(&d_input, width), 0.0, &mut dx, features);
            grads.x = Some(tensor(dx, &[batch, time, features]));
        }
        // The gates' gradient is the right operand of both weight gradients: packed once.
        let packed_input = (needs.kernel || needs.recurrent_kernel)
            .then(|| PackedRight::new(View::rows(&d_input, width), rows, width));
        if let (true, Some(d_in)) = (needs.kernel, &packed_input) {
            let mut dk = vec![0.0; features * width];
            d_in.mul_threads(features, View::rows(slice(&x), features).t(), 0.0, &mut dk, width);
            grads.kernel = Some(tensor(dk, &[features, width]));
        }
        if let (true, Some(d_in)) = (needs.recurrent_kernel, &packed_input) {
            let separate = (d_recurrent.as_ptr() != d_input.as_ptr())
                .then(|| PackedRight::new(View::rows(d_recurrent, width), rows, width));
            let h_prev = self.previous_h(args, trace, &d);
            let mut du = vec![0.0; units * width];
            separate.as_ref().unwrap_or(d_in).mul_threads(units, View::rows(&h_prev, units).t(), 0.0, &mut du, width);
            grads.recurrent_kernel = Some(tensor(du, &[units, width]));
        }
        if needs.bias && args.bias.is_some() {
            grads.bias = Some(tensor(column_sums(&d_input, width), &[width]));
        }
        if needs.recurrent_bias && args.recurrent_bias.is_some() {
            grads.recurrent_bias = Some(tensor(column_sums(d_recurrent, width), &[width]));
        }
        let finals = [Some(dh), dc];
        grads.initial_state = (0..args.initial_state.len())
            .map(|k| {
                let wanted = needs.initial_state.get(k).copied().unwrap_or(false);
                finals[k].clone().filter(|_| wanted).map(|v| tensor(v, &[batch, units]))
            })
            .collect();
        grads
    }

    /// The reverse time loop: the gradients of the gates' pre-activations on the input side
    /// (`[batch, time, width]` by input time), on the recurrent side if they differ (GRU), and
    /// the gradients of the initial `h` and (LSTM) `c`.
    #[allow(clippy::type_complexity)]
    fn through_time(
        &self,
        args: &RecurrentArgs,
        trace: &RecurrentTrace,
        d_states: &Tensor,
        d: &Dims,
        needs: &RecurrentNeeds,
    ) -> (Vec<f32>, Option<Vec<f32>>, Vec<f32>, Option<Vec<f32>>) {
        let Dims { batch, time, units, width, .. } = *d;
        let (gru, lstm) = (self.cell == RecurrentCell::Gru, self.cell == RecurrentCell::Lstm);
        let init = initial_states(args, d);
        let d_states = d_states.to_contiguous();
        let recurrent_kernel = args.recurrent_kernel.to_contiguous();
        let packed = PackedRight::new(View::rows(slice(&recurrent_kernel), width).t(), width, units);
        let (mask, dropout) =
            (args.mask.as_ref().map(Tensor::to_contiguous), args.recurrent_dropout.as_ref().map(Tensor::to_contiguous));
        let shared = Shared {
            d: *d,
            trace,
            init: &init,
            d_states: slice(&d_states),
            mask: mask.as_ref().map(slice),
            dropout: dropout.as_ref().map(slice),
            recurrent_kernel_t: &packed,
            wants_h0: needs.initial_state.first().copied().unwrap_or(false),
        };
        let mut d_input = zeros(batch * time * width);
        let mut d_rec = zeros(if gru { batch * time * width } else { 0 });
        let mut dh = vec![0.0; batch * units];
        let mut dc = vec![0.0; if lstm { batch * units } else { 0 }];
        let per = shard_rows(d);
        let shards = split_rows(&mut d_input, time * width, per, batch)
            .into_iter()
            .zip(split_rows(&mut d_rec, time * width, per, batch))
            .zip(split_rows(&mut dh, units, per, batch).into_iter().zip(split_rows(&mut dc, units, per, batch)))
            .enumerate()
            .map(|(k, ((d_input, d_rec), (dh, dc)))| {
                let rows = per.min(batch - k * per);
                Shard { row0: k * per, rows, d_input, d_rec, dh, dc }
            })
            .collect();
        run_shards(shards, |shard| {
            crate::with_wide_vectors(
                #[inline(always)]
                || self.backward_shard(&shared, shard),
            )
        });
        (d_input, gru.then_some(d_rec), dh, lstm.then_some(dc))
    }

    /// The reverse time loop over one shard of rows.
    #[inline(always)]
    fn backward_shard(&self, shared: &Shared, shard: Shard) {
        let Dims { time, units, width, state_width, .. } = shared.d;
        let Shard { row0, rows, d_input, d_rec, dh, dc } = shard;
        let gru = self.cell == RecurrentCell::Gru;
        let trace = shared.trace;
        let states = slice(&trace.states);
        let dropout = shared.dropout.map(|m| &m[row0 * units..(row0 + rows) * units]);
        let mut scratch = vec![0.0; 2 * units];
        let mut product = vec![0.0; if dropout.is_some() { rows * units } else { 0 }];
        for s in (0..time).rev() {
            let t = self.time_of(s, time);
            for row in 0..rows {
                let global = row0 + row;
                let here = (global * time + s) * state_width;
                let dh_row = &mut dh[row * units..(row + 1) * units];
                dh_row.iter_mut().zip(&shared.d_states[here..here + units]).for_each(|(g, &e)| *g += e);
                let dc_row: &mut [f32] = if dc.is_empty() { &mut [] } else { &mut dc[row * units..(row + 1) * units] };
                dc_row.iter_mut().zip(&shared.d_states[here + units..]).for_each(|(g, &e)| *g += e);
                if !real(shared.mask, time, global, t) {
                    continue; // the states were carried over: so is their gradient
                }
                let (at, local) = (global * time + t, row * time + t);
                let prev = if s == 0 { &shared.init[global * state_width..] } else { &states[here - state_width..] };
                self.backward_row(BackwardRow {
                    gates: &trace.gates[at * width..(at + 1) * width],
                    candidate: if gru { &trace.candidate[at * units..(at + 1) * units] } else { &[] },
                    prev: &prev[..state_width],
                    next: &states[here..here + state_width],
                    dh: dh_row,
                    dc: dc_row,
                    d_input: &mut d_input[local * width..(local + 1) * width],
                    d_recurrent: if gru { &mut d_rec[local * width..(local + 1) * width] } else { &mut [] },
                    scratch: &mut scratch,
                });
            }
            if s == 0 && !shared.wants_h0 {
                break;
            }
            // dh_prev += (d_recurrent U^T) ⊙ dropout mask
            let d_rec_s = View::rows(if gru { &d_rec[t * width..] } else { &d_input[t * width..] }, time * width);
            match dropout {
                Some(mask) => {
                    shared.recurrent_kernel_t.mul(rows, d_rec_s, 0.0, &mut product, units);
                    for ((g, &p), &m) in dh.iter_mut().zip(&product).zip(mask) {
                        *g += p * m;
                    }
                }
                None => shared.recurrent_kernel_t.mul(rows, d_rec_s, 1.0, dh, units),
            }
        }
    }

    /// `[batch * time, units]`, by input time: the `h` that entered each step (times the
    /// recurrent dropout mask), the left operand of the recurrent kernel's gradient.
    fn previous_h(&self, args: &RecurrentArgs, trace: &RecurrentTrace, d: &Dims) -> Vec<f32> {
        let Dims { batch, time, units, state_width, .. } = *d;
        let init = initial_states(args, d);
        let states = slice(&trace.states);
        let mask = args.recurrent_dropout.as_ref().map(Tensor::to_contiguous);
        let mask = mask.as_ref().map(slice);
        let mut h_prev = zeros(batch * time * units);
        // Samples apart, so shared among the kernel threads when large.
        let per = batch.div_ceil(pass_threads(h_prev.len())).max(1);
        let pieces: Vec<(usize, &mut [f32])> = h_prev.chunks_mut(per * time * units).enumerate().collect();
        run_shards(pieces, |(p, piece)| {
            for (r, h) in piece.chunks_exact_mut(time * units).enumerate() {
                let row = p * per + r;
                for s in 0..time {
                    let source =
                        if s == 0 { &init[row * state_width..] } else { &states[(row * time + s - 1) * state_width..] };
                    let t = self.time_of(s, time);
                    h[t * units..(t + 1) * units].copy_from_slice(&source[..units]);
                }
                if let Some(mask) = mask {
                    let m = &mask[row * units..(row + 1) * units];
                    h.chunks_exact_mut(units).for_each(|h| h.iter_mut().zip(m).for_each(|(h, &m)| *h *= m));
                }
            }
        });
        h_prev
    }
}
