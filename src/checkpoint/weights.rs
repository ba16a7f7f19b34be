//! `save_weights` / `load_weights`: a model's parameters as one safetensors file, in kensho's
//! or PyTorch's layout, with strict (all or nothing) or partial loading.

use super::tensors_file::{load_tensors, save_tensors, Metadata};
use super::torch_layout::{file_layout, FileLayout};
use super::{model_file, LoadOptions, LoadReport, ShapeMismatch, WeightsLayout};
use crate::Model;
use kensho_autograd::ParamId;
use kensho_core::{Error, Result, Tensor};
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// The `__metadata__` key telling what a kensho file holds.
pub(crate) const FORMAT_KEY: &str = "format";

impl Model {
    /// Saves every parameter to one safetensors file, named as the parameters are
    /// (`dense.kernel`, `dense.bias`, `dense_1.kernel`, ...). The file is replaced atomically.
    ///
    /// ```
    /// use kensho::prelude::*;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("weights.safetensors");
    /// let model = Sequential::new().add(Input::new(&[3])).add(Dense::new(2));
    /// model.save_weights(&path)?;
    /// let mut other = Sequential::new().seed(7).add(Input::new(&[3])).add(Dense::new(2));
    /// other.load_weights(&path)?;
    /// assert_eq!(other.get_weights()[0].to_vec(), model.get_weights()[0].to_vec());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// If the model is not built, or the file cannot be written ([`Error::Io`]).
    pub fn save_weights(&self, path: impl AsRef<Path>) -> Result<()> {
        self.save_weights_with(path, WeightsLayout::Kensho)
    }

    /// Saves every parameter in the given layout: [`WeightsLayout::PyTorch`] writes exactly
    /// the `state_dict()` of the equivalent `torch.nn.Sequential` (see the
    /// [`checkpoint`](crate::checkpoint) module for the mapping).
    ///
    /// # Errors
    /// If the model is not built, a layer has no PyTorch mapping, or the file cannot be written.
    pub fn save_weights_with(&self, path: impl AsRef<Path>, layout: WeightsLayout) -> Result<()> {
        let path = path.as_ref();
        require_built(self, "save_weights", path)?;
        let file = file_layout(&self.graph, layout)?;
        let mut tensors: Vec<(String, Tensor)> = Vec::with_capacity(file.slots.len());
        for (p, slot) in self.weights().iter().zip(&file.slots) {
            let value = slot.to_file(&p.value);
            // The blocks of one stacked tensor (in_proj_weight) share its key: they sum to it.
            let stacked = slot.transform.is_block().then(|| tensors.iter_mut().find(|(k, _)| *k == slot.key));
            match stacked.flatten() {
                Some((_, t)) => t.add_assign(&value),
                None => tensors.push((slot.key.clone(), value)),
            }
        }
        tensors.extend(file.buffers);
        let format = match layout {
            WeightsLayout::Kensho => "kensho.weights",
            WeightsLayout::PyTorch => "pt",
        };
        let metadata = Metadata::from([(FORMAT_KEY.to_string(), format.to_string())]);
        save_tensors(path, &tensors, Some(metadata))
    }

    /// Loads every parameter from a file written by [`Model::save_weights`] (or the weights
    /// of a whole-model file written by [`Model::save`]), strictly: every parameter must
    /// be in the file with its shape and the file must hold nothing else. Builds the model
    /// first if its input shape is declared.
    ///
    /// # Errors
    /// [`Error::Parse`] naming the file and listing, all at once, the missing, unexpected and
    /// mis-shaped tensors (the model is left unchanged); [`Error::Io`] / [`Error::Parse`] if
    /// the file cannot be read or is corrupt.
    pub fn load_weights(&mut self, path: impl AsRef<Path>) -> Result<()> {
        self.load_weights_with(path, LoadOptions::default()).map(|_| ())
    }

