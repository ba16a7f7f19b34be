//! [`Window`]: the tapers applied to each frame before its FFT (`scipy.signal.get_window`).

use serde::{Deserialize, Serialize};

/// The window applied to each frame (Keras' `window` strings; `None` for a rectangular one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Window {
    /// `0.5 - 0.5 cos(2πn / d)` (the default).
    #[default]
    Hann,
    /// `0.54 - 0.46 cos(2πn / d)`.
    Hamming,
    /// No window: every sample weighs 1 (Keras' `window=None`).
    None,
}

impl Window {
    /// The window's `length` values, as `scipy.signal.get_window(name, length, fftbins=periodic)`:
    /// `d = length` for a periodic window (for spectral analysis), `d = length - 1` for a
    /// symmetric one. A window of one sample is `[1.0]`.
    ///
    /// ```
    /// use kensho_core::audio::Window;
    /// assert_eq!(Window::Hann.values(4, true), vec![0.0, 0.5, 1.0, 0.5]);
    /// assert_eq!(Window::Hann.values(3, false), vec![0.0, 1.0, 0.0]);
    /// ```
    pub fn values(self, length: usize, periodic: bool) -> Vec<f32> {
        let alpha = match self {
            Window::Hann => 0.5,
            Window::Hamming => 0.54,
            Window::None => return vec![1.0; length],
        };
        if length <= 1 {
            return vec![1.0; length];
        }
        let d = if periodic { length } else { length - 1 } as f64;
        (0..length)
            .map(|n| (alpha - (1.0 - alpha) * (2.0 * std::f64::consts::PI * n as f64 / d).cos()) as f32)
            .collect()
    }
}
