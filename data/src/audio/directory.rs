//! A folder of WAV files with a sub-folder per class, read as Keras'
//! `keras.utils.audio_dataset_from_directory` reads it ([`audio_dataset_from_directory`]).

use std::path::{Path, PathBuf};

use kensho_core::{seeded_rng, Error, Result, Tensor};
use rand::seq::SliceRandom;

use super::clips::{load_clips, AudioDataset, Channels, ClipOptions};
use super::listing::{list_classes, list_wavs};

/// How labels are encoded (Keras' `label_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LabelMode {
    /// Class indices `[n]` (for a sparse categorical cross-entropy).
    Int,
    /// One-hot rows `[n, classes]` (for a categorical cross-entropy).
    Categorical,
    /// 0 or 1 as `[n, 1]` (for a binary cross-entropy); needs exactly two classes.
    Binary,
}

/// Which part of a [`validation_split`](AudioDirectoryOptions::validation_split) to return
/// (Keras' `subset`; for `"both"` call [`audio_dataset_from_directory_both`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Subset {
    /// The first `n - floor(validation_split * n)` files of the shuffled list.
    Training,
    /// The last `floor(validation_split * n)` files of the shuffled list.
    Validation,
}

/// The options of [`audio_dataset_from_directory`], named and defaulted as Keras' arguments.
///
/// Keras' `batch_size` has no counterpart (the clips come as one tensor: batch them with
/// [`DataLoader`](crate::DataLoader)), nor have `labels` given as a list, `ragged`,
/// `follow_links` (symbolic links to folders are not followed below the class folders) and
/// `verbose`.
///
/// ```
/// use kensho_data::audio::{AudioDirectoryOptions, Channels, LabelMode};
/// let options = AudioDirectoryOptions { output_sequence_length: Some(16_000), ..Default::default() };
/// assert_eq!(options.label_mode, Some(LabelMode::Int));
/// assert!(options.shuffle && options.seed.is_none() && options.channels == Channels::Keep);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct AudioDirectoryOptions {
    /// How to encode the labels (default `Some(LabelMode::Int)`); `None` reads every `.wav`
    /// file under the folder, in any sub-folder, with no labels.
    pub label_mode: Option<LabelMode>,
    /// The class folders to read, in the order that numbers them (default `None`: every
    /// sub-folder, in sorted order). Each must be a sub-folder; others are not read.
    pub class_names: Option<Vec<String>>,
    /// Resample every clip to this rate in Hz (default `None`: keep the files' rate, which
    /// must then be the same in every file; Keras would mix rates silently).
    pub sampling_rate: Option<u32>,
    /// Pad with zeros or trim every clip to this many frames, after resampling (default `None`:
    /// pad to the longest clip of the returned set; Keras pads each batch to its longest).
    pub output_sequence_length: Option<usize>,
    /// Shuffle the files (default true); false keeps them sorted by class, then path.
    pub shuffle: bool,
    /// The seed of the shuffle (default `None`: a random one). Required with a
    /// `validation_split` and `shuffle`, so that both subsets come from the same shuffle.
    pub seed: Option<u64>,
    /// The fraction of the files to hold out for validation, in `(0, 1)` (default `None`).
    /// Set it together with [`subset`](Self::subset).
    pub validation_split: Option<f64>,
    /// The part of the split to return (default `None`: all files, without a split).
    pub subset: Option<Subset>,
    /// What to do with several channels (default [`Channels::Keep`], as Keras).
    pub channels: Channels,
}

impl Default for AudioDirectoryOptions {
    fn default() -> Self {
        AudioDirectoryOptions {
            label_mode: Some(LabelMode::Int),
            class_names: None,
            sampling_rate: None,
            output_sequence_length: None,
            shuffle: true,
            seed: None,
            validation_split: None,
            subset: None,
            channels: Channels::Keep,
        }
    }
}

