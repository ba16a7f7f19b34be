//! Metrics compiled into a model: shown under Keras names in History and `evaluate`, equal to
//! the one-shot functions on the same predictions.

use kensho::data::{datasets, train_test_split, SplitOptions, StandardScaler, Transformer};
use kensho::prelude::*;

#[test]
fn evaluate_reports_accuracy_and_macro_scores_equal_to_the_one_shot_functions() {
    let (x, y) = datasets::digits();
    let (x_train, x_test, y_train, y_test) =
        train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 1, stratify: true }).unwrap();
    let mut scaler = StandardScaler::new();
    let x_train = scaler.fit_transform(&x_train).unwrap();
    let x_test = scaler.transform(&x_test).unwrap();
    let mut model = Sequential::new()
        .seed(3)
        .add(Input::new(&[64]))
        .add(Dense::new(32).activation(Activation::Relu))
        .add(Dense::new(10).activation(Activation::Softmax));
    model
        .compile(
            Adam::new(2e-3),
            losses::SparseCategoricalCrossentropy::new(),
            vec![
                Box::new(metrics::Accuracy::new()),
                Box::new(metrics::Precision::new(10, metrics::Average::Macro)),
                Box::new(metrics::Recall::new(10, metrics::Average::Macro)),
                Box::new(metrics::F1Score::new(10, metrics::Average::Macro)),
            ],
        )
        .unwrap();
    let options = FitOptions { epochs: 10, verbose: 0, validation_split: 0.1, ..Default::default() };
    let history = model.fit(&x_train, &y_train, options).unwrap();
    for name in ["loss", "accuracy", "precision", "recall", "f1_score", "val_loss", "val_accuracy", "val_f1_score"] {
        assert_eq!(history.get(name).map(<[f32]>::len), Some(10), "{name} missing from {:?}", history.names());
    }

    let logs = model.evaluate(&x_test, &y_test).unwrap();
    let predictions = model.predict(&x_test).unwrap();
    let zero = metrics::ZeroDivision::Zero;
    let close = |name: &str, want: f32| {
        let got = logs.get(name).unwrap();
        assert!((got - want).abs() < 1e-6, "{name}: evaluate {got} vs one-shot {want}");
    };
    close("accuracy", metrics::accuracy_score(&y_test, &predictions).unwrap());
    close("precision", metrics::precision_score(&y_test, &predictions, metrics::Average::Macro, zero).unwrap());
    close("recall", metrics::recall_score(&y_test, &predictions, metrics::Average::Macro, zero).unwrap());
    close("f1_score", metrics::f1_score(&y_test, &predictions, metrics::Average::Macro, zero).unwrap());
    assert!(logs.get("accuracy").unwrap() > 0.9, "{logs}");
    let report = metrics::classification_report(&y_test, &predictions, None, 4).unwrap();
    assert!(report.contains("macro avg") && report.contains("weighted avg"), "{report}");
}
