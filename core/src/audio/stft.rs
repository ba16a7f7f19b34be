//! [`stft`]: the short-time Fourier transform of batched signals, its [`StftOptions`] (Keras 3
//! `STFTSpectrogram`'s arguments and defaults) and the framing plan the mel features share.

use super::fft::RealFft;
use super::{Signals, Window};
use crate::{Error, Result, Tensor};
use rustfft::num_complex::Complex;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Keras' `backend.epsilon()`: the floor of the magnitude before its square root and its log.
const EPSILON: f32 = 1e-7;

/// What [`stft`] returns for each frequency bin (Keras' `mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SpectrumMode {
    /// `sqrt(max(|X|², 1e-7))`.
    Magnitude,
    /// The one-sided power spectral density: `|X|²`, doubled for every bin but the first and
    /// the last (Keras' `"psd"`).
    Psd,
    /// `ln(max(magnitude, 1e-7))` (the default).
    #[default]
    Log,
    /// `|X|²`, not doubled (not in Keras; what a mel spectrogram starts from).
    Power,
    /// The real part of `X`.
    Real,
    /// The imaginary part of `X`.
    Imag,
    /// The phase `atan2(imag, real)`, in radians.
    Angle,
}

/// How the window is normalised (Keras' `scaling`); only applied with a window.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scaling {
    /// Divided by `sqrt(Σ w²)` (the default).
    #[default]
    Density,
    /// Divided by `Σ |w|`.
    Spectrum,
    /// Not normalised (Keras' `scaling=None`).
    None,
}

/// Where frames start (Keras' `padding`, plus the centred framing of `keras.ops.stft`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FramePadding {
    /// Only frames inside the signal: `(samples - frame_length) / frame_step + 1` frames (the default).
    #[default]
    Valid,
    /// Zeros around the signal (the smaller half before it) so that there are
    /// `ceil(samples / frame_step)` frames, as a Keras `"same"` convolution.
    Same,
    /// `fft_length / 2` samples reflected at each end (numpy's `reflect`, no edge repeat), frames
    /// of `fft_length` with the window centred in them: `samples / frame_step + 1` frames for an
    /// even `fft_length`. This is `keras.ops.stft(center=True)`, which `MelSpectrogram` uses
    /// (and librosa, torchaudio); it needs more than `fft_length / 2` samples.
    Center,
}

/// The arguments of [`stft`], with Keras 3 `STFTSpectrogram`'s names and defaults.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct StftOptions {
    /// What to return per bin (default [`SpectrumMode::Log`]).
    pub mode: SpectrumMode,
    /// Samples per frame (default 256).
    pub frame_length: usize,
    /// Samples between frame starts (default `frame_length / 2`).
    pub frame_step: Option<usize>,
    /// FFT size, at least `frame_length`; frames are zero-padded to it (default the smallest
    /// power of two not below `frame_length`).
    pub fft_length: Option<usize>,
    /// The window (default Hann).
    pub window: Window,
    /// A periodic window (`true`) or a symmetric one (`false`, Keras' default here).
    pub periodic: bool,
    /// How the window is normalised (default [`Scaling::Density`]).
    pub scaling: Scaling,
    /// Where frames start (default [`FramePadding::Valid`]).
    pub padding: FramePadding,
}

impl Default for StftOptions {
    fn default() -> StftOptions {
        StftOptions {
            mode: SpectrumMode::Log,
            frame_length: 256,
            frame_step: None,
            fft_length: None,
            window: Window::Hann,
            periodic: false,
            scaling: Scaling::Density,
            padding: FramePadding::Valid,
        }
    }
}

impl StftOptions {
    /// The step between frames: `frame_step`, or half the frame (at least 1).
    pub fn step(&self) -> usize {
        self.frame_step.unwrap_or((self.frame_length / 2).max(1))
    }

    /// The FFT size: `fft_length`, or the smallest power of two not below `frame_length`.
    pub fn fft_size(&self) -> usize {
        self.fft_length.unwrap_or(self.frame_length.next_power_of_two())
    }

    /// The frequency bins per frame, `fft_size() / 2 + 1`.
    pub fn bins(&self) -> usize {
        self.fft_size() / 2 + 1
    }

