//! Strict validation of EPCIS 2.0 JSON-LD input, beyond the JSON schema.
//!
//! Validation reads the raw `serde_json::Value` (so it can name the exact place of every
//! problem, even where the typed model could not be built) and reports EVERY problem it finds,
//! not just the first: a producer fixing a rejected document should not need one round trip
//! per mistake. Only when an event has no problem is it converted to the typed model.
//!
//! Checked, in addition to the EPCIS 2.0 JSON schema's structure and required fields:
//! * the `@context` names the EPCIS 2.0 context (nothing is fetched) and every namespaced key
//!   (`example:myField`, in events, `ilmd`, sensor data, error declarations, …) uses a prefix
//!   declared in scope; un-namespaced unknown keys are rejected;
//! * CBV 2.0 code lists (bizStep, disposition, business transaction types, source/destination
//!   types, error reasons, sensor components) and GS1 measurement/alert types, in any of their
//!   standard spellings, with custom URIs allowed and typos answered with a suggestion;
//! * timestamps with mandatory UTC offset, `eventTimeZoneOffset` within ±14:00;
//! * identifiers are URIs, and EPC lists hold `urn:`/`http(s):` identifiers without repeats;
//! * quantities are non-negative JSON numbers, units look like UN/ECE Rec 20 codes;
//! * per event type: required `action`/`parentID`/`bizTransactionList`, what the event is about
//!   (EPCs, quantities, or sensor data at a read point), `ilmd` only with `ADD`;
//! * sensor data: `startTime` ≤ `endTime`, `minValue` ≤ `maxValue`, `sDev` ≥ 0, `percRank`
//!   within 0–100, well-formed hex binary.

mod event;
mod fields;
mod sensor;

use std::fmt;

use serde_json::Value;

use super::context::{NamespaceScope, inspect_context};
use super::document::{InputKind, event_path};
use super::model::{EpcisEvent, EventType};
use super::path;
use fields::{Checker, Openness};

/// The category of a validation problem.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum ProblemKind {
    /// The text is not JSON.
    InvalidJson,
    /// A member has the wrong JSON type (string expected, object expected, …).
    WrongType,
    /// A required member is absent.
    MissingField,
    /// A key that is neither a field of this object nor a namespaced extension.
    UnknownField,
    /// A standard EPCIS field where it is not allowed (wrong event type, `ilmd` without `ADD`).
    FieldNotAllowed,
    /// A namespaced extension inside an object that admits none (quantity element, …).
    ExtensionNotAllowed,
    /// A namespaced key whose prefix no `@context` in scope declares.
    UndeclaredPrefix,
    /// No `@context`, or one that does not name the EPCIS 2.0 context.
    MissingContext,
    /// A malformed `@context`.
    InvalidContext,
    /// Top-level `type` is not a document or event type.
    UnknownDocumentType,
    /// Event `type` is not one of the five EPCIS event types.
    UnknownEventType,
    /// `schemaVersion` is not an EPCIS 2.x version.
    InvalidSchemaVersion,
    /// Not an `xsd:dateTimeStamp` (malformed, or without UTC offset).
    InvalidTimestamp,
    /// `eventTimeZoneOffset` not `±hh:mm` within ±14:00.
    InvalidTimeZoneOffset,
    /// `action` is not `ADD`, `OBSERVE` or `DELETE`.
    InvalidAction,
    /// Not a syntactically valid URI.
    InvalidUri,
    /// Not an identifier usable as an EPC (`urn:`, `http:`, `https:` URIs).
    InvalidEpc,
    /// A value that is not in the CBV / GS1 code list and not a custom URI.
    NonStandardVocabulary,
    /// A quantity that is not a non-negative JSON number.
    InvalidQuantity,
    /// A unit of measure that is not a UN/ECE Rec 20 code.
    InvalidUom,
    /// A sensor value that is not a number in the allowed range.
    InvalidNumber,
    /// `hexBinaryValue` that is not an even-length hexadecimal string.
    InvalidHexBinary,
    /// A list that must not be empty is empty.
    EmptyList,
    /// The same identifier twice in a list.
    DuplicateEntry,
    /// The event names nothing it is about (no EPCs, quantities, children, inputs/outputs).
    MissingObjects,
    /// Values that contradict each other (start after end, min above max).
    InconsistentValues,
    /// Nesting deeper than the validator follows.
    TooDeep,
    /// Passed every check but the typed model still rejected it (a validator gap; report it).
    ModelMismatch,
}

