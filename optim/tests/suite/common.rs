//! Helpers shared by the integration tests.
#![allow(dead_code)]

use kensho_autograd::{Grads, Param};
use kensho_core::Tensor;
use kensho_optim::Optimizer;

/// A parameter from values.
pub fn param(name: &str, v: &[f32]) -> Param {
    Param::new(name, Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap())
}

/// Gradients for the given params.
pub fn grads(pairs: &[(&Param, &[f32])]) -> Grads {
    let mut g = Grads::new();
    for (p, v) in pairs {
        g.insert(p.id(), Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap());
    }
    g
}

/// Asserts `got` is within `tol` of `want`, elementwise.
#[track_caller]
pub fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol, "got {got:?}, want {want:?} (tol {tol})");
    }
}

/// One step of `opt` on a single param with gradient `g`.
pub fn step1(opt: &mut dyn Optimizer, p: &mut Param, g: &[f32]) {
    let gr = grads(&[(p, g)]);
    opt.step(&mut [p], &gr);
}
