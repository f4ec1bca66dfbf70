//! Governance: changes to the registry and the validator set, decided by the validators.
//!
//! A [`GovernanceProposal`] names one [`GovernanceAction`], the chain, a nonce (replay
//! protection) and the last height at which it may be included. Validators approve it by signing
//! its canonical bytes in [`SigningDomain::Governance`]; a [`GovernanceTx`] carries the proposal
//! and approvals from validators holding more than two thirds of the voting power of the set that
//! certifies the block including it. The ledger rules ([`crate::rules::check_governance`]) then
//! check the action against the registry and turn it into state changes that take effect at a
//! fixed later height, so every validator (and every light client) knows in advance which set
//! certifies which block.
//!
//! This module holds the types and the checks that need no ledger state.

mod error;

use std::collections::BTreeSet;

use minicbor::{Decode, Encode};
use serde::{Deserialize, Serialize};

pub use error::GovernanceError;

use crate::codec::{self, Canonical, HashDomain};
use crate::crypto::{self, PublicKey, Signature, SigningDomain, SigningKey};
use crate::genesis::Participant;
use crate::ledger::{CommitSignature, ValidatorSet};
use crate::record::Digest32 as Hash;

/// Largest canonical encoding of one [`GovernanceTx`]: a participant with its prefixes and up
/// to [`crate::ledger::MAX_VALIDATORS`] approvals fit with room to spare.
pub const MAX_GOVERNANCE_TX_BYTES: usize = 64 * 1024;

/// Longest participant name a governance action may register, in bytes.
pub const MAX_PARTICIPANT_NAME_BYTES: usize = 128;

/// Most company prefixes a participant registered by governance may own.
pub const MAX_COMPANY_PREFIXES: usize = 64;

/// Largest nonce or voting power a governance action may carry: 2^53 - 1. State changes are
/// hashed as RFC 8785 JSON, whose numbers are IEEE doubles; larger integers would collide.
pub const MAX_JSON_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// One change to the registry or the validator set.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action", deny_unknown_fields)]
pub enum GovernanceAction {
    /// Registers a new organisation. Its keys sign (and its node connects) from the effective
    /// height on; its name and company prefixes are reserved at once.
    #[n(0)]
    #[cbor(map)]
    AddParticipant {
        #[n(0)]
        participant: Participant,
    },
    /// Revokes every key of the participant and removes it from the validator set, both from the
    /// effective height. The name and prefixes stay reserved: past events still refer to them.
    #[n(1)]
    #[cbor(map)]
    RemoveParticipant {
        #[n(0)]
        name: String,
    },
    /// Sets the voting power of a participant holding the validator role; 0 removes it from the
    /// set. Its current signing key is its vote key.
    #[n(2)]
    #[cbor(map)]
    SetValidatorPower {
        #[n(0)]
        name: String,
        #[n(1)]
        power: u64,
    },
    /// Replaces the signing key, the network key, or both. The old key is valid up to the
    /// effective height (exclusive), the new one from it. New keys must never have been used.
    #[n(3)]
    #[cbor(map)]
    RotateKeys {
        #[n(0)]
        name: String,
        #[n(1)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        signing_key: Option<PublicKey>,
        #[n(2)]
        #[serde(default, skip_serializing_if = "Option::is_none")]
        network_key: Option<PublicKey>,
    },
    /// Revokes the signing key from the effective height (a compromised key); the participant
    /// stays registered and cannot sign or vote until its key is rotated.
    #[n(4)]
    #[cbor(map)]
    RevokeKey {
        #[n(0)]
        name: String,
    },
}

/// What validators approve.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct GovernanceProposal {
    #[n(0)]
    pub chain_id: String,
    #[n(1)]
    pub action: GovernanceAction,
    /// Distinguishes otherwise identical proposals; each nonce is accepted once per chain.
    #[n(2)]
    pub nonce: u64,
    /// Last height of a block that may include the proposal.
    #[n(3)]
    pub expires_at_height: u64,
}

impl Canonical for GovernanceProposal {
    const KIND: &'static str = "GovernanceProposal";
}

/// A proposal with the approvals that make it binding, sorted by validator key.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct GovernanceTx {
    #[n(0)]
    pub proposal: GovernanceProposal,
    #[n(1)]
    pub approvals: Vec<CommitSignature>,
}

impl Canonical for GovernanceTx {
    const KIND: &'static str = "GovernanceTx";
}

impl GovernanceProposal {
    /// `H(GovernanceProposal, canonical bytes)`: how the API and operators refer to a proposal.
    pub fn id(&self) -> Hash {
        codec::domain_hash(HashDomain::GovernanceProposal, &self.to_canonical_bytes())
    }

    /// A validator's approval: its signature over the canonical proposal in domain Governance,
    /// bound to the proposal's own chain id.
    pub fn sign(&self, key: &SigningKey) -> Signature {
        crypto::sign(
            key,
            SigningDomain::Governance,
            &self.chain_id,
            &self.to_canonical_bytes(),
        )
    }

    /// [`GovernanceProposal::sign`] with the signer's key attached, ready for a [`GovernanceTx`].
    pub fn approve(&self, key: &SigningKey) -> CommitSignature {
        CommitSignature {
            validator: key.public_key(),
            signature: self.sign(key),
        }
    }

