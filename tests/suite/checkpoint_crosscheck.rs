//! Cross-check with a second implementation: scripts/crosscheck_safetensors.py (numpy and the
//! `safetensors` package) reads a kensho model file and recomputes its predictions, then writes
//! a PyTorch-layout file that kensho loads and runs. Runs when `KENSHO_PYTHON` names a python
//! with numpy and safetensors installed; otherwise prints a note and passes.

use kensho::checkpoint::{load_tensors, save_tensors};
use kensho::prelude::*;
use kensho::{LoadOptions, WeightsLayout};
use std::path::Path;
use std::process::Command;

fn tensor(path: &Path, name: &str) -> Tensor {
    let (tensors, _) = load_tensors(path).unwrap();
    tensors.into_iter().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no {name} in {}", path.display())).1
}

fn max_abs_diff(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.to_vec().iter().zip(b.to_vec()).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn numpy_and_safetensors_agree_with_kensho() {
    let Some(python) = std::env::var_os("KENSHO_PYTHON") else {
        eprintln!("note: KENSHO_PYTHON is not set; skipping the numpy/safetensors cross-check");
        return;
    };
    let dir = tempfile::tempdir().unwrap();

    // Step 1: a trained MLP and its predictions, for numpy to recompute.
    let mut rng = kensho::core::seeded_rng(8);
    let x = Tensor::rand_uniform(&[64, 5], -1.5, 1.5, &mut rng);
    let y: Vec<f32> = x.to_vec().chunks(5).map(|r| ((r[0] * r[1] > 0.0) as u8 + (r[4] > 0.7) as u8) as f32).collect();
    let y = Tensor::from_vec(y, &[64]).unwrap();
    let mut model = Sequential::new()
        .seed(3)
        .add(Input::new(&[5]))
        .add(Dense::new(16).activation(Activation::Relu))
        .add(Dropout::new(0.1))
        .add(Dense::new(8).use_bias(false).activation(Activation::Gelu))
        .add(ActivationLayer::new(Activation::Tanh))
        .add(Dense::new(3).activation(Activation::Softmax));
    model
        .compile(
            Adam::new(0.01),
            losses::SparseCategoricalCrossentropy::new(),
            vec![Box::new(metrics::Accuracy::new())],
        )
        .unwrap();
    model.fit(&x, &y, FitOptions { epochs: 5, batch_size: 16, verbose: 0, ..Default::default() }).unwrap();
    model.save(dir.path().join("model.safetensors")).unwrap();
    model.save_weights_with(dir.path().join("model_pt.safetensors"), WeightsLayout::PyTorch).unwrap();
    let predicted = model.predict(&x).unwrap();
    save_tensors(dir.path().join("predict.safetensors"), &[("x".into(), x), ("y".into(), predicted)], None).unwrap();

    // Step 3: a convnet in PyTorch's layout, for numpy to recompute channels_first.
    let cnn = Sequential::new()
        .seed(5)
        .add(Input::new(&[6, 6, 2]))
        .add(Conv2d::new(3, [3, 3]).activation(Activation::Relu).bias_initializer(Initializer::Constant(0.1)))
        .add(MaxPooling2d::new([2, 2]))
        .add(Flatten::new())
        .add(Dense::new(4).bias_initializer(Initializer::Constant(-0.2)));
    cnn.save_weights_with(dir.path().join("cnn_pt.safetensors"), WeightsLayout::PyTorch).unwrap();
    let cnn_x = Tensor::rand_uniform(&[5, 6, 6, 2], -1.0, 1.0, &mut rng);
    let cnn_y = cnn.predict(&cnn_x).unwrap();
    save_tensors(dir.path().join("cnn_io.safetensors"), &[("x".into(), cnn_x), ("y".into(), cnn_y)], None).unwrap();

    // Step 4: a functional model with a shared layer and a residual Add, in PyTorch's layout.
    let (a, b) = (Input::new(&[5]).with_name("a"), Input::new(&[5]).with_name("b"));
    let shared = Dense::new(5).activation(Activation::Relu).named("shared");
    let h = Add::new().on_all(&[&shared.on(&a).unwrap(), &shared.on(&b).unwrap()]).unwrap();
    let r = Add::new().on_all(&[&h, &Dense::new(5).named("inner").on(&h).unwrap()]).unwrap();
    let out = Dense::new(3).named("out").on(&r).unwrap();
    let residual = Model::with_seed(&[&a, &b], &[&out], 11).unwrap();
    residual.save_weights_with(dir.path().join("residual_pt.safetensors"), WeightsLayout::PyTorch).unwrap();
    let (ra, rb) =
        (Tensor::rand_uniform(&[4, 5], -1.0, 1.0, &mut rng), Tensor::rand_uniform(&[4, 5], -1.0, 1.0, &mut rng));
    let ry = residual.predict_many([&ra, &rb], 32).unwrap().remove(0);
    let io = [("a".to_string(), ra), ("b".to_string(), rb), ("y".to_string(), ry)];
    save_tensors(dir.path().join("residual_io.safetensors"), &io, None).unwrap();

    // Step 5: self-attention and layer normalization in PyTorch's layout.
    let x = Input::new(&[5, 8]);
    let attended = MultiHeadAttention::new(2, 4).on_all(&[&x, &x]).unwrap();
    let y = LayerNormalization::new().beta_initializer(Initializer::Constant(0.1)).on(&attended).unwrap();
    let attention = Model::with_seed(&[&x], &[&y], 12).unwrap();
    attention.save_weights_with(dir.path().join("attention_pt.safetensors"), WeightsLayout::PyTorch).unwrap();
    let ax = Tensor::rand_uniform(&[3, 5, 8], -1.0, 1.0, &mut rng);
    let ay = attention.predict(&ax).unwrap();
    save_tensors(dir.path().join("attention_io.safetensors"), &[("x".into(), ax), ("y".into(), ay)], None).unwrap();

    // Step 6: an LSTM and a GRU in PyTorch's layout (biases non-zero, so both bias keys matter).
    let recurrent = Sequential::new()
        .seed(13)
        .add(Input::new(&[6, 3]))
        .add(Lstm::new(5).return_sequences(true).bias_initializer(Initializer::RandomUniform { min: -0.3, max: 0.3 }))
        .add(Gru::new(4).bias_initializer(Initializer::RandomUniform { min: -0.3, max: 0.3 }));
    recurrent.save_weights_with(dir.path().join("recurrent_pt.safetensors"), WeightsLayout::PyTorch).unwrap();
    let rx = Tensor::rand_uniform(&[3, 6, 3], -1.0, 1.0, &mut rng);
    let ry = recurrent.predict(&rx).unwrap();
    save_tensors(dir.path().join("recurrent_io.safetensors"), &[("x".into(), rx), ("y".into(), ry)], None).unwrap();

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/crosscheck_safetensors.py");
    let output = Command::new(&python).arg(&script).arg(dir.path()).output().unwrap();
    println!("{}", String::from_utf8_lossy(&output.stdout));
    assert!(output.status.success(), "the cross-check script failed:\n{}", String::from_utf8_lossy(&output.stderr));

    // Step 2: the PyTorch-layout file numpy wrote for
    // Sequential(Linear(4, 8), ReLU(), Dropout(0.1), Linear(8, 3), Softmax(-1)).
    let mut torch = Sequential::new()
        .add(Input::new(&[4]))
        .add(Dense::new(8).activation(Activation::Relu))
        .add(Dropout::new(0.1))
        .add(Dense::new(3).activation(Activation::Softmax));
    let options = LoadOptions::default().layout(WeightsLayout::PyTorch);
    let report = torch.load_weights_with(dir.path().join("torch_mlp.safetensors"), options).unwrap();
    assert_eq!(report.loaded, ["0.weight", "0.bias", "3.weight", "3.bias"]);
    let io = dir.path().join("torch_io.safetensors");
    let diff = max_abs_diff(&torch.predict(&tensor(&io, "x")).unwrap(), &tensor(&io, "y"));
    println!("step 2: kensho predict on the PyTorch-layout file vs numpy: max abs difference {diff:e}");
    assert!(diff <= 1e-5, "{diff}");
}
