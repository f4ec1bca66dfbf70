//! The genesis: the one document every participant and every consumer trusts.
//!
//! It names the network (`chain_id`), the participants with their roles, keys and GS1 company
//! prefixes, the initial validators, and the consensus parameters. Consumers pin its hash
//! ([`Genesis::hash`]): the domain-separated SHA-256 of its canonical CBOR, so the JSON file's
//! formatting is irrelevant to its identity.

use std::collections::BTreeSet;
use std::fmt;

use minicbor::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec::{self, Canonical, HashDomain};
use crate::crypto::PublicKey;
use crate::ledger::{LedgerError, Validator, ValidatorSet};
use crate::record::Digest32 as Hash;
use crate::record::MAX_CHAIN_ID_BYTES;

/// Most participants a genesis may list.
pub const MAX_PARTICIPANTS: usize = 10_000;

/// What a participant may do. An organisation can hold several roles.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Commissions products under its own GS1 company prefixes and transforms them.
    #[n(0)]
    Manufacturer,
    /// Receives, stores and ships products it holds.
    #[n(1)]
    Distributor,
    /// Receives and sells products to consumers.
    #[n(2)]
    Retailer,
    /// Issues certifications (`certificationInfo`) about products.
    #[n(3)]
    Certifier,
    /// Runs a consensus node and votes on blocks.
    #[n(4)]
    Validator,
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Role::Manufacturer => "manufacturer",
            Role::Distributor => "distributor",
            Role::Retailer => "retailer",
            Role::Certifier => "certifier",
            Role::Validator => "validator",
        })
    }
}

/// A registered organisation.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// Unique, human-readable name ("Finca La Esperanza Cooperative").
    #[n(0)]
    pub name: String,
    #[n(1)]
    pub roles: Vec<Role>,
    /// The organisation's event-signing key (and, for validators, its vote key).
    #[n(2)]
    pub signing_key: PublicKey,
    /// The libp2p identity key of the organisation's node. Never used to sign events.
    #[n(3)]
    pub network_key: PublicKey,
    /// GS1 company prefixes (6–12 digits) this organisation owns.
    #[n(4)]
    #[serde(default)]
    pub company_prefixes: Vec<String>,
}

impl Participant {
    /// Whether this participant holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// A validator in genesis, by participant name.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct GenesisValidator {
    #[n(0)]
    pub participant: String,
    #[n(1)]
    pub power: u64,
}

/// Parameters every validator must agree on.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusParams {
    /// Target time between blocks when events are waiting.
    #[n(0)]
    pub block_interval_ms: u64,
    /// Most events per block.
    #[n(1)]
    pub max_block_events: u32,
    /// How far in the future an event's `eventTime` may lie relative to the block time.
    #[n(2)]
    pub max_clock_skew_ms: u64,
    /// Heights between a governance decision and the validator set it installs.
    #[n(3)]
    pub validator_change_delay: u64,
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            block_interval_ms: 500,
            max_block_events: 5_000,
            max_clock_skew_ms: 5 * 60 * 1000,
            validator_change_delay: 2,
        }
    }
}

/// The network's founding document.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    #[n(0)]
    pub chain_id: String,
    /// Milliseconds since the Unix epoch; the first block's time must be later.
    #[n(1)]
    pub genesis_time_ms: u64,
    #[n(2)]
    pub participants: Vec<Participant>,
    #[n(3)]
    pub validators: Vec<GenesisValidator>,
    #[n(4)]
    #[serde(default)]
    pub params: ConsensusParams,
}

impl Canonical for Genesis {
    const KIND: &'static str = "Genesis";
}

/// The pinned identity of a network: the hash of its genesis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GenesisHash(pub Hash);

