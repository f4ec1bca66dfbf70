//! GS1 CBV 2.0 Event Hash ID (CBV 2.0 section 8.9): a content-derived identifier of an EPCIS event.
//!
//! Two parties holding the same event, serialised differently (member order, EPC URN or Digital
//! Link, `+01:00` or `Z`, short CBV names or full URIs), must compute the same ID, and any change to
//! what the event says must change it. The algorithm builds a *pre-hash string* from the event's
//! canonicalised content and hashes it with SHA-256; the ID is written
//! `ni:///sha-256;{hex}?ver=CBV2.0`. This module works on EPCIS 2.0 JSON / JSON-LD as
//! [`serde_json::Value`], independent of any typed event model.
//!
//! The reference implementation is `RalphTro/epcis-event-hash-generator` (Python). Its own test
//! vectors are reproduced byte for byte, pre-hash strings included (`tests/event_hash_vectors.rs`),
//! and a differential run against its PyPI release 1.9.3 on 11,000 random events (all five event
//! types, every EPC scheme below, Digital Link variants, sensor data, nested extensions) gave
//! identical pre-hash strings wherever the differences listed at the end do not apply.
//!
//! # The pre-hash string
//!
//! `eventType={type}` followed by the event's members, concatenated without separators:
//!
//! * a scalar member is `name=value`; an object or list member is `name` followed by its children;
//!   list elements are named after the list (`epcList`, `inputEPCList`, `outputEPCList`,
//!   `childEPCs` → `epc`; the quantity lists → `quantityElement`; `sensorElementList` →
//!   `sensorElement`); `bizTransactionList`, `sourceList` and `destinationList` entries are
//!   unnamed `type=…` + `bizTransaction=…` (`source=…`, `destination=…`) pairs.
//! * **Order** (CBV 2.0 section 8.9; the table is `schema.rs`): `eventTime`,
//!   `eventTimeZoneOffset`, `certificationInfo`, `parentID`, `epcList`, `inputEPCList`,
//!   `childEPCs`, `quantityList`, `childQuantityList`, `inputQuantityList`, `outputEPCList`,
//!   `outputQuantityList`, `action`, `transformationID`, `bizStep`, `disposition`,
//!   `persistentDisposition` (`set`, `unset`), `readPoint` (`id`), `bizLocation` (`id`),
//!   `sensorElementList` (`sensorMetadata`: `time`, `startTime`, `endTime`, `deviceID`,
//!   `deviceMetadata`, `rawData`, `dataProcessingMethod`, `bizRules`; then `sensorReport`: `type`,
//!   `exception`, `deviceID`, `deviceMetadata`, `rawData`, `dataProcessingMethod`, `time`,
//!   `microorganism`, `chemicalSubstance`, `value`, `component`, `stringValue`, `booleanValue`,
//!   `hexBinaryValue`, `uriValue`, `minValue`, `maxValue`, `meanValue`, `sDev`, `percRank`,
//!   `percValue`, `uom`, `coordinateReferenceSystem`); a `quantityElement` is `epcClass`,
//!   `quantity`, `uom`.
//! * Then, in every object, one **trailing group sorted as strings**: user extensions and members
//!   the schema does not know, plus (in the event) `bizTransactionList`, `sourceList`,
//!   `destinationList` and `ilmd`. *The reference deviates from the CBV table here*: the table
//!   places those four after `bizLocation`, but the reference implementation and all its vectors
//!   put them in this group (so after `sensorElementList`, alphabetically); we follow the vectors.
//!   User extensions inside a standard structure (`readPoint`, `sensorMetadata`, …) form that
//!   structure's own trailing group.
//! * **Unordered data is sorted**: repeated occurrences of a member (EPCs, quantity elements,
//!   sensor elements and reports, transaction/source/destination entries, array-valued
//!   extensions) are sorted by their serialised text (Unicode code point order).
//! * An extension whose name ends in `List` is written as a list wrapper with elements named
//!   without the suffix (`{ns}sensorList{ns}sensor=a{ns}sensor=b`), as the reference does.
//! * **Excluded**: `eventID`, `recordTime`, `errorDeclaration`, `type` (written first as
//!   `eventType`), JSON-LD keywords (`@context`, `@id`, …) and `comment` / `rdfs:comment`.
//! * **Empty members**: at a schema position, an empty string, object or list contributes
//!   nothing; in a trailing group it contributes its bare name. `null` never contributes.
//!
//! # Value canonicalisation
//!
//! Every value is trimmed of surrounding whitespace, then:
//!
//! 1. **Timestamps** (`eventTime`, sensor `time`, `startTime`, `endTime`) become UTC with exactly
//!    three fractional digits, `2019-04-02T14:00:00.000Z`; more digits round half-up on the
//!    fourth. A value that is not an xsd:dateTime is an error ([`EventHashError::InvalidTimestamp`]).
//! 2. **CBV short names** of `@vocab`-typed members expand to Web URIs when the EPCIS 2.0 context
//!    defines them: `bizStep`, `disposition`, `persistentDisposition.set/unset` (`…/cbv/BizStep-`,
//!    `…/cbv/Disp-`), transaction types (`BTT-`), source/destination types (`SDT-`), sensor
//!    `type` and `exception` (`https://gs1.org/voc/`) and `component` (`…/cbv/Comp-`).
//! 3. **Compact IRIs** `prefix:local` with a declared prefix expand in names (`{IRI}local`) and in
//!    values (`IRIlocal`). Prefixes come from the EPCIS 2.0 context, the document's `@context`,
//!    and any `@context` inside the event (scoped to the object holding it); see [`JsonLdContext`].
//! 4. **EPCIS 1.x CBV URNs** `urn:epcglobal:cbv:{bizstep,disp,btt,sdt,er}:` become the CBV 2.0
//!    Web URI prefixes wherever they occur in a value (`urn:epcglobal:cbv:bt:` transaction
//!    identifiers stay as they are).
//! 5. **Numbers** (JSON numbers, and strings that are ASCII decimal numerals) are written as
//!    Python's `repr` writes the IEEE double they denote, which is what the reference hashes:
//!    the shortest digits that read back as that double (nearest, ties to even), positional, or
//!    `d.ddde-XX` below 1e-4; integral values as plain integers. `010.50` → `10.5`, `26.0` →
//!    `26`, `+3` → `3`, `0.00001` → `1e-05`. Booleans are `true` / `false`.
//! 6. **GS1 keys** written as EPC URIs (`urn:epc:id:` sgtin, sscc, sgln, grai, giai, gsrn, gsrnp,
//!    gdti, cpi, sgcn, ginc, gsin, itip, upui, pgln; `urn:epc:class:lgtin:`; `urn:epc:idpat:`
//!    sgtin, grai, gdti, sgcn, cpi, itip, upui) or as Digital Link URIs on any domain become
//!    constrained canonical Digital Link URIs: `https://id.gs1.org`, AI numbers instead of short
//!    names, GTIN-14, no query string, no CPV, serial rather than lot; EPC URI components keep
//!    their percent-escapes and get `! ( ) * + , :` percent-encoded. URIs that do not come out in
//!    a canonical shape (for example a percent-encoded serial) are hashed as written, as the
//!    reference does. EPC URIs are validated, and their keys built, by [`crate::gs1`]; Digital
//!    Link URIs are rewritten as text like the reference does, without checking check digits.
//!
//! # Where we deliberately differ from reference implementation 1.9.3
//!
//! The PyPI release 1.9.3 computed the `epcis-documents` vectors. It agrees with everything above
//! except in these places, each a defect of its JSON path (its own XML path, or the other
//! widely used implementation, openepcis-event-hash-generator, does what we do):
//!
//! * **JSON booleans** are written by Python as `True`/`False`; we write the XSD form `true`, which
//!   is also what the reference writes for the same event in XML.
//! * **An event-level `@context`** is hashed by 1.9.3 as if it were event data
//!   (`@contextext2=http://…`) and its prefixes are not applied. We treat it as JSON-LD does: not
//!   data, and its prefixes are in scope for the event (openepcis also skips it).
//! * **Prefixes of the EPCIS context itself** (`gs1:`, `cbv:`, `cbvmda:`, …) are only expanded
//!   by 1.9.3 if the document redeclares them; we always expand them, so `gs1:ALARM_CONDITION`,
//!   `ALARM_CONDITION` and `https://gs1.org/voc/ALARM_CONDITION` hash alike (the reference's XML
//!   path and openepcis expand `gs1:`/`cbv:` too). A document may redeclare them (JSON-LD would
//!   reject that, the EPCIS context being protected); its declaration then wins.
//! * **Bare CBV names** are found by 1.9.3 by JSON-LD-expanding the whole document and replacing
//!   *any* string anywhere that matches the tail of an expanded CBV URI, so an event's hash can
//!   depend on the other events of its document. We expand per member, as the context defines.
//! * **Member order of `bizTransactionList`/`sourceList`/`destinationList` entries** follows the
//!   JSON key order in 1.9.3 (and an entry without `type` crashes it); we always write `type` first.
//! * **Mis-nested user extensions** (an extension as the only child of `readPoint`, a name
//!   containing `action`, or a namespace not ending in `/`) are sometimes emitted twice or out of
//!   place by 1.9.3; we always put a structure's extensions in its own trailing group.
//! * **Inputs 1.9.3 mishandles**: `null` (hashed as `None`), a timestamp without zone (read in the
//!   machine's local zone; we read it as UTC), an unparseable timestamp (hashed as written; an
//!   error here), fractions rounding up to a full second (crash), half-way fractions (banker's
//!   rounding; the CBV says half-up), `inf`/`1_000`/non-ASCII digits (treated as numbers), nested
//!   JSON arrays (we flatten them), and 12-digit company prefixes in GRAI EPC URIs (it expects
//!   three dots; we accept the TDS form and its form).
//!
//! Not supported, as in the reference: standard members written as full IRIs or with an
//! `epcis:` prefix are treated as extensions, and `@vocab` does not apply to unprefixed names.
//!
//! The vector tests pin each difference above that the vectors exercise to the exact events.

