//! [`RandomNoise`]: mixes white noise into each clip at a random signal-to-noise ratio, in
//! training only.

use super::{audio_layer_common, audio_layer_methods};
use crate::layer::{Ctx, Layer};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// The configuration of a [`RandomNoise`] layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomNoiseConfig {
    /// Layer name.
    pub name: String,
    /// The lowest signal-to-noise ratio, in decibels.
    pub min_snr_db: f32,
    /// The highest signal-to-noise ratio, in decibels.
    pub max_snr_db: f32,
    /// Optional declared per-sample input shape.
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// In training, adds white Gaussian noise to each clip of the batch at its own signal-to-noise
/// ratio, drawn uniformly in `[min_snr_db, max_snr_db]` decibels: the noise's variance is the
/// clip's mean power `mean(x²)` divided by `10^(snr / 10)`. A silent clip stays silent. The
/// identity in inference; gradients pass through unchanged (the noise is a constant).
///
/// # Shapes
/// Input and output `[batch, ...]` (each row of the first axis is one clip), typically
/// `[batch, samples]` or `[batch, samples, 1]`.
///
/// ```
/// use kensho_layers::{Layer, RandomNoise};
/// let mut layer = RandomNoise::new(0.0, 20.0);
/// assert_eq!(layer.build(&[8000].into(), &mut kensho_core::seeded_rng(0))?, vec![8000]);
/// assert!(RandomNoise::new(20.0, 0.0).build(&[8000].into(), &mut kensho_core::seeded_rng(0)).is_err());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RandomNoise {
    config: RandomNoiseConfig,
}

impl RandomNoise {
    /// A layer mixing in noise at `min_snr_db` to `max_snr_db` decibels below each clip.
    pub fn new(min_snr_db: f32, max_snr_db: f32) -> RandomNoise {
        RandomNoise::from_config(RandomNoiseConfig { name: String::new(), min_snr_db, max_snr_db, input_shape: None })
    }
}

audio_layer_common!(RandomNoise, RandomNoiseConfig);

impl Layer for RandomNoise {
    audio_layer_methods!(RandomNoise);

    fn kind(&self) -> &'static str {
        "RandomNoise"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let (low, high) = (self.config.min_snr_db, self.config.max_snr_db);
        if !(low.is_finite() && high.is_finite() && low <= high) {
            return Err(Error::invalid(
                format!("RandomNoise \"{}\": min_snr_db, max_snr_db", self.config.name),
                format!("({low}, {high})"),
                "two finite numbers of decibels, min_snr_db <= max_snr_db",
            ));
        }
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        if !cx.training || x.value().is_empty() {
            return x;
        }
        let value = x.value();
        let batch = value.shape()[0];
        let per = value.len() / batch.max(1);
        let signal = value.to_contiguous();
        let mut rng = cx.rng.borrow_mut();
        let mut noise = Tensor::rand_normal(value.shape(), 0.0, 1.0, &mut rng);
        let (low, high) = (self.config.min_snr_db, self.config.max_snr_db);
        let signal = signal.as_slice().expect("contiguous");
        for (clip, noise) in signal.chunks(per).zip(noise.as_mut_slice().chunks_mut(per)) {
            let power = clip.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / per as f64;
            let snr = low + (high - low) * rng.random::<f32>();
            let std = (power / 10f64.powf(snr as f64 / 10.0)).sqrt() as f32;
            noise.iter_mut().for_each(|v| *v *= std);
        }
        x.add(cx.tape.constant(noise))
    }
}
