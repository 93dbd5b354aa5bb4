//! CBOR encoding and decoding of [`Message`]s.
//!
//! Decoding is tolerant where the JavaScript implementation is loose (unknown
//! keys are skipped; counters may arrive as floats; `add`/`remove` may be
//! `undefined`) and strict everywhere else: every failure is a [`DecodeError`].

use std::collections::BTreeMap;

use minicbor::data::Type;
use minicbor::{Decoder, Encoder};

use super::message::{
    DocMessage, EphemeralMessage, HeadsInfo, Message, PeerMetadata, RemoteHeadsChanged,
    RemoteSubscriptionChange,
};
use crate::ids::{DocumentId, DocumentIdError, MAX_DOCUMENT_ID_CHARS, PeerId, PeerIdError};

/// Why a frame is not a valid message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The bytes are not well-formed CBOR of the expected shape.
    #[error("malformed CBOR: {0}")]
    Cbor(String),
    /// The top-level item is not a map.
    #[error("a message must be a CBOR map")]
    NotAMap,
    /// Bytes follow the message.
    #[error("{0} unexpected bytes after the message")]
    TrailingBytes(usize),
    /// No `type` field.
    #[error("message has no type")]
    MissingType,
    /// A `type` we do not know.
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    /// A field the message type requires is absent.
    #[error("{message_type} message is missing {field}")]
    MissingField {
        /// The message type.
        message_type: &'static str,
        /// The absent field.
        field: &'static str,
    },
    /// The document id does not parse.
    #[error("bad documentId: {0}")]
    DocumentId(#[from] DocumentIdError),
    /// A peer id does not parse.
    #[error("bad peer id: {0}")]
    PeerId(#[from] PeerIdError),
    /// A number is negative, fractional or too large.
    #[error("field {0} is not a non-negative integer")]
    BadNumber(&'static str),
    /// A text field is longer than this codec accepts.
    #[error("field {field} is longer than {limit} bytes")]
    TextTooLong {
        /// The field.
        field: &'static str,
        /// Its limit in bytes.
        limit: usize,
    },
    /// A list or map holds more entries than this codec accepts.
    #[error("field {field} has more than {limit} entries")]
    TooManyItems {
        /// The field.
        field: &'static str,
        /// Its limit in entries.
        limit: usize,
    },
}

/// Bounds on what one decoded message may hold, so that a frame's cost in
/// memory, in error texts and in logs stays proportional to what a real peer
/// sends rather than to what fits in a frame. Binary payloads (`data`) are
/// bounded only by the transport's frame limit.
pub mod limits {
    /// `type`.
    pub const TYPE: usize = 64;
    /// `senderId`, `targetId`, `sessionId`, storage ids and heads.
    pub const ID: usize = 128;
    /// A protocol version string.
    pub const VERSION: usize = 16;
    /// Entries of `supportedProtocolVersions`.
    pub const VERSIONS: usize = 16;
    /// The text of an `error` message.
    pub const ERROR_TEXT: usize = 1024;
    /// Entries of `add` or `remove` in `remote-subscription-change`.
    pub const SUBSCRIPTIONS: usize = 64;
    /// Storage ids in `newHeads`.
    pub const HEADS_STORAGES: usize = 16;
    /// Heads per storage in `newHeads`.
    pub const HEADS: usize = 1024;
}

impl From<minicbor::decode::Error> for DecodeError {
    fn from(error: minicbor::decode::Error) -> Self {
        Self::Cbor(error.to_string())
    }
}

/// Decodes one frame.
pub fn decode(bytes: &[u8]) -> Result<Message, DecodeError> {
    let mut decoder = Decoder::new(bytes);
    let fields = Fields::read(&mut decoder)?;
    let rest = bytes.len() - decoder.position();
    if rest != 0 {
        return Err(DecodeError::TrailingBytes(rest));
    }
    fields.into_message()
}

/// Encodes one frame. Writing to a `Vec` cannot fail, so neither can this.
pub fn encode(message: &Message) -> Vec<u8> {
    let mut encoder = Encoder::new(Vec::with_capacity(64 + payload_len(message)));
    write_message(&mut encoder, message).expect("writing CBOR into a Vec cannot fail");
    encoder.into_writer()
}

fn payload_len(message: &Message) -> usize {
    match message {
        Message::Request(m) | Message::Sync(m) => m.data.len(),
        Message::Ephemeral(m) => m.data.len(),
        _ => 0,
    }
}

/// Every field any message may carry, collected before the type is known
/// (the `type` key is not necessarily first).
#[derive(Default)]
struct Fields {
    message_type: Option<String>,
    sender_id: Option<String>,
    target_id: Option<String>,
    document_id: Option<String>,
    data: Option<Vec<u8>>,
    selected_protocol_version: Option<String>,
    supported_protocol_versions: Option<Vec<String>>,
    metadata: Option<PeerMetadata>,
    message: Option<String>,
    session_id: Option<String>,
    count: Option<u64>,
    add: Option<Vec<String>>,
    remove: Option<Vec<String>>,
    new_heads: Option<BTreeMap<String, HeadsInfo>>,
}

impl Fields {
    fn read(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut fields = Self::default();
        if d.datatype()? != Type::Map && d.datatype()? != Type::MapIndef {
            return Err(DecodeError::NotAMap);
        }
        for_each_entry(d, |d| {
            let key = d.str()?;
            match key {
                "type" => fields.message_type = Some(read_text(d, "type", limits::TYPE)?),
                "senderId" => fields.sender_id = Some(read_text(d, "senderId", limits::ID)?),
                "targetId" => fields.target_id = Some(read_text(d, "targetId", limits::ID)?),
                "documentId" => fields.document_id = Some(read_document_id_text(d)?),
                "data" => fields.data = Some(read_bytes(d)?),
                "selectedProtocolVersion" => {
                    fields.selected_protocol_version =
                        Some(read_text(d, "selectedProtocolVersion", limits::VERSION)?);
                }
                "supportedProtocolVersions" => {
                    fields.supported_protocol_versions = Some(read_strings(
                        d,
                        "supportedProtocolVersions",
                        limits::VERSIONS,
                        limits::VERSION,
                    )?);
                }
                "peerMetadata" | "metadata" => fields.metadata = read_metadata(d)?,
                "message" => fields.message = Some(read_text(d, "message", limits::ERROR_TEXT)?),
                "sessionId" => fields.session_id = Some(read_text(d, "sessionId", limits::ID)?),
                "count" => fields.count = Some(read_number(d, "count")?),
                "add" => fields.add = read_optional_strings(d, "add")?,
                "remove" => fields.remove = read_optional_strings(d, "remove")?,
                "newHeads" => fields.new_heads = Some(read_new_heads(d)?),
                _ => d.skip()?,
            }
            Ok(())
        })?;
        Ok(fields)
    }

    fn into_message(self) -> Result<Message, DecodeError> {
        let message_type = self.message_type.clone().ok_or(DecodeError::MissingType)?;
        let t: &'static str = match message_type.as_str() {
            "join" => "join",
            "peer" => "peer",
            "leave" => "leave",
            "request" => "request",
            "sync" => "sync",
            "doc-unavailable" => "doc-unavailable",
            "ephemeral" => "ephemeral",
            "error" => "error",
            "remote-subscription-change" => "remote-subscription-change",
            "remote-heads-changed" => "remote-heads-changed",
            _ => return Err(DecodeError::UnknownType(message_type)),
        };
        let mut f = self;
        let message = match t {
            "join" => Message::Join {
                sender_id: f.sender(t)?,
                supported_protocol_versions: take(
                    &mut f.supported_protocol_versions,
                    t,
                    "supportedProtocolVersions",
                )?,
                metadata: f.metadata.take(),
            },
            "peer" => Message::Peer {
                sender_id: f.sender(t)?,
                target_id: f.target(t)?,
                selected_protocol_version: take(
                    &mut f.selected_protocol_version,
                    t,
                    "selectedProtocolVersion",
                )?,
                metadata: f.metadata.take(),
            },
            "leave" => Message::Leave {
                sender_id: f.sender(t)?,
            },
            "request" => Message::Request(f.doc_message(t)?),
            "sync" => Message::Sync(f.doc_message(t)?),
            "doc-unavailable" => Message::DocUnavailable {
                sender_id: f.sender(t)?,
                target_id: f.target(t)?,
                document_id: f.document(t)?,
            },
            "ephemeral" => Message::Ephemeral(EphemeralMessage {
                sender_id: f.sender(t)?,
                target_id: f.target(t)?,
                count: take(&mut f.count, t, "count")?,
                session_id: take(&mut f.session_id, t, "sessionId")?,
                document_id: f.document(t)?,
                data: take(&mut f.data, t, "data")?,
            }),
            "error" => Message::Error {
                message: take(&mut f.message, t, "message")?,
            },
            "remote-subscription-change" => {
                Message::RemoteSubscriptionChange(RemoteSubscriptionChange {
                    sender_id: f.sender(t)?,
                    target_id: f.target(t)?,
                    add: f.add.take().unwrap_or_default(),
                    remove: f.remove.take().unwrap_or_default(),
                })
            }
            _ => Message::RemoteHeadsChanged(RemoteHeadsChanged {
                sender_id: f.sender(t)?,
                target_id: f.target(t)?,
                document_id: f.document(t)?,
                new_heads: take(&mut f.new_heads, t, "newHeads")?,
            }),
        };
        Ok(message)
    }

    fn sender(&mut self, t: &'static str) -> Result<PeerId, DecodeError> {
        Ok(take(&mut self.sender_id, t, "senderId")?.parse()?)
    }

    fn target(&mut self, t: &'static str) -> Result<PeerId, DecodeError> {
        Ok(take(&mut self.target_id, t, "targetId")?.parse()?)
    }

    fn document(&mut self, t: &'static str) -> Result<DocumentId, DecodeError> {
        let text = take(&mut self.document_id, t, "documentId")?;
        Ok(DocumentId::parse_url_or_id(&text)?)
    }

    fn doc_message(&mut self, t: &'static str) -> Result<DocMessage, DecodeError> {
        Ok(DocMessage {
            sender_id: self.sender(t)?,
            target_id: self.target(t)?,
            document_id: self.document(t)?,
            data: take(&mut self.data, t, "data")?,
        })
    }
}

fn take<T>(
    slot: &mut Option<T>,
    message_type: &'static str,
    field: &'static str,
) -> Result<T, DecodeError> {
    slot.take().ok_or(DecodeError::MissingField {
        message_type,
        field,
    })
}

/// Calls `entry` once per key/value pair of the map at the cursor, definite or not.
fn for_each_entry<'b>(
    d: &mut Decoder<'b>,
    mut entry: impl FnMut(&mut Decoder<'b>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    match d.map()? {
        Some(len) => {
            for _ in 0..len {
                entry(d)?;
            }
        }
        None => {
            while d.datatype()? != Type::Break {
                entry(d)?;
            }
            d.skip()?;
        }
    }
    Ok(())
}

