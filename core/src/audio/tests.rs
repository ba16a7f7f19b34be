//! Tests of the audio features: the STFT against a plain DFT, the mel filterbank and log-mel
//! against numpy reference values, the DCT against its formula, and the input checks.

use super::*;
use crate::{seeded_rng, Tensor};
use std::f64::consts::PI;

/// A reference STFT in f64: frames cut by hand, the window from its formula, an O(n²) DFT.
/// Returns `[frames][bins]` of (re, im).
fn reference_stft(x: &[f32], o: &StftOptions) -> Vec<Vec<(f64, f64)>> {
    let (len, step, nfft) = (o.frame_length, o.step(), o.fft_size());
    let n = x.len();
    let w: Vec<f64> = (0..len)
        .map(|i| {
            let d = if o.periodic { len } else { len - 1 } as f64;
            let c = (2.0 * PI * i as f64 / d).cos();
            match o.window {
                Window::Hann => 0.5 - 0.5 * c,
                Window::Hamming => 0.54 - 0.46 * c,
                Window::None => 1.0,
            }
        })
        .collect();
    let norm = match (o.window, o.scaling) {
        (Window::None, _) | (_, Scaling::None) => 1.0,
        (_, Scaling::Density) => w.iter().map(|v| v * v).sum::<f64>().sqrt(),
        (_, Scaling::Spectrum) => w.iter().sum::<f64>(),
    };
    // The padded signal, written out in full.
    let padded: Vec<f64> = match o.padding {
        FramePadding::Valid => x.iter().map(|&v| v as f64).collect(),
        FramePadding::Same => {
            let frames = n.div_ceil(step);
            let total = ((frames - 1) * step + len).saturating_sub(n);
            let mut p = vec![0.0; total / 2];
            p.extend(x.iter().map(|&v| v as f64));
            p.extend(vec![0.0; total - total / 2]);
            p
        }
        FramePadding::Center => {
            let pad = nfft / 2;
            let mut p: Vec<f64> = (1..=pad).rev().map(|i| x[i] as f64).collect();
            p.extend(x.iter().map(|&v| v as f64));
            p.extend((1..=pad).map(|i| x[n - 1 - i] as f64));
            p
        }
    };
    let (span, offset) = match o.padding {
        FramePadding::Center => (nfft, (nfft - len) / 2),
        _ => (len, 0),
    };
    let frames = (padded.len() - span) / step + 1;
    (0..frames)
        .map(|t| {
            let mut buf = vec![0.0; nfft];
            for i in 0..len {
                buf[offset + i] = padded[t * step + offset + i] * w[i] / norm;
            }
            (0..nfft / 2 + 1)
                .map(|k| {
                    buf.iter().enumerate().fold((0.0, 0.0), |(re, im), (i, v)| {
                        let a = -2.0 * PI * (k * i) as f64 / nfft as f64;
                        (re + v * a.cos(), im + v * a.sin())
                    })
                })
                .collect()
        })
        .collect()
}

fn expected(mode: SpectrumMode, frame: &[(f64, f64)]) -> Vec<f64> {
    let last = frame.len() - 1;
    frame
        .iter()
        .enumerate()
        .map(|(k, &(re, im))| {
            let p = re * re + im * im;
            match mode {
                SpectrumMode::Power => p,
                SpectrumMode::Psd => p * if k == 0 || k == last { 1.0 } else { 2.0 },
                SpectrumMode::Magnitude => p.max(1e-7).sqrt(),
                SpectrumMode::Log => p.max(1e-7).sqrt().max(1e-7).ln(),
                SpectrumMode::Real => re,
                SpectrumMode::Imag => im,
                SpectrumMode::Angle => im.atan2(re),
            }
        })
        .collect()
}

