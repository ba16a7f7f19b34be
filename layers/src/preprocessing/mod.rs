//! Image preprocessing and augmentation layers, with Keras 3's names, arguments and defaults:
//! [`Rescaling`] (always applied) and the random augmentations [`RandomFlip`],
//! [`RandomTranslation`], [`RandomRotation`], [`RandomZoom`] and [`RandomContrast`], which act
//! only in training (`fit`) and are the identity in `evaluate` and `predict`, as in Keras.
//!
//! Images are `[batch, height, width, channels]` (channels_last; there is no `data_format`).
//! Randomness comes from the model's generator ([`Ctx::rng`](crate::Ctx)), so a seeded model
//! augments the same way on every run; there is no per-layer `seed`. Each image of a batch
//! draws its own transformation, as in Keras.
//!
//! The geometric layers resample with [`Interpolation::Bilinear`] (Keras' default) or
//! [`Interpolation::Nearest`], and fill points outside the image by [`FillMode`] (Keras'
//! `reflect`, `wrap`, `constant` with `fill_value`, `nearest`; the default is `reflect`). Each
//! call is a fixed linear map of its input, recorded on the tape as a gather with weights (whose
//! backward is the transposed scatter), so the layers pass gradients to the layers before them
//! and may sit anywhere in a model, not only right after the `Input`. The three geometric layers
//! are one layer core (`geometric.rs`), each drawing its own kind of map (a shift, a rotation,
//! a zoom).
//!
//! In PyTorch's checkpoint layout these layers count as no module: PyTorch does this work in the
//! data pipeline (torchvision's `transforms`), outside `torch.nn.Sequential`.

mod geometric;
mod random_contrast;
mod random_flip;
mod random_rotation;
mod random_translation;
mod random_zoom;
mod resample;
mod rescaling;

pub use random_contrast::{RandomContrast, RandomContrastConfig};
pub use random_flip::{FlipMode, RandomFlip, RandomFlipConfig};
pub use random_rotation::{RandomRotation, RandomRotationConfig};
pub use random_translation::{RandomTranslation, RandomTranslationConfig};
pub use random_zoom::{RandomZoom, RandomZoomConfig};
pub use rescaling::{Rescaling, RescalingConfig};

use crate::{Shape, TorchLayout};
use kensho_core::{Error, Result, Rng};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// A random factor's range, as Keras takes it: one number or a `(lower, upper)` pair. What one
/// number means depends on the layer (for most, `f` stands for `(-f, f)`; see each layer).
///
/// ```
/// use kensho_layers::Factor;
/// assert_eq!(Factor::from(0.2), Factor::Value(0.2));
/// assert_eq!(Factor::from((-0.1, 0.3)), Factor::Range([-0.1, 0.3]));
/// assert_eq!(serde_json::to_string(&Factor::Range([-0.1, 0.3])).unwrap(), "[-0.1,0.3]");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Factor {
    /// One number.
    Value(f32),
    /// A `[lower, upper]` pair (the order does not matter, as in Keras).
    Range([f32; 2]),
}

impl From<f32> for Factor {
    fn from(value: f32) -> Factor {
        Factor::Value(value)
    }
}

impl From<(f32, f32)> for Factor {
    fn from((lower, upper): (f32, f32)) -> Factor {
        Factor::Range([lower, upper])
    }
}

impl From<[f32; 2]> for Factor {
    fn from(range: [f32; 2]) -> Factor {
        Factor::Range(range)
    }
}

impl std::fmt::Display for Factor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Factor::Value(v) => write!(f, "{v}"),
            Factor::Range([a, b]) => write!(f, "({a}, {b})"),
        }
    }
}

impl Factor {
    /// The `(lower, upper)` range, a single number `f` standing for `(-|f|, |f|)`.
    pub fn symmetric_bounds(self) -> (f32, f32) {
        match self {
            Factor::Value(v) => (-v.abs(), v.abs()),
            Factor::Range([a, b]) => (a.min(b), a.max(b)),
        }
    }

    /// Checks that every number given lies in `range` (with `low_open`, the lower end is
    /// excluded); the error names `what` (the layer and the argument).
    pub(crate) fn check(self, what: &str, low: f32, high: f32, low_open: bool) -> Result<()> {
        let values = match self {
            Factor::Value(v) => vec![v],
            Factor::Range([a, b]) => vec![a, b],
        };
        let fits = |v: &f32| v.is_finite() && *v <= high && if low_open { *v > low } else { *v >= low };
        if values.iter().all(fits) {
            return Ok(());
        }
        let interval = if low_open { format!("({low}, {high}]") } else { format!("[{low}, {high}]") };
        Err(Error::invalid(what, self, format!("a number or a (lower, upper) pair in {interval}")))
    }
}

/// How points outside the input image are filled (Keras' `fill_mode`), shown on a row `a b c d`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FillMode {
    /// `d c b a | a b c d | d c b a`: reflected about the edge of the last pixel (the default).
    #[default]
    Reflect,
    /// `a b c d | a b c d | a b c d`: wrapped around to the opposite edge.
    Wrap,
    /// `k k k k | a b c d | k k k k`: the constant `fill_value` (0 unless set).
    Constant,
    /// `a a a a | a b c d | d d d d`: the nearest edge pixel.
    Nearest,
}

/// How the geometric layers read between pixels (Keras' `interpolation`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interpolation {
    /// The nearest pixel.
    Nearest,
    /// Linear between the four nearest pixels (the default).
    #[default]
    Bilinear,
}

/// The preprocessing layers in PyTorch's layout: none of them is a module of
/// `torch.nn.Sequential` (in PyTorch they belong to the data pipeline, torchvision's
/// `transforms`), so they take no place in its numbering, as `Input` does.
pub(crate) fn torch_layout() -> TorchLayout {
    TorchLayout::modules(0)
}

/// Checks that a per-sample shape is an image `[height, width, channels]`.
pub(crate) fn require_image(kind: &str, name: &str, shape: &Shape) -> Result<()> {
    if shape.rank() == 3 {
        return Ok(());
    }
    Err(Error::invalid(
        format!("{kind} \"{name}\" input shape"),
        shape,
        "images of per-sample shape [height, width, channels] (inputs [batch, height, width, channels], \
         channels_last); add Reshape first",
    ))
}

/// A number drawn uniformly from `[low, high)` (`low` itself if the range is empty).
pub(crate) fn uniform(rng: &mut Rng, low: f32, high: f32) -> f32 {
    low + (high - low) * rng.random::<f32>()
}
