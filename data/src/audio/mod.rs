//! Audio: WAV files to tensors, for speech and sound models.
//!
//! * [`read_wav`] decodes one file into an [`Audio`] clip (8-bit unsigned, 16-, 24- and 32-bit
//!   PCM and 32-bit float, scaled to `[-1, 1]` as `tf.audio.decode_wav` does);
//!   [`Audio::to_mono`] mixes channels down, [`Audio::resample`] changes the rate (band-limited,
//!   through `rubato`).
//! * [`audio_dataset_from_directory`] reads a folder with a sub-folder per class, as Keras'
//!   `keras.utils.audio_dataset_from_directory` (labels from the sorted folder names,
//!   `output_sequence_length`, `sampling_rate`, `validation_split` with `subset` and `seed`).
//! * [`load_audio_manifest`] reads the clips listed in a CSV file, with a label column and
//!   optionally a split column (a speaker-disjoint train / test split, for instance).
//!
//! Both loaders return an [`AudioDataset`]: audio `[n, length, channels]` (zero-padded or
//! trimmed at the end), labels, class names and the paths read. Where Keras pads each batch to
//! its longest clip when no `output_sequence_length` is given, these pad the whole set to its
//! longest clip. Where Keras would silently mix files of different sample rates, these stop
//! with an error naming both files (set `sampling_rate` to resample).
//!
//! ```no_run
//! use kensho_data::audio::{load_audio_manifest, ManifestOptions};
//! use kensho_data::TensorDataset;
//!
//! let options = ManifestOptions::new("file", "digit").split("split", "train").output_sequence_length(8000);
//! let train = load_audio_manifest("path/to/spoken_digits/manifest.csv", &options)?;
//! let data = TensorDataset::new(train.audio, train.labels.expect("a manifest has labels"))?;
//! # let _ = data;
//! # Ok::<(), kensho_core::Error>(())
//! ```

mod clips;
mod directory;
mod listing;
mod manifest;
mod resample;
mod wav;

pub use clips::{AudioDataset, Channels};
pub use directory::{
    audio_dataset_from_directory, audio_dataset_from_directory_both, AudioDirectoryOptions, LabelMode, Subset,
};
pub use manifest::{load_audio_manifest, ManifestOptions};
pub use resample::MAX_RESAMPLE_RATE;
pub use wav::{read_wav, Audio};
