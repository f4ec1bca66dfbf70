//! The application state the rules read, the changes they produce, and two views of it:
//! an in-memory ledger ([`MemoryState`]) and a copy-on-write [`Overlay`] for applying the events
//! of one block in order before anything is committed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::event_hash::EventHashId;
use crate::evidence::Offence;
use crate::genesis::{Genesis, Role};
use crate::ledger::ValidatorSet;

use super::registry::{KeyPurpose, KeyRecord, ParticipantEntry, genesis_changes};

/// The canonical index key of an identifier (see [`crate::rules::resolve_identifier`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EpcKey(pub String);

impl std::fmt::Display for EpcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered participant as the rules see it through one of its signing keys. Custody is
/// recorded by participant *name*, so that a key rotation does not orphan what an organisation
/// holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRecord {
    pub name: String,
    pub roles: Vec<Role>,
    pub signing_key: PublicKey,
    pub company_prefixes: Vec<String>,
    /// Height from which this key no longer signs (exclusive upper bound of validity).
    pub revoked_at: Option<u64>,
    /// First height at which this key signs (0 for genesis keys; the effective height of the
    /// governance action for keys added or rotated in later).
    #[serde(default)]
    pub valid_from: u64,
}

impl ParticipantRecord {
    /// The participant `entry` as seen through one of its keys: the key and its validity.
    pub fn seen_through(entry: ParticipantEntry, key: &KeyRecord) -> Self {
        ParticipantRecord {
            name: entry.name,
            roles: entry.roles,
            signing_key: key.key,
            company_prefixes: entry.company_prefixes,
            revoked_at: key.revoked_at,
            valid_from: key.valid_from,
        }
    }

    /// Whether the participant holds `role`.
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Life-cycle status of an instance-level identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EpcStatus {
    /// Commissioned and in someone's custody.
    Active,
    /// Sold to a consumer at retail; only recalls and certifications may follow.
    Sold,
    /// Used up as the input of a transformation.
    Consumed,
    /// Decommissioned (ObjectEvent DELETE).
    Decommissioned,
    /// Destroyed.
    Destroyed,
}

/// What the ledger knows about one instance-level identifier.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EpcState {
    pub status: EpcStatus,
    /// Participant that commissioned it (owner of its company prefix, or the aggregator that
    /// created a logistic unit).
    pub commissioned_by: String,
    /// Participant holding it now (`None` once sold, consumed or gone).
    pub custodian: Option<String>,
    /// Participant a shipment named as its destination, while in transit.
    pub in_transit_to: Option<String>,
    /// The container it travels inside, if aggregated.
    pub parent: Option<EpcKey>,
}

/// One change to the application state. A block's changes are applied in order, atomically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum StateChange {
    /// The signer's last accepted sequence number.
    Sequence { signer: PublicKey, sequence: u64 },
    /// New or updated state of an identifier.
    Epc { epc: EpcKey, state: EpcState },
    /// `output` was made from `inputs` (transformation): trace-back edges.
    TransformedFrom { output: EpcKey, inputs: Vec<EpcKey> },
    /// The event with this ID is now part of the ledger.
    EventRecorded { id: EventHashId, signer: PublicKey },
    /// An error declaration was recorded for the event with this ID.
    ErrorDeclared { id: EventHashId },
    /// A participant registered or updated (upsert by `entry.name`).
    Participant { entry: ParticipantEntry },
    /// A key registered or its validity changed (upsert by `record.key`).
    Key { record: KeyRecord },
    /// `set` certifies every block from `from_height` until the next scheduled set (upsert by
    /// height: a later change for the same height builds on, and replaces, an earlier one).
    ValidatorSet { from_height: u64, set: ValidatorSet },
    /// A governance proposal with this nonce was applied; the nonce cannot be used again.
    GovernanceNonce { nonce: u64 },
    /// Equivocation evidence for this offence was committed.
    Evidence { offence: Offence },
}

