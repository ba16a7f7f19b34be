//! Small real data sets compiled into the crate, so examples and tests run on a fresh clone:
//! [`iris`], [`digits`] and [`wine`], each as `(x [n, features], y [n] class indices)`.
//!
//! Attribution (CC BY 4.0, via the UCI Machine Learning Repository and scikit-learn 1.9.1):
//! * Iris: R. A. Fisher, "The use of multiple measurements in taxonomic problems", Annals of
//!   Eugenics 7 (1936).
//! * Digits: E. Alpaydin and C. Kaynak, "Optical Recognition of Handwritten Digits" (1998).
//! * Wine: M. Forina et al., PARVUS, Genoa (donated by S. Aeberhard, 1991).
//!
//! The files, their READMEs and a NOTICE are in the crate's `datasets/` folder.

use std::sync::OnceLock;

use kensho_core::Tensor;

use crate::csv::{read_csv, CsvData, CsvOptions};

/// Iris species by class index.
pub const IRIS_CLASSES: [&str; 3] = ["setosa", "versicolor", "virginica"];
/// Wine cultivars by class index.
pub const WINE_CLASSES: [&str; 3] = ["class_0", "class_1", "class_2"];

fn parse(cell: &'static OnceLock<CsvData>, text: &str, name: &str) -> &'static CsvData {
    cell.get_or_init(|| {
        read_csv(text.as_bytes(), name, &CsvOptions::new("target")).expect("embedded data sets are valid CSV (tested)")
    })
}

/// Fisher's iris flowers: x `[150, 4]` (sepal length, sepal width, petal length, petal width in
/// cm), y `[150]` with classes 0 = setosa, 1 = versicolor, 2 = virginica (50 each, rows sorted
/// by class: shuffle before splitting).
pub fn iris() -> (Tensor, Tensor) {
    static CELL: OnceLock<CsvData> = OnceLock::new();
    let d = parse(&CELL, include_str!("../datasets/iris/iris.csv"), "datasets/iris/iris.csv");
    (d.x.clone(), d.y.clone())
}

/// Handwritten digits: x `[1797, 64]` (8x8 images row-major, integer values 0..16), y `[1797]`
/// with the digit 0..9.
pub fn digits() -> (Tensor, Tensor) {
    static CELL: OnceLock<CsvData> = OnceLock::new();
    let d = parse(&CELL, include_str!("../datasets/digits/digits.csv"), "datasets/digits/digits.csv");
    (d.x.clone(), d.y.clone())
}

/// Wine recognition: x `[178, 13]` chemical measurements (widely different scales: standardize),
/// y `[178]` with cultivar 0, 1, 2 (59, 71, 48 rows, sorted by class).
pub fn wine() -> (Tensor, Tensor) {
    static CELL: OnceLock<CsvData> = OnceLock::new();
    let d = parse(&CELL, include_str!("../datasets/wine/wine.csv"), "datasets/wine/wine.csv");
    (d.x.clone(), d.y.clone())
}

/// The feature names of [`iris`], [`digits`] or [`wine`] (`"iris"`, `"digits"`, `"wine"`), or
/// `None` for another name.
pub fn feature_names(dataset: &str) -> Option<Vec<String>> {
    let text = match dataset {
        "iris" => include_str!("../datasets/iris/iris.csv"),
        "digits" => include_str!("../datasets/digits/digits.csv"),
        "wine" => include_str!("../datasets/wine/wine.csv"),
        _ => return None,
    };
    let header = text.lines().next()?;
    Some(header.split(',').filter(|c| *c != "target").map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class_counts(y: &Tensor, k: usize) -> Vec<usize> {
        let mut counts = vec![0; k];
        y.to_vec().iter().for_each(|&c| counts[c as usize] += 1);
        counts
    }

    #[test]
    fn iris_matches_its_readme() {
        let (x, y) = iris();
        assert_eq!((x.shape(), y.shape()), (&[150, 4][..], &[150][..]));
        assert_eq!(class_counts(&y, 3), vec![50, 50, 50]);
        assert_eq!(x.to_vec()[..4], [5.1, 3.5, 1.4, 0.2]);
        assert_eq!(feature_names("iris").unwrap()[3], "petal_width_cm");
    }

    #[test]
    fn digits_matches_its_readme() {
        let (x, y) = digits();
        assert_eq!((x.shape(), y.shape()), (&[1797, 64][..], &[1797][..]));
        assert_eq!(class_counts(&y, 10), vec![178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
        assert!(x.to_vec().iter().all(|&v| (0.0..=16.0).contains(&v) && v.fract() == 0.0));
        assert_eq!(feature_names("digits").unwrap().len(), 64);
    }

    #[test]
    fn wine_matches_its_readme() {
        let (x, y) = wine();
        assert_eq!((x.shape(), y.shape()), (&[178, 13][..], &[178][..]));
        assert_eq!(class_counts(&y, 3), vec![59, 71, 48]);
        assert_eq!(x.to_vec()[12], 1065.0); // proline of the first row
        assert_eq!(feature_names("wine").unwrap()[12], "proline");
        assert!(feature_names("mnist").is_none());
    }
}
