//! `save` / `load` for the fitted preprocessing objects ([`StandardScaler`], [`MinMaxScaler`],
//! [`Normalizer`], [`LabelEncoder`], [`OneHotEncoder`], [`Tokenizer`]), so that a model can be
//! deployed with the exact preprocessing it was trained with.
//!
//! The file is JSON: `{"kensho": "<type>", "version": 1, "state": {...}}`. It is written
//! atomically (a temporary file in the same folder, then a rename), so a crash never leaves a
//! half-written file under the name; loading checks the type name, so a `MinMaxScaler` file
//! given to `StandardScaler::load` is an error that says what the file holds.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use kensho_core::{Error, Result};
use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};

use crate::{LabelEncoder, MinMaxScaler, Normalizer, OneHotEncoder, StandardScaler, Tokenizer};

/// The version of the file layout written by `save`; `load` reads this version and older ones.
const VERSION: u32 = 1;

#[derive(Serialize)]
struct Saved<'a, T> {
    kensho: &'a str,
    version: u32,
    state: &'a T,
}

/// The file read twice: first with the state skipped (`IgnoredAny`) to check what the file
/// holds, then with the state typed, so that no intermediate JSON tree is built.
#[derive(Deserialize)]
struct Loaded<S> {
    kensho: String,
    version: u32,
    state: S,
}

/// The invariants a loaded state must keep so that using it can neither panic nor give
/// silently wrong results (a file edited by hand, damaged, or written by a buggy tool).
pub(crate) trait CheckState {
    /// `Err(what is wrong)` if the state breaks an invariant of the type.
    fn check_state(&self) -> std::result::Result<(), String>;
}

/// Writes `value` as the JSON file of a `kind` at `path`, atomically.
fn save_json<T: Serialize>(value: &T, kind: &str, path: &Path) -> Result<()> {
    let json = serde_json::to_vec_pretty(&Saved { kensho: kind, version: VERSION, state: value })
        .map_err(|e| Error::io(path, std::io::Error::other(e)))?;
    write_atomic(path, &json)
}

/// Reads the JSON file of a `kind` at `path`.
fn load_json<T: DeserializeOwned + CheckState>(kind: &str, path: &Path) -> Result<T> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    let file: Loaded<IgnoredAny> = serde_json::from_slice(&bytes)
        .map_err(|e| Error::parse(path, format!("not a kensho preprocessing file written by {kind}::save ({e})")))?;
    if file.kensho != kind {
        let reason = format!("holds a {}, not a {kind}: load it with {}::load", file.kensho, file.kensho);
        return Err(Error::parse(path, reason));
    }
    if file.version > VERSION {
        let reason =
            format!("file version {} is newer than this kensho reads ({VERSION}): update kensho", file.version);
        return Err(Error::parse(path, reason));
    }
    let damaged = |e: String| Error::parse(path, format!("the {kind} state in the file is damaged or incomplete: {e}"));
    let file: Loaded<T> = serde_json::from_slice(&bytes).map_err(|e| damaged(e.to_string()))?;
    file.state.check_state().map_err(damaged)?;
    Ok(file.state)
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// Writes `bytes` to a temporary file next to `path`, flushes it, then renames it over `path`;
/// on any error the temporary file is removed and the error names `path`.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let Some(name) = path.file_name() else {
        return Err(Error::io(path, std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path names no file")));
    };
    let unique = COUNTER.fetch_add(1, Ordering::Relaxed);
    let tmp: PathBuf = path.with_file_name(format!(".{}.{}.{unique}.tmp", name.to_string_lossy(), std::process::id()));
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&tmp)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()))
        .and_then(|()| fs::rename(&tmp, path));
    written.map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io(path, e)
    })
}

