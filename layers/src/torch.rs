//! How a layer's weights appear in PyTorch: the modules a layer becomes in `torch.nn.Sequential`
//! and, for each weight, its `state_dict` key and the transform between the two layouts.
//!
//! Each layer declares this for itself ([`Layer::torch_layout`](crate::Layer::torch_layout));
//! the model numbers the modules and prefixes the keys, as `state_dict` does.

use kensho_core::Tensor;

/// A change of layout between a kensho weight and its PyTorch tensor, applied on save and
/// undone on load.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TorchTransform {
    /// The same layout.
    Identity,
    /// The PyTorch tensor is the kensho tensor with its axes permuted: axis `i` of the file is
    /// axis `perm[i]` of the model (a Dense kernel `[in, out]` is `Linear.weight` `[out, in]`
    /// with `perm = [1, 0]`; a Conv2D kernel `[kh, kw, in, out]` is `[out, in, kh, kw]` with
    /// `perm = [3, 2, 0, 1]`).
    Permute(Vec<usize>),
    /// The axis `axis` is made of `order.len()` equal blocks (the gates of a recurrent layer),
    /// and block `i` of the file is block `order[i]` of the model (Keras' LSTM gates i, f, c, o
    /// are PyTorch's i, f, g, o; GRU's z, r, h are r, z, n: `order = [1, 0, 2]`).
    ReorderBlocks {
        /// The axis holding the blocks.
        axis: usize,
        /// The model block that each file block holds.
        order: Vec<usize>,
    },
    /// The same elements in row-major order with the shape `to` (so that a permutation can
    /// act on axes that the model's tensor holds merged, such as the rows of a Dense kernel
    /// after a Flatten of `[h, w, c]`); undone on load by going back to the model's shape.
    Reshape(Vec<usize>),
    /// Several transforms, applied in order on save (and undone in reverse order on load).
    Chain(Vec<TorchTransform>),
    /// The file's tensor stacks `count` equal blocks along `axis`, several weights under one
    /// key, and this weight is block `index` (PyTorch's `in_proj_weight` stacks the query, key
    /// and value projections). On save the weight becomes the whole stacked tensor with zeros
    /// outside its block, and the tensors of the weights sharing a key are summed; on load
    /// each weight takes its block.
    Block {
        /// The stacking axis.
        axis: usize,
        /// This weight's block.
        index: usize,
        /// The number of blocks.
        count: usize,
    },
}

impl TorchTransform {
    /// The model's tensor in the file's layout (contiguous).
    pub fn to_torch(&self, value: &Tensor) -> Tensor {
        match self {
            TorchTransform::Identity => value.to_contiguous(),
            TorchTransform::Permute(perm) => value.permute(perm).to_contiguous(),
            TorchTransform::ReorderBlocks { axis, order } => reorder_blocks(value, *axis, order),
            TorchTransform::Reshape(to) => value.reshape_to(to),
            TorchTransform::Chain(steps) => steps.iter().fold(value.to_contiguous(), |t, s| s.to_torch(&t)),
            TorchTransform::Block { axis, index, count } => {
                let zeros = Tensor::zeros(value.shape());
                let blocks: Vec<Tensor> =
                    (0..*count).map(|i| if i == *index { value.clone() } else { zeros.clone() }).collect();
                Tensor::concat(&blocks, *axis)
            }
        }
    }

    /// The file's tensor in the model's layout (contiguous), for a model weight of shape
    /// `model_shape`.
    pub fn from_torch(&self, value: &Tensor, model_shape: &[usize]) -> Tensor {
        match self {
            TorchTransform::Identity => value.to_contiguous(),
            TorchTransform::Permute(perm) => value.permute(&inverse(perm)).to_contiguous(),
            TorchTransform::ReorderBlocks { axis, order } => reorder_blocks(value, *axis, &inverse(order)),
            TorchTransform::Reshape(_) => value.reshape_to(model_shape),
            TorchTransform::Chain(steps) => {
                // The shape before each step, to undo the steps in reverse order.
                let mut shapes = vec![model_shape.to_vec()];
                for step in &steps[..steps.len().saturating_sub(1)] {
                    shapes.push(step.torch_shape(shapes.last().expect("one shape")));
                }
                steps.iter().zip(shapes).rev().fold(value.to_contiguous(), |t, (s, shape)| s.from_torch(&t, &shape))
            }
            TorchTransform::Block { axis, index, .. } => {
                let len = model_shape[*axis];
                value.slice_axis(*axis, index * len, (index + 1) * len).to_contiguous()
            }
        }
    }

