//! [`BatchNormalization`]: normalizes each feature by batch statistics in training and by
//! moving statistics in inference (Ioffe and Szegedy, 2015), with Keras 3's arguments.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{replica_count, replica_sum, Regularizer, Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Initializer, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`BatchNormalization`] layer (Keras' names and defaults; missing
/// fields take them when parsed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BatchNormalizationConfig {
    /// Layer name.
    pub name: String,
    /// The feature axis, counted on the batched input (default -1, the last; 0, the batch
    /// axis, is not allowed).
    pub axis: i64,
    /// Weight of the old value in the moving averages (default 0.99).
    pub momentum: f32,
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
    /// Initializer of the moving mean (default zeros).
    pub moving_mean_initializer: Initializer,
    /// Initializer of the moving variance (default ones).
    pub moving_variance_initializer: Initializer,
    /// Optional penalty on `beta`.
    pub beta_regularizer: Option<Regularizer>,
    /// Optional penalty on `gamma`.
    pub gamma_regularizer: Option<Regularizer>,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    pub input_shape: Option<Shape>,
    /// Whether the layer learns; a frozen layer also runs in inference mode in training (it
    /// normalizes by its moving statistics and leaves them alone), as in Keras.
    pub trainable: bool,
}

impl Default for BatchNormalizationConfig {
    fn default() -> BatchNormalizationConfig {
        BatchNormalizationConfig {
            name: String::new(),
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            beta_initializer: Initializer::Zeros,
            gamma_initializer: Initializer::Ones,
            moving_mean_initializer: Initializer::Zeros,
            moving_variance_initializer: Initializer::Ones,
            beta_regularizer: None,
            gamma_regularizer: None,
            input_shape: None,
            trainable: true,
        }
    }
}

/// Batch normalization: `gamma * (x - mean) / sqrt(var + epsilon) + beta` per feature (the
/// `axis`, by default the last).
///
/// - In training, `mean` and `var` are the batch's (biased) mean and variance over every other
///   axis, batch included; the gradient flows through them (the layer is a composition of tape
///   ops). The moving statistics then move towards them:
///   `moving = moving * momentum + batch * (1 - momentum)`, the variance biased as in Keras.
/// - In inference (`evaluate`, `predict`) and when the layer is frozen, the moving statistics
///   are used, and each sample's output depends on that sample alone.
///
/// Because its training output depends on the whole batch ([`Layer::per_sample`] is false), a
/// model holding it never splits a batch across threads. With a mask (Keras' `mask` argument,
/// `[batch, ..]` without the feature axis, which must then be the last) the batch statistics
/// count only the unmasked positions.
///
/// Weights: `gamma` and `beta` (trainable, `{name}.gamma`, `{name}.beta`), and the state
/// `moving_mean` and `moving_variance` (non-trainable, updated after each train step).
///
/// **From PyTorch** (`nn.BatchNorm1d/2d`, whose `weight`, `bias`, `running_mean` and
/// `running_var` these are): PyTorch's momentum is the weight of the *new* value, so PyTorch's
/// `momentum = 1 - momentum` here (Keras' 0.99 is PyTorch's 0.01; PyTorch's default 0.1 is 0.9
/// here); PyTorch's default `eps` is 1e-5; and PyTorch moves `running_var` towards the
/// unbiased batch variance (`n / (n - 1)` times the one used here).
///
/// # Shapes
/// Any input `[batch, .., features, ..]`; the output has the same shape.
///
/// ```
/// use kensho_layers::{BatchNormalization, Layer};
/// let mut bn = BatchNormalization::new().momentum(0.9);
/// bn.set_name("bn");
/// assert_eq!(bn.build(&[8, 8, 16].into(), &mut kensho_core::seeded_rng(0))?, vec![8, 8, 16]);
/// let names: Vec<&str> = bn.params().iter().chain(bn.state().iter()).map(|p| p.name()).collect();
/// assert_eq!(names, ["bn.gamma", "bn.beta", "bn.moving_mean", "bn.moving_variance"]);
/// assert!(!bn.per_sample());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct BatchNormalization {
    config: BatchNormalizationConfig,
    /// The feature axis of the batched input, once built.
    axis: usize,
    gamma: Option<Param>,
    beta: Option<Param>,
    moving_mean: Option<Param>,
    moving_variance: Option<Param>,
}

