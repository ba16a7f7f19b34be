//! [`MultiHeadAttention`]: Keras' multi-head scaled dot-product attention (Vaswani et al.,
//! 2017) over sequences, as batched GEMMs with a fused, stable, masked softmax.

use super::masks::MaskSources;
use super::projection::Projection;
use super::softmax::masked_softmax;
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Regularizer, Shape, TorchLayout};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Initializer, Result, Rng, Tensor};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// The configuration of a [`MultiHeadAttention`] layer (Keras' names and defaults; missing
/// fields take them when parsed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MultiHeadAttentionConfig {
    /// Layer name.
    pub name: String,
    /// The number of attention heads.
    pub num_heads: usize,
    /// The size of each head's query and key projections.
    pub key_dim: usize,
    /// The size of each head's value projection (`None`: `key_dim`).
    pub value_dim: Option<usize>,
    /// The dropout rate on the attention probabilities, in training (default 0).
    pub dropout: f32,
    /// Whether the four projections add biases (default true).
    pub use_bias: bool,
    /// The size of the output's last axis (`None`: the query's last dimension, as Keras'
    /// `output_shape=None`; Keras' multi-axis output shapes are not supported).
    pub output_shape: Option<usize>,
    /// Initializer of the four kernels (default Glorot uniform).
    pub kernel_initializer: Initializer,
    /// Initializer of the four biases (default zeros).
    pub bias_initializer: Initializer,
    /// Optional penalty on the kernels.
    pub kernel_regularizer: Option<Regularizer>,
    /// Optional penalty on the biases.
    pub bias_regularizer: Option<Regularizer>,
    /// Keras' call argument `use_causal_mask`, fixed for every call: query `i` attends only
    /// to keys `j <= i` (default false).
    pub use_causal_mask: bool,
    /// Keras' call argument `return_attention_scores`, fixed for every call: the layer gives
    /// a second output, the attention probabilities `[batch, heads, T_q, T_k]` (default false).
    pub return_attention_scores: bool,
    /// Whether the parameters are updated in training.
    pub trainable: bool,
}

impl Default for MultiHeadAttentionConfig {
    fn default() -> MultiHeadAttentionConfig {
        MultiHeadAttentionConfig {
            name: String::new(),
            num_heads: 1,
            key_dim: 1,
            value_dim: None,
            dropout: 0.0,
            use_bias: true,
            output_shape: None,
            kernel_initializer: Initializer::GlorotUniform,
            bias_initializer: Initializer::Zeros,
            kernel_regularizer: None,
            bias_regularizer: None,
            use_causal_mask: false,
            return_attention_scores: false,
            trainable: true,
        }
    }
}