/// The body of a map or array whose header was just read (`declared` is its
/// length, `None` when indefinite): `each` per element (a map entry or an
/// array item), refusing more than `max`, checked before reading them when
/// the length is declared.
fn each_bounded<'b>(
    d: &mut Decoder<'b>,
    declared: Option<u64>,
    field: &'static str,
    max: usize,
    mut each: impl FnMut(&mut Decoder<'b>) -> Result<(), DecodeError>,
) -> Result<(), DecodeError> {
    let too_many = || DecodeError::TooManyItems { field, limit: max };
    match declared {
        Some(len) => {
            if usize::try_from(len).map_or(true, |len| len > max) {
                return Err(too_many());
            }
            for _ in 0..len {
                each(d)?;
            }
        }
        None => {
            let mut seen = 0;
            while d.datatype()? != Type::Break {
                seen += 1;
                if seen > max {
                    return Err(too_many());
                }
                each(d)?;
            }
            d.skip()?;
        }
    }
    Ok(())
}

/// A definite-length text string of at most `max` bytes.
fn read_text(d: &mut Decoder<'_>, field: &'static str, max: usize) -> Result<String, DecodeError> {
    let text = d.str()?;
    if text.len() > max {
        return Err(DecodeError::TextTooLong { field, limit: max });
    }
    Ok(text.to_owned())
}