    /// Checks the arguments; the error names `owner` and the argument.
    ///
    /// # Errors
    /// A zero `frame_length` or `frame_step`, or `fft_length < frame_length`.
    pub fn validate(&self, owner: &str) -> Result<()> {
        if self.frame_length == 0 {
            return Err(Error::invalid(format!("{owner}: frame_length"), 0, "at least 1 sample"));
        }
        if self.frame_step == Some(0) {
            return Err(Error::invalid(format!("{owner}: frame_step"), 0, "at least 1 sample"));
        }
        if self.fft_size() < self.frame_length {
            return Err(Error::invalid(
                format!("{owner}: fft_length"),
                self.fft_size(),
                format!("at least frame_length ({}): frames are zero-padded to fft_length", self.frame_length),
            ));
        }
        Ok(())
    }

    /// The `[frames, bins]` [`stft`] gives for signals of `samples` samples.
    ///
    /// # Errors
    /// As [`StftOptions::validate`], or if the signal is too short for one frame.
    pub fn output_shape(&self, samples: usize, owner: &str) -> Result<[usize; 2]> {
        Ok([Framing::new(self, samples, owner)?.frames, self.bins()])
    }
}

/// The short-time Fourier transform of each signal: frames of `frame_length` samples every
/// `frame_step`, each multiplied by the window, zero-padded to `fft_length` and transformed;
/// the `fft_length / 2 + 1` non-negative frequencies, as `options.mode` says.
///
/// # Shapes
/// `[samples]` → `[frames, bins]`; `[batch, samples]` or `[batch, samples, 1]` →
/// `[batch, frames, bins]`.
///
/// # Errors
/// Bad options (see [`StftOptions::validate`]), another input shape, or signals shorter than
/// one frame (the error names `stft` and the argument).
///
/// ```
/// use kensho_core::audio::{stft, SpectrumMode, StftOptions};
/// use kensho_core::Tensor;
/// let tone = Tensor::from_fn(&[1, 64], |i| (std::f32::consts::PI * i[1] as f32 / 4.0).cos());
/// let options = StftOptions { mode: SpectrumMode::Power, frame_length: 32, frame_step: Some(16),
///     window: kensho_core::audio::Window::None, scaling: kensho_core::audio::Scaling::None, ..Default::default() };
/// let power = stft(&tone, &options)?;
/// assert_eq!(power.shape(), &[1, 3, 17]);
/// assert!((power.get_flat(4) - 256.0).abs() < 1e-2); // bin 4 = 1/8 of the rate: (32 / 2)²
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub fn stft(x: &Tensor, options: &StftOptions) -> Result<Tensor> {
    let signals = Signals::new(x, "stft")?;
    let plan = Framing::new(options, signals.samples(), "stft")?;
    let (mode, bins) = (options.mode, options.bins());
    Ok(signals.map(
        plan.frames,
        bins,
        || plan.scratch(),
        |signal, out, scratch| {
            plan.each_frame(signal, scratch, |t, spectrum| {
                write_mode(mode, spectrum, &mut out[t * bins..(t + 1) * bins])
            })
        },
    ))
}

/// One frame's spectrum as `mode` says.
fn write_mode(mode: SpectrumMode, spectrum: &[Complex<f32>], out: &mut [f32]) {
    let last = out.len() - 1;
    for (k, (o, c)) in out.iter_mut().zip(spectrum).enumerate() {
        let power = c.re * c.re + c.im * c.im;
        *o = match mode {
            SpectrumMode::Power => power,
            SpectrumMode::Psd if k == 0 || k == last => power,
            SpectrumMode::Psd => 2.0 * power,
            SpectrumMode::Magnitude => power.max(EPSILON).sqrt(),
            SpectrumMode::Log => power.max(EPSILON).sqrt().max(EPSILON).ln(),
            SpectrumMode::Real => c.re,
            SpectrumMode::Imag => c.im,
            SpectrumMode::Angle => c.im.atan2(c.re),
        };
    }
}

