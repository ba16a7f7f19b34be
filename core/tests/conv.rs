//! The convolution kernels against plain definitions: the forward pass and the transposed
//! convolution against direct loops written here (with Keras' output-size and padding rules
//! restated independently), the gradients against the adjoint identity
//! `<conv(x, k), dy> = <x, input_grad(dy, k)> = <k, kernel_grad(x, dy)>`, conv1d against conv2d on
//! height 1, bit-identical results on 1, 2 and 3 threads, and the shape errors.

use kensho_core::{Conv1dOptions, Conv2dOptions, Error, Padding, Rng, Tensor};
use rand::Rng as _;
use std::sync::{Mutex, MutexGuard};

/// The thread count is process-wide: the test that changes it holds this lock, the others
/// do not care.
static LOCK: Mutex<()> = Mutex::new(());

fn lock() -> MutexGuard<'static, ()> {
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

fn tensor(shape: &[usize], rng: &mut Rng) -> Tensor {
    Tensor::rand_uniform(shape, -1.0, 1.0, rng)
}

/// `Σ a ⊙ b` in f64.
fn dot(a: &Tensor, b: &Tensor) -> f64 {
    assert_eq!(a.shape(), b.shape());
    a.iter().zip(b.iter()).map(|(x, y)| f64::from(x) * f64::from(y)).sum()
}

/// The output length and the padding before the input of a convolution along one axis.
fn conv_axis(input: usize, k: usize, s: usize, d: usize, padding: Padding) -> (usize, usize) {
    let span = (k - 1) * d + 1;
    match padding {
        Padding::Valid => (if input >= span { (input - span) / s + 1 } else { 0 }, 0),
        Padding::Same => {
            let out = input.div_ceil(s);
            let total = ((out - 1) * s + span).saturating_sub(input);
            (out, total / 2)
        }
    }
}

/// A convolution's configuration, drawn at random.
#[derive(Clone, Copy, Debug)]
struct Case {
    x: [usize; 4],
    k: [usize; 4],
    opts: Conv2dOptions,
}

fn random_case(rng: &mut Rng) -> Case {
    let groups = [1, 1, 2, 3][rng.random_range(0..4)];
    let c = groups * rng.random_range(1..4);
    let depthwise = rng.random_range(0..4) == 0;
    let groups = if depthwise { c } else { groups };
    let f = groups * rng.random_range(1..4);
    let x = [rng.random_range(1..4), rng.random_range(1..10), rng.random_range(1..10), c];
    let k = [rng.random_range(1..4), rng.random_range(1..4), c / groups, f];
    let padding = if rng.random_range(0..2) == 0 { Padding::Valid } else { Padding::Same };
    let strides = [rng.random_range(1..4), rng.random_range(1..4)];
    let dilation = [rng.random_range(1..3), rng.random_range(1..3)];
    Case { x, k, opts: Conv2dOptions { strides, padding, dilation, groups } }
}

/// The direct convolution: seven plain loops over the definition.
fn direct_conv(x: &Tensor, k: &Tensor, opts: &Conv2dOptions) -> Tensor {
    let (xs, ks) = (x.shape(), k.shape());
    let ((oh, ph), (ow, pw)) = (
        conv_axis(xs[1], ks[0], opts.strides[0], opts.dilation[0], opts.padding),
        conv_axis(xs[2], ks[1], opts.strides[1], opts.dilation[1], opts.padding),
    );
    let (cg, fg) = (ks[2], ks[3] / opts.groups);
    let (xv, kv) = (x.to_vec(), k.to_vec());
    let mut y = vec![0.0f64; xs[0] * oh * ow * ks[3]];
    for n in 0..xs[0] {
        for oy in 0..oh {
            for ox in 0..ow {
                for f in 0..ks[3] {
                    let mut acc = 0.0f64;
                    for i in 0..ks[0] {
                        for j in 0..ks[1] {
                            for c in 0..cg {
                                let iy = (oy * opts.strides[0] + i * opts.dilation[0]) as isize - ph as isize;
                                let ix = (ox * opts.strides[1] + j * opts.dilation[1]) as isize - pw as isize;
                                if iy < 0 || ix < 0 || iy >= xs[1] as isize || ix >= xs[2] as isize {
                                    continue;
                                }
                                let ch = f / fg * cg + c;
                                let xi = ((n * xs[1] + iy as usize) * xs[2] + ix as usize) * xs[3] + ch;
                                let ki = ((i * ks[1] + j) * cg + c) * ks[3] + f;
                                acc += f64::from(xv[xi]) * f64::from(kv[ki]);
                            }
                        }
                    }
                    y[((n * oh + oy) * ow + ox) * ks[3] + f] = acc;
                }
            }
        }
    }
    Tensor::from_vec(y.into_iter().map(|v| v as f32).collect(), &[xs[0], oh, ow, ks[3]]).unwrap()
}