#[test]
fn stft_matches_a_plain_dft() {
    let mut rng = seeded_rng(7);
    let x = Tensor::rand_uniform(&[3, 150], -1.0, 1.0, &mut rng);
    let modes = [
        SpectrumMode::Power,
        SpectrumMode::Psd,
        SpectrumMode::Magnitude,
        SpectrumMode::Log,
        SpectrumMode::Real,
        SpectrumMode::Imag,
        SpectrumMode::Angle,
    ];
    let cases = [
        (32, Some(16), None, Window::Hann, false, Scaling::Density, FramePadding::Valid),
        (25, Some(10), Some(64), Window::Hamming, true, Scaling::Spectrum, FramePadding::Valid),
        (20, Some(7), Some(33), Window::None, false, Scaling::None, FramePadding::Same),
        (24, Some(16), Some(32), Window::Hann, true, Scaling::None, FramePadding::Center),
        (17, Some(5), Some(18), Window::Hamming, false, Scaling::Density, FramePadding::Center),
        (16, None, None, Window::Hann, true, Scaling::Density, FramePadding::Same),
    ];
    let mut checked = 0;
    for (case, &(frame_length, frame_step, fft_length, window, periodic, scaling, padding)) in cases.iter().enumerate()
    {
        for &mode in &modes {
            let o = StftOptions { mode, frame_length, frame_step, fft_length, window, periodic, scaling, padding };
            let y = stft(&x, &o).unwrap();
            for b in 0..3 {
                let clip = &x.to_vec()[b * 150..(b + 1) * 150];
                let reference = reference_stft(clip, &o);
                assert_eq!(y.shape(), &[3, reference.len(), o.bins()], "case {case} {mode:?}");
                let got = y.to_vec();
                for (t, frame) in reference.iter().enumerate() {
                    for (k, want) in expected(mode, frame).into_iter().enumerate() {
                        let g = got[(b * reference.len() + t) * o.bins() + k] as f64;
                        let (re, im) = frame[k];
                        // Phase is ill-defined where the bin is ~0.
                        if mode == SpectrumMode::Angle && (re * re + im * im) < 1e-6 {
                            continue;
                        }
                        let tol = 2e-4 * (1.0 + want.abs());
                        let diff = if mode == SpectrumMode::Angle {
                            let d = (g - want).rem_euclid(2.0 * PI);
                            d.min(2.0 * PI - d)
                        } else {
                            (g - want).abs()
                        };
                        assert!(diff <= tol, "case {case} {mode:?} clip {b} frame {t} bin {k}: {g} vs {want}");
                        checked += 1;
                    }
                }
            }
        }
    }
    assert!(checked > 10_000);
}

#[test]
fn stft_frame_counts_follow_keras() {
    let x = Tensor::zeros(&[2, 1000, 1]);
    let frames = |padding, step| {
        let o = StftOptions { frame_length: 256, frame_step: Some(step), padding, ..Default::default() };
        stft(&x, &o).unwrap().shape().to_vec()
    };
    // Keras STFTSpectrogram: valid floor((1000 - 256) / 128) + 1 = 6; same ceil(1000 / 128) = 8.
    assert_eq!(frames(FramePadding::Valid, 128), [2, 6, 129]);
    assert_eq!(frames(FramePadding::Same, 128), [2, 8, 129]);
    // keras.ops.stft(center=True): 1000 // 100 + 1.
    assert_eq!(frames(FramePadding::Center, 100), [2, 11, 129]);
    // Defaults: frame_step 128, fft_length 256; one unbatched signal gives [frames, bins].
    assert_eq!(stft(&Tensor::zeros(&[512]), &StftOptions::default()).unwrap().shape(), &[3, 129]);
}

#[test]
fn batch_and_threads_give_each_clip_alone() {
    let x = Tensor::rand_uniform(&[5, 900], -1.0, 1.0, &mut seeded_rng(3));
    let o = MelOptions {
        fft_length: 256,
        sequence_stride: 80,
        sequence_length: Some(200),
        sampling_rate: 8000,
        num_mel_bins: 20,
        ..Default::default()
    };
    let all = mel_spectrogram(&x, &o).unwrap().to_vec();
    let per = all.len() / 5;
    for b in 0..5 {
        let one = Tensor::from_vec(x.to_vec()[b * 900..(b + 1) * 900].to_vec(), &[900]).unwrap();
        assert_eq!(mel_spectrogram(&one, &o).unwrap().to_vec(), all[b * per..(b + 1) * per]);
    }
}

