//! Pooling and spatial kernels: forward against a direct implementation written from the
//! definitions (TensorFlow's padding rule), the tie rule of max pooling, the real-count divisor
//! of average pooling, adjointness of every linear kernel with its adjoint, the gradients of
//! pooling against the directly computed routing, and bit-identical results on 1 and 2 threads.

use kensho_core::{seeded_rng, set_num_threads, Padding, Pool1dOptions, Pool2dOptions, Tensor};

fn t(values: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(values.to_vec(), shape).unwrap()
}

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::rand_uniform(shape, -2.0, 2.0, &mut seeded_rng(seed))
}

/// `<a, b>` accumulated in f64.
fn dot(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter().zip(b.iter()).map(|(x, y)| f64::from(x) * f64::from(y)).sum()
}

/// Output length and padding before, straight from TensorFlow's formulas.
fn tf_axis(input: usize, k: usize, s: usize, same: bool) -> (usize, usize) {
    if same {
        let out = input.div_ceil(s);
        let total = ((out as isize - 1) * s as isize + k as isize - input as isize).max(0) as usize;
        (out, total / 2)
    } else {
        ((input - k) / s + 1, 0)
    }
}

/// For each output element (row-major), the flat input indices of its window's real elements,
/// in row-major window order.
fn windows(shape: &[usize], opts: Pool2dOptions) -> (Vec<usize>, Vec<Vec<usize>>) {
    let [n, h, w, c] = [shape[0], shape[1], shape[2], shape[3]];
    let same = opts.padding == Padding::Same;
    let (oh, top) = tf_axis(h, opts.pool[0], opts.strides[0], same);
    let (ow, left) = tf_axis(w, opts.pool[1], opts.strides[1], same);
    let mut all = Vec::new();
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for ch in 0..c {
                    let mut members = Vec::new();
                    for di in 0..opts.pool[0] {
                        for dj in 0..opts.pool[1] {
                            let r = (i * opts.strides[0] + di) as isize - top as isize;
                            let q = (j * opts.strides[1] + dj) as isize - left as isize;
                            if r >= 0 && q >= 0 && (r as usize) < h && (q as usize) < w {
                                members.push(((b * h + r as usize) * w + q as usize) * c + ch);
                            }
                        }
                    }
                    all.push(members);
                }
            }
        }
    }
    (vec![n, oh, ow, c], all)
}

/// Max and average pooling, computed directly.
fn direct(x: &Tensor, opts: Pool2dOptions) -> (Tensor, Tensor) {
    let v = x.to_vec();
    let (shape, wins) = windows(x.shape(), opts);
    let max: Vec<f32> = wins.iter().map(|m| m.iter().map(|&i| v[i]).fold(f32::NEG_INFINITY, f32::max)).collect();
    let avg: Vec<f32> = wins.iter().map(|m| m.iter().map(|&i| v[i]).sum::<f32>() / m.len() as f32).collect();
    (t(&max, &shape), t(&avg, &shape))
}

/// The max-pooling gradient, computed directly: each window's gradient to its first maximum.
fn direct_max_grad(x: &Tensor, dy: &Tensor, opts: Pool2dOptions) -> Tensor {
    let (v, g) = (x.to_vec(), dy.to_vec());
    let mut dx = vec![0.0; v.len()];
    for (o, m) in windows(x.shape(), opts).1.iter().enumerate() {
        let first = m.iter().copied().reduce(|best, i| if v[i] > v[best] { i } else { best }).unwrap();
        dx[first] += g[o];
    }
    t(&dx, x.shape())
}

