//! The functional API's handles: [`SymbolicTensor`], a value of a graph that has not run yet
//! (the layer call that makes it and its per-sample shape); [`Input`], which starts a graph;
//! and [`SharedLayer`] / [`CallLayer`], which call layers on symbolic tensors.
//!
//! Calling a layer infers its output shapes at once, so a mistake is reported where it is made
//! (the message names the layer and the shapes). The shapes come from a probe: a copy of the
//! layer made from its configuration and built on the call's shapes. The layer itself stays
//! unbuilt until [`Model::new`](crate::Model::new) builds the whole graph with the model's
//! seed, so a functional model draws the same weights as the `Sequential` of the same layers.
//! (A user-defined layer that is not registered cannot be copied from its configuration: it
//! is built at its first call instead, with seed 0.)

use crate::sequential::snake_case;
use kensho_core::{seeded_rng, Error, Result};
use kensho_layers::{Layer, Shape};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// Numbers calls in the order they are made, which is an order where every call comes after
/// the calls whose outputs it reads.
static NEXT_CALL: AtomicU64 = AtomicU64::new(0);

/// Locks a mutex, ignoring poisoning (the data is a layer, valid after any panic in a caller).
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A layer with the state of its calls: the layer itself until a model takes it, and the probe
/// that gives shapes.
pub(crate) struct LayerCell {
    layer: Mutex<Option<Box<dyn Layer>>>,
    /// Set at the first call.
    probe: Mutex<Option<Probe>>,
    /// Whether the name was given by Keras' rule, so a model may change it to keep names unique.
    auto_named: AtomicBool,
    kind: &'static str,
    /// The layer's name in the model that took it (for the messages about later calls).
    owned_as: Mutex<String>,
}

/// What the first call of a layer leaves for the next ones.
struct Probe {
    /// A built copy of the layer for shape inference (`None` if the layer cannot be copied from
    /// its configuration: the layer itself was built).
    copy: Option<Box<dyn Layer>>,
    /// The input shapes of the first call (every call of a shared layer must match them).
    first_inputs: Vec<Shape>,
}

/// A layer that can be called several times; every call uses the same weights (Keras' shared
/// layers, such as the two towers of a siamese network).
///
/// ```
/// use kensho::prelude::*;
/// let (a, b) = (Input::new(&[4]), Input::new(&[4]));
/// let shared = Dense::new(3).shared();
/// let (ya, yb) = (shared.on(&a)?, shared.on(&b)?);
/// let model = Model::new(&[&a, &b], &[&Subtract::new().on_all(&[&ya, &yb])?])?;
/// assert_eq!(model.count_params(), 4 * 3 + 3); // one Dense, called twice
/// # Ok::<(), kensho::Error>(())
/// ```
#[derive(Clone)]
pub struct SharedLayer(pub(crate) Arc<LayerCell>);

impl std::fmt::Debug for SharedLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SharedLayer({})", self.label())
    }
}

impl SharedLayer {
    /// Wraps a layer so that it can be called on symbolic tensors. An unnamed layer is named
    /// as Keras does (`dense`); its model makes the name unique (`dense_1`, ...).
    pub fn new(layer: impl Layer + 'static) -> SharedLayer {
        SharedLayer::from_box(Box::new(layer))
    }

    /// [`SharedLayer::new`] for a boxed layer.
    pub fn from_box(mut layer: Box<dyn Layer>) -> SharedLayer {
        let auto_named = layer.name().is_empty();
        if auto_named {
            layer.set_name(&snake_case(layer.kind()));
        }
        SharedLayer(Arc::new(LayerCell {
            kind: layer.kind(),
            layer: Mutex::new(Some(layer)),
            probe: Mutex::new(None),
            auto_named: AtomicBool::new(auto_named),
            owned_as: Mutex::new(String::new()),
        }))
    }

    /// The layer's name (empty once a model has taken the layer).
    pub fn name(&self) -> String {
        lock(&self.0.layer).as_ref().map_or(String::new(), |l| l.name().to_string())
    }

    /// Renames the layer (names must be unique within a model).
    pub fn set_name(&self, name: &str) {
        if let Some(layer) = lock(&self.0.layer).as_mut() {
            layer.set_name(name);
            self.0.auto_named.store(false, Ordering::Relaxed);
        }
    }

    /// Calls the layer on one symbolic tensor, for a layer with one output.
    ///
    /// # Errors
    /// If the layer rejects the input's shape, has several outputs, or belongs to a model
    /// already.
    pub fn on(&self, input: &SymbolicTensor) -> Result<SymbolicTensor> {
        self.on_all(&[input])
    }

    /// Calls the layer on several symbolic tensors (a merge such as `Add`), for a layer with one
    /// output.
    ///
    /// # Errors
    /// As [`SharedLayer::on`].
    pub fn on_all(&self, inputs: &[&SymbolicTensor]) -> Result<SymbolicTensor> {
        let mut outputs = self.call_symbolic(inputs)?;
        if outputs.len() != 1 {
            return Err(Error::invalid(
                format!("{} \"{}\" outputs", self.0.kind, self.name()),
                outputs.len(),
                "one output for on() / on_all(); use call_symbolic() for several",
            ));
        }
        Ok(outputs.remove(0))
    }

