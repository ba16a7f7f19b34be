//! The [`Dataset`] trait and its two implementations: [`TensorDataset`] (everything in memory)
//! and [`StreamDataset`] (items produced on demand, for data that does not fit in memory).

use std::sync::Arc;

use kensho_core::{Error, Result, Tensor};

/// Indexed pairs of (input, target) that can be gathered into batches.
///
/// A batch stacks the items at `indices` along a new first axis: `x` gets shape
/// `[indices.len(), ..item shape]` and so does `y`. `Send + Sync` so that a
/// [`DataLoader`](crate::DataLoader) can prefetch batches on a worker thread.
pub trait Dataset: Send + Sync {
    /// The number of items.
    fn len(&self) -> usize;

    /// `true` when the data set holds no item.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The inputs and targets of the items at `indices`, stacked along axis 0.
    ///
    /// # Errors
    /// An index `>= len()`, or a failure to read an item (I/O, parsing) in streaming data sets.
    fn batch(&self, indices: &[usize]) -> Result<(Tensor, Tensor)>;
}

impl<D: Dataset + ?Sized> Dataset for Arc<D> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn batch(&self, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        (**self).batch(indices)
    }
}

fn check_indices(indices: &[usize], len: usize) -> Result<()> {
    match indices.iter().find(|&&i| i >= len) {
        Some(i) => Err(Error::invalid("Dataset::batch: index", i, format!("an index below the data set length {len}"))),
        None => Ok(()),
    }
}

/// A data set held in memory as two tensors whose first axis is the item axis.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::{Dataset, TensorDataset};
/// let x = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[3, 2])?;
/// let y = Tensor::from_vec(vec![0.0, 1.0, 0.0], &[3])?;
/// let ds = TensorDataset::new(x, y)?;
/// let (xb, yb) = ds.batch(&[2, 0])?;
/// assert_eq!(xb.to_vec(), vec![4.0, 5.0, 0.0, 1.0]);
/// assert_eq!(yb.to_vec(), vec![0.0, 0.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TensorDataset {
    x: Tensor,
    y: Tensor,
}

impl TensorDataset {
    /// Pairs inputs `x` `[n, ..]` with targets `y` `[n, ..]`.
    ///
    /// # Errors
    /// A rank-0 tensor, or `x` and `y` with different numbers of rows.
    pub fn new(x: Tensor, y: Tensor) -> Result<Self> {
        if x.ndim() == 0 {
            return Err(Error::shape("TensorDataset::new: x", "at least one axis (the item axis)", x.shape()));
        }
        if y.ndim() == 0 {
            return Err(Error::shape("TensorDataset::new: y", "at least one axis (the item axis)", y.shape()));
        }
        if x.shape()[0] != y.shape()[0] {
            return Err(Error::shape(
                "TensorDataset::new: y",
                format!("{} rows, as many as x {:?}", x.shape()[0], x.shape()),
                y.shape(),
            ));
        }
        Ok(TensorDataset { x, y })
    }

    /// The inputs.
    pub fn x(&self) -> &Tensor {
        &self.x
    }

    /// The targets.
    pub fn y(&self) -> &Tensor {
        &self.y
    }
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.x.shape()[0]
    }

    fn batch(&self, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        check_indices(indices, self.len())?;
        Ok((self.x.index_select(0, indices), self.y.index_select(0, indices)))
    }
}

type ItemFn = dyn Fn(usize) -> Result<(Vec<f32>, Vec<f32>)> + Send + Sync;

/// A data set whose items are produced on demand by a function (reading a file, decoding an
/// image, generating samples), so only the current batches are ever in memory.
///
/// The function returns the flat (row-major) values of one item's input and target; their
/// lengths must match the item shapes given to [`StreamDataset::new`].
///
/// ```
/// use kensho_data::{Dataset, StreamDataset};
/// // 1000 items: x = [i, 2i], y = i mod 2, computed when asked for.
/// let ds = StreamDataset::new(1000, &[2], &[], |i| Ok((vec![i as f32, 2.0 * i as f32], vec![(i % 2) as f32])));
/// let (x, y) = ds.batch(&[3, 4])?;
/// assert_eq!(x.shape(), &[2, 2]);
/// assert_eq!(x.to_vec(), vec![3.0, 6.0, 4.0, 8.0]);
/// assert_eq!(y.to_vec(), vec![1.0, 0.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone)]
pub struct StreamDataset {
    len: usize,
    x_shape: Vec<usize>,
    y_shape: Vec<usize>,
    item: Arc<ItemFn>,
}

impl StreamDataset {
    /// `len` items with per-item shapes `x_shape` and `y_shape` (`&[]` for a scalar target),
    /// produced by `item(index)`.
    pub fn new(
        len: usize,
        x_shape: &[usize],
        y_shape: &[usize],
        item: impl Fn(usize) -> Result<(Vec<f32>, Vec<f32>)> + Send + Sync + 'static,
    ) -> Self {
        StreamDataset { len, x_shape: x_shape.to_vec(), y_shape: y_shape.to_vec(), item: Arc::new(item) }
    }
}

impl std::fmt::Debug for StreamDataset {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StreamDataset")
            .field("len", &self.len)
            .field("x_shape", &self.x_shape)
            .field("y_shape", &self.y_shape)
            .finish_non_exhaustive()
    }
}

impl Dataset for StreamDataset {
    fn len(&self) -> usize {
        self.len
    }

    fn batch(&self, indices: &[usize]) -> Result<(Tensor, Tensor)> {
        check_indices(indices, self.len)?;
        let x_len: usize = self.x_shape.iter().product();
        let y_len: usize = self.y_shape.iter().product();
        let mut xs = Vec::with_capacity(indices.len() * x_len);
        let mut ys = Vec::with_capacity(indices.len() * y_len);
        for &i in indices {
            let (x, y) = (self.item)(i)?;
            if x.len() != x_len || y.len() != y_len {
                return Err(Error::invalid(
                    format!("StreamDataset item {i}"),
                    format!("{} input and {} target values", x.len(), y.len()),
                    format!("{x_len} and {y_len} values (item shapes {:?} and {:?})", self.x_shape, self.y_shape),
                ));
            }
            xs.extend_from_slice(&x);
            ys.extend_from_slice(&y);
        }
        let stacked = |shape: &[usize]| [&[indices.len()], shape].concat();
        Ok((Tensor::from_vec(xs, &stacked(&self.x_shape))?, Tensor::from_vec(ys, &stacked(&self.y_shape))?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tensor_dataset_rejects_disagreeing_row_counts_and_names_both() {
        let err = TensorDataset::new(Tensor::zeros(&[3, 2]), Tensor::zeros(&[4])).unwrap_err().to_string();
        assert!(err.contains("3 rows") && err.contains("[4]") && err.contains("[3, 2]"), "{err}");
    }

    #[test]
    fn out_of_range_index_is_an_error() {
        let ds = TensorDataset::new(Tensor::zeros(&[3, 2]), Tensor::zeros(&[3])).unwrap();
        assert!(ds.batch(&[0, 3]).is_err());
        let s = StreamDataset::new(2, &[1], &[], |i| Ok((vec![i as f32], vec![0.0])));
        assert!(s.batch(&[2]).is_err());
    }

    #[test]
    fn stream_item_of_wrong_size_is_an_error() {
        let s = StreamDataset::new(2, &[3], &[], |_| Ok((vec![1.0], vec![0.0])));
        let err = s.batch(&[1]).unwrap_err().to_string();
        assert!(err.contains("item 1") && err.contains("[3]"), "{err}");
    }
}
