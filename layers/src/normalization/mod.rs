//! Normalization layers: [`BatchNormalization`] and [`LayerNormalization`].

mod batch_norm;
mod layer_norm;
mod layer_norm_op;

pub use batch_norm::{BatchNormalization, BatchNormalizationConfig};
pub use layer_norm::{LayerNormalization, LayerNormalizationConfig};
