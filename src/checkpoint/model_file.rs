//! Whole-model files: [`Model::save`] and [`load_model`]. One safetensors file holds the
//! weights, the optimizer state (under `optimizer/`) and, in its `__metadata__`, the JSON of
//! the architecture and the compile settings.

use super::tensors_file::{load_tensors, save_tensors, Metadata};
use super::weights::{assign, FORMAT_KEY};
use super::WeightsLayout;
use crate::graph::{Call, Graph, ValueRef};
use crate::{Head, Model, Sequential};
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{LayerConfig, LossConfig, Shape};
use kensho_metrics::{Metric, MetricConfig};
use kensho_optim::OptimizerConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The `format` metadata value of a whole-model file.
pub(crate) const FORMAT: &str = "kensho.model";
/// The format of a model's contents copied in memory, without the optimizer's state.
const DUPLICATE_FORMAT: &str = "kensho.model_without_optimizer_state";
/// The metadata key holding the model's JSON.
pub(crate) const MODEL_KEY: &str = "kensho.model";
/// The prefix of the optimizer state's tensors.
pub(crate) const OPTIMIZER_PREFIX: &str = "optimizer/";
/// The version of the JSON below; readers refuse newer ones. Version 1 (a chain of layers
/// with one `input_shape`) is still read.
const VERSION: u32 = 2;
/// The values [`load_model`] lets the saved architecture create beyond those the file holds
/// (64 Ki f32 values, 256 KiB): room for state a layer makes in `build` that a file need not
/// hold, so that such a file fails on the clearer "missing tensor" check instead. The
/// allocation of a load is thus bounded by about three times the file's values (the tensors
/// read, the weights built, the copy assigned) plus this.
const BUDGET_SLACK: usize = 1 << 16;

/// The JSON stored under the `kensho.model` metadata key.
#[derive(Serialize, Deserialize)]
struct ModelSpec {
    format_version: u32,
    seed: u64,
    /// The model's name (version 2).
    #[serde(default)]
    name: Option<String>,
    /// The one input's shape (version 1 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    input_shape: Option<Shape>,
    /// The inputs' shapes (version 2).
    #[serde(default)]
    input_shapes: Vec<Shape>,
    /// Each layer's configuration, once per layer.
    layers: Vec<LayerConfig>,
    /// The layer calls in order (version 2; a version 1 file is a chain).
    #[serde(default)]
    calls: Vec<Call>,
    /// The model's outputs (version 2).
    #[serde(default)]
    outputs: Vec<ValueRef>,
    compile: Option<CompileSpec>,
}

impl ModelSpec {
    /// The unbuilt model this spec describes, and its input shapes.
    fn model(&self) -> Result<(Model, Vec<Shape>)> {
        let layers = self.layers.iter().map(LayerConfig::to_layer).collect::<Result<Vec<_>>>()?;
        if self.calls.is_empty() {
            let mut model = Sequential::new().seed(self.seed);
            layers.into_iter().for_each(|l| model.push(l));
            let shapes = self.input_shape.iter().chain(&self.input_shapes).take(1).cloned().collect();
            return Ok((model.into_model(), shapes));
        }
        let mut model = Model::empty(self.name.as_deref().unwrap_or("model"), self.input_shapes.len());
        model.seed = self.seed;
        model.graph = Graph {
            layers,
            calls: self.calls.clone(),
            outputs: self.outputs.clone(),
            ..std::mem::take(&mut model.graph)
        };
        model.graph.check_calls()?;
        Ok((model, self.input_shapes.clone()))
    }
}

/// The architecture of a built graph as the JSON of a model file without compile settings
/// (how a model nested in another is saved).
pub(crate) fn architecture(graph: &Graph, name: &str, seed: u64) -> Result<serde_json::Value> {
    let input_shapes = graph
        .input_shapes
        .clone()
        .ok_or_else(|| Error::invalid(format!("model \"{name}\""), "an unbuilt model", "a built model"))?;
    let spec = ModelSpec {
        format_version: VERSION,
        seed,
        name: Some(name.to_string()),
        input_shape: None,
        input_shapes,
        layers: graph.layers.iter().map(|l| l.config()).collect(),
        calls: graph.calls.clone(),
        outputs: graph.outputs.clone(),
        compile: None,
    };
    serde_json::to_value(&spec).map_err(|e| {
        Error::invalid(format!("model \"{name}\""), e.to_string(), "a model whose architecture serializes")
    })
}

