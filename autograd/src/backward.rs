//! [`Tape::backward`]: the reverse loop that turns a recording into gradients.
//!
//! The loop takes the nodes out of the tape at the start and walks them from the output back to
//! the first node, dropping each node's value and gradient rule as soon as it has been passed,
//! so memory falls during backward instead of after it. Where two gradients meet (a value used
//! twice, a parameter entered twice) the second is added into the first's buffer in place.

use crate::tape::Kind;
use crate::{Grads, Tape, Var};
use kensho_core::Tensor;
use smallvec::SmallVec;

impl Tape {
    /// Gradients of the scalar `output` with respect to every parameter and leaf that
    /// contributed to it. A value used several times accumulates its gradients.
    ///
    /// This consumes the recording: afterwards the tape is empty ([`Tape::len`] is 0) and ready
    /// for the next step, and reading any [`Var`] recorded on it before panics, so read the
    /// values you need (the loss, the predictions) first. On a no-grad tape the result is
    /// empty (and the tape is emptied all the same).
    ///
    /// # Panics
    /// If `output` does not have exactly one element, belongs to another tape, or was released.
    #[track_caller]
    pub fn backward(&self, output: Var<'_>) -> Grads {
        let mut nodes = {
            let mut cell = self.nodes.borrow_mut();
            let out = self.value_of(&cell, output, "backward");
            assert_eq!(out.len(), 1, "backward: expected a scalar output, got shape {:?}", out.shape());
            std::mem::take(&mut *cell)
        };
        self.epoch.set(self.epoch.get().wrapping_add(1));
        let seed = Tensor::ones(nodes[output.id()].value.as_ref().expect("checked above").shape());
        nodes.truncate(output.id() + 1);
        let mut pending: Vec<Option<Tensor>> = vec![None; nodes.len()];
        pending[output.id()] = Some(seed);
        let mut grads = Grads::new();
        // Each node is dropped in place (truncated away) once the loop has passed it.
        for id in (0..nodes.len()).rev() {
            let Some(grad) = pending[id].take() else {
                nodes.truncate(id);
                continue;
            };
            match std::mem::replace(&mut nodes[id].kind, Kind::Constant) {
                Kind::Constant => {}
                Kind::Param(pid) => match grads.get_mut(pid) {
                    Some(acc) => accumulate(acc, grad),
                    None => grads.insert(pid, grad),
                },
                Kind::Leaf => grads.insert_leaf(id, grad),
                Kind::Op { inputs, backward } => {
                    let needs: SmallVec<[bool; 3]> = inputs.iter().map(|&i| nodes[i].requires_grad()).collect();
                    for (&input, g) in inputs.iter().zip(backward(&grad, &needs)) {
                        let Some(g) = g else { continue };
                        debug_assert_eq!(
                            Some(g.shape()),
                            nodes[input].value.as_ref().map(Tensor::shape),
                            "gradient shape of node {input}"
                        );
                        match &mut pending[input] {
                            Some(acc) => accumulate(acc, g),
                            slot @ None => *slot = Some(g),
                        }
                    }
                }
            }
            nodes.truncate(id);
        }
        // Hand the (now empty) allocation back for the next recording.
        let mut cell = self.nodes.borrow_mut();
        if cell.is_empty() {
            *cell = nodes;
        }
        grads
    }
}

/// `acc += g` for equal shapes, in `acc`'s buffer when nobody else holds it (copy on write
/// otherwise).
fn accumulate(acc: &mut Tensor, g: Tensor) {
    debug_assert_eq!(acc.shape(), g.shape(), "gradient accumulation");
    acc.add_assign(&g);
}
