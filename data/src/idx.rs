//! The IDX file format of MNIST and Fashion-MNIST (plain or gzip'd): a big-endian header
//! (magic `0x0000 TT DD`: type `TT`, `DD` dimensions, then one `u32` size per dimension)
//! followed by the values. Only unsigned bytes (`TT = 0x08`) are used by these data sets.
//!
//! The header is read and checked before any value is: the file is then read (or inflated) up
//! to exactly the announced size plus one byte, to detect a file longer than its header says.
//! Memory grows with the bytes actually read, never with a size the file merely claims, so a
//! small gzip'd file that inflates to gigabytes (a "gzip bomb") or a header announcing
//! gigabytes is an error after a few kilobytes, not after filling the memory.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;
use kensho_core::{Error, Result, Tensor};

use crate::bounded_read::{read_at_most, read_full};

/// The largest ratio between inflated and compressed sizes that DEFLATE can reach (a 258-byte
/// match coded in 2 bits): a gzip file of `n` bytes never inflates to more than `n * 1032` bytes.
pub const MAX_GZIP_RATIO: u64 = 1032;

/// A decoded IDX file of unsigned bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Idx {
    /// The dimensions from the header, e.g. `[60000, 28, 28]`.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Where the IDX bytes come from, for the size checks and the wording of errors.
#[derive(Clone, Copy)]
enum Source {
    /// Plain bytes: the whole input is this many bytes long.
    Plain(u64),
    /// A gzip stream of this many compressed bytes.
    Gzip(u64),
}

/// Reads an IDX file of unsigned bytes; gzip'd files are recognized by their magic bytes.
///
/// # Errors
/// The file cannot be read, is not valid gzip, has a magic number that is not an unsigned-byte
/// IDX one, announces more values than fit in memory (or than its compressed size can hold), or
/// holds fewer or more bytes than its header announces. The error names the file.
pub fn read_idx(path: impl AsRef<Path>) -> Result<Idx> {
    let path = path.as_ref();
    let io = |e| Error::io(path, e);
    let file = File::open(path).map_err(io)?;
    let len = file.metadata().map_err(io)?.len();
    let mut reader = BufReader::new(file);
    if reader.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]) {
        read_from(MultiGzDecoder::new(reader), Source::Gzip(len), path)
    } else {
        read_from(reader, Source::Plain(len), path)
    }
}

/// Decodes IDX bytes (not gzip'd); `source` names the file in errors.
///
/// # Errors
/// As [`read_idx`].
pub fn parse_idx(bytes: &[u8], source: impl AsRef<Path>) -> Result<Idx> {
    read_from(bytes, Source::Plain(bytes.len() as u64), source.as_ref())
}

/// Reads the header, checks it, then reads exactly the announced values.
fn read_from(mut reader: impl Read, source: Source, path: &Path) -> Result<Idx> {
    let fail = |reason: String| Error::parse(path, reason);
    let read_err = |e: std::io::Error| match source {
        Source::Gzip(_) => fail(format!("not a valid gzip stream (truncated or corrupt download?): {e}")),
        Source::Plain(_) => Error::io(path, e),
    };
    let mut magic = [0u8; 4];
    let got = read_full(&mut reader, &mut magic).map_err(read_err)?;
    if got < 4 {
        return Err(fail(format!("truncated: {got} bytes, shorter than the 4-byte IDX magic number")));
    }
    let ndims = usize::from(magic[3]);
    if magic[..3] != [0, 0, 0x08] || ndims == 0 {
        return Err(fail(format!(
            "magic number {:#010x} is not that of an IDX file of unsigned bytes (0x000008NN)",
            u32::from_be_bytes(magic)
        )));
    }
    let mut sizes = vec![0u8; 4 * ndims];
    let got = read_full(&mut reader, &mut sizes).map_err(read_err)?;
    if got < sizes.len() {
        return Err(fail(format!("truncated header: {} bytes, expected {}", 4 + got, 4 + sizes.len())));
    }
    let dims: Vec<usize> =
        sizes.chunks_exact(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize).collect();
    let expected = announced_len(&dims).ok_or_else(|| {
        fail(format!("the header dimensions {dims:?} are too large for any tensor (their product overflows): not a real IDX file"))
    })?;
    let header_len = 4 + sizes.len() as u64;
    check_fits(expected, source, header_len, &dims).map_err(fail)?;

    let data = read_at_most(&mut reader, expected.saturating_add(1)).map_err(read_err)?;
    match data.len() {
        got if got == expected => Ok(Idx { dims, data }),
        got if got < expected => {
            Err(fail(format!("truncated: {got} data bytes, but the header {dims:?} announces {expected}")))
        }
        _ => {
            let seen = match source {
                Source::Plain(len) => format!("{} data bytes", len - header_len),
                Source::Gzip(_) => format!("more than {expected} data bytes"),
            };
            Err(fail(format!(
                "{seen} disagree with the header dimensions {dims:?}, which announce {expected}: \
                 the file is longer than its header says (two files joined, or a wrong header?)"
            )))
        }
    }
}

/// The number of values `dims` announce, if a tensor of that shape can exist: the product, and
/// the product of the non-zero sizes, both at most `isize::MAX`.
fn announced_len(dims: &[usize]) -> Option<usize> {
    let all = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
    let non_zero = dims.iter().filter(|&&d| d > 0).try_fold(1usize, |acc, &d| acc.checked_mul(d))?;
    (non_zero <= isize::MAX as usize).then_some(all)
}

/// Rejects a header that announces more values than the input can hold, before reading them.
fn check_fits(expected: usize, source: Source, header_len: u64, dims: &[usize]) -> std::result::Result<(), String> {
    let expected = expected as u64;
    match source {
        Source::Plain(len) if expected > len.saturating_sub(header_len) => Err(format!(
            "truncated: {} data bytes, but the header {dims:?} announces {expected}",
            len.saturating_sub(header_len)
        )),
        Source::Gzip(len) if expected > len.saturating_mul(MAX_GZIP_RATIO) => Err(format!(
            "the header {dims:?} announces {expected} data bytes, but a gzip file of {len} bytes inflates \
             to at most {} (x{MAX_GZIP_RATIO}): truncated download or a wrong header",
            len.saturating_mul(MAX_GZIP_RATIO)
        )),
        _ => Ok(()),
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
fn bytes_to_f32(bytes: &[u8]) -> Vec<f32> {
    bytes.iter().map(|&b| f32::from(b)).collect()
}
