//! [`QuantizedLayer`]: a Dense or Conv2D layer whose product runs in int8 (per-output-channel
//! symmetric weights, an input quantized to u8 with its calibrated scale and zero point, int32
//! accumulation), dequantized to f32 with the bias and a fused ReLU.

use super::calibrate::InputQuantization;
use super::patches::{ConvGeometry, MaxPool};
use kensho_autograd::Var;
use kensho_core::quant::{gemm_u8i8_f32, quantize_u8, Dequantize, PackedI8Matrix};
use kensho_core::{Error, Result, Rng, Tensor};
use kensho_layers::{Activation, Ctx, Layer, LayerConfig, Shape};
use std::sync::Arc;

/// Which product a quantized layer computes.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Operation {
    /// `x · kernel` over the last axis.
    Dense,
    /// A 2-D convolution, channels last, in one group.
    Conv2d(ConvGeometry),
}

/// The int8 weights of one layer and how its input is quantized.
pub(crate) struct QuantizedWeights {
    /// The float layer's name.
    pub(crate) name: String,
    /// The float layer's kernel shape (`[in, units]` or `[kh, kw, in, filters]`).
    pub(crate) kernel_shape: Vec<usize>,
    /// The kernel as `[K, N]` int8, packed.
    pub(crate) kernel: PackedI8Matrix,
    /// Per output channel, the kernel's scale: `w ≈ kernel_scales[j] * q`.
    pub(crate) kernel_scales: Vec<f32>,
    /// The f32 bias, if the layer has one.
    pub(crate) bias: Option<Vec<f32>>,
    /// How the input becomes u8.
    pub(crate) input: InputQuantization,
}

impl QuantizedWeights {
    /// Quantizes a float kernel (`K` rows by `N` output channels, row-major) per output
    /// channel, symmetrically: `scale_j = max |w[., j]| / 127`, `q = round(w / scale_j)`.
    pub(crate) fn quantize(
        name: &str,
        kernel: &Tensor,
        bias: Option<&Tensor>,
        input: InputQuantization,
    ) -> Result<QuantizedWeights> {
        let shape = kernel.shape().to_vec();
        let n = *shape.last().expect("a kernel has axes");
        let values = kernel.to_contiguous().to_vec();
        let k = values.len() / n;
        let scales: Vec<f32> = (0..n)
            .map(|j| {
                let max = (0..k).map(|p| values[p * n + j].abs()).fold(0.0f32, f32::max);
                if max > 0.0 {
                    max / 127.0
                } else {
                    1.0
                }
            })
            .collect();
        let q: Vec<i8> = values
            .iter()
            .enumerate()
            .map(|(i, &w)| (w / scales[i % n]).round_ties_even().clamp(-127.0, 127.0) as i8)
            .collect();
        QuantizedWeights::new(name, shape, &q, scales, bias.map(Tensor::to_vec), input)
    }

    /// Weights already quantized (as a file holds them), checked.
    pub(crate) fn new(
        name: &str,
        kernel_shape: Vec<usize>,
        kernel: &[i8],
        kernel_scales: Vec<f32>,
        bias: Option<Vec<f32>>,
        input: InputQuantization,
    ) -> Result<QuantizedWeights> {
        let n = kernel_shape.last().copied().unwrap_or(0);
        let k = kernel.len().checked_div(n).unwrap_or(0);
        let what = |part: &str| format!("quantized layer \"{name}\": {part}");
        if kernel_scales.len() != n || kernel_scales.iter().any(|s| !(s.is_finite() && *s > 0.0)) {
            return Err(Error::invalid(
                what("kernel_scale"),
                format!("{} values", kernel_scales.len()),
                format!("{n} finite positive scales, one per output channel"),
            ));
        }
        if let Some(b) = &bias
            && b.len() != n
        {
            return Err(Error::invalid(what("bias"), b.len(), format!("{n} values")));
        }
        if !(input.scale.is_finite() && input.scale > 0.0 && (0..=255).contains(&input.zero_point)) {
            return Err(Error::invalid(
                what("input quantization"),
                format!("scale {}, zero point {}", input.scale, input.zero_point),
                "a finite positive scale and a zero point in 0..=255",
            ));
        }
        let kernel = PackedI8Matrix::pack(kernel, k, n)
            .map_err(|e| Error::invalid(what("kernel"), e, "a [K, N] int8 kernel"))?;
        Ok(QuantizedWeights { name: name.to_string(), kernel_shape, kernel, kernel_scales, bias, input })
    }
}

