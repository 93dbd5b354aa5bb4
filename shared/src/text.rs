//! Editing long prose (clause bodies, minutes, notes) held as Automerge `Text`.
//!
//! Every edit is a splice at a character position, never a rewrite of the
//! whole field, so two people typing in the same paragraph both keep their
//! words. Positions count Unicode scalar values (Rust `char`s).

use automerge::transaction::Transactable;
use automerge::{AutomergeError, ObjId, ReadDoc};

/// Why a text edit was refused.
#[derive(Debug, thiserror::Error)]
pub enum TextEditError {
    /// The splice reaches past the end of the text.
    #[error("edit at {position} removing {delete} reaches past the end ({length} characters)")]
    OutOfRange {
        /// Where the edit starts.
        position: usize,
        /// How many characters it removes.
        delete: usize,
        /// The text's length.
        length: usize,
    },
    /// Automerge refused (for example, the object is not text).
    #[error(transparent)]
    Automerge(Box<AutomergeError>),
}

impl From<AutomergeError> for TextEditError {
    fn from(error: AutomergeError) -> Self {
        Self::Automerge(Box::new(error))
    }
}

/// One contiguous replacement: remove `delete` characters at `position`, then insert `insert`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Splice {
    /// Character position.
    pub position: usize,
    /// Characters removed.
    pub delete: usize,
    /// Text inserted.
    pub insert: String,
}

/// Applies a splice to the text object `text`, checking bounds first.
pub fn splice<T: Transactable + ReadDoc>(
    tx: &mut T,
    text: &ObjId,
    edit: &Splice,
) -> Result<(), TextEditError> {
    let length = tx.length(text);
    if edit
        .position
        .checked_add(edit.delete)
        .is_none_or(|end| end > length)
    {
        return Err(TextEditError::OutOfRange {
            position: edit.position,
            delete: edit.delete,
            length,
        });
    }
    if edit.delete == 0 && edit.insert.is_empty() {
        return Ok(());
    }
    let delete = isize::try_from(edit.delete).map_err(|_| TextEditError::OutOfRange {
        position: edit.position,
        delete: edit.delete,
        length,
    })?;
    tx.splice_text(text, edit.position, delete, &edit.insert)?;
    Ok(())
}

/// The smallest single splice that turns `old` into `new` (common prefix and
/// suffix kept). A text box that reports its whole new value is turned into
/// an edit that touches only what the user changed.
pub fn diff(old: &str, new: &str) -> Option<Splice> {
    if old == new {
        return None;
    }
    let old_chars: Vec<char> = old.chars().collect();
    let new_chars: Vec<char> = new.chars().collect();
    let prefix = old_chars
        .iter()
        .zip(&new_chars)
        .take_while(|(a, b)| a == b)
        .count();
    let max_suffix = old_chars.len().min(new_chars.len()) - prefix;
    let suffix = old_chars
        .iter()
        .rev()
        .zip(new_chars.iter().rev())
        .take(max_suffix)
        .take_while(|(a, b)| a == b)
        .count();
    Some(Splice {
        position: prefix,
        delete: old_chars.len() - prefix - suffix,
        insert: new_chars[prefix..new_chars.len() - suffix].iter().collect(),
    })
}

/// Where a caret at character `position` ends up once `edit` (made by
/// someone else) is applied: before the edit it stays put, after it it
/// shifts by the edit's length change, and inside the removed span it moves
/// to the end of the inserted text.
pub fn map_position(position: usize, edit: &Splice) -> usize {
    let inserted = edit.insert.chars().count();
    if position <= edit.position {
        position
    } else if position >= edit.position + edit.delete {
        position - edit.delete + inserted
    } else {
        edit.position + inserted
    }
}

/// Rewrites `local`, made against the same text as `remote`, so that it
/// applies after `remote`: what the local edit removes that `remote`
/// already removed is not removed twice, and what `remote` inserted is kept
/// unless the local edit removed text on both sides of it.
pub fn rebase(local: &Splice, remote: &Splice) -> Splice {
    let inserted = remote.insert.chars().count();
    let remote_end = remote.position + remote.delete;
    let start = map_position(local.position, remote);
    let end_before = local.position + local.delete;
    let end = if end_before <= remote.position {
        end_before
    } else if end_before >= remote_end {
        end_before - remote.delete + inserted
    } else {
        remote.position
    };
    Splice {
        position: start,
        delete: end.saturating_sub(start),
        insert: local.insert.clone(),
    }
}

/// The splice to apply to `current` when someone turned `base` into
/// `typed` while the document moved from `base` to `current` (another
/// person typed in the same text): their edit rebased over the other's, so
/// both keep their words. `None` when `typed` is `base`.
pub fn rebase_typing(base: &str, typed: &str, current: &str) -> Option<Splice> {
    let local = diff(base, typed)?;
    Some(match diff(base, current) {
        None => local,
        Some(remote) => rebase(&local, &remote),
    })
}

