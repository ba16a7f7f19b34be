//! The [`Dataset`] trait, the [`Batch`] it produces, and its two implementations:
//! [`TensorDataset`] (everything in memory) and [`StreamDataset`] (items produced on demand, for
//! data that does not fit in memory).

use std::sync::Arc;

use kensho_core::{Error, Result, Tensor};

/// One batch: the model's inputs and the targets of its outputs, each stacked along axis 0.
///
/// A model with one input and one output gets a batch with one tensor in each list
/// ([`Batch::new`]); a model with several inputs (or outputs) gets them in the order the model
/// declares them. Every tensor has the same number of rows ([`Batch::rows`]).
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::Batch;
/// let batch = Batch::new(Tensor::zeros(&[4, 3]), Tensor::zeros(&[4]));
/// assert_eq!((batch.inputs.len(), batch.targets.len(), batch.rows()), (1, 1, 4));
/// ```
#[derive(Clone, Debug)]
pub struct Batch {
    /// One tensor per model input, `[batch, ..]`.
    pub inputs: Vec<Tensor>,
    /// One tensor per model output, `[batch, ..]`.
    pub targets: Vec<Tensor>,
}

impl Batch {
    /// A batch with one input `x` `[batch, ..]` and one target `y` `[batch, ..]`.
    pub fn new(x: Tensor, y: Tensor) -> Batch {
        Batch { inputs: vec![x], targets: vec![y] }
    }

    /// The number of rows (items) in the batch: the length of the first input's axis 0.
    ///
    /// # Panics
    /// A batch without inputs, or whose first input is a rank-0 tensor; the data sets of this
    /// crate never produce one.
    #[track_caller]
    pub fn rows(&self) -> usize {
        let first = self.inputs.first().expect("Batch::rows: the batch has no input tensor");
        *first.shape().first().expect("Batch::rows: the first input is rank 0 and has no item axis")
    }
}

/// Indexed items (inputs and targets) that can be gathered into [`Batch`]es.
///
/// A batch stacks the items at `indices` along a new first axis: each input and each target gets
/// shape `[indices.len(), ..item shape]`. `Send + Sync` so that a
/// [`DataLoader`](crate::DataLoader) can prefetch batches on a worker thread.
///
/// Implement it yourself for items read or generated on demand with several inputs or outputs:
///
/// ```
/// use kensho_core::{Result, Tensor};
/// use kensho_data::{Batch, Dataset};
/// /// Items `i`: inputs `[i]` and `[i, i]`, target `[2i]`.
/// struct Doubled(usize);
/// impl Dataset for Doubled {
///     fn len(&self) -> usize {
///         self.0
///     }
///     fn batch(&self, indices: &[usize]) -> Result<Batch> {
///         let a: Vec<f32> = indices.iter().map(|&i| i as f32).collect();
///         let b: Vec<f32> = a.iter().flat_map(|&v| [v, v]).collect();
///         let y: Vec<f32> = a.iter().map(|&v| 2.0 * v).collect();
///         let n = indices.len();
///         Ok(Batch {
///             inputs: vec![Tensor::from_vec(a, &[n, 1])?, Tensor::from_vec(b, &[n, 2])?],
///             targets: vec![Tensor::from_vec(y, &[n])?],
///         })
///     }
/// }
/// let batch = Doubled(10).batch(&[3, 5])?;
/// assert_eq!(batch.inputs[1].to_vec(), vec![3.0, 3.0, 5.0, 5.0]);
/// assert_eq!(batch.targets[0].to_vec(), vec![6.0, 10.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub trait Dataset: Send + Sync {
    /// The number of items.
    fn len(&self) -> usize;

    /// `true` when the data set holds no item.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The inputs and targets of the items at `indices`, each stacked along axis 0.
    ///
    /// # Errors
    /// An index `>= len()`, or a failure to read an item (I/O, parsing) in streaming data sets.
    fn batch(&self, indices: &[usize]) -> Result<Batch>;
}

impl<D: Dataset + ?Sized> Dataset for Arc<D> {
    fn len(&self) -> usize {
        (**self).len()
    }
    fn batch(&self, indices: &[usize]) -> Result<Batch> {
        (**self).batch(indices)
    }
}

fn check_indices(indices: &[usize], len: usize) -> Result<()> {
    match indices.iter().find(|&&i| i >= len) {
        Some(i) => Err(Error::invalid("Dataset::batch: index", i, format!("an index below the data set length {len}"))),
        None => Ok(()),
    }
}

