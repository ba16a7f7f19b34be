//! BatchNormalization at inference: ONNX's `BatchNormalization` (PyTorch's export) with its
//! scale, bias, mean, variance and epsilon, and the `Sub`, `Mul` (, `Add`) chain that kensho's
//! own export writes for it (`(x - mean) · scale + beta`, with `scale = gamma / √(var + ε)`
//! folded). The chain keeps only the folded scale, so the imported layer has moving variance
//! 1, ε = 1e-3 and gamma `scale · √(1 + ε)`: the same function at inference (to rounding);
//! training it further starts from these values.

use super::layout::Layout;
use super::tensors::{attr_float, attr_int, float_tensor};
use super::walk::{unsupported, Importer, Sym};
use crate::onnx::proto::NodeProto;
use kensho_core::{Result, Tensor};
use kensho_layers::BatchNormalization;

/// kensho's (and Keras') default epsilon, used for the folded chain.
const CHAIN_EPSILON: f32 = 1e-3;

impl Importer<'_> {
    /// ONNX `BatchNormalization(x, scale, B, mean, var)` in inference mode, normalizing ONNX
    /// axis 1 (the channels of a channels_first value, the features of a flat one).
    pub(super) fn batch_norm(&mut self, node: &NodeProto) -> Result<()> {
        if attr_int(node, "training_mode", 0) != 0 {
            return Err(unsupported(node, "training_mode = 1 (export the model in eval mode)"));
        }
        let x = self.value(node, 0)?;
        let [gamma, beta, mean, variance] = [1, 2, 3, 4].map(|k| self.weight_input(node, k));
        let (gamma, beta, mean, variance) = (gamma?, beta?, mean?, variance?);
        let axis = self.feature_axis(node, &x, 1, &[&gamma, &beta, &mean, &variance])?;
        let weights = vec![("gamma", gamma), ("beta", beta), ("moving_mean", mean), ("moving_variance", variance)];
        let layer = BatchNormalization::new().axis(axis).epsilon(attr_float(node, "epsilon", 1e-5));
        let t = self.call(Box::new(layer), &[&x.t], node.input.get(1).map(String::as_str), weights)?;
        self.set(&node.output[0], Sym { t, layout: x.layout });
        Ok(())
    }

    /// kensho's BatchNormalization chain, from its `Sub(x, mean)`: the `Mul` by the scale
    /// that must be its only reader, then the `Add` of beta if that is the Mul's only reader.
    /// The statistics are shaped `[C, 1, ..]` to broadcast on the feature axis.
    pub(super) fn batch_norm_chain(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.value(node, 0)?;
        let mean = self.weight_input(node, 1)?;
        let stat = |im: &Self, name: &str| im.constant(name).map(float_tensor).transpose();
        let mul = self.only_consumer(&node.output[0]).filter(|(_, n)| n.op_type == "Mul");
        let Some((mul_index, mul)) = mul else {
            return Err(unsupported(
                node,
                "a Sub of a constant that is not followed by the Mul of a BatchNormalization",
            ));
        };
        let other = |n: &NodeProto, value: &str| n.input.iter().find(|i| *i != value).cloned().unwrap_or_default();
        let scale = stat(self, &other(mul, &node.output[0]))?.filter(|s| s.shape() == mean.shape());
        let Some(scale) = scale else {
            return Err(unsupported(
                mul,
                "a Mul after a BatchNormalization's Sub whose other input is not a scale shaped as the mean",
            ));
        };
        self.fuse(mul_index);
        let scaled = &mul.output[0];
        let add = self.only_consumer(scaled).filter(|(_, n)| n.op_type == "Add");
        let beta = match add {
            Some((i, add)) => {
                let beta = stat(self, &other(add, scaled))?.filter(|b| b.shape() == mean.shape());
                if beta.is_some() {
                    self.fuse(i);
                }
                beta
            }
            None => None,
        };
        let rank = x.t.shape().rank() + 1;
        let axis = self.feature_axis(node, &x, rank.saturating_sub(mean.ndim()), &[&mean])?;
        let channels = mean.len();
        let flat = |t: Tensor| t.reshape_to(&[channels]);
        let gamma = flat(scale).mul_scalar((1.0 + CHAIN_EPSILON).sqrt());
        let mut weights =
            vec![("gamma", gamma), ("moving_mean", flat(mean)), ("moving_variance", Tensor::ones(&[channels]))];
        weights.extend(beta.clone().map(|b| ("beta", flat(b))));
        let layer = BatchNormalization::new().axis(axis).epsilon(CHAIN_EPSILON).center(beta.is_some());
        let t = self.call(Box::new(layer), &[&x.t], node.input.get(1).map(String::as_str), weights)?;
        self.set(&node.output[0], Sym { t, layout: x.layout });
        Ok(())
    }

    /// The kensho feature axis (Keras' `axis`, `-1` for the last) of ONNX axis `axis` of `x`,
    /// whose size must be the number of values of each of `stats`.
    fn feature_axis(&self, node: &NodeProto, x: &Sym, axis: usize, stats: &[&Tensor]) -> Result<i64> {
        let rank = x.t.shape().rank() + 1;
        let size = |k: usize| x.t.shape().dims()[k - 1];
        match x.layout.kensho_axis(axis) {
            Some(k) if k > 0 && stats.iter().any(|s| size(k) != Some(s.len())) => {
                let lens: Vec<usize> = stats.iter().map(|s| s.len()).collect();
                Err(unsupported(
                    node,
                    &format!("statistics of {lens:?} values for a feature axis of size {:?}", size(k)),
                ))
            }
            Some(k) if k == rank - 1 => Ok(-1),
            Some(k) if k > 0 => Ok(k as i64),
            _ if matches!(x.layout, Layout::Flat { .. }) => {
                Err(unsupported(node, "a normalization of a flattened channels_first value"))
            }
            _ => Err(unsupported(node, &format!("a normalization over axis {axis} of an input of rank {rank}"))),
        }
    }
}
