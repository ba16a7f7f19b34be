//! NumPy `.npy` files of 32-bit floats: [`write_npy`] and [`read_npy`], for handing tensors to
//! and from Python tools (`numpy.load` / `numpy.save`).
//!
//! Only little-endian `float32` (`<f4`) arrays in C (row-major) order are read and written;
//! anything else is an error naming the file and what was found.

use crate::{Error, Result, Tensor};
use std::path::Path;

/// The first bytes of every `.npy` file.
const MAGIC: &[u8] = b"\x93NUMPY";

/// Writes `t` to `path` as a `.npy` file (format version 1.0, `<f4`, C order).
///
/// ```
/// use kensho_data::npy::{read_npy, write_npy};
/// use kensho_data::Tensor;
/// let path = std::env::temp_dir().join(format!("kensho-doc-npy-{}.npy", std::process::id()));
/// let t = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
/// write_npy(&path, &t)?;
/// assert_eq!(read_npy(&path)?, t);
/// # std::fs::remove_file(&path).unwrap();
/// # Ok::<(), kensho_data::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] naming `path` if it cannot be written.
pub fn write_npy(path: impl AsRef<Path>, t: &Tensor) -> Result<()> {
    let path = path.as_ref();
    std::fs::write(path, npy_bytes(t)).map_err(|e| Error::io(path, e))
}

/// The bytes of a `.npy` file holding `t`.
fn npy_bytes(t: &Tensor) -> Vec<u8> {
    let dims: Vec<String> = t.shape().iter().map(|d| d.to_string()).collect();
    let shape = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad with spaces and end with a newline so the data starts on a 64-byte boundary.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut bytes = Vec::with_capacity(MAGIC.len() + 4 + header.len() + 4 * t.len());
    bytes.extend_from_slice(MAGIC);
    bytes.extend_from_slice(&[1, 0]);
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(t.to_vec().iter().flat_map(|v| v.to_le_bytes()));
    bytes
}

/// Reads a `.npy` file of little-endian `float32` values in C order.
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the file for a wrong
/// magic string, an unknown format version, a truncated header or data, a data type other
/// than `<f4`, Fortran order or a malformed shape.
pub fn read_npy(path: impl AsRef<Path>) -> Result<Tensor> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_npy(&bytes).map_err(|reason| Error::parse(path, reason))
}

/// The tensor in the bytes of a `.npy` file, or what is wrong with them.
fn parse_npy(bytes: &[u8]) -> std::result::Result<Tensor, String> {
    if bytes.len() < MAGIC.len() + 2 || &bytes[..MAGIC.len()] != MAGIC {
        return Err("not a .npy file: it does not start with \\x93NUMPY".into());
    }
    let (major, rest) = (bytes[6], &bytes[8..]);
    let (len_size, header_len) = match (major, rest) {
        (1, [a, b, ..]) => (2, u16::from_le_bytes([*a, *b]) as usize),
        (2 | 3, [a, b, c, d, ..]) => (4, u32::from_le_bytes([*a, *b, *c, *d]) as usize),
        (1..=3, _) => return Err("truncated header length".into()),
        _ => return Err(format!("format version {major}.{}, expected 1.0, 2.0 or 3.0", bytes[7])),
    };
    let header = rest.get(len_size..len_size + header_len).ok_or("truncated header")?;
    let header = std::str::from_utf8(header).map_err(|_| "a header that is not text")?;
    let descr = field(header, "descr").ok_or("no 'descr' in the header")?;
    if descr.trim_matches(|c| c == '\'' || c == '"') != "<f4" {
        return Err(format!("data type {descr}, expected '<f4' (little-endian float32)"));
    }
    if field(header, "fortran_order") != Some("False") {
        return Err("Fortran order (or none given), expected 'fortran_order': False".into());
    }
    let shape = parse_shape(field(header, "shape").ok_or("no 'shape' in the header")?)?;
    let data = &rest[len_size + header_len..];
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)).ok_or("a shape too large")?;
    if Some(data.len()) != count.checked_mul(4) {
        return Err(format!("{} data bytes for shape {shape:?}, expected {}", data.len(), count.saturating_mul(4)));
    }
    let values = data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Tensor::from_vec(values, &shape).map_err(|e| e.to_string())
}

