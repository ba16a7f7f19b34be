//! Quantized model files: [`QuantizedModel::save`] and [`load_quantized_model`].
//!
//! The file is a whole-model file (see [`Model::save`](crate::Model::save)) whose metadata says
//! `format = "kensho.quantized_model"`, whose architecture names the float layers, and whose
//! tensors hold, for each quantized layer `L`, `L.kernel` (I8, the float kernel's shape),
//! `L.kernel_scale` (F32, one per output channel), `L.bias` (F32, if the layer has one),
//! `L.input_scale` (F32, a scalar) and `L.input_zero_point` (I64, a scalar); the other layers'
//! weights are F32 as usual. The metadata entry `kensho.quantization` lists the quantized
//! layers in JSON. The optimizer's state is not kept: a quantized model does not train.

use super::atomic::write_atomic;
use super::model_file::model_from_contents;
use super::tensors_file::{parse, serialize_raw, RawTensor};
use super::weights::FORMAT_KEY;
use crate::quantization::{install, InputQuantization, QuantizedModel, QuantizedWeights};
use kensho_core::{Error, Result, Tensor};
use safetensors::Dtype;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// The `format` metadata value of a quantized model file.
pub(crate) const QUANTIZED_FORMAT: &str = "kensho.quantized_model";
/// The metadata key listing the quantized layers.
const QUANTIZATION_KEY: &str = "kensho.quantization";

/// The JSON under [`QUANTIZATION_KEY`].
#[derive(Serialize, Deserialize)]
struct QuantizationSpec {
    format_version: u32,
    /// The quantized layers' names.
    layers: Vec<String>,
}

fn raw(name: String, dtype: Dtype, shape: Vec<usize>, bytes: Vec<u8>) -> RawTensor {
    RawTensor { name, dtype, shape, bytes }
}

fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

impl QuantizedModel {
    /// Saves the quantized model to one safetensors file, atomically (int8 kernels, their
    /// scales, the calibrated input scales and zero points, and the float weights of the
    /// other layers); [`load_quantized_model`] reads it back.
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let (tensors, mut metadata) = self.model.file_contents(path, false)?;
        let mut entries: Vec<RawTensor> = tensors
            .into_iter()
            .map(|(name, t)| raw(name, Dtype::F32, t.shape().to_vec(), f32_bytes(&t.to_vec())))
            .collect();
        for w in &self.quantized {
            let kernel = w.kernel.to_row_major().iter().map(|&v| v as u8).collect();
            entries.push(raw(format!("{}.kernel", w.name), Dtype::I8, w.kernel_shape.clone(), kernel));
            let channels = w.kernel_scales.len();
            entries.push(raw(
                format!("{}.kernel_scale", w.name),
                Dtype::F32,
                vec![channels],
                f32_bytes(&w.kernel_scales),
            ));
            if let Some(bias) = &w.bias {
                entries.push(raw(format!("{}.bias", w.name), Dtype::F32, vec![channels], f32_bytes(bias)));
            }
            entries.push(raw(format!("{}.input_scale", w.name), Dtype::F32, vec![], f32_bytes(&[w.input.scale])));
            let zero_point = i64::from(w.input.zero_point).to_le_bytes().to_vec();
            entries.push(raw(format!("{}.input_zero_point", w.name), Dtype::I64, vec![], zero_point));
        }
        let spec =
            QuantizationSpec { format_version: 1, layers: self.quantized.iter().map(|w| w.name.clone()).collect() };
        let json = serde_json::to_string(&spec).map_err(|e| Error::parse(path, format!("cannot serialize: {e}")))?;
        metadata.insert(FORMAT_KEY.to_string(), QUANTIZED_FORMAT.to_string());
        metadata.insert(QUANTIZATION_KEY.to_string(), json);
        write_atomic(path, &serialize_raw(path, entries, Some(metadata))?)
    }
}

/// Takes the tensor `name` out of `tensors`.
fn take(tensors: &mut Vec<(String, Tensor)>, name: &str, path: &Path) -> Result<Tensor> {
    let i = tensors.iter().position(|(n, _)| n == name).ok_or_else(|| {
        Error::parse(path, format!("the quantized layer's tensor \"{name}\" is missing; the file is damaged"))
    })?;
    Ok(tensors.remove(i).1)
}

