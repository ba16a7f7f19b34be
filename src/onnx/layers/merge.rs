//! ONNX export of the merge layers: the elementwise merges (`Add`, `Subtract`, `Multiply`,
//! `Average`, `Maximum`, `Minimum`), `Concatenate` and `Dot`, with kensho's broadcasting (a
//! lower-rank input gains axes of size 1 just after the batch axis, where ONNX's NumPy rule
//! would put them first) and its masks (Keras 3's rules, see `kensho_layers::merge`).

use super::{unsqueeze, Value};
use crate::onnx::graph::{Attr, OnnxGraph};
use crate::onnx::proto::{self, TensorProto};
use kensho_core::{Error, Result};
use kensho_layers::{ConcatenateConfig, DotAxes, DotConfig, Layer, MergeOp, Shape};

/// Keras 3's floor on the squared norm in `Dot(normalize=True)`: its epsilon 1e-7, squared.
const NORM_FLOOR: f32 = 1e-14;

/// `x`, a value (or mask) of an input of per-sample rank `rank`, aligned to rank `to` as kensho
/// aligns merge inputs: `to - rank` axes of size 1 inserted just after the batch axis (none if
/// `rank >= to`).
fn aligned(g: &mut OnnxGraph, x: &str, rank: usize, to: usize) -> String {
    if rank >= to {
        return x.to_string();
    }
    let axes: Vec<i64> = (1..=(to - rank) as i64).collect();
    unsqueeze(g, x, &axes)
}

/// The inputs' masks aligned to the rank of the output's mask, if every input has one.
fn all_masks(g: &mut OnnxGraph, inputs: &[Value], out_rank: usize) -> Option<Vec<String>> {
    let masks: Vec<(&str, usize)> =
        inputs.iter().map(|v| v.mask.as_deref().map(|m| (m, v.shape.rank()))).collect::<Option<_>>()?;
    Some(masks.into_iter().map(|(m, rank)| aligned(g, m, rank, out_rank)).collect())
}

/// Folds `values` pairwise with the binary op `op_type`.
fn fold(g: &mut OnnxGraph, op_type: &str, values: &[String]) -> String {
    let mut out = values[0].clone();
    for v in &values[1..] {
        out = g.op(op_type, &[&out, v], vec![]);
    }
    out
}

/// An elementwise merge `op` of `inputs` (two or more, already checked by the model's build),
/// broadcasting as kensho does, with Keras' masks: the output mask is the OR of the inputs'
/// if all have one; `Multiply` counts padded entries as 1 and `Maximum` / `Minimum` leave them
/// out of the comparison.
pub(crate) fn elementwise(op: MergeOp, inputs: &[Value], output: &Shape, g: &mut OnnxGraph) -> Result<Vec<Value>> {
    let rank = output.rank();
    let xs: Vec<String> = inputs.iter().map(|v| aligned(g, &v.name, v.shape.rank(), rank)).collect();
    let masked = matches!(op, MergeOp::Multiply | MergeOp::Maximum | MergeOp::Minimum)
        && inputs.iter().any(|v| v.mask.is_some());
    let name = if masked {
        let masks = spread_masks(g, inputs, rank);
        match op {
            MergeOp::Multiply => masked_product(g, &xs, &masks),
            MergeOp::Maximum => masked_fold(g, &xs, &masks, "Max"),
            _ => masked_fold(g, &xs, &masks, "Min"),
        }
    } else {
        // Pairwise, left to right, as kensho folds (and the mean as its sum times 1 / n).
        match op {
            MergeOp::Add => fold(g, "Add", &xs),
            MergeOp::Subtract => fold(g, "Sub", &xs),
            MergeOp::Multiply => fold(g, "Mul", &xs),
            MergeOp::Average => {
                let sum = fold(g, "Add", &xs);
                let inverse = g.scalar("inverse_count", 1.0 / xs.len() as f32);
                g.op("Mul", &[&sum, &inverse], vec![])
            }
            MergeOp::Maximum => fold(g, "Max", &xs),
            MergeOp::Minimum => fold(g, "Min", &xs),
        }
    };
    let mask = all_masks(g, inputs, rank).map(|masks| fold(g, "Or", &masks));
    Ok(vec![Value { name, shape: output.clone(), mask }])
}

