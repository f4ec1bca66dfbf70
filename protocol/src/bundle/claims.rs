//! The story a bundle's events tell: maker and origin, each step, custody, certifications,
//! cold-chain readings, recalls and error declarations.
//!
//! Pure extraction: [`super::verify`] decides which events verified and passes them in with their
//! signers' registered names; this module reads the EPCIS content and never judges authenticity.
//! Every claim names the event it comes from (`event_index`), so a reader can weigh it against
//! that event's `verified` flag and failures.
//!
//! Decisions worth knowing:
//! * **Steps** are the events that name a tracked identifier (in any role, quantity classes
//!   included) — a container only while a tracked identifier is inside it, see [`shown`] — in
//!   `eventTime` order (log order among equal times). Certifications, sensor readings and
//!   recalls come from those steps only. An event that could not be parsed is a failed step
//!   ("Unreadable event") placed by its `eventTime` if that can be read, else at the end.
//! * **Error declarations** (EPCIS 2.0 §7.4.1.2: the erroneous event repeated with
//!   `errorDeclaration` added, hence the same Event Hash ID) are listed in
//!   `error_declarations`, not as steps: as a step each would duplicate the event it corrects.
//!   A *verified* declaration by the same organisation (same key, or same registered name)
//!   marks the corrected step and recall `retracted`; a retracted event's certifications and
//!   sensor readings are left out of the claims (its own recorder says it was wrong). Custody
//!   and the product claim still follow it, because the ledger's state does: an error
//!   declaration records a correction, it does not undo custody.
//! * **Custody** is replayed from all parsed events in log order, as the rules apply them; see
//!   [`custody`].
//! * **Cold chain** limits: see [`cold`].

mod certs;
mod cold;
mod custody;
mod jsonld;
mod phrase;
mod product;
mod read;
mod shown;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

use crate::epcis::{EpcisEvent, Timestamp};
use crate::record::SignedEvent;
use crate::rules::{EpcKey, MemoryState};

use super::Subject;
use super::verdict::{ErrorDeclarationClaim, RecallClaim, StepClaim, Story, Threshold};

use read::Seen;

/// Cold-chain limits for products that declare none: per GTIN (14 digits), then a default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ColdChainPolicy {
    pub by_gtin: BTreeMap<String, Threshold>,
    pub default: Option<Threshold>,
}

/// One event of the bundle as the story sees it.
#[derive(Debug, Clone)]
pub struct StoryEvent<'a> {
    /// Position in `bundle.events`.
    pub index: usize,
    pub record: &'a SignedEvent,
    /// The parsed event (`None` when it could not be parsed; such an event only appears as a
    /// failed step).
    pub event: Option<&'a EpcisEvent>,
    /// The signer's registered name (`None`: unknown signer).
    pub signer: Option<String>,
    pub height: u64,
    /// False when any check of this event failed.
    pub verified: bool,
}

/// What the story is built from.
#[derive(Debug)]
pub struct StoryInput<'a> {
    pub subject: &'a Subject,
    /// The bundle's events in log order.
    pub events: Vec<StoryEvent<'a>>,
    /// Identifiers that belong to the story (subject, containers while it was inside, inputs or
    /// outputs), as the verifier's closure computed them.
    pub tracked: &'a BTreeSet<EpcKey>,
    /// The registry as of the anchor (names, roles, company prefixes: who operates a location).
    pub registry: &'a MemoryState,
    pub policy: &'a ColdChainPolicy,
    /// The anchor's block time, milliseconds since the Unix epoch (certificate validity is judged
    /// at this time).
    pub anchor_time_ms: u64,
}

/// Builds the story. Never fails: what cannot be read is left out of the claims (the events
/// themselves were already checked by the verifier).
pub fn story(input: &StoryInput<'_>) -> Story {
    let subject = input.subject.key();
    let all: Vec<Option<Seen<'_>>> = input
        .events
        .iter()
        .enumerate()
        .map(|(position, event)| Seen::read(position, event, input.tracked))
        .collect();
    let parsed: Vec<&Seen<'_>> = all.iter().flatten().collect();
    let retracted = retracted_positions(&parsed);
    let windows = shown::Windows::compute(subject, &parsed, input.tracked);
    let custody::Replay { custody, inherited } = custody::replay(subject, &parsed, input.tracked);
    let gtin = product::subject_gtin(input.subject);
    let policy = cold::from_policy(input.policy, gtin.as_deref());

    let mut story = Story {
        product: Some(product::claim(
            input.subject,
            &parsed,
            input.tracked,
            input.registry,
        )),
        custody,
        related: input
            .tracked
            .iter()
            .filter(|key| *key != subject)
            .map(|key| key.0.clone())
            .collect(),
        ..Story::default()
    };
    for position in step_order(input, &all, &windows) {
        let Some(Some(seen)) = all.get(position) else {
            if let Some(source) = input.events.get(position) {
                story.steps.push(unreadable_step(source));
            }
            continue;
        };
        let is_retracted = retracted.contains(&position);
        let details = certs::details(seen);
        let standards: Vec<String> = details.iter().filter_map(|d| d.standard.clone()).collect();
        story
            .steps
            .push(step(seen, input.registry, &standards, is_retracted));
        if !is_retracted {
            story
                .certifications
                .extend(certs::claims(seen, &details, input.anchor_time_ms));
            let inherited = inherited.get(&position).or(policy.as_ref());
            story.cold_chain.extend(cold::claims(seen, inherited));
        }
        if phrase::is_recall(seen.event) {
            story.recalls.push(RecallClaim {
                event_index: seen.index,
                by: seen.who().to_owned(),
                when: seen.event.event_timestamp().as_str().to_owned(),
                identifiers: seen.tracked.iter().map(|n| n.written.clone()).collect(),
                retracted: is_retracted,
            });
        }
    }
    story.error_declarations = parsed
        .iter()
        .filter_map(|seen| {
            let declaration = seen.event.error_declaration()?;
            Some(ErrorDeclarationClaim {
                event_index: seen.index,
                corrects: seen.record.event_hash_id.to_string(),
                reason: declaration.reason.as_deref().map(phrase::error_reason_name),
                by: seen.who().to_owned(),
                when: declaration.declaration_time.as_str().to_owned(),
            })
        })
        .collect();
    story
}

