//! The image preprocessing layers and SpatialDropout2D: the conformance harness (which also
//! checks that gradients pass through in training), literal values, randomness from the
//! context's seed, the identity in inference, Keras configs and build errors.
//!
//! Expected images were worked out by hand from Keras 3's transforms (output pixel `(x, y)`
//! reads the input at the mapped point; pixel centres on integer coordinates).

use kensho_autograd::Tape;
use kensho_core::{seeded_rng, Tensor};
use kensho_layers::testing::check_layer;
use kensho_layers::{
    Ctx, Factor, FillMode, FlipMode, Interpolation, Layer, LayerConfig, RandomContrast, RandomFlip, RandomRotation,
    RandomTranslation, RandomZoom, Rescaling, Shape, SpatialDropout2d,
};
use rand::Rng as _;

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

fn built<L: Layer>(mut layer: L, shape: &[usize]) -> L {
    layer.set_name("pre");
    layer.build(&Shape::known(shape), &mut seeded_rng(0)).unwrap();
    layer
}

fn run(layer: &dyn Layer, x: &Tensor, training: bool, seed: u64) -> Tensor {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, training, seeded_rng(seed));
    layer.forward(tape.constant(x.clone()), &cx).value()
}

fn assert_close(got: &[f32], want: &[f32], tol: f32) {
    assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
    for (g, w) in got.iter().zip(want) {
        assert!((g - w).abs() <= tol * (1.0 + w.abs()), "{got:?} vs {want:?}");
    }
}

/// The geometric layers in every fill mode and both interpolations.
fn geometric_layers() -> Vec<Box<dyn Layer>> {
    let mut layers: Vec<Box<dyn Layer>> = Vec::new();
    for mode in [FillMode::Reflect, FillMode::Wrap, FillMode::Constant, FillMode::Nearest] {
        for interpolation in [Interpolation::Bilinear, Interpolation::Nearest] {
            layers
                .push(Box::new(RandomTranslation::new(0.3, (-0.2, 0.4)).fill_mode(mode).interpolation(interpolation)));
            layers
                .push(Box::new(RandomRotation::new(0.2).fill_mode(mode).interpolation(interpolation).fill_value(0.5)));
            layers.push(Box::new(
                RandomZoom::new(0.3).width_factor((-0.5, 0.2)).fill_mode(mode).interpolation(interpolation),
            ));
        }
    }
    layers
}

#[test]
fn every_layer_passes_check_layer() {
    check_layer(&mut Rescaling::new(0.5).offset(-1.0), &[4], 3, 0).unwrap();
    for mode in [FlipMode::Horizontal, FlipMode::Vertical, FlipMode::HorizontalAndVertical] {
        check_layer(&mut RandomFlip::new(mode), &[3, 4, 2], 4, 0).unwrap_or_else(|e| panic!("{mode:?}: {e}"));
    }
    for mut layer in geometric_layers() {
        let config = layer.config();
        check_layer(layer.as_mut(), &[4, 5, 2], 3, 0).unwrap_or_else(|e| panic!("{config:?}: {e}"));
    }
    check_layer(&mut RandomContrast::new(0.5).value_range(-10.0, 10.0), &[3, 4, 2], 3, 0).unwrap();
    check_layer(&mut SpatialDropout2d::new(0.5), &[3, 3, 4], 3, 0).unwrap();
}

#[test]
fn the_random_layers_are_the_identity_in_inference_and_change_images_in_training() {
    let x = Tensor::rand_uniform(&[4, 6, 6, 3], 0.0, 1.0, &mut seeded_rng(3));
    let mut layers = geometric_layers();
    layers.push(Box::new(RandomFlip::default()));
    layers.push(Box::new(RandomContrast::new(0.5).value_range(0.0, 1.0)));
    layers.push(Box::new(SpatialDropout2d::new(0.5)));
    for mut layer in layers {
        layer.build(&Shape::known(&[6, 6, 3]), &mut seeded_rng(0)).unwrap();
        assert_eq!(run(layer.as_ref(), &x, false, 1), x, "{}", layer.kind());
        let trained = run(layer.as_ref(), &x, true, 1);
        assert_ne!(trained, x, "{}", layer.kind());
        assert_eq!(trained, run(layer.as_ref(), &x, true, 1), "{}: the seed fixes the draw", layer.kind());
        assert_ne!(trained, run(layer.as_ref(), &x, true, 2), "{}: another seed, another draw", layer.kind());
    }
}

