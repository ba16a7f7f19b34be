//! The finiteness check on a model's data: `fit`, `evaluate`, `predict` and `train_step` refuse
//! NaN and infinite values before any work, naming the first one's row and position, since one
//! such value silently turns every weight it reaches into NaN.

use kensho_core::{Error, Result, Tensor};

/// An error naming the first NaN or infinite value of `t`, if it has one. `context` names the
/// call (`"fit"`), `what` the tensor (`"x"`, `"y of output \"score\""`); `first_row` is the
/// index of `t`'s first row in the caller's data.
pub(crate) fn check_finite(context: &str, what: &dyn Fn() -> String, t: &Tensor, first_row: usize) -> Result<()> {
    let Some(index) = t.first_non_finite() else {
        return Ok(());
    };
    let value = t.to_contiguous().as_slice().expect("contiguous")[index];
    let row_len: usize = t.shape().iter().skip(1).product::<usize>().max(1);
    let (row, within) = (first_row + index / row_len, index % row_len);
    let place = match t.shape() {
        [] | [_] => format!("row {row}"),
        [_, _] => format!("row {row}, column {within}"),
        [_, rest @ ..] => format!("row {row}, position {:?}", unravel(within, rest)),
    };
    Err(Error::invalid(
        format!("{context}: {}", what()),
        format!("{value} at {place} (the first value that is not finite)"),
        "finite numbers only: drop or fill in the rows with missing or infinite values before this call",
    ))
}

/// The multi-index of row-major position `index` in `shape`.
fn unravel(mut index: usize, shape: &[usize]) -> Vec<usize> {
    let mut at = vec![0; shape.len()];
    for (slot, &dim) in at.iter_mut().zip(shape).rev() {
        *slot = index % dim;
        index /= dim;
    }
    at
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(t: &Tensor) -> String {
        check_finite("fit", &|| "x".to_string(), t, 0).unwrap_err().to_string()
    }

    #[test]
    fn names_the_value_row_and_column() {
        let mut values = vec![0.5f32; 12];
        values[7] = f32::NAN;
        let msg = message(&Tensor::from_vec(values.clone(), &[4, 3]).unwrap());
        assert!(msg.contains("fit: x") && msg.contains("NaN at row 2, column 1"), "{msg}");
        let msg = message(&Tensor::from_vec(values.clone(), &[12]).unwrap());
        assert!(msg.contains("NaN at row 7"), "{msg}");
        values[7] = f32::NEG_INFINITY;
        let msg = message(&Tensor::from_vec(values, &[2, 3, 2]).unwrap());
        assert!(msg.contains("-inf at row 1, position [0, 1]"), "{msg}");
        assert!(check_finite("fit", &|| "x".into(), &Tensor::ones(&[3, 2]), 0).is_ok());
        let msg = check_finite("predict", &|| "x".into(), &Tensor::full(&[2, 2], f32::NAN), 256).unwrap_err();
        assert!(msg.to_string().contains("NaN at row 256, column 0"), "{msg}");
    }
}
