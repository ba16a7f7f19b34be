//! kensho-optim (placeholder)
