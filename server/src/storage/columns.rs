//! Conversions between the access records and the column types both SQL
//! stores use (signed 64-bit integers, text ids, byte strings), with a
//! stored value that does not convert reported as [`StorageError::Corrupt`].

use accord_shared::ids::DocumentId;

use super::StorageError;
use super::records::Role;

/// A stored millisecond time (negative, which no writer stores, reads as 0).
pub(super) fn millis(value: i64) -> u64 {
    u64::try_from(value).unwrap_or(0)
}

/// A millisecond time as a column value (saturating past `i64::MAX`).
pub(super) fn signed(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A stored document id.
pub(super) fn parse_document(text: &str) -> Result<DocumentId, StorageError> {
    text.parse()
        .map_err(|e| StorageError::Corrupt(format!("document id {text:?}: {e}")))
}

/// A stored role name.
pub(super) fn parse_role(text: &str) -> Result<Role, StorageError> {
    text.parse()
        .map_err(|_| StorageError::Corrupt(format!("role {text:?}")))
}

/// A stored 32-byte key or hash.
pub(super) fn hash32(bytes: Vec<u8>) -> Result<[u8; 32], StorageError> {
    bytes
        .try_into()
        .map_err(|_| StorageError::Corrupt("hash is not 32 bytes".into()))
}
