//! [`Bidirectional`]: runs a recurrent layer over a sequence forwards and backwards and merges
//! the two (Keras' `Bidirectional`).

use super::{options, options_mut};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// How [`Bidirectional`] merges the outputs of its two directions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MergeMode {
    /// Joined along the last axis (Keras' default).
    #[default]
    Concat,
    /// Added.
    Sum,
    /// Multiplied elementwise.
    Mul,
    /// Averaged.
    Ave,
}

/// The configuration of a [`Bidirectional`] wrapper.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BidirectionalConfig {
    /// Layer name; the directions' weights are `{name}.forward.*` and `{name}.backward.*`.
    pub name: String,
    /// The wrapped recurrent layer (a [`SimpleRnn`](crate::SimpleRnn), [`Lstm`](crate::Lstm)
    /// or [`Gru`](crate::Gru)), whose config both directions are made from.
    pub layer: Box<LayerConfig>,
    /// How the outputs are merged; `None` (Keras' `merge_mode=None`) gives them as two outputs.
    pub merge_mode: Option<MergeMode>,
}

/// A forward copy and a backward copy (`go_backwards`) of a recurrent layer, made from its
/// config, each with its own weights; the backward copy's output sequence is put back in time
/// order, and the two outputs are merged. As in Keras, masked steps of output sequences are
/// zeros. Initial states, if given, follow the sequence: the forward ones, then the backward.
///
/// # Shapes
/// As the wrapped layer, with the last axis doubled by [`MergeMode::Concat`]; with
/// `return_state`, the forward states then the backward states follow the output(s).
///
/// ```
/// use kensho_layers::{Bidirectional, Layer, Lstm};
/// let mut bi = Bidirectional::new(Lstm::new(4).return_sequences(true));
/// bi.set_name("bi");
/// assert_eq!(bi.build(&[7, 3].into(), &mut kensho_core::seeded_rng(0))?, vec![7, 8]);
/// assert_eq!(bi.params()[3].name(), "bi.backward.kernel");
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub struct Bidirectional {
    config: BidirectionalConfig,
    /// The forward and backward layers; `None` if the wrapped layer is not recurrent (an
    /// error at build).
    directions: Option<[Box<dyn Layer>; 2]>,
}

impl Bidirectional {
    /// Wraps `layer` (its config; its weights, if any, are not used), merging by concatenation.
    pub fn new(layer: impl Layer + 'static) -> Bidirectional {
        let config = BidirectionalConfig {
            name: String::new(),
            layer: Box::new(layer.config()),
            merge_mode: Some(MergeMode::Concat),
        };
        Bidirectional::from_config(config).expect("a built-in recurrent layer rebuilds from its config")
    }

    /// The wrapper from its configuration (unbuilt).
    ///
    /// # Errors
    /// If the wrapped layer cannot be rebuilt from its configuration.
    pub fn from_config(config: BidirectionalConfig) -> Result<Bidirectional> {
        let direction = |backwards: bool| -> Result<Option<Box<dyn Layer>>> {
            let mut copy = (*config.layer).clone();
            let Some(options) = options_mut(&mut copy) else { return Ok(None) };
            options.zero_output_for_mask = options.return_sequences;
            options.go_backwards |= backwards;
            copy.to_layer().map(Some)
        };
        let directions = direction(false)?.zip(direction(true)?).map(|(f, b)| [f, b]);
        let mut layer = Bidirectional { config, directions };
        let name = layer.config.name.clone();
        layer.set_name(&name);
        Ok(layer)
    }

    /// Gives the wrapper a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> Self {
        self.set_name(name);
        self
    }

    /// Sets how the outputs are merged (`None`: two outputs).
    pub fn merge_mode(mut self, mode: Option<MergeMode>) -> Self {
        self.config.merge_mode = mode;
        self
    }

    /// The two directions, or an error naming the wrapped layer if it is not recurrent.
    fn directions(&self) -> Result<&[Box<dyn Layer>; 2]> {
        self.directions.as_ref().ok_or_else(|| {
            Error::invalid(
                format!("Bidirectional \"{}\" layer", self.config.name),
                self.config.layer.to_layer().map_or_else(|e| e.to_string(), |l| l.kind().to_string()),
                "a recurrent layer (SimpleRNN, LSTM or GRU)",
            )
        })
    }

    /// The wrapped layer's recurrent options.
    fn options(&self) -> Option<&super::RecurrentOptions> {
        options(&self.config.layer)
    }

    /// The merged output(s) of the two directions' outputs.
    fn merge<'t>(&self, forward: Var<'t>, backward: Var<'t>) -> Vec<Var<'t>> {
        match self.config.merge_mode {
            Some(MergeMode::Concat) => vec![Var::concat(&[forward, backward], forward.shape().len() - 1)],
            Some(MergeMode::Sum) => vec![forward.add(backward)],
            Some(MergeMode::Mul) => vec![forward.mul(backward)],
            Some(MergeMode::Ave) => vec![forward.add(backward).mul_scalar(0.5)],
            None => vec![forward, backward],
        }
    }

    /// The number of merged outputs (2 without merging).
    fn merged(&self) -> usize {
        if self.config.merge_mode.is_none() {
            2
        } else {
            1
        }
    }
}