/// One problem, located by JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Problem {
    /// Where: `$.epcisBody.eventList[2].action`.
    pub path: String,
    /// What kind of problem.
    pub kind: ProblemKind,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// All problems found in an input (never empty).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct ValidationReport {
    problems: Vec<Problem>,
}

fn render(problems: &[Problem]) -> String {
    let lines: Vec<String> = problems.iter().map(Problem::to_string).collect();
    format!(
        "EPCIS input rejected, {} problem(s):\n  {}",
        problems.len(),
        lines.join("\n  ")
    )
}

impl ValidationReport {
    /// The problems, in the order found (document order).
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    /// The problems, owned.
    pub fn into_problems(self) -> Vec<Problem> {
        self.problems
    }

    /// Whether a problem of `kind` was found at exactly `path`.
    pub fn has(&self, kind: ProblemKind, path: &str) -> bool {
        self.problems
            .iter()
            .any(|p| p.kind == kind && p.path == path)
    }
}

/// An event that passed validation: raw JSON, typed view, and the context it lives under.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidEvent {
    index: usize,
    path: String,
    raw: Value,
    event: EpcisEvent,
    document_context: Option<Value>,
}

impl ValidEvent {
    /// Position in the event list (0 for a single event).
    pub fn index(&self) -> usize {
        self.index
    }

    /// JSON path of the event in the input.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The event exactly as it appeared (input of the CBV event hash).
    pub fn raw(&self) -> &Value {
        &self.raw
    }

    /// Typed view.
    pub fn event(&self) -> &EpcisEvent {
        &self.event
    }

    /// The `@context` of the enclosing document (for a single event: its own), needed to
    /// expand the event's compact IRIs.
    pub fn document_context(&self) -> Option<&Value> {
        self.document_context.as_ref()
    }

    /// Raw JSON and typed view, owned.
    pub fn into_parts(self) -> (Value, EpcisEvent) {
        (self.raw, self.event)
    }
}

/// Validates JSON text (see [`validate_document`]).
pub fn validate_text(text: &str) -> Result<Vec<ValidEvent>, ValidationReport> {
    match serde_json::from_str::<Value>(text) {
        Ok(value) => validate_document(&value),
        Err(e) => Err(ValidationReport {
            problems: vec![Problem {
                path: "$".to_owned(),
                kind: ProblemKind::InvalidJson,
                message: format!("input is not valid JSON: {e}"),
            }],
        }),
    }
}

/// Validates an EPCISDocument, an EPCISQueryDocument or a single event; returns its events
/// (document order) when there is no problem at all, every problem otherwise.
pub fn validate_document(document: &Value) -> Result<Vec<ValidEvent>, ValidationReport> {
    let mut ck = Checker::default();
    let events = check_input(&mut ck, document);
    if ck.problems.is_empty() {
        Ok(events)
    } else {
        Err(ValidationReport {
            problems: ck.problems,
        })
    }
}

/// Validates one event found at `path_prefix` (e.g. `$.epcisBody.eventList[3]`), under the
/// `@context` of its document. Without a document context the event's own `@context` must name
/// the EPCIS context.
pub fn validate_event(
    event: &Value,
    path_prefix: &str,
    document_context: Option<&Value>,
) -> Result<ValidEvent, ValidationReport> {
    let mut ck = Checker::default();
    let own_context = event.get("@context");
    let references_epcis = [document_context, own_context]
        .into_iter()
        .flatten()
        .any(|c| inspect_context(c).references_epcis);
    if !references_epcis {
        ck.report(
            path::child(path_prefix, "@context"),
            ProblemKind::MissingContext,
            "no @context in scope names the EPCIS 2.0 context (e.g. \"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\")",
        );
    }
    let scope = match document_context {
        Some(context) => NamespaceScope::epcis().extended(&inspect_context(context)),
        None => NamespaceScope::epcis(),
    };
    let typed = event::check_event(&mut ck, path_prefix, event, &scope);
    match typed {
        Some(event_typed) if ck.problems.is_empty() => Ok(ValidEvent {
            index: 0,
            path: path_prefix.to_owned(),
            raw: event.clone(),
            event: event_typed,
            document_context: document_context.or(own_context).cloned(),
        }),
        _ => Err(ValidationReport {
            problems: ck.problems,
        }),
    }
}

