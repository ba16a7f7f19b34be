//! [`Dot`]: the dot product of two inputs along an axis of each, sample by sample (Keras'
//! `Dot`, with `batch_dot`'s shapes), optionally of the L2-normalised inputs (the cosine
//! similarity).

use super::{check_count, owner, shapes_text};
use crate::layer::{Ctx, Layer, LayerConfig};
use crate::{Shape, TorchLayout};
use kensho_autograd::Var;
use kensho_core::{Error, Result, Rng, Tensor};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Keras 3's floor on the squared norm when normalising: its `epsilon` (1e-7) squared, so that
/// a zero vector gives zeros and a finite gradient.
const NORM_FLOOR: f32 = 1e-14;

/// The axes a [`Dot`] sums over, counted on the batched inputs (the batch axis is 0 and cannot
/// be one of them; negative counts from the end). Serialized as Keras writes `axes`: a number
/// or a pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum DotAxes {
    /// The same axis of both inputs (negative: counted from the end of each input).
    Same(i64),
    /// Axis `.0` of the first input and axis `.1` of the second.
    Pair(i64, i64),
}

impl From<i64> for DotAxes {
    fn from(axis: i64) -> DotAxes {
        DotAxes::Same(axis)
    }
}

impl From<i32> for DotAxes {
    fn from(axis: i32) -> DotAxes {
        DotAxes::Same(axis.into())
    }
}

impl From<[i64; 2]> for DotAxes {
    fn from([a, b]: [i64; 2]) -> DotAxes {
        DotAxes::Pair(a, b)
    }
}

impl From<[i32; 2]> for DotAxes {
    fn from([a, b]: [i32; 2]) -> DotAxes {
        DotAxes::Pair(a.into(), b.into())
    }
}

impl fmt::Display for DotAxes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DotAxes::Same(a) => write!(f, "{a}"),
            DotAxes::Pair(a, b) => write!(f, "({a}, {b})"),
        }
    }
}

/// The configuration of a [`Dot`] layer (Keras' names and defaults).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DotConfig {
    /// Layer name.
    pub name: String,
    /// The axis of each input to sum over.
    pub axes: DotAxes,
    /// Whether each input is L2-normalised along its axis first (default false).
    #[serde(default)]
    pub normalize: bool,
}

/// The dot product of two inputs `x` and `y` along axis `a` of `x` and axis `b` of `y`, per
/// sample: Keras' `Dot(axes, normalize=False)`.
///
/// # Shapes
/// The output holds the axes of `x` but `a`, then those of `y` but the batch axis and `b`; an
/// output with the batch axis alone becomes `[batch, 1]`. So `[batch, n]` and `[batch, n]` with
/// `axes = 1` give `[batch, 1]` (one dot product per sample), and `[batch, t, d]` and
/// `[batch, u, d]` with `axes = 2` give `[batch, t, u]` (a batched `x · yᵀ`, as attention
/// scores). The sizes along the two axes must be equal (or unknown).
///
/// With [`normalize`](Dot::normalize), each input is first divided by its L2 norm along its
/// axis, `x / sqrt(max(Σ x², 1e-14))` (Keras 3's floor, its epsilon 1e-7 squared), so the
/// output is the cosine similarity. The output has no mask, as in Keras.
///
/// ```
/// use kensho_layers::{Dot, Layer, Shape};
/// let mut dot = Dot::new(2);
/// let out = dot.build_inputs(&[Shape::from([5, 8]), Shape::from([7, 8])], &mut kensho_core::seeded_rng(0))?;
/// assert_eq!(out, [Shape::from([5, 7])]);
/// let mut cosine = Dot::new([1, 1]).normalize(true);
/// assert_eq!(cosine.build_inputs(&[Shape::from([4]), Shape::from([4])], &mut kensho_core::seeded_rng(0))?, [Shape::from([1])]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Dot {
    config: DotConfig,
}

impl Dot {
    /// The dot product along `axes`: one axis for both inputs (`Dot::new(1)`) or one for each
    /// (`Dot::new([1, 2])`), counted on the batched inputs.
    pub fn new(axes: impl Into<DotAxes>) -> Dot {
        Dot::from_config(DotConfig { name: String::new(), axes: axes.into(), normalize: false })
    }

    /// Whether to L2-normalise each input along its axis first (Keras' `normalize`).
    pub fn normalize(mut self, normalize: bool) -> Dot {
        self.config.normalize = normalize;
        self
    }

    /// A dot layer from its configuration.
    pub fn from_config(config: DotConfig) -> Dot {
        Dot { config }
    }

    /// Gives the layer a name instead of the automatic one (Keras' `name=`).
    pub fn with_name(mut self, name: &str) -> Dot {
        self.set_name(name);
        self
    }

    /// The axes of batched inputs of ranks `ranks`, if both are axes other than the batch axis.
    fn resolve_axes(&self, ranks: [usize; 2]) -> Option<[usize; 2]> {
        let (a, b) = match self.config.axes {
            DotAxes::Same(a) => (a, a),
            DotAxes::Pair(a, b) => (a, b),
        };
        let resolve = |axis: i64, rank: usize| {
            let resolved = if axis < 0 { rank as i64 + axis } else { axis };
            (1..rank as i64).contains(&resolved).then_some(resolved as usize)
        };
        Some([resolve(a, ranks[0])?, resolve(b, ranks[1])?])
    }
}

