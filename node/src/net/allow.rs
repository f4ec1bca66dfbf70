//! Who may hold a connection right now: registry ∪ observers, minus peers cooling down after
//! their gossip score fell below the graylist threshold. Also the rate-limited warning used
//! for refused connections and dropped messages.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use libp2p::PeerId;
use libp2p::allow_block_list::{AllowedPeers, Behaviour as AllowList};

use crate::net::config::Membership;

/// How long a peer disconnected for a low gossip score is refused.
pub const SCORE_COOLDOWN: Duration = Duration::from_secs(60);

/// At most one warning per this interval for a repeated condition; the rest go to debug.
pub(crate) const WARN_INTERVAL: Duration = Duration::from_secs(60);

/// The connection gate: membership plus cool-downs.
#[derive(Debug)]
pub(crate) struct Gate {
    membership: Membership,
    /// Observers as configured (before registry precedence), kept so a peer that leaves the
    /// registry falls back to being an observer.
    configured_observers: Vec<PeerId>,
    cooling: HashMap<PeerId, Instant>,
}

impl Gate {
    pub(crate) fn new(registry: &[PeerId], validators: &[PeerId], observers: &[PeerId]) -> Self {
        Self {
            membership: Membership::new(registry, validators, observers),
            configured_observers: observers.to_vec(),
            cooling: HashMap::new(),
        }
    }

    pub(crate) fn membership(&self) -> &Membership {
        &self.membership
    }

    /// Replaces registry and validators (governance changed them); returns the old membership.
    pub(crate) fn set_registry(
        &mut self,
        registry: &[PeerId],
        validators: &[PeerId],
    ) -> Membership {
        let new = Membership::new(registry, validators, &self.configured_observers);
        std::mem::replace(&mut self.membership, new)
    }

    /// The peers that may hold a connection now.
    pub(crate) fn allowed_now(&self) -> HashSet<PeerId> {
        let mut allowed = self.membership.allowed();
        allowed.retain(|p| !self.cooling.contains_key(p));
        allowed
    }

    pub(crate) fn may_connect(&self, peer: &PeerId) -> bool {
        self.membership.role(peer).is_some() && !self.cooling.contains_key(peer)
    }

    /// Starts (or extends) a cool-down for `peer`.
    pub(crate) fn cool_down(&mut self, peer: PeerId, now: Instant) {
        self.cooling.insert(peer, now + SCORE_COOLDOWN);
    }

    /// Ends the cool-downs that are over; returns true if any ended.
    pub(crate) fn expire(&mut self, now: Instant) -> bool {
        let before = self.cooling.len();
        self.cooling.retain(|_, until| *until > now);
        self.cooling.len() != before
    }

    /// Makes the allow-list equal to [`Gate::allowed_now`]. Disallowing a peer closes its
    /// connections (allow_block_list does that).
    pub(crate) fn apply(&self, list: &mut AllowList<AllowedPeers>) {
        let target = self.allowed_now();
        let current: Vec<PeerId> = list.allowed_peers().iter().copied().collect();
        for peer in current {
            if !target.contains(&peer) {
                list.disallow_peer(peer);
            }
        }
        for peer in target {
            list.allow_peer(peer);
        }
    }
}

/// A warning that is logged at most once per [`WARN_INTERVAL`], with the number of
/// occurrences since the last one; every occurrence is also logged at debug by the caller.
#[derive(Debug, Default)]
pub(crate) struct RateLimitedWarn {
    since_last: u64,
    last: Option<Instant>,
}

impl RateLimitedWarn {
    /// Counts one occurrence; returns `Some(count)` when a warning is due now.
    pub(crate) fn hit(&mut self, now: Instant) -> Option<u64> {
        self.since_last = self.since_last.saturating_add(1);
        let due = self
            .last
            .is_none_or(|last| now.saturating_duration_since(last) >= WARN_INTERVAL);
        if due {
            self.last = Some(now);
            Some(std::mem::take(&mut self.since_last))
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use libp2p::identity::Keypair;

    use super::*;

    fn peer() -> PeerId {
        Keypair::generate_ed25519().public().to_peer_id()
    }

    #[test]
    fn cooling_peers_are_not_allowed_until_the_cooldown_ends() {
        let (r, o) = (peer(), peer());
        let mut gate = Gate::new(&[r], &[], &[o]);
        let now = Instant::now();
        assert_eq!(gate.allowed_now(), HashSet::from([r, o]));
        gate.cool_down(r, now);
        assert!(!gate.may_connect(&r));
        assert_eq!(gate.allowed_now(), HashSet::from([o]));
        assert!(!gate.expire(now + SCORE_COOLDOWN - Duration::from_millis(1)));
        assert!(gate.expire(now + SCORE_COOLDOWN));
        assert!(gate.may_connect(&r));
    }

    #[test]
    fn the_allow_list_follows_the_gate() {
        let (a, b, o) = (peer(), peer(), peer());
        let mut gate = Gate::new(&[a, b], &[a], &[o]);
        let mut list = AllowList::<AllowedPeers>::default();
        gate.apply(&mut list);
        assert_eq!(list.allowed_peers(), &HashSet::from([a, b, o]));
        gate.set_registry(&[a], &[a]);
        gate.apply(&mut list);
        assert_eq!(list.allowed_peers(), &HashSet::from([a, o]));
    }

    #[test]
    fn a_deregistered_peer_falls_back_to_its_configured_observer_role() {
        let o = peer();
        let mut gate = Gate::new(&[o], &[], &[o]);
        assert!(gate.membership().registry.contains(&o));
        let old = gate.set_registry(&[], &[]);
        assert!(old.registry.contains(&o));
        assert!(gate.membership().observers.contains(&o));
    }

    #[test]
    fn warnings_are_rate_limited_and_count_what_was_suppressed() {
        let mut w = RateLimitedWarn::default();
        let now = Instant::now();
        assert_eq!(w.hit(now), Some(1));
        assert_eq!(w.hit(now + Duration::from_secs(1)), None);
        assert_eq!(w.hit(now + Duration::from_secs(2)), None);
        assert_eq!(w.hit(now + WARN_INTERVAL), Some(3));
    }
}
