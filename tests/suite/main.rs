//! The facade's integration tests that share no process-wide state (thread count, the
//! deterministic switch, a counting allocator), as one test program: one build and link instead
//! of one per file. Tests that change such state keep a program of their own in `tests/`.

mod bad_input;
mod callbacks;
mod checkpoint_crosscheck;
mod checkpoint_dtypes;
mod conv_layers;
mod digits;
mod distill;
mod explain;
mod feature_extraction;
mod functional;
mod functional_resnet;
mod hostile_files;
mod metrics_wiring;
mod nested_models;
mod newcomer;
mod non_finite;
mod pruning;
mod quantization;
mod readme_and_docs;
mod shared_models;
mod summary_functional;
mod tensorboard;
mod tensorboard_crosscheck;
mod text_models;
mod transformer;
