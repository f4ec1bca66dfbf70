//! The participant registry with its history: who is registered, which keys each organisation
//! has had and when each was valid, and which validator set certifies which heights.
//!
//! Keys are never reused or forgotten. A rotated key keeps its record with the height from which
//! it stopped signing, so an event or a vote can always be judged by the key's validity at the
//! height that included it.

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::genesis::{Genesis, Role};

use super::state::StateChange;

/// A registered organisation, by name: what governance changes about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantEntry {
    pub name: String,
    pub roles: Vec<Role>,
    /// Its newest signing key (possibly valid only from a future height, after a rotation).
    pub signing_key: PublicKey,
    /// Its newest network (libp2p identity) key.
    pub network_key: PublicKey,
    pub company_prefixes: Vec<String>,
    /// Height from which the participant is removed (all its keys revoked), if it is.
    pub removed_at: Option<u64>,
}

/// What a key is for. A key serves one purpose, for one participant, ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyPurpose {
    /// Signs events and, for validators, votes and governance approvals.
    Signing,
    /// Identifies the participant's node on the network.
    Network,
}

/// One key's life: whose, for what, and the heights `[valid_from, revoked_at)` it is valid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyRecord {
    pub key: PublicKey,
    pub participant: String,
    pub purpose: KeyPurpose,
    /// First height at which the key is valid (0 for genesis keys).
    pub valid_from: u64,
    /// Height from which the key is no longer valid, if revoked or rotated out.
    pub revoked_at: Option<u64>,
}

impl KeyRecord {
    /// Whether the key is valid in the block at `height`.
    pub fn valid_at(&self, height: u64) -> bool {
        height >= self.valid_from && self.revoked_at.is_none_or(|r| height < r)
    }

    /// This record revoked from `height`, or from its earlier revocation if it has one.
    pub fn revoked_from(&self, height: u64) -> KeyRecord {
        KeyRecord {
            revoked_at: Some(self.revoked_at.map_or(height, |r| r.min(height))),
            ..self.clone()
        }
    }
}

/// The changes that establish the genesis state: every participant with its two keys (valid from
/// height 0) and the genesis validator set (certifying from height 0). The in-memory state and
/// the node's store both start by applying exactly these.
///
/// `genesis` is assumed valid ([`Genesis::validate`]); if its validator set is not, no set is
/// scheduled and [`super::LedgerView::validator_set_at`] answers `None`.
pub fn genesis_changes(genesis: &Genesis) -> Vec<StateChange> {
    let mut changes = Vec::with_capacity(genesis.participants.len() * 3 + 1);
    for p in &genesis.participants {
        changes.push(StateChange::Participant {
            entry: ParticipantEntry {
                name: p.name.clone(),
                roles: p.roles.clone(),
                signing_key: p.signing_key,
                network_key: p.network_key,
                company_prefixes: p.company_prefixes.clone(),
                removed_at: None,
            },
        });
        for (key, purpose) in [
            (p.signing_key, KeyPurpose::Signing),
            (p.network_key, KeyPurpose::Network),
        ] {
            changes.push(StateChange::Key {
                record: KeyRecord {
                    key,
                    participant: p.name.clone(),
                    purpose,
                    valid_from: 0,
                    revoked_at: None,
                },
            });
        }
    }
    if let Ok(set) = genesis.validator_set() {
        changes.push(StateChange::ValidatorSet {
            from_height: 0,
            set,
        });
    }
    changes
}
