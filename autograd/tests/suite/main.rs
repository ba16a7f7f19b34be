//! The autograd crate's integration tests as one test program (one build and link instead of one per
//! file); none of them changes process-wide state.

mod fusion;
mod gradcheck;
mod graph_properties;
mod memory;
mod nan;
mod recurrent;
mod tape;
mod two_layer;
