//! [`StftSpectrogram`]: the short-time Fourier transform of waveforms as a layer (Keras 3's
//! `STFTSpectrogram`).

use super::{audio_layer_common, audio_layer_methods, feature_forward, feature_shape, waveform_samples};
use crate::layer::{Ctx, Layer};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::audio::{stft, StftOptions};
use kensho_core::{Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`StftSpectrogram`] layer: Keras' arguments ([`StftOptions`]) and the
/// layer's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StftSpectrogramConfig {
    /// Layer name.
    pub name: String,
    /// The transform's arguments (Keras' names and defaults).
    #[serde(flatten)]
    pub options: StftOptions,
    /// Adds a channel axis to the output, `[batch, frames, bins, 1]`, for a Conv2D (Keras'
    /// `expand_dims`; default false).
    #[serde(default)]
    pub expand_dims: bool,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// The STFT of each waveform, [`kensho_core::audio::stft`], as a layer without weights:
/// frames of `frame_length` samples every `frame_step`, windowed, zero-padded to `fft_length`,
/// as magnitude, power spectral density, log magnitude (the default), real or imaginary part
/// or phase ([`SpectrumMode`](kensho_core::audio::SpectrumMode)).
///
/// Departures from Keras: the kernels are fixed (Keras can train its convolution kernels);
/// the input has one channel (`[batch, samples]` or `[batch, samples, 1]`; Keras takes several
/// and concatenates their bins); there is no `mode="stft"` (real and imaginary parts side by
/// side); a [`FramePadding::Center`](kensho_core::audio::FramePadding) framing is offered
/// beside `valid` and `same`; a `frame_step` above `frame_length` (frames with gaps) is
/// allowed, and an `fft_length` that is not a power of two gives no warning. No gradient flows
/// to the input (see the module docs).
///
/// # Shapes
/// Input `[batch, samples]` or `[batch, samples, 1]`; output `[batch, frames, fft_length / 2 +
/// 1]`, or `[batch, frames, fft_length / 2 + 1, 1]` with [`expand_dims`](StftSpectrogram::expand_dims).
///
/// ```
/// use kensho_core::audio::StftOptions;
/// use kensho_layers::{Layer, StftSpectrogram};
/// // Keras: STFTSpectrogram(frame_length=256, frame_step=128, fft_length=512) on 10 s at 16 kHz.
/// let options = StftOptions { frame_length: 256, frame_step: Some(128), fft_length: Some(512), ..Default::default() };
/// let mut layer = StftSpectrogram::new(options);
/// assert_eq!(layer.build(&[160000, 1].into(), &mut kensho_core::seeded_rng(0))?, vec![1249, 257]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[doc(alias = "STFTSpectrogram")]
#[derive(Clone, Debug)]
pub struct StftSpectrogram {
    config: StftSpectrogramConfig,
}

impl StftSpectrogram {
    /// A layer computing the STFT with `options`.
    pub fn new(options: StftOptions) -> StftSpectrogram {
        StftSpectrogram::from_config(StftSpectrogramConfig {
            name: String::new(),
            options,
            expand_dims: false,
            input_shape: None,
        })
    }

    /// Adds a channel axis to the output (`[batch, frames, bins, 1]`), for a Conv2D.
    pub fn expand_dims(mut self, expand_dims: bool) -> StftSpectrogram {
        self.config.expand_dims = expand_dims;
        self
    }
}

impl Default for StftSpectrogram {
    /// Keras' defaults: log magnitude, frames of 256 every 128, FFT 256, symmetric Hann, "valid".
    fn default() -> StftSpectrogram {
        StftSpectrogram::new(StftOptions::default())
    }
}

audio_layer_common!(StftSpectrogram, StftSpectrogramConfig);

impl Layer for StftSpectrogram {
    audio_layer_methods!(STFTSpectrogram);

    fn kind(&self) -> &'static str {
        "STFTSpectrogram"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let owner = format!("STFTSpectrogram \"{}\"", self.config.name);
        let samples = waveform_samples(&owner, input_shape)?;
        Ok(feature_shape(self.config.options.output_shape(samples, &owner)?, self.config.expand_dims))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        feature_forward(x, cx, self.config.expand_dims, |x| stft(x, &self.config.options))
    }
}
