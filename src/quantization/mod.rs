//! Post-training int8 quantization for inference: [`quantize`] turns a trained model into a
//! [`QuantizedModel`] whose Dense and Conv2D layers run in int8.
//!
//! As in PyTorch's fbgemm backend and TensorFlow Lite: each layer's kernel is quantized per
//! output channel, symmetrically (`w ≈ s_j * q`, `q` in `[-127, 127]`); each such layer's input
//! is quantized to u8 with a scale and zero point calibrated on sample data
//! ([`Calibration::MinMax`] or [`Calibration::Percentile`]); the product accumulates in int32
//! (`kensho_core::quant`'s kernels), and is turned back into f32 with the bias and, for a ReLU
//! layer, the ReLU in the same pass. Every other layer (pooling, normalization, the output's
//! softmax, ...) runs in f32 as before, so any model quantizes: only its Dense and Conv2D layers
//! (in one group) change.
//!
//! ```
//! use kensho::prelude::*;
//! use kensho::quantization::quantize;
//! # fn main() -> kensho::Result<()> {
//! let x = Tensor::rand_uniform(&[64, 8], -1.0, 1.0, &mut kensho::core::seeded_rng(0));
//! let model = Sequential::new()
//!     .add(Input::new(&[8]))
//!     .add(Dense::new(16).activation(Activation::Relu))
//!     .add(Dense::new(3).activation(Activation::Softmax));
//! let quantized = quantize(&model, &x)?;
//! assert_eq!(quantized.quantized_layers(), ["dense", "dense_1"]);
//! let (float, int8) = (model.predict(&x)?, quantized.predict(&x)?);
//! assert!(float.to_vec().iter().zip(int8.to_vec()).all(|(a, b)| (a - b).abs() < 0.02));
//! # Ok(())
//! # }
//! ```

mod calibrate;
mod layer;
mod patches;

pub use crate::checkpoint::load_quantized_model;
pub use calibrate::{Calibration, InputQuantization};
pub(crate) use layer::QuantizedWeights;

use crate::graph::{Graph, ValueRef};
use crate::{Logs, Model, Tensors};
use calibrate::Observer;
use kensho_core::{Error, Padding, Result, Tensor};
use kensho_layers::{Layer, LayerConfig, Loss, Shape};
use kensho_metrics::Metric;
use layer::{FusedAway, QuantizedLayer};
use patches::MaxPool;
use std::sync::{Arc, Mutex};

/// How [`quantize_with`] quantizes.
#[derive(Clone, Debug, PartialEq)]
pub struct QuantizeOptions {
    /// How each layer's input range is taken from the calibration data (default
    /// [`Calibration::MinMax`]).
    pub calibration: Calibration,
    /// The rows run through the model at a time while calibrating (default 256).
    pub batch_size: usize,
    /// The layers to quantize, by name; `None` (the default) quantizes every Dense and Conv2D
    /// layer.
    pub layers: Option<Vec<String>>,
}

impl Default for QuantizeOptions {
    fn default() -> Self {
        QuantizeOptions { calibration: Calibration::MinMax, batch_size: 256, layers: None }
    }
}

/// A model whose Dense and Conv2D layers run in int8, for inference: `predict`, `evaluate`,
/// `save` (and [`load_quantized_model`]). Made by [`quantize`].
pub struct QuantizedModel {
    /// The model with its quantized layers in place of the float ones.
    pub(crate) model: Model,
    /// The quantized layers' weights, in layer order.
    pub(crate) quantized: Vec<Arc<QuantizedWeights>>,
}

impl std::fmt::Debug for QuantizedModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantizedModel")
            .field("name", &self.model.name())
            .field("quantized_layers", &self.quantized_layers())
            .finish()
    }
}

/// [`quantize_with`] with the default options: every Dense and Conv2D layer, min / max
/// calibration on `calibration_data` (a few hundred to a few thousand representative training
/// samples).
///
/// # Errors
/// As [`quantize_with`].
pub fn quantize(model: &Model, calibration_data: impl Into<Tensors>) -> Result<QuantizedModel> {
    quantize_with(model, calibration_data, QuantizeOptions::default())
}

