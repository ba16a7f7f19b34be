//! [`Model::export_onnx`] and [`Model::export_onnx_bytes`]: the model's graph of layer calls,
//! walked in call order, written as one ONNX graph (opset 17, IR version 8) with a symbolic
//! batch axis, the model's input and output names, and kensho's name and version.

use super::graph::OnnxGraph;
use super::layers::{export_layer, Value};
use super::proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto};
use crate::graph::{Graph, ValueRef};
use crate::nested::Nested;
use crate::Model;
use kensho_core::{Error, Result};
use prost::Message;
use std::path::Path;

/// The ONNX operator set the exporter writes.
pub const OPSET: i64 = 17;
/// The ONNX IR (file format) version the exporter writes.
pub const IR_VERSION: i64 = 8;

impl Model {
    /// Writes the model as an ONNX file at `path` (atomically: a temporary file renamed over
    /// `path`), for inference in ONNX Runtime and other ONNX tools. See [`crate::onnx`].
    ///
    /// # Errors
    /// An unbuilt model; a layer that cannot be exported (named, with the reason); a file that
    /// cannot be written.
    pub fn export_onnx(&self, path: impl AsRef<Path>) -> Result<()> {
        let bytes = self.export_onnx_bytes()?;
        crate::checkpoint::atomic::write_atomic(path.as_ref(), &bytes)
    }

    /// The model as the bytes of an ONNX file (see [`Model::export_onnx`]).
    ///
    /// # Errors
    /// As [`Model::export_onnx`], without the file.
    pub fn export_onnx_bytes(&self) -> Result<Vec<u8>> {
        Ok(self.to_onnx()?.encode_to_vec())
    }

    /// The model as an ONNX [`ModelProto`].
    pub(crate) fn to_onnx(&self) -> Result<ModelProto> {
        let graph = &self.graph;
        let (Some(input_shapes), Some(_)) = (&graph.input_shapes, &graph.call_shapes) else {
            return Err(Error::invalid(
                format!("ONNX export of model \"{}\"", self.name),
                "an unbuilt model",
                "a built model: declare an Input and call build_model(), or build(..) or fit(..) it first",
            ));
        };
        let mut g = OnnxGraph::new();
        let output_names = self.output_names();
        for name in &output_names {
            g.reserve(name);
        }
        let inputs: Vec<Value> = self
            .input_names()
            .into_iter()
            .zip(input_shapes)
            .map(|(name, shape)| {
                g.input(&name, shape.dims());
                Value::new(name, shape.clone())
            })
            .collect();
        let outputs = export_graph(graph, &inputs, "", &mut g)?;
        for (name, value) in output_names.iter().zip(outputs) {
            g.output(name, &value.name, value.shape.dims());
        }
        let version = env!("CARGO_PKG_VERSION");
        let meta = |key: &str, value: &str| StringStringEntryProto { key: key.into(), value: value.into() };
        Ok(ModelProto {
            ir_version: IR_VERSION,
            opset_import: vec![OperatorSetIdProto { domain: String::new(), version: OPSET }],
            producer_name: "kensho".into(),
            producer_version: version.into(),
            doc_string: format!("kensho model \"{}\"", self.name),
            graph: Some(g.into_proto(&self.name)),
            metadata_props: vec![meta("model_name", &self.name), meta("kensho_version", version)],
            ..Default::default()
        })
    }
}

/// Writes the calls of `graph` on `inputs` into `g`, in call order, and returns its outputs.
/// Node names start with `prefix` (the path of the nested models around `graph`). A nested
/// model is inlined: its inner graph is written in place of the call, as kensho runs it (the
/// inner graph sees no input mask; its first output takes the call's first input's mask).
fn export_graph(graph: &Graph, inputs: &[Value], prefix: &str, g: &mut OnnxGraph) -> Result<Vec<Value>> {
    let Some(call_shapes) = &graph.call_shapes else {
        return Err(Error::invalid("ONNX export", "an unbuilt nested model", "a built model"));
    };
    let mut values: Vec<Vec<Value>> = Vec::with_capacity(graph.calls.len());
    let fetch = |values: &[Vec<Value>], v: ValueRef| match v {
        ValueRef::Input(i) => inputs[i].clone(),
        ValueRef::Call { call, output } => values[call][output].clone(),
    };
    for (call, shapes) in graph.calls.iter().zip(call_shapes) {
        let layer = graph.layers[call.layer].as_ref();
        let args: Vec<Value> = call.inputs.iter().map(|&v| fetch(&values, v)).collect();
        let scope = format!("{prefix}{}", layer.name());
        let outputs = match layer.as_any().and_then(|a| a.downcast_ref::<Nested>()) {
            Some(nested) => {
                let unmasked: Vec<Value> = args.iter().map(|a| Value::new(a.name.clone(), a.shape.clone())).collect();
                let mut outputs = export_graph(&nested.graph, &unmasked, &format!("{scope}/"), g)?;
                for (k, out) in outputs.iter_mut().enumerate() {
                    out.mask = args.first().and_then(|a| a.mask.clone()).filter(|_| k == 0);
                }
                outputs
            }
            None => {
                g.set_scope(&scope);
                export_layer(layer, &args, shapes, g)?
            }
        };
        if outputs.len() != shapes.len() {
            return Err(Error::invalid(
                format!("ONNX export of {} \"{}\" outputs", layer.kind(), layer.name()),
                outputs.len(),
                format!("{} outputs, as built", shapes.len()),
            ));
        }
        values.push(outputs);
    }
    g.set_scope(prefix.trim_end_matches('/'));
    Ok(graph.outputs.iter().map(|&v| fetch(&values, v)).collect())
}
