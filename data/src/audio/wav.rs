//! Decoding one WAV file into [`Audio`]: PCM of 8, 16, 24 or 32 bits and 32-bit float, through
//! the `hound` crate, scaled to `f32` in `[-1, 1]`; the errors a malformed file gives.

use std::io::Cursor;
use std::path::Path;

use hound::{SampleFormat, WavReader};
use kensho_core::{Error, Result, Tensor};

/// A decoded clip: samples in `[-1, 1]`, interleaved by frame (`[frame0_ch0, frame0_ch1,
/// frame1_ch0, ...]`), which is the row-major layout of a `[frames, channels]` tensor.
///
/// ```
/// use kensho_data::audio::Audio;
/// let stereo = Audio::new(vec![0.5, -0.5, 0.25, 0.75], 2, 16_000)?;
/// assert_eq!((stereo.frames(), stereo.channels, stereo.sample_rate), (2, 2, 16_000));
/// assert_eq!(stereo.to_mono().samples, [0.0, 0.5]); // the mean of the channels
/// assert_eq!(stereo.to_tensor().shape(), &[2, 2]); // [frames, channels]
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Audio {
    /// The samples, interleaved by frame, scaled to `[-1, 1]` (float files keep their values).
    pub samples: Vec<f32>,
    /// The number of channels (1 for mono), at least 1.
    pub channels: usize,
    /// Frames per second (Hz).
    pub sample_rate: u32,
}

impl Audio {
    /// A clip from interleaved samples.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `channels` or `sample_rate` is 0, or the number of samples
    /// is not a multiple of `channels`.
    pub fn new(samples: Vec<f32>, channels: usize, sample_rate: u32) -> Result<Audio> {
        if channels == 0 || sample_rate == 0 {
            let value = format!("channels {channels}, sample_rate {sample_rate}");
            return Err(Error::invalid("Audio::new", value, "at least 1 channel and a sample rate above 0 Hz"));
        }
        if !samples.len().is_multiple_of(channels) {
            return Err(Error::invalid(
                "Audio::new: samples",
                format!("{} samples", samples.len()),
                format!("a multiple of the {channels} channels (the samples are interleaved by frame)"),
            ));
        }
        Ok(Audio { samples, channels, sample_rate })
    }

    /// The number of frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.samples.len() / self.channels
    }

    /// The duration in seconds.
    pub fn duration(&self) -> f64 {
        self.frames() as f64 / f64::from(self.sample_rate)
    }

    /// The clip mixed down to one channel: each frame becomes the mean of its channels (a mono
    /// clip is returned as it is).
    pub fn to_mono(&self) -> Audio {
        if self.channels == 1 {
            return self.clone();
        }
        let scale = 1.0 / self.channels as f32;
        let samples = self.samples.chunks_exact(self.channels).map(|frame| frame.iter().sum::<f32>() * scale).collect();
        Audio { samples, channels: 1, sample_rate: self.sample_rate }
    }

    /// The samples as a `[frames, channels]` tensor (the layout of one clip in
    /// `audio_dataset_from_directory`'s `[n, frames, channels]` batch).
    pub fn to_tensor(&self) -> Tensor {
        Tensor::from_vec(self.samples.clone(), &[self.frames(), self.channels])
            .expect("the samples are a whole number of frames")
    }
}

/// Reads a WAV file, keeping its channels: 8-bit (unsigned), 16-, 24- and 32-bit PCM and 32-bit
/// float, mono or multi-channel, including `WAVE_FORMAT_EXTENSIBLE` headers.
///
/// PCM values are scaled as `tf.audio.decode_wav` and Keras do: divided by `2^(bits - 1)`, so
/// that 16-bit `-32768..=32767` becomes `-1.0..=0.99997`; 8-bit files store unsigned bytes,
/// which are centred first (`(byte - 128) / 128`). Float files keep their values.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let path = dir.path().join("clip.wav");
/// # let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
/// # let mut w = hound::WavWriter::create(&path, spec).unwrap();
/// # for s in [0i16, 16384, -32768] { w.write_sample(s).unwrap(); }
/// # w.finalize().unwrap();
/// use kensho_data::audio::read_wav;
/// let clip = read_wav(&path)?; // a 16-bit mono file holding 0, 16384, -32768
/// assert_eq!((clip.channels, clip.sample_rate), (1, 8000));
/// assert_eq!(clip.samples, [0.0, 0.5, -1.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the file if it is not a
/// RIFF/WAVE file (the message shows the bytes found), its header or data are truncated, or it
/// holds an encoding other than integer PCM or 32-bit float (ADPCM, A-law, 64-bit float, ...), or
/// its header gives a sample rate of 0 Hz. A header announcing more data than the file holds
/// is reported as truncated without reserving the announced size.
pub fn read_wav(path: impl AsRef<Path>) -> Result<Audio> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    decode_wav(&bytes, path)
}