/// Quantizes `model` (unchanged) after running it on `calibration_data` to learn the range of
/// each quantized layer's input. The result keeps the model's compile settings (loss and
/// metrics, for `evaluate`).
///
/// # Errors
/// If the model is not built, the calibration data does not fit it or has no rows, a layer
/// named in `options.layers` does not exist or is not a Dense or Conv2D layer (or the model
/// has none), or an option is out of range.
pub fn quantize_with(
    model: &Model,
    calibration_data: impl Into<Tensors>,
    options: QuantizeOptions,
) -> Result<QuantizedModel> {
    options.calibration.validate()?;
    if !model.is_built() {
        return Err(Error::invalid(
            "quantize: model",
            "a model that is not built",
            "a trained (built) model: declare Input::new(&[..]) first, or call build or fit",
        ));
    }
    let data = calibration_data.into();
    let mut copy = model.duplicate()?;
    let chosen = quantizable_layers(&copy, options.layers.as_deref())?;
    let mut observed: Vec<Option<Arc<Mutex<calibrate::Observed>>>> = vec![None; copy.graph.layers.len()];
    copy.graph.layers = std::mem::take(&mut copy.graph.layers)
        .into_iter()
        .enumerate()
        .map(|(i, layer)| -> Box<dyn Layer> {
            if !chosen.contains(&i) {
                return layer;
            }
            let (observer, handle) = Observer::wrap(layer);
            observed[i] = Some(handle);
            Box::new(observer)
        })
        .collect();
    let calibrate = |copy: &Model| -> Result<()> {
        let rows = copy
            .predict_many(data.clone(), options.batch_size)
            .map_err(|e| Error::invalid("quantize: calibration_data", e.to_string(), "data the model predicts on"))?;
        match rows.first().map(|t| t.shape()[0]) {
            Some(0) | None => Err(Error::invalid("quantize: calibration_data", "no rows", "at least one sample")),
            Some(_) => Ok(()),
        }
    };
    calibrate(&copy)?;
    if let Calibration::Percentile(_) = options.calibration {
        observed.iter().flatten().for_each(|o| o.lock().unwrap_or_else(|e| e.into_inner()).start_histogram());
        calibrate(&copy)?;
    }
    let mut quantized = Vec::with_capacity(chosen.len());
    for i in chosen {
        let layer = &copy.graph.layers[i];
        let seen = observed[i].as_ref().expect("observed above").lock().unwrap_or_else(|e| e.into_inner());
        if !seen.seen() {
            return Err(Error::invalid(
                format!("quantize: the input of layer \"{}\"", layer.name()),
                "no finite value in the calibration data",
                "calibration data on which the layer sees finite values",
            ));
        }
        let (lo, hi) = seen.range(options.calibration);
        let params = layer.params();
        let weights = QuantizedWeights::quantize(
            layer.name(),
            &params[0].value,
            params.get(1).map(|b| &b.value),
            InputQuantization::from_range(lo, hi),
        )?;
        let weights = Arc::new(weights);
        drop(seen);
        install(&mut copy.graph, i, Arc::clone(&weights))?;
        quantized.push(weights);
    }
    Ok(QuantizedModel { model: copy, quantized })
}

/// Puts the quantized form of layer `index` (with `weights`) in its place. A convolution whose
/// output only a max pooling reads takes that pooling over (see [`fusable_pool`]).
pub(crate) fn install(graph: &mut Graph, index: usize, weights: Arc<QuantizedWeights>) -> Result<()> {
    let float = graph.layers[index].as_ref();
    let (input_shape, output_shape) = graph.first_call_shapes(index).ok_or_else(|| {
        Error::invalid(
            format!("quantize: layer \"{}\"", float.name()),
            "a layer never called",
            "a layer the model calls",
        )
    })?;
    let fused = matches!(float.config(), LayerConfig::Conv2D(_)).then(|| fusable_pool(graph, index)).flatten();
    let (pool, output_shape) = match &fused {
        Some((_, pool, pooled)) => (Some(pool.clone()), pooled.clone()),
        None => (None, output_shape),
    };
    let layer = QuantizedLayer::new(float, &input_shape, &output_shape, weights, pool)?;
    if let Some((p, _, pooled)) = fused {
        graph.layers[p] = Box::new(FusedAway::new(graph.layers[p].as_ref(), &pooled));
    }
    graph.layers[index] = Box::new(layer);
    Ok(())
}

