//! The windows of a channels-last u8 image as rows of a matrix (im2col), one sample at a time
//! (so that the rows stay in cache for the int8 matrix product that follows), and the max
//! pooling fused after such a convolution.
//!
//! Row `r` is output pixel `r` (batch, then row, then column); its `kh * kw * C` values run
//! over the kernel's rows, columns and channels in that order, the order of a Keras kernel
//! `[kh, kw, C, filters]` read as `[K, filters]`. Positions in the padding hold the zero
//! point (the level of 0.0).

use kensho_core::Padding;
use kensho_layers::ConvConfig;

/// The sizes of one 2-D convolution, channels last, one group.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ConvGeometry {
    pub(crate) in_h: usize,
    pub(crate) in_w: usize,
    pub(crate) channels: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) strides: [usize; 2],
    pub(crate) dilation: [usize; 2],
    /// Zero rows above and columns left of the input.
    pub(crate) pad: [usize; 2],
    pub(crate) out_h: usize,
    pub(crate) out_w: usize,
}

/// One spatial axis: its output size and the padding before it (Keras' rules, as the float
/// convolution applies them).
fn axis(input: usize, kernel: usize, stride: usize, dilation: usize, padding: Padding) -> Option<(usize, usize)> {
    let effective = (kernel - 1) * dilation + 1;
    match padding {
        Padding::Valid => Some((input.checked_sub(effective)? / stride + 1, 0)),
        Padding::Same => {
            let out = input.div_ceil(stride);
            let total = ((out - 1) * stride + effective).saturating_sub(input);
            Some((out, total / 2))
        }
    }
}

impl ConvGeometry {
    /// The geometry of `config` on per-sample input `[h, w, C]`, if it is a 2-D convolution
    /// with an output.
    pub(crate) fn new(input: &[usize], config: &ConvConfig) -> Option<ConvGeometry> {
        let [h, w, c] = <[usize; 3]>::try_from(input).ok()?;
        let [kh, kw] = <[usize; 2]>::try_from(config.kernel_size.as_slice()).ok()?;
        let [sh, sw] = <[usize; 2]>::try_from(config.strides.as_slice()).ok()?;
        let [dh, dw] = <[usize; 2]>::try_from(config.dilation_rate.as_slice()).ok()?;
        let (out_h, pad_h) = axis(h, kh, sh, dh, config.padding)?;
        let (out_w, pad_w) = axis(w, kw, sw, dw, config.padding)?;
        (out_h > 0 && out_w > 0).then_some(ConvGeometry {
            in_h: h,
            in_w: w,
            channels: c,
            kernel: [kh, kw],
            strides: [sh, sw],
            dilation: [dh, dw],
            pad: [pad_h, pad_w],
            out_h,
            out_w,
        })
    }

    /// The values in one window: `kh * kw * C`.
    pub(crate) fn patch_len(&self) -> usize {
        self.kernel[0] * self.kernel[1] * self.channels
    }

    /// The output pixels of one sample.
    pub(crate) fn out_pixels(&self) -> usize {
        self.out_h * self.out_w
    }

