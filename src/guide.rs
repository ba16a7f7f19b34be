//! # kensho for Keras users
//!
//! kensho follows Keras 3's names, defaults and behaviour; where Rust offers something better it
//! uses builders, enums and `Result` instead of keyword arguments, strings and exceptions.
//!
//! | Keras | kensho |
//! |---|---|
//! | `keras.Sequential([...])` | `Sequential::new().add(..).add(..)` |
//! | `keras.Input(shape=(784,))` | `.add(Input::new(&[784]))` |
//! | `layers.Dense(64, activation="relu")` | `Dense::new(64).activation(Activation::Relu)` |
//! | `layers.Dense(10, name="head")` | `Dense::new(10).with_name("head")` |
//! | `layers.Dropout(0.5)`, `Flatten()`, `Reshape((7, 4))` | `Dropout::new(0.5)`, `Flatten::new()`, `Reshape::new(&[7, 4])` |
//! | `layers.Conv2D(32, 3, padding="same", activation="relu")` | `Conv2d::new(32, [3, 3]).padding(Padding::Same).activation(Activation::Relu)` |
//! | `layers.MaxPooling2D(2)`, `GlobalAveragePooling2D()` | `MaxPooling2d::new([2, 2])`, `GlobalAveragePooling2d::new()` |
//! | `layers.BatchNormalization()` | `BatchNormalization::new()` (moving statistics are non-trainable state) |
//! | `layers.RandomFlip("horizontal")`, `Rescaling(1/255)` | `RandomFlip::new(FlipMode::Horizontal)`, `Rescaling::new(1.0 / 255.0)` |
//! | `layers.Activation("softmax")` | `ActivationLayer::new(Activation::Softmax)` |
//! | `kernel_regularizer=regularizers.l2(0.01)` | `.kernel_regularizer(Regularizer::l2(0.01))` |
//! | `kernel_initializer="he_normal"` | `.kernel_initializer(Initializer::HeNormal)` |
//! | `model.compile(optimizer=Adam(1e-3), loss=..., metrics=["accuracy"])` | `model.compile(Adam::new(1e-3), losses::SparseCategoricalCrossentropy::new(), vec![Box::new(metrics::Accuracy::new())])?` |
//! | `keras.losses.X`, `keras.metrics.Y` | `losses::X`, `metrics::Y` (both modules are in the prelude) |
//! | `loss=SparseCategoricalCrossentropy(from_logits=True)` | `losses::SparseCategoricalCrossentropy::from_logits()` |
//! | `model.fit(x, y, epochs=10, batch_size=32, validation_split=0.2)` | `model.fit(&x, &y, FitOptions { epochs: 10, validation_split: 0.2, ..Default::default() })?` |
//! | `callbacks=[EarlyStopping(patience=3)]` | `FitOptions { callbacks: vec![&mut stop], .. }` with `let mut stop = EarlyStopping::new("val_loss").patience(3);` |
//! | `history.history["val_loss"]` | `history.get("val_loss")` |
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
//! - **Dense takes flat inputs.** Keras applies `Dense` to the last axis of any input; kensho
//!   asks for `Flatten` first, and says so in the error.
//! - **Softmax + cross-entropy are fused.** As in Keras, a cross-entropy after a softmax (or
//!   sigmoid) output works on the logits internally, whichever layer applied the activation,
//!   so confident wrong predictions give a large finite loss, never `inf` or `NaN`.
//! - **Reproducible by default.** The model seed defaults to 0, so two runs give the same
//!   weights; on one thread the loss curve is bit-identical.
