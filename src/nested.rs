//! A model called as a layer of another model (Keras' nested models): [`Nested`] runs the inner
//! model's graph inside the outer one, with the inner weights (trained further with the outer
//! model), saved in the outer model's files under the nested layer's name (`encoder.dense.kernel`,
//! PyTorch's dotted paths).

use crate::checkpoint::model_file::{architecture, from_architecture};
use crate::checkpoint::torch_layout::file_layout;
use crate::graph::Graph;
use crate::symbolic::{CallLayer, SharedLayer};
use crate::{Model, WeightsLayout};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Result, Rng, Tensor};
use kensho_layers::{Ctx, Layer, LayerConfig, Shape, TorchBuffer, TorchLayout, TorchWeight};
use serde::{Deserialize, Serialize};
use std::sync::Once;

/// A model used as a layer.
pub(crate) struct Nested {
    name: String,
    /// `Functional` or `Sequential`, Keras' class names.
    class: &'static str,
    pub(crate) graph: Graph,
    seed: u64,
    /// Each inner weight's name within the inner model, in the order of [`Graph::weights`].
    own_names: Vec<String>,
}

/// The configuration of a nested model: its name and its architecture.
#[derive(Serialize, Deserialize)]
struct NestedConfig {
    name: String,
    model: serde_json::Value,
}

/// Registers the classes of nested models, so that files holding them load (once).
pub(crate) fn register_model_classes() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for class in ["Functional", "Sequential"] {
            kensho_layers::register_layer(class, move |json| {
                let config: NestedConfig = serde_json::from_value(json.clone()).map_err(|e| {
                    Error::invalid(format!("{class} layer config"), e.to_string(), "a nested model's config")
                })?;
                let mut nested = Nested::new(from_architecture(&config.model)?);
                nested.set_name(&config.name);
                Ok(Box::new(nested) as Box<dyn Layer>)
            });
        }
    });
}

impl Nested {
    fn new(model: Model) -> Nested {
        register_model_classes();
        let class = if model.graph.is_chain() && model.name() == "sequential" { "Sequential" } else { "Functional" };
        // A model with Keras' default name takes a name unique in its outer model.
        let name = if ["sequential", "functional"].contains(&model.name()) { String::new() } else { model.name };
        let own_names = model.graph.weights().iter().map(|p| p.name().to_string()).collect();
        let mut nested = Nested { name: String::new(), class, graph: model.graph, seed: model.seed, own_names };
        nested.set_name(&name);
        nested
    }

    /// Names every inner weight `{name}.{own name}` (its own name alone while unnamed).
    fn apply_names(&mut self) {
        let mut own = self.own_names.iter();
        let full = |own: &String| if self.name.is_empty() { own.clone() } else { format!("{}.{own}", self.name) };
        for layer in &mut self.graph.layers {
            for p in layer.params_mut() {
                p.set_name(own.next().map(full).unwrap_or_default());
            }
            for p in layer.state_mut() {
                p.set_name(own.next().map(full).unwrap_or_default());
            }
        }
    }
}

impl Layer for Nested {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
        self.apply_names();
    }
    fn kind(&self) -> &'static str {
        self.class
    }
    fn config(&self) -> LayerConfig {
        let model = architecture(&self.graph, &self.name, self.seed).unwrap_or(serde_json::Value::Null);
        LayerConfig::registered(self.class, &NestedConfig { name: self.name.clone(), model })
    }
    fn build_inputs(&mut self, inputs: &[Shape], _rng: &mut Rng) -> Result<Vec<Shape>> {
        if self.graph.input_shapes.as_deref() != Some(inputs) {
            let seed = self.seed;
            self.graph.build(inputs, seed).map_err(|e| {
                Error::invalid(
                    format!("{} \"{}\" inputs", self.class, self.name),
                    e.to_string(),
                    "inputs that fit the inner model",
                )
            })?;
            if self.own_names.len() != self.graph.weights().len() {
                self.own_names = self.graph.weights().iter().map(|p| p.name().to_string()).collect();
            }
            self.apply_names();
        }
        Ok(self.graph.outputs.iter().filter_map(|&v| self.graph.shape_of(v).cloned()).collect())
    }
    fn call<'t>(&self, inputs: &[Var<'t>], _masks: &[Option<Tensor>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        self.graph.run(inputs, cx).into_iter().map(|(v, _)| v).collect()
    }
    fn makes_mask(&self) -> bool {
        self.graph.layers.iter().any(|l| l.makes_mask())
    }
    fn params(&self) -> Vec<&Param> {
        self.graph.layers.iter().flat_map(|l| l.params()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.graph.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }
    fn state(&self) -> Vec<&Param> {
        self.graph.layers.iter().flat_map(|l| l.state()).collect()
    }
    fn state_mut(&mut self) -> Vec<&mut Param> {
        self.graph.layers.iter_mut().flat_map(|l| l.state_mut()).collect()
    }
    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        self.graph.layers.iter().filter_map(|l| l.regularization(tape)).reduce(|a, b| a.add(b))
    }
    fn per_sample(&self) -> bool {
        self.graph.layers.iter().all(|l| l.per_sample())
    }
    fn torch_layout(&self) -> Option<TorchLayout> {
        let inner = file_layout(&self.graph, WeightsLayout::PyTorch).ok()?;
        // The inner slots follow the inner weights layer by layer; this layer lists all the
        // parameters first, then all the state.
        let ids: Vec<_> = self.graph.weights().iter().map(|p| p.id()).collect();
        let slot_of = |p: &&Param| ids.iter().position(|&id| id == p.id()).map(|i| &inner.slots[i]);
        let weights = self
            .params()
            .iter()
            .chain(self.state().iter())
            .map(|p| slot_of(p).map(|s| TorchWeight { module: 0, name: s.key.clone(), transform: s.transform.clone() }))
            .collect::<Option<Vec<_>>>()?;
        let buffers = inner.buffers.into_iter().map(|(name, value)| TorchBuffer { module: 0, name, value }).collect();
        Some(TorchLayout { modules: 1, weights, buffers })
    }
    fn trainable(&self) -> bool {
        self.graph.layers.iter().all(|l| l.trainable())
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.graph.layers.iter_mut().for_each(|l| l.set_trainable(trainable));
    }
    fn as_any(&self) -> Option<&dyn std::any::Any> {
        Some(self)
    }
}

/// A model is called like a layer: `encoder.on(&x)?` (it becomes one layer of the new model,
/// with its weights).
impl CallLayer for Model {
    fn shared(self) -> SharedLayer {
        SharedLayer::new(Nested::new(self))
    }
}

/// A `Sequential` is called like a layer too (see [`Model`]'s implementation).
impl CallLayer for crate::Sequential {
    fn shared(self) -> SharedLayer {
        self.into_model().shared()
    }
}
