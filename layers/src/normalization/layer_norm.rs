//! [`LayerNormalization`]: normalizes each sample over its feature axes by its own mean and
//! variance (Ba et al., 2016), with Keras 3's arguments and defaults.

use super::layer_norm_op::layer_norm;
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Regularizer, Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Initializer, Result, Rng};
use serde::{Deserialize, Deserializer, Serialize};

/// The configuration of a [`LayerNormalization`] layer (Keras' names and defaults; missing
/// fields take them when parsed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LayerNormalizationConfig {
    /// Layer name.
    pub name: String,
    /// The axes normalized over, counted on the batched input (negative from the end; default
    /// `[-1]`, the last; the batch axis 0 is not allowed). Keras' `axis`, an integer or a list;
    /// read from either, written as a list.
    #[serde(deserialize_with = "one_or_many")]
    pub axis: Vec<i64>,
    /// Added to the variance before the square root (default 1e-3).
    pub epsilon: f32,
    /// Whether the offset `beta` is added (default true).
    pub center: bool,
    /// Whether the result is multiplied by `gamma` (default true).
    pub scale: bool,
    /// Initializer of `beta` (default zeros).
    pub beta_initializer: Initializer,
    /// Initializer of `gamma` (default ones).
    pub gamma_initializer: Initializer,
    /// Optional penalty on `beta`.
    pub beta_regularizer: Option<Regularizer>,
    /// Optional penalty on `gamma`.
    pub gamma_regularizer: Option<Regularizer>,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    pub input_shape: Option<Shape>,
    /// Whether the parameters are updated in training.
    pub trainable: bool,
}

impl Default for LayerNormalizationConfig {
    fn default() -> LayerNormalizationConfig {
        LayerNormalizationConfig {
            name: String::new(),
            axis: vec![-1],
            epsilon: 1e-3,
            center: true,
            scale: true,
            beta_initializer: Initializer::Zeros,
            gamma_initializer: Initializer::Ones,
            beta_regularizer: None,
            gamma_regularizer: None,
            input_shape: None,
            trainable: true,
        }
    }
}

/// Reads Keras' `axis`: one integer or a list of them.
fn one_or_many<'de, D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Vec<i64>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Axis {
        One(i64),
        Many(Vec<i64>),
    }
    Ok(match Axis::deserialize(deserializer)? {
        Axis::One(a) => vec![a],
        Axis::Many(a) => a,
    })
}

/// Layer normalization: `gamma * (x - mean) / sqrt(var + epsilon) + beta`, where `mean` and
/// `var` (biased) are each sample's own, over the `axis` axes (by default the last), and
/// `gamma` and `beta` span those axes. Unlike batch normalization the statistics never mix
/// samples, so training and inference compute the same function and batches split freely.
///
/// When the axes are the trailing ones (the default) the layer runs as one fused tape op (one
/// pass for the statistics, one for the output, and a hand-written backward); other axes run
/// as a composition of tape ops. A mask passes through unchanged, as in Keras.
///
/// Weights: `{name}.gamma` and `{name}.beta`, each of the normalized axes' shape.
///
/// **PyTorch**: `nn.LayerNorm(normalized_shape, eps=epsilon)` (its `weight` and `bias`) when the
/// axes are the trailing ones; PyTorch's default `eps` is 1e-5, Keras' 1e-3, so build the
/// PyTorch module with `eps=1e-3` to compute the same function. Without `center` it is
/// `nn.LayerNorm(.., bias=False)`; without both, `elementwise_affine=False`; `scale` without
/// `center` has no PyTorch equivalent, nor have axes that are not trailing.
///
/// # Shapes
/// Any input `[batch, ..]`; the output has the same shape.
///
/// ```
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// use kensho_layers::{Ctx, Layer, LayerNormalization};
/// let mut ln = LayerNormalization::new().with_name("ln");
/// assert_eq!(ln.build(&[5, 4].into(), &mut kensho_core::seeded_rng(0))?, vec![5, 4]);
/// let names: Vec<&str> = ln.params().iter().map(|p| p.name()).collect();
/// assert_eq!(names, ["ln.gamma", "ln.beta"]);
/// let tape = Tape::no_grad();
/// let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(0));
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[1, 1, 4])?;
/// let mut ln = LayerNormalization::new().epsilon(0.0);
/// ln.build(&[1, 4].into(), &mut kensho_core::seeded_rng(0))?;
/// let y = ln.forward(tape.constant(x), &cx).value().to_vec();
/// // mean 2.5, variance 1.25
/// assert!((y[0] - (-1.5 / 1.25f32.sqrt())).abs() < 1e-6);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[doc(alias = "LayerNorm")]
#[derive(Clone, Debug)]
pub struct LayerNormalization {
    config: LayerNormalizationConfig,
    /// The normalized axes of the batched input, sorted, once built.
    axes: Vec<usize>,
    /// The rank of the batched input, once built.
    rank: usize,
    gamma: Option<Param>,
    beta: Option<Param>,
}

