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
//! Neighbours: built on `kensho-core`; used by `kensho-layers` (layers and losses) and
//! `kensho-optim` (which knows [`Param`] and [`Grads`] only).

mod check;
mod ops;
mod param;
mod tape;

pub use check::{gradcheck, GradcheckError};
pub use param::{Grads, Param, ParamId};
pub use tape::{BackwardFn, InputGrads, Tape, Var};
