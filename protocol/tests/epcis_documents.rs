//! EPCIS 2.0 documents from external test suites (see `tests/vectors/README.md`):
//! * every `epcis-documents/valid/*.json` validates with zero problems and round-trips
//!   losslessly through the typed model;
//! * every `epcis-documents/invalid/*.json` is rejected with exactly the problems it contains
//!   (kind and JSON path), determined by reading each file;
//! * every `epcis-event-hash/*.jsonld` document parses, validates and round-trips.

use std::collections::BTreeSet;

use provenance_protocol::epcis::{
    EpcisDocument, EpcisEvent, ParseError, ProblemKind, parse_events, validate_document,
};
use serde_json::Value;

const VALID_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/epcis-documents/valid"
);
const INVALID_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/epcis-documents/invalid"
);
const HASH_DIR: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/vectors/epcis-event-hash"
);

fn load(dir: &str, file: &str) -> Value {
    let path = format!("{dir}/{file}");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Validation passes, and the typed model reproduces the input exactly.
fn check_valid(dir: &str, file: &str) {
    let value = load(dir, file);
    let events = validate_document(&value).unwrap_or_else(|report| panic!("{file}: {report}"));
    let expected_len = value["epcisBody"]["eventList"].as_array().map(Vec::len);
    assert_eq!(Some(events.len()), expected_len, "{file}");

    let parsed = parse_events(&value).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(parsed.events.len(), events.len());
    for (valid, parsed) in events.iter().zip(&parsed.events) {
        assert_eq!(valid.raw(), &parsed.raw);
        assert_eq!(valid.event(), &parsed.event);
        // Event level: Value -> typed -> Value is the identity, and typed -> text -> typed too.
        let back = parsed.event.to_value().unwrap();
        assert_eq!(back, parsed.raw, "{file} {}", parsed.path);
        let text = serde_json::to_string(&parsed.event).unwrap();
        let reparsed: EpcisEvent = serde_json::from_str(&text).unwrap();
        assert_eq!(reparsed, parsed.event, "{file} {}", parsed.path);
    }

    // Document level.
    let typed: EpcisDocument =
        serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert_eq!(serde_json::to_value(&typed).unwrap(), value, "{file}");
    let text = serde_json::to_string_pretty(&typed).unwrap();
    let reparsed: EpcisDocument = serde_json::from_str(&text).unwrap();
    assert_eq!(reparsed, typed, "{file}");
}

/// Validation fails with exactly `expected` (kind, path) problems; `parses` says whether the
/// structural parser alone accepts the document.
fn check_invalid(file: &str, parses: bool, expected: &[(ProblemKind, &str)]) {
    let value = load(INVALID_DIR, file);
    let report = match validate_document(&value) {
        Ok(_) => panic!("{file} was accepted"),
        Err(report) => report,
    };
    let found: BTreeSet<(ProblemKind, String)> = report
        .problems()
        .iter()
        .map(|p| (p.kind, p.path.clone()))
        .collect();
    let wanted: BTreeSet<(ProblemKind, String)> = expected
        .iter()
        .map(|(k, p)| (*k, (*p).to_owned()))
        .collect();
    assert_eq!(found, wanted, "{file}:\n{report}");
    assert_eq!(report.problems().len(), expected.len(), "{file}:\n{report}");
    assert_eq!(parse_events(&value).is_ok(), parses, "{file}");
}

macro_rules! vector_tests {
    ($list:ident, $dir:expr, { $($name:ident => $file:literal),* $(,)? }) => {
        $(
            #[test]
            fn $name() {
                check_valid($dir, $file);
            }
        )*
        const $list: &[&str] = &[$($file),*];
    };
}

vector_tests!(VALID_FILES, VALID_DIR, {
    valid_aggregation_event => "AggregationEvent.json",
    valid_aggregation_event_all_possible_fields => "AggregationEvent_all_possible_fields.json",
    valid_association_event => "AssociationEvent.json",
    valid_association_event_all_possible_fields => "AssociationEvent_all_possible_fields.json",
    valid_combination_of_different_event => "Combination_of_different_event.json",
    valid_curie_string_document => "CurieString_document.json",
    valid_namespaces_at_different_level => "Namespaces_at_different_level.json",
    valid_object_event => "ObjectEvent.json",
    valid_object_event_all_possible_fields => "ObjectEvent_all_possible_fields.json",
    valid_object_event_with_digital_link => "ObjectEvent_with_digitalLink.json",
    valid_object_event_with_error_declaration => "ObjectEvent_with_error_declaration.json",
    valid_object_event_with_sensor_data => "ObjectEvent_with_sensorData.json",
    valid_object_event_with_user_extensions => "ObjectEvent_with_userExtensions.json",
    valid_sensor_data_and_extension => "SensorData_and_extension.json",
    valid_transaction_event => "TransactionEvent.json",
    valid_transaction_event_all_possible_fields => "TransactionEvent_all_possible_fields.json",
    valid_transformation_event => "TransformationEvent.json",
    valid_transformation_event_all_possible_fields => "TransformationEvent_all_possible_fields.json",
    valid_transformation_event_with_sensor_data => "TransformationEvent_with_sensorData.json",
});

vector_tests!(HASH_FILES, HASH_DIR, {
    hash_doc_certification_info_and_sensor_report_with_crs => "CertificationInfoAndSensorReportWithCRS.jsonld",
    hash_doc_reference_event_hash_algorithm => "ReferenceEventHashAlgorithm.jsonld",
    hash_doc_reference_event_hash_algorithm2 => "ReferenceEventHashAlgorithm2.jsonld",
    hash_doc_reference_event_hash_algorithm3 => "ReferenceEventHashAlgorithm3.jsonld",
    hash_doc_with_comment => "epcisDocHavingEventWithComment.jsonld",
    hash_doc_with_sensor_data_object_event => "epcisDocWithSensorDataObjectEvent.jsonld",
    hash_doc_with_shipping_and_transporting_event => "epcisDocWithShippingAndTransportingEvent.jsonld",
    hash_doc_with_single_event => "epcisDocWithSingleEvent.jsonld",
    hash_doc_with_various_event_types => "epcisDocWithVariousEventTypes.jsonld",
    hash_doc_event_with_curies => "epcisEventWithCURIEs.jsonld",
    hash_doc_persistent_disposition => "persistentDisposition.jsonld",
});

/// Event 0 lacks `action`; event 1 lacks `action` and `eventTimeZoneOffset`.
#[test]
fn invalid_combination_of_events_with_missing_mandatory_fields() {
    check_invalid(
        "Combination_of_events_with_missing_mandatory_fields.json",
        false,
        &[
            (ProblemKind::MissingField, "$.epcisBody.eventList[0].action"),
            (ProblemKind::MissingField, "$.epcisBody.eventList[1].action"),
            (
                ProblemKind::MissingField,
                "$.epcisBody.eventList[1].eventTimeZoneOffset",
            ),
        ],
    );
}

/// Five events, one mistake each (the last has two): bizStep `transforming` and disposition
/// `in_transport` are not CBV values, source type `place` is not a CBV SDT, an ilmd key is not
/// namespaced, and the last event has eventTime `22-07-2026` and action `CREATE`.
#[test]
fn invalid_combination_of_multiple_invalid_fields() {
    check_invalid(
        "Combination_of_multiple_invalid_fields.json",
        false,
        &[
            (
                ProblemKind::NonStandardVocabulary,
                "$.epcisBody.eventList[0].bizStep",
            ),
            (
                ProblemKind::NonStandardVocabulary,
                "$.epcisBody.eventList[1].disposition",
            ),
            (
                ProblemKind::NonStandardVocabulary,
                "$.epcisBody.eventList[2].sourceList[0].type",
            ),
            (
                ProblemKind::UnknownField,
                "$.epcisBody.eventList[3].ilmd.materialType",
            ),
            (
                ProblemKind::InvalidTimestamp,
                "$.epcisBody.eventList[4].eventTime",
            ),
            (
                ProblemKind::InvalidAction,
                "$.epcisBody.eventList[4].action",
            ),
        ],
    );
}

/// `transforming` is not a CBV 2.0 business step, `in_transport` not a disposition. Both are
/// structurally fine, so the parser alone accepts the document; only validation rejects it.
#[test]
fn invalid_combination_of_non_standard_biz_step_and_disposition() {
    check_invalid(
        "Combination_of_non_standard_bizStep_and_disposition.json",
        true,
        &[
            (
                ProblemKind::NonStandardVocabulary,
                "$.epcisBody.eventList[0].bizStep",
            ),
            (
                ProblemKind::NonStandardVocabulary,
                "$.epcisBody.eventList[1].disposition",
            ),
        ],
    );
    let report = validate_document(&load(
        INVALID_DIR,
        "Combination_of_non_standard_bizStep_and_disposition.json",
    ))
    .unwrap_err();
    let text = report.to_string();
    assert!(text.contains("did you mean `in_transit`?"), "{text}");
}

/// No `@context` at all.
#[test]
fn invalid_epcis_document_without_context() {
    check_invalid(
        "EPCISDocument_without_context.json",
        false,
        &[(ProblemKind::MissingContext, "$['@context']")],
    );
    assert!(matches!(
        parse_events(&load(INVALID_DIR, "EPCISDocument_without_context.json")),
        Err(ParseError::MissingContext)
    ));
}

/// `ilmd` key `materialType` has no namespace prefix.
#[test]
fn invalid_object_event_with_ilmd_field_without_namespace() {
    check_invalid(
        "ObjectEvent_with_ilmd_field_without_namespace.json",
        true,
        &[(
            ProblemKind::UnknownField,
            "$.epcisBody.eventList[0].ilmd.materialType",
        )],
    );
}

/// action `CREATE`.
#[test]
fn invalid_object_event_with_invalid_action() {
    check_invalid(
        "ObjectEvent_with_invalid_action.json",
        false,
        &[(
            ProblemKind::InvalidAction,
            "$.epcisBody.eventList[0].action",
        )],
    );
}

/// certificationInfo entries are objects (`gs1:CertificationDetails`), not URIs.
#[test]
fn invalid_object_event_with_invalid_certification_info() {
    check_invalid(
        "ObjectEvent_with_invalid_certificationInfo.json",
        false,
        &[
            (
                ProblemKind::WrongType,
                "$.epcisBody.eventList[0].certificationInfo[0]",
            ),
            (
                ProblemKind::WrongType,
                "$.epcisBody.eventList[0].certificationInfo[1]",
            ),
        ],
    );
}

/// eventTime `22-07-2026` is not an xsd:dateTimeStamp.
#[test]
fn invalid_object_event_with_invalid_event_time_format() {
    check_invalid(
        "ObjectEvent_with_invalid_eventTime_format.json",
        false,
        &[(
            ProblemKind::InvalidTimestamp,
            "$.epcisBody.eventList[0].eventTime",
        )],
    );
}

const INVALID_FILES: &[&str] = &[
    "Combination_of_events_with_missing_mandatory_fields.json",
    "Combination_of_multiple_invalid_fields.json",
    "Combination_of_non_standard_bizStep_and_disposition.json",
    "EPCISDocument_without_context.json",
    "ObjectEvent_with_ilmd_field_without_namespace.json",
    "ObjectEvent_with_invalid_action.json",
    "ObjectEvent_with_invalid_certificationInfo.json",
    "ObjectEvent_with_invalid_eventTime_format.json",
];

/// A vector added to a folder without a test here would otherwise go unnoticed.
#[test]
fn every_vector_file_has_a_test() {
    for (dir, extension, covered) in [
        (VALID_DIR, ".json", VALID_FILES),
        (INVALID_DIR, ".json", INVALID_FILES),
        (HASH_DIR, ".jsonld", HASH_FILES),
    ] {
        let on_disk: BTreeSet<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(extension))
            .collect();
        let listed: BTreeSet<String> = covered.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(on_disk, listed, "{dir}");
    }
}
