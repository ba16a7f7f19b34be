//! The TensorBoard callback's event files, read back with a reader written here (TFRecord
//! framing and a bitwise CRC-32C, independent of the crate the writer uses) and decoded with
//! the callback's protocol-buffer structs: record count, checksums, and the tags and values at
//! each step.

use kensho::callbacks::tensorboard::proto::{Data, Event, What};
use kensho::prelude::*;
use prost::Message;
use std::path::{Path, PathBuf};

/// CRC-32C (Castagnoli), bit by bit from the reflected polynomial 0x82F63B78.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0x82F6_3B78 } else { crc >> 1 };
        }
    }
    !crc
}

fn masked(bytes: &[u8]) -> u32 {
    let crc = crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8) // (crc >> 15) | (crc << 17), plus the constant
}

/// Splits a TFRecord file into its payloads, checking both checksums of every record.
fn read_records(bytes: &[u8]) -> std::result::Result<Vec<Vec<u8>>, String> {
    let mut records = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let header = bytes.get(at..at + 12).ok_or(format!("truncated header at {at}"))?;
        let len = u64::from_le_bytes(header[..8].try_into().unwrap()) as usize;
        if u32::from_le_bytes(header[8..].try_into().unwrap()) != masked(&header[..8]) {
            return Err(format!("length crc mismatch at {at}"));
        }
        let data = bytes.get(at + 12..at + 12 + len).ok_or(format!("truncated data at {at}"))?;
        let crc = bytes.get(at + 12 + len..at + 16 + len).ok_or(format!("truncated crc at {at}"))?;
        if u32::from_le_bytes(crc.try_into().unwrap()) != masked(data) {
            return Err(format!("data crc mismatch at {at}"));
        }
        records.push(data.to_vec());
        at += 16 + len;
    }
    Ok(records)
}

/// The one event file in `dir`, checked for TensorFlow 2's name pattern.
fn event_file(dir: &Path) -> PathBuf {
    let files: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    let parts: Vec<&str> = name.split('.').collect();
    assert!(name.starts_with("events.out.tfevents.") && name.ends_with(".v2"), "{name}");
    assert!(parts[3].len() == 10 && parts[3].parse::<u64>().is_ok(), "{name}");
    assert_eq!(parts[parts.len() - 3], std::process::id().to_string(), "{name}");
    files[0].clone()
}

fn events(dir: &Path) -> Vec<Event> {
    let bytes = std::fs::read(event_file(dir)).unwrap();
    read_records(&bytes).unwrap().iter().map(|r| Event::decode(r.as_slice()).unwrap()).collect()
}

/// `(step, tag, value)` of every scalar.
fn scalars(events: &[Event]) -> Vec<(i64, String, f32)> {
    let mut out = Vec::new();
    for e in events {
        if let Some(What::Summary(s)) = &e.what {
            for v in &s.value {
                if let Some(Data::SimpleValue(x)) = v.data {
                    out.push((e.step, v.tag.clone(), x));
                }
            }
        }
    }
    out
}

/// Records each batch's loss, to compare with the `batch_loss` scalars.
#[derive(Default)]
pub(crate) struct BatchLosses(Vec<f32>);

impl Callback for BatchLosses {
    fn on_batch_end(&mut self, _epoch: usize, _batch: usize, logs: &Logs) -> Control {
        self.0.push(logs.get("loss").unwrap());
        Control::Continue
    }
}

