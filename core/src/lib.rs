//! kensho-core: the [`Tensor`] type and its kernels.
//!
//! One concrete tensor type: `f32`, dynamic rank, row-major, cheap to clone (a shared buffer with
//! copy-on-write, built on `ndarray`). Kernels are plain methods grouped by family in
//! `tensor/{create,elementwise,reduce,shape,index,matmul}.rs`; int8 products for quantized
//! inference in [`quant`]; audio features (STFT, mel spectrograms, MFCCs) in [`audio`]; random
//! initialisation lives in [`init`], thread control in [`threads`], and the one error type in
//! [`Error`].
//!
//! Neighbours: `kensho-autograd` records these kernels on a tape; `kensho-data` and
//! `kensho-metrics` use tensors without the tape.
//!
//! ```
//! use kensho_core::Tensor;
//! let a = Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0], &[2, 3])?;
//! let b = Tensor::ones(&[3, 2]);
//! let c = a.matmul(&b);
//! assert_eq!(c.shape(), &[2, 2]);
//! assert_eq!(c.to_vec(), vec![6.0, 6.0, 15.0, 15.0]);
//! # Ok::<(), kensho_core::Error>(())
//! ```

pub mod audio;
mod error;
mod gemm;
pub mod init;
pub mod quant;
pub mod registry;
mod tensor;
pub mod threads;
mod wide;

pub use error::{Error, Result};
pub use init::Initializer;
pub use tensor::broadcast_shape;
pub use tensor::heap::keep_freed_buffers;
pub use tensor::Tensor;
pub use tensor::{
    conv_output_len, conv_transpose_crop, conv_transpose_output_len, Conv1dOptions, Conv2dOptions, Padding,
};
pub use tensor::{
    CellActivation, RecurrentArgs, RecurrentCell, RecurrentGrads, RecurrentNeeds, RecurrentSpec, RecurrentTrace,
};
pub use tensor::{MaxPoolArgmax, Pool1dOptions, Pool2dOptions};
pub use threads::{deterministic, num_threads, set_deterministic, set_num_threads};
pub use wide::with_wide_vectors;

/// The random number generator used throughout kensho (seedable, reproducible for a given seed).
pub type Rng = rand::rngs::StdRng;

/// A generator seeded with `seed`: the same seed gives the same numbers.
pub fn seeded_rng(seed: u64) -> Rng {
    use rand::SeedableRng;
    Rng::seed_from_u64(seed)
}
