//! kensho: deep learning in Rust with a Keras-style API.
//!
//! Build a [`Sequential`] model, `compile` it with an optimizer, a loss and metrics, `fit` it,
//! `evaluate` and `predict`. This crate is the facade: it owns the [`Model`] (a graph of layer
//! calls that `Sequential` builds), the training loop, callbacks, progress output and
//! checkpoints, and re-exports the crates below it: [`core`] (tensors), [`autograd`],
//! [`layers`], [`optim`], [`data`], [`metrics`]; losses are in [`losses`], as in Keras.
//!
//! ```
//! use kensho::prelude::*;
//! # fn main() -> kensho::Result<()> {
//! // XOR.
//! let x = Tensor::from_vec(vec![0., 0., 0., 1., 1., 0., 1., 1.], &[4, 2])?;
//! let y = Tensor::from_vec(vec![0., 1., 1., 0.], &[4, 1])?;
//! let mut model = Sequential::new()
//!     .add(Input::new(&[2]))
//!     .add(Dense::new(8).activation(Activation::Tanh))
//!     .add(Dense::new(1).activation(Activation::Sigmoid));
//! model.compile(Adam::new(0.05), losses::BinaryCrossentropy::new(), vec![Box::new(metrics::BinaryAccuracy::new(0.5))])?;
//! let history = model.fit(&x, &y, FitOptions { epochs: 300, batch_size: 4, verbose: 0, ..Default::default() })?;
//! assert!(history.get("loss").unwrap().last().unwrap() < &0.1);
//! # Ok(())
//! # }
//! ```
//!
//! # Where everything is
//!
//! The crates below the facade are re-exported as modules of `kensho`, with their own docs, so
//! every public item can be reached from this page. Open these docs with
//! `cargo doc -p kensho --open`; coming from Keras, start with the [`guide`].
//!
//! | module | what it holds | where to start |
//! |---|---|---|
//! | [`prelude`] | one import for a training program | [`Sequential`], [`Model`], [`FitOptions`], [`callbacks`] |
//! | [`core`] | the tensor, its kernels and operators (`x / 255.0`, `&a - &b`), the one error type | [`Tensor`], [`Tensor::argmax_indices`], [`Error`] |
//! | [`core::audio`] | audio features as functions (STFT, mel spectrograms, MFCCs); as layers and augmentations in [`layers`] | [`core::audio::mel_spectrogram`], [`layers::MelSpectrogram`], [`layers::SpecAugment`] |
//! | [`layers`] | layers, activations, regularizers | [`layers::Dense`], [`layers::Conv2d`], [`layers::Lstm`], [`layers::Layer`] |
//! | [`losses`] | Keras' `keras.losses` | [`losses::SparseCategoricalCrossentropy`], [`losses::BinaryCrossentropy`] |
//! | [`optim`] | optimizers and learning-rate schedules | [`optim::Adam`], [`optim::Sgd`], [`optim::CosineDecay`] |
//! | [`data`] | loaders, embedded data sets, splits, preprocessing (with `save` / `load`), batching | [`data::load_csv`], [`data::mnist`], [`data::datasets`], [`data::train_test_split`], [`data::StandardScaler`], [`data::Tokenizer`], [`data::DataLoader`] |
//! | [`metrics`] | streaming metrics and scikit-learn's one-shot functions | [`metrics::Accuracy`], [`metrics::F1Score`], [`metrics::classification_report`] |
//! | [`autograd`] | the tape behind `fit`, for custom training steps | [`autograd::Tape`], [`autograd::Param`] |
//! | `plot` (feature `plot`) | training pictures as SVG: `History::plot`, confusion-matrix heatmaps, ROC and precision-recall curves, attribution heatmaps | `plot::plot_confusion_matrix`, `plot::plot_roc_curve`, `plot::plot_attributions` |
//! | [`explain`] | attributions: which inputs an output depends on | [`explain::saliency`], [`explain::integrated_gradients`], [`explain::occlusion`] |
//! | [`quantization`] | post-training int8 for inference: Dense and Conv2D layers in int8 | [`quantization::quantize`], [`quantization::QuantizedModel`], [`quantization::load_quantized_model`] |
//! | [`checkpoint`] | weights and model files, PyTorch interchange | [`load_model`], [`LoadOptions`] |
//! | `onnx` (feature `onnx`) | export to ONNX (opset 17) for ONNX Runtime, checked by `scripts/check_onnx.py` | `Model::export_onnx`, `Model::export_onnx_bytes` |
//! | [`parallel`] | data-parallel training across processes: the communicator seam | [`Model::set_data_parallel`], [`parallel::Communicator`] |
//! | `mpi` (feature `mpi`) | data-parallel `fit` / `evaluate` under `mpirun` | `mpi::World` |

