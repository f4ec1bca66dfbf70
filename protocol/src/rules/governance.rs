//! The governance rule: may this approved transaction be applied, and what does it change?
//!
//! ## Effective height
//!
//! A transaction included at height `h` takes effect at `e = h + max(delay, 1)`, where `delay`
//! is `ConsensusParams::validator_change_delay`: the block at `e` is certified by the new set
//! (so header `e - 1` carries its hash as `next_validators_hash`), keys added or rotated in sign
//! from `e`, keys revoked or rotated out sign up to `e - 1`. Registry entries (a new name and its
//! prefixes, `removed_at`) are recorded at once, so a second action in the same or a later block
//! sees them.
//!
//! Because the delay is one constant, every change scheduled so far targets a height `<= e`; a
//! change builds on the set in force at `e` ([`LedgerView::validator_set_at`]), which already
//! includes every earlier change. Two changes in one block, or in blocks that target the same
//! height, therefore apply in block order, each on top of the previous one.

use crate::crypto::PublicKey;
use crate::genesis::{ConsensusParams, Role};
use crate::governance::{GovernanceAction, GovernanceError, GovernanceTx};
use crate::ledger::{Validator, ValidatorSet};

use super::RuleContext;
use super::registry::{KeyPurpose, KeyRecord, ParticipantEntry};
use super::state::{LedgerView, StateChange};

/// The height at which a governance transaction included at `height` takes effect.
pub fn effective_height(height: u64, params: &ConsensusParams) -> u64 {
    height.saturating_add(params.validator_change_delay.max(1))
}

/// Checks `tx` for inclusion in the block `ctx.height` of chain `chain_id` and returns the state
/// changes it makes, or the first thing wrong with it.
///
/// Approvals are counted against the set that certifies the including block; the proposal must
/// not be expired (`ctx.height <= expires_at_height`) and its nonce must be new.
pub fn check_governance<V: LedgerView + ?Sized>(
    view: &V,
    tx: &GovernanceTx,
    chain_id: &str,
    ctx: &RuleContext,
    params: &ConsensusParams,
) -> Result<Vec<StateChange>, GovernanceError> {
    let current = view
        .validator_set_at(ctx.height)
        .ok_or(GovernanceError::NoValidatorSet { height: ctx.height })?;
    tx.verify(&current, chain_id)?;
    let proposal = &tx.proposal;
    if ctx.height > proposal.expires_at_height {
        return Err(GovernanceError::Expired {
            expires_at_height: proposal.expires_at_height,
            height: ctx.height,
        });
    }
    if view.governance_nonce_used(proposal.nonce) {
        return Err(GovernanceError::NonceUsed {
            nonce: proposal.nonce,
        });
    }
    let apply = Apply {
        view,
        effective: effective_height(ctx.height, params),
    };
    let mut changes = match &proposal.action {
        GovernanceAction::AddParticipant { participant } => {
            apply.add_participant(ParticipantEntry {
                name: participant.name.clone(),
                roles: participant.roles.clone(),
                signing_key: participant.signing_key,
                network_key: participant.network_key,
                company_prefixes: participant.company_prefixes.clone(),
                removed_at: None,
            })?
        }
        GovernanceAction::RemoveParticipant { name } => apply.remove_participant(name)?,
        GovernanceAction::SetValidatorPower { name, power } => apply.set_power(name, *power)?,
        GovernanceAction::RotateKeys {
            name,
            signing_key,
            network_key,
        } => apply.rotate(name, *signing_key, *network_key)?,
        GovernanceAction::RevokeKey { name } => apply.revoke(name)?,
    };
    changes.push(StateChange::GovernanceNonce {
        nonce: proposal.nonce,
    });
    Ok(changes)
}

/// One action evaluated against one view, taking effect at `effective`.
struct Apply<'v, V: LedgerView + ?Sized> {
    view: &'v V,
    effective: u64,
}