/// `text` with `edit` applied, clamped to its end (for text held outside
/// the document).
pub fn apply(text: &str, edit: &Splice) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let start = edit.position.min(chars.len());
    let end = edit.position.saturating_add(edit.delete).min(chars.len());
    chars.splice(start..end, edit.insert.chars());
    chars.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use automerge::sync::SyncDoc;
    use automerge::{AutoCommit, ObjType, ROOT};
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn typing_over_a_concurrent_edit_keeps_both() {
        let edit = rebase_typing("Weekly sync", "Weekly sync, shorter", "The weekly sync").unwrap();
        assert_eq!(apply("The weekly sync", &edit), "The weekly sync, shorter");
        assert_eq!(rebase_typing("same", "same", "changed"), None);
        let plain = rebase_typing("ab", "axb", "ab").unwrap();
        assert_eq!(apply("ab", &plain), "axb");
        // Clamped rather than out of bounds on text held outside a document.
        assert_eq!(
            apply(
                "日本",
                &Splice {
                    position: 9,
                    delete: 3,
                    insert: "語".into()
                }
            ),
            "日本語"
        );
    }

    fn doc_with_text(initial: &str) -> (AutoCommit, ObjId) {
        let mut doc = AutoCommit::new();
        let text = doc.put_object(ROOT, "body", ObjType::Text).unwrap();
        doc.splice_text(&text, 0, 0, initial).unwrap();
        (doc, text)
    }

    #[test]
    fn refuses_out_of_range_edits_and_changes_nothing() {
        let (mut doc, text) = doc_with_text("héllo");
        let edit = Splice {
            position: 4,
            delete: 2,
            insert: "x".into(),
        };
        assert!(matches!(
            splice(&mut doc, &text, &edit),
            Err(TextEditError::OutOfRange { length: 5, .. })
        ));
        assert_eq!(doc.text(&text).unwrap(), "héllo");
    }

    #[test]
    fn concurrent_typing_in_one_paragraph_keeps_both() {
        let (mut alice, text) = doc_with_text("The partners agree.");
        let mut bob = alice.fork();
        let old = alice.text(&text).unwrap();
        splice(
            &mut alice,
            &text,
            &diff(&old, "The partners fully agree.").unwrap(),
        )
        .unwrap();
        splice(
            &mut bob,
            &text,
            &diff(&old, "The two partners agree.").unwrap(),
        )
        .unwrap();
        let (mut a_state, mut b_state) =
            (automerge::sync::State::new(), automerge::sync::State::new());
        for _ in 0..10 {
            if let Some(m) = alice.sync().generate_sync_message(&mut a_state) {
                bob.sync().receive_sync_message(&mut b_state, m).unwrap();
            }
            if let Some(m) = bob.sync().generate_sync_message(&mut b_state) {
                alice.sync().receive_sync_message(&mut a_state, m).unwrap();
            }
        }
        assert_eq!(alice.text(&text).unwrap(), "The two partners fully agree.");
        assert_eq!(bob.text(&text).unwrap(), alice.text(&text).unwrap());
    }

    proptest! {
        #[test]
        fn diff_then_splice_reproduces_the_new_text(old in "[a-cé ]{0,12}", new in "[a-cé ]{0,12}") {
            let (mut doc, text) = doc_with_text(&old);
            if let Some(edit) = diff(&old, &new) {
                splice(&mut doc, &text, &edit).unwrap();
            }
            prop_assert_eq!(doc.text(&text).unwrap(), new);
        }
    }

    #[test]
    fn a_caret_follows_the_text_around_it() {
        let edit = Splice {
            position: 4,
            delete: 3,
            insert: "ab".into(),
        };
        assert_eq!(map_position(2, &edit), 2);
        assert_eq!(
            map_position(4, &edit),
            4,
            "an insert at the caret stays after it"
        );
        assert_eq!(
            map_position(5, &edit),
            6,
            "inside the removed span: end of the insert"
        );
        assert_eq!(map_position(7, &edit), 6);
        assert_eq!(map_position(10, &edit), 9);
    }

    #[test]
    fn rebased_local_edits_keep_both_sides_words() {
        let base = "We share data monthly.";
        let remote = diff(base, "We share sales data monthly.").unwrap();
        let local = diff(base, "We share data weekly.").unwrap();
        let merged = apply(&apply(base, &remote), &rebase(&local, &remote));
        assert_eq!(merged, "We share sales data weekly.");
        // Both remove "data": it goes once and the local insert lands
        // where it was, as the two concurrent splices merge in the document.
        let remote = diff(base, "We share monthly.").unwrap();
        let local = diff(base, "We share all monthly.").unwrap();
        assert_eq!(
            apply(&apply(base, &remote), &rebase(&local, &remote)),
            "We share allmonthly."
        );
    }

    proptest! {
        #[test]
        fn rebase_always_fits_the_remote_result(
            base in "[a-cé ]{0,12}",
            a in "[a-cé ]{0,12}",
            b in "[a-cé ]{0,12}",
        ) {
            let (Some(remote), Some(local)) = (diff(&base, &a), diff(&base, &b)) else {
                return Ok(());
            };
            let after_remote = apply(&base, &remote);
            let rebased = rebase(&local, &remote);
            prop_assert!(rebased.position + rebased.delete <= after_remote.chars().count());
            let merged = apply(&after_remote, &rebased);
            prop_assert!(merged.contains(&local.insert));
            let caret = map_position(local.position, &remote);
            prop_assert!(caret <= after_remote.chars().count());
        }
    }
}
