//! kensho-metrics (placeholder)