    /// Loads parameters with options: the file's layout, and whether to require an exact
    /// match (`strict`, the default) or to load the tensors that match and report the rest
    /// (for transfer learning).
    ///
    /// ```
    /// use kensho::prelude::*;
    /// use kensho::{LoadOptions, WeightsLayout};
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("base.safetensors");
    /// let base = Sequential::new().add(Input::new(&[4])).add(Dense::new(8)).add(Dense::new(3));
    /// base.save_weights(&path)?;
    /// // A new head with 5 outputs: take the first layer, keep the new head.
    /// let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(8)).add(Dense::new(5));
    /// let options = LoadOptions { strict: false, layout: WeightsLayout::Kensho };
    /// let report = model.load_weights_with(&path, options)?;
    /// assert_eq!(report.loaded, ["dense.kernel", "dense.bias"]);
    /// assert_eq!(report.mismatched.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Model::load_weights`]; with `strict: false` only for unreadable files, a
    /// model that cannot be built, or a layer without a mapping to the layout.
    pub fn load_weights_with(&mut self, path: impl AsRef<Path>, options: LoadOptions) -> Result<LoadReport> {
        let path = path.as_ref();
        if !self.is_built() && self.declared_input_shapes().is_some() {
            self.build_model()?;
        }
        require_built(self, "load_weights", path)?;
        let (mut tensors, metadata) = load_tensors(path)?;
        if metadata.get(FORMAT_KEY).map(String::as_str) == Some(model_file::FORMAT) {
            tensors.retain(|(name, _)| !name.starts_with(model_file::OPTIMIZER_PREFIX));
        }
        let file = file_layout(&self.graph, options.layout)?;
        assign(self, &file, tensors, options.strict, path)
    }
}

/// Checks that the model has its parameters.
fn require_built(model: &Model, context: &str, path: &Path) -> Result<()> {
    if model.is_built() {
        return Ok(());
    }
    Err(Error::invalid(
        format!("{context} ({})", path.display()),
        "a model that is not built",
        "a built model: declare Input::new(&[..]) as the first layer, or call build(shape) or fit first",
    ))
}

/// Matches the file's tensors to the model's weights through their slots and, if the match is
/// complete (or `strict` is off), replaces the matching weights' values. PyTorch-only buffers
/// of the layout (`num_batches_tracked`) are neither required nor unexpected.
pub(crate) fn assign(
    model: &mut Model,
    file: &FileLayout,
    tensors: Vec<(String, Tensor)>,
    strict: bool,
    path: &Path,
) -> Result<LoadReport> {
    let slots = &file.slots;
    let keys: HashSet<&str> =
        slots.iter().map(|s| s.key.as_str()).chain(file.buffers.iter().map(|(k, _)| k.as_str())).collect();
    let unexpected = tensors.iter().map(|(n, _)| n.clone()).filter(|n| !keys.contains(n.as_str())).collect();
    let mut report = LoadReport { unexpected, ..LoadReport::default() };
    let file: HashMap<String, Tensor> = tensors.into_iter().collect();
    let mut values: Vec<(ParamId, Tensor)> = Vec::with_capacity(slots.len());
    for (param, slot) in model.weights().iter().zip(slots) {
        let expected = slot.file_shape(param.value.shape());
        // Several weights may read blocks of one stacked tensor: the report names it once.
        let once = |names: &mut Vec<String>| {
            if !names.contains(&slot.key) {
                names.push(slot.key.clone());
            }
        };
        match file.get(&slot.key) {
            None => once(&mut report.missing),
            Some(t) if t.shape() != expected.as_slice() => {
                if report.mismatched.iter().all(|m| m.name != slot.key) {
                    let found = t.shape().to_vec();
                    report.mismatched.push(ShapeMismatch { name: slot.key.clone(), expected, found });
                }
            }
            Some(t) => {
                once(&mut report.loaded);
                values.push((param.id(), slot.to_model(t, param.value.shape())));
            }
        }
    }
    if strict && !report.is_complete() {
        return Err(Error::weights_mismatch(path, report.problems()));
    }
    model.set_weight_values(&values);
    Ok(report)
}