/// `x` divided by its L2 norm along `axis` (floored, as Keras).
fn l2_normalize(x: Var<'_>, axis: usize) -> Var<'_> {
    x.div(x.mul(x).sum_axes(&[axis], true).clip(NORM_FLOOR, f32::MAX).sqrt())
}

/// `x` with its axes in the order `perm`, or `x` itself if that is the identity.
fn permuted<'t>(x: Var<'t>, perm: &[usize]) -> Var<'t> {
    if perm.iter().enumerate().all(|(i, &p)| i == p) {
        x
    } else {
        x.permute(perm)
    }
}

/// Keras' `batch_dot` along axis `a` of `x` and `b` of `y`: one batched matrix product of `x`
/// as `[batch, rest of x, k]` and `y` as `[batch, k, rest of y]`, reshaped to the output.
fn batch_dot<'t>(x: Var<'t>, y: Var<'t>, a: usize, b: usize) -> Var<'t> {
    let (xs, ys) = (x.shape(), y.shape());
    let (batch, k) = (xs[0], xs[a]);
    let x_rest: Vec<usize> = (1..xs.len()).filter(|&i| i != a).collect();
    let y_rest: Vec<usize> = (1..ys.len()).filter(|&i| i != b).collect();
    let p: usize = x_rest.iter().map(|&i| xs[i]).product();
    let q: usize = y_rest.iter().map(|&i| ys[i]).product();
    let x_perm: Vec<usize> = std::iter::once(0).chain(x_rest.iter().copied()).chain([a]).collect();
    let y_perm: Vec<usize> = [0, b].into_iter().chain(y_rest.iter().copied()).collect();
    let product = permuted(x, &x_perm).reshape(&[batch, p, k]).matmul(permuted(y, &y_perm).reshape(&[batch, k, q]));
    let mut out: Vec<usize> = std::iter::once(batch).chain(x_rest.iter().map(|&i| xs[i])).collect();
    out.extend(y_rest.iter().map(|&i| ys[i]));
    if out.len() == 1 {
        out.push(1);
    }
    product.reshape(&out)
}

impl Layer for Dot {
    fn name(&self) -> &str {
        &self.config.name
    }

    fn set_name(&mut self, name: &str) {
        self.config.name = name.to_string();
    }

    fn kind(&self) -> &'static str {
        "Dot"
    }

    fn config(&self) -> LayerConfig {
        LayerConfig::Dot(self.config.clone())
    }

    fn build_inputs(&mut self, inputs: &[Shape], _rng: &mut Rng) -> Result<Vec<Shape>> {
        check_count(self, inputs, 2, 2)?;
        let (x, y) = (&inputs[0], &inputs[1]);
        let Some([a, b]) = self.resolve_axes([x.rank() + 1, y.rank() + 1]) else {
            return Err(Error::invalid(
                format!("{} axes", owner(self)),
                format!("{} for inputs of per-sample shapes {}", self.config.axes, shapes_text(inputs)),
                "an axis of each batched input other than the batch axis 0 (1 to the input's rank - 1, or \
                 negative from the end)",
            ));
        };
        if let Some((da, db)) = x.dims()[a - 1].zip(y.dims()[b - 1]).filter(|(da, db)| da != db) {
            return Err(Error::invalid(
                format!("{} inputs", owner(self)),
                format!("per-sample shapes {}, of sizes {da} and {db} on axes {a} and {b}", shapes_text(inputs)),
                "equal sizes along the axes of the dot product",
            ));
        }
        let rest = |s: &Shape, skip: usize| -> Vec<Option<usize>> {
            s.dims().iter().enumerate().filter(|&(i, _)| i + 1 != skip).map(|(_, &d)| d).collect()
        };
        let mut out = rest(x, a);
        out.extend(rest(y, b));
        if out.is_empty() {
            out.push(Some(1));
        }
        Ok(vec![Shape::new(out)])
    }

    fn call<'t>(&self, inputs: &[Var<'t>], _masks: &[Option<Tensor>], _cx: &Ctx<'t>) -> Vec<Var<'t>> {
        let (mut x, mut y) = (inputs[0], inputs[1]);
        let [a, b] = self.resolve_axes([x.shape().len(), y.shape().len()]).expect("axes checked by build");
        if self.config.normalize {
            (x, y) = (l2_normalize(x, a), l2_normalize(y, b));
        }
        vec![batch_dot(x, y, a, b)]
    }

    fn compute_mask(&self, _inputs: &[Var<'_>], _masks: &[Option<Tensor>]) -> Vec<Option<Tensor>> {
        vec![None] // a dot product mixes the positions a mask marks, as in Keras
    }

    fn torch_layout(&self) -> Option<TorchLayout> {
        super::torch_layout()
    }
}
