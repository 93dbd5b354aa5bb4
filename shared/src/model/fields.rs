//! Reading and writing single fields of the document: the hand-written
//! mapping between Automerge values and Rust types, and shared validation.
//!
//! Reads are lenient (a missing or mistyped field reads as "absent") so a
//! document touched by a buggy or newer client still opens. Writes skip a
//! scalar whose value is unchanged, so an edit form that submits every field
//! does not overwrite a partner's concurrent edit of a field this user left
//! alone.

use std::str::FromStr;

use automerge::transaction::Transactable;
use automerge::{ObjId, ObjType, ReadDoc, ScalarValue, Value};

use super::error::{OpError, OpResult};
use crate::text;

/// A document open for changes: an `AutoCommit`, or a `Transaction` of an
/// `Automerge`, which every operation both reads (to validate) and writes.
/// One name for the bound every operation carries.
pub trait Tx: Transactable + ReadDoc {}

impl<T: Transactable + ReadDoc + ?Sized> Tx for T {}

/// One day in milliseconds.
pub const DAY_MS: u64 = 86_400_000;
/// The earliest date accepted: 2000-01-01T00:00:00Z.
pub const MIN_DATE: u64 = 946_684_800_000;
/// The first date no longer accepted: 2200-01-01T00:00:00Z.
pub const MAX_DATE: u64 = 7_258_118_400_000;

/// The nested map at `parent[key]`, if there is one.
pub(crate) fn child_map<R: ReadDoc>(doc: &R, parent: &ObjId, key: &str) -> Option<ObjId> {
    match doc.get(parent, key) {
        Ok(Some((Value::Object(ObjType::Map), id))) => Some(id),
        _ => None,
    }
}

fn scalar<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<ScalarValue> {
    match doc.get(obj, key) {
        Ok(Some((Value::Scalar(value), _))) => Some(value.into_owned()),
        _ => None,
    }
}

/// A string field.
pub(crate) fn get_str<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<String> {
    match scalar(doc, obj, key)? {
        ScalarValue::Str(s) => Some(s.to_string()),
        _ => None,
    }
}

/// A string field, or `""`.
pub(crate) fn get_string<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> String {
    get_str(doc, obj, key).unwrap_or_default()
}

/// A string field parsed into `T` (an id, a stored name); `None` when it is
/// absent or does not parse.
pub(crate) fn get_parsed<T: FromStr, R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<T> {
    get_str(doc, obj, key)?.parse().ok()
}

/// A non-negative integer field.
pub(crate) fn get_u64<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<u64> {
    match scalar(doc, obj, key)? {
        ScalarValue::Uint(n) => Some(n),
        ScalarValue::Int(n) | ScalarValue::Timestamp(n) => u64::try_from(n).ok(),
        ScalarValue::F64(f) if f >= 0.0 && f.fract() == 0.0 && f < 1e19 => Some(f as u64),
        _ => None,
    }
}

/// A non-negative integer field that fits in a `u32` (a count of days or
/// minutes).
pub(crate) fn get_u32<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<u32> {
    get_u64(doc, obj, key).and_then(|n| u32::try_from(n).ok())
}

/// A numeric field as a float.
pub(crate) fn get_f64<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> Option<f64> {
    match scalar(doc, obj, key)? {
        ScalarValue::F64(f) if f.is_finite() => Some(f),
        ScalarValue::Uint(n) => Some(n as f64),
        ScalarValue::Int(n) => Some(n as f64),
        _ => None,
    }
}

/// A boolean field (absent reads as `false`).
pub(crate) fn get_bool<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> bool {
    matches!(scalar(doc, obj, key), Some(ScalarValue::Boolean(true)))
}