    /// Calls the layer on symbolic tensors and gives one symbolic tensor per output.
    ///
    /// # Errors
    /// If there is no input, the layer rejects the inputs' shapes (the message names the layer
    /// and the shapes), a shared layer is called on other shapes than at its first call, or the
    /// layer belongs to a model already.
    pub fn call_symbolic(&self, inputs: &[&SymbolicTensor]) -> Result<Vec<SymbolicTensor>> {
        if inputs.is_empty() {
            return Err(Error::invalid(
                format!("{} \"{}\" call", self.0.kind, self.name()),
                "no inputs",
                "at least one symbolic tensor, such as Input::new(&[..])",
            ));
        }
        let shapes: Vec<Shape> = inputs.iter().map(|t| t.shape.clone()).collect();
        let output_shapes = self.infer(&shapes)?;
        let call = Arc::new(CallNode {
            order: NEXT_CALL.fetch_add(1, Ordering::Relaxed),
            layer: self.clone(),
            inputs: inputs.iter().map(|&t| t.clone()).collect(),
        });
        Ok(output_shapes
            .into_iter()
            .enumerate()
            .map(|(output, shape)| SymbolicTensor { call: call.clone(), output, shape })
            .collect())
    }

    /// The output shapes of a call on `shapes`, from the probe (made at the first call).
    fn infer(&self, shapes: &[Shape]) -> Result<Vec<Shape>> {
        let mut probe = lock(&self.0.probe);
        let mut rng = seeded_rng(0);
        match probe.as_mut() {
            Some(Probe { first_inputs: first, .. }) if first.as_slice() != shapes => Err(Error::invalid(
                format!("{} \"{}\" inputs", self.0.kind, self.name()),
                shapes_text(shapes),
                format!(
                    "the shapes of its first call, {}: a shared layer is called on inputs of one shape",
                    shapes_text(first)
                ),
            )),
            Some(Probe { copy: Some(copy), .. }) => copy.build_inputs(shapes, &mut rng),
            Some(Probe { copy: None, .. }) => self.with_layer(|layer| layer.build_inputs(shapes, &mut rng))?,
            None => {
                let copy = self.with_layer(|layer| {
                    let mut copy = layer.config().to_layer().ok()?;
                    copy.set_name(layer.name());
                    Some(copy)
                })?;
                let result = match copy {
                    Some(mut copy) => {
                        let shapes_out = copy.build_inputs(shapes, &mut rng)?;
                        *probe = Some(Probe { copy: Some(copy), first_inputs: shapes.to_vec() });
                        shapes_out
                    }
                    None => {
                        let shapes_out = self.with_layer(|layer| layer.build_inputs(shapes, &mut rng))??;
                        *probe = Some(Probe { copy: None, first_inputs: shapes.to_vec() });
                        shapes_out
                    }
                };
                Ok(result)
            }
        }
    }

    /// Runs `f` on the layer, or fails if a model has taken it.
    fn with_layer<T>(&self, f: impl FnOnce(&mut Box<dyn Layer>) -> T) -> Result<T> {
        if let Some(layer) = lock(&self.0.layer).as_mut() {
            return Ok(f(layer));
        }
        Err(Error::invalid(
            self.label(),
            "a layer that belongs to a model already",
            "a new layer: a model owns its layers once Model::new has made it",
        ))
    }

    /// `Dense "tower"`: the kind and the name, or the name in its model once a model took it.
    pub(crate) fn label(&self) -> String {
        let name = self.name();
        let name = if name.is_empty() { lock(&self.0.owned_as).clone() } else { name };
        format!("{} \"{name}\"", self.0.kind)
    }

    /// Takes the layer out for a model: [`SharedLayer::restore`] it if the model cannot be
    /// made, or mark it [`SharedLayer::owned_as`] once it is.
    pub(crate) fn take(&self) -> Option<Box<dyn Layer>> {
        lock(&self.0.layer).take()
    }

    /// Puts back a layer taken for a model that could not be made.
    pub(crate) fn restore(&self, layer: Box<dyn Layer>) {
        *lock(&self.0.layer) = Some(layer);
    }

    /// Records that a model took the layer under `name`, and drops the probe (so that later
    /// calls fail instead of inferring shapes for a layer that is gone).
    pub(crate) fn owned_as(&self, name: &str) {
        *lock(&self.0.probe) = None;
        *lock(&self.0.owned_as) = name.to_string();
    }

    /// Whether the layer is still here and named by Keras' rule.
    pub(crate) fn auto_named(&self) -> bool {
        self.0.auto_named.load(Ordering::Relaxed)
    }

