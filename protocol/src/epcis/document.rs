//! EPCIS 2.0 documents and the parsing entry point.
//!
//! Three shapes of input carry events: an `EPCISDocument` (capture), an `EPCISQueryDocument`
//! (query result) and a bare event object. [`parse_events`] accepts all three and returns the
//! events in document order, each with its raw JSON (the CBV Event Hash ID is computed from the
//! raw JSON, not from the typed model) and the document-level `@context` the event lives under.
//!
//! Parsing is structural: it checks what the typed model needs (JSON shape, `@context` naming
//! the EPCIS context, well-formed times and actions). Strict validation (CBV code lists,
//! namespaces, per-type required fields) is [`super::validate`].

use serde::de::{Error as _, Unexpected};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::context;
use super::model::{EpcisEvent, EventType};
use super::timestamp::Timestamp;

macro_rules! type_tag {
    ($(#[$meta:meta])* $name:ident = $value:literal) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        pub struct $name;

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str($value)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let found = String::deserialize(deserializer)?;
                if found == $value {
                    Ok($name)
                } else {
                    Err(D::Error::invalid_value(Unexpected::Str(&found), &$value))
                }
            }
        }
    };
}

type_tag! {
    /// The `"type": "EPCISDocument"` member.
    EpcisDocumentType = "EPCISDocument"
}

type_tag! {
    /// The `"type": "EPCISQueryDocument"` member.
    EpcisQueryDocumentType = "EPCISQueryDocument"
}

/// `epcisHeader`: master data is kept opaque.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpcisHeader {
    /// `epcisMasterData` (vocabulary lists), verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epcis_master_data: Option<Value>,
    /// Other header members.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// `epcisBody` of a capture document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpcisBody {
    /// The events, in document order.
    pub event_list: Vec<EpcisEvent>,
    /// Other body members.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// An `EPCISDocument`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpcisDocument {
    /// JSON-LD context, verbatim.
    #[serde(rename = "@context")]
    pub context: Value,
    /// Optional document identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Always `EPCISDocument`.
    #[serde(rename = "type")]
    pub document_type: EpcisDocumentType,
    /// `"2.0"` for EPCIS 2.0.
    pub schema_version: String,
    /// When the document was created.
    pub creation_date: Timestamp,
    /// Standard Business Document Header fields, when used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub instance_identifier: Option<String>,
    /// Sender identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sender: Option<String>,
    /// Receiver identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub receiver: Option<String>,
    /// Header with master data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub epcis_header: Option<EpcisHeader>,
    /// The events.
    pub epcis_body: EpcisBody,
    /// Other top-level members.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// `resultsBody` of a query document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsBody {
    /// The events, in document order.
    pub event_list: Vec<EpcisEvent>,
    /// Other members (e.g. `vocabularyList`), verbatim.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// `queryResults` of a query document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryResults {
    /// Subscription that produced the results, if any.
    #[serde(rename = "subscriptionID", skip_serializing_if = "Option::is_none")]
    pub subscription_id: Option<String>,
    /// Name of the query.
    pub query_name: String,
    /// The results.
    pub results_body: ResultsBody,
    /// Other members.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// `epcisBody` of a query document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueryBody {
    /// The results.
    pub query_results: QueryResults,
    /// Other members.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// An `EPCISQueryDocument`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EpcisQueryDocument {
    /// JSON-LD context, verbatim.
    #[serde(rename = "@context")]
    pub context: Value,
    /// Optional document identifier.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Always `EPCISQueryDocument`.
    #[serde(rename = "type")]
    pub document_type: EpcisQueryDocumentType,
    /// Schema version, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema_version: Option<String>,
    /// Creation date, when given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<Timestamp>,
    /// The query results.
    pub epcis_body: QueryBody,
    /// Other top-level members.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// Which shape the input had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InputKind {
    /// `EPCISDocument`.
    Document,
    /// `EPCISQueryDocument`.
    QueryDocument,
    /// A single event object.
    SingleEvent,
}

impl InputKind {
    /// JSON path of the event list for this shape (`$` for a single event).
    pub const fn event_list_path(self) -> &'static str {
        match self {
            InputKind::Document => "$.epcisBody.eventList",
            InputKind::QueryDocument => "$.epcisBody.queryResults.resultsBody.eventList",
            InputKind::SingleEvent => "$",
        }
    }
}

/// Text or an already parsed JSON value.
#[derive(Debug, Clone, Copy)]
pub enum Input<'a> {
    /// JSON text.
    Text(&'a str),
    /// A parsed JSON value.
    Value(&'a Value),
}

impl<'a> From<&'a str> for Input<'a> {
    fn from(text: &'a str) -> Self {
        Input::Text(text)
    }
}