/// A data set held in memory as tensors whose first axis is the item axis: one or more inputs
/// and any number of targets, all with the same number of rows.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::{Dataset, TensorDataset};
/// let x = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[3, 2])?;
/// let y = Tensor::from_vec(vec![0.0, 1.0, 0.0], &[3])?;
/// let ds = TensorDataset::new(x, y)?;
/// let batch = ds.batch(&[2, 0])?;
/// assert_eq!(batch.inputs[0].to_vec(), vec![4.0, 5.0, 0.0, 1.0]);
/// assert_eq!(batch.targets[0].to_vec(), vec![0.0, 0.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct TensorDataset {
    inputs: Vec<Tensor>,
    targets: Vec<Tensor>,
}

impl TensorDataset {
    /// Pairs inputs `x` `[n, ..]` with targets `y` `[n, ..]` (one model input, one output).
    ///
    /// # Errors
    /// A rank-0 tensor, or `x` and `y` with different numbers of rows.
    pub fn new(x: Tensor, y: Tensor) -> Result<Self> {
        let (inputs, targets) = (vec![x], vec![y]);
        check_rows("TensorDataset::new", &inputs, &targets, |_| "x".into(), |_| "y".into())?;
        Ok(TensorDataset { inputs, targets })
    }

    /// Several inputs and targets, for a model with several inputs or outputs, in the order the
    /// model declares them. `targets` may be empty (data to predict on).
    ///
    /// ```
    /// use kensho_core::Tensor;
    /// use kensho_data::{Dataset, TensorDataset};
    /// let image = Tensor::zeros(&[5, 8, 8]);
    /// let meta = Tensor::zeros(&[5, 3]);
    /// let (class, bbox) = (Tensor::zeros(&[5]), Tensor::zeros(&[5, 4]));
    /// let ds = TensorDataset::from_lists(vec![image, meta], vec![class, bbox])?;
    /// let batch = ds.batch(&[0, 4])?;
    /// assert_eq!(batch.inputs[1].shape(), &[2, 3]);
    /// assert_eq!(batch.targets[1].shape(), &[2, 4]);
    /// # Ok::<(), kensho_core::Error>(())
    /// ```
    ///
    /// # Errors
    /// No input, a rank-0 tensor, or a tensor whose number of rows differs from `inputs[0]`'s;
    /// the message names the argument and its index (`targets[1]`), the shape received and the
    /// row count expected.
    pub fn from_lists(inputs: Vec<Tensor>, targets: Vec<Tensor>) -> Result<Self> {
        if inputs.is_empty() {
            return Err(Error::invalid(
                "TensorDataset::from_lists: inputs",
                "an empty list",
                "at least one input tensor",
            ));
        }
        let (input, target) = (|i| format!("inputs[{i}]"), |i| format!("targets[{i}]"));
        check_rows("TensorDataset::from_lists", &inputs, &targets, input, target)?;
        Ok(TensorDataset { inputs, targets })
    }

    /// The first input (the only one for a data set built with [`TensorDataset::new`]).
    pub fn x(&self) -> &Tensor {
        &self.inputs[0]
    }

    /// The first target (the only one for a data set built with [`TensorDataset::new`]).
    ///
    /// # Panics
    /// A data set built by [`TensorDataset::from_lists`] with no target; use
    /// [`TensorDataset::targets`] there.
    #[track_caller]
    pub fn y(&self) -> &Tensor {
        self.targets.first().expect("TensorDataset::y: this data set has no target")
    }

    /// All inputs, in model order.
    pub fn inputs(&self) -> &[Tensor] {
        &self.inputs
    }

    /// All targets, in model order.
    pub fn targets(&self) -> &[Tensor] {
        &self.targets
    }
}

/// Checks that every tensor has an item axis and as many rows as `inputs[0]`; `input(i)` and
/// `target(i)` name the tensors in messages.
fn check_rows(
    op: &str,
    inputs: &[Tensor],
    targets: &[Tensor],
    input: impl Fn(usize) -> String,
    target: impl Fn(usize) -> String,
) -> Result<()> {
    let named = inputs.iter().enumerate().map(|(i, t)| (input(i), t));
    let named: Vec<(String, &Tensor)> = named.chain(targets.iter().enumerate().map(|(i, t)| (target(i), t))).collect();
    for (name, t) in &named {
        if t.ndim() == 0 {
            return Err(Error::shape(format!("{op}: {name}"), "at least one axis (the item axis)", t.shape()));
        }
    }
    let (first_name, first) = &named[0];
    let rows = first.shape()[0];
    for (name, t) in &named[1..] {
        if t.shape()[0] != rows {
            return Err(Error::shape(
                format!("{op}: {name}"),
                format!("{rows} rows, as many as {first_name} {:?}", first.shape()),
                t.shape(),
            ));
        }
    }
    Ok(())
}

