//! One of the four dense projections of [`MultiHeadAttention`](super::MultiHeadAttention), as
//! Keras' `EinsumDense` sublayers: a kernel of any shape whose leading axes are the input
//! features and trailing axes the outputs (query `[d_model, heads, key_dim]`, output
//! `[heads, value_dim, d_model]`), and a bias of the outputs' shape, named
//! `{layer}.{sublayer}.kernel` and `{layer}.{sublayer}.bias` (`mha.query.kernel`).

use crate::Regularizer;
use kensho_autograd::{Param, Tape, Var};
use kensho_core::{Initializer, Result, Rng};

/// A kernel and an optional bias, applied to the last `inputs` features of a tensor.
#[derive(Clone, Debug)]
pub(super) struct Projection {
    /// Keras' sublayer name: `query`, `key`, `value` or `attention_output`.
    sublayer: &'static str,
    /// How many leading axes of the kernel are inputs.
    split: usize,
    pub(super) kernel: Option<Param>,
    pub(super) bias: Option<Param>,
}

impl Projection {
    /// No weights yet.
    pub(super) fn new(sublayer: &'static str) -> Projection {
        Projection { sublayer, split: 1, kernel: None, bias: None }
    }

    /// Whether the kernel exists with this shape.
    pub(super) fn has_kernel(&self, shape: &[usize]) -> bool {
        self.kernel.as_ref().is_some_and(|k| k.value.shape() == shape)
    }

    /// Creates the kernel `[inputs.., outputs..]` split after `split` axes (fans: the products
    /// of the two parts, as Keras' `EinsumDense` counts them) and, if `bias`, a bias of the
    /// outputs' shape.
    pub(super) fn create(
        &mut self,
        layer: &str,
        kernel_shape: &[usize],
        split: usize,
        init: (Initializer, Initializer),
        bias: bool,
        rng: &mut Rng,
    ) -> Result<()> {
        let fan = |dims: &[usize]| dims.iter().fold(1usize, |n, &d| n.saturating_mul(d));
        let (fan_in, fan_out) = (fan(&kernel_shape[..split]), fan(&kernel_shape[split..]));
        let name = |what: &str| format!("{layer}.{}.{what}", self.sublayer);
        let (kernel_name, bias_name) = (name("kernel"), name("bias"));
        let kernel = init.0.init(&kernel_name, kernel_shape, fan_in, fan_out, rng)?;
        let bias = match bias {
            true => {
                Some(Param::new(&bias_name, init.1.init(&bias_name, &kernel_shape[split..], fan_out, fan_out, rng)?))
            }
            false => None,
        };
        self.split = split;
        self.kernel = Some(Param::new(kernel_name, kernel));
        self.bias = bias;
        Ok(())
    }

    /// Renames the weights after the layer.
    pub(super) fn rename(&mut self, layer: &str) {
        for (p, what) in [(&mut self.kernel, "kernel"), (&mut self.bias, "bias")] {
            if let Some(p) = p {
                p.set_name(format!("{layer}.{}.{what}", self.sublayer));
            }
        }
    }

    /// `x · kernel + bias` for `x: [rows, fan_in]`: `[rows, fan_out]`.
    ///
    /// # Panics
    /// Before the layer is built.
    pub(super) fn apply<'t>(&self, x: Var<'t>, tape: &'t Tape) -> Var<'t> {
        let kernel = self.kernel.as_ref().expect("MultiHeadAttention used before build");
        let fan_in: usize = kernel.value.shape()[..self.split].iter().product();
        let fan_out = kernel.value.len() / fan_in;
        let w = tape.param(kernel).reshape(&[fan_in, fan_out]);
        match &self.bias {
            Some(b) => x.linear(w, tape.param(b).reshape(&[fan_out])),
            None => x.matmul(w),
        }
    }

    /// Kernel, then bias.
    pub(super) fn params(&self) -> impl Iterator<Item = &Param> {
        self.kernel.iter().chain(self.bias.iter())
    }

    /// Kernel, then bias, mutable.
    pub(super) fn params_mut(&mut self) -> impl Iterator<Item = &mut Param> {
        self.kernel.iter_mut().chain(self.bias.iter_mut())
    }

    /// The penalties on the trainable kernel and bias.
    pub(super) fn penalty<'t>(
        &self,
        regs: (Option<Regularizer>, Option<Regularizer>),
        tape: &'t Tape,
    ) -> Option<Var<'t>> {
        [(regs.0, &self.kernel), (regs.1, &self.bias)]
            .into_iter()
            .filter_map(|(reg, p)| Some((reg?, p.as_ref().filter(|p| p.trainable)?)))
            .map(|(reg, p)| reg.penalty(tape.param(p)))
            .reduce(Var::add)
    }
}
