//! The text classification report, laid out like scikit-learn's `classification_report`:
//! per-class precision, recall, f1-score and support, then accuracy, macro avg and weighted avg.

use std::fmt::Write;

use kensho_core::{Error, Result, Tensor};

use crate::confusion::ConfusionMatrix;
use crate::prf::{averaged, class_score, Average, Kind, ZeroDivision};

/// A text report of per-class precision, recall, F1 and support, plus accuracy, macro and
/// weighted averages, in scikit-learn's layout (undefined ratios are 0, as its default).
///
/// Classes are `0..C` as in [`precision_score`](crate::precision_score); `target_names` names
/// them in order (default: the class indices); `digits` is the number of decimals.
///
/// # Errors
/// Bad input (crate docs), or `target_names` whose length is not the number of classes.
///
/// ```
/// use kensho_core::Tensor;
/// let y = Tensor::from_vec(vec![0.0, 1.0, 1.0, 0.0], &[4])?;
/// let p = Tensor::from_vec(vec![0.0, 1.0, 0.0, 0.0], &[4])?;
/// let report = kensho_metrics::classification_report(&y, &p, Some(&["no", "yes"]), 2)?;
/// assert!(report.contains("         yes       1.00      0.50      0.67         2"));
/// assert!(report.contains("    accuracy                           0.75         4"));
/// # Ok::<(), kensho_metrics::Error>(())
/// ```
pub fn classification_report(
    y_true: &Tensor,
    y_pred: &Tensor,
    target_names: Option<&[&str]>,
    digits: usize,
) -> Result<String> {
    let metric = "classification_report";
    let n = crate::input::infer_num_classes(metric, y_true, y_pred)?;
    let mut cm = ConfusionMatrix::new(n);
    cm.update_as(metric, y_true, y_pred)?;
    report_from_confusion(&cm, target_names, digits)
}

/// The same report from an accumulated [`ConfusionMatrix`] (for example after streaming an epoch).
///
/// # Errors
/// `target_names` whose length is not the number of classes.
pub fn report_from_confusion(cm: &ConfusionMatrix, target_names: Option<&[&str]>, digits: usize) -> Result<String> {
    let n = cm.num_classes();
    let names: Vec<String> = match target_names {
        Some(names) if names.len() != n => {
            let expected = format!("{n} names, one per class");
            return Err(Error::invalid(
                "classification_report: target_names",
                format!("{} names", names.len()),
                expected,
            ));
        }
        Some(names) => names.iter().map(|s| s.to_string()).collect(),
        None => (0..n).map(|c| c.to_string()).collect(),
    };
    let zd = ZeroDivision::Zero;
    let kinds = [Kind::Precision, Kind::Recall, Kind::FBeta(1.0)];
    let width = names.iter().map(|s| s.chars().count()).max().unwrap_or(0).max("weighted avg".len()).max(digits);
    let total = cm.total();

    let mut out = format!("{:>width$} ", "");
    for h in ["precision", "recall", "f1-score", "support"] {
        let _ = write!(out, " {h:>9}");
    }
    out.push_str("\n\n");
    let row = |out: &mut String, name: &str, values: [f64; 3], support: u64| {
        let _ = write!(out, "{name:>width$} ");
        for v in values {
            let _ = write!(out, " {v:>9.digits$}");
        }
        let _ = writeln!(out, " {support:>9}");
    };
    for (c, name) in names.iter().enumerate() {
        row(&mut out, name, kinds.map(|k| class_score(cm, c, k, zd)), cm.support(c));
    }
    out.push('\n');
    let _ = writeln!(out, "{:>width$} {:>10}{:>10} {:>9.digits$} {total:>9}", "accuracy", "", "", cm.accuracy());
    for (name, average) in [("macro avg", Average::Macro), ("weighted avg", Average::Weighted)] {
        row(&mut out, name, kinds.map(|k| averaged(cm, k, average, zd)), total);
    }
    Ok(out)
}
