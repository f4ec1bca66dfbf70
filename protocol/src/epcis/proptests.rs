//! Property tests of the EPCIS module:
//! * generated valid events validate, and JSON -> typed -> JSON is the identity;
//! * validation and parsing never panic, on arbitrary JSON and on near-EPCIS documents;
//! * breaking one field of a valid event is always reported at that field;
//! * vocabulary normalisation: all spellings of a standard word agree, and normalising a
//!   canonical form is the identity.

use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Map, Value, json};

use super::model::EpcisEvent;
use super::validate::{ProblemKind, validate_document, validate_event};
use super::vocab::{self, BizStep, Disposition, Term, Vocabulary};
use super::{parse_events, validate_text};

const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

fn document_context() -> Value {
    json!([CONTEXT, {"ex": "https://ns.example.com/ex/"}])
}

fn timestamp() -> impl Strategy<Value = String> {
    (
        1990u32..2100,
        1u32..=12,
        1u32..=28,
        0u32..24,
        0u32..60,
        0u32..60,
        prop::option::of(0u32..1000),
        prop_oneof![
            Just("Z".to_owned()),
            (any::<bool>(), 0u32..14, select(vec![0u32, 30, 45]))
                .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' })),
        ],
    )
        .prop_map(|(y, mo, d, h, mi, s, frac, offset)| {
            let frac = frac.map(|f| format!(".{f:03}")).unwrap_or_default();
            format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}{offset}")
        })
}

fn offset() -> impl Strategy<Value = String> {
    (any::<bool>(), 0u32..14, 0u32..60)
        .prop_map(|(neg, h, m)| format!("{}{h:02}:{m:02}", if neg { '-' } else { '+' }))
}

fn epc() -> impl Strategy<Value = String> {
    prop_oneof![
        "[0-9]{7}\\.[0-9]{6}\\.[0-9A-Za-z]{1,10}".prop_map(|s| format!("urn:epc:id:sgtin:{s}")),
        "[0-9]{14}/21/[0-9A-Za-z]{1,10}".prop_map(|s| format!("https://id.gs1.org/01/{s}")),
    ]
}

fn epc_list() -> impl Strategy<Value = Value> {
    prop::collection::btree_set(epc(), 1..4)
        .prop_map(|set| json!(set.into_iter().collect::<Vec<_>>()))
}

/// JSON numbers that print and parse back exactly (integers, and decimals with 2 digits).
fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0u64..1_000_000).prop_map(Value::from),
        (0i64..10_000_000).prop_map(|n| json!(n as f64 / 100.0)),
    ]
}

fn quantity_list() -> impl Strategy<Value = Value> {
    prop::collection::vec(
        (
            "[0-9]{7}\\.[0-9]{6}\\.[0-9A-Z]{1,8}",
            prop::option::of(number()),
            prop::option::of(select(vec!["KGM", "LTR", "MTR", "C62"])),
        )
            .prop_map(|(class, quantity, uom)| {
                let mut element = Map::new();
                element.insert(
                    "epcClass".into(),
                    json!(format!("urn:epc:class:lgtin:{class}")),
                );
                if let Some(q) = quantity {
                    element.insert("quantity".into(), q);
                    if let Some(u) = uom {
                        element.insert("uom".into(), json!(u));
                    }
                }
                Value::Object(element)
            }),
        1..3,
    )
    .prop_map(Value::Array)
}

fn spelled<T: Term>(words: &'static [T]) -> impl Strategy<Value = Value> {
    // 0: the bare word; k: the word under the k-th namespace spelling.
    (select(words.to_vec()), 0..=T::SPELLINGS.len()).prop_map(|(term, spelling)| {
        json!(match spelling.checked_sub(1) {
            None => term.word().to_owned(),
            Some(k) => format!("{}{}", T::SPELLINGS[k], term.word()),
        })
    })
}

/// Free-form extension content (un-namespaced nested keys are allowed).
fn extension_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        ".{0,12}".prop_map(Value::from),
        number(),
        any::<bool>().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

fn extensions() -> impl Strategy<Value = Vec<(String, Value)>> {
    prop::collection::btree_map("ex:[a-z]{1,8}", extension_value(), 0..3)
        .prop_map(|m| m.into_iter().collect())
}

