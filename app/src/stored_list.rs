//! The home list before the sync client is in: the partnerships this device
//! holds, by the title stored beside each document in IndexedDB, and the
//! person's profile. Reading them needs neither Automerge nor the engine, so
//! it runs from the main module while the client's chunk downloads (see
//! [`crate::client_chunk`]); the client replaces the titles with the
//! documents' own once it has loaded them.

use accord_shared::ids::DocumentId;
use leptos::prelude::*;

use crate::browser::{self, now_ms};
use crate::identity::{IdentityError, Profile};
use crate::storage::{DB_NAME, DocRecord, Storage, StorageError};
use crate::store::{DocSummary, Store};

/// Why the stored list could not be read.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ListError {
    /// IndexedDB failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
    /// The stored profile could not be read.
    #[error(transparent)]
    Profile(#[from] IdentityError),
}

/// The list rows of the stored records, in their stored order; records with
/// an id that does not parse are left out (the client reports them).
pub fn summaries(records: &[DocRecord]) -> Vec<DocSummary> {
    records
        .iter()
        .filter_map(|record| {
            let id = DocumentId::parse_url_or_id(&record.id).ok()?;
            Some(DocSummary {
                id,
                title: record.title.clone(),
            })
        })
        .collect()
}

/// Reads the stored list and profile into `store`, unless the sync client
/// got there first (its titles are the documents' own, so they win).
pub async fn show(store: Store) -> Result<(), ListError> {
    // Only reads: the tab id would only name chunks this handle writes.
    let storage = Storage::open(DB_NAME, "list", now_ms()).await?;
    let read = async {
        let records = storage.records().await?;
        let profile = Profile::load(&storage).await?;
        Ok::<_, ListError>((records, profile))
    }
    .await;
    storage.close();
    let (records, profile) = read?;
    if !store.listed.get_untracked() {
        store.docs.set(summaries(&records));
        store.profile.set(profile);
        store.listed.set(true);
    }
    Ok(())
}

/// Shows the stored list as soon as it is read; a failure is reported (the
/// sync client, once in, lists the partnerships itself).
pub async fn show_or_report(store: Store) {
    if let Err(error) = show(store).await {
        browser::log(&format!(
            "accord: the stored list could not be read: {error}"
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(id: &str, title: &str, added_at: u64) -> DocRecord {
        DocRecord {
            id: id.to_owned(),
            title: title.to_owned(),
            added_at,
            claimed: false,
            role: None,
            relay_heads: None,
        }
    }

    #[test]
    fn lists_stored_titles_in_order_and_skips_bad_ids() {
        let first = DocumentId::generate([1; 16]);
        let second = DocumentId::generate([2; 16]);
        let rows = summaries(&[
            record(&first.to_string(), "Acme", 1),
            record("not an id", "Broken", 2),
            record(&second.to_string(), "", 3),
        ]);
        assert_eq!(
            rows,
            vec![
                DocSummary {
                    id: first,
                    title: "Acme".to_owned()
                },
                DocSummary {
                    id: second,
                    title: String::new()
                },
            ]
        );
    }
}
