//! Lossless serde model of EPCIS 2.0 events (JSON / JSON-LD binding).
//!
//! Design choices, and why:
//! * **Lossless.** Every object keeps the keys it does not model in a `#[serde(flatten)]`
//!   `extensions` map (serde_json's `preserve_order` keeps their order), `@context` is kept
//!   verbatim, absent lists stay absent (`Option<Vec<_>>`, never defaulted to empty), and
//!   timestamps keep their text. So `serialise(parse(json)) == json` as a `serde_json::Value`
//!   for every valid document, which the vector tests check.
//! * **Numbers** (quantities, sensor values) are `serde_json::Number`: `10` and `10.0` are
//!   different JSON values, and an `f64` would silently turn one into the other. `*_f64`
//!   accessors give the arithmetic view; JSON cannot carry NaN or infinities, so every number
//!   is finite.
//! * **Well-formedness is typed.** `eventTime`, `eventTimeZoneOffset` and `action` must parse
//!   (the typed model cannot hold `"CREATE"` or a time without offset); vocabulary values stay
//!   strings, because custom URIs are legal, and are normalised by the accessors.
//!   Strict rules (CBV code lists, prefixes, cross-field constraints) live in `validate`.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Number, Value};
use time::OffsetDateTime;

use super::sensor::SensorElement;
use super::timestamp::{TimeZoneOffset, Timestamp};
use super::vocab::Vocabulary;

/// The five EPCIS 2.0 event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EventType {
    /// `ObjectEvent`.
    ObjectEvent,
    /// `AggregationEvent`.
    AggregationEvent,
    /// `TransactionEvent`.
    TransactionEvent,
    /// `TransformationEvent`.
    TransformationEvent,
    /// `AssociationEvent`.
    AssociationEvent,
}

impl EventType {
    /// All five, in the order the standard introduces them.
    pub const ALL: &'static [EventType] = &[
        EventType::ObjectEvent,
        EventType::AggregationEvent,
        EventType::TransactionEvent,
        EventType::TransformationEvent,
        EventType::AssociationEvent,
    ];

    /// The `type` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::ObjectEvent => "ObjectEvent",
            EventType::AggregationEvent => "AggregationEvent",
            EventType::TransactionEvent => "TransactionEvent",
            EventType::TransformationEvent => "TransformationEvent",
            EventType::AssociationEvent => "AssociationEvent",
        }
    }

    /// The event type named by a `type` value.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.as_str() == name)
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The `action` of an event: how it relates to the lifecycle of its objects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Action {
    /// Objects enter scope / association is created.
    #[serde(rename = "ADD")]
    Add,
    /// Objects observed, no lifecycle change.
    #[serde(rename = "OBSERVE")]
    Observe,
    /// Objects leave scope / association is removed.
    #[serde(rename = "DELETE")]
    Delete,
}

impl Action {
    /// The JSON value.
    pub const fn as_str(self) -> &'static str {
        match self {
            Action::Add => "ADD",
            Action::Observe => "OBSERVE",
            Action::Delete => "DELETE",
        }
    }

    /// The action named by `value` (exact, upper case).
    pub fn from_name(value: &str) -> Option<Self> {
        [Action::Add, Action::Observe, Action::Delete]
            .into_iter()
            .find(|a| a.as_str() == value)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A quantity of an EPC class (`quantityList`, `childQuantityList`, …).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QuantityElement {
    /// The class (EPC class URN, EPC pattern or GS1 Digital Link URI).
    pub epc_class: String,
    /// How many / how much; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quantity: Option<Number>,
    /// UN/ECE Rec 20 unit; absent for a count of instances.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
    /// Unmodelled keys (the standard allows none; kept so parsing never loses data).
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl QuantityElement {
    /// `quantity` as `f64`.
    pub fn quantity_f64(&self) -> Option<f64> {
        self.quantity.as_ref().and_then(Number::as_f64)
    }
}

/// `readPoint` or `bizLocation`: a location identifier plus extensions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LocationRef {
    /// The location URI (SGLN, GS1 Digital Link, `geo:` …).
    pub id: String,
    /// User extensions.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// `readPoint`.
pub type ReadPoint = LocationRef;
/// `bizLocation`.
pub type BizLocation = LocationRef;

/// An entry of `bizTransactionList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BizTransaction {
    /// CBV business transaction type (or custom URI); optional.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub transaction_type: Option<String>,
    /// The transaction identifier (URI).
    #[serde(rename = "bizTransaction")]
    pub biz_transaction: String,
    /// Unmodelled keys.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl BizTransaction {
    /// Canonical type (CBV web URI, custom URI unchanged, raw text if invalid).
    pub fn transaction_type_canonical(&self) -> Option<&str> {
        self.transaction_type
            .as_deref()
            .map(|t| Vocabulary::BizTransactionType.canonical(t).unwrap_or(t))
    }
}

/// An entry of `sourceList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// CBV source/destination type (or custom URI).
    #[serde(rename = "type")]
    pub source_type: String,
    /// The source party or location (URI).
    pub source: String,
    /// Unmodelled keys.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl Source {
    /// Canonical type (CBV web URI, custom URI unchanged, raw text if invalid).
    pub fn source_type_canonical(&self) -> &str {
        Vocabulary::SourceDestinationType
            .canonical(&self.source_type)
            .unwrap_or(&self.source_type)
    }
}

