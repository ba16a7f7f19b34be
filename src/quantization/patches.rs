//! The windows of a channels-last u8 image as rows of a matrix (im2col), a block of rows at a
//! time, so that an int8 convolution is an int8 matrix product over cache-sized blocks.
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

    /// Writes the window of output pixel `pixel` (over the whole batch) into `row`.
    fn fill(&self, image: &[u8], pixel: usize, zero_point: u8, row: &mut [u8]) {
        let c = self.channels;
        let sample = pixel / self.out_pixels();
        let (oy, ox) = ((pixel % self.out_pixels()) / self.out_w, pixel % self.out_w);
        let sample = &image[sample * self.in_h * self.in_w * c..][..self.in_h * self.in_w * c];
        let [kh, kw] = self.kernel;
        for ky in 0..kh {
            let out = &mut row[ky * kw * c..][..kw * c];
            let y = (oy * self.strides[0] + ky * self.dilation[0]).checked_sub(self.pad[0]).filter(|&y| y < self.in_h);
            let Some(y) = y else {
                out.fill(zero_point);
                continue;
            };
            let left = (ox * self.strides[1]).checked_sub(self.pad[1]);
            match left {
                // The whole kernel row inside the image, contiguous: one copy.
                Some(x) if self.dilation[1] == 1 && x + kw <= self.in_w => {
                    out.copy_from_slice(&sample[(y * self.in_w + x) * c..][..kw * c]);
                }
                _ => {
                    for kx in 0..kw {
                        let x = (ox * self.strides[1] + kx * self.dilation[1])
                            .checked_sub(self.pad[1])
                            .filter(|&x| x < self.in_w);
                        let cell = &mut out[kx * c..][..c];
                        match x {
                            Some(x) => cell.copy_from_slice(&sample[(y * self.in_w + x) * c..][..c]),
                            None => cell.fill(zero_point),
                        }
                    }
                }
            }
        }
    }
}

/// About this many bytes of windows per block (in L2 beside the packed kernel).
const BLOCK_BYTES: usize = 96 * 1024;

/// The windows of a batch, block by block.
pub(crate) struct Patches<'a> {
    geometry: &'a ConvGeometry,
    image: &'a [u8],
    zero_point: u8,
    next: usize,
    total: usize,
    rows_per_block: usize,
    buffer: Vec<u8>,
}

impl<'a> Patches<'a> {
    /// The windows of `batch` images (`[batch, h, w, C]` u8, row-major).
    pub(crate) fn new(geometry: &'a ConvGeometry, image: &'a [u8], batch: usize, zero_point: u8) -> Patches<'a> {
        let rows_per_block = (BLOCK_BYTES / geometry.patch_len().max(1)).clamp(16, 4096);
        Patches {
            geometry,
            image,
            zero_point,
            next: 0,
            total: batch * geometry.out_pixels(),
            rows_per_block,
            buffer: vec![0; rows_per_block * geometry.patch_len()],
        }
    }

    /// The next block: its row count and its rows (`rows * patch_len` values), or `None` at
    /// the end.
    pub(crate) fn next_block(&mut self) -> Option<(usize, &[u8])> {
        if self.next >= self.total {
            return None;
        }
        let rows = self.rows_per_block.min(self.total - self.next);
        let len = self.geometry.patch_len();
        for (r, row) in self.buffer.chunks_exact_mut(len).take(rows).enumerate() {
            self.geometry.fill(self.image, self.next + r, self.zero_point, row);
        }
        self.next += rows;
        Some((rows, &self.buffer[..rows * len]))
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
        let mut patches = Patches::new(g, &image, batch, 0);
        let mut rows = Vec::new();
        while let Some((_, block)) = patches.next_block() {
            rows.extend_from_slice(block);
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
        // Enough rows for several blocks.
        check(&geometry([40, 40, 8], Conv2d::new(4, [5, 5]).padding(Padding::Same)), 3);
    }
}
