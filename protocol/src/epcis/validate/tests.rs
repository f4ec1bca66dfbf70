//! Unit tests of the validator on hand-made inputs (the GS1/openepcis vectors are exercised
//! by `tests/epcis_documents.rs`).

use serde_json::{Value, json};

use super::*;

const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

fn document(events: Vec<Value>) -> Value {
    json!({
        "@context": [CONTEXT, {"example": "http://ns.example.com/epcis/"}],
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2005-07-11T11:30:47.0Z",
        "epcisBody": {"eventList": events}
    })
}

fn object_event() -> Value {
    json!({
        "type": "ObjectEvent",
        "eventTime": "2005-04-03T20:33:31.116-06:00",
        "eventTimeZoneOffset": "-06:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "action": "OBSERVE",
        "bizStep": "shipping",
        "disposition": "in_transit",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}
    })
}

fn problems(value: &Value) -> Vec<(ProblemKind, String)> {
    match validate_document(value) {
        Ok(_) => Vec::new(),
        Err(report) => report
            .into_problems()
            .into_iter()
            .map(|p| (p.kind, p.path))
            .collect(),
    }
}

fn one(kind: ProblemKind, path: &str) -> Vec<(ProblemKind, String)> {
    vec![(kind, path.to_owned())]
}

const E0: &str = "$.epcisBody.eventList[0]";

fn at(suffix: &str) -> String {
    format!("{E0}{suffix}")
}

#[test]
fn a_good_document_yields_typed_events() {
    let events = validate_document(&document(vec![object_event(), object_event()])).unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(events[1].index(), 1);
    assert_eq!(events[1].path(), "$.epcisBody.eventList[1]");
    assert_eq!(events[0].raw(), &object_event());
    assert_eq!(
        events[0].event().biz_step(),
        Some("https://ref.gs1.org/cbv/BizStep-shipping")
    );
    assert!(events[0].document_context().is_some());
}

#[test]
fn every_problem_is_reported() {
    let mut event = object_event();
    event["action"] = json!("CREATE");
    event["bizStep"] = json!("shipp");
    event["eventTime"] = json!("2005-04-03T20:33:31");
    event["eventTimeZoneOffset"] = json!("+15:00");
    event["foo"] = json!(1);
    event["undeclared:bar"] = json!(1);
    event["childEPCs"] = json!([]);
    let report = validate_document(&document(vec![event])).unwrap_err();
    let expected = [
        (ProblemKind::InvalidTimestamp, at(".eventTime")),
        (
            ProblemKind::InvalidTimeZoneOffset,
            at(".eventTimeZoneOffset"),
        ),
        (ProblemKind::InvalidAction, at(".action")),
        (ProblemKind::NonStandardVocabulary, at(".bizStep")),
        (ProblemKind::UnknownField, at(".foo")),
        (ProblemKind::UndeclaredPrefix, at("['undeclared:bar']")),
        (ProblemKind::FieldNotAllowed, at(".childEPCs")),
    ];
    for (kind, path) in &expected {
        assert!(
            report.has(*kind, path),
            "missing {kind:?} at {path}: {report}"
        );
    }
    assert_eq!(report.problems().len(), expected.len(), "{report}");
    let text = report.to_string();
    assert!(text.contains("did you mean `shipping`"), "{text}");
    assert!(text.contains("no UTC offset"), "{text}");
}

#[test]
fn standard_spellings_and_custom_uris_pass() {
    let mut event = object_event();
    event["bizStep"] = json!("urn:epcglobal:cbv:bizstep:shipping");
    event["disposition"] = json!("https://ref.gs1.org/cbv/Disp-in_transit");
    event["example:note"] = json!({"plain": 1});
    assert_eq!(problems(&document(vec![event.clone()])), vec![]);
    event["bizStep"] = json!("https://example.com/steps/my_step");
    assert_eq!(problems(&document(vec![event])), vec![]);
}