impl Default for BatchNormalization {
    fn default() -> BatchNormalization {
        BatchNormalization::new()
    }
}

impl BatchNormalization {
    /// Batch normalization with Keras' defaults (last axis, momentum 0.99, epsilon 1e-3).
    pub fn new() -> BatchNormalization {
        BatchNormalization::from_config(BatchNormalizationConfig::default())
    }

    /// A layer from its configuration (unbuilt).
    pub fn from_config(config: BatchNormalizationConfig) -> BatchNormalization {
        BatchNormalization { config, axis: 0, gamma: None, beta: None, moving_mean: None, moving_variance: None }
    }

    /// Sets the feature axis (negative counts from the end of the batched input).
    pub fn axis(mut self, axis: i64) -> BatchNormalization {
        self.config.axis = axis;
        self
    }

    /// Sets the momentum of the moving averages (Keras' convention: the old value's weight).
    pub fn momentum(mut self, momentum: f32) -> BatchNormalization {
        self.config.momentum = momentum;
        self
    }

    /// Sets epsilon.
    pub fn epsilon(mut self, epsilon: f32) -> BatchNormalization {
        self.config.epsilon = epsilon;
        self
    }

    /// Whether to add the offset `beta`.
    pub fn center(mut self, center: bool) -> BatchNormalization {
        self.config.center = center;
        self
    }

    /// Whether to multiply by `gamma`.
    pub fn scale(mut self, scale: bool) -> BatchNormalization {
        self.config.scale = scale;
        self
    }

    /// Sets the initializer of `beta`.
    pub fn beta_initializer(mut self, init: Initializer) -> BatchNormalization {
        self.config.beta_initializer = init;
        self
    }

    /// Sets the initializer of `gamma`.
    pub fn gamma_initializer(mut self, init: Initializer) -> BatchNormalization {
        self.config.gamma_initializer = init;
        self
    }

    /// Sets the initializer of the moving mean.
    pub fn moving_mean_initializer(mut self, init: Initializer) -> BatchNormalization {
        self.config.moving_mean_initializer = init;
        self
    }

    /// Sets the initializer of the moving variance.
    pub fn moving_variance_initializer(mut self, init: Initializer) -> BatchNormalization {
        self.config.moving_variance_initializer = init;
        self
    }

    /// Adds a penalty on `beta`.
    pub fn beta_regularizer(mut self, regularizer: Regularizer) -> BatchNormalization {
        self.config.beta_regularizer = Some(regularizer);
        self
    }

    /// Adds a penalty on `gamma`.
    pub fn gamma_regularizer(mut self, regularizer: Regularizer) -> BatchNormalization {
        self.config.gamma_regularizer = Some(regularizer);
        self
    }

    /// Declares the per-sample input shape (on the first layer of a model).
    pub fn input_shape(mut self, shape: &[usize]) -> BatchNormalization {
        self.config.input_shape = Some(Shape::known(shape));
        self
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> BatchNormalization {
        self.set_name(name);
        self
    }

    /// Checks the numbers of the configuration.
    fn check_config(&self) -> Result<()> {
        let BatchNormalizationConfig { name, momentum, epsilon, .. } = &self.config;
        if !(0.0..=1.0).contains(momentum) {
            return Err(Error::invalid(
                format!("BatchNormalization \"{name}\" momentum"),
                momentum,
                "a value in [0, 1]",
            ));
        }
        if !(epsilon.is_finite() && *epsilon > 0.0) {
            return Err(Error::invalid(format!("BatchNormalization \"{name}\" epsilon"), epsilon, "a positive number"));
        }
        Ok(())
    }

    /// The feature axis of a batched input of rank `rank`, if valid (not the batch axis).
    fn resolve_axis(&self, rank: usize) -> Option<usize> {
        let axis = self.config.axis;
        let resolved = if axis < 0 { rank as i64 + axis } else { axis };
        (1..rank as i64).contains(&resolved).then_some(resolved as usize)
    }

    /// The batch mean, the centred input and the biased variance over every axis but the
    /// feature axis (mean and variance shaped to broadcast against `x`); with a mask, over the
    /// unmasked positions only.
    fn moments<'t>(&self, x: Var<'t>, mask: Option<&Tensor>, cx: &Ctx<'t>) -> [Var<'t>; 3] {
        let tape = cx.tape;
        let shape = x.shape();
        let axes: Vec<usize> = (0..shape.len()).filter(|&a| a != self.axis).collect();
        let last = shape.len() - 1;
        let mask = mask.filter(|m| self.axis == last && m.shape() == &shape[..last]);
        if cx.replicas.is_some() {
            return synchronised_moments(x, mask, &axes, cx);
        }
        match mask {
            None => {
                let mean = x.mean_axes(&axes, true);
                let centered = x.sub(mean);
                [mean, centered, centered.mul(centered).mean_axes(&axes, true)]
            }
            Some(m) => {
                let inv_count = 1.0 / m.sum_all().max(1.0);
                let weights: Vec<usize> = shape[..last].iter().copied().chain([1]).collect();
                let m = tape.constant(m.reshape_to(&weights));
                let mean = x.mul(m).sum_axes(&axes, true).mul_scalar(inv_count);
                let centered = x.sub(mean);
                [mean, centered, centered.mul(centered).mul(m).sum_axes(&axes, true).mul_scalar(inv_count)]
            }
        }
    }