    /// Whether the file's tensor stacks this weight with others under one key
    /// ([`TorchTransform::Block`], alone or last in a chain).
    pub fn is_block(&self) -> bool {
        match self {
            TorchTransform::Block { .. } => true,
            TorchTransform::Chain(steps) => steps.last().is_some_and(TorchTransform::is_block),
            _ => false,
        }
    }

    /// The shape the file holds for a model weight of shape `shape`.
    pub fn torch_shape(&self, shape: &[usize]) -> Vec<usize> {
        match self {
            TorchTransform::Identity | TorchTransform::ReorderBlocks { .. } => shape.to_vec(),
            TorchTransform::Permute(perm) => perm.iter().map(|&a| shape[a]).collect(),
            TorchTransform::Reshape(to) => to.clone(),
            TorchTransform::Chain(steps) => steps.iter().fold(shape.to_vec(), |s, step| step.torch_shape(&s)),
            TorchTransform::Block { axis, count, .. } => {
                let mut stacked = shape.to_vec();
                stacked[*axis] *= count;
                stacked
            }
        }
    }
}

/// The inverse of a permutation.
fn inverse(perm: &[usize]) -> Vec<usize> {
    let mut inv = vec![0; perm.len()];
    for (i, &p) in perm.iter().enumerate() {
        inv[p] = i;
    }
    inv
}

/// Block `i` of the result is block `order[i]` of `value` along `axis`.
fn reorder_blocks(value: &Tensor, axis: usize, order: &[usize]) -> Tensor {
    let block = value.shape()[axis] / order.len().max(1);
    let blocks: Vec<Tensor> = order.iter().map(|&b| value.slice_axis(axis, b * block, (b + 1) * block)).collect();
    Tensor::concat(&blocks, axis)
}

/// One weight of a layer in PyTorch: the module that holds it (counted from the layer's first
/// module), its name in that module, and its layout.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TorchWeight {
    /// The module holding the weight, counted from the layer's first module.
    pub module: usize,
    /// The weight's name in its module (`weight`, `bias`, `running_mean`, ...).
    pub name: String,
    /// How the kensho tensor becomes the PyTorch one.
    pub transform: TorchTransform,
}

impl TorchWeight {
    /// A weight of the layer's first module.
    pub fn new(name: &str, transform: TorchTransform) -> TorchWeight {
        TorchWeight { module: 0, name: name.to_string(), transform }
    }
}

/// A tensor that PyTorch's module holds and kensho's layer does not (BatchNorm's
/// `num_batches_tracked`): written with this value on save, accepted and ignored on load.
#[derive(Clone, Debug, PartialEq)]
pub struct TorchBuffer {
    /// The module holding it, counted from the layer's first module.
    pub module: usize,
    /// Its name in the module.
    pub name: String,
    /// The value written.
    pub value: Tensor,
}

/// What a layer becomes in `torch.nn.Sequential`: how many modules it counts for, its weights
/// (parameters, then state, in the order the layer lists them) and PyTorch-only buffers.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TorchLayout {
    /// The number of modules (a Dense with an activation is `Linear` then the activation: 2).
    pub modules: usize,
    /// The layer's weights in PyTorch, in the order of its parameters then its state.
    pub weights: Vec<TorchWeight>,
    /// Tensors of the PyTorch modules with no kensho weight behind them.
    pub buffers: Vec<TorchBuffer>,
}

impl TorchLayout {
    /// A layer without weights that counts for `modules` modules (Dropout, Flatten: 1; Input: 0).
    pub fn modules(modules: usize) -> TorchLayout {
        TorchLayout { modules, ..TorchLayout::default() }
    }