/// A mix of window, stride and padding cases over `[N, H, W, C]` shapes.
fn cases() -> Vec<(Vec<usize>, Pool2dOptions)> {
    use Padding::{Same, Valid};
    vec![
        (vec![2, 4, 4, 3], Pool2dOptions::new([2, 2])),
        (vec![2, 5, 7, 3], Pool2dOptions::new([2, 2])),
        (vec![2, 7, 5, 3], Pool2dOptions::new([3, 3]).strides([2, 2]).padding(Same)),
        (vec![1, 7, 9, 2], Pool2dOptions::new([3, 2]).strides([1, 3]).padding(Valid)),
        (vec![3, 5, 5, 1], Pool2dOptions::new([2, 2]).strides([1, 1]).padding(Same)),
        (vec![2, 5, 7, 4], Pool2dOptions::new([4, 3]).strides([3, 2]).padding(Same)),
        (vec![1, 6, 6, 5], Pool2dOptions::new([3, 3]).strides([3, 3]).padding(Same)),
        (vec![2, 3, 8, 2], Pool2dOptions::new([1, 1]).strides([2, 3]).padding(Same)),
        (vec![1, 2, 3, 2], Pool2dOptions::new([5, 5]).strides([1, 1]).padding(Same)),
    ]
}

#[test]
fn pooling_matches_the_direct_definition() {
    for (k, (shape, opts)) in cases().into_iter().enumerate() {
        let x = rand(&shape, k as u64);
        let (max, avg) = direct(&x, opts);
        assert_eq!(x.max_pool2d(opts), max, "max {shape:?} {opts:?}");
        assert!(x.avg_pool2d(opts).allclose(&avg, 1e-6, 1e-6), "avg {shape:?} {opts:?}");
        // A transposed (non-contiguous) input with the same values.
        let xt = x.permute(&[0, 2, 1, 3]).to_contiguous().permute(&[0, 2, 1, 3]);
        assert!(!xt.is_contiguous());
        assert_eq!(xt.max_pool2d(opts), max);
        let dy = rand(max.shape(), 100 + k as u64);
        assert_eq!(x.max_pool2d_grad(&dy, opts), direct_max_grad(&x, &dy, opts), "max grad {shape:?} {opts:?}");
        let (y, argmax) = x.max_pool2d_with_argmax(opts);
        assert_eq!((y, argmax.grad(&dy)), (max.clone(), direct_max_grad(&x, &dy, opts)), "argmax {shape:?} {opts:?}");
        assert_eq!(opts.output_shape(&shape).unwrap(), max.shape());
    }
}

#[test]
fn one_d_pooling_is_two_d_pooling_over_one_row() {
    let x = rand(&[2, 9, 3], 7);
    for opts in [Pool1dOptions::new(2), Pool1dOptions::new(3).strides(2).padding(Padding::Same)] {
        let (max, avg) = direct(&x.unsqueeze(1), opts.to_2d());
        let out = opts.output_shape(x.shape()).unwrap();
        assert_eq!(x.max_pool1d(opts), max.reshape_to(&out));
        assert!(x.avg_pool1d(opts).allclose(&avg.reshape_to(&out), 1e-6, 1e-6));
    }
    // Keras: MaxPooling1D(pool_size=2) on [[1], [3], [2], [5], [4]] keeps [[3], [5]].
    let x = t(&[1., 3., 2., 5., 4.], &[1, 5, 1]);
    assert_eq!(x.max_pool1d(Pool1dOptions::new(2)).to_vec(), vec![3., 5.]);
    assert_eq!(x.max_pool1d(Pool1dOptions::new(2).padding(Padding::Same)).to_vec(), vec![3., 5., 4.]);
}

