//! Evaluation: `evaluate` in inference mode, the checks of inputs against targets, and the
//! running figures (loss tracker and metric results) that `fit` shares.

use crate::compile::LossParts;
use crate::source::Source;
use crate::{Logs, Model};
use kensho_autograd::{Tape, Var};
use kensho_core::{seeded_rng, Error, Result, Tensor};
use kensho_layers::Ctx;
use kensho_layers::Shape;
use kensho_metrics::Metric;
use smallvec::SmallVec;

/// Running mean of the batch losses, weighted by batch size (Keras' loss tracker).
#[derive(Default)]
pub(crate) struct MeanTracker {
    sum: f64,
    count: f64,
}

impl MeanTracker {
    pub(crate) fn add(&mut self, value: f32, weight: usize) {
        self.sum += f64::from(value) * weight as f64;
        self.count += weight as f64;
    }
    pub(crate) fn mean(&self) -> f32 {
        (self.sum / self.count.max(1.0)) as f32
    }
}

/// `loss` and every metric's current result.
pub(crate) fn current_logs(loss: &MeanTracker, metrics: &[Box<dyn Metric>]) -> Logs {
    let mut logs = Logs::new();
    logs.set("loss", loss.mean());
    for m in metrics {
        logs.set(m.name(), m.result());
    }
    logs
}

impl Model {
    /// Checks the targets of each output against its shape with the compiled loss (an
    /// unknown output dimension, such as a sequence length, is taken from the targets).
    pub(crate) fn check_targets(&self, context: &str, x: &[Tensor], y: &[Tensor]) -> Result<()> {
        let compiled = self.compiled(context)?;
        let shapes: SmallVec<[&Shape; 2]> = self.graph.outputs.iter().filter_map(|&v| self.graph.shape_of(v)).collect();
        if y.len() != shapes.len() {
            return Err(Error::invalid(
                format!("{context}: number of targets"),
                y.len(),
                format!("{} (one per model output)", shapes.len()),
            ));
        }
        for (shape, targets) in shapes.iter().zip(y) {
            let output: Vec<usize> = std::iter::once(x[0].shape()[0])
                .chain(
                    shape
                        .dims()
                        .iter()
                        .enumerate()
                        .map(|(i, d)| d.unwrap_or_else(|| targets.shape().get(i + 1).copied().unwrap_or(0))),
                )
                .collect();
            compiled.loss.check(&output, targets)?;
        }
        Ok(())
    }

    /// The loss and metrics on `x`, `y` in inference mode, 32 samples at a time (Keras'
    /// `evaluate`). Returns figures by name (`loss`, then the metrics).
    ///
    /// # Errors
    /// If the model is not compiled or built, or the data does not match it.
    pub fn evaluate(&self, x: &Tensor, y: &Tensor) -> Result<Logs> {
        self.evaluate_batched(x, y, 32)
    }

    /// [`Model::evaluate`] with a chosen batch size.
    ///
    /// # Errors
    /// As [`Model::evaluate`], or if `batch_size` is 0.
    pub fn evaluate_batched(&self, x: &Tensor, y: &Tensor, batch_size: usize) -> Result<Logs> {
        self.compiled("evaluate")?;
        check_pair("evaluate", x, y)?;
        let (x, y) = (vec![x.clone()], vec![y.clone()]);
        self.check_input(&x, "evaluate")?;
        self.check_targets("evaluate", &x, &y)?;
        if batch_size == 0 {
            return Err(Error::invalid("evaluate: batch_size", 0, "a positive number of samples per batch"));
        }
        self.evaluate_source(&Source::Tensors { x, y, weights: None }, batch_size)
    }

    pub(crate) fn evaluate_source(&self, data: &Source, batch_size: usize) -> Result<Logs> {
        let compiled = self.compiled("evaluate")?;
        let mut metrics: Vec<Box<dyn Metric>> = compiled.metrics.iter().map(|m| m.clone_box()).collect();
        let mut loss = MeanTracker::default();
        for batch in data.epoch(None, batch_size) {
            let batch = batch?;
            let tape = Tape::no_grad();
            let cx = Ctx::new(&tape, false, seeded_rng(0));
            let inputs: Vec<Var<'_>> = batch.x.iter().map(|t| tape.constant(t.clone())).collect();
            let outputs = self.graph.run(&inputs, &cx);
            let parts = LossParts {
                layers: self.layers(),
                loss: compiled.loss.as_ref(),
                batch_rows: batch.rows(),
                with_penalties: true,
            };
            let total = parts.share(&outputs, &batch.y, batch.weights.as_ref());
            loss.add(total.value().item(), batch.rows());
            for m in metrics.iter_mut() {
                m.update(&batch.y[0], &outputs[0].0.value())?;
            }
        }
        Ok(current_logs(&loss, &metrics))
    }
}

/// Checks that inputs and targets are non-empty and have the same number of samples.
pub(crate) fn check_pair(context: &str, x: &Tensor, y: &Tensor) -> Result<()> {
    if x.ndim() == 0 || x.shape()[0] == 0 {
        return Err(Error::invalid(format!("{context}: x"), "an empty data set", "at least one sample"));
    }
    if y.ndim() == 0 || y.shape()[0] != x.shape()[0] {
        return Err(Error::invalid(
            format!("{context}: number of targets"),
            y.shape().first().copied().unwrap_or(0),
            format!(
                "{} (one per input sample; x has shape {:?}, y has shape {:?})",
                x.shape()[0],
                x.shape(),
                y.shape()
            ),
        ));
    }
    Ok(())
}
