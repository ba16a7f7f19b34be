//! Convolutions and pooling: ONNX `Conv`, `MaxPool`, `AveragePool` and the global pools
//! (channels_first) on the channels_first view of a kensho value become Conv1D/2D,
//! Max/AveragePooling1D/2D and GlobalMax/AveragePooling1D/2D on the channels_last value
//! itself (as do `ReduceMean` / `ReduceMax` over its spatial axes). ONNX's explicit pads become Keras' `valid` (none) or `same`
//! (TensorFlow's split, the smaller half first); other pads of a 2-D convolution become a
//! ZeroPadding2D before it.

use super::layout::Layout;
use super::tensors::{attr_int, attr_ints, attr_string};
use super::walk::{unsupported, Importer, Sym};
use crate::onnx::layers::conv::window_pads;
use crate::onnx::proto::NodeProto;
use kensho_core::{Padding, Result};
use kensho_layers::{ConvConfig, GlobalPoolConfig, KernelOptions, Layer, LayerConfig, PoolConfig, ZeroPadding2d};

/// The window options of a Conv or pooling node: kernel, strides, dilations and pads.
struct Window {
    kernel: Vec<usize>,
    strides: Vec<usize>,
    dilations: Vec<usize>,
    /// `None` for `auto_pad = SAME_UPPER` (Keras' same), else ONNX's `[begins.., ends..]`.
    pads: Option<Vec<usize>>,
}

/// An attribute list of sizes, `default` when unset; `what` names it in errors.
fn sizes(node: &NodeProto, what: &str, n: usize, default: usize) -> Result<Vec<usize>> {
    let Some(values) = attr_ints(node, what) else { return Ok(vec![default; n]) };
    let sizes: Option<Vec<usize>> = values.iter().map(|&v| usize::try_from(v).ok()).collect();
    // Pads may be 0; kernel sizes, strides and dilations may not.
    let least = usize::from(what != "pads");
    sizes
        .filter(|s| s.len() == n && s.iter().all(|&v| v >= least))
        .ok_or_else(|| unsupported(node, &format!("{what} {values:?} for {n} spatial axes")))
}

impl Window {
    /// The window of `node` over `n` spatial axes (`kernel` from the weight when the node
    /// does not say).
    fn of(node: &NodeProto, n: usize, kernel: Option<Vec<usize>>) -> Result<Window> {
        let kernel = match (attr_ints(node, "kernel_shape"), kernel) {
            (None, Some(k)) if k.iter().all(|&k| k > 0) => k,
            _ => sizes(node, "kernel_shape", n, 1)?,
        };
        let pads = match attr_string(node, "auto_pad").as_deref() {
            None | Some("NOTSET") => Some(sizes(node, "pads", 2 * n, 0)?),
            Some("VALID") => Some(vec![0; 2 * n]),
            Some("SAME_UPPER") => None,
            Some(other) => return Err(unsupported(node, &format!("auto_pad {other}"))),
        };
        Ok(Window { kernel, strides: sizes(node, "strides", n, 1)?, dilations: sizes(node, "dilations", n, 1)?, pads })
    }

    /// Keras' padding for these pads over `input` (`layer` for messages): `valid`, `same`, or
    /// `None` for other pads.
    fn padding(&self, layer: &dyn Layer, input: &[usize]) -> Result<Option<Padding>> {
        let Some(pads) = &self.pads else { return Ok(Some(Padding::Same)) };
        if pads.iter().all(|&p| p == 0) {
            return Ok(Some(Padding::Valid));
        }
        let input: Vec<Option<usize>> = input.iter().map(|&d| Some(d)).collect();
        let same = window_pads(layer, &input, &self.kernel, &self.strides, &self.dilations, Padding::Same)?;
        Ok(same.iter().zip(pads).all(|(&s, &p)| s == p as i64).then_some(Padding::Same))
    }
}