/// Each input's mask aligned to the output's rank `rank` with a last axis of size 1, to
/// broadcast over the values (`None` for an input without one).
fn spread_masks(g: &mut OnnxGraph, inputs: &[Value], rank: usize) -> Vec<Option<String>> {
    inputs
        .iter()
        .map(|v| {
            let m = aligned(g, v.mask.as_deref()?, v.shape.rank(), rank);
            Some(unsqueeze(g, &m, &[-1]))
        })
        .collect()
}

/// Keras' masked `Multiply`: padded entries count as 1; where every input is padded, 0.
fn masked_product(g: &mut OnnxGraph, xs: &[String], masks: &[Option<String>]) -> String {
    let one = g.scalar("one", 1.0);
    let real: Vec<String> = xs
        .iter()
        .zip(masks)
        .map(|(x, m)| match m {
            Some(m) => g.op("Where", &[m, x, &one], vec![]),
            None => x.clone(),
        })
        .collect();
    let product = fold(g, "Mul", &real);
    match masks.iter().cloned().collect::<Option<Vec<String>>>() {
        Some(all) => {
            let any = fold(g, "Or", &all);
            let zero = g.scalar("zero", 0.0);
            g.op("Where", &[&any, &product, &zero], vec![])
        }
        None => product,
    }
}

/// Keras' masked `Maximum` / `Minimum` (`op_type` `Max` / `Min`): at each position the op over
/// the inputs real there, and where none is, the first input's value.
fn masked_fold(g: &mut OnnxGraph, xs: &[String], masks: &[Option<String>], op_type: &str) -> String {
    let mut out = xs[0].clone();
    let mut out_mask = masks[0].clone();
    for (x, mask) in xs.iter().zip(masks).skip(1) {
        let x = match mask {
            Some(m) => g.op("Where", &[m, x, &out], vec![]),
            None => x.clone(),
        };
        if let Some(m) = &out_mask {
            out = g.op("Where", &[m, &out, &x], vec![]);
        }
        out_mask = match (out_mask, mask) {
            (Some(a), Some(b)) => Some(g.op("Or", &[&a, b], vec![])),
            _ => None,
        };
        out = g.op(op_type, &[&out, &x], vec![]);
    }
    out
}

/// `Concatenate` along its axis (kensho counts it on the batched inputs, as ONNX does). The
/// mask, if an input has one, is Keras': along a middle axis the masks joined (an input
/// without one real everywhere); along the last axis their OR, which is all real (no mask)
/// unless every input has one.
pub(crate) fn concatenate(
    layer: &dyn Layer,
    config: &ConcatenateConfig,
    inputs: &[Value],
    output: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let rank = output.rank() + 1;
    let axis = if config.axis < 0 { rank as i64 + config.axis } else { config.axis };
    if !(1..rank as i64).contains(&axis) {
        return Err(Error::invalid(
            format!("ONNX export of {} \"{}\": axis", layer.kind(), layer.name()),
            config.axis,
            format!("an axis of the batched inputs of rank {rank} other than the batch axis"),
        ));
    }
    let names: Vec<&str> = inputs.iter().map(|v| v.name.as_str()).collect();
    let name = g.op("Concat", &names, vec![Attr::int("axis", axis)]);
    let mask = if inputs.iter().all(|v| v.mask.is_none()) {
        None
    } else if axis as usize == rank - 1 {
        all_masks(g, inputs, rank - 1).map(|masks| fold(g, "Or", &masks))
    } else {
        let masks: Vec<String> =
            inputs.iter().map(|v| v.mask.clone().unwrap_or_else(|| all_real(g, &v.name))).collect();
        let refs: Vec<&str> = masks.iter().map(String::as_str).collect();
        Some(g.op("Concat", &refs, vec![Attr::int("axis", axis)]))
    };
    Ok(vec![Value { name, shape: output.clone(), mask }])
}