/// Reads the WAV files of `dir`, labelled by their class sub-folder, as Keras'
/// `audio_dataset_from_directory`: audio `[n, length, channels]` and labels per
/// [`LabelMode`].
///
/// Classes are the sub-folders of `dir` (sorted; folders starting with `.` are skipped), or
/// [`class_names`](AudioDirectoryOptions::class_names) in its order. Each class folder is
/// searched recursively for files ending in `.wav` (any case). The list, sorted by class then
/// path, is shuffled with `seed` (not Keras' numbers: another generator), then cut by
/// `validation_split` into training (first part) and validation (last part), so that two calls
/// with the same seed and the two subsets are disjoint and cover every file. `length` is
/// `output_sequence_length`, else the longest clip of the returned set.
///
/// ```
/// # let dir = tempfile::tempdir().unwrap();
/// # let spec = hound::WavSpec { channels: 1, sample_rate: 8000, bits_per_sample: 16, sample_format: hound::SampleFormat::Int };
/// # for (class, count) in [("no", 3), ("yes", 2)] {
/// #     std::fs::create_dir_all(dir.path().join(class)).unwrap();
/// #     for i in 0..count {
/// #         let mut w = hound::WavWriter::create(dir.path().join(class).join(format!("{i}.wav")), spec).unwrap();
/// #         (0..4000 + 1000 * i).for_each(|_| w.write_sample(100i16).unwrap());
/// #         w.finalize().unwrap();
/// #     }
/// # }
/// use kensho_data::audio::{audio_dataset_from_directory, AudioDirectoryOptions, Subset};
/// // A folder with `no/` (3 clips) and `yes/` (2 clips) of 0.5 to 0.75 s at 8 kHz.
/// let options = AudioDirectoryOptions {
///     output_sequence_length: Some(8000), // pad (or trim) every clip to 1 s
///     validation_split: Some(0.2),
///     subset: Some(Subset::Training),
///     seed: Some(42),
///     ..Default::default()
/// };
/// let train = audio_dataset_from_directory(dir.path(), &options)?;
/// assert_eq!(train.class_names, ["no", "yes"]);
/// assert_eq!(train.audio.shape(), &[4, 8000, 1]); // floor(0.2 * 5) = 1 file kept for validation
/// assert_eq!(train.labels.unwrap().shape(), &[4]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for options Keras rejects (a split outside `(0, 1)`, a split
/// without a subset or the reverse, a split with shuffling but no seed, `class_names` that are
/// not sub-folders or given with no labels, [`LabelMode::Binary`] without exactly two classes);
/// [`Error::Parse`] naming the folder if it has no class folders, a class folder holds no
/// `.wav` file, or the subset is empty; errors of [`read_wav`](super::read_wav) naming the
/// file; a file whose rate or channel count differs from the first one's (set
/// `sampling_rate`, or [`Channels::Mix`]).
pub fn audio_dataset_from_directory(dir: impl AsRef<Path>, options: &AudioDirectoryOptions) -> Result<AudioDataset> {
    let dir = dir.as_ref();
    check_split(options, options.subset.is_some(), "subset")?;
    let listing = index(dir, options)?;
    let part = match (options.validation_split, options.subset) {
        (Some(split), Some(subset)) => listing.cut(split, subset),
        _ => listing.files.clone(),
    };
    build(dir, part, &listing.class_names, options)
}

/// Keras' `subset="both"`: the training and the validation sets of one shuffle of `dir`
/// (see [`audio_dataset_from_directory`]; [`subset`](AudioDirectoryOptions::subset) is not
/// read, [`validation_split`](AudioDirectoryOptions::validation_split) is required).
///
/// # Errors
/// As [`audio_dataset_from_directory`], and if `validation_split` is not set or either set
/// would be empty.
pub fn audio_dataset_from_directory_both(
    dir: impl AsRef<Path>,
    options: &AudioDirectoryOptions,
) -> Result<(AudioDataset, AudioDataset)> {
    let dir = dir.as_ref();
    check_split(options, true, "audio_dataset_from_directory_both")?;
    let split = options.validation_split.unwrap_or_default();
    let listing = index(dir, options)?;
    let train = build(dir, listing.cut(split, Subset::Training), &listing.class_names, options)?;
    let validation = build(dir, listing.cut(split, Subset::Validation), &listing.class_names, options)?;
    Ok((train, validation))
}

/// The files found (path, class index) after the shuffle, and the class names.
struct Listing {
    files: Vec<(PathBuf, usize)>,
    class_names: Vec<String>,
}

impl Listing {
    /// Keras' `get_training_or_validation_split`: the validation set is the last
    /// `floor(split * n)` files.
    fn cut(&self, split: f64, subset: Subset) -> Vec<(PathBuf, usize)> {
        let n = self.files.len();
        let train = n - (split * n as f64) as usize;
        match subset {
            Subset::Training => self.files[..train].to_vec(),
            Subset::Validation => self.files[train..].to_vec(),
        }
    }
}

