use std::fmt;
use std::str::FromStr;

/// Longest peer id accepted from the wire; automerge-repo ids are far shorter.
const MAX_LEN: usize = 128;

/// A peer's self-chosen identifier from its `join` message (automerge-repo
/// peer ids are free-form strings, e.g. `peer-3f1c…` or `storage-server-…`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(String);

/// Why a string is not an acceptable peer id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeerIdError {
    /// Empty string.
    #[error("peer id is empty")]
    Empty,
    /// Longer than we accept.
    #[error("peer id is {0} bytes long, at most {MAX_LEN} are accepted")]
    TooLong(usize),
    /// Contains control characters.
    #[error("peer id contains control characters")]
    ControlCharacter,
}

impl PeerId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PeerId {
    type Err = PeerIdError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() {
            return Err(PeerIdError::Empty);
        }
        if text.len() > MAX_LEN {
            return Err(PeerIdError::TooLong(text.len()));
        }
        if text.chars().any(char::is_control) {
            return Err(PeerIdError::ControlCharacter);
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validates() {
        assert_eq!("peer-1".parse::<PeerId>().unwrap().as_str(), "peer-1");
        assert_eq!("".parse::<PeerId>(), Err(PeerIdError::Empty));
        assert_eq!("a\nb".parse::<PeerId>(), Err(PeerIdError::ControlCharacter));
        assert!(matches!(
            "x".repeat(200).parse::<PeerId>(),
            Err(PeerIdError::TooLong(200))
        ));
    }
}
