//! Every kernel this CPU supports against a plain triple loop on the row-major values, the f32
//! epilogue against its formula, `quantize_u8` against `f32::round_ties_even`, and pack errors.

use super::*;
use crate::Error;
use rand::Rng;

const KERNELS: [Int8Kernel; 3] = [Int8Kernel::Avx512Vnni, Int8Kernel::Avx2, Int8Kernel::Scalar];

fn supported() -> Vec<Int8Kernel> {
    KERNELS.into_iter().filter(|k| k.is_supported()).collect()
}

/// `C = A × B` by the definition, from the row-major values (independent of the packing).
fn reference(m: usize, a: &[u8], lda: usize, b: &[i8], k: usize, n: usize) -> Vec<i32> {
    let mut c = vec![0i32; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| i32::from(a[i * lda + p]) * i32::from(b[p * n + j])).sum();
        }
    }
    c
}

struct Case {
    m: usize,
    k: usize,
    n: usize,
    lda: usize,
    a: Vec<u8>,
    b: Vec<i8>,
}

fn random_case(rng: &mut crate::Rng, m: usize, k: usize, n: usize, lda: usize) -> Case {
    // `a` is exactly as long as m rows need (the last row has no padding), so a kernel reading
    // past it panics.
    let len = if m == 0 { 0 } else { (m - 1) * lda + k };
    let a = (0..len).map(|_| rng.random::<u8>()).collect();
    let b = (0..k * n).map(|_| rng.random::<i8>()).collect();
    Case { m, k, n, lda, a, b }
}

fn check_i32(case: &Case) {
    let Case { m, k, n, lda, ref a, ref b } = *case;
    let packed = PackedI8Matrix::pack(b, k, n).unwrap();
    let expected = reference(m, a, lda, b, k, n);
    for kernel in supported() {
        let mut out = vec![i32::MIN; m * n];
        gemm_u8i8_i32_with(kernel, m, a, lda, &packed, &mut out);
        assert_eq!(out, expected, "{kernel:?} m={m} k={k} n={n} lda={lda}");
    }
}

#[test]
fn every_kernel_matches_the_definition_on_random_odd_shapes() {
    let mut rng = crate::seeded_rng(17);
    for _ in 0..300 {
        let (m, k, n) = (rng.random_range(1..=70), rng.random_range(1..=70), rng.random_range(1..=70));
        let lda = k + if rng.random_bool(0.5) { rng.random_range(1..9) } else { 0 };
        check_i32(&random_case(&mut rng, m, k, n, lda));
    }
}

#[test]
fn every_kernel_matches_on_every_small_shape_and_on_model_shapes() {
    let mut rng = crate::seeded_rng(3);
    for m in 1..=13 {
        for k in 1..=9 {
            for n in [1, 2, 15, 16, 17, 33, 64, 65] {
                check_i32(&random_case(&mut rng, m, k, n, k));
            }
        }
    }
    let shapes =
        [(128, 784, 256), (37, 1600, 128), (128, 288, 64), (700, 9, 32), (128, 128, 10), (101, 517, 33), (7, 259, 70)];
    for (m, k, n) in shapes {
        check_i32(&random_case(&mut rng, m, k, n, k));
    }
}

#[test]
fn extreme_values_do_not_saturate() {
    // 255 · -128 summed 4,000 times is -130,560,000: far beyond i16, exact in i32.
    let (m, k, n) = (7, 4001, 19);
    let a = vec![255u8; m * k];
    let b = vec![-128i8; k * n];
    let packed = PackedI8Matrix::pack(&b, k, n).unwrap();
    for kernel in supported() {
        let mut out = vec![0; m * n];
        gemm_u8i8_i32_with(kernel, m, &a, k, &packed, &mut out);
        assert!(out.iter().all(|&v| v == -255 * 128 * k as i32), "{kernel:?}");
    }
    // Pairs of maximal products of both signs, which saturate a 16-bit pairwise sum.
    let b: Vec<i8> = (0..k * n).map(|i| if (i / n) % 3 == 0 { 127 } else { -128 }).collect();
    check_i32(&Case { m, k, n, lda: k, a: a.clone(), b });
}

#[test]
fn zero_rows_write_nothing() {
    let packed = PackedI8Matrix::pack(&[1, 2], 1, 2).unwrap();
    for kernel in supported() {
        gemm_u8i8_i32_with(kernel, 0, &[], 1, &packed, &mut []);
    }
}

/// The formula of `gemm_u8i8_f32`'s documentation, from the reference product.
fn dequantized(c: &[i32], n: usize, dq: &Dequantize, sums: &[i32]) -> Vec<f32> {
    c.iter()
        .enumerate()
        .map(|(idx, &v)| {
            let j = idx % n;
            let y = (v - dq.input_zero_point * sums[j]) as f32 * dq.scales[j] + dq.bias.map_or(0.0, |b| b[j]);
            if dq.relu {
                y.max(0.0)
            } else {
                y
            }
        })
        .collect()
}

