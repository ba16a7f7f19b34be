//! The matrix product op: `dA = dY · Bᵀ`, `dB = Aᵀ · dY` (transposes are stride views, never
//! copies), each summed back over broadcast batch axes; and the fused affine op `x · w + b` that
//! dense layers use.

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

    /// The affine map `x · w + b` for `x: [n, in]`, `w: [in, out]`, `b: [out]`, fused: the bias
    /// is added into the product's fresh buffer (no extra pass or allocation), and the backward
    /// gives `dx = dy · wᵀ`, `dw = xᵀ · dy`, `db = Σ_rows dy`. Equal to `x.matmul(w).add(b)`.
    ///
    /// # Panics
    /// If `x` or `w` is not 2-D, the inner dimensions differ, or `b` is not `[out]`.
    #[track_caller]
    pub fn linear(self, w: Var<'t>, b: Var<'t>) -> Var<'t> {
        let (x, wv, bv) = (self.value(), w.value(), b.value());
        assert!(
            x.ndim() == 2 && wv.ndim() == 2 && bv.shape() == [wv.shape()[1]],
            "linear: expected x [n, in], w [in, out], b [out], got {:?}, {:?}, {:?}",
            x.shape(),
            wv.shape(),
            bv.shape()
        );
        let mut y = x.matmul(&wv);
        y.add_assign(&bv);
        self.tape().record(y, &[self, w, b], move |dy, needs| {
            smallvec![
                needs[0].then(|| dy.matmul(&wv.transpose())),
                needs[1].then(|| x.transpose().matmul(dy)),
                needs[2].then(|| dy.sum_axes(&[0], false)),
            ]
        })
    }
}
