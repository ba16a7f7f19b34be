//! [`TensorBoard`]: writes training figures, weight histograms and the model summary as
//! TensorBoard event files (Keras' `keras.callbacks.TensorBoard`).
//!
//! The files are written here, without TensorFlow: the records are framed as TFRecord
//! (in `writer.rs`) and hold `Event` protocol buffers declared in [`proto`].

pub mod proto;
mod values;
mod writer;

use super::{Callback, Control};
use crate::parallel::is_chief;
use crate::{Error, Logs, Model, Result};
use proto::Summary;
use std::fmt;
use std::path::{Path, PathBuf};
use writer::EventWriter;

/// How often [`TensorBoard`] writes the training figures (Keras' `update_freq`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateFreq {
    /// Once per epoch (Keras' `"epoch"`, the default).
    Epoch,
    /// Every `n` training batches as well, as `batch_loss` at the number of batches trained
    /// so far (1-based, counted across epochs); `Batches(1)` is Keras' `"batch"`.
    Batches(usize),
}

/// Writes event files for TensorBoard (Keras' `TensorBoard` callback). Open them with
/// `tensorboard --logdir logs`.
///
/// Training figures go to `log_dir/train`, validation figures to `log_dir/validation`, with
/// Keras' tags:
/// - each epoch, every figure of the epoch's logs as `epoch_<name>` at step `epoch` (0-based):
///   `epoch_loss`, `epoch_accuracy`, ... and the optimizer's `epoch_learning_rate` under
///   `train`; the `val_` figures under `validation` without their prefix (`val_loss` is
///   `epoch_loss` there), plus `evaluation_<name>_vs_iterations` at the number of batches
///   trained;
/// - with [`update_freq`](TensorBoard::update_freq)`(UpdateFreq::Batches(n))`, every `n`
///   batches the batch's figures as `batch_<name>` (`batch_loss`);
/// - every [`histogram_freq`](TensorBoard::histogram_freq) epochs, a histogram of each weight
///   as `<layer>/<weight>/histogram` (such as `dense/kernel/histogram`), 30 equal-width
///   buckets over the finite values;
/// - with [`write_graph`](TensorBoard::write_graph) (the default), the model's
///   [`summary`](Model::summary) as text under the tag `model_summary` (Text dashboard) at
///   step 0. Keras writes a graph of the model here; kensho has no TensorFlow graph to show,
///   so it writes the summary table instead.
///
/// Each `fit` starts a new event file in each folder (TensorBoard reads them all in order);
/// the files are flushed at the end of every epoch.
///
/// ```
/// use kensho::prelude::*;
/// # fn main() -> kensho::Result<()> {
/// let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2])?;
/// let y = Tensor::from_vec(vec![0., 1., 1., 0.], &[4, 1])?;
/// let mut model = Sequential::new().add(Input::new(&[2])).add(Dense::new(1));
/// model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![])?;
///
/// let log_dir = std::env::temp_dir().join(format!("kensho_doc_tensorboard_{}", std::process::id()));
/// let mut board = TensorBoard::new(&log_dir).histogram_freq(1).update_freq(UpdateFreq::Batches(2));
/// model.fit(&x, &y, FitOptions { epochs: 2, batch_size: 2, verbose: 0, callbacks: vec![&mut board], ..Default::default() })?;
/// assert!(std::fs::read_dir(log_dir.join("train"))?.count() == 1);
/// # std::fs::remove_dir_all(&log_dir)?;
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Creating the folders or files, or writing them, fails with [`Error::Io`] naming the path;
/// `fit` returns it at the end of the epoch. The callback never panics.
pub struct TensorBoard {
    log_dir: PathBuf,
    histogram_freq: usize,
    update_freq: UpdateFreq,
    write_graph: bool,
    train: Option<EventWriter>,
    validation: Option<EventWriter>,
    /// Training batches since `fit` began (Keras' `_global_train_batch`).
    global_batch: u64,
    /// The first error of a batch hook, which cannot return one; `fit` gets it at epoch end.
    pending: Option<Error>,
}

impl TensorBoard {
    /// Logs to `log_dir` (Keras' default is `logs`): once per epoch, no histograms, with the
    /// model summary.
    pub fn new(log_dir: impl Into<PathBuf>) -> TensorBoard {
        TensorBoard {
            log_dir: log_dir.into(),
            histogram_freq: 0,
            update_freq: UpdateFreq::Epoch,
            write_graph: true,
            train: None,
            validation: None,
            global_batch: 0,
            pending: None,
        }
    }

    /// Writes weight histograms every `n` epochs (at epochs 0, n, 2n, ...); 0, the default,
    /// writes none.
    pub fn histogram_freq(mut self, n: usize) -> Self {
        self.histogram_freq = n;
        self
    }

    /// How often to write the training figures (default [`UpdateFreq::Epoch`]).
    pub fn update_freq(mut self, freq: UpdateFreq) -> Self {
        self.update_freq = freq;
        self
    }