    /// The forward pass, with the first input's mask if any.
    fn normalize<'t>(&self, x: Var<'t>, mask: Option<&Tensor>, cx: &Ctx<'t>) -> Var<'t> {
        let tape = cx.tape;
        let (moving_mean, moving_variance) = (
            self.moving_mean.as_ref().expect("BatchNormalization used before build"),
            self.moving_variance.as_ref().expect("BatchNormalization used before build"),
        );
        let features = moving_mean.value.len();
        let mut broadcast = vec![1; x.shape().len()];
        broadcast[self.axis] = features;
        let gamma = self.gamma.as_ref().map(|g| tape.param(g).reshape(&broadcast));
        let beta = self.beta.as_ref().map(|b| tape.param(b).reshape(&broadcast));
        let (centered, inv_std) = if cx.training && self.config.trainable {
            let [mean, centered, var] = self.moments(x, mask, cx);
            let momentum = self.config.momentum;
            for (state, batch) in [(moving_mean, mean), (moving_variance, var)] {
                let batch = batch.value().reshape_to(&[features]).mul_scalar(1.0 - momentum);
                cx.update_state(state, state.value.mul_scalar(momentum).add(&batch));
            }
            (centered, var.add_scalar(self.config.epsilon).powf(-0.5))
        } else {
            let mean = tape.constant(moving_mean.value.reshape_to(&broadcast));
            let inv_std = moving_variance.value.add_scalar(self.config.epsilon).powf(-0.5).reshape_to(&broadcast);
            (x.sub(mean), tape.constant(inv_std))
        };
        let scale = gamma.map_or(inv_std, |g| inv_std.mul(g));
        let y = centered.mul(scale);
        beta.map_or(y, |b| y.add(b))
    }
}

/// [`BatchNormalization::moments`] over the whole batch of data-parallel training, whose rows
/// are split across replicas: each replica's sums (of the values, then of the squared
/// deviations from the whole batch's mean, over its unmasked positions) are summed over the
/// replicas and divided by the whole batch's count, so every replica normalizes by the same
/// statistics one process would compute (synchronised batch normalization).
fn synchronised_moments<'t>(x: Var<'t>, mask: Option<&Tensor>, axes: &[usize], cx: &Ctx<'t>) -> [Var<'t>; 3] {
    let shape = x.shape();
    let (weights, local_count) = match mask {
        None => (None, axes.iter().map(|&a| shape[a]).product::<usize>() as f32),
        Some(m) => {
            let dims: Vec<usize> = shape[..shape.len() - 1].iter().copied().chain([1]).collect();
            (Some(cx.tape.constant(m.reshape_to(&dims))), m.sum_all())
        }
    };
    let inv_count = 1.0 / replica_count(cx, local_count).max(1.0);
    let masked = |v: Var<'t>| weights.map_or(v, |w| v.mul(w));
    let mean = replica_sum(cx, masked(x).sum_axes(axes, true)).mul_scalar(inv_count);
    let centered = x.sub(mean);
    let var = replica_sum(cx, masked(centered.mul(centered)).sum_axes(axes, true)).mul_scalar(inv_count);
    [mean, centered, var]
}

