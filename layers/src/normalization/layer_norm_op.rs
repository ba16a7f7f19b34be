//! The fused layer-normalization op: each row of `n` trailing elements normalized by its own
//! mean and variance, then scaled and shifted, as one tape node with a hand-written backward.
//!
//! The composition (mean, subtract, square, mean, add, power, multiply, multiply, add) takes
//! nine passes over the activations and nine tape nodes; this op takes one pass for the
//! statistics and one for the output, and its backward two passes per row.
//!
//! Statistics: one pass per row over the data shifted by the row's first element, with f64
//! sums (`mean = k + Σ(x - k) / n`, `var = (Σ(x - k)² - (Σ(x - k))² / n) / n`). The shift
//! keeps the sums small when the mean is large against the spread, so the variance does not
//! cancel away, and the f64 sums keep long rows exact to f32 precision.
//!
//! Backward, with `x̂ = (x - mean) · rstd` and `g = dy · gamma` per row:
//! `dx = rstd · (g - mean(g) - x̂ · mean(g · x̂))`, `dgamma = Σ_rows dy · x̂`,
//! `dbeta = Σ_rows dy`.

use kensho_autograd::{InputGrads, Var};
use kensho_core::Tensor;

/// The per-row mean and `1 / sqrt(var + epsilon)` of `x` (rows of `n` contiguous elements).
fn row_stats(x: &[f32], n: usize, epsilon: f32) -> (Vec<f32>, Vec<f32>) {
    let rows = x.len() / n.max(1);
    let (mut mean, mut rstd) = (Vec::with_capacity(rows), Vec::with_capacity(rows));
    for row in x.chunks_exact(n) {
        let k = row[0];
        let (mut s1, mut s2) = (0.0f64, 0.0f64);
        for &v in row {
            let d = f64::from(v - k);
            s1 += d;
            s2 += d * d;
        }
        let nf = n as f64;
        let var = ((s2 - s1 * s1 / nf) / nf).max(0.0);
        mean.push((f64::from(k) + s1 / nf) as f32);
        rstd.push(1.0 / (var as f32 + epsilon).sqrt());
    }
    (mean, rstd)
}

/// Layer normalization over the last `n` elements of each row of `x` (the trailing axes whose
/// sizes multiply to `n`): `(x - mean) / sqrt(var + epsilon) * gamma + beta`, with `gamma` and
/// `beta` (if given) holding `n` values each, in any shape.
///
/// # Panics
/// If `n` is 0 or does not divide the size of `x`, or `gamma` / `beta` do not hold `n` values.
#[track_caller]
pub(crate) fn layer_norm<'t>(
    x: Var<'t>,
    gamma: Option<Var<'t>>,
    beta: Option<Var<'t>>,
    n: usize,
    epsilon: f32,
) -> Var<'t> {
    let xv = x.value().to_contiguous();
    assert!(n > 0 && xv.len().is_multiple_of(n), "layer_norm: rows of {n} do not tile shape {:?}", xv.shape());
    let gv = gamma.map(|g| g.value().to_contiguous());
    let bv = beta.map(|b| b.value().to_contiguous());
    for (what, t) in [("gamma", &gv), ("beta", &bv)] {
        assert!(t.as_ref().is_none_or(|t| t.len() == n), "layer_norm: {what} must hold {n} values");
    }
    let xs = xv.as_slice().expect("contiguous");
    let (mean, rstd) = row_stats(xs, n, epsilon);
    let g = gv.as_ref().map(|t| t.as_slice().expect("contiguous").to_vec());
    let b = bv.as_ref().map(|t| t.as_slice().expect("contiguous").to_vec());
    let mut y = Vec::with_capacity(xs.len());
    for (r, row) in xs.chunks_exact(n).enumerate() {
        let (m, s) = (mean[r], rstd[r]);
        y.extend(row.iter().enumerate().map(|(j, &v)| {
            let h = (v - m) * s;
            let h = g.as_ref().map_or(h, |g| h * g[j]);
            b.as_ref().map_or(h, |b| h + b[j])
        }));
    }
    let y = Tensor::from_vec(y, xv.shape()).expect("the input's shape");
    let mut inputs = vec![x];
    inputs.extend(gamma);
    inputs.extend(beta);
    let shapes: Vec<Vec<usize>> = inputs.iter().map(Var::shape).collect();
    let has_gamma = gamma.is_some();
    x.tape().record(y, &inputs, move |dy, needs| {
        let dy = dy.to_contiguous();
        let grads = backward(
            xv.as_slice().expect("contiguous"),
            dy.as_slice().expect("contiguous"),
            g.as_deref(),
            &mean,
            &rstd,
            n,
        );
        let [dx, dgamma, dbeta] = grads;
        let mut out: InputGrads = InputGrads::new();
        out.push(needs[0].then(|| Tensor::from_vec(dx, &shapes[0]).expect("x's shape")));
        if has_gamma {
            out.push(needs[1].then(|| Tensor::from_vec(dgamma, &shapes[1]).expect("gamma's shape")));
        }
        if needs.len() > out.len() {
            let i = out.len();
            out.push(needs[i].then(|| Tensor::from_vec(dbeta, &shapes[i]).expect("beta's shape")));
        }
        out
    })
}

