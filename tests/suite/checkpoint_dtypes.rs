//! `load_tensors` reads F16, BF16, F64, I64 and I8 tensors as f32, as PyTorch's `.float()` converts
//! them, and refuses other dtypes with an error naming the file, the tensor and the dtype.
//!
//! The files are written with the `safetensors` crate itself; half-precision values are given
//! as their bits, and every expected f32 is exact (compared bit for bit).

use kensho::checkpoint::load_tensors;
use kensho::Error;
use safetensors::tensor::TensorView;
use safetensors::Dtype;
use std::path::{Path, PathBuf};

/// Writes one safetensors file holding `(name, dtype, shape, little-endian bytes)` tensors.
fn write(dir: &Path, file: &str, tensors: &[(&str, Dtype, Vec<usize>, Vec<u8>)]) -> PathBuf {
    let views: Vec<(&str, TensorView<'_>)> = tensors
        .iter()
        .map(|(name, dtype, shape, bytes)| (*name, TensorView::new(*dtype, shape.clone(), bytes).unwrap()))
        .collect();
    let path = dir.join(file);
    std::fs::write(&path, safetensors::serialize(views, &None).unwrap()).unwrap();
    path
}

fn bytes<const N: usize>(values: impl IntoIterator<Item = [u8; N]>) -> Vec<u8> {
    values.into_iter().flatten().collect()
}

/// Loads the one tensor of a file and checks its shape and values bit for bit (NaN: any NaN).
#[track_caller]
fn check(path: &Path, shape: &[usize], want: &[f32]) {
    let (tensors, _) = load_tensors(path).unwrap();
    assert_eq!(tensors.len(), 1);
    let (name, t) = &tensors[0];
    assert_eq!(t.shape(), shape, "{name}");
    let got = t.to_vec();
    assert_eq!(got.len(), want.len(), "{name}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let same = if w.is_nan() { g.is_nan() } else { g.to_bits() == w.to_bits() };
        assert!(same, "{name}[{i}]: loaded {g:e}, expected {w:e}");
    }
}

#[test]
fn f16_tensors_are_read_exactly() {
    let dir = tempfile::tempdir().unwrap();
    #[rustfmt::skip]
    let cases: [(u16, f32); 12] = [
        (0x3c00, 1.0),
        (0xc000, -2.0),
        (0x3800, 0.5),
        (0x7bff, 65504.0),                // the largest f16
        (0x2e66, 1638.0 / 16384.0),       // 0.1 rounded to f16: 0.0999755859375, not 0.1f32
        (0x0001, 1.0 / 16_777_216.0),     // the smallest subnormal, 2^-24
        (0x8200, -512.0 / 16_777_216.0),  // a negative subnormal
        (0x0400, 1.0 / 16384.0),          // the smallest normal, 2^-14
        (0x8000, -0.0),
        (0x7c00, f32::INFINITY),
        (0xfc00, f32::NEG_INFINITY),
        (0x7e00, f32::NAN),
    ];
    assert_ne!(cases[4].1, 0.1, "the rounding case differs from the f32 nearest to 0.1");
    let data = bytes(cases.iter().map(|(h, _)| h.to_le_bytes()));
    let path = write(dir.path(), "f16.safetensors", &[("half", Dtype::F16, vec![3, 4], data)]);
    let want: Vec<f32> = cases.iter().map(|&(_, v)| v).collect();
    check(&path, &[3, 4], &want);
}

#[test]
fn bf16_tensors_are_read_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(u16, f32); 6] = [
        (0x3f80, 1.0),
        (0xc0a0, -5.0),
        (0x3dcd, f32::from_bits(0x3dcd_0000)), // 0.1 rounded to bf16
        (0x0001, f32::from_bits(0x0001_0000)), // a subnormal
        (0x7f80, f32::INFINITY),
        (0x7fc0, f32::NAN),
    ];
    assert_eq!(cases[2].1, 205.0 / 2048.0); // 0.10009765625
    let data = bytes(cases.iter().map(|(h, _)| h.to_le_bytes()));
    let path = write(dir.path(), "bf16.safetensors", &[("brain", Dtype::BF16, vec![6], data)]);
    let want: Vec<f32> = cases.iter().map(|&(_, v)| v).collect();
    check(&path, &[6], &want);
}

