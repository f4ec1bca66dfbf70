//! # EPCIS 2.0 events
//!
//! GS1 EPCIS 2.0 JSON / JSON-LD: a lossless serde model of documents and events, the parsing
//! entry point the ledger uses, the CBV 2.0 code lists, and strict validation.
//!
//! * [`parse_events`] reads an `EPCISDocument`, an `EPCISQueryDocument` or a single event and
//!   returns the events in document order with their raw JSON (the CBV Event Hash ID is computed
//!   from raw JSON by another module) and the top-level `@context`.
//! * [`validate_document`] does the same but rejects anything the standard does not allow,
//!   reporting every problem with its JSON path; its [`ValidEvent`]s are what the ledger
//!   accepts.
//! * [`vocab`] normalises CBV values (`shipping`, `urn:epcglobal:cbv:bizstep:shipping`,
//!   `https://ref.gs1.org/cbv/BizStep-shipping`) to one canonical URI, which ledger rules
//!   compare; [`EpcisEvent::biz_step`] and friends return that form.
//!
//! EPC identifiers are checked only syntactically here (URI shape); GS1-specific checks of EPC
//! URNs and Digital Link URIs belong to the `gs1` module. Nothing here performs I/O: JSON-LD
//! contexts are recognised by URL, never fetched.

pub mod context;
pub mod document;
pub mod model;
mod path;
pub mod sensor;
pub mod timestamp;
pub mod uri;
pub mod validate;
pub mod vocab;

#[cfg(test)]
mod proptests;

pub use document::{
    EpcisBody, EpcisDocument, EpcisHeader, EpcisQueryDocument, Input, InputKind, ParseError,
    ParsedEvent, ParsedInput, QueryBody, QueryResults, ResultsBody, parse_events,
};
pub use model::{
    Action, AggregationEvent, AssociationEvent, BizLocation, BizTransaction, CertificationInfo,
    Destination, EpcRole, EpcisEvent, ErrorDeclaration, EventType, LocationRef, ObjectEvent,
    PersistentDisposition, QuantityElement, ReadPoint, Source, TransactionEvent,
    TransformationEvent,
};
pub use sensor::{SensorElement, SensorMetadata, SensorReport};
pub use timestamp::{TimeZoneOffset, Timestamp};
pub use validate::{
    Problem, ProblemKind, ValidEvent, ValidationReport, validate_document, validate_event,
    validate_text,
};