/// The number of spatial axes of the channels_first view `x` (rank 3 or 4 with the batch), if
/// it is the channels_first view of a kensho value.
fn spatial_axes(node: &NodeProto, x: &Sym) -> Result<usize> {
    let rank = x.t.shape().rank() + 1;
    if !(3..=4).contains(&rank) || x.layout != Layout::channels_first(rank) {
        return Err(unsupported(
            node,
            "its input is not a channels_first view of a channels_last value of rank 3 or 4 (1-D or 2-D)",
        ));
    }
    Ok(rank - 2)
}

impl Importer<'_> {
    /// `Conv(x, W, B)`: Conv1D/2D with the kernel `[out, in / groups, k..]` permuted to kensho's
    /// `[k.., in / groups, out]`, and the activation after it folded in.
    pub(super) fn conv(&mut self, node: &NodeProto) -> Result<()> {
        let mut x = self.value(node, 0)?;
        let n = spatial_axes(node, &x)?;
        let w = self.weight_input(node, 1)?;
        if w.ndim() != n + 2 {
            return Err(unsupported(node, &format!("a weight of shape {:?} for {n} spatial axes", w.shape())));
        }
        let window = Window::of(node, n, Some(w.shape()[2..].to_vec()))?;
        let bias = self.float_input(node, 2)?;
        let groups = usize::try_from(attr_int(node, "group", 1)).unwrap_or(0);
        let channels = x.t.shape().last();
        if groups == 0 || channels != Some(w.shape()[1] * groups) {
            let seen = format!("a weight of shape {:?} in {groups} groups for {channels:?} input channels", w.shape());
            return Err(unsupported(node, &seen));
        }
        let activation = self.fold_activation(&node.output[0], x.layout.clone(), n + 2);
        let mut config = ConvConfig {
            name: String::new(),
            filters: w.shape()[0],
            kernel_size: window.kernel.clone(),
            strides: window.strides.clone(),
            padding: Padding::Same,
            dilation_rate: window.dilations.clone(),
            groups,
            kernel: KernelOptions { activation, use_bias: bias.is_some(), ..KernelOptions::default() },
        };
        let layer = conv_layer(n, config.clone())?;
        let spatial = &x.dims(node)?[..n];
        match window.padding(layer.as_ref(), spatial)? {
            Some(padding) => config.padding = padding,
            None if n == 2 => {
                let p = window.pads.as_deref().unwrap_or_default();
                let pad = ZeroPadding2d::new([[p[0], p[2]], [p[1], p[3]]]);
                x.t = self.call(Box::new(pad), &[&x.t], None, vec![])?;
                config.padding = Padding::Valid;
            }
            None => return Err(unsupported(node, "pads other than none or Keras' same on a 1-D convolution")),
        }
        let perm: Vec<usize> = (2..n + 2).chain([1, 0]).collect();
        let kernel = w.permute(&perm).to_contiguous();
        let weights = std::iter::once(("kernel", kernel)).chain(bias.map(|b| ("bias", b))).collect();
        let t = self.call(conv_layer(n, config)?, &[&x.t], node.input.get(1).map(String::as_str), weights)?;
        self.set(&node.output[0], Sym { t, layout: x.layout });
        Ok(())
    }

    /// `MaxPool` / `AveragePool`: Max/AveragePooling1D/2D (pads none or Keras' same; an
    /// average must not count padded positions, as Keras does not).
    pub(super) fn pool(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.value(node, 0)?;
        let n = spatial_axes(node, &x)?;
        let window = Window::of(node, n, None)?;
        let max = node.op_type == "MaxPool";
        if window.dilations.iter().any(|&d| d != 1) || attr_int(node, "ceil_mode", 0) != 0 {
            return Err(unsupported(node, "dilations or ceil_mode (Keras' pooling has neither)"));
        }
        let mut config = PoolConfig {
            name: String::new(),
            pool_size: window.kernel.clone(),
            strides: Some(window.strides.clone()),
            padding: Padding::Valid,
        };
        let layer = pool_layer(n, max, config.clone())?;
        config.padding = match window.padding(layer.as_ref(), &x.dims(node)?[..n])? {
            Some(Padding::Same) if !max && attr_int(node, "count_include_pad", 0) != 0 => {
                return Err(unsupported(
                    node,
                    "count_include_pad = 1 with padding (Keras does not count padded positions)",
                ))
            }
            Some(padding) => padding,
            None => return Err(unsupported(node, "pads other than none or Keras' same")),
        };
        let t = self.call(pool_layer(n, max, config)?, &[&x.t], None, vec![])?;
        self.set(&node.output[0], Sym { t, layout: x.layout });
        Ok(())
    }
}

