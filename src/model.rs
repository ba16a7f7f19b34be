//! [`Model`]: the one model type under both APIs. It owns a [`Graph`] of layer calls, the seed
//! and, once compiled, the optimizer, loss and metrics; building, the forward pass, weights
//! access and `predict` live here, training in `compile.rs`, `fit.rs`, `step.rs` and
//! `evaluate.rs`, checkpoints in `checkpoint/`, the printed views in `summary.rs`.
//!
//! [`Sequential`](crate::Sequential) is a builder of a straight chain of calls on a `Model`.

use crate::compile::Compiled;
use crate::graph::{Graph, ValueRef};
use crate::reducer::GradientReducer;
use crate::Tensors;
use kensho_autograd::{Param, ParamId, Tape, Var};
use kensho_core::{seeded_rng, Error, Result, Tensor};
use kensho_layers::{Ctx, Layer, Shape};
use rayon::prelude::*;

/// A model: layers called in a graph, with Keras' `compile` / `fit` / `evaluate` / `predict`.
///
/// Build one with [`Sequential`](crate::Sequential) (which dereferences to its `Model`);
/// [`load_model`](crate::load_model) gives one back from a file.
pub struct Model {
    pub(crate) graph: Graph,
    pub(crate) name: String,
    pub(crate) seed: u64,
    pub(crate) compiled: Option<Compiled>,
    /// Combines each step's gradients across processes; `None` in single-process training.
    pub(crate) reducer: Option<Box<dyn GradientReducer>>,
    /// The other processes of data-parallel training; `None` when training alone.
    pub(crate) parallel: Option<crate::parallel::setup::ParallelState>,
    /// Whether sharded steps have left the optimizer state whole on this rank's share only
    /// (until `gather_optimizer_state`).
    pub(crate) optimizer_state_sharded: bool,
}

impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let layers: Vec<String> = self.layers().iter().map(|l| format!("{} ({})", l.name(), l.kind())).collect();
        f.debug_struct("Model")
            .field("name", &self.name)
            .field("layers", &layers)
            .field("input_shapes", &self.graph.input_shapes)
            .field("compiled", &self.compiled.is_some())
            .finish()
    }
}

/// The most rows `predict` runs through the layers at once.
const PREDICT_PIECE_ROWS: usize = 256;

impl Model {
    /// An empty model named `name` with `inputs` inputs (the graph is filled by a builder).
    pub(crate) fn empty(name: &str, inputs: usize) -> Model {
        Model {
            graph: Graph { num_inputs: inputs, ..Graph::default() },
            name: name.to_string(),
            seed: 0,
            compiled: None,
            reducer: None,
            parallel: None,
            optimizer_state_sharded: false,
        }
    }

    /// The model renamed (Keras' `name=`); a model called as a layer of another is the layer
    /// of this name, its weights named `{name}.{weight}`.
    pub fn with_name(mut self, name: &str) -> Model {
        self.name = name.to_string();
        self
    }

    /// The model's name (`sequential` for a [`Sequential`](crate::Sequential), `functional`
    /// for a model of the functional API).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The model's seed (weights, shuffling and dropout are reproducible for a given seed).
    pub fn get_seed(&self) -> u64 {
        self.seed
    }

    /// The layers, each once, in the order they were first called.
    pub fn layers(&self) -> &[Box<dyn Layer>] {
        &self.graph.layers
    }

    /// The layer called `name` (Keras' `get_layer`).
    #[doc(alias = "get_layer")]
    pub fn layer(&self, name: &str) -> Option<&dyn Layer> {
        self.graph.layer_index(name).map(|i| self.graph.layers[i].as_ref())
    }

    /// The layer called `name`, mutable (for example to freeze it with `set_trainable(false)`).
    pub fn layer_mut(&mut self, name: &str) -> Option<&mut Box<dyn Layer>> {
        let i = self.graph.layer_index(name)?;
        Some(&mut self.graph.layers[i])
    }

    /// The names of the model's inputs (those of the input layers that read them), in order.
    pub fn input_names(&self) -> Vec<String> {
        (0..self.graph.num_inputs)
            .map(|i| {
                let reader = self.graph.calls.iter().find(|c| c.inputs.contains(&ValueRef::Input(i)));
                reader
                    .map(|c| &self.graph.layers[c.layer])
                    .filter(|l| l.is_input())
                    .map_or_else(|| format!("input_{i}"), |l| l.name().to_string())
            })
            .collect()
    }