#[test]
fn the_f32_epilogue_is_the_documented_formula() {
    let mut rng = crate::seeded_rng(5);
    let mut clipped = 0;
    for (m, k, n) in [(1, 1, 1), (9, 13, 37), (20, 64, 48), (3, 100, 70), (70, 33, 5)] {
        let lda = k + 3;
        let case = random_case(&mut rng, m, k, n, lda);
        let packed = PackedI8Matrix::pack(&case.b, k, n).unwrap();
        let sums: Vec<i32> = (0..n).map(|j| (0..k).map(|p| i32::from(case.b[p * n + j])).sum()).collect();
        assert_eq!(packed.column_sums(), &sums[..]);
        let c = reference(m, &case.a, lda, &case.b, k, n);
        let scales: Vec<f32> = (0..n).map(|_| rng.random_range(1e-4..1e-2)).collect();
        let bias: Vec<f32> = (0..n).map(|_| rng.random_range(-5.0..5.0)).collect();
        for zero_point in [0, 3, 128, 255] {
            for bias in [None, Some(&bias[..])] {
                for relu in [false, true] {
                    let dq = Dequantize { input_zero_point: zero_point, scales: &scales, bias, relu };
                    let expected = dequantized(&c, n, &dq, &sums);
                    if relu {
                        clipped += expected.iter().filter(|&&v| v == 0.0).count();
                    }
                    for kernel in supported() {
                        // ldc > n: the values between n and ldc are left as they were.
                        let ldc = n + 2;
                        let mut out = vec![f32::NAN; (m - 1) * ldc + n];
                        gemm_u8i8_f32_with(kernel, m, &case.a, lda, &packed, &mut out, ldc, &dq);
                        for i in 0..m {
                            assert_eq!(&out[i * ldc..i * ldc + n], &expected[i * n..][..n], "{kernel:?} {m}x{k}x{n}");
                            if i + 1 < m {
                                assert!(out[i * ldc + n..(i + 1) * ldc].iter().all(|v| v.is_nan()));
                            }
                        }
                    }
                }
            }
        }
    }
    assert!(clipped > 100, "the cases must exercise the ReLU ({clipped} values clipped)");
}

#[test]
fn quantize_u8_rounds_half_to_even_clamps_and_maps_nan_to_the_zero_point() {
    let plain = |x: f32, inv: f32, zp: i32| -> u8 {
        if x.is_nan() {
            return zp as u8;
        }
        ((x * inv).round_ties_even().clamp(-1e9, 1e9) as i64 + i64::from(zp)).clamp(0, 255) as u8
    };
    let mut rng = crate::seeded_rng(9);
    let mut x: Vec<f32> = vec![0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 127.5, 128.5, -0.0, 1e30, -1e30, f32::INFINITY];
    x.extend([f32::NEG_INFINITY, f32::NAN, 254.5, 255.5, -128.5, 3.4999998, 3.5000002]);
    x.extend((0..2000).map(|_| rng.random_range(-300.0f32..300.0)));
    x.extend((0..200).map(|i| i as f32 * 0.5 - 50.0));
    for (inv, zp) in [(1.0, 0), (1.0, 128), (1.0, 255), (3.7, 17), (0.01, 100), (1e6, 5)] {
        let mut out = vec![0u8; x.len()];
        quantize_u8(&x, inv, zp, &mut out);
        for (&v, &o) in x.iter().zip(&out) {
            assert_eq!(o, plain(v, inv, zp), "x={v} inv={inv} zp={zp}");
        }
    }
    let mut out = [0u8; 4];
    quantize_u8(&[0.5, 1.5, 2.5, f32::NAN], 1.0, 10, &mut out);
    assert_eq!(out, [10, 12, 12, 10]);
}

#[test]
fn pack_rejects_empty_and_mismatched_shapes_and_round_trips() {
    let err = |r: crate::Result<PackedI8Matrix>| match r {
        Err(Error::InvalidArgument { what, value, expected }) => (what, value, expected),
        other => panic!("expected InvalidArgument, got {other:?}"),
    };
    let (what, value, _) = err(PackedI8Matrix::pack(&[], 0, 3));
    assert_eq!((what.as_str(), value.as_str()), ("PackedI8Matrix::pack: k", "0"));
    let (what, value, _) = err(PackedI8Matrix::pack(&[], 3, 0));
    assert_eq!((what.as_str(), value.as_str()), ("PackedI8Matrix::pack: n", "0"));
    let (what, value, expected) = err(PackedI8Matrix::pack(&[1; 5], 2, 3));
    assert_eq!((what.as_str(), value.as_str()), ("PackedI8Matrix::pack: values.len()", "5"));
    assert!(expected.contains('6'), "{expected}");
    let mut rng = crate::seeded_rng(1);
    for (k, n) in [(1, 1), (5, 17), (33, 70), (4, 16)] {
        let values: Vec<i8> = (0..k * n).map(|_| rng.random()).collect();
        let packed = PackedI8Matrix::pack(&values, k, n).unwrap();
        assert_eq!((packed.k(), packed.n()), (k, n));
        assert_eq!(packed.to_row_major(), values);
    }
}

#[test]
fn the_detected_kernel_is_supported_and_the_best_one() {
    let kernel = int8_kernel();
    assert!(kernel.is_supported());
    assert_eq!(kernel, supported()[0]);
    // The SIMD kernels are tested wherever the CPU has them (CI's has both), not skipped silently.
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::is_x86_feature_detected as has;
        if has!("avx512f") && has!("avx512bw") && has!("avx512vnni") {
            assert_eq!(kernel, Int8Kernel::Avx512Vnni);
        }
        assert_eq!(Int8Kernel::Avx2.is_supported(), has!("avx2"));
    }
}

#[test]
#[should_panic(expected = "a has")]
fn a_too_short_panics() {
    let packed = PackedI8Matrix::pack(&[1; 6], 3, 2).unwrap();
    gemm_u8i8_i32(2, &[0; 5], 3, &packed, &mut [0; 4]);
}

#[test]
#[should_panic(expected = "scales must have")]
fn scales_of_the_wrong_length_panic() {
    let packed = PackedI8Matrix::pack(&[1; 6], 3, 2).unwrap();
    let dq = Dequantize { input_zero_point: 0, scales: &[1.0], bias: None, relu: false };
    gemm_u8i8_f32(1, &[0; 3], 3, &packed, &mut [0.0; 2], 2, &dq);
}
