//! Checking the flat states that [`Metric::merge_state`](crate::Metric::merge_state) receives,
//! shared by the metrics: the length, and counts that must be whole non-negative numbers.
//!
//! Every check runs before anything is merged, so a rejected state leaves the metric unchanged.

use kensho_core::{Error, Result};

/// The largest count an `f64` holds exactly (2^53).
const MAX_COUNT: f64 = 9_007_199_254_740_992.0;

/// The error for a state of the wrong length; `expected` says what length was expected.
pub(crate) fn wrong_len(metric: &str, len: usize, expected: &str) -> Error {
    let seen = format!("a state of {len} numbers");
    let expected = format!("{expected} (the state() of a \"{metric}\" metric with the same settings)");
    Error::invalid(format!("{metric}: merge_state"), seen, expected)
}

/// Checks that `state` has exactly `len` numbers.
pub(crate) fn check_len(metric: &str, state: &[f64], len: usize) -> Result<()> {
    if state.len() != len {
        return Err(wrong_len(metric, state.len(), &format!("{len} numbers")));
    }
    Ok(())
}

/// Checks that every value is a count: a whole number in `0..=2^53`.
pub(crate) fn check_counts(metric: &str, state: &[f64]) -> Result<()> {
    match state.iter().find(|&&v| !((0.0..=MAX_COUNT).contains(&v) && v.fract() == 0.0)) {
        Some(v) => Err(bad_value(metric, *v, "a count (a whole number >= 0)")),
        None => Ok(()),
    }
}

/// The error for a value of a state that cannot be what it stands for.
pub(crate) fn bad_value(metric: &str, value: f64, expected: &str) -> Error {
    Error::invalid(format!("{metric}: merge_state value"), value, expected)
}

/// Adds a state of `counts.len()` counts to `counts`, after checking its length and values.
pub(crate) fn add_counts(metric: &str, counts: &mut [u64], state: &[f64]) -> Result<()> {
    check_len(metric, state, counts.len())?;
    check_counts(metric, state)?;
    for (c, &v) in counts.iter_mut().zip(state) {
        *c += v as u64;
    }
    Ok(())
}

/// Counts as a state.
pub(crate) fn from_counts(counts: &[u64]) -> Vec<f64> {
    counts.iter().map(|&c| c as f64).collect()
}
