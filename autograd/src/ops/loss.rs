//! Fused, numerically stable loss kernels, each returning per-position (or per-element) losses so
//! that weighting and reduction stay ordinary ops:
//! softmax + cross-entropy on integer labels, softmax + cross-entropy on probability targets
//! (both over the last axis of logits of any rank), and sigmoid + binary cross-entropy on logits.
//! No NaN or infinity for confident wrong predictions. A loss that gets probabilities can find
//! their logits with [`Var::softmax_logits`] and [`Var::sigmoid_logits`].

use crate::Var;
use kensho_core::Tensor;
use smallvec::smallvec;

impl<'t> Var<'t> {
    /// Per-position `-log softmax(logits)[label]` over the last axis: for logits `[.., C]`, one
    /// label `< C` per position of the leading axes (row-major order), giving losses of the
    /// logits' shape without the last axis (`[n, C]` gives `[n]`, `[C]` gives a scalar).
    ///
    /// Backward: `(softmax(logits) - onehot(label)) * dy`.
    ///
    /// ```
    /// use kensho_autograd::Tape;
    /// use kensho_core::Tensor;
    /// let tape = Tape::no_grad();
    /// let logits = tape.constant(Tensor::zeros(&[2, 3, 4]));   // batch 2, 3 steps, 4 classes
    /// let loss = logits.sparse_softmax_cross_entropy(&[0, 1, 2, 3, 0, 1]);
    /// assert_eq!(loss.shape(), vec![2, 3]);
    /// assert!((loss.value().to_vec()[0] - 4f32.ln()).abs() < 1e-6);
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    ///
    /// # Panics
    /// If the logits are a scalar, the label count differs from the number of leading
    /// positions, or a label is `>= C` (callers validate labels at the boundary and return an
    /// error there).
    #[track_caller]
    pub fn sparse_softmax_cross_entropy(self, labels: &[usize]) -> Var<'t> {
        let logits = self.value();
        let shape = logits.shape().to_vec();
        let (lead, classes) = split_last(&shape, "sparse_softmax_cross_entropy");
        let rows: usize = lead.iter().product();
        assert!(
            labels.len() == rows,
            "sparse_softmax_cross_entropy: logits of shape {shape:?} need {rows} labels (one per position \
             of {lead:?}), got {}",
            labels.len()
        );
        if let Some((i, l)) = labels.iter().enumerate().find(|&(_, &l)| l >= classes) {
            panic!("sparse_softmax_cross_entropy: label {l} at position {i} is not in 0..{classes} (logits {shape:?})");
        }
        let log_probs = logits.log_softmax(shape.len() - 1).to_contiguous();
        let lp = log_probs.as_slice().expect("contiguous");
        let losses: Vec<f32> = labels.iter().enumerate().map(|(i, &l)| -lp[i * classes + l]).collect();
        let labels = labels.to_vec();
        let y = Tensor::from_vec(losses, lead).expect("one loss per position");
        self.tape().record(y, &[self], move |dy, _| {
            let mut grad = log_probs.exp();
            let g = grad.as_mut_slice();
            let dy = dy.to_vec();
            for (i, (&l, row)) in labels.iter().zip(g.chunks_exact_mut(classes.max(1))).enumerate() {
                row[l] -= 1.0;
                row.iter_mut().for_each(|v| *v *= dy[i]);
            }
            smallvec![Some(grad)]
        })
    }

    /// Per-position `-sum(target * log softmax(logits))` over the last axis, for logits and
    /// targets of one shape `[.., C]` (any rank >= 1), giving losses of that shape without the
    /// last axis. Targets need not sum to 1.
    ///
    /// Backward: `(softmax(logits) * sum(target) - target) * dy`.
    ///
    /// # Panics
    /// If `targets` has a different shape from the logits, or the logits are a scalar.
    #[track_caller]
    pub fn softmax_cross_entropy(self, targets: &Tensor) -> Var<'t> {
        let logits = self.value();
        assert!(
            logits.ndim() >= 1 && logits.shape() == targets.shape(),
            "softmax_cross_entropy: logits {:?} and targets {:?} must have one shape of rank >= 1",
            logits.shape(),
            targets.shape()
        );
        let axis = logits.ndim() - 1;
        let log_probs = logits.log_softmax(axis);
        let y = targets.mul(&log_probs).sum_axes(&[axis], false).neg();
        let targets = targets.clone();
        self.tape().record(y, &[self], move |dy, _| {
            let mass = targets.sum_axes(&[axis], true);
            let dy = dy.unsqueeze(axis);
            smallvec![Some(log_probs.exp().mul(&mass).sub(&targets).mul(&dy))]
        })
    }

    /// Elementwise binary cross-entropy of `sigmoid(logits)` against `targets` in `[0, 1]`, for
    /// any shape, computed as `max(x, 0) - x * t + log(1 + e^-|x|)` (NaN for NaN logits).
    ///
    /// Backward: `(sigmoid(x) - t) * dy`.
    ///
    /// # Panics
    /// If `targets` has a different shape from the logits.
    #[track_caller]
    pub fn sigmoid_cross_entropy(self, targets: &Tensor) -> Var<'t> {
        let logits = self.value();
        assert_eq!(logits.shape(), targets.shape(), "sigmoid_cross_entropy: logits and targets shapes differ");
        // `max(x, 0)` written to keep NaN (`x.max(0.0)` maps NaN to 0; the other terms are NaN
        // anyway, but the loss should not depend on that).
        let relu = |x: f32| if x < 0.0 { 0.0 } else { x };
        let y = logits.zip_with(targets, "sigmoid_cross_entropy", |x, t| relu(x) - x * t + (-x.abs()).exp().ln_1p());
        let targets = targets.clone();
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(logits.sigmoid().sub(&targets).mul(dy))])
    }
}

/// The leading dimensions and the size of the last axis.
///
/// # Panics
/// If `shape` is a scalar's.
#[track_caller]
fn split_last<'s>(shape: &'s [usize], op: &str) -> (&'s [usize], usize) {
    match shape.split_last() {
        Some((&classes, lead)) => (lead, classes),
        None => panic!("{op}: logits need at least one axis (the classes), got a scalar"),
    }
}
