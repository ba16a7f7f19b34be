//! kensho-layers (placeholder)
