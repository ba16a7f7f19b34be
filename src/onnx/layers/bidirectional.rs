//! [`Bidirectional`](kensho_layers::Bidirectional): one recurrent node with
//! `direction = "bidirectional"` (the forward copy's weights, then the backward copy's), whose
//! two directions are merged as the wrapper's merge mode says.
//!
//! On the masked sequence, compacted as `sequence_mask.rs` says, the node's backward direction
//! runs the real steps from the last to the first, as the wrapper's backward copy does; its
//! output sequence, like the forward one, is put back in time order with zeros at masked steps
//! (the wrapper zeroes them in both directions).

use super::recurrent::{run, squeeze, unsqueeze, Cell};
use super::Value;
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_core::{Error, Result};
use kensho_layers::{BidirectionalConfig, Layer, MergeMode, Shape};

/// Exports a Bidirectional call: the sequence, then optionally the forward direction's initial
/// states and the backward direction's.
pub(crate) fn export(
    layer: &dyn Layer,
    config: &BidirectionalConfig,
    inputs: &[Value],
    output_shapes: &[Shape],
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let owner = format!("Bidirectional \"{}\"", layer.name());
    let cell = Cell::of(&config.layer, owner.clone())?;
    let options = cell.options;
    let merged = if config.merge_mode.is_some() { 1 } else { 2 };
    let states = if options.return_state { 2 * cell.states() } else { 0 };
    let (x, initial) = match inputs.split_first() {
        Some((x, initial)) if initial.is_empty() || initial.len() == 2 * cell.states() => (x, initial),
        _ => {
            return Err(Error::invalid(
                format!("ONNX export of {owner} inputs"),
                inputs.len(),
                "the sequence, then optionally the initial states of both directions",
            ))
        }
    };
    if output_shapes.len() != merged + states {
        let what = format!("ONNX export of {owner} outputs");
        return Err(Error::invalid(what, output_shapes.len(), format!("{} (as built)", merged + states)));
    }
    // initial_h (and initial_c): `[2, batch, units]`, the forward state then the backward.
    let (forward, backward) = initial.split_at(initial.len() / 2);
    let initial: Vec<String> = forward
        .iter()
        .zip(backward)
        .map(|(f, b)| {
            let (f, b) = (unsqueeze(g, &f.name, 0), unsqueeze(g, &b.name, 0));
            g.op("Concat", &[&f, &b], vec![Attr::int("axis", 0)])
        })
        .collect();
    let run = run(g, &cell, layer, "bidirectional", &["forward.", "backward."], x, &initial)?;
    // Each direction's last states, `[batch, units]`: forward h (c), then backward h (c).
    let mut last = [Vec::new(), Vec::new()];
    for state in run.states.iter().filter(|_| options.return_state) {
        for (k, s) in g.op_n("Split", &[state], vec![Attr::int("axis", 0)], 2).into_iter().enumerate() {
            last[k].push(squeeze(g, &s, 0));
        }
    }
    // The two directions' outputs along an axis of length 2: `[batch, time, 2, units]` from
    // `Y`, or `[batch, 2, units]` from `Y_h`.
    let (pair, axis) = if options.return_sequences {
        let pair = g.op("Transpose", &[&run.y], vec![Attr::ints("perm", &[2, 0, 1, 3])]);
        match &run.compaction {
            Some(compaction) => (compaction.restore(g, &pair, 4, None, true), 2),
            None => (pair, 2),
        }
    } else {
        (g.op("Transpose", &[&run.states[0]], vec![Attr::ints("perm", &[1, 0, 2])]), 1)
    };
    let outputs = merge(g, config.merge_mode, &pair, axis);
    let mask = x.mask.clone().filter(|_| options.return_sequences);
    let outputs = outputs.into_iter().map(|name| (name, mask.clone()));
    let states = last.into_iter().flatten().take(states).map(|name| (name, None));
    Ok(outputs
        .chain(states)
        .zip(output_shapes)
        .map(|((name, mask), shape)| Value { name, shape: shape.clone(), mask })
        .collect())
}

/// The merged output(s) of the two directions, which `pair` holds along `axis` (the
/// second-to-last): concatenated on the last axis, added, multiplied, averaged, or both.
fn merge(g: &mut OnnxGraph, mode: Option<MergeMode>, pair: &str, axis: i64) -> Vec<String> {
    let halves = g.op_n("Split", &[pair], vec![Attr::int("axis", axis)], 2);
    let [forward, backward] = [0, 1].map(|k| squeeze(g, &halves[k], axis));
    let both = [forward.as_str(), backward.as_str()];
    let merged = match mode {
        None => return vec![forward, backward],
        Some(MergeMode::Concat) => g.op("Concat", &both, vec![Attr::int("axis", -1)]),
        Some(MergeMode::Sum) => g.op("Add", &both, vec![]),
        Some(MergeMode::Mul) => g.op("Mul", &both, vec![]),
        Some(MergeMode::Ave) => {
            let sum = g.op("Add", &both, vec![]);
            let half = g.scalar("half", 0.5);
            g.op("Mul", &[&sum, &half], vec![])
        }
    };
    vec![merged]
}
