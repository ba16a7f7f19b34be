//! `kensho::explain`: saliency and integrated gradients against closed forms, finite
//! differences and the completeness property, occlusion against models that read one pixel, and
//! their errors.

use kensho::explain::{integrated_gradients, occlusion, saliency, Target};
use kensho::prelude::*;

fn built(model: Sequential) -> Sequential {
    let mut model = model;
    model.build_model().unwrap();
    model
}

fn linear() -> Sequential {
    built(Sequential::new().add(Input::new(&[3])).add(Dense::new(2).with_name("dense")))
}

fn kernel(model: &Model) -> Vec<f32> {
    model.layer("dense").unwrap().params()[0].value.to_vec()
}

fn sample(rows: usize, cols: usize, seed: u64) -> Tensor {
    Tensor::rand_uniform(&[rows, cols], -1.0, 1.0, &mut kensho::core::seeded_rng(seed))
}

#[test]
fn saliency_of_a_linear_model_is_the_kernel_column() {
    let model = linear();
    let x = sample(4, 3, 1);
    let w = kernel(&model);
    for k in 0..2 {
        let grad = saliency(&model, &x, Target::Class(k)).unwrap();
        assert_eq!(grad.shape(), &[4, 3]);
        let grad = grad.to_vec();
        for r in 0..4 {
            for i in 0..3 {
                assert!((grad[r * 3 + i] - w[i * 2 + k]).abs() < 1e-6, "row {r} input {i} class {k}");
            }
        }
    }
}

#[test]
fn saliency_of_tanh_layers_matches_finite_differences_of_predict() {
    let model = built(
        Sequential::new()
            .add(Input::new(&[4]))
            .add(Dense::new(5).activation(Activation::Tanh))
            .add(Dense::new(3).activation(Activation::Tanh)),
    );
    let x = sample(3, 4, 2);
    let grad = saliency(&model, &x, Target::Class(2)).unwrap().to_vec();
    let eps = 1e-2;
    let xs = x.to_vec();
    for j in 0..xs.len() {
        let shifted = |d: f32| {
            let mut v = xs.clone();
            v[j] += d;
            Tensor::from_vec(v, &[3, 4]).unwrap()
        };
        let row = j / 4;
        let up = model.predict(&shifted(eps)).unwrap().to_vec()[row * 3 + 2] as f64;
        let down = model.predict(&shifted(-eps)).unwrap().to_vec()[row * 3 + 2] as f64;
        let numeric = (up - down) / (2.0 * eps as f64);
        assert!((grad[j] as f64 - numeric).abs() < 1e-3 + 1e-2 * numeric.abs(), "value {j}: {} vs {numeric}", grad[j]);
    }
}

#[test]
fn predicted_target_follows_each_rows_argmax() {
    let model = linear();
    let x = sample(6, 3, 3);
    let y = model.predict(&x).unwrap().to_vec();
    let predicted = saliency(&model, &x, Target::Predicted).unwrap().to_vec();
    let by_class: Vec<Vec<f32>> = (0..2).map(|k| saliency(&model, &x, Target::Class(k)).unwrap().to_vec()).collect();
    for r in 0..6 {
        let k = usize::from(y[r * 2 + 1] > y[r * 2]);
        assert_eq!(predicted[r * 3..r * 3 + 3], by_class[k][r * 3..r * 3 + 3], "row {r}");
    }
}

#[test]
fn integrated_gradients_of_a_linear_model_are_the_difference_times_the_weights() {
    let model = linear();
    let x = sample(4, 3, 4);
    let baseline = sample(1, 3, 5).reshape(&[3]).unwrap();
    let w = kernel(&model);
    let ig = integrated_gradients(&model, &x, Some(&baseline), 3, Target::Class(1)).unwrap().to_vec();
    let (xs, bs) = (x.to_vec(), baseline.to_vec());
    for r in 0..4 {
        for i in 0..3 {
            let expected = (xs[r * 3 + i] - bs[i]) * w[i * 2 + 1];
            assert!((ig[r * 3 + i] - expected).abs() < 1e-6, "row {r} input {i}: {} vs {expected}", ig[r * 3 + i]);
        }
    }
}

