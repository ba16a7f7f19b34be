//! ONNX export (cargo feature `onnx`): [`Model::export_onnx`](crate::Model::export_onnx) writes
//! a built model — `Sequential` or functional — as an ONNX file (opset 17, IR version 8) for
//! ONNX Runtime and other ONNX tools; [`Model::export_onnx_bytes`](crate::Model::export_onnx_bytes)
//! returns the same bytes.
//!
//! The file's inputs and outputs carry the model's input and output names, with a symbolic
//! batch axis (`batch`), so any batch size runs. The metadata names the producer (`kensho` and
//! its version) and the model. Weights are initializers named as in kensho (`dense.kernel`).
//! Values keep kensho's channels_last layout between layers; layers that ONNX computes
//! channels_first (convolutions, pooling) are wrapped in Transposes. A layer that has no ONNX
//! form is an error naming it and why, never a wrong file.
//!
//! [`import_onnx`] and [`import_onnx_bytes`] read such files back — and the same layers as
//! PyTorch exports them — as a kensho model with its weights, to predict or train further.
//!
//! The messages are written with `prost` from structs numbered after the public `onnx.proto`
//! schema ([`proto`]); reading them back needs nothing else.
//!
//! ```
//! use kensho::prelude::*;
//! use kensho::onnx::proto::ModelProto;
//! use prost::Message;
//!
//! let mut model = Sequential::new()
//!     .add(Input::new(&[4]))
//!     .add(Dense::new(8).activation(Activation::Relu))
//!     .add(Dense::new(3).activation(Activation::Softmax));
//! model.build_model()?;
//! let bytes = model.export_onnx_bytes()?;
//! let onnx = ModelProto::decode(bytes.as_slice()).expect("a valid protobuf");
//! let graph = onnx.graph.expect("a graph");
//! assert_eq!(onnx.producer_name, "kensho");
//! assert_eq!(graph.input[0].name, model.input_names()[0]);
//! assert_eq!(graph.output[0].name, "dense_1"); // the last layer's name
//! let ops: Vec<&str> = graph.node.iter().map(|n| n.op_type.as_str()).collect();
//! assert_eq!(ops, ["MatMul", "Add", "Relu", "MatMul", "Add", "Softmax", "Identity"]);
//!
//! let path = std::env::temp_dir().join(format!("kensho-doc-{}.onnx", std::process::id()));
//! model.export_onnx(&path)?; // then: python scripts/check_onnx.py model.onnx x.npy y.npy
//! assert_eq!(std::fs::read(&path)?, bytes);
//! # std::fs::remove_file(&path).unwrap();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod export;
mod graph;
mod import;
mod layers;
pub mod proto;

pub use export::{IR_VERSION, OPSET};
pub use import::{import_onnx, import_onnx_bytes};
