//! One parsed event as the story reads it: who recorded it, when, which of the story's
//! identifiers it names, and the facts the ledger rules see in it.

use std::collections::BTreeSet;

use time::OffsetDateTime;

use crate::epcis::EpcisEvent;
use crate::record::SignedEvent;
use crate::rules::{EpcKey, EventFacts, LedgerView, MemoryState, resolve_identifier};

use super::StoryEvent;
use super::jsonld::Names;
use crate::bundle::verdict::Place;

/// What a step's `who` says when the signer is not a registered participant.
pub(super) const UNKNOWN_SIGNER: &str = "unknown signer";

/// An identifier an event names: the ledger's key and the text the event wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Named {
    pub key: EpcKey,
    pub written: String,
}

/// A parsed event of the bundle, read once.
#[derive(Debug, Clone)]
pub(super) struct Seen<'a> {
    /// Position in `StoryInput::events` (log order).
    pub position: usize,
    /// Position in `bundle.events`.
    pub index: usize,
    pub record: &'a SignedEvent,
    pub event: &'a EpcisEvent,
    /// The signer's registered name, if known.
    pub signer: Option<&'a str>,
    pub height: u64,
    pub verified: bool,
    pub names: Names,
    /// The facts the ledger rules act on (`None` when an identifier is malformed; such an event
    /// failed the rules and changes no custody here either).
    pub facts: Option<EventFacts>,
    /// Every identifier the event names, in any role, once each, in field order.
    pub named: Vec<Named>,
    /// Those of `named` that belong to the story.
    pub tracked: Vec<Named>,
    /// `eventTime`, milliseconds since the Unix epoch.
    pub when_ms: i64,
}

impl<'a> Seen<'a> {
    /// Reads `source` (at `position` of the input); `None` when it did not parse.
    pub(super) fn read(
        position: usize,
        source: &'a StoryEvent<'a>,
        tracked: &BTreeSet<EpcKey>,
    ) -> Option<Self> {
        let event = source.event?;
        let named = named_identifiers(event);
        let tracked = named
            .iter()
            .filter(|n| tracked.contains(&n.key))
            .cloned()
            .collect();
        Some(Seen {
            position,
            index: source.index,
            record: source.record,
            event,
            signer: source.signer.as_deref(),
            height: source.height,
            verified: source.verified,
            names: Names::of_event(event),
            facts: EventFacts::extract(event).ok(),
            named,
            tracked,
            when_ms: millis(event.event_time()),
        })
    }

    /// The recording participant's name, or [`UNKNOWN_SIGNER`].
    pub(super) fn who(&self) -> &str {
        self.signer.unwrap_or(UNKNOWN_SIGNER)
    }

    /// Whether this is an error declaration (EPCIS 2.0 §7.4.1.2).
    pub(super) fn is_declaration(&self) -> bool {
        self.event.error_declaration().is_some()
    }

    /// Whether the event names `key` in any role.
    pub(super) fn names_key(&self, key: &EpcKey) -> bool {
        self.named.iter().any(|n| &n.key == key)
    }

    /// Whether the same organisation recorded `self` and `other`: the same key, or two keys of
    /// one registered participant (a rotation keeps the right to correct one's own events).
    pub(super) fn same_organisation(&self, other: &Seen<'_>) -> bool {
        self.record.signer == other.record.signer
            || matches!((self.signer, other.signer), (Some(a), Some(b)) if a == b)
    }

    /// Where the event happened: `readPoint`, else `bizLocation`.
    pub(super) fn place(&self, registry: &MemoryState) -> Option<Place> {
        self.event
            .read_point()
            .or_else(|| self.event.biz_location())
            .map(|id| place(id, registry))
    }
}

/// A location with the participant whose registered company prefix it carries.
pub(super) fn place(id: &str, registry: &MemoryState) -> Place {
    Place {
        id: id.to_owned(),
        operator: owner_of(id, registry),
    }
}

/// The participant owning the company prefix of `id` (a location, a party, a product).
pub(super) fn owner_of(id: &str, registry: &MemoryState) -> Option<String> {
    let identity = resolve_identifier(id).ok()?;
    let digits = identity.company_digits?;
    registry.prefix_owner(&digits).map(|owner| owner.name)
}

/// Every identifier `event` names (parent, EPCs, children, inputs, outputs, and the classes of
/// every quantity list), resolved to ledger keys, once per key. An identifier that does not
/// resolve cannot belong to the story and is left out.
pub(super) fn named_identifiers(event: &EpcisEvent) -> Vec<Named> {
    let instances = event.epcs_for_rules().into_iter().map(|(_, text)| text);
    let classes = event
        .quantity_classes()
        .into_iter()
        .map(|q| q.epc_class.as_str());
    let mut seen = BTreeSet::new();
    instances
        .chain(classes)
        .filter_map(|text| resolve_identifier(text).ok())
        .filter(|identity| seen.insert(identity.key.clone()))
        .map(|identity| Named {
            key: identity.key,
            written: identity.original,
        })
        .collect()
}

/// Milliseconds since the Unix epoch, saturating (EPCIS years are four digits, so this never
/// saturates for a valid event).
pub(super) fn millis(time: OffsetDateTime) -> i64 {
    let ms = time.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(ms).unwrap_or(if ms < 0 { i64::MIN } else { i64::MAX })
}
