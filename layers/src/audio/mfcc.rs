//! [`Mfcc`]: mel-frequency cepstral coefficients of waveforms as a layer.

use super::{audio_layer_common, audio_layer_methods, feature_forward, feature_shape, waveform_samples};
use crate::layer::{Ctx, Layer};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::audio::{mfcc, MfccOptions};
use kensho_core::{Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of an [`Mfcc`] layer: [`MfccOptions`] and the layer's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MfccConfig {
    /// Layer name.
    pub name: String,
    /// The log-mel spectrogram's arguments and the number of coefficients.
    #[serde(flatten)]
    pub options: MfccOptions,
    /// Adds a channel axis to the output, `[batch, frames, num_mfcc, 1]` (default false).
    #[serde(default)]
    pub expand_dims: bool,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// The MFCCs of each waveform, [`kensho_core::audio::mfcc`], as a layer without weights: the
/// first `num_mfcc` coefficients of the orthonormal DCT-II of each frame of the log-mel
/// spectrogram. Keras has no such layer (TensorFlow has `tf.signal.mfccs_from_log_mel_spectrograms`);
/// it follows [`MelSpectrogram`](crate::MelSpectrogram). No gradient flows to the input.
///
/// # Shapes
/// Input `[batch, samples]` or `[batch, samples, 1]`; output `[batch, frames, num_mfcc]` (or
/// `[..., 1]` with `expand_dims`).
///
/// ```
/// use kensho_core::audio::{MelOptions, MfccOptions};
/// use kensho_layers::{Layer, Mfcc};
/// let mel = MelOptions { sampling_rate: 8000, fft_length: 256, sequence_length: Some(200),
///     sequence_stride: 80, num_mel_bins: 40, ..MelOptions::default() };
/// let mut layer = Mfcc::new(MfccOptions { mel, num_mfcc: 13 });
/// assert_eq!(layer.build(&[8000, 1].into(), &mut kensho_core::seeded_rng(0))?, vec![101, 13]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[doc(alias = "MFCC")]
#[derive(Clone, Debug)]
pub struct Mfcc {
    config: MfccConfig,
}

impl Mfcc {
    /// A layer computing MFCCs with `options`.
    pub fn new(options: MfccOptions) -> Mfcc {
        Mfcc::from_config(MfccConfig { name: String::new(), options, expand_dims: false, input_shape: None })
    }

    /// Adds a channel axis to the output (`[batch, frames, num_mfcc, 1]`), for a Conv2D.
    pub fn expand_dims(mut self, expand_dims: bool) -> Mfcc {
        self.config.expand_dims = expand_dims;
        self
    }
}

impl Default for Mfcc {
    /// 13 coefficients of Keras' default mel spectrogram.
    fn default() -> Mfcc {
        Mfcc::new(MfccOptions::default())
    }
}

audio_layer_common!(Mfcc, MfccConfig);

impl Layer for Mfcc {
    audio_layer_methods!(MFCC);

    fn kind(&self) -> &'static str {
        "MFCC"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let owner = format!("MFCC \"{}\"", self.config.name);
        let samples = waveform_samples(&owner, input_shape)?;
        Ok(feature_shape(self.config.options.output_shape(samples, &owner)?, self.config.expand_dims))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        feature_forward(x, cx, self.config.expand_dims, |x| mfcc(x, &self.config.options))
    }
}
