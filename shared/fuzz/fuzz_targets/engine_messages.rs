//! A stream of frames from two peers into a relay engine: whatever they send,
//! the engine never panics, and a peer it disconnects is told why first.
#![no_main]

use accord_shared::engine::{Access, Effect, Engine, EngineConfig, Event};
use accord_shared::ids::{DocumentId, PeerId};
use accord_shared::protocol::{DocMessage, Message, PeerMetadata, decode};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let peers: [PeerId; 2] = ["fuzz-a".parse().unwrap(), "fuzz-b".parse().unwrap()];
    let mut engine = Engine::new("relay".parse().unwrap(), PeerMetadata::default(), EngineConfig::relay());
    for peer in &peers {
        engine.handle(0, Event::PeerConnected { peer: peer.clone(), metadata: None });
    }
    // Each chunk: [selector, length, bytes...]. Selector picks the peer, access,
    // and whether the bytes are a whole frame or a raw sync payload.
    let mut rest = input;
    let mut now = 0;
    while rest.len() >= 2 {
        let (selector, length) = (rest[0], usize::from(rest[1]));
        rest = &rest[2..];
        let chunk = &rest[..length.min(rest.len())];
        rest = &rest[chunk.len()..];
        let from = peers[usize::from(selector & 1)].clone();
        let access = if selector & 2 == 0 { Access::Write } else { Access::Read };
        let message = if selector & 4 == 0 {
            match decode(chunk) {
                Ok(message) => message,
                Err(_) => continue,
            }
        } else {
            Message::Sync(DocMessage {
                sender_id: from.clone(),
                target_id: "relay".parse().unwrap(),
                document_id: DocumentId::from_bytes([selector >> 4; 16]),
                data: chunk.to_vec(),
            })
        };
        now += 1;
        let effects = engine.handle(now, Event::Message { from, message, access });
        for effect in effects {
            match effect {
                Effect::Load { document } => {
                    engine.handle(now, Event::Loaded { document, stored: None });
                }
                Effect::Persist { document, seq, .. } => {
                    engine.handle(now, Event::Persisted { document, seq });
                }
                _ => {}
            }
        }
    }
});
