//! `Audio::resample`: the length Keras gives, and a tone keeps its frequency (its DFT peak)
//! up and down in rate.

use kensho_data::audio::Audio;

/// `seconds` of a sine of `hz` at `rate`, amplitude 0.5.
fn tone(hz: f64, rate: u32, seconds: f64) -> Audio {
    let n = (seconds * f64::from(rate)) as usize;
    let samples =
        (0..n).map(|i| (0.5 * (std::f64::consts::TAU * hz * i as f64 / f64::from(rate)).sin()) as f32).collect();
    Audio::new(samples, 1, rate).unwrap()
}

/// The frequency (Hz) of the largest bin of a plain DFT of `clip` (bins `rate / frames` Hz
/// apart), with the twiddle factors from one table of `frames` angles.
fn peak_hz(clip: &Audio) -> f64 {
    let n = clip.frames();
    let (cos, sin): (Vec<f64>, Vec<f64>) =
        (0..n).map(|j| std::f64::consts::TAU * j as f64 / n as f64).map(|a| (a.cos(), a.sin())).unzip();
    let power = |k: usize| {
        let (mut re, mut im) = (0.0f64, 0.0f64);
        for (i, &x) in clip.samples.iter().enumerate() {
            let j = k * i % n;
            re += f64::from(x) * cos[j];
            im -= f64::from(x) * sin[j];
        }
        re * re + im * im
    };
    let powers: Vec<f64> = (0..n / 2).map(power).collect();
    let best = (1..n / 2).max_by(|&a, &b| powers[a].total_cmp(&powers[b])).unwrap();
    best as f64 * f64::from(clip.sample_rate) / n as f64
}

#[test]
fn a_tone_keeps_its_frequency_and_the_clip_its_duration() {
    for (hz, from, to) in
        [(440.0, 8000, 16_000), (440.0, 16_000, 8000), (1000.0, 44_100, 16_000), (300.0, 8000, 11_025)]
    {
        let clip = tone(hz, from, 0.25).resample(to).unwrap();
        assert_eq!(clip.sample_rate, to);
        assert_eq!(clip.frames(), (f64::from(to) * 0.25).round() as usize);
        let bin = f64::from(to) / clip.frames() as f64;
        assert!((peak_hz(&clip) - hz).abs() < bin, "{from} -> {to} Hz: peak at {} Hz", peak_hz(&clip));
        // The level is kept away from the edges (the sine is still about 0.5 high).
        let middle = &clip.samples[clip.frames() / 4..clip.frames() * 3 / 4];
        let top = middle.iter().fold(0.0f32, |m, &x| m.max(x.abs()));
        assert!((top - 0.5).abs() < 0.02, "{from} -> {to} Hz: peak {top}");
    }
}

#[test]
fn content_above_the_new_nyquist_frequency_is_filtered_out() {
    // 3 kHz cannot exist at 4 kHz: resampled, it must vanish rather than fold back to 1 kHz.
    let clip = tone(3000.0, 16_000, 0.5).resample(4000).unwrap();
    let rms = (clip.samples.iter().map(|x| x * x).sum::<f32>() / clip.frames() as f32).sqrt();
    assert!(rms < 0.01, "rms {rms}");
}

#[test]
fn lengths_round_as_keras_and_channels_resample_together() {
    let stereo = Audio::new((0..2 * 1001).map(|i| if i % 2 == 0 { 0.25 } else { -0.25 }).collect(), 2, 8000).unwrap();
    let up = stereo.resample(22_050).unwrap();
    assert_eq!((up.frames(), up.channels), (2759, 2)); // round(1001 * 22050 / 8000) = round(2758.99)
    let middle = up.frames() / 2;
    assert!((up.samples[2 * middle] - 0.25).abs() < 1e-3 && (up.samples[2 * middle + 1] + 0.25).abs() < 1e-3);
    assert_eq!(stereo.resample(8000).unwrap(), stereo);
    assert_eq!(Audio::new(vec![], 1, 8000).unwrap().resample(16_000).unwrap().frames(), 0);
    assert!(stereo.resample(0).is_err());
    assert!(stereo.resample(kensho_data::audio::MAX_RESAMPLE_RATE + 1).is_err());
    let absurd = Audio::new(vec![0.0; 4], 1, 3_000_000_000).unwrap();
    assert!(absurd.resample(16_000).is_err());
}