impl fmt::Display for GenesisHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// Why a genesis document is unusable. Each names the offending entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenesisError {
    #[error(
        "chain_id {0:?} is invalid: use 1 to {MAX_CHAIN_ID_BYTES} characters from a-z, 0-9, '-' and '.'"
    )]
    BadChainId(String),
    #[error("genesis lists no participants")]
    NoParticipants,
    #[error("genesis lists {0} participants; the limit is {MAX_PARTICIPANTS}")]
    TooManyParticipants(usize),
    #[error("participant name {0:?} appears more than once")]
    DuplicateName(String),
    #[error("participant {0:?} has an empty name or no roles")]
    Incomplete(String),
    #[error("key {key} is used by more than one participant or for two purposes (by {name:?})")]
    DuplicateKey { key: PublicKey, name: String },
    #[error("participant {name:?}: company prefix {prefix:?} must be 6 to 12 digits")]
    BadCompanyPrefix { name: String, prefix: String },
    #[error(
        "company prefix {prefix:?} of {name:?} overlaps prefix {other_prefix:?} of {other:?}: prefixes must not be prefixes of one another"
    )]
    OverlappingPrefix {
        name: String,
        prefix: String,
        other: String,
        other_prefix: String,
    },
    #[error("validator {0:?} is not a listed participant")]
    UnknownValidator(String),
    #[error("validator {0:?} does not hold the validator role")]
    NotAValidator(String),
    #[error("genesis validator set is invalid: {0}")]
    ValidatorSet(#[from] LedgerError),
    #[error("params.{field} must be greater than zero")]
    BadParam { field: &'static str },
}

impl Genesis {
    /// The hash consumers pin.
    pub fn hash(&self) -> GenesisHash {
        GenesisHash(codec::domain_hash(
            HashDomain::Genesis,
            &self.to_canonical_bytes(),
        ))
    }

    /// Checks every invariant a running network relies on.
    pub fn validate(&self) -> Result<(), GenesisError> {
        let id_ok = !self.chain_id.is_empty()
            && self.chain_id.len() <= MAX_CHAIN_ID_BYTES
            && self
                .chain_id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.');
        if !id_ok {
            return Err(GenesisError::BadChainId(self.chain_id.clone()));
        }
        if self.participants.is_empty() {
            return Err(GenesisError::NoParticipants);
        }
        if self.participants.len() > MAX_PARTICIPANTS {
            return Err(GenesisError::TooManyParticipants(self.participants.len()));
        }
        let mut names = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for p in &self.participants {
            if p.name.trim().is_empty() || p.roles.is_empty() {
                return Err(GenesisError::Incomplete(p.name.clone()));
            }
            if !names.insert(p.name.as_str()) {
                return Err(GenesisError::DuplicateName(p.name.clone()));
            }
            for key in [p.signing_key, p.network_key] {
                if !keys.insert(key) {
                    return Err(GenesisError::DuplicateKey {
                        key,
                        name: p.name.clone(),
                    });
                }
            }
            for prefix in &p.company_prefixes {
                if !(6..=12).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit())
                {
                    return Err(GenesisError::BadCompanyPrefix {
                        name: p.name.clone(),
                        prefix: prefix.clone(),
                    });
                }
            }
        }
        self.check_prefixes_disjoint()?;
        if self.params.block_interval_ms == 0 {
            return Err(GenesisError::BadParam {
                field: "block_interval_ms",
            });
        }
        if self.params.max_block_events == 0 {
            return Err(GenesisError::BadParam {
                field: "max_block_events",
            });
        }
        self.validator_set()?;
        Ok(())
    }

    /// GS1 company prefixes are allocated prefix-free; a genesis that breaks that would make
    /// "who owns this GTIN" ambiguous, so it is refused.
    fn check_prefixes_disjoint(&self) -> Result<(), GenesisError> {
        let mut all: Vec<(&str, &str)> = self
            .participants
            .iter()
            .flat_map(|p| {
                p.company_prefixes
                    .iter()
                    .map(move |c| (c.as_str(), p.name.as_str()))
            })
            .collect();
        all.sort();
        // After sorting, a prefix that is a prefix of another sorts immediately before some
        // string it prefixes; checking neighbours suffices.
        for pair in all.windows(2) {
            let ((a, a_name), (b, b_name)) = (pair[0], pair[1]);
            if b.starts_with(a) {
                return Err(GenesisError::OverlappingPrefix {
                    name: b_name.to_owned(),
                    prefix: b.to_owned(),
                    other: a_name.to_owned(),
                    other_prefix: a.to_owned(),
                });
            }
        }
        Ok(())
    }

    /// The participant with this name.
    pub fn participant(&self, name: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.name == name)
    }

    /// The initial validator set (keys are the validators' signing keys).
    pub fn validator_set(&self) -> Result<ValidatorSet, GenesisError> {
        let mut validators = Vec::with_capacity(self.validators.len());
        for v in &self.validators {
            let p = self
                .participant(&v.participant)
                .ok_or_else(|| GenesisError::UnknownValidator(v.participant.clone()))?;
            if !p.has_role(Role::Validator) {
                return Err(GenesisError::NotAValidator(v.participant.clone()));
            }
            validators.push(Validator {
                key: p.signing_key,
                power: v.power,
            });
        }
        Ok(ValidatorSet::new(validators)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;

    fn participant(name: &str, seed: u8, roles: Vec<Role>, prefixes: &[&str]) -> Participant {
        Participant {
            name: name.into(),
            roles,
            signing_key: SigningKey::from_seed([seed; 32]).public_key(),
            network_key: SigningKey::from_seed([seed + 100; 32]).public_key(),
            company_prefixes: prefixes.iter().map(|s| s.to_string()).collect(),
        }
    }

    fn genesis() -> Genesis {
        Genesis {
            chain_id: "provenance-test".into(),
            genesis_time_ms: 1_700_000_000_000,
            participants: vec![
                participant(
                    "Roaster",
                    1,
                    vec![Role::Manufacturer, Role::Validator],
                    &["0614141"],
                ),
                participant("Shop", 2, vec![Role::Retailer], &["0614142"]),
            ],
            validators: vec![GenesisValidator {
                participant: "Roaster".into(),
                power: 1,
            }],
            params: ConsensusParams::default(),
        }
    }

    #[test]
    fn valid_genesis_passes_and_hash_is_format_independent() {
        let g = genesis();
        g.validate().unwrap();
        let pretty = serde_json::to_string_pretty(&g).unwrap();
        let compact = serde_json::to_string(&g).unwrap();
        let a: Genesis = serde_json::from_str(&pretty).unwrap();
        let b: Genesis = serde_json::from_str(&compact).unwrap();
        assert_eq!(a.hash(), b.hash());
        let bytes = g.to_canonical_bytes();
        assert_eq!(Genesis::from_canonical_bytes(&bytes, 1 << 20).unwrap(), g);
    }

    #[test]
    fn overlapping_prefixes_are_refused() {
        let mut g = genesis();
        g.participants[1].company_prefixes = vec!["06141415".into()];
        let err = g.validate().unwrap_err();
        assert!(
            matches!(err, GenesisError::OverlappingPrefix { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("06141415"));
    }

    #[test]
    fn bad_entries_are_named() {
        let mut g = genesis();
        g.participants[1].signing_key = g.participants[0].signing_key;
        assert!(matches!(
            g.validate(),
            Err(GenesisError::DuplicateKey { .. })
        ));
        let mut g = genesis();
        g.validators[0].participant = "Shop".into();
        assert!(matches!(g.validate(), Err(GenesisError::NotAValidator(n)) if n == "Shop"));
        let mut g = genesis();
        g.participants[0].company_prefixes = vec!["12ab56".into()];
        assert!(matches!(
            g.validate(),
            Err(GenesisError::BadCompanyPrefix { .. })
        ));
        let mut g = genesis();
        g.chain_id = "Bad Chain".into();
        assert!(matches!(g.validate(), Err(GenesisError::BadChainId(_))));
    }

    #[test]
    fn unknown_json_keys_are_errors() {
        let mut v = serde_json::to_value(genesis()).unwrap();
        v["participantz"] = serde_json::json!([]);
        let err = serde_json::from_value::<Genesis>(v).unwrap_err();
        assert!(err.to_string().contains("participantz"), "{err}");
    }
}
