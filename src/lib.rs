//! kensho: deep learning in Rust with a Keras-style API.
//!
//! Build a [`Sequential`] model, `compile` it with an optimizer, a loss and metrics, `fit` it,
//! `evaluate` and `predict`. This crate is the facade: it owns the model, the training loop,
//! callbacks and progress output, and re-exports the crates below it:
//! [`core`] (tensors), [`autograd`], [`layers`], [`optim`], [`data`], [`metrics`].
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
//! model.compile(Adam::new(0.05), BinaryCrossentropy::new(), vec![Box::new(BinaryAccuracy::new(0.5))])?;
//! let history = model.fit(&x, &y, FitOptions { epochs: 300, batch_size: 4, verbose: 0, ..Default::default() })?;
//! assert!(history.get("loss").unwrap().last().unwrap() < &0.1);
//! # Ok(())
//! # }
//! ```

pub mod callbacks;
pub mod checkpoint;
mod compile;
mod evaluate;
mod fit;
pub mod guide;
mod history;
mod progress;
mod sequential;
mod source;
mod step;
mod summary;

pub use callbacks::{Callback, Control, Mode};
pub use checkpoint::{load_model, LoadOptions, LoadReport, WeightsLayout};
pub use fit::FitOptions;
pub use history::{History, Logs};
pub use kensho_core::{set_num_threads, Error, Result, Tensor};
pub use sequential::Sequential;
pub use step::StepOutput;

pub use kensho_autograd as autograd;
pub use kensho_core as core;
pub use kensho_data as data;
pub use kensho_layers as layers;
pub use kensho_metrics as metrics;
pub use kensho_optim as optim;

/// Everything a typical training program needs, in one import.
pub mod prelude {
    pub use crate::callbacks::{
        Callback, Control, CsvLogger, EarlyStopping, LearningRateScheduler, ModelCheckpoint, ReduceLROnPlateau,
        TerminateOnNaN,
    };
    pub use crate::{FitOptions, History, Logs, Sequential};
    pub use kensho_core::{Error, Initializer, Result, Tensor};
    pub use kensho_layers::{
        Activation, ActivationLayer, BinaryCrossentropy, CategoricalCrossentropy, Dense, Dropout, Flatten, Huber,
        Input, MeanAbsoluteError, MeanSquaredError, Regularizer, Reshape, SparseCategoricalCrossentropy,
    };
    pub use kensho_metrics::*;
    pub use kensho_optim::*;
}

/// The README's examples, compiled and run as doc tests so they cannot rot.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
