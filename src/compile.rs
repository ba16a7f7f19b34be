//! `compile` and what it fixes: the optimizer, the loss and the metrics, with accessors and the
//! batch loss that training and evaluation share.

use crate::Model;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{Layer, Loss};
use kensho_metrics::Metric;
use kensho_optim::Optimizer;

/// What `compile` fixes: the optimizer, the loss and the metrics.
pub(crate) struct Compiled {
    pub(crate) optimizer: Box<dyn Optimizer>,
    pub(crate) loss: Box<dyn Loss>,
    pub(crate) metrics: Vec<Box<dyn Metric>>,
}

impl Model {
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

    /// [`Model::compile`] with boxed parts (used when loading a saved model).
    ///
    /// # Errors
    /// If the model declares an input shape that a layer rejects.
    pub fn compile_boxed(
        &mut self,
        optimizer: Box<dyn Optimizer>,
        loss: Box<dyn Loss>,
        metrics: Vec<Box<dyn Metric>>,
    ) -> Result<()> {
        if !self.is_built() && self.declared_input_shapes().is_some() {
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

    /// The loss of a batch as the model trains on it: the loss of each output element,
    /// weighted by `sample_weight` if given, averaged (Keras' `sum_over_batch_size`), plus
    /// every layer's regularization penalty. `y_pred` is the model's output on the tape
    /// ([`Model::forward`]).
    ///
    /// # Errors
    /// If the model is not compiled.
    ///
    /// # Panics
    /// If `y` or `sample_weight` does not fit the prediction (the checked entry points `fit`,
    /// `train_step` and `evaluate` validate them first).
    pub fn batch_loss<'t>(&self, y_pred: Var<'t>, y: &Tensor, sample_weight: Option<&Tensor>) -> Result<Var<'t>> {
        let loss = self.compiled("loss")?.loss.as_ref();
        let rows = y.shape()[0];
        let parts = LossParts { layers: self.layers(), loss, batch_rows: rows, with_penalties: true };
        Ok(parts.share(&[(y_pred, None)], std::slice::from_ref(y), sample_weight))
    }
}

/// How a batch's loss is formed, for the whole batch or for a shard of it.
pub(crate) struct LossParts<'a> {
    pub(crate) layers: &'a [Box<dyn Layer>],
    pub(crate) loss: &'a dyn Loss,
    /// The rows of the whole batch (the divisor's share of a shard is its rows over these).
    pub(crate) batch_rows: usize,
    /// Whether this share carries the layers' penalties (exactly one share of a batch does).
    pub(crate) with_penalties: bool,
}

impl LossParts<'_> {
    /// The share of a batch's loss that these outputs carry: for each output, the loss of
    /// each element times its mask and sample weight, summed and divided by the number of
    /// elements of the whole batch (or, for a masked output, by the mask's sum); plus the
    /// layers' penalties if `with_penalties`. For a whole batch this is the batch loss; the
    /// shares of a split (unmasked) batch add up to it.
    pub(crate) fn share<'t>(
        &self,
        outputs: &[(Var<'t>, Option<Tensor>)],
        targets: &[Tensor],
        sample_weight: Option<&Tensor>,
    ) -> Var<'t> {
        let tape = outputs[0].0.tape();
        let mut total: Option<Var<'t>> = None;
        for ((y_pred, mask), y) in outputs.iter().zip(targets) {
            let mut values = self.loss.per_element(*y_pred, y);
            let shape = values.shape();
            let rows = shape.first().copied().unwrap_or(1).max(1);
            let per_row = shape.iter().skip(1).product::<usize>();
            if let Some(w) = sample_weight {
                let w = match shape.len() {
                    1 => w.clone(),
                    _ => w.reshape_to(&[[rows].as_slice(), &vec![1; shape.len() - 1]].concat()),
                };
                values = values.mul(tape.constant(w));
            }
            let divisor = match mask {
                Some(m) => {
                    values = values.mul(tape.constant(m.reshape_to(&shape)));
                    m.sum_all().max(1.0)
                }
                None => (self.batch_rows.max(rows) * per_row.max(1)) as f32,
            };
            let share = values.sum_all().mul_scalar(1.0 / divisor);
            total = Some(match total {
                Some(t) => t.add(share),
                None => share,
            });
        }
        let share = total.expect("a model has at least one output");
        if !self.with_penalties {
            return share;
        }
        self.layers.iter().filter_map(|l| l.regularization(tape)).fold(share, |acc, p| acc.add(p))
    }
}
