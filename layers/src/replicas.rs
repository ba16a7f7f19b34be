//! [`ReplicaSum`]: the one collective operation a layer may use inside a train step, for
//! layers whose training output depends on the whole batch when data-parallel training splits
//! it across processes (replicas). BatchNormalization sums its batch statistics through it, so
//! its statistics are the whole batch's on every replica (synchronised batch normalization).

use crate::Ctx;
use kensho_autograd::Var;
use kensho_core::Tensor;
use std::sync::Arc;

/// Elementwise sums over the replicas of data-parallel training. Every replica calls it the
/// same number of times, in the same order, with tensors of the same shape.
pub trait ReplicaSum: Send + Sync {
    /// The sum of `values` over every replica.
    ///
    /// # Panics
    /// If the replicas cannot be reached; data-parallel training then ends every replica.
    fn sum(&self, values: &Tensor) -> Tensor;
}

/// `x` summed over the replicas, on the tape: the gradient of a sum that every replica uses is
/// the sum of the replicas' gradients, so backward sums too. Without replicas, `x` itself.
pub fn replica_sum<'t>(cx: &Ctx<'t>, x: Var<'t>) -> Var<'t> {
    let Some(replicas) = cx.replicas.clone() else { return x };
    let value = replicas.sum(&x.value());
    cx.tape.record(value, &[x], move |grad, _| std::iter::once(Some(replicas.sum(grad))).collect())
}

/// The number of replicas' rows `local` adds up to (itself without replicas).
pub fn replica_count(cx: &Ctx<'_>, local: f32) -> f32 {
    cx.replicas.as_ref().map_or(local, |r| r.sum(&Tensor::from_vec(vec![local], &[1]).expect("one value")).to_vec()[0])
}

/// Shared replicas, as a [`Ctx`] holds them.
pub type Replicas = Arc<dyn ReplicaSum>;
