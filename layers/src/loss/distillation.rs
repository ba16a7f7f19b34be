//! Knowledge distillation (Hinton et al., 2015): a student learns from the hard labels and from
//! a teacher's logits softened by a temperature, in one [`Loss`].
//!
//! The teacher's logits travel with the labels in the targets, so the loss needs no model and
//! fits the ordinary `fit` loop: the facade's `Distiller` builds those targets.

use super::{count, Loss, LossConfig};
use kensho_autograd::Var;
use kensho_core::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

/// `alpha * CE(label, student) + (1 - alpha) * T² * KL(softmax(teacher / T) ‖ softmax(student / T))`
/// per sample, for a student that outputs logits `[batch, classes]`.
///
/// The targets are `[batch, 1 + classes]`: each row is the integer label followed by the
/// teacher's logits for that sample. `T²` keeps the soft term's gradients on the scale of the
/// hard term's whatever the temperature (Hinton et al.). With `alpha = 1` this is exactly
/// `SparseCategoricalCrossentropy::from_logits()` on the first column. The Keras example uses
/// `alpha = 0.1` and a temperature of 3 to 10; those are the defaults here (`temperature = 3`).
///
/// The KL divergence is computed exactly, as a cross-entropy of the softened student against
/// the teacher's probabilities minus the teacher's entropy (Keras clips both distributions to
/// `[1e-7, 1]` first, which changes the value by at most about 1e-6 per class).
///
/// ```
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// use kensho_layers::{DistillationLoss, Loss};
/// let loss = DistillationLoss::new(0.1, 3.0)?;
/// let tape = Tape::new();
/// // Student and teacher agree (both logits [1, 2]): only the hard term is left.
/// let student = tape.constant(Tensor::from_vec(vec![1.0, 2.0], &[1, 2])?);
/// let targets = Tensor::from_vec(vec![1.0, 1.0, 2.0], &[1, 3])?;
/// loss.check(&[1, 2], &targets)?;
/// let value = loss.per_element(student, &targets).value().item();
/// let hard = (1.0f32 + (-1.0f32).exp()).ln(); // -log softmax([1, 2])[1]
/// assert!((value - 0.1 * hard).abs() < 1e-6);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DistillationLoss {
    alpha: f32,
    temperature: f32,
}

impl Default for DistillationLoss {
    /// `alpha = 0.1`, `temperature = 3`, the Keras example's defaults.
    fn default() -> Self {
        DistillationLoss { alpha: 0.1, temperature: 3.0 }
    }
}

impl DistillationLoss {
    /// A distillation loss weighting the hard labels by `alpha` and the teacher by `1 - alpha`,
    /// softening both distributions by `temperature`.
    ///
    /// # Errors
    /// If `alpha` is not in `[0, 1]` or `temperature` is not a finite positive number.
    pub fn new(alpha: f32, temperature: f32) -> Result<Self> {
        let loss = DistillationLoss { alpha, temperature };
        loss.validate()?;
        Ok(loss)
    }

    /// The weight of the hard-label cross-entropy (the teacher's term has `1 - alpha`).
    pub fn alpha(&self) -> f32 {
        self.alpha
    }

    /// The softmax temperature applied to both the teacher's and the student's logits.
    pub fn temperature(&self) -> f32 {
        self.temperature
    }

    /// Checks the settings (a deserialized configuration is checked again here).
    fn validate(&self) -> Result<()> {
        if !(0.0..=1.0).contains(&self.alpha) {
            return Err(Error::invalid("distillation alpha", self.alpha, "a weight in [0, 1]"));
        }
        if !(self.temperature.is_finite() && self.temperature > 0.0) {
            return Err(Error::invalid(
                "distillation temperature",
                self.temperature,
                "a finite number > 0 (1 leaves the logits as they are; Keras' example uses 3 to 10)",
            ));
        }
        Ok(())
    }
}

impl Loss for DistillationLoss {
    fn name(&self) -> &str {
        "distillation"
    }