// Reference filterbanks: Keras' linear_to_mel_weight_matrix, re-written in numpy (float64):
//   def hz_to_mel(f): return 1127.0 * np.log(1.0 + f / 700.0)
//   def filterbank(bands, bins, rate, lo, hi):
//       freqs = np.linspace(0.0, rate / 2.0, bins)[1:]
//       mel = hz_to_mel(freqs)[:, None]
//       edges = np.linspace(hz_to_mel(lo), hz_to_mel(hi), bands + 2)
//       lower, center, upper = edges[:-2][None, :], edges[1:-1][None, :], edges[2:][None, :]
//       w = np.maximum(0.0, np.minimum((mel - lower) / (center - lower), (upper - mel) / (upper - center)))
//       return np.pad(w, [[1, 0], [0, 0]])
//   filterbank(4, 9, 8000.0, 20.0, 4000.0).ravel(); filterbank(3, 17, 16000.0, 300.0, 5000.0).ravel()
const FILTERBANK_4_9: [f64; 36] = [
    0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.6385728, 0.3614272, 0.0000000, 0.0000000, 0.0000000, 0.7102830,
    0.2897170, 0.0000000, 0.0000000, 0.0231296, 0.9768704, 0.0000000, 0.0000000, 0.0000000, 0.4773216, 0.5226784,
    0.0000000, 0.0000000, 0.0245151, 0.9754849, 0.0000000, 0.0000000, 0.0000000, 0.6375832, 0.0000000, 0.0000000,
    0.0000000, 0.2997708, 0.0000000, 0.0000000, 0.0000000, 0.0000000,
];
const FILTERBANK_3_17: [f64; 51] = [
    0.0000000, 0.0000000, 0.0000000, 0.4190178, 0.0000000, 0.0000000, 0.7804917, 0.2195083, 0.0000000, 0.1879398,
    0.8120602, 0.0000000, 0.0000000, 0.7172742, 0.2827258, 0.0000000, 0.3268063, 0.6731937, 0.0000000, 0.0000000,
    0.9931439, 0.0000000, 0.0000000, 0.7018387, 0.0000000, 0.0000000, 0.4433379, 0.0000000, 0.0000000, 0.2109953,
    0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000,
    0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000, 0.0000000,
    0.0000000,
];

#[test]
fn mel_filterbank_matches_numpy() {
    let check = |got: Tensor, want: &[f64], shape: &[usize]| {
        assert_eq!(got.shape(), shape);
        for (i, (g, w)) in got.to_vec().iter().zip(want).enumerate() {
            assert!((*g as f64 - w).abs() < 1e-6, "weight {i}: {g} vs {w}");
        }
    };
    check(mel_filterbank(4, 9, 8000.0, 20.0, 4000.0).unwrap(), &FILTERBANK_4_9, &[9, 4]);
    check(mel_filterbank(3, 17, 16000.0, 300.0, 5000.0).unwrap(), &FILTERBANK_3_17, &[17, 3]);
}

// Reference log-mel: Keras MelSpectrogram's steps (ops.stft with center=True, a periodic Hann
// window of sequence_length centred in fft_length, |X|^2, the filterbank above, power_to_db),
// in numpy (float64), with `filterbank` as in the comment above:
//   n = np.arange(64)
//   x = np.sin(2*np.pi*440*n/8000) + 0.5*np.sin(2*np.pi*1500*n/8000) + 0.1*((n*7919) % 13 / 13 - 0.5)
//   fft, seq, stride = 32, 24, 16
//   xp = np.pad(x, fft // 2, mode="reflect")
//   win = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(seq) / seq)
//   l = (fft - seq) // 2; win = np.pad(win, [l, fft - seq - l])
//   frames = np.stack([xp[t:t + fft] * win for t in range(0, len(xp) - fft + 1, stride)])
//   power = np.abs(np.fft.rfft(frames, n=fft)) ** 2
//   mel = power @ filterbank(6, fft // 2 + 1, 8000.0, 20.0, 4000.0)
//   db = 10 * np.log10(np.maximum(mel, 1e-10)) - 10 * np.log10(max(1.0, 1e-10))
//   np.maximum(db, db.max() - top)      # top = 80.0, then 20.0
const LOG_MEL_TOP_80: [f32; 30] = [
    15.21415, 5.07181, 3.22162, 4.46643, 9.31563, 3.32366, 14.21466, 15.65452, 9.55575, 11.29329, 6.24970, -17.07765,
    14.04357, 15.48974, 9.01190, 10.55991, 6.08222, -16.93403, 14.16175, 15.64596, 9.41620, 11.44555, 6.47237,
    -16.55653, 15.05501, 7.39310, 11.76349, 13.18034, 5.52503, -20.76966,
];
const LOG_MEL_TOP_20: [f32; 30] = [
    15.21415, 5.07181, 3.22162, 4.46643, 9.31563, 3.32366, 14.21466, 15.65452, 9.55575, 11.29329, 6.24970, -4.34548,
    14.04357, 15.48974, 9.01190, 10.55991, 6.08222, -4.34548, 14.16175, 15.64596, 9.41620, 11.44555, 6.47237, -4.34548,
    15.05501, 7.39310, 11.76349, 13.18034, 5.52503, -4.34548,
];

