//! The lowering of a convolution onto the GEMM, for any [`Geometry`].
//!
//! Channels last makes the lowering transpose-free: row `r` of the column matrix (im2col) holds
//! the input values that output pixel `r` (in `[n, oy, ox]` order) sees, tap by tap
//! (`[ky, kx, channel]` order, grouped: all of group 0's columns, then group 1's, ...), so that
//! the column matrix `[rows, taps * C]` times the kernel viewed as `[taps * C / groups, filters]`
//! is directly the `[n, oy, ox, filters]` output, one GEMM per group on strided column blocks.
//!
//! - forward: `y = col(x) · K` per group;
//! - input gradient: `dx = col2im(dy · Kᵀ)` (the scatter-add adjoint of im2col);
//! - kernel gradient: `dK = col(x)ᵀ · dy`.
//!
//! The column matrix is built a piece of rows at a time (about [`PIECE_FLOATS`] floats, half an
//! L2 cache, so the GEMM packs it from cache) in a per-thread scratch buffer that is reused
//! between calls (no allocation per call; measured 1-3% faster than a fresh buffer). Its rows
//! are written a segment of an output row at a time, the taps of a kernel row as one copy; for
//! few channels (the first layer: `kw * C = 3`) that copy has a length known at compile time,
//! which made W3's first convolution 1.7x faster than a per-pixel loop of `memcpy` calls. A 1x1
//! kernel with stride 1 and no padding needs no column matrix: the input is one already.
//!
//! Threads: the forward pass and the input gradient split the batch (rows of the output, whole
//! images of `dx`) across the kernel threads, each thread lowering its own rows and running its
//! own single-thread GEMMs; the kernel gradient, a sum over all rows, accumulates fixed pieces
//! into a fixed number of partial sums ([`LANES`]) that the threads share out and that are added
//! in order at the end. Every output element is therefore accumulated in the same order whatever
//! the thread count, and the results are bit-identical on any number of threads. On the W3
//! convolutions at 2 threads this was 1.2-2x faster than lowering on one thread and splitting
//! each GEMM across the threads (`core/examples/conv_bench.rs`).

use super::Geometry;
use crate::gemm::{sgemm, Mat, PARALLEL_MIN_MACS};
use crate::tensor::elementwise::relu_scalar;
use std::cell::RefCell;
use std::mem::MaybeUninit;

/// Target size, in floats, of the piece of the column matrix lowered at a time.
const PIECE_FLOATS: usize = 1 << 17;

/// The number of partial sums of the kernel gradient (a constant, so the summation order does
/// not depend on the thread count).
const LANES: usize = 8;

