//! [`OnnxGraph`]: the ONNX graph being written — nodes in order, initializers (the weights and
//! constant shapes) and unique value names — and [`Attr`], a node attribute.
//!
//! Every value name in the graph is unique: node outputs are fresh names made from the layer
//! being exported and the operator (`dense_1/MatMul`), weights keep the kensho name
//! (`dense_1.kernel`), and a clash gets a numeric suffix.

use super::proto::{
    self, tensor_shape_proto::dimension, tensor_shape_proto::Dimension, type_proto, AttributeProto, AttributeType,
    NodeProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};
use kensho_core::Tensor;
use std::collections::HashSet;

/// A node attribute: a name and a value of one of ONNX's attribute types.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Attr(AttributeProto);

impl Attr {
    fn base(name: &str, kind: AttributeType) -> AttributeProto {
        AttributeProto { name: name.to_string(), r#type: kind as i32, ..Default::default() }
    }

    /// An integer attribute.
    pub(crate) fn int(name: &str, value: i64) -> Attr {
        Attr(AttributeProto { i: Some(value), ..Attr::base(name, AttributeType::Int) })
    }

    /// A list-of-integers attribute.
    pub(crate) fn ints(name: &str, values: &[i64]) -> Attr {
        Attr(AttributeProto { ints: values.to_vec(), ..Attr::base(name, AttributeType::Ints) })
    }

    /// A float attribute.
    pub(crate) fn float(name: &str, value: f32) -> Attr {
        Attr(AttributeProto { f: Some(value), ..Attr::base(name, AttributeType::Float) })
    }

    /// A list-of-floats attribute.
    #[allow(dead_code)] // part of the seam the layer families code against; no family needs it yet
    pub(crate) fn floats(name: &str, values: &[f32]) -> Attr {
        Attr(AttributeProto { floats: values.to_vec(), ..Attr::base(name, AttributeType::Floats) })
    }

    /// A string attribute.
    pub(crate) fn string(name: &str, value: &str) -> Attr {
        Attr(AttributeProto { s: Some(value.as_bytes().to_vec()), ..Attr::base(name, AttributeType::String) })
    }

    /// A list-of-strings attribute (for example a recurrent node's `activations`).
    pub(crate) fn strings(name: &str, values: &[&str]) -> Attr {
        let strings = values.iter().map(|v| v.as_bytes().to_vec()).collect();
        Attr(AttributeProto { strings, ..Attr::base(name, AttributeType::Strings) })
    }

    /// A tensor attribute (for example the value of a `Constant`).
    #[allow(dead_code)] // part of the seam the layer families code against; no family needs it yet
    pub(crate) fn tensor(name: &str, value: TensorProto) -> Attr {
        Attr(AttributeProto { t: Some(value), ..Attr::base(name, AttributeType::Tensor) })
    }
}

/// The graph being written: nodes in topological order, initializers and the names in use.
#[derive(Debug, Default)]
pub(crate) struct OnnxGraph {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    taken: HashSet<String>,
    /// The prefix of fresh names: the kensho layer being exported.
    scope: String,
}

impl OnnxGraph {
    /// An empty graph.
    pub(crate) fn new() -> OnnxGraph {
        OnnxGraph::default()
    }

    /// Names the nodes and values made from now on after the layer `layer`.
    pub(crate) fn set_scope(&mut self, layer: &str) {
        self.scope = layer.to_string();
    }

    /// Marks `name` as used, so that no fresh name takes it.
    pub(crate) fn reserve(&mut self, name: &str) {
        self.taken.insert(name.to_string());
    }

    /// `base` if unused, else `base_1`, `base_2`, ... (the first unused), now marked as used.
    pub(crate) fn unique(&mut self, base: &str) -> String {
        let name = (0..)
            .map(|i| if i == 0 { base.to_string() } else { format!("{base}_{i}") })
            .find(|n| !self.taken.contains(n))
            .expect("an unused name exists");
        self.taken.insert(name.clone());
        name
    }

    /// A fresh name in the current scope: `scope/hint`.
    fn fresh(&mut self, hint: &str) -> String {
        let base = if self.scope.is_empty() { hint.to_string() } else { format!("{}/{hint}", self.scope) };
        self.unique(&base)
    }

