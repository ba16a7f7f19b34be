//! `audio_dataset_from_directory`: labels from class folders, padding and trimming, the
//! validation split, label modes, channels and the errors of malformed folders.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use kensho_data::audio::{
    audio_dataset_from_directory, audio_dataset_from_directory_both, AudioDirectoryOptions, Channels, LabelMode, Subset,
};

use super::{assert_err, constant_clip, write_wav, Samples};

/// Three classes: `cat` 2 clips, `dog` 3 clips (one in a nested folder), `owl` 1 clip; each clip
/// is constant at `value / 32768` where value names class and clip, lengths 3 to 6 frames.
fn three_classes(dir: &Path) {
    constant_clip(dir, "cat/a.wav", 4, 8000, 1000);
    constant_clip(dir, "cat/b.WAV", 6, 8000, 1001);
    constant_clip(dir, "dog/a.wav", 3, 8000, 2000);
    constant_clip(dir, "dog/b.wav", 4, 8000, 2001);
    constant_clip(dir, "dog/deeper/c.wav", 5, 8000, 2002);
    constant_clip(dir, "owl/a.wav", 4, 8000, 3000);
    std::fs::write(dir.join("dog/notes.txt"), "not audio").unwrap();
    std::fs::create_dir_all(dir.join(".hidden")).unwrap();
    std::fs::write(dir.join("readme.wav"), "a file at the top is no class").unwrap();
}

fn unshuffled() -> AudioDirectoryOptions {
    AudioDirectoryOptions { shuffle: false, ..Default::default() }
}

/// The first sample of each clip, as the integer value it was written with.
fn first_values(audio: &kensho_data::Tensor) -> Vec<i32> {
    let shape = audio.shape().to_vec();
    let row = shape[1] * shape[2];
    audio.to_vec().chunks(row).map(|c| (c[0] * 32768.0).round() as i32).collect()
}

#[test]
fn labels_come_from_the_sorted_class_folders_and_clips_pad_to_the_longest() {
    let dir = tempfile::tempdir().unwrap();
    three_classes(dir.path());
    let data = audio_dataset_from_directory(dir.path(), &unshuffled()).unwrap();
    assert_eq!(data.class_names, ["cat", "dog", "owl"]);
    assert_eq!((data.len(), data.sample_rate), (6, 8000));
    assert_eq!(data.audio.shape(), &[6, 6, 1]); // the longest clip has 6 frames
    assert_eq!(data.labels.unwrap().to_vec(), [0.0, 0.0, 1.0, 1.0, 1.0, 2.0]);
    // Sorted by class, then folder path, then name (the nested folder after its parent's files).
    assert_eq!(first_values(&data.audio), [1000, 1001, 2000, 2001, 2002, 3000]);
    let names: Vec<_> = data.paths.iter().map(|p| p.file_name().unwrap().to_str().unwrap()).collect();
    assert_eq!(names, ["a.wav", "b.WAV", "a.wav", "b.wav", "c.wav", "a.wav"]);
    // The 3-frame clip (dog/a) is padded with zeros at the end.
    let x = data.audio.to_vec();
    assert_eq!(&x[12..18], &[2000.0 / 32768.0, 2000.0 / 32768.0, 2000.0 / 32768.0, 0.0, 0.0, 0.0]);
}

#[test]
fn output_sequence_length_pads_short_clips_and_trims_long_ones() {
    let dir = tempfile::tempdir().unwrap();
    let ramp: Vec<i32> = (1..=10).map(|i| i * 1000).collect();
    write_wav(dir.path(), "long/ramp.wav", 16, 1, 8000, Samples::Int(&ramp));
    write_wav(dir.path(), "short/two.wav", 16, 1, 8000, Samples::Int(&[5000, 6000]));
    let options = AudioDirectoryOptions { output_sequence_length: Some(4), ..unshuffled() };
    let data = audio_dataset_from_directory(dir.path(), &options).unwrap();
    assert_eq!(data.audio.shape(), &[2, 4, 1]);
    let scaled = |v: &[i32]| v.iter().map(|&v| v as f32 / 32768.0).collect::<Vec<_>>();
    assert_eq!(data.audio.to_vec()[..4], scaled(&[1000, 2000, 3000, 4000])[..]);
    assert_eq!(data.audio.to_vec()[4..], scaled(&[5000, 6000, 0, 0])[..]);
}

#[test]
fn mixed_bit_depths_load_into_one_tensor() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(dir.path(), "a/u8.wav", 8, 1, 8000, Samples::Int(&[64, -64]));
    write_wav(dir.path(), "a/pcm24.wav", 24, 1, 8000, Samples::Int(&[1 << 22, -(1 << 22)]));
    write_wav(dir.path(), "b/float.wav", 32, 1, 8000, Samples::Float(&[0.5, -0.5]));
    write_wav(dir.path(), "b/pcm32.wav", 32, 1, 8000, Samples::Int(&[1 << 30, -(1 << 30)]));
    let data = audio_dataset_from_directory(dir.path(), &unshuffled()).unwrap();
    assert_eq!(data.audio.shape(), &[4, 2, 1]);
    assert_eq!(data.audio.to_vec(), [0.5, -0.5, 0.5, -0.5, 0.5, -0.5, 0.5, -0.5]);
}