/// 8 training samples in batches of 2 (4 batches an epoch), 3 epochs, validation data; returns
/// the model, its history and the loss of every batch.
pub(crate) fn tiny_fit(log_dir: &Path, board: TensorBoard) -> (Sequential, History, Vec<f32>) {
    let mut rng = kensho::core::seeded_rng(4);
    let x = Tensor::rand_uniform(&[8, 3], -1.0, 1.0, &mut rng);
    let y: Vec<f32> = x.to_vec().chunks(3).map(|r| (r[0] + r[1] > 0.0) as u8 as f32).collect();
    let y = Tensor::from_vec(y, &[8, 1]).unwrap();
    let (vx, vy) = (x.clone() * 0.5, y.clone());
    let mut model = Sequential::new()
        .seed(2)
        .add(Input::new(&[3]))
        .add(Dense::new(4).activation(Activation::Tanh))
        .add(Dense::new(1).activation(Activation::Sigmoid));
    model
        .compile(Adam::new(0.02), losses::BinaryCrossentropy::new(), vec![Box::new(metrics::BinaryAccuracy::new(0.5))])
        .unwrap();
    let mut board = board;
    assert_eq!(board.log_dir(), log_dir);
    let mut batches = BatchLosses::default();
    let options = FitOptions {
        epochs: 3,
        batch_size: 2,
        verbose: 0,
        validation_data: Some((&vx, &vy)),
        callbacks: vec![&mut board, &mut batches],
        ..Default::default()
    };
    let history = model.fit(&x, &y, options).unwrap();
    (model, history, batches.0)
}

#[test]
fn tensorboard_writes_keras_tags_per_run_and_step() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let board = TensorBoard::new(&logs).histogram_freq(2).update_freq(UpdateFreq::Batches(5));
    let (model, history, batch_losses) = tiny_fit(&logs, board);
    assert_eq!(batch_losses.len(), 12);

    // train: file version, model summary, 2 batch events (steps 5, 10), 3 epoch events.
    let train = events(&logs.join("train"));
    assert_eq!(train.len(), 7);
    assert_eq!(train[0].what, Some(What::FileVersion("brain.Event:2".into())));
    let Some(What::Summary(text)) = &train[1].what else { panic!("no summary: {:?}", train[1]) };
    assert_eq!(text.value[0].tag, "model_summary");
    assert_eq!(text.value[0].metadata.as_ref().unwrap().plugin_data.as_ref().unwrap().plugin_name, "text");
    let Some(Data::Tensor(t)) = &text.value[0].data else { panic!("no tensor") };
    assert_eq!(t.dtype, 7);
    assert!(String::from_utf8(t.string_val[0].clone()).unwrap().contains("Total params"));

    let mut expected = vec![(5, "batch_loss".to_string(), batch_losses[4]), (10, "batch_loss".into(), batch_losses[9])];
    for epoch in 0..3 {
        expected.push((epoch, "epoch_loss".into(), history.get("loss").unwrap()[epoch as usize]));
        expected.push((epoch, "epoch_binary_accuracy".into(), history.get("binary_accuracy").unwrap()[epoch as usize]));
        expected.push((epoch, "epoch_learning_rate".into(), 0.02));
    }
    let mut got = scalars(&train);
    got.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    expected.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
    assert_eq!(got, expected);

    // Histograms at epochs 0 and 2, one per weight; the last one describes the final weights.
    let histo_steps: Vec<(i64, String)> = train
        .iter()
        .filter_map(|e| match &e.what {
            Some(What::Summary(s)) => Some(
                s.value
                    .iter()
                    .filter(|v| matches!(v.data, Some(Data::Histo(_))))
                    .map(|v| (e.step, v.tag.clone()))
                    .collect::<Vec<_>>(),
            ),
            _ => None,
        })
        .flatten()
        .collect();
    let tags = ["dense/kernel/histogram", "dense/bias/histogram", "dense_1/kernel/histogram", "dense_1/bias/histogram"];
    let expected_histos: Vec<(i64, String)> =
        [0, 2].iter().flat_map(|&s| tags.iter().map(move |t| (s, t.to_string()))).collect();
    assert_eq!(histo_steps, expected_histos);
    let Some(What::Summary(last)) = &train[6].what else { panic!() };
    let kernel = model.weights().into_iter().find(|p| p.name() == "dense.kernel").unwrap().value.to_vec();
    let h = last.value.iter().find_map(|v| match (&v.tag[..], &v.data) {
        ("dense/kernel/histogram", Some(Data::Histo(h))) => Some(h.clone()),
        _ => None,
    });
    let h = h.unwrap();
    assert_eq!(h.num, 12.0);
    assert_eq!(h.bucket.iter().sum::<f64>(), 12.0);
    assert_eq!(h.bucket.len(), 30);
    assert_eq!(h.min, kernel.iter().copied().fold(f32::INFINITY, f32::min) as f64);
    assert_eq!(h.max, kernel.iter().copied().fold(f32::NEG_INFINITY, f32::max) as f64);
    assert!((h.sum - kernel.iter().map(|&v| v as f64).sum::<f64>()).abs() < 1e-9);
    assert_eq!(*h.bucket_limit.last().unwrap(), h.max);

    // validation: file version, then per epoch the figures without `val_` and Keras'
    // evaluation_*_vs_iterations at the number of batches trained (4 per epoch).
    let validation = events(&logs.join("validation"));
    assert_eq!(validation.len(), 7);
    let mut expected = Vec::new();
    for epoch in 0..3i64 {
        let loss = history.get("val_loss").unwrap()[epoch as usize];
        let acc = history.get("val_binary_accuracy").unwrap()[epoch as usize];
        expected.push((epoch, "epoch_loss".to_string(), loss));
        expected.push((epoch, "epoch_binary_accuracy".into(), acc));
        expected.push((4 * (epoch + 1), "evaluation_loss_vs_iterations".into(), loss));
        expected.push((4 * (epoch + 1), "evaluation_binary_accuracy_vs_iterations".into(), acc));
    }
    assert_eq!(scalars(&validation), expected);
}

