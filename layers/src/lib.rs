//! kensho-layers: the [`Layer`] trait, the layers a Keras user expects, activations, regularizers
//! and losses.
//!
//! Layers are built lazily from their per-sample input [`Shape`]s (parameters are created on
//! first build, as in Keras) and then run on batches through the tape of `kensho-autograd`. A
//! layer may take several inputs and give several outputs, pass masks on, and keep
//! non-trainable state (see [`Layer`]). Each layer lives in its own file, carries a serializable
//! config ([`LayerConfig`]) used by `summary()` and for saving a model's architecture, and
//! declares its PyTorch layout ([`TorchLayout`]). User-defined layers and losses join the
//! built-in ones through [`register_layer`] and [`register_loss`]. [`testing::check_layer`] is the
//! conformance harness every layer passes.
//!
//! Neighbours: built on `kensho-core` and `kensho-autograd`; the facade `kensho` stacks layers
//! into a `Sequential` model.
//!
//! ```
//! use kensho_autograd::Tape;
//! use kensho_core::Tensor;
//! use kensho_layers::{Activation, Ctx, Dense, Layer};
//! let mut layer = Dense::new(2).activation(Activation::Relu);
//! layer.set_name("dense");
//! layer.build(&[3].into(), &mut kensho_core::seeded_rng(0))?;
//! let tape = Tape::no_grad();
//! let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(1));
//! let y = layer.forward(tape.constant(Tensor::ones(&[5, 3])), &cx);
//! assert_eq!(y.shape(), vec![5, 2]);
//! # Ok::<(), kensho_core::Error>(())
//! ```

#![forbid(unsafe_code)]

mod activation;
mod activation_layer;
mod attention;
mod audio;
mod conv;
mod dense;
mod dropout;
mod flatten;
mod input;
mod kernel;
mod layer;
mod loss;
mod merge;
mod normalization;
mod pooling;
mod preprocessing;
mod recurrent;
mod regularizer;
mod replicas;
mod reshape;
mod shape;
mod spatial_dropout;
pub mod testing;
mod text;
mod time_distributed;
mod torch;

pub use activation::Activation;
pub use activation_layer::{ActivationConfig, ActivationLayer};
pub use attention::{MultiHeadAttention, MultiHeadAttentionConfig, PositionEmbedding, PositionEmbeddingConfig};
pub use audio::{
    MaskFill, MelSpectrogram, MelSpectrogramConfig, Mfcc, MfccConfig, RandomNoise, RandomNoiseConfig, RandomTimeShift,
    RandomTimeShiftConfig, Shift, ShiftFill, SpecAugment, SpecAugmentConfig, StftSpectrogram, StftSpectrogramConfig,
};
pub use conv::{
    Conv, Conv1d, Conv2d, Conv2dTranspose, Conv2dTransposeConfig, ConvConfig, Cropping2d, Cropping2dConfig,
    DepthwiseConv2d, DepthwiseConv2dConfig, SeparableConv2d, SeparableConv2dConfig, UpSampling2d, UpSampling2dConfig,
    ZeroPadding2d, ZeroPadding2dConfig,
};
pub use dense::{Dense, DenseConfig};
pub use dropout::{Dropout, DropoutConfig};
pub use flatten::{Flatten, FlattenConfig};
pub use input::{Input, InputConfig};
pub use kensho_core::registry::RegisteredConfig;
pub use kensho_core::{Error, Result};
pub use kernel::KernelOptions;
pub use layer::{apply_state_updates, register_layer, Ctx, Layer, LayerConfig, StateUpdate};
pub use loss::{
    register_loss, BinaryCrossentropy, CategoricalCrossentropy, DistillationLoss, Huber, Loss, LossConfig,
    MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy,
};
pub use merge::{
    Add, Average, Concatenate, ConcatenateConfig, Dot, DotAxes, DotConfig, Maximum, Merge, MergeConfig, MergeOp,
    Minimum, Multiply, Subtract,
};
pub use normalization::{BatchNormalization, BatchNormalizationConfig, LayerNormalization, LayerNormalizationConfig};
pub use pooling::{
    AveragePooling1d, AveragePooling2d, GlobalAveragePooling1d, GlobalAveragePooling2d, GlobalMaxPooling1d,
    GlobalMaxPooling2d, GlobalPool, GlobalPoolConfig, MaxPooling1d, MaxPooling2d, Pool, PoolConfig,
};
pub use preprocessing::{
    Factor, FillMode, FlipMode, Interpolation, RandomContrast, RandomContrastConfig, RandomFlip, RandomFlipConfig,
    RandomRotation, RandomRotationConfig, RandomTranslation, RandomTranslationConfig, RandomZoom, RandomZoomConfig,
    Rescaling, RescalingConfig,
};
pub use recurrent::{
    Bidirectional, BidirectionalConfig, Gru, GruConfig, Lstm, LstmConfig, MergeMode, RecurrentOptions, SimpleRnn,
    SimpleRnnConfig,
};
pub use regularizer::Regularizer;
pub use replicas::{replica_count, replica_sum, ReplicaSum, Replicas};
pub use reshape::{Reshape, ReshapeConfig};
pub use shape::Shape;
pub use spatial_dropout::{SpatialDropout2d, SpatialDropout2dConfig};
pub use text::{Embedding, EmbeddingConfig, Masking, MaskingConfig};
pub use time_distributed::{TimeDistributed, TimeDistributedConfig};
pub use torch::{TorchBuffer, TorchLayout, TorchTransform, TorchWeight};
