//! Training: the `fit` loop around the train step.
//!
//! `fit` is an orchestration loop: it owns epochs, shuffling, batching, validation, callbacks and
//! progress output, and calls the train step (forward, loss, backward, optimizer step, in
//! `step.rs`) once per batch.

use crate::callbacks::{Callback, Control};
use crate::evaluate::{check_pair, LogTracker};
use crate::progress::EpochProgress;
use crate::source::{sample_weights, Source};
use crate::{History, Logs, Model, Tensors};
use kensho_core::{Error, Result, Tensor};
use kensho_data::DataLoader;
use std::collections::HashMap;

/// The options of [`Model::fit`], with Keras' defaults.
///
/// ```
/// use kensho::FitOptions;
/// let options = FitOptions { epochs: 10, batch_size: 64, validation_split: 0.2, ..Default::default() };
/// ```
pub struct FitOptions<'a> {
    /// Passes over the training data (default 1).
    pub epochs: usize,
    /// Samples per gradient step (default 32).
    pub batch_size: usize,
    /// Whether to shuffle the training samples before each epoch (default true).
    pub shuffle: bool,
    /// Seed of the shuffling (default 0): the same seed gives the same order.
    pub seed: u64,
    /// Fraction of the samples, taken from the end before shuffling, held out for validation.
    pub validation_split: f64,
    /// Validation inputs and targets (takes precedence over `validation_split`).
    pub validation_data: Option<(&'a Tensor, &'a Tensor)>,
    /// Validation inputs and targets of a model with several inputs or outputs, as lists or by
    /// name (see [`Tensors`]); takes precedence over `validation_data`.
    pub validation_many: Option<(Tensors, Tensors)>,
    /// Loss weight per class index.
    pub class_weight: Option<HashMap<usize, f32>>,
    /// Loss weight per training sample, shape `[n]`.
    pub sample_weight: Option<&'a Tensor>,
    /// The epoch to start at (for resuming training).
    pub initial_epoch: usize,
    /// 0 silent, 1 progress bar, 2 one line per epoch (default 1). The bar is drawn only when
    /// stdout is a terminal; otherwise 1 prints one line per epoch, as 2 does.
    ///
    /// All training output goes to **stdout**, as in Keras: the `Epoch 3/10` lines, the bar, the
    /// epoch's figures and the lines of the callbacks given `verbose(1)` (`ModelCheckpoint`,
    /// `EarlyStopping`, `ReduceLROnPlateau`) and of `TerminateOnNaN`, so they stay in order when
    /// stdout is redirected. Warnings (a NaN loss) go to stderr.
    pub verbose: u8,
    /// Callbacks called at fixed points of training.
    pub callbacks: Vec<&'a mut dyn Callback>,
}

impl Default for FitOptions<'_> {
    fn default() -> Self {
        FitOptions {
            epochs: 1,
            batch_size: 32,
            shuffle: true,
            seed: 0,
            validation_split: 0.0,
            validation_data: None,
            validation_many: None,
            class_weight: None,
            sample_weight: None,
            initial_epoch: 0,
            verbose: 1,
            callbacks: Vec::new(),
        }
    }
}

/// In data-parallel training of a model with a layer that needs the whole batch (batch
/// normalization, whose statistics are summed across the ranks), every rank must get rows of
/// every batch: checks that no batch is smaller than the number of ranks.
fn check_shards(model: &Model, train: &Source, batch_size: usize, ranks: usize) -> Result<()> {
    let Some(layer) = model.layers().iter().find(|l| !l.per_sample()) else { return Ok(()) };
    let (n, batch_size) = match train {
        Source::Tensors { .. } => (train.len(), batch_size),
        // A loader that drops its last, smaller batch has only full batches.
        Source::Loader(loader) => {
            let keeps_last = loader.num_batches() * loader.batch_size() > train.len();
            (if keeps_last { train.len() } else { 0 }, loader.batch_size())
        }
    };
    let last = n % batch_size;
    if batch_size < ranks || (last > 0 && last < ranks) {
        return Err(Error::invalid(
            "fit: batches in data-parallel training",
            format!("a batch of {} rows on {ranks} ranks", if batch_size < ranks { batch_size } else { last }),
            format!(
                "at least one row per rank in every batch, as layer \"{}\" ({}) sums its statistics across \
                 the ranks: choose a batch size and a number of samples whose remainder is 0 or at least {ranks}",
                layer.name(),
                layer.kind()
            ),
        ));
    }
    Ok(())
}

/// Seed for the shuffle and dropout of one epoch, so that a resumed run repeats them exactly.
fn epoch_seed(seed: u64, epoch: usize) -> u64 {
    seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(epoch as u64)
}