    /// Adds a node of `op_type` reading `inputs` and returns the name of its one output.
    pub(crate) fn op(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<Attr>) -> String {
        self.op_n(op_type, inputs, attrs, 1).remove(0)
    }

    /// Adds a node of `op_type` with `outputs` outputs and returns their names; an omitted
    /// optional input is `""`.
    pub(crate) fn op_n(&mut self, op_type: &str, inputs: &[&str], attrs: Vec<Attr>, outputs: usize) -> Vec<String> {
        let output: Vec<String> = match outputs {
            1 => vec![self.fresh(op_type)],
            n => (0..n).map(|k| self.fresh(&format!("{op_type}.{k}"))).collect(),
        };
        let name = format!("{}#node", output[0]);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: output.clone(),
            name,
            op_type: op_type.to_string(),
            attribute: attrs.into_iter().map(|a| a.0).collect(),
            ..Default::default()
        });
        output
    }

    /// Adds `tensor` as an initializer named `name` (made unique) and returns its name.
    fn initializer(&mut self, name: &str, mut tensor: TensorProto) -> String {
        tensor.name = self.unique(name);
        let name = tensor.name.clone();
        self.initializers.push(tensor);
        name
    }

    /// A float initializer holding `t`, named after the kensho weight (`dense.kernel`).
    pub(crate) fn weight(&mut self, name: &str, t: &Tensor) -> String {
        self.initializer(name, float_tensor(t.shape(), &t.to_vec()))
    }

    /// A 1-D int64 initializer (shapes, axes, pads), named `scope/hint`.
    pub(crate) fn ints(&mut self, hint: &str, values: &[i64]) -> String {
        self.int_tensor(hint, &[values.len() as i64], values)
    }

    /// A 0-d int64 initializer (an axis given as an input, as `CumSum` takes it), named
    /// `scope/hint`.
    pub(crate) fn int_scalar(&mut self, hint: &str, value: i64) -> String {
        self.int_tensor(hint, &[], &[value])
    }

    /// An int64 initializer of shape `dims`, named `scope/hint`.
    fn int_tensor(&mut self, hint: &str, dims: &[i64], values: &[i64]) -> String {
        let raw = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let tensor = TensorProto { dims: dims.to_vec(), data_type: proto::INT64, raw_data: raw, ..Default::default() };
        let name = self.scoped(hint);
        self.initializer(&name, tensor)
    }

    /// A 1-D float initializer (scales), named `scope/hint`.
    pub(crate) fn floats(&mut self, hint: &str, values: &[f32]) -> String {
        let name = self.scoped(hint);
        self.initializer(&name, float_tensor(&[values.len()], values))
    }

    /// A 0-d float initializer, named `scope/hint`.
    pub(crate) fn scalar(&mut self, hint: &str, v: f32) -> String {
        let name = self.scoped(hint);
        self.initializer(&name, float_tensor(&[], &[v]))
    }

    /// `scope/hint`, not yet reserved.
    fn scoped(&self, hint: &str) -> String {
        if self.scope.is_empty() {
            hint.to_string()
        } else {
            format!("{}/{hint}", self.scope)
        }
    }

    /// Declares a float graph input `name` of shape `[batch, dims..]` (`None` dims symbolic).
    pub(crate) fn input(&mut self, name: &str, dims: &[Option<usize>]) {
        self.reserve(name);
        self.inputs.push(value_info(name, dims));
    }

    /// Declares `value` as the float graph output `name` of shape `[batch, dims..]`, through an
    /// `Identity` node when the names differ.
    pub(crate) fn output(&mut self, name: &str, value: &str, dims: &[Option<usize>]) {
        if name != value {
            self.nodes.push(NodeProto {
                input: vec![value.to_string()],
                output: vec![name.to_string()],
                name: format!("{name}#node"),
                op_type: "Identity".to_string(),
                ..Default::default()
            });
        }
        self.outputs.push(value_info(name, dims));
    }

    /// The finished graph named `name`.
    pub(crate) fn into_proto(self, name: &str) -> proto::GraphProto {
        proto::GraphProto {
            node: self.nodes,
            name: name.to_string(),
            initializer: self.initializers,
            input: self.inputs,
            output: self.outputs,
            ..Default::default()
        }
    }
}

