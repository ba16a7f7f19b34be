//! Convolution layers: [`Conv1d`] and [`Conv2d`] (one implementation, [`Conv`], for both ranks).
//!
//! Images are channels_last, as in Keras: `[batch, height, width, channels]` (and
//! `[batch, steps, channels]` in 1-D), with kernels `[kh, kw, in / groups, filters]`. The
//! kernels of `kensho-core` work in that layout directly (im2col gives the rows of one GEMM
//! whose output is already channels_last), so no layer transposes its input.

mod standard;

pub use standard::{Conv, Conv1d, Conv2d, ConvConfig};
