//! The multi-thread kernels give bit-identical results to one thread: batched matmul (entries
//! dealt out to the threads, or each large entry split) and the large elementwise maps, binary
//! ops, broadcasts and in-place adds (split into pieces of the output).
//!
//! The thread count is process-wide, so every test holds [`LOCK`] while it changes it.

use kensho_core::{set_num_threads, Tensor};
use std::sync::{Mutex, MutexGuard};

static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// A tensor of the given shape with values in [-2, 2) from a seed.
fn tensor(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, -2.0, 2.0, &mut kensho_core::seeded_rng(seed))
}

/// The shape and the bit patterns of the values, in logical row-major order.
fn bits(t: &Tensor) -> (Vec<usize>, Vec<u32>) {
    (t.shape().to_vec(), t.iter().map(f32::to_bits).collect())
}

/// Asserts that `f` gives bit-identical tensors on 1, 2 and 3 kernel threads.
#[track_caller]
fn same_on_any_thread_count(what: &str, f: impl Fn() -> Tensor) {
    set_num_threads(1);
    let want = bits(&f());
    for threads in [2, 3] {
        set_num_threads(threads);
        assert!(bits(&f()) == want, "{what}: {threads} threads differ from 1 thread");
    }
}

#[test]
fn batched_matmul_is_bit_identical_across_thread_counts() {
    let _guard = lock();
    // Broadcast batch dimensions [4, 1] x [3] -> [4, 3]: 12 small entries dealt out whole.
    let a = tensor(&[4, 1, 40, 48], 1);
    let b = tensor(&[3, 48, 36], 2);
    same_on_any_thread_count("broadcast batch", || a.matmul(&b));
    // Transposed (strided) operands, and a batch dimension broadcast from 1 on the right.
    let at = tensor(&[4, 3, 48, 40], 3).transpose();
    let bt = tensor(&[1, 36, 48], 4).transpose();
    same_on_any_thread_count("transposed operands", || at.matmul(&bt));
    same_on_any_thread_count("transposed left, broadcast right", || at.matmul(&b.unsqueeze(0)));
    // Three large entries: on 2 threads each GEMM is split, on 3 the entries are dealt out.
    let big = tensor(&[3, 130, 120], 5);
    let w = tensor(&[120, 90], 6);
    same_on_any_thread_count("few large entries", || big.matmul(&w));
    same_on_any_thread_count("few large transposed entries", || big.matmul(&tensor(&[90, 120], 7).transpose()));
    // Many tiny entries (each below the split size of one GEMM).
    let many = tensor(&[512, 8, 8], 8);
    same_on_any_thread_count("many tiny entries", || many.matmul(&many));
}

#[test]
fn batched_matmul_equals_its_entries() {
    let _guard = lock();
    set_num_threads(2);
    // 6 entries of 33 x 64 x 50: enough work in total to deal them out to the threads.
    let a = tensor(&[2, 3, 33, 64], 9);
    let b = tensor(&[3, 64, 50], 10).transpose().to_contiguous().transpose();
    let c = a.matmul(&b);
    assert_eq!(c.shape(), &[2, 3, 33, 50]);
    for i in 0..2 {
        for j in 0..3 {
            let ai = a.index_select(0, &[i]).index_select(1, &[j]).reshape_to(&[33, 64]);
            let bj = b.index_select(0, &[j]).reshape_to(&[64, 50]);
            let ci = c.index_select(0, &[i]).index_select(1, &[j]).reshape_to(&[33, 50]);
            assert_eq!(bits(&ci), bits(&ai.matmul(&bj)), "entry ({i}, {j})");
        }
    }
}

#[test]
fn large_unary_maps_are_bit_identical_across_thread_counts() {
    let _guard = lock();
    // Odd lengths, so the pieces are uneven; costly maps split from 64 Ki elements, cheap ones
    // from 256 Ki.
    let x = tensor(&[(1 << 17) + 3], 11);
    let big = tensor(&[(1 << 18) + 3], 31);
    same_on_any_thread_count("gelu", || x.gelu());
    same_on_any_thread_count("exp", || x.exp());
    same_on_any_thread_count("sigmoid", || x.sigmoid());
    let xt = tensor(&[600, 701], 12).transpose();
    same_on_any_thread_count("tanh of a transposed view", || xt.tanh());
    // Leading axes of length 1: the pieces split the first longer axis.
    let x1 = tensor(&[1, 1, 700, 190], 13).permute(&[0, 1, 3, 2]);
    same_on_any_thread_count("softplus, leading unit axes", || x1.softplus());
    same_on_any_thread_count("relu", || big.relu());
    same_on_any_thread_count("map of a transposed view", || xt.map(|v| 2.0 * v + 1.0));
    same_on_any_thread_count("map_inplace", || {
        let mut y = big.clone();
        y.map_inplace(|v| v * v - 1.0);
        y
    });
    same_on_any_thread_count("map_inplace on a transposed view", || {
        let mut y = xt.clone();
        y.map_inplace(f32::sin);
        y
    });
}