/// Keras' transposed-convolution output length and the crop before it along one axis, restated
/// from Keras' JAX backend (`_convert_conv_transpose_padding_args_from_keras_to_jax`): the
/// stride-dilated input is padded by `left` and `right` and convolved with the flipped kernel.
fn transpose_axis(input: usize, k: usize, s: usize, d: usize, padding: Padding, op: Option<usize>) -> (usize, usize) {
    let k = (k - 1) * d + 1;
    let (left, right) = match padding {
        Padding::Valid => (k - 1, k - 1 + op.unwrap_or(k.max(s) - k)),
        Padding::Same => {
            let pad_len = match op {
                None => s + k - 2,
                Some(op) => k + k % 2 - 2 + op,
            };
            let left = (pad_len / 2 + pad_len % 2).min(k - 1);
            (left, pad_len - left)
        }
    };
    ((input - 1) * s + 1 + left + right + 1 - k, k - 1 - left)
}

/// The direct transposed convolution: every input value scattered through every tap.
fn direct_transpose(x: &Tensor, k: &Tensor, opts: &Conv2dOptions, op: Option<[usize; 2]>) -> Tensor {
    let (xs, ks) = (x.shape(), k.shape());
    let axis =
        |a: usize| transpose_axis(xs[1 + a], ks[a], opts.strides[a], opts.dilation[a], opts.padding, op.map(|p| p[a]));
    let ((oh, ch), (ow, cw)) = (axis(0), axis(1));
    let (fg, cg, filters) = (ks[2], xs[3] / opts.groups, ks[2] * opts.groups);
    let (xv, kv) = (x.to_vec(), k.to_vec());
    let mut y = vec![0.0f64; xs[0] * oh * ow * filters];
    for n in 0..xs[0] {
        for iy in 0..xs[1] {
            for ix in 0..xs[2] {
                for c in 0..xs[3] {
                    for i in 0..ks[0] {
                        for j in 0..ks[1] {
                            let oy = (iy * opts.strides[0] + i * opts.dilation[0]) as isize - ch as isize;
                            let ox = (ix * opts.strides[1] + j * opts.dilation[1]) as isize - cw as isize;
                            if oy < 0 || ox < 0 || oy >= oh as isize || ox >= ow as isize {
                                continue;
                            }
                            for fl in 0..fg {
                                let f = c / cg * fg + fl;
                                let v = xv[((n * xs[1] + iy) * xs[2] + ix) * xs[3] + c];
                                let w = kv[((i * ks[1] + j) * fg + fl) * ks[3] + c];
                                y[((n * oh + oy as usize) * ow + ox as usize) * filters + f] +=
                                    f64::from(v) * f64::from(w);
                            }
                        }
                    }
                }
            }
        }
    }
    Tensor::from_vec(y.into_iter().map(|v| v as f32).collect(), &[xs[0], oh, ow, filters]).unwrap()
}

#[test]
fn conv2d_matches_the_direct_convolution() {
    let mut rng = kensho_core::seeded_rng(1);
    let (mut checked, mut grouped, mut depthwise) = (0, 0, 0);
    for _ in 0..300 {
        let case = random_case(&mut rng);
        let (x, k) = (tensor(&case.x, &mut rng), tensor(&case.k, &mut rng));
        let want = direct_conv(&x, &k, &case.opts);
        match x.try_conv2d(&k, &case.opts) {
            Ok(y) => {
                assert!(y.allclose(&want, 1e-4, 1e-5), "{case:?}");
                checked += 1;
                grouped += usize::from(case.opts.groups > 1);
                depthwise += usize::from(case.opts.groups == case.x[3] && case.x[3] > 1);
            }
            Err(e) => assert!(want.is_empty(), "{case:?}: {e}"),
        }
    }
    assert!(checked > 200 && grouped > 50 && depthwise > 20, "{checked} {grouped} {depthwise}");
}

