//! The PyTorch layout of a [`Sequential`]'s weights: which `state_dict` key and which layout
//! each kensho parameter has in `torch.nn.Sequential(...)` of the equivalent modules.
//!
//! See the [module documentation](super) for the mapping per layer type.

use crate::Sequential;
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{Activation, Layer, LayerConfig};

/// How one parameter is stored in a file: its key there, and whether its axes are reversed
/// (kensho's `[in, out]` kernel is PyTorch's `[out, in]` weight).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Slot {
    /// The key in the file.
    pub(crate) key: String,
    /// Whether the 2-D tensor is transposed between the model and the file.
    pub(crate) transpose: bool,
}

impl Slot {
    /// The model's value as stored in the file.
    pub(crate) fn to_file(&self, value: &Tensor) -> Tensor {
        if self.transpose {
            value.transpose().to_contiguous()
        } else {
            value.to_contiguous()
        }
    }

    /// The file's tensor as the model's value.
    pub(crate) fn to_model(&self, value: &Tensor) -> Tensor {
        self.to_file(value)
    }

    /// The shape the file holds for a parameter of shape `shape`.
    pub(crate) fn file_shape(&self, shape: &[usize]) -> Vec<usize> {
        let mut s = shape.to_vec();
        if self.transpose {
            s.reverse();
        }
        s
    }
}

/// The number of PyTorch modules a layer becomes, and the slots of its parameters (in the
/// order of `Layer::params`), given the index of its first module.
fn layer_modules(layer: &dyn Layer, index: usize) -> Result<(usize, Vec<Slot>)> {
    let params = layer.params();
    let no_mapping = |param: &str| {
        Error::invalid(
            format!("PyTorch layout of layer \"{}\" ({})", layer.name(), layer.kind()),
            format!("parameter \"{param}\""),
            "a layer type with a PyTorch mapping (Dense so far); save this model with WeightsLayout::Kensho",
        )
    };
    Ok(match layer.config() {
        LayerConfig::InputLayer(_) => (0, Vec::new()),
        LayerConfig::Dense(c) => {
            let slots = params
                .iter()
                .map(|p| match p.name().rsplit('.').next() {
                    Some("kernel") => Ok(Slot { key: format!("{index}.weight"), transpose: true }),
                    Some("bias") => Ok(Slot { key: format!("{index}.bias"), transpose: false }),
                    _ => Err(no_mapping(p.name())),
                })
                .collect::<Result<_>>()?;
            (if c.activation == Activation::Linear { 1 } else { 2 }, slots)
        }
        LayerConfig::Activation(_) | LayerConfig::Dropout(_) | LayerConfig::Flatten(_) | LayerConfig::Reshape(_) => {
            (1, Vec::new())
        }
        _ => match params.first() {
            None => (1, Vec::new()),
            Some(p) => return Err(no_mapping(p.name())),
        },
    })
}

/// The file slot of every parameter of `model`, in the order of [`Sequential::params`].
pub(crate) fn slots(model: &Sequential, layout: super::WeightsLayout) -> Result<Vec<Slot>> {
    if layout == super::WeightsLayout::Kensho {
        return Ok(model.params().iter().map(|p| Slot { key: p.name().to_string(), transpose: false }).collect());
    }
    let mut index = 0;
    let mut out = Vec::new();
    for layer in model.layers() {
        let (modules, slots) = layer_modules(layer.as_ref(), index)?;
        index += modules;
        out.extend(slots);
    }
    Ok(out)
}
