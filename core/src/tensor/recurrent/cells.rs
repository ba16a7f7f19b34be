//! The elementwise math of one step of each cell on one sample's row, forward and backward.
//! The drivers (`forward.rs`, `backward.rs`) do the matrix products, the time loop and the
//! masks; this file holds only what differs between SimpleRNN, LSTM and GRU.
//!
//! Everything here is inlined into the drivers' time loops, which are compiled for wide
//! vectors when the processor has them (`with_wide_vectors`).
//!
//! Row layouts (`u` units): gates `[u]` (SimpleRNN), `[i, f, c, o]` (LSTM), `[z, r, h]` (GRU);
//! states `[h]`, or `[h, c]` for an LSTM.

use super::{CellActivation, RecurrentCell, RecurrentSpec};

/// One sample's row of a forward step.
pub(super) struct ForwardRow<'a> {
    /// In: the gates' pre-activations (input projection plus bias, plus, except for a GRU, the
    /// recurrent projection). Out: their activations, kept for the backward pass.
    pub gates: &'a mut [f32],
    /// GRU: the recurrent projection `h U` of all three gates (empty for the other cells).
    pub recurrent: &'a [f32],
    /// GRU: the recurrent bias, if any.
    pub recurrent_bias: Option<&'a [f32]>,
    /// GRU out: `h U_h + rb_h`, kept for the backward pass.
    pub candidate: &'a mut [f32],
    /// The states before the step.
    pub prev: &'a [f32],
    /// Out: the states after the step.
    pub next: &'a mut [f32],
}

/// One sample's row of a backward step.
pub(super) struct BackwardRow<'a> {
    /// The gate activations kept by the forward pass.
    pub gates: &'a [f32],
    /// GRU: the recurrent part of the candidate kept by the forward pass.
    pub candidate: &'a [f32],
    /// The states before and after the step.
    pub prev: &'a [f32],
    pub next: &'a [f32],
    /// In: the gradient of `h` after the step. Out: the part of the gradient of the previous
    /// `h` that does not go through the recurrent kernel (GRU: `dh z`; else 0).
    pub dh: &'a mut [f32],
    /// LSTM, in: the gradient of `c` after the step; out: that of the previous `c`.
    pub dc: &'a mut [f32],
    /// Out: the gradient of the gates' pre-activations on the input side.
    pub d_input: &'a mut [f32],
    /// GRU out: the gradient of the recurrent projection (the candidate's block times `r`).
    pub d_recurrent: &'a mut [f32],
    /// Scratch of `2 * units` values.
    pub scratch: &'a mut [f32],
}

impl RecurrentSpec {
    /// The forward step of one row.
    #[inline(always)]
    pub(super) fn forward_row(&self, row: ForwardRow<'_>) {
        let (act, rec) = (self.activation, self.recurrent_activation);
        match self.cell {
            RecurrentCell::SimpleRnn => {
                act.apply(row.gates);
                row.next.copy_from_slice(row.gates);
            }
            RecurrentCell::Lstm => lstm_forward(act, rec, row),
            RecurrentCell::Gru => gru_forward(act, rec, row),
        }
    }

    /// The backward step of one row.
    #[inline(always)]
    pub(super) fn backward_row(&self, row: BackwardRow<'_>) {
        let (act, rec) = (self.activation, self.recurrent_activation);
        match self.cell {
            RecurrentCell::SimpleRnn => {
                act.slopes(row.next, row.d_input);
                row.d_input.iter_mut().zip(row.dh.iter()).for_each(|(d, &dh)| *d *= dh);
                row.dh.fill(0.0);
            }
            RecurrentCell::Lstm => lstm_backward(act, rec, row),
            RecurrentCell::Gru => gru_backward(act, rec, row),
        }
    }
}

/// `c' = f c + i g`, `h' = o act(c')` with `i, f, o = rec(..)`, `g = act(..)`.
#[inline(always)]
fn lstm_forward(act: CellActivation, rec: CellActivation, row: ForwardRow<'_>) {
    let u = row.next.len() / 2;
    let gates = row.gates;
    rec.apply(&mut gates[..2 * u]);
    act.apply(&mut gates[2 * u..3 * u]);
    rec.apply(&mut gates[3 * u..4 * u]);
    let (i, f, g, o) = (&gates[..u], &gates[u..2 * u], &gates[2 * u..3 * u], &gates[3 * u..4 * u]);
    let (h, c) = row.next.split_at_mut(u);
    let (h, c, c_prev) = (&mut h[..u], &mut c[..u], &row.prev[u..2 * u]);
    for j in 0..u {
        c[j] = f[j] * c_prev[j] + i[j] * g[j];
    }
    h.copy_from_slice(c);
    act.apply(h);
    for j in 0..u {
        h[j] *= o[j];
    }
}