#[test]
fn rescaling_applies_in_training_and_inference() {
    let layer = built(Rescaling::new(1.0 / 255.0), &[3]);
    let x = t(&[0.0, 51.0, 255.0], &[1, 3]);
    for training in [false, true] {
        assert_close(&run(&layer, &x, training, 0).to_vec(), &[0.0, 0.2, 1.0], 1e-7);
    }
    let layer = built(Rescaling::new(1.0 / 127.5).offset(-1.0), &[3]);
    assert_close(&run(&layer, &x, false, 0).to_vec(), &[-1.0, -0.6, 1.0], 1e-6);
}

/// `[n, h, w, 1]` images whose pixel `(b, r, c)` holds `100 b + 10 r + c`.
fn numbered(n: usize, h: usize, w: usize) -> Tensor {
    Tensor::from_fn(&[n, h, w, 1], |i| (100 * i[0] + 10 * i[1] + i[2]) as f32)
}

#[test]
fn random_flip_flips_the_images_its_seed_says() {
    let (n, h, w) = (8, 2, 3);
    let x = numbered(n, h, w);
    for mode in [FlipMode::Horizontal, FlipMode::Vertical, FlipMode::HorizontalAndVertical] {
        let layer = built(RandomFlip::new(mode), &[h, w, 1]);
        let y = run(&layer, &x, true, 7);
        // The same draws: one coin per image and flip, horizontal first.
        let mut rng = seeded_rng(7);
        let (mut flipped, mut kept) = (0, 0);
        for b in 0..n {
            let flip_x = mode != FlipMode::Vertical && rng.random::<f32>() < 0.5;
            let flip_y = mode != FlipMode::Horizontal && rng.random::<f32>() < 0.5;
            if flip_x || flip_y {
                flipped += 1;
            } else {
                kept += 1;
            }
            for r in 0..h {
                for c in 0..w {
                    let (sr, sc) = (if flip_y { h - 1 - r } else { r }, if flip_x { w - 1 - c } else { c });
                    let got = y.get_flat((b * h + r) * w + c);
                    assert_eq!(got, (100 * b + 10 * sr + sc) as f32, "{mode:?} image {b} at ({r}, {c})");
                }
            }
        }
        assert!(flipped > 0 && kept > 0, "{mode:?}: the seed should flip some images and keep others");
    }
}

#[test]
fn random_translation_by_a_fixed_fraction_shifts_whole_pixels() {
    // width_factor (0.25, 0.25) on a width of 4: every image moves one pixel right.
    let x = t(&[1.0, 2.0, 3.0, 4.0], &[1, 1, 4, 1]);
    let shift = |mode| {
        let layer = built(RandomTranslation::new(0.0, (0.25, 0.25)).fill_mode(mode), &[1, 4, 1]);
        run(&layer, &x, true, 0).to_vec()
    };
    assert_eq!(shift(FillMode::Constant), [0.0, 1.0, 2.0, 3.0]);
    assert_eq!(shift(FillMode::Reflect), [1.0, 1.0, 2.0, 3.0]);
    assert_eq!(shift(FillMode::Wrap), [4.0, 1.0, 2.0, 3.0]);
    assert_eq!(shift(FillMode::Nearest), [1.0, 1.0, 2.0, 3.0]);
    // A fill value for the constant mode; a half-pixel shift interpolates.
    let layer =
        built(RandomTranslation::new(0.0, (0.125, 0.125)).fill_mode(FillMode::Constant).fill_value(9.0), &[1, 4, 1]);
    assert_close(&run(&layer, &x, true, 0).to_vec(), &[5.0, 1.5, 2.5, 3.5], 1e-6);
}

#[test]
fn random_rotation_by_a_quarter_turn_is_rot90() {
    let x = Tensor::from_fn(&[1, 3, 3, 1], |i| (3 * i[1] + i[2]) as f32);
    let layer = built(RandomRotation::new((0.25, 0.25)), &[3, 3, 1]);
    // Counter-clockwise, as numpy.rot90([[0,1,2],[3,4,5],[6,7,8]]).
    assert_close(&run(&layer, &x, true, 0).to_vec(), &[2.0, 5.0, 8.0, 1.0, 4.0, 7.0, 0.0, 3.0, 6.0], 1e-5);
}