impl Layer for BatchNormalization {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
        let named = [
            (&mut self.gamma, "gamma"),
            (&mut self.beta, "beta"),
            (&mut self.moving_mean, "moving_mean"),
            (&mut self.moving_variance, "moving_variance"),
        ];
        for (param, suffix) in named {
            if let Some(p) = param {
                p.set_name(format!("{name}.{suffix}"));
            }
        }
    }

    fn kind(&self) -> &'static str {
        "BatchNormalization"
    }

    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        self.check_config()?;
        let name = self.config.name.clone();
        let rank = input_shape.rank() + 1;
        let Some(axis) = self.resolve_axis(rank) else {
            return Err(Error::invalid(
                format!("BatchNormalization \"{name}\" axis"),
                self.config.axis,
                format!(
                    "a feature axis of the inputs [batch, ..] (rank {rank}) other than the batch axis: \
                     1..={} or -{}..=-1 (input shape {})",
                    rank - 1,
                    rank - 1,
                    input_shape.with_batch()
                ),
            ));
        };
        let Some(features) = input_shape.dims()[axis - 1] else {
            return Err(Error::invalid(
                format!("BatchNormalization \"{name}\" input shape"),
                input_shape,
                format!("a known size on the feature axis {}", self.config.axis),
            ));
        };
        self.axis = axis;
        if self.moving_mean.as_ref().is_some_and(|m| m.value.shape() == [features]) {
            return Ok(input_shape.clone());
        }
        let c = &self.config;
        let init = |init: Initializer, suffix: &str, rng: &mut Rng| -> Result<Param> {
            let weight = format!("{name}.{suffix}");
            Ok(Param::new(&weight, init.init(&weight, &[features], features, features, rng)?))
        };
        let gamma = c.scale.then(|| init(c.gamma_initializer, "gamma", rng)).transpose()?;
        let beta = c.center.then(|| init(c.beta_initializer, "beta", rng)).transpose()?;
        let mut state = [
            init(c.moving_mean_initializer, "moving_mean", rng)?,
            init(c.moving_variance_initializer, "moving_variance", rng)?,
        ];
        (self.gamma, self.beta) = (gamma, beta);
        for s in &mut state {
            s.trainable = false;
        }
        let [mean, variance] = state;
        self.moving_mean = Some(mean);
        self.moving_variance = Some(variance);
        self.set_trainable(self.config.trainable);
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        self.normalize(x, None, cx)
    }

    fn call<'t>(&self, inputs: &[Var<'t>], masks: &[Option<Tensor>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        vec![self.normalize(inputs[0], masks.first().and_then(Option::as_ref), cx)]
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::BatchNormalization(self.config.clone())
    }

    fn params(&self) -> Vec<&Param> {
        self.gamma.iter().chain(self.beta.iter()).collect()
    }

    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.gamma.iter_mut().chain(self.beta.iter_mut()).collect()
    }

    fn state(&self) -> Vec<&Param> {
        self.moving_mean.iter().chain(self.moving_variance.iter()).collect()
    }

    fn state_mut(&mut self) -> Vec<&mut Param> {
        self.moving_mean.iter_mut().chain(self.moving_variance.iter_mut()).collect()
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

    fn per_sample(&self) -> bool {
        // A frozen layer normalizes by its moving statistics, sample by sample.
        !self.config.trainable
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        // One `nn.BatchNorm1d/2d` module. PyTorch's `affine` gives both `weight` and `bias` or
        // neither, so a layer with only one of `gamma` and `beta` has no PyTorch equivalent.
        //
        // PyTorch's module also holds `num_batches_tracked`, a step counter it uses only when its
        // `momentum` is None (a cumulative average). kensho keeps no such counter (the layer's
        // weights are Keras' four): the file gets it as a buffer of 0, so that PyTorch's
        // `load_state_dict(strict=True)` takes the file, and kensho ignores it on load.
        if self.config.scale != self.config.center {
            return None;
        }
        let mut weights = Vec::new();
        if self.config.scale {
            weights.push(TorchWeight::new("weight", TorchTransform::Identity));
            weights.push(TorchWeight::new("bias", TorchTransform::Identity));
        }
        weights.push(TorchWeight::new("running_mean", TorchTransform::Identity));
        weights.push(TorchWeight::new("running_var", TorchTransform::Identity));
        let layout = TorchLayout { modules: 1, weights, ..TorchLayout::default() };
        Some(layout.with_buffer("num_batches_tracked", Tensor::scalar(0.0)))
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