#[inline(always)]
fn lstm_backward(act: CellActivation, rec: CellActivation, row: BackwardRow<'_>) {
    let u = row.dh.len();
    let gates = row.gates;
    let (i, f, g, o) = (&gates[..u], &gates[u..2 * u], &gates[2 * u..3 * u], &gates[3 * u..4 * u]);
    // The gates' slopes first, one vector pass each, then the products.
    rec.slopes(&gates[..2 * u], &mut row.d_input[..2 * u]);
    act.slopes(g, &mut row.d_input[2 * u..3 * u]);
    rec.slopes(o, &mut row.d_input[3 * u..4 * u]);
    let (tc, tc_slope) = row.scratch.split_at_mut(u);
    let (tc, tc_slope) = (&mut tc[..u], &mut tc_slope[..u]);
    tc.copy_from_slice(&row.next[u..2 * u]);
    act.apply(tc); // act(c'), recomputed rather than kept
    act.slopes(tc, tc_slope);
    let (di, rest) = row.d_input.split_at_mut(u);
    let (df, rest) = rest.split_at_mut(u);
    let (dg, d_o) = rest.split_at_mut(u);
    let (di, df, dg, d_o) = (&mut di[..u], &mut df[..u], &mut dg[..u], &mut d_o[..u]);
    let (dh, dc, c_prev) = (&mut row.dh[..u], &mut row.dc[..u], &row.prev[u..2 * u]);
    for j in 0..u {
        let dct = dc[j] + dh[j] * o[j] * tc_slope[j];
        d_o[j] *= dh[j] * tc[j];
        di[j] *= dct * g[j];
        df[j] *= dct * c_prev[j];
        dg[j] *= dct * i[j];
        dc[j] = dct * f[j];
    }
    dh.fill(0.0);
}

/// `z, r = rec(x W + b + h U + rb)`, `hh = act(x W_h + b_h + r (h U_h + rb_h))`,
/// `h' = z h + (1 - z) hh`.
#[inline(always)]
fn gru_forward(act: CellActivation, rec: CellActivation, row: ForwardRow<'_>) {
    let u = row.next.len();
    let gates = &mut row.gates[..3 * u];
    let recurrent = &row.recurrent[..3 * u];
    let candidate = &mut row.candidate[..u];
    for j in 0..2 * u {
        gates[j] += recurrent[j];
    }
    candidate.copy_from_slice(&recurrent[2 * u..]);
    if let Some(bias) = row.recurrent_bias {
        let bias = &bias[..3 * u];
        for j in 0..2 * u {
            gates[j] += bias[j];
        }
        for j in 0..u {
            candidate[j] += bias[2 * u + j];
        }
    }
    rec.apply(&mut gates[..2 * u]);
    let (zr, hh) = gates.split_at_mut(2 * u);
    let (z, r, hh) = (&zr[..u], &zr[u..2 * u], &mut hh[..u]);
    for j in 0..u {
        hh[j] += r[j] * candidate[j];
    }
    act.apply(hh);
    let (h, prev) = (&mut row.next[..u], &row.prev[..u]);
    for j in 0..u {
        h[j] = z[j] * prev[j] + (1.0 - z[j]) * hh[j];
    }
}

#[inline(always)]
fn gru_backward(act: CellActivation, rec: CellActivation, row: BackwardRow<'_>) {
    let u = row.dh.len();
    let gates = row.gates;
    let (z, r, hh) = (&gates[..u], &gates[u..2 * u], &gates[2 * u..3 * u]);
    // The slopes first (into the input-side gradient), then the products.
    rec.slopes(&gates[..2 * u], &mut row.d_input[..2 * u]);
    act.slopes(hh, &mut row.d_input[2 * u..3 * u]);
    let (dz, rest) = row.d_input.split_at_mut(u);
    let (dr, dhh) = rest.split_at_mut(u);
    let (dz, dr, dhh) = (&mut dz[..u], &mut dr[..u], &mut dhh[..u]);
    let (rz, rest) = row.d_recurrent.split_at_mut(u);
    let (rr, rh) = rest.split_at_mut(u);
    let (rz, rr, rh) = (&mut rz[..u], &mut rr[..u], &mut rh[..u]);
    let (dh, prev, candidate) = (&mut row.dh[..u], &row.prev[..u], &row.candidate[..u]);
    for j in 0..u {
        dz[j] *= dh[j] * (prev[j] - hh[j]);
        dhh[j] *= dh[j] * (1.0 - z[j]);
        dr[j] *= dhh[j] * candidate[j];
        rz[j] = dz[j];
        rr[j] = dr[j];
        rh[j] = dhh[j] * r[j];
        dh[j] *= z[j];
    }
}
