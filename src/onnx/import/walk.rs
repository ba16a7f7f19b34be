//! [`Importer`]: the walk over an ONNX graph's nodes, in order, that calls kensho layers on
//! symbolic tensors. It holds what each ONNX value has become (a kensho value and its
//! [`Layout`], or a constant), the nodes already folded into an earlier layer (a bias `Add`, an
//! activation), the layer names in use and the weights to set once the model is built.

use super::layout::Layout;
use super::tensors::{float_tensor, int_values};
use crate::onnx::proto::{NodeProto, TensorProto};
use crate::sequential::{snake_case, unused_name};
use crate::symbolic::{SharedLayer, SymbolicTensor};
use kensho_core::{Error, Result, Tensor};
use kensho_layers::Layer;
use std::collections::{HashMap, HashSet};

/// The ONNX operators the importer reads, for error messages.
pub(super) const SUPPORTED: &str = "the ops kensho's own export writes for Dense, Activation, Flatten, Reshape, \
Conv1D/2D, Max/AveragePooling1D/2D, the global poolings, BatchNormalization and the merges (MatMul, Add, Sub, \
Mul, Sum, Mean, Max, Min, Concat, Transpose, Reshape, Identity, Conv, MaxPool, AveragePool, ReduceMean, ReduceMax, \
the activations Relu, LeakyRelu, Elu, Sigmoid, Tanh, Softmax, Softplus, and Silu and Gelu as kensho writes them), \
plus PyTorch's Gemm, Flatten, GlobalAveragePool, GlobalMaxPool, BatchNormalization and Constant";

/// A kensho value standing for an ONNX value: the symbolic tensor and how the ONNX value is
/// laid out relative to it.
#[derive(Clone, Debug)]
pub(super) struct Sym {
    /// The kensho value (channels_last).
    pub t: SymbolicTensor,
    /// The ONNX value's layout relative to `t`.
    pub layout: Layout,
}

impl Sym {
    /// The kensho value's per-sample sizes.
    ///
    /// # Errors
    /// If one is unknown (`node` is named in the message).
    pub(super) fn dims(&self, node: &NodeProto) -> Result<Vec<usize>> {
        self.t.shape().to_known().ok_or_else(|| unsupported(node, "its input has an axis of unknown size"))
    }
}

/// The state of an import: see the module docs.
pub(super) struct Importer<'a> {
    /// The graph's nodes, in order.
    pub nodes: &'a [NodeProto],
    /// Initializers and `Constant` outputs, by name.
    consts: HashMap<String, TensorProto>,
    /// The kensho value of each ONNX value computed so far.
    values: HashMap<String, Sym>,
    /// The nodes reading each value.
    consumers: HashMap<String, Vec<usize>>,
    /// The graph's output names.
    outputs: HashSet<String>,
    /// Nodes folded into an earlier layer: their output is the kensho value of their input
    /// (`true`), or is not read outside the fold (`false`: nothing to record).
    fused: HashMap<usize, bool>,
    /// Layer names in use (and the model's input and output names, kept for them).
    names: HashSet<String>,
    /// The weights of the layers made, by layer name: (weight suffix, value).
    pub weights: HashMap<String, Vec<(&'static str, Tensor)>>,
}

impl<'a> Importer<'a> {
    /// An importer for `nodes`, with the graph's constants and its input and output names
    /// (kept as names for the model's inputs and outputs).
    pub(super) fn new(nodes: &'a [NodeProto], consts: Vec<TensorProto>, reserved: &[String]) -> Importer<'a> {
        let mut consumers: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, node) in nodes.iter().enumerate() {
            for input in node.input.iter().filter(|s| !s.is_empty()) {
                consumers.entry(input.clone()).or_default().push(i);
            }
        }
        Importer {
            nodes,
            consts: consts.into_iter().map(|t| (t.name.clone(), t)).collect(),
            values: HashMap::new(),
            consumers,
            outputs: HashSet::new(),
            fused: HashMap::new(),
            names: reserved.iter().cloned().collect(),
            weights: HashMap::new(),
        }
    }

    /// Marks `name` as a graph output (so that no node is folded across it).
    pub(super) fn add_output(&mut self, name: &str) {
        self.outputs.insert(name.to_string());
    }

    /// Sets the kensho value of the ONNX value `name`.
    pub(super) fn set(&mut self, name: &str, sym: Sym) {
        self.values.insert(name.to_string(), sym);
    }

    /// The kensho value of the ONNX value `name`, if computed.
    pub(super) fn get(&self, name: &str) -> Option<&Sym> {
        self.values.get(name)
    }

    /// Adds a constant (a `Constant` node's value, or an `Identity` of a constant).
    pub(super) fn add_const(&mut self, name: &str, mut t: TensorProto) {
        t.name = name.to_string();
        self.consts.insert(name.to_string(), t);
    }

    /// The constant named `name`, if it is one.
    pub(super) fn constant(&self, name: &str) -> Option<&TensorProto> {
        self.consts.get(name)
    }