    /// The same layer (not a copy).
    pub(crate) fn same(&self, other: &SharedLayer) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

/// `[4], [None, 16]`.
fn shapes_text(shapes: &[Shape]) -> String {
    shapes.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// One call of a layer on symbolic tensors.
pub(crate) struct CallNode {
    /// When the call was made (see [`NEXT_CALL`]).
    pub(crate) order: u64,
    pub(crate) layer: SharedLayer,
    /// The call's inputs; none for a model input.
    pub(crate) inputs: Vec<SymbolicTensor>,
}

/// A value of a graph being built with the functional API: which layer call gives it, and its
/// per-sample shape. Cheap to clone. Start from [`Input::new`], call layers on it with
/// [`CallLayer::on`], and make a model from inputs and outputs with
/// [`Model::new`](crate::Model::new).
#[derive(Clone)]
pub struct SymbolicTensor {
    pub(crate) call: Arc<CallNode>,
    pub(crate) output: usize,
    shape: Shape,
}

impl std::fmt::Debug for SymbolicTensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SymbolicTensor({} output {}, shape {})", self.call.layer.name(), self.output, self.shape)
    }
}

impl SymbolicTensor {
    /// The per-sample shape (without the batch axis).
    pub fn shape(&self) -> &Shape {
        &self.shape
    }

    /// The name of the layer that gives this value (for an input, the input's name).
    pub fn name(&self) -> String {
        self.call.layer.name()
    }

    /// Renames the layer that gives this value, for example to name a model input (fed by
    /// name to `fit`) or an output (whose losses and metrics are logged under its name).
    pub fn with_name(self, name: &str) -> SymbolicTensor {
        self.call.layer.set_name(name);
        self
    }

    /// Whether this is a model input (made by [`Input::new`]).
    pub(crate) fn is_input(&self) -> bool {
        self.call.inputs.is_empty()
    }
}

/// Starts a functional model: a symbolic input of a per-sample shape (Keras' `keras.Input`).
/// Also the first entry of a [`Sequential`](crate::Sequential), where it declares the input
/// shape.
///
/// ```
/// use kensho::prelude::*;
/// let inputs = Input::new(&[784]).with_name("pixels");
/// let hidden = Dense::new(64).activation(Activation::Relu).on(&inputs)?;
/// let outputs = Dense::new(10).activation(Activation::Softmax).on(&hidden)?;
/// let model = Model::new(&[&inputs], &[&outputs])?;
/// assert_eq!(model.count_params(), 784 * 64 + 64 + 64 * 10 + 10);
/// # Ok::<(), kensho::Error>(())
/// ```
pub struct Input;

impl Input {
    /// A model input of the given per-sample shape (for example `&[784]` or `&[28, 28, 1]`).
    #[allow(clippy::new_ret_no_self)] // Keras' `Input(shape)` gives a symbolic tensor
    pub fn new(shape: &[usize]) -> SymbolicTensor {
        Input::with_shape(Shape::known(shape))
    }

    /// A model input whose shape may have unknown dimensions, such as a sequence of any
    /// length: `Input::with_shape(Shape::new(vec![None, Some(16)]))`.
    pub fn with_shape(shape: Shape) -> SymbolicTensor {
        let layer = SharedLayer::new(kensho_layers::Input::with_shape(shape.clone()));
        let call = Arc::new(CallNode { order: NEXT_CALL.fetch_add(1, Ordering::Relaxed), layer, inputs: Vec::new() });
        SymbolicTensor { call, output: 0, shape }
    }
}

/// Calling any layer on symbolic tensors: `Dense::new(8).on(&x)?`. Each call of a layer value
/// makes a new layer; to call one layer several times (shared weights), make it
/// [`shared`](CallLayer::shared) first.
pub trait CallLayer: Sized {
    /// The layer as a [`SharedLayer`], to call it several times.
    fn shared(self) -> SharedLayer;

    /// Names the layer (it must be unique within its model) and wraps it for calls.
    fn named(self, name: &str) -> SharedLayer {
        let layer = self.shared();
        layer.set_name(name);
        layer
    }

    /// Calls the layer on one symbolic tensor (see [`SharedLayer::on`]).
    ///
    /// # Errors
    /// If the layer rejects the input's shape (the message names the layer and the shape).
    fn on(self, input: &SymbolicTensor) -> Result<SymbolicTensor> {
        self.shared().on(input)
    }

    /// Calls the layer on several symbolic tensors (see [`SharedLayer::on_all`]).
    ///
    /// # Errors
    /// As [`CallLayer::on`].
    fn on_all(self, inputs: &[&SymbolicTensor]) -> Result<SymbolicTensor> {
        self.shared().on_all(inputs)
    }
}

impl<L: Layer + 'static> CallLayer for L {
    fn shared(self) -> SharedLayer {
        SharedLayer::new(self)
    }
}

/// What [`Sequential::add`](crate::Sequential::add) accepts: any layer, or an [`Input`].
pub trait SequentialEntry {
    /// The layer to append.
    fn into_layer(self) -> Box<dyn Layer>;
}

impl<L: Layer + 'static> SequentialEntry for L {
    fn into_layer(self) -> Box<dyn Layer> {
        Box::new(self)
    }
}

impl SequentialEntry for SymbolicTensor {
    fn into_layer(self) -> Box<dyn Layer> {
        let mut layer = kensho_layers::Input::with_shape(self.shape.clone());
        if !self.call.layer.auto_named() {
            layer.set_name(&self.name());
        }
        Box::new(layer)
    }
}
