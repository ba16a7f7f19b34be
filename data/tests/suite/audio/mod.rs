//! The audio loaders (`kensho_data::audio`) on small WAV files written by the tests with
//! `hound`'s writer, and on the spoken_digits data set when it is found beside the repository.

mod folders;
mod fuzz;
mod manifest;
mod resample;
mod spoken_digits;
mod wav;

use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavSpec, WavWriter};

/// Samples to write: integers (PCM, the signed value `hound` takes for every width, 8-bit
/// included) or floats.
pub enum Samples<'a> {
    Int(&'a [i32]),
    Float(&'a [f32]),
}

/// Writes `samples` (interleaved) as a WAV file `dir/name` of `bits` bits, `channels`
/// channels, at `rate` Hz, creating the folders on the way; returns the path.
pub fn write_wav(dir: &Path, name: &str, bits: u16, channels: u16, rate: u32, samples: Samples) -> PathBuf {
    let path = dir.join(name);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let format = if matches!(samples, Samples::Float(_)) { SampleFormat::Float } else { SampleFormat::Int };
    let spec = WavSpec { channels, sample_rate: rate, bits_per_sample: bits, sample_format: format };
    let mut writer = WavWriter::create(&path, spec).unwrap();
    match samples {
        Samples::Int(values) => values.iter().for_each(|&v| writer.write_sample(v).unwrap()),
        Samples::Float(values) => values.iter().for_each(|&v| writer.write_sample(v).unwrap()),
    }
    writer.finalize().unwrap();
    path
}

/// A 16-bit mono clip of `frames` frames at `rate` Hz whose every sample is `value`.
pub fn constant_clip(dir: &Path, name: &str, frames: usize, rate: u32, value: i32) -> PathBuf {
    write_wav(dir, name, 16, 1, rate, Samples::Int(&vec![value; frames]))
}

/// Asserts that `result` is an error whose message contains every one of `parts`.
#[track_caller]
pub fn assert_err<T: std::fmt::Debug>(result: kensho_data::Result<T>, parts: &[&str]) {
    let message = result.expect_err("expected an error").to_string();
    for part in parts {
        assert!(message.contains(part), "{message:?} lacks {part:?}");
    }
}