/// The built model an [`architecture`] describes (with fresh weights).
pub(crate) fn from_architecture(json: &serde_json::Value) -> Result<Model> {
    let spec: ModelSpec = serde_json::from_value(json.clone())
        .map_err(|e| Error::invalid("nested model architecture", e.to_string(), "the JSON a saved model holds"))?;
    let (mut model, input_shapes) = spec.model()?;
    model.build_inputs(&input_shapes)?;
    Ok(model)
}

#[derive(Serialize, Deserialize)]
struct CompileSpec {
    optimizer: OptimizerConfig,
    loss: LossConfig,
    /// The metric names, in order (all that files of kensho before `metric_configs` hold; such
    /// files are read with [`metric_from_name`]).
    metrics: Vec<String>,
    /// Each metric's [`Metric::config`], in the order of `metrics`: `None` for a user-defined
    /// metric, which is not restored on load. Absent in older files.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    metric_configs: Option<Vec<Option<MetricConfig>>>,
    /// For a model with several outputs, each output's loss, loss weight and metrics (the
    /// fields above then repeat the first output's).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    heads: Vec<HeadSpec>,
}

/// One output's compile settings.
#[derive(Serialize, Deserialize)]
struct HeadSpec {
    loss: LossConfig,
    loss_weight: f32,
    metrics: Vec<String>,
    metric_configs: Vec<Option<MetricConfig>>,
}

impl HeadSpec {
    fn of(head: &Head) -> HeadSpec {
        HeadSpec {
            loss: head.loss().config(),
            loss_weight: head.loss_weight(),
            metrics: head.metrics.iter().map(|m| m.name().to_string()).collect(),
            metric_configs: head.metrics.iter().map(|m| m.config()).collect(),
        }
    }

    /// The head again; `metrics` replaces the saved metrics if given.
    fn head(&self, metrics: Option<&[Box<dyn Metric>]>) -> Result<Head> {
        let metrics = match metrics {
            Some(given) => given.iter().map(|m| m.clone_box()).collect(),
            None => self.metric_configs.iter().flatten().map(MetricConfig::to_metric).collect::<Result<_>>()?,
        };
        Ok(Head::boxed(self.loss.to_loss()?).weight(self.loss_weight).metrics(metrics))
    }
}

impl CompileSpec {
    /// The metrics to compile a loaded model with: each saved config rebuilt, or, for a file
    /// without configs, those of the names that [`metric_from_name`] knows.
    fn metrics(&self, path: &Path) -> Result<Vec<Box<dyn Metric>>> {
        match &self.metric_configs {
            Some(configs) if configs.len() != self.metrics.len() => Err(Error::parse(
                path,
                format!(
                    "the model file lists {} metric names but {} metric configs",
                    self.metrics.len(),
                    configs.len()
                ),
            )),
            Some(configs) => configs.iter().flatten().map(MetricConfig::to_metric).collect(),
            None => Ok(self.metrics.iter().filter_map(|n| metric_from_name(n)).collect()),
        }
    }
}

