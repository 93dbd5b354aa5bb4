//! Accord's browser client.

pub mod browser;
pub mod storage;
