//! kensho-optim: optimizers that update [`Param`](kensho_autograd::Param)s in place from the
//! [`Grads`](kensho_autograd::Grads) that `Tape::backward` returns.
//!
//! - [`Optimizer`]: the trait the model's training step calls; [`OptimizerConfig`] its
//!   serializable configuration (`build()` makes a fresh optimizer from it).
//! - [`Sgd`], [`Adam`], [`AdamW`], [`RmsProp`], [`Adagrad`]: Keras 3 formulas and defaults.
//! - Options common to all (shared code in `rule.rs`): `clipnorm`, `clipvalue`,
//!   `global_clipnorm`, decoupled `weight_decay`, and a [`LearningRateSchedule`]
//!   ([`ExponentialDecay`], [`PiecewiseConstantDecay`], [`CosineDecay`] with warmup).
//! - Checkpoints: [`Optimizer::state`] / [`Optimizer::load_state`] as a flat list of
//!   `("{param}/{slot}", Tensor)`.
//!
//! Neighbours: depends on `kensho-core` (tensors) and `kensho-autograd` (`Param`, `Grads`);
//! knows nothing about layers. The `kensho` facade drives it from `fit`.
//!
//! ```
//! use kensho_autograd::{Grads, Param};
//! use kensho_core::Tensor;
//! use kensho_optim::{CosineDecay, Optimizer, Sgd};
//!
//! // Minimize f(w) = |w|² / 2, whose gradient is w itself.
//! let mut w = Param::new("w", Tensor::from_vec(vec![3.0, -2.0, 1.0], &[3])?);
//! let mut opt = Sgd::new(0.1).momentum(0.9).learning_rate_schedule(CosineDecay::new(0.1, 200));
//! for _ in 0..200 {
//!     let mut grads = Grads::new();
//!     grads.insert(w.id(), w.value.clone());
//!     opt.step(&mut [&mut w], &grads);
//! }
//! assert_eq!(opt.iterations(), 200);
//! assert!(w.value.to_vec().iter().all(|v| v.abs() < 1e-3));
//! # Ok::<(), kensho_core::Error>(())
//! ```

#![forbid(unsafe_code)]

mod adagrad;
mod adam;
mod optimizer;
mod plumbing;
mod rmsprop;
mod rule;
mod schedule;
mod sgd;

pub use adagrad::{Adagrad, AdagradConfig};
pub use adam::{Adam, AdamConfig, AdamW};
pub use optimizer::{Optimizer, OptimizerConfig, OptimizerOptions};
pub use rmsprop::{RmsProp, RmsPropConfig};
pub use schedule::{CosineDecay, ExponentialDecay, LearningRateSchedule, PiecewiseConstantDecay};
pub use sgd::{Sgd, SgdConfig};
