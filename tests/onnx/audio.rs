//! The audio layers exported to ONNX: `STFTSpectrogram` in every mode it can write, with each
//! framing, window and scaling; `MelSpectrogram` and `MFCC` (centred and not, in decibels with
//! and without the `top_db` floor, magnitude or power); the augmentations, which are the
//! identity at inference. Each is checked by ONNX Runtime at two batch sizes and by the
//! structure of the written graph.
//!
//! Tolerances: the DFT is written as two products with constant matrices where kensho runs an
//! FFT, so the rounding differs by a few ulps of the largest terms. Spectra of magnitude one or
//! less are compared to 1e-5 absolute. Decibels (tens, up to 80 below the peak), unnormalised
//! powers (tens) and log-magnitudes are compared with a relative part as well,
//! `|a - b| <= 1e-5 + 1e-5 * |b|` (the check script's `--rtol`). An MFCC mixes every band of
//! its frame, so its error follows the frame's largest coefficient (the first, in the hundreds
//! at Keras' sizes), not its own: at Keras' sizes it is compared to 2e-4 absolute (about 1e-6
//! of the first coefficient; measured 6.1e-5 in ONNX Runtime, 2.1e-4 in `onnx.reference`,
//! whose result the check script reports without failing).

use crate::support::{
    assert_runtime_matches, assert_runtime_matches_within, graph, op_types, random_inputs, randomize_weights,
};
use kensho::core::audio::{FramePadding, MelOptions, MfccOptions, Scaling, SpectrumMode, StftOptions, Window};
use kensho::layers::Shift;
use kensho::prelude::*;

/// A model of one feature layer on waveforms of per-sample shape `shape`.
fn feature_model(layer: impl CallLayer, shape: &[usize]) -> Model {
    let x = Input::new(shape);
    let out = layer.on(&x).unwrap();
    Model::with_seed(&[&x], &[&out], 1).unwrap()
}

/// Small mel options: 8 kHz, FFT 128, windows of 100 every 40, 20 bands.
fn mel_options() -> MelOptions {
    MelOptions {
        sampling_rate: 8000,
        fft_length: 128,
        sequence_length: Some(100),
        sequence_stride: 40,
        num_mel_bins: 20,
        ..MelOptions::default()
    }
}

#[test]
fn stft_modes_match() {
    let modes =
        [SpectrumMode::Real, SpectrumMode::Imag, SpectrumMode::Power, SpectrumMode::Psd, SpectrumMode::Magnitude];
    for (i, mode) in modes.into_iter().enumerate() {
        let options = StftOptions { mode, frame_length: 64, frame_step: Some(32), ..StftOptions::default() };
        let model = feature_model(StftSpectrogram::new(options), &[400]);
        let ops = op_types(&model);
        assert_eq!(ops.iter().filter(|t| *t == "MatMul").count(), 2, "{mode:?}: {ops:?}");
        assert!(ops.contains(&"Gather".to_string()));
        assert_runtime_matches(&model, &random_inputs(&model, &[1, 5], 2 + i as u64));
    }
    // The log magnitude (Keras' default mode), relative to its size.
    let log = StftOptions { frame_length: 64, frame_step: Some(32), ..StftOptions::default() };
    let model = feature_model(StftSpectrogram::new(log), &[400]);
    assert!(op_types(&model).contains(&"Log".to_string()));
    assert_runtime_matches_within(&model, &random_inputs(&model, &[1, 5], 9), 1e-5, 1e-5);
}

#[test]
fn stft_framings_windows_and_scalings_match() {
    let configs = [
        (FramePadding::Same, Window::Hann, false, Scaling::Density, Some(64)),
        (FramePadding::Center, Window::Hamming, true, Scaling::Spectrum, Some(128)),
        (FramePadding::Valid, Window::None, false, Scaling::None, Some(100)),
        (FramePadding::Same, Window::Hann, true, Scaling::None, Some(96)),
    ];
    for (i, (padding, window, periodic, scaling, fft_length)) in configs.into_iter().enumerate() {
        let options = StftOptions {
            mode: SpectrumMode::Power,
            frame_length: 60,
            frame_step: Some(25),
            fft_length,
            window,
            periodic,
            scaling,
            padding,
        };
        // Not normalised, the power of 60 samples is tens: relative to it.
        let model = feature_model(StftSpectrogram::new(options).expand_dims(i == 1), &[300, 1]);
        assert_eq!(op_types(&model).contains(&"Pad".to_string()), padding == FramePadding::Same, "{i}");
        assert_runtime_matches_within(&model, &random_inputs(&model, &[1, 5], 20 + i as u64), 1e-5, 1e-5);
    }
}

#[test]
fn the_phase_is_refused_with_the_reason() {
    let options = StftOptions { mode: SpectrumMode::Angle, frame_length: 64, ..StftOptions::default() };
    let model = feature_model(StftSpectrogram::new(options).with_name("phase"), &[400]);
    let err = model.export_onnx_bytes().unwrap_err().to_string();
    assert!(err.contains("\"phase\"") && err.contains("atan2"), "{err}");
}