#[test]
fn object_event_rules() {
    let mut nothing = object_event();
    nothing.as_object_mut().unwrap().remove("epcList");
    assert_eq!(
        problems(&document(vec![nothing.clone()])),
        one(ProblemKind::MissingObjects, E0)
    );
    let mut empty = nothing.clone();
    empty["epcList"] = json!([]);
    assert_eq!(
        problems(&document(vec![empty])),
        one(ProblemKind::MissingObjects, E0)
    );
    // Sensor data at a read point is enough.
    let mut sensor = nothing;
    sensor["sensorElementList"] =
        json!([{"sensorReport": [{"type": "Temperature", "value": 3, "uom": "CEL"}]}]);
    assert_eq!(problems(&document(vec![sensor])), vec![]);

    let mut ilmd_observe = object_event();
    ilmd_observe["ilmd"] = json!({"example:lot": "1"});
    assert_eq!(
        problems(&document(vec![ilmd_observe.clone()])),
        one(ProblemKind::FieldNotAllowed, &at(".ilmd"))
    );
    ilmd_observe["action"] = json!("ADD");
    assert_eq!(problems(&document(vec![ilmd_observe])), vec![]);
}

#[test]
fn aggregation_and_association_rules() {
    let aggregation = json!({
        "type": "AggregationEvent",
        "eventTime": "2013-06-08T14:58:56.591Z",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD"
    });
    assert_eq!(
        problems(&document(vec![aggregation.clone()])),
        vec![
            (ProblemKind::MissingField, at(".parentID")),
            (ProblemKind::MissingObjects, E0.to_owned()),
        ]
    );
    let mut delete = aggregation.clone();
    delete["action"] = json!("DELETE");
    delete["parentID"] = json!("urn:epc:id:sscc:0614141.1234567890");
    assert_eq!(problems(&document(vec![delete])), vec![]);
    let mut observe = aggregation.clone();
    observe["action"] = json!("OBSERVE");
    observe["childEPCs"] = json!(["urn:epc:id:sgtin:0614141.107346.2017"]);
    assert_eq!(problems(&document(vec![observe])), vec![]);

    let mut association = aggregation;
    association["type"] = json!("AssociationEvent");
    association["action"] = json!("DELETE");
    assert_eq!(
        problems(&document(vec![association])),
        one(ProblemKind::MissingField, &at(".parentID"))
    );
}

#[test]
fn transaction_and_transformation_rules() {
    let transaction = json!({
        "type": "TransactionEvent",
        "eventTime": "2013-06-08T14:58:56.591Z",
        "eventTimeZoneOffset": "+02:00",
        "action": "ADD",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"]
    });
    assert_eq!(
        problems(&document(vec![transaction.clone()])),
        one(ProblemKind::MissingField, &at(".bizTransactionList"))
    );
    let mut empty = transaction.clone();
    empty["bizTransactionList"] = json!([]);
    assert_eq!(
        problems(&document(vec![empty])),
        one(ProblemKind::EmptyList, &at(".bizTransactionList"))
    );
    let mut ok = transaction;
    ok["bizTransactionList"] =
        json!([{"type": "po", "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1"}]);
    assert_eq!(problems(&document(vec![ok])), vec![]);

    let transformation = json!({
        "type": "TransformationEvent",
        "eventTime": "2013-06-08T14:58:56.591Z",
        "eventTimeZoneOffset": "+02:00",
        "inputEPCList": ["urn:epc:id:sgtin:0614141.107346.2017"]
    });
    assert_eq!(
        problems(&document(vec![transformation.clone()])),
        one(ProblemKind::MissingObjects, E0)
    );
    let mut with_id = transformation.clone();
    with_id["transformationID"] = json!("urn:epc:id:gdti:0614141.12345.400");
    assert_eq!(problems(&document(vec![with_id])), vec![]);
    let mut with_action = transformation;
    with_action["outputEPCList"] = json!(["urn:epc:id:sgtin:0614141.107346.2018"]);
    with_action["action"] = json!("ADD");
    assert_eq!(
        problems(&document(vec![with_action])),
        one(ProblemKind::FieldNotAllowed, &at(".action"))
    );
}

