//! Pooling layers over channels_last inputs: windows ([`Pool`]: `MaxPooling1D/2D`,
//! `AveragePooling1D/2D`) and whole spatial axes ([`GlobalPool`]: `GlobalMaxPooling1D/2D`,
//! `GlobalAveragePooling1D/2D`). One implementation for both ranks and both reductions.

mod global;
mod window;

pub use global::{
    GlobalAveragePooling1d, GlobalAveragePooling2d, GlobalMaxPooling1d, GlobalMaxPooling2d, GlobalPool,
    GlobalPoolConfig,
};
pub use window::{AveragePooling1d, AveragePooling2d, MaxPooling1d, MaxPooling2d, Pool, PoolConfig};