#[test]
fn random_zoom_out_by_two_reads_every_other_pixel() {
    // height_factor 1.0 (zoom 2, both axes): on a 1 x 5 row, output x reads input 2x - 2.
    let x = t(&[1.0, 2.0, 3.0, 4.0, 5.0], &[1, 1, 5, 1]);
    let zoom = |mode| {
        let layer = built(RandomZoom::new((1.0, 1.0)).fill_mode(mode), &[1, 5, 1]);
        run(&layer, &x, true, 0).to_vec()
    };
    assert_eq!(zoom(FillMode::Constant), [0.0, 1.0, 3.0, 5.0, 0.0]);
    assert_eq!(zoom(FillMode::Reflect), [2.0, 1.0, 3.0, 5.0, 4.0]);
}

#[test]
fn random_contrast_keeps_each_channel_mean_and_stays_in_its_range() {
    let x = Tensor::rand_uniform(&[5, 4, 6, 3], 100.0, 150.0, &mut seeded_rng(4));
    let layer = built(RandomContrast::new(0.5), &[4, 6, 3]);
    let y = run(&layer, &x, true, 9);
    assert_ne!(y, x);
    let (mean_x, mean_y) = (x.mean_axes(&[1, 2], false), y.mean_axes(&[1, 2], false));
    assert!(mean_y.allclose(&mean_x, 1e-5, 1e-3), "{mean_y:?} vs {mean_x:?}");
    // Each image's deviations are scaled by one factor in [0.5, 1.5].
    let (dx, dy) = (x.sub(&x.mean_axes(&[1, 2], true)), y.sub(&y.mean_axes(&[1, 2], true)));
    for b in 0..5 {
        let (px, py) = (dx.slice_axis(0, b, b + 1).to_vec(), dy.slice_axis(0, b, b + 1).to_vec());
        let k = py[0] / px[0];
        assert!((0.5..=1.5).contains(&k), "factor {k}");
        assert_close(&py, &px.iter().map(|v| v * k).collect::<Vec<_>>(), 1e-3);
    }
    // Outputs are clipped to value_range.
    let bright = built(RandomContrast::new((1.0, 1.0)).value_range(0.0, 1.0), &[1, 2, 1]);
    let y = run(&bright, &t(&[0.0, 1.0, 0.1, 0.9], &[2, 1, 2, 1]), true, 0);
    assert!(y.to_vec().iter().all(|v| (0.0..=1.0).contains(v)), "{y:?}");
}

#[test]
fn spatial_dropout_drops_whole_channels() {
    let x = Tensor::rand_uniform(&[6, 3, 3, 8], 0.5, 1.0, &mut seeded_rng(5));
    let y = run(&built(SpatialDropout2d::new(0.5), &[3, 3, 8]), &x, true, 3);
    let (mut dropped, mut kept) = (0, 0);
    for b in 0..6 {
        for c in 0..8 {
            let (xs, ys): (Vec<f32>, Vec<f32>) =
                (0..9).map(|p| (x.get_flat((b * 9 + p) * 8 + c), y.get_flat((b * 9 + p) * 8 + c))).unzip();
            if ys.iter().all(|&v| v == 0.0) {
                dropped += 1;
            } else {
                kept += 1;
                assert_close(&ys, &xs.iter().map(|v| v * 2.0).collect::<Vec<_>>(), 1e-6);
            }
        }
    }
    assert!(dropped > 0 && kept > 0, "{dropped} dropped, {kept} kept");
}