/// The framing of signals of one length: where each frame starts, the scaled window and the
/// FFT plan, made once per call and shared by the threads.
pub(crate) struct Framing {
    fft: Arc<RealFft>,
    fft_length: usize,
    window: Vec<f32>,
    step: usize,
    samples: usize,
    /// Samples of padding before the signal (zeros for `Same`, reflected for `Center`).
    pad_left: usize,
    /// Where the window starts inside the FFT buffer (centred for `Center`, else 0).
    offset: usize,
    reflect: bool,
    pub(crate) frames: usize,
}

/// One thread's buffers: the FFT input, its output and the FFT's own scratch.
pub(crate) struct Scratch {
    input: Vec<f32>,
    spectrum: Vec<Complex<f32>>,
    work: Vec<Complex<f32>>,
}

impl Framing {
    /// Plans frames of `options` over signals of `samples` samples.
    pub(crate) fn new(options: &StftOptions, samples: usize, owner: &str) -> Result<Framing> {
        options.validate(owner)?;
        let (length, step, fft_length) = (options.frame_length, options.step(), options.fft_size());
        let (frames, pad_left, offset) = match options.padding {
            FramePadding::Valid => {
                if samples < length {
                    return Err(Error::invalid(
                        format!("{owner}: frame_length"),
                        length,
                        format!("at most the signal's {samples} samples (with padding \"valid\"); use shorter frames, padding \"same\", or longer signals"),
                    ));
                }
                ((samples - length) / step + 1, 0, 0)
            }
            FramePadding::Same => {
                let frames = samples.div_ceil(step);
                let total = ((frames - 1) * step + length).saturating_sub(samples);
                (frames, total / 2, 0)
            }
            FramePadding::Center => {
                let pad = fft_length / 2;
                if samples <= pad {
                    return Err(Error::invalid(
                        format!("{owner}: fft_length"),
                        fft_length,
                        format!("less than twice the signal's {samples} samples (centred frames reflect fft_length / 2 samples at each end)"),
                    ));
                }
                ((samples + 2 * pad - fft_length) / step + 1, pad, (fft_length - length) / 2)
            }
        };
        let mut window = options.window.values(length, options.periodic);
        let norm = match (options.window, options.scaling) {
            (Window::None, _) | (_, Scaling::None) => 1.0,
            (_, Scaling::Density) => window.iter().map(|w| w * w).sum::<f32>().sqrt(),
            (_, Scaling::Spectrum) => window.iter().map(|w| w.abs()).sum::<f32>(),
        };
        window.iter_mut().for_each(|w| *w /= norm);
        let fft = Arc::new(RealFft::new(fft_length));
        let reflect = options.padding == FramePadding::Center;
        Ok(Framing { fft, fft_length, window, step, samples, pad_left, offset, reflect, frames })
    }

    /// Fresh buffers for one thread.
    pub(crate) fn scratch(&self) -> Scratch {
        Scratch {
            input: vec![0.0; self.fft_length],
            spectrum: vec![Complex::new(0.0, 0.0); self.fft.bins()],
            work: vec![Complex::new(0.0, 0.0); self.fft.scratch_len()],
        }
    }

    /// Calls `each(t, spectrum)` with the `fft_length / 2 + 1` bins of every frame `t` of `signal`.
    pub(crate) fn each_frame(&self, signal: &[f32], s: &mut Scratch, mut each: impl FnMut(usize, &[Complex<f32>])) {
        let n = self.samples as isize;
        for t in 0..self.frames {
            s.input.fill(0.0);
            let start = (t * self.step + self.offset) as isize - self.pad_left as isize;
            let target = &mut s.input[self.offset..self.offset + self.window.len()];
            if start >= 0 && start + self.window.len() as isize <= n {
                let frame = &signal[start as usize..start as usize + self.window.len()];
                for ((o, x), w) in target.iter_mut().zip(frame).zip(&self.window) {
                    *o = x * w;
                }
            } else {
                for (i, (o, w)) in target.iter_mut().zip(&self.window).enumerate() {
                    let k = start + i as isize;
                    let k = match (self.reflect, k < 0, k >= n) {
                        (_, false, false) => k,
                        (true, true, _) => -k,
                        (true, _, true) => 2 * (n - 1) - k,
                        (false, _, _) => continue,
                    };
                    *o = signal[k as usize] * w;
                }
            }
            self.fft.process(&s.input, &mut s.spectrum, &mut s.work);
            each(t, &s.spectrum);
        }
    }
}
