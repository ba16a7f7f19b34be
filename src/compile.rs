//! `compile` and what it fixes: the optimizer, the loss and the metrics, with accessors and the
//! batch loss that training and evaluation share.

use crate::Sequential;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{Layer, Loss, Prediction};
use kensho_metrics::Metric;
use kensho_optim::Optimizer;

/// What `compile` fixes: the optimizer, the loss and the metrics.
pub(crate) struct Compiled {
    pub(crate) optimizer: Box<dyn Optimizer>,
    pub(crate) loss: Box<dyn Loss>,
    pub(crate) metrics: Vec<Box<dyn Metric>>,
}

impl Sequential {
    /// Fixes the optimizer, loss and metrics for training (Keras' `compile`); builds the model
    /// if its input shape is declared.
    ///
    /// # Errors
    /// If the model declares an input shape that a layer rejects.
    pub fn compile(
        &mut self,
        optimizer: impl Optimizer + 'static,
        loss: impl Loss + 'static,
        metrics: Vec<Box<dyn Metric>>,
    ) -> Result<()> {
        self.compile_boxed(Box::new(optimizer), Box::new(loss), metrics)
    }

    /// [`Sequential::compile`] with boxed parts (used when loading a saved model).
    ///
    /// # Errors
    /// If the model declares an input shape that a layer rejects.
    pub fn compile_boxed(
        &mut self,
        optimizer: Box<dyn Optimizer>,
        loss: Box<dyn Loss>,
        metrics: Vec<Box<dyn Metric>>,
    ) -> Result<()> {
        if self.output_shape().is_none() && self.layers().first().and_then(|l| l.declared_input_shape()).is_some() {
            self.build_model()?;
        }
        self.compiled = Some(Compiled { optimizer, loss, metrics });
        Ok(())
    }

    pub(crate) fn compiled(&self, context: &str) -> Result<&Compiled> {
        self.compiled.as_ref().ok_or_else(|| {
            Error::invalid(
                context,
                "a model that is not compiled",
                "a compiled model: call model.compile(optimizer, loss, metrics) first",
            )
        })
    }

    /// The optimizer's current learning rate.
    ///
    /// # Errors
    /// If the model is not compiled.
    pub fn learning_rate(&self) -> Result<f32> {
        Ok(self.compiled("learning_rate")?.optimizer.learning_rate())
    }

    /// Sets the optimizer's learning rate (used by learning-rate callbacks).
    ///
    /// # Errors
    /// If the model is not compiled or `lr` is not a positive finite number.
    pub fn set_learning_rate(&mut self, lr: f32) -> Result<()> {
        if !(lr.is_finite() && lr >= 0.0) {
            return Err(Error::invalid("learning rate", lr, "a finite number >= 0"));
        }
        self.compiled("set_learning_rate")?;
        self.compiled.as_mut().expect("checked").optimizer.set_learning_rate(lr);
        Ok(())
    }

    /// The compiled optimizer (for checkpoints).
    pub fn optimizer(&self) -> Option<&dyn Optimizer> {
        self.compiled.as_ref().map(|c| c.optimizer.as_ref())
    }

    /// The compiled optimizer, mutable (for restoring its state).
    pub fn optimizer_mut(&mut self) -> Option<&mut Box<dyn Optimizer>> {
        self.compiled.as_mut().map(|c| &mut c.optimizer)
    }

    /// The compiled metrics.
    pub fn metrics(&self) -> &[Box<dyn Metric>] {
        self.compiled.as_ref().map_or(&[], |c| c.metrics.as_slice())
    }

    /// The compiled loss.
    pub fn loss(&self) -> Option<&dyn Loss> {
        self.compiled.as_ref().map(|c| c.loss.as_ref())
    }

    /// The loss of a batch as the model trains on it: the per-sample losses, weighted by
    /// `sample_weight` if given, averaged over the batch (Keras' `sum_over_batch_size`), plus
    /// every layer's regularization penalty.
    ///
    /// # Errors
    /// If the model is not compiled.
    ///
    /// # Panics
    /// If `y` or `sample_weight` does not fit the prediction (the checked entry points `fit`,
    /// `train_step` and `evaluate` validate them first).
    pub fn batch_loss<'t>(
        &self,
        prediction: &Prediction<'t>,
        y: &Tensor,
        sample_weight: Option<&Tensor>,
    ) -> Result<Var<'t>> {
        let loss = self.compiled("loss")?.loss.as_ref();
        Ok(shard_loss(self.layers(), loss, prediction, y, sample_weight, y.shape()[0], true))
    }
}

/// The share of a batch's loss that `rows` of it carry: the sum of their weighted per-sample
/// losses divided by the batch's size `batch_rows`, plus the layers' penalties if
/// `with_penalties` (exactly one share of a batch carries them). For a whole batch this is the
/// batch loss; the shares of a split batch add up to it.
pub(crate) fn shard_loss<'t>(
    layers: &[Box<dyn Layer>],
    loss: &dyn Loss,
    prediction: &Prediction<'t>,
    y: &Tensor,
    sample_weight: Option<&Tensor>,
    batch_rows: usize,
    with_penalties: bool,
) -> Var<'t> {
    let tape = prediction.output.tape();
    let mut per_sample = loss.per_sample(prediction, y);
    if let Some(w) = sample_weight {
        per_sample = per_sample.mul(tape.constant(w.clone()));
    }
    let share = per_sample.sum_all().mul_scalar(1.0 / batch_rows.max(1) as f32);
    if !with_penalties {
        return share;
    }
    layers.iter().filter_map(|l| l.regularization(tape)).fold(share, |acc, p| acc.add(p))
}
