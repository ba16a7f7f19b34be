//! Normalization layers: [`BatchNormalization`].

mod batch_norm;

pub use batch_norm::{BatchNormalization, BatchNormalizationConfig};