/// The max pooling that alone reads the output of layer `conv` (called once), if it can run
/// fused with it: a MaxPooling2D with valid padding, called once, whose input is not a model
/// output. Returns its layer index, its windows and its per-sample output shape.
fn fusable_pool(graph: &Graph, conv: usize) -> Option<(usize, MaxPool, Shape)> {
    let calls_of = |layer: usize| graph.calls.iter().enumerate().filter(move |(_, c)| c.layer == layer).map(|(i, _)| i);
    let [call] = calls_of(conv).collect::<Vec<_>>()[..] else { return None };
    let value = ValueRef::Call { call, output: 0 };
    let readers: Vec<usize> =
        graph.calls.iter().enumerate().filter(|(_, c)| c.inputs.contains(&value)).map(|(i, _)| i).collect();
    let [reader] = readers[..] else { return None };
    let pool = graph.calls[reader].layer;
    if graph.outputs.contains(&value) || calls_of(pool).count() != 1 {
        return None;
    }
    let LayerConfig::MaxPooling2D(config) = graph.layers[pool].config() else { return None };
    let size: [usize; 2] = config.pool_size.as_slice().try_into().ok()?;
    let strides: [usize; 2] = config.strides.as_deref().unwrap_or(&config.pool_size).try_into().ok()?;
    let pooled = graph.call_shapes.as_ref()?.get(reader)?.first()?.clone();
    (config.padding == Padding::Valid).then_some((pool, MaxPool { size, strides }, pooled))
}

/// The indices of the layers to quantize: those named, or every Dense and Conv2D layer.
fn quantizable_layers(model: &Model, names: Option<&[String]>) -> Result<Vec<usize>> {
    let graph = &model.graph;
    let quantizable = |i: usize| {
        graph
            .first_call_shapes(i)
            .is_some_and(|(input, _)| layer::operation_of(&graph.layers[i].config(), &input).is_some())
    };
    let chosen: Vec<usize> = match names {
        None => (0..graph.layers.len()).filter(|&i| quantizable(i)).collect(),
        Some(names) => names
            .iter()
            .map(|name| match graph.layer_index(name) {
                Some(i) if quantizable(i) => Ok(i),
                Some(i) => Err(Error::invalid(
                    format!("quantize: layer \"{name}\""),
                    graph.layers[i].kind(),
                    "a Dense or Conv2D layer (in one group)",
                )),
                None => Err(Error::invalid("quantize: layers", name, "the name of a layer of the model")),
            })
            .collect::<Result<_>>()?,
    };
    if chosen.is_empty() {
        return Err(Error::invalid("quantize: model", "no Dense or Conv2D layer", "a model with a layer to quantize"));
    }
    Ok(chosen)
}

impl QuantizedModel {
    /// The model's name.
    pub fn name(&self) -> &str {
        self.model.name()
    }

    /// The names of the layers that run in int8, in layer order.
    pub fn quantized_layers(&self) -> Vec<&str> {
        self.quantized.iter().map(|w| w.name.as_str()).collect()
    }

    /// How the input of quantized layer `layer` is quantized, if it is one.
    pub fn input_quantization(&self, layer: &str) -> Option<InputQuantization> {
        self.quantized.iter().find(|w| w.name == layer).map(|w| w.input)
    }

    /// Each output channel's kernel scale of quantized layer `layer`, if it is one.
    pub fn kernel_scales(&self, layer: &str) -> Option<&[f32]> {
        self.quantized.iter().find(|w| w.name == layer).map(|w| w.kernel_scales.as_slice())
    }

    /// Runs the model on `x`, 32 rows at a time (see [`Model::predict`]).
    ///
    /// # Errors
    /// As [`Model::predict`].
    pub fn predict(&self, x: &Tensor) -> Result<Tensor> {
        self.model.predict(x)
    }

