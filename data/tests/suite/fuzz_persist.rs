//! Property tests of the preprocessing files read by `load` (`StandardScaler`, `MinMaxScaler`,
//! `Normalizer`, `OneHotEncoder`, `LabelEncoder`, `Tokenizer`): on hostile bytes each `load`
//! returns `Ok` or an error naming the file, never panics, and whatever it accepts can then be
//! used (`transform`, `inverse_transform`, sequences, ...) without panicking.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{config, flip, for_each_truncation, ok_or_names_file, write};
use kensho_data::{
    LabelEncoder, MinMaxScaler, Normalizer, OneHotEncoder, StandardScaler, Tensor, Tokenizer, Transformer,
};
use proptest::collection::vec;
use proptest::prelude::*;

/// A fitted object of each type, saved in `dir`: `(name, file)`.
fn saved_files(dir: &Path) -> Vec<(&'static str, PathBuf)> {
    let x = Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0, 5.0, 20.0], &[3, 2]).unwrap();
    let path = |name: &str| dir.join(format!("{name}.json"));
    let mut standard = StandardScaler::new();
    standard.fit(&x).unwrap();
    standard.save(path("standard")).unwrap();
    let mut min_max = MinMaxScaler::new();
    min_max.fit(&x).unwrap();
    min_max.save(path("min_max")).unwrap();
    let mut normalizer = Normalizer::new();
    normalizer.fit(&x).unwrap();
    normalizer.save(path("normalizer")).unwrap();
    let mut onehot = OneHotEncoder::new();
    onehot.fit(&Tensor::from_vec(vec![3.0, 1.0, 2.0], &[3]).unwrap()).unwrap();
    onehot.save(path("onehot")).unwrap();
    let mut labels = LabelEncoder::new();
    labels.fit(&["cat", "dog", "ant"]);
    labels.save(path("labels")).unwrap();
    let mut tokenizer = Tokenizer::new().num_words(5).oov_token("<oov>");
    tokenizer.fit_on_texts(&["the cat sat", "the dog"]);
    tokenizer.save(path("tokenizer")).unwrap();
    ["standard", "min_max", "normalizer", "onehot", "labels", "tokenizer"].map(|n| (n, path(n))).to_vec()
}

/// The bytes of [`saved_files`], made once (saving syncs to disk, which is slow).
fn saved_bytes() -> &'static [(&'static str, Vec<u8>)] {
    static SAVED: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    SAVED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        saved_files(dir.path()).into_iter().map(|(name, path)| (name, std::fs::read(path).unwrap())).collect()
    })
}

/// Loads `path` as every type; each `Ok` object is then used as a program would use it.
fn load_and_use_all(path: &Path) {
    let widths = |n: usize| (0..=n + 1).map(|k| Tensor::zeros(&[2, k]));
    let scaler_use = |s: &dyn Transformer, n: usize| {
        for x in widths(n) {
            let _ = s.transform(&x).and_then(|z| s.inverse_transform(&z));
        }
    };
    match StandardScaler::load(path) {
        Ok(s) => scaler_use(&s, s.mean().map_or(0, <[f32]>::len)),
        e => ok_or_names_file(e, path),
    }
    match MinMaxScaler::load(path) {
        Ok(s) => scaler_use(&s, 4),
        e => ok_or_names_file(e, path),
    }
    match Normalizer::load(path) {
        Ok(s) => scaler_use(&s, 4),
        e => ok_or_names_file(e, path),
    }
    match OneHotEncoder::load(path) {
        Ok(enc) => {
            let cats = enc.categories().unwrap_or_default().to_vec();
            let n = cats.len();
            let onehot = enc.transform(&Tensor::from_vec(cats, &[n]).unwrap());
            let _ = onehot.and_then(|t| enc.inverse_transform(&t));
            let _ = enc.inverse_transform(&Tensor::zeros(&[1, n]));
        }
        e => ok_or_names_file(e, path),
    }
    match LabelEncoder::load(path) {
        Ok(enc) => {
            let classes = enc.classes().to_vec();
            let indices = enc.transform(&classes).unwrap();
            assert_eq!(enc.inverse_transform(&indices).unwrap(), classes);
        }
        e => ok_or_names_file(e, path),
    }
    match Tokenizer::load(path) {
        Ok(mut tok) => {
            let words: Vec<String> = tok.word_index().keys().cloned().collect();
            let seqs = tok.texts_to_sequences(&[words.join(" "), "unknown words".to_string()]);
            let _ = tok.sequences_to_texts(&seqs);
            tok.fit_on_texts(&words);
            let _ = tok.vocabulary_size();
        }
        e => ok_or_names_file(e, path),
    }
}