#[test]
fn a_seeded_validation_split_is_disjoint_covering_and_reproducible() {
    let dir = tempfile::tempdir().unwrap();
    for class in 0..3 {
        for clip in 0..7 {
            constant_clip(dir.path(), &format!("c{class}/{clip}.wav"), 2, 8000, class * 100 + clip);
        }
    }
    let options = |subset| AudioDirectoryOptions {
        validation_split: Some(0.3),
        subset: Some(subset),
        seed: Some(7),
        ..Default::default()
    };
    let train = audio_dataset_from_directory(dir.path(), &options(Subset::Training)).unwrap();
    let val = audio_dataset_from_directory(dir.path(), &options(Subset::Validation)).unwrap();
    assert_eq!((train.len(), val.len()), (15, 6)); // floor(0.3 * 21) = 6 for validation
    let train_paths: HashSet<&PathBuf> = train.paths.iter().collect();
    let val_paths: HashSet<&PathBuf> = val.paths.iter().collect();
    assert!(train_paths.is_disjoint(&val_paths));
    assert_eq!(train_paths.len() + val_paths.len(), 21);
    // Labels still match their files after the shuffle.
    let labels = train.labels.as_ref().unwrap().to_vec();
    for (value, label) in first_values(&train.audio).iter().zip(labels) {
        assert_eq!((value / 100) as f32, label);
    }
    // The same seed gives the same split; another seed another order; both forms agree.
    let again = audio_dataset_from_directory(dir.path(), &options(Subset::Training)).unwrap();
    assert_eq!(again.paths, train.paths);
    let (both_train, both_val) = audio_dataset_from_directory_both(dir.path(), &options(Subset::Training)).unwrap();
    assert_eq!((both_train.paths, both_val.paths), (train.paths.clone(), val.paths));
    let other = AudioDirectoryOptions { seed: Some(8), ..options(Subset::Training) };
    assert_ne!(audio_dataset_from_directory(dir.path(), &other).unwrap().paths, train.paths);
}

#[test]
fn split_arguments_are_checked_as_keras_checks_them() {
    let dir = tempfile::tempdir().unwrap();
    three_classes(dir.path());
    let split =
        |validation_split, subset, seed| AudioDirectoryOptions { validation_split, subset, seed, ..Default::default() };
    assert_err(
        audio_dataset_from_directory(dir.path(), &split(Some(1.5), Some(Subset::Training), Some(1))),
        &["validation_split", "1.5"],
    );
    assert_err(audio_dataset_from_directory(dir.path(), &split(Some(0.2), None, Some(1))), &["subset"]);
    assert_err(
        audio_dataset_from_directory(dir.path(), &split(None, Some(Subset::Validation), Some(1))),
        &["validation_split"],
    );
    assert_err(audio_dataset_from_directory(dir.path(), &split(Some(0.2), Some(Subset::Training), None)), &["seed"]);
    assert_err(audio_dataset_from_directory_both(dir.path(), &split(None, None, Some(1))), &["validation_split"]);
    // Without shuffling no seed is needed; a split too small for the set leaves validation empty.
    let unshuffled_split = AudioDirectoryOptions { shuffle: false, ..split(Some(0.1), Some(Subset::Validation), None) };
    assert_err(audio_dataset_from_directory(dir.path(), &unshuffled_split), &["empty"]);
}

#[test]
fn label_modes_and_class_names() {
    let dir = tempfile::tempdir().unwrap();
    three_classes(dir.path());
    let categorical = AudioDirectoryOptions { label_mode: Some(LabelMode::Categorical), ..unshuffled() };
    let data = audio_dataset_from_directory(dir.path(), &categorical).unwrap();
    let labels = data.labels.unwrap();
    assert_eq!(labels.shape(), &[6, 3]);
    assert_eq!(&labels.to_vec()[6..9], &[0.0, 1.0, 0.0]);

    // class_names chooses the classes read and their numbering.
    let chosen = AudioDirectoryOptions { class_names: Some(vec!["owl".into(), "cat".into()]), ..unshuffled() };
    let data = audio_dataset_from_directory(dir.path(), &chosen).unwrap();
    assert_eq!(data.class_names, ["owl", "cat"]);
    assert_eq!(data.labels.unwrap().to_vec(), [0.0, 1.0, 1.0]);
    let binary = AudioDirectoryOptions { label_mode: Some(LabelMode::Binary), ..chosen.clone() };
    assert_eq!(audio_dataset_from_directory(dir.path(), &binary).unwrap().labels.unwrap().shape(), &[3, 1]);
    let binary_of_three = AudioDirectoryOptions { label_mode: Some(LabelMode::Binary), ..unshuffled() };
    assert_err(audio_dataset_from_directory(dir.path(), &binary_of_three), &["Binary", "3 classes"]);
    let stray = AudioDirectoryOptions { class_names: Some(vec!["cow".into()]), ..unshuffled() };
    assert_err(audio_dataset_from_directory(dir.path(), &stray), &["\"cow\"", "not a sub-folder", "\"owl\""]);

    // No labels: every .wav file under the folder (the stray top-level one too, which is no WAV).
    std::fs::remove_file(dir.path().join("readme.wav")).unwrap();
    let unlabelled = AudioDirectoryOptions { label_mode: None, ..unshuffled() };
    let data = audio_dataset_from_directory(dir.path(), &unlabelled).unwrap();
    assert_eq!((data.len(), data.labels.is_none(), data.class_names.len()), (6, true, 0));
    let named = AudioDirectoryOptions { class_names: Some(vec!["cat".into()]), ..unlabelled };
    assert_err(audio_dataset_from_directory(dir.path(), &named), &["class_names"]);
}

