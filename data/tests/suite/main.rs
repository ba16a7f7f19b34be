//! The data crate's integration tests that share no process-wide state, as one test program
//! (one build and link instead of one per file); `allocation_bounds` (a counting allocator)
//! keeps a program of its own.

mod audio;
mod batches;
mod common;
mod csv_validation;
mod download;
mod fuzz_binary;
mod fuzz_persist;
mod fuzz_text;
mod loaders;
