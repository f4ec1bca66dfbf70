//! Which events the story shows: those naming a tracked identifier while it belongs to the
//! story.
//!
//! The verifier passes the story's identifiers without their windows. For the subject, inputs
//! and outputs the window does not matter (an input's history ends when it is consumed, an
//! output's begins when it is made), but a container's does: a returnable pallet's earlier trips
//! are in the bundle (the rules need its commissioning and custody), yet its readings and
//! recalls from before the subject was put on it say nothing about the subject. So, as
//! [`crate::bundle::closure`] does, a container of a tracked identifier is shown from the first
//! aggregation that put a tracked identifier into it until the last one was taken out (to the
//! anchor if one never was).

use std::collections::{BTreeMap, BTreeSet};

use crate::epcis::{Action, EventType};
use crate::rules::{EpcKey, EventFacts};

use super::read::Seen;

/// The log windows (input positions, inclusive) of the story's containers.
#[derive(Debug, Clone, Default)]
pub(super) struct Windows {
    containers: BTreeMap<EpcKey, (usize, Option<usize>)>,
}

impl Windows {
    /// Derives the windows from the parsed events (log order).
    pub(super) fn compute(
        subject: &EpcKey,
        events: &[&Seen<'_>],
        tracked: &BTreeSet<EpcKey>,
    ) -> Self {
        let aggregations: Vec<(usize, &EventFacts)> = events
            .iter()
            .filter(|s| !s.is_declaration())
            .filter_map(|s| s.facts.as_ref().map(|f| (s.position, f)))
            .filter(|(_, f)| f.event_type == EventType::AggregationEvent)
            .collect();
        let mut containers: BTreeMap<EpcKey, (usize, Option<usize>)> = BTreeMap::new();
        for (i, &(position, facts)) in aggregations.iter().enumerate() {
            let Some(parent) = facts
                .parent
                .as_ref()
                .filter(|_| facts.action == Some(Action::Add))
            else {
                continue;
            };
            if &parent.key == subject || !tracked.contains(&parent.key) {
                continue;
            }
            let children = facts
                .children
                .iter()
                .filter(|c| c.key != parent.key && tracked.contains(&c.key));
            for child in children {
                let taken_out = aggregations[i + 1..].iter().find(|(_, later)| {
                    later.action == Some(Action::Delete)
                        && later.parent.as_ref().is_some_and(|p| p.key == parent.key)
                        && (later.children.is_empty()
                            || later.children.iter().any(|c| c.key == child.key))
                });
                let window = (position, taken_out.map(|(p, _)| *p));
                containers
                    .entry(parent.key.clone())
                    .and_modify(|(from, until)| {
                        *from = (*from).min(window.0);
                        *until = match (*until, window.1) {
                            (Some(a), Some(b)) => Some(a.max(b)),
                            _ => None,
                        };
                    })
                    .or_insert(window);
            }
        }
        Windows { containers }
    }

    /// Whether the story shows `seen`: it names a tracked identifier inside that identifier's
    /// window.
    pub(super) fn shows(&self, seen: &Seen<'_>) -> bool {
        seen.tracked
            .iter()
            .any(|named| match self.containers.get(&named.key) {
                Some((from, until)) => {
                    seen.position >= *from && until.is_none_or(|until| seen.position <= until)
                }
                None => true,
            })
    }
}