impl Layer for Bidirectional {
    fn name(&self) -> &str {
        &self.config.name
    }
    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
        if let Some([forward, backward]) = &mut self.directions {
            forward.set_name(&format!("{name}.forward"));
            backward.set_name(&format!("{name}.backward"));
        }
    }
    fn kind(&self) -> &'static str {
        "Bidirectional"
    }
    fn config(&self) -> LayerConfig {
        LayerConfig::Bidirectional(self.config.clone())
    }
    fn build_inputs(&mut self, inputs: &[Shape], rng: &mut Rng) -> Result<Vec<Shape>> {
        self.directions()?;
        let owner = format!("Bidirectional \"{}\"", self.config.name);
        if self.options().is_some_and(|o| o.go_backwards) {
            return Err(Error::invalid(
                format!("{owner} layer go_backwards"),
                true,
                "false (the backward copy is made by the wrapper)",
            ));
        }
        let (sequence, states) =
            inputs.split_first().ok_or_else(|| Error::invalid(format!("{owner} inputs"), 0, "a sequence"))?;
        if states.len() % 2 != 0 {
            let expected = "the sequence, then as many initial states for the backward direction as for the forward";
            return Err(Error::invalid(format!("{owner} inputs"), inputs.len(), expected));
        }
        let half = states.len() / 2;
        let [forward, backward] = self.directions.as_mut().expect("checked above");
        let with = |s: &[Shape]| std::iter::once(sequence.clone()).chain(s.iter().cloned()).collect::<Vec<_>>();
        let out = forward.build_inputs(&with(&states[..half]), rng)?;
        let out_back = backward.build_inputs(&with(&states[half..]), rng)?;
        let mut output = out[0].clone();
        if self.config.merge_mode == Some(MergeMode::Concat) {
            let mut dims = output.dims().to_vec();
            if let Some(Some(last)) = dims.last_mut() {
                *last *= 2;
            }
            output = Shape::new(dims);
        }
        let outputs = std::iter::repeat_n(output, self.merged());
        Ok(outputs.chain(out[1..].iter().cloned()).chain(out_back[1..].iter().cloned()).collect())
    }
    fn build(&mut self, input_shape: &Shape, rng: &mut Rng) -> Result<Shape> {
        Ok(self.build_inputs(std::slice::from_ref(input_shape), rng)?.swap_remove(0))
    }
    fn call<'t>(&self, inputs: &[Var<'t>], masks: &[Option<Tensor>], cx: &Ctx<'t>) -> Vec<Var<'t>> {
        let [forward, backward] = self.directions().expect("checked at build");
        let half = (inputs.len() - 1) / 2;
        let with = |s: &[Var<'t>]| std::iter::once(inputs[0]).chain(s.iter().copied()).collect::<Vec<_>>();
        let mask = &masks[..1.min(masks.len())];
        let y = forward.call(&with(&inputs[1..1 + half]), mask, cx);
        let y_back = backward.call(&with(&inputs[1 + half..]), mask, cx);
        let mut back = y_back[0];
        if self.options().is_some_and(|o| o.return_sequences) {
            let time = back.shape()[1];
            back = back.index_select(1, &(0..time).rev().collect::<Vec<_>>());
        }
        let mut outputs = self.merge(y[0], back);
        outputs.extend(y[1..].iter().chain(&y_back[1..]));
        outputs
    }
    fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
        self.call(&[x], &[None], cx).swap_remove(0)
    }
    fn compute_mask(&self, inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        let Ok([forward, _]) = self.directions() else { return vec![None] };
        // The forward direction's: the output's mask, then none for each state.
        let inner = forward.compute_mask(&inputs[..1], &masks[..1.min(masks.len())]);
        let states = inner.len() - 1;
        std::iter::repeat_n(inner[0].clone(), self.merged()).chain(std::iter::repeat_n(None, 2 * states)).collect()
    }
    fn params(&self) -> Vec<&Param> {
        self.directions.iter().flatten().flat_map(|d| d.params()).collect()
    }
    fn params_mut(&mut self) -> Vec<&mut Param> {
        self.directions.iter_mut().flatten().flat_map(|d| d.params_mut()).collect()
    }
    fn regularization<'t>(&self, tape: &'t Tape) -> Option<Var<'t>> {
        self.directions.iter().flatten().filter_map(|d| d.regularization(tape)).reduce(Var::add)
    }
    fn declared_input_shape(&self) -> Option<Shape> {
        self.directions.as_ref()?[0].declared_input_shape()
    }
    fn torch_layout(&self) -> Option<TorchLayout> {
        // `nn.LSTM(..., bidirectional=True)`: the backward direction's tensors end in `_reverse`.
        let [forward, backward] = self.directions.as_ref()?;
        let mut layout = forward.torch_layout()?;
        let mut reverse = backward.torch_layout()?;
        reverse.weights.iter_mut().for_each(|w| w.name.push_str("_reverse"));
        reverse.buffers.iter_mut().for_each(|b| b.name.push_str("_reverse"));
        layout.weights.extend(reverse.weights);
        layout.buffers.extend(reverse.buffers);
        Some(layout)
    }
    fn trainable(&self) -> bool {
        self.directions.iter().flatten().all(|d| d.trainable())
    }
    fn set_trainable(&mut self, trainable: bool) {
        self.directions.iter_mut().flatten().for_each(|d| d.set_trainable(trainable));
    }
}

impl std::fmt::Debug for Bidirectional {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bidirectional(\"{}\", {:?})", self.config.name, self.config.merge_mode)
    }
}
