//! Creating documents the way automerge-repo does.

use std::time::Duration;

use accord_server::client::Client;
use accord_shared::automerge::transaction::Transaction;
use accord_shared::automerge::{Automerge, AutomergeError};
use accord_shared::ids::DocumentId;
use rand::RngCore;

use crate::error::LoadError;

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

/// How long opening a shared document may wait for any one client.
const OPEN_WAIT: Duration = Duration::from_secs(30);

/// One new document on `clients` connections: connection 0 creates it with
/// `init` and waits until the relay holds it, each other one connects and
/// finds it. Connection `n` goes to `url(n)`.
pub async fn open_shared<'a>(
    url: impl Fn(usize) -> &'a str,
    clients: usize,
    init: impl FnOnce(&mut Transaction<'_>) -> Result<(), AutomergeError>,
) -> Result<(DocumentId, Vec<Client>), LoadError> {
    let creator = Client::connect(url(0)).await?;
    let id = create(&creator, init)?;
    creator.wait_synced(id, OPEN_WAIT).await?;
    let mut opened = vec![creator];
    for n in 1..clients {
        let client = Client::connect(url(n)).await?;
        client.find(id, OPEN_WAIT).await?;
        opened.push(client);
    }
    Ok((id, opened))
}
