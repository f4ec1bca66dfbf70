//! EPCIS input prepared for signing: every event validated, made self-contained and identified.
//!
//! A signed event travels alone (ledger, gossip, bundles), so its `@context` must declare every
//! prefix it uses; inside a document the prefixes are usually declared once at the top. Each
//! event therefore gets the document's `@context` entries followed by its own (JSON-LD: later
//! entries override earlier ones, and an event's own context scopes over the document's, so the
//! meaning is unchanged). The CBV Event Hash ID ignores `@context` itself and expands prefixes
//! through it, so it is the same in the document and in the self-contained event; this is
//! checked for every event.

use provenance_protocol::epcis::{self, ValidationReport};
use provenance_protocol::event_hash::{self, EventHashError, EventHashId, JsonLdContext};
use serde_json::Value;

use crate::epcis_tools::Input;

/// One event ready to be signed.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedEvent {
    /// Position in the document (0-based).
    pub index: usize,
    /// JSON path in the document, for messages (`$.epcisBody.eventList[3]`).
    pub path: String,
    /// The event with a self-contained `@context`.
    pub value: Value,
    pub event_hash_id: EventHashId,
}

/// Why an input cannot be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EventsError {
    #[error("{name}: {report}")]
    Invalid {
        name: String,
        report: ValidationReport,
    },
    #[error("{name}: the event at {path} cannot be identified: {source}")]
    Hash {
        name: String,
        path: String,
        #[source]
        source: EventHashError,
    },
    #[error(
        "{name}: the event at {path} changes identity when made self-contained (document {in_document}, alone {alone}); declare its prefixes in its own @context"
    )]
    IdentityChanged {
        name: String,
        path: String,
        in_document: EventHashId,
        alone: EventHashId,
    },
    #[error("{name} holds no events")]
    Empty { name: String },
}

/// Validates `input` (an EPCISDocument, EPCISQueryDocument or single event) and prepares its
/// events in document order. Every validation problem is reported, not just the first.
pub fn prepare(input: &Input) -> Result<Vec<PreparedEvent>, EventsError> {
    let valid = epcis::validate_text(&input.text).map_err(|report| EventsError::Invalid {
        name: input.name.clone(),
        report,
    })?;
    if valid.is_empty() {
        return Err(EventsError::Empty {
            name: input.name.clone(),
        });
    }
    valid
        .into_iter()
        .enumerate()
        .map(|(index, event)| {
            let path = event.path().to_owned();
            let hash_error = |source| EventsError::Hash {
                name: input.name.clone(),
                path: path.clone(),
                source,
            };
            let document_context = event.document_context().cloned();
            let raw = event.raw().clone();
            let in_document = match &document_context {
                Some(context) => JsonLdContext::epcis()
                    .with_event(&serde_json::json!({ "@context": context }))
                    .with_event(&raw),
                None => JsonLdContext::epcis().with_event(&raw),
            };
            let in_document = event_hash::event_hash_id(&raw, &in_document).map_err(hash_error)?;
            let value = self_contained(raw, document_context.as_ref());
            let alone =
                event_hash::event_hash_id(&value, &JsonLdContext::default().with_event(&value))
                    .map_err(hash_error)?;
            if alone != in_document {
                return Err(EventsError::IdentityChanged {
                    name: input.name.clone(),
                    path,
                    in_document,
                    alone,
                });
            }
            Ok(PreparedEvent {
                index,
                path,
                value,
                event_hash_id: alone,
            })
        })
        .collect()
}

