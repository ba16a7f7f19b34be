//! [`SpecAugment`]: masks random bands of frequencies and spans of frames of each spectrogram,
//! in training only (Park et al., 2019).

use super::{audio_layer_common, audio_layer_methods};
use crate::layer::{Ctx, Layer};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// What a [`SpecAugment`] mask is filled with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskFill {
    /// Zero (the default, as torchaudio's `mask_value`).
    #[default]
    Zero,
    /// The mean of the clip's spectrogram (Park et al. mask with the mean, which is zero on
    /// their normalised features).
    Mean,
}

fn one() -> usize {
    1
}

/// The configuration of a [`SpecAugment`] layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpecAugmentConfig {
    /// Layer name.
    pub name: String,
    /// F: each frequency mask covers `f` bins, `f` uniform in `[0, F]`.
    pub freq_mask_param: usize,
    /// T: each time mask covers `t` frames, `t` uniform in `[0, T]`.
    pub time_mask_param: usize,
    /// Frequency masks per clip (default 1).
    #[serde(default = "one")]
    pub num_freq_masks: usize,
    /// Time masks per clip (default 1).
    #[serde(default = "one")]
    pub num_time_masks: usize,
    /// What the masks are filled with (default zero).
    #[serde(default)]
    pub fill: MaskFill,
    /// Optional declared per-sample input shape.
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// In training, masks each spectrogram of the batch as SpecAugment (Park et al., 2019) does:
/// `num_freq_masks` bands of `f` consecutive bins, `f` uniform in `[0, freq_mask_param]`
/// starting uniformly in `[0, bins - f]`, and `num_time_masks` spans of `t` consecutive frames,
/// `t` uniform in `[0, time_mask_param]` starting in `[0, frames - t]`, each clip with its own
/// masks, filled with zero or the clip's mean. The identity in inference. Masks may overlap.
/// Gradients pass through the unmasked values (the mean fill is taken as a constant).
///
/// Not done: the paper's time warping, and its cap of a time mask at a fraction `p` of the
/// frames (choose `time_mask_param` for your clip length instead).
///
/// # Shapes
/// Input and output `[batch, frames, bins]` or `[batch, frames, bins, 1]` (as the feature layers
/// give them).
///
/// ```
/// use kensho_layers::{Layer, MaskFill, SpecAugment};
/// let mut layer = SpecAugment::new(8, 10).num_time_masks(2).fill(MaskFill::Mean);
/// assert_eq!(layer.build(&[101, 40].into(), &mut kensho_core::seeded_rng(0))?, vec![101, 40]);
/// assert!(SpecAugment::new(41, 10).build(&[101, 40].into(), &mut kensho_core::seeded_rng(0)).is_err());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct SpecAugment {
    config: SpecAugmentConfig,
}

impl SpecAugment {
    /// A layer with one frequency mask of up to `freq_mask_param` bins and one time mask of
    /// up to `time_mask_param` frames per clip, filled with zero.
    pub fn new(freq_mask_param: usize, time_mask_param: usize) -> SpecAugment {
        SpecAugment::from_config(SpecAugmentConfig {
            name: String::new(),
            freq_mask_param,
            time_mask_param,
            num_freq_masks: 1,
            num_time_masks: 1,
            fill: MaskFill::Zero,
            input_shape: None,
        })
    }

    /// Frequency masks per clip.
    pub fn num_freq_masks(mut self, count: usize) -> SpecAugment {
        self.config.num_freq_masks = count;
        self
    }

    /// Time masks per clip.
    pub fn num_time_masks(mut self, count: usize) -> SpecAugment {
        self.config.num_time_masks = count;
        self
    }

    /// What the masks are filled with.
    pub fn fill(mut self, fill: MaskFill) -> SpecAugment {
        self.config.fill = fill;
        self
    }
}

/// Zeroes `count` random spans of up to `param` of the `size` positions in `keep`, position `i`
/// at `keep[i * stride]`.
fn mask_spans(rng: &mut Rng, keep: &mut [f32], size: usize, stride: usize, param: usize, count: usize) {
    for _ in 0..count {
        let width = rng.random_range(0..=param.min(size));
        let start = rng.random_range(0..=size - width);
        for i in start..start + width {
            keep[i * stride] = 0.0;
        }
    }
}

audio_layer_common!(SpecAugment, SpecAugmentConfig);

impl Layer for SpecAugment {
    audio_layer_methods!(SpecAugment);

    fn kind(&self) -> &'static str {
        "SpecAugment"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let owner = format!("SpecAugment \"{}\"", self.config.name);
        let (frames, bins) = match input_shape.dims() {
            [frames, Some(bins)] | [frames, Some(bins), Some(1)] => (*frames, *bins),
            _ => {
                return Err(Error::invalid(
                    format!("{owner} input shape"),
                    input_shape,
                    "spectrograms of per-sample shape [frames, bins] or [frames, bins, 1] with bins known \
                     (put it after MelSpectrogram, StftSpectrogram or Mfcc)",
                ))
            }
        };
        if self.config.freq_mask_param > bins {
            return Err(Error::invalid(
                format!("{owner}: freq_mask_param"),
                self.config.freq_mask_param,
                format!("at most the {bins} frequency bins"),
            ));
        }
        if let Some(frames) = frames.filter(|&f| self.config.time_mask_param > f) {
            return Err(Error::invalid(
                format!("{owner}: time_mask_param"),
                self.config.time_mask_param,
                format!("at most the {frames} frames"),
            ));
        }
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let c = &self.config;
        if !cx.training || (c.num_freq_masks * c.freq_mask_param + c.num_time_masks * c.time_mask_param) == 0 {
            return x;
        }
        let value = x.value();
        let shape = value.shape().to_vec();
        let (batch, frames, bins) = (shape[0], shape[1], shape[2]);
        let per = frames * bins;
        // One flag per clip, frame and bin; a time mask clears a row, a frequency mask a column.
        let mut keep = vec![1.0f32; batch * per];
        let mut rng = cx.rng.borrow_mut();
        for clip in keep.chunks_mut(per.max(1)) {
            let mut bands = vec![1.0f32; bins];
            mask_spans(&mut rng, &mut bands, bins, 1, c.freq_mask_param, c.num_freq_masks);
            let mut steps = vec![1.0f32; frames];
            mask_spans(&mut rng, &mut steps, frames, 1, c.time_mask_param, c.num_time_masks);
            for (t, row) in clip.chunks_mut(bins.max(1)).enumerate() {
                row.iter_mut().zip(&bands).for_each(|(k, b)| *k = b * steps[t]);
            }
        }
        drop(rng);
        let fill: Vec<f32> = match c.fill {
            MaskFill::Zero => Vec::new(),
            MaskFill::Mean => {
                let values = value.to_contiguous();
                let values = values.as_slice().expect("contiguous");
                values
                    .chunks(per.max(1))
                    .zip(keep.chunks(per.max(1)))
                    .flat_map(|(clip, keep)| {
                        let mean = clip.iter().map(|&v| v as f64).sum::<f64>() / per as f64;
                        keep.iter().map(move |k| (1.0 - k) * mean as f32)
                    })
                    .collect()
            }
        };
        let keep = Tensor::from_vec(keep, &shape).expect("one flag per value");
        let masked = x.mul(cx.tape.constant(keep));
        match fill.is_empty() {
            true => masked,
            false => masked.add(cx.tape.constant(Tensor::from_vec(fill, &shape).expect("one fill per value"))),
        }
    }
}
