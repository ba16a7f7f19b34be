//! Matrix products: 2-D and batched (leading batch dimensions broadcast by NumPy's rules), on
//! the internal GEMM with strides, so transposed operands are never copied.

use super::Tensor;
use crate::gemm::{sgemm, Mat, PARALLEL_MIN_MACS};
use crate::{Error, Result};
use ndarray::{ArrayD, IxDyn};

/// One batched product, laid out for its entries to run on any thread: operand and output
/// addresses (as integers, so the plan can be shared between threads) with their strides.
struct Batched<'a> {
    /// The broadcast batch dimensions.
    batch: &'a [usize],
    /// The strides of A and B along the batch dimensions (0 where broadcast).
    strides: [&'a [isize]; 2],
    /// A's address of entry 0 with its row and column strides; the same for B.
    a: (usize, isize, isize),
    b: (usize, isize, isize),
    /// The contiguous output buffer, `m * n` elements per entry.
    c: usize,
    mkn: [usize; 3],
}

impl Batched<'_> {
    /// Computes entry `flat` (row-major over the batch dimensions) with a GEMM on `threads` threads.
    ///
    /// # Safety
    /// The addresses and strides must describe valid operands and an output buffer of
    /// `batches * m * n` elements; no other thread may write entry `flat` at the same time.
    unsafe fn entry(&self, flat: usize, threads: usize) {
        let [m, k, n] = self.mkn;
        // Offsets of this entry in A and B, from its multi-index.
        let (mut rem, mut off_a, mut off_b) = (flat, 0isize, 0isize);
        for d in (0..self.batch.len()).rev() {
            let i = (rem % self.batch[d]) as isize;
            rem /= self.batch[d];
            off_a += i * self.strides[0][d];
            off_b += i * self.strides[1][d];
        }
        // SAFETY: guaranteed by the caller.
        unsafe {
            let am = Mat { ptr: (self.a.0 as *const f32).offset(off_a), rs: self.a.1, cs: self.a.2 };
            let bm = Mat { ptr: (self.b.0 as *const f32).offset(off_b), rs: self.b.1, cs: self.b.2 };
            let c = (self.c as *mut f32).add(flat * m * n);
            sgemm(threads, m, k, n, 1.0, am, bm, 0.0, c, n as isize, 1);
        }
    }
}

/// How many threads share the entries of a batched product (1: the entries run one after another,
/// each GEMM deciding its own split).
///
/// Several entries with enough work in total are dealt out whole, one single-thread GEMM each.
/// A few large entries that do not divide evenly among the threads (3 on 2 threads) are better
/// served one at a time, each split across all the threads. Either way every output element is
/// accumulated in the same order, so the result does not depend on the choice.
fn batch_threads(batches: usize, m: usize, k: usize, n: usize) -> usize {
    if batches < 2 || rayon::current_thread_index().is_some() || batches * m * k * n < PARALLEL_MIN_MACS {
        return 1;
    }
    let threads = crate::threads::num_threads().min(batches);
    let uneven = !batches.is_multiple_of(threads) && batches < 4 * threads;
    if threads < 2 || (uneven && crate::gemm::gemm_threads(m, k, n) > 1) {
        1
    } else {
        threads
    }
}