    /// Checks what needs no ledger state: numbers JSON can carry exactly and, for a new
    /// participant, its name, roles, prefix syntax and distinct keys.
    pub fn check_well_formed(&self) -> Result<(), GovernanceError> {
        safe_integer("nonce", self.nonce)?;
        match &self.action {
            GovernanceAction::AddParticipant { participant } => check_new_participant(participant),
            GovernanceAction::SetValidatorPower { power, .. } => safe_integer("power", *power),
            GovernanceAction::RotateKeys {
                name,
                signing_key,
                network_key,
            } => match (signing_key, network_key) {
                (None, None) => Err(GovernanceError::NothingToRotate { name: name.clone() }),
                (Some(a), Some(b)) if a == b => Err(GovernanceError::KeyInUse {
                    key: *a,
                    by: name.clone(),
                }),
                _ => Ok(()),
            },
            GovernanceAction::RemoveParticipant { .. } | GovernanceAction::RevokeKey { .. } => {
                Ok(())
            }
        }
    }
}

fn safe_integer(field: &'static str, value: u64) -> Result<(), GovernanceError> {
    if value > MAX_JSON_SAFE_INTEGER {
        return Err(GovernanceError::NumberTooLarge { field, value });
    }
    Ok(())
}

/// The genesis rules for a participant, plus bounds a genesis file does not need.
fn check_new_participant(p: &Participant) -> Result<(), GovernanceError> {
    if p.name.trim().is_empty() || p.name.len() > MAX_PARTICIPANT_NAME_BYTES {
        return Err(GovernanceError::BadName {
            name: p.name.clone(),
            limit: MAX_PARTICIPANT_NAME_BYTES,
        });
    }
    let distinct: BTreeSet<_> = p.roles.iter().collect();
    if p.roles.is_empty() || distinct.len() != p.roles.len() {
        return Err(GovernanceError::BadRoles {
            name: p.name.clone(),
        });
    }
    if p.signing_key == p.network_key {
        return Err(GovernanceError::KeyInUse {
            key: p.signing_key,
            by: p.name.clone(),
        });
    }
    if p.company_prefixes.len() > MAX_COMPANY_PREFIXES {
        return Err(GovernanceError::TooManyPrefixes {
            name: p.name.clone(),
            count: p.company_prefixes.len(),
        });
    }
    for prefix in &p.company_prefixes {
        if !(6..=12).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(GovernanceError::BadCompanyPrefix {
                name: p.name.clone(),
                prefix: prefix.clone(),
            });
        }
    }
    let mut sorted: Vec<&str> = p.company_prefixes.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    // After sorting, a prefix that is a prefix of another sorts immediately before some string
    // it prefixes (the genesis rule); equal strings overlap too.
    for pair in sorted.windows(2) {
        if pair[1].starts_with(pair[0]) {
            return Err(GovernanceError::OverlappingPrefix {
                name: p.name.clone(),
                prefix: pair[1].to_owned(),
                other: p.name.clone(),
                other_prefix: pair[0].to_owned(),
            });
        }
    }
    Ok(())
}

impl GovernanceTx {
    /// A transaction in canonical form: approvals sorted by validator key, one per validator
    /// (the first given wins).
    pub fn new(proposal: GovernanceProposal, mut approvals: Vec<CommitSignature>) -> Self {
        approvals.sort_by_key(|a| a.validator);
        approvals.dedup_by_key(|a| a.validator);
        GovernanceTx {
            proposal,
            approvals,
        }
    }

    /// The proposal's id.
    pub fn id(&self) -> Hash {
        self.proposal.id()
    }

    /// Checks everything that needs no registry state: size, chain id, well-formedness, and
    /// approvals — sorted, distinct members of `validators` (the set certifying the including
    /// block) holding more than two thirds of its power, each signature strictly valid.
    pub fn verify(&self, validators: &ValidatorSet, chain_id: &str) -> Result<(), GovernanceError> {
        let bytes = self.proposal.to_canonical_bytes();
        let size = codec::to_canonical_bytes(self).len();
        if size > MAX_GOVERNANCE_TX_BYTES {
            return Err(GovernanceError::TooLarge { size });
        }
        if self.proposal.chain_id != chain_id {
            return Err(GovernanceError::WrongChain {
                expected: chain_id.to_owned(),
                found: self.proposal.chain_id.clone(),
            });
        }
        self.proposal.check_well_formed()?;
        // Membership and power first: cheap, and a transaction without a quorum costs no
        // signature verification.
        let mut approved: u64 = 0;
        for (i, approval) in self.approvals.iter().enumerate() {
            if let Some(previous) = i.checked_sub(1).and_then(|p| self.approvals.get(p)) {
                if previous.validator == approval.validator {
                    return Err(GovernanceError::DuplicateApproval {
                        key: approval.validator,
                    });
                }
                if previous.validator > approval.validator {
                    return Err(GovernanceError::ApprovalsNotSorted {
                        key: approval.validator,
                    });
                }
            }
            let power = validators.power_of(&approval.validator).ok_or(
                GovernanceError::UnknownApprover {
                    key: approval.validator,
                },
            )?;
            approved = approved.saturating_add(power);
        }
        if !validators.is_quorum(approved) {
            return Err(GovernanceError::InsufficientPower {
                approved,
                total: validators.total_power(),
            });
        }
        for approval in &self.approvals {
            crypto::verify(
                &approval.validator,
                SigningDomain::Governance,
                chain_id,
                &bytes,
                &approval.signature,
            )
            .map_err(|_| GovernanceError::BadApprovalSignature {
                key: approval.validator,
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
