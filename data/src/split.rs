//! Splitting data for validation: [`train_test_split`] (optionally stratified), [`k_fold`] and
//! [`stratified_k_fold`], all reproducible from a seed.

use std::collections::BTreeMap;

use kensho_core::{seeded_rng, Error, Result, Tensor};
use rand::seq::SliceRandom;

/// The options of [`train_test_split`], named as scikit-learn's arguments.
///
/// ```
/// use kensho_data::SplitOptions;
/// let options = SplitOptions { test_size: 0.2, seed: 42, ..Default::default() };
/// assert!(!options.stratify);
/// assert_eq!(SplitOptions::default().test_size, 0.25); // scikit-learn's default
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SplitOptions {
    /// The fraction of the rows that goes to the test set, in `(0, 1)` (default 0.25, as
    /// scikit-learn); `f64`, as every fraction in kensho (`FitOptions::validation_split` too).
    pub test_size: f64,
    /// The seed of the shuffle (default 0): the same seed gives the same split.
    pub seed: u64,
    /// Split class by class so that each class of `y` keeps its proportion in both sets
    /// (scikit-learn's `stratify=y`; default false). `y` must then be `[n]` class labels.
    pub stratify: bool,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions { test_size: 0.25, seed: 0, stratify: false }
    }
}

/// Splits rows into train and test sets: `(x_train, x_test, y_train, y_test)`, as scikit-learn's
/// `train_test_split`.
///
/// The test set gets `ceil(test_size * n)` rows. Rows are shuffled with `seed`. With
/// `stratify`, `y` (shape `[n]`, class labels) is split class by class so that each class keeps
/// its proportion in both sets (the rounding remainder goes to the classes with the largest
/// fractional share). Within each set the rows keep the shuffled order.
///
/// # Errors
/// `test_size` outside `(0, 1)`, row counts of `x` and `y` that disagree, a split that leaves
/// one side empty, or `stratify` with a `y` that is not of shape `[n]`.
///
/// ```
/// use kensho_data::{datasets, train_test_split, SplitOptions};
/// let (x, y) = datasets::iris();
/// let (x_train, x_test, y_train, y_test) =
///     train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 42, stratify: true })?;
/// assert_eq!((x_train.shape()[0], x_test.shape()[0]), (120, 30));
/// assert_eq!(y_test.to_vec().iter().filter(|&&c| c == 0.0).count(), 10); // 50 of 150 are class 0
/// # let _ = y_train;
/// # Ok::<(), kensho_core::Error>(())
/// ```
pub fn train_test_split(x: &Tensor, y: &Tensor, options: SplitOptions) -> Result<(Tensor, Tensor, Tensor, Tensor)> {
    let SplitOptions { test_size, seed, stratify } = options;
    if !(test_size > 0.0 && test_size < 1.0) {
        return Err(Error::invalid("train_test_split: test_size", test_size, "a fraction in (0, 1), e.g. 0.2"));
    }
    let n = rows(x, "train_test_split: x")?;
    if rows(y, "train_test_split: y")? != n {
        return Err(Error::shape("train_test_split: y", format!("{n} rows like x {:?}", x.shape()), y.shape()));
    }
    let n_test = (test_size * n as f64).ceil() as usize;
    if n_test == 0 || n_test >= n {
        return Err(Error::invalid(
            "train_test_split: test_size",
            test_size,
            format!("a fraction that leaves both sets non-empty for {n} rows"),
        ));
    }
    let mut rng = seeded_rng(seed);
    let (train, test) = if stratify {
        let mut groups = class_groups(y, "train_test_split")?;
        groups.iter_mut().for_each(|g| g.shuffle(&mut rng));
        let quotas = apportion(&groups.iter().map(Vec::len).collect::<Vec<_>>(), n_test);
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (group, quota) in groups.iter().zip(quotas) {
            test.extend_from_slice(&group[..quota]);
            train.extend_from_slice(&group[quota..]);
        }
        train.shuffle(&mut rng);
        test.shuffle(&mut rng);
        (train, test)
    } else {
        let mut order: Vec<usize> = (0..n).collect();
        order.shuffle(&mut rng);
        let test = order.split_off(n - n_test);
        (order, test)
    };
    Ok((x.index_select(0, &train), x.index_select(0, &test), y.index_select(0, &train), y.index_select(0, &test)))
}