#[test]
fn closed_objects_and_lists() {
    let mut event = object_event();
    event["quantityList"] = json!([{"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": "150", "uom": "KGM"}]);
    event["sourceList"] = json!([{"type": "place", "source": "urn:epc:id:sgln:952012.345678.0"}]);
    event["destinationList"] = json!([{"type": "location"}]);
    event["bizTransactionList"] =
        json!([{"type": "po", "bizTransaction": "not a uri", "example:x": 1}]);
    event["persistentDisposition"] = json!({"set": [], "unset": ["recalled", "recalled"]});
    event["epcList"] = json!([
        "urn:epc:id:sgtin:0614141.107346.2017",
        "urn:epc:id:sgtin:0614141.107346.2017"
    ]);
    assert_eq!(
        problems(&document(vec![event])),
        vec![
            (ProblemKind::DuplicateEntry, at(".epcList[1]")),
            (
                ProblemKind::InvalidQuantity,
                at(".quantityList[0].quantity")
            ),
            (
                ProblemKind::NonStandardVocabulary,
                at(".sourceList[0].type")
            ),
            (
                ProblemKind::MissingField,
                at(".destinationList[0].destination")
            ),
            (
                ProblemKind::InvalidUri,
                at(".bizTransactionList[0].bizTransaction")
            ),
            (
                ProblemKind::ExtensionNotAllowed,
                at(".bizTransactionList[0]['example:x']")
            ),
            (ProblemKind::EmptyList, at(".persistentDisposition.set")),
            (
                ProblemKind::DuplicateEntry,
                at(".persistentDisposition.unset[1]")
            ),
        ]
    );
}

#[test]
fn sensor_data_checks() {
    let mut event = object_event();
    event["sensorElementList"] = json!([{
        "sensorMetadata": {"startTime": "2019-04-02T14:00:00Z", "endTime": "2019-04-02T13:00:00Z", "deviceID": "x y"},
        "sensorReport": [
            {"type": "Temprature", "minValue": 5, "maxValue": 4, "sDev": -1, "percRank": 101,
             "hexBinaryValue": "abc", "booleanValue": "true", "uom": "celsius", "component": "cbv:Comp-north",
             "exception": "gs1:ALARM_CONDITION", "value": "3"},
            {"value": 1}
        ],
        "free": 1
    }, {"sensorReport": []}]);
    let s = |suffix: &str| at(&format!(".sensorElementList{suffix}"));
    assert_eq!(
        problems(&document(vec![event])),
        vec![
            (ProblemKind::InvalidUri, s("[0].sensorMetadata.deviceID")),
            (
                ProblemKind::InconsistentValues,
                s("[0].sensorMetadata.endTime")
            ),
            (
                ProblemKind::NonStandardVocabulary,
                s("[0].sensorReport[0].type")
            ),
            (ProblemKind::InvalidNumber, s("[0].sensorReport[0].sDev")),
            (
                ProblemKind::InvalidNumber,
                s("[0].sensorReport[0].percRank")
            ),
            (
                ProblemKind::InvalidHexBinary,
                s("[0].sensorReport[0].hexBinaryValue")
            ),
            (
                ProblemKind::WrongType,
                s("[0].sensorReport[0].booleanValue")
            ),
            (ProblemKind::InvalidUom, s("[0].sensorReport[0].uom")),
            (
                ProblemKind::NonStandardVocabulary,
                s("[0].sensorReport[0].component")
            ),
            (ProblemKind::InvalidNumber, s("[0].sensorReport[0].value")),
            (
                ProblemKind::InconsistentValues,
                s("[0].sensorReport[0].maxValue")
            ),
            (ProblemKind::MissingField, s("[0].sensorReport[1].type")),
            (ProblemKind::UnknownField, s("[0].free")),
            (ProblemKind::EmptyList, s("[1].sensorReport")),
        ]
    );
}

#[test]
fn context_rules() {
    let mut doc = document(vec![object_event()]);
    doc["@context"] = json!([{"example": "http://ns.example.com/epcis/"}, null]);
    assert_eq!(
        problems(&doc),
        vec![
            (ProblemKind::MissingContext, "$['@context']".to_owned()),
            (ProblemKind::InvalidContext, "$['@context'][1]".to_owned()),
        ]
    );
    // Event-level @context adds prefixes for that event only.
    let mut scoped = object_event();
    scoped["@context"] = json!([{"loc": "https://loc.example/"}]);
    scoped["loc:a"] = json!(1);
    let mut unscoped = object_event();
    unscoped["loc:a"] = json!(1);
    assert_eq!(
        problems(&document(vec![scoped, unscoped])),
        one(
            ProblemKind::UndeclaredPrefix,
            "$.epcisBody.eventList[1]['loc:a']"
        )
    );
}