/// Multi-head attention (Keras' `MultiHeadAttention`): the query, key and value are projected
/// per head (`[d, heads, key_dim]` kernels), each query attends to the keys with the weights
/// `softmax(q · kᵀ / sqrt(key_dim))`, the weighted values of the heads are joined and projected
/// back to the output size (by default the query's last dimension).
///
/// **Inputs** (calls take no keyword arguments here, so the order says what each is):
/// `[query, value]` (the key is the value: self-attention is `[x, x]`), `[query, value, key]`,
/// or `[query, value, key, attention_mask]` (pass the value again as the key to give a mask
/// alone). The attention mask is `[batch, T_q, T_k]`, nonzero where query `i` may attend to key
/// `j`; its last two axes may have size 1 to broadcast.
///
/// **Masks**, by Keras' rule: a mask flowing with the query, value or key (from `Embedding`
/// with `mask_zero`, or `Masking`) is combined with the attention mask and the causal mask by
/// AND; padded keys get no attention, and a padded query's attention row is all zeros. The
/// output carries the query's mask. Masked scores get -1e9 before a stable softmax and 0
/// after it, as Keras does.
///
/// **Options** that are call arguments in Keras are builder flags here:
/// [`use_causal_mask`](MultiHeadAttention::use_causal_mask) and
/// [`return_attention_scores`](MultiHeadAttention::return_attention_scores) (a second output).
///
/// **Weights**, named as Keras' sublayers: `{name}.query.kernel` `[d_query, heads, key_dim]`,
/// `{name}.query.bias` `[heads, key_dim]`, the same for `key` (on the key's last dimension) and
/// `value` (`value_dim`), and `{name}.attention_output.kernel` `[heads, value_dim, d_out]` and
/// `.bias` `[d_out]`.
///
/// **PyTorch**: `nn.MultiheadAttention(embed_dim=E, num_heads, batch_first=True)` when
/// `heads * key_dim == E`, `value_dim == key_dim` and the output size is `E` (the query's last
/// dimension): `in_proj_weight` `[3E, E]` (query, key and value stacked), `in_proj_bias`,
/// `out_proj.weight`, `out_proj.bias`; with `kdim` / `vdim` (a key or value of another width)
/// the projections are `q_proj_weight`, `k_proj_weight`, `v_proj_weight`, as PyTorch names
/// them then. `use_bias = false` is `bias=False`. Other shapes have no PyTorch equivalent.
///
/// # Shapes
/// Query `[batch, T_q, d_query]`, value `[batch, T_k, d_value]`, key `[batch, T_k, d_key]`;
/// output `[batch, T_q, d_out]`, and with attention scores `[batch, heads, T_q, T_k]`.
///
/// ```
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// use kensho_layers::{Ctx, Layer, MultiHeadAttention, Shape};
/// let mut mha = MultiHeadAttention::new(2, 4).use_causal_mask(true).with_name("mha");
/// let x = Shape::from([5, 8]);
/// assert_eq!(mha.build_inputs(&[x.clone(), x], &mut kensho_core::seeded_rng(0))?, [Shape::from([5, 8])]);
/// assert_eq!(mha.params()[0].name(), "mha.query.kernel");
/// assert_eq!(mha.params()[0].value.shape(), &[8, 2, 4]);
/// let tape = Tape::no_grad();
/// let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(0));
/// let x = tape.constant(Tensor::ones(&[3, 5, 8]));
/// assert_eq!(mha.call(&[x, x], &[None, None], &cx)[0].shape(), [3, 5, 8]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MultiHeadAttention {
    config: MultiHeadAttentionConfig,
    query: Projection,
    key: Projection,
    value: Projection,
    output: Projection,
}

impl MultiHeadAttention {
    /// Attention with `num_heads` heads of size `key_dim` (Keras' required arguments), the
    /// value heads of the same size, no dropout, biases, and the query's width as output.
    pub fn new(num_heads: usize, key_dim: usize) -> MultiHeadAttention {
        MultiHeadAttention::from_config(MultiHeadAttentionConfig { num_heads, key_dim, ..Default::default() })
    }

    /// A layer from its configuration (unbuilt).
    pub fn from_config(config: MultiHeadAttentionConfig) -> MultiHeadAttention {
        MultiHeadAttention {
            config,
            query: Projection::new("query"),
            key: Projection::new("key"),
            value: Projection::new("value"),
            output: Projection::new("attention_output"),
        }
    }

    /// Sets the size of each value head (default `key_dim`).
    pub fn value_dim(mut self, value_dim: usize) -> MultiHeadAttention {
        self.config.value_dim = Some(value_dim);
        self
    }

    /// Sets the dropout rate on the attention probabilities.
    pub fn dropout(mut self, rate: f32) -> MultiHeadAttention {
        self.config.dropout = rate;
        self
    }

    /// Whether the projections add biases (default true).
    pub fn use_bias(mut self, use_bias: bool) -> MultiHeadAttention {
        self.config.use_bias = use_bias;
        self
    }

    /// Sets the output's last dimension (Keras' `output_shape`; default the query's).
    pub fn output_shape(mut self, size: usize) -> MultiHeadAttention {
        self.config.output_shape = Some(size);
        self
    }

    /// Sets the kernels' initializer.
    pub fn kernel_initializer(mut self, init: Initializer) -> MultiHeadAttention {
        self.config.kernel_initializer = init;
        self
    }

    /// Sets the biases' initializer.
    pub fn bias_initializer(mut self, init: Initializer) -> MultiHeadAttention {
        self.config.bias_initializer = init;
        self
    }

    /// Adds a penalty on the kernels.
    pub fn kernel_regularizer(mut self, regularizer: Regularizer) -> MultiHeadAttention {
        self.config.kernel_regularizer = Some(regularizer);
        self
    }

    /// Adds a penalty on the biases.
    pub fn bias_regularizer(mut self, regularizer: Regularizer) -> MultiHeadAttention {
        self.config.bias_regularizer = Some(regularizer);
        self
    }

    /// Lets each query attend only to the keys at or before its position (a decoder's
    /// self-attention; Keras' call argument `use_causal_mask=True`).
    pub fn use_causal_mask(mut self, causal: bool) -> MultiHeadAttention {
        self.config.use_causal_mask = causal;
        self
    }