/// The one value of a scalar tensor.
fn scalar(t: &Tensor, name: &str, path: &Path) -> Result<f32> {
    match t.to_vec().as_slice() {
        [v] => Ok(*v),
        other => Err(Error::parse(path, format!("tensor \"{name}\" holds {} values; expected one", other.len()))),
    }
}

/// Loads a model saved by [`QuantizedModel::save`]: its int8 layers, its float layers and,
/// if the float model was compiled, its loss and metrics (for
/// [`QuantizedModel::evaluate`]).
///
/// # Errors
/// [`Error::Io`] if the file cannot be read; [`Error::Parse`] naming the file if it is not a
/// quantized model file, is truncated or corrupt, or its tensors do not match its architecture
/// (a kernel value outside int8, a scale that is not positive, a zero point outside 0..=255).
pub fn load_quantized_model(path: impl AsRef<Path>) -> Result<QuantizedModel> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let (tensors, metadata) = parse(path, &bytes)?;
    let spec: QuantizationSpec = match metadata.get(QUANTIZATION_KEY) {
        Some(json) => serde_json::from_str(json)
            .map_err(|e| Error::parse(path, format!("the quantization description is not valid: {e}")))?,
        None => {
            return Err(Error::parse(
                path,
                "holds no quantized model (its metadata has no \"kensho.quantization\" entry); a float model file \
                 loads with load_model",
            ));
        }
    };
    let mut quantized = Vec::with_capacity(spec.layers.len());
    let model = model_from_contents(path, tensors, &metadata, QUANTIZED_FORMAT, None, |model, tensors| {
        for name in &spec.layers {
            let bad = |reason: String| Error::parse(path, format!("quantized layer \"{name}\": {reason}"));
            let index =
                model.graph.layer_index(name).ok_or_else(|| bad("no layer of the model has this name".into()))?;
            let kernel = take(tensors, &format!("{name}.kernel"), path)?;
            let kernel_values = kernel
                .to_vec()
                .iter()
                .map(|&v| (v.fract() == 0.0 && (-128.0..=127.0).contains(&v)).then_some(v as i8))
                .collect::<Option<Vec<i8>>>()
                .ok_or_else(|| bad("its kernel holds values that are not int8".into()))?;
            let scales = take(tensors, &format!("{name}.kernel_scale"), path)?.to_vec();
            let has_bias = model.graph.layers[index].params().len() > 1;
            let bias = if has_bias { Some(take(tensors, &format!("{name}.bias"), path)?.to_vec()) } else { None };
            let scale_name = format!("{name}.input_scale");
            let scale = scalar(&take(tensors, &scale_name, path)?, &scale_name, path)?;
            let zero_name = format!("{name}.input_zero_point");
            let zero_point = scalar(&take(tensors, &zero_name, path)?, &zero_name, path)?;
            // The range is checked with the other values by `QuantizedWeights::new`.
            if zero_point.fract() != 0.0 {
                return Err(bad(format!("input zero point {zero_point}; expected an integer in 0..=255")));
            }
            let input = InputQuantization { scale, zero_point: zero_point as i32 };
            let float = &model.graph.layers[index];
            let expected_shape: Vec<usize> = float
                .params()
                .first()
                .map(|kernel| kernel.value.shape().to_vec())
                .ok_or_else(|| bad(format!("a {} layer has no kernel to quantize", float.kind())))?;
            if kernel.shape() != expected_shape.as_slice() {
                return Err(bad(format!(
                    "kernel of shape {:?}; the architecture needs {expected_shape:?}",
                    kernel.shape()
                )));
            }
            let weights = QuantizedWeights::new(name, expected_shape, &kernel_values, scales, bias, input)
                .map_err(|e| bad(e.to_string()))?;
            let weights = Arc::new(weights);
            install(&mut model.graph, index, Arc::clone(&weights)).map_err(|e| bad(e.to_string()))?;
            quantized.push(weights);
        }
        Ok(())
    })?;
    Ok(QuantizedModel { model, quantized })
}
