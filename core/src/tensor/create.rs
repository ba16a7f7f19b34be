//! Constructors: from data, constant fills, ranges, identity and random draws.

use super::Tensor;
use crate::{Error, Result};
use ndarray::{ArrayD, Dimension, IxDyn};
use rand::Rng as _;
use rand_distr::{Distribution, Normal};

impl Tensor {
    /// The number of elements of a tensor of `shape`, checked: the product of the non-zero
    /// dimensions must not overflow and must fit in one f32 buffer (at most `isize::MAX` bytes,
    /// the most one allocation can hold, as ndarray requires).
    ///
    /// Every constructor that takes a shape checks it this way: [`Tensor::from_vec`] returns
    /// the error, and the infallible ones (`zeros`, `full`, `rand_*`, ...) panic with it, so a
    /// shape from outside (a file, a configuration) should go through here first.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] naming the shape and its size.
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// assert_eq!(Tensor::element_count(&[2, 3, 4])?, 24);
    /// assert_eq!(Tensor::element_count(&[0, 5])?, 0);
    /// assert!(Tensor::element_count(&[1 << 62, 4]).is_err()); // wraps around to 0 unchecked
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    pub fn element_count(shape: &[usize]) -> Result<usize> {
        const MAX: usize = isize::MAX as usize / std::mem::size_of::<f32>();
        let nonzero = shape.iter().filter(|&&d| d != 0).try_fold(1usize, |n, &d| n.checked_mul(d));
        match nonzero {
            Some(n) if n <= MAX => Ok(if shape.contains(&0) { 0 } else { n }),
            _ => Err(Error::invalid(
                format!("tensor shape {shape:?}"),
                format!("{:.1e} elements", shape.iter().map(|&d| d as f64).product::<f64>()),
                format!("at most {MAX} elements (isize::MAX bytes of f32)"),
            )),
        }
    }

    /// [`Tensor::element_count`] for the infallible constructors.
    #[track_caller]
    fn checked_len(shape: &[usize], op: &str) -> usize {
        Tensor::element_count(shape).unwrap_or_else(|e| panic!("{op}: {e}"))
    }

    /// A tensor of the given shape holding `data` in row-major order.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] if `data.len()` is not the product of `shape`, or that
    /// product overflows (see [`Tensor::element_count`]).
    ///
    /// ```
    /// let t = kensho_core::Tensor::from_vec(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])?;
    /// assert_eq!(t.shape(), &[2, 2]);
    /// assert!(kensho_core::Tensor::from_vec(vec![1.0, 2.0, 3.0], &[2, 2]).is_err());
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    pub fn from_vec(data: Vec<f32>, shape: &[usize]) -> Result<Tensor> {
        let expected = Tensor::element_count(shape)?;
        if data.len() != expected {
            return Err(Error::invalid(
                format!("Tensor::from_vec: data length for shape {shape:?}"),
                data.len(),
                format!("{expected} values (the product of the shape)"),
            ));
        }
        let array = ArrayD::from_shape_vec(IxDyn(shape), data).expect("length checked above");
        Ok(Tensor::from_array(array))
    }

    /// A tensor with no dimensions holding one value.
    pub fn scalar(value: f32) -> Tensor {
        Tensor::from_array(ArrayD::from_elem(IxDyn(&[]), value))
    }

    /// A tensor filled with `value`.
    ///
    /// # Panics
    /// If the shape's size overflows (see [`Tensor::element_count`]), as for every
    /// constructor below; check shapes from outside with `element_count` first.
    #[track_caller]
    pub fn full(shape: &[usize], value: f32) -> Tensor {
        Tensor::checked_len(shape, "Tensor::full");
        Tensor::from_array(ArrayD::from_elem(IxDyn(shape), value))
    }