/// `k` folds over `n` items as `(train_indices, test_indices)` pairs, as scikit-learn's `KFold`:
/// the first `n % k` folds get one extra test item; with `shuffle` the items are permuted with
/// `seed` first. Every item is in exactly one test fold.
///
/// # Errors
/// `k < 2` or `k > n`.
pub fn k_fold(n: usize, k: usize, shuffle: bool, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    check_k(n, k, "k_fold")?;
    let mut order: Vec<usize> = (0..n).collect();
    if shuffle {
        order.shuffle(&mut seeded_rng(seed));
    }
    let mut folds = Vec::with_capacity(k);
    let mut start = 0;
    for f in 0..k {
        let size = n / k + usize::from(f < n % k);
        let test = order[start..start + size].to_vec();
        let train = [&order[..start], &order[start + size..]].concat();
        folds.push((train, test));
        start += size;
    }
    Ok(folds)
}

/// `k` folds whose test sets keep the class proportions of `y` (shape `[n]`, class labels):
/// each class's items (shuffled with `seed` when `shuffle`) are dealt round-robin over the folds.
///
/// # Errors
/// `k < 2`, `k > n`, a `y` that is not of shape `[n]`.
pub fn stratified_k_fold(y: &Tensor, k: usize, shuffle: bool, seed: u64) -> Result<Vec<(Vec<usize>, Vec<usize>)>> {
    let n = rows(y, "stratified_k_fold: y")?;
    check_k(n, k, "stratified_k_fold")?;
    let mut groups = class_groups(y, "stratified_k_fold")?;
    let mut rng = seeded_rng(seed);
    let mut fold_of = vec![0usize; n];
    let mut next = 0;
    for group in &mut groups {
        if shuffle {
            group.shuffle(&mut rng);
        }
        for &i in group.iter() {
            fold_of[i] = next % k;
            next += 1;
        }
    }
    Ok((0..k)
        .map(|f| {
            let (test, train): (Vec<usize>, Vec<usize>) = (0..n).partition(|&i| fold_of[i] == f);
            (train, test)
        })
        .collect())
}

fn rows(t: &Tensor, what: &str) -> Result<usize> {
    t.shape().first().copied().ok_or_else(|| Error::shape(what, "at least one axis (rows)", t.shape()))
}

fn check_k(n: usize, k: usize, op: &str) -> Result<()> {
    if k < 2 || k > n {
        return Err(Error::invalid(format!("{op}: k"), k, format!("between 2 and the number of items ({n})")));
    }
    Ok(())
}

/// Item indices grouped by class label, classes in increasing order.
fn class_groups(y: &Tensor, op: &str) -> Result<Vec<Vec<usize>>> {
    if y.ndim() != 1 {
        return Err(Error::shape(format!("{op}: stratify labels y"), "shape [n] of class labels", y.shape()));
    }
    let mut groups: BTreeMap<u32, Vec<usize>> = BTreeMap::new();
    for (i, v) in y.to_vec().into_iter().enumerate() {
        // total order on the bit pattern is enough to group equal labels
        let key = if v == 0.0 { 0 } else { v.to_bits() };
        groups.entry(key).or_default().push(i);
    }
    Ok(groups.into_values().collect())
}

