//! Helpers shared by the facade's test binaries.

use kensho::autograd::Var;
use kensho::core::Rng;
use kensho::layers::{Ctx, LayerConfig};
use kensho::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The identity, recording in `largest` the largest batch it saw; `per_sample` says whether the
/// model may split a batch across threads around it.
pub struct BatchProbe {
    name: String,
    largest: &'static AtomicUsize,
    per_sample: bool,
}

impl BatchProbe {
    /// A probe recording into `largest`.
    pub fn new(largest: &'static AtomicUsize, per_sample: bool) -> BatchProbe {
        BatchProbe { name: String::new(), largest, per_sample }
    }
}

impl Layer for BatchProbe {
    fn name(&self) -> &str {
        &self.name
    }
    fn set_name(&mut self, name: &str) {
        self.name = name.to_string();
    }
    fn kind(&self) -> &'static str {
        "Activation"
    }
    fn build(&mut self, input_shape: &Shape, _rng: &mut Rng) -> kensho::Result<Shape> {
        Ok(input_shape.clone())
    }
    fn forward<'t>(&self, x: Var<'t>, _cx: &Ctx<'t>) -> Var<'t> {
        self.largest.fetch_max(x.shape()[0], Ordering::Relaxed);
        x
    }
    fn config(&self) -> LayerConfig {
        ActivationLayer::new(Activation::Linear).config()
    }
    fn per_sample(&self) -> bool {
        self.per_sample
    }
}