#[test]
fn conv2d_reads_transposed_inputs_and_kernels() {
    let mut rng = kensho_core::seeded_rng(2);
    let x = tensor(&[2, 5, 6, 3], &mut rng);
    let k = tensor(&[3, 2, 3, 4], &mut rng);
    let opts = Conv2dOptions::default().padding(Padding::Same).strides([2, 1]);
    let (xt, kt) =
        (x.permute(&[0, 2, 1, 3]).to_contiguous().permute(&[0, 2, 1, 3]), k.transpose().to_contiguous().transpose());
    assert!(!xt.is_contiguous() && !kt.is_contiguous());
    assert_eq!(xt.conv2d(&kt, &opts), x.conv2d(&k, &opts));
}

#[test]
fn one_by_one_convolutions_skip_the_lowering_and_agree() {
    let mut rng = kensho_core::seeded_rng(3);
    for groups in [1, 2] {
        let (x, k) = (tensor(&[3, 4, 5, 6], &mut rng), tensor(&[1, 1, 6 / groups, 4], &mut rng));
        let opts = Conv2dOptions::default().groups(groups);
        assert!(x.conv2d(&k, &opts).allclose(&direct_conv(&x, &k, &opts), 1e-4, 1e-5));
        adjoint_identity(&x, &k, &opts, &mut rng);
    }
}

/// `<conv(x, k), dy> = <x, input_grad(dy)> = <k, kernel_grad(x, dy)>`.
fn adjoint_identity(x: &Tensor, k: &Tensor, opts: &Conv2dOptions, rng: &mut Rng) {
    let y = x.conv2d(k, opts);
    let dy = tensor(y.shape(), rng);
    let dx = dy.conv2d_input_grad(k, x.shape(), opts);
    let dk = x.conv2d_kernel_grad(&dy, k.shape(), opts);
    let (lhs, via_x, via_k) = (dot(&y, &dy), dot(x, &dx), dot(k, &dk));
    let tol = 1e-4 * (1.0 + lhs.abs());
    assert!((lhs - via_x).abs() < tol && (lhs - via_k).abs() < tol, "{opts:?}: {lhs} {via_x} {via_k}");
}

#[test]
fn conv2d_gradients_are_the_adjoints() {
    let mut rng = kensho_core::seeded_rng(4);
    let mut checked = 0;
    for _ in 0..200 {
        let case = random_case(&mut rng);
        let (x, k) = (tensor(&case.x, &mut rng), tensor(&case.k, &mut rng));
        if x.try_conv2d(&k, &case.opts).is_ok() {
            adjoint_identity(&x, &k, &case.opts, &mut rng);
            checked += 1;
        }
    }
    assert!(checked > 130, "{checked}");
}

#[test]
fn conv2d_transpose_matches_the_direct_definition_and_its_gradients_are_the_adjoints() {
    let mut rng = kensho_core::seeded_rng(5);
    for _ in 0..200 {
        let mut case = random_case(&mut rng);
        // x [N, H, W, C] with kernel [kh, kw, filters / groups, C].
        let (c, groups) = (case.k[3], case.opts.groups);
        case.x[3] = c;
        let k_shape = [case.k[0], case.k[1], rng.random_range(1..3), c];
        let op = match rng.random_range(0..3) {
            0 => None,
            _ => Some([rng.random_range(0..case.opts.strides[0]), rng.random_range(0..case.opts.strides[1])]),
        };
        let (x, k) = (tensor(&case.x, &mut rng), tensor(&k_shape, &mut rng));
        let y = x.conv2d_transpose(&k, &case.opts, op);
        let want = direct_transpose(&x, &k, &case.opts, op);
        assert!(y.allclose(&want, 1e-4, 1e-5), "{case:?} {k_shape:?} {op:?} groups {groups}");
        let dy = tensor(y.shape(), &mut rng);
        let dx = dy.conv2d_transpose_input_grad(&k, x.shape(), &case.opts, op);
        let dk = x.conv2d_transpose_kernel_grad(&dy, k.shape(), &case.opts, op);
        let (lhs, via_x, via_k) = (dot(&y, &dy), dot(&x, &dx), dot(&k, &dk));
        let tol = 1e-4 * (1.0 + lhs.abs());
        assert!((lhs - via_x).abs() < tol && (lhs - via_k).abs() < tol, "{case:?}: {lhs} {via_x} {via_k}");
    }
}

