//! `compile` and what it fixes: the optimizer, the loss and the metrics, with accessors and the
//! batch loss that training and evaluation share.

use crate::Model;
use kensho_autograd::Var;
use kensho_core::{Error, Result, Tensor};
use kensho_layers::{Layer, Loss};
use kensho_metrics::Metric;
use kensho_optim::Optimizer;
use smallvec::SmallVec;

/// What `compile` fixes: the optimizer, and for each model output its loss, loss weight and
/// metrics.
pub(crate) struct Compiled {
    pub(crate) optimizer: Box<dyn Optimizer>,
    pub(crate) heads: Vec<Head>,
}

/// How one output of a model trains (Keras' per-output `loss`, `loss_weights` and `metrics`):
/// its loss, the weight of that loss in the total, and the metrics computed on it.
///
/// ```
/// use kensho::prelude::*;
/// let x = Input::new(&[4]);
/// let h = Dense::new(8).activation(Activation::Relu).on(&x)?;
/// let class = Dense::new(3).activation(Activation::Softmax).named("class").on(&h)?;
/// let size = Dense::new(1).named("size").on(&h)?;
/// let mut model = Model::new(&[&x], &[&class, &size])?;
/// model.compile_heads(Adam::new(1e-3), vec![
///     ("class", Head::new(losses::SparseCategoricalCrossentropy::new()).metrics(vec![Box::new(metrics::Accuracy::new())])),
///     ("size", Head::new(losses::MeanSquaredError).weight(0.5)),
/// ])?;
/// # Ok::<(), kensho::Error>(())
/// ```
pub struct Head {
    pub(crate) loss: Box<dyn Loss>,
    pub(crate) weight: f32,
    pub(crate) metrics: Vec<Box<dyn Metric>>,
}

impl Head {
    /// An output trained with `loss`, weight 1, no metrics.
    pub fn new(loss: impl Loss + 'static) -> Head {
        Head::boxed(Box::new(loss))
    }

    /// [`Head::new`] with a boxed loss.
    pub fn boxed(loss: Box<dyn Loss>) -> Head {
        Head { loss, weight: 1.0, metrics: Vec::new() }
    }

    /// The weight of this output's loss in the total (Keras' `loss_weights`; default 1).
    pub fn weight(mut self, weight: f32) -> Head {
        self.weight = weight;
        self
    }

    /// The metrics computed on this output.
    pub fn metrics(mut self, metrics: Vec<Box<dyn Metric>>) -> Head {
        self.metrics = metrics;
        self
    }

    /// The loss.
    pub fn loss(&self) -> &dyn Loss {
        self.loss.as_ref()
    }

    /// The loss weight.
    pub fn loss_weight(&self) -> f32 {
        self.weight
    }
}

impl Model {
    /// Fixes the optimizer, loss and metrics for training (Keras' `compile`); builds the model
    /// if its input shape is declared. A model with several outputs trains each with this loss
    /// and these metrics (see [`Model::compile_heads`] to choose per output).
    ///
    /// # Errors
    /// If the model declares an input shape that a layer rejects, or (with several outputs)
    /// the loss cannot be copied from its configuration (a user loss that is not registered).
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
    /// As [`Model::compile`].
    pub fn compile_boxed(
        &mut self,
        optimizer: Box<dyn Optimizer>,
        loss: Box<dyn Loss>,
        metrics: Vec<Box<dyn Metric>>,
    ) -> Result<()> {
        let outputs = self.graph.outputs.len().max(1);
        let mut heads = Vec::with_capacity(outputs);
        for _ in 1..outputs {
            let metrics = metrics.iter().map(|m| m.clone_box()).collect();
            heads.push(Head::boxed(loss.config().to_loss()?).metrics(metrics));
        }
        heads.insert(0, Head::boxed(loss).metrics(metrics));
        self.compile_outputs(optimizer, heads)
    }

    /// Fixes the optimizer and, for each output named by its layer, the loss, loss weight and
    /// metrics (Keras' `compile` with dictionaries). Every output must be named once.
    ///
    /// # Errors
    /// If a name is not an output of the model, an output is missing or named twice, a loss
    /// weight is negative or not finite, or the model's declared input shape is rejected.
    pub fn compile_heads(&mut self, optimizer: impl Optimizer + 'static, heads: Vec<(&str, Head)>) -> Result<()> {
        let names = self.output_names();
        let mut ordered: Vec<Option<Head>> = names.iter().map(|_| None).collect();
        for (name, head) in heads {
            let Some(o) = names.iter().position(|n| n == name) else {
                return Err(Error::invalid("compile: output name", name, format!("one of the outputs {names:?}")));
            };
            if ordered[o].replace(head).is_some() {
                return Err(Error::invalid("compile: output name", name, "each output named once"));
            }
        }
        let heads = ordered
            .into_iter()
            .zip(&names)
            .map(|(h, n)| {
                h.ok_or_else(|| {
                    Error::invalid(
                        "compile: outputs",
                        format!("no loss for \"{n}\""),
                        format!("a loss for each of {names:?}"),
                    )
                })
            })
            .collect::<Result<Vec<Head>>>()?;
        self.compile_outputs(Box::new(optimizer), heads)
    }

