use std::fmt;
use std::str::FromStr;

/// The URL scheme automerge-repo uses for document links.
const URL_PREFIX: &str = "automerge:";

/// Longest bs58check text of a document id: 16 bytes plus a 4-byte checksum
/// never need more than 28 base58 digits. Base58 decoding is quadratic in the
/// input length, so anything longer is refused before it is decoded.
pub const MAX_DOCUMENT_ID_CHARS: usize = 28;

/// A document identifier: 16 random bytes, written as bs58check
/// (the form automerge-repo uses on the wire and in `automerge:` URLs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocumentId([u8; 16]);

/// Why a string is not a document id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DocumentIdError {
    /// The text is not valid bs58check (bad alphabet or checksum).
    #[error("document id is not valid bs58check: {0}")]
    Encoding(String),
    /// The decoded payload has the wrong length.
    #[error("document id must decode to 16 bytes, got {0}")]
    Length(usize),
    /// The text is longer than any document id (checked before decoding).
    #[error("document id is {0} bytes long; ids are at most {MAX_DOCUMENT_ID_CHARS} characters")]
    TooLong(usize),
}

impl DocumentId {
    /// Builds an id from raw bytes (callers supply the randomness).
    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }

    /// A new id from 16 random bytes, stamped as a version-4 UUID: stock
    /// automerge-repo peers ignore documents whose id is not a valid UUID.
    pub const fn generate(mut random: [u8; 16]) -> Self {
        random[6] = (random[6] & 0x0f) | 0x40;
        random[8] = (random[8] & 0x3f) | 0x80;
        Self(random)
    }

    /// The raw 16 bytes.
    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// The `automerge:<id>` URL for this document.
    pub fn url(&self) -> String {
        format!("{URL_PREFIX}{self}")
    }

    /// Parses either a bare id or an `automerge:<id>` URL.
    pub fn parse_url_or_id(text: &str) -> Result<Self, DocumentIdError> {
        text.strip_prefix(URL_PREFIX).unwrap_or(text).parse()
    }
}

impl FromStr for DocumentId {
    type Err = DocumentIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.len() > MAX_DOCUMENT_ID_CHARS {
            return Err(DocumentIdError::TooLong(text.len()));
        }
        let bytes = bs58::decode(text)
            .with_check(None)
            .into_vec()
            .map_err(|e| DocumentIdError::Encoding(e.to_string()))?;
        let array: [u8; 16] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| DocumentIdError::Length(bytes.len()))?;
        Ok(Self(array))
    }
}

impl fmt::Display for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&bs58::encode(self.0).with_check().into_string())
    }
}

impl fmt::Debug for DocumentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DocumentId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn url_round_trips() {
        let id = DocumentId::from_bytes(*b"accord-partners!");
        let url = id.url();
        assert!(url.starts_with("automerge:"));
        assert_eq!(DocumentId::parse_url_or_id(&url).unwrap(), id);
        assert_eq!(DocumentId::parse_url_or_id(&id.to_string()).unwrap(), id);
    }

    #[test]
    fn rejects_bad_checksum_and_length() {
        let good = DocumentId::from_bytes([7; 16]).to_string();
        let mut bad = good.clone().into_bytes();
        let last = bad.len() - 1;
        bad[last] = if bad[last] == b'2' { b'3' } else { b'2' };
        let bad = String::from_utf8(bad).unwrap();
        assert!(matches!(
            bad.parse::<DocumentId>(),
            Err(DocumentIdError::Encoding(_))
        ));
        let short = bs58::encode([1u8; 8]).with_check().into_string();
        assert_eq!(short.parse::<DocumentId>(), Err(DocumentIdError::Length(8)));
        assert!("not-base58-0OIl".parse::<DocumentId>().is_err());
    }

    #[test]
    fn long_text_is_refused_before_decoding() {
        let longest = DocumentId::from_bytes([0xff; 16]).to_string();
        assert!(longest.len() <= MAX_DOCUMENT_ID_CHARS, "{longest}");
        let zeros = DocumentId::from_bytes([0; 16]).to_string();
        assert!(zeros.parse::<DocumentId>().is_ok());
        let huge = "z".repeat(100_000);
        assert_eq!(
            huge.parse::<DocumentId>(),
            Err(DocumentIdError::TooLong(100_000))
        );
        assert_eq!(
            DocumentId::parse_url_or_id(&format!("automerge:{huge}")),
            Err(DocumentIdError::TooLong(100_000))
        );
        let error = huge.parse::<DocumentId>().unwrap_err().to_string();
        assert!(error.len() < 100, "{error}");
    }

    #[test]
    fn generated_ids_are_version_4_uuids() {
        let id = DocumentId::generate([0xff; 16]);
        assert_eq!(id.as_bytes()[6] >> 4, 4);
        assert_eq!(id.as_bytes()[8] >> 6, 0b10);
        let id = DocumentId::generate([0; 16]);
        assert_eq!((id.as_bytes()[6], id.as_bytes()[8]), (0x40, 0x80));
    }

    proptest! {
        #[test]
        fn any_bytes_round_trip(bytes in any::<[u8; 16]>()) {
            let id = DocumentId::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<DocumentId>().unwrap(), id);
        }
    }
}
