//! [`Sequential`]: a builder of a straight chain of layer calls on a [`Model`].

use crate::graph::{Call, ValueRef};
use crate::symbolic::SequentialEntry;
use crate::Model;
use kensho_layers::Layer;
use std::ops::{Deref, DerefMut};

/// A linear stack of layers (Keras' `Sequential`): each layer is called on the previous one's
/// output. It dereferences to the [`Model`] it builds, so `compile`, `fit`, `evaluate`,
/// `predict`, `summary` and checkpoints are the model's.
///
/// ```
/// use kensho::prelude::*;
/// let mut model = Sequential::new()
///     .add(Input::new(&[4]))
///     .add(Dense::new(8).activation(Activation::Relu))
///     .add(Dense::new(3).activation(Activation::Softmax));
/// model.build_model()?;
/// assert_eq!(model.layers()[1].name(), "dense");
/// assert_eq!(model.layers()[2].name(), "dense_1");
/// assert_eq!(model.count_params(), 4 * 8 + 8 + 8 * 3 + 3);
/// # Ok::<(), kensho::Error>(())
/// ```
pub struct Sequential {
    model: Model,
}

impl std::fmt::Debug for Sequential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.model.fmt(f)
    }
}

impl Default for Sequential {
    fn default() -> Self {
        Sequential::new()
    }
}

/// Keras' automatic layer name for a class name: `Dense` → `dense`, `MaxPooling2D` →
/// `max_pooling2d`, `Conv2DTranspose` → `conv2d_transpose` (a word starts at a capital after a
/// lower-case letter, or at a capital followed by a lower-case one).
pub(crate) fn snake_case(kind: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = kind.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() && i > 0 {
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if chars[i - 1].is_lowercase() || next_lower {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Keras' name for the next layer of a kind: `base`, else `base_1`, `base_2`, ... (the first
/// that is not `taken`).
pub(crate) fn unused_name(base: &str, taken: impl Fn(&str) -> bool) -> String {
    (0..)
        .map(|i| if i == 0 { base.to_string() } else { format!("{base}_{i}") })
        .find(|n| !taken(n))
        .expect("an unused name exists")
}

impl Sequential {
    /// An empty model with random seed 0 (weights are reproducible by default).
    pub fn new() -> Sequential {
        Sequential { model: Model::empty("sequential", 1) }
    }

    /// Sets the seed used for weight initialization, shuffling and dropout.
    pub fn seed(mut self, seed: u64) -> Sequential {
        self.model.seed = seed;
        self
    }

    /// Appends a layer, naming it as Keras does (`dense`, `dense_1`, ...) unless it has a name.
    /// An [`Input`](crate::Input) declares the input shape.
    #[allow(clippy::should_implement_trait)] // Keras' name; a builder, not arithmetic
    pub fn add(mut self, layer: impl SequentialEntry) -> Sequential {
        self.push(layer.into_layer());
        self
    }

    /// Appends a boxed layer (see [`Sequential::add`]).
    pub fn push(&mut self, mut layer: Box<dyn Layer>) {
        let graph = &mut self.model.graph;
        if layer.name().is_empty() {
            let name = unused_name(&snake_case(layer.kind()), |n| graph.layers.iter().any(|l| l.name() == n));
            layer.set_name(&name);
        }
        let input = match graph.calls.len() {
            0 => ValueRef::Input(0),
            n => ValueRef::Call { call: n - 1, output: 0 },
        };
        graph.calls.push(Call { layer: graph.layers.len(), inputs: vec![input] });
        graph.layers.push(layer);
        graph.outputs = vec![ValueRef::Call { call: graph.calls.len() - 1, output: 0 }];
        graph.unbuild();
        // As in Keras, a model whose input shape is declared is built as layers are added, so
        // summary() works at once. A layer that rejects its input is reported by compile / fit.
        if self.model.declared_input_shapes().is_some() {
            let _ = self.model.build_model();
        }
    }

    /// The model this builder made.
    pub fn into_model(self) -> Model {
        self.model
    }
}

impl Deref for Sequential {
    type Target = Model;
    fn deref(&self) -> &Model {
        &self.model
    }
}

impl DerefMut for Sequential {
    fn deref_mut(&mut self) -> &mut Model {
        &mut self.model
    }
}
