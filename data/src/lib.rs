//! kensho-data: everything between files on disk and mini-batches of [`Tensor`]s.
//!
//! * [`Dataset`] with [`TensorDataset`] (in memory) and [`StreamDataset`] (items read on
//!   demand); [`DataLoader`] batches them, shuffles reproducibly per epoch and can prefetch on a
//!   worker thread. A [`Batch`] holds a list of input tensors and a list of target tensors, for
//!   models with several inputs and outputs; [`Batch::new`] and [`TensorDataset::new`] cover the
//!   usual one input, one target ([`TensorDataset::from_lists`] the others).
//! * Splits: [`train_test_split`] (options in [`SplitOptions`]), [`k_fold`], [`stratified_k_fold`].
//! * Preprocessing with `fit` / `transform` / `inverse_transform` ([`Transformer`]):
//!   [`StandardScaler`], [`MinMaxScaler`], [`Normalizer`]; label encodings [`to_categorical`],
//!   [`OneHotEncoder`], [`LabelEncoder`]; text: [`Tokenizer`], [`pad_sequences`]. Each of these
//!   objects has `save(path)` / `load(path)` (a JSON file, written atomically), to deploy a
//!   model with the preprocessing it was trained with.
//! * Loaders: CSV ([`load_csv`]), MNIST / Fashion-MNIST IDX files ([`mnist`], [`idx`]),
//!   CIFAR-10 binary batches ([`cifar`]); with the `download` feature, verified downloads
//!   (the `download` module). Images keep their raw pixel values 0..=255 (as `f32`), as Keras'
//!   `load_data` returns them: scale them yourself (`x / 255.0`). Audio: WAV files, folders of
//!   class sub-folders and CSV manifests ([`audio`]). NumPy `.npy` float32 arrays ([`npy`]).
//! * Embedded data sets ([`datasets`]): iris, digits and wine, from the UCI Machine Learning
//!   Repository under CC BY 4.0 (Fisher 1936; Alpaydin & Kaynak 1998; Forina et al.), as shipped
//!   in scikit-learn; see `datasets/NOTICE.md`.
//!
//! Neighbours: built on `kensho-core` tensors only (no tape); the `kensho` facade feeds these
//! batches to `Sequential::fit`. Errors are [`Error`] values that name the file and the place
//! for loaders, and the argument and expected range for configuration.
//!
//! ```
//! use kensho_data::{datasets, train_test_split, DataLoader, SplitOptions, StandardScaler, TensorDataset, Transformer};
//!
//! let (x, y) = datasets::iris();
//! let split = SplitOptions { test_size: 0.2, seed: 42, stratify: true };
//! let (x_train, x_test, y_train, y_test) = train_test_split(&x, &y, split)?;
//! let mut scaler = StandardScaler::new();
//! let x_train = scaler.fit_transform(&x_train)?; // fit on the training set only
//! let x_test = scaler.transform(&x_test)?;
//! assert_eq!(x_test.shape(), &[30, 4]);
//! let path = std::env::temp_dir().join(format!("kensho-doc-scaler-{}.json", std::process::id()));
//! scaler.save(&path)?; // to deploy the model with the preprocessing it was trained with
//! assert_eq!(StandardScaler::load(&path)?, scaler);
//! # std::fs::remove_file(&path).unwrap();
//!
//! let loader = DataLoader::new(TensorDataset::new(x_train, y_train)?, 32)?.shuffle(42);
//! for epoch in 0..2 {
//!     for batch in loader.epoch(epoch) {
//!         let batch = batch?;
//!         let (xb, yb) = (&batch.inputs[0], &batch.targets[0]);
//!         assert_eq!(xb.shape()[0], yb.shape()[0]);
//!     }
//! }
//! # let _ = y_test;
//! # Ok::<(), kensho_core::Error>(())
//! ```

#![forbid(unsafe_code)]

pub mod audio;
mod bounded_read;
pub mod cifar;
mod csv;
mod csv_header;
mod dataset;
pub mod datasets;
#[cfg(feature = "download")]
pub mod download;
mod encode;
pub mod idx;
mod loader;
pub mod mnist;
pub mod npy;
mod persist;
mod scale;
mod split;
mod text;
mod text_csv;

pub use crate::csv::{load_csv, read_csv, CsvData, CsvOptions, Missing};
pub use dataset::{Batch, Dataset, StreamDataset, TensorDataset};
pub use encode::{to_categorical, LabelEncoder, OneHotEncoder};
pub use kensho_core::{Error, Result, Tensor};
pub use loader::{Batches, DataLoader};
pub use scale::{MinMaxScaler, Normalizer, StandardScaler, Transformer};
pub use split::{k_fold, stratified_k_fold, train_test_split, SplitOptions};
pub use text::{pad_sequences, Side, Tokenizer, DEFAULT_FILTERS};
pub use text_csv::load_labelled_texts;
