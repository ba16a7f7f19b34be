//! Times the convolution kernels on the two convolutions of workload W3 (batch 64), at 1 and 2
//! threads, beside a square 512 GEMM as the machine's reference rate:
//!
//! - conv A: x `[64, 28, 28, 1]`, kernel `[3, 3, 1, 32]`, valid (the first layer: no input
//!   gradient is needed);
//! - conv B: x `[64, 13, 13, 32]`, kernel `[3, 3, 32, 64]`, valid.
//!
//! Each pass counts `2 * N * OH * OW * kh * kw * in * out` flops (the GEMM's `2 * 512^3`); the
//! time is the minimum over rounds, the thread counts interleaved so that both see the same
//! machine load.
//!
//! ```text
//! cargo run --release -p kensho-core --example conv_bench
//! ```

use kensho_core::{set_num_threads, Conv2dOptions, Tensor};
use std::time::Instant;

/// Rounds per measurement.
const ROUNDS: usize = 100;

/// The minimum time of `f` in milliseconds on 1 and on 2 threads.
fn min_ms(f: &dyn Fn() -> Tensor) -> [f64; 2] {
    let mut best = [f64::MAX; 2];
    for _ in 0..ROUNDS {
        for (slot, threads) in [1, 2].into_iter().enumerate() {
            set_num_threads(threads);
            std::hint::black_box(f());
            let start = Instant::now();
            std::hint::black_box(f());
            best[slot] = best[slot].min(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    best
}

fn report(name: &str, flops: f64, ms: [f64; 2]) {
    let rate = |ms: f64| flops / ms / 1e6;
    println!(
        "{name:<22} {:>8.3} ms {:>6.1} GFLOP/s | {:>8.3} ms {:>6.1} GFLOP/s | x{:.2}",
        ms[0],
        rate(ms[0]),
        ms[1],
        rate(ms[1]),
        ms[0] / ms[1]
    );
}

fn main() {
    let mut rng = kensho_core::seeded_rng(0);
    let mut r = |s: &[usize]| Tensor::rand_uniform(s, -1.0, 1.0, &mut rng);
    println!("{:<22} {:>28} | {:>28}", "", "1 thread", "2 threads");
    let (a, b) = (r(&[512, 512]), r(&[512, 512]));
    report("sgemm 512", 2.0 * 512f64.powi(3), min_ms(&|| a.matmul(&b)));

    let opts = Conv2dOptions::default();
    for (name, xs, ks, input_grad) in
        [("A", [64, 28, 28, 1], [3, 3, 1, 32], false), ("B", [64, 13, 13, 32], [3, 3, 32, 64], true)]
    {
        let (x, k) = (r(&xs), r(&ks));
        let y = x.conv2d(&k, &opts);
        let dy = r(y.shape());
        let flops = 2.0 * (y.len() * ks[0] * ks[1] * ks[2]) as f64;
        report(&format!("conv {name} forward"), flops, min_ms(&|| x.conv2d(&k, &opts)));
        if input_grad {
            report(&format!("conv {name} input grad"), flops, min_ms(&|| dy.conv2d_input_grad(&k, &xs, &opts)));
        }
        report(&format!("conv {name} kernel grad"), flops, min_ms(&|| x.conv2d_kernel_grad(&dy, &ks, &opts)));
    }
}