#[test]
fn integrated_gradients_are_complete_on_a_trained_relu_softmax_network() {
    let mut rng = kensho::core::seeded_rng(7);
    let x = Tensor::rand_uniform(&[60, 4], -1.0, 1.0, &mut rng);
    let xs = x.to_vec();
    // Three classes by the sign pattern of two input sums.
    let labels: Vec<f32> = (0..60)
        .map(|r| {
            if xs[r * 4] + xs[r * 4 + 1] > 0.3 {
                0.0
            } else if xs[r * 4 + 2] > 0.0 {
                1.0
            } else {
                2.0
            }
        })
        .collect();
    let y = Tensor::from_vec(labels, &[60]).unwrap();
    let mut model = Sequential::new()
        .seed(3)
        .add(Input::new(&[4]))
        .add(Dense::new(16).activation(Activation::Relu))
        .add(Dense::new(3).activation(Activation::Softmax));
    model.compile(Adam::new(0.02), losses::SparseCategoricalCrossentropy::new(), vec![]).unwrap();
    model.fit(&x, &y, FitOptions { epochs: 60, batch_size: 20, verbose: 0, ..Default::default() }).unwrap();

    let rows = x.slice_axis(0, 0, 10);
    let baseline = Tensor::zeros(&[10, 4]);
    let at_x = model.predict(&rows).unwrap().to_vec();
    let at_base = model.predict(&baseline).unwrap().to_vec();
    let mut worst = 0.0f32;
    for k in 0..3 {
        let ig = integrated_gradients(&model, &rows, None, 200, Target::Class(k)).unwrap().to_vec();
        for r in 0..10 {
            let sum: f32 = ig[r * 4..r * 4 + 4].iter().sum();
            let change = at_x[r * 3 + k] - at_base[r * 3 + k];
            let error = (sum - change).abs() / change.abs().max(1e-2);
            worst = worst.max(error);
            assert!(error < 0.01, "class {k} row {r}: attributions add to {sum}, F(x) - F(0) = {change}");
        }
    }
    eprintln!("worst relative completeness error: {worst}");
}

#[test]
fn errors_name_the_argument() {
    let model = linear();
    let x = sample(2, 3, 6);
    let err = saliency(&model, &sample(2, 4, 6), Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("saliency") && err.contains("[2, 4]"), "{err}");
    let err = saliency(&model, &x, Target::Class(2)).unwrap_err().to_string();
    assert!(err.contains("Class") && err.contains('2'), "{err}");
    let err = integrated_gradients(&model, &x, None, 0, Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("steps"), "{err}");
    let err =
        integrated_gradients(&model, &x, Some(&Tensor::zeros(&[4])), 8, Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("baseline") && err.contains("[4]"), "{err}");
    let err = integrated_gradients(&model, &x, None, 8, Target::Class(5)).unwrap_err().to_string();
    assert!(err.contains("Class") && err.contains('5'), "{err}");
    let unbuilt = Sequential::new().add(Dense::new(2));
    assert!(saliency(&unbuilt, &x, Target::Predicted).is_err());
}

#[test]
fn models_with_several_inputs_or_outputs_are_refused() {
    let input = Input::new(&[3]);
    let a = Dense::new(2).on(&input).unwrap();
    let b = Dense::new(1).on(&input).unwrap();
    let model = Model::new(&[&input], &[&a, &b]).unwrap();
    let err = saliency(&model, &sample(2, 3, 8), Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("outputs") && err.contains('2'), "{err}");

    let (p, q) = (Input::new(&[3]), Input::new(&[3]));
    let joined = Add::new().on_all(&[&p, &q]).unwrap();
    let model = Model::new(&[&p, &q], &[&joined]).unwrap();
    let err = integrated_gradients(&model, &sample(2, 3, 8), None, 4, Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("inputs") && err.contains('2'), "{err}");
}

/// `Flatten` + `Dense(2)` on 3x3x2 images whose output 0 is pixel (1, 1), channel 0, alone.
fn one_pixel_model(h: usize, w: usize) -> Sequential {
    let mut model =
        built(Sequential::new().add(Input::new(&[h, w, 2])).add(Flatten::new()).add(Dense::new(2).with_name("dense")));
    let mut kernel = vec![0.0; h * w * 2 * 2];
    kernel[(w + 1) * 2 * 2] = 1.0; // row (1, 1, channel 0), column 0
    model.set_weights(&[Tensor::from_vec(kernel, &[h * w * 2, 2]).unwrap(), Tensor::zeros(&[2])]).unwrap();
    model
}