#[test]
fn conv2d_transpose_output_sizes_follow_keras() {
    let x = Tensor::zeros(&[1, 7, 7, 2]);
    let shape = |k: usize, s: usize, padding, op| {
        let opts = Conv2dOptions::default().strides([s, s]).padding(padding);
        x.conv2d_transpose(&Tensor::zeros(&[k, k, 3, 2]), &opts, op).shape().to_vec()
    };
    assert_eq!(shape(3, 2, Padding::Valid, None), vec![1, 15, 15, 3]);
    assert_eq!(shape(3, 2, Padding::Same, None), vec![1, 14, 14, 3]);
    assert_eq!(shape(1, 3, Padding::Valid, None), vec![1, 21, 21, 3]); // (7 - 1) * 3 + max(1, 3)
    assert_eq!(shape(3, 2, Padding::Valid, Some([1, 1])), vec![1, 16, 16, 3]);
    assert_eq!(shape(3, 2, Padding::Same, Some([0, 0])), vec![1, 13, 13, 3]);
    assert_eq!(shape(4, 2, Padding::Same, Some([1, 1])), vec![1, 13, 13, 3]);
}

#[test]
fn conv1d_equals_conv2d_on_height_one() {
    let mut rng = kensho_core::seeded_rng(6);
    let (x, k) = (tensor(&[3, 11, 4], &mut rng), tensor(&[3, 2, 6], &mut rng));
    for padding in [Padding::Valid, Padding::Same] {
        let opts = Conv1dOptions { strides: 2, padding, dilation: 2, groups: 2 };
        let y = x.conv1d(&k, &opts);
        let y2 = x.reshape_to(&[3, 1, 11, 4]).conv2d(&k.reshape_to(&[1, 3, 2, 6]), &opts.to_2d());
        assert_eq!(y.shape(), &[3, y2.shape()[2], 6]);
        assert_eq!(y.to_vec(), y2.to_vec());
        let kt = tensor(&[3, 5, 4], &mut rng);
        let t = x.conv1d_transpose(&kt, &opts, Some(1));
        let t2 =
            x.reshape_to(&[3, 1, 11, 4]).conv2d_transpose(&kt.reshape_to(&[1, 3, 5, 4]), &opts.to_2d(), Some([0, 1]));
        assert_eq!(t.to_vec(), t2.to_vec());
        assert_eq!(t.shape(), &[3, t2.shape()[2], 10]);
    }
}

/// The shape and the bit patterns of the values.
fn bits(t: &Tensor) -> (Vec<usize>, Vec<u32>) {
    (t.shape().to_vec(), t.iter().map(f32::to_bits).collect())
}

#[test]
fn results_are_bit_identical_on_any_thread_count() {
    let _guard = lock();
    let mut rng = kensho_core::seeded_rng(7);
    let cases = [
        // More pieces of the column matrix (16) than partial sums of the kernel gradient (8).
        ([48, 13, 13, 32], [3, 3, 32, 16], Conv2dOptions::default()),
        ([64, 28, 28, 1], [3, 3, 1, 8], Conv2dOptions::default()),
        ([5, 17, 15, 8], [3, 3, 4, 8], Conv2dOptions::default().groups(2).strides([2, 2]).padding(Padding::Same)),
        ([4, 16, 16, 16], [3, 3, 1, 16], Conv2dOptions::default().groups(16).dilation([2, 2])),
        ([8, 20, 20, 32], [1, 1, 32, 32], Conv2dOptions::default()),
    ];
    for (xs, ks, opts) in cases {
        let (x, k) = (tensor(&xs, &mut rng), tensor(&ks, &mut rng));
        let dy = tensor(x.conv2d(&k, &opts).shape(), &mut rng);
        let run = || {
            let t = dy.conv2d_transpose(&k, &opts, None);
            [
                bits(&x.conv2d(&k, &opts)),
                bits(&dy.conv2d_input_grad(&k, &xs, &opts)),
                bits(&x.conv2d_kernel_grad(&dy, &ks, &opts)),
                bits(&t),
            ]
        };
        kensho_core::set_num_threads(1);
        let want = run();
        for threads in [2, 3] {
            kensho_core::set_num_threads(threads);
            assert!(run() == want, "{xs:?} {ks:?} {opts:?}: {threads} threads differ from 1");
        }
    }
}

