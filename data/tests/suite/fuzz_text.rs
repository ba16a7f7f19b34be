//! Property tests of the CSV loaders on hostile bytes: the numeric table loader (`load_csv` from
//! a path, `read_csv` from memory) and the labelled-text loader (`load_labelled_texts`, plain
//! and gzip'd). Each must return `Ok` or an error naming the file, never panic; an `Ok` table
//! must be self-consistent (as many targets as rows, only finite values). CSV has no size
//! fields to lie about; its nearest thing, rows with a field too many or too few, is tested
//! here by a plain loop.

use std::path::Path;

use crate::common::{config, flip, for_each_truncation, gzip, ok_or_names_file, write, SMALL_CSV, SMALL_TEXTS};
use kensho_data::{load_csv, load_labelled_texts, read_csv, CsvData, CsvOptions, Missing};
use proptest::collection::vec;
use proptest::prelude::*;

/// The options tried on every input: every missing-value policy, with and without a
/// categorical column.
fn all_options() -> Vec<CsvOptions> {
    let policies = [Missing::Error, Missing::Mean, Missing::Constant(-1.0), Missing::DropRow];
    policies
        .iter()
        .flat_map(|&p| {
            [CsvOptions::new("target").missing(p), CsvOptions::new("target").categorical(&["city", "b"]).missing(p)]
        })
        .collect()
}

/// An `Ok` table must be consistent: `[rows, features]` and `[rows]`, all finite.
fn check_table(data: &CsvData) {
    let rows = data.y.shape()[0];
    assert_eq!(data.x.shape(), &[rows, data.feature_names.len()]);
    assert!(data.x.iter().chain(data.y.iter()).all(|v| v.is_finite()), "{data:?}");
}

/// `load_csv` on `bytes` written to `dir/name`, and `read_csv` on them in memory, with every
/// option set.
fn load_csv_all_ways(dir: &Path, name: &str, bytes: &[u8]) {
    let path = write(dir, name, bytes);
    for options in all_options() {
        let loaded = load_csv(&path, &options);
        if let Ok(data) = &loaded {
            check_table(data);
        }
        ok_or_names_file(loaded, &path);
        ok_or_names_file(read_csv(bytes, &path, &options), &path);
    }
}

/// `load_labelled_texts` on `bytes`, plain and gzip'd.
fn load_texts_both_ways(dir: &Path, name: &str, bytes: &[u8]) {
    for (name, bytes) in [(name.to_string(), bytes.to_vec()), (format!("{name}.gz"), gzip(bytes))] {
        let path = write(dir, &name, &bytes);
        let loaded = load_labelled_texts(&path, "text", "label");
        if let Ok((texts, labels)) = &loaded {
            assert_eq!(texts.len(), labels.shape()[0]);
        }
        ok_or_names_file(loaded, &path);
    }
}

/// Text made of what CSV files are made of: digits, letters of numbers and missing values,
/// separators, quotes, line breaks, spaces.
fn csv_like() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[0-9a-fAINnt,.\"\r\n eE+-]{0,200}").unwrap()
}