/// Decodes the bytes of a WAV file; `path` names it in errors.
pub(crate) fn decode_wav(bytes: &[u8], path: &Path) -> Result<Audio> {
    let fail = |reason: String| Error::parse(path, reason);
    check_riff(bytes).map_err(fail)?;
    let mut reader = WavReader::new(Cursor::new(bytes)).map_err(|e| fail(header_error(e, bytes.len())))?;
    let spec = reader.spec();
    if spec.sample_rate == 0 {
        return Err(fail("the header gives a sample rate of 0 Hz; expected a positive rate such as 16000".to_string()));
    }
    let expected = reader.len() as usize;
    // A header may announce more samples than the file holds: reserve no more than its bytes.
    let mut samples = Vec::with_capacity(expected.min(bytes.len()));
    let outcome = match spec.sample_format {
        SampleFormat::Int if (1..=32).contains(&spec.bits_per_sample) => {
            let scale = 0.5f32.powi(i32::from(spec.bits_per_sample) - 1);
            reader.samples::<i32>().try_for_each(|s| s.map(|v| samples.push(v as f32 * scale)))
        }
        SampleFormat::Float if spec.bits_per_sample == 32 => {
            reader.samples::<f32>().try_for_each(|s| s.map(|v| samples.push(v)))
        }
        SampleFormat::Int => {
            return Err(fail(format!(
                "{}-bit integer samples are not supported; expected integer PCM of 8, 16, 24 or 32 bits, \
                 or 32-bit float",
                spec.bits_per_sample
            )))
        }
        SampleFormat::Float => {
            return Err(fail(format!(
                "{}-bit float samples are not supported; expected integer PCM of 8, 16, 24 or 32 bits, \
                 or 32-bit float (convert the file, e.g. `sox in.wav -e float -b 32 out.wav`)",
                spec.bits_per_sample
            )))
        }
    };
    if let Err(e) = outcome {
        let got = samples.len();
        return Err(fail(match e {
            // Reading from memory fails only by running out of bytes.
            hound::Error::IoError(_) => format!(
                "truncated: the data chunk announces {expected} samples ({} frames of {} channel(s)), \
                 the file ends after {got} ({} bytes in all)",
                expected / usize::from(spec.channels),
                spec.channels,
                bytes.len()
            ),
            hound::Error::Unsupported | hound::Error::TooWide => format!(
                "unsupported sample layout: {} valid bits per sample in this container; expected integer \
                 PCM of 8, 16, 24 or 32 bits, or 32-bit float",
                spec.bits_per_sample
            ),
            other => format!("cannot decode sample {got} of {expected}: {other}"),
        }));
    }
    Ok(Audio { samples, channels: usize::from(spec.channels), sample_rate: spec.sample_rate })
}

/// Checks the 12-byte RIFF/WAVE preamble, saying what was found instead.
fn check_riff(bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.len() < 12 {
        return Err(format!(
            "truncated: {} bytes, shorter than the 12-byte RIFF/WAVE preamble (an empty or cut file?)",
            bytes.len()
        ));
    }
    if &bytes[..4] != b"RIFF" {
        let what = if &bytes[..4] == b"RIFX" || &bytes[..4] == b"RF64" { " (big-endian or 64-bit RIFF)" } else { "" };
        return Err(format!(
            "not a WAV file: it starts with {}{what}, expected \"RIFF\" (a RIFF/WAVE file)",
            show(&bytes[..4])
        ));
    }
    if &bytes[8..12] != b"WAVE" {
        return Err(format!("not a WAV file: the RIFF form type is {}, expected \"WAVE\"", show(&bytes[8..12])));
    }
    Ok(())
}

/// A `hound` error met while reading the header, as a sentence.
fn header_error(e: hound::Error, file_len: usize) -> String {
    match e {
        // Reading from memory fails only by running out of bytes.
        hound::Error::IoError(_) => format!(
            "truncated header: the file ({file_len} bytes) ends before the \"fmt \" and \"data\" chunks \
             were read"
        ),
        hound::Error::Unsupported => "unsupported encoding (ADPCM, A-law, mu-law or another compressed format); \
             expected integer PCM of 8, 16, 24 or 32 bits, or 32-bit float"
            .to_string(),
        hound::Error::FormatError(what) => format!("malformed WAV header: {what}"),
        other => format!("malformed WAV header: {other}"),
    }
}

/// Four bytes as text when they are printable ASCII, else as hex.
fn show(bytes: &[u8]) -> String {
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("{:?}", String::from_utf8_lossy(bytes))
    } else {
        format!("bytes {bytes:02x?}")
    }
}
