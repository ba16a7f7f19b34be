//! The recurrent layers: SimpleRNN, LSTM and GRU as one ONNX `RNN`, `LSTM` or `GRU` node each,
//! and [`Bidirectional`](kensho_layers::Bidirectional) as one node with
//! `direction = "bidirectional"` (the node builder and the weights live here, the wrapper's
//! merge in `bidirectional.rs`).
//!
//! - Layout: kensho's sequences are `[batch, time, features]`, the nodes run with `layout = 0`
//!   (time first; ONNX Runtime refuses `layout = 1`), so a `Transpose` goes in front and the
//!   outputs are transposed back.
//! - Weights: the kernel `[features, gates * units]` becomes `W` `[directions, gates * units,
//!   features]` and the recurrent kernel `R` likewise; an LSTM's gate blocks go from Keras'
//!   order `i, f, c, o` to ONNX's `i, o, f, c` (SimpleRNN's one gate and GRU's `z, r, h` are in
//!   ONNX's order already). `B` is the bias then the recurrent bias (a GRU's own, zeros for the
//!   other cells). A GRU is Keras' `reset_after`, ONNX's `linear_before_reset = 1`.
//! - Activations: tanh, sigmoid, relu, softplus, elu (`activation_alpha`) and linear
//!   (`Affine` with slope 1 and offset 0): every activation a kensho cell runs.
//! - `go_backwards`: the sequence (and its mask) reversed in time before a forward node, so
//!   that the output sequence comes out in kensho's (processing) order. `return_state` adds
//!   `Y_h` (and `Y_c`); initial states given as inputs become `initial_h` (and `initial_c`).
//! - Masks, whatever their pattern: see `sequence_mask.rs` (the real steps are run, compacted,
//!   with `sequence_lens`, and the output sequence is put back in time order with kensho's
//!   values at masked steps).

use super::sequence_mask::{compact, Compaction};
use super::{weight, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{Activation, KernelOptions, Layer, LayerConfig, RecurrentOptions, Shape};

/// The cells, as ONNX names their operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Rnn,
    Lstm,
    Gru,
}

/// A recurrent layer's configuration, as the export needs it.
pub(super) struct Cell<'a> {
    kind: Kind,
    /// `LSTM "lstm"` or `Bidirectional "bi"`, for errors.
    owner: String,
    units: usize,
    kernel: &'a KernelOptions,
    /// The layer's recurrent options (outputs, `go_backwards`, ...).
    pub(super) options: &'a RecurrentOptions,
}

impl Cell<'_> {
    /// The cell of a SimpleRNN, LSTM or GRU config; `owner` names the exported layer in errors.
    pub(super) fn of(config: &LayerConfig, owner: String) -> Result<Cell<'_>> {
        let (kind, units, kernel, options) = match config {
            LayerConfig::SimpleRNN(c) => (Kind::Rnn, c.units, &c.kernel, &c.recurrent),
            LayerConfig::LSTM(c) => (Kind::Lstm, c.units, &c.kernel, &c.recurrent),
            LayerConfig::GRU(c) if c.reset_after => (Kind::Gru, c.units, &c.kernel, &c.recurrent),
            _ => {
                let why = "a recurrent layer (SimpleRNN, LSTM, or GRU with reset_after)";
                return Err(Error::invalid(format!("ONNX export of {owner}"), config_kind(config), why));
            }
        };
        Ok(Cell { kind, owner, units, kernel, options })
    }

    /// The ONNX operator.
    fn op_type(&self) -> &'static str {
        match self.kind {
            Kind::Rnn => "RNN",
            Kind::Lstm => "LSTM",
            Kind::Gru => "GRU",
        }
    }

    /// The gates in a kernel's columns.
    fn gates(&self) -> usize {
        match self.kind {
            Kind::Rnn => 1,
            Kind::Lstm => 4,
            Kind::Gru => 3,
        }
    }

    /// The states a direction carries (`h`, and `c` for an LSTM).
    pub(super) fn states(&self) -> usize {
        if self.kind == Kind::Lstm {
            2
        } else {
            1
        }
    }

    /// Where ONNX's gate blocks come from in Keras' order.
    fn block_order(&self) -> &'static [usize] {
        match self.kind {
            Kind::Lstm => &[0, 3, 1, 2],
            Kind::Rnn => &[0],
            Kind::Gru => &[0, 1, 2],
        }
    }

    /// The node's activations for one direction (`f`, then `g`, then `h`), with the alphas and
    /// betas of those that take them.
    fn activations(&self) -> Result<(Vec<&'static str>, Vec<f32>, Vec<f32>)> {
        let (act, rec) = (self.kernel.activation, self.options.recurrent_activation);
        let order = match self.kind {
            Kind::Rnn => vec![act],
            Kind::Lstm => vec![rec, act, act],
            Kind::Gru => vec![rec, act],
        };
        let (mut names, mut alphas, mut betas) = (Vec::new(), Vec::new(), Vec::new());
        for a in order {
            names.push(match a {
                Activation::Tanh => "Tanh",
                Activation::Sigmoid => "Sigmoid",
                Activation::Relu => "Relu",
                Activation::Softplus => "Softplus",
                Activation::Elu { alpha } => {
                    alphas.push(alpha);
                    "Elu"
                }
                Activation::Linear => {
                    alphas.push(1.0);
                    betas.push(0.0);
                    "Affine"
                }
                other => {
                    let expected =
                        "tanh, sigmoid, relu, softplus, elu or linear (the activations of ONNX's recurrent nodes)";
                    return Err(Error::invalid(
                        format!("ONNX export of {} activation", self.owner),
                        other.name(),
                        expected,
                    ));
                }
            });
        }
        Ok((names, alphas, betas))
    }

    /// One direction's `W`, `R` and `B` (if the layer has a bias) in ONNX's layout, from the
    /// layer's weights named `{prefix}kernel`, `{prefix}recurrent_kernel`, `{prefix}bias` and a
    /// GRU's `{prefix}recurrent_bias` (`prefix` is `forward.` or `backward.` in a
    /// Bidirectional).
    fn direction_weights(&self, layer: &dyn Layer, prefix: &str) -> Result<DirectionWeights> {
        let named = |name: &str| weight(layer, &format!("{prefix}{name}")).map(|p| &p.value);
        let blocks: Vec<usize> = self.block_order().iter().flat_map(|b| b * self.units..(b + 1) * self.units).collect();
        let reorder = |t: &Tensor| t.index_select(t.ndim() - 1, &blocks);
        let b = if self.kernel.use_bias {
            let recurrent = match self.kind {
                Kind::Gru => reorder(named("recurrent_bias")?),
                Kind::Rnn | Kind::Lstm => Tensor::zeros(&[self.gates() * self.units]),
            };
            Some(Tensor::concat(&[reorder(named("bias")?), recurrent], 0))
        } else {
            None
        };
        let (w, r) = (reorder(named("kernel")?).transpose(), reorder(named("recurrent_kernel")?).transpose());
        Ok(DirectionWeights { w, r, b })
    }
}

