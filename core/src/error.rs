//! The one error type of kensho: everything a user can trigger with data or configuration.
//!
//! Programmer errors inside the math (a shape mismatch in [`Tensor::matmul`](crate::Tensor::matmul)
//! called directly, an index out of bounds) panic instead, as ndarray does; see the `# Panics`
//! sections of those functions and their `try_*` twins.
//!
//! `Debug` prints the same sentence as `Display` (as `anyhow` does), so a `main` returning
//! `Result<()>` prints a message a person can act on. The errors a program meets beside
//! kensho (`std::io::Error`, `ParseIntError`, `ParseFloatError`, `serde_json::Error`,
//! `std::fmt::Error`) convert with `?`, so one error type serves the whole program:
//!
//! ```no_run
//! // `kensho::Result` is this crate's `Result`, re-exported.
//! fn count_rows(path: &str) -> kensho_core::Result<usize> {
//!     let text = std::fs::read_to_string(path)?; // std::io::Error -> Error::Io
//!     let header: usize = text.lines().next().unwrap_or("0").trim().parse()?; // ParseIntError -> Error::Parse
//!     Ok(header.min(text.lines().count()))
//! }
//! # fn main() -> kensho_core::Result<()> { count_rows("rows.txt")?; Ok(()) }
//! ```

use std::fmt;
use std::path::{Path, PathBuf};

/// Everything that can go wrong with user data, configuration or files.
///
/// Each variant carries what was received and what was expected, so that the message alone
/// tells the user how to fix the problem.
#[derive(thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A tensor or input had the wrong shape for an operation or a layer.
    #[error("{op}: expected {expected}, received shape {got:?}")]
    Shape {
        /// The operation, layer or argument that rejected the shape (e.g. `Dense "dense_1"`).
        op: String,
        /// What the operation expected, and how to get there.
        expected: String,
        /// The shape that was received.
        got: Vec<usize>,
    },
    /// An argument or a configuration value out of its valid range.
    #[error("invalid {what}: received {value}, expected {expected}")]
    InvalidArgument {
        /// The argument, with its owner (e.g. `fit: batch_size`).
        what: String,
        /// The value that was received.
        value: String,
        /// What would have been accepted, and how to fix it.
        expected: String,
    },
    /// Reading or writing a file failed at the operating-system level.
    #[error("{}{source}", located(path, "I/O error"))]
    Io {
        /// The file that could not be read or written (empty when the error came through `?`
        /// from a `std::io::Error` that did not name it).
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file was readable but its content is malformed (bad magic number, truncated, non-numeric cell, ...).
    #[error("{}{reason}", located(file, ""))]
    Parse {
        /// The file that is malformed (empty when the error came through `?` from a
        /// `ParseIntError`, `ParseFloatError` or `serde_json::Error`).
        file: PathBuf,
        /// Where and what is wrong.
        reason: String,
    },
    /// A strict load of a weights file found tensors that do not match the model (missing,
    /// unexpected or of another shape), so nothing was loaded.
    #[error(
        "{file}: does not match the model (strict load; nothing was loaded): {problems}. \
         Load with LoadOptions {{ strict: false, .. }} to take only the tensors that match"
    )]
    WeightsMismatch {
        /// The weights file.
        file: PathBuf,
        /// What does not match: the missing, unexpected and mis-shaped tensors.
        problems: String,
    },
}

impl Error {
    /// Shorthand for [`Error::InvalidArgument`].
    pub fn invalid(what: impl Into<String>, value: impl ToString, expected: impl Into<String>) -> Self {
        Error::InvalidArgument { what: what.into(), value: value.to_string(), expected: expected.into() }
    }

    /// Shorthand for [`Error::Shape`].
    pub fn shape(op: impl Into<String>, expected: impl Into<String>, got: &[usize]) -> Self {
        Error::Shape { op: op.into(), expected: expected.into(), got: got.to_vec() }
    }

    /// Shorthand for [`Error::Parse`].
    pub fn parse(file: impl Into<PathBuf>, reason: impl Into<String>) -> Self {
        Error::Parse { file: file.into(), reason: reason.into() }
    }

    /// Shorthand for [`Error::WeightsMismatch`].
    pub fn weights_mismatch(file: impl Into<PathBuf>, problems: impl Into<String>) -> Self {
        Error::WeightsMismatch { file: file.into(), problems: problems.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }
}

/// `path: ` before a message, or `fallback: ` (nothing if empty) when the path is unknown.
fn located(path: &Path, fallback: &str) -> String {
    match (path.as_os_str().is_empty(), fallback.is_empty()) {
        (false, _) => format!("{}: ", path.display()),
        (true, false) => format!("{fallback}: "),
        (true, true) => String::new(),
    }
}

/// The sentence of [`Display`](fmt::Display), so that `fn main() -> Result<()>` and `unwrap`
/// print what went wrong and how to fix it rather than the variant's fields (as `anyhow` does).
impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An I/O error that does not name its file (the path is left empty).
impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { path: PathBuf::new(), source }
    }
}

