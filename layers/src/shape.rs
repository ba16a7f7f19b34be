//! [`Shape`]: a per-sample shape (without the batch axis) whose dimensions may be unknown until
//! data arrives, such as the length of a sequence (Keras' `None`).

use kensho_core::{Error, Result};
use serde::{Deserialize, Serialize};
use std::fmt;

/// A per-sample shape; `None` marks a dimension that is only known from the data (Keras'
/// `Input(shape=(None, 16))`). Serialized as a list of numbers and `null`s.
///
/// ```
/// use kensho_layers::Shape;
/// let seq = Shape::new(vec![None, Some(16)]);
/// assert!(seq.accepts(&[7, 16]) && seq.accepts(&[50, 16]));
/// assert!(!seq.accepts(&[7, 8]));
/// assert_eq!(seq.to_string(), "[None, 16]");
/// assert_eq!(Shape::from([28, 28]).size(), Some(784));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Shape(Vec<Option<usize>>);

impl Shape {
    /// A shape from its dimensions (`None` for unknown ones).
    pub fn new(dims: Vec<Option<usize>>) -> Shape {
        Shape(dims)
    }

    /// A shape whose dimensions are all known.
    pub fn known(dims: &[usize]) -> Shape {
        Shape(dims.iter().map(|&d| Some(d)).collect())
    }

    /// The dimensions.
    pub fn dims(&self) -> &[Option<usize>] {
        &self.0
    }

    /// The number of dimensions.
    pub fn rank(&self) -> usize {
        self.0.len()
    }

    /// The last dimension, if the shape has one and it is known.
    pub fn last(&self) -> Option<usize> {
        self.0.last().copied().flatten()
    }

    /// Every dimension, if all are known.
    pub fn to_known(&self) -> Option<Vec<usize>> {
        self.0.iter().copied().collect()
    }

    /// The number of elements per sample, if every dimension is known.
    pub fn size(&self) -> Option<usize> {
        self.to_known().map(|d| d.iter().product())
    }

    /// Whether a sample of the concrete shape `dims` fits (same rank, equal known dimensions).
    pub fn accepts(&self, dims: &[usize]) -> bool {
        self.0.len() == dims.len() && self.0.iter().zip(dims).all(|(s, d)| s.is_none_or(|s| s == *d))
    }

    /// Every dimension, or an error naming `owner` if one is unknown (for layers that need
    /// fixed sizes, such as Flatten before Dense).
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if a dimension is unknown.
    pub fn require_known(&self, owner: &str) -> Result<Vec<usize>> {
        self.to_known().ok_or_else(|| {
            Error::invalid(
                format!("{owner} input shape"),
                self,
                "a per-sample shape with every dimension known (give the Input a fixed size)",
            )
        })
    }

    /// The shape with the batch axis in front, as Keras prints it: `(None, 28, 28)`.
    pub fn with_batch(&self) -> String {
        let dims: Vec<String> = std::iter::once("None".to_string()).chain(self.0.iter().map(dim_text)).collect();
        format!("({}{})", dims.join(", "), if dims.len() == 1 { "," } else { "" })
    }
}

fn dim_text(d: &Option<usize>) -> String {
    d.map_or_else(|| "None".to_string(), |d| d.to_string())
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}]", self.0.iter().map(dim_text).collect::<Vec<_>>().join(", "))
    }
}

impl fmt::Debug for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<&[usize]> for Shape {
    fn from(dims: &[usize]) -> Shape {
        Shape::known(dims)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(dims: Vec<usize>) -> Shape {
        Shape::known(&dims)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(dims: [usize; N]) -> Shape {
        Shape::known(&dims)
    }
}

impl PartialEq<[usize]> for Shape {
    fn eq(&self, other: &[usize]) -> bool {
        self.0.len() == other.len() && self.0.iter().zip(other).all(|(s, d)| *s == Some(*d))
    }
}

impl PartialEq<Vec<usize>> for Shape {
    fn eq(&self, other: &Vec<usize>) -> bool {
        self == other.as_slice()
    }
}

impl<const N: usize> From<&[usize; N]> for Shape {
    fn from(dims: &[usize; N]) -> Shape {
        Shape::known(dims)
    }
}