/// Read-only view of ledger state at the point where the next event is applied.
pub trait LedgerView {
    /// The registry entry of the participant with this name (removed participants included).
    fn participant(&self, name: &str) -> Option<ParticipantEntry>;
    /// The record of a key ever registered, for any purpose (revoked keys included).
    fn key_record(&self, key: &PublicKey) -> Option<KeyRecord>;
    /// The participant owning the registered GS1 company prefix that starts `digits`, if any.
    fn prefix_owner(&self, digits: &str) -> Option<ParticipantRecord>;
    /// A registered prefix that overlaps `prefix` (one is a prefix of the other, or they are
    /// equal), with its owner's name: `(registered_prefix, owner)`.
    fn overlapping_prefix(&self, prefix: &str) -> Option<(String, String)>;
    /// The validator set in force at `height` with the height it took effect: the scheduled
    /// set with the greatest `from_height <= height`.
    fn scheduled_validator_set(&self, height: u64) -> Option<(u64, ValidatorSet)>;
    /// Whether a governance proposal with this nonce was already applied.
    fn governance_nonce_used(&self, nonce: u64) -> bool;
    /// Whether evidence of this offence was already committed.
    fn evidence_recorded(&self, offence: &Offence) -> bool;
    /// Last accepted sequence number of `signer` (0 before its first event).
    fn last_sequence(&self, signer: &PublicKey) -> u64;
    /// State of an identifier, if it was ever commissioned.
    fn epc(&self, epc: &EpcKey) -> Option<EpcState>;
    /// Identifiers currently aggregated directly inside `parent`.
    fn children(&self, parent: &EpcKey) -> Vec<EpcKey>;
    /// The signer of the recorded event with this ID, if recorded.
    fn event_signer(&self, id: &EventHashId) -> Option<PublicKey>;
    /// Whether an error declaration was already recorded for this event.
    fn error_declared(&self, id: &EventHashId) -> bool;

    /// The participant whose signing key this is, seen through that key: its validity is the
    /// key's, not the participant's newest key's. `None` for network keys and unknown keys.
    fn participant_by_key(&self, key: &PublicKey) -> Option<ParticipantRecord> {
        let record = self
            .key_record(key)
            .filter(|r| r.purpose == KeyPurpose::Signing)?;
        let entry = self.participant(&record.participant)?;
        Some(joined(entry, &record))
    }

    /// The participant with this name, seen through its newest signing key.
    fn participant_by_name(&self, name: &str) -> Option<ParticipantRecord> {
        let entry = self.participant(name)?;
        let record = self.key_record(&entry.signing_key)?;
        Some(joined(entry, &record))
    }

    /// The validator set that certifies the block at `height` (the genesis set before the first
    /// change takes effect).
    fn validator_set_at(&self, height: u64) -> Option<ValidatorSet> {
        self.scheduled_validator_set(height).map(|(_, set)| set)
    }
}

fn joined(entry: ParticipantEntry, key: &KeyRecord) -> ParticipantRecord {
    ParticipantRecord::seen_through(entry, key)
}

/// A registered prefix in `prefixes` that overlaps `prefix`: a shorter one it starts with, or
/// one that starts with it (equal included).
fn find_overlap(prefixes: &BTreeMap<String, String>, prefix: &str) -> Option<(String, String)> {
    let shorter_or_equal = (6..=12.min(prefix.len()))
        .filter_map(|len| prefix.get(..len))
        .find_map(|candidate| prefixes.get_key_value(candidate));
    let longer = || {
        prefixes
            .range::<str, _>((
                std::ops::Bound::Included(prefix),
                std::ops::Bound::Unbounded,
            ))
            .next()
            .filter(|(registered, _)| registered.starts_with(prefix))
    };
    shorter_or_equal
        .or_else(longer)
        .map(|(registered, owner)| (registered.clone(), owner.clone()))
}

/// Registered company prefixes are 6 to 12 digits; try each length on the identifier's digits.
fn lookup_prefix<'a>(prefixes: &'a BTreeMap<String, String>, digits: &str) -> Option<&'a String> {
    (6..=12.min(digits.len()))
        .filter_map(|len| digits.get(..len))
        .find_map(|candidate| prefixes.get(candidate))
}