    fn check(&self, output_shape: &[usize], y_true: &Tensor) -> Result<()> {
        self.validate()?;
        let &[n, classes] = output_shape else {
            return Err(Error::shape(
                self.name(),
                "a student output of shape [batch, classes] (logits)".to_string(),
                output_shape,
            ));
        };
        if y_true.shape() != [n, 1 + classes] {
            return Err(Error::shape(
                self.name(),
                format!(
                    "targets [{n}, {}]: the label then the teacher's {} per sample; a different width \
                     means the teacher and the student have different numbers of outputs",
                    1 + classes,
                    count(classes, "logit")
                ),
                y_true.shape(),
            ));
        }
        if !y_true.all_finite() {
            return Err(Error::invalid("distillation targets", "a NaN or infinite value", "finite numbers"));
        }
        let labels = y_true.slice_axis(1, 0, 1);
        if let Some(bad) = labels.iter().find(|&v| !(v >= 0.0 && v < classes as f32 && v.fract() == 0.0)) {
            return Err(Error::invalid(
                "distillation label",
                bad,
                format!("whole numbers in [0, {classes}) for a student with {}", count(classes, "output")),
            ));
        }
        Ok(())
    }

    fn per_element<'t>(&self, y_pred: Var<'t>, y_true: &Tensor) -> Var<'t> {
        let tape = y_pred.tape();
        let classes = y_true.shape()[1] - 1;
        let labels: Vec<usize> = y_true.slice_axis(1, 0, 1).iter().map(|v| v as usize).collect();
        let hard = y_pred.sparse_softmax_cross_entropy(&labels);
        // The teacher is a constant: its softened probabilities and their negative entropy
        // `sum p log p` per sample, so that KL(p ‖ q) = CE(p, q) + sum p log p.
        let teacher_log_p = y_true.slice_axis(1, 1, 1 + classes).mul_scalar(1.0 / self.temperature).log_softmax(1);
        let teacher_p = teacher_log_p.exp();
        let neg_entropy = teacher_p.mul(&teacher_log_p).sum_axes(&[1], false);
        let soft_ce = y_pred.mul_scalar(1.0 / self.temperature).softmax_cross_entropy(&teacher_p);
        let kl = soft_ce.add(tape.constant(neg_entropy));
        let soft_weight = (1.0 - self.alpha) * self.temperature * self.temperature;
        hard.mul_scalar(self.alpha).add(kl.mul_scalar(soft_weight))
    }

    fn config(&self) -> LossConfig {
        LossConfig::DistillationLoss(*self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SparseCategoricalCrossentropy;
    use kensho_autograd::{gradcheck, Tape};

    /// Rows of a `[2, 4]` target tensor and a `[2, 3]` student output whose loss is known in
    /// closed form at `T = 2` (see `matches_a_hand_computed_value`).
    fn example() -> (Tensor, Tensor) {
        let l2 = 2.0 * std::f32::consts::LN_2;
        let student = Tensor::from_vec(vec![0.0, 0.0, 0.0, 0.0, 0.0, l2], &[2, 3]).unwrap();
        let targets = Tensor::from_vec(vec![0.0, l2, 0.0, 0.0, 2.0, 0.0, 0.0, 0.0], &[2, 4]).unwrap();
        (student, targets)
    }

    #[test]
    fn matches_a_hand_computed_value() {
        // T = 2, alpha = 0.5, soft weight (1 - 0.5) * 2² = 2.
        // Row 0: student logits [0, 0, 0], label 0, teacher logits [2 ln 2, 0, 0].
        //   hard = -log(1/3) = ln 3. Teacher / T = [ln 2, 0, 0] -> p = [1/2, 1/4, 1/4];
        //   student / T -> q = uniform. KL = 1/2 ln(3/2) + 2 * 1/4 ln(3/4) = 1/2 ln(9/8).
        //   loss = 0.5 ln 3 + 2 * 1/2 ln(9/8) = 0.5 ln 3 + ln(9/8).
        // Row 1: student logits [0, 0, 2 ln 2], label 2, teacher logits [0, 0, 0].
        //   softmax(student) = [1, 1, 4] / 6, hard = -log(2/3) = ln(3/2).
        //   p = uniform; student / T = [0, 0, ln 2] -> q = [1/4, 1/4, 1/2].
        //   KL = 1/3 (2 ln(4/3) + ln(2/3)) = 1/3 ln(32/27).
        //   loss = 0.5 ln(3/2) + 2/3 ln(32/27).
        let (student, targets) = example();
        let loss = DistillationLoss::new(0.5, 2.0).unwrap();
        loss.check(&[2, 3], &targets).unwrap();
        let tape = Tape::new();
        let got = loss.per_element(tape.constant(student), &targets).value().to_vec();
        let want = [0.5 * 3f32.ln() + (9.0f32 / 8.0).ln(), 0.5 * 1.5f32.ln() + 2.0 / 3.0 * (32.0f32 / 27.0).ln()];
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-5, "got {got:?}, want {want:?}");
        }
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let student = Tensor::from_vec(vec![0.3, -1.2, 0.8, 1.5, 0.1, -0.4], &[2, 3]).unwrap();
        let targets = Tensor::from_vec(vec![2.0, 1.0, -0.5, 0.7, 0.0, 0.2, 2.5, -1.0], &[2, 4]).unwrap();
        let loss = DistillationLoss::new(0.3, 2.5).unwrap();
        gradcheck(&[student], |v| loss.per_element(v[0], &targets)).unwrap();
    }

    #[test]
    fn alpha_one_is_the_sparse_cross_entropy_from_logits() {
        let (student, targets) = example();
        let labels = targets.slice_axis(1, 0, 1);
        let tape = Tape::new();
        let distilled = DistillationLoss::new(1.0, 4.0).unwrap().per_element(tape.constant(student.clone()), &targets);
        let plain = SparseCategoricalCrossentropy::from_logits().per_element(tape.constant(student), &labels);
        assert_eq!(distilled.value().to_vec(), plain.value().to_vec());
    }

    #[test]
    fn agreeing_teacher_leaves_only_the_hard_term() {
        let (student, _) = example();
        let mut rows = Vec::new();
        for (label, row) in [0.0, 2.0].into_iter().zip(student.to_vec().chunks(3)) {
            rows.push(label);
            rows.extend_from_slice(row);
        }
        let targets = Tensor::from_vec(rows, &[2, 4]).unwrap();
        let tape = Tape::new();
        let loss = DistillationLoss::new(0.25, 3.0).unwrap();
        let got = loss.per_element(tape.constant(student.clone()), &targets).value().to_vec();
        let hard = SparseCategoricalCrossentropy::from_logits()
            .per_element(tape.constant(student), &targets.slice_axis(1, 0, 1))
            .value()
            .to_vec();
        for (g, h) in got.iter().zip(&hard) {
            assert!((g - 0.25 * h).abs() < 1e-6, "got {got:?}, hard {hard:?}");
        }
    }

    #[test]
    fn rejects_bad_settings_and_targets() {
        for alpha in [-0.1, 1.5, f32::NAN] {
            let err = DistillationLoss::new(alpha, 3.0).unwrap_err().to_string();
            assert!(err.contains("alpha") && err.contains("[0, 1]"), "{err}");
        }
        for temperature in [0.0, -2.0, f32::INFINITY] {
            let err = DistillationLoss::new(0.1, temperature).unwrap_err().to_string();
            assert!(err.contains("temperature") && err.contains("> 0"), "{err}");
        }
        let loss = DistillationLoss::default();
        let (_, targets) = example();
        // A student with 4 outputs against a teacher with 3 logits.
        let err = loss.check(&[2, 4], &targets).unwrap_err().to_string();
        assert!(err.contains("[2, 5]") && err.contains("[2, 4]"), "{err}");
        // Labels alone, without the teacher's logits.
        let err = loss.check(&[2, 3], &targets.slice_axis(1, 0, 1)).unwrap_err().to_string();
        assert!(err.contains("[2, 4]") && err.contains("[2, 1]"), "{err}");
        let bad_label = Tensor::from_vec(vec![3.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0], &[2, 4]).unwrap();
        let err = loss.check(&[2, 3], &bad_label).unwrap_err().to_string();
        assert!(err.contains("label") && err.contains("[0, 3)"), "{err}");
    }

    #[test]
    fn config_round_trips() {
        let loss = DistillationLoss::new(0.2, 5.0).unwrap();
        let json = serde_json::to_string(&loss.config()).unwrap();
        let back: LossConfig = serde_json::from_str(&json).unwrap();
        assert_eq!(back, LossConfig::DistillationLoss(loss));
        assert!(back.to_loss().unwrap().check(&[2, 3], &example().1).is_ok());
    }
}
