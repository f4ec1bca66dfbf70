//! The product claim: who made the subject, when and where, its origin, lot and master data.
//!
//! The subject is "made" by its commissioning (ObjectEvent `ADD` naming it, as an EPC or, for a
//! lot, as a quantity class) or by the transformation that output it; a logistic unit created by
//! aggregating into it is made by that aggregation. Its country of origin is the one declared at
//! its making or, failing that, the one declared at the making of the earliest tracked product
//! (its raw materials, upstream) that declares one.

use std::collections::BTreeSet;

use crate::bundle::Subject;
use crate::bundle::verdict::ProductClaim;
use crate::epcis::{Action, EventType};
use crate::gs1;
use crate::rules::{EpcKey, Identity, MemoryState};

use super::jsonld::{CBVMDA, flatten, text_of};
use super::read::Seen;

/// Builds the product claim from the parsed events (log order).
pub(super) fn claim(
    subject: &Subject,
    events: &[&Seen<'_>],
    tracked: &BTreeSet<EpcKey>,
    registry: &MemoryState,
) -> ProductClaim {
    let key = subject.key();
    let candidates = || events.iter().filter(|s| !s.is_declaration());
    let making = candidates()
        .find(|s| made(s).iter().any(|id| &id.key == key))
        .or_else(|| candidates().find(|s| creates_container(s, key)));
    let ilmd_text = |seen: &Seen<'_>, name: &str| {
        let ilmd = seen.event.ilmd()?;
        let value = seen.names.member(ilmd, &format!("{CBVMDA}{name}"))?;
        text_of(value, &seen.names)
    };
    let origin_country = making
        .and_then(|s| ilmd_text(s, "countryOfOrigin"))
        .or_else(|| {
            let mut materials: Vec<&&Seen<'_>> = candidates()
                .filter(|s| {
                    made(s)
                        .iter()
                        .any(|id| &id.key != key && tracked.contains(&id.key))
                })
                .collect();
            materials.sort_by_key(|s| (s.when_ms, s.position));
            materials
                .into_iter()
                .find_map(|s| ilmd_text(s, "countryOfOrigin"))
        });
    let lot = making
        .and_then(|s| ilmd_text(s, "lotNumber"))
        .or_else(|| subject_lot(subject));
    ProductClaim {
        identifier: key.0.clone(),
        maker: making.map(|s| s.who().to_owned()),
        made_at: making.map(|s| s.event.event_timestamp().as_str().to_owned()),
        made_where: making.and_then(|s| s.place(registry)),
        origin_country,
        lot,
        master_data: making
            .and_then(|s| s.event.ilmd().map(|ilmd| flatten(ilmd, &s.names)))
            .unwrap_or_default(),
    }
}

/// What an event brings into being, as the rules see it: the EPCs and classes it commissions,
/// or the outputs of a transformation.
pub(super) fn made<'s>(seen: &'s Seen<'_>) -> Vec<&'s Identity> {
    let Some(facts) = &seen.facts else {
        return Vec::new();
    };
    match (facts.event_type, facts.action) {
        (EventType::ObjectEvent, Some(Action::Add)) => {
            facts.epcs.iter().chain(&facts.quantity_classes).collect()
        }
        (EventType::TransformationEvent, _) => {
            facts.outputs.iter().chain(&facts.output_classes).collect()
        }
        _ => Vec::new(),
    }
}

/// An aggregation into `key` as parent: how a pallet's SSCC comes into being.
fn creates_container(seen: &Seen<'_>, key: &EpcKey) -> bool {
    seen.facts.as_ref().is_some_and(|f| {
        f.event_type == EventType::AggregationEvent
            && f.action == Some(Action::Add)
            && f.parent.as_ref().is_some_and(|p| &p.key == key)
    })
}

/// The lot the subject's identifier itself carries (a lot subject, or an identifier with AI 10).
fn subject_lot(subject: &Subject) -> Option<String> {
    match subject {
        Subject::Lot { lot, .. } => Some(lot.clone()),
        Subject::Instance { key } => gs1::parse_any_epc(&key.0)
            .ok()
            .and_then(|epc| epc.lot().map(str::to_owned)),
    }
}

/// The subject's GTIN (14 digits), for the cold-chain policy.
pub(super) fn subject_gtin(subject: &Subject) -> Option<String> {
    match subject {
        Subject::Lot { gtin, .. } => Some(gtin.clone()),
        Subject::Instance { key } => gs1::parse_any_epc(&key.0)
            .ok()
            .and_then(|epc| epc.gtin().map(|g| g.as_str().to_owned())),
    }
}