#[test]
fn single_events_and_query_documents() {
    let mut single = object_event();
    single["@context"] = json!(CONTEXT);
    let events = validate_document(&single).unwrap();
    assert_eq!(events[0].path(), "$");
    assert_eq!(events[0].document_context(), Some(&json!(CONTEXT)));
    assert_eq!(
        problems(&object_event()),
        one(ProblemKind::MissingContext, "$['@context']")
    );

    let query = json!({
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "epcisBody": {"queryResults": {"subscriptionID": "s1", "queryName": "SimpleEventQuery",
            "resultsBody": {"eventList": [object_event()]}}}
    });
    assert_eq!(validate_document(&query).unwrap().len(), 1);
    let bad_query = json!({
        "@context": CONTEXT,
        "type": "EPCISQueryDocument",
        "epcisBody": {"queryResults": {"resultsBody": {"eventList": [{"type": "ObjectEvent"}]}}}
    });
    let p = "$.epcisBody.queryResults.resultsBody.eventList[0]";
    assert_eq!(
        problems(&bad_query),
        vec![
            (
                ProblemKind::MissingField,
                "$.epcisBody.queryResults.queryName".to_owned()
            ),
            (ProblemKind::MissingField, format!("{p}.eventTime")),
            (
                ProblemKind::MissingField,
                format!("{p}.eventTimeZoneOffset")
            ),
            (ProblemKind::MissingField, format!("{p}.action")),
            (ProblemKind::MissingObjects, p.to_owned()),
        ]
    );
}

#[test]
fn envelope_problems() {
    assert_eq!(problems(&json!([])), one(ProblemKind::WrongType, "$"));
    assert_eq!(
        problems(&json!({})),
        one(ProblemKind::MissingField, "$.type")
    );
    assert_eq!(
        problems(&json!({"type": "Foo"})),
        one(ProblemKind::UnknownDocumentType, "$.type")
    );
    let doc = json!({
        "@context": CONTEXT,
        "type": "EPCISDocument",
        "schemaVersion": "1.2",
        "creationDate": "yesterday",
        "sender": 5,
        "stray": true,
        "epcisHeader": {"epcisMasterData": []},
        "epcisBody": {"eventList": [{"type": "QuantityEvent", "eventTime": "2005-04-03T20:33:31.116-06:00", "eventTimeZoneOffset": "-06:00"}, 5]}
    });
    assert_eq!(
        problems(&doc),
        vec![
            (
                ProblemKind::InvalidSchemaVersion,
                "$.schemaVersion".to_owned()
            ),
            (ProblemKind::InvalidTimestamp, "$.creationDate".to_owned()),
            (ProblemKind::WrongType, "$.sender".to_owned()),
            (ProblemKind::UnknownField, "$.stray".to_owned()),
            (
                ProblemKind::WrongType,
                "$.epcisHeader.epcisMasterData".to_owned()
            ),
            (ProblemKind::UnknownEventType, at(".type")),
            (
                ProblemKind::WrongType,
                "$.epcisBody.eventList[1]".to_owned()
            ),
        ]
    );
    let report = validate_text("{").unwrap_err();
    assert!(report.has(ProblemKind::InvalidJson, "$"));
}

#[test]
fn validate_event_needs_a_context_in_scope() {
    let event = object_event();
    let doc_context = json!([CONTEXT, {"example": "http://ns.example.com/epcis/"}]);
    let valid = validate_event(&event, "$.x", Some(&doc_context)).unwrap();
    assert_eq!(valid.path(), "$.x");
    let report = validate_event(&event, "$.x", None).unwrap_err();
    assert!(report.has(ProblemKind::MissingContext, "$.x['@context']"));
}
