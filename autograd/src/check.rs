//! [`gradcheck`]: compares the gradients from the tape with central finite differences.
//!
//! The output is reduced to a scalar by a fixed random projection `Σ y ⊙ r` accumulated in f64,
//! each input element is moved by `±eps` (1e-3, the right size for f32), and the check passes
//! when `|analytic − numeric| ≤ atol + rtol·|numeric|` for every element (1e-3 and 1e-2).

use crate::{Tape, Var};
use kensho_core::Tensor;

/// Central-difference step.
const EPS: f32 = 1e-3;
/// Absolute tolerance.
const ATOL: f64 = 1e-3;
/// Relative tolerance.
const RTOL: f64 = 1e-2;

/// The first element whose analytic gradient disagrees with the finite difference.
#[derive(Debug, Clone, PartialEq)]
pub struct GradcheckError {
    /// Which input (position in the `inputs` slice).
    pub input: usize,
    /// Which element of that input, in row-major order.
    pub index: usize,
    /// The gradient computed by the tape.
    pub analytic: f64,
    /// The central finite difference.
    pub numeric: f64,
}

impl std::fmt::Display for GradcheckError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "gradient of input {} at element {}: analytic {:.6} vs numeric {:.6}",
            self.input, self.index, self.analytic, self.numeric
        )
    }
}

impl std::error::Error for GradcheckError {}

/// `Σ y ⊙ r` in f64.
fn project(y: &Tensor, r: &[f32]) -> f64 {
    y.to_vec().iter().zip(r).map(|(&a, &b)| f64::from(a) * f64::from(b)).sum()
}

/// Checks the gradients of `f` with respect to every input against central finite differences.
///
/// Inputs may be non-contiguous (for example transposed); keep them away from kinks.
///
/// ```
/// use kensho_autograd::gradcheck;
/// use kensho_core::Tensor;
/// let x = Tensor::from_vec(vec![0.5, -1.2, 2.0], &[3])?;
/// gradcheck(&[x], |v| v[0].tanh().mul(v[0])).unwrap();
/// # Ok::<(), kensho_core::Error>(())
/// ```
///
/// # Errors
/// The first element whose gradient is off.
pub fn gradcheck(inputs: &[Tensor], f: impl for<'t> Fn(&[Var<'t>]) -> Var<'t>) -> Result<(), GradcheckError> {
    let tape = Tape::new();
    let vars: Vec<Var> = inputs.iter().map(|t| tape.leaf(t.clone())).collect();
    let y = f(&vars);
    let r = Tensor::rand_uniform(&y.shape(), -1.0, 1.0, &mut kensho_core::seeded_rng(0x5eed));
    let projected = y.mul(tape.constant(r.clone())).sum_all();
    let grads = tape.backward(projected);
    let r = r.to_vec();
    let evaluate = |perturbed: &[Tensor]| {
        let tape = Tape::no_grad();
        let vars: Vec<Var> = perturbed.iter().map(|t| tape.constant(t.clone())).collect();
        project(&f(&vars).value(), &r)
    };
    for (i, input) in inputs.iter().enumerate() {
        let analytic = grads.wrt(vars[i]).map_or_else(|| vec![0.0; input.len()], Tensor::to_vec);
        for (j, &a) in analytic.iter().enumerate() {
            let shifted = |delta: f32| {
                let mut moved = inputs.to_vec();
                moved[i].add_at(j, delta);
                evaluate(&moved)
            };
            let numeric = (shifted(EPS) - shifted(-EPS)) / (2.0 * f64::from(EPS));
            let a = f64::from(a);
            if (a - numeric).abs() > ATOL + RTOL * numeric.abs() {
                return Err(GradcheckError { input: i, index: j, analytic: a, numeric });
            }
        }
    }
    Ok(())
}