#[test]
fn occlusion_gives_the_drop_to_the_pixels_of_the_windows_that_cover_the_one_pixel_read() {
    let model = one_pixel_model(4, 4);
    let x = Tensor::rand_uniform(&[2, 4, 4, 2], 1.0, 2.0, &mut kensho::core::seeded_rng(9));
    let xs = x.to_vec();
    // 2x2 windows at stride 2: only the top-left window covers pixel (1, 1).
    let map = occlusion(&model, &x, (2, 2), (2, 2), 0.5, Target::Class(0)).unwrap();
    assert_eq!(map.shape(), &[2, 4, 4, 2]);
    let map = map.to_vec();
    for r in 0..2 {
        let drop = xs[((r * 4 + 1) * 4 + 1) * 2] - 0.5;
        for p in 0..32 {
            let (i, j) = (p / 2 / 4, p / 2 % 4);
            let expected = if i < 2 && j < 2 { drop } else { 0.0 };
            assert!((map[r * 32 + p] - expected).abs() < 1e-6, "row {r} pixel ({i}, {j}): {}", map[r * 32 + p]);
        }
    }
}

#[test]
fn occlusion_averages_over_the_covering_windows_and_covers_the_far_edge() {
    // 3x3 images, 2x2 windows at stride 2: starts 0 and the flush start 1 on each axis, so all
    // four windows cover pixel (1, 1) and every pixel's mean drop is the same.
    let model = one_pixel_model(3, 3);
    let x = Tensor::rand_uniform(&[1, 3, 3, 2], 1.0, 2.0, &mut kensho::core::seeded_rng(10));
    let drop = x.to_vec()[(3 + 1) * 2];
    let map = occlusion(&model, &x, (2, 2), (2, 2), 0.0, Target::Class(0)).unwrap().to_vec();
    for (p, v) in map.iter().enumerate() {
        assert!((v - drop).abs() < 1e-6, "value {p}: {v} vs {drop}");
    }
    // Output 1 reads nothing: occluding changes nothing.
    let map = occlusion(&model, &x, (1, 1), (1, 1), 0.0, Target::Class(1)).unwrap().to_vec();
    assert!(map.iter().all(|&v| v == 0.0), "{map:?}");
}

#[test]
fn occlusion_errors_name_the_argument() {
    let model = one_pixel_model(3, 3);
    let x = Tensor::ones(&[1, 3, 3, 2]);
    let err = occlusion(&model, &x, (4, 1), (1, 1), 0.0, Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("window") && err.contains("(4, 1)"), "{err}");
    let err = occlusion(&model, &x, (2, 2), (0, 1), 0.0, Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("stride"), "{err}");
    let err = occlusion(&model, &x, (2, 2), (1, 1), f32::NAN, Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("fill"), "{err}");
    let err = occlusion(&linear(), &sample(2, 3, 1), (1, 1), (1, 1), 0.0, Target::Class(0)).unwrap_err().to_string();
    assert!(err.contains("height, width, channels"), "{err}");
}

#[test]
fn occlusion_with_more_windows_than_one_pass_holds_matches_a_single_pixel() {
    // 22 x 25 one-pixel windows: 550 occluded copies, more than one predict call takes.
    let (h, w) = (22, 25);
    let model = one_pixel_model(h, w);
    let x = Tensor::rand_uniform(&[1, h, w, 2], 1.0, 2.0, &mut kensho::core::seeded_rng(11));
    let drop = x.to_vec()[(w + 1) * 2] + 1.0;
    let map = occlusion(&model, &x, (1, 1), (1, 1), -1.0, Target::Predicted).unwrap().to_vec();
    for (p, v) in map.iter().enumerate() {
        let expected = if p / 2 == w + 1 { drop } else { 0.0 };
        assert!((v - expected).abs() < 1e-6, "value {p}: {v} vs {expected}");
    }
}

#[test]
fn saliency_runs_in_inference_mode_so_dropout_is_off() {
    let model =
        built(Sequential::new().add(Input::new(&[3])).add(Dropout::new(0.5)).add(Dense::new(2).with_name("dense")));
    let w = kernel(&model);
    let grad = saliency(&model, &sample(8, 3, 12), Target::Class(0)).unwrap().to_vec();
    for (p, g) in grad.iter().enumerate() {
        assert!((g - w[(p % 3) * 2]).abs() < 1e-6, "value {p}: {g}, a dropped or rescaled input");
    }
}
