//! Evaluation: `evaluate` in inference mode, the checks of inputs against targets, and the
//! running figures (loss tracker and metric results) that `fit` shares.

use crate::compile::{Head, LossParts};
use crate::parallel::gather::{gather_figures, StepFigures};
use crate::parallel::shard_rows;
use crate::source::Source;
use crate::{Logs, Model, Tensors};
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

/// The running figures of an epoch or an evaluation: the loss, each output's loss (with
/// several outputs) and each output's metrics, named as Keras logs them.
pub(crate) struct LogTracker {
    loss: MeanTracker,
    output_losses: Vec<MeanTracker>,
    /// Each output's name prefix (`""` for a single output, `"{output}_"` otherwise) and metrics.
    metrics: Vec<(String, Vec<Box<dyn Metric>>)>,
}

impl LogTracker {
    /// Fresh trackers for the compiled heads (copies of their metrics, reset), each output's
    /// figures named with its prefix.
    fn with_prefixes(heads: &[Head], prefixes: &[String]) -> LogTracker {
        let metrics = heads
            .iter()
            .zip(prefixes)
            .map(|(h, p)| {
                let mut copies: Vec<Box<dyn Metric>> = h.metrics.iter().map(|m| m.clone_box()).collect();
                copies.iter_mut().for_each(|m| m.reset());
                (p.clone(), copies)
            })
            .collect();
        let output_losses =
            if heads.len() > 1 { heads.iter().map(|_| MeanTracker::default()).collect() } else { Vec::new() };
        LogTracker { loss: MeanTracker::default(), output_losses, metrics }
    }

    /// Adds a batch: its loss, each output's loss share, and its targets and predictions.
    pub(crate) fn update(
        &mut self,
        loss: f32,
        per_output: &[f32],
        rows: usize,
        y: &[Tensor],
        y_pred: &[Tensor],
    ) -> Result<()> {
        self.add_loss(loss, per_output, rows);
        for ((_, metrics), (y, p)) in self.metrics.iter_mut().zip(y.iter().zip(y_pred)) {
            for m in metrics.iter_mut() {
                m.update(y, p)?;
            }
        }
        Ok(())
    }

    /// Whether any output has metrics (which need the batch's predictions).
    pub(crate) fn has_metrics(&self) -> bool {
        self.metrics.iter().any(|(_, m)| !m.is_empty())
    }

    /// Adds a batch's losses only (a batch whose loss is not finite leaves the metrics alone).
    pub(crate) fn add_loss(&mut self, loss: f32, per_output: &[f32], rows: usize) {
        self.loss.add(loss, rows);
        for (tracker, &value) in self.output_losses.iter_mut().zip(per_output) {
            tracker.add(value, rows);
        }
    }

    /// `loss`, each output's `{output}_loss`, then each metric's result under its log name.
    pub(crate) fn logs(&self) -> Logs {
        let mut logs = Logs::new();
        logs.set("loss", self.loss.mean());
        for ((prefix, _), tracker) in self.metrics.iter().zip(&self.output_losses) {
            logs.set(format!("{prefix}loss"), tracker.mean());
        }
        for (prefix, metrics) in &self.metrics {
            for m in metrics {
                logs.set(format!("{prefix}{}", m.name()), m.result());
            }
        }
        logs
    }
}