impl<'a> From<&'a String> for Input<'a> {
    fn from(text: &'a String) -> Self {
        Input::Text(text)
    }
}

impl<'a> From<&'a Value> for Input<'a> {
    fn from(value: &'a Value) -> Self {
        Input::Value(value)
    }
}

/// One event of the input.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedEvent {
    /// Position in the event list (0 for a single event).
    pub index: usize,
    /// JSON path of the event (`$.epcisBody.eventList[3]`, or `$`).
    pub path: String,
    /// The event exactly as it appeared.
    pub raw: Value,
    /// Typed view.
    pub event: EpcisEvent,
}

/// Result of [`parse_events`].
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedInput {
    /// Shape of the input.
    pub kind: InputKind,
    /// The top-level `@context` (the document's, or the single event's own).
    pub context: Value,
    /// The events, in document order.
    pub events: Vec<ParsedEvent>,
}

/// Why [`parse_events`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// The text is not JSON.
    #[error("input is not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The top-level value is not an object.
    #[error("input must be a JSON object (an EPCISDocument, an EPCISQueryDocument or an event)")]
    NotAnObject,
    /// No top-level `type`.
    #[error("input has no `type`; expected EPCISDocument, EPCISQueryDocument or an event type")]
    MissingType,
    /// Top-level `type` is none of the accepted ones.
    #[error(
        "input `type` is `{found}`; expected EPCISDocument, EPCISQueryDocument, ObjectEvent, AggregationEvent, TransactionEvent, TransformationEvent or AssociationEvent"
    )]
    UnknownType {
        /// The `type` found (JSON text if it is not a string).
        found: String,
    },
    /// No top-level `@context`.
    #[error(
        "input has no `@context`; EPCIS 2.0 JSON-LD requires the EPCIS context, e.g. \"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\""
    )]
    MissingContext,
    /// `@context` does not name the EPCIS context.
    #[error(
        "`@context` does not include the EPCIS 2.0 context URL (e.g. \"https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld\")"
    )]
    NoEpcisContext,
    /// The event list is missing or not an array.
    #[error("`{path}` must be an array of events")]
    MissingEventList {
        /// Where the list was expected.
        path: &'static str,
    },
    /// An event does not fit the typed model.
    #[error("event at `{path}` is malformed: {source}")]
    Event {
        /// Index in the event list.
        index: usize,
        /// JSON path of the event.
        path: String,
        /// What serde objected to.
        source: serde_json::Error,
    },
}

