//! The whole path a practitioner walks, on the wine data set (178 samples, 13 features, 3
//! cultivars) read from its CSV file: load, standardise, split, train with early stopping,
//! evaluate, save the model and the scaler, load both back and predict on new rows (deploy).
//!
//! Run: `cargo run --release --example wine_end_to_end`

use kensho::data::{load_csv, train_test_split, CsvOptions, SplitOptions, StandardScaler, Transformer};
use kensho::prelude::*;
use std::path::Path;

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    // 1. Load: the target column is chosen by name; every other column is a numeric feature.
    let csv = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/datasets/wine/wine.csv");
    let data = load_csv(&csv, &CsvOptions::new("target"))?;
    println!("{} samples, features: {}", data.x.shape()[0], data.feature_names.join(", "));

    // 2. Preprocess: split first, then fit the scaler on the training part only.
    let (x_train, x_test, y_train, y_test) =
        train_test_split(&data.x, &data.y, SplitOptions { test_size: 0.25, seed: 7, stratify: true })?;
    let mut scaler = StandardScaler::new();
    let x_train = scaler.fit_transform(&x_train)?;
    let x_test = scaler.transform(&x_test)?;

    // 3. Build and train, stopping when the validation loss stops improving.
    let mut model = Sequential::new()
        .seed(7)
        .add(Input::new(&[13]))
        .add(Dense::new(32).activation(Activation::Relu))
        .add(Dropout::new(0.2))
        .add(Dense::new(3).activation(Activation::Softmax));
    model.compile(
        Adam::new(1e-2),
        losses::SparseCategoricalCrossentropy::new(),
        vec![Box::new(metrics::Accuracy::new()), Box::new(metrics::F1Score::new(3, metrics::Average::Macro))],
    )?;
    let mut stop = EarlyStopping::new("val_loss").patience(10).restore_best_weights(true);
    let options = FitOptions {
        epochs: 200,
        batch_size: 16,
        validation_split: 0.2,
        verbose: 2,
        callbacks: vec![&mut stop],
        ..Default::default()
    };
    let history = model.fit(&x_train, &y_train, options)?;
    println!("trained {} epochs (best: {:?})", history.len(), stop.best_epoch.map(|e| e + 1));

    // 4. Evaluate on the held-out quarter.
    println!("test: {}", model.evaluate(&x_test, &y_test)?);

    // 5. Save the model (architecture, weights, optimizer) and the scaler beside it.
    let dir = std::env::temp_dir().join("kensho-wine");
    std::fs::create_dir_all(&dir)?;
    model.save(dir.join("model.safetensors"))?;
    scaler.save(dir.join("scaler.json"))?;

    // 6. Deploy: load both and predict on raw, unscaled rows.
    let restored = kensho::load_model(dir.join("model.safetensors"))?;
    let scaler = StandardScaler::load(dir.join("scaler.json"))?;
    let rows = [0, 70, 150];
    let new_rows = data.x.index_select(0, &rows);
    let probabilities = restored.predict(&scaler.transform(&new_rows)?)?;
    assert_eq!(probabilities, model.predict(&scaler.transform(&new_rows)?)?, "the loaded model predicts identically");
    let classes: Vec<usize> = probabilities.argmax_indices(1); // the most probable class of each row
    for ((row, class), p) in rows.iter().zip(classes).zip(probabilities.to_vec().chunks(3)) {
        println!("row {row}: cultivar {class} (probabilities {p:.3?}), true {}", data.y.to_vec()[*row]);
    }
    println!("saved to {}", dir.display());
    Ok(())
}
