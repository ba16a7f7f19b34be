//! The preprocessing family: Rescaling (`x · scale + offset`, always applied); the random
//! augmentation layers (RandomFlip, RandomTranslation, RandomRotation, RandomZoom,
//! RandomContrast) act only in training, so they are the identity in the exported
//! (inference) graph and are handled by the dispatch.

use super::Value;
use crate::onnx::graph::OnnxGraph;
use kensho_layers::{RescalingConfig, Shape};

/// Rescaling, skipping a scale of 1 or an offset of 0 as kensho does.
pub(crate) fn rescaling(c: &RescalingConfig, x: &Value, out: &Shape, g: &mut OnnxGraph) -> Vec<Value> {
    let mut y = x.name.clone();
    if c.scale != 1.0 {
        let scale = g.scalar("scale", c.scale);
        y = g.op("Mul", &[&y, &scale], vec![]);
    }
    if c.offset != 0.0 {
        let offset = g.scalar("offset", c.offset);
        y = g.op("Add", &[&y, &offset], vec![]);
    }
    vec![x.derive(y, out)]
}