    /// Input `k` of `node`, which must be a computed value.
    pub(super) fn value(&self, node: &NodeProto, k: usize) -> Result<Sym> {
        let name = node.input.get(k).map(String::as_str).unwrap_or_default();
        self.values.get(name).cloned().ok_or_else(|| {
            let why = match self.consts.contains_key(name) {
                true => format!("input {k} (\"{name}\") is a constant where a computed value is expected"),
                false => format!("input {k} (\"{name}\") is not produced by an earlier node or a graph input"),
            };
            unsupported(node, &why)
        })
    }

    /// Input `k` of `node` as a float tensor, which must be a constant (`None` if omitted).
    pub(super) fn float_input(&self, node: &NodeProto, k: usize) -> Result<Option<Tensor>> {
        match node.input.get(k).map(String::as_str) {
            None | Some("") => Ok(None),
            Some(name) => match self.consts.get(name) {
                Some(t) => float_tensor(t).map(Some),
                None => Err(unsupported(node, &format!("input {k} (\"{name}\") is not a constant (an initializer)"))),
            },
        }
    }

    /// Input `k` of `node` as a required float constant.
    pub(super) fn weight_input(&self, node: &NodeProto, k: usize) -> Result<Tensor> {
        self.float_input(node, k)?.ok_or_else(|| unsupported(node, &format!("it has no input {k}")))
    }

    /// Input `k` of `node` as int64 values, which must be a constant.
    pub(super) fn ints_input(&self, node: &NodeProto, k: usize) -> Result<Vec<i64>> {
        let name = node.input.get(k).map(String::as_str).unwrap_or_default();
        match self.consts.get(name) {
            Some(t) => int_values(t),
            None => Err(unsupported(node, &format!("input {k} (\"{name}\") is not a constant int64 tensor"))),
        }
    }

    /// The one node that reads `value`, if exactly one does and it is not a graph output (so
    /// the node may be folded into the layer that computes `value`).
    pub(super) fn only_consumer(&self, value: &str) -> Option<(usize, &'a NodeProto)> {
        match self.readers(value) {
            Some(&[i]) => Some((i, &self.nodes[i])),
            _ => None,
        }
    }

    /// The nodes reading `value` (`None` if it is a graph output, which is read outside).
    pub(super) fn readers(&self, value: &str) -> Option<&[usize]> {
        match self.outputs.contains(value) {
            true => None,
            false => Some(self.all_readers(value)),
        }
    }

    /// The nodes reading `value`, a graph output or not.
    pub(super) fn all_readers(&self, value: &str) -> &[usize] {
        self.consumers.get(value).map_or(&[], Vec::as_slice)
    }

    /// Marks node `i` as folded into an earlier layer: its output is its input's kensho value.
    pub(super) fn fuse(&mut self, i: usize) {
        self.fused.insert(i, true);
    }

    /// Marks node `i` as folded into a layer whose result is recorded elsewhere.
    pub(super) fn skip(&mut self, i: usize) {
        self.fused.insert(i, false);
    }

    /// Whether node `i` was folded into an earlier layer, and if so whether its output is its
    /// input's kensho value.
    pub(super) fn fused(&self, i: usize) -> Option<bool> {
        self.fused.get(&i).copied()
    }

    /// Calls `layer` on `inputs` and keeps `weights` to set once the model is built. The layer
    /// is named after its weights' ONNX prefix (`dense_1` for `dense_1.kernel`, `fc1` for
    /// `fc1.weight`) when that is a free name starting with a letter, else as Keras names it
    /// (`dense`, `dense_1`, ...).
    pub(super) fn call(
        &mut self,
        mut layer: Box<dyn Layer>,
        inputs: &[&SymbolicTensor],
        weight_name: Option<&str>,
        weights: Vec<(&'static str, Tensor)>,
    ) -> Result<SymbolicTensor> {
        let prefix = weight_name.and_then(|w| w.rsplit_once('.')).map(|(p, _)| p);
        let name = match prefix {
            Some(p) if p.starts_with(|c: char| c.is_ascii_alphabetic()) && !self.names.contains(p) => p.to_string(),
            _ => unused_name(&snake_case(layer.kind()), |n| self.names.contains(n)),
        };
        self.names.insert(name.clone());
        layer.set_name(&name);
        if !weights.is_empty() {
            self.weights.insert(name, weights);
        }
        SharedLayer::from_box(layer).on_all(inputs)
    }

    /// Renames the layer giving `t` (a model output) to `name`, keeping its weights.
    pub(super) fn rename(&mut self, t: SymbolicTensor, name: &str) -> SymbolicTensor {
        if let Some(weights) = self.weights.remove(&t.name()) {
            self.weights.insert(name.to_string(), weights);
        }
        t.with_name(name)
    }
}

/// The error for a node outside the importer's subset: names the node and why, and lists what
/// is supported.
pub(super) fn unsupported(node: &NodeProto, why: &str) -> Error {
    Error::invalid(
        "ONNX import",
        format!("node \"{}\" (op {}) cannot be imported: {why}", node.name, node.op_type),
        SUPPORTED,
    )
}