/// A prose field: the content of a Text object, or of a plain string
/// written by an early client; `""` if absent.
pub(crate) fn get_text<R: ReadDoc>(doc: &R, obj: &ObjId, key: &str) -> String {
    match doc.get(obj, key) {
        Ok(Some((Value::Object(ObjType::Text), id))) => doc.text(&id).unwrap_or_default(),
        Ok(Some((Value::Scalar(value), _))) => match value.as_ref() {
            ScalarValue::Str(s) => s.to_string(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

/// Writes a scalar unless the field already holds exactly that value.
pub(crate) fn put<T, V>(tx: &mut T, obj: &ObjId, key: &str, value: V) -> OpResult
where
    T: Tx,
    V: Into<ScalarValue>,
{
    let value = value.into();
    if scalar(tx, obj, key).as_ref() == Some(&value) {
        return Ok(());
    }
    tx.put(obj, key, value)?;
    Ok(())
}

/// Writes `Some` as a scalar, removes the field for `None`.
pub(crate) fn put_opt<T, V>(tx: &mut T, obj: &ObjId, key: &str, value: Option<V>) -> OpResult
where
    T: Tx,
    V: Into<ScalarValue>,
{
    match value {
        Some(value) => put(tx, obj, key, value),
        None => {
            if tx.get(obj, key)?.is_some() {
                tx.delete(obj, key)?;
            }
            Ok(())
        }
    }
}

/// Applies one field of a patch: writes `Some` as a scalar (unless
/// unchanged), leaves the field alone for `None`.
pub(crate) fn patch_put<T, V>(tx: &mut T, obj: &ObjId, key: &str, value: Option<V>) -> OpResult
where
    T: Tx,
    V: Into<ScalarValue>,
{
    match value {
        Some(value) => put(tx, obj, key, value),
        None => Ok(()),
    }
}

/// Applies one optional field of a patch: `Some(Some)` writes it,
/// `Some(None)` removes it, `None` leaves it alone.
pub(crate) fn patch_put_opt<T, V>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    value: Option<Option<V>>,
) -> OpResult
where
    T: Tx,
    V: Into<ScalarValue>,
{
    match value {
        Some(value) => put_opt(tx, obj, key, value),
        None => Ok(()),
    }
}

/// Applies one prose field of a patch with [`set_text`]; `None` leaves it
/// alone.
pub(crate) fn patch_text<T: Tx>(tx: &mut T, obj: &ObjId, key: &str, new: Option<&str>) -> OpResult {
    match new {
        Some(new) => set_text(tx, obj, key, new),
        None => Ok(()),
    }
}

/// Creates a Text field holding `content`.
pub(crate) fn new_text<T: Tx>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    content: &str,
) -> OpResult<ObjId> {
    let text = tx.put_object(obj, key, ObjType::Text)?;
    if !content.is_empty() {
        tx.splice_text(&text, 0, 0, content)?;
    }
    Ok(text)
}

/// Makes the Text field read `new` with the smallest splice, so concurrent
/// typing elsewhere in the same text survives. A field that is missing or a
/// plain string (early clients) becomes Text.
pub(crate) fn set_text<T: Tx>(tx: &mut T, obj: &ObjId, key: &str, new: &str) -> OpResult {
    match tx.get(obj, key)? {
        Some((Value::Object(ObjType::Text), id)) => {
            let old = tx.text(&id)?;
            if let Some(edit) = text::diff(&old, new) {
                text::splice(tx, &id, &edit)?;
            }
        }
        _ => {
            new_text(tx, obj, key, new)?;
        }
    }
    Ok(())
}

/// Applies one splice (what a text editor reports as the user types) to the
/// Text field `key`. A field that is missing or a plain string (early
/// clients) becomes Text holding the spliced content.
pub(crate) fn splice_text_field<T: Tx>(
    tx: &mut T,
    obj: &ObjId,
    key: &str,
    edit: &text::Splice,
) -> OpResult {
    if let Some((Value::Object(ObjType::Text), id)) = tx.get(obj, key)? {
        text::splice(tx, &id, edit)?;
        return Ok(());
    }
    let old = get_string(tx, obj, key);
    let length = old.chars().count();
    if edit
        .position
        .checked_add(edit.delete)
        .is_none_or(|end| end > length)
    {
        return Err(text::TextEditError::OutOfRange {
            position: edit.position,
            delete: edit.delete,
            length,
        }
        .into());
    }
    let spliced: String = old
        .chars()
        .take(edit.position)
        .chain(edit.insert.chars())
        .chain(old.chars().skip(edit.position + edit.delete))
        .collect();
    new_text(tx, obj, key, &spliced)?;
    Ok(())
}

/// The trimmed value, or [`OpError::Empty`].
pub(crate) fn non_empty(field: &'static str, value: &str) -> OpResult<String> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Err(OpError::Empty { field })
    } else {
        Ok(trimmed.to_owned())
    }
}

/// A patch's new value for a required text field, trimmed, or
/// [`OpError::Empty`]; `None` (no change) passes.
pub(crate) fn patch_non_empty(
    field: &'static str,
    value: Option<&str>,
) -> OpResult<Option<String>> {
    value.map(|value| non_empty(field, value)).transpose()
}

/// Accepts a UTC millisecond timestamp in `[MIN_DATE, MAX_DATE)`.
pub(crate) fn check_date(field: &'static str, ms: u64) -> OpResult<u64> {
    if (MIN_DATE..MAX_DATE).contains(&ms) {
        Ok(ms)
    } else {
        Err(OpError::InvalidDate { field })
    }
}

/// Accepts an optional date.
pub(crate) fn check_opt_date(field: &'static str, ms: Option<u64>) -> OpResult<Option<u64>> {
    ms.map(|ms| check_date(field, ms)).transpose()
}

/// Accepts a patch's change of an optional date: `None` (no change) and
/// `Some(None)` (clear it) pass, a new date is checked.
pub(crate) fn patch_opt_date(
    field: &'static str,
    ms: Option<Option<u64>>,
) -> Result<Option<Option<u64>>, OpError> {
    ms.map(|ms| check_opt_date(field, ms)).transpose()
}

/// Accepts an integer in `min..=max`.
pub(crate) fn check_range(field: &'static str, value: u64, min: u64, max: u64) -> OpResult<u64> {
    if (min..=max).contains(&value) {
        Ok(value)
    } else {
        Err(OpError::OutOfRange {
            field,
            min: min as f64,
            max: max as f64,
            value: value as f64,
        })
    }
}

/// Accepts a finite float.
pub(crate) fn check_finite(field: &'static str, value: f64) -> OpResult<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(OpError::NotANumber { field })
    }
}

