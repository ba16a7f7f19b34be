//! Attention and what a Transformer block needs besides it: [`MultiHeadAttention`] (Keras'
//! layer, its weights laid out as Keras' and, on request, as PyTorch's
//! `nn.MultiheadAttention`) and [`PositionEmbedding`] (keras_hub's learned positions).
//!
//! Files: `multi_head.rs` the layer, `projection.rs` its four einsum-style dense projections,
//! `masks.rs` the attention mask from the inputs' masks, an explicit mask and causality,
//! `softmax.rs` the fused masked softmax, `torch.rs` the PyTorch layout, and
//! `position_embedding.rs`.

mod masks;
mod multi_head;
mod position_embedding;
mod projection;
mod softmax;
mod torch;

pub use multi_head::{MultiHeadAttention, MultiHeadAttentionConfig};
pub use position_embedding::{PositionEmbedding, PositionEmbeddingConfig};