#[test]
fn large_binary_ops_are_bit_identical_across_thread_counts() {
    let _guard = lock();
    let a = tensor(&[1030, 300], 14);
    let b = tensor(&[1030, 300], 15);
    same_on_any_thread_count("add", || a.add(&b));
    same_on_any_thread_count("div", || a.div(&b));
    same_on_any_thread_count("gt", || a.gt(&b));
    let bias = tensor(&[300], 16);
    same_on_any_thread_count("broadcast row", || a.mul(&bias));
    let col = tensor(&[1030, 1], 17);
    same_on_any_thread_count("broadcast column", || col.sub(&a));
    same_on_any_thread_count("outer broadcast", || col.add(&bias));
    let at = tensor(&[300, 1030], 18).transpose();
    same_on_any_thread_count("transposed operand", || at.maximum(&b));
    let lead = tensor(&[1, 1100, 257], 19);
    same_on_any_thread_count("leading unit axis", || lead.mul(&tensor(&[1100, 1], 20)));
}

#[test]
fn large_add_assign_is_bit_identical_and_copies_shared_buffers() {
    let _guard = lock();
    let a = tensor(&[1030, 300], 21);
    let b = tensor(&[1030, 300], 22);
    let bias = tensor(&[300], 23);
    let bt = tensor(&[300, 1030], 24).transpose();
    // Into a unique buffer (updated in place) and into one shared with `x` (copied on write).
    let into_unique = |x: &Tensor, y: &Tensor| {
        let mut out = Tensor::from_vec(x.to_vec(), x.shape()).unwrap();
        out.add_assign(y);
        out
    };
    let into_shared = |x: &Tensor, y: &Tensor| {
        let mut out = x.clone();
        out.add_assign(y);
        out
    };
    for (how, add_into) in [("unique", &into_unique as &dyn Fn(&Tensor, &Tensor) -> Tensor), ("shared", &into_shared)] {
        same_on_any_thread_count(&format!("add_assign {how}"), || add_into(&a, &b));
        same_on_any_thread_count(&format!("add_assign bias {how}"), || add_into(&a, &bias));
        same_on_any_thread_count(&format!("add_assign transposed {how}"), || add_into(&a, &bt));
    }
    // A unique transposed buffer.
    same_on_any_thread_count("add_assign into a transposed view", || {
        let mut out = Tensor::from_vec(a.to_vec(), &[1030, 300]).unwrap().transpose();
        out.add_assign(&tensor(&[1030], 25));
        out
    });
    set_num_threads(2);
    let before = bits(&a);
    assert_eq!(bits(&into_shared(&a, &bias)), bits(&a.add(&bias)));
    assert_eq!(bits(&into_unique(&a, &bias)), bits(&a.add(&bias)));
    assert_eq!(bits(&a), before, "the shared buffer must not change");
    let mut c = a.clone();
    c += &b;
    assert_eq!(bits(&c), bits(&a.add(&b)));
}

#[test]
fn add_assign_rejects_a_shape_that_does_not_broadcast_to_self() {
    let _guard = lock();
    let p = std::panic::catch_unwind(|| Tensor::zeros(&[3]).add_assign(&Tensor::zeros(&[2, 3]))).unwrap_err();
    let msg = p.downcast_ref::<String>().unwrap();
    assert!(msg.contains("add_assign") && msg.contains("[2, 3]") && msg.contains("[3]"), "{msg}");
}

#[test]
fn kernels_inside_a_pool_thread_stay_on_it_and_agree() {
    let _guard = lock();
    set_num_threads(2);
    let a = tensor(&[6, 64, 64], 26);
    let x = tensor(&[1 << 17], 27);
    let (mm, ex) = (a.matmul(&a), x.exp());
    let (mm_inner, ex_inner) = kensho_core::threads::pool().install(|| (a.matmul(&a), x.exp()));
    assert_eq!(bits(&mm), bits(&mm_inner));
    assert_eq!(bits(&ex), bits(&ex_inner));
}