fn check_input(ck: &mut Checker, document: &Value) -> Vec<ValidEvent> {
    let Some(object) = document.as_object() else {
        ck.report(
            "$",
            ProblemKind::WrongType,
            "input must be a JSON object (an EPCISDocument, an EPCISQueryDocument or an event)",
        );
        return Vec::new();
    };
    let kind = match object.get("type") {
        None => {
            ck.report(
                "$.type",
                ProblemKind::MissingField,
                "`type` is required: EPCISDocument, EPCISQueryDocument or an event type",
            );
            return Vec::new();
        }
        Some(Value::String(t)) if t == "EPCISDocument" => InputKind::Document,
        Some(Value::String(t)) if t == "EPCISQueryDocument" => InputKind::QueryDocument,
        Some(Value::String(t)) if EventType::from_name(t).is_some() => InputKind::SingleEvent,
        Some(other) => {
            ck.report(
                "$.type",
                ProblemKind::UnknownDocumentType,
                format!(
                    "`type` is {other}; expected EPCISDocument, EPCISQueryDocument, ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent"
                ),
            );
            return Vec::new();
        }
    };

    let context_path = path::child("$", "@context");
    let context = object.get("@context");
    let scope = match context {
        None => {
            ck.report(
                &context_path,
                ProblemKind::MissingContext,
                "`@context` is required; include \"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\"",
            );
            NamespaceScope::epcis()
        }
        Some(context) => {
            let info = inspect_context(context);
            if !info.references_epcis {
                ck.report(
                    &context_path,
                    ProblemKind::MissingContext,
                    "`@context` does not include the EPCIS 2.0 context URL \"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\"",
                );
            }
            if kind != InputKind::SingleEvent {
                // A single event's @context is its own; check_event reports its issues.
                for issue in &info.issues {
                    ck.report(
                        format!("{context_path}{}", issue.subpath),
                        ProblemKind::InvalidContext,
                        issue.message.clone(),
                    );
                }
            }
            NamespaceScope::epcis().extended(&info)
        }
    };

    let raw_events: Vec<(usize, &Value)> = match kind {
        InputKind::SingleEvent => vec![(0, document)],
        InputKind::Document => check_document_envelope(ck, object, &scope),
        InputKind::QueryDocument => check_query_envelope(ck, object, &scope),
    };

    let mut valid = Vec::new();
    for (index, raw) in raw_events {
        let event_path = event_path(kind, index);
        let before = ck.problems.len();
        // A single event is checked against the bare EPCIS scope: its @context is read there.
        let event_scope = if kind == InputKind::SingleEvent {
            NamespaceScope::epcis()
        } else {
            scope.clone()
        };
        let typed = event::check_event(ck, &event_path, raw, &event_scope);
        if let (Some(event), true) = (typed, ck.problems.len() == before) {
            valid.push(ValidEvent {
                index,
                path: event_path,
                raw: raw.clone(),
                event,
                document_context: context.cloned(),
            });
        }
    }
    valid
}

