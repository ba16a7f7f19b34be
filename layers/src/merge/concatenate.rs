//! [`Concatenate`]: joins its inputs along one axis (Keras' `Concatenate`).

use super::{check_count, masks, owner, shapes_text};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of a [`Concatenate`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConcatenateConfig {
    /// Layer name.
    pub name: String,
    /// The axis to join along, counted on the batched inputs: negative counts from the end
    /// (default -1, the last); 0, the batch axis, is not allowed.
    pub axis: i64,
}

impl Default for ConcatenateConfig {
    fn default() -> Self {
        ConcatenateConfig { name: String::new(), axis: -1 }
    }
}

/// Joins two or more inputs along an axis.
///
/// # Shapes
/// Inputs of one rank whose sizes agree on every axis but `axis` (an unknown size agrees with
/// any); the output has the sum of their sizes along `axis` (unknown if one is). With the
/// default axis, `[batch, 3]` and `[batch, 5]` give `[batch, 8]`.
///
/// # Masks
/// As Keras: no mask if no input has one; otherwise each input's mask (all real for an input
/// without one) is joined along `axis` like the values, then reduced over the last axis with
/// OR. Joining along a middle axis (the steps of two sequences) gives the masks joined;
/// along the last axis, the OR of the masks (all real if one input has none).
///
/// ```
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// use kensho_layers::{Concatenate, Ctx, Layer, Shape};
/// let mut concat = Concatenate::default().with_name("concatenate");
/// let out = concat.build_inputs(&[Shape::from([2, 3]), Shape::from([2, 5])], &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(out, [Shape::from([2, 8])]);
/// let tape = Tape::no_grad();
/// let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(0));
/// let a = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?);
/// let b = tape.constant(Tensor::from_vec(vec![3.0], &[1, 1])?);
/// let mut pair = Concatenate::new(1);
/// pair.build_inputs(&[Shape::from([2]), Shape::from([1])], &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(pair.call(&[a, b], &[None, None], &cx)[0].value().to_vec(), [1.0, 2.0, 3.0]);
/// // The batch axis cannot be joined.
/// assert!(Concatenate::new(0).build_inputs(&[Shape::from([2]), Shape::from([2])], &mut kensho_core::seeded_rng(0)).is_err());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Concatenate {
    config: ConcatenateConfig,
}

impl Concatenate {
    /// Joins along `axis` of the batched inputs (negative counts from the end; Keras' default
    /// is -1, as [`Concatenate::default`]).
    pub fn new(axis: i64) -> Concatenate {
        Concatenate::from_config(ConcatenateConfig { axis, ..ConcatenateConfig::default() })
    }

    /// A concatenate layer from its configuration.
    pub fn from_config(config: ConcatenateConfig) -> Concatenate {
        Concatenate { config }
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> Concatenate {
        self.set_name(name);
        self
    }

    /// The axis of batched inputs of rank `rank`, if it is one other than the batch axis.
    fn resolve_axis(&self, rank: usize) -> Option<usize> {
        let axis = self.config.axis;
        let resolved = if axis < 0 { rank as i64 + axis } else { axis };
        (1..rank as i64).contains(&resolved).then_some(resolved as usize)
    }
}

impl Layer for Concatenate {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "Concatenate"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Concatenate(self.config.clone())
    }

    fn build_inputs(&mut self, inputs: &[Shape], _rng: &mut Rng) -> Result<Vec<Shape>> {
        check_count(self, inputs, 2, usize::MAX)?;
        let mismatch = |expected: &str| {
            Error::invalid(
                format!("{} inputs", owner(self)),
                format!("per-sample shapes {}", shapes_text(inputs)),
                expected,
            )
        };
        let rank = inputs[0].rank();
        if inputs.iter().any(|s| s.rank() != rank) {
            return Err(mismatch("inputs of one rank"));
        }
        let Some(axis) = self.resolve_axis(rank + 1) else {
            return Err(Error::invalid(
                format!("{} axis", owner(self)),
                self.config.axis,
                format!(
                    "an axis of the inputs [batch, ..] (rank {}) other than the batch axis 0: 1 to {rank}, or -{rank} to -1",
                    rank + 1
                ),
            ));
        };
        let mut out = inputs[0].dims().to_vec();
        for shape in &inputs[1..] {
            for (k, (o, &d)) in out.iter_mut().zip(shape.dims()).enumerate() {
                *o = if k + 1 == axis {
                    o.zip(d).map(|(a, b)| a + b)
                } else {
                    match (*o, d) {
                        (Some(a), Some(b)) if a != b => {
                            return Err(mismatch(&format!("equal sizes on every axis but the joined axis {axis}")));
                        }
                        (known, None) | (None, known) => known,
                        (same, _) => same,
                    }
                };
            }
        }
        Ok(vec![Shape::new(out)])
    }

    fn call<'t>(&self, inputs: &[Var<'t>], _masks: &[Option<Tensor>], _cx: &Ctx<'t>) -> Vec<Var<'t>> {
        let axis = self.resolve_axis(inputs[0].shape().len()).expect("axis checked by build");
        vec![Var::concat(inputs, axis)]
    }

    fn compute_mask(&self, inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        let axis = self.resolve_axis(inputs[0].shape().len()).expect("axis checked by build");
        vec![masks::concatenated(inputs, masks, axis)]
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        super::torch_layout()
    }
}