/// An entry of `destinationList`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Destination {
    /// CBV source/destination type (or custom URI).
    #[serde(rename = "type")]
    pub destination_type: String,
    /// The destination party or location (URI).
    pub destination: String,
    /// Unmodelled keys.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl Destination {
    /// Canonical type (CBV web URI, custom URI unchanged, raw text if invalid).
    pub fn destination_type_canonical(&self) -> &str {
        Vocabulary::SourceDestinationType
            .canonical(&self.destination_type)
            .unwrap_or(&self.destination_type)
    }
}

/// `persistentDisposition`: dispositions that stay until explicitly unset.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PersistentDisposition {
    /// Dispositions set by this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set: Option<Vec<String>>,
    /// Dispositions cleared by this event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unset: Option<Vec<String>>,
    /// Unmodelled keys.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// `errorDeclaration`: this event is declared erroneous.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorDeclaration {
    /// When the error was declared.
    pub declaration_time: Timestamp,
    /// CBV error reason (or custom URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Events that correct this one.
    #[serde(rename = "correctiveEventIDs", skip_serializing_if = "Option::is_none")]
    pub corrective_event_ids: Option<Vec<String>>,
    /// User extensions.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl ErrorDeclaration {
    /// Canonical reason (CBV web URI, custom URI unchanged, raw text if invalid).
    pub fn reason_canonical(&self) -> Option<&str> {
        self.reason
            .as_deref()
            .map(|r| Vocabulary::ErrorReason.canonical(r).unwrap_or(r))
    }
}

/// `certificationInfo`: one URI or, since EPCIS 2.0, a list of URIs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum CertificationInfo {
    /// A single URI.
    Single(String),
    /// Several URIs.
    Multiple(Vec<String>),
}

impl CertificationInfo {
    /// The URIs, whichever form was used.
    pub fn uris(&self) -> Vec<&str> {
        match self {
            CertificationInfo::Single(uri) => vec![uri.as_str()],
            CertificationInfo::Multiple(uris) => uris.iter().map(String::as_str).collect(),
        }
    }
}

