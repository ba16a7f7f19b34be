//! The tape (a Wengert list): an arena of nodes appended in the order ops run, and the reverse
//! loop that turns it into gradients.
//!
//! Each op computes its value at once (eager execution) and, unless the tape is a no-grad tape or
//! none of its inputs needs a gradient, records a closure that maps the output's gradient to its
//! inputs' gradients. Because nodes are appended in execution order, `backward` is a plain
//! reverse loop: no recursion, no topological sort.

use crate::{Grads, Param, ParamId};
use kensho_core::Tensor;
use smallvec::SmallVec;
use std::cell::RefCell;

/// Gradients for an op's inputs, `None` where the input needs none.
pub type InputGrads = SmallVec<[Option<Tensor>; 3]>;

/// The local gradient rule of a recorded op: given the output gradient and which inputs need a
/// gradient, return the inputs' gradients (same shapes as the inputs).
pub type BackwardFn = Box<dyn Fn(&Tensor, &[bool]) -> InputGrads>;

enum Kind {
    /// A value that needs no gradient (data, labels, frozen parameters, results of constants).
    Constant,
    /// A trainable parameter: its gradient goes into [`Grads`] under its id.
    Param(ParamId),
    /// A free variable whose gradient goes into [`Grads::wrt`].
    Leaf,
    /// The result of an op on at least one input that needs a gradient.
    Op { inputs: SmallVec<[usize; 3]>, backward: BackwardFn },
}

struct Node {
    value: Tensor,
    kind: Kind,
}

impl Node {
    fn requires_grad(&self) -> bool {
        !matches!(self.kind, Kind::Constant)
    }
}

/// The recording of one forward pass. Create one per step (or [`Tape::clear`] and reuse it).
///
/// ```
/// use kensho_autograd::{Param, Tape};
/// use kensho_core::Tensor;
/// let w = Param::new("w", Tensor::from_vec(vec![2.0, -1.0], &[2])?);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[2])?);
/// let loss = tape.param(&w).mul(x).sum_all();   // loss = 2*3 - 1*4 = 2
/// assert_eq!(loss.value().item(), 2.0);
/// let grads = tape.backward(loss);
/// assert_eq!(grads.get(w.id()).unwrap().to_vec(), vec![3.0, 4.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub struct Tape {
    /// The graph's only interior mutability: ops append nodes through a shared `&Tape`.
    nodes: RefCell<Vec<Node>>,
    grad_enabled: bool,
}

impl Default for Tape {
    fn default() -> Self {
        Tape::new()
    }
}

/// A handle to a value on a [`Tape`]: a copyable index. Ops on `Var`s run at once and record
/// their gradient rule on the tape.
#[derive(Clone, Copy)]
pub struct Var<'t> {
    tape: &'t Tape,
    id: usize,
}

impl Tape {
    /// A tape that records gradient rules.
    pub fn new() -> Tape {
        Tape { nodes: RefCell::new(Vec::new()), grad_enabled: true }
    }

    /// A tape for inference: ops compute values but record no gradient rule and keep no inputs.
    pub fn no_grad() -> Tape {
        Tape { nodes: RefCell::new(Vec::new()), grad_enabled: false }
    }

    /// Whether this tape records gradient rules.
    pub fn grad_enabled(&self) -> bool {
        self.grad_enabled
    }

    /// The number of values on the tape.
    pub fn len(&self) -> usize {
        self.nodes.borrow().len()
    }

    /// Whether the tape holds no values.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every value and rule, keeping the allocation for the next step.
    pub fn clear(&mut self) {
        self.nodes.get_mut().clear();
    }

