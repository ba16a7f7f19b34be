//! [`Merge`]: the elementwise merges [`Add`], [`Subtract`], [`Multiply`], [`Average`],
//! [`Maximum`] and [`Minimum`], one implementation whose [`MergeOp`] is a parameter of the type.

use super::broadcast::{align, broadcast_dims, broadcast_shapes};
use super::{check_count, masks, owner, shapes_text};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};

/// The configuration of an elementwise merge layer (Keras' `Add`, `Subtract`, `Multiply`,
/// `Average`, `Maximum`, `Minimum` take no other argument).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct MergeConfig {
    /// Layer name.
    pub name: String,
}

/// What an elementwise merge computes from its inputs `x0, x1, ..`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MergeOp {
    /// `x0 + x1 + ..`.
    Add,
    /// `x0 - x1` (exactly two inputs).
    Subtract,
    /// `x0 * x1 * ..`.
    Multiply,
    /// `(x0 + x1 + ..) / n`.
    Average,
    /// The largest of `x0, x1, ..`.
    Maximum,
    /// The smallest of `x0, x1, ..`.
    Minimum,
}

impl MergeOp {
    /// Every op, in the order of the [`Merge`] type parameter (`MergeOp::Add as u8` is 0).
    pub const ALL: [MergeOp; 6] =
        [MergeOp::Add, MergeOp::Subtract, MergeOp::Multiply, MergeOp::Average, MergeOp::Maximum, MergeOp::Minimum];

    /// The Keras class name of the layer computing this op (`"Add"`).
    pub fn class_name(self) -> &'static str {
        match self {
            MergeOp::Add => "Add",
            MergeOp::Subtract => "Subtract",
            MergeOp::Multiply => "Multiply",
            MergeOp::Average => "Average",
            MergeOp::Maximum => "Maximum",
            MergeOp::Minimum => "Minimum",
        }
    }

    /// The greatest number of inputs the op takes.
    fn max_inputs(self) -> usize {
        if self == MergeOp::Subtract {
            2
        } else {
            usize::MAX
        }
    }
}

/// An elementwise merge of two or more inputs ([`Subtract`]: exactly two), the op chosen by
/// `OP` (`MergeOp::... as u8`); used through its names [`Add`], [`Subtract`], [`Multiply`],
/// [`Average`], [`Maximum`] and [`Minimum`].
///
/// # Shapes
/// Inputs of equal per-sample shapes give one output of that shape. As in Keras, shapes may
/// also broadcast: they are aligned on their last axes (an input of lower rank gains axes of
/// size 1 after the batch axis) and each size must equal the others', be 1, or be unknown
/// (`[3, 1]` and `[4]` give `[3, 4]`). Anything else is an error from
/// [`build_inputs`](Layer::build_inputs) naming the layer and the shapes.
///
/// # Masks
/// As in Keras 3: the output mask is the OR of the input masks if every input has one (no mask
/// otherwise). [`Maximum`] and [`Minimum`] leave padded entries out of the comparison and
/// [`Multiply`] counts them as 1 (0 where every input is padded); the others use the values as
/// they are.
///
/// # Panics
/// [`call`](Layer::call) panics if an unknown size turns out not to fit the others, or if a
/// mask does not have its input's shape without the last axis.
///
/// ```
/// use kensho_autograd::Tape;
/// use kensho_core::Tensor;
/// use kensho_layers::{Add, Ctx, Layer, Shape};
/// let mut add = Add::new().with_name("add");
/// let out = add.build_inputs(&[Shape::from([3]), Shape::from([3])], &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(out, [Shape::from([3])]);
/// let tape = Tape::no_grad();
/// let cx = Ctx::new(&tape, false, kensho_core::seeded_rng(0));
/// let a = tape.constant(Tensor::from_vec(vec![1.0, 2.0, 3.0], &[1, 3])?);
/// let b = tape.constant(Tensor::from_vec(vec![10.0, 20.0, 30.0], &[1, 3])?);
/// assert_eq!(add.call(&[a, b], &[None, None], &cx)[0].value().to_vec(), [11.0, 22.0, 33.0]);
/// // Shapes that do not fit are an error naming the layer.
/// let err = add.build_inputs(&[Shape::from([3]), Shape::from([4])], &mut kensho_core::seeded_rng(0));
/// assert!(err.unwrap_err().to_string().contains("Add \"add\" inputs"));
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct Merge<const OP: u8> {
    config: MergeConfig,
}

