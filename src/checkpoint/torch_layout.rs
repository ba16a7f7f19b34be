//! Where each weight of a [`Model`] goes in a file: its key and its layout, in kensho's naming
//! (the weight's own name, `dense.kernel`) or in PyTorch's (`torch.nn.Sequential(...)`'s
//! `state_dict` keys, `0.weight`), from the layout each layer declares
//! ([`Layer::torch_layout`](kensho_layers::Layer::torch_layout)).

use crate::Model;
use kensho_core::{Error, Result, Tensor};
use kensho_layers::TorchTransform;

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

    /// The file's tensor as the model's value.
    pub(crate) fn to_model(&self, value: &Tensor) -> Tensor {
        self.transform.from_torch(value)
    }

    /// The shape the file holds for a weight of shape `shape`.
    pub(crate) fn file_shape(&self, shape: &[usize]) -> Vec<usize> {
        self.transform.torch_shape(shape)
    }
}

/// The file slot of every weight of `model`, in the order of [`Model::weights`]. In PyTorch's
/// layout the layers' modules are numbered in order from 0, as `nn.Sequential` numbers its
/// children, and each weight's key is its module's number, a dot and its name.
///
/// # Errors
/// For the PyTorch layout: a model that is not a straight chain, or a layer without a PyTorch
/// equivalent.
pub(crate) fn slots(model: &Model, layout: super::WeightsLayout) -> Result<Vec<Slot>> {
    if layout == super::WeightsLayout::Kensho {
        let slot =
            |p: &&kensho_autograd::Param| Slot { key: p.name().to_string(), transform: TorchTransform::Identity };
        return Ok(model.weights().iter().map(slot).collect());
    }
    if !model.graph.is_chain() {
        return Err(Error::invalid(
            "PyTorch layout",
            "a model that is not a straight chain of layers",
            "a Sequential model; save other models with WeightsLayout::Kensho",
        ));
    }
    let mut index = 0;
    let mut out = Vec::new();
    for layer in model.layers() {
        let layout = layer.torch_layout().ok_or_else(|| {
            Error::invalid(
                format!("PyTorch layout of layer \"{}\"", layer.name()),
                layer.kind(),
                "a layer type with a PyTorch equivalent; save this model with WeightsLayout::Kensho",
            )
        })?;
        out.extend(
            layout
                .weights
                .into_iter()
                .map(|w| Slot { key: format!("{}.{}", index + w.module, w.name), transform: w.transform }),
        );
        index += layout.modules;
    }
    Ok(out)
}
