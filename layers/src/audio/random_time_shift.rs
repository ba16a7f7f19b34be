//! [`RandomTimeShift`]: shifts each waveform in time by a random number of samples, in training only.

use super::{audio_layer_common, audio_layer_methods, waveform_samples};
use crate::layer::{Ctx, Layer};
use crate::Shape;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use rand::Rng as _;
use serde::{Deserialize, Serialize};

/// The largest shift of [`RandomTimeShift`], either way.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Shift {
    /// A fraction of the clip's length, in `[0, 1]` (rounded to whole samples).
    Fraction(f32),
    /// A number of samples, at most the clip's length.
    Samples(usize),
}

/// What fills the samples a shift uncovers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShiftFill {
    /// Silence (the default).
    #[default]
    Zeros,
    /// The samples shifted out at the other end (a circular shift, `numpy.roll`).
    Roll,
}

/// The configuration of a [`RandomTimeShift`] layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RandomTimeShiftConfig {
    /// Layer name.
    pub name: String,
    /// The largest shift, either way.
    pub max_shift: Shift,
    /// What fills the uncovered samples (default zeros).
    #[serde(default)]
    pub fill: ShiftFill,
    /// Optional declared per-sample input shape.
    #[serde(default)]
    pub input_shape: Option<Shape>,
}

/// In training, shifts each waveform of the batch by its own whole number of samples, drawn
/// uniformly in `[-max_shift, max_shift]` (positive: later), filling the uncovered samples with
/// zeros or rolling them round; the identity in inference. The shift is a gather, so gradients
/// pass through to earlier layers.
///
/// # Shapes
/// Input and output `[batch, samples]` or `[batch, samples, 1]`.
///
/// ```
/// use kensho_layers::{Layer, RandomTimeShift, Shift, ShiftFill};
/// let mut layer = RandomTimeShift::new(Shift::Fraction(0.1)).fill(ShiftFill::Roll);
/// assert_eq!(layer.build(&[8000].into(), &mut kensho_core::seeded_rng(0))?, vec![8000]);
/// assert!(RandomTimeShift::new(Shift::Samples(9000)).build(&[8000].into(), &mut kensho_core::seeded_rng(0)).is_err());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct RandomTimeShift {
    config: RandomTimeShiftConfig,
}

impl RandomTimeShift {
    /// A layer shifting by up to `max_shift` either way, filling with zeros.
    pub fn new(max_shift: Shift) -> RandomTimeShift {
        RandomTimeShift::from_config(RandomTimeShiftConfig {
            name: String::new(),
            max_shift,
            fill: ShiftFill::Zeros,
            input_shape: None,
        })
    }

    /// What fills the uncovered samples.
    pub fn fill(mut self, fill: ShiftFill) -> RandomTimeShift {
        self.config.fill = fill;
        self
    }

    /// The largest shift in samples for clips of `samples` samples.
    fn max_samples(&self, samples: usize) -> usize {
        match self.config.max_shift {
            Shift::Fraction(f) => ((f * samples as f32).round() as usize).min(samples),
            Shift::Samples(s) => s.min(samples),
        }
    }
}

audio_layer_common!(RandomTimeShift, RandomTimeShiftConfig);

impl Layer for RandomTimeShift {
    audio_layer_methods!(RandomTimeShift);

    fn kind(&self) -> &'static str {
        "RandomTimeShift"
    }

    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> Result<Shape> {
        let owner = format!("RandomTimeShift \"{}\"", self.config.name);
        let samples = waveform_samples(&owner, input_shape)?;
        let fits = match self.config.max_shift {
            Shift::Fraction(f) => f.is_finite() && (0.0..=1.0).contains(&f),
            Shift::Samples(s) => s <= samples,
        };
        if !fits {
            return Err(Error::invalid(
                format!("{owner}: max_shift"),
                format!("{:?}", self.config.max_shift),
                format!("a fraction in [0, 1] or at most the clip's {samples} samples"),
            ));
        }
        Ok(input_shape.clone())
    }

    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        let shape = x.shape();
        let (batch, n) = (shape[0], shape[1]);
        let max = self.max_samples(n) as i64;
        if !cx.training || max == 0 || batch == 0 {
            return x;
        }
        let shifts: Vec<i64> = {
            let mut rng = cx.rng.borrow_mut();
            (0..batch).map(|_| rng.random_range(-max..=max)).collect()
        };
        if shifts.iter().all(|&s| s == 0) {
            return x;
        }
        let mut index = Vec::with_capacity(batch * n);
        let mut keep = vec![1.0f32; batch * n];
        for (b, &s) in shifts.iter().enumerate() {
            for i in 0..n {
                let source = i as i64 - s;
                let inside = (0..n as i64).contains(&source);
                let source = match self.config.fill {
                    ShiftFill::Roll => source.rem_euclid(n as i64) as usize,
                    ShiftFill::Zeros if inside => source as usize,
                    ShiftFill::Zeros => {
                        keep[b * n + i] = 0.0;
                        i
                    }
                };
                index.push(b * n + source);
            }
        }
        let shifted = x.reshape(&[batch * n]).index_select(0, &index);
        let shifted = match self.config.fill {
            ShiftFill::Roll => shifted,
            ShiftFill::Zeros => {
                let keep = Tensor::from_vec(keep, &[batch * n]).expect("one flag per sample");
                shifted.mul(cx.tape.constant(keep))
            }
        };
        shifted.reshape(&shape)
    }
}