    fn push(&self, value: Tensor, kind: Kind) -> Var<'_> {
        let mut nodes = self.nodes.borrow_mut();
        nodes.push(Node { value, kind });
        Var { tape: self, id: nodes.len() - 1 }
    }

    /// A value that needs no gradient (input data, labels).
    pub fn constant(&self, value: Tensor) -> Var<'_> {
        self.push(value, Kind::Constant)
    }

    /// A free variable whose gradient [`Tape::backward`] reports through [`Grads::wrt`].
    pub fn leaf(&self, value: Tensor) -> Var<'_> {
        let kind = if self.grad_enabled { Kind::Leaf } else { Kind::Constant };
        self.push(value, kind)
    }

    /// A parameter's current value; its gradient is reported under its id. Frozen parameters
    /// (`trainable == false`) enter as constants and get no gradient.
    pub fn param(&self, param: &Param) -> Var<'_> {
        let kind = if self.grad_enabled && param.trainable { Kind::Param(param.id()) } else { Kind::Constant };
        self.push(param.value.clone(), kind)
    }

    /// Records the result of an op: `value` computed from `inputs`, with the gradient rule
    /// `backward`. Nothing but the value is kept when no input needs a gradient.
    pub fn record<'t>(
        &'t self,
        value: Tensor,
        inputs: &[Var<'t>],
        backward: impl Fn(&Tensor, &[bool]) -> InputGrads + 'static,
    ) -> Var<'t> {
        let needed = self.grad_enabled && {
            let nodes = self.nodes.borrow();
            inputs.iter().any(|v| nodes[v.id].requires_grad())
        };
        if !needed {
            return self.constant(value);
        }
        let inputs = inputs.iter().map(|v| v.id).collect();
        self.push(value, Kind::Op { inputs, backward: Box::new(backward) })
    }

    /// Gradients of the scalar `output` with respect to every parameter and leaf that
    /// contributed to it. A value used several times accumulates its gradients.
    ///
    /// # Panics
    /// If `output` does not have exactly one element, or belongs to another tape.
    #[track_caller]
    pub fn backward(&self, output: Var<'_>) -> Grads {
        assert!(std::ptr::eq(output.tape, self), "backward: the output belongs to another tape");
        let nodes = self.nodes.borrow();
        let out = &nodes[output.id].value;
        assert_eq!(out.len(), 1, "backward: expected a scalar output, got shape {:?}", out.shape());
        let mut pending: Vec<Option<Tensor>> = vec![None; output.id + 1];
        pending[output.id] = Some(Tensor::ones(out.shape()));
        let mut grads = Grads::new();
        for id in (0..=output.id).rev() {
            let Some(grad) = pending[id].take() else { continue };
            match &nodes[id].kind {
                Kind::Constant => {}
                Kind::Param(pid) => match grads.get_mut(*pid) {
                    Some(acc) => *acc = acc.add(&grad),
                    None => grads.insert(*pid, grad),
                },
                Kind::Leaf => grads.insert_leaf(id, grad),
                Kind::Op { inputs, backward } => {
                    let needs: SmallVec<[bool; 3]> = inputs.iter().map(|&i| nodes[i].requires_grad()).collect();
                    for (&input, g) in inputs.iter().zip(backward(&grad, &needs)) {
                        let Some(g) = g else { continue };
                        debug_assert_eq!(g.shape(), nodes[input].value.shape(), "gradient shape of node {input}");
                        pending[input] = Some(match pending[input].take() {
                            Some(acc) => acc.add(&g),
                            None => g,
                        });
                    }
                }
            }
        }
        grads
    }
}

impl<'t> Var<'t> {
    /// The tape this value lives on.
    pub fn tape(&self) -> &'t Tape {
        self.tape
    }

    /// The index of this value on its tape.
    pub fn id(&self) -> usize {
        self.id
    }

    /// The value (a cheap clone sharing the buffer).
    pub fn value(&self) -> Tensor {
        self.tape.nodes.borrow()[self.id].value.clone()
    }

    /// The shape of the value.
    pub fn shape(&self) -> Vec<usize> {
        self.tape.nodes.borrow()[self.id].value.shape().to_vec()
    }
}

impl std::fmt::Debug for Var<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Var#{}({:?})", self.id, self.value())
    }
}
