//! kensho-autograd (placeholder)