/// A float tensor of shape `dims` holding `values` (row-major).
pub(crate) fn float_tensor(dims: &[usize], values: &[f32]) -> TensorProto {
    TensorProto {
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: proto::FLOAT,
        raw_data: values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A float tensor value of shape `[batch, dims..]`: the batch axis is the symbol `batch`, an
/// unknown per-sample axis the symbol `name_dimK`.
fn value_info(name: &str, dims: &[Option<usize>]) -> ValueInfoProto {
    let symbolic = |k: usize| dimension::Value::DimParam(format!("{name}_dim{k}"));
    let batch = Dimension { value: Some(dimension::Value::DimParam("batch".to_string())) };
    let rest = dims.iter().enumerate().map(|(k, d)| Dimension {
        value: Some(d.map_or_else(|| symbolic(k + 1), |d| dimension::Value::DimValue(d as i64))),
    });
    let shape = TensorShapeProto { dim: std::iter::once(batch).chain(rest).collect() };
    let tensor = type_proto::Tensor { elem_type: proto::FLOAT, shape: Some(shape) };
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto { value: Some(type_proto::Value::TensorType(tensor)) }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_names_are_unique_and_scoped() {
        let mut g = OnnxGraph::new();
        g.set_scope("dense");
        let a = g.op("Relu", &["x"], vec![]);
        let b = g.op("Relu", &[&a], vec![]);
        assert_eq!(a, "dense/Relu");
        assert_eq!(b, "dense/Relu_1");
        let w = g.weight("dense.kernel", &Tensor::zeros(&[2, 3]));
        let w2 = g.weight("dense.kernel", &Tensor::zeros(&[2, 3]));
        assert_eq!((w.as_str(), w2.as_str()), ("dense.kernel", "dense.kernel_1"));
        let outs = g.op_n("Split", &[&b, ""], vec![Attr::int("axis", 1)], 2);
        assert_eq!(outs.len(), 2);
        assert_ne!(outs[0], outs[1]);
        let graph = g.into_proto("m");
        assert_eq!(graph.node.len(), 3);
        assert_eq!(graph.node[2].input, vec![b, String::new()]);
        assert_eq!(graph.initializer[0].dims, vec![2, 3]);
        assert_eq!(graph.initializer[0].raw_data.len(), 24);
    }

    #[test]
    fn int_and_scalar_initializers_hold_their_values() {
        let mut g = OnnxGraph::new();
        let shape = g.ints("shape", &[-1, 12]);
        let half = g.scalar("half", 0.5);
        let axis = g.int_scalar("axis", 1);
        let graph = g.into_proto("m");
        let ints = &graph.initializer[0];
        assert_eq!((ints.name.as_str(), ints.data_type, ints.dims.clone()), (shape.as_str(), proto::INT64, vec![2]));
        assert_eq!(ints.raw_data[..8], (-1i64).to_le_bytes());
        assert_eq!(ints.raw_data[8..], 12i64.to_le_bytes());
        let scalar = &graph.initializer[1];
        assert_eq!((scalar.name.as_str(), scalar.dims.len()), (half.as_str(), 0));
        assert_eq!(scalar.raw_data, 0.5f32.to_le_bytes());
        let int = &graph.initializer[2];
        assert_eq!((int.name.as_str(), int.dims.len(), int.data_type), (axis.as_str(), 0, proto::INT64));
        assert_eq!(int.raw_data, 1i64.to_le_bytes());
    }

    #[test]
    fn attributes_keep_zero_values() {
        let Attr(a) = Attr::int("axis", 0);
        assert_eq!((a.i, a.r#type), (Some(0), AttributeType::Int as i32));
        let Attr(f) = Attr::floats("scales", &[1.0, 2.0]);
        assert_eq!((f.floats, f.r#type), (vec![1.0, 2.0], AttributeType::Floats as i32));
        let Attr(s) = Attr::string("mode", "nearest");
        assert_eq!(s.s.as_deref(), Some(&b"nearest"[..]));
        let Attr(names) = Attr::strings("activations", &["Sigmoid", "Tanh"]);
        assert_eq!(
            (names.strings, names.r#type),
            (vec![b"Sigmoid".to_vec(), b"Tanh".to_vec()], AttributeType::Strings as i32)
        );
    }
}
