//! The one error type of kensho: everything a user can trigger with data or configuration.
//!
//! Programmer errors inside the math (a shape mismatch in [`Tensor::matmul`](crate::Tensor::matmul)
//! called directly, an index out of bounds) panic instead, as ndarray does; see the `# Panics`
//! sections of those functions and their `try_*` twins.

use std::path::PathBuf;

/// Everything that can go wrong with user data, configuration or files.
///
/// Each variant carries what was received and what was expected, so that the message alone
/// tells the user how to fix the problem.
#[derive(Debug, thiserror::Error)]
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
    #[error("{path}: {source}")]
    Io {
        /// The file that could not be read or written.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A file was readable but its content is malformed (bad magic number, truncated, non-numeric cell, ...).
    #[error("{file}: {reason}")]
    Parse {
        /// The file that is malformed.
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
}
