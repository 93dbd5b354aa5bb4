//! The automerge-repo v1 WebSocket protocol: message types and their CBOR codec.
//!
//! Every frame is one binary WebSocket message holding one CBOR map whose `type`
//! key names the message. Field names are camelCase, as the JavaScript
//! implementation writes them.

mod codec;
mod message;

pub use codec::{DecodeError, decode, encode, limits};
pub use message::{
    DocMessage, EphemeralMessage, HeadsInfo, Message, PROTOCOL_VERSION, PeerMetadata,
    RemoteHeadsChanged, RemoteSubscriptionChange,
};
