//! Label encodings: [`to_categorical`] (Keras), [`OneHotEncoder`] for numeric categories and
//! [`LabelEncoder`] for string labels (scikit-learn), serde-serializable once fitted.

use kensho_core::{Error, Result, Tensor};
use serde::{Deserialize, Serialize};

use crate::persist::CheckState;

/// The largest class index an `f32` label holds exactly (2^24).
const MAX_EXACT_LABEL: f32 = 16_777_216.0;

/// One-hot encodes integer class indices, as Keras' `to_categorical`: a `[..]` tensor of class
/// indices becomes `[.., num_classes]`. With `num_classes = None` it is `max(labels) + 1`.
///
/// # Errors
/// A label that is negative, not an integer, above 2^24 (where `f32` no longer holds every
/// integer, so a stray `1e9` cannot ask for gigabytes of columns), or `>= num_classes`; a result
/// whose size overflows (checked before allocating).
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::to_categorical;
/// let y = Tensor::from_vec(vec![2.0, 0.0], &[2])?;
/// assert_eq!(to_categorical(&y, Some(3))?.to_vec(), vec![0.0, 0.0, 1.0, 1.0, 0.0, 0.0]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub fn to_categorical(labels: &Tensor, num_classes: Option<usize>) -> Result<Tensor> {
    let values = labels.to_vec();
    let mut classes = Vec::with_capacity(values.len());
    for (i, &v) in values.iter().enumerate() {
        if v < 0.0 || v.fract() != 0.0 || !v.is_finite() || v > MAX_EXACT_LABEL {
            return Err(Error::invalid(
                format!("to_categorical: label at flat index {i}"),
                v,
                "a class index 0, 1, 2, ... up to 2^24 (the integers f32 holds exactly)",
            ));
        }
        classes.push(v as usize);
    }
    let k = num_classes.unwrap_or_else(|| classes.iter().max().map_or(0, |m| m + 1));
    if let Some((i, c)) = classes.iter().enumerate().find(|&(_, &c)| c >= k) {
        return Err(Error::invalid(
            format!("to_categorical: label at flat index {i}"),
            c,
            format!("a class index below num_classes = {k}"),
        ));
    }
    let out_shape = [labels.shape(), &[k]].concat();
    Tensor::element_count(&out_shape).map_err(|e| {
        Error::invalid(
            "to_categorical: num_classes",
            format!("{k} classes for {} labels ({e})", classes.len()),
            "a number of classes whose one-hot table fits in memory: is a label mistyped?",
        )
    })?;
    let mut out = vec![0.0; classes.len() * k];
    classes.iter().enumerate().for_each(|(i, &c)| out[i * k + c] = 1.0);
    Tensor::from_vec(out, &out_shape)
}

/// One-hot encoder for one column of numeric categories (scikit-learn's `OneHotEncoder` with
/// `handle_unknown="error"`): `fit` learns the sorted distinct values, `transform` maps `[n]`
/// (or `[n, 1]`) to `[n, categories]`, `inverse_transform` maps rows back by their largest entry.
///
/// ```
/// use kensho_core::Tensor;
/// use kensho_data::OneHotEncoder;
/// let y = Tensor::from_vec(vec![10.0, 30.0, 10.0], &[3])?;
/// let mut enc = OneHotEncoder::new();
/// let onehot = enc.fit_transform(&y)?;
/// assert_eq!(onehot.to_vec(), vec![1.0, 0.0, 0.0, 1.0, 1.0, 0.0]);
/// assert_eq!(enc.inverse_transform(&onehot)?.to_vec(), y.to_vec());
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct OneHotEncoder {
    categories: Option<Vec<f32>>,
}

fn column(x: &Tensor, op: &str) -> Result<Vec<f32>> {
    match x.shape() {
        [_] | [_, 1] => Ok(x.to_vec()),
        s => Err(Error::shape(op, "one column of categories, [n] or [n, 1]", s)),
    }
}

impl OneHotEncoder {
    /// An unfitted encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The learned categories, sorted (`None` before `fit`).
    pub fn categories(&self) -> Option<&[f32]> {
        self.categories.as_deref()
    }

    /// Learns the distinct values of `x` (`[n]` or `[n, 1]`).
    ///
    /// # Errors
    /// Another shape, no values, or a NaN value.
    pub fn fit(&mut self, x: &Tensor) -> Result<()> {
        let mut cats = column(x, "OneHotEncoder::fit")?;
        if cats.is_empty() {
            return Err(Error::shape("OneHotEncoder::fit", "at least one value to learn categories from", x.shape()));
        }
        if cats.iter().any(|v| v.is_nan()) {
            return Err(Error::invalid("OneHotEncoder::fit: category", "NaN", "numbers (fill missing values first)"));
        }
        cats.sort_by(f32::total_cmp);
        cats.dedup();
        self.categories = Some(cats);
        Ok(())
    }

