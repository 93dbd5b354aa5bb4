//! The load generator's error type.

use accord_server::client::ClientError;
use accord_shared::automerge::AutomergeError;

/// Why a workload or a relay process failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// A native client operation failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Building a document locally failed.
    #[error("automerge: {0}")]
    Automerge(#[from] AutomergeError),
    /// An HTTP call to the relay's API failed or answered unexpectedly.
    #[error("HTTP {what}: {detail}")]
    Http {
        /// Which call.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// Process or file handling failed.
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    /// A relay process did not start or misbehaved.
    #[error("relay process: {0}")]
    Relay(String),
    /// The workload could not be set up as asked.
    #[error("{0}")]
    Setup(String),
}
