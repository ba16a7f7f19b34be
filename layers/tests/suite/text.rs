//! Embedding, Masking and the mask-aware 1-D global pooling: values, gradients, masks, errors
//! and configurations.

use kensho_autograd::Tape;
use kensho_core::{seeded_rng, Tensor};
use kensho_layers::{
    Ctx, Embedding, GlobalAveragePooling1d, GlobalMaxPooling1d, Layer, LayerConfig, Masking, Shape, TorchTransform,
};

fn t(data: &[f32], shape: &[usize]) -> Tensor {
    Tensor::from_vec(data.to_vec(), shape).unwrap()
}

fn built_embedding(mask_zero: bool) -> Embedding {
    let mut layer = Embedding::new(5, 3).mask_zero(mask_zero).with_name("emb");
    layer.build(&Shape::new(vec![None]), &mut seeded_rng(0)).unwrap();
    layer
}

#[test]
fn embedding_rows_and_their_gradient() {
    let layer = built_embedding(false);
    let table = layer.params()[0].value.clone();
    let ids = t(&[1.0, 4.0, 1.0, 0.0], &[2, 2]);
    let tape = Tape::new();
    let cx = Ctx::new(&tape, true, seeded_rng(1));
    let y = layer.forward(tape.constant(ids), &cx);
    assert_eq!(y.shape(), vec![2, 2, 3]);
    let rows: Vec<f32> = [1, 4, 1, 0].iter().flat_map(|&r| table.slice_axis(0, r, r + 1).to_vec()).collect();
    assert_eq!(y.value().to_vec(), rows);
    // loss = sum(y * w): the gradient of row r is the sum of w over the positions holding id r
    // (row 1 twice, rows 4 and 0 once, rows 2 and 3 never), written out here by hand.
    let w = Tensor::from_fn(&[2, 2, 3], |i| (i[0] * 6 + i[1] * 3 + i[2]) as f32);
    let loss = y.mul(tape.constant(w)).sum_all();
    let grads = tape.backward(loss);
    let g = grads.get(layer.params()[0].id()).unwrap().to_vec();
    let expected = [9.0, 10.0, 11.0, 0.0 + 6.0, 1.0 + 7.0, 2.0 + 8.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 3.0, 4.0, 5.0];
    assert_eq!(g, expected);
}

#[test]
fn mask_zero_marks_padding_and_bad_ids_are_errors_naming_the_layer() {
    let layer = built_embedding(true);
    assert!(layer.makes_mask());
    let tape = Tape::no_grad();
    let ids = tape.constant(t(&[3.0, 2.0, 0.0, 0.0, 1.0, 0.0], &[2, 3]));
    let mask = layer.compute_mask(&[ids], &[None]).remove(0).unwrap();
    assert_eq!(mask.to_vec(), [1.0, 1.0, 0.0, 0.0, 1.0, 0.0]);
    assert!(!built_embedding(false).makes_mask());
    for bad in [5.0, -1.0, 1.5, f32::NAN] {
        let err = layer.validate_input(&t(&[1.0, bad], &[1, 2])).unwrap_err().to_string();
        assert!(err.contains("Embedding \"emb\"") && err.contains("0..5"), "{err}");
    }
    assert!(layer.validate_input(&t(&[0.0, 4.0], &[1, 2])).is_ok());
}

#[test]
fn masking_zeroes_padded_steps_and_gives_their_mask() {
    let mut layer = Masking::new(-1.0);
    layer.build(&[3, 2].into(), &mut seeded_rng(0)).unwrap();
    let x = t(&[1.0, 2.0, -1.0, -1.0, -1.0, 5.0], &[1, 3, 2]);
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    let xv = tape.constant(x);
    assert_eq!(layer.forward(xv, &cx).value().to_vec(), [1.0, 2.0, 0.0, 0.0, -1.0, 5.0]);
    assert_eq!(layer.compute_mask(&[xv], &[None])[0].as_ref().unwrap().to_vec(), [1.0, 0.0, 1.0]);
    assert!(layer.build(&[3].into(), &mut seeded_rng(0)).is_err(), "a step needs a feature axis");
}

/// Pools `x` `[1, time, channels]` with and without a mask through `call`.
fn pool(layer: &dyn Layer, x: &Tensor, mask: Option<Tensor>) -> Vec<f32> {
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    layer.call(&[tape.constant(x.clone())], &[mask], &cx)[0].value().to_vec()
}

#[test]
fn one_d_global_pooling_ignores_masked_steps() {
    // Two real steps, then a padded one with large values that must not count.
    let padded = t(&[1.0, -2.0, 3.0, 4.0, 100.0, 100.0], &[1, 3, 2]);
    let real = padded.slice_axis(1, 0, 2);
    let mask = t(&[1.0, 1.0, 0.0], &[1, 3]);
    let (mut avg, mut max) = (GlobalAveragePooling1d::new(), GlobalMaxPooling1d::new());
    avg.build(&[3, 2].into(), &mut seeded_rng(0)).unwrap();
    max.build(&[3, 2].into(), &mut seeded_rng(0)).unwrap();
    assert_eq!(pool(&avg, &padded, Some(mask.clone())), pool(&avg, &real, None));
    assert_eq!(pool(&avg, &padded, Some(mask.clone())), [2.0, 1.0]);
    assert_eq!(pool(&max, &padded, Some(mask.clone())), [3.0, 4.0]);
    assert_eq!(pool(&max, &padded, None), [100.0, 100.0], "without a mask every step counts");
    // The gradient of the masked mean reaches the real steps only.
    let tape = Tape::new();
    let cx = Ctx::new(&tape, true, seeded_rng(0));
    let x = tape.leaf(padded);
    let y = avg.call(&[x], &[Some(mask)], &cx)[0];
    let grads = tape.backward(y.sum_all());
    assert_eq!(grads.wrt(x).unwrap().to_vec(), [0.5, 0.5, 0.5, 0.5, 0.0, 0.0]);
}

#[test]
fn configurations_round_trip_and_the_pytorch_layout_is_nn_embedding() {
    let layer = Embedding::new(7, 2).mask_zero(true).with_name("tokens");
    let json = serde_json::to_string(&layer.config()).unwrap();
    assert!(json.contains("\"class_name\":\"Embedding\"") && json.contains("\"mask_zero\":true"), "{json}");
    let back: LayerConfig = serde_json::from_str(&json).unwrap();
    assert_eq!(back.to_layer().unwrap().config(), layer.config());
    let masking = Masking::new(0.5);
    let back: LayerConfig = serde_json::from_str(&serde_json::to_string(&masking.config()).unwrap()).unwrap();
    assert_eq!(back, masking.config());
    let torch = layer.torch_layout().unwrap();
    assert_eq!((torch.modules, torch.weights[0].name.as_str()), (1, "weight"));
    assert_eq!(torch.weights[0].transform, TorchTransform::Identity);
}
