//! When to (re)dial each bootstrap peer: immediately at start, then with exponential backoff
//! while it stays unreachable, so a healed partition or a restarted peer reconnects without an
//! operator. Pure bookkeeping over `Instant`s; the swarm task does the dialling.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use libp2p::{Multiaddr, PeerId};

use crate::net::config::{MAX_REDIAL_BACKOFF, STABLE_CONNECTION};

/// A dial with no outcome after this long is treated as failed (defensive: the swarm always
/// reports an outcome well before its own connection timeout).
const STALE_DIAL: Duration = Duration::from_secs(60);

#[derive(Debug)]
struct Entry {
    addrs: Vec<Multiaddr>,
    /// Delay applied after the next failure.
    backoff: Duration,
    next_attempt: Instant,
    dialing_since: Option<Instant>,
    connected_since: Option<Instant>,
}

/// The dial schedule of every bootstrap peer.
#[derive(Debug)]
pub(crate) struct RedialBook {
    base: Duration,
    peers: HashMap<PeerId, Entry>,
}

impl RedialBook {
    /// Every peer is due at `now`.
    pub(crate) fn new(
        peers: HashMap<PeerId, Vec<Multiaddr>>,
        base: Duration,
        now: Instant,
    ) -> Self {
        let base = base.min(MAX_REDIAL_BACKOFF);
        let peers = peers
            .into_iter()
            .map(|(peer, addrs)| {
                let entry = Entry {
                    addrs,
                    backoff: base,
                    next_attempt: now,
                    dialing_since: None,
                    connected_since: None,
                };
                (peer, entry)
            })
            .collect();
        Self { base, peers }
    }

    /// Peers to dial now, with their addresses; each is marked as being dialled. `eligible`
    /// filters out peers we may not connect to right now (not allowed, cooling down).
    pub(crate) fn due(
        &mut self,
        now: Instant,
        eligible: impl Fn(&PeerId) -> bool,
    ) -> Vec<(PeerId, Vec<Multiaddr>)> {
        let mut due = Vec::new();
        for (peer, entry) in &mut self.peers {
            if let Some(since) = entry.dialing_since {
                if now.saturating_duration_since(since) < STALE_DIAL {
                    continue;
                }
                entry.dialing_since = None;
            }
            if entry.connected_since.is_some() || now < entry.next_attempt || !eligible(peer) {
                continue;
            }
            entry.dialing_since = Some(now);
            due.push((*peer, entry.addrs.clone()));
        }
        due
    }

    /// A dial to `peer` failed (or could not start): wait the current backoff, then double it.
    pub(crate) fn dial_failed(&mut self, peer: &PeerId, now: Instant) {
        if let Some(entry) = self.peers.get_mut(peer) {
            entry.dialing_since = None;
            if entry.connected_since.is_none() {
                Self::back_off(entry, now);
            }
        }
    }

    /// `peer` has its first connection (dialled by us or by it).
    pub(crate) fn connected(&mut self, peer: &PeerId, now: Instant) {
        if let Some(entry) = self.peers.get_mut(peer) {
            entry.dialing_since = None;
            entry.connected_since.get_or_insert(now);
        }
    }

    /// `peer`'s last connection closed. After a stable connection the schedule starts over
    /// from the base delay; after a short-lived one it keeps backing off.
    pub(crate) fn disconnected(&mut self, peer: &PeerId, now: Instant) {
        let base = self.base;
        if let Some(entry) = self.peers.get_mut(peer) {
            let stable = entry
                .connected_since
                .take()
                .is_some_and(|since| now.saturating_duration_since(since) >= STABLE_CONNECTION);
            if stable {
                entry.backoff = base;
            }
            Self::back_off(entry, now);
        }
    }

    fn back_off(entry: &mut Entry, now: Instant) {
        entry.next_attempt = now + entry.backoff;
        entry.backoff = entry.backoff.saturating_mul(2).min(MAX_REDIAL_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use libp2p::identity::Keypair;

    use super::*;

    const BASE: Duration = Duration::from_secs(1);

    fn book() -> (RedialBook, PeerId, Instant) {
        let peer = Keypair::generate_ed25519().public().to_peer_id();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let now = Instant::now();
        let book = RedialBook::new(HashMap::from([(peer, vec![addr])]), BASE, now);
        (book, peer, now)
    }

    #[test]
    fn dials_at_start_and_not_twice_while_dialling() {
        let (mut book, peer, now) = book();
        assert_eq!(book.due(now, |_| true).len(), 1);
        assert!(book.due(now, |_| true).is_empty(), "already dialling");
        book.dial_failed(&peer, now);
        assert!(book.due(now, |_| true).is_empty(), "waits the backoff");
        assert_eq!(book.due(now + BASE, |_| true).len(), 1);
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let (mut book, peer, mut now) = book();
        let mut waits = Vec::new();
        for _ in 0..8 {
            assert_eq!(book.due(now, |_| true).len(), 1);
            book.dial_failed(&peer, now);
            let next = book.peers[&peer].next_attempt;
            waits.push(next - now);
            now = next;
        }
        let secs: Vec<u64> = waits.iter().map(Duration::as_secs).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 30, 30, 30]);
    }

    #[test]
    fn a_stable_connection_resets_the_backoff_a_short_one_does_not() {
        let (mut book, peer, mut now) = book();
        for _ in 0..3 {
            book.due(now, |_| true);
            book.dial_failed(&peer, now);
            now = book.peers[&peer].next_attempt;
        }
        // Refused right after the handshake: still backing off (8 s).
        book.due(now, |_| true);
        book.connected(&peer, now);
        assert!(
            book.due(now + Duration::from_secs(100), |_| true)
                .is_empty(),
            "connected"
        );
        book.disconnected(&peer, now + Duration::from_millis(10));
        assert_eq!(
            book.peers[&peer].next_attempt - now,
            Duration::from_millis(10) + Duration::from_secs(8)
        );

        now = book.peers[&peer].next_attempt;
        book.due(now, |_| true);
        book.connected(&peer, now);
        let later = now + STABLE_CONNECTION;
        book.disconnected(&peer, later);
        assert_eq!(
            book.peers[&peer].next_attempt - later,
            BASE,
            "reset to base"
        );
    }

    #[test]
    fn ineligible_peers_wait_and_stale_dials_are_retried() {
        let (mut book, _peer, now) = book();
        assert!(book.due(now, |_| false).is_empty());
        assert_eq!(book.due(now, |_| true).len(), 1);
        assert_eq!(book.due(now + STALE_DIAL, |_| true).len(), 1);
    }
}