impl Importer<'_> {
    /// PyTorch's `GlobalAveragePool` / `GlobalMaxPool` (the spatial axes of a channels_first
    /// value, kept with size 1) and kensho's own `ReduceMean` / `ReduceMax` over the spatial
    /// axes of a channels_last value: GlobalAverage/MaxPooling1D/2D.
    pub(super) fn global_pool(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.value(node, 0)?;
        let (n, keepdims) = if node.op_type.starts_with("Global") {
            (spatial_axes(node, &x)?, true)
        } else {
            (self.reduced_spatial_axes(node, &x)?, attr_int(node, "keepdims", 1) != 0)
        };
        let config = GlobalPoolConfig { name: String::new(), keepdims };
        let layer = match (n, node.op_type.contains("Max")) {
            (1, true) => LayerConfig::GlobalMaxPooling1D(config),
            (_, true) => LayerConfig::GlobalMaxPooling2D(config),
            (1, false) => LayerConfig::GlobalAveragePooling1D(config),
            (_, false) => LayerConfig::GlobalAveragePooling2D(config),
        }
        .to_layer()?;
        let t = self.call(layer, &[&x.t], None, vec![])?;
        let layout = if keepdims { x.layout } else { Layout::natural(2) };
        self.set(&node.output[0], Sym { t, layout });
        Ok(())
    }

    /// The number of spatial axes that the reduction `node` (axes as an attribute, or as
    /// input 1 from opset 18) takes of `x`: all of them, and nothing else.
    fn reduced_spatial_axes(&self, node: &NodeProto, x: &Sym) -> Result<usize> {
        let rank = x.t.shape().rank() + 1;
        let axes = match attr_ints(node, "axes") {
            Some(axes) => axes,
            None if node.input.len() > 1 => self.ints_input(node, 1)?,
            None => Vec::new(),
        };
        let mut kensho: Vec<usize> = axes
            .iter()
            .map(|&a| {
                usize::try_from(if a < 0 { a + rank as i64 } else { a }).ok().and_then(|a| x.layout.kensho_axis(a))
            })
            .collect::<Option<_>>()
            .unwrap_or_default();
        kensho.sort_unstable();
        if !(3..=4).contains(&rank) || kensho != (1..rank - 1).collect::<Vec<_>>() {
            let why =
                format!("a reduction over axes {axes:?} of a value of rank {rank}, not over its 1 or 2 spatial axes");
            return Err(unsupported(node, &why));
        }
        Ok(rank - 2)
    }
}

/// A Conv1D (`n` = 1) or Conv2D layer of `config`.
fn conv_layer(n: usize, config: ConvConfig) -> Result<Box<dyn Layer>> {
    if n == 1 { LayerConfig::Conv1D(config) } else { LayerConfig::Conv2D(config) }.to_layer()
}

/// A Max- (`max`) or AveragePooling1D/2D layer of `config`.
fn pool_layer(n: usize, max: bool, config: PoolConfig) -> Result<Box<dyn Layer>> {
    match (n, max) {
        (1, true) => LayerConfig::MaxPooling1D(config),
        (_, true) => LayerConfig::MaxPooling2D(config),
        (1, false) => LayerConfig::AveragePooling1D(config),
        (_, false) => LayerConfig::AveragePooling2D(config),
    }
    .to_layer()
}