/// The byte ranges of the numbers in a JSON text.
fn number_spans(json: &str) -> Vec<(usize, usize)> {
    let b = json.as_bytes();
    let mut spans = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let starts = b[i].is_ascii_digit() || (b[i] == b'-' && b.get(i + 1).is_some_and(u8::is_ascii_digit));
        if starts && (i == 0 || !b[i - 1].is_ascii_alphanumeric()) {
            let end = (i + 1..b.len()).find(|&j| !matches!(b[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-'));
            let end = end.unwrap_or(b.len());
            spans.push((i, end));
            i = end;
        } else {
            i += 1;
        }
    }
    spans
}

/// Values that lie: negative, zero, beyond `u32`, `usize`, `f32` and `f64`, non-finite words.
const LIES: [&str; 9] = ["-1", "0", "4294967296", "18446744073709551616", "1e39", "-1e39", "1e400", "NaN", "0.5"];

proptest! {
    #![proptest_config(config(256))]

    /// 256 cases: arbitrary bytes (0 to 256), loaded as each of the six types.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..256)) {
        let dir = tempfile::tempdir().unwrap();
        load_and_use_all(&write(dir.path(), "any.json", &bytes));
    }

    /// 256 cases: one of the six valid files with 1 to 4 random bit flips.
    #[test]
    fn bit_flips_never_panic(which in 0usize..6, flips in vec((any::<usize>(), any::<u8>()), 1..=4)) {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = saved_bytes()[which].1.clone();
        flips.iter().for_each(|&(at, bit)| flip(&mut bytes, at, bit));
        load_and_use_all(&write(dir.path(), "flipped.json", &bytes));
    }

    /// 256 cases: one of the six valid files with 1 to 3 of its numbers replaced by lies
    /// ([`LIES`]) or by arbitrary integers.
    #[test]
    fn lying_numbers_never_panic(
        which in 0usize..6,
        edits in vec((any::<usize>(), prop_oneof![(0..LIES.len()).prop_map(|i| LIES[i].to_string()), any::<i64>().prop_map(|n| n.to_string())]), 1..=3),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut json = String::from_utf8(saved_bytes()[which].1.clone()).unwrap();
        for (at, lie) in &edits {
            let spans = number_spans(&json);
            if spans.is_empty() {
                break; // every number already replaced by a word (`NaN`)
            }
            let (start, end) = spans[at % spans.len()];
            json.replace_range(start..end, lie);
        }
        load_and_use_all(&write(dir.path(), "lying.json", json.as_bytes()));
    }
}

/// Each valid file cut at every length from 0 to one byte short (1,205 cuts of the six files):
/// an error naming the file, for its own type and every other.
#[test]
fn truncated_at_every_length_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    for (name, path) in saved_files(dir.path()) {
        let full = std::fs::read(&path).unwrap();
        load_and_use_all(&path); // the whole file loads and works
        for_each_truncation(dir.path(), &format!("cut-{name}.json"), &full, |cut, len| {
            let err = StandardScaler::load(cut).expect_err(&format!("{name} cut to {len} bytes loaded"));
            assert!(err.to_string().contains(&cut.display().to_string()), "{err}");
            load_and_use_all(cut);
        });
    }
}

/// Every number of each valid file replaced, one at a time, by each lie of [`LIES`] (a plain
/// loop over all of them: the 30 numbers of the six files x 9 lies = 270 files).
#[test]
fn every_number_replaced_by_every_lie_never_panics() {
    let dir = tempfile::tempdir().unwrap();
    let mut count = 0;
    for (name, bytes) in saved_bytes() {
        let json = std::str::from_utf8(bytes).unwrap();
        for (start, end) in number_spans(json) {
            for lie in LIES {
                let edited = format!("{}{lie}{}", &json[..start], &json[end..]);
                // A new file each time: rewriting one file is slow on ext4.
                count += 1;
                load_and_use_all(&write(dir.path(), &format!("lie-{name}-{count}.json"), edited.as_bytes()));
            }
        }
    }
    assert_eq!(count, 270, "30 numbers in the six files, 9 lies each");
}
