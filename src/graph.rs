//! [`Graph`]: a model as a graph of layer calls, the one structure that building, the forward
//! pass, training, evaluation, checkpoints and summaries work on.
//!
//! The calls are kept in the order they were made, so each call's inputs come from the model's
//! inputs or from earlier calls and running the graph is a plain loop, like the tape. A layer
//! called several times (a shared layer) is one layer with several calls. `Sequential` builds
//! a straight chain of calls; the functional API builds any other graph.

use kensho_autograd::Var;
use kensho_core::{seeded_rng, Error, Result, Tensor};
use kensho_layers::{Ctx, Layer, Shape};
use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

/// Where a value of the graph comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueRef {
    /// The model's input of this index.
    Input(usize),
    /// Output `output` of the call `call`.
    Call {
        /// The index of the call, in call order.
        call: usize,
        /// The index of the output of that call.
        output: usize,
    },
}

/// One call of a layer on values of the graph.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The index of the layer called.
    pub layer: usize,
    /// The values it is called on.
    pub inputs: Vec<ValueRef>,
}

/// A value on the tape with its mask.
type Slot<'t> = (Var<'t>, Option<Tensor>);

/// Layers, the calls made on them in order, and which values are the model's outputs.
#[derive(Default)]
pub(crate) struct Graph {
    pub(crate) layers: Vec<Box<dyn Layer>>,
    pub(crate) calls: Vec<Call>,
    pub(crate) num_inputs: usize,
    pub(crate) outputs: Vec<ValueRef>,
    /// Per-sample shapes of the inputs, once built.
    pub(crate) input_shapes: Option<Vec<Shape>>,
    /// Per-sample shapes of each call's outputs, once built.
    pub(crate) call_shapes: Option<Vec<Vec<Shape>>>,
    /// For each call, the values whose last use it is (freed after it in inference).
    pub(crate) last_uses: Vec<Vec<ValueRef>>,
}

impl Graph {
    /// Every weight, layer by layer: each layer's parameters, then its state.
    pub(crate) fn weights(&self) -> Vec<&kensho_autograd::Param> {
        self.layers.iter().flat_map(|l| l.params().into_iter().chain(l.state())).collect()
    }

    /// The index of the layer named `name`.
    pub(crate) fn layer_index(&self, name: &str) -> Option<usize> {
        self.layers.iter().position(|l| l.name() == name)
    }

    /// Checks that every call names an existing layer and reads only the model's inputs or
    /// outputs of earlier calls, and that the outputs exist (for graphs read from a file).
    pub(crate) fn check_calls(&self) -> Result<()> {
        let exists = |v: ValueRef, before: usize| match v {
            ValueRef::Input(i) => i < self.num_inputs,
            ValueRef::Call { call, .. } => call < before,
        };
        for (c, call) in self.calls.iter().enumerate() {
            if call.layer >= self.layers.len() || !call.inputs.iter().all(|&v| exists(v, c)) {
                return Err(Error::invalid(
                    format!("graph call {c}"),
                    format!("{call:?}"),
                    "a call of an existing layer on earlier values",
                ));
            }
        }
        if self.outputs.is_empty() || !self.outputs.iter().all(|&v| exists(v, self.calls.len())) {
            return Err(Error::invalid("graph outputs", format!("{:?}", self.outputs), "outputs of existing calls"));
        }
        Ok(())
    }

    /// Whether the graph is a straight chain: one input, each layer called once on the
    /// previous call's only output, the last call's output the model's only output.
    pub(crate) fn is_chain(&self) -> bool {
        let links = self.calls.iter().enumerate().all(|(c, call)| {
            let previous = if c == 0 { ValueRef::Input(0) } else { ValueRef::Call { call: c - 1, output: 0 } };
            call.layer == c && call.inputs == [previous]
        });
        let last = ValueRef::Call { call: self.calls.len().saturating_sub(1), output: 0 };
        links && self.num_inputs == 1 && self.outputs == [last]
    }