/// The gradients `[dx, dgamma, dbeta]` for rows of `n`, given `dy`, `gamma` (None: ones) and
/// the forward's row statistics.
fn backward(x: &[f32], dy: &[f32], gamma: Option<&[f32]>, mean: &[f32], rstd: &[f32], n: usize) -> [Vec<f32>; 3] {
    let mut dx = Vec::with_capacity(x.len());
    let (mut dgamma, mut dbeta) = (vec![0.0f32; n], vec![0.0f32; n]);
    let mut g = vec![0.0f32; n];
    for (r, (row, dy_row)) in x.chunks_exact(n).zip(dy.chunks_exact(n)).enumerate() {
        let (m, s) = (mean[r], rstd[r]);
        let (mut sum_g, mut sum_gh) = (0.0f32, 0.0f32);
        for j in 0..n {
            let h = (row[j] - m) * s;
            g[j] = gamma.map_or(dy_row[j], |gm| dy_row[j] * gm[j]);
            sum_g += g[j];
            sum_gh += g[j] * h;
            dgamma[j] += dy_row[j] * h;
            dbeta[j] += dy_row[j];
        }
        let (a, c) = (sum_g / n as f32, sum_gh / n as f32);
        dx.extend((0..n).map(|j| s * (g[j] - a - (row[j] - m) * s * c)));
    }
    [dx, dgamma, dbeta]
}

#[cfg(test)]
mod tests {
    use super::*;
    use kensho_autograd::Tape;

    #[test]
    fn statistics_survive_a_large_mean() {
        // Rows of 1e4 + {0, 1, 2, 3}: mean 1e4 + 1.5, variance 1.25, exactly.
        let x: Vec<f32> = (0..4).map(|v| 1e4 + v as f32).collect();
        let (mean, rstd) = row_stats(&x, 4, 0.0);
        assert_eq!(mean[0], 1e4 + 1.5);
        assert!((rstd[0] - 1.0 / 1.25f32.sqrt()).abs() < 1e-6);
    }

    #[test]
    fn equals_the_composition() {
        let mut rng = kensho_core::seeded_rng(3);
        let tape = Tape::new();
        let x = tape.leaf(Tensor::rand_uniform(&[3, 2, 5], -2.0, 2.0, &mut rng));
        let g = tape.leaf(Tensor::rand_uniform(&[5], 0.5, 1.5, &mut rng));
        let b = tape.leaf(Tensor::rand_uniform(&[5], -1.0, 1.0, &mut rng));
        let fused = layer_norm(x, Some(g), Some(b), 5, 1e-3).value();
        let centered = x.sub(x.mean_axes(&[2], true));
        let var = centered.mul(centered).mean_axes(&[2], true);
        let composed = centered.mul(var.add_scalar(1e-3).powf(-0.5)).mul(g).add(b).value();
        assert!(fused.allclose(&composed, 1e-5, 1e-5));
    }
}
