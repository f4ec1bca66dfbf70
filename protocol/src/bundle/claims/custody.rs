//! Custody and containment, replayed from the bundle's events in log order, the way the ledger
//! rules apply them (see `rules` for the model):
//!
//! * commissioning (ObjectEvent `ADD`) and transformation outputs go to the recording
//!   participant; a container created by aggregating into it too;
//! * shipping leaves custody with the shipper until the addressee records receipt;
//! * retail sale, decommissioning and consumption by a transformation end custody;
//! * an aggregated child is held by whoever holds its outermost container; unpacking gives the
//!   children to the participant that unpacks them.
//!
//! The subject's custody periods follow from that: a new period starts whenever the holder of
//! the subject (or of its outermost container) changes. The same replay tells which readings of
//! a container concern a product inside it, for limits declared in the product's `ilmd`.

use std::collections::{BTreeMap, BTreeSet};

use crate::bundle::verdict::{CustodyClaim, Threshold};
use crate::epcis::{Action, EventType};
use crate::rules::{CustodyStep, EpcKey, EventFacts, Identity};

use super::read::Seen;
use super::{cold, product};

/// Deepest container nesting followed (the rules refuse deeper aggregation anyway).
const MAX_NESTING: usize = 64;

/// What the replay found.
#[derive(Debug, Clone, Default)]
pub(super) struct Replay {
    /// The subject's custody periods, in log order.
    pub custody: Vec<CustodyClaim>,
    /// For events carrying sensor data (by position in the input), the limits declared in the
    /// `ilmd` of a tracked product the readings concern.
    pub inherited: BTreeMap<usize, Threshold>,
}

#[derive(Debug, Clone, Default)]
struct Holding {
    custodian: Option<String>,
    parent: Option<EpcKey>,
}

/// Limits declared for a tracked product by the event that made it.
#[derive(Debug, Clone)]
struct Declaration {
    product: EpcKey,
    threshold: Threshold,
}

/// Replays `events` (log order; error declarations and events whose identifiers did not
/// resolve change nothing, as in the rules).
pub(super) fn replay(subject: &EpcKey, events: &[&Seen<'_>], tracked: &BTreeSet<EpcKey>) -> Replay {
    let mut holdings: BTreeMap<EpcKey, Holding> = BTreeMap::new();
    let mut declarations: Vec<Declaration> = Vec::new();
    let mut periods = Periods::default();
    let mut inherited = BTreeMap::new();
    for seen in events {
        if seen.is_declaration() {
            continue;
        }
        let Some(facts) = &seen.facts else {
            continue;
        };
        let has_readings = !seen.event.sensor_elements().is_empty();
        let mut concerned = BTreeSet::new();
        if has_readings {
            concerned.extend(concerning(&declarations, &holdings, seen));
        }
        apply(&mut holdings, facts, seen.who());
        declarations.extend(declared_by(seen, facts, tracked));
        if has_readings {
            concerned.extend(concerning(&declarations, &holdings, seen));
            // The subject's own limits first; else those declared earliest.
            let chosen = concerned
                .iter()
                .find(|&&i| declarations[i].product == *subject)
                .or_else(|| concerned.first());
            if let Some(&i) = chosen {
                inherited.insert(seen.position, declarations[i].threshold.clone());
            }
        }
        periods.observe(holder(&holdings, subject), seen);
    }
    Replay {
        custody: periods.finish(),
        inherited,
    }
}

/// Applies one event's custody effects.
fn apply(holdings: &mut BTreeMap<EpcKey, Holding>, facts: &EventFacts, who: &str) {
    let give = |holdings: &mut BTreeMap<EpcKey, Holding>, id: &Identity| {
        let holding = holdings.entry(id.key.clone()).or_default();
        holding.custodian = Some(who.to_owned());
        holding.parent = None;
    };
    let end = |holdings: &mut BTreeMap<EpcKey, Holding>, id: &Identity| {
        let holding = holdings.entry(id.key.clone()).or_default();
        holding.custodian = None;
        holding.parent = None;
    };
    match facts.event_type {
        EventType::ObjectEvent => match facts.action {
            Some(Action::Add) => facts
                .epcs
                .iter()
                .chain(&facts.quantity_classes)
                .for_each(|id| give(holdings, id)),
            Some(Action::Delete) => facts.epcs.iter().for_each(|id| end(holdings, id)),
            _ if facts.is_recall => {}
            _ => match facts.custody_step {
                Some(CustodyStep::Receive) => {
                    for id in facts.epcs.iter().chain(&facts.quantity_classes) {
                        holdings.entry(id.key.clone()).or_default().custodian =
                            Some(who.to_owned());
                    }
                }
                // A lot sold in part stays with the retailer; a sold item leaves the chain.
                Some(CustodyStep::RetailSale) => facts.epcs.iter().for_each(|id| end(holdings, id)),
                Some(CustodyStep::Ship) | None => {}
            },
        },
        EventType::AggregationEvent => match (facts.action, &facts.parent) {
            (Some(Action::Add), Some(parent)) => {
                holdings
                    .entry(parent.key.clone())
                    .or_insert_with(|| Holding {
                        custodian: Some(who.to_owned()),
                        parent: None,
                    });
                for child in facts.children.iter().filter(|c| c.key != parent.key) {
                    holdings.entry(child.key.clone()).or_default().parent =
                        Some(parent.key.clone());
                }
            }
            (Some(Action::Delete), Some(parent)) => {
                let named: BTreeSet<&EpcKey> = facts.children.iter().map(|c| &c.key).collect();
                for (key, holding) in holdings.iter_mut() {
                    let inside = holding.parent.as_ref() == Some(&parent.key);
                    if inside && (named.is_empty() || named.contains(key)) {
                        holding.parent = None;
                        holding.custodian = Some(who.to_owned());
                    }
                }
            }
            _ => {}
        },
        EventType::TransformationEvent => {
            facts.inputs.iter().for_each(|id| end(holdings, id));
            facts
                .outputs
                .iter()
                .chain(&facts.output_classes)
                .for_each(|id| give(holdings, id));
        }
        EventType::TransactionEvent | EventType::AssociationEvent => {}
    }
}

/// The containers around `key`, innermost first (stops at a cycle or at [`MAX_NESTING`]).
fn ancestors<'h>(holdings: &'h BTreeMap<EpcKey, Holding>, key: &EpcKey) -> Vec<&'h EpcKey> {
    let mut out: Vec<&EpcKey> = Vec::new();
    let mut next = holdings.get(key).and_then(|h| h.parent.as_ref());
    while let Some(parent) = next {
        if out.len() >= MAX_NESTING || parent == key || out.contains(&parent) {
            break;
        }
        out.push(parent);
        next = holdings.get(parent).and_then(|h| h.parent.as_ref());
    }
    out
}

