//! Callbacks: each one's behaviour, driven through `fit` where the behaviour is observable from
//! outside, and through its hooks with chosen logs where the exact epoch matters.

use kensho::data::datasets;
use kensho::optim::Sgd;
use kensho::prelude::*;

fn iris_model() -> Sequential {
    Sequential::new().add(Input::new(&[4])).add(Dense::new(8).activation(Activation::Relu)).add(Dense::new(3))
}

fn compiled(lr: f32) -> Sequential {
    let mut model = iris_model();
    model.compile(Sgd::new(lr), losses::SparseCategoricalCrossentropy::from_logits(), vec![]).unwrap();
    model
}

fn logs(name: &str, value: f32) -> Logs {
    let mut logs = Logs::new();
    logs.set(name, value);
    logs
}

/// Sets every weight of the model to `v`, so each epoch's weights are recognisable.
fn mark(model: &mut Model, v: f32) {
    let weights: Vec<Tensor> = model.get_weights().iter().map(|w| Tensor::full(w.shape(), v)).collect();
    model.set_weights(&weights).unwrap();
}

#[test]
fn early_stopping_stops_after_patience_epochs_and_restores_the_best_weights() {
    let mut model = compiled(0.1);
    let mut stop = EarlyStopping::new("val_loss").patience(2).restore_best_weights(true);
    stop.on_train_begin(&mut model).unwrap();
    let losses = [1.0, 0.5, 0.7, 0.6, 0.8];
    let mut stopped_at = None;
    for (epoch, &loss) in losses.iter().enumerate() {
        mark(&mut model, epoch as f32);
        if stop.on_epoch_end(epoch, &logs("val_loss", loss), &mut model).unwrap() == Control::Stop {
            stopped_at = Some(epoch);
            break;
        }
    }
    // Best at epoch 1; epochs 2 and 3 do not improve: patience 2 is used up at epoch 3.
    assert_eq!(stopped_at, Some(3));
    assert_eq!(stop.stopped_epoch, Some(3));
    assert_eq!(stop.best_epoch, Some(1));
    stop.on_train_end(&History::default(), &mut model).unwrap();
    assert!(model.get_weights().iter().all(|w| w.to_vec().iter().all(|&v| v == 1.0)), "best weights not restored");
}

#[test]
fn early_stopping_in_fit_ends_training_early_on_a_plateau() {
    let (x, y) = datasets::iris();
    // A learning rate of 0 keeps the loss constant: no epoch after the first improves.
    let mut model = compiled(0.0);
    let mut stop = EarlyStopping::new("loss").patience(3);
    let options = FitOptions { epochs: 50, verbose: 0, callbacks: vec![&mut stop], ..Default::default() };
    let history = model.fit(&x, &y, options).unwrap();
    assert_eq!(history.len(), 4);
    assert_eq!(stop.stopped_epoch, Some(3));
}

#[test]
fn early_stopping_mode_follows_the_figure() {
    let mut model = compiled(0.1);
    let mut stop = EarlyStopping::new("val_accuracy").patience(0);
    stop.on_train_begin(&mut model).unwrap();
    assert_eq!(stop.on_epoch_end(0, &logs("val_accuracy", 0.5), &mut model).unwrap(), Control::Continue);
    assert_eq!(stop.on_epoch_end(1, &logs("val_accuracy", 0.6), &mut model).unwrap(), Control::Continue);
    assert_eq!(stop.on_epoch_end(2, &logs("val_accuracy", 0.55), &mut model).unwrap(), Control::Stop);
    let err = stop.on_epoch_end(3, &logs("loss", 1.0), &mut model).unwrap_err().to_string();
    assert!(err.contains("val_accuracy") && err.contains("validation"), "{err}");
}

#[test]
fn reduce_lr_on_plateau_multiplies_the_rate_after_patience_then_cools_down() {
    let mut model = compiled(0.1);
    let mut reduce = ReduceLROnPlateau::new("val_loss").factor(0.5).patience(2).cooldown(1).min_lr(0.02);
    let losses = [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0];
    let mut rates = Vec::new();
    for (epoch, &loss) in losses.iter().enumerate() {
        reduce.on_epoch_end(epoch, &logs("val_loss", loss), &mut model).unwrap();
        rates.push(model.learning_rate().unwrap());
    }
    // Traced by hand through Keras 3's ReduceLROnPlateau.on_epoch_end: epoch 0 sets the best;
    // epochs 1, 2 wait: halve at 2. Epoch 3 ends the cooldown and, no longer in cooldown, counts
    // as a wait; epoch 4 halves again. Epoch 5 cools down and waits, epoch 6 would halve to
    // 0.0125 but min_lr holds it at 0.02.
    assert_eq!(rates, vec![0.1, 0.1, 0.05, 0.05, 0.025, 0.025, 0.02, 0.02]);
}