#[test]
fn keras_configs_parse_and_round_trip() {
    let configs = [
        r#"{"class_name": "Rescaling", "config": {"name": "r", "scale": 0.00392156862}}"#,
        r#"{"class_name": "RandomFlip", "config": {"name": "f", "mode": "horizontal"}}"#,
        r#"{"class_name": "RandomTranslation", "config": {"name": "t", "height_factor": 0.1, "width_factor": [-0.2, 0.3], "fill_mode": "constant"}}"#,
        r#"{"class_name": "RandomRotation", "config": {"name": "o", "factor": 0.1, "interpolation": "nearest"}}"#,
        r#"{"class_name": "RandomZoom", "config": {"name": "z", "height_factor": [-0.2, 0.2], "fill_mode": "wrap"}}"#,
        r#"{"class_name": "RandomContrast", "config": {"name": "c", "factor": 0.2, "value_range": [0, 1]}}"#,
        r#"{"class_name": "SpatialDropout2D", "config": {"name": "s", "rate": 0.25}}"#,
    ];
    for json in configs {
        let config: LayerConfig = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
        assert!(!matches!(config, LayerConfig::Registered(_)), "{json}");
        let layer = config.to_layer().unwrap();
        assert!(json.contains(layer.kind()), "{json}");
        let back: LayerConfig = serde_json::from_str(&serde_json::to_string(&layer.config()).unwrap()).unwrap();
        assert_eq!(back, config);
    }
    let LayerConfig::RandomTranslation(c) = serde_json::from_str(configs[2]).unwrap() else { panic!() };
    assert_eq!((c.height_factor, c.width_factor), (Factor::Value(0.1), Factor::Range([-0.2, 0.3])));
    assert_eq!((c.fill_mode, c.interpolation, c.fill_value), (FillMode::Constant, Interpolation::Bilinear, 0.0));
    let LayerConfig::RandomZoom(c) = serde_json::from_str(configs[4]).unwrap() else { panic!() };
    assert_eq!((c.width_factor, c.fill_mode), (None, FillMode::Wrap));
    let LayerConfig::RandomFlip(c) =
        serde_json::from_str(r#"{"class_name": "RandomFlip", "config": {"name": "f"}}"#).unwrap()
    else {
        panic!()
    };
    assert_eq!(c.mode, FlipMode::HorizontalAndVertical, "Keras' default mode");
}

#[test]
fn build_errors_name_the_layer_and_what_fits() {
    let err = |mut layer: Box<dyn Layer>, shape: &[usize]| {
        layer.set_name("aug_3");
        let e = layer.build(&Shape::known(shape), &mut seeded_rng(0)).unwrap_err().to_string();
        assert!(e.contains(layer.kind()) && e.contains("\"aug_3\""), "{e}");
        e
    };
    for layer in [
        Box::new(RandomFlip::default()) as Box<dyn Layer>,
        Box::new(RandomTranslation::new(0.1, 0.1)),
        Box::new(RandomRotation::new(0.1)),
        Box::new(RandomZoom::new(0.1)),
        Box::new(RandomContrast::new(0.1)),
    ] {
        let e = err(layer, &[28, 28]);
        assert!(e.contains("[height, width, channels]") && e.contains("[28, 28]"), "{e}");
    }
    let e = err(Box::new(SpatialDropout2d::new(0.1)), &[28, 28]);
    assert!(e.contains("[height, width, channels]") && e.contains("Dropout"), "{e}");
    let e = err(Box::new(SpatialDropout2d::new(1.0)), &[4, 4, 2]);
    assert!(e.contains("rate") && e.contains("[0, 1)"), "{e}");
    let e = err(Box::new(RandomTranslation::new(0.1, (-1.5, 0.0))), &[4, 4, 2]);
    assert!(e.contains("width_factor") && e.contains("(-1.5, 0)") && e.contains("[-1, 1]"), "{e}");
    let e = err(Box::new(RandomRotation::new(2.0)), &[4, 4, 2]);
    assert!(e.contains("factor") && e.contains("[-1, 1]"), "{e}");
    let e = err(Box::new(RandomZoom::new(0.1).width_factor(-1.0)), &[4, 4, 2]);
    assert!(e.contains("width_factor") && e.contains("(-1, 1]"), "{e}");
    let e = err(Box::new(RandomContrast::new(-0.2)), &[4, 4, 2]);
    assert!(e.contains("factor") && e.contains("[0, 1]"), "{e}");
    let e = err(Box::new(RandomContrast::new(0.2).value_range(1.0, 0.0)), &[4, 4, 2]);
    assert!(e.contains("value_range") && e.contains("low < high"), "{e}");
    let e = err(Box::new(Rescaling::new(f32::NAN)), &[4]);
    assert!(e.contains("finite"), "{e}");
}
