//! [`CsvLogger`]: writes each epoch's figures as a row of a CSV file.

use super::{Callback, Control};
use crate::{Error, Logs, Model, Result};
use std::io::Write;
use std::path::PathBuf;

/// Writes `epoch,loss,...` rows, one per epoch, to a CSV file (Keras' `CSVLogger`); the header
/// comes from the first epoch's figures. With `append`, rows are added to an existing file.
///
/// ```no_run
/// use kensho::callbacks::CsvLogger;
/// let logger = CsvLogger::new("training.csv");
/// ```
#[derive(Clone, Debug)]
pub struct CsvLogger {
    path: PathBuf,
    append: bool,
    header: Option<Vec<String>>,
}

impl CsvLogger {
    /// Logs to `path`, replacing the file when training begins.
    pub fn new(path: impl Into<PathBuf>) -> CsvLogger {
        CsvLogger { path: path.into(), append: false, header: None }
    }

    /// Appends to the file instead of replacing it.
    pub fn append(mut self, append: bool) -> Self {
        self.append = append;
        self
    }

    fn write(&self, text: &str, append: bool) -> Result<()> {
        if !crate::parallel::is_chief() {
            return Ok(()); // in data-parallel training, rank 0 writes the log
        }
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .append(append)
            .truncate(!append)
            .open(&self.path)
            .map_err(|e| Error::io(&self.path, e))?;
        file.write_all(text.as_bytes()).map_err(|e| Error::io(&self.path, e))
    }
}

impl Callback for CsvLogger {
    fn on_train_begin(&mut self, _model: &mut Model) -> Result<()> {
        self.header = None;
        if !self.append {
            self.write("", false)?;
        }
        Ok(())
    }

    fn on_epoch_end(&mut self, epoch: usize, logs: &Logs, _model: &mut Model) -> Result<Control> {
        let mut text = String::new();
        if self.header.is_none() {
            let names: Vec<String> = logs.names().iter().map(|s| s.to_string()).collect();
            let has_rows = self.append && std::fs::metadata(&self.path).map(|m| m.len() > 0).unwrap_or(false);
            if !has_rows {
                text.push_str(&format!("epoch,{}\n", names.join(",")));
            }
            self.header = Some(names);
        }
        let header = self.header.as_deref().unwrap_or_default();
        let values: Vec<String> = header.iter().map(|n| logs.get(n).map_or(String::new(), |v| v.to_string())).collect();
        text.push_str(&format!("{epoch},{}\n", values.join(",")));
        self.write(&text, true)?;
        Ok(Control::Continue)
    }
}
