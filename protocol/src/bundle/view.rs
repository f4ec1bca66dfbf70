//! The ledger as a bundle shows it: the full registry, but only part of the log.
//!
//! The verifier re-applies [`crate::rules::check_event`] to a bundle's events. It cannot do so
//! against a full state: a bundle carries the story's events, not the ledger. Two things differ,
//! and this view bridges exactly those, so that the rules themselves stay the one definition:
//!
//! * **Sequences.** A signer's other events are not in the bundle, so its sequence numbers have
//!   gaps. The view answers `last_sequence` with "just before this event" when the event moves
//!   the signer forward, and with the last seen value otherwise, so a replayed or reordered
//!   sequence still fails, a gap does not.
//! * **Identifiers outside the story.** A pallet also carries other products; their histories are
//!   not in the bundle. For an identifier outside the story (not in the verifier's closure), the
//!   view shows the state the current event needs (held by its signer; in transit to it when it
//!   receives; inside the event's parent when it unpacks; absent when it is created), and the
//!   block's changes to it are dropped. Identifiers of the story are checked strictly: a
//!   container or input whose history the bundle leaves out fails `not_commissioned` or
//!   `not_custodian`.
//!
//! The validators already applied the full rules before certifying each block; re-applying them
//! here protects the consumer against a dishonest quorum and shows omissions inside the story.

use std::collections::BTreeMap;

use crate::crypto::PublicKey;
use crate::epcis::{Action, EventType};
use crate::event_hash::EventHashId;
use crate::evidence::Offence;
use crate::ledger::ValidatorSet;
use crate::rules::{
    CustodyStep, EpcKey, EpcState, EpcStatus, EventFacts, KeyRecord, LedgerView, MemoryState,
    ParticipantEntry, ParticipantRecord, StateChange,
};

use super::closure::Closure;

/// The state a bundle's events are checked against, one event at a time.
#[derive(Debug)]
pub(super) struct StoryView<'a> {
    pub state: MemoryState,
    closure: &'a Closure,
    /// The event being checked: its signer and sequence.
    current: Option<(PublicKey, u64)>,
    /// Highest sequence seen per signer among the bundle's events.
    sequences: BTreeMap<PublicKey, u64>,
    /// States shown for identifiers outside the story, for the current event only.
    stand_ins: BTreeMap<EpcKey, Option<EpcState>>,
}

impl<'a> StoryView<'a> {
    pub fn new(state: MemoryState, closure: &'a Closure) -> Self {
        StoryView {
            state,
            closure,
            current: None,
            sequences: BTreeMap::new(),
            stand_ins: BTreeMap::new(),
        }
    }

    /// Prepares the view for checking one event signed by `signer` (registered as `name`).
    pub fn begin(&mut self, signer: PublicKey, sequence: u64, name: &str, facts: &EventFacts) {
        self.current = Some((signer, sequence));
        self.stand_ins = stand_ins(self.closure, name, facts);
    }

    /// Applies the changes of an accepted event, except those to identifiers outside the story.
    pub fn apply(&mut self, changes: Vec<StateChange>) {
        let kept = changes.into_iter().filter(|change| match change {
            StateChange::Epc { epc, .. } => self.closure.get(epc).is_some(),
            StateChange::TransformedFrom { output, .. } => self.closure.get(output).is_some(),
            StateChange::Sequence { signer, sequence } => {
                let seen = self.sequences.entry(*signer).or_default();
                *seen = (*seen).max(*sequence);
                false
            }
            _ => true,
        });
        let kept: Vec<_> = kept.collect();
        self.state.apply(kept);
        self.current = None;
        self.stand_ins.clear();
    }

    /// Ends the check of an event that failed (nothing is applied).
    pub fn abandon(&mut self) {
        self.current = None;
        self.stand_ins.clear();
    }
}

/// The states identifiers outside the story must have for the event to be acceptable.
fn stand_ins(
    closure: &Closure,
    signer: &str,
    facts: &EventFacts,
) -> BTreeMap<EpcKey, Option<EpcState>> {
    let held = || EpcState {
        status: EpcStatus::Active,
        commissioned_by: signer.to_owned(),
        custodian: Some(signer.to_owned()),
        in_transit_to: None,
        parent: None,
    };
    let mut states = BTreeMap::new();
    let mut set = |key: &EpcKey, state: Option<EpcState>| {
        if closure.get(key).is_none() {
            states.insert(key.clone(), state);
        }
    };
    for key in super::closure::named(facts) {
        set(key, Some(held()));
    }
    let creates = |facts: &EventFacts| match facts.event_type {
        EventType::ObjectEvent if facts.action == Some(Action::Add) => facts.epcs.clone(),
        EventType::TransformationEvent => facts.outputs.clone(),
        _ => Vec::new(),
    };
    for created in creates(facts) {
        set(&created.key, None);
    }
    if facts.event_type == EventType::ObjectEvent
        && facts.custody_step == Some(CustodyStep::Receive)
        && facts.action != Some(Action::Add)
    {
        for epc in &facts.epcs {
            set(
                &epc.key,
                Some(EpcState {
                    custodian: None,
                    in_transit_to: Some(signer.to_owned()),
                    ..held()
                }),
            );
        }
    }
    if facts.event_type == EventType::AggregationEvent
        && facts.action == Some(Action::Delete)
        && let Some(parent) = &facts.parent
    {
        for child in &facts.children {
            set(
                &child.key,
                Some(EpcState {
                    parent: Some(parent.key.clone()),
                    ..held()
                }),
            );
        }
    }
    states
}

impl LedgerView for StoryView<'_> {
    fn participant(&self, name: &str) -> Option<ParticipantEntry> {
        self.state.participant(name)
    }
    fn key_record(&self, key: &PublicKey) -> Option<KeyRecord> {
        self.state.key_record(key)
    }
    fn prefix_owner(&self, digits: &str) -> Option<ParticipantRecord> {
        self.state.prefix_owner(digits)
    }
    fn overlapping_prefix(&self, prefix: &str) -> Option<(String, String)> {
        self.state.overlapping_prefix(prefix)
    }
    fn scheduled_validator_set(&self, height: u64) -> Option<(u64, ValidatorSet)> {
        self.state.scheduled_validator_set(height)
    }
    fn governance_nonce_used(&self, nonce: u64) -> bool {
        self.state.governance_nonce_used(nonce)
    }
    fn evidence_recorded(&self, offence: &Offence) -> bool {
        self.state.evidence_recorded(offence)
    }
    fn last_sequence(&self, signer: &PublicKey) -> u64 {
        let seen = self.sequences.get(signer).copied().unwrap_or(0);
        match self.current {
            Some((current, sequence)) if current == *signer && sequence > seen => sequence - 1,
            _ => seen,
        }
    }
    fn epc(&self, epc: &EpcKey) -> Option<EpcState> {
        match self.stand_ins.get(epc) {
            Some(stand_in) => stand_in.clone(),
            None => self.state.epc(epc),
        }
    }
    fn children(&self, parent: &EpcKey) -> Vec<EpcKey> {
        self.state.children(parent)
    }
    fn event_signer(&self, id: &EventHashId) -> Option<PublicKey> {
        self.state.event_signer(id)
    }
    fn error_declared(&self, id: &EventHashId) -> bool {
        self.state.error_declared(id)
    }
}
