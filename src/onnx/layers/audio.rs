//! ONNX export of the audio layers. The feature layers (`STFTSpectrogram`, `MelSpectrogram`,
//! `MFCC`) become constant-index framing (`Gather`, reflections and zero padding resolved at
//! export time), a DFT as two `MatMul`s with constant matrices (the window, its scaling and the
//! frame's place in the FFT buffer folded in), then the layer's own steps: the spectrum mode,
//! the mel filterbank and the DCT as `MatMul`s with the matrices kensho's own functions make
//! (`mel_filterbank`, `dct`), decibels and the per-clip `top_db` floor. (The augmentations,
//! `RandomTimeShift`, `RandomNoise` and `SpecAugment`, are the identity at inference: the
//! dispatch passes their input on.)
//!
//! Why products and not ONNX's `DFT` operator: ONNX Runtime's `DFT` is as close as the products
//! for power-of-two lengths, but for others (an FFT of 96 or 100) it was measured 1.6e-3 away
//! from kensho's FFT, where the products stay within 2e-4 on values in the tens; one lowering
//! for every length keeps the file correct. The cost is the two `[frame_length, bins]`
//! matrices in the file (16 MB at Keras' `MelSpectrogram` defaults, an FFT of 2048).

use super::{unsqueeze, unsupported, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_core::audio::{dct, mel_filterbank, FramePadding, MelOptions, Scaling, SpectrumMode, StftOptions, Window};
use kensho_core::{Result, Tensor};
use kensho_layers::{Layer, Shape};

/// Keras' `backend.epsilon()`, the floor of the magnitude in kensho's STFT modes.
const EPSILON: f32 = 1e-7;

/// The samples per clip of a waveform input of per-sample shape `[samples]` or `[samples, 1]`.
fn samples(layer: &dyn Layer, input: &Shape) -> Result<usize> {
    match input.dims() {
        [Some(n)] | [Some(n), Some(1)] => Ok(*n),
        _ => Err(unsupported(
            layer,
            &format!("its input {input} is not a waveform of a known length, [samples] or [samples, 1]"),
        )),
    }
}

/// Where each frame's samples come from: per frame `t` and window position `i`, the index into
/// the signal, or `None` for a zero of the padding; and the window's offset in the FFT buffer.
fn frame_sources(options: &StftOptions, samples: usize) -> (Vec<Vec<Option<usize>>>, usize) {
    let (length, step, fft) = (options.frame_length, options.step(), options.fft_size());
    let (frames, pad_left, offset, reflect) = match options.padding {
        FramePadding::Valid => ((samples - length) / step + 1, 0, 0, false),
        FramePadding::Same => {
            let frames = samples.div_ceil(step);
            let total = ((frames - 1) * step + length).saturating_sub(samples);
            (frames, total / 2, 0, false)
        }
        FramePadding::Center => {
            let pad = fft / 2;
            ((samples + 2 * pad - fft) / step + 1, pad, (fft - length) / 2, true)
        }
    };
    let n = samples as isize;
    let source = |t: usize, i: usize| {
        let k = (t * step + offset + i) as isize - pad_left as isize;
        match (reflect, k < 0, k >= n) {
            (_, false, false) => Some(k as usize),
            (true, true, _) => Some((-k) as usize),
            (true, _, true) => Some((2 * (n - 1) - k) as usize),
            (false, _, _) => None,
        }
    };
    ((0..frames).map(|t| (0..length).map(|i| source(t, i)).collect()).collect(), offset)
}

/// The window as kensho's STFT applies it: its values divided by the scaling's norm.
fn scaled_window(options: &StftOptions) -> Vec<f64> {
    let window = options.window.values(options.frame_length, options.periodic);
    let norm = match (options.window, options.scaling) {
        (Window::None, _) | (_, Scaling::None) => 1.0,
        (_, Scaling::Density) => window.iter().map(|w| w * w).sum::<f32>().sqrt(),
        (_, Scaling::Spectrum) => window.iter().map(|w| w.abs()).sum::<f32>(),
    };
    window.iter().map(|&w| (w / norm) as f64).collect()
}

/// The real and imaginary parts of the STFT of the waveform `x`, each `[batch, frames, bins]`;
/// the DFT matrices are named after `layer` (`stft.dft_real`).
fn spectrum(g: &mut OnnxGraph, layer: &dyn Layer, x: &Value, samples: usize, options: &StftOptions) -> [String; 2] {
    let (x, input) = (x.name.as_str(), &x.shape);
    let flat = g.ints("waveform_shape", &[0, samples as i64]);
    let signal = if input.rank() == 2 { g.op("Reshape", &[x, &flat], vec![]) } else { x.to_string() };
    let (sources, offset) = frame_sources(options, samples);
    let padded = sources.iter().flatten().any(Option::is_none);
    let signal = if padded {
        let pads = g.ints("pads", &[0, 0, 0, 1]);
        g.op("Pad", &[&signal, &pads], vec![])
    } else {
        signal
    };
    let indices: Vec<i64> = sources.iter().flatten().map(|s| s.unwrap_or(samples) as i64).collect();
    let indices = g.ints("frame_indices", &indices);
    let gathered = g.op("Gather", &[&signal, &indices], vec![Attr::int("axis", 1)]);
    let framed = g.ints("frames_shape", &[0, sources.len() as i64, options.frame_length as i64]);
    let frames = g.op("Reshape", &[&gathered, &framed], vec![]);
    let (fft, bins, window) = (options.fft_size(), options.bins(), scaled_window(options));
    let matrix = |part: fn(f64) -> f64| {
        Tensor::from_fn(&[options.frame_length, bins], |ix| {
            let angle = 2.0 * std::f64::consts::PI * (ix[1] * (offset + ix[0]) % fft) as f64 / fft as f64;
            (window[ix[0]] * part(angle)) as f32
        })
    };
    let (cos, sin) = (matrix(f64::cos), matrix(|a| -a.sin()));
    [("dft_real", cos), ("dft_imag", sin)].map(|(name, m)| {
        let m = g.weight(&format!("{}.{name}", layer.name()), &m);
        g.op("MatMul", &[&frames, &m], vec![])
    })
}

/// `re² + im²`.
fn power(g: &mut OnnxGraph, [re, im]: &[String; 2]) -> String {
    let re2 = g.op("Mul", &[re, re], vec![]);
    let im2 = g.op("Mul", &[im, im], vec![]);
    g.op("Add", &[&re2, &im2], vec![])
}

/// `y` with a channel axis if `expand_dims`.
fn channel(g: &mut OnnxGraph, y: String, expand_dims: bool) -> String {
    if !expand_dims {
        return y;
    }
    unsqueeze(g, &y, &[-1])
}

/// `STFTSpectrogram`: the STFT in the layer's mode (every mode but `angle`, for which ONNX
/// opset 17 has no `atan2`).
pub(crate) fn stft_spectrogram(
    layer: &dyn Layer,
    options: &StftOptions,
    expand_dims: bool,
    x: &Value,
    output: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let n = samples(layer, &x.shape)?;
    if options.mode == SpectrumMode::Angle {
        return Err(unsupported(layer, "its mode angle (the phase) needs atan2, which ONNX opset 17 lacks"));
    }
    let parts = spectrum(g, layer, x, n, options);
    let eps = g.scalar("epsilon", EPSILON);
    let y = match options.mode {
        SpectrumMode::Real => parts[0].clone(),
        SpectrumMode::Imag => parts[1].clone(),
        SpectrumMode::Power => power(g, &parts),
        SpectrumMode::Psd => {
            let bins = options.bins();
            let doubled = Tensor::from_fn(&[bins], |i| if i[0] == 0 || i[0] == bins - 1 { 1.0 } else { 2.0 });
            let doubled = g.weight(&format!("{}.psd_factor", layer.name()), &doubled);
            let p = power(g, &parts);
            g.op("Mul", &[&p, &doubled], vec![])
        }
        _ => {
            let p = power(g, &parts);
            let floored = g.op("Max", &[&p, &eps], vec![]);
            let magnitude = g.op("Sqrt", &[&floored], vec![]);
            if options.mode == SpectrumMode::Magnitude {
                magnitude
            } else {
                let floored = g.op("Max", &[&magnitude, &eps], vec![]);
                g.op("Log", &[&floored], vec![])
            }
        }
    };
    let name = channel(g, y, expand_dims);
    Ok(vec![Value { name, shape: output.clone(), mask: None }])
}

/// The (log-)mel spectrogram `[batch, frames, bands]` of the waveform input, as kensho's
/// `mel_spectrogram`.
fn mel(layer: &dyn Layer, options: &MelOptions, input: &Value, g: &mut OnnxGraph) -> Result<String> {
    let n = samples(layer, &input.shape)?;
    let stft = options.stft_options();
    let parts = spectrum(g, layer, input, n, &stft);
    let mut p = power(g, &parts);
    if options.mag_exp != 2.0 {
        let exponent = g.scalar("half_mag_exp", options.mag_exp / 2.0);
        p = g.op("Pow", &[&p, &exponent], vec![]);
    }
    let bins = stft.bins();
    let rate = options.sampling_rate as f32;
    let bank = mel_filterbank(options.num_mel_bins, bins.max(2), rate, options.min_freq, options.upper_freq())?;
    let bank = g.weight(&format!("{}.mel_filterbank", layer.name()), &bank.slice_axis(0, 0, bins).to_contiguous());
    let mut y = g.op("MatMul", &[&p, &bank], vec![]);
    if options.power_to_db {
        let floor = g.scalar("min_power", options.min_power);
        let floored = g.op("Max", &[&y, &floor], vec![]);
        let ln = g.op("Log", &[&floored], vec![]);
        let to_db = g.scalar("ten_over_ln10", 10.0 / std::f32::consts::LN_10);
        let db = g.op("Mul", &[&ln, &to_db], vec![]);
        let reference = g.scalar("reference_db", 10.0 * options.ref_power.abs().max(options.min_power).log10());
        y = g.op("Sub", &[&db, &reference], vec![]);
        if let Some(top_db) = options.top_db {
            let max = g.op("ReduceMax", &[&y], vec![Attr::ints("axes", &[1, 2]), Attr::int("keepdims", 1)]);
            let top = g.scalar("top_db", top_db);
            let floor = g.op("Sub", &[&max, &top], vec![]);
            y = g.op("Max", &[&y, &floor], vec![]);
        }
    }
    Ok(y)
}

/// `MelSpectrogram`.
pub(crate) fn mel_spectrogram(
    layer: &dyn Layer,
    options: &MelOptions,
    expand_dims: bool,
    x: &Value,
    output: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let y = mel(layer, options, x, g)?;
    let name = channel(g, y, expand_dims);
    Ok(vec![Value { name, shape: output.clone(), mask: None }])
}

/// `MFCC`: the mel spectrogram times the first `num_mfcc` rows of the orthonormal DCT-II
/// (the matrix made by `dct` of the identity).
pub(crate) fn mfcc(
    layer: &dyn Layer,
    options: &kensho_core::audio::MfccOptions,
    expand_dims: bool,
    x: &Value,
    output: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let y = mel(layer, &options.mel, x, g)?;
    let matrix = dct(&Tensor::eye(options.mel.num_mel_bins), options.num_mfcc)?;
    let matrix = g.weight(&format!("{}.dct", layer.name()), &matrix);
    let y = g.op("MatMul", &[&y, &matrix], vec![]);
    let name = channel(g, y, expand_dims);
    Ok(vec![Value { name, shape: output.clone(), mask: None }])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of 4 every 2 over 5 samples, with `padding` and an FFT of `fft`.
    fn sources(padding: FramePadding, fft: usize) -> (Vec<Vec<Option<usize>>>, usize) {
        let options =
            StftOptions { frame_length: 4, frame_step: Some(2), fft_length: Some(fft), padding, ..Default::default() };
        frame_sources(&options, 5)
    }

    #[test]
    fn frames_read_the_samples_kensho_frames() {
        let some = |v: &[usize]| v.iter().map(|&i| Some(i)).collect::<Vec<_>>();
        // Valid: only frames inside the signal.
        assert_eq!(sources(FramePadding::Valid, 4), (vec![some(&[0, 1, 2, 3])], 0));
        // Same: 3 frames, one zero before the signal (the smaller half) and two after.
        let (same, _) = sources(FramePadding::Same, 4);
        assert_eq!(
            same,
            [vec![None, Some(0), Some(1), Some(2)], some(&[1, 2, 3, 4]), vec![Some(3), Some(4), None, None]]
        );
        // Center: 2 samples reflected at each end without repeating the edge (numpy's reflect).
        assert_eq!(
            sources(FramePadding::Center, 4),
            (vec![some(&[2, 1, 0, 1]), some(&[0, 1, 2, 3]), some(&[2, 3, 4, 3])], 0)
        );
        // Center with an FFT of 6: frames of 6 padded by 3, the window in the middle (offset 1).
        let (center, offset) = sources(FramePadding::Center, 6);
        assert_eq!((center[0].clone(), offset), (some(&[2, 1, 0, 1]), 1));
    }
}