#[test]
fn shape_errors_name_the_op_and_both_shapes() {
    let x = Tensor::zeros(&[2, 5, 5, 4]);
    let err = |k: &[usize], opts: Conv2dOptions| x.try_conv2d(&Tensor::zeros(k), &opts).unwrap_err();
    for (k, opts) in [
        (vec![3, 3, 3, 8], Conv2dOptions::default()),
        (vec![3, 3, 2, 8], Conv2dOptions::default().groups(3)),
        (vec![3, 3, 2, 7], Conv2dOptions::default().groups(2)),
        (vec![6, 3, 4, 8], Conv2dOptions::default()),
        (vec![3, 3, 4, 8], Conv2dOptions::default().dilation([3, 1])),
        (vec![3, 4, 8], Conv2dOptions::default()),
    ] {
        let e = err(&k, opts);
        let msg = e.to_string();
        assert!(matches!(e, Error::Shape { .. }), "{msg}");
        assert!(msg.contains("conv2d") && msg.contains("[2, 5, 5, 4]") && msg.contains(&format!("{k:?}")), "{msg}");
    }
    let e = err(&[3, 3, 4, 8], Conv2dOptions::default().strides([0, 1]));
    assert!(matches!(e, Error::InvalidArgument { .. }) && e.to_string().contains("strides"), "{e}");
    // The same convolution with Padding::Same is fine.
    assert!(x.try_conv2d(&Tensor::zeros(&[6, 3, 4, 8]), &Conv2dOptions::default().padding(Padding::Same)).is_ok());

    let p = std::panic::catch_unwind(|| x.conv2d(&Tensor::zeros(&[3, 3, 3, 8]), &Conv2dOptions::default()));
    let msg = p.unwrap_err().downcast_ref::<String>().cloned().unwrap();
    assert!(msg.contains("conv2d") && msg.contains("[2, 5, 5, 4]") && msg.contains("[3, 3, 3, 8]"), "{msg}");

    let k = Tensor::zeros(&[3, 3, 4, 8]);
    let p =
        std::panic::catch_unwind(|| Tensor::zeros(&[2, 3, 3, 7]).conv2d_input_grad(&k, x.shape(), &Default::default()));
    let msg = p.unwrap_err().downcast_ref::<String>().cloned().unwrap();
    assert!(msg.contains("conv2d_input_grad") && msg.contains("[2, 3, 3, 8]") && msg.contains("[2, 3, 3, 7]"), "{msg}");

    let t = x.try_conv2d_transpose(&Tensor::zeros(&[3, 3, 2, 3]), &Default::default(), None).unwrap_err();
    assert!(t.to_string().contains("conv2d_transpose") && t.to_string().contains("[3, 3, 2, 3]"), "{t}");
    let opts = Conv2dOptions::default().strides([2, 2]);
    let t = x.try_conv2d_transpose(&Tensor::zeros(&[3, 3, 2, 4]), &opts, Some([2, 0])).unwrap_err();
    assert!(matches!(t, Error::InvalidArgument { .. }) && t.to_string().contains("output_padding"), "{t}");

    let e = Tensor::zeros(&[2, 5]).try_conv1d(&Tensor::zeros(&[3, 5, 2]), &Conv1dOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("conv1d") && e.to_string().contains("[2, 5]") && e.to_string().contains("[3, 5, 2]")
    );
    let e = Tensor::zeros(&[2, 5, 3]).try_conv1d(&Tensor::zeros(&[3, 2, 2]), &Conv1dOptions::default()).unwrap_err();
    assert!(
        e.to_string().contains("conv1d") && e.to_string().contains("[2, 5, 3]") && e.to_string().contains("[3, 2, 2]"),
        "{e}"
    );
}
