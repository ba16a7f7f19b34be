//! Merge layers: layers of several inputs that combine them into one output (Keras'
//! `keras.layers.merging`).
//!
//! - [`Add`], [`Subtract`], [`Multiply`], [`Average`], [`Maximum`] and [`Minimum`]: one
//!   elementwise implementation, [`Merge`], chosen by a [`MergeOp`] (`elementwise.rs`), with
//!   Keras' broadcasting of per-sample shapes (`broadcast.rs`) and masks (`masks.rs`);
//! - [`Concatenate`]: joins the inputs along an axis (`concatenate.rs`);
//! - [`Dot`]: the per-sample dot product along an axis of each input, batched matrix
//!   products included (`dot.rs`).
//!
//! None of them has weights. Each takes its inputs through [`Layer::build_inputs`] and
//! [`Layer::call`]; they have no one-input form, so they appear in functional models, not in a
//! `Sequential` chain.

mod broadcast;
mod concatenate;
mod dot;
mod elementwise;
mod masks;

pub use concatenate::{Concatenate, ConcatenateConfig};
pub use dot::{Dot, DotAxes, DotConfig};
pub use elementwise::{Add, Average, Maximum, Merge, MergeConfig, MergeOp, Minimum, Multiply, Subtract};

use crate::{Layer, Shape, TorchLayout};
use kensho_core::{Error, Result};

/// How errors name a layer: its class and name, `Add "add"`.
fn owner(layer: &dyn Layer) -> String {
    format!("{} \"{}\"", layer.kind(), layer.name())
}

/// The per-sample shapes of the inputs as an error message shows them: `[2, 3], [4]`.
fn shapes_text(inputs: &[Shape]) -> String {
    inputs.iter().map(Shape::to_string).collect::<Vec<_>>().join(", ")
}

/// Checks that `layer` received `min..=max` inputs.
///
/// # Errors
/// Naming the layer, the inputs received and the number expected.
fn check_count(layer: &dyn Layer, inputs: &[Shape], min: usize, max: usize) -> Result<()> {
    if (min..=max).contains(&inputs.len()) {
        return Ok(());
    }
    let expected = if min == max { format!("exactly {min} inputs") } else { format!("at least {min} inputs") };
    Err(Error::invalid(
        format!("{} inputs", owner(layer)),
        format!("{} input(s) of per-sample shapes {}", inputs.len(), shapes_text(inputs)),
        expected,
    ))
}

/// A merge in PyTorch is a function of its inputs inside a `forward` (`torch.add`,
/// `torch.cat`, `torch.bmm`), not a module of `torch.nn.Sequential`, which passes one value
/// from module to module: it counts for no module and has no weights.
fn torch_layout() -> Option<TorchLayout> {
    Some(TorchLayout::modules(0))
}
