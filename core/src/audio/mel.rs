//! [`mel_spectrogram`] and [`mel_filterbank`]: power spectra warped onto the mel scale, in
//! decibels, as Keras 3's `MelSpectrogram` (its HTK-style `linear_to_mel_weight_matrix`).

use super::stft::{Framing, Scratch};
use super::{FramePadding, Scaling, Signals, SpectrumMode, StftOptions, Window};
use crate::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

/// The arguments of [`mel_spectrogram`], with Keras 3 `MelSpectrogram`'s names and defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct MelOptions {
    /// FFT size (default 2048).
    pub fft_length: usize,
    /// Samples between frame starts (default 512).
    pub sequence_stride: usize,
    /// Window length, at most `fft_length` (default `fft_length`).
    pub sequence_length: Option<usize>,
    /// The window, periodic as `scipy.signal.get_window` makes it (default Hann).
    pub window: Window,
    /// Samples per second of the signals (default 16000).
    pub sampling_rate: u32,
    /// Mel bands (default 128).
    pub num_mel_bins: usize,
    /// Lower edge of the lowest band, in Hz (default 20).
    pub min_freq: f32,
    /// Upper edge of the highest band, in Hz, at most the Nyquist frequency (default
    /// `sampling_rate / 2`).
    pub max_freq: Option<f32>,
    /// Convert to decibels (default true).
    pub power_to_db: bool,
    /// In decibels, floor each clip at its maximum minus `top_db` (default 80; `None` for no floor).
    pub top_db: Option<f32>,
    /// Exponent of the magnitude: 1 for magnitude, 2 for power (default 2).
    pub mag_exp: f32,
    /// Floor of the power (and of `ref_power`) before the logarithm (default 1e-10).
    pub min_power: f32,
    /// Reference power: decibels are `10 log10(S / ref_power)` (default 1).
    pub ref_power: f32,
    /// Centred frames, `fft_length / 2` samples reflected at each end (default true, as Keras,
    /// whose `MelSpectrogram` always centres); `false` takes only frames inside the signal
    /// (`padding="valid"`: `(samples - sequence_length) / sequence_stride + 1` frames, each
    /// window at the start of its FFT buffer), as a numpy or `tf.signal.stft` pipeline does.
    /// Not a Keras argument (librosa's and torchaudio's `center`).
    pub center: bool,
}

impl Default for MelOptions {
    fn default() -> MelOptions {
        MelOptions {
            fft_length: 2048,
            sequence_stride: 512,
            sequence_length: None,
            window: Window::Hann,
            sampling_rate: 16000,
            num_mel_bins: 128,
            min_freq: 20.0,
            max_freq: None,
            power_to_db: true,
            top_db: Some(80.0),
            mag_exp: 2.0,
            min_power: 1e-10,
            ref_power: 1.0,
            center: true,
        }
    }
}

impl MelOptions {
    /// The upper edge in Hz: `max_freq`, or half the sampling rate.
    pub fn upper_freq(&self) -> f32 {
        self.max_freq.unwrap_or(self.sampling_rate as f32 / 2.0)
    }

    /// The framing, as [`StftOptions`]: centred frames (Keras' `ops.stft(center=True)`; valid
    /// ones without `center`), a periodic window, no scaling, the power spectrum.
    pub fn stft_options(&self) -> StftOptions {
        StftOptions {
            mode: SpectrumMode::Power,
            frame_length: self.sequence_length.unwrap_or(self.fft_length),
            frame_step: Some(self.sequence_stride),
            fft_length: Some(self.fft_length),
            window: self.window,
            periodic: true,
            scaling: Scaling::None,
            padding: if self.center { FramePadding::Center } else { FramePadding::Valid },
        }
    }

    /// Checks the arguments; the error names `owner` and the argument.
    ///
    /// # Errors
    /// Bad framing (as [`StftOptions::validate`]), a zero `sampling_rate` or `num_mel_bins`,
    /// `min_freq` negative or not below `max_freq`, `max_freq` above the Nyquist frequency, a
    /// non-positive `mag_exp`, `min_power` or `ref_power`, a negative `top_db`.
    pub fn validate(&self, owner: &str) -> Result<()> {
        if self.fft_length == 0 {
            return Err(Error::invalid(format!("{owner}: fft_length"), 0, "at least 1 sample"));
        }
        if self.sequence_length.is_some_and(|l| l > self.fft_length) {
            return Err(Error::invalid(
                format!("{owner}: fft_length"),
                self.fft_length,
                format!("at least sequence_length ({})", self.sequence_length.unwrap_or(0)),
            ));
        }
        self.stft_options().validate(owner)?;
        let positive = |what: &str, v: f32| match v.is_finite() && v > 0.0 {
            true => Ok(()),
            false => Err(Error::invalid(format!("{owner}: {what}"), v, "a positive number")),
        };
        positive("mag_exp", self.mag_exp)?;
        positive("min_power", self.min_power)?;
        positive("ref_power", self.ref_power)?;
        if let Some(top) = self.top_db.filter(|t| !(t.is_finite() && *t >= 0.0)) {
            return Err(Error::invalid(format!("{owner}: top_db"), top, "a number of decibels >= 0, or None"));
        }
        check_bands(owner, self.num_mel_bins, self.sampling_rate as f32, self.min_freq, self.upper_freq())
    }

