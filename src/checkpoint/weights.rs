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

    /// Loads parameters with options: the file's layout, whether to require an exact match
    /// (`strict`, the default) or to load the tensors that match and report the rest (for
    /// transfer learning), and rules that rename the file's keys before matching (for a
    /// PyTorch module whose attributes are named otherwise, see [`LoadOptions::rename`]).
    ///
    /// ```
    /// use kensho::prelude::*;
    /// use kensho::LoadOptions;
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("base.safetensors");
    /// let base = Sequential::new().add(Input::new(&[4])).add(Dense::new(8)).add(Dense::new(3));
    /// base.save_weights(&path)?;
    /// // A new head with 5 outputs: take the first layer, keep the new head.
    /// let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(8)).add(Dense::new(5));
    /// let options = LoadOptions::default().strict(false);
    /// let report = model.load_weights_with(&path, options)?;
    /// assert_eq!(report.loaded, ["dense.kernel", "dense.bias"]);
    /// assert_eq!(report.mismatched.len(), 2);
    /// // A file whose names differ from the model's: rename its keys before matching.
    /// let (hidden, out) = (Dense::new(8).with_name("hidden"), Dense::new(3).with_name("out"));
    /// let mut renamed = Sequential::new().add(Input::new(&[4])).add(hidden).add(out);
    /// let options = LoadOptions::default().rename("dense.", "hidden.").rename("dense_1.", "out.");
    /// renamed.load_weights_with(&path, options)?;
    /// assert_eq!(renamed.get_weights()[0].to_vec(), base.get_weights()[0].to_vec());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// As [`Model::load_weights`]; with `strict: false` for unreadable files, a model that
    /// cannot be built, a layer without a mapping to the layout, and a file of which no tensor
    /// can be loaded (the message lists the keys of both sides and suggests `rename` rules).
    /// Two keys of the file that the rules rename to one name are an error too.
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
        let (tensors, originals) = rename_keys(tensors, &options, path)?;
        let file = file_layout(&self.graph, options.layout)?;
        let mut report = assign(self, &file, tensors, options.strict, path)?;
        for name in &mut report.unexpected {
            if let Some(original) = originals.get(name) {
                *name = original.clone();
            }
        }
        Ok(report)
    }
}

/// Tensors by name, as a file holds them.
type Named = Vec<(String, Tensor)>;

/// The file's tensors under the names `options.renames` gives them, and the original key of
/// each renamed one (to report unexpected tensors by the file's names).
fn rename_keys(tensors: Named, options: &LoadOptions, path: &Path) -> Result<(Named, HashMap<String, String>)> {
    let mut originals: HashMap<String, String> = HashMap::new();
    let mut seen: HashMap<String, String> = HashMap::new();
    let mut out = Vec::with_capacity(tensors.len());
    for (key, tensor) in tensors {
        let name = options.renamed(&key);
        if let Some(other) = seen.insert(name.clone(), key.clone()) {
            return Err(Error::invalid(
                format!("load_weights_with ({}): LoadOptions::renames", path.display()),
                format!("{:?}, which read both \"{other}\" and \"{key}\" as \"{name}\"", options.renames),
                "rules that give each key of the file its own name",
            ));
        }
        if name != key {
            originals.insert(name.clone(), key);
        }
        out.push((name, tensor));
    }
    Ok((out, originals))
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
        let mut problems = report.problems();
        if report.loaded.is_empty() && report.mismatched.is_empty() && !slots.is_empty() {
            problems.push_str(&format!(". No key of the file is a key of the model{}", rename_hint(&report)));
        }
        return Err(Error::weights_mismatch(path, problems));
    }
    if !strict && report.loaded.is_empty() && !slots.is_empty() {
        return Err(nothing_loaded(path, &report));
    }
    model.set_weight_values(&values);
    Ok(report)
}

/// The error of a non-strict load that would load nothing: every key of the file differs from
/// the model's, or every matching tensor has another shape.
fn nothing_loaded(path: &Path, report: &LoadReport) -> Error {
    let expected = if report.mismatched.is_empty() {
        format!("at least one key of the file that is a key of the model{}", rename_hint(report))
    } else {
        "at least one tensor with the shape of the model's weight: check that the file was saved from \
         the same architecture, and the layout (LoadOptions::layout)"
            .to_string()
    };
    Error::invalid(
        format!("load_weights_with ({}) with strict: false", path.display()),
        format!("a file of which no tensor can be loaded ({})", report.problems()),
        expected,
    )
}

/// `: if the file names its modules otherwise, ...` with `rename` rules pairing the file's
/// module prefixes (`fc1.`) with the model's (`0.`) in order, as an example to check.
fn rename_hint(report: &LoadReport) -> String {
    let prefixes = |keys: &[String]| {
        let mut out: Vec<String> = Vec::new();
        for key in keys {
            let prefix = key.rfind('.').map_or("", |i| &key[..=i]).to_string();
            if !prefix.is_empty() && !out.contains(&prefix) {
                out.push(prefix);
            }
        }
        out
    };
    let (file, model) = (prefixes(&report.unexpected), prefixes(&report.missing));
    let rules: String = file.iter().zip(&model).map(|(from, to)| format!(".rename(\"{from}\", \"{to}\")")).collect();
    if rules.is_empty() {
        return "; check the layout (LoadOptions::layout)".to_string();
    }
    format!(
        "; if the file names its modules otherwise, map its keys to the model's with \
         LoadOptions::default(){rules} (check the pairs; one rule per module), and check the layout \
         (LoadOptions::layout)"
    )
}