    /// One-hot rows `[n, categories]` for the values of `x`.
    ///
    /// # Errors
    /// Not fitted, wrong shape, or a value not seen by `fit`.
    pub fn transform(&self, x: &Tensor) -> Result<Tensor> {
        let cats = self.fitted("OneHotEncoder::transform")?;
        let values = column(x, "OneHotEncoder::transform")?;
        let mut out = vec![0.0; values.len() * cats.len()];
        for (i, v) in values.iter().enumerate() {
            let j = cats.binary_search_by(|c| c.total_cmp(v)).map_err(|_| {
                Error::invalid(
                    format!("OneHotEncoder::transform: row {i}"),
                    v,
                    format!("one of the fitted categories {cats:?}"),
                )
            })?;
            out[i * cats.len() + j] = 1.0;
        }
        Tensor::from_vec(out, &[values.len(), cats.len()])
    }

    /// `fit(x)` then `transform(x)`.
    ///
    /// # Errors
    /// As [`OneHotEncoder::fit`].
    pub fn fit_transform(&mut self, x: &Tensor) -> Result<Tensor> {
        self.fit(x)?;
        self.transform(x)
    }

    /// The category of each row of `onehot` `[n, categories]` (its largest entry), as `[n]`.
    ///
    /// # Errors
    /// Not fitted, or a shape other than `[n, categories]`.
    pub fn inverse_transform(&self, onehot: &Tensor) -> Result<Tensor> {
        let cats = self.fitted("OneHotEncoder::inverse_transform")?;
        match onehot.shape() {
            &[_, k] if k == cats.len() => {}
            s => return Err(Error::shape("OneHotEncoder::inverse_transform", format!("[n, {}]", cats.len()), s)),
        }
        let idx = onehot.argmax_indices(1);
        Tensor::from_vec(idx.iter().map(|&j| cats[j]).collect(), &[idx.len()])
    }

    fn fitted(&self, op: &str) -> Result<&[f32]> {
        self.categories.as_deref().ok_or_else(|| Error::invalid(op, "an unfitted encoder", "call fit first"))
    }
}

impl CheckState for OneHotEncoder {
    fn check_state(&self) -> std::result::Result<(), String> {
        let cats = match self.categories.as_deref() {
            Some([]) => return Err("no categories, expected at least one (an encoder fitted on values)".to_string()),
            Some(cats) => cats,
            None => return Ok(()),
        };
        if let Some(v) = cats.iter().find(|v| v.is_nan()) {
            return Err(format!("category {v}, expected numbers"));
        }
        match cats.windows(2).find(|w| w[0].total_cmp(&w[1]) != std::cmp::Ordering::Less) {
            Some(w) => Err(format!("categories {} then {}, expected distinct values in increasing order", w[0], w[1])),
            None => Ok(()),
        }
    }
}

/// Maps string labels to class indices `0..classes` (sorted, as scikit-learn's `LabelEncoder`)
/// and back.
///
/// ```
/// use kensho_data::LabelEncoder;
/// let mut enc = LabelEncoder::new();
/// let y = enc.fit_transform(&["cat", "dog", "cat", "ant"])?;
/// assert_eq!(enc.classes(), &["ant", "cat", "dog"]);
/// assert_eq!(y.to_vec(), vec![1.0, 2.0, 1.0, 0.0]);
/// assert_eq!(enc.inverse_transform(&y)?, vec!["cat", "dog", "cat", "ant"]);
/// # Ok::<(), kensho_core::Error>(())
/// ```
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct LabelEncoder {
    classes: Vec<String>,
}

impl LabelEncoder {
    /// An unfitted encoder.
    pub fn new() -> Self {
        Self::default()
    }

    /// The learned classes in index order (empty before `fit`).
    pub fn classes(&self) -> &[String] {
        &self.classes
    }

    /// Learns the distinct labels, sorted.
    pub fn fit<S: AsRef<str>>(&mut self, labels: &[S]) {
        let mut classes: Vec<String> = labels.iter().map(|s| s.as_ref().to_string()).collect();
        classes.sort();
        classes.dedup();
        self.classes = classes;
    }

