//! `load_audio_manifest`: files relative to the CSV, the split column, class names shared by
//! the splits, and the errors of missing columns and files.

use kensho_data::audio::{load_audio_manifest, Channels, ManifestOptions};

use super::{assert_err, constant_clip, write_wav, Samples};

/// Five clips in `clips/`, labels 10, 2, 2, 7, 10 and splits train, test, train, train, test.
fn small_manifest(dir: &std::path::Path) -> std::path::PathBuf {
    for (i, frames) in [3, 5, 4, 4, 2].iter().enumerate() {
        constant_clip(dir, &format!("clips/{i}.wav"), *frames, 8000, 100 + i as i32);
    }
    let csv = "file,label,speaker,split\n\
               clips/0.wav,10,s1,train\nclips/1.wav,2,s1,test\nclips/2.wav,2,s2,train\n\
               clips/3.wav,7,s2,train\n\"clips/4.wav\",10,s3,test\n";
    let path = dir.join("manifest.csv");
    std::fs::write(&path, csv).unwrap();
    path
}

#[test]
fn a_split_is_read_in_file_order_with_classes_numbered_over_every_row() {
    let dir = tempfile::tempdir().unwrap();
    let csv = small_manifest(dir.path());
    let train = load_audio_manifest(&csv, &ManifestOptions::new("file", "label").split("split", "train")).unwrap();
    // Whole numbers sort as numbers: 2 < 7 < 10.
    assert_eq!(train.class_names, ["2", "7", "10"]);
    assert_eq!(train.labels.as_ref().unwrap().to_vec(), [2.0, 0.0, 1.0]);
    assert_eq!(train.audio.shape(), &[3, 4, 1]); // the longest of the split, 4 frames
    assert_eq!(train.paths[1], dir.path().join("clips/2.wav"));
    let x = train.audio.to_vec();
    assert_eq!(&x[..4], &[100.0 / 32768.0, 100.0 / 32768.0, 100.0 / 32768.0, 0.0]);

    let test = load_audio_manifest(
        &csv,
        &ManifestOptions::new("file", "label").split("split", "test").output_sequence_length(3),
    )
    .unwrap();
    assert_eq!(test.class_names, train.class_names);
    assert_eq!(test.labels.unwrap().to_vec(), [0.0, 2.0]);
    assert_eq!(test.audio.shape(), &[2, 3, 1]); // 5 frames trimmed, 2 padded
    let all = load_audio_manifest(&csv, &ManifestOptions::new("file", "label")).unwrap();
    assert_eq!((all.len(), all.sample_rate), (5, 8000));
}

#[test]
fn text_labels_sort_as_text() {
    let dir = tempfile::tempdir().unwrap();
    constant_clip(dir.path(), "a.wav", 2, 8000, 1);
    constant_clip(dir.path(), "b.wav", 2, 8000, 2);
    std::fs::write(dir.path().join("m.csv"), "path,word\nb.wav,yes\na.wav,no\n").unwrap();
    let data = load_audio_manifest(dir.path().join("m.csv"), &ManifestOptions::new("path", "word")).unwrap();
    assert_eq!(data.class_names, ["no", "yes"]);
    assert_eq!(data.labels.unwrap().to_vec(), [1.0, 0.0]);
}

#[test]
fn missing_columns_files_and_rows_are_errors_naming_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let csv = small_manifest(dir.path());
    assert_err(
        load_audio_manifest(&csv, &ManifestOptions::new("path", "label")),
        &["manifest.csv", "no column \"path\"", "\"speaker\""],
    );
    assert_err(
        load_audio_manifest(&csv, &ManifestOptions::new("file", "label").split("fold", "train")),
        &["no column \"fold\""],
    );
    assert_err(
        load_audio_manifest(&csv, &ManifestOptions::new("file", "label").split("split", "dev")),
        &["no row", "\"dev\""],
    );
    let half = ManifestOptions { split_column: Some("split".into()), ..ManifestOptions::new("file", "label") };
    assert_err(load_audio_manifest(&csv, &half), &["split_column and split_value"]);
    std::fs::remove_file(dir.path().join("clips/3.wav")).unwrap();
    assert_err(
        load_audio_manifest(&csv, &ManifestOptions::new("file", "label")),
        &["manifest.csv", "line 5", "clips/3.wav", "not a file"],
    );
    // The test split does not need the missing training file.
    assert!(load_audio_manifest(&csv, &ManifestOptions::new("file", "label").split("split", "test")).is_ok());
    std::fs::write(&csv, "file,label\nclips/0.wav,1,extra\n").unwrap();
    assert_err(load_audio_manifest(&csv, &ManifestOptions::new("file", "label")), &["line 2", "3 fields"]);
    std::fs::write(&csv, "").unwrap();
    assert_err(load_audio_manifest(&csv, &ManifestOptions::new("file", "label")), &["empty"]);
}

#[test]
fn manifest_clips_follow_the_channel_and_rate_options() {
    let dir = tempfile::tempdir().unwrap();
    write_wav(dir.path(), "st.wav", 16, 2, 8000, Samples::Int(&[16384, 0, 16384, 0]));
    constant_clip(dir.path(), "mono.wav", 4, 16_000, 8192);
    std::fs::write(dir.path().join("m.csv"), "file,y\nst.wav,a\nmono.wav,b\n").unwrap();
    let csv = dir.path().join("m.csv");
    let base = ManifestOptions::new("file", "y");
    assert_err(
        load_audio_manifest(&csv, &base.clone().channels(Channels::RequireMono)),
        &["st.wav", "mono is required"],
    );
    assert_err(
        load_audio_manifest(&csv, &base.clone().channels(Channels::Mix)),
        &["mono.wav", "16000 Hz", "sampling_rate"],
    );
    let data = load_audio_manifest(&csv, &base.channels(Channels::Mix).sampling_rate(8000)).unwrap();
    assert_eq!((data.audio.shape(), data.sample_rate), (&[2, 2, 1][..], 8000));
    assert_eq!(&data.audio.to_vec()[..2], &[0.25, 0.25]);
}
