//! Audio data sets listed in a CSV manifest ([`load_audio_manifest`]): one row per clip with
//! its file, its label and optionally the split it belongs to.

use std::collections::{BTreeSet, HashMap};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use kensho_core::{Error, Result, Tensor};

use super::clips::{load_clips, AudioDataset, Channels, ClipOptions};
use crate::csv_header::{describe, read_header};

/// The options of [`load_audio_manifest`]: which columns hold the file and the label, which
/// rows to keep, and how to shape the clips.
///
/// ```
/// use kensho_data::audio::{Channels, ManifestOptions};
/// let options = ManifestOptions::new("file", "digit").split("split", "train").output_sequence_length(8000);
/// assert_eq!(options.split_column.as_deref(), Some("split"));
/// assert_eq!((options.sampling_rate, options.channels), (None, Channels::Keep));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct ManifestOptions {
    /// The column holding each clip's path, relative to the CSV file's folder (or absolute).
    pub file_column: String,
    /// The column holding each clip's label (any text: class names are its sorted values).
    pub label_column: String,
    /// The column naming each row's split (e.g. `split`); with [`split_value`](Self::split_value)
    /// only the rows holding that value are read. `None` (default) reads every row.
    pub split_column: Option<String>,
    /// The value of [`split_column`](Self::split_column) to keep (e.g. `train`).
    pub split_value: Option<String>,
    /// Pad with zeros or trim every clip to this many frames (after resampling); `None`
    /// (default) pads to the longest clip read.
    pub output_sequence_length: Option<usize>,
    /// Resample every clip to this rate (Hz); `None` (default) keeps the files' rate, which must
    /// then be the same in every file read.
    pub sampling_rate: Option<u32>,
    /// What to do with several channels (default [`Channels::Keep`]).
    pub channels: Channels,
}

impl ManifestOptions {
    /// Options reading the clips of column `file_column`, labelled by column `label_column`,
    /// with every other option at its default.
    pub fn new(file_column: &str, label_column: &str) -> Self {
        ManifestOptions {
            file_column: file_column.to_string(),
            label_column: label_column.to_string(),
            split_column: None,
            split_value: None,
            output_sequence_length: None,
            sampling_rate: None,
            channels: Channels::Keep,
        }
    }

    /// Keeps only the rows whose column `column` holds `value`.
    pub fn split(mut self, column: &str, value: &str) -> Self {
        self.split_column = Some(column.to_string());
        self.split_value = Some(value.to_string());
        self
    }

    /// Pads or trims every clip to `frames` frames.
    pub fn output_sequence_length(mut self, frames: usize) -> Self {
        self.output_sequence_length = Some(frames);
        self
    }

    /// Resamples every clip to `rate` Hz.
    pub fn sampling_rate(mut self, rate: u32) -> Self {
        self.sampling_rate = Some(rate);
        self
    }

    /// Sets the channel policy.
    pub fn channels(mut self, channels: Channels) -> Self {
        self.channels = channels;
        self
    }
}