impl<V: LedgerView + ?Sized> Apply<'_, V> {
    fn add_participant(
        &self,
        entry: ParticipantEntry,
    ) -> Result<Vec<StateChange>, GovernanceError> {
        if self.view.participant(&entry.name).is_some() {
            return Err(GovernanceError::DuplicateName { name: entry.name });
        }
        for key in [entry.signing_key, entry.network_key] {
            self.require_unused(key)?;
        }
        for prefix in &entry.company_prefixes {
            if let Some((other_prefix, other)) = self.view.overlapping_prefix(prefix) {
                return Err(GovernanceError::OverlappingPrefix {
                    name: entry.name.clone(),
                    prefix: prefix.clone(),
                    other,
                    other_prefix,
                });
            }
        }
        let mut changes = vec![
            self.new_key(entry.signing_key, &entry.name, KeyPurpose::Signing),
            self.new_key(entry.network_key, &entry.name, KeyPurpose::Network),
        ];
        changes.insert(0, StateChange::Participant { entry });
        Ok(changes)
    }

    fn remove_participant(&self, name: &str) -> Result<Vec<StateChange>, GovernanceError> {
        let mut entry = self.active(name)?;
        let mut changes = self.without_validator(&entry.signing_key)?;
        for key in [entry.signing_key, entry.network_key] {
            changes.push(self.revoke_key(&key, name)?);
        }
        entry.removed_at = Some(self.effective);
        changes.insert(0, StateChange::Participant { entry });
        Ok(changes)
    }

    fn set_power(&self, name: &str, power: u64) -> Result<Vec<StateChange>, GovernanceError> {
        let entry = self.active(name)?;
        if !entry.roles.contains(&Role::Validator) {
            return Err(GovernanceError::NotAValidator {
                name: name.to_owned(),
            });
        }
        let key = self.signing_record(&entry)?;
        if let Some(revoked_at) = key.revoked_at.filter(|r| *r <= self.effective) {
            return Err(GovernanceError::KeyRevoked {
                name: name.to_owned(),
                revoked_at,
            });
        }
        let pending = self.pending_set()?;
        if power == 0 && pending.power_of(&entry.signing_key).is_none() {
            return Err(GovernanceError::NotInValidatorSet {
                name: name.to_owned(),
            });
        }
        let mut validators: Vec<Validator> = pending
            .validators()
            .iter()
            .filter(|v| v.key != entry.signing_key)
            .cloned()
            .collect();
        if power > 0 {
            validators.push(Validator {
                key: entry.signing_key,
                power,
            });
        }
        Ok(vec![self.schedule(ValidatorSet::new(validators)?)])
    }

    fn rotate(
        &self,
        name: &str,
        signing_key: Option<PublicKey>,
        network_key: Option<PublicKey>,
    ) -> Result<Vec<StateChange>, GovernanceError> {
        let mut entry = self.active(name)?;
        for key in signing_key.iter().chain(network_key.iter()) {
            self.require_unused(*key)?;
        }
        let mut changes = Vec::new();
        if let Some(new) = signing_key {
            let old = entry.signing_key;
            let pending = self.pending_set()?;
            if let Some(power) = pending.power_of(&old) {
                // The validator keeps its power under its new key from the effective height.
                let mut validators: Vec<Validator> = pending
                    .validators()
                    .iter()
                    .filter(|v| v.key != old)
                    .cloned()
                    .collect();
                validators.push(Validator { key: new, power });
                changes.push(self.schedule(ValidatorSet::new(validators)?));
            }
            changes.push(self.revoke_key(&old, name)?);
            changes.push(self.new_key(new, name, KeyPurpose::Signing));
            entry.signing_key = new;
        }
        if let Some(new) = network_key {
            changes.push(self.revoke_key(&entry.network_key, name)?);
            changes.push(self.new_key(new, name, KeyPurpose::Network));
            entry.network_key = new;
        }
        changes.insert(0, StateChange::Participant { entry });
        Ok(changes)
    }

    fn revoke(&self, name: &str) -> Result<Vec<StateChange>, GovernanceError> {
        let entry = self.active(name)?;
        let key = self.signing_record(&entry)?;
        if let Some(revoked_at) = key.revoked_at {
            return Err(GovernanceError::KeyRevoked {
                name: name.to_owned(),
                revoked_at,
            });
        }
        let mut changes = self.without_validator(&entry.signing_key)?;
        changes.push(StateChange::Key {
            record: key.revoked_from(self.effective),
        });
        Ok(changes)
    }

    /// The registry entry of `name`, which must exist and not be removed.
    fn active(&self, name: &str) -> Result<ParticipantEntry, GovernanceError> {
        let entry =
            self.view
                .participant(name)
                .ok_or_else(|| GovernanceError::UnknownParticipant {
                    name: name.to_owned(),
                })?;
        if let Some(removed_at) = entry.removed_at {
            return Err(GovernanceError::ParticipantRemoved {
                name: name.to_owned(),
                removed_at,
            });
        }
        Ok(entry)
    }

    fn signing_record(&self, entry: &ParticipantEntry) -> Result<KeyRecord, GovernanceError> {
        // Every entry's keys are registered with it; a store missing one is inconsistent, which
        // the caller sees as an unknown participant rather than a panic.
        self.view.key_record(&entry.signing_key).ok_or_else(|| {
            GovernanceError::UnknownParticipant {
                name: entry.name.clone(),
            }
        })
    }

    fn require_unused(&self, key: PublicKey) -> Result<(), GovernanceError> {
        match self.view.key_record(&key) {
            Some(record) => Err(GovernanceError::KeyInUse {
                key,
                by: record.participant,
            }),
            None => Ok(()),
        }
    }

    fn new_key(&self, key: PublicKey, name: &str, purpose: KeyPurpose) -> StateChange {
        StateChange::Key {
            record: KeyRecord {
                key,
                participant: name.to_owned(),
                purpose,
                valid_from: self.effective,
                revoked_at: None,
            },
        }
    }

    fn revoke_key(&self, key: &PublicKey, name: &str) -> Result<StateChange, GovernanceError> {
        let record =
            self.view
                .key_record(key)
                .ok_or_else(|| GovernanceError::UnknownParticipant {
                    name: name.to_owned(),
                })?;
        Ok(StateChange::Key {
            record: record.revoked_from(self.effective),
        })
    }

    /// The set in force at the effective height: every change scheduled so far included.
    fn pending_set(&self) -> Result<ValidatorSet, GovernanceError> {
        self.view
            .validator_set_at(self.effective)
            .ok_or(GovernanceError::NoValidatorSet {
                height: self.effective,
            })
    }

    /// The change removing `key` from the pending set, if it is a member; the rest must remain a
    /// valid set.
    fn without_validator(&self, key: &PublicKey) -> Result<Vec<StateChange>, GovernanceError> {
        let pending = self.pending_set()?;
        if pending.power_of(key).is_none() {
            return Ok(Vec::new());
        }
        let rest: Vec<Validator> = pending
            .validators()
            .iter()
            .filter(|v| v.key != *key)
            .cloned()
            .collect();
        Ok(vec![self.schedule(ValidatorSet::new(rest)?)])
    }

    fn schedule(&self, set: ValidatorSet) -> StateChange {
        StateChange::ValidatorSet {
            from_height: self.effective,
            set,
        }
    }
}
