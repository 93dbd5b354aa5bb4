//! Creating documents the way automerge-repo does.

use accord_server::client::Client;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::automerge::{Automerge, AutomergeError};
use accord_shared::ids::DocumentId;
use rand::RngCore;

/// A random RFC 4122 version-4 UUID as a document id.
///
/// automerge-repo 1.x (which the JS sync server 0.2.8 runs) refuses document
/// ids that are not valid UUIDs (`uuid.validate`), silently dropping their
/// messages; 16 arbitrary random bytes fail that check 15 times in 16.
pub fn new_id() -> DocumentId {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    DocumentId::generate(bytes)
}

/// Creates a document with a UUID id on `client`, applies `init`, and starts syncing it.
pub fn create(
    client: &Client,
    init: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
) -> Result<DocumentId, AutomergeError> {
    let mut doc = Automerge::new();
    doc.transact(|tx| init(tx))
        .map_err(|failure| failure.error)?;
    let id = new_id();
    client.insert(id, doc);
    Ok(id)
}