#[test]
fn channels_are_kept_mixed_or_refused() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(dir.path(), "a/stereo.wav", 16, 2, 8000, Samples::Int(&[16384, 0, 0, 16384]));
    write_wav(dir.path(), "b/stereo.wav", 16, 2, 8000, Samples::Int(&[-16384, 16384, 8192, 8192]));
    let kept = audio_dataset_from_directory(dir.path(), &unshuffled()).unwrap();
    assert_eq!(kept.audio.shape(), &[2, 2, 2]);
    assert_eq!(kept.audio.to_vec(), [0.5, 0.0, 0.0, 0.5, -0.5, 0.5, 0.25, 0.25]);
    let mixed =
        audio_dataset_from_directory(dir.path(), &AudioDirectoryOptions { channels: Channels::Mix, ..unshuffled() })
            .unwrap();
    assert_eq!(mixed.audio.shape(), &[2, 2, 1]);
    assert_eq!(mixed.audio.to_vec(), [0.25, 0.25, 0.0, 0.25]);
    let mono = AudioDirectoryOptions { channels: Channels::RequireMono, ..unshuffled() };
    assert_err(audio_dataset_from_directory(dir.path(), &mono), &["stereo.wav", "2 channels", "mono is required"]);
    // A mono file among stereo ones cannot share the tensor unless mixed.
    constant_clip(dir.path(), "b/mono.wav", 2, 8000, 1);
    assert_err(audio_dataset_from_directory(dir.path(), &unshuffled()), &["mono.wav", "1 channel(s)", "Channels::Mix"]);
}

#[test]
fn sample_rates_must_agree_unless_resampled() {
    let dir = tempfile::tempdir().unwrap();
    constant_clip(dir.path(), "a/slow.wav", 800, 8000, 1000);
    constant_clip(dir.path(), "b/fast.wav", 1600, 16_000, 1000);
    assert_err(
        audio_dataset_from_directory(dir.path(), &unshuffled()),
        &["fast.wav", "16000 Hz", "slow.wav", "8000 Hz", "sampling_rate"],
    );
    let too_fast = AudioDirectoryOptions { sampling_rate: Some(10_000_000), ..unshuffled() };
    assert_err(audio_dataset_from_directory(dir.path(), &too_fast), &["sampling_rate", "10000000"]);
    let resampled = AudioDirectoryOptions { sampling_rate: Some(16_000), ..unshuffled() };
    let data = audio_dataset_from_directory(dir.path(), &resampled).unwrap();
    assert_eq!((data.audio.shape(), data.sample_rate), (&[2, 1600, 1][..], 16_000));
    // A damaged header's absurd rate is refused before it reaches the resampler.
    constant_clip(dir.path(), "b/absurd.wav", 4, 1_000_000_000, 1);
    assert_err(audio_dataset_from_directory(dir.path(), &resampled), &["absurd.wav", "1000000000 Hz"]);
}

#[test]
fn malformed_folders_are_errors_naming_them() {
    let dir = tempfile::tempdir().unwrap();
    assert_err(audio_dataset_from_directory(dir.path(), &unshuffled()), &["no class folders"]);
    std::fs::create_dir_all(dir.path().join("empty_class")).unwrap();
    constant_clip(dir.path(), "full_class/a.wav", 2, 8000, 1);
    assert_err(audio_dataset_from_directory(dir.path(), &unshuffled()), &["empty_class", "no .wav file"]);
    std::fs::remove_dir(dir.path().join("empty_class")).unwrap();
    let bad = dir.path().join("full_class/bad.wav");
    std::fs::write(&bad, b"RIFF\x04\x00\x00\x00WAVE").unwrap();
    assert_err(audio_dataset_from_directory(dir.path(), &unshuffled()), &["bad.wav", "truncated"]);
    let missing = dir.path().join("absent");
    assert!(audio_dataset_from_directory(&missing, &unshuffled()).unwrap_err().to_string().contains("absent"));
}
