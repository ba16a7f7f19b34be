//! Pooling and spatial ops on channels-last values: max and average pooling (2-D over
//! `[N, H, W, C]`, 1-D over `[N, L, C]` as the 2-D op on `[N, 1, L, C]`), zero padding and
//! cropping (each the other's backward), and nearest-neighbour upsampling (backward: the sum
//! over each block).
//!
//! Max pooling sends each window's gradient to its first maximal element in row-major window
//! order (see `max_pool_ties_route_to_first` in kensho-core's tests), recorded by the forward
//! ([`kensho_core::MaxPoolArgmax`]). Global pooling is
//! [`Var::mean_axes`] or [`Var::max_axes`] over axes `[1, 2]`.

use crate::Var;
use kensho_core::{Pool1dOptions, Pool2dOptions};
use smallvec::smallvec;

impl<'t> Var<'t> {
    /// Max pooling of an `[N, H, W, C]` value (Keras `MaxPooling2D`).
    ///
    /// ```
    /// use kensho_autograd::Tape;
    /// use kensho_core::{Pool2dOptions, Tensor};
    /// let tape = Tape::new();
    /// let x = tape.leaf(Tensor::arange(16).reshape_to(&[1, 4, 4, 1]));
    /// let y = x.max_pool2d(Pool2dOptions::new([2, 2]));
    /// assert_eq!(y.value().to_vec(), vec![5.0, 7.0, 13.0, 15.0]);
    /// let grads = tape.backward(y.sum_all());
    /// assert_eq!(grads.wrt(x).unwrap().get_flat(5), 1.0);
    /// ```
    ///
    /// # Panics
    /// If the value is not of rank 4, a valid window does not fit, or a size or stride is 0.
    #[track_caller]
    #[doc(alias = "MaxPooling2D")]
    pub fn max_pool2d(self, opts: Pool2dOptions) -> Var<'t> {
        if !self.tape().grad_enabled() {
            return self.tape().constant(self.value().max_pool2d(opts));
        }
        // The window maxima's positions are recorded in the forward scan, so the backward
        // routes the gradient without keeping or scanning the input.
        let (y, argmax) = self.value().max_pool2d_with_argmax(opts);
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(argmax.grad(dy))])
    }

    /// Average pooling of an `[N, H, W, C]` value (Keras `AveragePooling2D`); with same padding
    /// each window is divided by its number of real elements.
    ///
    /// # Panics
    /// As [`Var::max_pool2d`].
    #[track_caller]
    #[doc(alias = "AveragePooling2D")]
    pub fn avg_pool2d(self, opts: Pool2dOptions) -> Var<'t> {
        let x = self.value();
        let shape = x.shape().to_vec();
        let y = x.avg_pool2d(opts);
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(dy.avg_pool2d_grad(&shape, opts))])
    }

    /// Max pooling of an `[N, L, C]` value (Keras `MaxPooling1D`).
    ///
    /// # Panics
    /// If the value is not of rank 3, a valid window does not fit, or the size or stride is 0.
    #[track_caller]
    #[doc(alias = "MaxPooling1D")]
    pub fn max_pool1d(self, opts: Pool1dOptions) -> Var<'t> {
        let out = opts.output_shape(&self.shape()).unwrap_or_else(|e| panic!("{e}"));
        self.unsqueeze(1).max_pool2d(opts.to_2d()).reshape(&out)
    }

    /// Average pooling of an `[N, L, C]` value (Keras `AveragePooling1D`).
    ///
    /// # Panics
    /// As [`Var::max_pool1d`].
    #[track_caller]
    #[doc(alias = "AveragePooling1D")]
    pub fn avg_pool1d(self, opts: Pool1dOptions) -> Var<'t> {
        let out = opts.output_shape(&self.shape()).unwrap_or_else(|e| panic!("{e}"));
        self.unsqueeze(1).avg_pool2d(opts.to_2d()).reshape(&out)
    }

    /// Pads the height and width of an `[N, H, W, C]` value with zeros:
    /// `[[top, bottom], [left, right]]` (Keras `ZeroPadding2D`); the backward crops.
    ///
    /// # Panics
    /// If the value is not of rank 4.
    #[track_caller]
    #[doc(alias = "ZeroPadding2D")]
    pub fn pad2d(self, padding: [[usize; 2]; 2]) -> Var<'t> {
        let y = self.value().pad2d(padding);
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(dy.crop2d(padding))])
    }

    /// Removes `[[top, bottom], [left, right]]` rows and columns from the borders of an
    /// `[N, H, W, C]` value (Keras `Cropping2D`); the backward pads with zeros.
    ///
    /// # Panics
    /// If the value is not of rank 4, or the crop is larger than the height or width.
    #[track_caller]
    #[doc(alias = "Cropping2D")]
    pub fn crop2d(self, cropping: [[usize; 2]; 2]) -> Var<'t> {
        let y = self.value().crop2d(cropping);
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(dy.pad2d(cropping))])
    }

    /// Nearest-neighbour upsampling of an `[N, H, W, C]` value by `[sh, sw]` (Keras
    /// `UpSampling2D`); the backward sums each block.
    ///
    /// # Panics
    /// If the value is not of rank 4 or a factor is 0.
    #[track_caller]
    #[doc(alias = "UpSampling2D")]
    pub fn upsample2d(self, size: [usize; 2]) -> Var<'t> {
        let y = self.value().upsample2d_nearest(size);
        self.tape().record(y, &[self], move |dy, _| smallvec![Some(dy.upsample2d_nearest_grad(size))])
    }
}