fn skip_tags(d: &mut Decoder<'_>) -> Result<(), DecodeError> {
    while d.datatype()? == Type::Tag {
        d.tag()?;
    }
    Ok(())
}

/// Byte strings, possibly wrapped in a typed-array tag as some CBOR encoders write them.
fn read_bytes(d: &mut Decoder<'_>) -> Result<Vec<u8>, DecodeError> {
    skip_tags(d)?;
    if d.datatype()? == Type::BytesIndef {
        let mut out = Vec::new();
        for chunk in d.bytes_iter()? {
            out.extend_from_slice(chunk?);
        }
        return Ok(out);
    }
    Ok(d.bytes()?.to_vec())
}

/// A document id is text on the wire; some peers send its raw 16 bytes.
fn read_document_id_text(d: &mut Decoder<'_>) -> Result<String, DecodeError> {
    skip_tags(d)?;
    if d.datatype()? == Type::String {
        let text = d.str()?;
        // Longer than any `automerge:` URL: refused before anything decodes it.
        if text.len() > MAX_DOCUMENT_ID_CHARS + "automerge:".len() {
            return Err(DecodeError::DocumentId(DocumentIdError::TooLong(
                text.len(),
            )));
        }
        return Ok(text.to_owned());
    }
    let bytes = read_bytes(d)?;
    let array: [u8; 16] = bytes
        .as_slice()
        .try_into()
        .map_err(|_| DecodeError::DocumentId(DocumentIdError::Length(bytes.len())))?;
    Ok(DocumentId::from_bytes(array).to_string())
}

