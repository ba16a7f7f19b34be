//! Changing a clip's sample rate ([`Audio::resample`]) with `rubato`'s FFT resampler: a
//! band-limited (anti-aliased) synchronous conversion for any pair of integer rates.

use std::collections::HashMap;

use kensho_core::{Error, Result};
use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::Audio;

/// Frames per chunk given to the FFT resampler (it splits them into sub-chunks of about 256).
const CHUNK: usize = 1024;

/// The highest rate converted (Hz): 768 kHz, beyond every audio format in use. The FFT sizes
/// grow with the rates, so a damaged header's rate of billions must not reach the resampler.
pub const MAX_RESAMPLE_RATE: u32 = 768_000;

impl Audio {
    /// The clip at `sample_rate` Hz: `round(frames * sample_rate / self.sample_rate)` frames, as
    /// Keras does (`scipy.signal.resample` in its grain path), band-limited so that content
    /// above the lower Nyquist frequency is filtered out rather than folded back. The start is
    /// aligned (the resampler's delay is removed). A clip already at that rate is returned as
    /// it is.
    ///
    /// ```
    /// use kensho_data::audio::Audio;
    /// // 0.1 s of a 440 Hz tone at 44.1 kHz, down to 16 kHz.
    /// let tone: Vec<f32> = (0..4410).map(|i| (2.0 * std::f32::consts::PI * 440.0 * i as f32 / 44_100.0).sin()).collect();
    /// let clip = Audio::new(tone, 1, 44_100)?.resample(16_000)?;
    /// assert_eq!((clip.frames(), clip.sample_rate), (1600, 16_000));
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `sample_rate` is 0, or it or the clip's rate is above
    /// [`MAX_RESAMPLE_RATE`].
    pub fn resample(&self, sample_rate: u32) -> Result<Audio> {
        ResamplerCache::default().resample(self, sample_rate)
    }
}

/// FFT resamplers kept by (input rate, output rate, channels), so that a folder of clips at the
/// same rate plans its FFTs once.
#[derive(Default)]
pub(crate) struct ResamplerCache {
    resamplers: HashMap<(u32, u32, usize), Fft<f32>>,
}

impl ResamplerCache {
    /// `audio` at `sample_rate` Hz (see [`Audio::resample`]).
    pub(crate) fn resample(&mut self, audio: &Audio, sample_rate: u32) -> Result<Audio> {
        if sample_rate == 0 {
            return Err(Error::invalid("resample: sample_rate", 0, "a rate above 0 Hz, e.g. 16000"));
        }
        if sample_rate == audio.sample_rate {
            return Ok(audio.clone());
        }
        if sample_rate.max(audio.sample_rate) > MAX_RESAMPLE_RATE {
            return Err(Error::invalid(
                "resample",
                format!("{} Hz -> {sample_rate} Hz", audio.sample_rate),
                format!("rates from 1 to {MAX_RESAMPLE_RATE} Hz"),
            ));
        }
        let frames = audio.frames();
        let target = (frames as f64 * f64::from(sample_rate) / f64::from(audio.sample_rate)).round() as usize;
        let channels = audio.channels;
        if frames == 0 || target == 0 {
            return Ok(Audio { samples: Vec::new(), channels, sample_rate });
        }
        let key = (audio.sample_rate, sample_rate, channels);
        let resampler = match self.resamplers.entry(key) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => {
                let made = Fft::<f32>::new(
                    audio.sample_rate as usize,
                    sample_rate as usize,
                    CHUNK,
                    channels,
                    FixedSync::Input,
                )
                .map_err(|err| rubato_error(audio, sample_rate, &err))?;
                e.insert(made)
            }
        };
        let input = InterleavedSlice::new(&audio.samples, channels, frames)
            .map_err(|err| rubato_error(audio, sample_rate, &err))?;
        let output =
            resampler.process_all(&input, frames, None).map_err(|err| rubato_error(audio, sample_rate, &err))?;
        let mut samples = output.take_data();
        // rubato gives ceil(frames * ratio) frames; Keras' length rounds.
        samples.resize(target * channels, 0.0);
        Ok(Audio { samples, channels, sample_rate })
    }
}

/// A failure inside `rubato` (which valid rates should never cause), as an error naming the rates.
fn rubato_error(audio: &Audio, sample_rate: u32, err: &dyn std::fmt::Display) -> Error {
    Error::invalid(
        "resample",
        format!("{} Hz -> {sample_rate} Hz, {} channel(s)", audio.sample_rate, audio.channels),
        format!("a conversion the resampler accepts ({err})"),
    )
}