#[test]
fn mel_spectrograms_match() {
    let configs = [
        mel_options(),
        MelOptions { center: false, top_db: None, ..mel_options() },
        MelOptions { mag_exp: 1.0, ref_power: 2.0, top_db: Some(30.0), window: Window::Hamming, ..mel_options() },
    ];
    for (i, options) in configs.into_iter().enumerate() {
        let top_db = options.top_db.is_some();
        let model = feature_model(MelSpectrogram::new(options), &[800]);
        let ops = op_types(&model);
        assert_eq!(ops.contains(&"ReduceMax".to_string()), top_db, "{i}: {ops:?}");
        assert_runtime_matches_within(&model, &random_inputs(&model, &[1, 5], 30 + i as u64), 1e-5, 1e-5);
    }
    // Linear power (tens), no decibels.
    let linear = MelOptions { power_to_db: false, ..mel_options() };
    let model = feature_model(MelSpectrogram::new(linear).expand_dims(true), &[800]);
    assert!(!op_types(&model).contains(&"Log".to_string()));
    assert_runtime_matches_within(&model, &random_inputs(&model, &[1, 5], 35), 1e-5, 1e-5);
}

#[test]
fn mfccs_match() {
    let model = feature_model(Mfcc::new(MfccOptions { mel: mel_options(), num_mfcc: 13 }), &[800, 1]);
    let ops = op_types(&model);
    // Products for the DFT (two), the mel bands and the DCT: windows of 100 samples, 65 bins
    // of an FFT of 128, 20 bands, 13 coefficients.
    assert_eq!(ops.iter().filter(|t| *t == "MatMul").count(), 4, "{ops:?}");
    let shapes: Vec<(String, Vec<i64>)> = graph(&model).initializer.into_iter().map(|t| (t.name, t.dims)).collect();
    let dims = |name: &str| shapes.iter().find(|(n, _)| n.ends_with(name)).map(|(_, d)| d.clone());
    assert_eq!(dims("dft_real"), Some(vec![100, 65]));
    assert_eq!(dims("mel_filterbank"), Some(vec![65, 20]));
    assert_eq!(dims("dct"), Some(vec![20, 13]));
    assert_runtime_matches_within(&model, &random_inputs(&model, &[1, 5], 40), 1e-5, 1e-5);
}

#[test]
fn augmentations_are_the_identity_at_inference() {
    let x = Input::new(&[800]);
    let h = RandomTimeShift::new(Shift::Samples(40)).on(&x).unwrap();
    let h = RandomNoise::new(10.0, 20.0).on(&h).unwrap();
    let h = MelSpectrogram::new(mel_options()).on(&h).unwrap();
    let h = SpecAugment::new(3, 4).on(&h).unwrap();
    let out = Dense::new(2).on(&h).unwrap();
    let model = Model::with_seed(&[&x], &[&out], 2).unwrap();
    // The same nodes as the features and the Dense layer alone.
    let plain = feature_model(MelSpectrogram::new(mel_options()), &[800]);
    let mut expected = op_types(&plain);
    expected.pop(); // the output's Identity
    expected.extend(["MatMul", "Add", "Identity"].map(String::from));
    assert_eq!(op_types(&model), expected);
    assert_runtime_matches_within(&model, &random_inputs(&model, &[1, 5], 41), 1e-5, 1e-5);
}

#[test]
fn keras_defaults_on_a_second_of_16_khz_audio_match() {
    // The sizes of real use: FFTs of 2048 (256 for the STFT layer's defaults), 128 mel bands.
    // Measured max abs diffs in ONNX Runtime: mel 1.1e-5, log STFT 5.6e-5, MFCC 6.1e-5.
    let models = [
        (feature_model(MelSpectrogram::new(MelOptions::default()), &[16000]), 1e-5),
        (feature_model(StftSpectrogram::new(StftOptions::default()), &[16000]), 1e-5),
        (feature_model(Mfcc::new(MfccOptions::default()), &[16000]), 2e-4),
    ];
    for (i, (model, atol)) in models.iter().enumerate() {
        assert_runtime_matches_within(model, &random_inputs(model, &[1, 3], 50 + i as u64), *atol, 1e-5);
    }
}

#[test]
fn a_spoken_digit_convnet_matches() {
    // The shape of examples/spoken_digits.rs: augmentations, log-mel, standardization, Conv2D +
    // BatchNormalization + ReLU, pooling, Dense; random weights and batch statistics. Its
    // logits are tens: relative to them, as the decibels before them.
    let mut model = Sequential::new()
        .add(Input::new(&[8000]))
        .add(RandomTimeShift::new(Shift::Samples(800)))
        .add(
            MelSpectrogram::new(MelOptions { sequence_stride: 80, num_mel_bins: 40, ..mel_options() })
                .expand_dims(true),
        )
        .add(Rescaling::new(1.0 / 20.0).offset(2.0))
        .add(SpecAugment::new(5, 10))
        .add(Conv2d::new(8, [3, 3]).padding(Padding::Same).use_bias(false))
        .add(BatchNormalization::new())
        .add(ActivationLayer::new(Activation::Relu))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(10))
        .into_model();
    model.build_model().unwrap();
    randomize_weights(&mut model, 60);
    assert_runtime_matches_within(&model, &random_inputs(&model, &[1, 5], 61), 1e-5, 1e-5);
}