fn read_strings(
    d: &mut Decoder<'_>,
    field: &'static str,
    max_items: usize,
    max_len: usize,
) -> Result<Vec<String>, DecodeError> {
    let mut out = Vec::new();
    let declared = d.array()?;
    each_bounded(d, declared, field, max_items, |d| {
        out.push(read_text(d, field, max_len)?);
        Ok(())
    })?;
    Ok(out)
}

fn read_optional_strings(
    d: &mut Decoder<'_>,
    field: &'static str,
) -> Result<Option<Vec<String>>, DecodeError> {
    match d.datatype()? {
        Type::Array | Type::ArrayIndef => Ok(Some(read_strings(
            d,
            field,
            limits::SUBSCRIPTIONS,
            limits::ID,
        )?)),
        Type::Null | Type::Undefined => {
            d.skip()?;
            Ok(None)
        }
        other => Err(DecodeError::Cbor(format!(
            "expected an array of strings, found {other}"
        ))),
    }
}

/// Integers may arrive as CBOR floats from JavaScript.
fn read_number(d: &mut Decoder<'_>, field: &'static str) -> Result<u64, DecodeError> {
    match d.datatype()? {
        Type::F16 | Type::F32 | Type::F64 => {
            let value = d.f64()?;
            let in_range =
                value >= 0.0 && value.fract() == 0.0 && value <= 9.007_199_254_740_991e15;
            if in_range {
                // Exact: an integral f64 within 2^53 converts losslessly.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                Ok(value as u64)
            } else {
                Err(DecodeError::BadNumber(field))
            }
        }
        _ => d.u64().map_err(|_| DecodeError::BadNumber(field)),
    }
}

fn read_metadata(d: &mut Decoder<'_>) -> Result<Option<PeerMetadata>, DecodeError> {
    if matches!(d.datatype()?, Type::Null | Type::Undefined) {
        d.skip()?;
        return Ok(None);
    }
    let mut metadata = PeerMetadata::default();
    for_each_entry(d, |d| {
        match d.str()? {
            "storageId" => {
                if matches!(d.datatype()?, Type::Null | Type::Undefined) {
                    d.skip()?;
                } else {
                    metadata.storage_id = Some(read_text(d, "storageId", limits::ID)?);
                }
            }
            "isEphemeral" => metadata.is_ephemeral = d.bool()?,
            _ => d.skip()?,
        }
        Ok(())
    })?;
    Ok(Some(metadata))
}

fn read_new_heads(d: &mut Decoder<'_>) -> Result<BTreeMap<String, HeadsInfo>, DecodeError> {
    let mut out = BTreeMap::new();
    let declared = d.map()?;
    each_bounded(d, declared, "newHeads", limits::HEADS_STORAGES, |d| {
        let storage_id = read_text(d, "newHeads", limits::ID)?;
        let mut heads = Vec::new();
        let mut timestamp = 0;
        for_each_entry(d, |d| {
            match d.str()? {
                "heads" => heads = read_strings(d, "heads", limits::HEADS, limits::ID)?,
                "timestamp" => timestamp = read_number(d, "timestamp")?,
                _ => d.skip()?,
            }
            Ok(())
        })?;
        out.insert(storage_id, HeadsInfo { heads, timestamp });
        Ok(())
    })?;
    Ok(out)
}

