//! [`BucketedAllReduce`]: the gradient reducer of data-parallel training. It sums the
//! gradients across ranks in buckets of about [`BUCKET_FLOATS`] values, laid out from the last
//! parameter to the first (the order backward finishes them, as PyTorch's
//! DistributedDataParallel does), and starts each bucket's all-reduce as soon as backward has
//! finished all its gradients, so the communication of the late layers runs while backward
//! computes the early ones. The other buckets go when the step's reduce is called, after those:
//! the buckets of gradients that backward did not report (a step split across threads, a
//! parameter without a gradient), and a last bucket holding one gradient alone (the first
//! layer's kernel, typically the largest, which backward finishes last), whose own buffer is
//! sent without a copy. Those are blocking all-reduces, which the MPI communicator runs on the
//! calling thread.

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
    /// How many members are still missing (0 once sent).
    missing: usize,
    /// Its all-reduce, if started during backward.
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
    /// The buckets started during backward, in order.
    started: Vec<usize>,
    bucket_values: usize,
    overlap: bool,
    /// Whether steps may be sharded ([`DataParallel::shard_optimizer`]), and whether this one is.
    shard_optimizer: bool,
    sharded: bool,
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
            started: Vec::new(),
            bucket_values: options.bucket_values,
            overlap: options.overlap_backward,
            shard_optimizer: options.shard_optimizer,
            sharded: false,
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

    /// Copies gradient `index` into its bucket; returns whether the bucket is now complete.
    fn fill(&mut self, index: usize, grad: &Tensor) -> Result<bool> {
        if self.arrived[index] {
            return Ok(false);
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
        Ok(bucket.missing == 0)
    }

    /// The values of bucket `b` to send, its gradients taken from `grads` where backward did
    /// not hand them over (a lone gradient in its own buffer, the others copied).
    fn take_values(&mut self, b: usize, grads: &mut [Tensor]) -> Result<Vec<f32>> {
        if let [(index, _)] = self.buckets[b].members[..]
            && !self.arrived[index]
        {
            // The caller holds the only reference to the gradient's buffer: no copy.
            self.arrived[index] = true;
            return Ok(std::mem::replace(&mut grads[index], Tensor::zeros(&[0])).into_vec());
        }
        let members: Vec<usize> = self.buckets[b].members.iter().map(|&(i, _)| i).collect();
        for index in members {
            self.fill(index, &grads[index])?;
        }
        Ok(std::mem::take(&mut self.buckets[b].buffer))
    }

    /// The lengths of bucket `b`'s gradients, in the order they lie in it.
    fn segments(&self, b: usize) -> Vec<usize> {
        self.buckets[b].members.iter().map(|&(index, _)| self.sizes[index]).collect()
    }

    /// Writes the summed values of bucket `b` back into `grads` (shaped by `shapes`).
    fn give_back(&mut self, b: usize, summed: Vec<f32>, grads: &mut [Tensor], shapes: &[Vec<usize>]) -> Result<()> {
        let bucket = &mut self.buckets[b];
        if let [(index, _)] = bucket.members[..] {
            // A bucket of one gradient becomes that gradient, without a copy.
            grads[index] = Tensor::from_vec(summed, &shapes[index])?;
            return Ok(());
        }
        for &(index, offset) in &bucket.members {
            let values = summed[offset..offset + self.sizes[index]].to_vec();
            grads[index] = Tensor::from_vec(values, &shapes[index])?;
        }
        bucket.buffer = summed;
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
        self.started.clear();
        Ok(())
    }

    fn gradient_ready(&mut self, index: usize, grad: &Tensor) -> Result<()> {
        if self.overlap && !self.sent_whole(index) && self.fill(index, grad)? {
            let b = self.places[index].0;
            let buffer = std::mem::take(&mut self.buckets[b].buffer);
            self.buckets[b].pending = Some(self.comm.start_all_reduce(buffer)?);
            self.started.push(b);
        }
        Ok(())
    }

    fn reduce(&mut self, grads: &mut [Tensor]) -> Result<()> {
        let sizes: Vec<usize> = grads.iter().map(Tensor::len).collect();
        if sizes != self.sizes || self.arrived.len() != sizes.len() {
            self.begin(&sizes)?;
        }
        let shapes: Vec<Vec<usize>> = grads.iter().map(|g| g.shape().to_vec()).collect();
        let start = Instant::now();
        // The buckets started during backward, in the order they started (the same on every
        // rank), then the others one by one, in bucket order.
        for b in std::mem::take(&mut self.started) {
            let summed = self.buckets[b].pending.take().expect("started").wait()?;
            self.give_back(b, summed, grads, &shapes)?;
        }
        for b in 0..self.buckets.len() {
            if self.buckets[b].pending.is_none() && self.buckets[b].missing > 0 {
                let values = self.take_values(b, grads)?;
                let summed = match self.sharded {
                    true => self.comm.sum_owned(values, &self.segments(b))?,
                    false => self.comm.all_reduce(values)?,
                };
                self.buckets[b].missing = 0;
                self.give_back(b, summed, grads, &shapes)?;
            }
        }
        self.waited_nanos.fetch_add(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
        Ok(())
    }

    fn shard_step(&mut self, allowed: bool) -> Option<(usize, usize)> {
        self.sharded = allowed && self.shard_optimizer;
        self.sharded.then(|| (self.comm.rank(), self.comm.size()))
    }

    fn gather_shares(&mut self, tensors: &mut [Tensor]) -> Result<()> {
        let sizes: Vec<usize> = tensors.iter().map(Tensor::len).collect();
        if sizes != self.sizes {
            self.lay_out(&sizes);
        }
        let shapes: Vec<Vec<usize>> = tensors.iter().map(|t| t.shape().to_vec()).collect();
        for b in 0..self.buckets.len() {
            let segments = self.segments(b);
            let members = &self.buckets[b].members;
            if let [(index, _)] = members[..] {
                // A lone tensor goes as it is, without a copy.
                let values = std::mem::replace(&mut tensors[index], Tensor::zeros(&[0])).into_vec();
                tensors[index] = Tensor::from_vec(self.comm.gather_owned(values, &segments)?, &shapes[index])?;
                continue;
            }
            let mut values = Vec::with_capacity(segments.iter().sum());
            for &(index, _) in members {
                match tensors[index].as_slice() {
                    Some(slice) => values.extend_from_slice(slice),
                    None => values.extend(tensors[index].to_vec()),
                }
            }
            let whole = self.comm.gather_owned(values, &segments)?;
            for &(index, offset) in members {
                tensors[index] = Tensor::from_vec(whole[offset..offset + sizes[index]].to_vec(), &shapes[index])?;
            }
        }
        Ok(())
    }
}
