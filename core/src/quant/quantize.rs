//! [`quantize_u8`]: f32 activations to u8 with a scale and a zero point, in a loop the compiler
//! vectorizes (no calls, no branches: a clamp, a rounding by the 1.5 · 2²³ trick, integer clamps).

/// `1.5 · 2²³`: adding it to an f32 of magnitude below 2²² rounds it to an integer, half to even
/// (the FPU's default rounding), and leaves that integer in the low bits of the sum.
const ROUNDER: f32 = 12_582_912.0;

/// `out[i] = clamp(round_half_even(x[i] · inv_scale) + zero_point, 0, 255)`, and `zero_point`
/// for a NaN.
///
/// ```
/// use kensho_core::quant::quantize_u8;
/// let mut out = [0u8; 6];
/// quantize_u8(&[0.25, 0.75, -1.0, 1e9, f32::NAN, 2.5], 2.0, 3, &mut out);
/// // 0.5 -> 0 and 1.5 -> 2 (half to even), -2 + 3, clamped to 255, NaN -> 3, 5 + 3.
/// assert_eq!(out, [3, 5, 1, 255, 3, 8]);
/// ```
///
/// # Panics
/// If `x` and `out` differ in length, or `zero_point` is not in `0..=255`.
#[track_caller]
pub fn quantize_u8(x: &[f32], inv_scale: f32, zero_point: i32, out: &mut [u8]) {
    assert_eq!(x.len(), out.len(), "quantize_u8: x and out differ in length");
    assert!((0..=255).contains(&zero_point), "quantize_u8: zero_point = {zero_point}, expected 0..=255");
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("avx512bw") {
            // SAFETY: the CPU has the features the function is compiled for.
            return unsafe { quantize_avx512(x, inv_scale, zero_point, out) };
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: as above.
            return unsafe { quantize_avx2(x, inv_scale, zero_point, out) };
        }
    }
    quantize_loop(x, inv_scale, zero_point, out);
}

/// [`quantize_loop`] compiled for AVX-512 (16 values per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vl")]
unsafe fn quantize_avx512(x: &[f32], inv_scale: f32, zero_point: i32, out: &mut [u8]) {
    quantize_loop(x, inv_scale, zero_point, out);
}

/// [`quantize_loop`] compiled for AVX2 (8 values per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn quantize_avx2(x: &[f32], inv_scale: f32, zero_point: i32, out: &mut [u8]) {
    quantize_loop(x, inv_scale, zero_point, out);
}

/// The loop of [`quantize_u8`], inlined into each target-feature variant so that the compiler
/// vectorizes it for that instruction set.
#[inline(always)]
fn quantize_loop(x: &[f32], inv_scale: f32, zero_point: i32, out: &mut [u8]) {
    // Values beyond these bounds clamp to 0 or 255 anyway; bounding them keeps the rounding
    // trick exact (|t| <= 257 < 2^22) and maps ±inf to the ends.
    let (lo, hi) = (-(zero_point as f32) - 1.0, (255 - zero_point) as f32 + 1.0);
    let rounder_bits = ROUNDER.to_bits() as i32;
    for (o, &v) in out.iter_mut().zip(x) {
        let t = v * inv_scale;
        // A NaN becomes 0, so its output is the zero point.
        // (`if t > lo` rather than `f32::max`: one `maxps`, without NaN fix-ups.)
        let bounded = if t > lo { t } else { lo };
        let bounded = if bounded < hi { bounded } else { hi };
        let t = if t.is_nan() { 0.0 } else { bounded };
        let rounded = (t + ROUNDER).to_bits() as i32 - rounder_bits;
        *o = (rounded + zero_point).clamp(0, 255) as u8;
    }
}
