//! Convolution layers and the spatial layers that go with them: [`Conv1d`] and [`Conv2d`] (one
//! implementation, [`Conv`], for both ranks), [`Conv2dTranspose`], [`DepthwiseConv2d`],
//! [`SeparableConv2d`], and the weightless [`ZeroPadding2d`], [`UpSampling2d`] and
//! [`Cropping2d`].
//!
//! Images are channels_last, as in Keras: `[batch, height, width, channels]` (and
//! `[batch, steps, channels]` in 1-D), with kernels in Keras' layouts (`[kh, kw, in / groups,
//! filters]` for a convolution). The kernels of `kensho-core` work in that layout directly
//! (im2col gives the rows of one GEMM whose output is already channels_last), so no layer
//! transposes its input. What the layers share (input checks, the window, its setters, the
//! depthwise step) is in `window.rs`.

mod cropping;
mod depthwise;
mod separable;
mod standard;
mod transpose;
mod up_sampling;
pub(crate) mod window;
mod zero_padding;

pub use cropping::{Cropping2d, Cropping2dConfig};
pub use depthwise::{DepthwiseConv2d, DepthwiseConv2dConfig};
pub use separable::{SeparableConv2d, SeparableConv2dConfig};
pub use standard::{Conv, Conv1d, Conv2d, ConvConfig};
pub use transpose::{Conv2dTranspose, Conv2dTransposeConfig};
pub use up_sampling::{UpSampling2d, UpSampling2dConfig};
pub use zero_padding::{ZeroPadding2d, ZeroPadding2dConfig};