    /// Compiles with one head per output, in output order.
    pub(crate) fn compile_outputs(&mut self, optimizer: Box<dyn Optimizer>, heads: Vec<Head>) -> Result<()> {
        if let Some(h) = heads.iter().find(|h| !(h.weight.is_finite() && h.weight >= 0.0)) {
            return Err(Error::invalid("compile: loss weight", h.weight, "a finite number >= 0"));
        }
        if heads.len() != self.graph.outputs.len() {
            return Err(Error::invalid(
                "compile: losses",
                heads.len(),
                format!("{} (one per output)", self.graph.outputs.len()),
            ));
        }
        if !self.is_built() && self.declared_input_shapes().is_some() {
            self.build_model()?;
        }
        self.compiled = Some(Compiled { optimizer, heads });
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

    /// The compiled metrics (of the first output; see [`Model::heads`] for every output).
    pub fn metrics(&self) -> &[Box<dyn Metric>] {
        self.compiled.as_ref().map_or(&[], |c| c.heads[0].metrics.as_slice())
    }

    /// The compiled loss (of the first output; see [`Model::heads`] for every output).
    pub fn loss(&self) -> Option<&dyn Loss> {
        self.compiled.as_ref().map(|c| c.heads[0].loss.as_ref())
    }

    /// The compiled loss, loss weight and metrics of each output, in output order.
    pub fn heads(&self) -> &[Head] {
        self.compiled.as_ref().map_or(&[], |c| c.heads.as_slice())
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
        let heads = &self.compiled("loss")?.heads;
        let rows = y.shape()[0];
        let parts = LossParts::new(self.layers(), heads, rows);
        Ok(parts.share(&[(y_pred, None)], std::slice::from_ref(y), sample_weight).0)
    }
}

/// How a batch's loss is formed, for the whole batch or for a shard of it.
#[derive(Clone)]
pub(crate) struct LossParts<'a> {
    pub(crate) layers: &'a [Box<dyn Layer>],
    /// Each output's loss and loss weight.
    pub(crate) losses: SmallVec<[(&'a dyn Loss, f32); 2]>,
    /// The rows of the whole batch (the divisor's share of a shard is its rows over these).
    pub(crate) batch_rows: usize,
    /// Whether this share carries the layers' penalties (exactly one share of a batch does).
    pub(crate) with_penalties: bool,
}

impl<'a> LossParts<'a> {
    /// The loss of whole batches of `batch_rows` rows, with the penalties.
    pub(crate) fn new(layers: &'a [Box<dyn Layer>], heads: &'a [Head], batch_rows: usize) -> LossParts<'a> {
        let losses = heads.iter().map(|h| (h.loss.as_ref(), h.weight)).collect();
        LossParts { layers, losses, batch_rows, with_penalties: true }
    }

    /// The share of a batch's loss that these outputs carry: for each output, the loss of
    /// each element times its mask and sample weight, summed and divided by the number of
    /// elements of the whole batch (or, for a masked output, by the mask's sum), times the
    /// output's loss weight; plus the layers' penalties if `with_penalties`. For a whole batch
    /// this is the batch loss; the shares of a split (unmasked) batch add up to it. Also gives
    /// each output's weighted share when there are several outputs (for the logs).
    pub(crate) fn share<'t>(
        &self,
        outputs: &[(Var<'t>, Option<Tensor>)],
        targets: &[Tensor],
        sample_weight: Option<&Tensor>,
    ) -> (Var<'t>, SmallVec<[f32; 2]>) {
        let tape = outputs[0].0.tape();
        let mut total: Option<Var<'t>> = None;
        let mut per_output = SmallVec::new();
        for (((y_pred, mask), y), &(loss, weight)) in outputs.iter().zip(targets).zip(&self.losses) {
            let mut values = loss.per_element(*y_pred, y);
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
            let share = values.sum_all().mul_scalar(weight / divisor);
            if self.losses.len() > 1 {
                per_output.push(share.value().item());
            }
            total = Some(match total {
                Some(t) => t.add(share),
                None => share,
            });
        }
        let share = total.expect("a model has at least one output");
        if !self.with_penalties {
            return (share, per_output);
        }
        (self.layers.iter().filter_map(|l| l.regularization(tape)).fold(share, |acc, p| acc.add(p)), per_output)
    }
}
