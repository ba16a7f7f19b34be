//! `Model::new(inputs, outputs)`: a model from the symbolic tensors of the functional API, and
//! models made from parts of a model (feature extraction).
//!
//! The calls that lead from the inputs to the outputs become the model's [`Graph`], in the
//! order they were made (an order in which every call follows the calls it reads); each layer,
//! however often called, becomes one layer of the model.

use crate::graph::{Call, Graph, ValueRef};
use crate::sequential::{snake_case, unused_name};
use crate::symbolic::{CallNode, SharedLayer, SymbolicTensor};
use crate::Model;
use kensho_core::{Error, Result};
use kensho_layers::Layer;
use std::sync::Arc;

impl Model {
    /// A model from symbolic inputs to symbolic outputs (Keras' functional
    /// `Model(inputs, outputs)`), built at once with seed 0.
    ///
    /// ```
    /// use kensho::prelude::*;
    /// // A residual block: the input added to the output of two layers.
    /// let x = Input::new(&[8]);
    /// let h = Dense::new(8).activation(Activation::Relu).on(&x)?;
    /// let h = Dense::new(8).on(&h)?;
    /// let y = Add::new().on_all(&[&x, &h])?;
    /// let model = Model::new(&[&x], &[&y])?;
    /// assert_eq!(model.output_shape().unwrap().to_string(), "[8]");
    /// # Ok::<(), kensho::Error>(())
    /// ```
    ///
    /// # Errors
    /// If an output does not depend on the given inputs only (it reads an input not listed),
    /// an input leads to no output, a tensor is listed twice, a layer belongs to another model
    /// already, or two layers share a name.
    pub fn new(inputs: &[&SymbolicTensor], outputs: &[&SymbolicTensor]) -> Result<Model> {
        Model::with_seed(inputs, outputs, 0)
    }

    /// [`Model::new`] with a seed for the initial weights, shuffling and dropout (the same
    /// layers in the same order draw the same weights as a `Sequential` with this seed).
    ///
    /// # Errors
    /// As [`Model::new`].
    pub fn with_seed(inputs: &[&SymbolicTensor], outputs: &[&SymbolicTensor], seed: u64) -> Result<Model> {
        let calls = reachable_calls(outputs);
        check_ends(inputs, outputs, &calls)?;
        let mut layers: Vec<SharedLayer> = Vec::new();
        for call in &calls {
            if !layers.iter().any(|l| l.same(&call.layer)) {
                layers.push(call.layer.clone());
            }
        }
        let position = |call: &Arc<CallNode>| calls.iter().position(|c| Arc::ptr_eq(c, call)).expect("reachable");
        let value_of = |t: &SymbolicTensor| ValueRef::Call { call: position(&t.call), output: t.output };
        let graph_calls: Vec<Call> = calls
            .iter()
            .map(|call| Call {
                layer: layers.iter().position(|l| l.same(&call.layer)).expect("collected"),
                inputs: match call.inputs.is_empty() {
                    true => vec![ValueRef::Input(
                        inputs.iter().position(|t| Arc::ptr_eq(&t.call, call)).expect("inputs checked"),
                    )],
                    false => call.inputs.iter().map(value_of).collect(),
                },
            })
            .collect();
        let auto_named: Vec<bool> = layers.iter().map(SharedLayer::auto_named).collect();
        let mut boxes = Vec::with_capacity(layers.len());
        for layer in &layers {
            match layer.take() {
                Some(b) => boxes.push(b),
                None => {
                    let error = Error::invalid(
                        format!("Model::new: layer {}", layer.label()),
                        "a layer that belongs to another model",
                        "layers of one model only: build a new graph for each model",
                    );
                    layers.iter().zip(boxes).for_each(|(l, b)| l.restore(b));
                    return Err(error);
                }
            }
        }
        let names: Vec<String> = boxes.iter().map(|b| b.name().to_string()).collect();
        unique_names(&mut boxes, &auto_named);
        let mut model = Model::empty("functional", inputs.len());
        model.seed = seed;
        model.graph = Graph {
            layers: boxes,
            calls: graph_calls,
            num_inputs: inputs.len(),
            outputs: outputs.iter().map(|&t| value_of(t)).collect(),
            ..Graph::default()
        };
        if let Err(error) = model.build_model() {
            // A model that cannot be made leaves its layers to the graph, as they were.
            for ((layer, mut b), name) in layers.iter().zip(std::mem::take(&mut model.graph.layers)).zip(&names) {
                b.set_name(name);
                layer.restore(b);
            }
            return Err(error);
        }
        for (layer, b) in layers.iter().zip(model.layers()) {
            layer.owned_as(b.name());
        }
        Ok(model)
    }
}

