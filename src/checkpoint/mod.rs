//! Checkpoints: weights files, whole-model files and PyTorch interchange, all as
//! [safetensors](https://github.com/huggingface/safetensors) files of f32 tensors.
//!
//! - [`Model::save_weights`](crate::Model::save_weights) / [`Model::load_weights`](crate::Model::load_weights): the weights (parameters and
//!   state), one tensor per weight named as the weight (`dense.kernel`, `dense.bias`,
//!   `dense_1.kernel`, ...).
//!   Loading is strict by default, as PyTorch's `load_state_dict`: every missing, unexpected and
//!   mis-shaped tensor is listed in one [`Error::WeightsMismatch`](crate::Error::WeightsMismatch)
//!   and the model is left unchanged.
//!   [`Model::load_weights_with`](crate::Model::load_weights_with) with `strict: false` loads the tensors that match and
//!   returns a [`LoadReport`] of the rest (transfer learning).
//! - [`Model::save`](crate::Model::save) / [`load_model`]: the whole model in one file. The tensors are the
//!   weights plus the optimizer state under `optimizer/` (`optimizer/dense.kernel/m`, ...,
//!   `optimizer/iterations`, see [`Optimizer::state`](kensho_optim::Optimizer::state)); the
//!   `__metadata__` map holds `format = "kensho.model"` and, under `kensho.model`, JSON with
//!   `format_version` (2), `seed`, `name`, `input_shapes`, `layers` (each layer's
//!   [`LayerConfig`](kensho_layers::LayerConfig), once), `calls` (the graph: each call's layer
//!   index and inputs, in order), `outputs` and `compile` (the
//!   [`OptimizerConfig`](kensho_optim::OptimizerConfig), the
//!   [`LossConfig`](kensho_layers::LossConfig), the metric names and, under `metric_configs`,
//!   each metric's [`MetricConfig`](kensho_metrics::MetricConfig) or `null`). A loaded model predicts
//!   identically, evaluates the same metrics with the same settings and, since the seed and the
//!   optimizer state (with its step count) are restored, `fit(.., FitOptions { initial_epoch, .. })`
//!   continues training exactly where it stopped. User-defined layers, losses and metrics are
//!   restored when their classes are registered (`register_layer`, `register_loss`,
//!   `register_metric`); a user metric without a config is not: pass it to
//!   [`load_model_with_metrics`]. Version 1 files (one `input_shape`, a chain of `layers`) load
//!   as before. Files without `metric_configs` (older
//!   kensho) rebuild only the parameterless metrics named (see [`metric_from_name`]).
//! - [`ModelCheckpoint`](crate::callbacks::ModelCheckpoint) saves either kind during `fit`.
//!
//! Every file is written atomically (a temporary file in the same folder, flushed to disk, then
//! renamed over the target), so a crash or a full disk never leaves a half-written file where
//! the previous good one was. Tensors are written as F32 (int8 kernels of a [`QuantizedModel`](crate::quantization::QuantizedModel) as I8); F16, BF16, F64, I64 and I8 tensors (as
//! PyTorch may save them) are read by converting to f32. Reading a truncated or corrupt file,
//! or one holding tensors of another type, gives an [`Error::Parse`](crate::Error::Parse)
//! naming the file, never a panic.
//!
//! # PyTorch layout
//!
//! With [`WeightsLayout::PyTorch`] the file holds exactly the `state_dict()` of the equivalent
//! `torch.nn.Sequential(...)`, so `model.load_state_dict(safetensors.torch.load_file(path))`
//! works on the PyTorch side and kensho loads files that PyTorch saved. Modules are numbered as
//! PyTorch numbers the children of `nn.Sequential`, from 0:
//!
//! | kensho layer | PyTorch modules | tensors |
//! |---|---|---|
//! | `Input` | none (counts 0) | |
//! | `Dense` with linear activation | `nn.Linear(in, out, bias=use_bias)` (counts 1) | `N.weight` = kernel transposed, `[out, in]`; `N.bias` `[out]` |
//! | `Dense` with another activation | `nn.Linear` then the activation module, e.g. `nn.ReLU()` (counts 2) | as above |
//! | `Activation` | the activation module (counts 1) | |
//! | `Dropout` | `nn.Dropout(rate)` (counts 1) | |
//! | `Flatten` | `nn.Flatten()` (counts 1) | |
//! | `Reshape` | `nn.Unflatten` or a reshaping module (counts 1) | |
//! | `Conv1D` / `Conv2D` (+ activation as for Dense) | `nn.Conv1d` / `nn.Conv2d` | `N.weight` `[out, in / groups, (kh,) kw]` from kensho's `[(kh,) kw, in / groups, out]`; `N.bias` |
//! | `Conv2DTranspose` | `nn.ConvTranspose2d` | `N.weight` `[in, out, kh, kw]` from kensho's `[kh, kw, out, in]`; `N.bias` |
//! | `DepthwiseConv2D` | `nn.Conv2d(groups = in)` | `N.weight` `[in * depth_multiplier, 1, kh, kw]`; `N.bias` |
//! | `SeparableConv2D` | a depthwise `nn.Conv2d` without bias, then a 1x1 `nn.Conv2d` (counts 2) | `N.weight`; `N+1.weight`, `N+1.bias` |
//! | `MaxPooling*` / `AveragePooling*` / `Global*Pooling*`, `ZeroPadding2D`, `UpSampling2D`, `Cropping2D`, `SpatialDropout2D` | the matching module (counts 1) | |
//! | `BatchNormalization` | `nn.BatchNorm1d/2d` (counts 1) | `N.weight` (gamma), `N.bias` (beta), `N.running_mean`, `N.running_var`, and `N.num_batches_tracked` written as 0 (ignored on load); PyTorch's momentum is 1 - Keras' |
//! | preprocessing layers (`Rescaling`, `Random*`) | none: torchvision transforms (counts 0) | |
//! | `LayerNormalization` (trailing axes) | `nn.LayerNorm(shape, eps=epsilon)` (PyTorch's default eps is 1e-5, Keras' 1e-3) | `N.weight` (gamma), `N.bias` (beta) |
//! | `MultiHeadAttention` (`heads * key_dim == E`, `value_dim == key_dim`, output `E`) | `nn.MultiheadAttention(E, heads, batch_first=True)` | `N.in_proj_weight` `[3E, E]` (query, key, value kernels `[E, heads, key_dim]` flattened, transposed, stacked; `q_proj_weight`, `k_proj_weight`, `v_proj_weight` when the key or value has another width), `N.in_proj_bias` `[3E]`, `N.out_proj.weight`, `N.out_proj.bias` |
//! | `PositionEmbedding` | `nn.Embedding(sequence_length, features)` applied to `arange(T)` | `N.weight` |
//! | `SimpleRNN` (tanh or relu) / `LSTM` / `GRU` (tanh and sigmoid, `reset_after`) | `nn.RNN(nonlinearity=..)` / `nn.LSTM` / `nn.GRU`, one layer, `batch_first=True` (counts 1) | `N.weight_ih_l0` `[gates * units, features]` (the kernel transposed), `N.weight_hh_l0` (the recurrent kernel transposed), `N.bias_ih_l0` (the bias); GRU: gate blocks `z, r, h` reordered to PyTorch's `r, z, n`, and `N.bias_hh_l0` its recurrent bias; RNN and LSTM have one bias: `N.bias_hh_l0` is written as zeros and ignored on load (fold a PyTorch-trained `bias_hh_l0` into `bias_ih_l0` first) |
//! | `Bidirectional` | the same module with `bidirectional=True` | the forward direction's keys, then the backward direction's ending in `_reverse` |
//!
//! For example `Input(4) → Dense(8, relu) → Dropout → Dense(3, softmax)` is
//! `Sequential(Linear(4, 8), ReLU(), Dropout(), Linear(8, 3), Softmax(-1))`, whose keys are
//! `0.weight`, `0.bias`, `3.weight`, `3.bias`.
//!
//! Each layer declares its own row of this table
//! ([`Layer::torch_layout`](kensho_layers::Layer::torch_layout)): how many modules it counts
//! for, and for each weight (its parameters, then its state, such as a moving mean) the name in
//! its module and the [`TorchTransform`](kensho_layers::TorchTransform) between the layouts: a
//! permutation of axes (a Conv2D kernel `[kh, kw, in, out]` is `weight` `[out, in, kh, kw]`),
//! reordered gate blocks (LSTM and GRU), a block of a tensor that stacks several weights under
//! one key (attention's `in_proj_weight`), or a chain of these. A layer without a PyTorch
//! equivalent returns `None`, and saving a model holding it in the PyTorch layout is an error
//! naming the layer. Only a straight chain of layers has an `nn.Sequential` equivalent; any
//! other graph (a functional model) is written as the `nn.Module` whose attributes carry the
//! layers' names, so its keys start with the layer's name (`dense.weight`, `dense_1.bias`;
//! `name.K.weight` for module K when several modules of a layer hold tensors), and a shared layer's weights are
//! written once. Merge layers are functions in PyTorch and hold no keys.
//!
//! Images are channels_last in kensho and channels_first in PyTorch, so a `Flatten` of an
//! image orders its values `(h, w, c)` here and `(c, h, w)` there. The Dense layer that follows
//! it (possibly after Dropout or Activation) is written with its weight's columns in PyTorch's
//! order, and read back the same way, so the file computes the same function on both sides.
//!
//! Weight names are checked unique within a model when it is built, so every key of both
//! layouts names one tensor.
//!
//! A PyTorch model that is not an `nn.Sequential` names its modules after its attributes
//! (`fc1.weight`, `fc2.weight`, ...). Load its `state_dict` by mapping those names to the
//! numbering above with [`LoadOptions::rename`]: for `fc1 = Linear(4, 8)`, `fc2 = Linear(8, 3)`
//! with a ReLU between them (so kensho's `Dense(8, relu)` counts two modules),
//! `LoadOptions::default().layout(WeightsLayout::PyTorch).rename("fc1.", "0.").rename("fc2.", "2.")`.
//! A load that matches no key lists both sides' keys and suggests such rules.