#[test]
fn a_flipped_byte_fails_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    tiny_fit(&logs, TensorBoard::new(&logs).write_graph(false));
    let bytes = std::fs::read(event_file(&logs.join("train"))).unwrap();
    assert_eq!(read_records(&bytes).unwrap().len(), 4);
    // A byte of the first payload, then a byte of the first length.
    for at in [14, 3] {
        let mut bad = bytes.clone();
        bad[at] ^= 0x20;
        let err = read_records(&bad).unwrap_err();
        assert!(err.contains("crc mismatch"), "{err}");
    }
}

#[test]
fn an_unwritable_log_dir_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not_a_dir");
    std::fs::write(&blocker, "x").unwrap();
    let x = Tensor::zeros(&[4, 2]);
    let y = Tensor::zeros(&[4, 1]);
    let mut model = Sequential::new().add(Input::new(&[2])).add(Dense::new(1));
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    let mut board = TensorBoard::new(blocker.join("logs"));
    let options = FitOptions { verbose: 0, callbacks: vec![&mut board], ..Default::default() };
    let err = model.fit(&x, &y, options).unwrap_err();
    assert!(matches!(err, Error::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("not_a_dir"), "{err}");

    let mut model = Sequential::new().add(Input::new(&[2])).add(Dense::new(1));
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    let mut board = TensorBoard::new(dir.path().join("ok")).update_freq(UpdateFreq::Batches(0));
    let options = FitOptions { verbose: 0, callbacks: vec![&mut board], ..Default::default() };
    let err = model.fit(&x, &y, options).unwrap_err();
    assert!(err.to_string().contains("update_freq"), "{err}");
}

#[test]
fn each_fit_starts_a_new_event_file() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let x = Tensor::zeros(&[4, 2]);
    let y = Tensor::zeros(&[4, 1]);
    let mut model = Sequential::new().add(Input::new(&[2])).add(Dense::new(1));
    model.compile(Sgd::new(0.1), losses::MeanSquaredError, vec![]).unwrap();
    let mut board = TensorBoard::new(&logs).write_graph(false);
    for _ in 0..2 {
        let options = FitOptions { epochs: 2, verbose: 0, callbacks: vec![&mut board], ..Default::default() };
        model.fit(&x, &y, options).unwrap();
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(logs.join("train")).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    assert_eq!(files.len(), 2, "{files:?}");
    for file in &files {
        let records = read_records(&std::fs::read(file).unwrap()).unwrap();
        // The file version and one event per epoch; no validation data, so no validation folder.
        assert_eq!(records.len(), 3);
    }
    assert!(!logs.join("validation").exists());
}
