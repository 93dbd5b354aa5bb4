//! Single-use sync tickets, so a browser's bearer token never travels in a
//! URL (where proxies and access logs keep it).
//!
//! A device with its token in an `Authorization` header asks for a ticket
//! (`POST /api/sync-ticket`) and opens `/sync?ticket=…` with it. A ticket
//! works once, for [`TICKET_TTL_MS`], and only while the device's token is
//! the one it was issued under (signing out voids it). With a store one
//! relay uses, tickets live in memory only: after a restart a client simply
//! asks for a new one. With a shared store (PostgreSQL) they live in the
//! store instead, so a ticket issued by one relay node opens a socket on
//! any other (behind a load balancer the two requests may reach different
//! nodes), still once. Their
//! number is bounded per device and in all, so asking for tickets in a loop
//! cannot grow the relay's memory.

use std::collections::HashMap;

use super::secret;

/// How long a ticket stays valid.
pub const TICKET_TTL_MS: u64 = 60_000;
/// Unused tickets one device may hold at once (older ones are dropped).
pub const TICKETS_PER_DEVICE: usize = 8;
/// Unused tickets the relay holds in all (then the oldest are dropped).
pub const TICKETS_IN_ALL: usize = 65_536;

#[derive(Debug, Clone)]
struct Ticket {
    device: String,
    /// Hash of the device token the ticket was issued under.
    token_hash: [u8; 32],
    issued_at: u64,
}

/// The outstanding tickets, keyed by the hash of the ticket.
#[derive(Debug, Default)]
pub struct Tickets {
    by_hash: HashMap<[u8; 32], Ticket>,
}

impl Tickets {
    /// Issues a ticket for `device` (holding the token hashed as
    /// `token_hash`) at `now`; returns the ticket's secret text.
    pub fn issue(&mut self, device: &str, token_hash: [u8; 32], now: u64) -> String {
        self.expire(now);
        let mine: Vec<([u8; 32], u64)> = self
            .by_hash
            .iter()
            .filter(|(_, t)| t.device == device)
            .map(|(h, t)| (*h, t.issued_at))
            .collect();
        if mine.len() >= TICKETS_PER_DEVICE {
            self.drop_oldest(mine, TICKETS_PER_DEVICE - 1);
        }
        if self.by_hash.len() >= TICKETS_IN_ALL {
            let all = self
                .by_hash
                .iter()
                .map(|(h, t)| (*h, t.issued_at))
                .collect();
            self.drop_oldest(all, TICKETS_IN_ALL - 1);
        }
        let text = secret::generate(32);
        self.by_hash.insert(
            secret::hash(&text),
            Ticket {
                device: device.to_owned(),
                token_hash,
                issued_at: now,
            },
        );
        text
    }

    /// Spends `ticket` at `now`: the device it was issued to and the token
    /// hash it was issued under, or `None` when it is unknown, used or
    /// expired.
    pub fn redeem(&mut self, ticket: &str, now: u64) -> Option<(String, [u8; 32])> {
        let found = self.by_hash.remove(&secret::hash(ticket))?;
        (now.saturating_sub(found.issued_at) < TICKET_TTL_MS)
            .then_some((found.device, found.token_hash))
    }

    /// Number of unused, unexpired tickets (for tests and metrics).
    pub fn outstanding(&self) -> usize {
        self.by_hash.len()
    }

    fn expire(&mut self, now: u64) {
        self.by_hash
            .retain(|_, t| now.saturating_sub(t.issued_at) < TICKET_TTL_MS);
    }

    fn drop_oldest(&mut self, mut tickets: Vec<([u8; 32], u64)>, keep: usize) {
        tickets.sort_by_key(|(_, at)| std::cmp::Reverse(*at));
        for (hash, _) in tickets.into_iter().skip(keep) {
            self.by_hash.remove(&hash);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_works_once_and_only_while_fresh() {
        let mut tickets = Tickets::default();
        let ticket = tickets.issue("dev-a", [7; 32], 1_000);
        assert_eq!(
            tickets.redeem(&ticket, 2_000),
            Some(("dev-a".to_owned(), [7; 32]))
        );
        assert_eq!(tickets.redeem(&ticket, 2_000), None, "single use");
        let late = tickets.issue("dev-a", [7; 32], 1_000);
        assert_eq!(
            tickets.redeem(&late, 1_000 + TICKET_TTL_MS),
            None,
            "expired"
        );
        assert_eq!(tickets.redeem("made-up", 1_000), None);
    }

    #[test]
    fn asking_in_a_loop_keeps_the_number_bounded() {
        let mut tickets = Tickets::default();
        let first = tickets.issue("dev-a", [1; 32], 0);
        for at in 1..100 {
            tickets.issue("dev-a", [1; 32], at);
        }
        assert_eq!(tickets.outstanding(), TICKETS_PER_DEVICE);
        assert_eq!(tickets.redeem(&first, 200), None, "the oldest went first");
        // Expired tickets go when new ones are issued.
        tickets.issue("dev-b", [2; 32], TICKET_TTL_MS + 500);
        assert_eq!(tickets.outstanding(), 1);
    }
}