/// A Dense or Conv2D layer run in int8 for inference. It has no trainable parameters; its
/// config is the float layer's, so a quantized model's file names the float architecture.
pub(crate) struct QuantizedLayer {
    config: LayerConfig,
    kind: &'static str,
    operation: Operation,
    activation: Activation,
    weights: Arc<QuantizedWeights>,
    /// `input.scale * kernel_scales[j]`: what turns an int32 sum into f32.
    output_scales: Vec<f32>,
    /// A max pooling applied to the convolution's output, sample by sample while it is in
    /// cache (the pooling layer of the model then passes its input on).
    pool: Option<MaxPool>,
    output_shape: Shape,
}

impl QuantizedLayer {
    /// The quantized form of `float` (a Dense, or a Conv2D in one group; an error for any
    /// other layer) with the given weights, for per-sample input shape `input_shape`; `pool`
    /// is a max pooling to fuse after a convolution.
    pub(crate) fn new(
        float: &dyn Layer,
        input_shape: &Shape,
        output_shape: &Shape,
        weights: Arc<QuantizedWeights>,
        pool: Option<MaxPool>,
    ) -> Result<QuantizedLayer> {
        let config = float.config();
        let (operation, activation) = operation_of(&config, input_shape).ok_or_else(|| {
            Error::invalid(format!("quantize: layer \"{}\"", float.name()), float.kind(), "a Dense or Conv2D layer")
        })?;
        let expected_k = match &operation {
            Operation::Dense => input_shape.to_known().and_then(|s| s.last().copied()),
            Operation::Conv2d(g) => Some(g.patch_len()),
        };
        if expected_k != Some(weights.kernel.k()) {
            return Err(Error::invalid(
                format!("quantized layer \"{}\": kernel", float.name()),
                format!("{:?}", weights.kernel_shape),
                format!("a kernel for the input shape {input_shape}"),
            ));
        }
        let output_scales = weights.kernel_scales.iter().map(|s| s * weights.input.scale).collect();
        let pool = match (&operation, pool) {
            (Operation::Conv2d(g), Some(pool)) if pool.output(g.out_h, g.out_w).is_some() => Some(pool),
            (_, None) => None,
            _ => {
                return Err(Error::invalid(
                    format!("quantize: layer \"{}\"", float.name()),
                    "a pooling",
                    "a convolution to fuse it with",
                ))
            }
        };
        Ok(QuantizedLayer {
            config,
            kind: float.kind(),
            operation,
            activation,
            weights,
            output_scales,
            pool,
            output_shape: output_shape.clone(),
        })
    }

    /// The convolution of a batch (`input` `[batch, h, w, C]`), sample by sample: quantize,
    /// gather the windows, multiply, and pool if a pooling is fused. Returns the values and
    /// their shape.
    fn convolve(&self, g: &ConvGeometry, input: &[f32], batch: usize) -> (Vec<f32>, Vec<usize>) {
        let w = &self.weights;
        let n = w.kernel.n();
        let sample_len = g.in_h * g.in_w * g.channels;
        let (out_h, out_w) = match &self.pool {
            Some(pool) => pool.output(g.out_h, g.out_w).expect("checked in new"),
            None => (g.out_h, g.out_w),
        };
        let mut out = Vec::with_capacity(batch * out_h * out_w * n);
        let mut q = vec![0u8; sample_len];
        let mut rows = vec![0u8; g.out_pixels() * g.patch_len()];
        let mut conv = vec![0.0f32; g.out_pixels() * n];
        for sample in input.chunks_exact(sample_len) {
            quantize_u8(sample, 1.0 / w.input.scale, w.input.zero_point, &mut q);
            g.fill(&q, w.input.zero_point as u8, &mut rows);
            self.product(g.out_pixels(), &rows, g.patch_len(), &mut conv);
            match &self.pool {
                Some(pool) => pool.pool_into(&conv, g.out_h, g.out_w, n, &mut out),
                None => out.extend_from_slice(&conv),
            }
        }
        (out, vec![batch, out_h, out_w, n])
    }