#[test]
fn learning_rate_scheduler_sets_the_rate_before_each_epoch() {
    let (x, y) = datasets::iris();
    let mut model = compiled(0.1);
    let mut seen = Vec::new();
    let mut scheduler = LearningRateScheduler::new(|epoch, lr| if epoch == 0 { lr } else { lr * 0.5 });
    struct Spy<'a>(&'a mut Vec<f32>);
    impl Callback for Spy<'_> {
        fn on_epoch_end(&mut self, _: usize, _: &Logs, model: &mut Model) -> kensho::Result<Control> {
            self.0.push(model.learning_rate()?);
            Ok(Control::Continue)
        }
    }
    let mut spy = Spy(&mut seen);
    let options = FitOptions { epochs: 3, verbose: 0, callbacks: vec![&mut scheduler, &mut spy], ..Default::default() };
    model.fit(&x, &y, options).unwrap();
    assert_eq!(seen, vec![0.1, 0.05, 0.025]);
}

#[test]
fn csv_logger_writes_one_row_per_epoch_with_the_history_values() {
    let (x, y) = datasets::iris();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.csv");
    let mut model = compiled(0.05);
    let mut logger = CsvLogger::new(&path);
    let options =
        FitOptions { epochs: 3, verbose: 0, validation_split: 0.2, callbacks: vec![&mut logger], ..Default::default() };
    let history = model.fit(&x, &y, options).unwrap();
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "epoch,loss,val_loss");
    assert_eq!(lines.len(), 4);
    let row: Vec<f32> = lines[2].split(',').map(|v| v.parse().unwrap()).collect();
    assert_eq!(row, vec![1.0, history.get("loss").unwrap()[1], history.get("val_loss").unwrap()[1]]);
}

#[test]
fn terminate_on_nan_stops_at_the_first_non_finite_loss() {
    let x = Tensor::full(&[64, 4], 1e3);
    let y = Tensor::full(&[64, 1], 1e3);
    let mut model = Sequential::new().add(Input::new(&[4])).add(Dense::new(1));
    // A metric that rejects NaN predictions: batches with a non-finite loss skip the metrics, so
    // the callback, not a metric error, ends training.
    model
        .compile(Sgd::new(1e6), losses::MeanSquaredError, vec![Box::new(metrics::RootMeanSquaredError::new())])
        .unwrap();
    let mut guard = TerminateOnNaN::new();
    let options =
        FitOptions { epochs: 20, batch_size: 8, verbose: 0, callbacks: vec![&mut guard], ..Default::default() };
    let history = model.fit(&x, &y, options).unwrap();
    let (epoch, _batch) = guard.terminated_at.expect("the loss diverges");
    assert_eq!(history.len(), epoch + 1, "training went on after the NaN");
    assert!(history.len() < 20);
}

#[test]
fn hooks_are_called_in_keras_order() {
    #[derive(Default)]
    struct Recorder(Vec<String>);
    impl Callback for Recorder {
        fn on_train_begin(&mut self, _: &mut Model) -> kensho::Result<()> {
            self.0.push("train_begin".into());
            Ok(())
        }
        fn on_epoch_begin(&mut self, epoch: usize, _: &mut Model) -> kensho::Result<()> {
            self.0.push(format!("epoch_begin {epoch}"));
            Ok(())
        }
        fn on_batch_begin(&mut self, epoch: usize, batch: usize) {
            self.0.push(format!("batch_begin {epoch}.{batch}"));
        }
        fn on_batch_end(&mut self, epoch: usize, batch: usize, logs: &Logs) -> Control {
            assert!(logs.get("loss").is_some());
            self.0.push(format!("batch_end {epoch}.{batch}"));
            Control::Continue
        }
        fn on_epoch_end(&mut self, epoch: usize, _: &Logs, _: &mut Model) -> kensho::Result<Control> {
            self.0.push(format!("epoch_end {epoch}"));
            Ok(Control::Continue)
        }
        fn on_train_end(&mut self, history: &History, _: &mut Model) -> kensho::Result<()> {
            self.0.push(format!("train_end {}", history.len()));
            Ok(())
        }
    }
    let x = Tensor::zeros(&[6, 4]);
    let y = Tensor::zeros(&[6]);
    let mut model = compiled(0.1);
    let mut recorder = Recorder::default();
    let options =
        FitOptions { epochs: 2, batch_size: 4, verbose: 0, callbacks: vec![&mut recorder], ..Default::default() };
    model.fit(&x, &y, options).unwrap();
    let expected = [
        "train_begin",
        "epoch_begin 0",
        "batch_begin 0.0",
        "batch_end 0.0",
        "batch_begin 0.1",
        "batch_end 0.1",
        "epoch_end 0",
        "epoch_begin 1",
        "batch_begin 1.0",
        "batch_end 1.0",
        "batch_begin 1.1",
        "batch_end 1.1",
        "epoch_end 1",
        "train_end 2",
    ];
    assert_eq!(recorder.0, expected);
}
