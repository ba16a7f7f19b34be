//! Spatial shape kernels on channels-last `[N, H, W, C]` tensors: zero padding (`pad2d`) and its
//! adjoint, cropping (`crop2d`); nearest-neighbour upsampling (`upsample2d_nearest`) and its
//! adjoint, the sum over each block (`upsample2d_nearest_grad`).
//!
//! Each kernel copies or adds whole contiguous rows of `W * C` or `C` values; the samples of a
//! large batch are dealt out to the kernel threads (as the pooling kernels), with results that
//! do not depend on the thread count.

use super::pool::for_each_sample;
use super::Tensor;

/// The dimensions of an `[N, H, W, C]` tensor.
#[track_caller]
fn dims4(op: &str, t: &Tensor) -> [usize; 4] {
    match *t.shape() {
        [n, h, w, c] => [n, h, w, c],
        _ => {
            panic!("{op}: expected an input of rank 4 [batch, height, width, channels], received shape {:?}", t.shape())
        }
    }
}

impl Tensor {
    /// Pads the height and width of an `[N, H, W, C]` tensor with zeros:
    /// `[[top, bottom], [left, right]]` rows and columns (Keras `ZeroPadding2D`).
    ///
    /// ```
    /// let x = kensho_core::Tensor::ones(&[1, 1, 2, 1]);
    /// let y = x.pad2d([[1, 0], [0, 1]]);
    /// assert_eq!(y.shape(), &[1, 2, 3, 1]);
    /// assert_eq!(y.to_vec(), vec![0.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
    /// ```
    ///
    /// # Panics
    /// If the input is not of rank 4.
    #[track_caller]
    pub fn pad2d(&self, padding: [[usize; 2]; 2]) -> Tensor {
        let [n, h, w, c] = dims4("pad2d", self);
        let [[top, bottom], [left, right]] = padding;
        let (ph, pw) = (h + top + bottom, w + left + right);
        let x = self.to_contiguous();
        let xs = x.as_slice().expect("contiguous");
        let (row, per_in, per_out) = (w * c, h * w * c, ph * pw * c);
        let mut out = vec![0.0f32; n * per_out];
        if row > 0 {
            for_each_sample(&mut out, per_out, n * per_out, |i, dst| {
                let src = xs[i * per_in..(i + 1) * per_in].chunks_exact(row);
                for (r, src) in src.enumerate() {
                    let at = ((r + top) * pw + left) * c;
                    dst[at..at + row].copy_from_slice(src);
                }
            });
        }
        Tensor::from_vec(out, &[n, ph, pw, c]).expect("sizes match")
    }

    /// Removes `[[top, bottom], [left, right]]` rows and columns from the borders of an
    /// `[N, H, W, C]` tensor (Keras `Cropping2D`); the adjoint of [`Tensor::pad2d`].
    ///
    /// # Panics
    /// If the input is not of rank 4, or the crop is larger than the height or width.
    #[track_caller]
    pub fn crop2d(&self, cropping: [[usize; 2]; 2]) -> Tensor {
        let [n, h, w, c] = dims4("crop2d", self);
        let [[top, bottom], [left, right]] = cropping;
        assert!(
            top + bottom <= h && left + right <= w,
            "crop2d: cropping {cropping:?} is larger than the height and width of shape {:?}",
            self.shape()
        );
        let (ch, cw) = (h - top - bottom, w - left - right);
        let x = self.to_contiguous();
        let xs = x.as_slice().expect("contiguous");
        let (row, per_in, per_out) = (cw * c, h * w * c, ch * cw * c);
        let mut out = vec![0.0f32; n * per_out];
        if row > 0 {
            for_each_sample(&mut out, per_out, n * per_out, |i, dst| {
                let src = &xs[i * per_in..(i + 1) * per_in];
                for (r, dst) in dst.chunks_exact_mut(row).enumerate() {
                    let at = ((r + top) * w + left) * c;
                    dst.copy_from_slice(&src[at..at + row]);
                }
            });
        }
        Tensor::from_vec(out, &[n, ch, cw, c]).expect("sizes match")
    }