/// One direction's weights in ONNX's layout.
struct DirectionWeights {
    /// `[gates * units, features]`.
    w: Tensor,
    /// `[gates * units, units]`.
    r: Tensor,
    /// `[2 * gates * units]`: the bias, then the recurrent bias.
    b: Option<Tensor>,
}

/// The kind of a config, for errors.
fn config_kind(config: &LayerConfig) -> String {
    config.to_layer().map_or_else(|e| e.to_string(), |l| l.kind().to_string())
}

/// The outputs of a recurrent node.
pub(super) struct Run {
    /// `Y`, `[time, directions, batch, units]`.
    pub(super) y: String,
    /// The last states, each `[directions, batch, units]`: `Y_h`, then `Y_c` for an LSTM.
    pub(super) states: Vec<String>,
    /// For a masked sequence, how `y` was compacted (its steps are not in time order).
    pub(super) compaction: Option<Compaction>,
}

/// Writes the node of `cell` (the layer `layer`) on `x` (a `[batch, time, features]`
/// sequence): `direction` is `forward` or `bidirectional`, `prefixes` the prefix of each
/// direction's weight names (see [`Cell::direction_weights`]), `initial` the initial states
/// (each `[directions, batch, units]`) if any. The weights are written as `{layer}.W`, `.R`
/// and `.B`.
pub(super) fn run(
    g: &mut OnnxGraph,
    cell: &Cell,
    layer: &dyn Layer,
    direction: &str,
    prefixes: &[&str],
    x: &Value,
    initial: &[String],
) -> Result<Run> {
    let per_direction: Vec<DirectionWeights> =
        prefixes.iter().map(|prefix| cell.direction_weights(layer, prefix)).collect::<Result<_>>()?;
    let mut stacked = |suffix: &str, part: fn(&DirectionWeights) -> Option<&Tensor>| -> String {
        let parts: Option<Vec<Tensor>> = per_direction.iter().map(|d| part(d).cloned()).collect();
        parts.map(|p| g.weight(&format!("{}.{suffix}", layer.name()), &Tensor::stack(&p, 0))).unwrap_or_default()
    };
    let (w, r, b) = (stacked("W", |d| Some(&d.w)), stacked("R", |d| Some(&d.r)), stacked("B", |d| d.b.as_ref()));
    let (sequence, compaction) = match &x.mask {
        Some(mask) => {
            let (compacted, compaction) = compact(g, &x.name, mask);
            (compacted, Some(compaction))
        }
        None => (x.name.clone(), None),
    };
    let xt = g.op("Transpose", &[&sequence], vec![Attr::ints("perm", &[1, 0, 2])]);
    let lens = compaction.as_ref().map(|c| c.lens.clone()).unwrap_or_default();
    let mut inputs: Vec<&str> = vec![&xt, &w, &r, &b, &lens];
    inputs.extend(initial.iter().map(String::as_str));
    while inputs.last() == Some(&"") {
        inputs.pop();
    }
    let (names, alphas, betas) = cell.activations()?;
    let names = names.repeat(prefixes.len());
    let mut attrs = vec![
        Attr::int("hidden_size", cell.units as i64),
        Attr::string("direction", direction),
        Attr::strings("activations", &names),
        Attr::int("layout", 0),
    ];
    if !alphas.is_empty() {
        attrs.push(Attr::floats("activation_alpha", &alphas.repeat(prefixes.len())));
    }
    if !betas.is_empty() {
        attrs.push(Attr::floats("activation_beta", &betas.repeat(prefixes.len())));
    }
    if cell.kind == Kind::Gru {
        attrs.push(Attr::int("linear_before_reset", 1));
    }
    let mut outputs = g.op_n(cell.op_type(), &inputs, attrs, 1 + cell.states());
    let y = outputs.remove(0);
    let states = match &compaction {
        Some(c) if !initial.is_empty() => outputs.iter().zip(initial).map(|(s, i)| c.last_state(g, s, i)).collect(),
        _ => outputs,
    };
    Ok(Run { y, states, compaction })
}

