//! The spoken_digits data set (2,000 one-second 8 kHz clips) read through its manifest, when it
//! is found in the shared folder beside the repository; skipped silently otherwise.

use std::path::PathBuf;

use kensho_data::audio::{load_audio_manifest, ManifestOptions};

#[test]
fn the_speaker_split_of_spoken_digits_reads_whole() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/datasets/spoken_digits");
    if !dir.join("manifest.csv").is_file() {
        return;
    }
    let options = ManifestOptions::new("file", "digit").split("split", "train");
    let train = load_audio_manifest(dir.join("manifest.csv"), &options).unwrap();
    let test = load_audio_manifest(dir.join("manifest.csv"), &options.clone().split("split", "test")).unwrap();
    assert_eq!((train.audio.shape(), test.audio.shape()), (&[1600, 8000, 1][..], &[400, 8000, 1][..]));
    assert_eq!(train.class_names, ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    assert_eq!(train.sample_rate, 8000);
    let labels = test.labels.unwrap().to_vec();
    for digit in 0..10 {
        assert_eq!(labels.iter().filter(|&&l| l == digit as f32).count(), 40);
    }
    let x = train.audio.to_vec();
    assert!(x.iter().all(|v| (-1.0..1.0).contains(v)) && x.iter().any(|&v| v.abs() > 0.1));
}