/// Positions (in the input) of the events shown as steps, in `eventTime` order: every parsed
/// event that names a tracked identifier in its window and is not an error declaration, and
/// every event that could not be parsed. Ties keep log order; unparsable events without a readable time go last.
fn step_order(
    input: &StoryInput<'_>,
    seen: &[Option<Seen<'_>>],
    windows: &shown::Windows,
) -> Vec<usize> {
    let mut order: Vec<((bool, i64), usize)> = input
        .events
        .iter()
        .zip(seen)
        .enumerate()
        .filter_map(|(position, (source, seen))| match seen {
            Some(seen) if seen.is_declaration() || !windows.shows(seen) => None,
            Some(seen) => Some(((false, seen.when_ms), position)),
            None => {
                let when = raw_time(source.record).map(|(_, ms)| ms);
                Some(((when.is_none(), when.unwrap_or(i64::MAX)), position))
            }
        })
        .collect();
    order.sort_by_key(|(key, _)| *key);
    order.into_iter().map(|(_, position)| position).collect()
}

/// Positions of events retracted by a verified error declaration of the same organisation.
fn retracted_positions(parsed: &[&Seen<'_>]) -> BTreeSet<usize> {
    let declarations: Vec<&Seen<'_>> = parsed
        .iter()
        .copied()
        .filter(|s| s.is_declaration() && s.verified)
        .collect();
    parsed
        .iter()
        .filter(|s| !s.is_declaration())
        .filter(|s| {
            declarations
                .iter()
                .any(|d| d.record.event_hash_id == s.record.event_hash_id && d.same_organisation(s))
        })
        .map(|s| s.position)
        .collect()
}

fn step(
    seen: &Seen<'_>,
    registry: &MemoryState,
    standards: &[String],
    retracted: bool,
) -> StepClaim {
    let event = seen.event;
    StepClaim {
        event_index: seen.index,
        event_hash_id: seen.record.event_hash_id.to_string(),
        what: phrase::what(seen, registry, standards),
        event_type: event.event_type().as_str().to_owned(),
        biz_step: event.biz_step_raw().map(phrase::biz_step_name),
        disposition: event.disposition_raw().map(phrase::disposition_name),
        who: seen.who().to_owned(),
        when: event.event_timestamp().as_str().to_owned(),
        time_zone_offset: event.event_time_zone_offset().as_str().to_owned(),
        when_ms: seen.when_ms,
        where_: seen.place(registry),
        identifiers: seen.tracked.iter().map(|n| n.written.clone()).collect(),
        height: seen.height,
        verified: seen.verified,
        retracted,
    }
}

/// A step for an event that could not be parsed: what can be read without the EPCIS model.
fn unreadable_step(source: &StoryEvent<'_>) -> StepClaim {
    let raw = source.record.event_json().ok();
    let text = |field: &str| {
        raw.as_ref()
            .and_then(|v| v.get(field))
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let when = raw_time(source.record);
    StepClaim {
        event_index: source.index,
        event_hash_id: source.record.event_hash_id.to_string(),
        what: "Unreadable event".to_owned(),
        event_type: text("type").unwrap_or_else(|| "unknown".to_owned()),
        biz_step: None,
        disposition: None,
        who: source
            .signer
            .clone()
            .unwrap_or_else(|| read::UNKNOWN_SIGNER.to_owned()),
        when: when.as_ref().map(|(t, _)| t.clone()).unwrap_or_default(),
        time_zone_offset: text("eventTimeZoneOffset").unwrap_or_default(),
        when_ms: when.map_or(0, |(_, ms)| ms),
        where_: None,
        identifiers: Vec::new(),
        height: source.height,
        verified: false,
        retracted: false,
    }
}

/// `eventTime` of an event the model could not parse, if it is a readable timestamp.
fn raw_time(record: &SignedEvent) -> Option<(String, i64)> {
    let raw = record.event_json().ok()?;
    let text = raw.get("eventTime")?.as_str()?;
    let timestamp = Timestamp::parse(text).ok()?;
    Some((text.to_owned(), read::millis(timestamp.datetime())))
}
