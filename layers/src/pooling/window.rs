//! [`Pool`]: max and average pooling over windows of 1 or 2 spatial axes (Keras'
//! `MaxPooling1D`, `MaxPooling2D`, `AveragePooling1D`, `AveragePooling2D`).

use crate::layer::{Ctx, Layer, LayerConfig};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Padding, Pool1dOptions, Pool2dOptions, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a pooling layer (Keras' names and defaults), one entry per spatial
/// axis.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolConfig {
    /// Layer name.
    pub name: String,
    /// The window size.
    pub pool_size: Vec<usize>,
    /// Steps between windows (default: the window size).
    pub strides: Option<Vec<usize>>,
    /// `Valid` (default) or `Same`.
    pub padding: Padding,
}

/// Pooling of channels_last inputs over windows of `N` spatial axes: the maximum when `MAX`,
/// else the mean of each window (padded positions never win and are not counted).
///
/// # Shapes
/// `MaxPooling2d`: input `[batch, h, w, c]`, output `[batch, oh, ow, c]` with
/// `oh = floor((h - pool) / stride) + 1` (valid) or `ceil(h / stride)` (same).
///
/// ```
/// use kensho_layers::{Layer, MaxPooling2d, Shape};
/// let mut pool = MaxPooling2d::new([2, 2]);
/// assert_eq!(pool.build(&Shape::from([26, 26, 32]), &mut kensho_core::seeded_rng(0))?, vec![13, 13, 32]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Pool<const N: usize, const MAX: bool> {
    config: PoolConfig,
}

/// Keras' `MaxPooling2D`.
#[doc(alias = "MaxPooling2D")]
#[doc(alias = "MaxPool2D")]
pub type MaxPooling2d = Pool<2, true>;
/// Keras' `MaxPooling1D`.
#[doc(alias = "MaxPooling1D")]
pub type MaxPooling1d = Pool<1, true>;
/// Keras' `AveragePooling2D`.
#[doc(alias = "AveragePooling2D")]
pub type AveragePooling2d = Pool<2, false>;
/// Keras' `AveragePooling1D`.
#[doc(alias = "AveragePooling1D")]
pub type AveragePooling1d = Pool<1, false>;

impl<const N: usize, const MAX: bool> Pool<N, MAX> {
    /// Pooling over windows of `pool_size`, strides equal to the window, valid padding.
    pub fn new(pool_size: [usize; N]) -> Self {
        Pool::from_config(PoolConfig {
            name: String::new(),
            pool_size: pool_size.to_vec(),
            strides: None,
            padding: Padding::Valid,
        })
    }

    /// A pooling layer from its configuration.
    pub fn from_config(config: PoolConfig) -> Self {
        Pool { config }
    }

    /// Sets the strides.
    pub fn strides(mut self, strides: [usize; N]) -> Self {
        self.config.strides = Some(strides.to_vec());
        self
    }

    /// Sets the padding.
    pub fn padding(mut self, padding: Padding) -> Self {
        self.config.padding = padding;
        self
    }

    /// The window options as a 2-D pooling (a 1-D one pools over a height of 1).
    fn options(&self) -> Pool2dOptions {
        let c = &self.config;
        let strides = c.strides.as_ref().unwrap_or(&c.pool_size);
        let two = |v: &[usize]| if N == 1 { [1, v[0]] } else { [v[0], v[1]] };
        Pool2dOptions::new(two(&c.pool_size)).strides(two(strides)).padding(c.padding)
    }
}

impl<const N: usize, const MAX: bool> Layer for Pool<N, MAX> {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        match (N, MAX) {
            (1, true) => "MaxPooling1D",
            (1, false) => "AveragePooling1D",
            (_, true) => "MaxPooling2D",
            (_, false) => "AveragePooling2D",
        }
    }
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let owner = format!("{} \"{}\"", self.kind(), self.config.name);
        let c = &self.config;
        let sizes_ok = |v: &[usize]| v.len() == N && !v.contains(&0);
        if !sizes_ok(&c.pool_size) || !c.strides.as_deref().is_none_or(sizes_ok) {
            return Err(Error::invalid(
                format!("{owner} pool_size / strides"),
                format!("{:?} / {:?}", c.pool_size, c.strides),
                format!("{N} positive numbers each"),
            ));
        }
        let dims = input_shape.require_known(&owner)?;
        if dims.len() != N + 1 {
            let expected = if N == 1 { "[batch, steps, channels]" } else { "[batch, height, width, channels]" };
            return Err(Error::invalid(
                format!("{owner} input shape"),
                input_shape,
                format!("inputs of rank {} per sample, {expected} (channels last)", N + 1),
            ));
        }
        let full: Vec<usize> = if N == 1 { vec![1, 1, dims[0], dims[1]] } else { vec![1, dims[0], dims[1], dims[2]] };
        let out = self.options().output_shape(&full).map_err(|_| {
            Error::invalid(
                format!("{owner} input shape"),
                input_shape,
                format!("spatial sizes of at least the window {:?} with valid padding", c.pool_size),
            )
        })?;
        Ok(Shape::known(&out[4 - (N + 1)..]))
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        let opts = self.options();
        let one = Pool1dOptions { pool: opts.pool[1], strides: opts.strides[1], padding: opts.padding };
        match (N, MAX) {
            (1, true) => x.max_pool1d(one),
            (1, false) => x.avg_pool1d(one),
            (_, true) => x.max_pool2d(opts),
            (_, false) => x.avg_pool2d(opts),
        }
    }
    fn compute_mask(&self, _inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![None] // pooling merges positions, so a mask over them no longer applies
    }
    fn config(&self) -> LayerConfig {
        let c = self.config.clone();
        match (N, MAX) {
            (1, true) => LayerConfig::MaxPooling1D(c),
            (1, false) => LayerConfig::AveragePooling1D(c),
            (_, true) => LayerConfig::MaxPooling2D(c),
            (_, false) => LayerConfig::AveragePooling2D(c),
        }
    }
}