    /// Whether to write the model summary as text (default true).
    pub fn write_graph(mut self, write: bool) -> Self {
        self.write_graph = write;
        self
    }

    /// The folder the logs go to.
    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    fn train_writer(&mut self) -> Result<&mut EventWriter> {
        if self.train.is_none() {
            self.train = Some(EventWriter::create(&self.log_dir.join("train"))?);
        }
        Ok(self.train.as_mut().expect("created above"))
    }

    fn validation_writer(&mut self) -> Result<&mut EventWriter> {
        if self.validation.is_none() {
            self.validation = Some(EventWriter::create(&self.log_dir.join("validation"))?);
        }
        Ok(self.validation.as_mut().expect("created above"))
    }

    fn write_batch(&mut self, logs: &Logs) -> Result<()> {
        let step = self.global_batch as i64;
        let value = logs.iter().map(|(name, v)| values::scalar(&format!("batch_{name}"), v)).collect();
        self.train_writer()?.write_summary(step, Summary { value })
    }

    fn write_epoch(&mut self, epoch: usize, logs: &Logs, model: &Model) -> Result<()> {
        let step = epoch as i64;
        let mut train = Vec::new();
        let mut validation = Vec::new();
        let mut evaluation = Vec::new();
        for (name, v) in logs.iter() {
            match name.strip_prefix("val_") {
                Some(base) => {
                    validation.push(values::scalar(&format!("epoch_{base}"), v));
                    evaluation.push(values::scalar(&format!("evaluation_{base}_vs_iterations"), v));
                }
                None => train.push(values::scalar(&format!("epoch_{name}"), v)),
            }
        }
        if let Ok(lr) = model.learning_rate() {
            train.push(values::scalar("epoch_learning_rate", lr));
        }
        if self.histogram_freq > 0 && epoch.is_multiple_of(self.histogram_freq) {
            for weight in model.weights() {
                let tag = format!("{}/histogram", weight.name().replace('.', "/"));
                train.extend(values::histogram(&tag, &weight.value.to_vec()));
            }
        }
        self.train_writer()?.write_summary(step, Summary { value: train })?;
        if !validation.is_empty() {
            let iterations = self.global_batch as i64;
            let writer = self.validation_writer()?;
            writer.write_summary(step, Summary { value: validation })?;
            writer.write_summary(iterations, Summary { value: evaluation })?;
        }
        self.flush()
    }

    fn flush(&mut self) -> Result<()> {
        for writer in [self.train.as_mut(), self.validation.as_mut()].into_iter().flatten() {
            writer.flush()?;
        }
        Ok(())
    }
}

impl fmt::Debug for TensorBoard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TensorBoard")
            .field("log_dir", &self.log_dir)
            .field("histogram_freq", &self.histogram_freq)
            .field("update_freq", &self.update_freq)
            .field("write_graph", &self.write_graph)
            .finish_non_exhaustive()
    }
}

impl Callback for TensorBoard {
    fn on_train_begin(&mut self, model: &mut Model) -> Result<()> {
        if !is_chief() {
            return Ok(()); // in data-parallel training, rank 0 writes the events
        }
        if self.update_freq == UpdateFreq::Batches(0) {
            return Err(Error::invalid(
                "TensorBoard: update_freq",
                "Batches(0)",
                "UpdateFreq::Batches(n) with n >= 1, or UpdateFreq::Epoch",
            ));
        }
        self.train = None;
        self.validation = None;
        self.global_batch = 0;
        self.pending = None;
        let writer = self.train_writer()?;
        writer.flush()?;
        if self.write_graph {
            // Indented by four spaces: a code block in the text dashboard's markdown, so the
            // table keeps its columns.
            let table: String = model.summary().lines().map(|line| format!("    {line}\n")).collect();
            let writer = self.train_writer()?;
            writer.write_summary(0, Summary { value: vec![values::text("model_summary", &table)] })?;
            writer.flush()?;
        }
        Ok(())
    }

    fn on_batch_end(&mut self, _epoch: usize, _batch: usize, logs: &Logs) -> Control {
        if !is_chief() {
            return Control::Continue;
        }
        self.global_batch += 1;
        if let UpdateFreq::Batches(n) = self.update_freq
            && n > 0
            && self.global_batch.is_multiple_of(n as u64)
            && self.pending.is_none()
            && let Err(e) = self.write_batch(logs)
        {
            self.pending = Some(e);
        }
        Control::Continue
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<Control> {
        if !is_chief() {
            return Ok(Control::Continue);
        }
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        self.write_epoch(epoch, logs, model)?;
        Ok(Control::Continue)
    }

    fn on_train_end(&mut self, _history: &crate::History, _model: &mut Model) -> Result<()> {
        if !is_chief() {
            return Ok(());
        }
        if let Some(e) = self.pending.take() {
            return Err(e);
        }
        self.flush()?;
        self.train = None;
        self.validation = None;
        Ok(())
    }
}
