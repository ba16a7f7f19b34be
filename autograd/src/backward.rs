//! [`Tape::backward`]: the reverse loop that turns a recording into gradients.
//!
//! The loop takes the nodes out of the tape at the start and walks them from the output back to
//! the first node, dropping each node's value and gradient rule as soon as it has been passed,
//! so memory falls during backward instead of after it. Where two gradients meet (a value used
//! twice, a parameter entered twice) the second is added into the first's buffer in place.

use crate::tape::{Kind, Node};
use crate::{Grads, ParamId, Tape, Var};
use kensho_core::Tensor;
use smallvec::SmallVec;

/// What [`Tape::backward_with`] tells of each parameter's final gradient.
pub type GradientReady<'a> = &'a mut dyn FnMut(ParamId, &Tensor);

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
        self.backward_with(output, None)
    }

    /// [`Tape::backward`], telling `ready` each parameter's gradient as soon as it is final:
    /// when the loop has passed the parameter's first entry on the tape, before the rest of
    /// the loop runs. Data-parallel training starts sending gradients to other processes
    /// there, while backward goes on (as PyTorch's DistributedDataParallel does). A parameter
    /// that got no gradient is not reported.
    ///
    /// ```
    /// use kensho_autograd::{Param, Tape};
    /// use kensho_core::Tensor;
    /// let (a, b) = (Param::new("a", Tensor::ones(&[2])), Param::new("b", Tensor::ones(&[2])));
    /// let tape = Tape::new();
    /// let (va, vb) = (tape.param(&a), tape.param(&b));
    /// let loss = va.mul(vb).mul(vb).sum_all();
    /// let mut order = Vec::new();
    /// tape.backward_with(loss, Some(&mut |id, _grad: &Tensor| order.push(id)));
    /// assert_eq!(order, [b.id(), a.id()]); // b entered after a, so its gradient is final first
    /// ```
    ///
    /// # Panics
    /// As [`Tape::backward`].
    #[track_caller]
    pub fn backward_with(&self, output: Var<'_>, mut ready: Option<GradientReady<'_>>) -> Grads {
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
        let mut finals = if ready.is_some() { first_entries(&nodes) } else { Vec::new() };
        // Each node is dropped in place (truncated away) once the loop has passed it.
        for id in (0..nodes.len()).rev() {
            let Some(grad) = pending[id].take() else {
                nodes.truncate(id);
                report_final(&mut finals, id, &grads, &mut ready);
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
            report_final(&mut finals, id, &grads, &mut ready);
        }
        // Hand the (now empty) allocation back for the next recording.
        let mut cell = self.nodes.borrow_mut();
        if cell.is_empty() {
            *cell = nodes;
        }
        grads
    }
}

/// Each parameter's first node on the tape, in tape order (backward passes them from the end).
fn first_entries(nodes: &[Node]) -> Vec<(usize, ParamId)> {
    let mut firsts: Vec<(usize, ParamId)> = Vec::new();
    for (id, node) in nodes.iter().enumerate() {
        if let Kind::Param(pid) = node.kind
            && !firsts.iter().any(|&(_, p)| p == pid)
        {
            firsts.push((id, pid));
        }
    }
    firsts
}

/// Tells `ready` the gradients that became final at node `id`: those of the parameters first
/// entered there.
fn report_final(finals: &mut Vec<(usize, ParamId)>, id: usize, grads: &Grads, ready: &mut Option<GradientReady<'_>>) {
    while let Some(&(node, pid)) = finals.last() {
        if node < id {
            break;
        }
        finals.pop();
        if let (Some(ready), Some(grad)) = (ready.as_mut(), grads.get(pid)) {
            ready(pid, grad);
        }
    }
}

/// `acc += g` for equal shapes, in `acc`'s buffer when nobody else holds it (copy on write
/// otherwise).
fn accumulate(acc: &mut Tensor, g: Tensor) {
    debug_assert_eq!(acc.shape(), g.shape(), "gradient accumulation");
    acc.add_assign(&g);
}
