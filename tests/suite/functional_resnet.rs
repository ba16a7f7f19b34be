//! A residual convnet made with the functional API (two `Add` blocks, one with an identity and
//! one with a 1x1 projection shortcut, batch normalization, global average pooling) trains on a
//! few digits and predicts probabilities.

use kensho::data::datasets;
use kensho::prelude::*;

/// conv -> batch norm -> relu -> conv -> batch norm, plus the input (projected by a 1x1 conv when
/// the channels change), then relu.
fn residual_block(x: &SymbolicTensor, filters: usize) -> Result<SymbolicTensor> {
    let h = Conv2d::new(filters, [3, 3]).padding(Padding::Same).on(x)?;
    let h = BatchNormalization::new().momentum(0.9).on(&h)?;
    let h = ActivationLayer::new(Activation::Relu).on(&h)?;
    let h = Conv2d::new(filters, [3, 3]).padding(Padding::Same).on(&h)?;
    let h = BatchNormalization::new().momentum(0.9).on(&h)?;
    let shortcut = if x.shape().last() == Some(filters) { x.clone() } else { Conv2d::new(filters, [1, 1]).on(x)? };
    let sum = Add::new().on_all(&[&h, &shortcut])?;
    ActivationLayer::new(Activation::Relu).on(&sum)
}

#[test]
fn residual_convnet_trains_and_predicts_probabilities() -> Result<()> {
    let (x, y) = datasets::digits();
    let n = 96;
    let x = x.slice_axis(0, 0, n).reshape(&[-1, 8, 8, 1])?;
    let y = y.slice_axis(0, 0, n);

    let inputs = Input::new(&[8, 8, 1]);
    let h = Rescaling::new(1.0 / 16.0).on(&inputs)?;
    let h = Conv2d::new(4, [3, 3]).padding(Padding::Same).on(&h)?;
    let h = residual_block(&h, 4)?; // identity shortcut
    let h = MaxPooling2d::new([2, 2]).on(&h)?;
    let h = residual_block(&h, 8)?; // 1x1 projection shortcut
    let h = GlobalAveragePooling2d::new().on(&h)?;
    let outputs = Dense::new(10).activation(Activation::Softmax).on(&h)?;
    let mut model = Model::with_seed(&[&inputs], &[&outputs], 7)?;
    assert_eq!(model.layers().iter().filter(|l| l.kind() == "Add").count(), 2);
    assert_eq!(model.layers().iter().filter(|l| l.kind() == "Conv2D").count(), 6);

    model.compile(Adam::new(1e-2), losses::SparseCategoricalCrossentropy::new(), vec![])?;
    let history =
        model.fit(&x, &y, FitOptions { epochs: 3, batch_size: 16, seed: 7, verbose: 0, ..Default::default() })?;
    let losses = history.get("loss").expect("fit logs the loss");
    assert!(losses[2] < losses[0], "the loss did not decrease: {losses:?}");

    let probabilities = model.predict(&x)?;
    assert_eq!(probabilities.shape(), &[n, 10]);
    for (i, row) in probabilities.to_vec().chunks(10).enumerate() {
        let sum: f32 = row.iter().sum();
        assert!((sum - 1.0).abs() < 1e-4, "row {i} sums to {sum}");
    }
    Ok(())
}