/// The calls that the outputs depend on, in the order they were made.
fn reachable_calls(outputs: &[&SymbolicTensor]) -> Vec<Arc<CallNode>> {
    let mut seen: Vec<Arc<CallNode>> = Vec::new();
    let mut stack: Vec<Arc<CallNode>> = outputs.iter().map(|t| t.call.clone()).collect();
    while let Some(call) = stack.pop() {
        if seen.iter().any(|c| Arc::ptr_eq(c, &call)) {
            continue;
        }
        stack.extend(call.inputs.iter().map(|t| t.call.clone()));
        seen.push(call);
    }
    seen.sort_by_key(|c| c.order);
    seen
}

/// Checks that the inputs are distinct model inputs that each lead to an output, and that every
/// input the outputs read is among them.
fn check_ends(inputs: &[&SymbolicTensor], outputs: &[&SymbolicTensor], calls: &[Arc<CallNode>]) -> Result<()> {
    if inputs.is_empty() || outputs.is_empty() {
        return Err(Error::invalid(
            "Model::new",
            format!(
                "{} input{} and {} output{}",
                inputs.len(),
                if inputs.len() == 1 { "" } else { "s" },
                outputs.len(),
                if outputs.len() == 1 { "" } else { "s" }
            ),
            "at least one input (Input::new) and one output",
        ));
    }
    for (i, t) in inputs.iter().enumerate() {
        if !t.is_input() {
            return Err(Error::invalid(
                format!("Model::new: input {i}"),
                format!("the output of layer \"{}\"", t.name()),
                "a symbolic tensor made by Input::new",
            ));
        }
        if inputs[..i].iter().any(|o| Arc::ptr_eq(&o.call, &t.call)) {
            return Err(Error::invalid(format!("Model::new: input {i}"), t.name(), "each input listed once"));
        }
        if !calls.iter().any(|c| Arc::ptr_eq(c, &t.call)) {
            return Err(Error::invalid(
                format!("Model::new: input \"{}\"", t.name()),
                "an input that no output depends on",
                "inputs connected to the outputs (remove it, or use it in the graph)",
            ));
        }
    }
    for call in calls.iter().filter(|c| c.inputs.is_empty()) {
        if !inputs.iter().any(|t| Arc::ptr_eq(&t.call, call)) {
            let name = call.layer.name();
            return Err(Error::invalid(
                "Model::new: outputs",
                format!("outputs that read the input \"{name}\""),
                format!("outputs computed from the given inputs only: add \"{name}\" to the inputs"),
            ));
        }
    }
    for (o, t) in outputs.iter().enumerate() {
        if outputs[..o].iter().any(|p| Arc::ptr_eq(&p.call, &t.call) && p.output == t.output) {
            return Err(Error::invalid(format!("Model::new: output {o}"), t.name(), "each output listed once"));
        }
    }
    Ok(())
}

/// Makes the names given by Keras' rule unique (`dense`, `dense_1`, ...), around the names the
/// user chose (a clash between two chosen names is reported when the model builds).
fn unique_names(layers: &mut [Box<dyn Layer>], auto_named: &[bool]) {
    let mut taken: Vec<String> =
        layers.iter().zip(auto_named).filter(|&(_, &auto)| !auto).map(|(l, _)| l.name().to_string()).collect();
    for (layer, _) in layers.iter_mut().zip(auto_named).filter(|&(_, &auto)| auto) {
        let name = unused_name(&snake_case(layer.kind()), |n| taken.iter().any(|t| t == n));
        layer.set_name(&name);
        taken.push(name);
    }
}

