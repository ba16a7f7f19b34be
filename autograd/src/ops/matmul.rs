//! The matrix product op: `dA = dY · Bᵀ`, `dB = Aᵀ · dY` (transposes are stride views, never
//! copies), each summed back over broadcast batch axes.

use crate::Var;
use smallvec::smallvec;

impl<'t> Var<'t> {
    /// The matrix product over the last two axes, batch axes broadcast (`[.., m, k] x [.., k, n]`).
    ///
    /// # Panics
    /// If the shapes do not fit; the message names both shapes.
    #[track_caller]
    pub fn matmul(self, rhs: Var<'t>) -> Var<'t> {
        let (a, b) = (self.value(), rhs.value());
        let y = a.matmul(&b);
        self.tape().record(y, &[self, rhs], move |dy, needs| {
            smallvec![
                needs[0].then(|| dy.matmul(&b.transpose()).sum_to(a.shape())),
                needs[1].then(|| a.transpose().matmul(dy).sum_to(b.shape())),
            ]
        })
    }
}