impl Model {
    /// Trains on in-memory data (Keras' `fit`): `x` is `[n, input_shape..]`, `y` holds the
    /// targets the loss expects. For a model with several inputs or outputs, pass lists in the
    /// model's order or tensors by input and output name (see [`Tensors`]):
    /// `model.fit([&users, &items], &ratings, options)`,
    /// `model.fit(&x, [("digit", &y), ("even", &parity)], options)`.
    ///
    /// # Errors
    /// If the model is not compiled, the inputs do not match the model or each other, an option
    /// is out of range, or a callback fails. Each message says what was wrong and how to fix it.
    pub fn fit(&mut self, x: impl Into<Tensors>, y: impl Into<Tensors>, options: FitOptions) -> Result<History> {
        self.compiled("fit")?;
        let (x, y) = self.resolve_data(x.into(), y.into(), "fit")?;
        check_pair("fit", &x, &y)?;
        if y.len() > 1 && options.class_weight.is_some() {
            return Err(Error::invalid(
                "fit: class_weight",
                "class weights for a model with several outputs",
                "sample_weight instead (class weights would be ambiguous across outputs, as in Keras)",
            ));
        }
        let weights = sample_weights(&y[0], options.class_weight.as_ref(), options.sample_weight)?;
        self.fit_source(Source::Tensors { x, y, weights }, options)
    }

    /// Trains on the batches of a [`DataLoader`], whose dataset may read samples on demand and
    /// whose worker thread can prefetch the next batches (see [`Model::fit`]).
    ///
    /// The loader decides batching and shuffling (its own batch size and seed, a new order each
    /// epoch): `batch_size`, `shuffle` and `seed` of the options are not used.
    /// `validation_split` is not available here: pass `validation_data`.
    ///
    /// # Errors
    /// As [`Model::fit`], plus any error the dataset returns while reading.
    pub fn fit_loader(&mut self, loader: &DataLoader, options: FitOptions) -> Result<History> {
        self.compiled("fit")?;
        if options.validation_split > 0.0 || options.class_weight.is_some() || options.sample_weight.is_some() {
            return Err(Error::invalid(
                "fit_loader options",
                "validation_split, class_weight or sample_weight",
                "validation_data for validation; weights are available with in-memory tensors (fit)",
            ));
        }
        self.fit_source(Source::Loader(loader), options)
    }

    fn fit_source(&mut self, data: Source, mut options: FitOptions) -> Result<History> {
        let (train, validation) = self.prepare(data, &options)?;
        let Some(comm) = self.communicator() else {
            return self.fit_prepared(&train, validation.as_ref(), options);
        };
        // Data-parallel: every rank starts from rank 0's weights, and only rank 0 prints. A
        // rank that fails from here on ends the whole job, so the others never wait for it.
        if comm.rank() != 0 {
            options.verbose = 0;
        }
        check_shards(self, &train, options.batch_size, comm.size())?;
        let result = self.broadcast_weights().and_then(|()| self.fit_prepared(&train, validation.as_ref(), options));
        result.map_err(|e| comm.abort(&format!("kensho: rank {} of {} failed: {e}", comm.rank(), comm.size())))
    }

    /// The epochs of `fit` on checked data.
    fn fit_prepared(
        &mut self,
        train: &Source,
        validation: Option<&Source>,
        mut options: FitOptions,
    ) -> Result<History> {
        let mut callbacks = std::mem::take(&mut options.callbacks);
        for cb in callbacks.iter_mut() {
            cb.on_train_begin(self)?;
        }
        let mut history = History::default();
        for epoch in options.initial_epoch..options.epochs {
            for cb in callbacks.iter_mut() {
                cb.on_epoch_begin(epoch, self)?;
            }
            let steps = train.steps(options.batch_size);
            let mut progress = EpochProgress::start(options.verbose, epoch, options.epochs, steps);
            let (mut logs, stopped) = self.train_epoch(train, epoch, &options, &mut callbacks, &mut progress)?;
            self.gather_optimizer_state()?;
            if let Some(val) = validation {
                let val_logs = self.evaluate_source(val, options.batch_size)?;
                logs.extend_prefixed("val_", &val_logs);
            }
            progress.finish(&logs);
            history.push(epoch, &logs);
            let mut stop = stopped;
            for cb in callbacks.iter_mut() {
                stop |= cb.on_epoch_end(epoch, &logs, self)? == Control::Stop;
            }
            if stop {
                break;
            }
        }
        for cb in callbacks.iter_mut() {
            cb.on_train_end(&history, self)?;
        }
        Ok(history)
    }