impl Model {
    /// A model from this model's inputs to the outputs of the named layers, with copies of the
    /// weights they use (Keras' `Model(m.input, m.get_layer("x").output)`, for feature
    /// extraction and transfer learning). Only the inputs the outputs read are kept.
    ///
    /// ```
    /// use kensho::prelude::*;
    /// let x = Input::new(&[4]);
    /// let features = Dense::new(3).activation(Activation::Relu).named("features").on(&x)?;
    /// let y = Dense::new(2).on(&features)?;
    /// let model = Model::new(&[&x], &[&y])?;
    /// let extractor = model.feature_extractor(&["features"])?;
    /// assert_eq!(extractor.output_shape().unwrap().to_string(), "[3]");
    /// assert_eq!(extractor.count_params(), 4 * 3 + 3);
    /// # Ok::<(), kensho::Error>(())
    /// ```
    ///
    /// # Errors
    /// If a name is not a layer of the model, names a layer called several times (its output
    /// is ambiguous) or an input declaration, or a layer cannot be copied from its
    /// configuration (a user-defined layer that is not registered).
    pub fn feature_extractor(&self, layer_names: &[&str]) -> Result<Model> {
        let graph = &self.graph;
        let mut outputs = Vec::with_capacity(layer_names.len());
        for &name in layer_names {
            let layer = graph.layer_index(name).ok_or_else(|| {
                let names: Vec<&str> = graph.layers.iter().map(|l| l.name()).collect();
                Error::invalid("feature_extractor: layer", name, format!("one of the layers {names:?}"))
            })?;
            let calls: Vec<usize> = (0..graph.calls.len()).filter(|&c| graph.calls[c].layer == layer).collect();
            match calls[..] {
                [call] if !graph.layers[layer].is_input() => outputs.push(ValueRef::Call { call, output: 0 }),
                _ => {
                    return Err(Error::invalid(
                        format!("feature_extractor: layer \"{name}\""),
                        match (graph.layers[layer].is_input(), calls.len()) {
                            (true, _) => "an input declaration".to_string(),
                            (false, n) => format!("a layer called {n} times"),
                        },
                        "a layer called once",
                    ))
                }
            }
        }
        // The calls the outputs depend on, in order, and the inputs they read.
        let mut needed = vec![false; graph.calls.len()];
        let mut stack: Vec<ValueRef> = outputs.clone();
        let mut inputs: Vec<usize> = Vec::new();
        while let Some(v) = stack.pop() {
            match v {
                ValueRef::Input(i) if !inputs.contains(&i) => inputs.push(i),
                ValueRef::Call { call, .. } if !needed[call] => {
                    needed[call] = true;
                    stack.extend(&graph.calls[call].inputs);
                }
                _ => {}
            }
        }
        inputs.sort_unstable();
        let kept_calls: Vec<usize> = (0..graph.calls.len()).filter(|&c| needed[c]).collect();
        let mut kept_layers: Vec<usize> = kept_calls.iter().map(|&c| graph.calls[c].layer).collect();
        kept_layers.sort_unstable();
        kept_layers.dedup();
        let renumber = |v: ValueRef| match v {
            ValueRef::Input(i) => ValueRef::Input(inputs.iter().position(|&k| k == i).expect("kept")),
            ValueRef::Call { call, output } => {
                ValueRef::Call { call: kept_calls.iter().position(|&k| k == call).expect("kept"), output }
            }
        };
        let calls = kept_calls
            .iter()
            .map(|&c| Call {
                layer: kept_layers.iter().position(|&l| l == graph.calls[c].layer).expect("kept"),
                inputs: graph.calls[c].inputs.iter().map(|&v| renumber(v)).collect(),
            })
            .collect();
        let mut layers = Vec::with_capacity(kept_layers.len());
        for &l in &kept_layers {
            let mut copy = graph.layers[l].config().to_layer()?;
            copy.set_name(graph.layers[l].name());
            layers.push(copy);
        }
        let mut model = Model::empty("functional", inputs.len());
        model.seed = self.seed;
        model.graph = Graph {
            layers,
            calls,
            num_inputs: inputs.len(),
            outputs: outputs.iter().map(|&v| renumber(v)).collect(),
            ..Graph::default()
        };
        let shapes = self.input_shapes().ok_or_else(|| {
            Error::invalid("feature_extractor", "an unbuilt model", "a built model (call build or fit first)")
        })?;
        model.build_inputs(&inputs.iter().map(|&i| shapes[i].clone()).collect::<Vec<_>>())?;
        let values: Vec<(kensho_autograd::ParamId, kensho_core::Tensor)> = kept_layers
            .iter()
            .zip(&model.graph.layers)
            .flat_map(|(&l, copy)| {
                let source = &graph.layers[l];
                let old = source.params().into_iter().chain(source.state()).map(|p| p.value.clone());
                copy.params().into_iter().chain(copy.state()).map(|p| p.id()).zip(old).collect::<Vec<_>>()
            })
            .collect();
        model.set_weight_values(&values);
        Ok(model)
    }
}
