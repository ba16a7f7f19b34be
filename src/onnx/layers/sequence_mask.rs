//! Masks of the recurrent layers, exactly as kensho applies them, whatever the mask (padding at
//! the end or at the start, holes): kensho carries the states over a masked step, which is the
//! same as running only the sample's real steps, in order. So the real steps of each sample are
//! moved to the front ([`compact`]: a stable permutation by `ScatterElements`), the node runs
//! their number of steps (`sequence_lens`), and each step of the output sequence is then read
//! back from the compacted one ([`Compaction::restore`]): at time `t`, the output after the
//! real steps up to `t` (`GatherElements` at `cumsum(mask)[t] - 1`), the initial state (or
//! zeros) before the first real step, and zeros at masked steps where the layer zeroes them.

use crate::onnx::graph::{Attr, OnnxGraph};
use crate::onnx::proto;

/// What [`compact`] learned about a `[batch, time]` mask, to put outputs back in time order.
pub(super) struct Compaction {
    /// `[batch]` int32: each sample's number of real steps (the node's `sequence_lens`).
    pub(super) lens: String,
    /// `[batch, time]` int64: the number of real steps up to each step, inclusive.
    count: String,
    /// The mask, `[batch, time]` bool.
    mask: String,
    /// `[batch, 1]` bool: the samples with no real step.
    empty: String,
    /// The int64 constants `[1]` and `[0]`.
    one: String,
    zero: String,
}

/// `x` (`[batch, time, features]`) with each sample's real steps first, in order, then its
/// masked steps; and what is needed to undo it.
pub(super) fn compact(g: &mut OnnxGraph, x: &str, mask: &str) -> (String, Compaction) {
    let real = g.op("Cast", &[mask], vec![Attr::int("to", i64::from(proto::INT64))]);
    let (time_axis, one, zero) = (g.ints("time_axis", &[1]), g.ints("one", &[1]), g.ints("zero", &[0]));
    let cumsum_axis = g.int_scalar("time_axis", 1);
    let count = g.op("CumSum", &[&real, &cumsum_axis], vec![]);
    let len = g.op("ReduceSum", &[&real, &time_axis], vec![Attr::int("keepdims", 1)]);
    // Real step t goes to count[t] - 1; masked step t to len + (masked steps up to t) - 1.
    let padding = g.op("Sub", &[&one, &real], vec![]);
    let padding_count = g.op("CumSum", &[&padding, &cumsum_axis], vec![]);
    let real_at = g.op("Sub", &[&count, &one], vec![]);
    let after_real = g.op("Add", &[&len, &padding_count], vec![]);
    let padding_at = g.op("Sub", &[&after_real, &one], vec![]);
    let target = g.op("Where", &[mask, &real_at, &padding_at], vec![]);
    let target = along_time(g, &target, x, 3);
    let shape = g.op("Shape", &[x], vec![]);
    let zeros = g.op("ConstantOfShape", &[&shape], vec![]);
    let compacted = g.op("ScatterElements", &[&zeros, &target, x], vec![Attr::int("axis", 1)]);
    let lens = g.op("Squeeze", &[&len, &time_axis], vec![]);
    let lens = g.op("Cast", &[&lens], vec![Attr::int("to", i64::from(proto::INT32))]);
    let empty = g.op("Equal", &[&len, &zero], vec![]);
    (compacted, Compaction { lens, count, mask: mask.to_string(), empty, one, zero })
}

/// `t` (`[batch, time]`) broadcast to the shape of `like`, of rank `rank` (`[batch, time, ..]`).
fn along_time(g: &mut OnnxGraph, t: &str, like: &str, rank: i64) -> String {
    let t = unsqueeze_after_time(g, t, rank);
    let shape = g.op("Shape", &[like], vec![]);
    g.op("Expand", &[&t, &shape], vec![])
}

/// `t` (`[batch, time]`) with axes of length 1 up to rank `rank`.
fn unsqueeze_after_time(g: &mut OnnxGraph, t: &str, rank: i64) -> String {
    let axes: Vec<i64> = (2..rank).collect();
    let axes = g.ints("axes", &axes);
    g.op("Unsqueeze", &[t, &axes], vec![])
}

impl Compaction {
    /// The node's output sequence `y` (`[batch, time, ..]` of rank `rank`, compacted) back in
    /// time order: each real step its own output, a masked step the last real output before
    /// it, or before any `before` (the initial state, `[batch, 1, units]`; zeros if `None`);
    /// with `zero_masked`, zeros at every masked step instead.
    pub(super) fn restore(
        &self,
        g: &mut OnnxGraph,
        y: &str,
        rank: i64,
        before: Option<&str>,
        zero_masked: bool,
    ) -> String {
        let last_real = g.op("Sub", &[&self.count, &self.one], vec![]);
        let index = g.op("Max", &[&last_real, &self.zero], vec![]);
        let index = along_time(g, &index, y, rank);
        let gathered = g.op("GatherElements", &[y, &index], vec![Attr::int("axis", 1)]);
        if zero_masked {
            let mask = unsqueeze_after_time(g, &self.mask, rank);
            let zeros = g.scalar("zero", 0.0);
            g.op("Where", &[&mask, &gathered, &zeros], vec![])
        } else {
            let none_yet = g.op("Equal", &[&self.count, &self.zero], vec![]);
            let none_yet = unsqueeze_after_time(g, &none_yet, rank);
            let before = before.map_or_else(|| g.scalar("zero", 0.0), str::to_string);
            g.op("Where", &[&none_yet, &before, &gathered], vec![])
        }
    }

    /// A node's last state (`[directions, batch, units]`) with `initial` (the same shape) for
    /// the samples with no real step, which ONNX Runtime gives zeros.
    pub(super) fn last_state(&self, g: &mut OnnxGraph, state: &str, initial: &str) -> String {
        g.op("Where", &[&self.empty, initial, state], vec![])
    }
}