    /// Adds a PyTorch-only buffer of the layer's first module.
    pub fn with_buffer(mut self, name: &str, value: Tensor) -> TorchLayout {
        self.buffers.push(TorchBuffer { module: 0, name: name.to_string(), value });
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arange(shape: &[usize]) -> Tensor {
        let n = shape.iter().product();
        Tensor::from_vec((0..n).map(|v| v as f32).collect(), shape).unwrap()
    }

    /// The element at a multi-index (row-major).
    fn at(t: &Tensor, index: &[usize]) -> f32 {
        let flat = index.iter().zip(t.shape()).fold(0, |acc, (&i, &d)| acc * d + i);
        t.to_vec()[flat]
    }

    #[test]
    fn permute_round_trips_and_moves_axes() {
        let t = arange(&[2, 3, 4, 5]);
        let conv = TorchTransform::Permute(vec![3, 2, 0, 1]);
        let file = conv.to_torch(&t);
        assert_eq!(file.shape(), &[5, 4, 2, 3]);
        assert_eq!(conv.torch_shape(t.shape()), file.shape());
        // file[o, i, y, x] == model[y, x, i, o]
        assert_eq!(at(&file, &[4, 1, 1, 2]), at(&t, &[1, 2, 1, 4]));
        assert_eq!(conv.from_torch(&file, t.shape()), t);
    }

    #[test]
    fn reorder_blocks_swaps_gates_and_round_trips() {
        // Three gates of two columns each: [a a b b c c] -> [b b a a c c].
        let t = arange(&[1, 6]);
        let gru = TorchTransform::ReorderBlocks { axis: 1, order: vec![1, 0, 2] };
        assert_eq!(gru.to_torch(&t).to_vec(), vec![2., 3., 0., 1., 4., 5.]);
        // A rotation is not its own inverse: check the inverse really undoes it.
        let rot = TorchTransform::Chain(vec![
            TorchTransform::Permute(vec![1, 0]),
            TorchTransform::ReorderBlocks { axis: 0, order: vec![2, 0, 1] },
        ]);
        let file = rot.to_torch(&t);
        assert_eq!(file.shape(), &[6, 1]);
        assert_eq!(file.to_vec(), vec![4., 5., 0., 1., 2., 3.]);
        assert_eq!(rot.from_torch(&file, t.shape()), t);
    }

    #[test]
    fn blocks_of_one_key_sum_to_the_stacked_tensor_and_split_back() {
        let (a, b) = (arange(&[2, 3]), arange(&[2, 3]).add_scalar(10.0));
        let block = |index| {
            TorchTransform::Chain(vec![
                TorchTransform::Permute(vec![1, 0]),
                TorchTransform::Block { axis: 0, index, count: 2 },
            ])
        };
        let file = block(0).to_torch(&a).add(&block(1).to_torch(&b));
        assert_eq!(file.shape(), &[6, 2]);
        assert_eq!(block(1).torch_shape(b.shape()), file.shape());
        assert_eq!(file, Tensor::concat(&[a.transpose(), b.transpose()], 0).to_contiguous());
        assert_eq!(block(0).from_torch(&file, a.shape()), a);
        assert_eq!(block(1).from_torch(&file, b.shape()), b);
    }

    #[test]
    fn a_dense_kernel_after_a_channels_last_flatten_takes_channels_first_columns() {
        // Kernel rows in (h, w, c) order for h = 2, w = 3, c = 4, and 5 outputs.
        let (h, w, c, out) = (2, 3, 4, 5);
        let kernel = arange(&[h * w * c, out]);
        let torch = TorchTransform::Chain(vec![
            TorchTransform::Reshape(vec![h, w, c, out]),
            TorchTransform::Permute(vec![3, 2, 0, 1]),
            TorchTransform::Reshape(vec![out, c * h * w]),
        ]);
        let file = torch.to_torch(&kernel);
        assert_eq!(file.shape(), &[out, c * h * w]);
        assert_eq!(torch.torch_shape(kernel.shape()), file.shape());
        // weight[o, (ci * h + hi) * w + wi] == kernel[(hi * w + wi) * c + ci, o]
        for (o, ci, hi, wi) in [(0, 0, 0, 0), (4, 3, 1, 2), (2, 1, 0, 2), (3, 2, 1, 0)] {
            assert_eq!(at(&file, &[o, (ci * h + hi) * w + wi]), at(&kernel, &[(hi * w + wi) * c + ci, o]));
        }
        assert_eq!(torch.from_torch(&file, kernel.shape()), kernel);
    }
}
