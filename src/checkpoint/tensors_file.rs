//! Reading and writing named f32 tensors as one safetensors file, with its `__metadata__`
//! string map; every failure is an [`Error`] naming the file.
//!
//! Files are written as F32. Reading also takes F16, BF16, F64, I64 and I8 tensors (as PyTorch and
//! NumPy checkpoints often hold them, and quantized models their kernels) and converts them to
//! f32 as PyTorch's `.float()` does: F16, BF16 and I8 exactly, F64 and I64 rounded to the nearest f32 (F64 beyond the f32 range
//! becomes infinite, I64 beyond 2^24 loses its last digits). Other dtypes are refused.

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
    let entries = tensors
        .iter()
        .map(|(name, t)| RawTensor {
            name: name.clone(),
            dtype: Dtype::F32,
            shape: t.shape().to_vec(),
            bytes: t.iter().flat_map(f32::to_le_bytes).collect(),
        })
        .collect();
    serialize_raw(path, entries, metadata)
}

/// A tensor as a file stores it: its name, dtype, shape and little-endian bytes.
pub(crate) struct RawTensor {
    pub(crate) name: String,
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    pub(crate) bytes: Vec<u8>,
}

/// The bytes of a safetensors file holding tensors of any dtype (their byte counts match
/// their shapes) and `metadata`.
pub(crate) fn serialize_raw(path: &Path, tensors: Vec<RawTensor>, metadata: Option<Metadata>) -> Result<Vec<u8>> {
    let mut names: Vec<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        return Err(Error::invalid(
            format!("saving {}: tensor name", path.display()),
            w[0],
            "names unique within one file",
        ));
    }
    let views = tensors
        .iter()
        .map(|t| {
            let view = safetensors::tensor::TensorView::new(t.dtype, t.shape.clone(), &t.bytes)
                .expect("the byte count of a tensor matches its shape and dtype");
            (t.name.as_str(), view)
        })
        .collect::<Vec<_>>();
    safetensors::serialize(views, &metadata).map_err(|e| Error::parse(path, format!("cannot serialize: {e}")))
}

/// Reads every tensor of a safetensors file as f32, in the order they are stored, with the
/// file's `__metadata__` map (empty if it has none).
///
/// F32 tensors are read as they are; F16, BF16, F64, I64 and I8 tensors are converted to f32 as
/// PyTorch's `.float()` does (exactly for F16, BF16 and I8, to the nearest f32 for F64 and I64).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the file if it is truncated,
/// its header is corrupt, or a tensor has another dtype (BOOL, U8, I32, ...; the message names
/// the tensor and its dtype).
pub fn load_tensors(path: impl AsRef<Path>) -> Result<(Vec<(String, Tensor)>, Metadata)> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse(path, &bytes)
}

/// Parses the bytes of a safetensors file (see [`load_tensors`]).
pub(crate) fn parse(path: &Path, bytes: &[u8]) -> Result<(Vec<(String, Tensor)>, Metadata)> {
    super::header::check(path, bytes)?;
    let unreadable = |e: safetensors::SafeTensorError| {
        let reason = super::header::describe(&e);
        Error::parse(path, format!("not a valid safetensors file ({} bytes): {reason}", bytes.len()))
    };
    let file = SafeTensors::deserialize(bytes).map_err(unreadable)?;
    let (_, header) = SafeTensors::read_metadata(bytes).map_err(unreadable)?;
    let metadata = header.metadata().clone().unwrap_or_default();
    let mut tensors: Vec<(usize, String, Tensor)> = Vec::with_capacity(file.len());
    for (name, view) in file.tensors() {
        let values = to_f32(view.dtype(), view.data()).ok_or_else(|| {
            let dtype = view.dtype();
            let reason = format!(
                "tensor \"{name}\" has dtype {dtype:?}; kensho reads F32, F16, BF16, F64, I64 and I8 tensors \
                 (convert it with .float())"
            );
            Error::parse(path, reason)
        })?;
        let tensor = Tensor::from_vec(values, view.shape())
            .map_err(|e| Error::parse(path, format!("tensor \"{name}\": {e}")))?;
        let offset = header.info(&name).map_or(0, |i| i.data_offsets.0);
        tensors.push((offset, name, tensor));
    }
    tensors.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    Ok((tensors.into_iter().map(|(_, n, t)| (n, t)).collect(), metadata))
}