/// A valid event of any of the five types.
fn valid_event() -> impl Strategy<Value = Value> {
    let common = (
        timestamp(),
        offset(),
        prop::option::of(timestamp()),
        prop::option::of(spelled(BizStep::ALL)),
        prop::option::of(spelled(Disposition::ALL)),
        prop::option::of(epc()),
        extensions(),
    );
    let shape = prop_oneof![
        (
            epc_list(),
            prop::option::of(quantity_list()),
            select(vec!["ADD", "OBSERVE", "DELETE"])
        )
            .prop_map(|(epcs, quantities, action)| {
                let mut m = Map::new();
                m.insert("type".into(), json!("ObjectEvent"));
                m.insert("epcList".into(), epcs);
                if let Some(q) = quantities {
                    m.insert("quantityList".into(), q);
                }
                m.insert("action".into(), json!(action));
                if action == "ADD" {
                    m.insert("ilmd".into(), json!({"cbvmda:lotNumber": "L1"}));
                }
                m
            }),
        (epc(), epc_list(), select(vec!["ADD", "OBSERVE", "DELETE"])).prop_map(
            |(parent, children, action)| {
                let mut m = Map::new();
                m.insert("type".into(), json!("AggregationEvent"));
                m.insert("parentID".into(), json!(parent));
                m.insert("childEPCs".into(), children);
                m.insert("action".into(), json!(action));
                m
            }
        ),
        (epc_list(), select(vec!["po", "desadv", "inv"])).prop_map(|(epcs, btt)| {
            let mut m = Map::new();
            m.insert("type".into(), json!("TransactionEvent"));
            m.insert(
                "bizTransactionList".into(),
                json!([{"type": btt, "bizTransaction": "urn:epcglobal:cbv:bt:0614141073467:1"}]),
            );
            m.insert("epcList".into(), epcs);
            m.insert("action".into(), json!("ADD"));
            m
        }),
        (epc_list(), quantity_list()).prop_map(|(inputs, outputs)| {
            let mut m = Map::new();
            m.insert("type".into(), json!("TransformationEvent"));
            m.insert("inputEPCList".into(), inputs);
            m.insert("outputQuantityList".into(), outputs);
            m
        }),
        (epc(), quantity_list()).prop_map(|(parent, children)| {
            let mut m = Map::new();
            m.insert("type".into(), json!("AssociationEvent"));
            m.insert("parentID".into(), json!(parent));
            m.insert("childQuantityList".into(), children);
            m.insert("action".into(), json!("ADD"));
            m
        }),
    ];
    (shape, common).prop_map(
        |(mut m, (time, offset, record, biz_step, disposition, read_point, extensions))| {
            m.insert("eventTime".into(), json!(time));
            m.insert("eventTimeZoneOffset".into(), json!(offset));
            if let Some(r) = record {
                m.insert("recordTime".into(), json!(r));
            }
            if let Some(b) = biz_step {
                m.insert("bizStep".into(), b);
            }
            if let Some(d) = disposition {
                m.insert("disposition".into(), d);
            }
            if let Some(r) = read_point {
                m.insert("readPoint".into(), json!({"id": r}));
            }
            m.extend(extensions);
            Value::Object(m)
        },
    )
}

fn document_with(events: Vec<Value>) -> Value {
    json!({
        "@context": document_context(),
        "type": "EPCISDocument",
        "schemaVersion": "2.0",
        "creationDate": "2024-01-01T00:00:00Z",
        "epcisBody": {"eventList": events}
    })
}