    /// The shape of a value, once built.
    pub(crate) fn shape_of(&self, value: ValueRef) -> Option<&Shape> {
        match value {
            ValueRef::Input(i) => self.input_shapes.as_ref()?.get(i),
            ValueRef::Call { call, output } => self.call_shapes.as_ref()?.get(call)?.get(output),
        }
    }

    /// The per-sample shapes of the first input and first output of layer `layer`'s first call,
    /// once built.
    pub(crate) fn first_call_shapes(&self, layer: usize) -> Option<(Shape, Shape)> {
        let c = self.calls.iter().position(|call| call.layer == layer)?;
        let input = self.shape_of(*self.calls[c].inputs.first()?)?.clone();
        let output = self.call_shapes.as_ref()?.get(c)?.first()?.clone();
        Some((input, output))
    }

    /// Forgets the shapes (after a change of layers).
    pub(crate) fn unbuild(&mut self) {
        self.input_shapes = None;
        self.call_shapes = None;
    }

    /// Builds every layer for the per-sample input shapes, in call order, creating the
    /// parameters (once: a built layer keeps its weights when built again with the same shape).
    /// Layer `i` draws its initial weights from its own stream of `seed`, so adding a layer
    /// never changes the others.
    pub(crate) fn build(&mut self, input_shapes: &[Shape], seed: u64) -> Result<()> {
        if self.layers.is_empty() {
            return Err(Error::invalid("model", "a model with no layers", "at least one layer; use .add(..)"));
        }
        if input_shapes.len() != self.num_inputs {
            return Err(Error::invalid("model input shapes", input_shapes.len(), format!("{}", self.num_inputs)));
        }
        self.check_names()?;
        self.check_calls()?;
        let mut call_shapes: Vec<Vec<Shape>> = Vec::with_capacity(self.calls.len());
        let shape_of = |shapes: &[Vec<Shape>], v: ValueRef| match v {
            ValueRef::Input(i) => Ok(input_shapes[i].clone()),
            ValueRef::Call { call, output } => shapes[call].get(output).cloned().ok_or_else(|| {
                Error::invalid(
                    format!("graph value {v:?}"),
                    output,
                    format!("an output index below {}", shapes[call].len()),
                )
            }),
        };
        let mut first_inputs: Vec<Option<Vec<Shape>>> = vec![None; self.layers.len()];
        for call in &self.calls {
            let shapes = call.inputs.iter().map(|&v| shape_of(&call_shapes, v)).collect::<Result<Vec<Shape>>>()?;
            match &first_inputs[call.layer] {
                Some(first) if *first != shapes => {
                    let layer = &self.layers[call.layer];
                    return Err(Error::invalid(
                        format!("{} \"{}\" inputs", layer.kind(), layer.name()),
                        format!("{shapes:?}"),
                        format!(
                            "the shapes of its first call, {first:?}: a shared layer is called on inputs of one shape"
                        ),
                    ));
                }
                Some(_) => {}
                None => first_inputs[call.layer] = Some(shapes.clone()),
            }
            let mut rng = seeded_rng(seed ^ (call.layer as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
            call_shapes.push(self.layers[call.layer].build_inputs(&shapes, &mut rng)?);
        }
        for &v in &self.outputs {
            shape_of(&call_shapes, v)?;
        }
        self.input_shapes = Some(input_shapes.to_vec());
        self.call_shapes = Some(call_shapes);
        self.last_uses = self.find_last_uses();
        Ok(())
    }

    /// Checks that layer names and weight names are unique, as `state_dict` keys must be.
    fn check_names(&self) -> Result<()> {
        for (i, layer) in self.layers.iter().enumerate() {
            if self.layers[..i].iter().any(|l| l.name() == layer.name()) {
                return Err(Error::invalid(
                    "layer name",
                    layer.name(),
                    "names unique within the model (rename one, for example with .named(\"other\") or with_name)",
                ));
            }
        }
        let mut names: Vec<&str> =
            self.layers.iter().flat_map(|l| l.params().into_iter().chain(l.state())).map(|p| p.name()).collect();
        names.sort_unstable();
        match names.windows(2).find(|w| w[0] == w[1]) {
            Some(w) => Err(Error::invalid("weight name", w[0], "weight names unique within the model")),
            None => Ok(()),
        }
    }

    /// For each call, the values it is the last to read (model outputs are never freed).
    fn find_last_uses(&self) -> Vec<Vec<ValueRef>> {
        let mut last_uses = vec![Vec::new(); self.calls.len()];
        let mut seen: Vec<ValueRef> = self.outputs.clone();
        for (c, call) in self.calls.iter().enumerate().rev() {
            for &v in &call.inputs {
                if !seen.contains(&v) {
                    seen.push(v);
                    last_uses[c].push(v);
                }
            }
        }
        last_uses
    }

    /// Runs the calls in order on `inputs` and returns the outputs with their masks. In
    /// inference (a no-grad tape) each value is released from the tape after its last use, so
    /// only the activations still needed are held.
    ///
    /// # Panics
    /// If the graph is not built or the inputs do not fit it (checked at the boundary).
    pub(crate) fn run<'t>(&self, inputs: &[Var<'t>], cx: &Ctx<'t>) -> SmallVec<[Slot<'t>; 1]> {
        if self.is_chain() {
            return smallvec::smallvec![self.run_chain(inputs[0], cx)];
        }
        let mut values: Vec<Vec<Option<Slot<'t>>>> = Vec::with_capacity(self.calls.len());
        let fetch = |values: &[Vec<Option<Slot<'t>>>], v: ValueRef| -> Slot<'t> {
            match v {
                ValueRef::Input(i) => (inputs[i], None),
                ValueRef::Call { call, output } => values[call][output].clone().expect("a value read after release"),
            }
        };
        let release = !cx.tape.grad_enabled();
        for (c, call) in self.calls.iter().enumerate() {
            let (vars, masks): (SmallVec<[Var<'t>; 2]>, SmallVec<[Option<Tensor>; 2]>) =
                call.inputs.iter().map(|&v| fetch(&values, v)).unzip();
            let layer = &self.layers[call.layer];
            let outputs = layer.call(&vars, &masks, cx);
            let out_masks = output_masks(layer.as_ref(), &vars, &masks);
            let out_masks = out_masks.into_iter().chain(std::iter::repeat(None));
            values.push(outputs.into_iter().zip(out_masks).map(Some).collect());
            if release {
                for &v in &self.last_uses[c] {
                    if let ValueRef::Call { call, output } = v {
                        values[call][output] = None;
                    }
                }
                let held = values.iter().flatten().flatten().map(|(v, _)| *v);
                let live: Vec<Var<'t>> = inputs.iter().copied().chain(held).collect();
                cx.tape.retain_only(&live);
            }
        }
        self.outputs.iter().map(|&v| fetch(&values, v)).collect()
    }

    /// [`Graph::run`] for a straight chain (a `Sequential`): each layer on the previous output,
    /// without the bookkeeping of a general graph.
    fn run_chain<'t>(&self, input: Var<'t>, cx: &Ctx<'t>) -> Slot<'t> {
        let release = !cx.tape.grad_enabled();
        let (mut x, mut mask) = (input, None);
        for layer in self.layers.iter().filter(|l| !l.is_input()) {
            let masks = [mask];
            let y = layer.call(&[x], &masks, cx)[0];
            mask = output_masks(layer.as_ref(), &[x], &masks).pop().flatten();
            x = y;
            if release {
                cx.tape.retain_only(&[input, x]);
            }
        }
        (x, mask)
    }
}

/// The masks of a call's outputs: the layer's own answer when an input has a mask or the layer
/// makes masks, else none (without asking).
fn output_masks(layer: &dyn Layer, inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
    if masks.iter().any(Option::is_some) || layer.makes_mask() {
        layer.compute_mask(inputs, masks)
    } else {
        Vec::new()
    }
}