impl Tensor {
    /// The matrix product over the last two axes, with the leading (batch) axes broadcast.
    ///
    /// `[.., m, k] x [.., k, n] -> [.., m, n]`. Transposed or otherwise strided operands (for
    /// example `a.transpose()`) are read in place, without a copy.
    ///
    /// # Errors
    /// [`Error::Shape`] if either operand has fewer than 2 dimensions, the inner dimensions
    /// differ, or the batch dimensions cannot be broadcast.
    pub fn try_matmul(&self, rhs: &Tensor) -> Result<Tensor> {
        let (sa, sb) = (self.shape(), rhs.shape());
        let mismatch = |why: &str| Error::shape("matmul", format!("{why} for a left operand of shape {sa:?}"), sb);
        if sa.len() < 2 || sb.len() < 2 {
            return Err(mismatch("two operands with at least 2 dimensions"));
        }
        let (m, k) = (sa[sa.len() - 2], sa[sa.len() - 1]);
        let (k2, n) = (sb[sb.len() - 2], sb[sb.len() - 1]);
        if k != k2 {
            return Err(mismatch(&format!("a right operand with {k} rows (the left operand's columns)")));
        }
        if sa.len() == 2 && sb.len() == 2 {
            return Ok(self.matmul_2d(rhs, [m, k, n]));
        }
        let batch = crate::broadcast_shape(&sa[..sa.len() - 2], &sb[..sb.len() - 2])
            .ok_or_else(|| mismatch("batch dimensions that broadcast"))?;
        let full = |inner: [usize; 2]| -> Vec<usize> { batch.iter().copied().chain(inner).collect() };
        let a = self.0.broadcast(IxDyn(&full([m, k]))).expect("batch shape checked");
        let b = rhs.0.broadcast(IxDyn(&full([k, n]))).expect("batch shape checked");
        let out_shape = full([m, n]);
        let batches: usize = batch.iter().product();
        if k == 0 || m * n * batches == 0 {
            return Ok(Tensor::zeros(&out_shape));
        }
        // Written in full by the GEMMs below (beta = 0 never reads C), so left uninitialised.
        let mut out: Vec<f32> = Vec::with_capacity(batches * m * n);
        let nb = batch.len();
        let (sta, stb) = (a.strides(), b.strides());
        let plan = Batched {
            batch: &batch,
            strides: [&sta[..nb], &stb[..nb]],
            a: (a.as_ptr() as usize, sta[nb], sta[nb + 1]),
            b: (b.as_ptr() as usize, stb[nb], stb[nb + 1]),
            c: out.as_mut_ptr() as usize,
            mkn: [m, k, n],
        };
        let threads = batch_threads(batches, m, k, n);
        if threads > 1 {
            // Whole entries per thread, each a single-thread GEMM; the calling thread takes the
            // first share while the pool runs the others.
            let plan = &plan;
            let share = move |t: usize| t * batches / threads..(t + 1) * batches / threads;
            crate::threads::pool().in_place_scope(|s| {
                for t in 1..threads {
                    // SAFETY: the shares are disjoint ranges of entries, so disjoint blocks of C.
                    s.spawn(move |_| share(t).for_each(|e| unsafe { plan.entry(e, 1) }));
                }
                // SAFETY: as above.
                share(0).for_each(|e| unsafe { plan.entry(e, 1) });
            });
        } else {
            let per_entry = crate::gemm::gemm_threads(m, k, n);
            // SAFETY: the entries write disjoint blocks of C, one after another.
            (0..batches).for_each(|e| unsafe { plan.entry(e, per_entry) });
        }
        // SAFETY: every batch entry's m x n block was written by the GEMM.
        unsafe { out.set_len(batches * m * n) };
        Ok(Tensor::from_array(ArrayD::from_shape_vec(IxDyn(&out_shape), out).expect("length matches shape")))
    }

    /// The product of two matrices whose shapes were checked (`[m, k] x [k, n]`): one GEMM on
    /// the operands' strides, without the batch bookkeeping of [`Tensor::try_matmul`].
    fn matmul_2d(&self, rhs: &Tensor, [m, k, n]: [usize; 3]) -> Tensor {
        if k == 0 || m * n == 0 {
            return Tensor::zeros(&[m, n]);
        }
        // Written in full by the GEMM (beta = 0 never reads C), so left uninitialised.
        let mut out: Vec<f32> = Vec::with_capacity(m * n);
        let (sta, stb) = (self.0.strides(), rhs.0.strides());
        // SAFETY: both operands are valid 2-D views with these strides; C is a fresh buffer of
        // m * n elements with row stride n.
        unsafe {
            let am = Mat { ptr: self.0.as_ptr(), rs: sta[0], cs: sta[1] };
            let bm = Mat { ptr: rhs.0.as_ptr(), rs: stb[0], cs: stb[1] };
            sgemm(crate::gemm::gemm_threads(m, k, n), m, k, n, 1.0, am, bm, 0.0, out.as_mut_ptr(), n as isize, 1);
            out.set_len(m * n);
        }
        Tensor::from_array(ArrayD::from_shape_vec(IxDyn(&[m, n]), out).expect("length matches shape"))
    }

