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
    Automerge(#[from] AutomergeError),
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

#[cfg(test)]
mod tests {
    use automerge::sync::SyncDoc;
    use automerge::{AutoCommit, ObjType, ROOT};
    use proptest::prelude::*;

    use super::*;

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
}
