//! [`ModelCheckpoint`]: saves the model or its weights during training.

use super::{Callback, Control, Monitor};
use crate::progress::print_line;
use crate::{Error, Logs, Model, Result};
use std::path::{Path, PathBuf};

/// Saves the whole model ([`Model::save`]) or its weights ([`Model::save_weights`])
/// at the end of each epoch, or only when the watched figure improves (Keras'
/// `ModelCheckpoint`). Files are written atomically; a missing folder is created.
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

    /// 1 prints Keras' line at each epoch's end on stdout, with the other training output
    /// (default 0, silent): `Epoch 3: val_accuracy improved from 0.84800 to 0.85683, saving
    /// model to best.safetensors`, `Epoch 4: val_accuracy did not improve from 0.85683`, or
    /// `Epoch 3: saving model to ...` without `save_best_only`. The first best is `inf` (or
    /// `-inf` for a figure to maximise).
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

impl ModelCheckpoint {
    /// Keras' line for a save (or a skipped save) at `epoch` (0-based).
    fn message(&self, epoch: usize, value: Option<f32>, path: &Path) -> String {
        let (epoch, name, best) = (epoch + 1, &self.monitor.name, self.monitor.show(self.best));
        match value {
            None => format!("Epoch {epoch}: saving model to {}", path.display()),
            Some(v) if self.monitor.improves(v, self.best) => format!(
                "Epoch {epoch}: {name} improved from {best} to {}, saving model to {}",
                self.monitor.show(Some(v)),
                path.display()
            ),
            Some(_) => format!("Epoch {epoch}: {name} did not improve from {best}"),
        }
    }
}

impl Callback for ModelCheckpoint {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        self.best = None;
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, model: &mut Model) -> Result<Control> {
        let path = self.path_for(epoch, logs)?;
        let value = if self.save_best_only { Some(self.monitor.value(logs)?) } else { None };
        if self.verbose > 0 {
            print_line(&self.message(epoch, value, &path));
        }
        if let Some(value) = value {
            if !self.monitor.improves(value, self.best) {
                return Ok(Control::Continue);
            }
            self.best = Some(value);
        }
        if !crate::parallel::is_chief() {
            return Ok(Control::Continue); // in data-parallel training, rank 0 writes the files
        }
        // As Keras, create the folder of the file (`checkpoints/` in `checkpoints/best.keras`).
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_as_keras_with_five_decimals_and_infinite_first_best() {
        let path = Path::new("out/best.safetensors");
        let mut accuracy = ModelCheckpoint::new("out/best.safetensors").monitor("val_accuracy").save_best_only(true);
        assert_eq!(
            accuracy.message(2, Some(0.848), path),
            "Epoch 3: val_accuracy improved from -inf to 0.84800, saving model to out/best.safetensors"
        );
        accuracy.best = Some(0.85683334);
        assert_eq!(accuracy.message(3, Some(0.8), path), "Epoch 4: val_accuracy did not improve from 0.85683");
        let loss = ModelCheckpoint::new("out/best.safetensors").save_best_only(true);
        assert_eq!(
            loss.message(0, Some(0.5), path),
            "Epoch 1: val_loss improved from inf to 0.50000, saving model to out/best.safetensors"
        );
        assert_eq!(loss.message(1, None, path), "Epoch 2: saving model to out/best.safetensors");
    }
}
