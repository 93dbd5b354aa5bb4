//! Identifiers of items inside a partnership document.
//!
//! Every item (a party, a member, an objective, a measurement…) is keyed by
//! 16 random bytes written as 32 lowercase hex digits. The caller supplies the
//! bytes (this crate has no randomness), so two replicas inserting at the same
//! time never pick the same key.

use std::fmt;
use std::str::FromStr;

/// Why a string is not an item id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an id (expected 32 hex digits): {0:?}")]
pub struct IdError(pub String);

/// Lowercase hex of `bytes`.
pub(crate) fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0x0f)]));
    }
    out
}

/// Decodes hex (either case) into bytes; `None` if it is not hex.
pub(crate) fn from_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| {
        char::from(c)
            .to_digit(16)
            .and_then(|d| u8::try_from(d).ok())
    };
    text.as_bytes()
        .chunks(2)
        .map(|pair| Some(digit(pair[0])? << 4 | digit(pair[1])?))
        .collect()
}

macro_rules! item_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name([u8; 16]);

        impl $name {
            /// Builds an id from 16 random bytes supplied by the caller.
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(bytes)
            }

            /// The raw bytes.
            pub const fn as_bytes(&self) -> &[u8; 16] {
                &self.0
            }

            /// The map key this id is stored under (32 lowercase hex digits).
            pub fn key(&self) -> String {
                to_hex(&self.0)
            }
        }

        /// An id is stored as a field value the same way as a map key: its
        /// 32 hex digits.
        impl From<$name> for automerge::ScalarValue {
            fn from(id: $name) -> Self {
                automerge::ScalarValue::Str(id.key().into())
            }
        }

        impl FromStr for $name {
            type Err = IdError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                from_hex(text)
                    .and_then(|bytes| <[u8; 16]>::try_from(bytes).ok())
                    .map(Self)
                    .ok_or_else(|| IdError(text.to_owned()))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.key())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self)
            }
        }
    };
}

item_id! {
    /// An item in one of the document's collections (objective, KPI,
    /// measurement, criterion, checklist entry, activity, milestone…).
    ItemId
}

item_id! {
    /// A person taking part in the partnership, on either side.
    MemberId
}

item_id! {
    /// A partner organization.
    PartyId
}

/// Party and member ids are item ids kept apart by type: each converts to
/// and from [`ItemId`] with the same bytes, for the generic collection helpers.
macro_rules! same_bytes_as_item_id {
    ($($name:ident),*) => {$(
        impl From<$name> for ItemId {
            fn from(id: $name) -> Self {
                Self(id.0)
            }
        }

        impl From<ItemId> for $name {
            fn from(id: ItemId) -> Self {
                Self(id.0)
            }
        }
    )*};
}

same_bytes_as_item_id!(PartyId, MemberId);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_their_key() {
        let id = ItemId::from_bytes(*b"0123456789abcdef");
        assert_eq!(id.key().len(), 32);
        assert_eq!(id.key().parse::<ItemId>().unwrap(), id);
        assert_eq!(id.to_string().to_uppercase().parse::<ItemId>().unwrap(), id);
        let member = MemberId::from_bytes([0xab; 16]);
        assert_eq!(member.to_string(), "ab".repeat(16));
        assert_eq!(
            format!("{member:?}"),
            format!("MemberId({})", "ab".repeat(16))
        );
    }

    #[test]
    fn rejects_malformed_ids() {
        for bad in [
            "",
            "abc",
            &"g".repeat(32),
            &"ab".repeat(15),
            &"ab".repeat(17),
            "é",
        ] {
            assert_eq!(
                bad.parse::<PartyId>(),
                Err(IdError(bad.to_owned())),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn hex_helpers_round_trip() {
        let bytes = [0u8, 1, 0x7f, 0x80, 0xff];
        assert_eq!(to_hex(&bytes), "00017f80ff");
        assert_eq!(from_hex("00017F80ff").unwrap(), bytes);
        assert_eq!(from_hex("0"), None);
        assert_eq!(from_hex("zz"), None);
    }
}
