//! The driver that SimpleRNN, LSTM and GRU share: checking shapes and options at build,
//! creating the weights, running the fused sequence op with dropout masks, masks and initial
//! states, picking the outputs (the last output or the sequence, then the states), the output
//! masks, and the PyTorch layout (`nn.RNN`, `nn.LSTM`, `nn.GRU`). The layers themselves only
//! hold their configs.

use super::{RecurrentOptions, RecurrentWeights};
use crate::layer::Ctx;
use crate::{Activation, KernelOptions, Shape, TorchLayout, TorchTransform, TorchWeight};
use kensho_autograd::Var;
use kensho_core::{CellActivation, Error, RecurrentCell, RecurrentSpec, Result, Rng, Tensor};
use rand::Rng as _;

/// Which cell a layer runs, with the options only that cell has.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum CellKind {
    SimpleRnn,
    Lstm { unit_forget_bias: bool },
    Gru { reset_after: bool },
}

impl CellKind {
    /// The fused op's cell.
    pub(crate) fn core(self) -> RecurrentCell {
        match self {
            CellKind::SimpleRnn => RecurrentCell::SimpleRnn,
            CellKind::Lstm { .. } => RecurrentCell::Lstm,
            CellKind::Gru { .. } => RecurrentCell::Gru,
        }
    }

    /// The Keras class name.
    fn class(self) -> &'static str {
        match self {
            CellKind::SimpleRnn => "SimpleRNN",
            CellKind::Lstm { .. } => "LSTM",
            CellKind::Gru { .. } => "GRU",
        }
    }
}

/// The activations a cell can run (those whose slope follows from their output).
fn cell_activation(activation: Activation) -> Option<CellActivation> {
    Some(match activation {
        Activation::Linear => CellActivation::Linear,
        Activation::Relu => CellActivation::Relu,
        Activation::Elu { alpha } if alpha > 0.0 => CellActivation::Elu { alpha },
        Activation::Softplus => CellActivation::Softplus,
        Activation::Sigmoid => CellActivation::Sigmoid,
        Activation::Tanh => CellActivation::Tanh,
        _ => return None,
    })
}

/// A recurrent layer as the driver sees it, borrowed from the layer's config.
pub(crate) struct Sequence<'a> {
    pub(crate) cell: CellKind,
    pub(crate) name: &'a str,
    pub(crate) units: usize,
    pub(crate) kernel: &'a KernelOptions,
    pub(crate) recurrent: &'a RecurrentOptions,
}

