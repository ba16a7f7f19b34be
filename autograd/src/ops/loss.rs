//! Fused, numerically stable loss kernels, each returning per-sample (or per-element) losses so
//! that weighting and reduction stay ordinary ops:
//! softmax + cross-entropy on integer labels, softmax + cross-entropy on probability targets, and
//! sigmoid + binary cross-entropy on logits. No NaN or infinity for confident wrong predictions.

use crate::Var;
use kensho_core::Tensor;
use smallvec::smallvec;

impl<'t> Var<'t> {
    /// Per-sample `-log softmax(logits)[label]` for logits `[n, C]` and `n` labels `< C`.
    ///
    /// Backward: `(softmax(logits) - onehot(label)) * dy`.
    ///
    /// # Panics
    /// If the logits are not 2-D, the label count differs from `n`, or a label is `>= C`
    /// (callers validate labels at the boundary and return an error there).
    #[track_caller]
    pub fn sparse_softmax_cross_entropy(self, labels: &[usize]) -> Var<'t> {
        let logits = self.value();
        let shape = logits.shape().to_vec();
        assert!(
            shape.len() == 2 && shape[0] == labels.len() && labels.iter().all(|&l| l < shape[1]),
            "sparse_softmax_cross_entropy: logits of shape {shape:?} need {} labels in 0..{}",
            shape.first().copied().unwrap_or(0),
            shape.get(1).copied().unwrap_or(0)
        );
        let log_probs = logits.log_softmax(1);
        let lp = log_probs.as_slice().expect("log_softmax is contiguous");
        let classes = shape[1];
        let losses: Vec<f32> = labels.iter().enumerate().map(|(i, &l)| -lp[i * classes + l]).collect();
        let labels = labels.to_vec();
        let y = Tensor::from_vec(losses, &[shape[0]]).expect("one loss per row");
        self.tape().record(y, &[self], move |dy, _| {
            let mut grad = log_probs.exp();
            let g = grad.as_mut_slice();
            let dy = dy.to_vec();
            for (i, &l) in labels.iter().enumerate() {
                g[i * classes + l] -= 1.0;
                g[i * classes..(i + 1) * classes].iter_mut().for_each(|v| *v *= dy[i]);
            }
            smallvec![Some(grad)]
        })
    }

    /// Per-sample `-sum(target * log softmax(logits))` along the last axis of `[n, C]` logits.
    ///
    /// Backward: `(softmax(logits) * sum(target) - target) * dy`.
    ///
    /// # Panics
    /// If `targets` has a different shape from the logits or the logits are not 2-D.
    #[track_caller]
    pub fn softmax_cross_entropy(self, targets: &Tensor) -> Var<'t> {
        let logits = self.value();
        assert!(
            logits.ndim() == 2 && logits.shape() == targets.shape(),
            "softmax_cross_entropy: logits {:?} and targets {:?} must be equal 2-D shapes",
            logits.shape(),
            targets.shape()
        );
        let log_probs = logits.log_softmax(1);
        let y = targets.mul(&log_probs).sum_axes(&[1], false).neg();
        let targets = targets.clone();
        self.tape().record(y, &[self], move |dy, _| {
            let mass = targets.sum_axes(&[1], true);
            let dy = dy.unsqueeze(1);
            smallvec![Some(log_probs.exp().mul(&mass).sub(&targets).mul(&dy))]
        })
    }

    /// Elementwise binary cross-entropy of `sigmoid(logits)` against `targets` in `[0, 1]`,
    /// computed as `max(x, 0) - x * t + log(1 + e^-|x|)`.
    ///
    /// Backward: `(sigmoid(x) - t) * dy`.
    ///
    /// # Panics
    /// If `targets` has a different shape from the logits.
    #[track_caller]
    pub fn sigmoid_cross_entropy(self, targets: &Tensor) -> Var<'t> {
        let logits = self.value();
        assert_eq!(logits.shape(), targets.shape(), "sigmoid_cross_entropy: logits and targets shapes differ");
        let y = logits.zip_with(targets, "sigmoid_cross_entropy", |x, t| x.max(0.0) - x * t + (-x.abs()).exp().ln_1p());
        let targets = targets.clone();
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(logits.sigmoid().sub(&targets).mul(dy))])
    }
}