fn reference_signal() -> Tensor {
    Tensor::from_fn(&[1, 64], |i| {
        let n = i[1] as f64;
        let noise = ((i[1] * 7919) % 13) as f64 / 13.0 - 0.5;
        ((2.0 * PI * 440.0 * n / 8000.0).sin() + 0.5 * (2.0 * PI * 1500.0 * n / 8000.0).sin() + 0.1 * noise) as f32
    })
}

fn reference_options(top_db: f32) -> MelOptions {
    MelOptions {
        fft_length: 32,
        sequence_length: Some(24),
        sequence_stride: 16,
        sampling_rate: 8000,
        num_mel_bins: 6,
        top_db: Some(top_db),
        ..Default::default()
    }
}

#[test]
fn log_mel_matches_numpy() {
    for (top_db, want) in [(80.0, LOG_MEL_TOP_80), (20.0, LOG_MEL_TOP_20)] {
        let got = mel_spectrogram(&reference_signal(), &reference_options(top_db)).unwrap();
        assert_eq!(got.shape(), &[1, 5, 6]);
        for (i, (g, w)) in got.to_vec().iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 2e-3, "top_db {top_db}, value {i}: {g} vs {w}");
        }
    }
}

#[test]
fn mel_without_db_is_the_linear_mel_power_and_mag_exp_1_its_magnitude() {
    let linear = MelOptions { power_to_db: false, ..reference_options(80.0) };
    let got = mel_spectrogram(&reference_signal(), &linear).unwrap().to_vec();
    // numpy: `mel` above, first frame.
    let want = [33.2212f32, 3.215, 2.09972, 2.79668, 8.54208, 2.14964];
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() < 1e-3 * w, "{g} vs {w}");
    }
    // mag_exp 1: the filterbank applied to magnitudes, i.e. the STFT's magnitude times the weights.
    let magnitude = MelOptions { mag_exp: 1.0, ..linear.clone() };
    let got = mel_spectrogram(&reference_signal(), &magnitude).unwrap().to_vec();
    let spec = stft(&reference_signal(), &MelOptions { ..linear }.stft_options()).unwrap().to_vec();
    let w = mel_filterbank(6, 17, 8000.0, 20.0, 4000.0).unwrap().to_vec();
    for t in 0..5 {
        for m in 0..6 {
            let want: f32 = (0..17).map(|k| spec[t * 17 + k].sqrt() * w[k * 6 + m]).sum();
            assert!((got[t * 6 + m] - want).abs() < 1e-4 * (1.0 + want), "frame {t} band {m}");
        }
    }
}

#[test]
fn dct_matches_its_formula_and_is_orthonormal() {
    let x = Tensor::rand_uniform(&[2, 3, 12], -5.0, 5.0, &mut seeded_rng(11));
    let y = dct(&x, 7).unwrap();
    assert_eq!(y.shape(), &[2, 3, 7]);
    let (xs, ys) = (x.to_vec(), y.to_vec());
    for row in 0..6 {
        for k in 0..7 {
            let s = if k == 0 { (1.0f64 / 12.0).sqrt() } else { (2.0f64 / 12.0).sqrt() };
            let want: f64 = s
                * (0..12)
                    .map(|i| xs[row * 12 + i] as f64 * (PI * k as f64 * (2 * i + 1) as f64 / 24.0).cos())
                    .sum::<f64>();
            assert!((ys[row * 7 + k] as f64 - want).abs() < 1e-4, "row {row} k {k}");
        }
    }
    // The full transform keeps the norm (orthonormal, as scipy's norm="ortho").
    let full = dct(&x, 12).unwrap().to_vec();
    let norm = |v: &[f32]| v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>();
    assert!((norm(&full) - norm(&xs)).abs() < 1e-3 * norm(&xs));
}