proptest! {
    #![proptest_config(config(256))]

    /// 256 cases: arbitrary bytes (0 to 256), 8 option sets each, from a file and from memory.
    #[test]
    fn csv_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let dir = tempfile::tempdir().unwrap();
        load_csv_all_ways(dir.path(), "any.csv", &bytes);
    }

    /// 256 cases: a plausible header then CSV-like text (numbers, `inf`, `NaN`, quotes, ragged
    /// rows, blank lines), 8 option sets each.
    #[test]
    fn csv_like_text_never_panics(header in "(a,b,target|target|b,target,b|city,target,x)\n", body in csv_like()) {
        let dir = tempfile::tempdir().unwrap();
        load_csv_all_ways(dir.path(), "like.csv", format!("{header}{body}").as_bytes());
    }

    /// 256 cases: 1 to 4 random bit flips in a small valid table.
    #[test]
    fn csv_bit_flips_never_panic(flips in vec((any::<usize>(), any::<u8>()), 1..=4)) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = SMALL_CSV.as_bytes().to_vec();
        flips.iter().for_each(|&(at, bit)| flip(&mut bytes, at, bit));
        load_csv_all_ways(dir.path(), "flipped.csv", &bytes);
    }

    /// 256 cases: arbitrary bytes (0 to 256), plain and gzip'd.
    #[test]
    fn texts_arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let dir = tempfile::tempdir().unwrap();
        load_texts_both_ways(dir.path(), "any.csv", &bytes);
    }

    /// 256 cases: a plausible header then CSV-like text, plain and gzip'd.
    #[test]
    fn texts_csv_like_never_panic(header in "(label,text|text,label|label|label,text,label)\n", body in csv_like()) {
        let dir = tempfile::tempdir().unwrap();
        load_texts_both_ways(dir.path(), "like.csv", format!("{header}{body}").as_bytes());
    }

    /// 256 cases: 1 to 4 random bit flips in a small valid file, plain and in its gzip'd bytes.
    #[test]
    fn texts_bit_flips_never_panic(flips in vec((any::<usize>(), any::<u8>()), 1..=4)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut plain, mut packed) = (SMALL_TEXTS.as_bytes().to_vec(), gzip(SMALL_TEXTS.as_bytes()));
        for &(at, bit) in &flips {
            flip(&mut plain, at, bit);
            flip(&mut packed, at, bit);
        }
        load_texts_both_ways(dir.path(), "flipped.csv", &plain);
        let path = write(dir.path(), "flipped-packed.csv.gz", &packed);
        ok_or_names_file(load_labelled_texts(&path, "text", "label"), &path);
    }
}

/// The small valid table cut at every length from 0 to one byte short (75 cuts), 8 option sets
/// each: `Ok` (a cut at a row end is a valid, shorter table) or an error naming the file.
#[test]
fn csv_truncated_at_every_length_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let whole = read_csv(SMALL_CSV.as_bytes(), "small.csv", &CsvOptions::new("target").categorical(&["city"])).unwrap();
    assert_eq!((whole.x.shape(), whole.y.to_vec()), (&[3, 3][..], vec![1.5, 3.0, -2000.0]));
    for_each_truncation(dir.path(), "cut.csv", SMALL_CSV.as_bytes(), |path, len| {
        for options in all_options() {
            let loaded = load_csv(path, &options);
            if let Ok(data) = &loaded {
                check_table(data);
            }
            ok_or_names_file(loaded, path);
            ok_or_names_file(read_csv(&SMALL_CSV.as_bytes()[..len], path, &options), path);
        }
    });
}

/// The small labelled-text file cut at every length, plain (`Ok` or an error naming the file)
/// and gzip'd (every cut of the gzip'd bytes is an error naming the file).
#[test]
fn texts_truncated_at_every_length_are_handled() {
    let dir = tempfile::tempdir().unwrap();
    let whole = write(dir.path(), "whole.csv", SMALL_TEXTS.as_bytes());
    assert_eq!(load_labelled_texts(&whole, "text", "label").unwrap().1.to_vec(), [1.0, 0.0, 1.0]);
    for_each_truncation(dir.path(), "cut.csv", SMALL_TEXTS.as_bytes(), |path, _| {
        ok_or_names_file(load_labelled_texts(path, "text", "label"), path);
    });
    for_each_truncation(dir.path(), "cut.csv.gz", &gzip(SMALL_TEXTS.as_bytes()), |path, len| {
        let err = load_labelled_texts(path, "text", "label").expect_err(&format!("cut to {len} bytes loaded"));
        assert!(err.to_string().contains(&path.display().to_string()), "{err}");
    });
}

/// Each data row of the small table with a field too many and too few (the CSV analogue of a
/// size field off by one): an error naming the file and the row's line.
#[test]
fn csv_rows_with_a_field_too_many_or_too_few_name_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let lines: Vec<&str> = SMALL_CSV.lines().collect();
    for row in 1..lines.len() {
        let (head, field) = lines[row].rsplit_once(',').unwrap();
        for changed in [format!("{}{field},7", lines[row]), head.to_string()] {
            let mut edited = lines.clone();
            edited[row] = &changed;
            let path = write(dir.path(), "ragged.csv", edited.join("\n").as_bytes());
            let options = CsvOptions::new("target").categorical(&["city"]);
            let err = load_csv(&path, &options).unwrap_err().to_string();
            assert!(err.contains("ragged.csv") && err.contains(&format!("line {}", row + 1)), "{err}");
        }
    }
}