    /// Gives the attention probabilities `[batch, heads, T_q, T_k]` as a second output (Keras'
    /// call argument `return_attention_scores=True`).
    pub fn return_attention_scores(mut self, scores: bool) -> MultiHeadAttention {
        self.config.return_attention_scores = scores;
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> MultiHeadAttention {
        self.set_name(name);
        self
    }

    /// The configuration.
    pub(super) fn settings(&self) -> &MultiHeadAttentionConfig {
        &self.config
    }

    /// The size of each value head.
    pub(super) fn value_size(&self) -> usize {
        self.config.value_dim.unwrap_or(self.config.key_dim)
    }

    /// The four projections in Keras' order.
    pub(super) fn projections(&self) -> [&Projection; 4] {
        [&self.query, &self.key, &self.value, &self.output]
    }

    /// An error about the inputs, naming the layer.
    fn input_error(&self, inputs: &[Shape], expected: &str) -> Error {
        let shapes: Vec<String> = inputs.iter().map(Shape::to_string).collect();
        Error::invalid(
            format!("MultiHeadAttention \"{}\" inputs", self.config.name),
            format!("[{}]", shapes.join(", ")),
            expected,
        )
    }

    /// Checks the numbers of the configuration.
    fn check_config(&self) -> Result<()> {
        let c = &self.config;
        let what = |field: &str| format!("MultiHeadAttention \"{}\" {field}", c.name);
        for (field, value) in [("num_heads", c.num_heads), ("key_dim", c.key_dim), ("value_dim", self.value_size())] {
            if value == 0 {
                return Err(Error::invalid(what(field), 0, "a positive number"));
            }
        }
        if c.output_shape == Some(0) {
            return Err(Error::invalid(what("output_shape"), 0, "a positive number"));
        }
        if !(0.0..1.0).contains(&c.dropout) {
            return Err(Error::invalid(what("dropout"), c.dropout, "a rate in [0, 1)"));
        }
        Ok(())
    }

    /// `x: [batch, T, d]` projected to `[batch, heads, T, size]` (a strided view of the
    /// projection's buffer, read in place by the batched products).
    fn split_heads<'t>(&self, x: Var<'t>, proj: &Projection, size: usize, tape: &'t Tape) -> Var<'t> {
        let shape = x.shape();
        let (batch, len, d) = (shape[0], shape[1], shape[2]);
        let heads = self.config.num_heads;
        let y = proj.apply(x.reshape(&[batch * len, d]), tape);
        y.reshape(&[batch, len, heads, size]).permute(&[0, 2, 1, 3])
    }

    /// Multiplies by a fresh inverted-dropout mask in training when the rate is positive.
    fn dropout_on<'t>(&self, probs: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let rate = self.config.dropout;
        if !cx.training || rate == 0.0 {
            return probs;
        }
        let keep = 1.0 - rate;
        let mut rng = cx.rng.borrow_mut();
        let mask = Tensor::from_fn(&probs.shape(), |_| if rng.random::<f32>() < keep { 1.0 / keep } else { 0.0 });
        probs.mul_mask(mask)
    }
}