mod canonical;
mod context;
mod digital_link;
mod epc_urn;
mod error;
mod id;
mod schema;
mod timestamp;
mod value;
mod vocab;

#[cfg(test)]
mod proptests;

use serde_json::Value;

pub use context::JsonLdContext;
pub use error::EventHashError;
pub use id::{EventHashId, ParseEventHashIdError};

use error::json_type;

/// The canonical pre-hash string of one EPCIS event (CBV 2.0 section 8.9).
///
/// `context` holds the namespace prefixes in scope (usually
/// [`JsonLdContext::from_document`] of the enclosing document); the event's own `@context`, if
/// any, is applied on top automatically.
pub fn prehash_string(event: &Value, context: &JsonLdContext) -> Result<String, EventHashError> {
    canonical::prehash(event, context)
}

/// The Event Hash ID of one EPCIS event: SHA-256 of its [`prehash_string`].
pub fn event_hash_id(
    event: &Value,
    context: &JsonLdContext,
) -> Result<EventHashId, EventHashError> {
    prehash_string(event, context).map(|prehash| EventHashId::of_prehash(&prehash))
}

/// The Event Hash IDs of all events of a document, in document order.
///
/// Accepts an `EPCISDocument` (`epcisBody.eventList`, or a lone `epcisBody.event`), an
/// `EPCISQueryDocument` (`epcisBody.queryResults.resultsBody.eventList`) or a single event object.
/// The document's `@context` prefixes apply to every event.
pub fn document_event_hash_ids(document: &Value) -> Result<Vec<EventHashId>, EventHashError> {
    let context = JsonLdContext::from_document(document);
    document_events(document)?
        .into_iter()
        .enumerate()
        .map(|(index, event)| {
            event_hash_id(event, &context).map_err(|error| EventHashError::InEvent {
                index,
                error: Box::new(error),
            })
        })
        .collect()
}

