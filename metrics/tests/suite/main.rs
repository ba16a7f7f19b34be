//! The metrics crate's integration tests as one test program (one build and link instead of one per
//! file); none of them changes process-wide state.

mod curves;
mod errors;
mod merge;
mod reference;
mod streaming;
