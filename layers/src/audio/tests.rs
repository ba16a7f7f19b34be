//! Tests of the audio layers: shapes, the features equal the core functions, the
//! augmentations are the identity in inference, reproducible for a seed, within their bounds,
//! and the noise is at the requested signal-to-noise ratio.

use super::*;
use crate::testing::check_layer;
use crate::{Ctx, Layer, LayerConfig};
use kensho_autograd::Tape;
use kensho_core::audio::{mel_spectrogram, stft, MelOptions, MfccOptions, StftOptions};
use kensho_core::{seeded_rng, Tensor};

fn run(layer: &dyn Layer, x: &Tensor, training: bool, seed: u64) -> Tensor {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, training, seeded_rng(seed));
    layer.forward(tape.constant(x.clone()), &cx).value()
}

fn built<L: Layer>(mut layer: L, shape: &[usize]) -> L {
    layer.set_name("l");
    layer.build(&Shape::known(shape), &mut seeded_rng(0)).unwrap();
    layer
}

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

#[test]
fn feature_layers_give_the_functions_values_and_shapes() {
    let x = Tensor::rand_uniform(&[3, 4000], -1.0, 1.0, &mut seeded_rng(1));
    let mel = built(MelSpectrogram::new(mel_8k()), &[4000]);
    let y = run(&mel, &x, false, 0);
    assert_eq!(y.shape(), &[3, 51, 40]);
    assert_eq!(y, mel_spectrogram(&x, &mel_8k()).unwrap());
    // [batch, samples, 1] in, a channel axis out.
    let mut channel = MelSpectrogram::new(mel_8k()).expand_dims(true);
    channel.set_name("m");
    assert_eq!(channel.build(&Shape::known(&[4000, 1]), &mut seeded_rng(0)).unwrap(), Shape::known(&[51, 40, 1]));
    let y1 = run(&channel, &x.reshape_to(&[3, 4000, 1]), false, 0);
    assert_eq!(y1.shape(), &[3, 51, 40, 1]);
    assert_eq!(y1.to_vec(), y.to_vec());

    let options = StftOptions { frame_length: 200, frame_step: Some(100), ..Default::default() };
    let s = built(StftSpectrogram::new(options.clone()), &[4000]);
    assert_eq!(run(&s, &x, true, 0), stft(&x, &options).unwrap());
    let m = built(Mfcc::new(MfccOptions { mel: mel_8k(), num_mfcc: 13 }), &[4000]);
    assert_eq!(run(&m, &x, false, 0).shape(), &[3, 51, 13]);
}

#[test]
fn feature_layers_reject_bad_shapes_and_arguments_by_name() {
    let err = |mut layer: Box<dyn Layer>, shape: &[usize]| {
        layer.set_name("f");
        layer.build(&Shape::known(shape), &mut seeded_rng(0)).unwrap_err().to_string()
    };
    let short = err(Box::new(StftSpectrogram::new(StftOptions { frame_length: 512, ..Default::default() })), &[400]);
    assert!(short.contains("STFTSpectrogram \"f\": frame_length"), "{short}");
    let fft = StftOptions { frame_length: 256, fft_length: Some(128), ..Default::default() };
    assert!(err(Box::new(StftSpectrogram::new(fft)), &[400]).contains("fft_length"));
    let bins = MelOptions { num_mel_bins: 0, ..mel_8k() };
    assert!(err(Box::new(MelSpectrogram::new(bins)), &[8000]).contains("MelSpectrogram \"f\": num_mel_bins"));
    let nyquist = MelOptions { max_freq: Some(5000.0), ..mel_8k() };
    assert!(err(Box::new(MelSpectrogram::new(nyquist)), &[8000]).contains("max_freq"));
    let order = MelOptions { min_freq: 3000.0, max_freq: Some(2000.0), ..mel_8k() };
    assert!(err(Box::new(MelSpectrogram::new(order)), &[8000]).contains("max_freq"));
    let too_many = MfccOptions { mel: mel_8k(), num_mfcc: 41 };
    assert!(err(Box::new(Mfcc::new(too_many)), &[8000]).contains("MFCC \"f\": num_mfcc"));
    let valid = MelOptions { center: false, ..mel_8k() };
    assert!(err(Box::new(MelSpectrogram::new(valid)), &[150]).contains("MelSpectrogram \"f\": sequence_length"));
    assert!(err(Box::new(MelSpectrogram::new(mel_8k())), &[100]).contains("MelSpectrogram \"f\": fft_length"));
    let image = err(Box::new(MelSpectrogram::new(mel_8k())), &[28, 28]);
    assert!(image.contains("[samples, 1]"), "{image}");
    let unknown = MelSpectrogram::new(mel_8k()).build(&Shape::new(vec![None]), &mut seeded_rng(0));
    assert!(unknown.is_err());
}

