//! ONNX import ([`import_onnx`], [`import_onnx_bytes`]): the graph's nodes, walked in order,
//! become calls of kensho layers on symbolic tensors (a functional [`Model`]), whose weights
//! are then set from the initializers. One file per family of nodes: `dense`, `composite`
//! (activations of several nodes), `spatial`, `norm`, `structure`; `walk` holds the walk's
//! state, `layout` the channels_first views.

mod composite;
mod dense;
mod layout;
mod norm;
mod spatial;
mod structure;
mod tensors;
mod walk;

use crate::onnx::proto::tensor_shape_proto::dimension::Value as Dim;
use crate::onnx::proto::{type_proto, ModelProto, NodeProto, ValueInfoProto, FLOAT};
use crate::symbolic::{Input, SymbolicTensor};
use crate::Model;
use kensho_core::{Error, Result};
use kensho_layers::Shape;
use layout::Layout;
use prost::Message;
use std::path::Path;
use walk::{unsupported, Importer, Sym};

/// The operators that read a graph input as channels_first (see [`import_onnx`]).
const CHANNELS_FIRST_READERS: [&str; 4] = ["Conv", "MaxPool", "AveragePool", "BatchNormalization"];

/// Reads the ONNX file at `path` as a kensho [`Model`] (a functional model) with its
/// weights, ready for `predict` or for training further with `compile` and `fit` — for example a model trained in PyTorch and
/// fine-tuned in kensho.
///
/// # What is read
/// The graphs kensho's own export writes for Dense, Activation, Flatten, Reshape,
/// Conv1D/2D, Max/AveragePooling1D/2D, the global poolings, BatchNormalization and the merges
/// (`Add` ... `Concatenate`; with the Dropouts gone), and the same layers as PyTorch's
/// `torch.onnx.export` writes them (opset 13 to 21, either exporter, with the weights in
/// the file: `external_data=False`): `Gemm` (any `transB`), `Relu` and the other
/// activations, `Flatten` (or `Reshape` to `[batch, n]`), and `Conv`, `MaxPool`,
/// `AveragePool`, `GlobalAveragePool` (`AdaptiveAvgPool2d(1)`), `BatchNormalization` in
/// NCHW. An activation right after a
/// Dense or convolution becomes its `activation` (Silu and Gelu too, from the nodes kensho
/// writes for them); the `Add` of a bias after a `MatMul` becomes the Dense's bias. Any other node is an error naming it (op type and name) and
/// listing what is supported.
///
/// # Layout
/// The imported model is channels_last, like every kensho model. A graph input of rank 3 or
/// 4 that a `Conv`, `MaxPool`, `AveragePool` or `BatchNormalization` reads directly is taken
/// as channels_first (PyTorch's NCHW): the kensho input is its channels_last transpose
/// (NHWC), so feed the model `x.permute([0, 2, 3, 1])` of PyTorch's input. Convolution
/// kernels are permuted from ONNX's `[out, in, kh, kw]` to kensho's `[kh, kw, in, out]`, and
/// the rows of a Dense reading a flattened channels_first value are reordered from C·H·W to
/// kensho's H·W·C, so the outputs equal PyTorch's. An output that is channels_first in the
/// ONNX graph is channels_last in kensho.
///
/// The model's inputs and outputs keep the graph's names; layers are named after their
/// weights (`dense_1` for `dense_1.kernel`) where that gives a name, and the model after the
/// file's `model_name` metadata or graph name.
///
/// ```
/// use kensho::prelude::*;
/// let x = Input::new(&[4]).with_name("features");
/// let h = Dense::new(8).activation(Activation::Relu).on(&x)?;
/// let y = Dense::new(3).activation(Activation::Softmax).on(&h)?;
/// let model = Model::new(&[&x], &[&y])?;
/// let bytes = model.export_onnx_bytes()?;
///
/// let imported = kensho::onnx::import_onnx_bytes(&bytes)?;
/// assert_eq!(imported.input_names(), ["features"]);
/// let probe = Tensor::from_vec((0..8).map(|i| i as f32 / 4.0).collect(), &[2, 4])?;
/// assert!(imported.predict(&probe)?.allclose(&model.predict(&probe)?, 0.0, 1e-6));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// A file that cannot be read or is not an ONNX model (naming the file), or a graph outside
/// the supported subset (naming the node).
pub fn import_onnx(path: impl AsRef<Path>) -> Result<Model> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    import_model(&bytes, &path.display().to_string())
}