/// The little-endian values of a tensor of `dtype` as f32, or `None` for a dtype kensho does not
/// read. The byte count has been checked against the shape by the safetensors crate.
fn to_f32(dtype: Dtype, data: &[u8]) -> Option<Vec<f32>> {
    fn each<const N: usize>(data: &[u8], f: impl Fn([u8; N]) -> f32) -> Vec<f32> {
        data.chunks_exact(N).map(|b| f(b.try_into().expect("chunks of N bytes"))).collect()
    }
    Some(match dtype {
        Dtype::F32 => each(data, f32::from_le_bytes),
        Dtype::F16 => each(data, |b| f16_to_f32(u16::from_le_bytes(b))),
        Dtype::BF16 => each(data, |b| bf16_to_f32(u16::from_le_bytes(b))),
        Dtype::F64 => each(data, |b| f64::from_le_bytes(b) as f32),
        Dtype::I64 => each(data, |b| i64::from_le_bytes(b) as f32),
        Dtype::I8 => each(data, |[b]| f32::from(b as i8)),
        _ => return None,
    })
}

/// An IEEE half-precision value (1 sign, 5 exponent, 10 mantissa bits) as f32, exactly:
/// subnormals, infinities and NaN payloads included.
fn f16_to_f32(h: u16) -> f32 {
    let sign = u32::from(h >> 15) << 31;
    let exponent = u32::from((h >> 10) & 0x1f);
    let mantissa = u32::from(h & 0x3ff);
    match exponent {
        // Zero and subnormals: mantissa × 2^-24, exact in f32.
        0 => {
            let magnitude = mantissa as f32 * f32::from_bits(0x3380_0000); // 2^-24
            f32::from_bits(sign | magnitude.to_bits())
        }
        // Infinities and NaN (the payload moves to the top of the f32 mantissa).
        0x1f => f32::from_bits(sign | 0x7f80_0000 | (mantissa << 13)),
        // Normal numbers: rebias the exponent from 15 to 127.
        _ => f32::from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13)),
    }
}

/// A bfloat16 value (the top 16 bits of an f32) as f32, exactly.
fn bf16_to_f32(h: u16) -> f32 {
    f32::from_bits(u32::from(h) << 16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f16_bits_convert_exactly() {
        let cases: [(u16, f32); 10] = [
            (0x0000, 0.0),
            (0x3c00, 1.0),
            (0xc000, -2.0),
            (0x3555, 1365.0 / 4096.0),       // 1/3 rounded to f16
            (0x7bff, 65504.0),               // the largest f16
            (0x0400, 1.0 / 16384.0),         // the smallest normal, 2^-14
            (0x0001, 1.0 / 16_777_216.0),    // the smallest subnormal, 2^-24
            (0x03ff, 1023.0 / 16_777_216.0), // the largest subnormal
            (0x7c00, f32::INFINITY),
            (0xfc00, f32::NEG_INFINITY),
        ];
        for (bits, want) in cases {
            assert_eq!(f16_to_f32(bits).to_bits(), want.to_bits(), "{bits:#06x}");
        }
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
        assert!(f16_to_f32(0x7e00).is_nan() && f16_to_f32(0xfe01).is_nan());
        // Every finite f16 converts to the value its bits mean: sign × 2^(e-15) × (1 + m/1024).
        for bits in 0..=u16::MAX {
            let (e, m) = (i32::from((bits >> 10) & 0x1f), f64::from(bits & 0x3ff));
            let sign = if bits >> 15 == 1 { -1.0 } else { 1.0 };
            let want = match e {
                0 => sign * m * 2f64.powi(-24),
                0x1f => continue,
                _ => sign * (1.0 + m / 1024.0) * 2f64.powi(e - 15),
            };
            assert_eq!(f64::from(f16_to_f32(bits)), want, "{bits:#06x}");
        }
    }

    #[test]
    fn bf16_is_the_top_half_of_f32() {
        assert_eq!(bf16_to_f32(0x3f80), 1.0);
        assert_eq!(bf16_to_f32(0xc0a0), -5.0);
        assert_eq!(bf16_to_f32(0x7f80), f32::INFINITY);
        assert!(bf16_to_f32(0x7fc0).is_nan());
        assert_eq!(bf16_to_f32(0x0001), f32::from_bits(0x0001_0000)); // a subnormal
    }
}
