//! # kensho for Keras users
//!
//! kensho follows Keras 3's names, defaults and behaviour; where Rust offers something better it
//! uses builders, enums and `Result` instead of keyword arguments, strings and exceptions.
//!
//! | Keras | kensho |
//! |---|---|
//! | `keras.Sequential([...])` | `Sequential::new().add(..).add(..)` |
//! | `keras.Input(shape=(784,))` (in a `Sequential`) | `.add(Input::new(&[784]))` |
//! | `layers.Dense(64, activation="relu")` | `Dense::new(64).activation(Activation::Relu)` |
//! | `layers.Dense(10, name="head")` | `Dense::new(10).with_name("head")` |
//! | `layers.Dropout(0.5)`, `Flatten()`, `Reshape((7, 4))` | `Dropout::new(0.5)`, `Flatten::new()`, `Reshape::new(&[7, 4])` |
//! | `layers.Conv2D(32, 3, padding="same", activation="relu")` | `Conv2d::new(32, [3, 3]).padding(Padding::Same).activation(Activation::Relu)` |
//! | `layers.MaxPooling2D(2)`, `GlobalAveragePooling2D()` | `MaxPooling2d::new([2, 2])`, `GlobalAveragePooling2d::new()` |
//! | `layers.BatchNormalization()` | `BatchNormalization::new()` (moving statistics are non-trainable state) |
//! | `layers.RandomFlip("horizontal")`, `Rescaling(1/255)` | `RandomFlip::new(FlipMode::Horizontal)`, `Rescaling::new(1.0 / 255.0)` |
//! | `keras.utils.audio_dataset_from_directory("dir", output_sequence_length=16000, validation_split=0.2, subset="both", seed=1)` | [`data::audio::audio_dataset_from_directory_both`](crate::data::audio::audio_dataset_from_directory_both)`("dir", &AudioDirectoryOptions { output_sequence_length: Some(16000), validation_split: Some(0.2), seed: Some(1), ..Default::default() })?` (tensors `[n, samples, channels]`, not a batched dataset); a CSV listing: [`data::audio::load_audio_manifest`](crate::data::audio::load_audio_manifest) |
//! | `layers.MelSpectrogram(fft_length=256, sequence_stride=80, sequence_length=200, sampling_rate=8000, num_mel_bins=40)`, `STFTSpectrogram(..)` | [`MelSpectrogram::new`](crate::layers::MelSpectrogram)`(MelOptions { fft_length: 256, sequence_stride: 80, sequence_length: Some(200), sampling_rate: 8000, num_mel_bins: 40, ..Default::default() })`, [`StftSpectrogram`](crate::layers::StftSpectrogram), [`Mfcc`](crate::layers::Mfcc); as functions on tensors: [`core::audio::mel_spectrogram`](crate::core::audio::mel_spectrogram) (output `[batch, frames, mels]`, time first) |
//! | `layers.Activation("softmax")` | `ActivationLayer::new(Activation::Softmax)` |
//! | `kernel_regularizer=regularizers.l2(0.01)` | `.kernel_regularizer(Regularizer::l2(0.01))` |
//! | `kernel_initializer="he_normal"` | `.kernel_initializer(Initializer::HeNormal)` |
//! | `model.compile(optimizer=Adam(1e-3), loss=..., metrics=["accuracy"])` | `model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::new(), vec![Box::new(metrics::Accuracy::new())])?` |
//! | `keras.losses.X`, `keras.metrics.Y` | `losses::X`, `metrics::Y` (both modules are in the prelude) |
//! | `loss=SparseCategoricalCrossentropy(from_logits=True)` | `losses::SparseCategoricalCrossentropy::from_logits()` |
//! | `model.fit(x, y, epochs=10, batch_size=32, validation_split=0.2)` | `model.fit(&x, &y, FitOptions { epochs: 10, validation_split: 0.2, ..Default::default() })?` |
//! | `callbacks=[EarlyStopping(patience=3)]` | `FitOptions { callbacks: vec![&mut stop], .. }` with `let mut stop = EarlyStopping::new("val_loss").patience(3);` |
//! | `callbacks=[TensorBoard("logs", histogram_freq=1, update_freq=100)]` | `TensorBoard::new("logs").histogram_freq(1).update_freq(UpdateFreq::Batches(100))`; open with `tensorboard --logdir logs` |
//! | `history.history["val_loss"]` | `history.get("val_loss")` |
//! | `plt.plot(history.history["loss"])` (matplotlib) | `history.plot("history.svg")?`: every quantity with its `val_` twin, as SVG (feature `plot`) |
//! | scikit-learn's `ConfusionMatrixDisplay`, `RocCurveDisplay`, `PrecisionRecallDisplay` | `plot::plot_confusion_matrix(&cm, &names, "cm.svg")?`, `plot::plot_roc_curve(&y, &scores, "roc.svg")?`, `plot::plot_precision_recall_curve(..)?` (feature `plot`) |
//! | `model.evaluate(x, y)` | `model.evaluate(&x, &y)?` returns [`Logs`](crate::Logs) by name |
//! | `model.predict(x)` | `model.predict(&x)?` (batches of 32, no gradients, dropout off) |
//! | `model.summary()` | `println!("{}", model.summary())` |
//! | `model.get_weights()` / `set_weights(w)` | `model.get_weights()` / `model.set_weights(&w)?` |
//! | `layer.trainable = False` | `model.layer_mut("dense").unwrap().set_trainable(false)` |
//! | `model.save("m.keras")` / `keras.models.load_model` | `model.save("m.safetensors")?` / `kensho::load_model(..)?` |
//! | `model.save_weights(..)` / `load_weights(..)` | the same names; files are safetensors, readable by PyTorch |
//! | `keras.utils.set_random_seed(42)` | `Sequential::new().seed(42)` and `FitOptions { seed: 42, .. }` |
//! | `keras.Model` | [`Model`](crate::Model): what `Sequential` builds (it dereferences to it) and `load_model` returns |
//! | a subclassed `keras.layers.Layer` | `impl Layer for MyLayer` (see [`Layer`](crate::layers::Layer)); `register_layer("MyLayer", ..)` so saved models load |
//! | `@keras.saving.register_keras_serializable()` | `layers::register_layer`, `losses::register_loss`, `metrics::register_metric` |
//! | `Input(shape=(None, 16))` | `Input::with_shape(Shape::new(vec![None, Some(16)]))` |
//! | `inputs = keras.Input((784,), name="pixels")` | `let inputs = Input::new(&[784]).with_name("pixels");` |
//! | `x = layers.Dense(64, activation="relu")(inputs)` | `let x = Dense::new(64).activation(Activation::Relu).on(&inputs)?;` |
//! | `layers.Dense(10, name="digit")(x)` | `Dense::new(10).named("digit").on(&x)?` |
//! | `layers.Add()([a, b])`, `Concatenate(axis=-1)([a, b])` | `Add::new().on_all(&[&a, &b])?`, `Concatenate::new(-1).on_all(&[&a, &b])?` |
//! | `keras.Model(inputs, outputs)` | `Model::new(&[&inputs], &[&outputs])?` (or `Model::with_seed(.., seed)`) |
//! | a shared layer: `d = Dense(8)`; `d(a)`; `d(b)` | `let d = Dense::new(8).shared();` `d.on(&a)?;` `d.on(&b)?;` |
//! | a model called on a tensor: `encoder(x)` | `encoder.on(&x)?` (the model becomes a layer, weights included) |
//! | `model.fit({"user": u, "item": i}, y)`, `fit([a, b], y)` | `model.fit([("user", &u), ("item", &i)], &y, ..)?`, `model.fit([&a, &b], &y, ..)?` |
//! | `compile(loss={"a": .., "b": ..}, loss_weights={"b": 0.5}, metrics={"a": ["accuracy"]})` | `model.compile_heads(opt, vec![("a", Head::new(..).metrics(..)), ("b", Head::new(..).weight(0.5))])?` |
//! | the "Knowledge Distillation" example: `Distiller(student=s, teacher=t)`, `compile(optimizer, metrics, student_loss_fn, distillation_loss_fn, alpha=0.1, temperature=10)` | [`Distiller::new(t, s)`](crate::Distiller)`.alpha(0.1).temperature(10.0)`, `compile(Adam::new(1e-3), metrics)?` (both models output logits; the losses are built in: [`DistillationLoss`](crate::losses::DistillationLoss)) |
//! | tfmot: `prune_low_magnitude(model, pruning_schedule=PolynomialDecay(0.0, 0.8, 0, 1000))`, `callbacks=[UpdatePruningStep()]`, then `strip_pruning(model)` | `let mut prune =` [`PruneLowMagnitude::new`](crate::callbacks::PruneLowMagnitude)`(`[`PolynomialDecay::new(0.0, 0.8, 0, 1000)?`](crate::PolynomialDecay)`);` in `FitOptions { callbacks: vec![&mut prune], .. }`; the masks live in the callback, so there is nothing to strip (`prune.strip()` drops them before a `fit` that may regrow the weights); [`kensho::sparsity(&model)`](crate::sparsity) reports each kernel's zeros, and `model.summary()` lists them below the totals |
//! | data parallelism: PyTorch's `DistributedDataParallel(model)` after `init_process_group`; Keras' `keras.distribution.DataParallel`; Horovod's `hvd.init()` and `DistributedOptimizer` | `let world = kensho::mpi::World::init()?; model.set_data_parallel(world)?;` (feature `mpi`), then the usual `fit`, run with `mpirun -np N`: the batch size is the global one, gradients are summed across ranks in buckets during backward, batch normalization is synchronised, rank 0 prints and saves |
//! | post-training int8: TFLite's `converter.optimizations = [tf.lite.Optimize.DEFAULT]` with a `representative_dataset`; PyTorch's `prepare` / calibrate / `convert` (fbgemm) | [`quantization::quantize`](crate::quantization::quantize)`(&model, x_calibration)?` (every Dense and Conv2D; [`quantize_with`](crate::quantization::quantize_with) chooses layers and [`Calibration::Percentile`](crate::quantization::Calibration)); the [`QuantizedModel`](crate::quantization::QuantizedModel) predicts, evaluates and saves |
//! | `model.predict([a, b])` (several outputs) | `model.predict_many([&a, &b], 32)?` gives one tensor per output |
//! | `keras.Model(m.input, m.get_layer("x").output)` | `m.feature_extractor(&["x"])?` (with copies of the weights) |
//! | `model.get_layer("x")` | `model.layer("x")` |
//! | `layers.LayerNormalization(epsilon=1e-6)` | `LayerNormalization::new().epsilon(1e-6)` |
//! | `layers.MultiHeadAttention(4, 16)(q, v, use_causal_mask=True)` | `MultiHeadAttention::new(4, 16).use_causal_mask(true).on_all(&[&q, &v])?` (call arguments are builder flags; inputs `[query, value, key, attention_mask]`, the last two optional) |
//! | `keras_hub.layers.PositionEmbedding(64)(x)` | `PositionEmbedding::new(64).on(&x)?` (add it to `x` with `Add`) |
//!
//! A complete custom layer that trains, shows in `summary()`, and saves and loads with the
//! model once its class is registered:
//!
//! ```
//! use kensho::autograd::{Param, Var};
//! use kensho::layers::{register_layer, Ctx, LayerConfig};
//! use kensho::prelude::*;
//!
//! /// `x * scale`, one trainable scale per feature.
//! struct Scale { name: String, scale: Option<Param> }
//!
//! impl Layer for Scale {
//!     fn name(&self) -> &str { &self.name }
//!     fn set_name(&mut self, name: &str) { self.name = name.to_string() }
//!     fn kind(&self) -> &'static str { "Scale" }
//!     fn config(&self) -> LayerConfig { LayerConfig::registered("Scale", &self.name) }
//!     fn build(&mut self, input: &Shape, _rng: &mut kensho::core::Rng) -> Result<Shape> {
//!         let dims = input.require_known("Scale")?;
//!         self.scale = Some(Param::new(format!("{}.scale", self.name), Tensor::ones(&dims)));
//!         Ok(input.clone())
//!     }
//!     fn forward<'t>(&self, x: Var<'t>, cx: &Ctx<'t>) -> Var<'t> {
//!         x.mul(cx.tape.param(self.scale.as_ref().expect("built")))
//!     }
//!     fn params(&self) -> Vec<&Param> { self.scale.iter().collect() }
//!     fn params_mut(&mut self) -> Vec<&mut Param> { self.scale.iter_mut().collect() }
//! }
//!
//! register_layer("Scale", |json| {
//!     Ok(Box::new(Scale { name: serde_json::from_value(json.clone()).unwrap_or_default(), scale: None }))
//! });
//! let x = Input::new(&[3]);
//! let y = Dense::new(1).on(&Scale { name: String::new(), scale: None }.on(&x)?)?;
//! let mut model = Model::new(&[&x], &[&y])?;
//! model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![])?;
//! model.fit(&Tensor::ones(&[8, 3]), &Tensor::zeros(&[8, 1]), FitOptions { verbose: 0, ..Default::default() })?;
//! assert!(model.summary().contains("scale (Scale)"));
//! let path = std::env::temp_dir().join("kensho-guide-scale.safetensors");
//! model.save(&path)?;
//! assert_eq!(kensho::load_model(&path)?.get_weights()[0].to_vec(), model.get_weights()[0].to_vec());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! A Transformer encoder block (self-attention and a feed-forward network, each with a residual
//! connection and layer normalization) on padded token ids; `mask_zero` keeps the padding out
//! of the attention and of the pooling:
//!
//! ```
//! use kensho::prelude::*;
//! let (vocab, len, width, heads) = (100, 16, 32, 4);
//! let tokens = Input::new(&[len]);
//! let x = Embedding::new(vocab, width).mask_zero(true).on(&tokens)?;
//! let x = Add::new().on_all(&[&x, &PositionEmbedding::new(len).on(&x)?])?;
//! // Self-attention: the sequence is the query and the value.
//! let attended = MultiHeadAttention::new(heads, width / heads).dropout(0.1).on_all(&[&x, &x])?;
//! let x = LayerNormalization::new().on(&Add::new().on_all(&[&x, &attended])?)?;
//! // Dense applies to the last axis: the same network at every position.
//! let ff = Dense::new(64).activation(Activation::Relu).on(&x)?;
//! let ff = Dense::new(width).on(&ff)?;
//! let x = LayerNormalization::new().on(&Add::new().on_all(&[&x, &ff])?)?;
//! let pooled = GlobalAveragePooling1d::new().on(&x)?;
//! let probs = Dense::new(2).activation(Activation::Softmax).on(&pooled)?;
//! let mut model = Model::new(&[&tokens], &[&probs])?;
//! model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::new(), vec![])?;
//! let ids = Tensor::from_fn(&[8, len], |i| if i[1] < 5 + i[0] { (1 + (i[0] * 7 + i[1] * 3) % 99) as f32 } else { 0.0 });
//! let labels = Tensor::from_fn(&[8], |i| (i[0] % 2) as f32);
//! model.fit(&ids, &labels, FitOptions { epochs: 2, batch_size: 4, verbose: 0, ..Default::default() })?;
//! assert_eq!(model.predict(&ids)?.shape(), [8, 2]);
//! # Ok::<(), kensho::Error>(())
//! ```
//!
//! Differences worth knowing:
//!
//! - **Errors, not exceptions.** Everything that can fail on user data returns
//!   `Result<_, kensho::Error>`, with a message that names the layer or argument, the value
//!   received and what was expected.
//! - **Typed metrics.** Keras guesses which accuracy `"accuracy"` means from the shapes; kensho
//!   asks you to choose: [`Accuracy`](crate::metrics::Accuracy) (integer labels),
//!   [`CategoricalAccuracy`](crate::metrics::CategoricalAccuracy) (one-hot),
//!   [`BinaryAccuracy`](crate::metrics::BinaryAccuracy) (one sigmoid output).
//! - **Callbacks do not mutate the model behind its back.** A hook returns
//!   [`Control::Stop`](crate::Control) instead of setting `model.stop_training`.
//! - **Images are channels_last**, `[batch, height, width, channels]`, as Keras' default; a
//!   checkpoint written with `WeightsLayout::PyTorch` holds PyTorch's channels_first layouts.
//! - **Softmax + cross-entropy are fused.** As in Keras, a cross-entropy after a softmax (or
//!   sigmoid) output works on the logits internally, whichever layer applied the activation,
//!   so confident wrong predictions give a large finite loss, never `inf` or `NaN`.
//! - **Reproducible by default.** The model seed defaults to 0, so two runs give the same
//!   weights; on one thread the loss curve is bit-identical.
