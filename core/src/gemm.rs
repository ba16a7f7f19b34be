//! The one internal GEMM entry point: `C = alpha * A * B + beta * C` on strided f32 matrices,
//! on `matrixmultiply`, split across the kernel threads when the product is large enough.
//!
//! Strides are in elements and may be anything (transposed operands are passed by swapping
//! strides, never copied).

/// A strided matrix operand: pointer to element (0, 0) and the row and column strides.
#[derive(Clone, Copy)]
pub(crate) struct Mat {
    pub ptr: *const f32,
    pub rs: isize,
    pub cs: isize,
}

/// Products below this many multiply-adds run on the calling thread.
pub(crate) const PARALLEL_MIN_MACS: usize = 1 << 18;

/// The number of threads one `m x k x n` product is worth splitting across: all the kernel
/// threads for a large product, else 1 (small products, and inside a parallel region, where a
/// kernel thread already running one shard of the work keeps its product: the other threads are
/// busy with the other shards).
pub(crate) fn gemm_threads(m: usize, k: usize, n: usize) -> usize {
    let nested = rayon::current_thread_index().is_some();
    if m * n * k >= PARALLEL_MIN_MACS && !nested && !(m < 16 && n < 16) {
        crate::threads::num_threads()
    } else {
        1
    }
}

/// `C[m, n] = alpha * A[m, k] * B[k, n] + beta * C`, split across `threads` threads (1: on the
/// calling thread; see [`gemm_threads`]). The result is the same for every thread count.
///
/// # Safety
/// The pointers with their strides must address valid `m x k`, `k x n` and `m x n` matrices, and
/// `C` must not overlap `A` or `B`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn sgemm(
    threads: usize,
    m: usize,
    k: usize,
    n: usize,
    alpha: f32,
    a: Mat,
    b: Mat,
    beta: f32,
    c: *mut f32,
    rsc: isize,
    csc: isize,
) {
    if threads <= 1 || (m < 16 && n < 16) {
        // SAFETY: the caller guarantees the operands' bounds (this function's contract).
        unsafe { matrixmultiply::sgemm(m, k, n, alpha, a.ptr, a.rs, a.cs, b.ptr, b.rs, b.cs, beta, c, rsc, csc) };
        return;
    }
    // Split the larger side of C into one block per thread; each block is an independent GEMM,
    // and every element is accumulated in the same order as without the split.
    let split_rows = m >= n;
    let len = if split_rows { m } else { n };
    let block = len.div_ceil(threads).next_multiple_of(8);
    let (a_addr, b_addr, c_addr) = (a.ptr as usize, b.ptr as usize, c as usize);
    let run_block = move |start: usize| {
        let size = block.min(len - start);
        let off = start as isize;
        let (a_ptr, b_ptr, c_ptr) = (a_addr as *const f32, b_addr as *const f32, c_addr as *mut f32);
        // SAFETY: each block addresses a disjoint part of C inside the caller's bounds.
        unsafe {
            if split_rows {
                let (a_blk, c_blk) = (a_ptr.offset(off * a.rs), c_ptr.offset(off * rsc));
                matrixmultiply::sgemm(size, k, n, alpha, a_blk, a.rs, a.cs, b_ptr, b.rs, b.cs, beta, c_blk, rsc, csc);
            } else {
                let (b_blk, c_blk) = (b_ptr.offset(off * b.cs), c_ptr.offset(off * csc));
                matrixmultiply::sgemm(m, k, size, alpha, a_ptr, a.rs, a.cs, b_blk, b.rs, b.cs, beta, c_blk, rsc, csc);
            }
        }
    };
    // The calling thread computes the first block itself while the pool takes the others, so
    // only threads - 1 workers need waking.
    crate::threads::pool().in_place_scope(|s| {
        for start in (block..len).step_by(block) {
            s.spawn(move |_| run_block(start));
        }
        run_block(0);
    });
}
