//! Keras-like progress output on stdout: `Epoch 3/10`, then an `indicatif` bar over the batches
//! (with ETA, ms/step and the running figures) that ends as one line with the epoch's figures.
//! When stdout is not a terminal, or with `verbose = 2`, there is no bar: one plain line per
//! epoch. `verbose = 0` prints nothing.
//!
//! All training output goes to stdout, as Keras prints it: these lines and the callbacks' lines
//! (`ModelCheckpoint`, `EarlyStopping`, `ReduceLROnPlateau`, `TerminateOnNaN`) are written with
//! [`print_line`], so they stay in order when stdout is redirected. Only warnings (a NaN loss)
//! go to stderr.

use crate::Logs;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::{Duration, Instant};

/// How often the bar's figures are redrawn.
const REDRAW: Duration = Duration::from_millis(100);

/// The progress display of one epoch.
pub(crate) struct EpochProgress {
    verbose: u8,
    steps: usize,
    bar: Option<ProgressBar>,
    start: Instant,
    last_draw: Instant,
}

impl EpochProgress {
    /// Starts the display of epoch `epoch` (0-based) of `epochs`, over `steps` batches.
    pub(crate) fn start(verbose: u8, epoch: usize, epochs: usize, steps: usize) -> EpochProgress {
        if verbose > 0 {
            print_line(&format!("Epoch {}/{}", epoch + 1, epochs));
        }
        let bar = (verbose == 1 && std::io::stdout().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stdout());
            let style = ProgressStyle::with_template("{pos}/{len} {bar:20.cyan/blue} {elapsed} ETA {eta} {msg}")
                .expect("valid template")
                .progress_chars("━━─");
            bar.set_style(style);
            BAR.set(Some(bar.clone()));
            bar
        });
        let now = Instant::now();
        EpochProgress { verbose, steps, bar, start: now, last_draw: now }
    }

    /// Reports that `done` batches are finished; `logs` builds the running figures, called only
    /// when the bar is redrawn.
    pub(crate) fn step(&mut self, done: usize, logs: impl FnOnce() -> Logs) {
        let Some(bar) = &self.bar else { return };
        if self.last_draw.elapsed() >= REDRAW || done == self.steps {
            self.last_draw = Instant::now();
            bar.set_position(done as u64);
            bar.set_message(format!("{} - {}", per_step(self.start.elapsed(), done), logs()));
        }
    }

    /// Prints a warning on stderr, above the bar if there is one.
    pub(crate) fn warn(&self, message: &str) {
        if !crate::parallel::is_chief() {
            return;
        }
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{message}")),
            None => eprintln!("{message}"),
        }
    }

    /// Ends the epoch with one line holding its figures.
    pub(crate) fn finish(mut self, logs: &Logs) {
        if self.verbose == 0 {
            return;
        }
        let elapsed = self.start.elapsed();
        let (secs, step) = (elapsed.as_secs(), per_step(elapsed, self.steps));
        match self.bar.take() {
            Some(bar) => {
                BAR.set(None);
                bar.finish_and_clear();
                print_line(&format!("{0}/{0} ━━━━━━━━━━━━━━━━━━━━ {secs}s {step} - {logs}", self.steps));
            }
            None => print_line(&format!("{0}/{0} - {secs}s - {step} - {logs}", self.steps)),
        }
    }
}

impl Drop for EpochProgress {
    /// Forgets the bar if the epoch ended early (an error), so that later lines do not redraw it.
    fn drop(&mut self) {
        if self.bar.is_some() {
            BAR.set(None);
        }
    }
}

thread_local! {
    /// The bar being drawn by `fit` on this thread, so that a callback's line is printed above
    /// it instead of being overwritten by its next redraw.
    static BAR: std::cell::RefCell<Option<ProgressBar>> = const { std::cell::RefCell::new(None) };
}

/// Writes one line of training output to stdout, the stream of the progress bar, above the bar
/// if one is drawn (through `println!`, so that tests capture it).
pub(crate) fn print_line(line: &str) {
    if !crate::parallel::is_chief() {
        return; // in data-parallel training, rank 0 prints
    }
    match BAR.with_borrow(|bar| bar.clone()) {
        Some(bar) => bar.suspend(|| println!("{line}")),
        None => println!("{line}"),
    }
}

/// `4ms/step` (or `250us/step` for fast steps).
fn per_step(elapsed: Duration, steps: usize) -> String {
    let micros = elapsed.as_micros() / steps.max(1) as u128;
    if micros >= 1000 {
        format!("{}ms/step", micros / 1000)
    } else {
        format!("{micros}us/step")
    }
}
