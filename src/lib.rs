//! kensho