    /// The matrix product over the last two axes, with the leading (batch) axes broadcast.
    ///
    /// # Panics
    /// If the shapes do not fit (see [`Tensor::try_matmul`]); the message names both shapes.
    #[track_caller]
    pub fn matmul(&self, rhs: &Tensor) -> Tensor {
        self.try_matmul(rhs).unwrap_or_else(|e| panic!("{e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Triple loop over the row-major values, the reference for the GEMM.
    fn naive(a: &Tensor, b: &Tensor) -> Vec<f32> {
        let (m, k, n) = (a.shape()[0], a.shape()[1], b.shape()[1]);
        let (av, bv) = (a.to_vec(), b.to_vec());
        let mut c = vec![0.0; m * n];
        for i in 0..m {
            for j in 0..n {
                c[i * n + j] = (0..k).map(|p| av[i * k + p] * bv[p * n + j]).sum();
            }
        }
        c
    }

    #[test]
    fn matmul_matches_triple_loop_including_transposed_and_threaded() {
        let mut rng = crate::seeded_rng(3);
        for &(m, k, n) in &[(1, 1, 1), (3, 5, 2), (70, 90, 110), (300, 200, 100)] {
            let a = Tensor::rand_uniform(&[m, k], -1.0, 1.0, &mut rng);
            let b = Tensor::rand_uniform(&[k, n], -1.0, 1.0, &mut rng);
            let want = Tensor::from_vec(naive(&a, &b), &[m, n]).unwrap();
            assert!(a.matmul(&b).allclose(&want, 1e-4, 1e-4));
            let at = a.transpose().to_contiguous().transpose();
            assert!(!at.is_contiguous() || m == 1 || k == 1);
            assert!(at.matmul(&b).allclose(&want, 1e-4, 1e-4));
        }
    }

    #[test]
    fn batched_matmul_broadcasts_batch_dimensions() {
        let mut rng = crate::seeded_rng(4);
        let a = Tensor::rand_uniform(&[2, 3, 4, 5], -1.0, 1.0, &mut rng);
        let b = Tensor::rand_uniform(&[3, 5, 2], -1.0, 1.0, &mut rng);
        let c = a.matmul(&b);
        assert_eq!(c.shape(), &[2, 3, 4, 2]);
        let a11 = a.index_select(0, &[1]).index_select(1, &[2]).reshape_to(&[4, 5]);
        let b1 = b.index_select(0, &[2]).reshape_to(&[5, 2]);
        let c11 = c.index_select(0, &[1]).index_select(1, &[2]).reshape_to(&[4, 2]);
        assert!(c11.allclose(&Tensor::from_vec(naive(&a11, &b1), &[4, 2]).unwrap(), 1e-5, 1e-5));
    }

    #[test]
    fn bad_shapes_name_the_op_and_both_shapes() {
        let err = Tensor::zeros(&[2, 3]).try_matmul(&Tensor::zeros(&[4, 5])).unwrap_err().to_string();
        assert!(err.contains("matmul") && err.contains("[2, 3]") && err.contains("[4, 5]"), "{err}");
        let p = std::panic::catch_unwind(|| Tensor::zeros(&[2, 3]).matmul(&Tensor::zeros(&[4, 5]))).unwrap_err();
        let msg = p.downcast_ref::<String>().unwrap();
        assert!(msg.contains("matmul") && msg.contains("[2, 3]") && msg.contains("[4, 5]"));
    }
}
