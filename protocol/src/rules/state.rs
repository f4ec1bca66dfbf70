//! The application state the rules read, the changes they produce, and two views of it:
//! an in-memory ledger ([`MemoryState`]) and a copy-on-write [`Overlay`] for applying the events
//! of one block in order before anything is committed.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::crypto::PublicKey;
use crate::event_hash::EventHashId;
use crate::genesis::{Genesis, Role};

/// The canonical index key of an identifier (see [`crate::rules::identity`]).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EpcKey(pub String);

impl std::fmt::Display for EpcKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A registered participant as the rules see it. Custody is recorded by participant *name*, so
/// that a key rotation does not orphan what an organisation holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantRecord {
    pub name: String,
    pub roles: Vec<Role>,
    pub signing_key: PublicKey,
    pub company_prefixes: Vec<String>,
    /// Height from which this key no longer signs (exclusive upper bound of validity).
    pub revoked_at: Option<u64>,
}

impl ParticipantRecord {
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
}

/// Read-only view of ledger state at the point where the next event is applied.
pub trait LedgerView {
    /// The participant whose signing key this is (revoked keys included).
    fn participant_by_key(&self, key: &PublicKey) -> Option<ParticipantRecord>;
    /// The participant with this name.
    fn participant_by_name(&self, name: &str) -> Option<ParticipantRecord>;
    /// The participant owning the registered GS1 company prefix that starts `digits`, if any.
    fn prefix_owner(&self, digits: &str) -> Option<ParticipantRecord>;
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
    participants: BTreeMap<String, ParticipantRecord>,
    by_key: BTreeMap<PublicKey, String>,
    prefixes: BTreeMap<String, String>,
    sequences: BTreeMap<PublicKey, u64>,
    epcs: BTreeMap<EpcKey, EpcState>,
    children: BTreeMap<EpcKey, BTreeSet<EpcKey>>,
    events: BTreeMap<EventHashId, PublicKey>,
    errors_declared: BTreeSet<EventHashId>,
    transformed_from: BTreeMap<EpcKey, Vec<EpcKey>>,
}

impl MemoryState {
    /// The state at genesis: participants registered, nothing commissioned.
    pub fn from_genesis(genesis: &Genesis) -> Self {
        let mut state = MemoryState::default();
        for p in &genesis.participants {
            state.register(ParticipantRecord {
                name: p.name.clone(),
                roles: p.roles.clone(),
                signing_key: p.signing_key,
                company_prefixes: p.company_prefixes.clone(),
                revoked_at: None,
            });
        }
        state
    }

    /// Adds or replaces a participant.
    pub fn register(&mut self, record: ParticipantRecord) {
        for prefix in &record.company_prefixes {
            self.prefixes.insert(prefix.clone(), record.name.clone());
        }
        self.by_key.insert(record.signing_key, record.name.clone());
        self.participants.insert(record.name.clone(), record);
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
            }
        }
    }

    /// Inputs a transformation consumed to make `output`.
    pub fn transformed_from(&self, output: &EpcKey) -> Option<&[EpcKey]> {
        self.transformed_from.get(output).map(Vec::as_slice)
    }
}

impl LedgerView for MemoryState {
    fn participant_by_key(&self, key: &PublicKey) -> Option<ParticipantRecord> {
        self.by_key
            .get(key)
            .and_then(|name| self.participants.get(name))
            .cloned()
    }
    fn participant_by_name(&self, name: &str) -> Option<ParticipantRecord> {
        self.participants.get(name).cloned()
    }
    fn prefix_owner(&self, digits: &str) -> Option<ParticipantRecord> {
        lookup_prefix(&self.prefixes, digits).and_then(|name| self.participant_by_name(name))
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
    fn participant_by_key(&self, key: &PublicKey) -> Option<ParticipantRecord> {
        self.base.participant_by_key(key)
    }
    fn participant_by_name(&self, name: &str) -> Option<ParticipantRecord> {
        self.base.participant_by_name(name)
    }
    fn prefix_owner(&self, digits: &str) -> Option<ParticipantRecord> {
        self.base.prefix_owner(digits)
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