/// [`import_onnx`] from the bytes of an ONNX file.
///
/// # Errors
/// As [`import_onnx`].
pub fn import_onnx_bytes(bytes: &[u8]) -> Result<Model> {
    import_model(bytes, "ONNX bytes")
}

/// Decodes `bytes` (from `source`, for messages) and rebuilds the model.
fn import_model(bytes: &[u8], source: &str) -> Result<Model> {
    let model = ModelProto::decode(bytes).map_err(|e| {
        Error::parse(source, format!("{source}: not an ONNX model (the protobuf does not decode: {e})"))
    })?;
    let opset = model.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map(|o| o.version);
    if !matches!(opset, Some(13..=21)) {
        return Err(Error::invalid(format!("ONNX import of {source}: opset"), format!("{opset:?}"), "opset 13 to 21"));
    }
    let Some(mut graph) = model.graph else {
        return Err(Error::parse(source, format!("{source}: an ONNX model without a graph")));
    };
    let name = model
        .metadata_props
        .iter()
        .find(|p| p.key == "model_name")
        .map(|p| p.value.clone())
        .unwrap_or_else(|| if graph.name.is_empty() { "imported".into() } else { graph.name.clone() });
    let consts = std::mem::take(&mut graph.initializer);
    // Older exports list the initializers among the inputs too.
    let inputs: Vec<&ValueInfoProto> =
        graph.input.iter().filter(|v| !consts.iter().any(|t| t.name == v.name)).collect();
    let reserved: Vec<String> = inputs.iter().copied().chain(&graph.output).map(|v| v.name.clone()).collect();
    let mut im = Importer::new(&graph.node, consts, &reserved);
    let mut symbolic_inputs = Vec::with_capacity(inputs.len());
    for v in inputs {
        let sym = graph_input(v, &graph.node)?;
        symbolic_inputs.push(sym.t.clone());
        im.set(&v.name, sym);
    }
    for v in &graph.output {
        im.add_output(&v.name);
    }
    // Every node has a first output (the walk reads `output[0]`).
    if let Some(node) = graph.node.iter().find(|n| n.output.first().is_none_or(String::is_empty)) {
        return Err(unsupported(node, "a node without an output"));
    }
    for i in 0..graph.node.len() {
        import_node(&mut im, i)?;
    }
    let mut outputs = Vec::with_capacity(graph.output.len());
    for v in &graph.output {
        outputs.push(graph_output(&mut im, &v.name, &symbolic_inputs)?);
    }
    let weights = std::mem::take(&mut im.weights);
    let inputs: Vec<&SymbolicTensor> = symbolic_inputs.iter().collect();
    let mut model = Model::new(&inputs, &outputs.iter().collect::<Vec<_>>())?.with_name(&name);
    for (layer, values) in weights {
        set_weights(&mut model, &layer, values)?;
    }
    Ok(model)
}

/// The kensho input for the graph input `v`: channels_last when `nodes` read it as
/// channels_first (see [`import_onnx`]), else as it is.
fn graph_input(v: &ValueInfoProto, nodes: &[NodeProto]) -> Result<Sym> {
    let what = || format!("ONNX import: graph input \"{}\"", v.name);
    let Some(type_proto::Value::TensorType(tensor)) = v.r#type.as_ref().and_then(|t| t.value.as_ref()) else {
        return Err(Error::invalid(what(), "a value that is not a tensor", "a float32 tensor"));
    };
    if tensor.elem_type != FLOAT {
        return Err(Error::invalid(what(), format!("element type {}", tensor.elem_type), "float32 (type 1)"));
    }
    let dims: Vec<Option<usize>> = tensor
        .shape
        .iter()
        .flat_map(|s| &s.dim)
        .map(|d| match d.value {
            Some(Dim::DimValue(n)) => usize::try_from(n).ok(),
            _ => None,
        })
        .collect();
    if dims.len() < 2 {
        return Err(Error::invalid(what(), format!("rank {}", dims.len()), "a batch axis and at least one more"));
    }
    if dims[1..].iter().flatten().try_fold(1usize, |n, &d| n.checked_mul(d)).is_none_or(|n| n > isize::MAX as usize / 4)
    {
        return Err(Error::invalid(what(), format!("{dims:?}"), "a per-sample size that fits in memory"));
    }
    let rank = dims.len();
    let read_channels_first =
        nodes.iter().any(|n| CHANNELS_FIRST_READERS.contains(&n.op_type.as_str()) && n.input.first() == Some(&v.name));
    let (layout, per_sample) = if read_channels_first && (3..=4).contains(&rank) {
        (Layout::channels_first(rank), dims[2..].iter().chain([&dims[1]]).copied().collect())
    } else {
        (Layout::natural(rank), dims[1..].to_vec())
    };
    Ok(Sym { t: Input::with_shape(Shape::new(per_sample)).with_name(&v.name), layout })
}

