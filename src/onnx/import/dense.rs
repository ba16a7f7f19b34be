//! Dense layers and activations: `MatMul` (with the `Add` of a bias after it) and PyTorch's
//! `Gemm` become [`Dense`]; an activation node becomes the `activation` of the Dense or
//! convolution before it when it is that layer's only reader (through `Transpose`s), else an
//! [`ActivationLayer`].

use super::layout::Layout;
use super::tensors::{attr_float, attr_int, attr_ints, float_tensor};
use super::walk::{unsupported, Importer, Sym};
use crate::onnx::proto::NodeProto;
use kensho_core::{Result, Tensor};
use kensho_layers::{Activation, ActivationLayer, Dense};

/// The kensho activation that `node` computes elementwise, if it is one (Softmax is not: it
/// depends on an axis, see [`Importer::activation`]).
pub(super) fn elementwise_activation(node: &NodeProto) -> Option<Activation> {
    Some(match node.op_type.as_str() {
        "Relu" => Activation::Relu,
        "LeakyRelu" => Activation::LeakyRelu { alpha: attr_float(node, "alpha", 0.01) },
        "Elu" => Activation::Elu { alpha: attr_float(node, "alpha", 1.0) },
        "Sigmoid" => Activation::Sigmoid,
        "Tanh" => Activation::Tanh,
        "Softplus" => Activation::Softplus,
        _ => return None,
    })
}

/// Whether the Softmax `node`, on a value of rank `rank` (batch included) laid out as
/// `layout`, is kensho's softmax over the last axis.
fn softmax_on_last_axis(node: &NodeProto, layout: &Layout, rank: usize) -> bool {
    let axis = attr_int(node, "axis", -1);
    let axis = if axis < 0 { axis + rank as i64 } else { axis };
    match layout {
        // Every feature of a flat value, in any order.
        Layout::Flat { .. } => axis == 1,
        layout => usize::try_from(axis).ok().and_then(|a| layout.kensho_axis(a)) == Some(rank - 1),
    }
}