/// A complete ledger state held in memory: used by tests, by offline verifiers re-applying the
/// rules to a bundle, and as the reference against which stored state is checked.
#[derive(Debug, Clone, Default)]
pub struct MemoryState {
    participants: BTreeMap<String, ParticipantEntry>,
    keys: BTreeMap<PublicKey, KeyRecord>,
    prefixes: BTreeMap<String, String>,
    validator_sets: BTreeMap<u64, ValidatorSet>,
    nonces: BTreeSet<u64>,
    offences: BTreeSet<Offence>,
    sequences: BTreeMap<PublicKey, u64>,
    epcs: BTreeMap<EpcKey, EpcState>,
    children: BTreeMap<EpcKey, BTreeSet<EpcKey>>,
    events: BTreeMap<EventHashId, PublicKey>,
    errors_declared: BTreeSet<EventHashId>,
    transformed_from: BTreeMap<EpcKey, Vec<EpcKey>>,
}

impl MemoryState {
    /// The state at genesis: participants and their keys registered, the genesis validator set
    /// in force, nothing commissioned ([`genesis_changes`] applied).
    pub fn from_genesis(genesis: &Genesis) -> Self {
        let mut state = MemoryState::default();
        state.apply(genesis_changes(genesis));
        state
    }

    /// The network keys valid at `height`, with their participants' names, sorted by name: the
    /// allow-list of nodes that may connect. A node that wants to admit peers across an
    /// announced rotation asks for both its next height and that height plus the change delay.
    pub fn network_keys_at(&self, height: u64) -> Vec<(String, PublicKey)> {
        let mut keys: Vec<(String, PublicKey)> = self
            .keys
            .values()
            .filter(|r| r.purpose == KeyPurpose::Network && r.valid_at(height))
            .map(|r| (r.participant.clone(), r.key))
            .collect();
        keys.sort();
        keys
    }

    /// Every registered participant, by name.
    pub fn participants(&self) -> impl Iterator<Item = &ParticipantEntry> {
        self.participants.values()
    }

    /// Applies changes produced by the rules, in order.
    pub fn apply(&mut self, changes: impl IntoIterator<Item = StateChange>) {
        for change in changes {
            match change {
                StateChange::Sequence { signer, sequence } => {
                    self.sequences.insert(signer, sequence);
                }
                StateChange::Epc { epc, state } => {
                    if let Some(old_parent) = self.epcs.get(&epc).and_then(|s| s.parent.clone())
                        && let Some(set) = self.children.get_mut(&old_parent)
                    {
                        set.remove(&epc);
                    }
                    if let Some(parent) = &state.parent {
                        self.children
                            .entry(parent.clone())
                            .or_default()
                            .insert(epc.clone());
                    }
                    self.epcs.insert(epc, state);
                }
                StateChange::TransformedFrom { output, inputs } => {
                    self.transformed_from.insert(output, inputs);
                }
                StateChange::EventRecorded { id, signer } => {
                    self.events.insert(id, signer);
                }
                StateChange::ErrorDeclared { id } => {
                    self.errors_declared.insert(id);
                }
                StateChange::Participant { entry } => {
                    if let Some(old) = self.participants.get(&entry.name) {
                        for prefix in &old.company_prefixes {
                            self.prefixes.remove(prefix);
                        }
                    }
                    for prefix in &entry.company_prefixes {
                        self.prefixes.insert(prefix.clone(), entry.name.clone());
                    }
                    self.participants.insert(entry.name.clone(), entry);
                }
                StateChange::Key { record } => {
                    self.keys.insert(record.key, record);
                }
                StateChange::ValidatorSet { from_height, set } => {
                    self.validator_sets.insert(from_height, set);
                }
                StateChange::GovernanceNonce { nonce } => {
                    self.nonces.insert(nonce);
                }
                StateChange::Evidence { offence } => {
                    self.offences.insert(offence);
                }
            }
        }
    }

    /// Inputs a transformation consumed to make `output`.
    pub fn transformed_from(&self, output: &EpcKey) -> Option<&[EpcKey]> {
        self.transformed_from.get(output).map(Vec::as_slice)
    }
}

