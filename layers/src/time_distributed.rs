//! [`TimeDistributed`]: applies one layer to every time step of a sequence (Keras'
//! `TimeDistributed`), with the same weights at every step.

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`TimeDistributed`] wrapper: its name and the wrapped layer's config.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimeDistributedConfig {
    /// Layer name (the wrapped layer's weights are named after it).
    pub name: String,
    /// The wrapped layer.
    pub layer: Box<LayerConfig>,
}

/// Runs the wrapped layer on each step of `[batch, time, ..]` as on a batch of `batch * time`
/// samples, giving `[batch, time, ..]` again; the sequence's mask passes on.
///
/// ```
/// use kensho_layers::{Conv2d, Layer, TimeDistributed};
/// // A convolution on each frame of a video [batch, frames, 8, 8, 3].
/// let mut frames = TimeDistributed::new(Conv2d::new(4, [3, 3]));
/// frames.set_name("frames");
/// assert_eq!(frames.build(&[5, 8, 8, 3].into(), &mut kensho_core::seeded_rng(0))?, vec![5, 6, 6, 4]);
/// assert_eq!(frames.params()[0].name(), "frames.kernel");
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub struct TimeDistributed {
    name: String,
    layer: Box<dyn Layer>,
}

impl TimeDistributed {
    /// Wraps `layer`.
    pub fn new(layer: impl Layer + 'static) -> TimeDistributed {
        TimeDistributed { name: String::new(), layer: Box::new(layer) }
    }

    /// The wrapper from its configuration (unbuilt).
    ///
    /// # Errors
    /// If the wrapped layer cannot be rebuilt from its configuration.
    pub fn from_config(config: TimeDistributedConfig) -> Result<TimeDistributed> {
        let mut layer = TimeDistributed { name: String::new(), layer: config.layer.to_layer()? };
        layer.set_name(&config.name);
        Ok(layer)
    }
}

impl Layer for TimeDistributed {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
        self.layer.set_name(name);
    }
    fn kind(&self) -> &'static str {
        "TimeDistributed"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::TimeDistributed(TimeDistributedConfig {
            name: self.name.clone(),
            layer: Box::new(self.layer.config()),
        })
    }
    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        let Some((&time, step)) = input_shape.dims().split_first() else {
            return Err(Error::invalid(
                format!("TimeDistributed \"{}\" input shape", self.name),
                input_shape,
                "sequences [batch, time, ..]",
            ));
        };
        let out = self.layer.build(&Shape::new(step.to_vec()), rng)?;
        Ok(Shape::new([time].into_iter().chain(out.dims().iter().copied()).collect()))
    }
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let shape = x.shape();
        let steps: Vec<usize> = [shape[0] * shape[1]].into_iter().chain(shape[2..].iter().copied()).collect();
        let y = self.layer.forward(x.reshape(&steps), cx);
        let out: Vec<usize> = shape[..2].iter().copied().chain(y.shape()[1..].iter().copied()).collect();
        y.reshape(&out)
    }
    fn params(&self) -> Vec<&Param> {
        self.layer.params()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.layer.params_mut()
    }
    fn state(&self) -> Vec<&Param> {
        self.layer.state()
    }
    fn state_mut(&mut self) -> Vec<&mut Param> {
        self.layer.state_mut()
    }
    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        self.layer.regularization(tape)
    }
    fn per_sample(&self) -> bool {
        self.layer.per_sample()
    }
    fn compute_mask(&self, _inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![masks.first().cloned().flatten()]
    }
    fn torch_layout(&self) -> Option<TorchLayout> {
        // PyTorch has no wrapper: the wrapped module applied to the merged batch and time axes
        // (for Linear, to the last axis) computes the same function with the same weights.
        self.layer.torch_layout()
    }
    fn trainable(&self) -> bool {
        self.layer.trainable()
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.layer.set_trainable(trainable);
    }
}

impl std::fmt::Debug for TimeDistributed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TimeDistributed({} \"{}\")", self.layer.kind(), self.name)
    }
}