macro_rules! event_struct {
    (
        $(#[$meta:meta])*
        $name:ident { $($(#[$fmeta:meta])* $vis:vis $field:ident : $ty:ty,)* }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct $name {
            /// Event-level JSON-LD context, kept verbatim.
            #[serde(rename = "@context", skip_serializing_if = "Option::is_none")]
            pub context: Option<Value>,
            /// When the event took place.
            pub event_time: Timestamp,
            /// Local time-zone offset where it took place.
            pub event_time_zone_offset: TimeZoneOffset,
            /// When it was recorded by the capturing repository.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub record_time: Option<Timestamp>,
            /// Globally unique event identifier (URI).
            #[serde(rename = "eventID", skip_serializing_if = "Option::is_none")]
            pub event_id: Option<String>,
            /// Certification(s) the event's claims rest on.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub certification_info: Option<CertificationInfo>,
            /// Set when the event is declared erroneous.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub error_declaration: Option<ErrorDeclaration>,
            $($(#[$fmeta])* $vis $field: $ty,)*
            /// CBV business step (or custom URI).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub biz_step: Option<String>,
            /// CBV disposition (or custom URI).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub disposition: Option<String>,
            /// Dispositions set/unset persistently.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub persistent_disposition: Option<PersistentDisposition>,
            /// Where the event was observed.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub read_point: Option<ReadPoint>,
            /// Where the objects are afterwards.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub biz_location: Option<BizLocation>,
            /// Sources of a transfer.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub source_list: Option<Vec<Source>>,
            /// Destinations of a transfer.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub destination_list: Option<Vec<Destination>>,
            /// Sensor data.
            #[serde(skip_serializing_if = "Option::is_none")]
            pub sensor_element_list: Option<Vec<SensorElement>>,
            /// User extensions (namespaced keys) and any other unmodelled key, in order.
            #[serde(flatten)]
            pub extensions: Map<String, Value>,
        }
    };
}

event_struct! {
    /// `ObjectEvent`: something happened to objects (commissioned, observed, shipped, …).
    ObjectEvent {
        /// Instance-level identifiers.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub epc_list: Option<Vec<String>>,
        /// Class-level quantities.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub quantity_list: Option<Vec<QuantityElement>>,
        /// Lifecycle relation.
        pub action: Action,
        /// Business transactions the event belongs to.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub biz_transaction_list: Option<Vec<BizTransaction>>,
        /// Instance/lot master data (only with `ADD`); opaque, namespaced keys.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub ilmd: Option<Map<String, Value>>,
    }
}

event_struct! {
    /// `AggregationEvent`: children packed into / unpacked from / observed in a parent.
    AggregationEvent {
        /// The container (required for `ADD` and `DELETE`).
        #[serde(rename = "parentID", skip_serializing_if = "Option::is_none")]
        pub parent_id: Option<String>,
        /// Instance-level children.
        #[serde(rename = "childEPCs", skip_serializing_if = "Option::is_none")]
        pub child_epcs: Option<Vec<String>>,
        /// Class-level children.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub child_quantity_list: Option<Vec<QuantityElement>>,
        /// Lifecycle relation.
        pub action: Action,
        /// Business transactions the event belongs to.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub biz_transaction_list: Option<Vec<BizTransaction>>,
    }
}

event_struct! {
    /// `TransactionEvent`: objects associated with / dissociated from business transactions.
    TransactionEvent {
        /// The business transactions (at least one).
        pub biz_transaction_list: Vec<BizTransaction>,
        /// A containing object, if any.
        #[serde(rename = "parentID", skip_serializing_if = "Option::is_none")]
        pub parent_id: Option<String>,
        /// Instance-level identifiers.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub epc_list: Option<Vec<String>>,
        /// Class-level quantities.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub quantity_list: Option<Vec<QuantityElement>>,
        /// Lifecycle relation.
        pub action: Action,
    }
}

event_struct! {
    /// `TransformationEvent`: inputs consumed, outputs produced.
    TransformationEvent {
        /// Instance-level inputs.
        #[serde(rename = "inputEPCList", skip_serializing_if = "Option::is_none")]
        pub input_epc_list: Option<Vec<String>>,
        /// Class-level inputs.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub input_quantity_list: Option<Vec<QuantityElement>>,
        /// Instance-level outputs.
        #[serde(rename = "outputEPCList", skip_serializing_if = "Option::is_none")]
        pub output_epc_list: Option<Vec<String>>,
        /// Class-level outputs.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub output_quantity_list: Option<Vec<QuantityElement>>,
        /// Links the parts of a transformation reported in several events.
        #[serde(rename = "transformationID", skip_serializing_if = "Option::is_none")]
        pub transformation_id: Option<String>,
        /// Business transactions the event belongs to.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub biz_transaction_list: Option<Vec<BizTransaction>>,
        /// Instance/lot master data of the outputs; opaque, namespaced keys.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub ilmd: Option<Map<String, Value>>,
    }
}

event_struct! {
    /// `AssociationEvent`: children (e.g. sensors, parts) associated with a parent asset.
    AssociationEvent {
        /// The parent asset or place.
        #[serde(rename = "parentID")]
        pub parent_id: String,
        /// Instance-level children.
        #[serde(rename = "childEPCs", skip_serializing_if = "Option::is_none")]
        pub child_epcs: Option<Vec<String>>,
        /// Class-level children.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub child_quantity_list: Option<Vec<QuantityElement>>,
        /// Lifecycle relation.
        pub action: Action,
        /// Business transactions the event belongs to.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub biz_transaction_list: Option<Vec<BizTransaction>>,
    }
}

/// Role of an identifier within an event, for rules that look at every EPC at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EpcRole {
    /// `epcList` of an Object or Transaction event.
    Epc,
    /// `parentID`.
    Parent,
    /// `childEPCs`.
    Child,
    /// `inputEPCList`.
    Input,
    /// `outputEPCList`.
    Output,
}

/// An EPCIS 2.0 event of one of the five standard types, dispatched on `"type"`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type")]
pub enum EpcisEvent {
    /// `ObjectEvent`.
    #[serde(rename = "ObjectEvent")]
    Object(ObjectEvent),
    /// `AggregationEvent`.
    #[serde(rename = "AggregationEvent")]
    Aggregation(AggregationEvent),
    /// `TransactionEvent`.
    #[serde(rename = "TransactionEvent")]
    Transaction(TransactionEvent),
    /// `TransformationEvent`.
    #[serde(rename = "TransformationEvent")]
    Transformation(TransformationEvent),
    /// `AssociationEvent`.
    #[serde(rename = "AssociationEvent")]
    Association(AssociationEvent),
}

impl<'de> Deserialize<'de> for EpcisEvent {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut map = Map::<String, Value>::deserialize(deserializer)?;
        let tag = match map.shift_remove("type") {
            Some(Value::String(tag)) => tag,
            Some(_) => return Err(D::Error::custom("event `type` must be a string")),
            None => return Err(D::Error::missing_field("type")),
        };
        let body = Value::Object(map);
        let event = match EventType::from_name(&tag) {
            Some(EventType::ObjectEvent) => ObjectEvent::deserialize(body).map(Self::Object),
            Some(EventType::AggregationEvent) => {
                AggregationEvent::deserialize(body).map(Self::Aggregation)
            }
            Some(EventType::TransactionEvent) => {
                TransactionEvent::deserialize(body).map(Self::Transaction)
            }
            Some(EventType::TransformationEvent) => {
                TransformationEvent::deserialize(body).map(Self::Transformation)
            }
            Some(EventType::AssociationEvent) => {
                AssociationEvent::deserialize(body).map(Self::Association)
            }
            None => {
                return Err(D::Error::unknown_variant(
                    &tag,
                    &[
                        "ObjectEvent",
                        "AggregationEvent",
                        "TransactionEvent",
                        "TransformationEvent",
                        "AssociationEvent",
                    ],
                ));
            }
        };
        event.map_err(|e| D::Error::custom(format!("{tag}: {e}")))
    }
}

/// Applies `$body` to whichever event struct `$event` holds (they share the common fields).
macro_rules! on_event {
    ($event:expr, $e:ident => $body:expr) => {
        match $event {
            EpcisEvent::Object($e) => $body,
            EpcisEvent::Aggregation($e) => $body,
            EpcisEvent::Transaction($e) => $body,
            EpcisEvent::Transformation($e) => $body,
            EpcisEvent::Association($e) => $body,
        }
    };
}

fn list<T>(value: &Option<Vec<T>>) -> &[T] {
    value.as_deref().unwrap_or_default()
}

impl EpcisEvent {
    /// Typed view of a raw JSON event (no strict validation; see `validate` for that).
    pub fn from_value(value: &Value) -> Result<Self, serde_json::Error> {
        Self::deserialize(value)
    }

    /// The event as JSON (equal to the parsed input for lossless round trips).
    pub fn to_value(&self) -> Result<Value, serde_json::Error> {
        serde_json::to_value(self)
    }

    /// Which of the five types this is.
    pub fn event_type(&self) -> EventType {
        match self {
            EpcisEvent::Object(_) => EventType::ObjectEvent,
            EpcisEvent::Aggregation(_) => EventType::AggregationEvent,
            EpcisEvent::Transaction(_) => EventType::TransactionEvent,
            EpcisEvent::Transformation(_) => EventType::TransformationEvent,
            EpcisEvent::Association(_) => EventType::AssociationEvent,
        }
    }

    /// `action`; `None` for a TransformationEvent, which has none.
    pub fn action(&self) -> Option<Action> {
        match self {
            EpcisEvent::Object(e) => Some(e.action),
            EpcisEvent::Aggregation(e) => Some(e.action),
            EpcisEvent::Transaction(e) => Some(e.action),
            EpcisEvent::Transformation(_) => None,
            EpcisEvent::Association(e) => Some(e.action),
        }
    }

    /// When the event took place.
    pub fn event_time(&self) -> OffsetDateTime {
        on_event!(self, e => e.event_time.datetime())
    }

    /// `eventTime` as written.
    pub fn event_timestamp(&self) -> &Timestamp {
        on_event!(self, e => &e.event_time)
    }

    /// `eventTimeZoneOffset`.
    pub fn event_time_zone_offset(&self) -> &TimeZoneOffset {
        on_event!(self, e => &e.event_time_zone_offset)
    }

    /// `recordTime`, if present.
    pub fn record_time(&self) -> Option<&Timestamp> {
        on_event!(self, e => e.record_time.as_ref())
    }

    /// `eventID`, if present.
    pub fn event_id(&self) -> Option<&str> {
        on_event!(self, e => e.event_id.as_deref())
    }

    /// Event-level `@context`, if present.
    pub fn context(&self) -> Option<&Value> {
        on_event!(self, e => e.context.as_ref())
    }

    /// Canonical business step: `https://ref.gs1.org/cbv/BizStep-…` for a standard value in
    /// any spelling, a custom URI unchanged (the raw text if the value is invalid).
    pub fn biz_step(&self) -> Option<&str> {
        self.biz_step_raw()
            .map(|s| Vocabulary::BizStep.canonical(s).unwrap_or(s))
    }

    /// `bizStep` as written.
    pub fn biz_step_raw(&self) -> Option<&str> {
        on_event!(self, e => e.biz_step.as_deref())
    }

    /// Canonical disposition (`https://ref.gs1.org/cbv/Disp-…` or custom URI).
    pub fn disposition(&self) -> Option<&str> {
        self.disposition_raw()
            .map(|s| Vocabulary::Disposition.canonical(s).unwrap_or(s))
    }

    /// `disposition` as written.
    pub fn disposition_raw(&self) -> Option<&str> {
        on_event!(self, e => e.disposition.as_deref())
    }

    /// `persistentDisposition`, if present.
    pub fn persistent_disposition(&self) -> Option<&PersistentDisposition> {
        on_event!(self, e => e.persistent_disposition.as_ref())
    }

    /// `readPoint.id`, if present.
    pub fn read_point(&self) -> Option<&str> {
        on_event!(self, e => e.read_point.as_ref().map(|r| r.id.as_str()))
    }

    /// `bizLocation.id`, if present.
    pub fn biz_location(&self) -> Option<&str> {
        on_event!(self, e => e.biz_location.as_ref().map(|r| r.id.as_str()))
    }

    /// The instance-level list (EPCs) and the class-level list (quantities) of the objects an
    /// event names in `role`: EPCIS pairs each EPC list with a quantity list, and each event
    /// type carries its own pairs (`Parent`, and a pair an event type lacks, give empty lists).
    fn object_lists(&self, role: EpcRole) -> (&[String], &[QuantityElement]) {
        match (self, role) {
            (EpcisEvent::Object(e), EpcRole::Epc) => (list(&e.epc_list), list(&e.quantity_list)),
            (EpcisEvent::Transaction(e), EpcRole::Epc) => {
                (list(&e.epc_list), list(&e.quantity_list))
            }
            (EpcisEvent::Aggregation(e), EpcRole::Child) => {
                (list(&e.child_epcs), list(&e.child_quantity_list))
            }
            (EpcisEvent::Association(e), EpcRole::Child) => {
                (list(&e.child_epcs), list(&e.child_quantity_list))
            }
            (EpcisEvent::Transformation(e), EpcRole::Input) => {
                (list(&e.input_epc_list), list(&e.input_quantity_list))
            }
            (EpcisEvent::Transformation(e), EpcRole::Output) => {
                (list(&e.output_epc_list), list(&e.output_quantity_list))
            }
            _ => (&[], &[]),
        }
    }

    /// `epcList` (Object and Transaction events; empty otherwise).
    pub fn epc_list(&self) -> &[String] {
        self.object_lists(EpcRole::Epc).0
    }

    /// `parentID` (Aggregation, Transaction and Association events).
    pub fn parent_id(&self) -> Option<&str> {
        match self {
            EpcisEvent::Aggregation(e) => e.parent_id.as_deref(),
            EpcisEvent::Transaction(e) => e.parent_id.as_deref(),
            EpcisEvent::Association(e) => Some(&e.parent_id),
            _ => None,
        }
    }

    /// `childEPCs` (Aggregation and Association events; empty otherwise).
    pub fn child_epcs(&self) -> &[String] {
        self.object_lists(EpcRole::Child).0
    }

    /// `inputEPCList` (Transformation events; empty otherwise).
    pub fn input_epcs(&self) -> &[String] {
        self.object_lists(EpcRole::Input).0
    }

    /// `outputEPCList` (Transformation events; empty otherwise).
    pub fn output_epcs(&self) -> &[String] {
        self.object_lists(EpcRole::Output).0
    }

    /// Every instance-level identifier of the event with its role, in field order.
    pub fn epcs_for_rules(&self) -> Vec<(EpcRole, &str)> {
        fn tagged(role: EpcRole, epcs: &[String]) -> impl Iterator<Item = (EpcRole, &str)> {
            epcs.iter().map(move |e| (role, e.as_str()))
        }
        let mut out: Vec<(EpcRole, &str)> = Vec::new();
        out.extend(self.parent_id().map(|p| (EpcRole::Parent, p)));
        out.extend(tagged(EpcRole::Epc, self.epc_list()));
        out.extend(tagged(EpcRole::Child, self.child_epcs()));
        out.extend(tagged(EpcRole::Input, self.input_epcs()));
        out.extend(tagged(EpcRole::Output, self.output_epcs()));
        out
    }

    /// `quantityList` (Object and Transaction events; empty otherwise).
    pub fn quantity_list(&self) -> &[QuantityElement] {
        self.object_lists(EpcRole::Epc).1
    }

    /// `childQuantityList` (Aggregation and Association events; empty otherwise).
    pub fn child_quantity_list(&self) -> &[QuantityElement] {
        self.object_lists(EpcRole::Child).1
    }

    /// `inputQuantityList` (Transformation events; empty otherwise).
    pub fn input_quantity_list(&self) -> &[QuantityElement] {
        self.object_lists(EpcRole::Input).1
    }

    /// `outputQuantityList` (Transformation events; empty otherwise).
    pub fn output_quantity_list(&self) -> &[QuantityElement] {
        self.object_lists(EpcRole::Output).1
    }

    /// Every quantity element of the event, whatever list it is in, in field order.
    pub fn quantity_classes(&self) -> Vec<&QuantityElement> {
        self.quantity_list()
            .iter()
            .chain(self.child_quantity_list())
            .chain(self.input_quantity_list())
            .chain(self.output_quantity_list())
            .collect()
    }

    /// `transformationID` (Transformation events).
    pub fn transformation_id(&self) -> Option<&str> {
        match self {
            EpcisEvent::Transformation(e) => e.transformation_id.as_deref(),
            _ => None,
        }
    }

    /// `bizTransactionList` (empty when absent).
    pub fn biz_transactions(&self) -> &[BizTransaction] {
        match self {
            EpcisEvent::Object(e) => list(&e.biz_transaction_list),
            EpcisEvent::Aggregation(e) => list(&e.biz_transaction_list),
            EpcisEvent::Transaction(e) => &e.biz_transaction_list,
            EpcisEvent::Transformation(e) => list(&e.biz_transaction_list),
            EpcisEvent::Association(e) => list(&e.biz_transaction_list),
        }
    }

    /// `sourceList` (empty when absent).
    pub fn source_list(&self) -> &[Source] {
        on_event!(self, e => list(&e.source_list))
    }

    /// `destinationList` (empty when absent).
    pub fn destination_list(&self) -> &[Destination] {
        on_event!(self, e => list(&e.destination_list))
    }

    /// `certificationInfo` URIs (empty when absent).
    pub fn certification_info(&self) -> Vec<&str> {
        on_event!(self, e => e.certification_info.as_ref().map(CertificationInfo::uris).unwrap_or_default())
    }

    /// `sensorElementList` (empty when absent).
    pub fn sensor_elements(&self) -> &[SensorElement] {
        on_event!(self, e => list(&e.sensor_element_list))
    }

    /// `errorDeclaration`, if the event is declared erroneous.
    pub fn error_declaration(&self) -> Option<&ErrorDeclaration> {
        on_event!(self, e => e.error_declaration.as_ref())
    }

    /// `ilmd` (Object and Transformation events).
    pub fn ilmd(&self) -> Option<&Map<String, Value>> {
        match self {
            EpcisEvent::Object(e) => e.ilmd.as_ref(),
            EpcisEvent::Transformation(e) => e.ilmd.as_ref(),
            _ => None,
        }
    }

    /// User extensions at event level (namespaced keys), in document order.
    pub fn extensions(&self) -> &Map<String, Value> {
        on_event!(self, e => &e.extensions)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object_event() -> Value {
        json!({
            "type": "ObjectEvent",
            "eventTime": "2005-04-03T20:33:31.116-06:00",
            "eventTimeZoneOffset": "-06:00",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
            "action": "OBSERVE",
            "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
            "disposition": "in_transit",
            "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"},
            "quantityList": [{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 10.0}],
            "certificationInfo": "https://cert.example/1",
            "example:myField": {"a": 1}
        })
    }

    #[test]
    fn dispatches_on_type_and_round_trips() {
        let raw = object_event();
        let event = EpcisEvent::from_value(&raw).unwrap();
        assert_eq!(event.event_type(), EventType::ObjectEvent);
        assert_eq!(event.action(), Some(Action::Observe));
        assert_eq!(
            event.biz_step(),
            Some("https://ref.gs1.org/cbv/BizStep-shipping")
        );
        assert_eq!(
            event.disposition(),
            Some("https://ref.gs1.org/cbv/Disp-in_transit")
        );
        assert_eq!(event.epc_list().len(), 1);
        assert_eq!(event.quantity_classes()[0].quantity_f64(), Some(10.0));
        assert_eq!(event.certification_info(), ["https://cert.example/1"]);
        assert_eq!(
            event.read_point(),
            Some("urn:epc:id:sgln:0614141.07346.1234")
        );
        assert!(event.extensions().contains_key("example:myField"));
        assert_eq!(event.to_value().unwrap(), raw);
        // `type` is serialised first.
        let text = serde_json::to_string(&event).unwrap();
        assert!(text.starts_with("{\"type\":\"ObjectEvent\""), "{text}");
    }

    #[test]
    fn typed_fields_reject_malformed_values() {
        let mut bad_action = object_event();
        bad_action["action"] = json!("CREATE");
        assert!(EpcisEvent::from_value(&bad_action).is_err());
        let mut bad_time = object_event();
        bad_time["eventTime"] = json!("22-07-2026");
        assert!(EpcisEvent::from_value(&bad_time).is_err());
        let mut no_type = object_event();
        no_type.as_object_mut().unwrap().remove("type");
        assert!(EpcisEvent::from_value(&no_type).is_err());
        let mut unknown = object_event();
        unknown["type"] = json!("QuantityEvent");
        let err = EpcisEvent::from_value(&unknown).unwrap_err().to_string();
        assert!(err.contains("QuantityEvent"), "{err}");
    }

    #[test]
    fn epcs_for_rules_lists_every_role() {
        let raw = json!({
            "type": "AggregationEvent",
            "eventTime": "2013-06-08T14:58:56.591Z",
            "eventTimeZoneOffset": "+02:00",
            "parentID": "urn:epc:id:sscc:0614141.1234567890",
            "childEPCs": ["urn:epc:id:sgtin:0614141.107346.2017"],
            "action": "ADD"
        });
        let event = EpcisEvent::from_value(&raw).unwrap();
        assert_eq!(
            event.epcs_for_rules(),
            vec![
                (EpcRole::Parent, "urn:epc:id:sscc:0614141.1234567890"),
                (EpcRole::Child, "urn:epc:id:sgtin:0614141.107346.2017"),
            ]
        );
        assert_eq!(event.action(), Some(Action::Add));
        assert!(event.biz_step().is_none());
    }

    #[test]
    fn transformation_has_no_action() {
        let raw = json!({
            "type": "TransformationEvent",
            "eventTime": "2013-10-31T14:58:56.591Z",
            "eventTimeZoneOffset": "+02:00",
            "inputEPCList": ["urn:epc:id:sgtin:4012345.011122.25"],
            "outputEPCList": ["urn:epc:id:sgtin:4012345.077889.25"]
        });
        let event = EpcisEvent::from_value(&raw).unwrap();
        assert_eq!(event.action(), None);
        assert_eq!(event.input_epcs().len(), 1);
        assert_eq!(event.output_epcs().len(), 1);
        assert_eq!(event.to_value().unwrap(), raw);
    }

    #[test]
    fn names_round_trip() {
        for t in EventType::ALL {
            assert_eq!(EventType::from_name(t.as_str()), Some(*t));
        }
        for a in [Action::Add, Action::Observe, Action::Delete] {
            assert_eq!(Action::from_name(a.as_str()), Some(a));
        }
        assert_eq!(Action::from_name("add"), None);
    }
}