    /// The `[frames, num_mel_bins]` [`mel_spectrogram`] gives for signals of `samples` samples.
    ///
    /// # Errors
    /// As [`MelOptions::validate`], or if the signal is too short: at most `fft_length / 2`
    /// samples with `center`, fewer than `sequence_length` without.
    pub fn output_shape(&self, samples: usize, owner: &str) -> Result<[usize; 2]> {
        self.validate(owner)?;
        self.check_samples(samples, owner)?;
        Ok([self.stft_options().output_shape(samples, owner)?[0], self.num_mel_bins])
    }

    /// Checks that signals of `samples` samples hold one frame, naming this type's arguments.
    fn check_samples(&self, samples: usize, owner: &str) -> Result<()> {
        let length = self.sequence_length.unwrap_or(self.fft_length);
        if !self.center && samples < length {
            return Err(Error::invalid(
                format!("{owner}: sequence_length"),
                length,
                format!("at most the signal's {samples} samples (with center false); use shorter windows or center"),
            ));
        }
        Ok(())
    }
}

/// Checks a filterbank's arguments (Hz).
fn check_bands(owner: &str, bands: usize, rate: f32, low: f32, high: f32) -> Result<()> {
    if bands == 0 {
        return Err(Error::invalid(format!("{owner}: num_mel_bins"), 0, "at least 1 band"));
    }
    if !(rate.is_finite() && rate > 0.0) {
        return Err(Error::invalid(format!("{owner}: sampling_rate"), rate, "a positive number of samples per second"));
    }
    if !(low.is_finite() && low >= 0.0) {
        return Err(Error::invalid(format!("{owner}: min_freq"), low, "a frequency >= 0 Hz"));
    }
    if !(high.is_finite() && high > low) {
        return Err(Error::invalid(
            format!("{owner}: max_freq"),
            high,
            format!("a frequency above min_freq ({low} Hz)"),
        ));
    }
    if high > rate / 2.0 {
        return Err(Error::invalid(
            format!("{owner}: max_freq"),
            high,
            format!("at most the Nyquist frequency, sampling_rate / 2 = {} Hz", rate / 2.0),
        ));
    }
    Ok(())
}

/// Hz to mel, HTK style: `1127 ln(1 + f / 700)`.
fn hz_to_mel(hz: f64) -> f64 {
    1127.0 * (1.0 + hz / 700.0).ln()
}

/// The matrix that warps a linear spectrum onto the mel scale, `[num_spectrogram_bins,
/// num_mel_bins]` (Keras' and TensorFlow's `linear_to_mel_weight_matrix`): bin `k` is at
/// `k / (num_spectrogram_bins - 1)` of the Nyquist frequency; band `m` is a triangle, linear
/// in mels, rising from edge `m` to a peak of 1 at edge `m + 1` and falling to edge `m + 2`, the
/// `num_mel_bins + 2` edges spread evenly in mels from `min_freq` to `max_freq`. The DC bin
/// gets no weight (the HTK convention). Computed in f64, rounded to f32.
///
/// # Errors
/// A zero `num_mel_bins`, fewer than 2 spectrogram bins, a non-positive `sampling_rate`,
/// `min_freq` negative or not below `max_freq`, or `max_freq` above `sampling_rate / 2`.
///
/// ```
/// let w = kensho_core::audio::mel_filterbank(40, 129, 8000.0, 20.0, 4000.0)?;
/// assert_eq!(w.shape(), &[129, 40]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[doc(alias = "linear_to_mel_weight_matrix")]
pub fn mel_filterbank(
    num_mel_bins: usize,
    num_spectrogram_bins: usize,
    sampling_rate: f32,
    min_freq: f32,
    max_freq: f32,
) -> Result<Tensor> {
    let weights = filterbank(num_mel_bins, num_spectrogram_bins, sampling_rate, min_freq, max_freq)?;
    Tensor::from_vec(weights, &[num_spectrogram_bins, num_mel_bins])
}

/// The row-major `[bins, bands]` weights of [`mel_filterbank`].
fn filterbank(bands: usize, bins: usize, rate: f32, low: f32, high: f32) -> Result<Vec<f32>> {
    check_bands("mel_filterbank", bands, rate, low, high)?;
    if bins < 2 {
        return Err(Error::invalid("mel_filterbank: num_spectrogram_bins", bins, "at least 2 bins"));
    }
    let (low_mel, high_mel) = (hz_to_mel(low as f64), hz_to_mel(high as f64));
    let edge = |i: usize| low_mel + (high_mel - low_mel) * i as f64 / (bands + 1) as f64;
    let mut weights = vec![0.0f32; bins * bands];
    for k in 1..bins {
        let mel = hz_to_mel(rate as f64 / 2.0 * k as f64 / (bins - 1) as f64);
        for m in 0..bands {
            let (lower, center, upper) = (edge(m), edge(m + 1), edge(m + 2));
            let rise = (mel - lower) / (center - lower);
            let fall = (upper - mel) / (upper - center);
            weights[k * bands + m] = rise.min(fall).max(0.0) as f32;
        }
    }
    Ok(weights)
}