/// Arbitrary JSON whose keys are often EPCIS field names.
fn arbitrary_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(|f| json!(f)),
        ".{0,16}".prop_map(Value::from),
        select(vec![
            "ADD",
            "shipping",
            "in_transit",
            "2024-01-01T00:00:00Z",
            "+01:00",
            "urn:epc:id:sgtin:1.2.3",
            "ObjectEvent",
            "AggregationEvent",
            "TransformationEvent",
            "ex:x",
            "cbv:BizStep-",
            CONTEXT,
        ])
        .prop_map(Value::from),
    ];
    let key = prop_oneof![
        select(vec![
            "type",
            "@context",
            "eventTime",
            "eventTimeZoneOffset",
            "action",
            "epcList",
            "quantityList",
            "parentID",
            "childEPCs",
            "bizStep",
            "disposition",
            "ilmd",
            "sensorElementList",
            "sensorReport",
            "sensorMetadata",
            "errorDeclaration",
            "certificationInfo",
            "bizTransactionList",
            "sourceList",
            "readPoint",
            "id",
            "epcisBody",
            "eventList",
            "quantity",
            "epcClass",
            "set",
            "unset",
            "persistentDisposition",
            "inputEPCList",
            "outputQuantityList",
            "ex:x",
            "bad:x",
        ])
        .prop_map(str::to_owned),
        ".{0,8}",
    ];
    leaf.prop_recursive(5, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..8)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #[test]
    fn generated_events_validate_and_round_trip(events in prop::collection::vec(valid_event(), 1..4)) {
        let doc = document_with(events.clone());
        let valid = validate_document(&doc).map_err(|r| TestCaseError::fail(r.to_string()))?;
        prop_assert_eq!(valid.len(), events.len());
        for (raw, valid) in events.iter().zip(&valid) {
            let typed = EpcisEvent::from_value(raw).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&typed, valid.event());
            let back = typed.to_value().map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(&back, raw);
            let text = serde_json::to_string(&typed).map_err(|e| TestCaseError::fail(e.to_string()))?;
            let reparsed: EpcisEvent = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(reparsed, typed);
        }
        let parsed = parse_events(&doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(parsed.events.len(), events.len());
    }

    #[test]
    fn validation_never_panics_on_arbitrary_json(value in arbitrary_json()) {
        check_total(&value)?;
        let _ = validate_text(&value.to_string());
    }

    #[test]
    fn validation_never_panics_on_near_epcis_documents(
        events in prop::collection::vec(arbitrary_json(), 0..4),
        context in prop_oneof![Just(document_context()), arbitrary_json()],
        doc_type in select(vec!["EPCISDocument", "EPCISQueryDocument", "ObjectEvent", "x"]),
    ) {
        let events: Vec<Value> = events
            .into_iter()
            .map(|e| match e {
                Value::Object(mut m) => {
                    m.entry("type").or_insert(json!("ObjectEvent"));
                    Value::Object(m)
                }
                other => other,
            })
            .collect();
        let mut doc = document_with(events.clone());
        doc["@context"] = context;
        doc["type"] = json!(doc_type);
        if doc_type == "EPCISQueryDocument" {
            doc["epcisBody"] = json!({"queryResults": {"queryName": "q", "resultsBody": {"eventList": events}}});
        }
        check_total(&doc)?;
        for event in &events {
            let _ = validate_event(event, "$.e", Some(&document_context()));
        }
    }

    #[test]
    fn a_broken_action_is_reported_where_it_is(
        event in valid_event(),
        action in "[A-Za-z]{0,10}".prop_filter("not a valid action", |a| !["ADD", "OBSERVE", "DELETE"].contains(&a.as_str())),
    ) {
        let mut event = event;
        let transformation = event["type"] == "TransformationEvent";
        event["action"] = json!(action);
        let report = validate_event(&event, "$.e", Some(&document_context())).err();
        let report = report.ok_or_else(|| TestCaseError::fail("accepted a bad action"))?;
        let kind = if transformation { ProblemKind::FieldNotAllowed } else { ProblemKind::InvalidAction };
        prop_assert!(report.has(kind, "$.e.action"), "{}", report);
    }

    #[test]
    fn a_non_standard_biz_step_word_is_reported(event in valid_event(), word in "[a-z_]{1,20}") {
        prop_assume!(BizStep::from_word(&word).is_none());
        let mut event = event;
        event["bizStep"] = json!(word);
        let report = validate_event(&event, "$.e", Some(&document_context()))
            .err()
            .ok_or_else(|| TestCaseError::fail("accepted a non-standard bizStep"))?;
        prop_assert!(report.has(ProblemKind::NonStandardVocabulary, "$.e.bizStep"), "{}", report);
    }

    #[test]
    fn broken_time_zone_offsets_are_reported(event in valid_event(), bad in ".{0,8}") {
        prop_assume!(super::timestamp::TimeZoneOffset::parse(&bad).is_err());
        let mut event = event;
        event["eventTimeZoneOffset"] = json!(bad);
        let report = validate_event(&event, "$.e", Some(&document_context()))
            .err()
            .ok_or_else(|| TestCaseError::fail("accepted a bad offset"))?;
        prop_assert!(report.has(ProblemKind::InvalidTimeZoneOffset, "$.e.eventTimeZoneOffset"), "{}", report);
    }

    #[test]
    fn all_spellings_of_a_biz_step_normalise_equal(step in select(BizStep::ALL.to_vec())) {
        let w = step.word();
        let spellings = [
            w.to_owned(),
            format!("urn:epcglobal:cbv:bizstep:{w}"),
            format!("https://ref.gs1.org/cbv/BizStep-{w}"),
            format!("cbv:BizStep-{w}"),
        ];
        for s in &spellings {
            let n = vocab::normalise_biz_step(s).map_err(|e| TestCaseError::fail(e.to_string()))?;
            prop_assert_eq!(n.canonical(), step.uri());
        }
    }

    #[test]
    fn normalisation_is_idempotent(value in ".{0,40}", vocabulary in select(Vocabulary::ALL.to_vec())) {
        if let Ok(canonical) = vocabulary.canonical(&value) {
            prop_assert_eq!(vocabulary.canonical(canonical), Ok(canonical));
        }
    }
}

/// Validation and parsing return (never panic), and agree with each other.
fn check_total(value: &Value) -> Result<(), TestCaseError> {
    match validate_document(value) {
        Ok(events) => {
            let parsed = parse_events(value)
                .map_err(|e| TestCaseError::fail(format!("valid but unparseable: {e}")))?;
            prop_assert_eq!(parsed.events.len(), events.len());
            for event in &events {
                let typed = EpcisEvent::from_value(event.raw()).ok();
                prop_assert_eq!(Some(event.event()), typed.as_ref());
            }
        }
        Err(report) => prop_assert!(!report.problems().is_empty()),
    }
    Ok(())
}

#[test]
fn every_standard_word_of_every_list_normalises_in_each_spelling() {
    for vocabulary in Vocabulary::ALL {
        for word in vocabulary.words() {
            let canonical = vocabulary.canonical_of_word(word).unwrap();
            assert_eq!(vocabulary.canonical(word), Ok(canonical));
            for prefix in vocabulary.spellings() {
                let spelled = format!("{prefix}{word}");
                assert_eq!(vocabulary.canonical(&spelled), Ok(canonical), "{spelled}");
            }
        }
    }
}
