//! Reading ONNX data for the importer: initializers and `Constant` values as kensho tensors
//! (float32) or integer lists (int64), and node attributes by name.

use crate::onnx::proto::{self, AttributeProto, NodeProto, TensorProto};
use kensho_core::{Error, Result, Tensor};

/// The float32 tensor held by `t` (from `float_data` or little-endian `raw_data`).
///
/// # Errors
/// Another element type, a negative dimension, or a data length that does not match the dims.
pub(super) fn float_tensor(t: &TensorProto) -> Result<Tensor> {
    let what = || format!("ONNX import: initializer \"{}\"", t.name);
    if t.data_type != proto::FLOAT {
        return Err(Error::invalid(what(), format!("element type {}", t.data_type), "float32 (type 1)"));
    }
    let dims = dims(t)?;
    let data: Vec<f32> =
        if t.raw_data.is_empty() { t.float_data.clone() } else { le_words::<4>(t)?.map(f32::from_le_bytes).collect() };
    if data.is_empty() && dims.iter().product::<usize>() > 0 {
        let expected = "the values in the file (weights in an external data file are not read: export with \
            torch.onnx.export(.., external_data=False) or save with onnx.save(.., save_as_external_data=False))";
        return Err(Error::invalid(what(), format!("no values for dims {dims:?}"), expected));
    }
    Tensor::from_vec(data, &dims).map_err(|_| {
        Error::invalid(
            what(),
            format!("{} values for dims {dims:?}", stored_floats(t)),
            "as many values as the dims hold",
        )
    })
}

/// The int64 values held by `t` (from `int64_data` or little-endian `raw_data`), flattened.
///
/// # Errors
/// Another element type or a malformed `raw_data`.
pub(super) fn int_values(t: &TensorProto) -> Result<Vec<i64>> {
    if t.data_type != proto::INT64 {
        return Err(Error::invalid(
            format!("ONNX import: initializer \"{}\"", t.name),
            format!("element type {}", t.data_type),
            "int64 (type 7)",
        ));
    }
    Ok(if t.raw_data.is_empty() { t.int64_data.clone() } else { le_words::<8>(t)?.map(i64::from_le_bytes).collect() })
}

/// The dims of `t` as sizes.
fn dims(t: &TensorProto) -> Result<Vec<usize>> {
    t.dims
        .iter()
        .map(|&d| {
            usize::try_from(d).map_err(|_| {
                Error::invalid(format!("ONNX import: initializer \"{}\" dims", t.name), d, "sizes of at least 0")
            })
        })
        .collect()
}

/// The number of float32 values stored in `t` (for messages).
fn stored_floats(t: &TensorProto) -> usize {
    if t.raw_data.is_empty() {
        t.float_data.len()
    } else {
        t.raw_data.len() / 4
    }
}

/// The `raw_data` of `t` as little-endian words of `N` bytes.
fn le_words<const N: usize>(t: &TensorProto) -> Result<impl Iterator<Item = [u8; N]> + '_> {
    if !t.raw_data.len().is_multiple_of(N) {
        return Err(Error::invalid(
            format!("ONNX import: initializer \"{}\" raw_data", t.name),
            format!("{} bytes", t.raw_data.len()),
            format!("a multiple of {N} bytes"),
        ));
    }
    Ok(t.raw_data.chunks_exact(N).map(|c| c.try_into().expect("chunks of N bytes")))
}

/// The attribute `name` of `node`, if set.
fn attribute<'a>(node: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

/// The integer attribute `name` of `node`, or `default`.
pub(super) fn attr_int(node: &NodeProto, name: &str, default: i64) -> i64 {
    attribute(node, name).and_then(|a| a.i).unwrap_or(default)
}

/// The float attribute `name` of `node`, or `default`.
pub(super) fn attr_float(node: &NodeProto, name: &str, default: f32) -> f32 {
    attribute(node, name).and_then(|a| a.f).unwrap_or(default)
}

/// The list-of-integers attribute `name` of `node`, if set.
pub(super) fn attr_ints(node: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attribute(node, name).map(|a| a.ints.clone())
}

/// The string attribute `name` of `node`, if set.
pub(super) fn attr_string(node: &NodeProto, name: &str) -> Option<String> {
    attribute(node, name).and_then(|a| a.s.as_ref()).map(|s| String::from_utf8_lossy(s).into_owned())
}

/// The tensor attribute `name` of `node` (a `Constant`'s `value`), if set.
pub(super) fn attr_tensor<'a>(node: &'a NodeProto, name: &str) -> Option<&'a TensorProto> {
    attribute(node, name).and_then(|a| a.t.as_ref())
}