impl LedgerView for MemoryState {
    fn participant(&self, name: &str) -> Option<ParticipantEntry> {
        self.participants.get(name).cloned()
    }
    fn key_record(&self, key: &PublicKey) -> Option<KeyRecord> {
        self.keys.get(key).cloned()
    }
    fn prefix_owner(&self, digits: &str) -> Option<ParticipantRecord> {
        lookup_prefix(&self.prefixes, digits).and_then(|name| self.participant_by_name(name))
    }
    fn overlapping_prefix(&self, prefix: &str) -> Option<(String, String)> {
        find_overlap(&self.prefixes, prefix)
    }
    fn scheduled_validator_set(&self, height: u64) -> Option<(u64, ValidatorSet)> {
        self.validator_sets
            .range(..=height)
            .next_back()
            .map(|(h, set)| (*h, set.clone()))
    }
    fn governance_nonce_used(&self, nonce: u64) -> bool {
        self.nonces.contains(&nonce)
    }
    fn evidence_recorded(&self, offence: &Offence) -> bool {
        self.offences.contains(offence)
    }
    fn last_sequence(&self, signer: &PublicKey) -> u64 {
        self.sequences.get(signer).copied().unwrap_or(0)
    }
    fn epc(&self, epc: &EpcKey) -> Option<EpcState> {
        self.epcs.get(epc).cloned()
    }
    fn children(&self, parent: &EpcKey) -> Vec<EpcKey> {
        self.children
            .get(parent)
            .map(|set| set.iter().cloned().collect())
            .unwrap_or_default()
    }
    fn event_signer(&self, id: &EventHashId) -> Option<PublicKey> {
        self.events.get(id).copied()
    }
    fn error_declared(&self, id: &EventHashId) -> bool {
        self.errors_declared.contains(id)
    }
}

/// State changes accepted but not yet committed, owned, in order. Layered over a committed view
/// by [`Overlay`]: the events of a block being built, or the mempool's accepted events, are
/// checked against the state their predecessors produce with nothing written until commit.
///
/// When a prefix of the pending events is committed, the overlay stays correct as it is: its
/// entries hold the latest value after *all* pending events, which is also the latest value after
/// "committed prefix + remaining events".
#[derive(Debug, Clone, Default)]
pub struct PendingChanges {
    sequences: BTreeMap<PublicKey, u64>,
    epcs: BTreeMap<EpcKey, EpcState>,
    events: BTreeMap<EventHashId, PublicKey>,
    errors_declared: BTreeSet<EventHashId>,
    participants: BTreeMap<String, ParticipantEntry>,
    /// Prefixes of the participants registered by pending changes (prefixes never move).
    prefixes: BTreeMap<String, String>,
    keys: BTreeMap<PublicKey, KeyRecord>,
    validator_sets: BTreeMap<u64, ValidatorSet>,
    nonces: BTreeSet<u64>,
    offences: BTreeSet<Offence>,
    changes: Vec<StateChange>,
}

impl PendingChanges {
    /// Records `changes` (already checked by the rules).
    pub fn apply(&mut self, changes: Vec<StateChange>) {
        for change in &changes {
            match change {
                StateChange::Sequence { signer, sequence } => {
                    self.sequences.insert(*signer, *sequence);
                }
                StateChange::Epc { epc, state } => {
                    self.epcs.insert(epc.clone(), state.clone());
                }
                StateChange::EventRecorded { id, signer } => {
                    self.events.insert(*id, *signer);
                }
                StateChange::ErrorDeclared { id } => {
                    self.errors_declared.insert(*id);
                }
                StateChange::TransformedFrom { .. } => {}
                StateChange::Participant { entry } => {
                    for prefix in &entry.company_prefixes {
                        self.prefixes.insert(prefix.clone(), entry.name.clone());
                    }
                    self.participants.insert(entry.name.clone(), entry.clone());
                }
                StateChange::Key { record } => {
                    self.keys.insert(record.key, record.clone());
                }
                StateChange::ValidatorSet { from_height, set } => {
                    self.validator_sets.insert(*from_height, set.clone());
                }
                StateChange::GovernanceNonce { nonce } => {
                    self.nonces.insert(*nonce);
                }
                StateChange::Evidence { offence } => {
                    self.offences.insert(offence.clone());
                }
            }
        }
        self.changes.extend(changes);
    }

