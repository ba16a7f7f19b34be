//! What the folder and manifest loaders share: reading a list of WAV files into one
//! `[n, length, channels]` tensor ([`AudioDataset`]), with the channel policy ([`Channels`]),
//! resampling, and padding or trimming to one length.

use std::path::{Path, PathBuf};

use kensho_core::{Error, Result, Tensor};

use super::resample::{ResamplerCache, MAX_RESAMPLE_RATE};
use super::{read_wav, Audio};

/// What to do with the channels of the files read by the loaders.
///
/// ```
/// use kensho_data::audio::Channels;
/// assert_eq!(Channels::default(), Channels::Keep); // as Keras' audio_dataset_from_directory
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Channels {
    /// Keep each file's channels (Keras' behaviour): the tensor's last axis is their number,
    /// which must then be the same in every file.
    #[default]
    Keep,
    /// Mix every file down to mono, each frame the mean of its channels: the last axis is 1.
    Mix,
    /// Require mono files: a file with several channels is an error naming it.
    RequireMono,
}

/// Clips and their labels, as the audio loaders return them.
///
/// # Shapes
/// `audio` is `[n, length, channels]` (f32 in `[-1, 1]`); `labels` is `[n]` for integer labels,
/// `[n, classes]` one-hot for categorical ones and `[n, 1]` for binary ones (all f32).
#[derive(Clone, Debug)]
pub struct AudioDataset {
    /// The clips, `[n, length, channels]`, zero-padded or trimmed at the end to `length`.
    pub audio: Tensor,
    /// The labels in the same order (`None` when no labels were asked for).
    pub labels: Option<Tensor>,
    /// The class names: label `i` is `class_names[i]` (empty when there are no labels).
    pub class_names: Vec<String>,
    /// The file each clip was read from, in the same order.
    pub paths: Vec<PathBuf>,
    /// The sample rate of every clip (Hz): the requested rate, or the files' common rate.
    pub sample_rate: u32,
}

impl AudioDataset {
    /// The number of clips.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// Whether there are no clips (the loaders never return an empty set).
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// How to turn files into one tensor.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ClipOptions {
    pub output_sequence_length: Option<usize>,
    pub sampling_rate: Option<u32>,
    pub channels: Channels,
}

/// Reads `paths` into a `[n, length, channels]` tensor and returns it with the common sample
/// rate. `length` is `output_sequence_length`, else the longest clip. Without a
/// `sampling_rate`, every file must have the rate of the first. With a fixed length each clip
/// goes straight into the tensor's buffer; without one the clips are held until the longest is
/// known.
pub(crate) fn load_clips(paths: &[PathBuf], options: ClipOptions, what: &str) -> Result<(Tensor, u32)> {
    if let Some(rate) = options.sampling_rate.filter(|&r| r == 0 || r > MAX_RESAMPLE_RATE) {
        return Err(Error::invalid(
            format!("{what}: sampling_rate"),
            rate,
            format!("a rate from 1 to {MAX_RESAMPLE_RATE} Hz, e.g. 16000"),
        ));
    }
    let mut resamplers = ResamplerCache::default();
    let mut first: Option<(u32, usize)> = None;
    let mut held = Vec::new();
    let mut data = Vec::new();
    for path in paths {
        let clip = adjust(read_wav(path)?, path, options, &mut resamplers)?;
        match first {
            Some(format) => check_same(format, &paths[0], &clip, path, what)?,
            None => first = Some((clip.sample_rate, clip.channels)),
        }
        match options.output_sequence_length {
            Some(length) => {
                data.reserve_exact((paths.len() * length * clip.channels).saturating_sub(data.len()));
                append_row(&mut data, &clip.samples, length * clip.channels);
            }
            None => held.push(clip),
        }
    }
    let (rate, channels) = first.unwrap_or((options.sampling_rate.unwrap_or(0), 1));
    let length = options.output_sequence_length.unwrap_or_else(|| held.iter().map(Audio::frames).max().unwrap_or(0));
    data.reserve_exact(held.len() * length * channels);
    for clip in &held {
        append_row(&mut data, &clip.samples, length * channels);
    }
    Ok((Tensor::from_vec(data, &[paths.len(), length, channels])?, rate))
}

/// Appends `samples` trimmed or zero-padded to `row` values.
fn append_row(data: &mut Vec<f32>, samples: &[f32], row: usize) {
    let n = samples.len().min(row);
    data.extend_from_slice(&samples[..n]);
    data.resize(data.len() + row - n, 0.0);
}

/// Applies the channel policy and the resampling to one clip.
fn adjust(clip: Audio, path: &Path, options: ClipOptions, resamplers: &mut ResamplerCache) -> Result<Audio> {
    let clip = match options.channels {
        Channels::Keep => clip,
        Channels::Mix => clip.to_mono(),
        Channels::RequireMono if clip.channels == 1 => clip,
        Channels::RequireMono => {
            return Err(Error::parse(
                path,
                format!(
                    "{} channels where mono is required (Channels::RequireMono); use Channels::Mix to \
                     average the channels, or Channels::Keep to keep them",
                    clip.channels
                ),
            ))
        }
    };
    match options.sampling_rate {
        Some(_) if clip.sample_rate > MAX_RESAMPLE_RATE => Err(Error::parse(
            path,
            format!(
                "sample rate {} Hz, above the {MAX_RESAMPLE_RATE} Hz the resampler converts (a damaged header?)",
                clip.sample_rate
            ),
        )),
        Some(rate) if rate != clip.sample_rate => resamplers.resample(&clip, rate),
        _ => Ok(clip),
    }
}

/// Checks that `clip` has the sample rate and channel count of the first clip, `first`.
fn check_same(first: (u32, usize), first_path: &Path, clip: &Audio, path: &Path, what: &str) -> Result<()> {
    let (first_rate, first_channels) = first;
    if clip.sample_rate != first_rate {
        return Err(Error::parse(
            path,
            format!(
                "sample rate {} Hz, but {} (the first file of this {what}) has {} Hz; clips of one \
                 tensor need one rate: set sampling_rate to resample every file to it",
                clip.sample_rate,
                first_path.display(),
                first_rate
            ),
        ));
    }
    if clip.channels != first_channels {
        return Err(Error::parse(
            path,
            format!(
                "{} channel(s), but {} (the first file of this {what}) has {}; clips of one tensor need \
                 one channel count: use Channels::Mix to mix every file down to mono",
                clip.channels,
                first_path.display(),
                first_channels
            ),
        ));
    }
    Ok(())
}