/// Reads the clips listed in a CSV manifest with a header row: integer labels `[n]` (the index
/// of each row's label among `class_names`) and audio `[n, length, channels]`, in file order.
///
/// `class_names` are the distinct labels of **every** row, split or not, so that the train and
/// test splits of one manifest share one numbering; they are sorted as numbers when they all
/// are whole numbers (`"2"` before `"10"`), else as text.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
/// # std::fs::create_dir_all(dir.path().join("wav")).unwrap();
/// # for name in ["a", "b", "c"] {
/// #     let mut w = hound::WavWriter::create(dir.path().join(format!("wav/{name}.wav")), spec).unwrap();
/// #     (0..6000).for_each(|_| w.write_sample(100i16).unwrap());
/// #     w.finalize().unwrap();
/// # }
/// # let manifest = dir.path().join("manifest.csv");
/// # std::fs::write(&manifest, "file,digit,split\nwav/a.wav,7,train\nwav/b.wav,2,test\nwav/c.wav,2,train\n").unwrap();
/// use kensho_data::audio::{load_audio_manifest, ManifestOptions};
/// // manifest.csv: file,digit,split / wav/a.wav,7,train / wav/b.wav,2,test / wav/c.wav,2,train
/// let options = ManifestOptions::new("file", "digit").split("split", "train").output_sequence_length(8000);
/// let train = load_audio_manifest(&manifest, &options)?;
/// assert_eq!(train.audio.shape(), &[2, 8000, 1]); // a.wav and c.wav, padded to 1 s
/// assert_eq!(train.class_names, ["2", "7"]); // from every row, train and test
/// assert_eq!(train.labels.unwrap().to_vec(), [1.0, 0.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::Parse`] naming the CSV file if a column is missing (the message lists the columns),
/// a row is ragged, only one of `split_column` / `split_value` is set, no row is selected, or a
/// row names a file that does not exist (the message gives the line); errors of
/// [`read_wav`](super::read_wav) naming the clip; a clip whose rate or channel count differs from
/// the first one's (unless `sampling_rate` / [`Channels::Mix`] make them agree).
pub fn load_audio_manifest(csv_path: impl AsRef<Path>, options: &ManifestOptions) -> Result<AudioDataset> {
    let csv_path = csv_path.as_ref();
    let rows = read_rows(csv_path, options)?;
    let class_names = sorted_classes(rows.iter().map(|r| r.label.as_str()));
    let index: HashMap<&str, usize> = class_names.iter().enumerate().map(|(i, c)| (c.as_str(), i)).collect();
    let kept: Vec<&Row> = rows.iter().filter(|r| r.kept).collect();
    if kept.is_empty() {
        let reason = match (&options.split_column, &options.split_value) {
            (Some(c), Some(v)) => format!("no row has {v:?} in column {c:?}; expected at least one clip"),
            _ => "no rows: expected one row per clip after the header".to_string(),
        };
        return Err(Error::parse(csv_path, reason));
    }
    let folder = csv_path.parent().unwrap_or(Path::new(""));
    let mut paths = Vec::with_capacity(kept.len());
    for row in &kept {
        let path = folder.join(&row.file);
        if !path.is_file() {
            return Err(Error::parse(
                csv_path,
                format!(
                    "line {}: column {:?} names {:?}, which is not a file ({} does not exist; paths are \
                     relative to the manifest's folder)",
                    row.line,
                    options.file_column,
                    row.file,
                    path.display()
                ),
            ));
        }
        paths.push(path);
    }
    let clip_options = ClipOptions {
        output_sequence_length: options.output_sequence_length,
        sampling_rate: options.sampling_rate,
        channels: options.channels,
    };
    let (audio, sample_rate) = load_clips(&paths, clip_options, "manifest")?;
    let labels: Vec<f32> = kept.iter().map(|r| index[r.label.as_str()] as f32).collect();
    let labels = Tensor::from_vec(labels, &[kept.len()])?;
    Ok(AudioDataset { audio, labels: Some(labels), class_names, paths, sample_rate })
}

/// One row of the manifest: its file, label, whether the split keeps it, and its line.
struct Row {
    file: String,
    label: String,
    kept: bool,
    line: u64,
}

/// Reads the rows of the manifest, checking the columns.
fn read_rows(csv_path: &Path, options: &ManifestOptions) -> Result<Vec<Row>> {
    let fail = |reason: String| Error::parse(csv_path, reason);
    let split = match (&options.split_column, &options.split_value) {
        (Some(column), Some(value)) => Some((column.as_str(), value.as_str())),
        (None, None) => None,
        _ => {
            return Err(fail(
                "split_column and split_value go together: set both (e.g. .split(\"split\", \"train\")) \
                 or neither"
                    .to_string(),
            ))
        }
    };
    let file = File::open(csv_path).map_err(|e| Error::io(csv_path, e))?;
    let mut reader = csv::ReaderBuilder::new().from_reader(BufReader::new(file));
    let header = read_header(&mut reader, csv_path, false)?;
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| fail(format!("no column {name:?}; the columns are {header:?}")))
    };
    let (file_at, label_at) = (column(&options.file_column)?, column(&options.label_column)?);
    let split_at = split.map(|(c, v)| column(c).map(|at| (at, v))).transpose()?;
    let mut rows = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| fail(describe(&e, false)))?;
        let field = |at: usize| record.get(at).unwrap_or_default().trim().to_string();
        rows.push(Row {
            file: field(file_at),
            label: field(label_at),
            kept: split_at.is_none_or(|(at, value)| record.get(at).unwrap_or_default().trim() == value),
            line: record.position().map_or(0, |p| p.line()),
        });
    }
    Ok(rows)
}

/// The distinct labels, sorted as numbers when all are whole numbers, else as text.
fn sorted_classes<'a>(labels: impl Iterator<Item = &'a str>) -> Vec<String> {
    let distinct: BTreeSet<&str> = labels.collect();
    let mut names: Vec<String> = distinct.into_iter().map(str::to_string).collect();
    if names.iter().all(|n| n.parse::<i64>().is_ok()) {
        names.sort_by_key(|n| n.parse::<i64>().unwrap_or_default());
    }
    names
}
