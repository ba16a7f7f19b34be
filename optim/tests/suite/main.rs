//! The optim crate's integration tests that share no process-wide state, as one test program
//! (one build and link instead of one per file); `no_alloc` (a counting allocator) and
//! `parallel` (the thread count) keep programs of their own.

mod common;
mod options;
mod rules;
mod state;