/// The log-mel spectrogram of each signal, as Keras' `MelSpectrogram`: the magnitude of the
/// centred STFT ([`MelOptions::stft_options`]) raised to `mag_exp`, times
/// [`mel_filterbank`], then (with `power_to_db`) `10 log10(max(S, min_power)) - 10
/// log10(max(ref_power, min_power))`, floored at the clip's maximum minus `top_db`.
///
/// Departures from Keras: the output is `[batch, frames, num_mel_bins]` (time first, as
/// `STFTSpectrogram` and a following Conv1D or recurrent layer want; Keras gives
/// `[batch, num_mel_bins, frames]`), and the `top_db` floor is taken per clip, where Keras
/// takes the maximum over the whole batch, so that a clip's features do not depend on the
/// other clips of its batch.
///
/// # Shapes
/// `[samples]` → `[frames, num_mel_bins]`; `[batch, samples]` or `[batch, samples, 1]` →
/// `[batch, frames, num_mel_bins]`, with `frames = samples / sequence_stride + 1` for an even
/// `fft_length`.
///
/// # Errors
/// Bad options (see [`MelOptions::validate`]), another input shape, or signals of at most
/// `fft_length / 2` samples.
pub fn mel_spectrogram(x: &Tensor, options: &MelOptions) -> Result<Tensor> {
    let signals = Signals::new(x, "mel_spectrogram")?;
    let plan = MelPlan::new(options, signals.samples(), "mel_spectrogram")?;
    Ok(signals.map(plan.frames(), options.num_mel_bins, || plan.scratch(), |x, out, s| plan.clip(x, out, s)))
}

/// Everything a mel spectrogram of signals of one length needs, made once per call.
pub(crate) struct MelPlan {
    framing: Framing,
    /// Per band, the first bin with weight and the weights from there.
    bands: Vec<(usize, Vec<f32>)>,
    options: MelOptions,
}

impl MelPlan {
    /// Plans mel spectrograms of `options` over signals of `samples` samples.
    pub(crate) fn new(options: &MelOptions, samples: usize, owner: &str) -> Result<MelPlan> {
        options.validate(owner)?;
        options.check_samples(samples, owner)?;
        let framing = Framing::new(&options.stft_options(), samples, owner)?;
        let (n_bands, bins) = (options.num_mel_bins, options.fft_length / 2 + 1);
        let rate = options.sampling_rate as f32;
        let weights = filterbank(n_bands, bins.max(2), rate, options.min_freq, options.upper_freq())?;
        let bands = (0..n_bands)
            .map(|m| {
                let column: Vec<f32> = (0..bins).map(|k| weights[k * n_bands + m]).collect();
                let first = column.iter().position(|&w| w != 0.0).unwrap_or(0);
                let last = column.iter().rposition(|&w| w != 0.0).map_or(first, |l| l + 1);
                (first, column[first..last].to_vec())
            })
            .collect();
        Ok(MelPlan { framing, bands, options: options.clone() })
    }

    /// Frames per signal.
    pub(crate) fn frames(&self) -> usize {
        self.framing.frames
    }

    /// Fresh buffers for one thread.
    pub(crate) fn scratch(&self) -> Scratch {
        self.framing.scratch()
    }

    /// Writes the `[frames, bands]` (log-)mel spectrogram of one signal into `out`.
    pub(crate) fn clip(&self, signal: &[f32], out: &mut [f32], scratch: &mut Scratch) {
        let o = &self.options;
        let n_bands = self.bands.len();
        let half_exp = o.mag_exp / 2.0;
        self.framing.each_frame(signal, scratch, |t, spectrum| {
            for (v, (first, weights)) in out[t * n_bands..(t + 1) * n_bands].iter_mut().zip(&self.bands) {
                let bins = &spectrum[*first..first + weights.len()];
                *v = bins
                    .iter()
                    .zip(weights)
                    .map(|(c, w)| {
                        let power = c.re * c.re + c.im * c.im;
                        w * if half_exp == 1.0 { power } else { power.powf(half_exp) }
                    })
                    .sum();
            }
        });
        if o.power_to_db {
            let reference = 10.0 * o.ref_power.abs().max(o.min_power).log10();
            out.iter_mut().for_each(|v| *v = 10.0 * v.max(o.min_power).log10() - reference);
            if let Some(top_db) = o.top_db {
                let floor = out.iter().copied().fold(f32::NEG_INFINITY, f32::max) - top_db;
                out.iter_mut().for_each(|v| *v = v.max(floor));
            }
        }
    }
}