/// Splits `total` over groups proportionally to `sizes` (largest remainder method).
fn apportion(sizes: &[usize], total: usize) -> Vec<usize> {
    let n: usize = sizes.iter().sum();
    let exact: Vec<f64> = sizes.iter().map(|&s| s as f64 * total as f64 / n as f64).collect();
    let mut quotas: Vec<usize> = exact.iter().map(|e| e.floor() as usize).collect();
    let mut by_remainder: Vec<usize> = (0..sizes.len()).collect();
    by_remainder.sort_by(|&a, &b| (exact[b] - exact[b].floor()).total_cmp(&(exact[a] - exact[a].floor())));
    let mut left = total - quotas.iter().sum::<usize>();
    for &g in by_remainder.iter().cycle().take(sizes.len() * 2) {
        if left == 0 {
            break;
        }
        if quotas[g] < sizes[g] {
            quotas[g] += 1;
            left -= 1;
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(v: &[f32]) -> Tensor {
        Tensor::from_vec(v.to_vec(), &[v.len()]).unwrap()
    }

    #[test]
    fn split_partitions_rows_and_keeps_x_y_pairs() {
        let x = Tensor::from_vec((0..20).map(|v| v as f32).collect(), &[10, 2]).unwrap();
        let y = labels(&(0..10).map(|v| v as f32).collect::<Vec<_>>());
        let (xtr, xte, ytr, yte) =
            train_test_split(&x, &y, SplitOptions { test_size: 0.25, seed: 1, stratify: false }).unwrap();
        assert_eq!((xtr.shape(), xte.shape()), (&[7, 2][..], &[3, 2][..]));
        let mut all: Vec<f32> = [ytr.to_vec(), yte.to_vec()].concat();
        all.sort_by(f32::total_cmp);
        assert_eq!(all, (0..10).map(|v| v as f32).collect::<Vec<_>>());
        for (row, label) in xte.to_vec().chunks(2).zip(yte.to_vec()) {
            assert_eq!(row, &[2.0 * label, 2.0 * label + 1.0]);
        }
        let again = train_test_split(&x, &y, SplitOptions { test_size: 0.25, seed: 1, stratify: false }).unwrap();
        assert_eq!(again.3.to_vec(), yte.to_vec());
    }

    #[test]
    fn default_options_hold_out_a_quarter_unstratified_with_seed_0() {
        let x = Tensor::from_vec((0..10).map(|v| v as f32).collect(), &[10, 1]).unwrap();
        let (xtr, xte, _, _) = train_test_split(&x, &x.reshape_to(&[10]), SplitOptions::default()).unwrap();
        assert_eq!((xtr.shape()[0], xte.shape()[0]), (7, 3)); // ceil(0.25 * 10)
        let seeded = SplitOptions { seed: 0, ..Default::default() };
        assert_eq!(train_test_split(&x, &x, seeded).unwrap().1, xte);
    }

    #[test]
    fn stratified_split_keeps_class_proportions() {
        let y = labels(&[[0.0; 30], [1.0; 30]].concat().into_iter().chain([2.0; 40]).collect::<Vec<_>>());
        let x = y.reshape_to(&[100, 1]);
        let (_, _, ytr, yte) =
            train_test_split(&x, &y, SplitOptions { test_size: 0.2, seed: 5, stratify: true }).unwrap();
        let count = |t: &Tensor, c: f32| t.to_vec().iter().filter(|&&v| v == c).count();
        assert_eq!([count(&yte, 0.0), count(&yte, 1.0), count(&yte, 2.0)], [6, 6, 8]);
        assert_eq!([count(&ytr, 0.0), count(&ytr, 1.0), count(&ytr, 2.0)], [24, 24, 32]);
    }

    #[test]
    fn bad_split_arguments_are_errors() {
        let x = Tensor::zeros(&[4, 2]);
        let test_size = |f: f64| SplitOptions { test_size: f, ..Default::default() };
        assert!(train_test_split(&x, &Tensor::zeros(&[4]), test_size(1.0)).is_err());
        let err = train_test_split(&x, &Tensor::zeros(&[4]), test_size(0.0)).unwrap_err().to_string();
        assert!(err.contains("test_size") && err.contains("(0, 1)"), "{err}");
        assert!(train_test_split(&x, &Tensor::zeros(&[5]), test_size(0.5)).is_err());
        assert!(k_fold(3, 4, false, 0).is_err());
        assert!(k_fold(3, 1, false, 0).is_err());
    }

    #[test]
    fn k_fold_matches_sklearn_sizes_and_covers_every_item_once() {
        let folds = k_fold(10, 3, false, 0).unwrap();
        let sizes: Vec<usize> = folds.iter().map(|(_, t)| t.len()).collect();
        assert_eq!(sizes, vec![4, 3, 3]);
        assert_eq!(folds[0].1, vec![0, 1, 2, 3]);
        let mut tests: Vec<usize> = k_fold(10, 3, true, 9).unwrap().into_iter().flat_map(|(_, t)| t).collect();
        tests.sort();
        assert_eq!(tests, (0..10).collect::<Vec<_>>());
        for (train, test) in &folds {
            assert_eq!(train.len() + test.len(), 10);
            assert!(train.iter().all(|i| !test.contains(i)));
        }
    }

    #[test]
    fn stratified_k_fold_balances_classes() {
        let y = labels(&[&[0.0; 10][..], &[1.0; 5]].concat());
        let folds = stratified_k_fold(&y, 5, true, 2).unwrap();
        let mut seen = [0; 15];
        for (train, test) in &folds {
            assert_eq!(test.len(), 3);
            assert_eq!(test.iter().filter(|&&i| i >= 10).count(), 1);
            assert_eq!(train.len(), 12);
            test.iter().for_each(|&i| seen[i] += 1);
        }
        assert!(seen.iter().all(|&s| s == 1));
    }
}
