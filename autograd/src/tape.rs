//! The tape (a Wengert list): an arena of nodes appended in the order ops run, and the handles
//! ([`Var`]) that point into it.
//!
//! Each op computes its value at once (eager execution) and, unless the tape is a no-grad tape or
//! none of its inputs needs a gradient, records a closure that maps the output's gradient to its
//! inputs' gradients. Because nodes are appended in execution order, `backward` (in
//! `backward.rs`) is a plain reverse loop: no recursion, no topological sort.
//!
//! Memory: [`Tape::backward`] consumes the tape, dropping each value and rule as soon as the
//! reverse loop has passed it; on a no-grad tape, [`Tape::retain_only`] releases the values that
//! are no longer needed, so inference holds only the live activations.

use crate::Param;
use crate::ParamId;
use kensho_core::Tensor;
use smallvec::SmallVec;
use std::cell::{Cell, RefCell};

/// Gradients for an op's inputs, `None` where the input needs none.
pub type InputGrads = SmallVec<[Option<Tensor>; 3]>;

/// The local gradient rule of a recorded op: given the output gradient and which inputs need a
/// gradient, return the inputs' gradients (same shapes as the inputs).
pub type BackwardFn = Box<dyn Fn(&Tensor, &[bool]) -> InputGrads>;

pub(crate) enum Kind {
    /// A value that needs no gradient (data, labels, frozen parameters, results of constants).
    Constant,
    /// A trainable parameter: its gradient goes into [`Grads`](crate::Grads) under its id.
    Param(ParamId),
    /// A free variable whose gradient goes into [`Grads::wrt`](crate::Grads::wrt).
    Leaf,
    /// The result of an op on at least one input that needs a gradient.
    Op { inputs: SmallVec<[usize; 3]>, backward: BackwardFn },
}

/// The activation that produced a value, and the node holding its input (the logits), so that a
/// loss can fuse with the activation without knowing which layer made it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// Softmax over the last axis of the node with this id.
    Softmax(usize),
    /// Sigmoid of the node with this id.
    Sigmoid(usize),
}

impl Origin {
    fn logits(self) -> usize {
        match self {
            Origin::Softmax(id) | Origin::Sigmoid(id) => id,
        }
    }
}

pub(crate) struct Node {
    /// `None` once released by [`Tape::retain_only`].
    pub(crate) value: Option<Tensor>,
    pub(crate) kind: Kind,
    origin: Option<Origin>,
}

impl Node {
    pub(crate) fn requires_grad(&self) -> bool {
        !matches!(self.kind, Kind::Constant)
    }
}

/// The recording of one forward pass. Create one per step (or [`Tape::clear`] it, or let
/// [`Tape::backward`] empty it, and reuse it).
///
/// ```
/// use kensho_autograd::{Param, Tape};
/// use kensho_core::Tensor;
/// let w = Param::new("w", Tensor::from_vec(vec![2.0, -1.0], &[2])?);
/// let tape = Tape::new();
/// let x = tape.constant(Tensor::from_vec(vec![3.0, 4.0], &[2])?);
/// let loss = tape.param(&w).mul(x).sum_all();   // loss = 2*3 - 1*4 = 2
/// assert_eq!(loss.value().item(), 2.0);          // read values before backward
/// let grads = tape.backward(loss);               // consumes the recording
/// assert_eq!(grads.get(w.id()).unwrap().to_vec(), vec![3.0, 4.0]);
/// assert!(tape.is_empty());
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub struct Tape {
    /// The graph's only interior mutability: ops append nodes through a shared `&Tape`.
    pub(crate) nodes: RefCell<Vec<Node>>,
    grad_enabled: bool,
    /// Incremented each time `backward` consumes the nodes; a [`Var`] of an older epoch is stale.
    pub(crate) epoch: Cell<u32>,
}

impl Default for Tape {
    fn default() -> Self {
        Tape::new()
    }
}

/// A handle to a value on a [`Tape`]: a copyable index. Ops on `Var`s run at once and record
/// their gradient rule on the tape.
///
/// A `Var` can be read until [`Tape::backward`] consumes its tape, or (on a no-grad tape) until
/// [`Tape::retain_only`] releases it; reading it after that panics.
#[derive(Clone, Copy)]
pub struct Var<'t> {
    tape: &'t Tape,
    id: usize,
    epoch: u32,
}

impl Tape {
    /// A tape that records gradient rules.
    pub fn new() -> Tape {
        Tape { nodes: RefCell::new(Vec::new()), grad_enabled: true, epoch: Cell::new(0) }
    }

    /// A tape for inference: ops compute values but record no gradient rule and keep no inputs.
    /// Values stay on the tape until [`Tape::retain_only`] releases them.
    pub fn no_grad() -> Tape {
        Tape { nodes: RefCell::new(Vec::new()), grad_enabled: false, epoch: Cell::new(0) }
    }

    /// Whether this tape records gradient rules.
    pub fn grad_enabled(&self) -> bool {
        self.grad_enabled
    }

