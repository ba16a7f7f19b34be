//! The PyTorch layout of [`MultiHeadAttention`]: `nn.MultiheadAttention(embed_dim=E,
//! num_heads, batch_first=True)`, whose `state_dict` holds
//!
//! - `in_proj_weight` `[3E, E]`: the query, key and value projections stacked, each the
//!   Keras kernel `[E, heads, head_dim]` seen as `[E, E]` and transposed (PyTorch's head `h`
//!   reads columns `h * head_dim ..` of the projection, as Keras' kernel lays them out); or,
//!   when the key or value has another width (PyTorch's `kdim` / `vdim`), `q_proj_weight`
//!   `[E, E]`, `k_proj_weight` `[E, kdim]` and `v_proj_weight` `[E, vdim]`;
//! - `in_proj_bias` `[3E]`: the three biases `[heads, head_dim]` flattened and stacked
//!   (PyTorch stacks them whatever `kdim` and `vdim`);
//! - `out_proj.weight` `[E, E]`: the output kernel `[heads, head_dim, E]` seen as `[E, E]` and
//!   transposed; `out_proj.bias` `[E]`.
//!
//! PyTorch's module exists only for `heads * key_dim == E`, `value_dim == key_dim` and an
//! output of width `E` (the query's); other configurations have no equivalent.

use super::MultiHeadAttention;
use crate::{TorchLayout, TorchTransform, TorchWeight};

/// The layout, or `None` when the layer (built) has no `nn.MultiheadAttention` equivalent.
pub(super) fn layout(layer: &MultiHeadAttention) -> Option<TorchLayout> {
    let config = layer.settings();
    let [query, key, value, output] = layer.projections().map(|p| p.kernel.as_ref().map(|k| k.value.shape().to_vec()));
    let (query, key, value, output) = (query?, key?, value?, output?);
    let e = query[0];
    let same_heads = config.num_heads * config.key_dim == e && layer.value_size() == config.key_dim;
    if !same_heads || output[2] != e {
        return None;
    }
    let packed = key[0] == e && value[0] == e;
    let mut weights = Vec::new();
    for (index, (input, own_name)) in
        [(query[0], "q_proj_weight"), (key[0], "k_proj_weight"), (value[0], "v_proj_weight")].into_iter().enumerate()
    {
        let mut steps = vec![TorchTransform::Reshape(vec![input, e]), TorchTransform::Permute(vec![1, 0])];
        let name = if packed {
            steps.push(TorchTransform::Block { axis: 0, index, count: 3 });
            "in_proj_weight"
        } else {
            own_name
        };
        weights.push(TorchWeight::new(name, TorchTransform::Chain(steps)));
        if config.use_bias {
            let steps = vec![TorchTransform::Reshape(vec![e]), TorchTransform::Block { axis: 0, index, count: 3 }];
            weights.push(TorchWeight::new("in_proj_bias", TorchTransform::Chain(steps)));
        }
    }
    let out = TorchTransform::Chain(vec![TorchTransform::Reshape(vec![e, e]), TorchTransform::Permute(vec![1, 0])]);
    weights.push(TorchWeight::new("out_proj.weight", out));
    if config.use_bias {
        weights.push(TorchWeight::new("out_proj.bias", TorchTransform::Identity));
    }
    Some(TorchLayout { modules: 1, weights, ..TorchLayout::default() })
}