/// Imports node `i`: a folded node aliases its input; others by their op type.
fn import_node(im: &mut Importer<'_>, i: usize) -> Result<()> {
    let node = &im.nodes[i];
    if !node.domain.is_empty() && node.domain != "ai.onnx" {
        return Err(unsupported(node, &format!("the operator domain \"{}\"", node.domain)));
    }
    match im.fused(i) {
        Some(true) => return im.alias(node),
        Some(false) => return Ok(()),
        None => {}
    }
    if matches!(node.op_type.as_str(), "Sigmoid" | "Mul") && im.composite_from(i)? {
        return Ok(());
    }
    let second_is_const = node.input.get(1).is_some_and(|n| im.constant(n).is_some());
    match node.op_type.as_str() {
        "Identity" => im.identity(node),
        "Constant" => im.constant_node(node),
        "Transpose" => im.transpose(node),
        "Flatten" => im.flatten(node),
        "Reshape" => im.reshape(node),
        "MatMul" => im.matmul(node),
        "Gemm" => im.gemm(node),
        "Conv" => im.conv(node),
        "MaxPool" | "AveragePool" => im.pool(node),
        "GlobalAveragePool" | "GlobalMaxPool" | "ReduceMean" | "ReduceMax" => im.global_pool(node),
        "BatchNormalization" => im.batch_norm(node),
        "Sub" if second_is_const => im.batch_norm_chain(node),
        "Add" | "Sub" | "Mul" if second_is_const => {
            Err(unsupported(node, "an arithmetic op with a constant outside a Dense bias or a BatchNormalization"))
        }
        "Add" | "Sum" | "Sub" | "Mul" | "Mean" | "Max" | "Min" => im.merge(node),
        "Concat" => im.concat(node),
        _ => im.activation(node),
    }
}

/// The kensho value of the graph output `name`, its layer renamed to `name` (unless it is a
/// model input).
fn graph_output(im: &mut Importer<'_>, name: &str, inputs: &[SymbolicTensor]) -> Result<SymbolicTensor> {
    let what = || format!("ONNX import: graph output \"{name}\"");
    let Some(sym) = im.get(name).cloned() else {
        return Err(Error::invalid(what(), "a value no node computes", "the output of a node or a graph input"));
    };
    if matches!(sym.layout, Layout::Flat { .. }) {
        return Err(Error::invalid(
            what(),
            "a flattened channels_first value",
            "an output that a layer reads channels_last (a Dense after the Flatten)",
        ));
    }
    let is_input = inputs.iter().any(|t| t.name() == sym.t.name());
    Ok(if is_input { sym.t } else { im.rename(sym.t, name) })
}

/// Sets the weights of layer `layer` of `model` by suffix (`kernel`, `moving_mean`, ...).
fn set_weights(model: &mut Model, layer: &str, values: Vec<(&'static str, kensho_core::Tensor)>) -> Result<()> {
    let missing = |what: &str| {
        Error::invalid("ONNX import: layer", format!("{layer} without {what}"), "the layers the importer made")
    };
    let target = model.layer_mut(layer).ok_or_else(|| missing("its place in the model"))?;
    for (suffix, value) in values {
        let dotted = format!(".{suffix}");
        let ends = |p: &&mut kensho_autograd::Param| p.name().ends_with(&dotted);
        let param = match target.params_mut().into_iter().find(ends) {
            Some(p) => p,
            None => target.state_mut().into_iter().find(ends).ok_or_else(|| missing(suffix))?,
        };
        if param.value.shape() != value.shape() {
            return Err(Error::shape(
                format!("ONNX import: weight \"{}\"", param.name()),
                format!("{:?}", param.value.shape()),
                value.shape(),
            ));
        }
        param.value = value;
    }
    Ok(())
}
