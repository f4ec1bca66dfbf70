//! [`EventHashError`] and the field paths its messages use to point at the offending member.

use std::fmt;

/// Why an Event Hash ID (or pre-hash string) could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventHashError {
    /// The event is not a JSON object.
    #[error("an EPCIS event is a JSON object, found {found}")]
    EventNotAnObject {
        /// JSON type that was found instead.
        found: &'static str,
    },
    /// The event has no `type` member.
    #[error(
        "the event has no \"type\" member (ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent); the pre-hash string starts with it"
    )]
    MissingEventType,
    /// The event's `type` is not a non-empty string.
    #[error("the event \"type\" must be a non-empty string such as \"ObjectEvent\", found {found}")]
    InvalidEventType {
        /// The JSON that was found instead.
        found: String,
    },
    /// A timestamp member (`eventTime`, sensor `time`, `startTime`, `endTime`) is not a date-time.
    #[error(
        "{field} = {value} is not an xsd:dateTime such as \"2024-01-31T13:45:00.000+01:00\": {reason}"
    )]
    InvalidTimestamp {
        /// Path of the member, e.g. `sensorElementList[0].sensorMetadata.time`.
        field: String,
        /// The rejected value as JSON.
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The JSON nests deeper than any EPCIS event plausibly does.
    #[error("{field} is nested more than {max} levels deep; refusing to hash it")]
    TooDeep {
        /// Path of the member where the limit was hit.
        field: String,
        /// The nesting limit.
        max: usize,
    },
    /// The document contains neither an event list nor a single event.
    #[error(
        "no events found: expected an EPCISDocument (epcisBody.eventList), an EPCISQueryDocument (epcisBody.queryResults.resultsBody.eventList) or a single event object with a \"type\""
    )]
    NoEventList,
    /// The document's event list is not a JSON array.
    #[error("{at} must be a JSON array of events, found {found}")]
    EventListNotAnArray {
        /// Path of the event list member.
        at: &'static str,
        /// JSON type that was found instead.
        found: &'static str,
    },
    /// Hashing one event of a document failed.
    #[error("event #{index} (zero-based) of the document: {error}")]
    InEvent {
        /// Zero-based position of the event in the document's event list.
        index: usize,
        /// What went wrong with that event.
        error: Box<EventHashError>,
    },
}

/// Name of a JSON value's type, for error messages.
pub(super) fn json_type(value: &serde_json::Value) -> &'static str {
    match value {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

/// Where we are inside the event, kept as a cheap linked list on the stack and rendered only when
/// an error needs it (`sensorElementList[0].sensorReport[2].time`).
#[derive(Debug, Clone, Copy)]
pub(super) enum FieldPath<'a> {
    /// The event object itself.
    Event,
    /// A member of an object.
    Member(&'a FieldPath<'a>, &'a str),
    /// An element of an array.
    Element(&'a FieldPath<'a>, usize),
}

impl<'a> FieldPath<'a> {
    pub(super) fn member(&'a self, key: &'a str) -> Self {
        FieldPath::Member(self, key)
    }

    pub(super) fn element(&'a self, index: usize) -> Self {
        FieldPath::Element(self, index)
    }
}

impl fmt::Display for FieldPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FieldPath::Event => f.write_str("the event"),
            FieldPath::Member(FieldPath::Event, key) => f.write_str(key),
            FieldPath::Member(parent, key) => write!(f, "{parent}.{key}"),
            FieldPath::Element(parent, index) => write!(f, "{parent}[{index}]"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_render_like_javascript_accessors() {
        let root = FieldPath::Event;
        let list = root.member("sensorElementList");
        let element = list.element(0);
        let report = element.member("sensorReport");
        let second = report.element(2);
        let time = second.member("time");
        assert_eq!(
            time.to_string(),
            "sensorElementList[0].sensorReport[2].time"
        );
        assert_eq!(root.to_string(), "the event");
    }

    #[test]
    fn nested_event_errors_name_the_event_and_the_cause() {
        let error = EventHashError::InEvent {
            index: 3,
            error: Box::new(EventHashError::MissingEventType),
        };
        let message = error.to_string();
        assert!(message.contains("event #3"), "{message}");
        assert!(message.contains("\"type\""), "{message}");
    }
}
