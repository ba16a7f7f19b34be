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
                    return Err(Error::invalid(
                        format!("Model::new: layer {layer:?}"),
                        "a layer that belongs to another model",
                        "layers of one model only: build a new graph for each model",
                    ))
                }
            }
        }
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
        model.build_model()?;
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
            format!("{} inputs and {} outputs", inputs.len(), outputs.len()),
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
        layers.iter().zip(auto_named).filter(|(_, &auto)| !auto).map(|(l, _)| l.name().to_string()).collect();
    for (layer, _) in layers.iter_mut().zip(auto_named).filter(|(_, &auto)| auto) {
        let name = unused_name(&snake_case(layer.kind()), |n| taken.iter().any(|t| t == n));
        layer.set_name(&name);
        taken.push(name);
    }
}
