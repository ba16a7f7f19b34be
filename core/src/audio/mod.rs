//! Audio features: the short-time Fourier transform ([`stft`]), mel spectrograms
//! ([`mel_spectrogram`], [`mel_filterbank`]) and MFCCs ([`mfcc`], [`dct`]), with Keras 3's
//! argument names and defaults (`STFTSpectrogram`, `MelSpectrogram`).
//!
//! Every function takes one signal `[samples]`, a batch `[batch, samples]` or a batch with one
//! channel `[batch, samples, 1]`, and gives `[frames, bins]` for one signal and
//! `[batch, frames, bins]` otherwise (time first, as Keras' `STFTSpectrogram`). The FFT is
//! rustfft's (see `fft.rs`), planned once per call; each worker thread keeps its own buffers, so no frame
//! allocates. Clips are independent: a batch is split across the kernel threads
//! ([`set_num_threads`](crate::set_num_threads)) and gives the same bits on any number of them.
//!
//! ```
//! use kensho_core::audio::{mel_spectrogram, MelOptions};
//! use kensho_core::Tensor;
//! // Two 1-second clips at 8 kHz: 25 ms windows every 10 ms, 40 mel bands.
//! let clips = Tensor::zeros(&[2, 8000]);
//! let options = MelOptions { sampling_rate: 8000, fft_length: 256, sequence_length: Some(200),
//!     sequence_stride: 80, num_mel_bins: 40, ..MelOptions::default() };
//! let mel = mel_spectrogram(&clips, &options)?;
//! assert_eq!(mel.shape(), &[2, 101, 40]);
//! # Ok::<(), kensho_core::Error>(())
//! ```

mod fft;
mod mel;
mod mfcc;
mod stft;
#[cfg(test)]
mod tests;
mod window;

pub use mel::{mel_filterbank, mel_spectrogram, MelOptions};
pub use mfcc::{dct, mfcc, MfccOptions};
pub use stft::{stft, FramePadding, Scaling, SpectrumMode, StftOptions};
pub use window::Window;

use crate::{Error, Result, Tensor};
use rayon::prelude::*;

/// A batch of signals read from a tensor: its values, the batch size, the samples per signal,
/// and whether the input was one unbatched signal.
pub(crate) struct Signals<'a> {
    values: std::borrow::Cow<'a, [f32]>,
    batch: usize,
    samples: usize,
    single: bool,
}

impl<'a> Signals<'a> {
    /// Reads `x` as `[samples]`, `[batch, samples]` or `[batch, samples, 1]`; the error names `owner`.
    pub(crate) fn new(x: &'a Tensor, owner: &str) -> Result<Signals<'a>> {
        let shape = x.shape();
        let (batch, samples, single) = match *shape {
            [samples] => (1, samples, true),
            [batch, samples] | [batch, samples, 1] => (batch, samples, false),
            _ => {
                return Err(Error::shape(
                    owner,
                    "signals of shape [samples], [batch, samples] or [batch, samples, 1]",
                    shape,
                ))
            }
        };
        if samples == 0 {
            return Err(Error::shape(owner, "at least one sample per signal", shape));
        }
        let values = match x.as_slice() {
            Some(slice) => std::borrow::Cow::Borrowed(slice),
            None => std::borrow::Cow::Owned(x.to_vec()),
        };
        Ok(Signals { values, batch, samples, single })
    }

    /// The samples per signal.
    pub(crate) fn samples(&self) -> usize {
        self.samples
    }

    /// Runs `clip(signal, output, scratch)` on every signal, writing `rows * cols` values per
    /// signal, in parallel over the batch (one scratch per worker), and shapes the result
    /// `[batch, rows, cols]` (or `[rows, cols]` for one signal).
    pub(crate) fn map<S>(
        &self,
        rows: usize,
        cols: usize,
        scratch: impl Fn() -> S + Sync + Send,
        clip: impl Fn(&[f32], &mut [f32], &mut S) + Sync + Send,
    ) -> Tensor {
        let per = rows * cols;
        let mut out = vec![0.0f32; self.batch * per];
        if per > 0 && self.batch > 0 {
            if self.batch > 1 && crate::threads::num_threads() > 1 {
                let pool = crate::threads::pool();
                pool.install(|| {
                    out.par_chunks_mut(per)
                        .zip(self.values.par_chunks(self.samples))
                        .for_each_init(&scratch, |s, (o, x)| clip(x, o, s))
                });
            } else {
                let mut s = scratch();
                out.chunks_mut(per).zip(self.values.chunks(self.samples)).for_each(|(o, x)| clip(x, o, &mut s));
            }
        }
        let shape: Vec<usize> = if self.single { vec![rows, cols] } else { vec![self.batch, rows, cols] };
        Tensor::from_vec(out, &shape).expect("the output holds batch * rows * cols values")
    }
}
