//! [`GlobalPool`]: the maximum or mean over every spatial axis (Keras'
//! `GlobalMaxPooling1D/2D` and `GlobalAveragePooling1D/2D`).

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a global pooling layer.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct GlobalPoolConfig {
    /// Layer name.
    pub name: String,
    /// Keep the pooled axes with size 1 (default false).
    #[serde(default)]
    pub keepdims: bool,
}

/// The maximum (`MAX`) or mean of each channel over the `N` spatial axes of channels_last
/// inputs: `[batch, h, w, c]` gives `[batch, c]` (or `[batch, 1, 1, c]` with `keepdims`).
///
/// ```
/// use kensho_layers::{GlobalAveragePooling2d, Layer, Shape};
/// let mut pool = GlobalAveragePooling2d::new();
/// assert_eq!(pool.build(&Shape::from([5, 5, 64]), &mut kensho_core::seeded_rng(0))?, vec![64]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct GlobalPool<const N: usize, const MAX: bool> {
    config: GlobalPoolConfig,
}

/// Keras' `GlobalAveragePooling2D`.
#[doc(alias = "GlobalAveragePooling2D")]
pub type GlobalAveragePooling2d = GlobalPool<2, false>;
/// Keras' `GlobalAveragePooling1D`.
#[doc(alias = "GlobalAveragePooling1D")]
pub type GlobalAveragePooling1d = GlobalPool<1, false>;
/// Keras' `GlobalMaxPooling2D`.
#[doc(alias = "GlobalMaxPooling2D")]
pub type GlobalMaxPooling2d = GlobalPool<2, true>;
/// Keras' `GlobalMaxPooling1D`.
#[doc(alias = "GlobalMaxPooling1D")]
pub type GlobalMaxPooling1d = GlobalPool<1, true>;

impl<const N: usize, const MAX: bool> GlobalPool<N, MAX> {
    /// Global pooling without `keepdims`.
    pub fn new() -> Self {
        GlobalPool { config: GlobalPoolConfig::default() }
    }

    /// A global pooling layer from its configuration.
    pub fn from_config(config: GlobalPoolConfig) -> Self {
        GlobalPool { config }
    }

    /// Keeps the pooled axes with size 1.
    pub fn keepdims(mut self, keepdims: bool) -> Self {
        self.config.keepdims = keepdims;
        self
    }
}

impl<const N: usize, const MAX: bool> GlobalPool<N, MAX> {
    /// Pooling over the real steps of a sequence `[batch, time, channels]` with its mask
    /// `[batch, time]`: the mean over the real steps, or the maximum over them (padded steps
    /// are pushed far below any value first). A sequence with no real step pools to 0 (mean).
    fn masked<'t>(&self, x: Var<'t>, mask: &Tensor, cx: &Ctx<'t>) -> Var<'t> {
        let (batch, time) = (mask.shape()[0], mask.shape()[1]);
        let per_step = mask.reshape_to(&[batch, time, 1]);
        let keep = self.config.keepdims;
        if MAX {
            let offset = per_step.map(|m| if m > 0.0 { 0.0 } else { -1e9 });
            return x.add(cx.tape.constant(offset)).max_axes(&[1], keep);
        }
        let counts = per_step.sum_axes(&[1], keep).map(|c| c.max(1.0));
        x.mul(cx.tape.constant(per_step)).sum_axes(&[1], keep).div(cx.tape.constant(counts))
    }
}

impl<const N: usize, const MAX: bool> Layer for GlobalPool<N, MAX> {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        match (N, MAX) {
            (1, true) => "GlobalMaxPooling1D",
            (1, false) => "GlobalAveragePooling1D",
            (_, true) => "GlobalMaxPooling2D",
            (_, false) => "GlobalAveragePooling2D",
        }
    }
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        if input_shape.rank() != N + 1 {
            return Err(Error::invalid(
                format!("{} \"{}\" input shape", self.kind(), self.config.name),
                input_shape,
                format!("inputs of rank {} per sample (spatial axes, then channels last)", N + 1),
            ));
        }
        let channels = input_shape.dims()[N];
        let dims = if self.config.keepdims { vec![Some(1); N] } else { Vec::new() };
        Ok(Shape::new(dims.into_iter().chain([channels]).collect()))
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        let axes: Vec<usize> = (1..=N).collect();
        if MAX {
            x.max_axes(&axes, self.config.keepdims)
        } else {
            x.mean_axes(&axes, self.config.keepdims)
        }
    }
    fn call<'t>(&self, inputs: &[Var<'t>], masks: &[Option<Tensor>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        match masks.first().cloned().flatten().filter(|_| N == 1) {
            Some(mask) => vec![self.masked(inputs[0], &mask, cx)],
            None => vec![self.forward(inputs[0], cx)],
        }
    }
    fn compute_mask(&self, _inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![None]
    }
    fn config(&self) -> LayerConfig {
        let c = self.config.clone();
        match (N, MAX) {
            (1, true) => LayerConfig::GlobalMaxPooling1D(c),
            (1, false) => LayerConfig::GlobalAveragePooling1D(c),
            (_, true) => LayerConfig::GlobalMaxPooling2D(c),
            (_, false) => LayerConfig::GlobalAveragePooling2D(c),
        }
    }
}
