//! Identifiers used on the wire: one file per identifier type.

mod document_id;
mod peer_id;

pub use document_id::{DocumentId, DocumentIdError, MAX_DOCUMENT_ID_CHARS};
pub use peer_id::{PeerId, PeerIdError};