#[test]
fn max_pool_ties_route_to_first() {
    let opts = Pool2dOptions::new([2, 2]);
    // One window of four equal values: the whole gradient goes to the top-left element.
    let x = Tensor::full(&[1, 2, 2, 1], 1.5);
    assert_eq!(x.max_pool2d_grad(&t(&[2.0], &[1, 1, 1, 1]), opts).to_vec(), vec![2., 0., 0., 0.]);
    // Ties in the second row only (row-major window order): the first of them wins.
    let x = t(&[0., 1., 3., 3.], &[1, 2, 2, 1]);
    assert_eq!(x.max_pool2d_grad(&t(&[1.0], &[1, 1, 1, 1]), opts).to_vec(), vec![0., 0., 1., 0.]);
    // Per channel: channel 0 ties everywhere, channel 1 has its maximum last.
    let x = t(&[4., 0., 4., 1., 4., 2., 4., 3.], &[1, 2, 2, 2]);
    let dx = x.max_pool2d_grad(&t(&[1.0, 1.0], &[1, 1, 1, 2]), opts);
    assert_eq!(dx.to_vec(), vec![1., 0., 0., 0., 0., 0., 0., 1.]);
    // Overlapping windows (stride 1) over a constant input: each window picks its own first
    // element, and the gradients of windows sharing a winner add up.
    let x = Tensor::zeros(&[1, 3, 3, 1]);
    let dy = t(&[1., 2., 3., 4.], &[1, 2, 2, 1]);
    let dx = x.max_pool2d_grad(&dy, opts.strides([1, 1]));
    assert_eq!(dx.to_vec(), vec![1., 2., 0., 3., 4., 0., 0., 0., 0.]);
    // With stride 1 and a window of 3 over [5, 5, 5]: all three windows pick element 0 (same).
    let x = Tensor::full(&[1, 1, 3, 1], 5.0);
    let same = Pool2dOptions::new([1, 3]).strides([1, 1]).padding(Padding::Same);
    let dx = x.max_pool2d_grad(&Tensor::ones(&[1, 1, 3, 1]), same);
    assert_eq!(dx.to_vec(), vec![2., 1., 0.]);
}

#[test]
fn same_padding_never_wins_a_max_and_is_not_counted_in_an_average() {
    // x = 1..=9 on a 3x3 grid (one sample, one channel).
    let x = Tensor::arange(9).add_scalar(1.0).reshape_to(&[1, 3, 3, 1]);
    // 2x2 windows, stride 2, same: out 2x2, padding 1 in total, all of it at the bottom / right.
    let opts = Pool2dOptions::new([2, 2]).padding(Padding::Same);
    // (1+2+4+5)/4, (3+6)/2, (7+8)/2, 9/1.
    assert_eq!(x.avg_pool2d(opts).to_vec(), vec![3.0, 4.5, 7.5, 9.0]);
    assert_eq!(x.neg().max_pool2d(opts).to_vec(), vec![-1.0, -3.0, -7.0, -9.0]);
    // 3x3 windows, stride 1, same: padding 1 on each side; corners average 4 values, edges 6.
    let opts = Pool2dOptions::new([3, 3]).strides([1, 1]).padding(Padding::Same);
    let want = [12. / 4., 21. / 6., 16. / 4., 27. / 6., 45. / 9., 33. / 6., 24. / 4., 39. / 6., 28. / 4.];
    assert_eq!(want, [3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0]);
    assert!(x.avg_pool2d(opts).allclose(&t(&want, &[1, 3, 3, 1]), 1e-6, 0.0));
    // Its gradient spreads each window's share over the real elements only: the corner
    // element (0,0) is in 4 windows with 4, 6, 6 and 9 real elements.
    let dx = Tensor::ones(&[1, 3, 3, 1]).avg_pool2d_grad(&[1, 3, 3, 1], opts);
    assert!((dx.get_flat(0) - (1. / 4. + 2. / 6. + 1. / 9.)).abs() < 1e-6);
    assert!((dx.sum_all() - 9.0).abs() < 1e-5);
}

