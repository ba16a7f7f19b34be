//! Audio layers: the features of `kensho_core::audio` as the first layers of a model
//! ([`StftSpectrogram`], [`MelSpectrogram`], [`Mfcc`], Keras 3's `STFTSpectrogram` and
//! `MelSpectrogram`) and the augmentations of speech training ([`RandomTimeShift`],
//! [`RandomNoise`], [`SpecAugment`]), which act only in training (`fit`) and are the identity
//! in `evaluate` and `predict`.
//!
//! The feature layers take waveforms `[batch, samples]` or `[batch, samples, 1]` and give
//! `[batch, frames, bins]` (time first, as Keras' `STFTSpectrogram`, ready for a Conv1D or a
//! recurrent layer); with `expand_dims(true)` they add a channel axis, `[batch, frames, bins,
//! 1]`, for a Conv2D. They have no weights, and are fixed functions of the waveform: their
//! output is a constant on the tape, so no gradient flows back to their input (they belong first
//! in a model, where none is needed). Randomness of the augmentations comes from the model's
//! generator ([`Ctx::rng`](crate::Ctx)), so a seeded model augments the same way on every run;
//! each clip of a batch draws its own.
//!
//! In PyTorch's checkpoint layout each counts as one module without weights, as torchaudio's
//! transforms (`MelSpectrogram`, `FrequencyMasking`, ...) are `nn.Module`s that may sit in a
//! `torch.nn.Sequential` (the buffers torchaudio keeps there, its window and filterbank, are
//! not written: they follow from the configuration).

mod mel_spectrogram;
mod mfcc;
mod random_noise;
mod random_time_shift;
mod spec_augment;
mod stft_spectrogram;
#[cfg(test)]
mod tests;

pub use mel_spectrogram::{MelSpectrogram, MelSpectrogramConfig};
pub use mfcc::{Mfcc, MfccConfig};
pub use random_noise::{RandomNoise, RandomNoiseConfig};
pub use random_time_shift::{RandomTimeShift, RandomTimeShiftConfig, Shift, ShiftFill};
pub use spec_augment::{MaskFill, SpecAugment, SpecAugmentConfig};
pub use stft_spectrogram::{StftSpectrogram, StftSpectrogramConfig};

use crate::layer::Ctx;
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Tensor};

/// The samples per clip of a per-sample waveform shape `[samples]` or `[samples, 1]`.
pub(crate) fn waveform_samples(owner: &str, shape: &Shape) -> Result<usize> {
    match shape.dims() {
        [Some(samples)] | [Some(samples), Some(1)] => Ok(*samples),
        _ => Err(Error::invalid(
            format!("{owner} input shape"),
            shape,
            "waveforms of a known length, per-sample shape [samples] or [samples, 1] \
             (inputs [batch, samples] or [batch, samples, 1]); give the Input a fixed length",
        )),
    }
}

/// The per-sample output shape of a feature layer: `[frames, bins]`, or `[frames, bins, 1]`.
pub(crate) fn feature_shape([frames, bins]: [usize; 2], expand_dims: bool) -> Shape {
    match expand_dims {
        true => Shape::known(&[frames, bins, 1]),
        false => Shape::known(&[frames, bins]),
    }
}

/// Runs a feature function on the batch's waveforms and puts the result on the tape as a
/// constant (no gradient to the waveform), with a channel axis if `expand_dims`.
///
/// # Panics
/// If the function fails: `build` checked the options and the shape.
pub(crate) fn feature_forward<'t>(
    x: Var<'t>,
    cx: &Ctx<'t>,
    expand_dims: bool,
    features: impl Fn(&Tensor) -> Result<Tensor>,
) -> Var<'t> {
    let y = features(&x.value()).unwrap_or_else(|e| panic!("checked by build: {e}"));
    let y = if expand_dims {
        let mut shape = y.shape().to_vec();
        shape.push(1);
        y.reshape_to(&shape)
    } else {
        y
    };
    cx.tape.constant(y)
}

/// The builder methods every audio layer has alike.
macro_rules! audio_layer_common {
    ($layer:ident, $config:ident) => {
        impl $layer {
            /// A layer from its configuration.
            pub fn from_config(config: $config) -> $layer {
                $layer { config }
            }

            /// Declares the per-sample input shape (on the first layer of a model).
            pub fn input_shape(mut self, shape: &[usize]) -> $layer {
                self.config.input_shape = Some($crate::Shape::known(shape));
                self
            }

            /// Gives the layer a name instead of the automatic one (Keras' `name=`).
            pub fn with_name(mut self, name: &str) -> $layer {
                self.config.name = name.to_string();
                self
            }

            /// The layer's configuration.
            pub fn settings(&self) -> &$config {
                &self.config
            }
        }
    };
}

/// The `Layer` methods every audio layer has alike.
macro_rules! audio_layer_methods {
    ($variant:ident) => {
        fn name(&self) -> &str {
            &self.config.name
        }

        fn set_name(&mut self, name: &str) {
            self.config.name = name.to_string();
        }

        fn config(&self) -> $crate::LayerConfig {
            $crate::LayerConfig::$variant(self.config.clone())
        }

        fn declared_input_shape(&self) -> Option<$crate::Shape> {
            self.config.input_shape.clone()
        }
    };
}

pub(crate) use audio_layer_common;
pub(crate) use audio_layer_methods;
