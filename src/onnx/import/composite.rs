//! Activations that take several ONNX nodes, as kensho's export writes them: Silu as
//! `x · Sigmoid(x)` and the exact Gelu as `(x · ½) · (Erf(x · 1/√2) + 1)`. Each is recognized
//! from the value `x` it reads, and becomes the activation of the layer computing `x` (when
//! the pattern is all that reads `x`) or an Activation layer.

use super::tensors::float_tensor;
use super::walk::{Importer, Sym};
use crate::onnx::proto::NodeProto;
use kensho_core::Result;
use kensho_layers::{Activation, ActivationLayer};

/// A composite activation found in the graph.
pub(super) struct Composite {
    /// What it computes.
    pub activation: Activation,
    /// The nodes that read `x` itself.
    pub entries: Vec<usize>,
    /// All its nodes; the last one gives the result.
    pub nodes: Vec<usize>,
}

impl Importer<'_> {
    /// The composite activation reading the value `x`, if the graph has one.
    pub(super) fn composite_activation(&self, x: &str) -> Option<Composite> {
        let readers = self.readers(x).unwrap_or_else(|| self.all_readers(x));
        self.silu(x, readers).or_else(|| self.gelu(x, readers))
    }

    /// `x · Sigmoid(x)`.
    fn silu(&self, x: &str, readers: &[usize]) -> Option<Composite> {
        let (s, sigmoid) =
            self.reader(readers, |n| n.op_type == "Sigmoid" && n.input.first().is_some_and(|i| i == x))?;
        let (m, mul) = self.only_consumer(&sigmoid.output[0])?;
        (mul.op_type == "Mul" && self.other_input(mul, &sigmoid.output[0]) == Some(x)).then(|| Composite {
            activation: Activation::Silu,
            entries: vec![s, m],
            nodes: vec![s, m],
        })
    }

    /// `(x · ½) · (Erf(x · 1/√2) + 1)`.
    fn gelu(&self, x: &str, readers: &[usize]) -> Option<Composite> {
        let (a, scaled) = self.reader(readers, |n| self.is_mul_by(n, x, std::f32::consts::FRAC_1_SQRT_2))?;
        let (e, erf) = self.only_consumer(&scaled.output[0]).filter(|(_, n)| n.op_type == "Erf")?;
        let (d, cdf) = self.only_consumer(&erf.output[0]).filter(|(_, n)| n.op_type == "Add")?;
        self.other_input(cdf, &erf.output[0]).filter(|c| self.is_scalar(c, 1.0))?;
        let (f, product) = self.only_consumer(&cdf.output[0]).filter(|(_, n)| n.op_type == "Mul")?;
        let (b, half) = self.reader(readers, |n| self.is_mul_by(n, x, 0.5))?;
        let read_by_product = self.only_consumer(&half.output[0]).is_some_and(|(i, _)| i == f);
        (read_by_product && self.other_input(product, &cdf.output[0]) == Some(half.output[0].as_str()))
            .then(|| Composite { activation: Activation::Gelu, entries: vec![a, b], nodes: vec![a, e, d, b, f] })
    }

    /// The first of `readers` that `test` accepts.
    fn reader(&self, readers: &[usize], test: impl Fn(&NodeProto) -> bool) -> Option<(usize, &NodeProto)> {
        readers.iter().map(|&i| (i, &self.nodes[i])).find(|(_, n)| test(n))
    }

    /// The input of the two-input `node` that is not `value`.
    fn other_input<'n>(&self, node: &'n NodeProto, value: &str) -> Option<&'n str> {
        match node.input.as_slice() {
            [a, b] if a == value => Some(b),
            [a, b] if b == value => Some(a),
            _ => None,
        }
    }

    /// Whether `node` is `Mul(x, c)` (either order) with `c` a constant scalar `v`.
    fn is_mul_by(&self, node: &NodeProto, x: &str, v: f32) -> bool {
        node.op_type == "Mul" && self.other_input(node, x).is_some_and(|c| self.is_scalar(c, v))
    }

    /// Whether `name` is a constant holding one value, `v` (to float rounding).
    fn is_scalar(&self, name: &str, v: f32) -> bool {
        let value = self.constant(name).and_then(|t| float_tensor(t).ok());
        value.is_some_and(|t| t.len() == 1 && (t.get_flat(0) - v).abs() <= 1e-6)
    }

    /// Folds the composite activation reading `value`, if it is all that reads it: its nodes
    /// take `value`'s kensho value, which is the activation's result.
    pub(super) fn fold_composite(&mut self, value: &str) -> Option<Activation> {
        let c = self.composite_activation(value)?;
        let mut readers = self.readers(value)?.to_vec();
        readers.sort_unstable();
        let mut entries = c.entries.clone();
        entries.sort_unstable();
        (readers == entries).then(|| {
            c.nodes.iter().for_each(|&i| self.fuse(i));
            c.activation
        })
    }

    /// At node `i` (a `Sigmoid` or `Mul`): if it starts a composite activation of one of its
    /// inputs, calls an Activation layer on that input, records it as the pattern's result,
    /// marks the pattern's nodes as done and returns `true`.
    pub(super) fn composite_from(&mut self, i: usize) -> Result<bool> {
        let node = &self.nodes[i];
        let found = node.input.iter().find_map(|x| {
            let c = self.composite_activation(x).filter(|c| c.entries.contains(&i))?;
            Some((self.get(x)?.clone(), c))
        });
        let Some((x, c)) = found else { return Ok(false) };
        let Some(&last) = c.nodes.last() else { return Ok(false) };
        let t = self.call(Box::new(ActivationLayer::new(c.activation)), &[&x.t], None, vec![])?;
        self.set(&self.nodes[last].output[0], Sym { t, layout: x.layout });
        c.nodes.iter().for_each(|&n| self.skip(n));
        Ok(true)
    }
}
