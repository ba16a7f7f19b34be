//! L1 / L2 weight penalties added to the loss (Keras' `L1`, `L2` and `L1L2` regularizers).

use kensho_autograd::Var;
use serde::{Deserialize, Serialize};

/// A penalty `l1 * sum(|w|) + l2 * sum(w^2)` on a weight tensor, added to the training loss.
#[derive(Clone, Copy, Debug, PartialEq, Default, Serialize, Deserialize)]
pub struct Regularizer {
    /// Coefficient of the L1 term.
    pub l1: f32,
    /// Coefficient of the L2 term.
    pub l2: f32,
}

impl Regularizer {
    /// An L1 penalty (Keras' default factor is 0.01).
    pub fn l1(l1: f32) -> Regularizer {
        Regularizer { l1, l2: 0.0 }
    }

    /// An L2 penalty (Keras' default factor is 0.01).
    pub fn l2(l2: f32) -> Regularizer {
        Regularizer { l1: 0.0, l2 }
    }

    /// The penalty for `w`, recorded on `w`'s tape.
    pub fn penalty<'t>(&self, w: Var<'t>) -> Var<'t> {
        let l1 = w.abs().sum_all().mul_scalar(self.l1);
        let l2 = w.mul(w).sum_all().mul_scalar(self.l2);
        match (self.l1 != 0.0, self.l2 != 0.0) {
            (true, true) => l1.add(l2),
            (true, false) => l1,
            _ => l2,
        }
    }
}