    /// A tensor of zeros.
    #[track_caller]
    pub fn zeros(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 0.0)
    }

    /// A tensor of ones.
    #[track_caller]
    pub fn ones(shape: &[usize]) -> Tensor {
        Tensor::full(shape, 1.0)
    }

    /// A tensor of zeros with the shape of `self`.
    pub fn zeros_like(&self) -> Tensor {
        Tensor::zeros(self.shape())
    }

    /// The 1-D tensor `[0, 1, ..., n - 1]`.
    pub fn arange(n: usize) -> Tensor {
        Tensor::from_array(ArrayD::from_shape_fn(IxDyn(&[n]), |i| i[0] as f32))
    }

    /// The `n` x `n` identity matrix.
    pub fn eye(n: usize) -> Tensor {
        Tensor::from_array(ArrayD::from_shape_fn(IxDyn(&[n, n]), |i| if i[0] == i[1] { 1.0 } else { 0.0 }))
    }

    /// A tensor whose element at each index is `f(index)`.
    #[track_caller]
    pub fn from_fn(shape: &[usize], mut f: impl FnMut(&[usize]) -> f32) -> Tensor {
        Tensor::checked_len(shape, "Tensor::from_fn");
        Tensor::from_array(ArrayD::from_shape_fn(IxDyn(shape), |i| f(i.slice())))
    }

    /// Independent draws from the uniform distribution on `[low, high)`.
    #[track_caller]
    pub fn rand_uniform(shape: &[usize], low: f32, high: f32, rng: &mut crate::Rng) -> Tensor {
        let n = Tensor::checked_len(shape, "Tensor::rand_uniform");
        let data = (0..n).map(|_| low + (high - low) * rng.random::<f32>()).collect();
        Tensor::from_vec(data, shape).expect("length matches shape")
    }

    /// Independent draws from the normal distribution with the given mean and standard deviation.
    ///
    /// # Panics
    /// If `std` is negative or not finite.
    #[track_caller]
    pub fn rand_normal(shape: &[usize], mean: f32, std: f32, rng: &mut crate::Rng) -> Tensor {
        let normal = Normal::new(mean, std).unwrap_or_else(|e| panic!("rand_normal: std {std}: {e}"));
        let n = Tensor::checked_len(shape, "Tensor::rand_normal");
        let data = (0..n).map(|_| normal.sample(rng)).collect();
        Tensor::from_vec(data, shape).expect("length matches shape")
    }

    /// Draws from the normal distribution truncated to two standard deviations around the mean
    /// (values further away are drawn again), as Keras' `TruncatedNormal`.
    #[track_caller]
    pub fn rand_truncated_normal(shape: &[usize], mean: f32, std: f32, rng: &mut crate::Rng) -> Tensor {
        let normal = Normal::new(0.0f32, 1.0).expect("unit normal");
        let n = Tensor::checked_len(shape, "Tensor::rand_truncated_normal");
        let data = (0..n)
            .map(|_| loop {
                let z: f32 = normal.sample(rng);
                if z.abs() <= 2.0 {
                    break mean + std * z;
                }
            })
            .collect();
        Tensor::from_vec(data, shape).expect("length matches shape")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_vec_rejects_wrong_length_with_both_numbers() {
        let err = Tensor::from_vec(vec![1.0; 5], &[2, 3]).unwrap_err().to_string();
        assert!(err.contains('5') && err.contains('6') && err.contains("[2, 3]"), "{err}");
    }

    #[test]
    fn shapes_whose_product_wraps_are_errors_not_panics() {
        // 2^62 * 4 wraps to 0 in usize: the unchecked product matched an empty Vec, and
        // ndarray then refused the shape, which panicked on "length checked above".
        for shape in [vec![1usize << 62, 4], vec![1 << 32, 1 << 32], vec![0, usize::MAX, 2], vec![usize::MAX]] {
            let err = Tensor::from_vec(Vec::new(), &shape).unwrap_err().to_string();
            assert!(err.contains(&format!("{shape:?}")), "{err}");
        }
        assert_eq!(Tensor::element_count(&[0, 1 << 40]).unwrap(), 0);
        assert_eq!(Tensor::from_vec(Vec::new(), &[0, 1 << 40]).unwrap().shape(), &[0, 1 << 40]);
        let panic = std::panic::catch_unwind(|| Tensor::zeros(&[1 << 62, 4])).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("Tensor::full: invalid tensor shape [4611686018427387904, 4]"), "{message}");
    }

    #[test]
    fn constructors_fill_as_documented() {
        assert_eq!(Tensor::arange(4).to_vec(), vec![0.0, 1.0, 2.0, 3.0]);
        assert_eq!(Tensor::eye(2).to_vec(), vec![1.0, 0.0, 0.0, 1.0]);
        assert_eq!(Tensor::full(&[2], 7.5).to_vec(), vec![7.5, 7.5]);
        assert_eq!(Tensor::scalar(3.0).shape(), &[] as &[usize]);
    }

    #[test]
    fn random_draws_are_seeded_and_in_range() {
        let a = Tensor::rand_uniform(&[1000], -2.0, 3.0, &mut crate::seeded_rng(7));
        let b = Tensor::rand_uniform(&[1000], -2.0, 3.0, &mut crate::seeded_rng(7));
        assert_eq!(a, b);
        assert!(a.to_vec().iter().all(|&v| (-2.0..3.0).contains(&v)));
        let n = Tensor::rand_normal(&[20000], 1.0, 2.0, &mut crate::seeded_rng(1)).to_vec();
        let mean = n.iter().sum::<f32>() / n.len() as f32;
        let var = n.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / n.len() as f32;
        assert!((mean - 1.0).abs() < 0.05 && (var.sqrt() - 2.0).abs() < 0.05, "{mean} {var}");
        let t = Tensor::rand_truncated_normal(&[5000], 0.0, 1.0, &mut crate::seeded_rng(2)).to_vec();
        assert!(t.iter().all(|v| v.abs() <= 2.0));
    }
}
