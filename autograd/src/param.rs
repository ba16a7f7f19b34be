//! Trainable parameters ([`Param`]) and the gradients that `backward` returns for them ([`Grads`]).

use kensho_core::Tensor;
use std::sync::atomic::{AtomicU64, Ordering};

/// A stable identity for a [`Param`], unique in the process; optimizer state is keyed by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct ParamId(pub u64);

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

/// A trainable tensor with a stable id and a name (such as `dense_1.kernel`).
///
/// Frozen parameters (`trainable == false`) enter the tape as constants: they receive no
/// gradient and so no update.
///
/// The id is the parameter's identity: gradients and optimizer state are keyed by it. So
/// [`Clone`] makes an independent parameter (same name, value and `trainable`, a fresh id),
/// and [`Param::share`] makes a second handle to the same parameter (same id), for tying
/// weights on purpose.
///
/// ```
/// use kensho_autograd::Param;
/// use kensho_core::Tensor;
/// let w = Param::new("w", Tensor::zeros(&[2]));
/// assert_ne!(w.clone().id(), w.id());   // a copy trains on its own
/// assert_eq!(w.share().id(), w.id());   // a tied handle trains with `w`
/// ```
#[derive(Debug)]
pub struct Param {
    id: ParamId,
    name: String,
    /// The current value; optimizers update it in place.
    pub value: Tensor,
    /// Whether the parameter receives gradients and updates.
    pub trainable: bool,
}

impl Param {
    /// A new trainable parameter with a fresh id.
    pub fn new(name: impl Into<String>, value: Tensor) -> Param {
        Param { id: fresh_id(), name: name.into(), value, trainable: true }
    }

    /// A second handle to this parameter with the same id, for tying weights on purpose (an
    /// embedding shared with an output layer, say): on a tape both handles add their gradients
    /// into one entry of [`Grads`], and an optimizer keeps one state for them.
    ///
    /// Only the identity is tied, not the storage: the value is a copy-on-write [`Tensor`], so
    /// an update written into one handle is not seen by the other. Whoever owns both (the
    /// model) must update one and copy its value into the other, or enter one handle on the
    /// tape in both places.
    pub fn share(&self) -> Param {
        Param { id: self.id, name: self.name.clone(), value: self.value.clone(), trainable: self.trainable }
    }

    /// The parameter's stable id.
    pub fn id(&self) -> ParamId {
        self.id
    }

    /// The parameter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Renames the parameter (a layer does this when the model gives it its final name).
    pub fn set_name(&mut self, name: impl Into<String>) {
        self.name = name.into();
    }
}

impl Clone for Param {
    /// An independent parameter with the same name, value and `trainable` flag and a fresh id:
    /// it gets its own gradients and optimizer state. Use [`Param::share`] to keep the id.
    fn clone(&self) -> Param {
        Param { id: fresh_id(), ..self.share() }
    }
}

/// A process-wide unique id.
fn fresh_id() -> ParamId {
    ParamId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

/// Gradients of a scalar with respect to the parameters (and other leaf variables) that
/// contributed to it, as returned by [`Tape::backward`](crate::Tape::backward).
#[derive(Clone, Debug, Default)]
pub struct Grads {
    params: Vec<(ParamId, Tensor)>,
    leaves: Vec<(usize, Tensor)>,
}

impl Grads {
    /// An empty set of gradients.
    pub fn new() -> Grads {
        Grads::default()
    }

    /// The gradient for a parameter, if it contributed to the output.
    pub fn get(&self, id: ParamId) -> Option<&Tensor> {
        self.params.iter().find(|(p, _)| *p == id).map(|(_, g)| g)
    }

    /// The gradient for a parameter, mutable (for clipping or scaling before the update).
    pub fn get_mut(&mut self, id: ParamId) -> Option<&mut Tensor> {
        self.params.iter_mut().find(|(p, _)| *p == id).map(|(_, g)| g)
    }

    /// The gradient with respect to a leaf variable made by [`Tape::leaf`](crate::Tape::leaf).
    pub fn wrt(&self, var: crate::Var<'_>) -> Option<&Tensor> {
        self.leaves.iter().find(|(n, _)| *n == var.id()).map(|(_, g)| g)
    }

    /// Sets (or replaces) the gradient for a parameter.
    pub fn insert(&mut self, id: ParamId, grad: Tensor) {
        match self.get_mut(id) {
            Some(g) => *g = grad,
            None => self.params.push((id, grad)),
        }
    }

    pub(crate) fn insert_leaf(&mut self, node: usize, grad: Tensor) {
        self.leaves.push((node, grad));
    }

    /// The parameter gradients, in the order the parameters were first used.
    pub fn iter(&self) -> impl Iterator<Item = (ParamId, &Tensor)> {
        self.params.iter().map(|(id, g)| (*id, g))
    }

    /// The parameter gradients, mutable.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (ParamId, &mut Tensor)> {
        self.params.iter_mut().map(|(id, g)| (*id, g))
    }

    /// The number of parameter gradients.
    pub fn len(&self) -> usize {
        self.params.len()
    }

    /// Whether there are no parameter gradients.
    pub fn is_empty(&self) -> bool {
        self.params.is_empty()
    }

    /// The L2 norm of all parameter gradients taken together.
    pub fn global_norm(&self) -> f32 {
        self.params.iter().flat_map(|(_, g)| g.iter().map(|v| f64::from(v) * f64::from(v))).sum::<f64>().sqrt() as f32
    }
}