#[test]
fn mfcc_is_the_dct_of_the_log_mel() {
    let x = Tensor::rand_uniform(&[2, 400], -1.0, 1.0, &mut seeded_rng(5));
    let mel =
        MelOptions { fft_length: 64, sequence_stride: 32, sampling_rate: 8000, num_mel_bins: 16, ..Default::default() };
    let options = MfccOptions { mel: mel.clone(), num_mfcc: 5 };
    let got = mfcc(&x, &options).unwrap();
    let want = dct(&mel_spectrogram(&x, &mel).unwrap(), 5).unwrap();
    assert_eq!(got.shape(), &[2, 13, 5]);
    assert!(got.allclose(&want, 1e-5, 1e-4));
}

#[test]
fn bad_arguments_are_errors_naming_them() {
    let x = Tensor::zeros(&[2, 100]);
    let err = |r: crate::Result<Tensor>| r.unwrap_err().to_string();
    let stft_with = |o: StftOptions| err(stft(&x, &o));
    assert!(stft_with(StftOptions { frame_length: 200, ..Default::default() }).contains("stft: frame_length"));
    assert!(
        stft_with(StftOptions { frame_length: 64, fft_length: Some(32), ..Default::default() }).contains("fft_length")
    );
    assert!(stft_with(StftOptions { frame_length: 0, ..Default::default() }).contains("frame_length"));
    assert!(
        stft_with(StftOptions { frame_length: 8, frame_step: Some(0), ..Default::default() }).contains("frame_step")
    );
    assert!(err(stft(&Tensor::zeros(&[2, 3, 4]), &StftOptions::default())).contains("[batch, samples]"));
    let mel_with = |o: MelOptions| err(mel_spectrogram(&x, &MelOptions { fft_length: 64, sequence_stride: 16, ..o }));
    assert!(mel_with(MelOptions { num_mel_bins: 0, ..Default::default() }).contains("num_mel_bins"));
    assert!(
        mel_with(MelOptions { min_freq: 5000.0, max_freq: Some(4000.0), ..Default::default() }).contains("max_freq")
    );
    assert!(
        mel_with(MelOptions { sampling_rate: 8000, max_freq: Some(4100.0), ..Default::default() }).contains("Nyquist")
    );
    assert!(mel_with(MelOptions { sequence_length: Some(100), ..Default::default() }).contains("fft_length"));
    assert!(mel_with(MelOptions { min_power: 0.0, ..Default::default() }).contains("min_power"));
    let too_short = MelOptions { fft_length: 256, ..Default::default() };
    assert!(err(mel_spectrogram(&x, &too_short)).contains("mel_spectrogram: fft_length"));
    let mfcc_with = |n| {
        err(mfcc(
            &x,
            &MfccOptions { mel: MelOptions { fft_length: 64, num_mel_bins: 8, ..Default::default() }, num_mfcc: n },
        ))
    };
    assert!(mfcc_with(0).contains("num_mfcc"));
    assert!(mfcc_with(9).contains("num_mfcc"));
    assert!(mel_filterbank(4, 1, 8000.0, 0.0, 4000.0).is_err());
    assert!(dct(&x, 101).is_err());
}

#[test]
fn mel_without_center_frames_inside_the_signal() {
    let x = Tensor::rand_uniform(&[2, 8000], -1.0, 1.0, &mut seeded_rng(8));
    let o = MelOptions {
        fft_length: 256,
        sequence_length: Some(200),
        sequence_stride: 80,
        sampling_rate: 8000,
        num_mel_bins: 40,
        power_to_db: false,
        center: false,
        ..Default::default()
    };
    let got = mel_spectrogram(&x, &o).unwrap();
    assert_eq!(got.shape(), &[2, 98, 40]); // (8000 - 200) / 80 + 1, as a sliding window
                                           // The composition: a valid periodic-Hann power STFT times the filterbank.
    let power = StftOptions {
        mode: SpectrumMode::Power,
        frame_length: 200,
        frame_step: Some(80),
        fft_length: Some(256),
        periodic: true,
        scaling: Scaling::None,
        ..Default::default()
    };
    let spec = stft(&x, &power).unwrap().reshape_to(&[2 * 98, 129]);
    let want = spec.matmul(&mel_filterbank(40, 129, 8000.0, 20.0, 4000.0).unwrap()).reshape_to(&[2, 98, 40]);
    assert!(got.allclose(&want, 1e-4, 1e-6));
    let short = mel_spectrogram(&Tensor::zeros(&[1, 150]), &o).unwrap_err().to_string();
    assert!(short.contains("mel_spectrogram: sequence_length"), "{short}");
}
