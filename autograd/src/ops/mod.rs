//! The differentiable ops, one family per file. Each op is one function holding its forward
//! kernel call and its local gradient rule together.

mod activation;
mod arith;
mod conv;
mod loss;
mod matmul;
mod pool;
mod recurrent;
mod reduce;
mod shape;

pub use recurrent::RecurrentWeights;