impl Default for LayerNormalization {
    fn default() -> LayerNormalization {
        LayerNormalization::new()
    }
}

impl LayerNormalization {
    /// Layer normalization with Keras' defaults (last axis, epsilon 1e-3, center and scale).
    pub fn new() -> LayerNormalization {
        LayerNormalization::from_config(LayerNormalizationConfig::default())
    }

    /// A layer from its configuration (unbuilt).
    pub fn from_config(config: LayerNormalizationConfig) -> LayerNormalization {
        LayerNormalization { config, axes: Vec::new(), rank: 0, gamma: None, beta: None }
    }

    /// Normalizes over one axis (negative counts from the end of the batched input).
    pub fn axis(self, axis: i64) -> LayerNormalization {
        self.axes(&[axis])
    }

    /// Normalizes over several axes (Keras' `axis=[..]`).
    pub fn axes(mut self, axes: &[i64]) -> LayerNormalization {
        self.config.axis = axes.to_vec();
        self
    }

    /// Sets epsilon.
    pub fn epsilon(mut self, epsilon: f32) -> LayerNormalization {
        self.config.epsilon = epsilon;
        self
    }

    /// Whether to add the offset `beta`.
    pub fn center(mut self, center: bool) -> LayerNormalization {
        self.config.center = center;
        self
    }

    /// Whether to multiply by `gamma`.
    pub fn scale(mut self, scale: bool) -> LayerNormalization {
        self.config.scale = scale;
        self
    }

    /// Sets the initializer of `beta`.
    pub fn beta_initializer(mut self, init: Initializer) -> LayerNormalization {
        self.config.beta_initializer = init;
        self
    }

    /// Sets the initializer of `gamma`.
    pub fn gamma_initializer(mut self, init: Initializer) -> LayerNormalization {
        self.config.gamma_initializer = init;
        self
    }

    /// Adds a penalty on `beta`.
    pub fn beta_regularizer(mut self, regularizer: Regularizer) -> LayerNormalization {
        self.config.beta_regularizer = Some(regularizer);
        self
    }

    /// Adds a penalty on `gamma`.
    pub fn gamma_regularizer(mut self, regularizer: Regularizer) -> LayerNormalization {
        self.config.gamma_regularizer = Some(regularizer);
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> LayerNormalization {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> LayerNormalization {
        self.set_name(name);
        self
    }

    /// The sorted axes of a batched input of rank `rank`, or an error naming the layer.
    fn resolve_axes(&self, input_shape: &Shape) -> Result<Vec<usize>> {
        let rank = input_shape.rank() + 1;
        let name = &self.config.name;
        let mut axes = Vec::with_capacity(self.config.axis.len());
        for &axis in &self.config.axis {
            let resolved = if axis < 0 { rank as i64 + axis } else { axis };
            if !(1..rank as i64).contains(&resolved) || axes.contains(&(resolved as usize)) {
                return Err(Error::invalid(
                    format!("LayerNormalization \"{name}\" axis"),
                    format!("{:?}", self.config.axis),
                    format!(
                        "distinct axes of the inputs {} other than the batch axis: 1..={} or -{}..=-1",
                        input_shape.with_batch(),
                        rank - 1,
                        rank - 1
                    ),
                ));
            }
            axes.push(resolved as usize);
        }
        if axes.is_empty() {
            return Err(Error::invalid(format!("LayerNormalization \"{name}\" axis"), "[]", "at least one axis"));
        }
        axes.sort_unstable();
        Ok(axes)
    }

    /// Whether the normalized axes are the trailing axes of a batched input of rank `rank`.
    fn trailing(&self, rank: usize) -> bool {
        rank >= self.axes.len() && self.axes.iter().enumerate().all(|(i, &a)| a == rank - self.axes.len() + i)
    }

    /// The composition for axes that are not trailing: statistics over `axes`, `gamma` and
    /// `beta` reshaped to broadcast.
    fn composed<'t>(&self, x: Var<'t>, gamma: Option<Var<'t>>, beta: Option<Var<'t>>) -> Var<'t> {
        let shape = x.shape();
        let broadcast: Vec<usize> =
            shape.iter().enumerate().map(|(i, &d)| if self.axes.contains(&i) { d } else { 1 }).collect();
        let centered = x.sub(x.mean_axes(&self.axes, true));
        let var = centered.mul(centered).mean_axes(&self.axes, true);
        let y = centered.mul(var.add_scalar(self.config.epsilon).powf(-0.5));
        let y = gamma.map_or(y, |g| y.mul(g.reshape(&broadcast)));
        beta.map_or(y, |b| y.add(b.reshape(&broadcast)))
    }
}