pub(crate) mod atomic;
mod header;
pub(crate) mod model_file;
mod quantized_file;
mod tensors_file;
pub(crate) mod torch_layout;
mod weights;

pub use model_file::{load_model, load_model_with_metrics, metric_from_name};
pub use quantized_file::load_quantized_model;
pub use tensors_file::{load_tensors, save_tensors, Metadata};

/// How parameters are named and laid out in a weights file.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum WeightsLayout {
    /// kensho's names (`dense.kernel`) and layouts (kernel `[in, out]`).
    #[default]
    Kensho,
    /// `torch.nn.Sequential(...).state_dict()`'s keys (`0.weight`) and layouts (weight
    /// `[out, in]`); see the [module documentation](self).
    PyTorch,
}

/// The options of [`Model::load_weights_with`](crate::Model::load_weights_with).
///
/// `renames` maps the file's keys to the model's before they are matched, for a file whose
/// modules are named otherwise: a PyTorch model with attributes `fc1`, `fc2`, `fc3` saves
/// `fc1.weight`, ..., where kensho's `nn.Sequential` numbering expects `0.weight`, ...
/// Each rule `(prefix, replacement)` replaces the start of a key; the first rule whose prefix
/// starts the key applies, once, and keys that no rule matches are kept.
///
/// ```
/// use kensho::{LoadOptions, WeightsLayout};
/// // class Net(nn.Module): fc1 = Linear(4, 8); fc2 = Linear(8, 3)  (ReLU applied in forward)
/// let options = LoadOptions::default().layout(WeightsLayout::PyTorch).rename("fc1.", "0.").rename("fc2.", "2.");
/// assert_eq!(options.renamed("fc2.bias"), "2.bias");
/// assert_eq!(options.renamed("head.weight"), "head.weight");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadOptions {
    /// Require every parameter, with its shape, and nothing else (default true). When false,
    /// the tensors that match are loaded and the rest are reported; a load that matches no
    /// tensor at all is still an error.
    pub strict: bool,
    /// The file's layout (default [`WeightsLayout::Kensho`]).
    pub layout: WeightsLayout,
    /// Key prefix rules `(prefix in the file, replacement)`, applied in order to the file's
    /// keys before matching (default none); see [`LoadOptions::rename`].
    pub renames: Vec<(String, String)>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions { strict: true, layout: WeightsLayout::Kensho, renames: Vec::new() }
    }
}

