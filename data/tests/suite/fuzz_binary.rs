//! Property tests of the binary loaders on hostile bytes: IDX (plain and gzip'd, through
//! `read_idx`, `load_images`, `load_labels` and the in-memory `parse_idx`) and CIFAR-10 batches
//! (`load_batch`). Each must return `Ok` or an error naming the file, never panic; a valid file
//! cut short at any length must be an error. Proptest catches panics and shrinks the input.
//! Headers that lie about sizes are in `allocation_bounds.rs`, where memory is measured.

use crate::common::{
    cifar_records, config, flip, for_each_truncation, gzip, idx_bytes, ok_or_names_file, small_idx_images, write,
};
use kensho_data::{cifar, idx};
use proptest::collection::vec;
use proptest::prelude::*;

/// Every IDX entry point on `bytes`, written to `dir/name`.
fn load_idx_all_ways(dir: &std::path::Path, name: &str, bytes: &[u8]) {
    let path = write(dir, name, bytes);
    ok_or_names_file(idx::read_idx(&path), &path);
    ok_or_names_file(idx::load_images(&path), &path);
    ok_or_names_file(idx::load_labels(&path), &path);
    ok_or_names_file(idx::parse_idx(bytes, &path), &path);
}

proptest! {
    #![proptest_config(config(256))]

    /// 256 cases: arbitrary bytes (0 to 256 of them), as a file and in memory.
    #[test]
    fn idx_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let dir = tempfile::tempdir().unwrap();
        load_idx_all_ways(dir.path(), "any-idx", &bytes);
    }

    /// 256 cases: a valid unsigned-byte magic with 0 to 5 dimensions, then arbitrary bytes
    /// (so that the header sizes and the values are random), plain and gzip'd.
    #[test]
    fn idx_random_headers_and_values_never_panic(ndims in 0u8..=5, rest in vec(any::<u8>(), 0..160)) {
        let dir = tempfile::tempdir().unwrap();
        let bytes = [&[0, 0, 0x08, ndims][..], &rest].concat();
        load_idx_all_ways(dir.path(), "header-idx", &bytes);
        load_idx_all_ways(dir.path(), "header-idx.gz", &gzip(&bytes));
    }

    /// 256 cases: bytes that start with the gzip magic but are not a valid gzip stream.
    #[test]
    fn idx_broken_gzip_never_panics(rest in vec(any::<u8>(), 0..200)) {
        let dir = tempfile::tempdir().unwrap();
        load_idx_all_ways(dir.path(), "broken.gz", &[&[0x1f, 0x8b][..], &rest].concat());
    }

    /// 256 cases: 1 to 4 random bit flips in a small valid IDX file, plain and gzip'd
    /// (flips in the gzip'd bytes hit the gzip header, the deflate stream or the CRC).
    #[test]
    fn idx_bit_flips_never_panic(flips in vec((any::<usize>(), any::<u8>()), 1..=4)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut plain, mut packed) = (small_idx_images(), gzip(&small_idx_images()));
        for &(at, bit) in &flips {
            flip(&mut plain, at, bit);
            flip(&mut packed, at, bit);
        }
        load_idx_all_ways(dir.path(), "flipped-idx", &plain);
        load_idx_all_ways(dir.path(), "flipped-idx.gz", &packed);
    }

    /// 256 cases: 0 to 2 whole CIFAR-10 records of arbitrary bytes (labels mostly above 9),
    /// and arbitrary lengths around a record.
    #[test]
    fn cifar_arbitrary_records_never_panic(
        records in (0usize..=2).prop_flat_map(|n| vec(any::<u8>(), n * cifar::RECORD_LEN)),
        odd in vec(any::<u8>(), 0..200),
    ) {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [("records.bin", records), ("odd.bin", odd)] {
            let path = write(dir.path(), name, &bytes);
            ok_or_names_file(cifar::load_batch(&path), &path);
        }
    }

    /// 256 cases: 1 to 4 random bit flips in a valid two-record CIFAR-10 batch.
    #[test]
    fn cifar_bit_flips_never_panic(flips in vec((any::<usize>(), any::<u8>()), 1..=4)) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = cifar_records(&[3, 9]);
        for &(at, bit) in &flips {
            // Aim half of the flips at the label bytes, where they matter.
            let at = if bit & 0x80 == 0 { at % 2 * cifar::RECORD_LEN } else { at };
            flip(&mut bytes, at, bit);
        }
        let path = write(dir.path(), "flipped.bin", &bytes);
        ok_or_names_file(cifar::load_batch(&path), &path);
    }
}

/// A small valid IDX file cut at every length from 0 to one byte short (40 cuts), plain and
/// gzip'd (every cut of the gzip'd bytes): each is an error naming the file; the whole file loads.
#[test]
fn idx_truncated_at_every_length_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, full) in [("cut-idx", small_idx_images()), ("cut-idx.gz", gzip(&small_idx_images()))] {
        for_each_truncation(dir.path(), name, &full, |path, len| {
            let err = idx::read_idx(path).expect_err(&format!("{name} cut to {len} bytes loaded"));
            assert!(err.to_string().contains(&path.display().to_string()), "{err}");
            ok_or_names_file(idx::load_images(path), path);
        });
        let path = write(dir.path(), name, &full);
        assert_eq!(idx::load_images(&path).unwrap().shape(), &[2, 3, 4]);
    }
}

/// A one-record CIFAR-10 batch cut at every length from 0 to 3072 bytes: each is an error
/// naming the file.
#[test]
fn cifar_truncated_at_every_length_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let full = cifar_records(&[7]);
    for_each_truncation(dir.path(), "cut.bin", &full, |path, len| {
        let err = cifar::load_batch(path).expect_err(&format!("cut to {len} bytes loaded"));
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    });
    let path = write(dir.path(), "cut.bin", &full);
    assert_eq!(cifar::load_batch(&path).unwrap().1.to_vec(), [7.0]);
}

/// Dimensions whose product is 0 but whose other sizes multiply beyond `isize::MAX`: the
/// header is consistent with 0 data bytes, but no tensor can have that shape. Before the
/// check, `load_images` passed it to `Tensor::from_vec`, which panicked.
#[test]
fn idx_dimensions_too_large_for_any_tensor_are_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "huge-empty", &idx_bytes(&[u32::MAX, u32::MAX, 0], &[]));
    let err = idx::load_images(&path).unwrap_err().to_string();
    assert!(err.contains("huge-empty") && err.contains("too large for any tensor"), "{err}");
    // A zero-sized but representable shape is fine.
    let path = write(dir.path(), "empty", &idx_bytes(&[0, 28, 28], &[]));
    assert_eq!(idx::load_images(&path).unwrap().shape(), &[0, 28, 28]);
}
