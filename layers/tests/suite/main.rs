//! The layers crate's integration tests as one test program (one build and link instead of one per
//! file); none of them changes process-wide state.

mod attention;
mod conv;
mod conv_family;
mod layers;
mod losses;
mod merge;
mod normalization;
mod preprocessing;
mod recurrent;
mod text;
mod time_distributed;