/// The text of `key`'s value in the header's dictionary: up to the next top-level comma or
/// the closing brace.
fn field<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let start = header.find(&format!("'{key}'"))? + key.len() + 2;
    let rest = header[start..].trim_start().strip_prefix(':')?.trim_start();
    let end = if rest.starts_with('(') { rest.find(')')? + 1 } else { rest.find([',', '}'])? };
    Some(rest[..end].trim())
}

/// The dimensions in a shape tuple such as `(2, 3)`, `(5,)` or `()`.
fn parse_shape(text: &str) -> std::result::Result<Vec<usize>, String> {
    let inner =
        text.strip_prefix('(').and_then(|t| t.strip_suffix(')')).ok_or(format!("shape {text}, expected a tuple"))?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| format!("shape {text}, expected non-negative integers")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(t: &Tensor) -> Tensor {
        let bytes = npy_bytes(t);
        assert_eq!((bytes.len() - 4 * t.len()) % 64, 0, "data aligned to 64 bytes");
        parse_npy(&bytes).unwrap()
    }

    #[test]
    fn tensors_of_every_rank_round_trip() {
        let mut rng = kensho_core::seeded_rng(1);
        for shape in [vec![], vec![7], vec![2, 3], vec![2, 1, 4], vec![0, 3]] {
            let t = Tensor::rand_uniform(&shape, -2.0, 2.0, &mut rng);
            let back = round_trip(&t);
            assert_eq!(back.shape(), &shape[..]);
            assert_eq!(back.to_vec(), t.to_vec());
        }
    }

    #[test]
    fn numpy_headers_are_read() {
        // As numpy 1.x writes them: one-element tuple, padding; and a version 2.0 header.
        let header = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }          \n";
        let mut v1 = MAGIC.to_vec();
        v1.extend([1, 0]);
        v1.extend((header.len() as u16).to_le_bytes());
        v1.extend(header.as_bytes());
        v1.extend([1.5f32, -2.0].iter().flat_map(|v| v.to_le_bytes()));
        assert_eq!(parse_npy(&v1).unwrap().to_vec(), vec![1.5, -2.0]);
        let mut v2 = MAGIC.to_vec();
        v2.extend([2, 0]);
        v2.extend((header.len() as u32).to_le_bytes());
        v2.extend(header.as_bytes());
        v2.extend(3.0f32.to_le_bytes());
        v2.extend(4.0f32.to_le_bytes());
        assert_eq!(parse_npy(&v2).unwrap().to_vec(), vec![3.0, 4.0]);
    }

    #[test]
    fn truncated_files_are_errors() {
        let bytes = npy_bytes(&Tensor::ones(&[3, 2]));
        for cut in [0, 5, 7, 9, 30, bytes.len() - 1, bytes.len() - 4] {
            let err = parse_npy(&bytes[..cut]).unwrap_err();
            assert!(!err.is_empty(), "cut at {cut}");
        }
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(parse_npy(&longer).unwrap_err().contains("data bytes"));
    }

    #[test]
    fn malformed_headers_are_errors_naming_the_problem() {
        let with_header = |header: &str| {
            let mut b = MAGIC.to_vec();
            b.extend([1, 0]);
            b.extend((header.len() as u16).to_le_bytes());
            b.extend(header.as_bytes());
            b.extend([0u8; 8]);
            b
        };
        let cases = [
            ("{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", "data type"),
            ("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", "data type"),
            ("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", "Fortran"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (a,), }", "shape"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': 2, }", "shape"),
            ("{'descr': '<f4', 'fortran_order': False, }", "'shape'"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", "data bytes"),
        ];
        for (header, expected) in cases {
            let err = parse_npy(&with_header(header)).unwrap_err();
            assert!(err.contains(expected), "{header}: {err}");
        }
        let mut wrong_version = with_header("{}");
        wrong_version[6] = 9;
        assert!(parse_npy(&wrong_version).unwrap_err().contains("version"));
        assert!(parse_npy(b"PK\x03\x04 not npy").unwrap_err().contains("NUMPY"));
    }

    #[test]
    fn errors_name_the_file() {
        let dir = std::env::temp_dir().join(format!("kensho-npy-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.npy");
        std::fs::write(&path, b"\x93NUMPY\x01\x00\xff\xff{").unwrap();
        let err = read_npy(&path).unwrap_err().to_string();
        assert!(err.contains("bad.npy"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