    /// The class index of one label.
    ///
    /// # Errors
    /// A label not seen by `fit`.
    pub fn index_of(&self, label: &str) -> Result<usize> {
        self.classes.binary_search_by(|c| c.as_str().cmp(label)).map_err(|_| {
            Error::invalid(
                "LabelEncoder: label",
                format!("{label:?}"),
                format!("one of the fitted classes {:?}", self.classes),
            )
        })
    }

    /// The class indices of `labels` as a `[n]` tensor.
    ///
    /// # Errors
    /// A label not seen by `fit` (including any label before `fit`).
    pub fn transform<S: AsRef<str>>(&self, labels: &[S]) -> Result<Tensor> {
        let idx = labels.iter().map(|s| self.index_of(s.as_ref()).map(|i| i as f32)).collect::<Result<Vec<_>>>()?;
        Tensor::from_vec(idx, &[labels.len()])
    }

    /// `fit(labels)` then `transform(labels)`.
    ///
    /// # Errors
    /// None in practice; `Result` for symmetry with `transform`.
    pub fn fit_transform<S: AsRef<str>>(&mut self, labels: &[S]) -> Result<Tensor> {
        self.fit(labels);
        self.transform(labels)
    }

    /// The labels of class indices `[n]`.
    ///
    /// # Errors
    /// An index that is not an integer in `0..classes`.
    pub fn inverse_transform(&self, indices: &Tensor) -> Result<Vec<String>> {
        indices
            .to_vec()
            .into_iter()
            .map(|v| {
                let ok = v >= 0.0 && v.fract() == 0.0 && (v as usize) < self.classes.len();
                ok.then(|| self.classes[v as usize].clone()).ok_or_else(|| {
                    Error::invalid("LabelEncoder::inverse_transform: index", v, format!("0..{}", self.classes.len()))
                })
            })
            .collect()
    }
}

impl CheckState for LabelEncoder {
    fn check_state(&self) -> std::result::Result<(), String> {
        match self.classes.windows(2).find(|w| w[0] >= w[1]) {
            Some(w) => Err(format!("classes {:?} then {:?}, expected distinct labels in sorted order", w[0], w[1])),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn to_categorical_infers_classes_and_keeps_leading_shape() {
        let y = Tensor::from_vec(vec![0.0, 1.0, 3.0, 1.0], &[2, 2]).unwrap();
        let c = to_categorical(&y, None).unwrap();
        assert_eq!(c.shape(), &[2, 2, 4]);
        assert_eq!(c.to_vec()[8..12], [0.0, 0.0, 0.0, 1.0]);
        assert!(to_categorical(&y, Some(3)).unwrap_err().to_string().contains("num_classes = 3"));
        assert!(to_categorical(&Tensor::from_vec(vec![0.5], &[1]).unwrap(), None).is_err());
        assert!(to_categorical(&Tensor::from_vec(vec![-1.0], &[1]).unwrap(), None).is_err());
    }

    #[test]
    fn a_stray_huge_label_is_an_error_before_any_allocation() {
        // Before, 1e9 asked for a [1, 1e9] table (4 GB) and 1e30 for more than memory holds.
        for label in [1e9f32, 1e30, 16_777_218.0] {
            let msg = to_categorical(&Tensor::from_vec(vec![0.0, label], &[2]).unwrap(), None).unwrap_err();
            assert!(msg.to_string().contains("2^24"), "{label}: {msg}");
        }
        let msg = to_categorical(&Tensor::from_vec(vec![1.0], &[1]).unwrap(), Some(usize::MAX)).unwrap_err();
        assert!(msg.to_string().contains("fits in memory"), "{msg}");
    }

    #[test]
    fn encoders_reject_unknown_values_and_use_before_fit() {
        let mut enc = OneHotEncoder::new();
        assert!(enc.transform(&Tensor::zeros(&[2])).is_err());
        enc.fit(&Tensor::from_vec(vec![1.0, 2.0], &[2, 1]).unwrap()).unwrap();
        assert!(enc.transform(&Tensor::from_vec(vec![3.0], &[1]).unwrap()).is_err());
        assert!(enc.transform(&Tensor::zeros(&[2, 2])).is_err());
        // Fitting on nothing would leave no category, and inverse_transform nothing to pick from.
        assert!(OneHotEncoder::new().fit(&Tensor::zeros(&[0])).is_err());
        let mut labels = LabelEncoder::new();
        assert!(labels.transform(&["a"]).is_err());
        labels.fit(&["a", "b"]);
        assert!(labels.transform(&["c"]).unwrap_err().to_string().contains("\"c\""));
        assert!(labels.inverse_transform(&Tensor::from_vec(vec![2.0], &[1]).unwrap()).is_err());
    }
}