    /// Checks the options and data once, builds the model if needed, and splits off the
    /// validation data (Keras' `validation_split`: the last fraction, before shuffling).
    fn prepare<'a>(&mut self, data: Source<'a>, options: &FitOptions) -> Result<(Source<'a>, Option<Source<'a>>)> {
        if options.batch_size == 0 {
            return Err(Error::invalid("fit: batch_size", 0, "a positive number of samples per batch (default 32)"));
        }
        if !(0.0..1.0).contains(&options.validation_split) {
            return Err(Error::invalid("fit: validation_split", options.validation_split, "a fraction in [0, 1)"));
        }
        let n = data.len();
        let split_at = if options.validation_data.is_some() || options.validation_many.is_some() {
            n
        } else {
            (n as f64 * (1.0 - options.validation_split)).floor() as usize
        };
        if split_at == 0 {
            return Err(Error::invalid(
                "fit: data",
                "no training samples",
                "a non-empty data set (check validation_split)",
            ));
        }
        let given = match (&options.validation_many, options.validation_data) {
            (Some((vx, vy)), _) => Some(self.resolve_data(vx.clone(), vy.clone(), "fit: validation_many")?),
            (None, Some((vx, vy))) => Some(self.resolve_data(vx.into(), vy.into(), "fit: validation_data")?),
            (None, None) => None,
        };
        let (train, validation) = match given {
            Some((vx, vy)) => {
                check_pair("fit: validation_data", &vx, &vy)?;
                (data, Some(Source::Tensors { x: vx, y: vy, weights: None }))
            }
            None if split_at < n => (data.rows(0, split_at), Some(data.rows(split_at, n))),
            None => (data, None),
        };
        let probe = train.first()?;
        self.ensure_built_for(&probe.x, "fit")?;
        if let Source::Tensors { x, y, .. } = &train {
            self.check_input_shared(x, "fit")?;
            self.check_targets("fit", x, y)?;
        } else {
            self.check_targets("fit", &probe.x, &probe.y)?;
        }
        if let Some(Source::Tensors { x, y, .. }) = &validation {
            self.check_input(x, "fit: validation data")?;
            self.check_targets("fit: validation data", x, y)?;
        }
        Ok((train, validation))
    }

    /// One pass over the training samples; returns the epoch's logs and whether a callback
    /// asked to stop.
    fn train_epoch(
        &mut self,
        train: &Source,
        epoch: usize,
        options: &FitOptions,
        callbacks: &mut [&mut dyn Callback],
        progress: &mut EpochProgress,
    ) -> Result<(Logs, bool)> {
        let mut tracker = self.log_tracker(&self.compiled("fit")?.heads);
        let stopped = self.train_batches(train, epoch, options, callbacks, progress, &mut tracker)?;
        Ok((tracker.logs(), stopped))
    }

    /// The batches of one epoch: a train step each, the running figures, progress and batch
    /// callbacks. Returns whether a callback asked to stop. A non-finite loss is reported on
    /// stderr (once per epoch) and its batch skips the metrics.
    fn train_batches(
        &mut self,
        train: &Source,
        epoch: usize,
        options: &FitOptions,
        callbacks: &mut [&mut dyn Callback],
        progress: &mut EpochProgress,
        tracker: &mut LogTracker,
    ) -> Result<bool> {
        let seed = epoch_seed(options.seed ^ self.get_seed(), epoch);
        let shuffle_seed = match train {
            Source::Loader(_) => Some(epoch as u64),
            Source::Tensors { .. } => options.shuffle.then_some(seed),
        };
        let mut warned_nan = false;
        let shard = self.communicator().map(|c| (c.rank(), c.size()));
        for (step, batch) in train.epoch(shuffle_seed, options.batch_size, shard).enumerate() {
            let batch = batch?;
            if let Source::Loader(_) = train {
                // In-memory data was checked whole before training; a loader's batches are
                // checked as they arrive, so a bad sample is an error, not a panic.
                self.check_input(&batch.x, "fit: a batch of the data loader")?;
                self.check_targets("fit: a batch of the data loader", &batch.x, &batch.y)?;
            }
            for cb in callbacks.iter_mut() {
                cb.on_batch_begin(epoch, step);
            }
            let step_seed = seed.wrapping_add(step as u64 + 1);
            let global_step = self.optimizer().map_or(0, |o| o.iterations());
            // In data-parallel training, the outputs of every rank are gathered only for metrics.
            let gather = tracker.has_metrics();
            let (x, weights) = batch.own_rows(shard);
            let out = self.train_step_local(&x, &batch.y, weights.as_ref(), step_seed, gather, true)?;
            for cb in callbacks.iter_mut() {
                cb.on_train_step_end(global_step, self)?;
            }
            if out.loss.is_finite() {
                tracker.update(out.loss, &out.output_losses, batch.rows(), &batch.y, &out.outputs)?;
            } else {
                tracker.add_loss(out.loss, &out.output_losses, batch.rows());
                if !std::mem::replace(&mut warned_nan, true) {
                    progress.warn(&format!(
                        "warning: the loss became {} at epoch {}, batch {}; lower the learning rate, clip gradients \
                         (clipnorm), or check the data for NaN. Add TerminateOnNaN to stop training when this happens.",
                        out.loss,
                        epoch + 1,
                        step + 1
                    ));
                }
            }
            progress.step(step + 1, || tracker.logs());
            if !callbacks.is_empty() {
                let mut batch_logs = Logs::new();
                batch_logs.set("loss", out.loss);
                let mut stop = false;
                for cb in callbacks.iter_mut() {
                    stop |= cb.on_batch_end(epoch, step, &batch_logs) == Control::Stop;
                }
                if stop {
                    return Ok(true);
                }
            }
        }
        Ok(false)
    }
}
