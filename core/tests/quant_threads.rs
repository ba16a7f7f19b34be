//! The int8 GEMM gives the same values on 1, 2 and 3 kernel threads (rows are split across the
//! threads, and every value is an exact integer sum), for the i32 product and the f32 epilogue.
//!
//! The thread count is process-wide, so this test has its own binary.

use kensho_core::quant::{gemm_u8i8_f32, gemm_u8i8_i32, Dequantize, PackedI8Matrix};
use kensho_core::set_num_threads;
use rand::Rng;

#[test]
fn int8_gemm_is_identical_on_any_thread_count() {
    let mut rng = kensho_core::seeded_rng(11);
    // Large enough to be split (m * k * n >= 2^18), with m not a multiple of the shard rows.
    for (m, k, n) in [(301, 97, 45), (1000, 9, 32), (128, 784, 256)] {
        let a: Vec<u8> = (0..m * k).map(|_| rng.random()).collect();
        let b: Vec<i8> = (0..k * n).map(|_| rng.random()).collect();
        let packed = PackedI8Matrix::pack(&b, k, n).unwrap();
        let scales: Vec<f32> = (0..n).map(|_| rng.random_range(1e-4..1e-3)).collect();
        let bias: Vec<f32> = (0..n).map(|_| rng.random_range(-1.0..1.0)).collect();
        let dq = Dequantize { input_zero_point: 7, scales: &scales, bias: Some(&bias), relu: true };
        let run = || {
            let mut c = vec![0i32; m * n];
            gemm_u8i8_i32(m, &a, k, &packed, &mut c);
            let mut y = vec![0f32; m * n];
            gemm_u8i8_f32(m, &a, k, &packed, &mut y, n, &dq);
            (c, y.iter().map(|v| v.to_bits()).collect::<Vec<_>>())
        };
        set_num_threads(1);
        let want = run();
        // Spot-check one value against the definition, so a wrong split cannot pass unnoticed.
        let (i, j) = (m - 1, n - 1);
        let c_ij: i32 = (0..k).map(|p| i32::from(a[i * k + p]) * i32::from(b[p * n + j])).sum();
        assert_eq!(want.0[i * n + j], c_ij);
        for threads in [2, 3] {
            set_num_threads(threads);
            assert!(run() == want, "{m}x{k}x{n}: {threads} threads differ from 1 thread");
        }
    }
}
