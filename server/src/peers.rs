//! Which device a peer id belongs to.
//!
//! automerge-repo peer ids are chosen by the client. A connection that joins
//! with the id of a connected peer replaces it (a reconnect), so without a
//! binding any device could knock any other offline by reusing its id. The
//! first device to join with an id owns it; another device's join with that
//! id is refused. Bindings outlive their connections for [`KEEP_MS`] so the
//! id cannot be taken while its owner reconnects.

use std::collections::HashMap;
use std::sync::Mutex;

use accord_shared::ids::PeerId;

/// How long an id stays bound to its device after its last connection ends.
const KEEP_MS: u64 = 24 * 3_600_000;

/// Bindings kept before released ones are forgotten early.
const MAX_BINDINGS: usize = 100_000;

/// A join refused because another device holds the peer id.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("peer id {0} belongs to another device; choose a fresh one")]
pub(crate) struct PeerIdTaken(pub(crate) PeerId);

struct Binding {
    device: String,
    connections: u32,
    released_at: u64,
}

/// Peer id → device, for every peer connected or recently connected.
#[derive(Default)]
pub(crate) struct PeerBindings {
    bindings: Mutex<HashMap<PeerId, Binding>>,
}

impl PeerBindings {
    /// Binds `peer` to `device` for one more connection, unless another
    /// device holds it.
    pub(crate) fn bind(&self, peer: &PeerId, device: &str, now: u64) -> Result<(), PeerIdTaken> {
        let mut bindings = self
            .bindings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(binding) = bindings.get_mut(peer) {
            let expired =
                binding.connections == 0 && now.saturating_sub(binding.released_at) >= KEEP_MS;
            if binding.device != device && !expired {
                return Err(PeerIdTaken(peer.clone()));
            }
            if binding.device != device {
                binding.device = device.to_owned();
            }
            binding.connections += 1;
            return Ok(());
        }
        if bindings.len() >= MAX_BINDINGS {
            bindings
                .retain(|_, b| b.connections > 0 || now.saturating_sub(b.released_at) < KEEP_MS);
            if bindings.len() >= MAX_BINDINGS {
                bindings.retain(|_, b| b.connections > 0);
            }
        }
        bindings.insert(
            peer.clone(),
            Binding {
                device: device.to_owned(),
                connections: 1,
                released_at: now,
            },
        );
        Ok(())
    }

    /// One connection bound to `peer` ended.
    pub(crate) fn release(&self, peer: &PeerId, now: u64) {
        let mut bindings = self
            .bindings
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(binding) = bindings.get_mut(peer) {
            binding.connections = binding.connections.saturating_sub(1);
            binding.released_at = now;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_belongs_to_the_first_device_until_long_after_it_left() {
        let bindings = PeerBindings::default();
        let peer: PeerId = "peer-1".parse().unwrap();
        bindings.bind(&peer, "dev_a", 0).unwrap();
        assert_eq!(
            bindings.bind(&peer, "dev_b", 1),
            Err(PeerIdTaken(peer.clone()))
        );
        bindings.bind(&peer, "dev_a", 2).unwrap();
        bindings.release(&peer, 3);
        bindings.release(&peer, 4);
        assert!(bindings.bind(&peer, "dev_b", 5).is_err(), "still reserved");
        bindings.bind(&peer, "dev_b", 4 + KEEP_MS).unwrap();
    }
}