type EncodeResult = Result<(), minicbor::encode::Error<std::convert::Infallible>>;

fn write_message(e: &mut Encoder<Vec<u8>>, message: &Message) -> EncodeResult {
    match message {
        Message::Join {
            sender_id,
            supported_protocol_versions,
            metadata,
        } => {
            e.map(3 + u64::from(metadata.is_some()))?;
            e.str("type")?.str("join")?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("supportedProtocolVersions")?
                .array(supported_protocol_versions.len() as u64)?;
            for version in supported_protocol_versions {
                e.str(version)?;
            }
            if let Some(metadata) = metadata {
                write_metadata(e, metadata)?;
            }
        }
        Message::Peer {
            sender_id,
            target_id,
            selected_protocol_version,
            metadata,
        } => {
            e.map(4 + u64::from(metadata.is_some()))?;
            e.str("type")?.str("peer")?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("targetId")?.str(target_id.as_str())?;
            e.str("selectedProtocolVersion")?
                .str(selected_protocol_version)?;
            if let Some(metadata) = metadata {
                write_metadata(e, metadata)?;
            }
        }
        Message::Leave { sender_id } => {
            e.map(2)?;
            e.str("type")?.str("leave")?;
            e.str("senderId")?.str(sender_id.as_str())?;
        }
        Message::Request(m) | Message::Sync(m) => {
            e.map(5)?;
            e.str("type")?.str(message.type_name())?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("documentId")?.str(&m.document_id.to_string())?;
            e.str("data")?.bytes(&m.data)?;
        }
        Message::DocUnavailable {
            sender_id,
            target_id,
            document_id,
        } => {
            e.map(4)?;
            e.str("type")?.str("doc-unavailable")?;
            e.str("senderId")?.str(sender_id.as_str())?;
            e.str("targetId")?.str(target_id.as_str())?;
            e.str("documentId")?.str(&document_id.to_string())?;
        }
        Message::Ephemeral(m) => {
            e.map(7)?;
            e.str("type")?.str("ephemeral")?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("count")?.u64(m.count)?;
            e.str("sessionId")?.str(&m.session_id)?;
            e.str("documentId")?.str(&m.document_id.to_string())?;
            e.str("data")?.bytes(&m.data)?;
        }
        Message::Error { message } => {
            e.map(2)?;
            e.str("type")?.str("error")?;
            e.str("message")?.str(message)?;
        }
        Message::RemoteSubscriptionChange(m) => {
            e.map(5)?;
            e.str("type")?.str("remote-subscription-change")?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            write_strings(e.str("add")?, &m.add)?;
            write_strings(e.str("remove")?, &m.remove)?;
        }
        Message::RemoteHeadsChanged(m) => {
            e.map(5)?;
            e.str("type")?.str("remote-heads-changed")?;
            e.str("senderId")?.str(m.sender_id.as_str())?;
            e.str("targetId")?.str(m.target_id.as_str())?;
            e.str("documentId")?.str(&m.document_id.to_string())?;
            e.str("newHeads")?.map(m.new_heads.len() as u64)?;
            for (storage_id, info) in &m.new_heads {
                e.str(storage_id)?.map(2)?;
                write_strings(e.str("heads")?, &info.heads)?;
                e.str("timestamp")?.u64(info.timestamp)?;
            }
        }
    }
    Ok(())
}

fn write_strings(e: &mut Encoder<Vec<u8>>, items: &[String]) -> EncodeResult {
    e.array(items.len() as u64)?;
    for item in items {
        e.str(item)?;
    }
    Ok(())
}

fn write_metadata(e: &mut Encoder<Vec<u8>>, metadata: &PeerMetadata) -> EncodeResult {
    e.str("peerMetadata")?;
    e.map(1 + u64::from(metadata.storage_id.is_some()))?;
    if let Some(storage_id) = &metadata.storage_id {
        e.str("storageId")?.str(storage_id)?;
    }
    e.str("isEphemeral")?.bool(metadata.is_ephemeral)?;
    Ok(())
}

#[cfg(test)]
mod tests;
