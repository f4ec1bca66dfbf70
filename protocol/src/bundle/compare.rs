//! Cross-checking two bundles of one story from two nodes.
//!
//! A single bundle cannot prove it is complete: its node could have left an event out (SPEC §13).
//! A second node's bundle can prove it did: an event the second bundle proves final *before* the
//! first bundle's anchor, that belongs to the first bundle's own story (names an identifier of its
//! closure within that identifier's window, or retracts one of its events), and that the first
//! bundle does not carry, was withheld. A consumer who asks several nodes needs only one honest
//! one to see every event up to the oldest anchor.

use std::collections::BTreeSet;

use crate::epcis::EpcisEvent;
use crate::event_hash::EventHashId;
use crate::rules::EventFacts;

use super::closure::Closure;
use super::{ProvenEvent, ProvenanceBundle, Subject};

/// An event `bundle` should carry but does not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Omission {
    pub event_hash_id: EventHashId,
    pub leaf_index: u64,
    pub height: u64,
}

/// The events of `other` that `bundle` withholds. Both bundles must already have verified (not
/// `Failed`) against the same trust root, for the same subject and scope: this compares proven
/// contents, it proves nothing itself.
pub fn omissions(bundle: &ProvenanceBundle, other: &ProvenanceBundle) -> Vec<Omission> {
    let Ok(subject) = Subject::parse(&bundle.subject) else {
        return Vec::new();
    };
    let facts: Vec<(u64, EventFacts)> = bundle
        .events
        .iter()
        .filter_map(|e| facts_of(e).map(|f| (e.leaf_index, f)))
        .collect();
    let with_leaves: Vec<(u64, &EventFacts)> = facts.iter().map(|(l, f)| (*l, f)).collect();
    let closure = Closure::compute(subject.key(), bundle.scope, &with_leaves);
    let carried: BTreeSet<u64> = bundle.events.iter().map(|e| e.leaf_index).collect();
    let ids: BTreeSet<EventHashId> = bundle
        .events
        .iter()
        .map(|e| e.record.event_hash_id)
        .collect();
    let before_anchor = bundle.anchor.header.log_size;
    other
        .events
        .iter()
        .filter(|e| e.leaf_index < before_anchor && !carried.contains(&e.leaf_index))
        .filter(|e| {
            facts_of(e).is_some_and(|f| {
                closure.needs(e.leaf_index, &f)
                    || (f.declares_error && ids.contains(&e.record.event_hash_id))
            })
        })
        .map(|e| Omission {
            event_hash_id: e.record.event_hash_id,
            leaf_index: e.leaf_index,
            height: e.height,
        })
        .collect()
}

fn facts_of(event: &ProvenEvent) -> Option<EventFacts> {
    let parsed: EpcisEvent = serde_json::from_str(&event.record.event).ok()?;
    EventFacts::extract(&parsed).ok()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::testkit::*;
    use super::*;
    use crate::bundle::assemble::assemble;
    use crate::bundle::{Scope, Subject};

    fn bundle(ledger: &TestLedger) -> ProvenanceBundle {
        assemble(ledger, &Subject::parse(R1).unwrap(), Scope::Upstream).unwrap()
    }

    #[test]
    fn a_withheld_step_or_recall_is_found_by_a_second_nodes_bundle() {
        let mut ledger = TestLedger::journey();
        let recall = ledger.sign(
            "Roaster",
            &object(
                300,
                json!({"epcList": [R1], "action": "OBSERVE", "bizStep": "holding",
                       "disposition": "recalled"}),
            ),
        );
        ledger.commit(vec![recall]);
        let honest = bundle(&ledger);
        assert!(omissions(&honest, &honest).is_empty());

        // A node withholds the recall but anchors after it.
        let mut withheld = honest.clone();
        let recall = withheld.events.pop().unwrap();
        let found = omissions(&withheld, &honest);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].event_hash_id, recall.record.event_hash_id);
        assert_eq!(found[0].height, recall.height);

        // A pallet step withheld (the pallet's shipment to the Hauler).
        let mut withheld = honest.clone();
        let shipped = withheld.events.remove(6);
        let found = omissions(&withheld, &honest);
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].leaf_index, shipped.leaf_index);
    }

    #[test]
    fn later_events_and_other_products_are_not_omissions() {
        let mut ledger = TestLedger::journey();
        let older = bundle(&ledger);
        // After the older anchor: the newer bundle's extra event is not the older's omission.
        let later = ledger.sign(
            "Shop",
            &object(
                400,
                json!({"epcList": [R1], "action": "OBSERVE", "bizStep": "inspecting"}),
            ),
        );
        ledger.commit(vec![later]);
        let newer = bundle(&ledger);
        assert!(omissions(&older, &newer).is_empty());
        // R2's own bundle carries nothing R1's story needs that R1's lacks.
        let r2 = assemble(&ledger, &Subject::parse(R2).unwrap(), Scope::Upstream).unwrap();
        assert!(
            omissions(&newer, &r2).is_empty(),
            "{:?}",
            omissions(&newer, &r2)
        );
    }
}
