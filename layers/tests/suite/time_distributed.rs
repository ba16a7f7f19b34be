//! TimeDistributed: the wrapped layer on every time step with one set of weights.

use kensho_autograd::Tape;
use kensho_core::{seeded_rng, Tensor};
use kensho_layers::testing::check_layer;
use kensho_layers::{Activation, Ctx, Dense, Dropout, Layer, LayerConfig, TimeDistributed};

#[test]
fn each_step_goes_through_the_same_layer() {
    let mut wrapped = TimeDistributed::new(Dense::new(2).activation(Activation::Tanh));
    wrapped.set_name("td");
    assert_eq!(wrapped.build(&[3, 4].into(), &mut seeded_rng(0)).unwrap(), vec![3, 2]);
    assert_eq!(wrapped.params()[0].name(), "td.kernel");
    let x = Tensor::rand_uniform(&[2, 3, 4], -1.0, 1.0, &mut seeded_rng(1));
    let tape = Tape::no_grad();
    let cx = Ctx::new(&tape, false, seeded_rng(0));
    let y = wrapped.forward(tape.constant(x.clone()), &cx).value();
    // Step t of sample b, computed alone as tanh(x[b, t] · kernel + bias).
    let (kernel, bias) = (&wrapped.params()[0].value, &wrapped.params()[1].value);
    for (b, t) in [(0, 0), (1, 2), (0, 1)] {
        let row = x.slice_axis(0, b, b + 1).slice_axis(1, t, t + 1).reshape_to(&[1, 4]);
        let alone = row.matmul(kernel).add(bias).map(f32::tanh).to_vec();
        let got = y.slice_axis(0, b, b + 1).slice_axis(1, t, t + 1).to_vec();
        for (g, a) in got.iter().zip(&alone) {
            assert!((g - a).abs() < 1e-6, "step ({b}, {t}): {got:?} vs {alone:?}");
        }
    }
    check_layer(&mut TimeDistributed::new(Dense::new(2).activation(Activation::Tanh)), &[3, 4], 2, 4 * 2 + 2).unwrap();
    check_layer(&mut TimeDistributed::new(Dropout::new(0.3)), &[3, 4], 2, 0).unwrap();
}

#[test]
fn the_configuration_holds_the_wrapped_layer_and_rank_errors_name_the_wrapper() {
    let mut wrapped = TimeDistributed::new(Dense::new(5));
    wrapped.set_name("steps");
    let json = serde_json::to_string(&wrapped.config()).unwrap();
    assert!(json.contains("\"class_name\":\"TimeDistributed\"") && json.contains("\"class_name\":\"Dense\""), "{json}");
    let back: LayerConfig = serde_json::from_str(&json).unwrap();
    let rebuilt = back.to_layer().unwrap();
    assert_eq!(rebuilt.config(), wrapped.config());
    assert_eq!(rebuilt.name(), "steps");
    let err = wrapped.build(&kensho_layers::Shape::new(vec![]), &mut seeded_rng(0)).unwrap_err().to_string();
    assert!(err.contains("TimeDistributed \"steps\""), "{err}");
}
