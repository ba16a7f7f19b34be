//! [`RealFft`]: the spectrum of a real frame, `n / 2 + 1` bins, on rustfft.
//!
//! An even length runs one complex FFT of half the length on the frame's even and odd samples
//! packed as real and imaginary parts, then separates the two halves' spectra (the usual
//! real-input split); an odd length runs a complex FFT of the whole frame.
//!
//! The FFT is planned by rustfft's AVX planner where the CPU has AVX and FMA, else by its
//! scalar planner. Its full planner (which the `realfft` crate plans with) would also compile
//! the SSE algorithms into this crate: in a scratch crate at this crate's dev opt-level (1),
//! planning one f32 FFT costs 17.2 s of compilation with the full planner, 7.5 s with the AVX
//! planner and 2.1 s with the scalar one, and that time is on the critical path of every build.

use rustfft::num_complex::Complex;
use rustfft::{Fft, FftPlannerAvx, FftPlannerScalar};
use std::f64::consts::PI;
use std::sync::Arc;

/// A forward FFT of real frames of one length.
pub(crate) struct RealFft {
    len: usize,
    /// The complex FFT: of `len / 2` points for an even `len`, of `len` for an odd one.
    fft: Arc<dyn Fft<f32>>,
    /// `exp(-2πik / len)` for `k` in `0..=len / 2` (even lengths only).
    twiddles: Vec<Complex<f32>>,
}

/// A forward complex FFT of `len` points: AVX if `avx` and the CPU has it, else scalar.
fn plan(len: usize, avx: bool) -> Arc<dyn Fft<f32>> {
    match FftPlannerAvx::<f32>::new() {
        Ok(mut planner) if avx => planner.plan_fft_forward(len),
        _ => FftPlannerScalar::<f32>::new().plan_fft_forward(len),
    }
}

impl RealFft {
    /// Plans the FFT of `len` real samples (`len >= 1`).
    pub(crate) fn new(len: usize) -> RealFft {
        RealFft::planned(len, true)
    }

    /// [`RealFft::new`], on the scalar planner unless `avx` (for tests of both).
    fn planned(len: usize, avx: bool) -> RealFft {
        if len % 2 == 1 {
            return RealFft { len, fft: plan(len, avx), twiddles: Vec::new() };
        }
        let twiddles = (0..=len / 2)
            .map(|k| {
                let angle = -2.0 * PI * k as f64 / len as f64;
                Complex::new(angle.cos() as f32, angle.sin() as f32)
            })
            .collect();
        RealFft { len, fft: plan(len / 2, avx), twiddles }
    }

    /// The number of bins: `len / 2 + 1`.
    pub(crate) fn bins(&self) -> usize {
        self.len / 2 + 1
    }

    /// The complex values of working space [`RealFft::process`] needs.
    pub(crate) fn scratch_len(&self) -> usize {
        self.fft.len() + self.fft.get_inplace_scratch_len()
    }

    /// Writes the `len / 2 + 1` bins of the spectrum of `input` (`len` samples) into `output`,
    /// using `scratch` ([`RealFft::scratch_len`] values).
    pub(crate) fn process(&self, input: &[f32], output: &mut [Complex<f32>], scratch: &mut [Complex<f32>]) {
        let (buffer, work) = scratch.split_at_mut(self.fft.len());
        if self.twiddles.is_empty() {
            for (b, &x) in buffer.iter_mut().zip(input) {
                *b = Complex::new(x, 0.0);
            }
            self.fft.process_with_scratch(buffer, work);
            output.copy_from_slice(&buffer[..self.bins()]);
            return;
        }
        for (b, pair) in buffer.iter_mut().zip(input.chunks_exact(2)) {
            *b = Complex::new(pair[0], pair[1]);
        }
        self.fft.process_with_scratch(buffer, work);
        // With Z the FFT of z[j] = x[2j] + i x[2j + 1] (m = len / 2 points), the spectra of the
        // even and odd samples are E[k] = (Z[k] + conj Z[m - k]) / 2 and
        // O[k] = (Z[k] - conj Z[m - k]) / 2i, and X[k] = E[k] + exp(-2πik / len) O[k].
        let m = buffer.len();
        let split = |z: Complex<f32>, mirror: Complex<f32>, w: Complex<f32>| {
            let even = (z + mirror) * 0.5;
            let d = z - mirror;
            // (z - mirror) / 2i, without a general complex product.
            let odd = Complex::new(0.5 * d.im, -0.5 * d.re);
            even + w * odd
        };
        output[0] = split(buffer[0], buffer[0].conj(), self.twiddles[0]);
        output[m] = split(buffer[0], buffer[0].conj(), self.twiddles[m]);
        let (rest, twiddles) = (&mut output[1..m], &self.twiddles[1..m]);
        for (k, (out, &w)) in rest.iter_mut().zip(twiddles).enumerate() {
            *out = split(buffer[k + 1], buffer[m - 1 - k].conj(), w);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bin against the definition `X[k] = Σ x[t] exp(-2πikt / n)`, in f64, on both
    /// planners (the AVX one where the CPU has it).
    #[test]
    fn bins_match_the_definition_for_even_and_odd_lengths() {
        for (n, avx) in [1usize, 2, 3, 8, 15, 16, 200, 256, 257, 400].into_iter().flat_map(|n| [(n, true), (n, false)])
        {
            let x: Vec<f32> = (0..n).map(|t| ((t * 37 % 11) as f32 - 5.0) * 0.3 + (t as f32 * 0.7).sin()).collect();
            let fft = RealFft::planned(n, avx);
            let mut out = vec![Complex::new(0.0, 0.0); fft.bins()];
            let mut scratch = vec![Complex::new(0.0, 0.0); fft.scratch_len()];
            fft.process(&x, &mut out, &mut scratch);
            for (k, got) in out.iter().enumerate() {
                let (mut re, mut im) = (0.0f64, 0.0f64);
                for (t, &v) in x.iter().enumerate() {
                    let angle = -2.0 * PI * (k * t) as f64 / n as f64;
                    re += v as f64 * angle.cos();
                    im += v as f64 * angle.sin();
                }
                let scale = (n as f64).sqrt() * 4.0;
                assert!((got.re as f64 - re).abs() < 1e-5 * scale, "n {n} bin {k}: {got} vs {re}");
                assert!((got.im as f64 - im).abs() < 1e-5 * scale, "n {n} bin {k}: {got} vs {im}");
            }
        }
    }
}