impl Model {
    /// Saves the whole model to one safetensors file, atomically: the architecture (each
    /// layer's config, the input shape, the seed), the weights, and, if compiled, the
    /// optimizer and loss configurations, the metrics' names and [configs](Metric::config) and
    /// the optimizer state, so that
    /// [`load_model`](crate::load_model) gives a model that predicts and trains on identically.
    ///
    /// ```
    /// use kensho::prelude::*;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("model.safetensors");
    /// let mut model = Sequential::new().add(Input::new(&[2])).add(Dense::new(1));
    /// model.compile(Adam::new(0.01), losses::MeanSquaredError, vec![])?;
    /// model.save(&path)?;
    /// let loaded = kensho::load_model(&path)?;
    /// let x = Tensor::ones(&[3, 2]);
    /// assert_eq!(loaded.predict(&x)?.to_vec(), model.predict(&x)?.to_vec());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// If the model is not built, or the file cannot be written ([`Error::Io`]).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let (tensors, metadata) = self.file_contents(path, true)?;
        save_tensors(path, &tensors, Some(metadata))
    }

    /// The tensors and metadata of the model's file (see [`Model::save`]); the optimizer
    /// state only if `optimizer_state`. `path` names the file in errors.
    pub(crate) fn file_contents(
        &self,
        path: &Path,
        optimizer_state: bool,
    ) -> Result<(Vec<(String, Tensor)>, Metadata)> {
        self.input_shapes().filter(|_| self.is_built()).ok_or_else(|| {
            Error::invalid(
                format!("save ({})", path.display()),
                "a model that is not built",
                "a built model: declare Input::new(&[..]) as the first layer, or call build(shape) or fit first",
            )
        })?;
        let params = self.params();
        let mut tensors: Vec<(String, Tensor)> =
            self.weights().iter().map(|p| (p.name().to_string(), p.value.to_contiguous())).collect();
        let compile = match (self.optimizer(), self.loss()) {
            (Some(optimizer), Some(loss)) => {
                if optimizer_state {
                    let state = optimizer.state(&params);
                    tensors.extend(state.into_iter().map(|(n, t)| (format!("{OPTIMIZER_PREFIX}{n}"), t)));
                }
                let first = self.metrics();
                let heads = self.heads();
                Some(CompileSpec {
                    optimizer: optimizer.config(),
                    loss: loss.config(),
                    metrics: first.iter().map(|m| m.name().to_string()).collect(),
                    metric_configs: Some(first.iter().map(|m| m.config()).collect()),
                    heads: if heads.len() > 1 { heads.iter().map(HeadSpec::of).collect() } else { Vec::new() },
                })
            }
            _ => None,
        };
        let mut spec = architecture(&self.graph, self.name(), self.get_seed())?;
        spec["compile"] =
            serde_json::to_value(&compile).map_err(|e| Error::parse(path, format!("cannot serialize: {e}")))?;
        let json = serde_json::to_string(&spec).map_err(|e| Error::parse(path, format!("cannot serialize: {e}")))?;
        let metadata = Metadata::from([(FORMAT_KEY.to_string(), FORMAT.to_string()), (MODEL_KEY.to_string(), json)]);
        Ok((tensors, metadata))
    }

    /// A copy of the model: its architecture, weights and compile settings (without the
    /// optimizer's state), rebuilt as [`load_model`] rebuilds a saved one.
    pub(crate) fn duplicate(&self) -> Result<Model> {
        let label = Path::new(self.name());
        let (tensors, mut metadata) = self.file_contents(label, false)?;
        metadata.insert(FORMAT_KEY.to_string(), DUPLICATE_FORMAT.to_string());
        // The metrics themselves, so that user-defined ones (which a file cannot rebuild) carry
        // over; a model with several heads rebuilds each head's from its configs.
        let metrics = (self.compiled.is_some() && self.heads().len() == 1)
            .then(|| self.metrics().iter().map(|m| m.clone_box()).collect());
        model_from_contents(label, tensors, &metadata, DUPLICATE_FORMAT, metrics, |_, _| Ok(()))
    }
}

/// Loads a model saved by [`Model::save`]: built, with its weights, and compiled with its
/// optimizer (state included), loss and metrics.
///
/// Every built-in metric is rebuilt with all its settings (threshold, `k`, classes, averaging,
/// `zero_division`, `beta`) from its saved [`MetricConfig`]. A user-defined metric (whose
/// [`Metric::config`] is `None`) is saved by name only and is not restored: pass the metrics to
/// [`load_model_with_metrics`]. From a file written before metric configs were saved, only the
/// parameterless metrics that [`metric_from_name`] knows are rebuilt.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the file if it is not a
/// kensho model file (for example a weights-only file), is truncated or corrupt, holds a
/// configuration this version cannot read, or its tensors do not match its architecture.
pub fn load_model(path: impl AsRef<Path>) -> Result<Model> {
    load(path.as_ref(), None)
}

/// [`load_model`] with the given metrics instead of those rebuilt from the file (for
/// user-defined metrics, which the file cannot rebuild).
///
/// # Errors
/// As [`load_model`].
pub fn load_model_with_metrics(path: impl AsRef<Path>, metrics: Vec<Box<dyn Metric>>) -> Result<Model> {
    load(path.as_ref(), Some(metrics))
}

fn load(path: &Path, metrics: Option<Vec<Box<dyn Metric>>>) -> Result<Model> {
    let (tensors, metadata) = load_tensors(path)?;
    model_from_contents(path, tensors, &metadata, FORMAT, metrics, |_, _| Ok(()))
}

