//! [`BucketedAllReduce`]: the gradient reducer of data-parallel training. It sums the
//! gradients across ranks in buckets of about [`BUCKET_FLOATS`] values, laid out from the last
//! parameter to the first (the order backward finishes them, as PyTorch's
//! DistributedDataParallel does), and starts each bucket's all-reduce as soon as backward has
//! finished all its gradients, so the communication of the late layers runs while backward
//! computes the early ones. Gradients that backward did not report (a step split across
//! threads, a parameter without a gradient) are sent when the step's reduce is called, and so
//! is a last bucket holding one gradient alone (the first layer's kernel, typically the largest,
//! which backward finishes last): its own buffer is sent, without a copy.

use super::{Communicator, DataParallel, Pending};
use crate::reducer::GradientReducer;
use kensho_core::{Error, Result, Tensor};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// The default size a bucket grows to (in values) before a new one starts: 256 KiB of `f32`.
pub(crate) const BUCKET_FLOATS: usize = 1 << 16;

/// One bucket: a run of parameters (by index, descending) packed into one buffer.
struct Bucket {
    /// The parameters' indices and their offsets in `buffer`.
    members: Vec<(usize, usize)>,
    buffer: Vec<f32>,
    /// How many members are still missing.
    missing: usize,
    pending: Option<Pending>,
}

/// Sums gradients across the ranks of a communicator, bucket by bucket, overlapping backward.
pub(crate) struct BucketedAllReduce {
    comm: Arc<dyn Communicator>,
    sizes: Vec<usize>,
    buckets: Vec<Bucket>,
    /// Each parameter's bucket and offset in it.
    places: Vec<(usize, usize)>,
    arrived: Vec<bool>,
    bucket_values: usize,
    overlap: bool,
    /// Nanoseconds spent waiting for all-reduces in `reduce` (the communication not hidden).
    waited_nanos: Arc<AtomicU64>,
}

impl BucketedAllReduce {
    /// A reducer summing over `comm`'s ranks, adding its waiting time to `waited_nanos`.
    pub(crate) fn new(
        comm: Arc<dyn Communicator>,
        options: &DataParallel,
        waited_nanos: Arc<AtomicU64>,
    ) -> BucketedAllReduce {
        BucketedAllReduce {
            comm,
            sizes: Vec::new(),
            buckets: Vec::new(),
            places: Vec::new(),
            arrived: Vec::new(),
            bucket_values: options.bucket_values,
            overlap: options.overlap_backward,
            waited_nanos,
        }
    }

    /// Lays the buckets out for parameters of `sizes` elements (last parameter first).
    fn lay_out(&mut self, sizes: &[usize]) {
        self.sizes = sizes.to_vec();
        self.buckets.clear();
        self.places = vec![(0, 0); sizes.len()];
        let mut current: Vec<(usize, usize)> = Vec::new();
        let mut filled = 0;
        for index in (0..sizes.len()).rev() {
            if filled > 0 && filled + sizes[index] > self.bucket_values {
                self.buckets.push(Bucket::new(std::mem::take(&mut current), filled));
                filled = 0;
            }
            self.places[index] = (self.buckets.len(), filled);
            current.push((index, filled));
            filled += sizes[index];
        }
        if !current.is_empty() {
            self.buckets.push(Bucket::new(current, filled));
        }
    }

    /// Whether gradient `index` alone fills the last bucket (the first parameters, which
    /// backward finishes last): that one is sent from `reduce`, as it is, without a copy.
    fn sent_whole(&self, index: usize) -> bool {
        let (b, _) = self.places[index];
        b + 1 == self.buckets.len() && self.buckets[b].members.len() == 1
    }

    /// Copies gradient `index` into its bucket and starts the bucket if it is complete.
    fn put(&mut self, index: usize, grad: &Tensor) -> Result<()> {
        if self.arrived[index] {
            return Ok(());
        }
        if grad.len() != self.sizes[index] {
            return Err(Error::invalid(
                format!("data-parallel gradient {index}"),
                grad.len(),
                format!("{} values, as announced", self.sizes[index]),
            ));
        }
        self.arrived[index] = true;
        let (b, offset) = self.places[index];
        let bucket = &mut self.buckets[b];
        let target = &mut bucket.buffer[offset..offset + grad.len()];
        match grad.as_slice() {
            Some(values) => target.copy_from_slice(values),
            None => target.copy_from_slice(&grad.to_vec()),
        }
        bucket.missing -= 1;
        if bucket.missing == 0 {
            let buffer = std::mem::take(&mut bucket.buffer);
            bucket.pending = Some(self.comm.start_all_reduce(buffer)?);
        }
        Ok(())
    }
}

impl Bucket {
    fn new(members: Vec<(usize, usize)>, len: usize) -> Bucket {
        let missing = members.len();
        Bucket { members, buffer: vec![0.0; len], missing, pending: None }
    }
}

impl GradientReducer for BucketedAllReduce {
    fn begin(&mut self, sizes: &[usize]) -> Result<()> {
        if sizes != self.sizes.as_slice() {
            self.lay_out(sizes);
        }
        for bucket in &mut self.buckets {
            let len = bucket.members.iter().map(|&(i, _)| sizes[i]).sum();
            // (Every value is overwritten before the bucket is sent.)
            bucket.buffer.resize(len, 0.0);
            bucket.missing = bucket.members.len();
            bucket.pending = None;
        }
        self.arrived = vec![false; sizes.len()];
        Ok(())
    }

    fn gradient_ready(&mut self, index: usize, grad: &Tensor) -> Result<()> {
        if self.overlap && !self.sent_whole(index) {
            self.put(index, grad)?;
        }
        Ok(())
    }

    fn reduce(&mut self, grads: &mut [Tensor]) -> Result<()> {
        let sizes: Vec<usize> = grads.iter().map(Tensor::len).collect();
        if sizes != self.sizes || self.arrived.len() != sizes.len() {
            self.begin(&sizes)?;
        }
        let shapes: Vec<Vec<usize>> = grads.iter().map(|g| g.shape().to_vec()).collect();
        for (index, grad) in grads.iter_mut().enumerate() {
            if self.sent_whole(index) && !self.arrived[index] {
                // The gradient's own buffer is sent (the caller holds the only reference).
                self.arrived[index] = true;
                let values = std::mem::replace(grad, Tensor::zeros(&[0])).into_vec();
                let bucket = &mut self.buckets[self.places[index].0];
                bucket.missing = 0;
                bucket.pending = Some(self.comm.start_all_reduce(values)?);
                continue;
            }
            self.put(index, grad)?;
        }
        let start = Instant::now();
        for bucket in &mut self.buckets {
            let summed = bucket.pending.take().expect("every bucket started").wait()?;
            if let [(index, _)] = bucket.members[..] {
                // A bucket of one gradient becomes that gradient, without a copy.
                grads[index] = Tensor::from_vec(summed, &shapes[index])?;
                continue;
            }
            for &(index, offset) in &bucket.members {
                let values = summed[offset..offset + self.sizes[index]].to_vec();
                grads[index] = Tensor::from_vec(values, &shapes[index])?;
            }
            bucket.buffer = summed;
        }
        self.waited_nanos.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(())
    }
}