    /// All changes recorded so far, in order.
    pub fn changes(&self) -> &[StateChange] {
        &self.changes
    }

    /// All changes recorded so far, in order: what a block commits.
    pub fn into_changes(self) -> Vec<StateChange> {
        self.changes
    }

    /// True when nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }
}

/// A committed view with pending changes on top.
#[derive(Debug, Clone, Copy)]
pub struct Overlay<'a, V: LedgerView + ?Sized> {
    base: &'a V,
    pending: &'a PendingChanges,
}

impl<'a, V: LedgerView + ?Sized> Overlay<'a, V> {
    /// `pending` layered over `base`.
    pub fn new(base: &'a V, pending: &'a PendingChanges) -> Self {
        Overlay { base, pending }
    }
}

impl<V: LedgerView + ?Sized> LedgerView for Overlay<'_, V> {
    fn participant(&self, name: &str) -> Option<ParticipantEntry> {
        self.pending
            .participants
            .get(name)
            .cloned()
            .or_else(|| self.base.participant(name))
    }
    fn key_record(&self, key: &PublicKey) -> Option<KeyRecord> {
        self.pending
            .keys
            .get(key)
            .cloned()
            .or_else(|| self.base.key_record(key))
    }
    fn prefix_owner(&self, digits: &str) -> Option<ParticipantRecord> {
        // Registered prefixes are prefix-free, so at most one of the two layers owns `digits`;
        // the owner is re-read through the overlay in case pending changes updated it.
        match lookup_prefix(&self.pending.prefixes, digits) {
            Some(name) => self.participant_by_name(name),
            None => self
                .base
                .prefix_owner(digits)
                .and_then(|owner| self.participant_by_name(&owner.name)),
        }
    }
    fn overlapping_prefix(&self, prefix: &str) -> Option<(String, String)> {
        find_overlap(&self.pending.prefixes, prefix)
            .or_else(|| self.base.overlapping_prefix(prefix))
    }
    fn scheduled_validator_set(&self, height: u64) -> Option<(u64, ValidatorSet)> {
        let pending = self
            .pending
            .validator_sets
            .range(..=height)
            .next_back()
            .map(|(h, set)| (*h, set.clone()));
        let base = self.base.scheduled_validator_set(height);
        match (pending, base) {
            (Some(p), Some(b)) => Some(if p.0 >= b.0 { p } else { b }),
            (p, b) => p.or(b),
        }
    }
    fn governance_nonce_used(&self, nonce: u64) -> bool {
        self.pending.nonces.contains(&nonce) || self.base.governance_nonce_used(nonce)
    }
    fn evidence_recorded(&self, offence: &Offence) -> bool {
        self.pending.offences.contains(offence) || self.base.evidence_recorded(offence)
    }
    fn last_sequence(&self, signer: &PublicKey) -> u64 {
        self.pending
            .sequences
            .get(signer)
            .copied()
            .unwrap_or_else(|| self.base.last_sequence(signer))
    }
    fn epc(&self, epc: &EpcKey) -> Option<EpcState> {
        self.pending
            .epcs
            .get(epc)
            .cloned()
            .or_else(|| self.base.epc(epc))
    }
    fn children(&self, parent: &EpcKey) -> Vec<EpcKey> {
        let mut result: BTreeSet<EpcKey> = self
            .base
            .children(parent)
            .into_iter()
            .filter(|child| match self.pending.epcs.get(child) {
                Some(state) => state.parent.as_ref() == Some(parent),
                None => true,
            })
            .collect();
        result.extend(
            self.pending
                .epcs
                .iter()
                .filter(|(_, state)| state.parent.as_ref() == Some(parent))
                .map(|(epc, _)| epc.clone()),
        );
        result.into_iter().collect()
    }
    fn event_signer(&self, id: &EventHashId) -> Option<PublicKey> {
        self.pending
            .events
            .get(id)
            .copied()
            .or_else(|| self.base.event_signer(id))
    }
    fn error_declared(&self, id: &EventHashId) -> bool {
        self.pending.errors_declared.contains(id) || self.base.error_declared(id)
    }
}