    /// `y = dequantize(q(x) · W)` for `rows` rows of `k` u8 values.
    fn product(&self, rows: usize, q: &[u8], k: usize, out: &mut [f32]) {
        let w = &self.weights;
        let dequantize = Dequantize {
            input_zero_point: w.input.zero_point,
            scales: &self.output_scales,
            bias: w.bias.as_deref(),
            relu: self.activation == Activation::Relu,
        };
        gemm_u8i8_f32(rows, q, k, &w.kernel, out, w.kernel.n(), &dequantize);
    }
}

/// What the float layer computes, if it can be quantized: Dense, or Conv2D with one group on
/// a rank-3 input.
pub(crate) fn operation_of(config: &LayerConfig, input_shape: &Shape) -> Option<(Operation, Activation)> {
    match config {
        LayerConfig::Dense(c) => Some((Operation::Dense, c.kernel.activation)),
        LayerConfig::Conv2D(c) if c.groups == 1 => {
            let input = input_shape.to_known()?;
            let geometry = ConvGeometry::new(&input, c)?;
            Some((Operation::Conv2d(geometry), c.kernel.activation))
        }
        _ => None,
    }
}

impl Layer for QuantizedLayer {
    fn name(&self) -> &str {
        &self.weights.name
    }
    fn set_name(&mut self, name: &str) {
        // A quantized layer keeps the name it was quantized under: its weights are named by it.
        debug_assert_eq!(name, self.weights.name, "a quantized layer is not renamed");
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn config(&self) -> LayerConfig {
        self.config.clone()
    }
    fn build(&mut self, _input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        Ok(self.output_shape.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let value = x.value().to_contiguous();
        let input = value.as_slice().expect("a contiguous tensor");
        let shape = value.shape();
        let (out, out_shape) = match &self.operation {
            Operation::Dense => {
                let w = &self.weights;
                let (k, n) = (w.kernel.k(), w.kernel.n());
                let mut q = vec![0u8; input.len()];
                quantize_u8(input, 1.0 / w.input.scale, w.input.zero_point, &mut q);
                let rows = input.len() / k;
                let mut out = vec![0.0; rows * n];
                self.product(rows, &q, k, &mut out);
                (out, [&shape[..shape.len() - 1], &[n]].concat())
            }
            Operation::Conv2d(g) => self.convolve(g, input, shape[0]),
        };
        let y = cx.tape.constant(Tensor::from_vec(out, &out_shape).expect("the output's size matches its shape"));
        if self.activation == Activation::Relu {
            y
        } else {
            self.activation.apply(y)
        }
    }
}

/// A layer whose work a quantized convolution before it has done (a fused max pooling): it
/// passes its input on, and keeps the float layer's name, kind and config for files.
pub(crate) struct FusedAway {
    name: String,
    kind: &'static str,
    config: LayerConfig,
    output_shape: Shape,
}

impl FusedAway {
    /// Stands in for `float`, whose per-sample output shape is `output_shape`.
    pub(crate) fn new(float: &dyn Layer, output_shape: &Shape) -> FusedAway {
        FusedAway {
            name: float.name().to_string(),
            kind: float.kind(),
            config: float.config(),
            output_shape: output_shape.clone(),
        }
    }
}

impl Layer for FusedAway {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        self.kind
    }
    fn config(&self) -> LayerConfig {
        self.config.clone()
    }
    fn build(&mut self, _input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        Ok(self.output_shape.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        x
    }
}
