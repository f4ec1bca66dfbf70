//! Which identifiers belong to a subject's story, and for which stretch of the log.
//!
//! One rule, used twice: the node follows it to decide which events to put in a bundle, and the
//! verifier re-derives it from the bundle's own events, so a bundle that names a container or an
//! input but leaves out its history fails the custody rules instead of being believed.
//!
//! * **Upstream** (a consumer's story, trace back): the subject; every container an aggregation
//!   put a tracked identifier into, from the container's beginning until the tracked child was
//!   taken out again; every input of a transformation that made a tracked identifier, up to that
//!   transformation.
//! * **Downstream** (trace forward, for a recall): the subject; every output of a transformation
//!   that consumed a tracked identifier, from that transformation on; and containers as above.
//!
//! Windows are leaf indexes (log positions), so the rule needs no clock and no heights.

use std::collections::BTreeMap;

use crate::epcis::{Action, EventType};
use crate::rules::{EpcKey, EventFacts};

use super::Scope;

/// Why an identifier is part of the story.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Relation {
    Subject,
    /// A pallet, case or container a tracked identifier travelled inside.
    Container,
    /// Something a tracked identifier was made from.
    Input,
    /// Something made from a tracked identifier.
    Output,
}

/// The stretch of the log during which an identifier belongs to the story.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Membership {
    pub relation: Relation,
    /// First leaf of the story's part of its history (`None`: from its beginning). The events
    /// before still matter to the rules (its commissioning), so a bundle carries them.
    pub shown_from: Option<u64>,
    /// Last leaf of its history the story needs (`None`: up to the anchor).
    pub until: Option<u64>,
}

impl Membership {
    /// Whether the event at `leaf` is part of this identifier's story.
    pub fn shows(&self, leaf: u64) -> bool {
        self.shown_from.is_none_or(|from| leaf >= from) && self.needs(leaf)
    }

    /// Whether a bundle must carry this identifier's event at `leaf` (its history up to `until`).
    pub fn needs(&self, leaf: u64) -> bool {
        self.until.is_none_or(|until| leaf <= until)
    }

    fn widen(&mut self, other: Membership) {
        self.relation = self.relation.min(other.relation);
        self.shown_from = match (self.shown_from, other.shown_from) {
            (Some(a), Some(b)) => Some(a.min(b)),
            _ => None,
        };
        self.until = match (self.until, other.until) {
            (Some(a), Some(b)) => Some(a.max(b)),
            _ => None,
        };
    }
}

/// The identifiers of a story with their memberships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closure {
    pub members: BTreeMap<EpcKey, Membership>,
}

impl Closure {
    /// Computes the closure of `subject` over `events` (log order: `(leaf_index, facts)`).
    ///
    /// Iterates to a fixed point; each round can only add identifiers or widen windows, and both
    /// are bounded by the events given, so it terminates.
    pub fn compute(subject: &EpcKey, scope: Scope, events: &[(u64, &EventFacts)]) -> Closure {
        let mut members = BTreeMap::new();
        members.insert(
            subject.clone(),
            Membership {
                relation: Relation::Subject,
                shown_from: None,
                until: None,
            },
        );
        let mut closure = Closure { members };
        // Each round adds at least one member or widens one window; both are bounded by the
        // events, but cap the rounds anyway so a pathological input cannot spin.
        for _ in 0..=events.len() * 2 + 1 {
            let before = closure.clone();
            for (position, (leaf, facts)) in events.iter().enumerate() {
                closure.follow(*leaf, facts, scope, &events[position + 1..]);
            }
            if closure == before {
                break;
            }
        }
        closure
    }

    /// The membership of `key`, if it is part of the story.
    pub fn get(&self, key: &EpcKey) -> Option<&Membership> {
        self.members.get(key)
    }

    /// Whether any identifier `facts` names belongs to the story at `leaf`.
    pub fn shows(&self, leaf: u64, facts: &EventFacts) -> bool {
        named(facts).any(|key| self.get(key).is_some_and(|m| m.shows(leaf)))
    }

    /// Whether a bundle must carry the event at `leaf`.
    pub fn needs(&self, leaf: u64, facts: &EventFacts) -> bool {
        named(facts).any(|key| self.get(key).is_some_and(|m| m.needs(leaf)))
    }

    fn active(&self, key: &EpcKey, leaf: u64) -> bool {
        self.get(key).is_some_and(|m| m.shows(leaf))
    }

    fn add(&mut self, key: &EpcKey, membership: Membership) {
        self.members
            .entry(key.clone())
            .and_modify(|m| m.widen(membership))
            .or_insert(membership);
    }

    fn follow(
        &mut self,
        leaf: u64,
        facts: &EventFacts,
        scope: Scope,
        later: &[(u64, &EventFacts)],
    ) {
        match facts.event_type {
            EventType::AggregationEvent if facts.action == Some(Action::Add) => {
                let Some(parent) = &facts.parent else {
                    return;
                };
                let inside: Vec<_> = facts
                    .children
                    .iter()
                    .filter(|c| self.active(&c.key, leaf))
                    .collect();
                for child in inside {
                    let taken_out = later.iter().find(|(_, f)| {
                        f.event_type == EventType::AggregationEvent
                            && f.action == Some(Action::Delete)
                            && f.parent.as_ref().is_some_and(|p| p.key == parent.key)
                            && (f.children.is_empty()
                                || f.children.iter().any(|c| c.key == child.key))
                    });
                    self.add(
                        &parent.key,
                        Membership {
                            relation: Relation::Container,
                            shown_from: Some(leaf),
                            until: taken_out.map(|(l, _)| *l),
                        },
                    );
                }
            }
            EventType::TransformationEvent => {
                let made = facts
                    .outputs
                    .iter()
                    .chain(&facts.output_classes)
                    .any(|o| self.active(&o.key, leaf));
                let consumed = facts.inputs.iter().any(|i| self.active(&i.key, leaf));
                if made && scope == Scope::Upstream {
                    for input in &facts.inputs {
                        self.add(
                            &input.key,
                            Membership {
                                relation: Relation::Input,
                                shown_from: None,
                                until: Some(leaf),
                            },
                        );
                    }
                }
                if consumed && scope == Scope::Downstream {
                    for output in facts.outputs.iter().chain(&facts.output_classes) {
                        self.add(
                            &output.key,
                            Membership {
                                relation: Relation::Output,
                                shown_from: Some(leaf),
                                until: None,
                            },
                        );
                    }
                }
            }
            _ => {}
        }
    }
}

/// Every identifier an event names, in any role.
pub fn named(facts: &EventFacts) -> impl Iterator<Item = &EpcKey> {
    facts
        .epcs
        .iter()
        .chain(&facts.quantity_classes)
        .chain(facts.parent.iter())
        .chain(&facts.children)
        .chain(&facts.inputs)
        .chain(&facts.outputs)
        .chain(&facts.output_classes)
        .map(|identity| &identity.key)
}