/// Checks the split options as Keras' `check_validation_split_arg` does; `subset_set` says
/// whether a subset was chosen (always true for the "both" form).
fn check_split(options: &AudioDirectoryOptions, subset_set: bool, subset_name: &str) -> Result<()> {
    let what = "audio_dataset_from_directory";
    match options.validation_split {
        Some(split) if !(split > 0.0 && split < 1.0) => {
            Err(Error::invalid(format!("{what}: validation_split"), split, "a fraction in (0, 1), e.g. 0.2"))
        }
        Some(_) if !subset_set => Err(Error::invalid(
            format!("{what}: subset"),
            "None",
            "Some(Subset::Training) or Some(Subset::Validation) with a validation_split \
             (or call audio_dataset_from_directory_both)",
        )),
        None if subset_set => Err(Error::invalid(
            format!("{what}: validation_split"),
            "None",
            format!("a fraction in (0, 1) with {subset_name}, e.g. Some(0.2)"),
        )),
        Some(_) if options.shuffle && options.seed.is_none() => Err(Error::invalid(
            format!("{what}: seed"),
            "None",
            "a seed with validation_split and shuffle, so that the training and validation \
             subsets come from one shuffle and do not overlap (e.g. Some(42))",
        )),
        _ => Ok(()),
    }
}

/// Lists the files and classes of `dir` and shuffles them.
fn index(dir: &Path, options: &AudioDirectoryOptions) -> Result<Listing> {
    let (mut files, class_names) = match options.label_mode {
        Some(_) => {
            let class_names = list_classes(dir, options.class_names.as_deref())?;
            let mut files = Vec::new();
            for (i, class) in class_names.iter().enumerate() {
                let found = list_wavs(&dir.join(class))?;
                if found.is_empty() {
                    return Err(Error::parse(
                        dir.join(class),
                        format!("class folder {class:?} holds no .wav file; expected at least one clip per class"),
                    ));
                }
                files.extend(found.into_iter().map(|p| (p, i)));
            }
            (files, class_names)
        }
        None if options.class_names.is_some() => {
            return Err(Error::invalid(
                "audio_dataset_from_directory: class_names",
                format!("{:?}", options.class_names.as_deref().unwrap_or_default()),
                "None when label_mode is None (there are no labels to name)",
            ))
        }
        None => (list_wavs(dir)?.into_iter().map(|p| (p, 0)).collect(), Vec::new()),
    };
    if files.is_empty() {
        return Err(Error::parse(dir, "no .wav file in the folder or its sub-folders"));
    }
    if options.label_mode == Some(LabelMode::Binary) && class_names.len() != 2 {
        return Err(Error::invalid(
            "audio_dataset_from_directory: label_mode",
            format!("Binary with {} classes {class_names:?}", class_names.len()),
            "exactly 2 classes for Binary; use Int or Categorical for more",
        ));
    }
    if options.shuffle {
        let seed = options.seed.unwrap_or_else(rand::random);
        files.shuffle(&mut seeded_rng(seed));
    }
    Ok(Listing { files, class_names })
}

/// Reads the files of one subset and encodes their labels.
fn build(
    dir: &Path,
    files: Vec<(PathBuf, usize)>,
    class_names: &[String],
    options: &AudioDirectoryOptions,
) -> Result<AudioDataset> {
    if files.is_empty() {
        return Err(Error::parse(
            dir,
            format!(
                "the {:?} subset is empty: the folder has too few files for validation_split {:?}",
                options.subset, options.validation_split
            ),
        ));
    }
    let (paths, classes): (Vec<PathBuf>, Vec<usize>) = files.into_iter().unzip();
    let clip_options = ClipOptions {
        output_sequence_length: options.output_sequence_length,
        sampling_rate: options.sampling_rate,
        channels: options.channels,
    };
    let (audio, sample_rate) = load_clips(&paths, clip_options, "folder")?;
    let n = classes.len();
    let labels = match options.label_mode {
        None => None,
        Some(LabelMode::Int) => Some(Tensor::from_vec(classes.iter().map(|&c| c as f32).collect(), &[n])?),
        Some(LabelMode::Binary) => Some(Tensor::from_vec(classes.iter().map(|&c| c as f32).collect(), &[n, 1])?),
        Some(LabelMode::Categorical) => {
            let k = class_names.len();
            let mut one_hot = vec![0.0; n * k];
            classes.iter().enumerate().for_each(|(i, &c)| one_hot[i * k + c] = 1.0);
            Some(Tensor::from_vec(one_hot, &[n, k])?)
        }
    };
    Ok(AudioDataset { audio, labels, class_names: class_names.to_vec(), paths, sample_rate })
}