    /// Writes the windows of one sample's image (`[h, w, C]` u8) into `rows`
    /// (`out_pixels * patch_len` values), one row per output pixel.
    pub(crate) fn fill(&self, image: &[u8], zero_point: u8, rows: &mut [u8]) {
        if self.pad == [0, 0] && self.dilation == [1, 1] {
            // Each kernel row is one run of `kw * C` values: copied with a length known at
            // compile time for the short runs of images with few channels.
            return match self.kernel[1] * self.channels {
                1 => self.fill_unpadded::<1>(image, rows),
                2 => self.fill_unpadded::<2>(image, rows),
                3 => self.fill_unpadded::<3>(image, rows),
                4 => self.fill_unpadded::<4>(image, rows),
                6 => self.fill_unpadded::<6>(image, rows),
                8 => self.fill_unpadded::<8>(image, rows),
                9 => self.fill_unpadded::<9>(image, rows),
                12 => self.fill_unpadded::<12>(image, rows),
                16 => self.fill_unpadded::<16>(image, rows),
                _ => self.fill_unpadded::<0>(image, rows),
            };
        }
        let c = self.channels;
        let [kh, kw] = self.kernel;
        let mut rows = rows.chunks_exact_mut(self.patch_len());
        for oy in 0..self.out_h {
            for ox in 0..self.out_w {
                let row = rows.next().expect("a row per output pixel");
                for ky in 0..kh {
                    let out = &mut row[ky * kw * c..][..kw * c];
                    let y = (oy * self.strides[0] + ky * self.dilation[0])
                        .checked_sub(self.pad[0])
                        .filter(|&y| y < self.in_h);
                    let Some(y) = y else {
                        out.fill(zero_point);
                        continue;
                    };
                    match (ox * self.strides[1]).checked_sub(self.pad[1]) {
                        // The whole kernel row inside the image, contiguous: one copy.
                        Some(x) if self.dilation[1] == 1 && x + kw <= self.in_w => {
                            copy(out, &image[(y * self.in_w + x) * c..][..kw * c]);
                        }
                        _ => {
                            for kx in 0..kw {
                                let x = (ox * self.strides[1] + kx * self.dilation[1])
                                    .checked_sub(self.pad[1])
                                    .filter(|&x| x < self.in_w);
                                let cell = &mut out[kx * c..][..c];
                                match x {
                                    Some(x) => copy(cell, &image[(y * self.in_w + x) * c..][..c]),
                                    None => cell.fill(zero_point),
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

impl ConvGeometry {
    /// [`ConvGeometry::fill`] without padding or dilation; `RUN` is `kw * C` if known at
    /// compile time, else 0.
    fn fill_unpadded<const RUN: usize>(&self, image: &[u8], rows: &mut [u8]) {
        let c = self.channels;
        let run = if RUN == 0 { self.kernel[1] * c } else { RUN };
        let k = self.patch_len();
        for oy in 0..self.out_h {
            for ky in 0..self.kernel[0] {
                let source = &image[(oy * self.strides[0] + ky) * self.in_w * c..];
                let first = oy * self.out_w * k + ky * run;
                for ox in 0..self.out_w {
                    rows[first + ox * k..][..run].copy_from_slice(&source[ox * self.strides[1] * c..][..run]);
                }
            }
        }
    }
}

/// Copies `src` into `dst`; short runs (a kernel row of one or a few channels) four bytes at
/// a time in registers, where a call to `memcpy` would cost more than the copy.
#[inline]
fn copy(dst: &mut [u8], src: &[u8]) {
    if dst.len() >= 32 {
        dst.copy_from_slice(src);
        return;
    }
    let mut d = dst.chunks_exact_mut(4);
    let mut s = src.chunks_exact(4);
    for (d, s) in (&mut d).zip(&mut s) {
        d.copy_from_slice(s);
    }
    for (d, s) in d.into_remainder().iter_mut().zip(s.remainder()) {
        *d = *s;
    }
}

/// A max pooling fused after a convolution: `[h, w, C]` f32 to `[oh, ow, C]`, valid padding.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct MaxPool {
    pub(crate) size: [usize; 2],
    pub(crate) strides: [usize; 2],
}

impl MaxPool {
    /// The output size of the pooling of a `[h, w]` input (valid padding).
    pub(crate) fn output(&self, h: usize, w: usize) -> Option<(usize, usize)> {
        let out = |input: usize, size: usize, stride: usize| Some(input.checked_sub(size)? / stride + 1);
        Some((out(h, self.size[0], self.strides[0])?, out(w, self.size[1], self.strides[1])?))
    }

    /// Appends the pooling of `input` (`[h, w, C]`, row-major) to `out`.
    pub(crate) fn pool_into(&self, input: &[f32], h: usize, w: usize, channels: usize, out: &mut Vec<f32>) {
        let (oh, ow) = self.output(h, w).expect("a pooling with an output");
        let mut best = vec![f32::NEG_INFINITY; channels];
        for oy in 0..oh {
            for ox in 0..ow {
                best.fill(f32::NEG_INFINITY);
                for py in 0..self.size[0] {
                    let y = oy * self.strides[0] + py;
                    for px in 0..self.size[1] {
                        let x = ox * self.strides[1] + px;
                        let pixel = &input[(y * w + x) * channels..][..channels];
                        for (b, &v) in best.iter_mut().zip(pixel) {
                            // A comparison rather than f32::max, so that it is one `maxps`
                            // (the values are finite: inputs are checked).
                            *b = if v > *b { v } else { *b };
                        }
                    }
                }
                out.extend_from_slice(&best);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kensho_layers::{Conv2d, Layer};

    fn geometry(input: [usize; 3], layer: Conv2d) -> ConvGeometry {
        let kensho_layers::LayerConfig::Conv2D(config) = layer.config() else { unreachable!() };
        ConvGeometry::new(&input, &config).expect("a convolution with an output")
    }

    /// Each window value against the definition, read position by position (the fast copy
    /// of a whole kernel row must give the same).
    fn check(g: &ConvGeometry, batch: usize) {
        let len = batch * g.in_h * g.in_w * g.channels;
        let image: Vec<u8> = (0..len).map(|i| (i * 7 % 251) as u8 + 1).collect();
        let sample = g.in_h * g.in_w * g.channels;
        let mut rows = vec![1; batch * g.out_pixels() * g.patch_len()];
        for (image, rows) in image.chunks(sample).zip(rows.chunks_mut(g.out_pixels() * g.patch_len())) {
            g.fill(image, 0, rows);
        }
        assert_eq!(rows.len(), batch * g.out_pixels() * g.patch_len());
        for (r, row) in rows.chunks(g.patch_len()).enumerate() {
            let (n, oy, ox) = (r / g.out_pixels(), r % g.out_pixels() / g.out_w, r % g.out_w);
            for (i, &v) in row.iter().enumerate() {
                let (ky, kx, c) = (i / (g.kernel[1] * g.channels), i / g.channels % g.kernel[1], i % g.channels);
                let y = (oy * g.strides[0] + ky * g.dilation[0]) as isize - g.pad[0] as isize;
                let x = (ox * g.strides[1] + kx * g.dilation[1]) as isize - g.pad[1] as isize;
                let inside = (0..g.in_h as isize).contains(&y) && (0..g.in_w as isize).contains(&x);
                let expected =
                    if inside { image[((n * g.in_h + y as usize) * g.in_w + x as usize) * g.channels + c] } else { 0 };
                assert_eq!(v, expected, "row {r} value {i}");
            }
        }
    }

    #[test]
    fn windows_match_the_definition() {
        use kensho_core::Padding;
        check(&geometry([7, 6, 2], Conv2d::new(3, [3, 3])), 2);
        let same = geometry([7, 6, 3], Conv2d::new(3, [3, 2]).padding(Padding::Same).strides([2, 2]));
        assert_eq!((same.out_h, same.out_w, same.pad), (4, 3, [1, 0]));
        check(&same, 3);
        check(&geometry([9, 9, 1], Conv2d::new(2, [3, 3]).dilation_rate([2, 2]).padding(Padding::Same)), 1);
        // A wide kernel row copied whole.
        check(&geometry([40, 40, 8], Conv2d::new(4, [5, 5]).padding(Padding::Same)), 3);
    }

    #[test]
    fn the_fused_max_pooling_is_the_core_one() {
        use kensho_core::{Pool2dOptions, Tensor};
        for (size, strides, (h, w)) in [([2, 2], [2, 2], (7, 6)), ([3, 2], [1, 2], (5, 9)), ([2, 2], [3, 3], (8, 8))] {
            let x = Tensor::rand_normal(&[1, h, w, 5], 0.0, 1.0, &mut kensho_core::seeded_rng(3));
            let expected = x.max_pool2d(Pool2dOptions::new(size).strides(strides));
            let pool = MaxPool { size, strides };
            let mut out = Vec::new();
            pool.pool_into(&x.to_vec(), h, w, 5, &mut out);
            assert_eq!(out, expected.to_vec(), "{size:?} {strides:?}");
            assert_eq!(pool.output(h, w), Some((expected.shape()[1], expected.shape()[2])));
        }
    }
}