    /// The names of the model's outputs (those of the layers that give them), in order; an
    /// output of a layer with several outputs is `name_k` for its output `k` > 0. Names are
    /// unique: one already taken (an `lstm` layer's second output and a layer named `lstm_1`)
    /// gets the next free `_k` suffix.
    pub fn output_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::with_capacity(self.graph.outputs.len());
        for name in self.layer_output_names() {
            let unique = match names.contains(&name) {
                false => name,
                true => (1..).map(|k| format!("{name}_{k}")).find(|n| !names.contains(n)).expect("a free name"),
            };
            names.push(unique);
        }
        names
    }

    /// Each output's name from its layer, before [`Model::output_names`] makes them unique.
    fn layer_output_names(&self) -> Vec<String> {
        self.graph
            .outputs
            .iter()
            .map(|&v| match v {
                ValueRef::Input(i) => format!("input_{i}"),
                ValueRef::Call { call, output } => {
                    let name = self.graph.layers[self.graph.calls[call].layer].name();
                    if output == 0 {
                        name.to_string()
                    } else {
                        format!("{name}_{output}")
                    }
                }
            })
            .collect()
    }

    /// The per-sample shape of the first input, once built.
    pub fn input_shape(&self) -> Option<&Shape> {
        self.graph.input_shapes.as_ref().and_then(|s| s.first())
    }

    /// The per-sample shapes of the inputs, once built.
    pub fn input_shapes(&self) -> Option<&[Shape]> {
        self.graph.input_shapes.as_deref()
    }

    /// The per-sample shape of the first output, once built.
    pub fn output_shape(&self) -> Option<&Shape> {
        self.graph.outputs.first().and_then(|&v| self.graph.shape_of(v))
    }

    /// The per-sample shapes of the outputs, once built.
    pub fn output_shapes(&self) -> Option<Vec<Shape>> {
        self.graph.outputs.iter().map(|&v| self.graph.shape_of(v).cloned()).collect()
    }

    /// Whether the model is built (its parameters exist).
    pub fn is_built(&self) -> bool {
        self.graph.call_shapes.is_some()
    }

    /// The input shapes that the layers reading the model's inputs declare (an
    /// [`Input`](kensho_layers::Input) or `input_shape`), if every input has one.
    pub(crate) fn declared_input_shapes(&self) -> Option<Vec<Shape>> {
        (0..self.graph.num_inputs)
            .map(|i| {
                let reader = self.graph.calls.iter().find(|c| c.inputs.contains(&ValueRef::Input(i)))?;
                self.graph.layers[reader.layer].declared_input_shape()
            })
            .collect()
    }

    /// Builds the model from the input shapes its first layers declare
    /// ([`kensho_layers::Input`] or `input_shape`).
    ///
    /// # Errors
    /// If no layer declares an input shape, or a layer rejects its input shape.
    pub fn build_model(&mut self) -> Result<()> {
        let declared = self.declared_input_shapes().ok_or_else(|| {
            Error::invalid(
                "build_model",
                "a model without a declared input shape",
                "an Input::new(&[..]) first layer, or `.input_shape(..)` on the first layer, or call build(shape)",
            )
        })?;
        self.build_inputs(&declared)
    }

    /// Builds every layer for the per-sample input shape (of a one-input model), creating the
    /// parameters (once: a built model keeps its weights when built again with the same shape).
    ///
    /// # Errors
    /// If the model has no layers, two layers or weights share a name, or a layer rejects its
    /// input shape (the message names the layer).
    pub fn build(&mut self, input_shape: &[usize]) -> Result<()> {
        self.build_inputs(&[Shape::known(input_shape)])
    }

    /// Builds every layer for the per-sample shapes of the inputs, which may have unknown
    /// dimensions (see [`Model::build`]).
    ///
    /// # Errors
    /// As [`Model::build`], or if the number of shapes is not the number of inputs.
    pub fn build_inputs(&mut self, input_shapes: &[Shape]) -> Result<()> {
        let seed = self.seed;
        let result = self.graph.build(input_shapes, seed);
        if result.is_err() {
            self.graph.unbuild();
        }
        result
    }

    /// Builds from the data's shapes if needed, then checks the inputs against the model.
    pub(crate) fn ensure_built_for(&mut self, x: &[Tensor], context: &str) -> Result<()> {
        if !self.is_built() {
            match self.declared_input_shapes() {
                Some(shapes) => self.build_inputs(&shapes)?,
                None if x.iter().all(|t| t.ndim() >= 1) => {
                    let shapes: Vec<Shape> = x.iter().map(|t| Shape::known(&t.shape()[1..])).collect();
                    self.build_inputs(&shapes)?
                }
                None => {}
            }
        }
        self.check_input(x, context)
    }

    /// Checks that each input is `[batch, input_shape..]` for a built model, with one batch size,
    /// and holds finite values only.
    pub(crate) fn check_input(&self, x: &[Tensor], context: &str) -> Result<()> {
        self.check_input_shapes(x, context)?;
        self.check_finite_inputs(x, context, 0)
    }

    /// Checks that every value of the inputs `x` is finite; `first_row` is the index of their
    /// first row in the caller's data (for the error).
    pub(crate) fn check_finite_inputs(&self, x: &[Tensor], context: &str, first_row: usize) -> Result<()> {
        for (i, t) in x.iter().enumerate() {
            let what = || match x.len() {
                1 => "x".to_string(),
                _ => format!("x of input \"{}\"", self.input_names()[i]),
            };
            crate::finite::check_finite(context, &what, t, first_row)?;
        }
        Ok(())
    }

    /// [`Model::check_input`] without the finiteness check.
    pub(crate) fn check_input_shapes(&self, x: &[Tensor], context: &str) -> Result<()> {
        let Some(shapes) = self.input_shapes() else {
            return Err(Error::invalid(
                context,
                "an unbuilt model",
                "a built model: declare Input::new(&[..]) as the first layer, or call build(shape) or fit first",
            ));
        };
        if x.len() != shapes.len() {
            return Err(Error::invalid(format!("{context}: number of inputs"), x.len(), format!("{}", shapes.len())));
        }
        for (i, (t, shape)) in x.iter().zip(shapes).enumerate() {
            if t.ndim() != shape.rank() + 1 || !shape.accepts(&t.shape()[1..]) {
                let dims = shape.to_string();
                let dims = if shape.rank() == 0 { "[batch]".to_string() } else { dims.replacen('[', "[batch, ", 1) };
                return Err(Error::shape(
                    format!("{context}: the model's first layer \"{}\"", self.first_layer_name(i)),
                    format!("inputs of shape {dims}"),
                    t.shape(),
                ));
            }
            if t.is_empty() {
                return Err(Error::invalid(format!("{context}: x"), "an empty data set", "at least one sample"));
            }
            if let Some(layer) = self.first_layer(i) {
                layer.validate_input(t).map_err(|e| Error::invalid(context, e.to_string(), "valid input values"))?;
            }
            if t.shape()[0] != x[0].shape()[0] {
                return Err(Error::shape(
                    format!("{context}: input {i}"),
                    match x[0].shape()[0] {
                        1 => "1 row, as many as the first input".to_string(),
                        n => format!("{n} rows, as many as the first input"),
                    },
                    t.shape(),
                ));
            }
        }
        Ok(())
    }

    /// The name of the first layer that computes on input `i` (input declarations pass it on).
    fn first_layer_name(&self, i: usize) -> &str {
        self.first_layer(i).map_or("", |l| l.name())
    }

    /// The first layer that computes on input `i` (input declarations pass it on).
    fn first_layer(&self, i: usize) -> Option<&dyn Layer> {
        let mut value = ValueRef::Input(i);
        while let Some((c, call)) = self.graph.calls.iter().enumerate().find(|(_, c)| c.inputs.contains(&value)) {
            let layer = &self.graph.layers[call.layer];
            if !layer.is_input() {
                return Some(layer.as_ref());
            }
            value = ValueRef::Call { call: c, output: 0 };
        }
        None
    }

    /// The forward pass of a one-input, one-output model on a batch (for custom training
    /// loops; `predict` and `fit` check their inputs and run this). Softmax and sigmoid outputs
    /// keep their logits on the tape, so any loss can fuse with them.
    ///
    /// # Panics
    /// If the model is not built, does not have one input and one output, or `x` does not have
    /// the model's input shape: check first with a built model (`build`, `build_model`) and
    /// data of shape `[batch, input_shape..]`.
    pub fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let outputs = self.call(&[x], cx);
        assert_eq!(outputs.len(), 1, "forward: the model has {} outputs; use call()", outputs.len());
        outputs[0]
    }

    /// The forward pass on one batch of every input: the outputs, in order (see
    /// [`Model::forward`]).
    ///
    /// # Panics
    /// As [`Model::forward`].
    pub fn call<'t>(&self, inputs: &[Var<'t>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        self.graph.run(inputs, cx).into_iter().map(|(v, _)| v).collect()
    }

    /// Runs a one-input, one-output model on `x` in inference mode (no gradients, dropout
    /// off), at most `batch_size` rows at a time (batches above 256 rows run in pieces of 256,
    /// which keeps activations in cache; rows are independent, so the result is the same for
    /// any batch size).
    ///
    /// # Errors
    /// If the model is not built, `x` does not match the input shape, `batch_size` is 0, or the
    /// model has several inputs or outputs (use [`Model::predict_many`]).
    pub fn predict_batched(&self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        let mut outputs = self.predict_many(x, batch_size)?;
        if outputs.len() != 1 {
            return Err(Error::invalid("predict: outputs", outputs.len(), "1; use predict_many for several"));
        }
        Ok(outputs.remove(0))
    }

    /// Runs the model on `x` in inference mode, 32 rows at a time (Keras' default).
    ///
    /// # Errors
    /// As [`Model::predict_batched`].
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.predict_batched(x, 32)
    }

    /// Runs the model on one tensor per input (a list in order, or tensors by input name: see
    /// [`Tensors`]) and gives one tensor per output (see [`Model::predict_batched`]).
    ///
    /// # Errors
    /// If the model is not built, the inputs do not match it, or `batch_size` is 0.
    pub fn predict_many(&self, x: impl Into<Tensors>, batch_size: usize) -> Result<Vec<Tensor>> {
        let x = x
            .into()
            .resolve(&self.input_names(), "input")
            .map_err(|e| Error::invalid("predict", e.to_string(), "one tensor per model input, in order or by name"))?;
        let x = x.as_slice();
        // Values are checked piece by piece as each is predicted (while in cache), not in a
        // pass of their own: predicting changes nothing, so an error part-way loses nothing.
        self.check_input_shapes(x, "predict")?;
        if batch_size == 0 {
            return Err(Error::invalid("predict: batch_size", 0, "a positive number of samples per batch"));
        }
        let n = x[0].shape()[0];
        let batch_size = batch_size.min(PREDICT_PIECE_ROWS);
        let graph = &self.graph;
        let rows_of = |start: usize| -> Vec<Tensor> {
            x.iter().map(|t| t.slice_axis(0, start, (start + batch_size).min(n))).collect()
        };
        let parallel = n > batch_size && kensho_core::num_threads() > 1;
        let Some(sample_shapes) =
            self.output_shapes().and_then(|s| s.iter().map(Shape::to_known).collect::<Option<Vec<_>>>())
        else {
            // Output sizes known only from the data: run the pieces, then join them.
            let starts: Vec<usize> = (0..n).step_by(batch_size).collect();
            let run = |&start: &usize| self.predict_piece(&rows_of(start), start);
            let pieces: Vec<Result<Vec<Tensor>>> = if parallel {
                kensho_core::threads::pool().install(|| starts.par_iter().map(run).collect())
            } else {
                starts.iter().map(run).collect()
            };
            let pieces = pieces.into_iter().collect::<Result<Vec<_>>>()?;
            return (0..graph.outputs.len())
                .map(|o| Tensor::try_concat(&pieces.iter().map(|p| p[o].clone()).collect::<Vec<_>>(), 0))
                .collect();
        };
        // Each piece writes its rows straight into the outputs, so no piece's result outlives it
        // (and no join copies them again).
        let row_lens: Vec<usize> = sample_shapes.iter().map(|s| s.iter().product()).collect();
        let mut buffers: Vec<Vec<f32>> = row_lens.iter().map(|&len| vec![0.0; n * len]).collect();
        let mut jobs: Vec<(usize, Vec<&mut [f32]>)> = (0..n).step_by(batch_size).map(|s| (s, Vec::new())).collect();
        for (buffer, &len) in buffers.iter_mut().zip(&row_lens) {
            for (job, chunk) in jobs.iter_mut().zip(buffer.chunks_mut(batch_size * len.max(1))) {
                job.1.push(chunk);
            }
        }
        let run = |(start, outs): &mut (usize, Vec<&mut [f32]>)| -> Result<()> {
            for (out, y) in outs.iter_mut().zip(self.predict_piece(&rows_of(*start), *start)?) {
                out.copy_from_slice(y.to_contiguous().as_slice().expect("a contiguous output"));
            }
            Ok(())
        };
        // Batches are independent: with several threads they run side by side (each batch's
        // result is the same either way). The first failing piece in row order gives the error.
        let done: Vec<Result<()>> = if parallel {
            kensho_core::threads::pool().install(|| jobs.par_iter_mut().map(run).collect())
        } else {
            jobs.iter_mut().map(run).collect()
        };
        done.into_iter().collect::<Result<()>>()?;
        drop(jobs);
        buffers
            .into_iter()
            .zip(sample_shapes)
            .map(|(data, shape)| Tensor::from_vec(data, &[[n].as_slice(), &shape].concat()))
            .collect()
    }

    /// Every trainable parameter, layer by layer.
    pub fn params(&self) -> Vec<&Param> {
        self.layers().iter().flat_map(|l| l.params()).collect()
    }

    /// Every parameter, mutable.
    pub fn params_mut(&mut self) -> Vec<&mut Param> {
        self.graph.layers.iter_mut().flat_map(|l| l.params_mut()).collect()
    }

    /// Every weight, layer by layer: each layer's parameters, then its state (moving
    /// statistics). This is what checkpoints and `get_weights` hold.
    pub fn weights(&self) -> Vec<&Param> {
        self.graph.weights()
    }

    /// Sets the weights named by id to the given values (each layer's parameters and state).
    pub(crate) fn set_weight_values(&mut self, values: &[(ParamId, Tensor)]) {
        let find = |id: ParamId| values.iter().find(|(i, _)| *i == id).map(|(_, v)| v.clone());
        for layer in &mut self.graph.layers {
            for p in layer.params_mut() {
                if let Some(v) = find(p.id()) {
                    p.value = v;
                }
            }
            for p in layer.state_mut() {
                if let Some(v) = find(p.id()) {
                    p.value = v;
                }
            }
        }
    }

    /// The number of scalar weights (parameters and state).
    pub fn count_params(&self) -> usize {
        self.weights().iter().map(|p| p.value.len()).sum()
    }

    /// Copies of every weight's value, layer by layer (Keras' `get_weights`).
    pub fn get_weights(&self) -> Vec<Tensor> {
        self.weights().iter().map(|p| p.value.to_contiguous()).collect()
    }

    /// Replaces every weight's value (Keras' `set_weights`); nothing changes unless the count
    /// and every shape match.
    ///
    /// # Errors
    /// If the count or a shape differs (the message names the weight).
    pub fn set_weights(&mut self, weights: &[Tensor]) -> Result<()> {
        let current = self.weights();
        if weights.len() != current.len() {
            return Err(Error::invalid("set_weights: number of tensors", weights.len(), format!("{}", current.len())));
        }
        for (p, w) in current.iter().zip(weights) {
            if p.value.shape() != w.shape() {
                return Err(Error::shape(
                    format!("set_weights: {}", p.name()),
                    format!("{:?}", p.value.shape()),
                    w.shape(),
                ));
            }
        }
        let values: Vec<(ParamId, Tensor)> = current.iter().map(|p| p.id()).zip(weights.iter().cloned()).collect();
        self.set_weight_values(&values);
        Ok(())
    }

    /// Sets the gradient reducer, which sees every step's gradients between backward and the
    /// optimizer update (none by default; data-parallel training all-reduces there).
    pub fn set_gradient_reducer(&mut self, reducer: impl GradientReducer + 'static) {
        self.reducer = Some(Box::new(reducer));
    }
}

/// The outputs of the graph for one batch, in inference mode (inputs assumed checked).
impl Model {
    /// One piece of `predict`'s input, starting at row `first_row`: its values checked, then
    /// run in inference mode.
    fn predict_piece(&self, x: &[Tensor], first_row: usize) -> Result<Vec<Tensor>> {
        self.check_finite_inputs(x, "predict", first_row)?;
        Ok(predict_on_batch(&self.graph, self.seed, x))
    }
}

fn predict_on_batch(graph: &Graph, seed: u64, x: &[Tensor]) -> Vec<Tensor> {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(seed));
    let inputs: Vec<Var<'_>> = x.iter().map(|t| tape.constant(t.clone())).collect();
    let outputs = graph.run(&inputs, &cx);
    outputs.iter().map(|(v, _)| v.value()).collect()
}
