//! Benchmark: read every clip of the spoken_digits manifest (2,000 one-second 8 kHz 16-bit WAV
//! files) three times and print the median time in seconds, then once each: the same files
//! resampled to 16 kHz, and its `wav/` folder (a sub-folder per digit) through
//! `audio_dataset_from_directory`.
//!
//! `cargo bench -p kensho-data --bench load_audio -- <spoken_digits-folder>`. Cargo runs
//! benchmarks from the crate folder (`data/`): give an absolute path, or one relative to it.

use std::path::PathBuf;
use std::time::Instant;

use kensho_data::audio::{audio_dataset_from_directory, load_audio_manifest, AudioDirectoryOptions, ManifestOptions};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // `cargo bench` passes `--bench`; the folder is the first argument that is not a flag.
    let dir = std::env::args().skip(1).find(|a| !a.starts_with("--")).ok_or("give the spoken_digits folder")?;
    let manifest = PathBuf::from(&dir).join("manifest.csv");
    let options = ManifestOptions::new("file", "digit").output_sequence_length(8000);
    let mut times = Vec::new();
    for _ in 0..3 {
        let start = Instant::now();
        let data = load_audio_manifest(&manifest, &options)?;
        times.push(start.elapsed().as_secs_f64());
        assert_eq!(data.audio.shape(), &[2000, 8000, 1]);
    }
    times.sort_by(f64::total_cmp);
    println!("load_audio: {} clips from {}: median of 3 = {:.3} s", 2000, manifest.display(), times[1]);
    let start = Instant::now();
    let data = load_audio_manifest(&manifest, &options.sampling_rate(16_000).output_sequence_length(16_000))?;
    println!(
        "load_audio: the same resampled to 16 kHz: {:.3} s, {:?}",
        start.elapsed().as_secs_f64(),
        data.audio.shape()
    );
    let start = Instant::now();
    let options = AudioDirectoryOptions { output_sequence_length: Some(8000), seed: Some(1), ..Default::default() };
    let data = audio_dataset_from_directory(PathBuf::from(&dir).join("wav"), &options)?;
    println!(
        "load_audio: audio_dataset_from_directory: {:.3} s, {:?}, classes {:?}",
        start.elapsed().as_secs_f64(),
        data.audio.shape(),
        data.class_names
    );
    Ok(())
}
