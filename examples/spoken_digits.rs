//! Spoken-digit recognition (issue 19): the `spoken_digits` clips (one second, 8 kHz, the ten
//! digits said by 200 synthetic speakers, split by speaker: 1,600 train / 400 test) become
//! 40-band log-mel spectrograms (25 ms windows every 10 ms), and two models learn them:
//!
//! - a convnet over the spectrogram as an image: three Conv2D + BatchNormalization + ReLU
//!   blocks with max pooling, a max over time, Dropout and a Dense head (the PyTorch
//!   reference's architecture, `peers/spoken_digits_torch.py`);
//! - a Conv1D model over the mel frames, beside it.
//!
//! The features are layers of the models, as in Keras 3: each model takes the raw waveform,
//! shifts it in time at random (up to 0.1 s either way, wrapping around) and masks a band of
//! frequencies and a span of frames (SpecAugment) in training only, then computes the log-mel
//! spectrogram, standardized with the training set's mean and deviation. The features are also
//! computed once up front, to time their extraction and to find that mean and deviation.
//!
//! Each model prints its epochs with their time, then its test accuracy; the confusion matrix
//! of the better one follows.
//!
//! The data are read from a folder holding `manifest.csv` (not shipped with kensho): the first
//! argument, else `$KENSHO_DATA/spoken_digits`.
//!
//! Run: `cargo run --release --example spoken_digits -- path/to/spoken_digits`

use kensho::core::audio::{mel_spectrogram, MelOptions};
use kensho::data::audio::{load_audio_manifest, ManifestOptions};
use kensho::layers::{Shift, ShiftFill};
use kensho::prelude::*;
use std::path::PathBuf;
use std::time::Instant;

/// 40 log-mel bands of 8 kHz clips: 25 ms (200-sample) Hann windows every 10 ms (80
/// samples), 256-point FFT, 20 Hz to 4 kHz, in decibels.
fn mel_options() -> MelOptions {
    MelOptions {
        fft_length: 256,
        sequence_stride: 80,
        sequence_length: Some(200),
        sampling_rate: 8000,
        num_mel_bins: 40,
        ..MelOptions::default()
    }
}

/// Prints each epoch's time after Keras' epoch line.
struct EpochTimer(Option<Instant>);

impl Callback for EpochTimer {
    fn on_epoch_begin(&mut self, _epoch: usize, _model: &mut Model) -> Result<()> {
        self.0 = Some(Instant::now());
        Ok(())
    }
    fn on_epoch_end(&mut self, epoch: usize, _logs: &Logs, _model: &mut Model) -> Result<Control> {
        if let Some(start) = self.0.take() {
            println!("epoch {} took {:.2} s", epoch + 1, start.elapsed().as_secs_f64());
        }
        Ok(Control::Continue)
    }
}

/// The front of both models: waveform `[8000]` in, standardized log-mel `[frames, 40]` out,
/// with the two augmentations that act in training only.
fn features(mean: f32, std: f32) -> Sequential {
    Sequential::new()
        .seed(1)
        .add(Input::new(&[8000]))
        .add(RandomTimeShift::new(Shift::Samples(800)).fill(ShiftFill::Roll))
        .add(MelSpectrogram::new(mel_options()))
        .add(Rescaling::new(1.0 / std).offset(-mean / std))
        .add(SpecAugment::new(5, 10))
}

/// Conv2D (no bias: the normalization has one) + BatchNormalization + ReLU.
fn conv_block(model: Sequential, filters: usize) -> Sequential {
    model
        .add(Conv2d::new(filters, [3, 3]).padding(Padding::Same).use_bias(false))
        .add(BatchNormalization::new())
        .add(ActivationLayer::new(Activation::Relu))
}

/// The convnet over the spectrogram as a one-channel image.
fn convnet(front: Sequential, frames: usize, bands: usize) -> Sequential {
    let mut model = front.add(Reshape::new(&[frames as isize, bands as isize, 1]));
    model = conv_block(model, 32).add(MaxPooling2d::new([2, 2]));
    model = conv_block(model, 64).add(MaxPooling2d::new([2, 2]));
    model = conv_block(model, 64);
    // A max over the remaining time steps, keeping the 10 band groups: [1, bands / 4, 64].
    model.add(MaxPooling2d::new([frames / 4, 1])).add(Flatten::new()).add(Dropout::new(0.3)).add(Dense::new(10))
}