/// The events of a document, in document order.
fn document_events(document: &Value) -> Result<Vec<&Value>, EventHashError> {
    let Some(body) = document.get("epcisBody") else {
        let is_document = matches!(
            document.get("type").and_then(Value::as_str),
            Some("EPCISDocument" | "EPCISQueryDocument")
        );
        return match document.get("type") {
            Some(_) if !is_document => Ok(vec![document]),
            _ => Err(EventHashError::NoEventList),
        };
    };
    let query_results = body
        .get("queryResults")
        .and_then(|results| results.get("resultsBody"))
        .and_then(|results| results.get("eventList"));
    let (at, list) = match (body.get("eventList"), query_results, body.get("event")) {
        (Some(list), _, _) => ("epcisBody.eventList", list),
        (None, Some(list), _) => ("epcisBody.queryResults.resultsBody.eventList", list),
        (None, None, Some(event)) => return Ok(vec![event]),
        (None, None, None) => return Err(EventHashError::NoEventList),
    };
    match list {
        Value::Array(events) => Ok(events.iter().collect()),
        other => Err(EventHashError::EventListNotAnArray {
            at,
            found: json_type(other),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn object_event() -> Value {
        json!({
            "type": "ObjectEvent",
            "eventTime": "2020-03-04T11:00:30.000+01:00",
            "eventTimeZoneOffset": "+01:00",
            "epcList": ["urn:epc:id:sscc:4012345.0000000333", "urn:epc:id:sscc:4012345.0000000111"],
            "action": "OBSERVE",
            "bizStep": "departing",
            "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
            "example:myField": "x"
        })
    }

    #[test]
    fn prehash_of_a_small_event() {
        let context =
            JsonLdContext::epcis().with_prefix("example", "https://ns.example.com/epcis/");
        assert_eq!(
            prehash_string(&object_event(), &context).unwrap(),
            "eventType=ObjectEventeventTime=2020-03-04T10:00:30.000ZeventTimeZoneOffset=+01:00\
             epcListepc=https://id.gs1.org/00/040123450000001112epc=https://id.gs1.org/00/040123450000003338\
             action=OBSERVEbizStep=https://ref.gs1.org/cbv/BizStep-departing\
             readPointid=https://id.gs1.org/414/4012345000115/254/987\
             {https://ns.example.com/epcis/}myField=x"
        );
    }

    #[test]
    fn event_level_context_applies_and_is_not_hashed() {
        let mut with_local = object_event();
        with_local["@context"] = json!({"example": "https://ns.example.com/epcis/"});
        let declared_in_document =
            JsonLdContext::epcis().with_prefix("example", "https://ns.example.com/epcis/");
        assert_eq!(
            event_hash_id(&with_local, &JsonLdContext::epcis()).unwrap(),
            event_hash_id(&object_event(), &declared_in_document).unwrap()
        );
    }

    #[test]
    fn document_shapes() {
        let event = object_event();
        let capture = json!({"type": "EPCISDocument", "epcisBody": {"eventList": [event, event]}});
        let query = json!({"type": "EPCISQueryDocument",
            "epcisBody": {"queryResults": {"resultsBody": {"eventList": [event]}}}});
        let single_in_body = json!({"type": "EPCISDocument", "epcisBody": {"event": event}});
        let expected = event_hash_id(&event, &JsonLdContext::epcis()).unwrap();
        assert_eq!(
            document_event_hash_ids(&capture).unwrap(),
            vec![expected; 2]
        );
        assert_eq!(document_event_hash_ids(&query).unwrap(), vec![expected]);
        assert_eq!(
            document_event_hash_ids(&single_in_body).unwrap(),
            vec![expected]
        );
        assert_eq!(document_event_hash_ids(&event).unwrap(), vec![expected]);
    }

    #[test]
    fn document_errors_name_the_problem() {
        assert_eq!(
            document_event_hash_ids(&json!({"type": "EPCISDocument"})),
            Err(EventHashError::NoEventList)
        );
        assert_eq!(
            document_event_hash_ids(&json!({"epcisBody": {"eventList": {}}})),
            Err(EventHashError::EventListNotAnArray {
                at: "epcisBody.eventList",
                found: "an object"
            })
        );
        let bad_second = json!({"epcisBody": {"eventList": [object_event(), {"eventTime": "x"}]}});
        assert_eq!(
            document_event_hash_ids(&bad_second),
            Err(EventHashError::InEvent {
                index: 1,
                error: Box::new(EventHashError::MissingEventType)
            })
        );
    }

    #[test]
    fn event_errors_name_the_member() {
        let context = JsonLdContext::epcis();
        assert_eq!(
            event_hash_id(&json!([1]), &context),
            Err(EventHashError::EventNotAnObject { found: "an array" })
        );
        assert_eq!(
            event_hash_id(&json!({"type": 7}), &context),
            Err(EventHashError::InvalidEventType { found: "7".into() })
        );
        let bad_time = json!({"type": "ObjectEvent",
            "sensorElementList": [{"sensorReport": [{"time": "yesterday"}]}]});
        let Err(EventHashError::InvalidTimestamp { field, value, .. }) =
            event_hash_id(&bad_time, &context)
        else {
            panic!("expected an invalid timestamp error");
        };
        assert_eq!(field, "sensorElementList[0].sensorReport[0].time");
        assert_eq!(value, "\"yesterday\"");
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let mut value = json!("leaf");
        for _ in 0..200 {
            value = json!({"example:nested": value});
        }
        let event = json!({"type": "ObjectEvent", "example:root": value});
        assert!(matches!(
            event_hash_id(&event, &JsonLdContext::epcis()),
            Err(EventHashError::TooDeep { .. })
        ));
    }
}