impl LoadOptions {
    /// Sets `strict`.
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Sets the file's layout.
    pub fn layout(mut self, layout: WeightsLayout) -> Self {
        self.layout = layout;
        self
    }

    /// Adds a rule: a file key starting with `prefix` is read as `replacement` followed by the
    /// rest of the key (`rename("fc1.", "0.")` reads `fc1.weight` as `0.weight`). Rules are
    /// tried in the order they were added; the first that matches applies.
    pub fn rename(mut self, prefix: impl Into<String>, replacement: impl Into<String>) -> Self {
        self.renames.push((prefix.into(), replacement.into()));
        self
    }

    /// The name a file key is matched under, after the `renames` rules.
    pub fn renamed(&self, key: &str) -> String {
        match self.renames.iter().find(|(prefix, _)| key.starts_with(prefix.as_str())) {
            Some((prefix, replacement)) => format!("{replacement}{}", &key[prefix.len()..]),
            None => key.to_string(),
        }
    }
}

/// A tensor whose shape in the file differs from the model's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShapeMismatch {
    /// The tensor's name in the file.
    pub name: String,
    /// The shape the model needs (in the file's layout).
    pub expected: Vec<usize>,
    /// The shape in the file.
    pub found: Vec<usize>,
}

/// What a load matched, by the file's tensor names (PyTorch keys for the PyTorch layout).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadReport {
    /// Parameters loaded, in the model's order.
    pub loaded: Vec<String>,
    /// Parameters of the model with no tensor in the file (left unchanged).
    pub missing: Vec<String>,
    /// Tensors of the file that are no parameter of the model (ignored).
    pub unexpected: Vec<String>,
    /// Tensors whose shape differs from the parameter's (left unchanged).
    pub mismatched: Vec<ShapeMismatch>,
}

impl LoadReport {
    /// Whether every parameter was loaded and the file held nothing else.
    pub fn is_complete(&self) -> bool {
        self.missing.is_empty() && self.unexpected.is_empty() && self.mismatched.is_empty()
    }

    /// The problems, in one line (empty if complete).
    pub fn problems(&self) -> String {
        let mut parts = Vec::new();
        let tensors = |n: usize| format!("{n} tensor{}", if n == 1 { "" } else { "s" });
        if !self.missing.is_empty() {
            parts.push(format!("missing {}: {}", tensors(self.missing.len()), self.missing.join(", ")));
        }
        if !self.unexpected.is_empty() {
            parts.push(format!("unexpected {}: {}", tensors(self.unexpected.len()), self.unexpected.join(", ")));
        }
        if !self.mismatched.is_empty() {
            let list: Vec<String> = self
                .mismatched
                .iter()
                .map(|m| format!("{} (file {:?}, model {:?})", m.name, m.found, m.expected))
                .collect();
            parts.push(format!("{} of another shape: {}", tensors(list.len()), list.join(", ")));
        }
        parts.join("; ")
    }
}