    /// Runs the model on `x`, `batch_size` rows at a time (see [`Model::predict_batched`]).
    ///
    /// # Errors
    /// As [`Model::predict_batched`].
    pub fn predict_batched(&self, x: &Tensor, batch_size: usize) -> Result<Tensor> {
        self.model.predict_batched(x, batch_size)
    }

    /// Runs a model with several inputs or outputs (see [`Model::predict_many`]).
    ///
    /// # Errors
    /// As [`Model::predict_many`].
    pub fn predict_many(&self, x: impl Into<Tensors>, batch_size: usize) -> Result<Vec<Tensor>> {
        self.model.predict_many(x, batch_size)
    }

    /// The loss and metrics on `x`, `y` (see [`Model::evaluate`]), with the float model's
    /// compile settings or those of [`QuantizedModel::compile`].
    ///
    /// # Errors
    /// If neither gave a loss, or as [`Model::evaluate`].
    pub fn evaluate(&self, x: impl Into<Tensors>, y: impl Into<Tensors>) -> Result<Logs> {
        self.evaluate_batched(x, y, 32)
    }

    /// [`QuantizedModel::evaluate`] with a chosen batch size.
    ///
    /// # Errors
    /// As [`QuantizedModel::evaluate`], or if `batch_size` is 0.
    pub fn evaluate_batched(&self, x: impl Into<Tensors>, y: impl Into<Tensors>, batch_size: usize) -> Result<Logs> {
        if self.model.loss().is_none() {
            return Err(Error::invalid(
                "QuantizedModel::evaluate",
                "a quantized model without a loss",
                "quantize a compiled model, or call compile(loss, metrics) on the quantized model",
            ));
        }
        self.model.evaluate_batched(x, y, batch_size)
    }

    /// Sets the loss and metrics that [`QuantizedModel::evaluate`] reports.
    ///
    /// # Errors
    /// As [`Model::compile`].
    pub fn compile(&mut self, loss: impl Loss + 'static, metrics: Vec<Box<dyn Metric>>) -> Result<()> {
        // The optimizer is required by `Model::compile` but never runs: nothing trains.
        self.model.compile(kensho_optim::Sgd::new(0.01), loss, metrics)
    }

    /// The layers' table, as [`Model::summary`] prints it (the totals count the weights left
    /// in f32), then each int8 layer's weights and the model's size in int8 against f32.
    ///
    /// ```
    /// use kensho::prelude::*;
    /// let model = Sequential::new().add(Input::new(&[4])).add(Dense::new(3));
    /// let quantized = kensho::quantization::quantize(&model, Tensor::ones(&[2, 4]))?;
    /// assert!(quantized.summary().contains("   dense: 12 int8 values, 3 scales, 3 biases"));
    /// # Ok::<(), kensho::Error>(())
    /// ```
    pub fn summary(&self) -> String {
        let mut out = self.model.summary();
        out += " Int8 layers (an f32 scale and bias per output channel, an f32 input scale):\n";
        let mut int8_bytes = 0;
        for w in &self.quantized {
            let (values, channels) = (w.kernel.k() * w.kernel.n(), w.kernel_scales.len());
            let biases = w.bias.as_ref().map_or(0, Vec::len);
            out += &format!("   {}: {values} int8 values, {channels} scales, {biases} biases\n", w.name);
            int8_bytes += values + 4 * (channels + biases + 2);
        }
        let float_bytes = 4 * self.model.count_params();
        let f32_bytes = float_bytes
            + self
                .quantized
                .iter()
                .map(|w| 4 * (w.kernel.k() * w.kernel.n() + w.bias.as_ref().map_or(0, Vec::len)))
                .sum::<usize>();
        out += &format!(
            " Weights: {:.2} KB (int8 layers) + {:.2} KB (f32 layers), against {:.2} KB all in f32\n",
            int8_bytes as f64 / 1024.0,
            float_bytes as f64 / 1024.0,
            f32_bytes as f64 / 1024.0
        );
        out
    }
}
