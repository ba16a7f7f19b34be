//! Decoding single files: every supported sample format against the scaling formula, channels,
//! and the errors of truncated, foreign and unsupported files.

use kensho_data::audio::{read_wav, Audio};

use super::{assert_err, write_wav, Samples};

#[test]
fn pcm_of_each_width_is_divided_by_two_to_the_bits_minus_one() {
    let dir = tempfile::tempdir().unwrap();
    for bits in [8u16, 16, 24, 32] {
        let full = 1i64 << (bits - 1);
        // The extremes, zero, and two values in between.
        let values: Vec<i32> = [-full, -full / 3, 0, 1, full / 2, full - 1].iter().map(|&v| v as i32).collect();
        let path = write_wav(dir.path(), &format!("pcm{bits}.wav"), bits, 1, 8000, Samples::Int(&values));
        let clip = read_wav(&path).unwrap();
        assert_eq!((clip.channels, clip.sample_rate, clip.frames()), (1, 8000, values.len()));
        for (&v, &got) in values.iter().zip(&clip.samples) {
            let want = (f64::from(v) / full as f64) as f32;
            assert_eq!(got, want, "{bits}-bit value {v}");
        }
        assert_eq!(clip.samples[0], -1.0);
        // The largest value stays below 1 where f32 can tell (8 to 24 bits; 2^31 - 1 rounds to 2^31).
        assert!(clip.samples[5] < 1.0 || bits == 32);
    }
}

#[test]
fn eight_bit_files_hold_unsigned_bytes_centred_on_128() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_wav(dir.path(), "u8.wav", 8, 1, 8000, Samples::Int(&[-128, 0, 127]));
    // On disk the bytes are 0, 128 and 255, as the format stores them.
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(&bytes[bytes.len() - 3..], &[0, 128, 255]);
    assert_eq!(read_wav(&path).unwrap().samples, [-1.0, 0.0, 127.0 / 128.0]);
}

#[test]
fn float_files_keep_their_values() {
    let dir = tempfile::tempdir().unwrap();
    let values = [0.0f32, -1.0, 0.25, 0.999, -0.5];
    let path = write_wav(dir.path(), "f32.wav", 32, 1, 22_050, Samples::Float(&values));
    let clip = read_wav(&path).unwrap();
    assert_eq!((clip.samples.as_slice(), clip.sample_rate), (&values[..], 22_050));
}

#[test]
fn stereo_files_stay_interleaved_and_mix_down_to_their_mean() {
    let dir = tempfile::tempdir().unwrap();
    // Frames (left, right): (16384, -16384), (8192, 0), (-32768, 32767).
    let values = [16384, -16384, 8192, 0, -32768, 32767];
    let path = write_wav(dir.path(), "stereo.wav", 16, 2, 44_100, Samples::Int(&values));
    let clip = read_wav(&path).unwrap();
    assert_eq!((clip.channels, clip.frames()), (2, 3));
    assert_eq!(clip.samples, [0.5, -0.5, 0.25, 0.0, -1.0, 32767.0 / 32768.0]);
    assert_eq!(clip.to_tensor().shape(), &[3, 2]);
    let mono = clip.to_mono();
    assert_eq!((mono.channels, mono.sample_rate), (1, 44_100));
    assert_eq!(mono.samples, [0.0, 0.125, (-1.0 + 32767.0 / 32768.0) / 2.0]);
}

#[test]
fn a_truncated_data_chunk_is_an_error_naming_the_file_and_the_counts() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_wav(dir.path(), "cut.wav", 16, 1, 8000, Samples::Int(&[7; 100]));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 51]).unwrap(); // 74.5 samples left
    assert_err(read_wav(&path), &["cut.wav", "truncated", "100 samples", "after 74"]);
}

#[test]
fn every_truncation_of_a_file_is_an_error_naming_it_never_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let full = std::fs::read(write_wav(dir.path(), "full.wav", 24, 2, 8000, Samples::Int(&[1, -1, 2, -2]))).unwrap();
    for len in 0..full.len() {
        let path = dir.path().join(format!("cut{len}.wav"));
        std::fs::write(&path, &full[..len]).unwrap();
        assert_err(read_wav(&path), &[&format!("cut{len}.wav")]);
    }
}

#[test]
fn foreign_headers_say_what_was_found_and_what_was_expected() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(write_wav(dir.path(), "good.wav", 16, 1, 8000, Samples::Int(&[1, 2, 3]))).unwrap();
    let mut not_riff = good.clone();
    not_riff[..4].copy_from_slice(b"OggS");
    std::fs::write(dir.path().join("ogg.wav"), &not_riff).unwrap();
    assert_err(read_wav(dir.path().join("ogg.wav")), &["ogg.wav", "\"OggS\"", "expected \"RIFF\""]);
    let mut not_wave = good.clone();
    not_wave[8..12].copy_from_slice(b"AVI ");
    std::fs::write(dir.path().join("avi.wav"), &not_wave).unwrap();
    assert_err(read_wav(dir.path().join("avi.wav")), &["avi.wav", "\"AVI \"", "expected \"WAVE\""]);
    std::fs::write(dir.path().join("text.wav"), b"this is not audio at all").unwrap();
    assert_err(read_wav(dir.path().join("text.wav")), &["text.wav", "not a WAV file"]);
    assert!(matches!(read_wav(dir.path().join("absent.wav")), Err(kensho_data::Error::Io { .. })));
}

#[test]
fn compressed_encodings_are_unsupported_errors() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = std::fs::read(write_wav(dir.path(), "pcm.wav", 16, 1, 8000, Samples::Int(&[1, 2]))).unwrap();
    // The format tag (bytes 20..22 of a canonical header) set to 2, Microsoft ADPCM.
    bytes[20..22].copy_from_slice(&2u16.to_le_bytes());
    std::fs::write(dir.path().join("adpcm.wav"), &bytes).unwrap();
    assert_err(read_wav(dir.path().join("adpcm.wav")), &["adpcm.wav", "unsupported", "PCM"]);
}

#[test]
fn audio_new_checks_its_arguments() {
    assert!(Audio::new(vec![0.0; 3], 2, 8000).is_err());
    assert!(Audio::new(vec![], 0, 8000).is_err());
    assert!(Audio::new(vec![], 1, 0).is_err());
    assert_eq!(Audio::new(vec![0.0; 8000], 1, 8000).unwrap().duration(), 1.0);
}
