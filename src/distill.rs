//! Knowledge distillation (Keras' "Knowledge Distillation" example): train a small student on a
//! frozen teacher's softened logits together with the hard labels.
//!
//! The teacher is frozen and runs in inference mode, so its logits are computed once per
//! [`Distiller::fit`] call and handed to the student's ordinary training loop alongside the
//! labels, as the targets of a [`DistillationLoss`].

use crate::{FitOptions, History, Logs, Model};
use kensho_autograd::Tape;
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{DistillationLoss, Loss, SparseCategoricalCrossentropy};
use kensho_metrics::Metric;
use kensho_optim::Optimizer;

/// A teacher and a student that learns from it.
///
/// Both models must output **logits** (end with a `Dense(classes)` without softmax) and have the
/// same number of classes. The student's loss is
/// `alpha * CE(label, student) + (1 - alpha) * T² * KL(softmax(teacher / T) ‖ softmax(student / T))`
/// (see [`DistillationLoss`]); the teacher's weights never change.
///
/// During [`Distiller::fit`] the history holds only the distillation `loss` (and `val_loss`):
/// the metrics given to [`Distiller::compile`] are computed by [`Distiller::evaluate`], on the
/// hard labels, next to the student's plain sparse cross-entropy.
///
/// ```
/// use kensho::prelude::*;
/// use kensho::Distiller;
/// # fn main() -> kensho::Result<()> {
/// let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2])?;
/// let y = Tensor::from_vec(vec![0., 1., 1., 0.], &[4])?;
/// let quiet = || FitOptions { epochs: 200, batch_size: 4, verbose: 0, ..Default::default() };
/// let mut teacher = Sequential::new()
///     .seed(1)
///     .add(Input::new(&[2]))
///     .add(Dense::new(16).activation(Activation::Tanh))
///     .add(Dense::new(2));
/// teacher.compile(Adam::new(0.05), losses::SparseCategoricalCrossentropy::from_logits(), vec![])?;
/// teacher.fit(&x, &y, quiet())?;
/// let student = Sequential::new().seed(2).add(Input::new(&[2])).add(Dense::new(4).activation(Activation::Tanh)).add(Dense::new(2));
/// let mut distiller = Distiller::new(teacher.into_model(), student.into_model()).alpha(0.1).temperature(3.0);
/// distiller.compile(Adam::new(0.05), vec![Box::new(metrics::Accuracy::new())])?;
/// let history = distiller.fit(&x, &y, quiet())?;
/// assert!(history.get("loss").is_some());
/// let logs = distiller.evaluate(&x, &y)?;
/// assert!(logs.get("accuracy").is_some() && logs.get("loss").is_some());
/// # Ok(())
/// # }
/// ```
pub struct Distiller {
    teacher: Model,
    student: Model,
    alpha: f32,
    temperature: f32,
    metrics: Vec<Box<dyn Metric>>,
    compiled: bool,
}

impl Distiller {
    /// A distiller with the Keras example's defaults, `alpha = 0.1` and `temperature = 3`.
    /// The teacher should already be trained; the student is trained by [`Distiller::fit`].
    pub fn new(teacher: Model, student: Model) -> Distiller {
        let defaults = DistillationLoss::default();
        Distiller {
            teacher,
            student,
            alpha: defaults.alpha(),
            temperature: defaults.temperature(),
            metrics: Vec::new(),
            compiled: false,
        }
    }

    /// The weight of the hard labels, in `[0, 1]` (the teacher gets `1 - alpha`). Checked by
    /// [`Distiller::compile`].
    pub fn alpha(mut self, alpha: f32) -> Distiller {
        self.alpha = alpha;
        self
    }

    /// The softmax temperature, `> 0` (higher softens the teacher's distribution). Checked by
    /// [`Distiller::compile`].
    pub fn temperature(mut self, temperature: f32) -> Distiller {
        self.temperature = temperature;
        self
    }