/// The model a file's tensors and metadata describe (a file of `format`, see [`Model::save`]):
/// built under a budget of the values the file holds, given to `prepare` with the tensors
/// (which may take those it consumes and change layers), then given the remaining weights
/// (strictly) and, if the file says so, compiled, with the optimizer state for a
/// [`FORMAT`] file (other formats hold none).
pub(crate) fn model_from_contents(
    path: &Path,
    tensors: Vec<(String, Tensor)>,
    metadata: &Metadata,
    format: &str,
    metrics: Option<Vec<Box<dyn Metric>>>,
    prepare: impl FnOnce(&mut Model, &mut Vec<(String, Tensor)>) -> Result<()>,
) -> Result<Model> {
    crate::nested::register_model_classes();
    let json = match (metadata.get(FORMAT_KEY), metadata.get(MODEL_KEY)) {
        (Some(f), Some(json)) if f == format => json,
        _ => {
            return Err(Error::parse(
                path,
                format!(
                    "holds no kensho model of format \"{format}\" (its safetensors metadata has no \"{MODEL_KEY}\" \
                     entry with that format); for a weights-only file, build the model in code and call load_weights"
                ),
            ));
        }
    };
    let spec: ModelSpec = serde_json::from_str(json)
        .map_err(|e| Error::parse(path, format!("the model description in the metadata is not valid: {e}")))?;
    if spec.format_version > VERSION {
        return Err(Error::parse(
            path,
            format!(
                "model format version {} is newer than this kensho reads ({VERSION}); update kensho",
                spec.format_version
            ),
        ));
    }
    let bad = |e: Error| Error::parse(path, format!("the saved architecture cannot be rebuilt: {e}"));
    // Build under a budget of the values the file holds, so that an architecture asking for
    // more weights than the file can fill fails before allocating them (issue 14).
    let held = tensors.iter().map(|(_, t)| t.len()).sum::<usize>();
    let source = format!(
        "the {held} values that {} holds (plus {BUDGET_SLACK} of slack): the saved architecture does not match \
         its tensors, so the file is corrupt or not a kensho model file",
        path.display()
    );
    let mut model = kensho_core::init::with_parameter_budget(held.saturating_add(BUDGET_SLACK), &source, || {
        let (mut model, input_shapes) = spec.model()?;
        model.build_inputs(&input_shapes)?;
        Ok(model)
    })
    .map_err(bad)?;
    let (optimizer_state, mut weights): (Vec<_>, Vec<_>) =
        tensors.into_iter().partition(|(name, _)| name.starts_with(OPTIMIZER_PREFIX));
    prepare(&mut model, &mut weights)?;
    let layout = super::torch_layout::file_layout(&model.graph, WeightsLayout::Kensho)?;
    assign(&mut model, &layout, weights, true, path)?;
    if let Some(compile) = spec.compile {
        let optimizer = || {
            compile.optimizer.build().map_err(|e| Error::parse(path, format!("the saved optimizer is not valid: {e}")))
        };
        if compile.heads.is_empty() {
            let metrics = match metrics {
                Some(metrics) => metrics,
                None => compile.metrics(path)?,
            };
            model.compile_boxed(optimizer()?, compile.loss.to_loss().map_err(bad)?, metrics).map_err(bad)?;
        } else {
            let heads = compile.heads.iter().map(|h| h.head(metrics.as_deref())).collect::<Result<Vec<Head>>>();
            model.compile_outputs(optimizer()?, heads.map_err(bad)?).map_err(bad)?;
        }
        let state: Vec<(String, Tensor)> =
            optimizer_state.into_iter().map(|(n, t)| (n[OPTIMIZER_PREFIX.len()..].to_string(), t)).collect();
        let params: Vec<kensho_autograd::Param> = model.params().into_iter().map(|p| p.share()).collect();
        let refs: Vec<&kensho_autograd::Param> = params.iter().collect();
        if format == FORMAT {
            let optimizer = model.optimizer_mut().expect("compiled above");
            optimizer
                .load_state(&refs, &state)
                .map_err(|e| Error::parse(path, format!("the optimizer state does not match the model: {e}")))?;
        }
    }
    Ok(model)
}

/// The metric a saved name stands for, if it has no parameters: `accuracy`,
/// `categorical_accuracy`, `mse`, `rmse`, `mae`, `mape`, `metrics::r2_score`, `auc`, `average_precision`.
/// [`load_model`] uses it only for files without metric configs; a metric's
/// [`Metric::config`] with [`MetricConfig::to_metric`] rebuilds any built-in metric.
pub fn metric_from_name(name: &str) -> Option<Box<dyn Metric>> {
    use kensho_metrics as m;
    Some(match name {
        "accuracy" => Box::new(m::Accuracy::new()),
        "categorical_accuracy" => Box::new(m::CategoricalAccuracy::new()),
        "mse" => Box::new(m::MeanSquaredError::new()),
        "rmse" => Box::new(m::RootMeanSquaredError::new()),
        "mae" => Box::new(m::MeanAbsoluteError::new()),
        "mape" => Box::new(m::MeanAbsolutePercentageError::new()),
        "r2_score" => Box::new(m::R2Score::new()),
        "auc" => Box::new(m::RocAuc::new()),
        "average_precision" => Box::new(m::AveragePrecision::new()),
        _ => return None,
    })
}
