//! Where each weight of a [`Model`] goes in a file: its key and its layout, in kensho's naming
//! (the weight's own name, `dense.kernel`) or in PyTorch's (`torch.nn.Sequential(...)`'s
//! `state_dict` keys, `0.weight`, or for other graphs the keys of a module whose attributes are
//! named after the layers, `dense.weight`), from the layout each layer declares
//! ([`Layer::torch_layout`](kensho_layers::Layer::torch_layout)).

use crate::graph::{Graph, ValueRef};
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{LayerConfig, Shape, TorchLayout, TorchTransform};

/// How one weight is stored in a file: its key there and the layout change on the way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// The key in the file.
    pub(crate) key: String,
    /// How the model's tensor becomes the file's.
    pub(crate) transform: TorchTransform,
}

impl Slot {
    /// The model's value as stored in the file.
    pub(crate) fn to_file(&self, value: &Tensor) -> Tensor {
        self.transform.to_torch(value)
    }

    /// The file's tensor as the model's value (of shape `shape`).
    pub(crate) fn to_model(&self, value: &Tensor, shape: &[usize]) -> Tensor {
        self.transform.from_torch(value, shape)
    }

    /// The shape the file holds for a weight of shape `shape`.
    pub(crate) fn file_shape(&self, shape: &[usize]) -> Vec<usize> {
        self.transform.torch_shape(shape)
    }
}

/// Where a model's tensors go in a file: a slot per weight, in the order of
/// [`Model::weights`](crate::Model::weights), and the PyTorch-only buffers (keys and values) written beside them.
pub(crate) struct FileLayout {
    pub(crate) slots: Vec<Slot>,
    pub(crate) buffers: Vec<(String, Tensor)>,
}

/// The file layout of every weight of a model's `graph`, in the order of
/// [`Model::weights`](crate::Model::weights). In PyTorch's
/// layout a straight chain (a `Sequential`) numbers the layers' modules in order from 0, as
/// `nn.Sequential` numbers its children, and each weight's key is its module's number, a dot
/// and its name (`0.weight`). Any other graph is the `nn.Module` whose attributes are named
/// after the layers, so each key starts with the layer's name (`dense.weight`; and
/// `separable.1.weight` when several modules of a layer hold tensors).
///
/// # Errors
/// For the PyTorch layout: a layer without a PyTorch equivalent.
pub(crate) fn file_layout(graph: &Graph, layout: super::WeightsLayout) -> Result<FileLayout> {
    if layout == super::WeightsLayout::Kensho {
        let slot =
            |p: &&kensho_autograd::Param| Slot { key: p.name().to_string(), transform: TorchTransform::Identity };
        return Ok(FileLayout { slots: graph.weights().iter().map(slot).collect(), buffers: Vec::new() });
    }
    let numbered = graph.is_chain();
    let mut index = 0;
    let mut out = Vec::new();
    let mut buffers = Vec::new();
    // For each call's output: the per-sample shape a Flatten flattened, while the values still
    // hold it in that order.
    let mut flattened: Vec<Option<Vec<usize>>> = Vec::with_capacity(graph.calls.len());
    let mut done = vec![false; graph.layers.len()];
    for (c, call) in graph.calls.iter().enumerate() {
        let layer = &graph.layers[call.layer];
        let shape_in = graph.shape_of(call.inputs[0]).and_then(Shape::to_known);
        let shape_out = graph.shape_of(ValueRef::Call { call: c, output: 0 }).and_then(Shape::to_known);
        let flattened_in = match call.inputs[0] {
            ValueRef::Call { call: from, .. } => flattened[from].clone(),
            ValueRef::Input(_) => None,
        };
        let mut layout = layer.torch_layout().ok_or_else(|| {
            Error::invalid(
                format!("PyTorch layout of layer \"{}\"", layer.name()),
                layer.kind(),
                "a layer type with a PyTorch equivalent; save this model with WeightsLayout::Kensho",
            )
        })?;
        let passes_order = layout.weights.is_empty() && shape_in == shape_out && call.inputs.len() == 1;
        flattened.push(if matches!(layer.config(), LayerConfig::Flatten(_)) {
            shape_in.filter(|s| s.len() >= 2)
        } else if passes_order {
            // Shape-preserving layers without weights (Dropout, Activation) keep the order.
            flattened_in.clone()
        } else {
            None
        });
        if std::mem::replace(&mut done[call.layer], true) {
            continue; // a shared layer's weights are written once
        }
        if let (Some(spatial), Some(kernel)) = (flattened_in, layer.params().first()) {
            reorder_flattened_rows(&mut layout, kernel.value.shape(), &spatial);
        }
        // Outside nn.Sequential, activations are functions: only modules with tensors count.
        let mut holders: Vec<usize> =
            layout.weights.iter().map(|w| w.module).chain(layout.buffers.iter().map(|b| b.module)).collect();
        holders.sort_unstable();
        holders.dedup();
        let key = |module: usize, name: &str| match (numbered, holders.len()) {
            (true, _) => format!("{}.{name}", index + module),
            (false, 0 | 1) => format!("{}.{name}", layer.name()),
            (false, _) => format!("{}.{module}.{name}", layer.name()),
        };
        out.extend(layout.weights.iter().map(|w| Slot { key: key(w.module, &w.name), transform: w.transform.clone() }));
        buffers.extend(layout.buffers.iter().map(|b| (key(b.module, &b.name), b.value.clone())));
        index += layout.modules;
    }
    Ok(FileLayout { slots: out, buffers })
}

/// A Dense layer after a Flatten of a channels_last `[d1, .., dk, c]` sample reads its rows in
/// `(d1, .., dk, c)` order, while PyTorch's `nn.Flatten` of the channels_first tensor gives
/// `(c, d1, .., dk)`: its `[out, in]` weight is the `[in, out]` kernel seen as
/// `[d1, .., dk, c, out]`, permuted to `[out, c, d1, .., dk]` and flattened, so the same file
/// computes the same function on both sides.
fn reorder_flattened_rows(layout: &mut TorchLayout, kernel_shape: &[usize], spatial: &[usize]) {
    let Some(weight) = layout.weights.first_mut() else { return };
    let &[rows, units] = kernel_shape else { return };
    if weight.transform != TorchTransform::Permute(vec![1, 0]) || rows != spatial.iter().product::<usize>() {
        return;
    }
    let k = spatial.len() - 1;
    weight.transform = TorchTransform::Chain(vec![
        TorchTransform::Reshape(spatial.iter().copied().chain([units]).collect()),
        TorchTransform::Permute([k + 1, k].into_iter().chain(0..k).collect()),
        TorchTransform::Reshape(vec![units, rows]),
    ]);
}