#![deny(unsafe_code)]

pub mod callbacks;
pub mod checkpoint;
mod compile;
mod distill;
mod evaluate;
pub mod explain;
mod finite;
mod fit;
mod functional;
mod graph;
pub mod guide;
mod history;
mod model;
#[cfg(feature = "mpi")]
pub mod mpi;
mod nested;
#[cfg(feature = "onnx")]
pub mod onnx;
pub mod parallel;
#[cfg(feature = "plot")]
pub mod plot;
mod progress;
mod pruning;
pub mod quantization;
mod reducer;
mod sequential;
mod source;
mod step;
mod summary;
mod symbolic;
mod tensors;

pub use callbacks::{Callback, Control, Mode};
pub use checkpoint::{load_model, LoadOptions, LoadReport, WeightsLayout};
pub use compile::Head;
pub use distill::Distiller;
pub use fit::FitOptions;
pub use history::{History, Logs};
pub use kensho_core::{deterministic, set_deterministic, set_num_threads, Error, Result, Tensor};
pub use model::Model;
pub use pruning::{sparsity, PolynomialDecay};
pub use reducer::GradientReducer;
pub use sequential::Sequential;
pub use step::StepOutput;
pub use symbolic::{CallLayer, Input, SequentialEntry, SharedLayer, SymbolicTensor};
pub use tensors::Tensors;

#[doc(inline)]
pub use kensho_autograd as autograd;
#[doc(inline)]
pub use kensho_core as core;
#[doc(inline)]
pub use kensho_data as data;
#[doc(inline)]
pub use kensho_layers as layers;
#[doc(inline)]
pub use kensho_metrics as metrics;
#[doc(inline)]
pub use kensho_optim as optim;

/// Losses (Keras' `keras.losses`): the built-in ones, the [`Loss`](losses::Loss) trait for your
/// own, and [`register_loss`](losses::register_loss) so that models compiled with them load.
pub mod losses {
    pub use kensho_layers::{
        register_loss, BinaryCrossentropy, CategoricalCrossentropy, DistillationLoss, Huber, Loss, LossConfig,
        MeanAbsoluteError, MeanSquaredError, SparseCategoricalCrossentropy,
    };
}

/// Everything a typical training program needs, in one import. Losses and metrics keep their
/// namespaces, as in Keras (`losses::MeanSquaredError` is the loss, `metrics::MeanSquaredError`
/// the metric): write `losses::X` and `metrics::Y`.
pub mod prelude {
    pub use crate::callbacks::{
        Callback, Control, CsvLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
        TensorBoard, TerminateOnNaN, UpdateFreq,
    };
    #[cfg(feature = "plot")]
    pub use crate::plot::{plot_attributions, plot_confusion_matrix, plot_precision_recall_curve, plot_roc_curve};
    pub use crate::{
        losses, metrics, CallLayer, FitOptions, Head, History, Input, Logs, Model, Sequential, SharedLayer,
        SymbolicTensor, Tensors,
    };
    pub use kensho_core::{Error, Initializer, Padding, Result, Tensor};
    pub use kensho_layers::{
        Activation, ActivationLayer, AveragePooling1d, AveragePooling2d, BatchNormalization, Conv1d, Conv2d,
        Conv2dTranspose, Cropping2d, Dense, DepthwiseConv2d, Dropout, Embedding, FillMode, Flatten, FlipMode,
        GlobalAveragePooling1d, GlobalAveragePooling2d, GlobalMaxPooling1d, GlobalMaxPooling2d, Layer, Masking,
        MaxPooling1d, MaxPooling2d, RandomContrast, RandomFlip, RandomRotation, RandomTranslation, RandomZoom,
        Regularizer, Rescaling, Reshape, SeparableConv2d, Shape, SpatialDropout2d, UpSampling2d, ZeroPadding2d,
    };
    pub use kensho_layers::{Add, Average, Concatenate, Dot, Maximum, Minimum, Multiply, Subtract};
    pub use kensho_layers::{Bidirectional, Gru, Lstm, MergeMode, SimpleRnn};
    pub use kensho_layers::{LayerNormalization, MultiHeadAttention, PositionEmbedding, TimeDistributed};
    pub use kensho_layers::{MelSpectrogram, Mfcc, RandomNoise, RandomTimeShift, SpecAugment, StftSpectrogram};
    pub use kensho_optim::*;
}

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