/// Who holds `key`: the custodian of its outermost container, or its own.
fn holder(holdings: &BTreeMap<EpcKey, Holding>, key: &EpcKey) -> Option<String> {
    holdings.get(key)?;
    let top = ancestors(holdings, key).last().copied().unwrap_or(key);
    holdings.get(top).and_then(|h| h.custodian.clone())
}

/// Indexes of the declarations whose product the event names, or whose product sits inside
/// something the event names.
fn concerning(
    declarations: &[Declaration],
    holdings: &BTreeMap<EpcKey, Holding>,
    seen: &Seen<'_>,
) -> Vec<usize> {
    declarations
        .iter()
        .enumerate()
        .filter(|(_, d)| {
            seen.names_key(&d.product)
                || ancestors(holdings, &d.product)
                    .into_iter()
                    .any(|container| seen.names_key(container))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Limits declared in the `ilmd` of an event that makes tracked products, one per product.
fn declared_by(
    seen: &Seen<'_>,
    facts: &EventFacts,
    tracked: &BTreeSet<EpcKey>,
) -> Vec<Declaration> {
    let made = product::made(seen);
    let how = match facts.event_type {
        EventType::TransformationEvent => "transformation into",
        _ => "commissioning of",
    };
    let Some(ilmd) = seen.event.ilmd() else {
        return Vec::new();
    };
    made.into_iter()
        .filter(|id| tracked.contains(&id.key))
        .filter_map(|id| {
            let source = format!("declared at {how} {}", id.original);
            cold::declared(ilmd, &seen.names, source).map(|threshold| Declaration {
                product: id.key.clone(),
                threshold,
            })
        })
        .collect()
}

/// Custody periods as the holder changes.
#[derive(Debug, Default)]
struct Periods {
    done: Vec<CustodyClaim>,
    open: Option<CustodyClaim>,
}

impl Periods {
    fn observe(&mut self, holder: Option<String>, seen: &Seen<'_>) {
        let current = self.open.as_ref().map(|c| c.holder.as_str());
        if current == holder.as_deref() {
            return;
        }
        let time = seen.event.event_timestamp().as_str();
        if let Some(mut closed) = self.open.take() {
            closed.until = Some(time.to_owned());
            closed.until_event = Some(seen.index);
            self.done.push(closed);
        }
        self.open = holder.map(|holder| CustodyClaim {
            holder,
            from: time.to_owned(),
            until: None,
            from_event: seen.index,
            until_event: None,
        });
    }

    fn finish(mut self) -> Vec<CustodyClaim> {
        self.done.extend(self.open);
        self.done
    }
}