#[cfg(test)]
mod tests {
    use automerge::{AutoCommit, ROOT};

    use super::*;

    #[test]
    fn lenient_reads_of_absent_and_mistyped_fields() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "n", "seven").unwrap();
        doc.put(ROOT, "i", -3_i64).unwrap();
        doc.put(ROOT, "f", 2.0).unwrap();
        doc.put(ROOT, "s", "plain").unwrap();
        assert_eq!(get_u64(&doc, &ROOT, "n"), None);
        assert_eq!(get_u64(&doc, &ROOT, "i"), None);
        assert_eq!(get_u64(&doc, &ROOT, "f"), Some(2));
        assert_eq!(get_u32(&doc, &ROOT, "f"), Some(2));
        assert_eq!(get_u32(&doc, &ROOT, "i"), None);
        assert_eq!(get_f64(&doc, &ROOT, "i"), Some(-3.0));
        assert_eq!(get_str(&doc, &ROOT, "missing"), None);
        assert_eq!(get_text(&doc, &ROOT, "s"), "plain");
        assert!(!get_bool(&doc, &ROOT, "s"));
        assert_eq!(child_map(&doc, &ROOT, "s"), None);
    }

    #[test]
    fn unchanged_scalars_are_not_rewritten() {
        let mut doc = AutoCommit::new();
        put(&mut doc, &ROOT, "k", "v").unwrap();
        doc.commit();
        let heads = doc.get_heads();
        put(&mut doc, &ROOT, "k", "v").unwrap();
        doc.commit();
        assert_eq!(doc.get_heads(), heads);
        put_opt::<_, u64>(&mut doc, &ROOT, "absent", None).unwrap();
        doc.commit();
        assert_eq!(doc.get_heads(), heads);
    }

    #[test]
    fn set_text_upgrades_plain_strings_and_splices_text() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "p", "early").unwrap();
        set_text(&mut doc, &ROOT, "p", "early bird").unwrap();
        assert!(matches!(
            doc.get(ROOT, "p").unwrap(),
            Some((Value::Object(ObjType::Text), _))
        ));
        set_text(&mut doc, &ROOT, "p", "an early bird").unwrap();
        assert_eq!(get_text(&doc, &ROOT, "p"), "an early bird");
    }

    #[test]
    fn splicing_a_plain_string_or_missing_field_makes_it_text() {
        let mut doc = AutoCommit::new();
        doc.put(ROOT, "p", "early").unwrap();
        let splice = |position, delete, insert: &str| text::Splice {
            position,
            delete,
            insert: insert.into(),
        };
        splice_text_field(&mut doc, &ROOT, "p", &splice(5, 0, " bird")).unwrap();
        assert!(matches!(
            doc.get(ROOT, "p").unwrap(),
            Some((Value::Object(ObjType::Text), _))
        ));
        splice_text_field(&mut doc, &ROOT, "p", &splice(0, 1, "E")).unwrap();
        assert_eq!(get_text(&doc, &ROOT, "p"), "Early bird");
        splice_text_field(&mut doc, &ROOT, "new", &splice(0, 0, "x")).unwrap();
        assert_eq!(get_text(&doc, &ROOT, "new"), "x");
        doc.put(ROOT, "q", "ab").unwrap();
        assert!(splice_text_field(&mut doc, &ROOT, "q", &splice(1, 2, "")).is_err());
        assert_eq!(get_string(&doc, &ROOT, "q"), "ab");
    }

    #[test]
    fn patch_helpers_write_only_the_fields_given() {
        let mut doc = AutoCommit::new();
        put(&mut doc, &ROOT, "title", "old").unwrap();
        put(&mut doc, &ROOT, "due", 5_u64).unwrap();
        new_text(&mut doc, &ROOT, "note", "kept").unwrap();
        doc.commit();
        let heads = doc.get_heads();
        patch_put::<_, &str>(&mut doc, &ROOT, "title", None).unwrap();
        patch_put_opt::<_, u64>(&mut doc, &ROOT, "due", None).unwrap();
        patch_text(&mut doc, &ROOT, "note", None).unwrap();
        doc.commit();
        assert_eq!(doc.get_heads(), heads);
        patch_put(&mut doc, &ROOT, "title", Some("new")).unwrap();
        patch_put_opt::<_, u64>(&mut doc, &ROOT, "due", Some(None)).unwrap();
        patch_text(&mut doc, &ROOT, "note", Some("kept, and more")).unwrap();
        assert_eq!(get_str(&doc, &ROOT, "title").as_deref(), Some("new"));
        assert_eq!(get_u64(&doc, &ROOT, "due"), None);
        assert_eq!(get_text(&doc, &ROOT, "note"), "kept, and more");
        assert_eq!(patch_non_empty("title", None).unwrap(), None);
        assert_eq!(
            patch_non_empty("title", Some(" x ")).unwrap().as_deref(),
            Some("x")
        );
        assert!(patch_non_empty("title", Some(" ")).is_err());
        assert_eq!(patch_opt_date("due", Some(None)).unwrap(), Some(None));
        assert!(patch_opt_date("due", Some(Some(1))).is_err());
    }

    #[test]
    fn validation_helpers() {
        assert_eq!(non_empty("title", "  x ").unwrap(), "x");
        assert!(matches!(
            non_empty("title", " \n"),
            Err(OpError::Empty { field: "title" })
        ));
        assert!(check_date("due", 0).is_err());
        assert!(check_date("due", MIN_DATE - 1).is_err());
        assert!(check_date("due", MAX_DATE).is_err());
        assert_eq!(
            check_date("due", 1_700_000_000_000).unwrap(),
            1_700_000_000_000
        );
        assert!(check_opt_date("due", None).unwrap().is_none());
        assert!(matches!(
            check_range("score", 6, 1, 5),
            Err(OpError::OutOfRange { value, .. }) if value == 6.0
        ));
        assert!(check_finite("value", f64::NAN).is_err());
    }
}
