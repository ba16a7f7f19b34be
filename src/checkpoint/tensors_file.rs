//! Reading and writing named f32 tensors as one safetensors file, with its `__metadata__`
//! string map; every failure is an [`Error`] naming the file.

use super::atomic::write_atomic;
use kensho_core::{Error, Result, Tensor};
use safetensors::{Dtype, SafeTensors};
use std::collections::HashMap;
use std::path::Path;

/// The `__metadata__` string map of a safetensors file.
pub type Metadata = HashMap<String, String>;

/// Writes `tensors` (as little-endian f32) and `metadata` to `path` as one safetensors file,
/// atomically: the file at `path` is replaced whole or not at all.
///
/// Names must be unique. Tensors are stored sorted by name, as safetensors does.
///
/// ```
/// use kensho::{checkpoint, Tensor};
/// let dir = tempfile::tempdir()?;
/// let path = dir.path().join("x.safetensors");
/// let x = Tensor::from_vec(vec![1.0, 2.0, 3.0], &[3, 1])?;
/// checkpoint::save_tensors(&path, &[("x".to_string(), x.clone())], None)?;
/// let (loaded, _) = checkpoint::load_tensors(&path)?;
/// assert_eq!(loaded[0].0, "x");
/// assert_eq!(loaded[0].1.to_vec(), x.to_vec());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::InvalidArgument`] for a repeated name, [`Error::Io`] if the file cannot be written.
pub fn save_tensors(path: impl AsRef<Path>, tensors: &[(String, Tensor)], metadata: Option<Metadata>) -> Result<()> {
    let path = path.as_ref();
    let bytes = serialize(path, tensors, metadata)?;
    write_atomic(path, &bytes)
}

/// The bytes of a safetensors file holding `tensors` and `metadata`.
pub(crate) fn serialize(path: &Path, tensors: &[(String, Tensor)], metadata: Option<Metadata>) -> Result<Vec<u8>> {
    let mut names: Vec<&str> = tensors.iter().map(|(n, _)| n.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::invalid(
            format!("saving {}: tensor name", path.display()),
            w[0],
            "names unique within one file",
        ));
    }
    let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(name, t)| {
            let bytes = t.as_array().iter().flat_map(|v| v.to_le_bytes()).collect();
            (name.clone(), t.shape().to_vec(), bytes)
        })
        .collect();
    let views = data
        .iter()
        .map(|(name, shape, bytes)| {
            let view = safetensors::tensor::TensorView::new(Dtype::F32, shape.clone(), bytes)
                .expect("the byte count of an f32 tensor matches its shape");
            (name.as_str(), view)
        })
        .collect::<Vec<_>>();
    safetensors::serialize(views, &metadata).map_err(|e| Error::parse(path, format!("cannot serialize: {e}")))
}

/// Reads every tensor of a safetensors file as f32, in the order they are stored, with the
/// file's `__metadata__` map (empty if it has none).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the file if it is truncated,
/// its header is corrupt, or a tensor is not F32 (the message names the tensor and its dtype).
pub fn load_tensors(path: impl AsRef<Path>) -> Result<(Vec<(String, Tensor)>, Metadata)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes)
}

/// Parses the bytes of a safetensors file (see [`load_tensors`]).
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<(String, Tensor)>, Metadata)> {
    let file = SafeTensors::deserialize(bytes).map_err(|e| {
        Error::parse(
            path,
            format!(
                "not a valid safetensors file ({} bytes; the file is truncated or its header is corrupt): {e:?}",
                bytes.len()
            ),
        )
    })?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(|e| Error::parse(path, format!("{e:?}")))?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let mut tensors: Vec<(usize, String, Tensor)> = Vec::with_capacity(file.len());
    for (name, view) in file.tensors() {
        if view.dtype() != Dtype::F32 {
            return Err(Error::parse(
                path,
                format!(
                    "tensor \"{name}\" has dtype {:?}; kensho reads F32 tensors only (convert it with .float())",
                    view.dtype()
                ),
            ));
        }
        let values: Vec<f32> =
            view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
        let tensor = Tensor::from_vec(values, view.shape())
            .map_err(|e| Error::parse(path, format!("tensor \"{name}\": {e}")))?;
        let offset = header.info(&name).map_or(0, |i| i.data_offsets.0);
        tensors.push((offset, name, tensor));
    }
    tensors.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok((tensors.into_iter().map(|(_, n, t)| (n, t)).collect(), metadata))
}
