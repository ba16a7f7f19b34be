//! The pooling family: MaxPooling1D/2D and AveragePooling1D/2D as ONNX `MaxPool` /
//! `AveragePool` between Transposes to and from channels_first (same padding as explicit pads
//! that an average does not count, as Keras); the global poolings as reductions over the
//! spatial axes, over the real steps only for a masked sequence.

use super::conv::{to_channels_first, to_channels_last, window_pads};
use super::Value;
use crate::onnx::graph::{Attr, OnnxGraph};
use kensho_core::Result;
use kensho_layers::{GlobalPoolConfig, Layer, PoolConfig, Shape};

/// MaxPooling1D/2D (`max`) and AveragePooling1D/2D.
pub(crate) fn pool(
    layer: &dyn Layer,
    c: &PoolConfig,
    max: bool,
    x: &Value,
    out: &Shape,
    g: &mut OnnxGraph,
) -> Result<Vec<Value>> {
    let n = c.pool_size.len();
    let strides = c.strides.clone().unwrap_or_else(|| c.pool_size.clone());
    let input = &x.shape.dims()[..n];
    let pads = window_pads(layer, input, &c.pool_size, &strides, &vec![1; n], c.padding)?;
    let ints = |v: &[usize]| v.iter().map(|&x| x as i64).collect::<Vec<i64>>();
    let mut attrs = vec![
        Attr::ints("kernel_shape", &ints(&c.pool_size)),
        Attr::ints("strides", &ints(&strides)),
        Attr::ints("pads", &pads),
    ];
    if !max {
        attrs.push(Attr::int("count_include_pad", 0));
    }
    let xt = to_channels_first(g, &x.name, n);
    let y = g.op(if max { "MaxPool" } else { "AveragePool" }, &[&xt], attrs);
    Ok(vec![Value::new(to_channels_last(g, &y, n), out.clone())])
}

/// GlobalMax/AveragePooling1D/2D (`max`): the reduction over the spatial axes (kept with
/// `keepdims`). A masked sequence pools its real steps only, as kensho does: the mean divides
/// by their count (at least 1); the maximum sees padded steps pushed 1e9 down.
pub(crate) fn global_pool(c: &GlobalPoolConfig, max: bool, x: &Value, out: &Shape, g: &mut OnnxGraph) -> Vec<Value> {
    let n = x.shape.rank() - 1;
    let axes: Vec<i64> = (1..=n as i64).collect();
    let keepdims = Attr::int("keepdims", c.keepdims as i64);
    let y = match x.mask.as_deref().filter(|_| n == 1) {
        None => {
            g.op(if max { "ReduceMax" } else { "ReduceMean" }, &[&x.name], vec![Attr::ints("axes", &axes), keepdims])
        }
        Some(mask) => {
            let m = g.op("Cast", &[mask], vec![Attr::int("to", crate::onnx::proto::FLOAT as i64)]);
            let steps = g.ints("axes", &[2]);
            let m = g.op("Unsqueeze", &[&m, &steps], vec![]);
            if max {
                let (one, big) = (g.scalar("one", 1.0), g.scalar("big", 1e9));
                let offset = g.op("Sub", &[&m, &one], vec![]);
                let offset = g.op("Mul", &[&offset, &big], vec![]);
                let shifted = g.op("Add", &[&x.name, &offset], vec![]);
                g.op("ReduceMax", &[&shifted], vec![Attr::ints("axes", &[1]), keepdims])
            } else {
                let (one, time) = (g.scalar("one", 1.0), g.ints("time", &[1]));
                let masked = g.op("Mul", &[&x.name, &m], vec![]);
                let sum = g.op("ReduceSum", &[&masked, &time], vec![keepdims.clone()]);
                let count = g.op("ReduceSum", &[&m, &time], vec![keepdims]);
                let count = g.op("Max", &[&count, &one], vec![]);
                g.op("Div", &[&sum, &count], vec![])
            }
        }
    };
    vec![Value::new(y, out.clone())]
}