impl Layer for LayerNormalization {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
        for (param, suffix) in [(&mut self.gamma, "gamma"), (&mut self.beta, "beta")] {
            if let Some(p) = param {
                p.set_name(format!("{name}.{suffix}"));
            }
        }
    }

    fn kind(&self) -> &'static str {
        "LayerNormalization"
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let name = self.config.name.clone();
        let epsilon = self.config.epsilon;
        if !(epsilon.is_finite() && epsilon >= 0.0) {
            return Err(Error::invalid(format!("LayerNormalization \"{name}\" epsilon"), epsilon, "a number >= 0"));
        }
        let axes = self.resolve_axes(input_shape)?;
        let dims: Option<Vec<usize>> = axes.iter().map(|&a| input_shape.dims()[a - 1]).collect();
        let Some(dims) = dims else {
            return Err(Error::invalid(
                format!("LayerNormalization \"{name}\" input shape"),
                input_shape,
                format!("known sizes on the normalized axes {:?}", self.config.axis),
            ));
        };
        self.axes = axes;
        self.rank = input_shape.rank() + 1;
        if self.gamma.as_ref().or(self.beta.as_ref()).is_some_and(|p| p.value.shape() == dims) {
            return Ok(input_shape.clone());
        }
        let size = dims.iter().fold(1usize, |n, &d| n.saturating_mul(d));
        let c = &self.config;
        let init = |init: Initializer, suffix: &str, rng: &mut Rng| -> Result<Param> {
            let weight = format!("{name}.{suffix}");
            Ok(Param::new(&weight, init.init(&weight, &dims, size, size, rng)?))
        };
        let gamma = c.scale.then(|| init(c.gamma_initializer, "gamma", rng)).transpose()?;
        let beta = c.center.then(|| init(c.beta_initializer, "beta", rng)).transpose()?;
        (self.gamma, self.beta) = (gamma, beta);
        self.set_trainable(self.config.trainable);
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let tape = cx.tape;
        let gamma = self.gamma.as_ref().map(|g| tape.param(g));
        let beta = self.beta.as_ref().map(|b| tape.param(b));
        let shape = x.shape();
        if self.trailing(shape.len()) {
            let n = self.axes.iter().map(|&a| shape[a]).product();
            layer_norm(x, gamma, beta, n, self.config.epsilon)
        } else {
            self.composed(x, gamma, beta)
        }
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::LayerNormalization(self.config.clone())
    }

    fn params(&self) -> Vec<&Param> {
        self.gamma.iter().chain(self.beta.iter()).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.gamma.iter_mut().chain(self.beta.iter_mut()).collect()
    }

    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        let penalties = [(self.config.gamma_regularizer, &self.gamma), (self.config.beta_regularizer, &self.beta)];
        penalties
            .into_iter()
            .filter_map(|(reg, param)| Some((reg?, param.as_ref().filter(|p| p.trainable)?)))
            .map(|(reg, param)| reg.penalty(tape.param(param)))
            .reduce(Var::add)
    }

    fn declared_input_shape(&self) -> Option<Shape> {
        self.config.input_shape.clone()
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        // `nn.LayerNorm` normalizes the trailing axes; its `bias` needs its `weight`.
        if !self.trailing(self.rank) || (self.config.center && !self.config.scale) {
            return None;
        }
        let weights = [("weight", self.config.scale), ("bias", self.config.center)]
            .into_iter()
            .filter(|&(_, on)| on)
            .map(|(name, _)| TorchWeight::new(name, TorchTransform::Identity))
            .collect();
        Some(TorchLayout { modules: 1, weights, ..TorchLayout::default() })
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