/// A mask that is real everywhere for `x`: `true` of `x`'s shape without its last axis.
fn all_real(g: &mut OnnxGraph, x: &str) -> String {
    let shape = g.op("Shape", &[x], vec![Attr::int("end", -1)]);
    let one = TensorProto { dims: vec![1], data_type: proto::BOOL, raw_data: vec![1], ..Default::default() };
    g.op("ConstantOfShape", &[&shape], vec![Attr::tensor("value", one)])
}

/// `Dot`: per sample, the sum of products along one axis of each input (optionally of the
/// L2-normalised inputs), as one `Einsum` whose output keeps the axes of the first input then
/// those of the second. The output has no mask, as in Keras.
pub(crate) fn dot(
    layer: &dyn Layer,
    config: &DotConfig,
    inputs: &[Value],
    output: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let ranks = [inputs[0].shape.rank() + 1, inputs[1].shape.rank() + 1];
    let (a, b) = match config.axes {
        DotAxes::Same(a) => (a, a),
        DotAxes::Pair(a, b) => (a, b),
    };
    let resolve = |axis: i64, rank: usize| {
        let resolved = if axis < 0 { rank as i64 + axis } else { axis };
        (1..rank as i64).contains(&resolved).then_some(resolved as usize)
    };
    let (Some(a), Some(b)) = (resolve(a, ranks[0]), resolve(b, ranks[1])) else {
        return Err(Error::invalid(
            format!("ONNX export of {} \"{}\": axes", layer.kind(), layer.name()),
            config.axes,
            "an axis of each batched input other than the batch axis",
        ));
    };
    // One Einsum letter per axis of either input ('a' for the batch axis).
    let letters: Vec<char> = ('b'..='z').chain('A'..='Z').collect();
    if ranks[0] + ranks[1] - 2 > letters.len() {
        return Err(Error::invalid(
            format!("ONNX export of {} \"{}\": input ranks", layer.kind(), layer.name()),
            format!("{} and {}", ranks[0], ranks[1]),
            format!("ranks of sum at most {} (one Einsum letter per axis)", letters.len() + 2),
        ));
    }
    let mut x = inputs[0].name.clone();
    let mut y = inputs[1].name.clone();
    if config.normalize {
        x = l2_normalize(g, &x, a);
        y = l2_normalize(g, &y, b);
    }
    let x_axes: Vec<char> = letters[..ranks[0] - 1].to_vec();
    let mut y_axes: Vec<char> = letters[ranks[0] - 1..ranks[0] + ranks[1] - 2].to_vec();
    y_axes[b - 1] = x_axes[a - 1];
    let x_rest = x_axes.iter().enumerate().filter(|&(i, _)| i != a - 1).map(|(_, c)| c);
    let y_rest = y_axes.iter().enumerate().filter(|&(i, _)| i != b - 1).map(|(_, c)| c);
    let out_axes: String = x_rest.chain(y_rest).collect();
    let text = |axes: &[char]| format!("a{}", axes.iter().collect::<String>());
    let equation = format!("{},{}->a{out_axes}", text(&x_axes), text(&y_axes));
    let mut name = g.op("Einsum", &[&x, &y], vec![Attr::string("equation", &equation)]);
    if out_axes.is_empty() {
        name = unsqueeze(g, &name, &[1]);
    }
    Ok(vec![Value { name, shape: output.clone(), mask: None }])
}

/// `x / sqrt(max(Σ x², 1e-14))` along `axis`, as Keras' `Dot(normalize=True)`.
fn l2_normalize(g: &mut OnnxGraph, x: &str, axis: usize) -> String {
    let squares = g.op("Mul", &[x, x], vec![]);
    let axes = g.ints("axes", &[axis as i64]);
    let sum = g.op("ReduceSum", &[&squares, &axes], vec![Attr::int("keepdims", 1)]);
    let floor = g.scalar("norm_floor", NORM_FLOOR);
    let floored = g.op("Max", &[&sum, &floor], vec![]);
    let norm = g.op("Sqrt", &[&floored], vec![]);
    g.op("Div", &[x, &norm], vec![])
}