impl Layer for MultiHeadAttention {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
        for p in [&mut self.query, &mut self.key, &mut self.value, &mut self.output] {
            p.rename(name);
        }
    }

    fn kind(&self) -> &'static str {
        "MultiHeadAttention"
    }

    fn build_inputs(&mut self, inputs: &[Shape], rng: &mut Rng) -> Result<Vec<Shape>> {
        self.check_config()?;
        if !(2..=4).contains(&inputs.len()) {
            return Err(self.input_error(
                inputs,
                "2 to 4 inputs: [query, value], [query, value, key] or [query, value, key, attention_mask]",
            ));
        }
        let sequences = inputs.iter().take(3);
        let Some(dims) = sequences.map(|s| (s.rank() == 2).then(|| s.last()).flatten()).collect::<Option<Vec<_>>>()
        else {
            return Err(self.input_error(
                inputs,
                "query, value and key of per-sample shape [time, features] with known features \
                 ([batch, time, features] batched)",
            ));
        };
        let (d_query, d_value) = (dims[0], dims[1]);
        let d_key = dims.get(2).copied().unwrap_or(d_value);
        let len = |s: &Shape| s.dims()[0];
        let t_k = len(&inputs[1]);
        let key_len = inputs.get(2).map_or(t_k, len);
        if t_k.is_some() && key_len.is_some() && t_k != key_len {
            return Err(self.input_error(inputs, "a value and a key of the same length"));
        }
        let t_q = len(&inputs[0]);
        if let Some(mask) = inputs.get(3) {
            let fits =
                |d: Option<usize>, want: Option<usize>| d == Some(1) || d.is_none() || want.is_none() || d == want;
            if mask.rank() != 2 || !fits(mask.dims()[0], t_q) || !fits(mask.dims()[1], t_k) {
                return Err(self.input_error(inputs, "an attention mask of per-sample shape [T_q, T_k]"));
            }
        }
        let c = &self.config;
        let (heads, key_dim, value_dim) = (c.num_heads, c.key_dim, self.value_size());
        let d_out = c.output_shape.unwrap_or(d_query);
        let init = (c.kernel_initializer, c.bias_initializer);
        let (name, bias) = (c.name.clone(), c.use_bias);
        let wanted = [
            [d_query, heads, key_dim],
            [d_key, heads, key_dim],
            [d_value, heads, value_dim],
            [heads, value_dim, d_out],
        ];
        let projections = [&mut self.query, &mut self.key, &mut self.value, &mut self.output];
        for ((proj, shape), split) in projections.into_iter().zip(wanted).zip([1, 1, 1, 2]) {
            if !proj.has_kernel(&shape) {
                proj.create(&name, &shape, split, init, bias, rng)?;
            }
        }
        self.set_trainable(self.config.trainable);
        let mut outputs = vec![Shape::new(vec![t_q, Some(d_out)])];
        if self.config.return_attention_scores {
            outputs.push(Shape::new(vec![Some(heads), t_q, t_k]));
        }
        Ok(outputs)
    }

    fn call<'t>(&self, inputs: &[Var<'t>], masks: &[Option<Tensor>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        let tape = cx.tape;
        let (query, value) = (inputs[0], inputs[1]);
        let key = inputs.get(2).copied().unwrap_or(value);
        let mask = |i: usize| masks.get(i).and_then(Option::as_ref);
        let explicit = inputs.get(3).map(|m| m.value());
        let (q_shape, k_len) = (query.shape(), key.shape()[1]);
        let (batch, t_q) = (q_shape[0], q_shape[1]);
        let sources = MaskSources {
            query: mask(0),
            value: mask(1),
            key: mask(2),
            explicit: explicit.as_ref(),
            causal: self.config.use_causal_mask,
        };
        let attention_mask = sources.combine(batch, t_q, k_len);
        let (key_dim, value_dim) = (self.config.key_dim, self.value_size());
        let q = self.split_heads(query, &self.query, key_dim, tape);
        let k = self.split_heads(key, &self.key, key_dim, tape);
        let v = self.split_heads(value, &self.value, value_dim, tape);
        let scale = 1.0 / (key_dim as f32).sqrt();
        let probs = masked_softmax(q.matmul(k.transpose()), attention_mask.as_ref(), scale);
        let context = self.dropout_on(probs, cx).matmul(v);
        let heads = self.config.num_heads;
        let joined = context.permute(&[0, 2, 1, 3]).reshape(&[batch * t_q, heads * value_dim]);
        let out = self.output.apply(joined, tape);
        let d_out = out.shape()[1];
        let mut outputs = vec![out.reshape(&[batch, t_q, d_out])];
        if self.config.return_attention_scores {
            outputs.push(probs);
        }
        outputs
    }

    fn compute_mask(&self, _inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        let mut out = vec![masks.first().cloned().flatten()];
        if self.config.return_attention_scores {
            out.push(None);
        }
        out
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::MultiHeadAttention(self.config.clone())
    }

    fn params(&self) -> Vec<&Param> {
        self.projections().into_iter().flat_map(Projection::params).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        [&mut self.query, &mut self.key, &mut self.value, &mut self.output]
            .into_iter()
            .flat_map(|p| p.params_mut())
            .collect()
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        let regs = (self.config.kernel_regularizer, self.config.bias_regularizer);
        self.projections().into_iter().filter_map(|p| p.penalty(regs, tape)).reduce(Var::add)
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        super::torch::layout(self)
    }

    fn trainable(&self) -> bool {
        self.config.trainable
    }

    fn set_trainable(&mut self, trainable: bool) {
        self.config.trainable = trainable;
        for p in self.params_mut() {
            p.trainable = trainable;
        }
    }
}