#[test]
fn linear_kernels_are_adjoint_to_their_backward() {
    for (k, (shape, opts)) in cases().into_iter().enumerate() {
        let x = rand(&shape, 200 + k as u64);
        let y = rand(&opts.output_shape(&shape).unwrap(), 300 + k as u64);
        let (lhs, rhs) = (dot(&x.avg_pool2d(opts), &y), dot(&x, &y.avg_pool2d_grad(&shape, opts)));
        assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "avg {shape:?} {opts:?}: {lhs} vs {rhs}");
    }
    for (k, (shape, pad)) in [
        (vec![2, 3, 4, 3], [[1, 2], [0, 1]]),
        (vec![1, 5, 2, 1], [[0, 0], [3, 3]]),
        (vec![3, 1, 1, 4], [[2, 0], [0, 2]]),
    ]
    .into_iter()
    .enumerate()
    {
        let x = rand(&shape, 400 + k as u64);
        let y = rand(x.pad2d(pad).shape(), 500 + k as u64);
        let (lhs, rhs) = (dot(&x.pad2d(pad), &y), dot(&x, &y.crop2d(pad)));
        assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "pad {shape:?} {pad:?}: {lhs} vs {rhs}");
    }
    for (k, (shape, size)) in
        [(vec![2, 3, 4, 3], [2, 2]), (vec![1, 2, 5, 1], [3, 1]), (vec![2, 1, 2, 4], [1, 4])].into_iter().enumerate()
    {
        let x = rand(&shape, 600 + k as u64);
        let y = rand(x.upsample2d_nearest(size).shape(), 700 + k as u64);
        let (lhs, rhs) = (dot(&x.upsample2d_nearest(size), &y), dot(&x, &y.upsample2d_nearest_grad(size)));
        assert!((lhs - rhs).abs() < 1e-4 * (1.0 + lhs.abs()), "upsample {shape:?} {size:?}: {lhs} vs {rhs}");
    }
}

#[test]
fn spatial_kernels_accept_non_contiguous_inputs() {
    let x = rand(&[2, 4, 3, 2], 800);
    let xt = x.permute(&[0, 2, 1, 3]).to_contiguous().permute(&[0, 2, 1, 3]);
    assert!(!xt.is_contiguous());
    assert_eq!(xt.pad2d([[1, 0], [2, 1]]), x.pad2d([[1, 0], [2, 1]]));
    assert_eq!(xt.crop2d([[1, 1], [0, 1]]), x.crop2d([[1, 1], [0, 1]]));
    assert_eq!(xt.upsample2d_nearest([2, 3]), x.upsample2d_nearest([2, 3]));
    assert_eq!(xt.upsample2d_nearest_grad([2, 3]), x.upsample2d_nearest_grad([2, 3]));
    assert_eq!(xt.avg_pool2d_grad(&[2, 8, 6, 2], Pool2dOptions::new([2, 2])).shape(), &[2, 8, 6, 2]);
}

/// The bit patterns of the values.
fn bits(t: &Tensor) -> Vec<u32> {
    t.iter().map(f32::to_bits).collect()
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    // Large enough for every kernel to split its batch across the threads.
    let x = rand(&[8, 48, 40, 24], 900);
    let opts = Pool2dOptions::new([3, 3]).strides([2, 2]).padding(Padding::Same);
    let dy = rand(&opts.output_shape(x.shape()).unwrap(), 901);
    let up = x.upsample2d_nearest([2, 2]);
    let run = || {
        vec![
            x.max_pool2d(opts),
            x.avg_pool2d(opts),
            x.max_pool2d_grad(&dy, opts),
            dy.avg_pool2d_grad(x.shape(), opts),
            x.pad2d([[2, 1], [1, 3]]),
            x.crop2d([[2, 1], [1, 3]]),
            x.upsample2d_nearest([2, 2]),
            up.upsample2d_nearest_grad([2, 2]),
        ]
    };
    set_num_threads(1);
    let one: Vec<Vec<u32>> = run().iter().map(bits).collect();
    set_num_threads(2);
    let two: Vec<Vec<u32>> = run().iter().map(bits).collect();
    for (i, (a, b)) in one.iter().zip(&two).enumerate() {
        assert!(a == b, "kernel {i}: 2 threads differ from 1 thread");
    }
}