/// Keras' `Add`: the elementwise sum of two or more inputs.
pub type Add = Merge<{ MergeOp::Add as u8 }>;
/// Keras' `Subtract`: the first of two inputs minus the second, elementwise.
pub type Subtract = Merge<{ MergeOp::Subtract as u8 }>;
/// Keras' `Multiply`: the elementwise product of two or more inputs.
pub type Multiply = Merge<{ MergeOp::Multiply as u8 }>;
/// Keras' `Average`: the elementwise mean of two or more inputs.
pub type Average = Merge<{ MergeOp::Average as u8 }>;
/// Keras' `Maximum`: the elementwise largest of two or more inputs.
pub type Maximum = Merge<{ MergeOp::Maximum as u8 }>;
/// Keras' `Minimum`: the elementwise smallest of two or more inputs.
pub type Minimum = Merge<{ MergeOp::Minimum as u8 }>;

impl<const OP: u8> Merge<OP> {
    /// The op (an `OP` outside [`MergeOp::ALL`] does not compile).
    pub const MERGE_OP: MergeOp = MergeOp::ALL[OP as usize];

    /// The merge layer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The merge layer from its configuration.
    pub fn from_config(config: MergeConfig) -> Self {
        Merge { config }
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> Self {
        self.set_name(name);
        self
    }
}

impl<const OP: u8> Layer for Merge<OP> {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        Self::MERGE_OP.class_name()
    }

    fn config(&self) -> LayerConfig {
        let c = self.config.clone();
        match Self::MERGE_OP {
            MergeOp::Add => LayerConfig::Add(c),
            MergeOp::Subtract => LayerConfig::Subtract(c),
            MergeOp::Multiply => LayerConfig::Multiply(c),
            MergeOp::Average => LayerConfig::Average(c),
            MergeOp::Maximum => LayerConfig::Maximum(c),
            MergeOp::Minimum => LayerConfig::Minimum(c),
        }
    }

    fn build_inputs(&mut self, inputs: &[Shape], _rng: &mut Rng) -> Result<Vec<Shape>> {
        check_count(self, inputs, 2, Self::MERGE_OP.max_inputs())?;
        let out = broadcast_shapes(inputs).ok_or_else(|| {
            Error::invalid(
                format!("{} inputs", owner(self)),
                format!("per-sample shapes {}", shapes_text(inputs)),
                "equal per-sample shapes, or shapes that broadcast (aligned on their last axes, each size \
                 equal to the others', 1 or unknown)",
            )
        })?;
        Ok(vec![out])
    }

    fn call<'t>(&self, inputs: &[Var<'t>], masks: &[Option<Tensor>], _cx: &Ctx<'t>) -> Vec<Var<'t>> {
        let rank = inputs.iter().map(|x| x.shape().len()).max().expect("inputs checked by build");
        let xs: Vec<Var<'t>> = inputs.iter().map(|&x| align(x, rank)).collect();
        let fold = |f: fn(Var<'t>, Var<'t>) -> Var<'t>| xs.iter().copied().reduce(f).expect("two inputs or more");
        let op = Self::MERGE_OP;
        let masked =
            matches!(op, MergeOp::Multiply | MergeOp::Maximum | MergeOp::Minimum) && masks.iter().any(Option::is_some);
        let out = if masked {
            let shapes: Vec<Vec<usize>> = xs.iter().map(Var::shape).collect();
            let out_shape = broadcast_dims(shapes.iter().map(Vec::as_slice));
            let spread = masks::spread(&owner(self), inputs, masks, &out_shape);
            match op {
                MergeOp::Multiply => masks::masked_product(&xs, &spread),
                MergeOp::Maximum => masks::masked_fold(&xs, &spread, Var::maximum),
                _ => masks::masked_fold(&xs, &spread, Var::minimum),
            }
        } else {
            match op {
                MergeOp::Add => fold(Var::add),
                MergeOp::Subtract => xs[0].sub(xs[1]),
                MergeOp::Multiply => fold(Var::mul),
                MergeOp::Average => fold(Var::add).mul_scalar(1.0 / xs.len() as f32),
                MergeOp::Maximum => fold(Var::maximum),
                MergeOp::Minimum => fold(Var::minimum),
            }
        };
        vec![out]
    }

    fn compute_mask(&self, _inputs: &[Var<'_>], masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![masks::any_of(masks)]
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        super::torch_layout()
    }
}
