//! The fused recurrent sequence ([`Var::recurrent`]): a whole SimpleRNN, LSTM or GRU time loop
//! as one node on the tape, whose backward is kensho-core's backpropagation through time
//! ([`RecurrentSpec::backward`]). The node keeps the gate activations of every step (the
//! [`RecurrentTrace`](kensho_core::RecurrentTrace)) until the backward pass has used them.

use crate::tape::InputGrads;
use crate::Var;
use kensho_core::{RecurrentArgs, RecurrentNeeds, RecurrentSpec, Tensor};

/// The weights and initial states of a recurrent sequence, on the tape.
#[derive(Clone, Debug)]
pub struct RecurrentWeights<'t> {
    /// `[features, gates * units]`.
    pub kernel: Var<'t>,
    /// `[units, gates * units]`.
    pub recurrent_kernel: Var<'t>,
    /// `[gates * units]`, added to the input projection.
    pub bias: Option<Var<'t>>,
    /// `[gates * units]`, added to the recurrent projection (GRU only).
    pub recurrent_bias: Option<Var<'t>>,
    /// The initial states, `[batch, units]` each (`h`, then `c` for an LSTM); zeros if empty.
    pub initial_state: Vec<Var<'t>>,
}

impl<'t> Var<'t> {
    /// Runs a recurrent cell over the sequence `self` (`[batch, time, features]`): every
    /// step's states, `[batch, time, states * units]` (`h`, then `c` for an LSTM), in
    /// processing order. `mask` (`[batch, time]`, 1 real, 0 padding) carries the states over
    /// padded steps; `recurrent_dropout` (`[batch, units]`) multiplies the previous `h` in the
    /// recurrent projection. Gradients flow to the input, the weights and the initial states.
    ///
    /// ```
    /// use kensho_autograd::{RecurrentWeights, Tape};
    /// use kensho_core::{CellActivation, RecurrentCell, RecurrentSpec, Tensor};
    /// let tape = Tape::new();
    /// let spec = RecurrentSpec {
    ///     cell: RecurrentCell::Lstm,
    ///     activation: CellActivation::Tanh,
    ///     recurrent_activation: CellActivation::Sigmoid,
    ///     go_backwards: false,
    /// };
    /// let x = tape.leaf(Tensor::ones(&[2, 5, 3]));
    /// let weights = RecurrentWeights {
    ///     kernel: tape.leaf(Tensor::full(&[3, 16], 0.1)),
    ///     recurrent_kernel: tape.leaf(Tensor::full(&[4, 16], 0.1)),
    ///     bias: None,
    ///     recurrent_bias: None,
    ///     initial_state: vec![],
    /// };
    /// let states = x.recurrent(&spec, &weights, None, None);
    /// assert_eq!(states.shape(), vec![2, 5, 8]); // h and c of 4 units at each step
    /// let grads = tape.backward(states.sum_all());
    /// assert_eq!(grads.wrt(x).unwrap().shape(), &[2, 5, 3]);
    /// ```
    ///
    /// # Panics
    /// If the shapes do not fit (see [`RecurrentSpec::try_check`]).
    #[track_caller]
    pub fn recurrent(
        self,
        spec: &RecurrentSpec,
        weights: &RecurrentWeights<'t>,
        mask: Option<Tensor>,
        recurrent_dropout: Option<Tensor>,
    ) -> Var<'t> {
        let args = RecurrentArgs {
            x: self.value(),
            kernel: weights.kernel.value(),
            recurrent_kernel: weights.recurrent_kernel.value(),
            bias: weights.bias.map(|b| b.value()),
            recurrent_bias: weights.recurrent_bias.map(|b| b.value()),
            initial_state: weights.initial_state.iter().map(Var::value).collect(),
            mask,
            recurrent_dropout,
        };
        let spec = *spec;
        let trace = spec.forward(&args);
        let mut inputs = vec![self, weights.kernel, weights.recurrent_kernel];
        inputs.extend(weights.bias.iter().chain(&weights.recurrent_bias).chain(&weights.initial_state));
        self.tape().record(trace.states.clone(), &inputs, move |dy, needs| {
            // The flags of the optional inputs follow the three required ones, in order.
            let mut flags = needs[3..].iter().copied();
            let mut flag = |present: bool| present && flags.next().unwrap_or(false);
            let wanted = RecurrentNeeds {
                x: needs[0],
                kernel: needs[1],
                recurrent_kernel: needs[2],
                bias: flag(args.bias.is_some()),
                recurrent_bias: flag(args.recurrent_bias.is_some()),
                initial_state: args.initial_state.iter().map(|_| flag(true)).collect(),
            };
            let g = spec.backward(&args, &trace, dy, &wanted);
            let mut grads: InputGrads = [g.x, g.kernel, g.recurrent_kernel].into_iter().collect();
            grads.extend(args.bias.as_ref().map(|_| g.bias));
            grads.extend(args.recurrent_bias.as_ref().map(|_| g.recurrent_bias));
            grads.extend(g.initial_state);
            grads
        })
    }
}