#[test]
fn f64_tensors_are_rounded_to_the_nearest_f32() {
    let dir = tempfile::tempdir().unwrap();
    let values = [0.1f64, -2.5, 1e300, -1e300, 1e-50, f64::NAN, 16_777_217.0, 3.0];
    let want = [0.1f32, -2.5, f32::INFINITY, f32::NEG_INFINITY, 0.0, f32::NAN, 16_777_216.0, 3.0];
    let data = bytes(values.iter().map(|v| v.to_le_bytes()));
    let path = write(dir.path(), "f64.safetensors", &[("double", Dtype::F64, vec![2, 2, 2], data)]);
    check(&path, &[2, 2, 2], &want);
}

#[test]
fn i64_tensors_are_converted_like_torch_float() {
    let dir = tempfile::tempdir().unwrap();
    // Beyond 2^24 the nearest f32 is taken (ties to even), as torch's .float() does.
    let values = [0i64, -3, 7, 16_777_217, 16_777_219, -(1 << 40) - 1, i64::MAX, i64::MIN];
    let want = [0.0f32, -3.0, 7.0, 16_777_216.0, 16_777_220.0, -1_099_511_627_776.0, 9.223_372e18, -9.223_372e18];
    assert_eq!(want[6], 2f32.powi(63));
    let data = bytes(values.iter().map(|v| v.to_le_bytes()));
    let path = write(dir.path(), "i64.safetensors", &[("steps", Dtype::I64, vec![8], data)]);
    check(&path, &[8], &want);
}

#[test]
fn one_file_may_mix_the_dtypes_read() {
    let dir = tempfile::tempdir().unwrap();
    let tensors = [
        ("a.f32", Dtype::F32, vec![2], bytes([1.5f32.to_le_bytes(), (-1.0f32).to_le_bytes()])),
        ("b.f16", Dtype::F16, vec![1], bytes([0x4200u16.to_le_bytes()])),
        ("c.bf16", Dtype::BF16, vec![1, 1], bytes([0x4040u16.to_le_bytes()])),
        ("d.f64", Dtype::F64, vec![], bytes([4.0f64.to_le_bytes()])),
        ("e.i64", Dtype::I64, vec![0], vec![]),
    ];
    let path = write(dir.path(), "mixed.safetensors", &tensors);
    let (loaded, _) = load_tensors(&path).unwrap();
    // safetensors stores the tensors by alignment of their dtype first, then by name.
    let mut got: Vec<(&str, Vec<usize>, Vec<f32>)> =
        loaded.iter().map(|(n, t)| (n.as_str(), t.shape().to_vec(), t.to_vec())).collect();
    got.sort_by_key(|(n, _, _)| *n);
    let want: Vec<(&str, Vec<usize>, Vec<f32>)> = vec![
        ("a.f32", vec![2], vec![1.5, -1.0]),
        ("b.f16", vec![1], vec![3.0]),
        ("c.bf16", vec![1, 1], vec![3.0]),
        ("d.f64", vec![], vec![4.0]),
        ("e.i64", vec![0], vec![]),
    ];
    assert_eq!(got, want);
}

#[test]
fn i8_is_read_exactly_as_quantized_kernels_are_stored() {
    let dir = tempfile::tempdir().unwrap();
    let data: Vec<u8> = [-128i8, -1, 0, 1, 127].iter().map(|&v| v as u8).collect();
    let path = write(dir.path(), "i8.safetensors", &[("q.kernel", Dtype::I8, vec![5], data)]);
    let (tensors, _) = load_tensors(&path).unwrap();
    assert_eq!(tensors[0].1.to_vec(), [-128.0, -1.0, 0.0, 1.0, 127.0]);
}

#[test]
fn other_dtypes_are_refused_naming_the_file_the_tensor_and_the_dtype() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (Dtype::BOOL, "BOOL", vec![1u8, 0, 1]),
        (Dtype::U8, "U8", vec![1, 2, 3]),
        (Dtype::I32, "I32", bytes([1i32.to_le_bytes(), 2i32.to_le_bytes(), 3i32.to_le_bytes()])),
        (Dtype::U16, "U16", bytes([1u16.to_le_bytes(), 2u16.to_le_bytes(), 3u16.to_le_bytes()])),
    ];
    for (dtype, dtype_name, data) in cases {
        let file = format!("{dtype_name}.safetensors");
        let ok = ("fine", Dtype::F32, vec![1], bytes([1.0f32.to_le_bytes()]));
        let path = write(dir.path(), &file, &[ok, ("mask.weight", dtype, vec![3], data)]);
        let err = load_tensors(&path).unwrap_err();
        assert!(matches!(err, Error::Parse { .. }), "{err:?}");
        let msg = err.to_string();
        for part in [file.as_str(), "\"mask.weight\"", dtype_name, ".float()"] {
            assert!(msg.contains(part), "{msg:?} should name {part:?}");
        }
    }
}