    /// The number of values on the tape (released ones included; 0 after [`Tape::backward`]).
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
        nodes.push(Node { value: Some(value), kind, origin: None });
        Var { tape: self, id: nodes.len() - 1, epoch: self.epoch.get() }
    }

    /// A value that needs no gradient (input data, labels).
    pub fn constant(&self, value: Tensor) -> Var<'_> {
        self.push(value, Kind::Constant)
    }

    /// A free variable whose gradient [`Tape::backward`] reports through [`Grads::wrt`](crate::Grads::wrt).
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
    ///
    /// # Panics
    /// If an input belongs to another tape or was made before `backward` consumed this tape.
    #[track_caller]
    pub fn record<'t>(
        &'t self,
        value: Tensor,
        inputs: &[Var<'t>],
        backward: impl Fn(&Tensor, &[bool]) -> InputGrads + 'static,
    ) -> Var<'t> {
        let needed = self.grad_enabled && {
            let nodes = self.nodes.borrow();
            inputs.iter().any(|&v| self.node(&nodes, v, "record").requires_grad())
        };
        if !needed {
            return self.constant(value);
        }
        let inputs = inputs.iter().map(|v| v.id).collect();
        self.push(value, Kind::Op { inputs, backward: Box::new(backward) })
    }

    /// On a no-grad tape, releases the value of every node except those in `keep` (and the
    /// logits behind a kept softmax or sigmoid, see [`Var::softmax_logits`]), so that inference
    /// holds only the values still needed. Reading a released value panics; released nodes stay
    /// on the tape (ids do not change) and [`Tape::len`] still counts them.
    ///
    /// On a gradient tape this does nothing: `backward` needs every recorded rule, and it frees
    /// the tape as it goes.
    ///
    /// ```
    /// use kensho_autograd::Tape;
    /// use kensho_core::Tensor;
    /// let tape = Tape::no_grad();
    /// let x = tape.constant(Tensor::ones(&[2, 3]));
    /// let probs = x.mul_scalar(2.0).softmax(1);
    /// tape.retain_only(&[probs]);
    /// assert!(x.is_released() && !probs.is_released());
    /// assert_eq!(probs.shape(), vec![2, 3]);
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    ///
    /// # Panics
    /// If a kept `Var` belongs to another tape or was made before `backward` consumed this tape.
    #[track_caller]
    pub fn retain_only(&self, keep: &[Var<'_>]) {
        if self.grad_enabled {
            return;
        }
        let mut nodes = self.nodes.borrow_mut();
        let mut kept = vec![false; nodes.len()];
        for &v in keep {
            let origin = self.node(&nodes, v, "retain_only").origin;
            kept[v.id] = true;
            if let Some(origin) = origin {
                kept[origin.logits()] = true;
            }
        }
        for (node, keep) in nodes.iter_mut().zip(kept) {
            if !keep {
                node.value = None;
            }
        }
    }

    /// The node of `var`, checking that it belongs to this tape and was not consumed by
    /// `backward`.
    #[inline]
    #[track_caller]
    fn node<'n>(&self, nodes: &'n [Node], var: Var<'_>, op: &str) -> &'n Node {
        if !std::ptr::eq(var.tape, self) || var.epoch != self.epoch.get() {
            self.misused(var, op);
        }
        &nodes[var.id]
    }

    /// The live value of `var`.
    ///
    /// # Panics
    /// As [`Tape::node`], and if the value was released.
    #[inline]
    #[track_caller]
    pub(crate) fn value_of<'n>(&self, nodes: &'n [Node], var: Var<'_>, op: &str) -> &'n Tensor {
        match &self.node(nodes, var, op).value {
            Some(value) => value,
            None => released(var, op),
        }
    }

    /// Panics for a `var` of another tape or one consumed by `backward` (kept out of the
    /// inlined checks).
    #[cold]
    #[track_caller]
    fn misused(&self, var: Var<'_>, op: &str) -> ! {
        assert!(std::ptr::eq(var.tape, self), "{op}: Var#{} belongs to another tape", var.id);
        panic!(
            "{op}: Var#{} was consumed by `Tape::backward`; values must be read before backward \
             (for example take `loss.value()` first, then call `tape.backward(loss)`)",
            var.id
        )
    }
}

/// Panics for a value released by `retain_only` (kept out of the inlined checks).
#[cold]
#[track_caller]
fn released(var: Var<'_>, op: &str) -> ! {
    panic!(
        "{op}: the value of Var#{} was released by `Tape::retain_only`; include it in the values to \
         keep if it is read later",
        var.id
    )
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
    ///
    /// # Panics
    /// If [`Tape::backward`] has consumed the tape (read values before backward), or the value
    /// was released by [`Tape::retain_only`].
    #[track_caller]
    pub fn value(&self) -> Tensor {
        self.tape.value_of(&self.tape.nodes.borrow(), *self, "Var::value").clone()
    }

    /// The shape of the value.
    ///
    /// # Panics
    /// As [`Var::value`].
    #[track_caller]
    pub fn shape(&self) -> Vec<usize> {
        self.tape.value_of(&self.tape.nodes.borrow(), *self, "Var::shape").shape().to_vec()
    }

    /// Whether [`Tape::retain_only`] has released this value.
    ///
    /// # Panics
    /// If [`Tape::backward`] has consumed the tape.
    #[track_caller]
    pub fn is_released(&self) -> bool {
        self.tape.node(&self.tape.nodes.borrow(), *self, "Var::is_released").value.is_none()
    }

    /// The activation this value came from, if any.
    #[track_caller]
    pub(crate) fn origin(self) -> Option<Origin> {
        self.tape.node(&self.tape.nodes.borrow(), self, "origin").origin
    }

    /// Marks this value as the output of an activation (see [`Origin`]).
    pub(crate) fn with_origin(self, origin: Origin) -> Var<'t> {
        self.tape.nodes.borrow_mut()[self.id].origin = Some(origin);
        self
    }

    /// Another node of the same tape and epoch.
    pub(crate) fn sibling(self, id: usize) -> Var<'t> {
        Var { id, ..self }
    }
}

impl std::fmt::Debug for Var<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.epoch != self.tape.epoch.get() {
            return write!(f, "Var#{}(consumed by backward)", self.id);
        }
        match &self.tape.nodes.borrow()[self.id].value {
            Some(value) => write!(f, "Var#{}({value:?})", self.id),
            None => write!(f, "Var#{}(released)", self.id),
        }
    }
}