    /// Compiles the student with `optimizer` and the distillation loss; `metrics` are kept for
    /// [`Distiller::evaluate`].
    ///
    /// # Errors
    /// If alpha is outside `[0, 1]` or the temperature is not a finite positive number, or the
    /// student rejects its declared input shape.
    pub fn compile(&mut self, optimizer: impl Optimizer + 'static, metrics: Vec<Box<dyn Metric>>) -> Result<()> {
        let loss = DistillationLoss::new(self.alpha, self.temperature)?;
        self.student.compile(optimizer, loss, Vec::new())?;
        self.metrics = metrics;
        self.compiled = true;
        Ok(())
    }

    /// Trains the student on `x` (`[n, ..]`) and the integer labels `y` (`[n]` or `[n, 1]`),
    /// with the teacher's logits on `x` as soft targets. The options are the student's
    /// (`validation_split` splits the labels and the teacher's logits alike).
    ///
    /// # Errors
    /// If the distiller is not compiled, `y` does not hold one label per sample, the teacher
    /// and the student have different numbers of outputs, or the student's `fit` fails.
    pub fn fit(&mut self, x: &Tensor, y: &Tensor, options: FitOptions) -> Result<History> {
        if !self.compiled {
            return Err(Error::invalid(
                "Distiller::fit",
                "a distiller that is not compiled",
                "call Distiller::compile(optimizer, metrics) first",
            ));
        }
        let n = x.shape().first().copied().unwrap_or(0);
        if y.shape().first() != Some(&n) || y.len() != n {
            return Err(Error::shape(
                "Distiller::fit labels",
                format!("one integer label per sample of x: [{n}] or [{n}, 1]"),
                y.shape(),
            ));
        }
        let batch_size = options.batch_size.max(1);
        let teacher_logits = self.teacher.predict_batched(x, batch_size)?;
        let teacher_classes = teacher_logits.shape().get(1).copied();
        let student_classes = self.student.output_shape().and_then(|s| s.last());
        if teacher_logits.ndim() != 2 || (student_classes.is_some() && student_classes != teacher_classes) {
            return Err(Error::shape(
                "Distiller::fit",
                format!(
                    "teacher logits [{n}, classes] with as many classes as the student's outputs ({})",
                    student_classes.map_or("unknown".to_string(), |c| c.to_string())
                ),
                teacher_logits.shape(),
            ));
        }
        let labels = y.reshape(&[n as isize, 1])?;
        let targets = Tensor::try_concat(&[labels, teacher_logits], 1)?;
        self.student.fit(x, &targets, options)
    }

    /// The student's figures on `x` and the labels `y` in inference mode: `loss` (its plain
    /// sparse cross-entropy from logits, without the teacher) and the compiled metrics, which
    /// receive the labels and the student's logits.
    ///
    /// # Errors
    /// If the student is not built, `x` does not match it, or the labels do not match its
    /// outputs.
    pub fn evaluate(&self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        let logits = self.student.predict(x)?;
        let hard = SparseCategoricalCrossentropy::from_logits();
        hard.check(logits.shape(), y)?;
        let tape = Tape::no_grad();
        let mut logs = Logs::new();
        logs.set("loss", hard.per_element(tape.constant(logits.clone()), y).value().mean_all());
        for metric in &self.metrics {
            let mut metric = metric.clone_box();
            metric.reset();
            metric.update(y, &logits)?;
            logs.set(metric.name(), metric.result());
        }
        Ok(logs)
    }

    /// The teacher.
    pub fn teacher(&self) -> &Model {
        &self.teacher
    }

    /// The student.
    pub fn student(&self) -> &Model {
        &self.student
    }

    /// The student, to predict with or save once distilled.
    pub fn into_student(self) -> Model {
        self.student
    }

    /// The teacher and the student, to distil the same teacher into another student.
    pub fn into_parts(self) -> (Model, Model) {
        (self.teacher, self.student)
    }
}