/// A text that is not an integer: an [`Error::Parse`] without a file.
impl From<std::num::ParseIntError> for Error {
    fn from(e: std::num::ParseIntError) -> Self {
        Error::parse(PathBuf::new(), format!("could not parse an integer: {e}"))
    }
}

/// A text that is not a number: an [`Error::Parse`] without a file.
impl From<std::num::ParseFloatError> for Error {
    fn from(e: std::num::ParseFloatError) -> Self {
        Error::parse(PathBuf::new(), format!("could not parse a number: {e}"))
    }
}

/// Malformed JSON is an [`Error::Parse`] without a file; a failure to read or write the JSON
/// stream is an [`Error::Io`].
impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        if e.is_io() {
            return Error::from(std::io::Error::from(e));
        }
        Error::parse(PathBuf::new(), format!("invalid JSON: {e}"))
    }
}

/// A failed `write!` (a formatter that refused the text) is an [`Error::Io`] without a file.
impl From<fmt::Error> for Error {
    fn from(e: fmt::Error) -> Self {
        Error::from(std::io::Error::other(e))
    }
}

/// `Result` with kensho's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weights_mismatch_says_what_happened_and_how_to_load_anyway() {
        let e = Error::weights_mismatch("model.safetensors", "missing \"0.bias\"");
        assert_eq!(
            e.to_string(),
            "model.safetensors: does not match the model (strict load; nothing was loaded): missing \"0.bias\". \
             Load with LoadOptions { strict: false, .. } to take only the tensors that match"
        );
        assert!(matches!(e, Error::WeightsMismatch { ref file, .. } if file == &PathBuf::from("model.safetensors")));
    }

    #[test]
    fn debug_reads_like_display_so_main_prints_the_sentence() {
        let errors = [
            Error::parse("data.csv", "no target column \"label\""),
            Error::invalid("fit: batch_size", 0, "a positive number"),
            Error::shape("Dense \"dense\"", "inputs of rank 2", &[4, 2, 2]),
            Error::io("out/model.safetensors", std::io::Error::from(std::io::ErrorKind::NotFound)),
        ];
        for e in errors {
            assert_eq!(format!("{e:?}"), e.to_string());
            assert!(!format!("{e:?}").contains(" { "), "{e:?}");
        }
        assert_eq!(
            format!("{:?}", Error::parse("data.csv", "no target column \"label\"")),
            "data.csv: no target column \"label\""
        );
        // `unwrap` shows the sentence too.
        let panic =
            std::panic::catch_unwind(|| std::hint::black_box(Err::<(), _>(Error::parse("a.csv", "empty"))).unwrap())
                .unwrap_err();
        assert!(panic.downcast_ref::<String>().unwrap().ends_with("a.csv: empty"));
    }

    #[test]
    fn question_mark_converts_the_common_std_errors() {
        fn read(path: &str) -> Result<String> {
            Ok(std::fs::read_to_string(path)?)
        }
        let e = read("/nonexistent/kensho/file.txt").unwrap_err();
        assert!(matches!(e, Error::Io { ref path, .. } if path.as_os_str().is_empty()));
        assert!(e.to_string().starts_with("I/O error: "), "{e}");

        let int = || -> Result<u32> { Ok("12a".parse::<u32>()?) };
        assert_eq!(int().unwrap_err().to_string(), "could not parse an integer: invalid digit found in string");
        let float = || -> Result<f32> { Ok("x".parse::<f32>()?) };
        assert_eq!(float().unwrap_err().to_string(), "could not parse a number: invalid float literal");
        let json = || -> Result<serde_json::Value> { Ok(serde_json::from_str("{")?) };
        assert!(json().unwrap_err().to_string().starts_with("invalid JSON: EOF while parsing"), "{:?}", json());
        let json_io = || -> Result<serde_json::Value> { Ok(serde_json::from_reader(FailingReader)?) };
        assert!(matches!(json_io().unwrap_err(), Error::Io { .. }));
        let fmt = || -> Result<()> { Ok(std::fmt::write(&mut FailingWriter, format_args!("x"))?) };
        assert!(fmt().unwrap_err().to_string().starts_with("I/O error: "));
        // With a path, the message still starts with it.
        assert_eq!(Error::parse("a.csv", "empty").to_string(), "a.csv: empty");
    }

    struct FailingReader;
    impl std::io::Read for FailingReader {
        fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk on fire"))
        }
    }

    struct FailingWriter;
    impl fmt::Write for FailingWriter {
        fn write_str(&mut self, _: &str) -> fmt::Result {
            Err(fmt::Error)
        }
    }
}