#[test]
fn augmentations_are_the_identity_in_inference() {
    let wave = Tensor::rand_uniform(&[4, 800], -1.0, 1.0, &mut seeded_rng(2));
    let spec = Tensor::rand_uniform(&[4, 30, 20], -1.0, 1.0, &mut seeded_rng(3));
    let shift = built(RandomTimeShift::new(Shift::Fraction(0.5)), &[800]);
    let noise = built(RandomNoise::new(0.0, 10.0), &[800]);
    let mask = built(SpecAugment::new(10, 15).num_freq_masks(2).fill(MaskFill::Mean), &[30, 20]);
    for (layer, x) in [(&shift as &dyn Layer, &wave), (&noise, &wave), (&mask, &spec)] {
        assert_eq!(run(layer, x, false, 9).to_vec(), x.to_vec(), "{}", layer.kind());
        assert_ne!(run(layer, x, true, 9).to_vec(), x.to_vec(), "{} acts in training", layer.kind());
        assert_eq!(run(layer, x, true, 9), run(layer, x, true, 9), "{} is seeded", layer.kind());
        assert_ne!(run(layer, x, true, 9), run(layer, x, true, 10), "{} draws from the seed", layer.kind());
    }
}

#[test]
fn time_shift_moves_each_clip_whole_within_its_bound() {
    let n = 100;
    let x = Tensor::from_fn(&[16, n], |i| (i[1] + 1) as f32);
    for fill in [ShiftFill::Zeros, ShiftFill::Roll] {
        let layer = built(RandomTimeShift::new(Shift::Samples(7)).fill(fill), &[n]);
        let y = run(&layer, &x, true, 4).to_vec();
        let mut shifts = Vec::new();
        for clip in y.chunks(n) {
            // Sample i holds x[i - s]: find s from any kept sample, then check every one.
            let (i, v) = clip.iter().enumerate().find(|(_, v)| **v != 0.0).unwrap();
            let s = (i as i64 - (*v as i64 - 1)).rem_euclid(n as i64);
            let s = if s > n as i64 / 2 { s - n as i64 } else { s };
            assert!(s.abs() <= 7, "shift {s}");
            for (i, v) in clip.iter().enumerate() {
                let source = i as i64 - s;
                let want = match fill {
                    ShiftFill::Roll => (source.rem_euclid(n as i64) + 1) as f32,
                    ShiftFill::Zeros if (0..n as i64).contains(&source) => (source + 1) as f32,
                    ShiftFill::Zeros => 0.0,
                };
                assert_eq!(*v, want, "{fill:?} shift {s} sample {i}");
            }
            shifts.push(s);
        }
        assert!(shifts.iter().any(|&s| s != shifts[0]), "each clip draws its own shift: {shifts:?}");
    }
    check_layer(&mut RandomTimeShift::new(Shift::Samples(2)), &[12], 3, 0).unwrap();
    check_layer(&mut RandomTimeShift::new(Shift::Fraction(0.25)).fill(ShiftFill::Roll), &[12, 1], 2, 0).unwrap();
}

#[test]
fn noise_is_mixed_at_the_requested_snr() {
    let n = 8000;
    let x = Tensor::from_fn(&[8, n], |i| ((i[1] as f32) * 0.07 * (1 + i[0]) as f32).sin() * (1 + i[0]) as f32);
    let measured = |layer: &RandomNoise, seed| {
        let y = run(layer, &x, true, seed).to_vec();
        let xs = x.to_vec();
        (0..8)
            .map(|b| {
                let range = b * n..(b + 1) * n;
                let signal: f64 = xs[range.clone()].iter().map(|v| (*v as f64).powi(2)).sum();
                let noise: f64 = range.map(|i| ((y[i] - xs[i]) as f64).powi(2)).sum();
                10.0 * (signal / noise).log10()
            })
            .collect::<Vec<f64>>()
    };
    for snr in measured(&built(RandomNoise::new(10.0, 10.0), &[n]), 1) {
        assert!((snr - 10.0).abs() < 0.3, "measured {snr} dB for 10 dB");
    }
    let spread = measured(&built(RandomNoise::new(0.0, 20.0), &[n]), 2);
    assert!(spread.iter().all(|s| (-0.3..20.3).contains(s)), "{spread:?}");
    assert!(spread.iter().cloned().fold(0.0, f64::max) - spread.iter().cloned().fold(99.0, f64::min) > 3.0);
    // A silent clip stays silent.
    let silent = Tensor::zeros(&[2, 50]);
    assert_eq!(run(&built(RandomNoise::new(0.0, 5.0), &[50]), &silent, true, 3), silent);
}

