//! [`Logs`] (the named figures of one batch or epoch) and [`History`] (the per-epoch figures of a
//! whole `fit`, as Keras' `History.history`).

use std::fmt;

/// Named figures, in the order they were added (`loss`, metrics, then `val_` figures).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Logs(Vec<(String, f32)>);

impl Logs {
    /// Empty logs.
    pub fn new() -> Logs {
        Logs::default()
    }

    /// Sets `name` to `value` (replacing an earlier value of that name).
    pub fn set(&mut self, name: impl Into<String>, value: f32) {
        let name = name.into();
        match self.0.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.0.push((name, value)),
        }
    }

    /// The value of `name`, if present.
    pub fn get(&self, name: &str) -> Option<f32> {
        self.0.iter().find(|(n, _)| n == name).map(|(_, v)| *v)
    }

    /// The figures in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, f32)> {
        self.0.iter().map(|(n, v)| (n.as_str(), *v))
    }

    /// The names in order.
    pub fn names(&self) -> Vec<&str> {
        self.0.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Adds every figure of `other` with `prefix` before its name (e.g. `val_`).
    pub fn extend_prefixed(&mut self, prefix: &str, other: &Logs) {
        for (n, v) in other.iter() {
            self.set(format!("{prefix}{n}"), v);
        }
    }
}

impl fmt::Display for Logs {
    /// Keras' layout: `accuracy: 0.9012 - loss: 0.3456`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(|(n, v)| format!("{n}: {v:.4}")).collect();
        f.write_str(&parts.join(" - "))
    }
}

/// The figures of every epoch of a `fit`: `history.get("val_loss")` is one value per epoch.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The epoch numbers that ran (0-based, starting at `initial_epoch`).
    pub epochs: Vec<usize>,
    series: Vec<(String, Vec<f32>)>,
}

impl History {
    /// Appends one epoch's logs.
    pub fn push(&mut self, epoch: usize, logs: &Logs) {
        self.epochs.push(epoch);
        for (name, value) in logs.iter() {
            match self.series.iter_mut().find(|(n, _)| n == name) {
                Some((_, values)) => values.push(value),
                None => self.series.push((name.to_string(), vec![value])),
            }
        }
    }

    /// The per-epoch values of `name` (e.g. `loss`, `accuracy`, `val_loss`).
    pub fn get(&self, name: &str) -> Option<&[f32]> {
        self.series.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_slice())
    }

    /// The names recorded, in order.
    pub fn names(&self) -> Vec<&str> {
        self.series.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The number of epochs recorded.
    pub fn len(&self) -> usize {
        self.epochs.len()
    }

    /// Whether no epoch was recorded.
    pub fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }
}
