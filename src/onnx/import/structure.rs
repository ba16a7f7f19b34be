//! The nodes that move or join values: `Identity`, `Constant`, `Transpose` (a change of
//! [`Layout`] only, no layer), `Flatten` and `Reshape` (Flatten and Reshape layers), the
//! elementwise merges of computed values (`Add`, `Sum`, `Sub`, `Mul`, `Mean`, `Max`, `Min`)
//! and `Concat` (Concatenate).

use super::layout::Layout;
use super::tensors::{attr_int, attr_ints, attr_tensor};
use super::walk::{unsupported, Importer, Sym};
use crate::onnx::proto::NodeProto;
use kensho_core::Result;
use kensho_layers::{Concatenate, Flatten, LayerConfig, MergeConfig, Reshape};

impl Importer<'_> {
    /// A node whose output is the kensho value of its first computed input: an `Identity` of
    /// a value, or a node folded into an earlier layer.
    pub(super) fn alias(&mut self, node: &NodeProto) -> Result<()> {
        let Some(sym) = node.input.iter().find_map(|i| self.get(i)).cloned() else {
            return Err(unsupported(node, "none of its inputs is a computed value"));
        };
        self.set(&node.output[0], sym);
        Ok(())
    }

    /// `Identity`: of a constant, the same constant; of a value, the same value.
    pub(super) fn identity(&mut self, node: &NodeProto) -> Result<()> {
        match node.input.first().and_then(|i| self.constant(i)).cloned() {
            Some(t) => {
                self.add_const(&node.output[0], t);
                Ok(())
            }
            None => self.alias(node),
        }
    }

    /// `Constant` with a tensor `value`.
    pub(super) fn constant_node(&mut self, node: &NodeProto) -> Result<()> {
        let value = attr_tensor(node, "value").ok_or_else(|| unsupported(node, "a Constant without a tensor value"))?;
        self.add_const(&node.output[0], value.clone());
        Ok(())
    }

    /// `Transpose`: the same kensho value, with its layout permuted.
    pub(super) fn transpose(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.value(node, 0)?;
        let rank = x.t.shape().rank() + 1;
        let perm: Vec<usize> = match attr_ints(node, "perm") {
            Some(p) => p.iter().map(|&a| usize::try_from(a).unwrap_or(rank)).collect(),
            None => (0..rank).rev().collect(),
        };
        let mut sorted = perm.clone();
        sorted.sort_unstable();
        let is_permutation = sorted.iter().enumerate().all(|(i, &a)| i == a);
        let layout = x.layout.transposed(&perm).filter(|l| is_permutation && l.kensho_axis(0) == Some(0));
        let layout = layout.ok_or_else(|| {
            unsupported(node, &format!("perm {perm:?} on a value of rank {rank} (the batch axis stays first)"))
        })?;
        self.set(&node.output[0], Sym { t: x.t, layout });
        Ok(())
    }

    /// `Flatten` (axis 1): a Flatten layer; a flattened channels_first value keeps its
    /// features' order in its layout, for the Dense reading it.
    pub(super) fn flatten(&mut self, node: &NodeProto) -> Result<()> {
        let rank = self.value(node, 0)?.t.shape().rank() + 1;
        if attr_int(node, "axis", 1) != 1 {
            return Err(unsupported(node, "an axis other than 1 (kensho flattens every axis but the batch)"));
        }
        self.flat(node, rank)
    }

    /// `Reshape(x, shape)`: to `[batch, n]` (all of a sample's values), as `Flatten`; else a
    /// Reshape layer of a value in kensho's layout (a target size 0 copies the input's size,
    /// unless `allowzero`; -1 is inferred). The batch axis must stay first.
    pub(super) fn reshape(&mut self, node: &NodeProto) -> Result<()> {
        let x = self.value(node, 0)?;
        let target = self.ints_input(node, 1)?;
        let copies_zero = attr_int(node, "allowzero", 0) == 0;
        let batch_first = target.first() == Some(&-1) || (copies_zero && target.first() == Some(&0));
        if !batch_first || (!copies_zero && target.contains(&0)) {
            let why = format!("target shape {target:?} (allowzero {}): the batch axis (0 or -1) must stay first, and no axis may be empty", i64::from(!copies_zero));
            return Err(unsupported(node, &why));
        }
        let size = x.t.shape().size().and_then(|n| i64::try_from(n).ok());
        match target[..] {
            [0, -1] => return self.flat(node, x.t.shape().rank() + 1),
            [_, n] if Some(n) == size => return self.flat(node, x.t.shape().rank() + 1),
            _ => {}
        }
        if !x.layout.is_natural() {
            return Err(unsupported(node, "a reshape of a channels_first value to another shape than [batch, n]"));
        }
        let dims = x.t.shape().dims().to_vec();
        let per_sample: Vec<isize> = target[1..]
            .iter()
            .enumerate()
            .map(|(i, &d)| match d {
                0 => dims.get(i).copied().flatten().map_or(-1, |d| d as isize),
                d => d as isize,
            })
            .collect();
        let t = self.call(Box::new(Reshape::new(&per_sample)), &[&x.t], None, vec![])?;
        let rank = t.shape().rank() + 1;
        self.set(&node.output[0], Sym { t, layout: Layout::natural(rank) });
        Ok(())
    }

    /// The value of `node`'s first input (of rank `rank`) flattened to `[batch, n]`.
    fn flat(&mut self, node: &NodeProto, rank: usize) -> Result<()> {
        let x = self.value(node, 0)?;
        if rank == 2 {
            return self.alias(node);
        }
        let layout = x.layout.flattened(&x.dims(node)?);
        let t = self.call(Box::new(Flatten::new()), &[&x.t], None, vec![])?;
        self.set(&node.output[0], Sym { t, layout });
        Ok(())
    }

    /// An elementwise merge of two or more computed values of one rank and layout.
    pub(super) fn merge(&mut self, node: &NodeProto) -> Result<()> {
        let inputs = self.same_layout_inputs(node)?;
        let config = MergeConfig::default();
        let layer = match node.op_type.as_str() {
            "Add" | "Sum" => LayerConfig::Add(config),
            "Sub" => LayerConfig::Subtract(config),
            "Mul" => LayerConfig::Multiply(config),
            "Mean" => LayerConfig::Average(config),
            "Max" => LayerConfig::Maximum(config),
            _ => LayerConfig::Minimum(config),
        }
        .to_layer()?;
        let layout = inputs[0].layout.clone();
        let ts: Vec<_> = inputs.iter().map(|s| &s.t).collect();
        let t = self.call(layer, &ts, None, vec![])?;
        self.set(&node.output[0], Sym { t, layout });
        Ok(())
    }

    /// `Concat` of computed values of one layout, along the kensho axis of its `axis`.
    pub(super) fn concat(&mut self, node: &NodeProto) -> Result<()> {
        let inputs = self.same_layout_inputs(node)?;
        let rank = inputs[0].t.shape().rank() + 1;
        let axis = attr_int(node, "axis", 1);
        let axis = usize::try_from(if axis < 0 { axis + rank as i64 } else { axis }).unwrap_or(0);
        let layout = inputs[0].layout.clone();
        let axis = match layout.kensho_axis(axis) {
            Some(k) if k == rank - 1 => -1,
            Some(k) if k > 0 => k as i64,
            _ => return Err(unsupported(node, "a join along the batch axis or of flattened channels_first values")),
        };
        let ts: Vec<_> = inputs.iter().map(|s| &s.t).collect();
        let t = self.call(Box::new(Concatenate::new(axis)), &ts, None, vec![])?;
        self.set(&node.output[0], Sym { t, layout });
        Ok(())
    }

    /// All inputs of `node` as computed values of one rank and layout (kensho merges align
    /// ranks differently from ONNX's broadcasting, so mixed ranks are not read).
    fn same_layout_inputs(&self, node: &NodeProto) -> Result<Vec<Sym>> {
        let inputs: Vec<Sym> = (0..node.input.len()).map(|k| self.value(node, k)).collect::<Result<_>>()?;
        if inputs.len() < 2 || inputs.iter().any(|s| s.layout != inputs[0].layout) {
            return Err(unsupported(
                node,
                "a merge of fewer than two values, or of values of different ranks or layouts",
            ));
        }
        Ok(inputs)
    }
}