impl Importer<'_> {
    /// The activation after `value` (of rank `rank`, laid out as `layout`) to fold into the
    /// layer computing it: the node reading it (through `Transpose`s), if it is its only
    /// reader and an elementwise activation or a softmax over kensho's last axis. That node
    /// is then fused.
    pub(super) fn fold_activation(&mut self, value: &str, mut layout: Layout, rank: usize) -> Activation {
        let mut name = value.to_string();
        loop {
            if let Some(a) = self.fold_composite(&name) {
                return a;
            }
            let Some((i, node)) = self.only_consumer(&name) else { break };
            if node.op_type == "Transpose" {
                let perm = attr_ints(node, "perm").unwrap_or_default();
                let perm: Vec<usize> = perm.iter().map(|&a| usize::try_from(a).unwrap_or(rank)).collect();
                match layout.transposed(&perm) {
                    Some(l) => layout = l,
                    None => break,
                }
                name = node.output[0].clone();
                continue;
            }
            let softmax = node.op_type == "Softmax" && softmax_on_last_axis(node, &layout, rank);
            let activation = if softmax { Some(Activation::Softmax) } else { elementwise_activation(node) };
            if let Some(a) = activation {
                self.fuse(i);
                return a;
            }
            break;
        }
        Activation::Linear
    }

    /// An activation node not folded into a layer: an Activation layer, keeping the layout.
    pub(super) fn activation(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.value(node, 0)?;
        let activation = match elementwise_activation(node) {
            Some(a) => a,
            None if node.op_type == "Softmax" && softmax_on_last_axis(node, &x.layout, x.t.shape().rank() + 1) => {
                Activation::Softmax
            }
            None if node.op_type == "Softmax" => {
                return Err(unsupported(node, "a softmax over another axis than kensho's last (features) axis"))
            }
            None => return Err(unsupported(node, "this operator is not supported")),
        };
        let t = self.call(Box::new(ActivationLayer::new(activation)), &[&x.t], None, vec![])?;
        self.set(&node.output[0], Sym { t, layout: x.layout });
        Ok(())
    }

    /// `MatMul(x, kernel)`, with the `Add` of a bias after it when that is its only reader.
    pub(super) fn matmul(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.value(node, 0)?;
        let kernel = self.weight_input(node, 1)?;
        if kernel.ndim() != 2 {
            return Err(unsupported(
                node,
                &format!("a weight of shape {:?}, where [in, units] is expected", kernel.shape()),
            ));
        }
        let units = kernel.shape()[1];
        let mut out = node.output[0].clone();
        let mut bias = None;
        if let Some((i, add)) = self.only_consumer(&out).filter(|(_, n)| n.op_type == "Add") {
            let other = usize::from(add.input.first() == Some(&out));
            let b = add.input.get(other).and_then(|c| self.constant(c)).map(float_tensor).transpose()?;
            if let Some(b) = b.filter(|b| b.len() == units && b.shape().last() == Some(&units)) {
                self.fuse(i);
                out = add.output[0].clone();
                bias = Some(b.reshape_to(&[units]));
            }
        }
        self.dense(node, x, kernel, bias, &out)
    }

    /// PyTorch's `Gemm(x, B, C)` (`alpha · x · B' + beta · C`, with `B' = Bᵀ` when `transB`):
    /// a Dense with kernel `alpha · B'` and bias `beta · C`.
    pub(super) fn gemm(&mut self, node: &NodeProto) -> Result<()> {
        if attr_int(node, "transA", 0) != 0 {
            return Err(unsupported(node, "transA = 1 (a transposed input)"));
        }
        let x = self.value(node, 0)?;
        if x.t.shape().rank() != 1 {
            return Err(unsupported(
                node,
                &format!("an input of per-sample shape {}, where [features] is expected", x.t.shape()),
            ));
        }
        let b = self.weight_input(node, 1)?;
        if b.ndim() != 2 {
            return Err(unsupported(node, &format!("a weight of shape {:?}, where a matrix is expected", b.shape())));
        }
        let kernel = if attr_int(node, "transB", 0) != 0 { b.transpose() } else { b };
        let kernel = kernel.mul_scalar(attr_float(node, "alpha", 1.0)).to_contiguous();
        let units = kernel.shape()[1];
        let bias = match self.float_input(node, 2)? {
            Some(c) if c.len() == units && c.shape().last() == Some(&units) => {
                Some(c.reshape_to(&[units]).mul_scalar(attr_float(node, "beta", 1.0)))
            }
            Some(c) => {
                return Err(unsupported(node, &format!("a bias of shape {:?}, where [{units}] is expected", c.shape())))
            }
            None => None,
        };
        let out = node.output[0].clone();
        self.dense(node, x, kernel, bias, &out)
    }

    /// A Dense layer on `x` with `kernel` (`[in, units]`, reading the ONNX value's features)
    /// and `bias`, whose result is the ONNX value `out` (or the activation folded after it).
    fn dense(&mut self, node: &NodeProto, x: Sym, kernel: Tensor, bias: Option<Tensor>, out: &str) -> Result<()> {
        if !matches!(x.layout, Layout::Flat { .. }) && !x.layout.is_natural() {
            return Err(unsupported(node, "its input is channels_first (transpose it back to channels_last first)"));
        }
        let features = x.t.shape().last();
        if features != Some(kernel.shape()[0]) {
            let seen = format!("a weight of shape {:?} for inputs of per-sample shape {}", kernel.shape(), x.t.shape());
            return Err(unsupported(node, &seen));
        }
        let kernel = x.layout.kensho_rows(&kernel);
        let rank = x.t.shape().rank() + 1;
        let activation = self.fold_activation(out, Layout::natural(rank), rank);
        let layer = Dense::new(kernel.shape()[1]).activation(activation).use_bias(bias.is_some());
        let weights = std::iter::once(("kernel", kernel)).chain(bias.map(|b| ("bias", b))).collect();
        let t = self.call(Box::new(layer), &[&x.t], node.input.get(1).map(String::as_str), weights)?;
        self.set(&node.output[0], Sym { t, layout: Layout::natural(rank) });
        Ok(())
    }
}
