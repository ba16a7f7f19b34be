//! Layers for token and padded sequences: [`Embedding`] and [`Masking`].

mod embedding;
mod masking;

pub use embedding::{Embedding, EmbeddingConfig};
pub use masking::{Masking, MaskingConfig};
