//! [`Model::export_onnx`] and [`Model::export_onnx_bytes`]: the model's graph of layer calls,
//! walked in call order, written as one ONNX graph (opset 17, IR version 8) with a symbolic
//! batch axis, the model's input and output names, and kensho's name and version.

use super::graph::OnnxGraph;
use super::layers::{export_layer, Value};
use super::proto::{ModelProto, OperatorSetIdProto, StringStringEntryProto};
use crate::graph::ValueRef;
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
        let (Some(input_shapes), Some(call_shapes)) = (&graph.input_shapes, &graph.call_shapes) else {
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
        let mut values: Vec<Vec<Value>> = Vec::with_capacity(graph.calls.len());
        let fetch = |values: &[Vec<Value>], v: ValueRef| match v {
            ValueRef::Input(i) => inputs[i].clone(),
            ValueRef::Call { call, output } => values[call][output].clone(),
        };
        for (call, shapes) in graph.calls.iter().zip(call_shapes) {
            let layer = graph.layers[call.layer].as_ref();
            let args: Vec<Value> = call.inputs.iter().map(|&v| fetch(&values, v)).collect();
            g.set_scope(layer.name());
            let outputs = export_layer(layer, &args, shapes, &mut g)?;
            if outputs.len() != shapes.len() {
                return Err(Error::invalid(
                    format!("ONNX export of {} \"{}\" outputs", layer.kind(), layer.name()),
                    outputs.len(),
                    format!("{} outputs, as built", shapes.len()),
                ));
            }
            values.push(outputs);
        }
        g.set_scope("");
        for (name, &v) in output_names.iter().zip(&graph.outputs) {
            let value = fetch(&values, v);
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
