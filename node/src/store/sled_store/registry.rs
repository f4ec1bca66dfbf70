//! The registry part of the state in sled: participants, every key ever registered with its
//! validity, company prefixes, the validator-set schedule, used governance nonces and recorded
//! offences. Written only inside transactions (genesis initialisation and block commits), by
//! [`apply`], which mirrors `MemoryState::apply` for these changes exactly.

use provenance_protocol::evidence::Offence;
use provenance_protocol::rules::{ParticipantEntry, StateChange};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::keys;
use crate::store::StoreError;

type TxResult<T> = Result<T, ConflictableTransactionError<StoreError>>;

/// The registry trees inside one transaction.
pub(super) struct RegistryTx<'t> {
    pub participants: &'t TransactionalTree,
    pub participant_keys: &'t TransactionalTree,
    pub prefixes: &'t TransactionalTree,
    pub validator_sets: &'t TransactionalTree,
    pub governance_nonces: &'t TransactionalTree,
    pub offences: &'t TransactionalTree,
}

/// Whether `change` belongs to the registry (and is written by [`apply`]).
pub(super) fn is_registry_change(change: &StateChange) -> bool {
    matches!(
        change,
        StateChange::Participant { .. }
            | StateChange::Key { .. }
            | StateChange::ValidatorSet { .. }
            | StateChange::GovernanceNonce { .. }
            | StateChange::Evidence { .. }
    )
}

/// The key an offence is recorded under: its JSON (stable: field order is the struct's).
pub(super) fn offence_key(offence: &Offence) -> Result<Vec<u8>, StoreError> {
    keys::to_json(offence, "offence")
}

fn abort(error: StoreError) -> ConflictableTransactionError<StoreError> {
    ConflictableTransactionError::Abort(error)
}

/// Writes one registry change. Other changes are ignored (the caller writes them).
pub(super) fn apply(tx: &RegistryTx<'_>, change: &StateChange) -> TxResult<()> {
    match change {
        StateChange::Participant { entry } => {
            if let Some(old) = tx.participants.get(entry.name.as_bytes())? {
                let old: ParticipantEntry =
                    keys::from_json(&old, &format!("participant {:?}", entry.name))
                        .map_err(abort)?;
                for prefix in &old.company_prefixes {
                    tx.prefixes.remove(prefix.as_bytes())?;
                }
            }
            for prefix in &entry.company_prefixes {
                tx.prefixes
                    .insert(prefix.as_bytes(), entry.name.as_bytes())?;
            }
            let json = keys::to_json(entry, "participant").map_err(abort)?;
            tx.participants.insert(entry.name.as_bytes(), json)?;
        }
        StateChange::Key { record } => {
            let json = keys::to_json(record, "key record").map_err(abort)?;
            tx.participant_keys
                .insert(&record.key.as_bytes()[..], json)?;
        }
        StateChange::ValidatorSet { from_height, set } => {
            let json = keys::to_json(set, "validator set").map_err(abort)?;
            tx.validator_sets
                .insert(&keys::u64_be(*from_height)[..], json)?;
        }
        StateChange::GovernanceNonce { nonce } => {
            tx.governance_nonces
                .insert(&keys::u64_be(*nonce)[..], &[][..])?;
        }
        StateChange::Evidence { offence } => {
            tx.offences
                .insert(offence_key(offence).map_err(abort)?, &[][..])?;
        }
        _ => {}
    }
    Ok(())
}