impl Dataset for TensorDataset {
    fn len(&self) -> usize {
        self.inputs[0].shape()[0]
    }

    fn batch(&self, indices: &[usize]) -> Result<Batch> {
        check_indices(indices, self.len())?;
        let gather = |ts: &[Tensor]| ts.iter().map(|t| t.index_select(0, indices)).collect();
        Ok(Batch { inputs: gather(&self.inputs), targets: gather(&self.targets) })
    }
}

type ItemFn = dyn Fn(usize) -> Result<(Vec<f32>, Vec<f32>)> + Send + Sync;

/// A data set whose items are produced on demand by a function (reading a file, decoding an
/// image, generating samples), so only the current batches are ever in memory.
///
/// The function returns the flat (row-major) values of one item's input and target; their
/// lengths must match the item shapes given to [`StreamDataset::new`]. Each [`Batch`] has one
/// input and one target. For a model with several inputs or outputs, implement [`Dataset`] on
/// your own type (its documentation has an example), or hold the data in a
/// [`TensorDataset::from_lists`] when it fits in memory.
///
/// ```
/// use kensho_data::{Dataset, StreamDataset};
/// // 1000 items: x = [i, 2i], y = i mod 2, computed when asked for.
/// let ds = StreamDataset::new(1000, &[2], &[], |i| Ok((vec![i as f32, 2.0 * i as f32], vec![(i % 2) as f32])));
/// let batch = ds.batch(&[3, 4])?;
/// let (x, y) = (&batch.inputs[0], &batch.targets[0]);
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
    /// produced by `item(index)` as the flat values `(x, y)` of one item.
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

    fn batch(&self, indices: &[usize]) -> Result<Batch> {
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
        Ok(Batch::new(Tensor::from_vec(xs, &stacked(&self.x_shape))?, Tensor::from_vec(ys, &stacked(&self.y_shape))?))
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
        let two = TensorDataset::from_lists(vec![Tensor::zeros(&[3]), Tensor::zeros(&[3, 1])], vec![]).unwrap();
        assert!(two.batch(&[3]).is_err());
    }

    #[test]
    fn stream_item_of_wrong_size_is_an_error() {
        let s = StreamDataset::new(2, &[3], &[], |_| Ok((vec![1.0], vec![0.0])));
        let err = s.batch(&[1]).unwrap_err().to_string();
        assert!(err.contains("item 1") && err.contains("[3]"), "{err}");
    }

    #[test]
    fn stream_batches_have_one_input_and_one_target() {
        let s = StreamDataset::new(4, &[2], &[1], |i| Ok((vec![i as f32; 2], vec![-(i as f32)])));
        let batch = s.batch(&[1, 3, 2]).unwrap();
        assert_eq!((batch.inputs.len(), batch.targets.len(), batch.rows()), (1, 1, 3));
        assert_eq!(batch.inputs[0].shape(), &[3, 2]);
        assert_eq!(batch.targets[0].to_vec(), vec![-1.0, -3.0, -2.0]);
    }

    #[test]
    fn new_is_from_lists_with_one_input_and_one_target() {
        let x = Tensor::from_vec((0..6).map(|v| v as f32).collect(), &[3, 2]).unwrap();
        let y = Tensor::from_vec(vec![7.0, 8.0, 9.0], &[3]).unwrap();
        let one = TensorDataset::new(x.clone(), y.clone()).unwrap();
        let lists = TensorDataset::from_lists(vec![x.clone()], vec![y.clone()]).unwrap();
        assert_eq!((one.x().to_vec(), one.y().to_vec()), (x.to_vec(), y.to_vec()));
        let (a, b) = (one.batch(&[2, 1]).unwrap(), lists.batch(&[2, 1]).unwrap());
        assert_eq!((a.inputs.len(), a.targets.len()), (1, 1));
        assert_eq!(a.inputs[0].to_vec(), b.inputs[0].to_vec());
        assert_eq!(a.targets[0].to_vec(), b.targets[0].to_vec());
        assert_eq!(a.inputs[0].to_vec(), vec![4.0, 5.0, 2.0, 3.0]);
        assert_eq!(a.rows(), 2);
    }
}