#[test]
fn spec_augment_masks_stay_within_their_bounds() {
    let (frames, bins) = (50, 40);
    let x = Tensor::ones(&[64, frames, bins]);
    let layer = built(SpecAugment::new(8, 12).num_freq_masks(1).num_time_masks(1), &[frames, bins]);
    let y = run(&layer, &x, true, 5).to_vec();
    let (mut widest_band, mut widest_span) = (0, 0);
    for clip in y.chunks(frames * bins) {
        let row_masked = |t: usize| clip[t * bins..(t + 1) * bins].iter().all(|v| *v == 0.0);
        let col_masked = |k: usize| (0..frames).all(|t| clip[t * bins + k] == 0.0);
        let rows: Vec<usize> = (0..frames).filter(|&t| row_masked(t)).collect();
        let cols: Vec<usize> = (0..bins).filter(|&k| col_masked(k)).collect();
        // One mask each: consecutive, at most F bins and T frames, and every zero is in one.
        assert!(cols.len() <= 8 && rows.len() <= 12, "{} bins, {} frames", cols.len(), rows.len());
        assert!(cols.windows(2).all(|w| w[1] == w[0] + 1) && rows.windows(2).all(|w| w[1] == w[0] + 1));
        for t in 0..frames {
            for k in 0..bins {
                let zero = clip[t * bins + k] == 0.0;
                assert_eq!(zero, rows.contains(&t) || cols.contains(&k), "frame {t} bin {k}");
            }
        }
        widest_band = widest_band.max(cols.len());
        widest_span = widest_span.max(rows.len());
    }
    assert!(widest_band >= 6 && widest_span >= 9, "masks reach near their bounds: {widest_band}, {widest_span}");
    // Mean fill: masked values take the clip's mean.
    let x = Tensor::from_fn(&[2, frames, bins, 1], |i| (i[1] * bins + i[2]) as f32);
    let mean = (frames * bins - 1) as f32 / 2.0;
    let layer = built(SpecAugment::new(8, 12).fill(MaskFill::Mean), &[frames, bins, 1]);
    let y = run(&layer, &x, true, 6);
    assert_eq!(y.shape(), x.shape());
    let changed: Vec<f32> = y.to_vec().into_iter().zip(x.to_vec()).filter(|(a, b)| a != b).map(|(a, _)| a).collect();
    assert!(!changed.is_empty() && changed.iter().all(|v| (v - mean).abs() < 1e-3));
    check_layer(&mut SpecAugment::new(3, 2), &[6, 5], 2, 0).unwrap();
}

#[test]
fn augmentations_reject_bad_arguments_by_name() {
    let err = |mut layer: Box<dyn Layer>, shape: &[usize]| {
        layer.set_name("a");
        layer.build(&Shape::known(shape), &mut seeded_rng(0)).unwrap_err().to_string()
    };
    assert!(err(Box::new(SpecAugment::new(41, 5)), &[100, 40]).contains("SpecAugment \"a\": freq_mask_param"));
    assert!(err(Box::new(SpecAugment::new(4, 101)), &[100, 40]).contains("time_mask_param"));
    assert!(err(Box::new(SpecAugment::new(4, 5)), &[8000]).contains("[frames, bins]"));
    assert!(err(Box::new(RandomTimeShift::new(Shift::Fraction(1.5))), &[100]).contains("max_shift"));
    assert!(err(Box::new(RandomNoise::new(f32::NAN, 3.0)), &[100]).contains("min_snr_db"));
}

#[test]
fn configs_round_trip_through_json() {
    let layers: Vec<Box<dyn Layer>> = vec![
        Box::new(StftSpectrogram::default().expand_dims(true).with_name("s")),
        Box::new(MelSpectrogram::new(mel_8k()).input_shape(&[8000]).with_name("m")),
        Box::new(Mfcc::default().with_name("c")),
        Box::new(RandomTimeShift::new(Shift::Samples(80)).fill(ShiftFill::Roll).with_name("t")),
        Box::new(RandomNoise::new(5.0, 15.0).with_name("n")),
        Box::new(SpecAugment::new(8, 10).num_time_masks(2).fill(MaskFill::Mean).with_name("a")),
    ];
    for layer in layers {
        let json = serde_json::to_string(&layer.config()).unwrap();
        let back: LayerConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, layer.config(), "{json}");
        assert_eq!(back.to_layer().unwrap().config(), layer.config());
    }
}
