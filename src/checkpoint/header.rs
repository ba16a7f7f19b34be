//! The checks of a safetensors header before the `safetensors` crate reads it, so that a corrupt
//! or truncated file gets a sentence naming the file, the tensor and the sizes expected and seen
//! (the crate's own errors, such as `TensorInvalidInfo`, name neither), and the sentences for
//! the crate's errors that remain.
//!
//! A safetensors file is an 8-byte little-endian header length `n`, `n` bytes of JSON mapping
//! each tensor name to `{dtype, shape, data_offsets: [begin, end]}` (plus an optional
//! `__metadata__` string map), then the data: the tensors' bytes, back to back, to the end of
//! the file.

use kensho_core::{Error, Result};
use safetensors::SafeTensorError;
use serde::Deserialize;
use std::collections::HashMap;
use std::path::Path;

/// The largest header the `safetensors` crate reads (100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// One tensor's entry in the header.
#[derive(Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// The size in bytes of one element of a safetensors dtype, `None` for a name it does not define.
fn dtype_size(dtype: &str) -> Option<usize> {
    Some(match dtype {
        "BOOL" | "U8" | "I8" | "F8_E5M2" | "F8_E4M3" => 1,
        "I16" | "U16" | "F16" | "BF16" => 2,
        "I32" | "U32" | "F32" => 4,
        "I64" | "U64" | "F64" => 8,
        _ => return None,
    })
}

/// Checks the header of the safetensors bytes `bytes` (read from `path`) against the file: its
/// length, its JSON, each tensor's dtype, shape and offsets, and that the data ends where the
/// file ends.
///
/// # Errors
/// [`Error::Parse`] naming the file and, for a tensor, its name with the byte counts expected
/// and seen.
pub(crate) fn check(path: &Path, bytes: &[u8]) -> Result<()> {
    let fail = |reason: String| Err(Error::parse(path, reason));
    let not_safetensors = "the file is truncated or not a safetensors file";
    if bytes.len() < 8 {
        return fail(format!(
            "is {} bytes long, shorter than the 8-byte header length that starts a safetensors file: {not_safetensors}",
            bytes.len()
        ));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    let rest = (bytes.len() - 8) as u64;
    if n > MAX_HEADER {
        return fail(format!(
            "declares a header of {n} bytes, more than the {MAX_HEADER} bytes safetensors allows: {not_safetensors}"
        ));
    }
    if n > rest {
        return fail(format!(
            "declares a header of {n} bytes but only {rest} bytes follow its length: {not_safetensors}"
        ));
    }
    let end = 8 + n as usize;
    let Ok(text) = std::str::from_utf8(&bytes[8..end]) else {
        return fail(format!("its header (bytes 8 to {end}) is not UTF-8 text: the file is corrupt"));
    };
    let map: serde_json::Map<String, serde_json::Value> = match serde_json::from_str(text) {
        Ok(map) => map,
        Err(e) => {
            return fail(format!("its header (bytes 8 to {end}) is not a JSON object ({e}): the file is corrupt"))
        }
    };
    let mut entries: Vec<(String, Entry)> = Vec::with_capacity(map.len());
    for (name, value) in map {
        if name == "__metadata__" {
            if let Err(e) = serde_json::from_value::<HashMap<String, String>>(value) {
                return fail(format!("the header's __metadata__ is not a map of strings ({e}): the file is corrupt"));
            }
            continue;
        }
        match serde_json::from_value::<Entry>(value) {
            Ok(entry) => entries.push((name, entry)),
            Err(e) => {
                return fail(format!(
                    "the header entry of tensor \"{name}\" is not {{dtype, shape, data_offsets}} ({e}): the file is corrupt"
                ))
            }
        }
    }
    entries.sort_by(|a, b| (a.1.data_offsets, &a.0).cmp(&(b.1.data_offsets, &b.0)));
    let data = bytes.len() - end;
    let mut position = 0;
    for (name, e) in &entries {
        let (begin, stop) = e.data_offsets;
        let Some(size) = dtype_size(&e.dtype) else {
            return fail(format!("tensor \"{name}\" has dtype \"{}\", which safetensors does not define", e.dtype));
        };
        let Some(needed) = e.shape.iter().try_fold(size, |n, &d| n.checked_mul(d)) else {
            return fail(format!(
                "tensor \"{name}\" has shape {:?}, whose size in bytes overflows: the file is corrupt",
                e.shape
            ));
        };
        if begin != position {
            let seen = if begin < position { "overlaps the tensor before it" } else { "leaves a gap" };
            return fail(format!(
                "tensor \"{name}\" starts at byte {begin} of the data but the tensors before it end at byte \
                 {position} (it {seen}): the file is corrupt"
            ));
        }
        if stop < begin || stop - begin != needed {
            return fail(format!(
                "tensor \"{name}\" ({} {:?}) needs {needed} bytes but its data_offsets [{begin}, {stop}] give it {}: \
                 the file is corrupt",
                e.dtype,
                e.shape,
                stop as i128 - begin as i128
            ));
        }
        if stop > data {
            return fail(format!(
                "tensor \"{name}\" ends at byte {stop} of the data but the file holds {data} bytes of data \
                 ({} missing): the file is truncated",
                stop - data
            ));
        }
        position = stop;
    }
    if position != data {
        return fail(format!(
            "the tensors end at byte {position} of the data but the file holds {data} bytes of data ({} bytes \
             after the last tensor): the file is corrupt or something was appended to it",
            data - position
        ));
    }
    Ok(())
}

/// A sentence for an error of the `safetensors` crate (for what [`check`] does not catch).
pub(crate) fn describe(e: &SafeTensorError) -> String {
    use SafeTensorError as E;
    match e {
        E::InvalidHeader => "its header is not UTF-8 text".into(),
        E::InvalidHeaderStart => "its header does not start with '{'".into(),
        E::InvalidHeaderDeserialization => "its header is not the JSON of a safetensors file".into(),
        E::HeaderTooLarge => format!("its header is larger than the {MAX_HEADER} bytes safetensors allows"),
        E::HeaderTooSmall => "it is shorter than the 8-byte header length".into(),
        E::InvalidHeaderLength => "its header length points past the end of the file".into(),
        E::TensorNotFound(name) => format!("tensor \"{name}\" is listed but not found"),
        E::TensorInvalidInfo => "a tensor's dtype and shape do not match its data_offsets".into(),
        E::InvalidOffset(name) => format!("tensor \"{name}\" has data_offsets that overlap or leave a gap"),
        E::IoError(e) => format!("it could not be read: {e}"),
        E::JsonError(e) => format!("its header is not valid JSON: {e}"),
        E::InvalidTensorView(dtype, shape, len) => {
            format!("a {dtype:?} tensor of shape {shape:?} cannot hold {len} bytes")
        }
        E::MetadataIncompleteBuffer => "its tensors do not cover the data to the end of the file".into(),
        E::ValidationOverflow => "a tensor's size in bytes overflows".into(),
    }
}
