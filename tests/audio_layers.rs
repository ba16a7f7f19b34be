//! The audio layers in a model: a waveform model starting with MelSpectrogram (with the
//! augmentations before and after it) trains on two threads, shows in the summary and the
//! diagram, and comes back from the model file with the same predictions; the feature layers in
//! a functional model, through weights files in both layouts.

use kensho::core::audio::{MelOptions, MfccOptions, StftOptions};
use kensho::layers::{
    MaskFill, MelSpectrogram, Mfcc, RandomNoise, RandomTimeShift, Shift, SpecAugment, StftSpectrogram,
};
use kensho::optim::Adam;
use kensho::prelude::*;
use kensho::WeightsLayout;

fn mel_8k() -> MelOptions {
    MelOptions {
        sampling_rate: 8000,
        fft_length: 256,
        sequence_length: Some(200),
        sequence_stride: 80,
        num_mel_bins: 40,
        ..MelOptions::default()
    }
}

fn speech_model() -> Sequential {
    Sequential::new()
        .seed(3)
        .add(Input::new(&[4000]))
        .add(RandomTimeShift::new(Shift::Fraction(0.1)))
        .add(RandomNoise::new(10.0, 30.0))
        .add(MelSpectrogram::new(mel_8k()).expand_dims(true))
        .add(SpecAugment::new(6, 8).fill(MaskFill::Mean))
        .add(Conv2d::new(4, [3, 3]).activation(Activation::Relu))
        .add(MaxPooling2d::new([4, 4]))
        .add(Flatten::new())
        .add(Dense::new(2))
}

/// Two classes of tones: 500 Hz and 1500 Hz, random phase and level.
fn tones(rows: usize) -> (Tensor, Tensor) {
    let mut rng = kensho::core::seeded_rng(4);
    let phase = Tensor::rand_uniform(&[rows], 0.0, 6.0, &mut rng).to_vec();
    let level = Tensor::rand_uniform(&[rows], 0.2, 1.0, &mut rng).to_vec();
    let x = Tensor::from_fn(&[rows, 4000], |i| {
        let f = if i[0] % 2 == 0 { 500.0 } else { 1500.0 };
        level[i[0]] * (2.0 * std::f32::consts::PI * f * i[1] as f32 / 8000.0 + phase[i[0]]).sin()
    });
    (x, Tensor::from_fn(&[rows], |i| (i[0] % 2) as f32))
}

#[test]
fn a_waveform_model_with_mel_features_trains_saves_and_loads() {
    let (x, y) = tones(64);
    kensho::set_num_threads(2);
    let mut m = speech_model();
    m.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    let history = m.fit(&x, &y, FitOptions { epochs: 4, batch_size: 16, verbose: 0, ..Default::default() }).unwrap();
    kensho::set_num_threads(1);
    let losses = history.get("loss").unwrap();
    assert!(losses.last().unwrap() < &losses[0], "the model learns through the features: {losses:?}");

    let summary = m.summary();
    // The longer rows wrap at the space, as in Keras: name on one line, type on the next.
    for line in [
        "│ random_time_shift               │",
        "│ (RandomTimeShift)               │",
        "│ random_noise (RandomNoise)      │",
        "│ mel_spectrogram                 │",
        "│ (MelSpectrogram)                │",
        "│ spec_augment (SpecAugment)      │",
        "(None, 51, 40, 1)",
    ] {
        assert!(summary.contains(line), "{line} in {summary}");
    }
    assert!(m.to_mermaid().contains("MelSpectrogram"));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("speech.safetensors");
    m.save(&path).unwrap();
    let loaded = kensho::load_model(&path).unwrap();
    assert_eq!(
        loaded.layers().iter().map(|l| l.config()).collect::<Vec<_>>(),
        m.layers().iter().map(|l| l.config()).collect::<Vec<_>>()
    );
    assert_eq!(loaded.predict(&x).unwrap(), m.predict(&x).unwrap());
}

#[test]
fn an_mfcc_model_on_one_channel_input_round_trips() {
    let (x, _) = tones(6);
    let mut m = Sequential::new()
        .add(Input::new(&[4000, 1]))
        .add(Mfcc::new(MfccOptions { mel: mel_8k(), num_mfcc: 13 }))
        .add(Conv1d::new(4, [3]))
        .add(Flatten::new())
        .add(Dense::new(2));
    m.build_model().unwrap();
    assert!(m.summary().contains("mfcc (MFCC)"), "{}", m.summary());
    let x = x.reshape_to(&[6, 4000, 1]);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mfcc.safetensors");
    m.save(&path).unwrap();
    assert_eq!(kensho::load_model(&path).unwrap().predict(&x).unwrap(), m.predict(&x).unwrap());
}

#[test]
fn feature_layers_work_in_the_functional_api_and_both_weights_layouts() {
    // Two branches over one waveform: STFT frames through a Conv1D, mel frames through another,
    // concatenated before the head.
    let (x, y) = tones(8);
    let build = || -> Model {
        let wave = Input::new(&[4000]);
        let shifted = RandomTimeShift::new(Shift::Samples(40)).on(&wave).unwrap();
        let stft = StftSpectrogram::new(StftOptions { frame_length: 200, frame_step: Some(80), ..Default::default() })
            .on(&shifted)
            .unwrap();
        let mel = MelSpectrogram::new(mel_8k()).on(&shifted).unwrap();
        let a = GlobalMaxPooling1d::new().on(&Conv1d::new(3, [3]).on(&stft).unwrap()).unwrap();
        let b = GlobalMaxPooling1d::new().on(&Conv1d::new(3, [3]).on(&mel).unwrap()).unwrap();
        let joined = Concatenate::new(-1).on_all(&[&a, &b]).unwrap();
        Model::with_seed(&[&wave], &[&Dense::new(2).on(&joined).unwrap()], 5).unwrap()
    };
    let mut m = build();
    m.compile(Adam::new(0.01), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    m.fit(&x, &y, FitOptions { epochs: 1, batch_size: 4, verbose: 0, ..Default::default() }).unwrap();
    let expected = m.predict(&x).unwrap();
    assert!(m.summary().contains("(STFTSpectrogram)"), "{}", m.summary());
    let dir = tempfile::tempdir().unwrap();
    for layout in [WeightsLayout::Kensho, WeightsLayout::PyTorch] {
        let path = dir.path().join(format!("{layout:?}.safetensors"));
        m.save_weights_with(&path, layout).unwrap();
        let mut fresh = build();
        assert_ne!(fresh.predict(&x).unwrap(), expected, "a fresh model differs before loading");
        fresh.load_weights_with(&path, kensho::LoadOptions::default().layout(layout)).unwrap();
        assert_eq!(fresh.predict(&x).unwrap(), expected, "{layout:?}");
    }
}