/// Adds `save` and `load` to each preprocessing type.
macro_rules! persist {
    ($($ty:ident),*) => {$(
        impl $ty {
            #[doc = concat!("Saves this ", stringify!($ty), " (fitted or not) as a JSON file at `path`, written")]
            /// atomically: the file is replaced whole or not at all. The folder must exist.
            ///
            /// # Errors
            /// [`Error::Io`] naming `path` if the folder is missing or not writable or the disk is full.
            pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
                save_json(self, stringify!($ty), path.as_ref())
            }

            #[doc = concat!("Loads a ", stringify!($ty), " saved by [`", stringify!($ty), "::save`].")]
            ///
            /// # Errors
            /// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the file if it is
            /// not valid JSON, holds another type, is from a newer kensho, or its state is damaged
            /// (including a state that breaks the type's invariants, e.g. lists of unequal lengths).
            pub fn load(path: impl AsRef<Path>) -> Result<Self> {
                load_json(stringify!($ty), path.as_ref())
            }
        }
    )*};
}

persist!(StandardScaler, MinMaxScaler, Normalizer, LabelEncoder, OneHotEncoder, Tokenizer);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Transformer;
    use kensho_core::Tensor;

    fn table() -> Tensor {
        Tensor::from_vec(vec![1.0, 10.0, 3.0, 30.0, 5.0, 20.0], &[3, 2]).unwrap()
    }

    #[test]
    fn fitted_objects_round_trip_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pre.json");
        let x = table();

        let mut standard = StandardScaler::new();
        standard.fit(&x).unwrap();
        standard.save(&path).unwrap();
        let back = StandardScaler::load(&path).unwrap();
        assert_eq!((&back, back.transform(&x).unwrap()), (&standard, standard.transform(&x).unwrap()));

        let mut min_max = MinMaxScaler::new().feature_range(-1.0, 1.0).unwrap();
        min_max.fit(&x).unwrap();
        min_max.save(&path).unwrap(); // replaces the previous file
        assert_eq!(MinMaxScaler::load(&path).unwrap(), min_max);

        Normalizer::new().save(&path).unwrap();
        assert_eq!(Normalizer::load(&path).unwrap(), Normalizer::new());

        let mut labels = LabelEncoder::new();
        labels.fit(&["cat", "dog", "bird"]);
        labels.save(&path).unwrap();
        assert_eq!(
            LabelEncoder::load(&path).unwrap().transform(&["dog"]).unwrap(),
            labels.transform(&["dog"]).unwrap()
        );

        let mut onehot = OneHotEncoder::new();
        onehot.fit(&Tensor::from_vec(vec![3.0, 1.0, 3.0], &[3]).unwrap()).unwrap();
        onehot.save(&path).unwrap();
        assert_eq!(OneHotEncoder::load(&path).unwrap(), onehot);

        let mut tokenizer = Tokenizer::new().num_words(10).oov_token("<oov>");
        tokenizer.fit_on_texts(&["the cat sat", "the dog"]);
        tokenizer.save(&path).unwrap();
        let back = Tokenizer::load(&path).unwrap();
        assert_eq!(back, tokenizer);
        assert_eq!(back.texts_to_sequences(&["the bird"]), tokenizer.texts_to_sequences(&["the bird"]));

        let names: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
        assert_eq!(names, vec!["pre.json"], "no temporary file is left behind");
    }

    #[test]
    fn a_corrupt_truncated_or_foreign_file_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("scaler.json");
        let mut scaler = StandardScaler::new();
        scaler.fit(&table()).unwrap();
        scaler.save(&path).unwrap();
        let text = fs::read_to_string(&path).unwrap();

        fs::write(&path, &text[..text.len() / 2]).unwrap();
        let err = StandardScaler::load(&path).unwrap_err().to_string();
        assert!(err.contains("scaler.json") && err.contains("not a kensho preprocessing file"), "{err}");

        fs::write(&path, text.replace("\"state\"", "\"stat\"")).unwrap();
        let err = StandardScaler::load(&path).unwrap_err().to_string();
        assert!(err.contains("scaler.json") && err.contains("state"), "{err}");

        fs::write(&path, &text).unwrap();
        let err = MinMaxScaler::load(&path).unwrap_err().to_string();
        assert!(err.contains("scaler.json") && err.contains("holds a StandardScaler, not a MinMaxScaler"), "{err}");

        fs::write(&path, text.replace("\"version\": 1", "\"version\": 9")).unwrap();
        assert!(StandardScaler::load(&path).unwrap_err().to_string().contains("newer"));

        fs::write(&path, r#"{"kensho": "StandardScaler", "version": 1, "state": {"state": [[1.0], "x"]}}"#).unwrap();
        let err = StandardScaler::load(&path).unwrap_err().to_string();
        assert!(err.contains("scaler.json") && err.contains("damaged"), "{err}");

        let err = StandardScaler::load(dir.path().join("absent.json")).unwrap_err().to_string();
        assert!(err.contains("absent.json"), "{err}");
    }

    #[test]
    fn a_failed_save_names_the_file_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let err = StandardScaler::new().save(dir.path().join("no-such-folder/scaler.json")).unwrap_err();
        assert!(err.to_string().contains("no-such-folder/scaler.json"), "{err}");

        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).unwrap();
        let err = StandardScaler::new().save(&blocked).unwrap_err(); // a folder is not replaced by a file
        assert!(err.to_string().contains("blocked"), "{err}");
        let names: Vec<_> = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, vec!["blocked"]);
    }

    /// Each of these states parsed before but then panicked on use (index out of bounds,
    /// `argmax` of nothing, an overflowing count) or gave silently wrong results (a binary
    /// search over unsorted classes).
    #[test]
    fn a_loaded_state_that_breaks_an_invariant_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pre.json");
        let file = |kind: &str, state: &str| {
            fs::write(&path, format!(r#"{{"kensho": "{kind}", "version": 1, "state": {state}}}"#)).unwrap();
        };
        let refused = |err: Error, what: &str| {
            let err = err.to_string();
            assert!(err.contains("pre.json") && err.contains("damaged") && err.contains(what), "{err}");
        };
        file("StandardScaler", r#"{"state": [[1.0, 2.0], [1.0]]}"#);
        refused(StandardScaler::load(&path).unwrap_err(), "2 mean values but 1 scales");
        file("StandardScaler", r#"{"state": [[1.0], [0.0]]}"#);
        refused(StandardScaler::load(&path).unwrap_err(), "feature 0: scale 0");
        file("MinMaxScaler", r#"{"range": [0.0, 1.0], "state": [[0.0, 1.0], []]}"#);
        refused(MinMaxScaler::load(&path).unwrap_err(), "2 data_min values but 0 scales");
        file("MinMaxScaler", r#"{"range": [1.0, 0.0], "state": null}"#);
        refused(MinMaxScaler::load(&path).unwrap_err(), "feature_range (1, 0)");
        file("OneHotEncoder", r#"{"categories": []}"#);
        refused(OneHotEncoder::load(&path).unwrap_err(), "no categories");
        file("OneHotEncoder", r#"{"categories": [3.0, 1.0]}"#);
        refused(OneHotEncoder::load(&path).unwrap_err(), "categories 3 then 1");
        file("LabelEncoder", r#"{"classes": ["dog", "cat"]}"#);
        refused(LabelEncoder::load(&path).unwrap_err(), r#"classes "dog" then "cat""#);
        let tokenizer = |counts: &str, index: &str| {
            format!(
                r#"{{"num_words": null, "oov_token": null, "lower": true, "filters": "", "counts": {counts}, "word_index": {index}}}"#
            )
        };
        file("Tokenizer", &tokenizer(r#"[["a", 1], ["a", 2]]"#, r#"{"a": 1}"#));
        refused(Tokenizer::load(&path).unwrap_err(), r#"the word "a" is counted twice"#);
        file("Tokenizer", &tokenizer(r#"[["a", 1]]"#, r#"{"a": 0}"#));
        refused(Tokenizer::load(&path).unwrap_err(), "index 0");

        // A count at the top of its range is kept (saturating), not an overflow panic.
        file("Tokenizer", &tokenizer(&format!(r#"[["a", {}]]"#, usize::MAX), r#"{"a": 1}"#));
        let mut loaded = Tokenizer::load(&path).unwrap();
        loaded.fit_on_texts(&["a a"]);
        assert_eq!(loaded.texts_to_sequences(&["a"]), vec![vec![1]]);
    }
}
