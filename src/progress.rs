//! Keras-like progress output on stderr: `Epoch 3/10`, then an `indicatif` bar over the batches
//! (with ETA, ms/step and the running figures) that ends as one line with the epoch's figures.
//! When stderr is not a terminal, or with `verbose = 2`, there is no bar: one plain line per
//! epoch. `verbose = 0` prints nothing.

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
            eprintln!("Epoch {}/{}", epoch + 1, epochs);
        }
        let bar = (verbose == 1 && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(steps as u64), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template("{pos}/{len} {bar:20.cyan/blue} {elapsed} ETA {eta} {msg}")
                .expect("valid template")
                .progress_chars("━━─");
            bar.set_style(style);
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

    /// Ends the epoch with one line holding its figures.
    pub(crate) fn finish(self, logs: &Logs) {
        if self.verbose == 0 {
            return;
        }
        let elapsed = self.start.elapsed();
        let (secs, step) = (elapsed.as_secs(), per_step(elapsed, self.steps));
        match self.bar {
            Some(bar) => {
                bar.finish_and_clear();
                eprintln!("{0}/{0} ━━━━━━━━━━━━━━━━━━━━ {secs}s {step} - {logs}", self.steps);
            }
            None => eprintln!("{0}/{0} - {secs}s - {step} - {logs}", self.steps),
        }
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
