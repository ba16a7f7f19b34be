//! kensho-autograd: reverse-mode automatic differentiation on a tape.
//!
//! Forward runs eagerly on real [`Tensor`](kensho_core::Tensor)s; each op on a [`Var`] also
//! records its local gradient rule on the [`Tape`] unless the tape is a no-grad tape.
//! [`Tape::backward`] walks the tape once in reverse and returns [`Grads`] for every [`Param`]
//! that contributed. Every op's forward call and backward rule sit together in one function in
//! `ops/`; broadcasting is its own op whose backward sums back to the operand's shape, so the
//! other rules ignore shapes. [`gradcheck`] compares any function's gradients with finite
//! differences; layers and losses in the crates above reuse it.
//!
//! Memory: `backward` consumes the tape (read the loss and predictions before calling it) and
//! frees each value as soon as the reverse loop has passed it; in inference,
//! [`Tape::retain_only`] releases the activations no longer needed. Softmax and sigmoid remember
//! their logits ([`Var::softmax_logits`], [`Var::sigmoid_logits`]) so a loss can use the fused,
//! stable cross-entropy kernels whichever layer applied the activation.
//!
//! Neighbours: built on `kensho-core`; used by `kensho-layers` (layers and losses) and
//! `kensho-optim` (which knows [`Param`] and [`Grads`] only).

#![forbid(unsafe_code)]

mod backward;
mod check;
mod ops;
mod param;
mod tape;

pub use backward::GradientReady;
pub use check::{gradcheck, GradcheckError};
pub use ops::RecurrentWeights;
pub use param::{Grads, Param, ParamId};
pub use tape::{BackwardFn, InputGrads, Tape, Var};