impl Model {
    /// Fresh figures for an epoch or an evaluation: with several outputs, each output's
    /// figures are prefixed with its name, as Keras logs them (`digit_loss`, `digit_accuracy`).
    pub(crate) fn log_tracker(&self, heads: &[Head]) -> LogTracker {
        let prefixes: Vec<String> = match heads.len() {
            1 => vec![String::new()],
            _ => self.output_names().iter().map(|n| format!("{n}_")).collect(),
        };
        LogTracker::with_prefixes(heads, &prefixes)
    }

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
        let names = self.output_names();
        for (((shape, targets), head), name) in shapes.iter().zip(y).zip(&compiled.heads).zip(&names) {
            let what = || match names.len() {
                1 => "y".to_string(),
                _ => format!("y of output \"{name}\""),
            };
            crate::finite::check_finite(context, &what, targets, 0)?;
            let output: Vec<usize> = std::iter::once(x[0].shape()[0])
                .chain(
                    shape
                        .dims()
                        .iter()
                        .enumerate()
                        .map(|(i, d)| d.unwrap_or_else(|| targets.shape().get(i + 1).copied().unwrap_or(0))),
                )
                .collect();
            head.loss.check(&output, targets).map_err(|e| match names.len() {
                1 => e,
                _ => Error::invalid(
                    format!("{context}: targets of output \"{name}\""),
                    e.to_string(),
                    "targets that fit it",
                ),
            })?;
        }
        Ok(())
    }

    /// The loss and metrics on `x`, `y` in inference mode, 32 samples at a time (Keras'
    /// `evaluate`). Returns figures by name (`loss`, then the metrics; with several outputs,
    /// also each output's `{output}_loss` and `{output}_{metric}`). `x` and `y` are a tensor
    /// each, or lists or names for models with several inputs or outputs (see [`Tensors`]).
    ///
    /// # Errors
    /// If the model is not compiled or built, or the data does not match it.
    pub fn evaluate(&self, x: impl Into<Tensors>, y: impl Into<Tensors>) -> Result<Logs> {
        self.evaluate_batched(x, y, 32)
    }

    /// [`Model::evaluate`] with a chosen batch size.
    ///
    /// # Errors
    /// As [`Model::evaluate`], or if `batch_size` is 0.
    pub fn evaluate_batched(&self, x: impl Into<Tensors>, y: impl Into<Tensors>, batch_size: usize) -> Result<Logs> {
        self.compiled("evaluate")?;
        let (x, y) = self.resolve_data(x.into(), y.into(), "evaluate")?;
        check_pair("evaluate", &x, &y)?;
        self.check_input(&x, "evaluate")?;
        self.check_targets("evaluate", &x, &y)?;
        if batch_size == 0 {
            return Err(Error::invalid("evaluate: batch_size", 0, "a positive number of samples per batch"));
        }
        self.evaluate_source(&Source::Tensors { x, y, weights: None }, batch_size)
    }

    /// Puts the given inputs and targets in the model's order.
    pub(crate) fn resolve_data(&self, x: Tensors, y: Tensors, context: &str) -> Result<(Vec<Tensor>, Vec<Tensor>)> {
        let with_context =
            |e: Error| Error::invalid(context, e.to_string(), "data that fits the model's inputs and outputs");
        let x = x.resolve(&self.input_names(), "input").map_err(with_context)?;
        let y = y.resolve(&self.output_names(), "output").map_err(with_context)?;
        Ok((x, y))
    }

    pub(crate) fn evaluate_source(&self, data: &Source, batch_size: usize) -> Result<Logs> {
        let compiled = self.compiled("evaluate")?;
        let mut tracker = self.log_tracker(&compiled.heads);
        let comm = self.communicator();
        let shard = comm.as_ref().map(|c| (c.rank(), c.size()));
        for batch in data.epoch(None, batch_size, shard) {
            let batch = batch?;
            let rows = batch.rows();
            let (x, weights) = batch.own_rows(shard);
            let figures = match &comm {
                None => self.evaluate_rows(&x, &batch.y, weights.as_ref(), rows, true),
                Some(comm) => {
                    // Data-parallel: this rank's rows, then every rank's figures gathered.
                    let range = shard_rows(rows, comm.rank(), comm.size());
                    let y: Vec<Tensor> = batch.y.iter().map(|t| t.slice_axis(0, range.start, range.end)).collect();
                    let mine = self.evaluate_rows(&x, &y, weights.as_ref(), rows, comm.rank() == 0);
                    gather_figures(&**comm, &mine, batch.y.len())?
                }
            };
            tracker.update(figures.loss, &figures.output_losses, rows, &batch.y, &figures.outputs)?;
        }
        Ok(tracker.logs())
    }

    /// The loss share (of a batch of `batch_rows` rows, with the penalties if
    /// `with_penalties`) and outputs of `x` in inference mode; nothing for no rows.
    fn evaluate_rows(
        &self,
        x: &[Tensor],
        y: &[Tensor],
        weights: Option<&Tensor>,
        batch_rows: usize,
        with_penalties: bool,
    ) -> StepFigures {
        let heads = &self.compiled.as_ref().expect("checked by evaluate_source").heads;
        if x[0].shape()[0] == 0 {
            let output_losses = if heads.len() > 1 { vec![0.0; heads.len()] } else { Vec::new() };
            return StepFigures { loss: 0.0, output_losses, outputs: Vec::new() };
        }
        let tape = Tape::no_grad();
        let cx = Ctx::new(&tape, false, seeded_rng(0));
        let inputs: Vec<Var<'_>> = x.iter().map(|t| tape.constant(t.clone())).collect();
        let outputs = self.graph.run(&inputs, &cx);
        let parts = LossParts { with_penalties, ..LossParts::new(self.layers(), heads, batch_rows) };
        let (total, per_output) = parts.share(&outputs, y, weights);
        let outputs = outputs.iter().map(|(v, _)| v.value()).collect();
        StepFigures { loss: total.value().item(), output_losses: per_output.to_vec(), outputs }
    }
}

/// Checks that inputs and targets are non-empty and have the same number of samples.
pub(crate) fn check_pair(context: &str, x: &[Tensor], y: &[Tensor]) -> Result<()> {
    let Some(first) = x.first().filter(|t| t.ndim() > 0 && t.shape()[0] > 0) else {
        return Err(Error::invalid(format!("{context}: x"), "an empty data set", "at least one sample"));
    };
    for t in y {
        if t.ndim() == 0 || t.shape()[0] != first.shape()[0] {
            return Err(Error::invalid(
                format!("{context}: number of targets"),
                t.shape().first().copied().unwrap_or(0),
                format!(
                    "{} (one per input sample; x has shape {:?}, y has shape {:?})",
                    first.shape()[0],
                    first.shape(),
                    t.shape()
                ),
            ));
        }
    }
    Ok(())
}