/// `x` with one more axis of length 1 at `axis`.
pub(super) fn unsqueeze(g: &mut OnnxGraph, x: &str, axis: i64) -> String {
    let axes = g.ints("axes", &[axis]);
    g.op("Unsqueeze", &[x, &axes], vec![])
}

/// `x` without its axis `axis` (of length 1).
pub(super) fn squeeze(g: &mut OnnxGraph, x: &str, axis: i64) -> String {
    let axes = g.ints("axes", &[axis]);
    g.op("Squeeze", &[x, &axes], vec![])
}

/// Exports a SimpleRNN, LSTM or GRU call: the sequence, then optionally its initial states.
pub(crate) fn export(
    layer: &dyn Layer,
    config: &LayerConfig,
    inputs: &[Value],
    output_shapes: &[Shape],
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let cell = Cell::of(config, format!("{} \"{}\"", layer.kind(), layer.name()))?;
    let (x, initial) = inputs.split_first().ok_or_else(|| shape_error(&cell, inputs.len(), output_shapes.len()))?;
    let options = cell.options;
    let expected_outputs = 1 + if options.return_state { cell.states() } else { 0 };
    if output_shapes.len() != expected_outputs || !(initial.is_empty() || initial.len() == cell.states()) {
        return Err(shape_error(&cell, inputs.len(), output_shapes.len()));
    }
    let initial: Vec<String> = initial.iter().map(|s| unsqueeze(g, &s.name, 0)).collect();
    let sequence = if options.go_backwards {
        let name = reverse_time(g, &x.name);
        Value { name, shape: x.shape.clone(), mask: x.mask.as_deref().map(|m| reverse_time(g, m)) }
    } else {
        x.clone()
    };
    let run = run(g, &cell, layer, "forward", &[""], &sequence, &initial)?;
    // The last states, `[batch, units]`, as far as they are used: h for the last output.
    let used = if options.return_state { run.states.len() } else { usize::from(!options.return_sequences) };
    let states: Vec<String> = run.states.iter().take(used).map(|s| squeeze(g, s, 0)).collect();
    let output = if options.return_sequences {
        let y = squeeze(g, &run.y, 1);
        let mut y = g.op("Transpose", &[&y], vec![Attr::ints("perm", &[1, 0, 2])]);
        if let Some(compaction) = &run.compaction {
            // Before the first real step the output is the initial state, `[batch, 1, units]`.
            // (unless the layer zeroes masked steps).
            let initial_h = initial.first().filter(|_| !options.zero_output_for_mask);
            let before = initial_h.map(|h| g.op("Transpose", &[h], vec![Attr::ints("perm", &[1, 0, 2])]));
            y = compaction.restore(g, &y, 3, before.as_deref(), options.zero_output_for_mask);
        }
        // The mask passes on as it came, in time order (as kensho passes it).
        Value { name: y, shape: output_shapes[0].clone(), mask: x.mask.clone() }
    } else {
        Value::new(states[0].clone(), output_shapes[0].clone())
    };
    let returned = states.into_iter().take(expected_outputs - 1);
    let states = returned.zip(&output_shapes[1..]).map(|(s, shape)| Value::new(s, shape.clone()));
    Ok(std::iter::once(output).chain(states).collect())
}

/// `[batch, time, ..]` (or a `[batch, time]` mask) with its time axis reversed.
fn reverse_time(g: &mut OnnxGraph, y: &str) -> String {
    let starts = g.ints("starts", &[-1]);
    let ends = g.ints("ends", &[i64::MIN]);
    let axes = g.ints("axes", &[1]);
    let steps = g.ints("steps", &[-1]);
    g.op("Slice", &[y, &starts, &ends, &axes, &steps], vec![])
}

/// The error for a call whose inputs or outputs do not fit the layer.
fn shape_error(cell: &Cell, inputs: usize, outputs: usize) -> Error {
    Error::invalid(
        format!("ONNX export of {} call", cell.owner),
        format!("{inputs} inputs and {outputs} outputs"),
        format!(
            "the sequence and optionally {} initial state(s), and the outputs the layer was built with",
            cell.states()
        ),
    )
}