/// The Conv1D model over the mel frames.
fn conv1d(front: Sequential) -> Sequential {
    let block = |model: Sequential, filters: usize| {
        model
            .add(Conv1d::new(filters, [5]).padding(Padding::Same).use_bias(false))
            .add(BatchNormalization::new())
            .add(ActivationLayer::new(Activation::Relu))
    };
    let mut model = block(front, 64).add(MaxPooling1d::new([2]));
    model = block(model, 128).add(MaxPooling1d::new([2]));
    model = block(model, 128);
    model.add(GlobalMaxPooling1d::new()).add(Dropout::new(0.3)).add(Dense::new(10))
}

fn main() -> Result<()> {
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("KENSHO_DATA").map(|d| PathBuf::from(d).join("spoken_digits")))
        .ok_or_else(|| {
            Error::invalid("spoken_digits", "no folder", "the spoken_digits folder as the first argument")
        })?;
    let manifest = dir.join("manifest.csv");
    let read = |split: &str| {
        let options = ManifestOptions::new("file", "digit").split("split", split).output_sequence_length(8000);
        load_audio_manifest(&manifest, &options)
    };
    let start = Instant::now();
    let (train, test) = (read("train")?, read("test")?);
    println!(
        "read {} + {} clips in {:.2} s",
        train.audio.shape()[0],
        test.audio.shape()[0],
        start.elapsed().as_secs_f64()
    );

    let (x_train, x_test) = (train.audio.reshape(&[-1, 8000])?, test.audio.reshape(&[-1, 8000])?);
    let start = Instant::now();
    let mel = mel_spectrogram(&x_train, &mel_options())?;
    let seconds = start.elapsed().as_secs_f64();
    let clips = x_train.shape()[0] as f64;
    println!("log-mel features {:?} in {seconds:.3} s ({:.0} clips/s)", mel.shape(), clips / seconds);
    // The training set's mean and deviation, over every value, as the PyTorch reference takes them.
    let mean = mel.mean_all();
    let centred = &mel - mean;
    let std = (&centred * &centred).mean_all().sqrt();
    let (frames, bands) = (mel.shape()[1], mel.shape()[2]);
    let y_train = train.labels.clone().expect("labelled");
    let y_test = test.labels.clone().expect("labelled");

    let mut results = Vec::new();
    let epochs = 30;
    let models = [("convnet", convnet(features(mean, std), frames, bands)), ("conv1d", conv1d(features(mean, std)))];
    for (name, model) in models {
        let mut model = model.into_model();
        model.compile(
            Adam::new(1e-3),
            losses::SparseCategoricalCrossentropy::from_logits(),
            vec![Box::new(metrics::Accuracy::new())],
        )?;
        println!("{}", model.summary());
        let mut timer = EpochTimer(None);
        let options =
            FitOptions { epochs, batch_size: 32, verbose: 2, callbacks: vec![&mut timer], ..Default::default() };
        let start = Instant::now();
        model.fit(&x_train, &y_train, options)?;
        let train_seconds = start.elapsed().as_secs_f64();
        let accuracy = model.evaluate_batched(&x_test, &y_test, 100)?.get("accuracy").unwrap_or(f32::NAN);
        println!("{name}: {epochs} epochs in {train_seconds:.1} s ({:.2} s per epoch)", train_seconds / epochs as f64);
        println!("{name} test accuracy: {accuracy:.4}");
        results.push((name, accuracy, model));
    }
    let (name, accuracy, best) = results.iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("two models");
    println!("test accuracy: {accuracy:.4} ({name})");
    let logits = best.predict_batched(&x_test, 100)?;
    let matrix = kensho::metrics::confusion_matrix(&y_test, &logits)?;
    println!("confusion matrix of the {name} (rows: true digit, columns: predicted):");
    for (digit, row) in matrix.to_vec().iter().enumerate() {
        let cells: Vec<String> = row.iter().map(|c| format!("{c:3}")).collect();
        println!("  {digit}: {}", cells.join(" "));
    }
    Ok(())
}
