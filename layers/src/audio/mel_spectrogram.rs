//! [`MelSpectrogram`]: log-mel spectrograms of waveforms as a layer (Keras 3's `MelSpectrogram`).

use super::{audio_layer_common, audio_layer_methods, feature_forward, feature_shape, waveform_samples};
use crate::layer::{Ctx, Layer};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::audio::{mel_spectrogram, MelOptions};
use kensho_core::{Result, Rng};
use serde::{Deserialize, Serialize};

/// The configuration of a [`MelSpectrogram`] layer: Keras' arguments ([`MelOptions`]) and the
/// layer's own.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MelSpectrogramConfig {
    /// Layer name.
    pub name: String,
    /// The spectrogram's arguments (Keras' names and defaults).
    #[serde(flatten)]
    pub options: MelOptions,
    /// Adds a channel axis to the output, `[batch, frames, num_mel_bins, 1]`, for a Conv2D
    /// (default false).
    #[serde(default)]
    pub expand_dims: bool,
    /// Optional declared per-sample input shape (Keras' `input_shape` on a first layer).
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// The (log-)mel spectrogram of each waveform, [`kensho_core::audio::mel_spectrogram`], as a
/// layer without weights: centred frames, `|STFT|^mag_exp`, the HTK mel filterbank, decibels
/// floored `top_db` below each clip's maximum.
///
/// Departures from Keras: the output is time first, `[batch, frames, num_mel_bins]` (Keras
/// gives `[batch, num_mel_bins, frames]`), so a Conv1D, a recurrent layer or (with
/// [`expand_dims`](MelSpectrogram::expand_dims)) a Conv2D follows directly; the `top_db` floor
/// is per clip (Keras takes the maximum over the whole batch), so a clip's features do not
/// depend on its batch; [`MelOptions::center`] `false` frames only inside the signal (Keras
/// always centres). No gradient flows to the input (see the module docs).
///
/// # Shapes
/// Input `[batch, samples]` or `[batch, samples, 1]`; output `[batch, frames, num_mel_bins]`
/// (or `[..., 1]` with `expand_dims`), `frames = samples / sequence_stride + 1` for an even
/// `fft_length`.
///
/// ```
/// use kensho_core::audio::MelOptions;
/// use kensho_layers::{Layer, MelSpectrogram};
/// // 1-second clips at 8 kHz: 25 ms windows every 10 ms, 40 mel bands, a channel for Conv2D.
/// let options = MelOptions { sampling_rate: 8000, fft_length: 256, sequence_length: Some(200),
///     sequence_stride: 80, num_mel_bins: 40, ..MelOptions::default() };
/// let mut layer = MelSpectrogram::new(options).expand_dims(true);
/// assert_eq!(layer.build(&[8000].into(), &mut kensho_core::seeded_rng(0))?, vec![101, 40, 1]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct MelSpectrogram {
    config: MelSpectrogramConfig,
}

impl MelSpectrogram {
    /// A layer computing mel spectrograms with `options`.
    pub fn new(options: MelOptions) -> MelSpectrogram {
        MelSpectrogram::from_config(MelSpectrogramConfig {
            name: String::new(),
            options,
            expand_dims: false,
            input_shape: None,
        })
    }

    /// Adds a channel axis to the output (`[batch, frames, num_mel_bins, 1]`), for a Conv2D.
    pub fn expand_dims(mut self, expand_dims: bool) -> MelSpectrogram {
        self.config.expand_dims = expand_dims;
        self
    }
}

impl Default for MelSpectrogram {
    /// Keras' defaults ([`MelOptions::default`]).
    fn default() -> MelSpectrogram {
        MelSpectrogram::new(MelOptions::default())
    }
}

audio_layer_common!(MelSpectrogram, MelSpectrogramConfig);

impl Layer for MelSpectrogram {
    audio_layer_methods!(MelSpectrogram);

    fn kind(&self) -> &'static str {
        "MelSpectrogram"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let owner = format!("MelSpectrogram \"{}\"", self.config.name);
        let samples = waveform_samples(&owner, input_shape)?;
        Ok(feature_shape(self.config.options.output_shape(samples, &owner)?, self.config.expand_dims))
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        feature_forward(x, cx, self.config.expand_dims, |x| mel_spectrogram(x, &self.config.options))
    }
}