/// `event` with `@context` = the document's context entries, then the event's own.
pub fn self_contained(mut event: Value, document_context: Option<&Value>) -> Value {
    let Some(object) = event.as_object_mut() else {
        return event;
    };
    let mut entries: Vec<Value> = Vec::new();
    let push_all = |context: &Value, entries: &mut Vec<Value>| match context {
        Value::Array(items) => {
            for item in items {
                if !entries.contains(item) {
                    entries.push(item.clone());
                }
            }
        }
        Value::Null => {}
        other => {
            if !entries.contains(other) {
                entries.push(other.clone());
            }
        }
    };
    if let Some(context) = document_context {
        push_all(context, &mut entries);
    }
    if let Some(own) = object.get("@context") {
        push_all(own, &mut entries);
    }
    let context = match entries.len() {
        0 => return event,
        1 => entries.remove(0),
        _ => Value::Array(entries),
    };
    // `@context` first, the way documents are written (canonical JSON sorts keys anyway).
    let mut with_context = serde_json::Map::with_capacity(object.len() + 1);
    with_context.insert("@context".to_owned(), context);
    for (key, value) in std::mem::take(object) {
        if key != "@context" {
            with_context.insert(key, value);
        }
    }
    Value::Object(with_context)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const EPCIS: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

    fn input(value: Value) -> Input {
        Input {
            name: "doc.jsonld".into(),
            text: value.to_string(),
        }
    }

    fn object_event(extra: Value) -> Value {
        let mut event = json!({
            "type": "ObjectEvent",
            "eventTime": "2025-03-01T10:00:00.000Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active"
        });
        if let (Some(target), Some(extra)) = (event.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        event
    }

    #[test]
    fn document_context_is_carried_into_each_event_and_identity_kept() {
        let document = json!({
            "@context": [EPCIS, {"ex": "https://example.com/ns/"}],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2025-03-01T10:00:00.000Z",
            "epcisBody": {"eventList": [
                object_event(json!({"ex:batchNote": "hello"})),
                object_event(json!({"@context": {"own": "https://own.example/"}, "own:x": "1", "eventTime": "2025-03-01T11:00:00.000Z"})),
            ]}
        });
        let expected = event_hash::document_event_hash_ids(&document).unwrap();
        let prepared = prepare(&input(document)).unwrap();
        assert_eq!(prepared.len(), 2);
        assert_eq!(prepared[0].path, "$.epcisBody.eventList[0]");
        assert_eq!(
            prepared[0].value["@context"],
            json!([EPCIS, {"ex": "https://example.com/ns/"}])
        );
        assert_eq!(
            prepared[1].value["@context"],
            json!([EPCIS, {"ex": "https://example.com/ns/"}, {"own": "https://own.example/"}])
        );
        let ids: Vec<_> = prepared.iter().map(|p| p.event_hash_id).collect();
        assert_eq!(ids, expected);
        // Each prepared event validates on its own, as the node will check it.
        for event in &prepared {
            epcis::validate_event(&event.value, "$", None).unwrap();
        }
    }

    #[test]
    fn a_single_event_is_its_own_document() {
        let event = object_event(json!({"@context": EPCIS}));
        let prepared = prepare(&input(event.clone())).unwrap();
        assert_eq!(prepared.len(), 1);
        assert_eq!(prepared[0].value, event);
    }

    #[test]
    fn invalid_input_lists_every_problem_with_the_file_name() {
        let bad = json!({"@context": EPCIS, "type": "ObjectEvent", "action": "JUMP"});
        let err = prepare(&input(bad)).unwrap_err();
        let message = err.to_string();
        assert!(
            message.starts_with("doc.jsonld: EPCIS input rejected"),
            "{message}"
        );
    }

    #[test]
    fn context_merge_deduplicates_and_keeps_order() {
        let merged = self_contained(
            json!({"@context": [EPCIS, {"a": "x"}], "type": "ObjectEvent"}),
            Some(&json!([EPCIS, {"b": "y"}])),
        );
        assert_eq!(merged["@context"], json!([EPCIS, {"b": "y"}, {"a": "x"}]));
        let untouched = self_contained(json!({"type": "ObjectEvent"}), None);
        assert_eq!(untouched, json!({"type": "ObjectEvent"}));
        assert_eq!(self_contained(json!(3), Some(&json!(EPCIS))), json!(3));
    }
}
