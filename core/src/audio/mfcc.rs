//! [`mfcc`] and [`dct`]: mel-frequency cepstral coefficients, the orthonormal DCT-II of the
//! log-mel spectrogram (`scipy.fft.dct(type=2, norm="ortho")`, TensorFlow's
//! `mfccs_from_log_mel_spectrograms`).

use super::mel::MelPlan;
use super::{MelOptions, Signals};
use crate::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

/// The arguments of [`mfcc`]: the log-mel spectrogram's and how many coefficients to keep.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MfccOptions {
    /// The log-mel spectrogram the coefficients come from (Keras `MelSpectrogram`'s defaults).
    #[serde(flatten)]
    pub mel: MelOptions,
    /// Coefficients kept per frame, the first ones, at most `num_mel_bins` (default 13).
    #[serde(default = "default_mfcc")]
    pub num_mfcc: usize,
}

fn default_mfcc() -> usize {
    13
}

impl Default for MfccOptions {
    fn default() -> MfccOptions {
        MfccOptions { mel: MelOptions::default(), num_mfcc: default_mfcc() }
    }
}

impl MfccOptions {
    /// Checks the arguments; the error names `owner` and the argument.
    ///
    /// # Errors
    /// As [`MelOptions::validate`], or `num_mfcc` 0 or above `num_mel_bins`.
    pub fn validate(&self, owner: &str) -> Result<()> {
        self.mel.validate(owner)?;
        check_count(owner, "num_mfcc", self.num_mfcc, self.mel.num_mel_bins)
    }

    /// The `[frames, num_mfcc]` [`mfcc`] gives for signals of `samples` samples.
    ///
    /// # Errors
    /// As [`MfccOptions::validate`], or if the signal is too short.
    pub fn output_shape(&self, samples: usize, owner: &str) -> Result<[usize; 2]> {
        self.validate(owner)?;
        Ok([self.mel.output_shape(samples, owner)?[0], self.num_mfcc])
    }
}

fn check_count(owner: &str, what: &str, count: usize, of: usize) -> Result<()> {
    if count == 0 || count > of {
        return Err(Error::invalid(format!("{owner}: {what}"), count, format!("between 1 and {of} (the mel bands)")));
    }
    Ok(())
}

/// The `[count, n]` orthonormal DCT-II matrix: row `k` is
/// `s_k cos(π k (2i + 1) / 2n)`, `s_0 = sqrt(1 / n)`, `s_k = sqrt(2 / n)`.
fn dct_matrix(count: usize, n: usize) -> Vec<f32> {
    let mut matrix = Vec::with_capacity(count * n);
    for k in 0..count {
        let scale = if k == 0 { (1.0 / n as f64).sqrt() } else { (2.0 / n as f64).sqrt() };
        for i in 0..n {
            let angle = std::f64::consts::PI * (k * (2 * i + 1)) as f64 / (2 * n) as f64;
            matrix.push((scale * angle.cos()) as f32);
        }
    }
    matrix
}

/// `out[k] = Σ_i matrix[k, i] x[i]`.
fn apply(matrix: &[f32], x: &[f32], out: &mut [f32]) {
    for (o, row) in out.iter_mut().zip(matrix.chunks(x.len())) {
        *o = row.iter().zip(x).map(|(a, b)| a * b).sum();
    }
}

/// The first `num_coefficients` of the orthonormal DCT-II along the last axis:
/// `y[k] = s_k Σ_i x[i] cos(π k (2i + 1) / 2n)`, `s_0 = sqrt(1 / n)`, `s_k = sqrt(2 / n)`,
/// as `scipy.fft.dct(x, type=2, norm="ortho")[..., :num_coefficients]`.
///
/// # Shapes
/// `[..., n]` → `[..., num_coefficients]`.
///
/// # Errors
/// A scalar input, or `num_coefficients` 0 or above `n`.
///
/// ```
/// use kensho_core::{audio::dct, Tensor};
/// let y = dct(&Tensor::ones(&[1, 4]), 2)?; // a constant has only a DC term: 4 / sqrt(4)
/// assert!((y.get_flat(0) - 2.0).abs() < 1e-6 && y.get_flat(1).abs() < 1e-6);
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub fn dct(x: &Tensor, num_coefficients: usize) -> Result<Tensor> {
    let Some((&n, lead)) = x.shape().split_last() else {
        return Err(Error::shape("dct", "a tensor of rank 1 or more", x.shape()));
    };
    if num_coefficients == 0 || num_coefficients > n {
        return Err(Error::invalid("dct: num_coefficients", num_coefficients, format!("between 1 and {n}")));
    }
    let matrix = dct_matrix(num_coefficients, n);
    let values = x.to_contiguous().to_vec();
    let rows = values.len() / n;
    let mut out = vec![0.0; rows * num_coefficients];
    for (o, row) in out.chunks_mut(num_coefficients).zip(values.chunks(n)) {
        apply(&matrix, row, o);
    }
    let mut shape = lead.to_vec();
    shape.push(num_coefficients);
    Tensor::from_vec(out, &shape)
}

/// The MFCCs of each signal: [`mel_spectrogram`](super::mel_spectrogram) with `options.mel`
/// (in decibels by default), then per frame the first `num_mfcc` coefficients of its [`dct`].
///
/// TensorFlow's `mfccs_from_log_mel_spectrograms` takes the DCT of a natural-log mel
/// spectrogram; here it is the decibel one Keras' `MelSpectrogram` gives, which is the same up
/// to the factor `10 / ln 10`. Keep `power_to_db` on: without it the DCT is of a linear mel
/// spectrogram.
///
/// # Shapes
/// `[samples]` → `[frames, num_mfcc]`; `[batch, samples]` or `[batch, samples, 1]` →
/// `[batch, frames, num_mfcc]`.
///
/// # Errors
/// Bad options (see [`MfccOptions::validate`]), another input shape, or signals too short.
pub fn mfcc(x: &Tensor, options: &MfccOptions) -> Result<Tensor> {
    let signals = Signals::new(x, "mfcc")?;
    options.validate("mfcc")?;
    let plan = MelPlan::new(&options.mel, signals.samples(), "mfcc")?;
    let (frames, bands, count) = (plan.frames(), options.mel.num_mel_bins, options.num_mfcc);
    let matrix = dct_matrix(count, bands);
    let scratch = || (plan.scratch(), vec![0.0f32; frames * bands]);
    Ok(signals.map(frames, count, scratch, |x, out, (s, mel)| {
        plan.clip(x, mel, s);
        for (o, row) in out.chunks_mut(count).zip(mel.chunks(bands)) {
            apply(&matrix, row, o);
        }
    }))
}
