//! ONNX export (feature `onnx`), as one test program: structure tests that decode the written
//! graph, and runtime tests that run the file in ONNX Runtime when `KENSHO_PYTHON` names a
//! python with `onnx`, `onnxruntime` and `numpy` (see `support`).

mod attention;
mod audio;
mod conv_layers;
mod core_layers;
mod import;
mod masks;
mod merge;
mod models;
mod recurrent;
mod support;