thread_local! {
    /// Each thread's column-matrix buffer, grown on demand and kept for the next call.
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` on this thread's scratch buffer, at least `len` floats long (contents unspecified).
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < len {
            buf.resize(len, 0.0);
        }
        f(&mut buf[..len])
    })
}

/// The rows of the column matrix lowered at a time.
fn piece_rows(g: &Geometry) -> usize {
    (PIECE_FLOATS / g.col_width()).max(1)
}

/// The number of threads for `units` independent units of work: 1 for small convolutions and
/// inside a parallel region, else up to the kernel thread count.
fn threads_for(g: &Geometry, units: usize) -> usize {
    if g.macs() < PARALLEL_MIN_MACS || rayon::current_thread_index().is_some() {
        1
    } else {
        crate::threads::num_threads().min(units).max(1)
    }
}

/// Splits `buf` (`units` consecutive units of `unit_len` floats) into `threads` shares of
/// consecutive units and runs `work(first_unit, share)` on each, the calling thread taking the
/// first share.
fn split_units<T: Send>(buf: &mut [T], unit_len: usize, threads: usize, work: impl Fn(usize, &mut [T]) + Sync) {
    let units = buf.len() / unit_len.max(1);
    if threads <= 1 || units <= 1 {
        work(0, buf);
        return;
    }
    let work = &work;
    crate::threads::pool().in_place_scope(|s| {
        let (mut rest, mut start) = (&mut buf[..], 0);
        let mut first = None;
        for t in 0..threads {
            let end = (t + 1) * units / threads;
            let (share, tail) = std::mem::take(&mut rest).split_at_mut((end - start) * unit_len);
            if t == 0 {
                first = Some(share);
            } else {
                s.spawn(move |_| work(start, share));
            }
            (rest, start) = (tail, end);
        }
        if let Some(share) = first {
            work(0, share);
        }
    });
}

/// A matrix inside a slice: element `(r, c)` at `data[r * rs + c * cs]`.
#[derive(Clone, Copy)]
struct View<'a> {
    data: &'a [f32],
    rs: usize,
    cs: usize,
}

impl View<'_> {
    /// Whether a `rows x cols` matrix fits in the slice.
    fn holds(&self, rows: usize, cols: usize) -> bool {
        rows == 0 || cols == 0 || (rows - 1) * self.rs + (cols - 1) * self.cs < self.data.len()
    }
}

/// `c = a · b` (or `c += a · b` if `accumulate`) for `a: [m, k]`, `b: [k, n]` and `c: [m, n]`
/// with row stride `rsc`, on the calling thread. Without `accumulate`, `c` is only written
/// (never read), so it may start uninitialized.
///
/// # Panics
/// If a matrix does not fit in its slice.
#[allow(clippy::too_many_arguments)]
fn gemm(m: usize, k: usize, n: usize, a: View, b: View, c: &mut [MaybeUninit<f32>], rsc: usize, accumulate: bool) {
    let c_fits = m == 0 || n == 0 || (m - 1) * rsc + n <= c.len();
    assert!(a.holds(m, k) && b.holds(k, n) && c_fits, "conv: GEMM operand out of bounds");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c.chunks_mut(rsc.max(1)).for_each(|row| row.iter_mut().take(n).for_each(|v| *v = MaybeUninit::new(0.0)));
        }
        return;
    }
    let mat = |v: View| Mat { ptr: v.data.as_ptr(), rs: v.rs as isize, cs: v.cs as isize };
    let beta = if accumulate { 1.0 } else { 0.0 };
    // SAFETY: the assert above keeps every addressed element inside its slice, and `c` is a
    // unique borrow, so it cannot overlap `a` or `b`; with beta 0 the GEMM writes `c` without
    // reading it (matrixmultiply's contract), so `c` may be uninitialized then.
    unsafe { sgemm(1, m, k, n, 1.0, mat(a), mat(b), beta, c.as_mut_ptr().cast(), rsc as isize, 1) }
}

/// `s` as a slice of possibly uninitialized values, for [`gemm`] (which writes only
/// initialized values into it).
fn as_uninit(s: &mut [f32]) -> &mut [MaybeUninit<f32>] {
    // SAFETY: `MaybeUninit<f32>` has the layout of `f32`, and nothing writes an uninitialized
    // value through the result.
    unsafe { &mut *(s as *mut [f32] as *mut [MaybeUninit<f32>]) }
}

/// An output pixel: image, row and column; [`Pixel::advance`] walks them in row-major order.
#[derive(Clone, Copy)]
struct Pixel {
    n: usize,
    y: usize,
    x: usize,
}

impl Pixel {
    fn of_row(g: &Geometry, row: usize) -> Pixel {
        let [oh, ow] = g.output;
        Pixel { n: row / (oh * ow), y: row / ow % oh, x: row % ow }
    }

    /// Moves `count` pixels on, at most to the end of the current output row.
    fn advance(&mut self, g: &Geometry, count: usize) {
        self.x += count;
        if self.x == g.output[1] {
            self.x = 0;
            self.y += 1;
            if self.y == g.output[0] {
                self.y = 0;
                self.n += 1;
            }
        }
    }
}

/// Walks the taps of output pixel `(oy, ox)` in order, calling `visit(first_tap, count, from)`
/// for runs of `count` taps: `from` is `Some(first input pixel)` for taps that read `count`
/// consecutive input pixels (all the taps of a kernel row when the dilation is 1 and the row
/// lies inside the image, else one tap), `None` for taps in the zero padding.
#[inline(always)]
fn for_each_tap(g: &Geometry, oy: usize, ox: usize, mut visit: impl FnMut(usize, usize, Option<usize>)) {
    let ([h, w], [kh, kw]) = (g.input, g.kernel);
    for i in 0..kh {
        // Positions before the input wrap around to huge values, so one comparison suffices.
        let iy = (oy * g.strides[0] + i * g.dilation[0]).wrapping_sub(g.pad[0]);
        if iy >= h {
            visit(i * kw, kw, None);
            continue;
        }
        let ix0 = (ox * g.strides[1]).wrapping_sub(g.pad[1]);
        if g.dilation[1] == 1 && ix0 < w && kw <= w - ix0 {
            visit(i * kw, kw, Some(iy * w + ix0));
            continue;
        }
        for j in 0..kw {
            let ix = (ox * g.strides[1] + j * g.dilation[1]).wrapping_sub(g.pad[1]);
            visit(i * kw + j, 1, (ix < w).then(|| iy * w + ix));
        }
    }
}

/// Writes rows `start..` of the column matrix of `x` into `col` (whole rows of `col_width`),
/// a segment of one output row (`[n, oy]`) at a time.
fn im2col(g: &Geometry, x: &[f32], start: usize, col: &mut [f32]) {
    let (width, image) = (g.col_width(), g.input[0] * g.input[1] * g.channels);
    let mut at = Pixel::of_row(g, start);
    let mut rest = col;
    while !rest.is_empty() {
        let count = (g.output[1] - at.x).min(rest.len() / width);
        let (rows, tail) = std::mem::take(&mut rest).split_at_mut(count * width);
        let img = &x[at.n * image..(at.n + 1) * image];
        if g.groups == 1 && g.dilation[1] == 1 {
            // The taps of a kernel row read `kw * C` consecutive values: copies of a length
            // known at compile time for the short ones (few channels), `memcpy` for the others.
            macro_rules! runs {
                ($($len:literal)*) => {
                    match g.kernel[1] * g.channels {
                        $($len => im2col_runs::<$len>(g, img, at.y, at.x, rows),)*
                        _ => im2col_runs::<0>(g, img, at.y, at.x, rows),
                    }
                };
            }
            runs!(1 2 3 4 5 6 7 8 9 10 11 12 13 14 15);
        } else {
            for (ox, row) in (at.x..).zip(rows.chunks_exact_mut(width)) {
                im2col_pixel(g, img, at.y, ox, row);
            }
        }
        at.advance(g, count);
        rest = tail;
    }
}

/// The column-matrix rows of the output pixels `ox0..` of output row `oy` (one per chunk of
/// `rows`) for an ungrouped convolution with horizontal dilation 1, whose kernel rows read `L`
/// (`kw * C`) consecutive values of an image row; `L = 0`: not known at compile time.
#[inline(always)]
fn im2col_runs<const L: usize>(g: &Geometry, img: &[f32], oy: usize, ox0: usize, rows: &mut [f32]) {
    let ([h, w], [kh, kw], c) = (g.input, g.kernel, g.channels);
    let len = if L == 0 { kw * c } else { L };
    for i in 0..kh {
        let iy = (oy * g.strides[0] + i * g.dilation[0]).wrapping_sub(g.pad[0]);
        let dsts = rows.chunks_exact_mut(g.col_width()).map(|row| &mut row[i * len..(i + 1) * len]);
        if iy >= h {
            dsts.for_each(|dst| dst.fill(0.0));
            continue;
        }
        let x_row = &img[iy * w * c..(iy + 1) * w * c];
        for (ox, dst) in (ox0..).zip(dsts) {
            // Positions before the input wrap around to huge values: one comparison per side.
            let ix0 = (ox * g.strides[1]).wrapping_sub(g.pad[1]);
            if ix0 < w && kw <= w - ix0 {
                dst.copy_from_slice(&x_row[ix0 * c..ix0 * c + len]);
                continue;
            }
            // A window across the left or right border: tap by tap.
            for (j, tap) in dst.chunks_exact_mut(c).enumerate() {
                let ix = ix0.wrapping_add(j);
                match ix < w {
                    true => tap.copy_from_slice(&x_row[ix * c..(ix + 1) * c]),
                    false => tap.fill(0.0),
                }
            }
        }
    }
}

/// The column-matrix row of output pixel `(oy, ox)`, for any convolution.
fn im2col_pixel(g: &Geometry, img: &[f32], oy: usize, ox: usize, row: &mut [f32]) {
    let (c, cg, kg) = (g.channels, g.channels / g.groups, g.group_k());
    for_each_tap(g, oy, ox, |tap, count, from| {
        for t in 0..count {
            let src = from.map(|p| &img[(p + t) * c..(p + t + 1) * c]);
            // Each tap's channels go to their group's block of columns.
            for grp in 0..g.groups {
                let dst = &mut row[grp * kg + (tap + t) * cg..][..cg];
                match src {
                    Some(src) => dst.copy_from_slice(&src[grp * cg..(grp + 1) * cg]),
                    None => dst.fill(0.0),
                }
            }
        }
    });
}

/// Adds rows `start..` of a column-matrix gradient `col` into `dx`, whose first image is image
/// `first` of the batch: the adjoint of [`im2col`].
fn col2im(g: &Geometry, col: &[f32], start: usize, dx: &mut [f32], first: usize) {
    let c = g.channels;
    let (image, cg, kg) = (g.input[0] * g.input[1] * c, c / g.groups, g.group_k());
    let add = |dst: &mut [f32], src: &[f32]| dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
    let mut at = Pixel::of_row(g, start);
    for row in col.chunks_exact(g.col_width()) {
        let img = &mut dx[(at.n - first) * image..(at.n - first + 1) * image];
        for_each_tap(g, at.y, at.x, |tap, count, from| {
            let Some(p) = from else { return };
            if g.groups == 1 {
                add(&mut img[p * c..(p + count) * c], &row[tap * c..(tap + count) * c]);
                return;
            }
            for t in 0..count {
                let dst = &mut img[(p + t) * c..(p + t + 1) * c];
                for grp in 0..g.groups {
                    add(&mut dst[grp * cg..(grp + 1) * cg], &row[grp * kg + (tap + t) * cg..][..cg]);
                }
            }
        });
        at.advance(g, 1);
    }
}

/// `out = col · K` per group for `m` rows of the column matrix `col` (row stride `col_width`),
/// writing every element of `out[..m * filters]` (which may start uninitialized).
fn forward_gemms(g: &Geometry, m: usize, col: &[f32], kernel: &[f32], out: &mut [MaybeUninit<f32>]) {
    let (kg, og, f) = (g.group_k(), g.filters / g.groups, g.filters);
    for grp in 0..g.groups {
        let a = View { data: &col[grp * kg..], rs: g.col_width(), cs: 1 };
        let b = View { data: &kernel[grp * og..], rs: f, cs: 1 };
        gemm(m, kg, og, a, b, &mut out[grp * og..], f, false);
    }
}

/// `dcol = dy · Kᵀ` per group for `m` rows of `dy`.
fn input_grad_gemms(g: &Geometry, m: usize, dy: &[f32], kernel: &[f32], dcol: &mut [f32]) {
    let (kg, og, f) = (g.group_k(), g.filters / g.groups, g.filters);
    for grp in 0..g.groups {
        let a = View { data: &dy[grp * og..], rs: f, cs: 1 };
        let b = View { data: &kernel[grp * og..], rs: 1, cs: f };
        gemm(m, og, kg, a, b, as_uninit(&mut dcol[grp * kg..]), g.col_width(), false);
    }
}

/// `dK += colᵀ · dy` per group for `m` rows of `col` and `dy`.
fn kernel_grad_gemms(g: &Geometry, m: usize, col: &[f32], dy: &[f32], dk: &mut [f32]) {
    let (kg, og, f) = (g.group_k(), g.filters / g.groups, g.filters);
    for grp in 0..g.groups {
        let a = View { data: &col[grp * kg..], rs: 1, cs: g.col_width() };
        let b = View { data: &dy[grp * og..], rs: f, cs: 1 };
        gemm(kg, m, og, a, b, as_uninit(&mut dk[grp * og..]), f, true);
    }
}

/// The convolution of `x` (`g.input_shape()`, contiguous) with `kernel` (`g.kernel_shape()`),
/// plus `bias` (`filters` values) on every output pixel if given, then `max(v, 0)` if `relu`
/// (NaN kept, as [`Tensor::relu`](crate::Tensor::relu)):
/// the output, `g.output_shape()`.
///
/// The output buffer is not zeroed first (the GEMMs overwrite it), and the bias and relu are
/// applied to each piece of rows right after its GEMM, while the piece is still in cache; each
/// element is `max((Σ taps) + bias, 0)`, the same sums and rounding as separate ops.
pub(super) fn forward(g: &Geometry, x: &[f32], kernel: &[f32], bias: Option<&[f32]>, relu: bool) -> Vec<f32> {
    let (f, width) = (g.filters, g.col_width());
    let len = g.rows() * f;
    let mut out: Vec<f32> = Vec::with_capacity(len);
    let rows_each = piece_rows(g);
    let finish = |piece: &mut [MaybeUninit<f32>]| {
        // SAFETY: `forward_gemms` has written every element of the piece.
        let piece = unsafe { &mut *(piece as *mut [MaybeUninit<f32>] as *mut [f32]) };
        match (bias, relu) {
            (Some(b), false) => {
                piece.chunks_exact_mut(f).for_each(|row| row.iter_mut().zip(b).for_each(|(v, &b)| *v += b))
            }
            (Some(b), true) => piece
                .chunks_exact_mut(f)
                .for_each(|row| row.iter_mut().zip(b).for_each(|(v, &b)| *v = relu_scalar(*v + b))),
            (None, true) => piece.iter_mut().for_each(|v| *v = relu_scalar(*v)),
            (None, false) => {}
        }
    };
    split_units(&mut out.spare_capacity_mut()[..len], f, threads_for(g, g.rows()), |start, share| {
        if g.is_pointwise() {
            forward_gemms(g, share.len() / f, &x[start * width..], kernel, share);
            return finish(share);
        }
        with_scratch(rows_each * width, |col| {
            for (p, out_piece) in share.chunks_mut(rows_each * f).enumerate() {
                let m = out_piece.len() / f;
                im2col(g, x, start + p * rows_each, &mut col[..m * width]);
                forward_gemms(g, m, col, kernel, out_piece);
                finish(out_piece);
            }
        });
    });
    // SAFETY: the shares cover the buffer and each was written in full above.
    unsafe { out.set_len(len) };
    out
}

/// The gradient with respect to the input of [`forward`], given the output gradient `dy`.
pub(super) fn input_grad(g: &Geometry, dy: &[f32], kernel: &[f32]) -> Vec<f32> {
    let (f, width) = (g.filters, g.col_width());
    let image = g.input[0] * g.input[1] * g.channels;
    let per_image = g.output[0] * g.output[1];
    let mut dx = vec![0.0; g.batch * image];
    let rows_each = piece_rows(g);
    split_units(&mut dx, image, threads_for(g, g.batch), |first, share| {
        let rows = first * per_image..(first + share.len() / image) * per_image;
        if g.is_pointwise() {
            return input_grad_gemms(g, rows.len(), &dy[rows.start * f..], kernel, share);
        }
        with_scratch(rows_each * width, |dcol| {
            for start in rows.clone().step_by(rows_each) {
                let m = rows_each.min(rows.end - start);
                input_grad_gemms(g, m, &dy[start * f..], kernel, &mut dcol[..m * width]);
                col2im(g, &dcol[..m * width], start, share, first);
            }
        });
    });
    dx
}

/// The gradient with respect to the kernel of [`forward`], given the input `x` and the output
/// gradient `dy`.
pub(super) fn kernel_grad(g: &Geometry, x: &[f32], dy: &[f32]) -> Vec<f32> {
    let (f, width, len) = (g.filters, g.col_width(), g.group_k() * g.filters);
    // A multiple of LANES pieces (of at most `piece_rows`), so that the lanes share the rows
    // evenly and so do the threads that share the lanes.
    let pieces = g.rows().div_ceil(piece_rows(g)).next_multiple_of(LANES).max(1);
    let rows_each = g.rows().div_ceil(pieces).max(1);
    let pieces = g.rows().div_ceil(rows_each);
    let lanes = LANES.min(pieces).max(1);
    let mut partial = vec![0.0; lanes * len];
    split_units(&mut partial, len, threads_for(g, lanes), |first, share| {
        with_scratch(if g.is_pointwise() { 0 } else { rows_each * width }, |col| {
            for (l, acc) in share.chunks_exact_mut(len).enumerate() {
                let lane = first + l;
                for piece in lane * pieces / lanes..(lane + 1) * pieces / lanes {
                    let start = piece * rows_each;
                    let m = rows_each.min(g.rows() - start);
                    let dy = &dy[start * f..(start + m) * f];
                    if g.is_pointwise() {
                        kernel_grad_gemms(g, m, &x[start * width..], dy, acc);
                    } else {
                        im2col(g, x, start, &mut col[..m * width]);
                        kernel_grad_gemms(g, m, col, dy, acc);
                    }
                }
            }
        });
    });
    // The lanes' partial sums, added in lane order.
    let (dk, rest) = partial.split_at_mut(len);
    for lane in rest.chunks_exact(len) {
        dk.iter_mut().zip(lane).for_each(|(d, s)| *d += s);
    }
    partial.truncate(len);
    partial
}
