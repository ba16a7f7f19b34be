//! kensho-data (placeholder)