fn check_document_envelope<'v>(
    ck: &mut Checker,
    object: &'v serde_json::Map<String, Value>,
    scope: &NamespaceScope,
) -> Vec<(usize, &'v Value)> {
    let mut events = Vec::new();
    for (key, value) in object {
        let at = path::child("$", key);
        match key.as_str() {
            "@context" | "type" => {}
            "id" => fields::check_uri(ck, &at, value),
            "schemaVersion" => fields::check_schema_version(ck, &at, value),
            "creationDate" => {
                fields::check_timestamp(ck, &at, value);
            }
            "instanceIdentifier" | "sender" | "receiver" => {
                fields::expect_string(ck, &at, value);
            }
            "epcisHeader" => fields::check_header(ck, &at, value, scope),
            "epcisBody" => {
                if let Some(body) = fields::expect_object(ck, &at, value) {
                    for (body_key, body_value) in body {
                        let body_at = path::child(&at, body_key);
                        if body_key == "eventList" {
                            events = fields::expect_array(ck, &body_at, body_value)
                                .map(|list| list.iter().enumerate().collect())
                                .unwrap_or_default();
                        } else {
                            fields::unknown_key(
                                ck,
                                &at,
                                body_key,
                                body_value,
                                scope,
                                Openness::Open,
                                "epcisBody",
                            );
                        }
                    }
                    fields::require(ck, &at, body, "eventList", "epcisBody");
                }
            }
            _ => fields::unknown_key(ck, "$", key, value, scope, Openness::Open, "EPCISDocument"),
        }
    }
    for required in ["schemaVersion", "creationDate", "epcisBody"] {
        fields::require(ck, "$", object, required, "an EPCISDocument");
    }
    events
}

fn check_query_envelope<'v>(
    ck: &mut Checker,
    object: &'v serde_json::Map<String, Value>,
    scope: &NamespaceScope,
) -> Vec<(usize, &'v Value)> {
    let mut events = Vec::new();
    for (key, value) in object {
        let at = path::child("$", key);
        match key.as_str() {
            "@context" | "type" => {}
            "id" => fields::check_uri(ck, &at, value),
            "schemaVersion" => fields::check_schema_version(ck, &at, value),
            "creationDate" => {
                fields::check_timestamp(ck, &at, value);
            }
            "epcisBody" => events = check_query_body(ck, &at, value, scope),
            _ => fields::unknown_key(
                ck,
                "$",
                key,
                value,
                scope,
                Openness::Open,
                "EPCISQueryDocument",
            ),
        }
    }
    fields::require(ck, "$", object, "epcisBody", "an EPCISQueryDocument");
    events
}

fn check_query_body<'v>(
    ck: &mut Checker,
    at: &str,
    value: &'v Value,
    scope: &NamespaceScope,
) -> Vec<(usize, &'v Value)> {
    let mut events = Vec::new();
    let Some(body) = fields::expect_object(ck, at, value) else {
        return events;
    };
    for (key, value) in body {
        let results_at = path::child(at, key);
        if key != "queryResults" {
            fields::unknown_key(ck, at, key, value, scope, Openness::Open, "epcisBody");
            continue;
        }
        let Some(results) = fields::expect_object(ck, &results_at, value) else {
            continue;
        };
        for (rkey, rvalue) in results {
            let rat = path::child(&results_at, rkey);
            match rkey.as_str() {
                "queryName" | "subscriptionID" => {
                    fields::expect_string(ck, &rat, rvalue);
                }
                "resultsBody" => {
                    let Some(results_body) = fields::expect_object(ck, &rat, rvalue) else {
                        continue;
                    };
                    for (bkey, bvalue) in results_body {
                        let bat = path::child(&rat, bkey);
                        match bkey.as_str() {
                            "eventList" => {
                                events = fields::expect_array(ck, &bat, bvalue)
                                    .map(|list| list.iter().enumerate().collect())
                                    .unwrap_or_default();
                            }
                            "vocabularyList" => {
                                fields::expect_array(ck, &bat, bvalue);
                            }
                            _ => fields::unknown_key(
                                ck,
                                &rat,
                                bkey,
                                bvalue,
                                scope,
                                Openness::Open,
                                "resultsBody",
                            ),
                        }
                    }
                    fields::require(ck, &rat, results_body, "eventList", "resultsBody");
                }
                _ => fields::unknown_key(
                    ck,
                    &results_at,
                    rkey,
                    rvalue,
                    scope,
                    Openness::Open,
                    "queryResults",
                ),
            }
        }
        for required in ["queryName", "resultsBody"] {
            fields::require(ck, &results_at, results, required, "queryResults");
        }
    }
    fields::require(ck, at, body, "queryResults", "an EPCISQueryDocument body");
    events
}

#[cfg(test)]
mod tests;