    /// Nearest-neighbour upsampling of an `[N, H, W, C]` tensor by `[sh, sw]`: each value is
    /// repeated over an `sh x sw` block (Keras `UpSampling2D` with `interpolation="nearest"`).
    ///
    /// ```
    /// let x = kensho_core::Tensor::arange(2).reshape_to(&[1, 1, 2, 1]);
    /// assert_eq!(x.upsample2d_nearest([2, 2]).to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0]);
    /// ```
    ///
    /// # Panics
    /// If the input is not of rank 4 or a factor is 0.
    #[track_caller]
    #[doc(alias = "UpSampling2D")]
    pub fn upsample2d_nearest(&self, size: [usize; 2]) -> Tensor {
        let [n, h, w, c] = dims4("upsample2d_nearest", self);
        let [sh, sw] = size;
        assert!(sh > 0 && sw > 0, "upsample2d_nearest: factors {size:?} must be at least 1");
        let x = self.to_contiguous();
        let xs = x.as_slice().expect("contiguous");
        let (row_in, row_out) = (w * c, w * sw * c);
        let mut out = vec![0.0f32; n * h * sh * row_out];
        if c > 0 && w > 0 {
            let work = out.len();
            for_each_sample(&mut out, h * sh * row_out, work, |i, dst| {
                let src = xs[i * h * row_in..(i + 1) * h * row_in].chunks_exact(row_in);
                for (src, block) in src.zip(dst.chunks_exact_mut(sh * row_out)) {
                    let (first, rest) = block.split_at_mut(row_out);
                    for (v, rep) in src.chunks_exact(c).zip(first.chunks_exact_mut(sw * c)) {
                        rep.chunks_exact_mut(c).for_each(|d| d.copy_from_slice(v));
                    }
                    rest.chunks_exact_mut(row_out).for_each(|d| d.copy_from_slice(first));
                }
            });
        }
        Tensor::from_vec(out, &[n, h * sh, w * sw, c]).expect("sizes match")
    }

    /// The adjoint of [`Tensor::upsample2d_nearest`] (its gradient): each `sh x sw` block of an
    /// `[N, H * sh, W * sw, C]` tensor summed to one value of `[N, H, W, C]`.
    ///
    /// # Panics
    /// If the input is not of rank 4, a factor is 0, or the height and width are not multiples
    /// of the factors.
    #[track_caller]
    pub fn upsample2d_nearest_grad(&self, size: [usize; 2]) -> Tensor {
        let [n, uh, uw, c] = dims4("upsample2d_nearest_grad", self);
        let [sh, sw] = size;
        assert!(
            sh > 0 && sw > 0 && uh % sh == 0 && uw % sw == 0,
            "upsample2d_nearest_grad: shape {:?} is not made of {size:?} blocks",
            self.shape()
        );
        let (h, w) = (uh / sh, uw / sw);
        let dy = self.to_contiguous();
        let dys = dy.as_slice().expect("contiguous");
        let (row_in, row_out) = (uw * c, w * c);
        let mut dx = vec![0.0f32; n * h * row_out];
        if c > 0 && w > 0 {
            for_each_sample(&mut dx, h * row_out, dys.len(), |i, dst| {
                let src = dys[i * uh * row_in..(i + 1) * uh * row_in].chunks_exact(sh * row_in);
                for (block, out_row) in src.zip(dst.chunks_exact_mut(row_out)) {
                    for src_row in block.chunks_exact(row_in) {
                        for (cell, d) in src_row.chunks_exact(sw * c).zip(out_row.chunks_exact_mut(c)) {
                            for v in cell.chunks_exact(c) {
                                d.iter_mut().zip(v).for_each(|(d, &v)| *d += v);
                            }
                        }
                    }
                }
            });
        }
        Tensor::from_vec(dx, &[n, h, w, c]).expect("sizes match")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_then_crop_is_the_identity() {
        let x = Tensor::arange(2 * 3 * 2 * 2).reshape_to(&[2, 3, 2, 2]);
        let p = [[1, 2], [0, 3]];
        assert_eq!(x.pad2d(p).shape(), &[2, 6, 5, 2]);
        assert_eq!(x.pad2d(p).crop2d(p), x);
        assert_eq!(x.pad2d(p).sum_all(), x.sum_all());
        assert_eq!(x.crop2d([[1, 1], [1, 0]]).to_vec(), vec![6., 7., 18., 19.]);
    }

    #[test]
    fn upsample_repeats_blocks_and_its_adjoint_sums_them() {
        let x = Tensor::arange(4).reshape_to(&[1, 2, 1, 2]);
        let up = x.upsample2d_nearest([2, 3]);
        assert_eq!(up.shape(), &[1, 4, 3, 2]);
        assert_eq!(up.to_vec()[..6], [0., 1., 0., 1., 0., 1.]);
        assert_eq!(up.to_vec()[12..18], [2., 3., 2., 3., 2., 3.]);
        assert_eq!(up.upsample2d_nearest_grad([2, 3]), x.mul_scalar(6.0));
    }

    #[test]
    fn bad_shapes_name_the_op() {
        let p = std::panic::catch_unwind(|| Tensor::zeros(&[2, 2, 2, 1]).crop2d([[2, 1], [0, 0]])).unwrap_err();
        assert!(p.downcast_ref::<String>().unwrap().contains("crop2d"));
        let p = std::panic::catch_unwind(|| Tensor::zeros(&[2, 3, 2]).pad2d([[1, 1], [1, 1]])).unwrap_err();
        assert!(p.downcast_ref::<String>().unwrap().contains("[2, 3, 2]"));
        let p = std::panic::catch_unwind(|| Tensor::zeros(&[1, 3, 2, 1]).upsample2d_nearest_grad([2, 2])).unwrap_err();
        assert!(p.downcast_ref::<String>().unwrap().contains("upsample2d_nearest_grad"));
    }
}