/// Parses an EPCISDocument, an EPCISQueryDocument or a single event and returns its events in
/// document order with their raw JSON and the top-level `@context`.
///
/// Nothing is fetched: the `@context` must name the EPCIS 2.0 context by one of its known URLs
/// (as a string or inside an array next to namespace objects).
pub fn parse_events<'a>(input: impl Into<Input<'a>>) -> Result<ParsedInput, ParseError> {
    let owned: Value;
    let value = match input.into() {
        Input::Text(text) => {
            owned = serde_json::from_str(text)?;
            &owned
        }
        Input::Value(value) => value,
    };
    let object = value.as_object().ok_or(ParseError::NotAnObject)?;
    let kind = match object.get("type") {
        None => return Err(ParseError::MissingType),
        Some(Value::String(t)) if t == "EPCISDocument" => InputKind::Document,
        Some(Value::String(t)) if t == "EPCISQueryDocument" => InputKind::QueryDocument,
        Some(Value::String(t)) if EventType::from_name(t).is_some() => InputKind::SingleEvent,
        Some(Value::String(t)) => return Err(ParseError::UnknownType { found: t.clone() }),
        Some(other) => {
            return Err(ParseError::UnknownType {
                found: other.to_string(),
            });
        }
    };
    let context = object.get("@context").ok_or(ParseError::MissingContext)?;
    if !context::inspect_context(context).references_epcis {
        return Err(ParseError::NoEpcisContext);
    }
    let raw_events: Vec<&Value> = match kind {
        InputKind::SingleEvent => vec![value],
        InputKind::Document | InputKind::QueryDocument => event_list(value, kind)
            .ok_or(ParseError::MissingEventList {
                path: kind.event_list_path(),
            })?
            .iter()
            .collect(),
    };
    let events = raw_events
        .into_iter()
        .enumerate()
        .map(|(index, raw)| {
            let path = event_path(kind, index);
            match EpcisEvent::from_value(raw) {
                Ok(event) => Ok(ParsedEvent {
                    index,
                    path,
                    raw: raw.clone(),
                    event,
                }),
                Err(source) => Err(ParseError::Event {
                    index,
                    path,
                    source,
                }),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ParsedInput {
        kind,
        context: context.clone(),
        events,
    })
}

/// The event array of a document of shape `kind`, if present.
pub(crate) fn event_list(document: &Value, kind: InputKind) -> Option<&Vec<Value>> {
    let body = document.get("epcisBody")?;
    let list = match kind {
        InputKind::Document => body.get("eventList"),
        InputKind::QueryDocument => body
            .get("queryResults")?
            .get("resultsBody")?
            .get("eventList"),
        InputKind::SingleEvent => None,
    };
    list?.as_array()
}

/// JSON path of event `index` in an input of shape `kind`.
pub(crate) fn event_path(kind: InputKind, index: usize) -> String {
    match kind {
        InputKind::SingleEvent => "$".to_owned(),
        _ => super::path::index(kind.event_list_path(), index),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

    fn event() -> Value {
        json!({
            "type": "ObjectEvent",
            "eventTime": "2005-04-03T20:33:31.116-06:00",
            "eventTimeZoneOffset": "-06:00",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
            "action": "OBSERVE"
        })
    }

    #[test]
    fn parses_the_three_shapes() {
        let doc = json!({
            "@context": [CONTEXT, {"example": "http://ns.example.com/epcis/"}],
            "type": "EPCISDocument",
            "schemaVersion": "2.0",
            "creationDate": "2005-07-11T11:30:47.0Z",
            "epcisBody": {"eventList": [event(), event()]}
        });
        let parsed = parse_events(&doc).unwrap();
        assert_eq!(parsed.kind, InputKind::Document);
        assert_eq!(parsed.events.len(), 2);
        assert_eq!(parsed.events[1].path, "$.epcisBody.eventList[1]");
        assert_eq!(parsed.events[0].raw, event());
        let typed: EpcisDocument = serde_json::from_value(doc.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), doc);

        let query = json!({
            "@context": CONTEXT,
            "type": "EPCISQueryDocument",
            "epcisBody": {"queryResults": {"queryName": "SimpleEventQuery",
                "resultsBody": {"eventList": [event()]}}}
        });
        let parsed = parse_events(&query).unwrap();
        assert_eq!(parsed.kind, InputKind::QueryDocument);
        assert_eq!(
            parsed.events[0].path,
            "$.epcisBody.queryResults.resultsBody.eventList[0]"
        );
        let typed: EpcisQueryDocument = serde_json::from_value(query.clone()).unwrap();
        assert_eq!(serde_json::to_value(&typed).unwrap(), query);

        let mut single = event();
        single["@context"] = json!(CONTEXT);
        let text = single.to_string();
        let parsed = parse_events(text.as_str()).unwrap();
        assert_eq!(parsed.kind, InputKind::SingleEvent);
        assert_eq!(parsed.events[0].path, "$");
        assert_eq!(parsed.context, json!(CONTEXT));
    }

    #[test]
    fn rejects_what_it_cannot_read() {
        assert!(matches!(parse_events("{"), Err(ParseError::Json(_))));
        assert!(matches!(parse_events("[]"), Err(ParseError::NotAnObject)));
        assert!(matches!(parse_events("{}"), Err(ParseError::MissingType)));
        assert!(matches!(
            parse_events(r#"{"type": "Foo"}"#),
            Err(ParseError::UnknownType { .. })
        ));
        assert!(matches!(
            parse_events(&event()),
            Err(ParseError::MissingContext)
        ));
        let mut other_context = event();
        other_context["@context"] = json!({"example": "http://ns.example.com/"});
        assert!(matches!(
            parse_events(&other_context),
            Err(ParseError::NoEpcisContext)
        ));
        let no_list = json!({"@context": CONTEXT, "type": "EPCISDocument", "epcisBody": {}});
        assert!(matches!(
            parse_events(&no_list),
            Err(ParseError::MissingEventList { .. })
        ));
        let mut bad = event();
        bad["action"] = json!("CREATE");
        let doc = json!({"@context": CONTEXT, "type": "EPCISDocument", "epcisBody": {"eventList": [event(), bad]}});
        match parse_events(&doc) {
            Err(ParseError::Event { index, path, .. }) => {
                assert_eq!(index, 1);
                assert_eq!(path, "$.epcisBody.eventList[1]");
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn document_type_tag_is_checked() {
        assert!(serde_json::from_value::<EpcisDocumentType>(json!("EPCISDocument")).is_ok());
        assert!(serde_json::from_value::<EpcisDocumentType>(json!("EPCISQueryDocument")).is_err());
    }
}