impl Sequence<'_> {
    /// How errors name the layer: `LSTM "lstm"`.
    fn owner(&self) -> String {
        format!("{} \"{}\"", self.cell.class(), self.name)
    }

    /// The fused op's description, or an error naming an option the cell cannot run.
    fn spec(&self) -> Result<RecurrentSpec> {
        let unsupported = |what: &str, a: Activation| {
            Error::invalid(
                format!("{} {what}", self.owner()),
                a.name(),
                "tanh, sigmoid, relu, elu, softplus or linear (an activation whose slope follows from its output)",
            )
        };
        let (act, rec) = (self.kernel.activation, self.recurrent.recurrent_activation);
        Ok(RecurrentSpec {
            cell: self.cell.core(),
            activation: cell_activation(act).ok_or_else(|| unsupported("activation", act))?,
            recurrent_activation: cell_activation(rec).ok_or_else(|| unsupported("recurrent_activation", rec))?,
            go_backwards: self.recurrent.go_backwards,
        })
    }

    /// Checks the options and the per-sample input shapes (the sequence `[time, features]`,
    /// then optionally the initial states `[units]`), creates the weights if needed, and
    /// returns the per-sample output shapes.
    ///
    /// # Errors
    /// Naming the layer and what does not fit.
    pub(crate) fn build(&self, inputs: &[Shape], weights: &mut RecurrentWeights, rng: &mut Rng) -> Result<Vec<Shape>> {
        let owner = self.owner();
        self.spec()?;
        if self.units == 0 {
            return Err(Error::invalid(format!("{owner} units"), 0, "a positive number"));
        }
        let rates = [("dropout", self.recurrent.dropout), ("recurrent_dropout", self.recurrent.recurrent_dropout)];
        if let Some((what, rate)) = rates.iter().find(|(_, r)| !(0.0..1.0).contains(r)) {
            return Err(Error::invalid(format!("{owner} {what}"), rate, "a value in [0, 1)"));
        }
        if self.cell == (CellKind::Gru { reset_after: false }) {
            let expected =
                "true (Keras' default; the reset gate applied before the recurrent product is not supported)";
            return Err(Error::invalid(format!("{owner} reset_after"), false, expected));
        }
        let states = self.cell.core().states();
        let empty = Shape::default();
        let (sequence, initial) = inputs.split_first().unwrap_or((&empty, &[]));
        let (&[time, Some(features)], true) = (sequence.dims(), inputs.len() == 1 || inputs.len() == 1 + states) else {
            return Err(Error::invalid(
                format!("{owner} inputs"),
                inputs.iter().map(Shape::to_string).collect::<Vec<_>>().join(", "),
                format!(
                    "sequences of per-sample shape [time, features] with the features known, then \
                     optionally {states} initial state(s) [{}]",
                    self.units
                ),
            ));
        };
        if time == Some(0) || features == 0 {
            return Err(Error::invalid(format!("{owner} input shape"), sequence, "at least one step and one feature"));
        }
        if let Some(bad) = initial.iter().find(|s| s.dims() != [Some(self.units)]) {
            return Err(Error::invalid(format!("{owner} initial state"), bad, format!("[{}]", self.units)));
        }
        let width = self.cell.core().gates().checked_mul(self.units).ok_or_else(|| {
            Error::invalid(format!("{owner} units"), self.units, "a number of units whose gate width fits in memory")
        })?;
        if !weights.fits(features, width) {
            weights.create(self.name, self.cell, self.units, features, self.kernel, self.recurrent, rng)?;
        }
        let output = if self.recurrent.return_sequences {
            Shape::new(vec![time, Some(self.units)])
        } else {
            Shape::known(&[self.units])
        };
        let extra = if self.recurrent.return_state { states } else { 0 };
        Ok(std::iter::once(output).chain(std::iter::repeat_n(Shape::known(&[self.units]), extra)).collect())
    }

    /// The forward pass: the output (the last one, or the sequence), then the last states if
    /// `return_state`. `inputs` are the sequence `[batch, time, features]` and optionally the
    /// initial states; `masks[0]`, the sequence's `[batch, time]` mask, if any.
    ///
    /// # Panics
    /// On a sequence of no steps, or a mask that does not match it.
    pub(crate) fn call<'t>(
        &self,
        weights: &RecurrentWeights,
        inputs: &[Var<'t>],
        masks: &[Option<Tensor>],
        cx: &Ctx<'t>,
    ) -> Vec<Var<'t>> {
        let spec = self.spec().expect("activations checked at build");
        let shape = inputs[0].shape();
        let (batch, time, features, units) = (shape[0], shape[1], shape[2], self.units);
        assert!(time > 0, "{} needs sequences of at least one step, got shape {shape:?}", self.owner());
        let mask = masks.first().cloned().flatten().map(|m| {
            assert_eq!(m.len(), batch * time, "{}: a mask of shape {:?} for inputs {shape:?}", self.owner(), m.shape());
            m.reshape_to(&[batch, time])
        });
        let training = cx.training;
        let x = match dropout_mask(cx, training, self.recurrent.dropout, &[batch, 1, features]) {
            Some(keep) => inputs[0].mul_mask(keep),
            None => inputs[0],
        };
        let recurrent_dropout = dropout_mask(cx, training, self.recurrent.recurrent_dropout, &[batch, units]);
        let on_tape = weights.on_tape(cx.tape, inputs[1..].to_vec());
        let states = x.recurrent(&spec, &on_tape, mask.clone(), recurrent_dropout);
        let state_count = spec.cell.states();
        let output = if self.recurrent.return_sequences {
            let outputs = if state_count == 1 { states } else { states.slice_axis(2, 0, units) };
            match mask.filter(|_| self.recurrent.zero_output_for_mask) {
                // The outputs are in processing order, so is the mask that zeroes them.
                Some(m) => outputs.mul_mask(self.in_processing_order(m).reshape_to(&[batch, time, 1])),
                None => outputs,
            }
        } else {
            let last = states.slice_axis(1, time - 1, time);
            let h = if state_count == 1 { last } else { last.slice_axis(2, 0, units) };
            h.reshape(&[batch, units])
        };
        let mut outputs = vec![output];
        if self.recurrent.return_state {
            let last = states.slice_axis(1, time - 1, time);
            outputs.extend(
                (0..state_count).map(|k| last.slice_axis(2, k * units, (k + 1) * units).reshape(&[batch, units])),
            );
        }
        outputs
    }

    /// A `[batch, time]` mask reordered as the steps are processed.
    fn in_processing_order(&self, mask: Tensor) -> Tensor {
        if !self.recurrent.go_backwards {
            return mask;
        }
        let time = mask.shape()[1];
        mask.index_select(1, &(0..time).rev().collect::<Vec<_>>())
    }

    /// The masks of the outputs (Keras' `compute_mask`): the sequence's mask for an output
    /// sequence, none for a last output and for the states.
    pub(crate) fn output_masks(&self, masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        let output = masks.first().cloned().flatten().filter(|_| self.recurrent.return_sequences);
        let states = if self.recurrent.return_state { self.cell.core().states() } else { 0 };
        std::iter::once(output).chain(std::iter::repeat_n(None, states)).collect()
    }

    /// The layer as PyTorch's `nn.RNN` (tanh or relu), `nn.LSTM` or `nn.GRU` (tanh and
    /// sigmoid), one layer, `batch_first`: `weight_ih_l0` `[gates * units, features]` (the
    /// kernel transposed), `weight_hh_l0` (the recurrent kernel transposed), `bias_ih_l0`
    /// (the bias) and `bias_hh_l0`, each name followed by `suffix` (`_reverse` for the
    /// backward direction of a bidirectional layer). A GRU's gate blocks `z, r, h` are
    /// PyTorch's `r, z, n` reordered, and its recurrent bias is `bias_hh_l0`. The other cells
    /// have one bias: `bias_hh_l0` is written as zeros, which computes the same function, and
    /// is ignored on load (fold a PyTorch-trained `bias_hh_l0` into `bias_ih_l0` first).
    /// `None` for activations PyTorch's modules do not have.
    pub(crate) fn torch_layout(&self, suffix: &str) -> Option<TorchLayout> {
        let (act, rec) = (self.kernel.activation, self.recurrent.recurrent_activation);
        let supported = match self.cell {
            CellKind::SimpleRnn => matches!(act, Activation::Tanh | Activation::Relu),
            CellKind::Lstm { .. } | CellKind::Gru { reset_after: true } => {
                act == Activation::Tanh && rec == Activation::Sigmoid
            }
            CellKind::Gru { reset_after: false } => false,
        };
        if !supported {
            return None;
        }
        let gru = matches!(self.cell, CellKind::Gru { .. });
        let gates = |t: TorchTransform| match gru {
            true => TorchTransform::Chain(vec![t, TorchTransform::ReorderBlocks { axis: 0, order: vec![1, 0, 2] }]),
            false => t,
        };
        let weight = |name: &str, t: TorchTransform| TorchWeight::new(&format!("{name}{suffix}"), t);
        let mut layout = TorchLayout {
            modules: 1,
            weights: vec![
                weight("weight_ih_l0", gates(TorchTransform::Permute(vec![1, 0]))),
                weight("weight_hh_l0", gates(TorchTransform::Permute(vec![1, 0]))),
            ],
            ..TorchLayout::default()
        };
        if self.kernel.use_bias {
            let bias = || {
                if gru {
                    TorchTransform::ReorderBlocks { axis: 0, order: vec![1, 0, 2] }
                } else {
                    TorchTransform::Identity
                }
            };
            layout.weights.push(weight("bias_ih_l0", bias()));
            if gru {
                layout.weights.push(weight("bias_hh_l0", bias()));
            } else {
                let width = self.cell.core().gates() * self.units;
                layout = layout.with_buffer(&format!("bias_hh_l0{suffix}"), Tensor::zeros(&[width]));
            }
        }
        Some(layout)
    }
}

/// In training with `rate > 0`, a dropout mask of `shape` (0, or `1 / keep`) from the pass's
/// randomness; else none.
fn dropout_mask(cx: &Ctx<'_>, training: bool, rate: f32, shape: &[usize]) -> Option<Tensor> {
    if !training || rate == 0.0 {
        return None;
    }
    let keep = 1.0 - rate;
    let mut rng = cx.rng.borrow_mut();
    Some(Tensor::from_fn(shape, |_| if rng.random::<f32>() < keep { 1.0 / keep } else { 0.0 }))
}
