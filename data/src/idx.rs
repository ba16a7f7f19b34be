//! The IDX file format of MNIST and Fashion-MNIST (plain or gzip'd): a big-endian header
//! (magic `0x0000 TT DD`: type `TT`, `DD` dimensions, then one `u32` size per dimension)
//! followed by the values. Only unsigned bytes (`TT = 0x08`) are used by these data sets.

use std::io::Read;
use std::path::Path;

use flate2::read::MultiGzDecoder;
use kensho_core::{Error, Result, Tensor};

/// A decoded IDX file of unsigned bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    /// The dimensions from the header, e.g. `[60000, 28, 28]`.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Reads an IDX file of unsigned bytes; gzip'd files are recognized by their magic bytes.
///
/// # Errors
/// The file cannot be read, is not valid gzip, has a magic number that is not an unsigned-byte
/// IDX one, or holds fewer or more bytes than its header announces. The error names the file.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Idx> {
    let path = path.as_ref();
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let bytes = if raw.starts_with(&[0x1f, 0x8b]) { gunzip(&raw, path)? } else { raw };
    parse_idx(&bytes, path)
}

pub(crate) fn gunzip(raw: &[u8], path: &Path) -> Result<Vec<u8>> {
    // The gzip trailer holds the uncompressed size mod 2^32: a good capacity hint.
    let hint = raw.len().checked_sub(4).map_or(0, |at| u32::from_le_bytes(raw[at..].try_into().unwrap()) as usize);
    let mut out = Vec::with_capacity(hint.min(1 << 30));
    MultiGzDecoder::new(raw)
        .read_to_end(&mut out)
        .map_err(|e| Error::parse(path, format!("not a valid gzip stream (truncated or corrupt download?): {e}")))?;
    Ok(out)
}

/// Decodes IDX bytes; `source` names the file in errors.
///
/// # Errors
/// As [`read_idx`].
pub fn parse_idx(bytes: &[u8], source: impl AsRef<Path>) -> Result<Idx> {
    let source = source.as_ref();
    if bytes.len() < 4 {
        return Err(Error::parse(
            source,
            format!("truncated: {} bytes, shorter than the 4-byte IDX magic number", bytes.len()),
        ));
    }
    let magic = u32::from_be_bytes(bytes[..4].try_into().unwrap());
    let ndims = bytes[3] as usize;
    if bytes[0] != 0 || bytes[1] != 0 || bytes[2] != 0x08 || ndims == 0 {
        return Err(Error::parse(
            source,
            format!("magic number {magic:#010x} is not that of an IDX file of unsigned bytes (0x000008NN)"),
        ));
    }
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(Error::parse(source, format!("truncated header: {} bytes, expected {header_len}", bytes.len())));
    }
    let dims: Vec<usize> =
        bytes[4..header_len].chunks_exact(4).map(|c| u32::from_be_bytes(c.try_into().unwrap()) as usize).collect();
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let got = bytes.len() - header_len;
    match expected {
        Some(e) if e == got => Ok(Idx { dims, data: bytes[header_len..].to_vec() }),
        Some(e) if got < e => {
            Err(Error::parse(source, format!("truncated: {got} data bytes, but the header {dims:?} announces {e}")))
        }
        _ => Err(Error::parse(source, format!("{got} data bytes disagree with the header dimensions {dims:?}"))),
    }
}

/// `[n, rows, cols]` images from an IDX image file (magic `0x00000803`), with the raw pixel
/// values 0..=255 as `f32` (not scaled, as Keras' `load_data`; divide by 255 for `[0, 1]`).
///
/// # Errors
/// As [`read_idx`], or a file that is not a 3-D image file.
pub fn load_images(path: impl AsRef<Path>) -> Result<Tensor> {
    let idx = read_expecting(path.as_ref(), 3, "image")?;
    Tensor::from_vec(bytes_to_f32(&idx.data), &idx.dims)
}

/// `[n]` class labels from an IDX label file (magic `0x00000801`), as `f32` class indices.
///
/// # Errors
/// As [`read_idx`], or a file that is not a 1-D label file.
pub fn load_labels(path: impl AsRef<Path>) -> Result<Tensor> {
    let idx = read_expecting(path.as_ref(), 1, "label")?;
    Tensor::from_vec(bytes_to_f32(&idx.data), &idx.dims)
}

fn read_expecting(path: &Path, ndims: usize, kind: &str) -> Result<Idx> {
    let idx = read_idx(path)?;
    if idx.dims.len() != ndims {
        return Err(Error::parse(
            path,
            format!(
                "wrong magic number {:#010x}: an IDX {kind} file has magic {:#010x} ({ndims} dimension(s))",
                0x0800 + idx.dims.len(),
                0x0800 + ndims
            ),
        ));
    }
    Ok(idx)
}

/// Bytes to their values as `f32` (0..=255).
pub(crate) fn bytes_to_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| f32::from(b)).collect()
}
