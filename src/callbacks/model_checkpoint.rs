//! [`ModelCheckpoint`]: saves the model or its weights during training.

use super::{Callback, Control, Monitor};
use crate::{Error, Logs, Model, Result};
use std::path::PathBuf;

/// Saves the whole model ([`Model::save`]) or its weights ([`Model::save_weights`])
/// at the end of each epoch, or only when the watched figure improves (Keras'
/// `ModelCheckpoint`). Files are written atomically.
///
/// The path is a pattern: `{epoch}` becomes the 1-based epoch number (as in Keras),
/// `{epoch:02}` (or `{epoch:02d}`) zero-pads it, and `{name}` or `{name:.4}` (or `{name:.4f}`)
/// writes a logged figure such as `val_loss`. A training run resumed from such a file with
/// [`load_model`](crate::load_model) and `FitOptions { initial_epoch, .. }` continues exactly.
///
/// ```
/// use kensho::callbacks::ModelCheckpoint;
/// let best = ModelCheckpoint::new("checkpoints/best.safetensors").save_best_only(true);
/// let every = ModelCheckpoint::new("checkpoints/epoch-{epoch:03}-{val_loss:.4}.safetensors");
/// ```
#[derive(Clone, Debug)]
pub struct ModelCheckpoint {
    filepath: String,
    monitor: Monitor,
    save_best_only: bool,
    save_weights_only: bool,
    verbose: u8,
    best: Option<f32>,
    /// The files written so far, in order.
    pub saved: Vec<PathBuf>,
}

impl ModelCheckpoint {
    /// Saves the whole model to `filepath` (a pattern, see above) after every epoch, watching
    /// `val_loss` if `save_best_only` is set.
    pub fn new(filepath: impl Into<String>) -> ModelCheckpoint {
        ModelCheckpoint {
            filepath: filepath.into(),
            monitor: Monitor::new("val_loss"),
            save_best_only: false,
            save_weights_only: false,
            verbose: 0,
            best: None,
            saved: Vec::new(),
        }
    }

    /// The figure watched by `save_best_only` (default `val_loss`).
    pub fn monitor(mut self, name: &str) -> Self {
        self.monitor.name = name.to_string();
        self
    }

    /// Saves only when the watched figure improves on the best so far (default false).
    pub fn save_best_only(mut self, yes: bool) -> Self {
        self.save_best_only = yes;
        self
    }

    /// Saves the weights only instead of the whole model (default false).
    pub fn save_weights_only(mut self, yes: bool) -> Self {
        self.save_weights_only = yes;
        self
    }

    /// 1 prints a line for each save (default 0, silent).
    pub fn verbose(mut self, verbose: u8) -> Self {
        self.verbose = verbose;
        self
    }

    /// The path for an epoch (0-based) and its logs.
    ///
    /// # Errors
    /// If the pattern names a figure that is not logged, or a field is malformed.
    pub fn path_for(&self, epoch: usize, logs: &Logs) -> Result<PathBuf> {
        format_path(&self.filepath, epoch + 1, logs).map(PathBuf::from)
    }
}

/// Fills the `{..}` fields of `pattern`.
fn format_path(pattern: &str, epoch: usize, logs: &Logs) -> Result<String> {
    let bad = |field: &str, why: &str| {
        Error::invalid(
            format!("ModelCheckpoint filepath \"{pattern}\""),
            format!("the field {{{field}}}"),
            format!("{why}: {{epoch}}, {{epoch:02}}, or a logged figure such as {{val_loss}} or {{val_loss:.4}}"),
        )
    };
    let mut out = String::new();
    let mut rest = pattern;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| bad(&rest[start + 1..], "an unclosed brace"))? + start;
        let field = &rest[start + 1..end];
        let (name, spec) = field.split_once(':').unwrap_or((field, ""));
        let spec = spec.trim_end_matches(['d', 'f']);
        if name == "epoch" {
            let width: usize = if spec.is_empty() { 0 } else { spec.parse().map_err(|_| bad(field, "a width"))? };
            out.push_str(&format!("{epoch:0width$}"));
        } else {
            let value = logs.get(name).ok_or_else(|| bad(field, "a logged figure"))?;
            match spec.strip_prefix('.') {
                Some(p) => {
                    let precision: usize = p.parse().map_err(|_| bad(field, "a precision"))?;
                    out.push_str(&format!("{value:.precision$}"));
                }
                None if spec.is_empty() => out.push_str(&value.to_string()),
                None => return Err(bad(field, "a known format")),
            }
        }
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        self.best = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<Control> {
        let path = self.path_for(epoch, logs)?;
        if self.save_best_only {
            let value = self.monitor.value(logs)?;
            if !self.monitor.improves(value, self.best) {
                if self.verbose > 0 {
                    println!("Epoch {}: {} did not improve from {:?}", epoch + 1, self.monitor.name, self.best);
                }
                return Ok(Control::Continue);
            }
            if self.verbose > 0 {
                let name = &self.monitor.name;
                println!(
                    "Epoch {}: {name} improved from {:?} to {value}, saving to {}",
                    epoch + 1,
                    self.best,
                    path.display()
                );
            }
            self.best = Some(value);
        } else if self.verbose > 0 {
            println!("Epoch {}: saving to {}", epoch + 1, path.display());
        }
        if self.save_weights_only {
            model.save_weights(&path)?;
        } else {
            model.save(&path)?;
        }
        self.saved.push(path);
        Ok(Control::Continue)
    }
}

super::monitor::monitor_setters!(ModelCheckpoint);
