//! Property tests of the Event Hash ID: invariant under what does not change an event's meaning,
//! sensitive to everything that does, and total (an error, never a panic) on any JSON.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::{JsonLdContext, document_event_hash_ids, event_hash_id, prehash_string};

fn context() -> JsonLdContext {
    JsonLdContext::epcis().with_prefix("example", "https://ns.example.com/epcis/")
}

fn hash(event: &Value) -> super::EventHashId {
    event_hash_id(event, &context()).unwrap()
}

/// `(company prefix, item reference, serial)` of an SGTIN.
fn sgtin() -> impl Strategy<Value = (String, String, String)> {
    (6usize..=12, "[0-9]{13}", "[A-Za-z0-9]{1,10}").prop_map(|(gcp_len, digits, serial)| {
        let (gcp, item) = digits.split_at(gcp_len);
        (gcp.to_owned(), item.to_owned(), serial)
    })
}

fn sgtin_urn((gcp, item, serial): &(String, String, String)) -> String {
    format!("urn:epc:id:sgtin:{gcp}.{item}.{serial}")
}

fn extension_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        "[a-z]{1,8}".prop_map(Value::from),
        (0u32..10_000).prop_map(Value::from),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..3).prop_map(Value::from),
            prop::collection::btree_map("example:[a-c]", inner, 1..3)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

/// A valid ObjectEvent with lists, nested structures and user extensions.
fn object_event() -> impl Strategy<Value = Value> {
    (
        prop::collection::vec(sgtin(), 1..5),
        prop::collection::vec((sgtin(), 1u32..1000), 0..3),
        prop::sample::select(vec!["OBSERVE", "ADD", "DELETE"]),
        prop::sample::select(vec!["receiving", "shipping", "inspecting"]),
        0i64..4_000_000_000,
        prop::collection::vec(
            (prop::sample::select(vec!["po", "desadv", "inv"]), 0u32..100),
            0..3,
        ),
        prop::collection::btree_map("example:[a-e]", extension_value(), 0..4),
        prop::collection::vec((1u32..100, prop::sample::select(vec!["Temperature", "Mass"])), 0..3),
    )
        .prop_map(
            |(epcs, quantities, action, biz_step, seconds, transactions, extensions, reports)| {
                let time = time::OffsetDateTime::from_unix_timestamp(seconds)
                    .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
                let mut event = json!({
                    "type": "ObjectEvent",
                    "eventTime": format!(
                        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
                        time.year(), u8::from(time.month()), time.day(),
                        time.hour(), time.minute(), time.second()
                    ),
                    "eventTimeZoneOffset": "+00:00",
                    "epcList": epcs.iter().map(sgtin_urn).collect::<Vec<_>>(),
                    "action": action,
                    "bizStep": biz_step,
                    "readPoint": {"id": "urn:epc:id:sgln:4012345.00011.987"},
                });
                if !quantities.is_empty() {
                    event["quantityList"] = quantities
                        .iter()
                        .map(|((gcp, item, lot), quantity)| {
                            json!({
                                "epcClass": format!("urn:epc:class:lgtin:{gcp}.{item}.{lot}"),
                                "quantity": quantity,
                                "uom": "KGM",
                            })
                        })
                        .collect();
                }
                if !transactions.is_empty() {
                    event["bizTransactionList"] = transactions
                        .iter()
                        .map(|(kind, n)| {
                            json!({"type": kind, "bizTransaction": format!("http://tx.example.com/{n}")})
                        })
                        .collect();
                }
                if !reports.is_empty() {
                    event["sensorElementList"] = json!([{
                        "sensorReport": reports
                            .iter()
                            .map(|(value, kind)| json!({"type": kind, "value": value, "uom": "CEL"}))
                            .collect::<Vec<_>>(),
                    }]);
                }
                for (key, value) in extensions {
                    event[key] = value;
                }
                event
            },
        )
}

/// A deterministic permutation source for reshuffling JSON (xorshift64*).
struct Shuffler(u64);

impl Shuffler {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % bound.max(1) as u64).unwrap_or(0)
    }

    fn permute<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// `value` with every object's member order and every array's element order permuted.
    fn shuffle(&mut self, value: &Value) -> Value {
        match value {
            Value::Array(elements) => {
                let mut elements: Vec<Value> = elements.iter().map(|e| self.shuffle(e)).collect();
                self.permute(&mut elements);
                Value::Array(elements)
            }
            Value::Object(members) => {
                let mut members: Vec<(String, Value)> = members
                    .iter()
                    .map(|(k, v)| (k.clone(), self.shuffle(v)))
                    .collect();
                self.permute(&mut members);
                Value::Object(members.into_iter().collect::<Map<_, _>>())
            }
            scalar => scalar.clone(),
        }
    }
}

/// A change to what an event says; each must change its hash.
#[derive(Debug, Clone)]
enum Mutation {
    Action,
    EpcSerial(usize),
    DropEpc(usize),
    EventTime,
    BizStep,
    NewExtension,
    Quantity,
    TransactionType,
    ReadPoint,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::Action),
        (0usize..8).prop_map(Mutation::EpcSerial),
        (0usize..8).prop_map(Mutation::DropEpc),
        Just(Mutation::EventTime),
        Just(Mutation::BizStep),
        Just(Mutation::NewExtension),
        Just(Mutation::Quantity),
        Just(Mutation::TransactionType),
        Just(Mutation::ReadPoint),
    ]
}

/// Applies `mutation`; `false` if it does not apply to this event.
fn mutate(event: &mut Value, mutation: &Mutation) -> bool {
    match mutation {
        Mutation::Action => {
            let next = match event["action"].as_str() {
                Some("OBSERVE") => "ADD",
                _ => "OBSERVE",
            };
            event["action"] = json!(next);
        }
        Mutation::EpcSerial(i) => {
            let Some(epc) = event["epcList"].get_mut(*i) else {
                return false;
            };
            *epc = json!(format!("{}X", epc.as_str().unwrap_or_default()));
        }
        Mutation::DropEpc(i) => {
            let Some(epcs) = event["epcList"].as_array_mut() else {
                return false;
            };
            if *i >= epcs.len() {
                return false;
            }
            epcs.remove(*i);
        }
        Mutation::EventTime => {
            let time = event["eventTime"]
                .as_str()
                .unwrap_or_default()
                .replace('Z', ".001Z");
            event["eventTime"] = json!(time);
        }
        Mutation::BizStep => {
            // The URN form of a *different* step.
            let next = match event["bizStep"].as_str() {
                Some("shipping") => "urn:epcglobal:cbv:bizstep:receiving",
                _ => "urn:epcglobal:cbv:bizstep:shipping",
            };
            event["bizStep"] = json!(next);
        }
        Mutation::NewExtension => event["example:zzz"] = json!("new"),
        Mutation::Quantity => {
            let Some(quantity) = event.pointer_mut("/quantityList/0/quantity") else {
                return false;
            };
            *quantity = json!(quantity.as_u64().unwrap_or(0) + 1);
        }
        Mutation::TransactionType => {
            let Some(kind) = event.pointer_mut("/bizTransactionList/0/type") else {
                return false;
            };
            *kind = json!(if kind.as_str() == Some("rma") {
                "recadv"
            } else {
                "rma"
            });
        }
        Mutation::ReadPoint => {
            event["readPoint"]["id"] = json!("urn:epc:id:sgln:4012345.00011.988")
        }
    }
    true
}

/// Any JSON, biased towards EPCIS member names and GS1-looking strings.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        "\\PC{0,24}".prop_map(Value::from),
        prop::sample::select(vec![
            "urn:epc:id:sgtin:0614141.107346.2017",
            "urn:epc:idpat:grai:401234500000...*",
            "https://example.com/gtin/614141123452/ser/1?x",
            "https://id.gs1.org/01/09520123456788/22/%%/10/ä",
            "2020-02-30T25:61:61.99999+99:99",
            "2020-01-01T00:00:00.9999Z",
            "receiving",
            "gs1:Temperature",
            "example:",
            ":",
            "1e999",
            "-0.0",
        ])
        .prop_map(Value::from),
    ];
    let key = prop::sample::select(vec![
        "type",
        "eventTime",
        "epcList",
        "quantityList",
        "bizTransactionList",
        "sourceList",
        "readPoint",
        "id",
        "sensorElementList",
        "sensorReport",
        "sensorMetadata",
        "time",
        "ilmd",
        "@context",
        "example:x",
        "example:xList",
        "rdfs:comment",
        "persistentDisposition",
        "set",
        "value",
        "bizStep",
        "errorDeclaration",
    ])
    .prop_map(str::to_owned);
    leaf.prop_recursive(5, 96, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::from),
            prop::collection::vec((key.clone(), inner), 0..6)
                .prop_map(|members| Value::Object(members.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn member_and_element_order_do_not_matter(event in object_event(), seed in 1u64..) {
        let reshuffled = Shuffler(seed).shuffle(&event);
        prop_assert_eq!(
            prehash_string(&reshuffled, &context()).unwrap(),
            prehash_string(&event, &context()).unwrap()
        );
    }

    #[test]
    fn excluded_members_do_not_matter(
        event in object_event(),
        record_time in "20[0-9]{2}-0[1-9]-1[0-9]T1[0-9]:00:00Z",
        event_id in "[a-z0-9]{0,20}",
        comment in "\\PC{0,20}",
    ) {
        let mut annotated = event.clone();
        annotated["recordTime"] = json!(record_time);
        annotated["eventID"] = json!(format!("urn:uuid:{event_id}"));
        annotated["errorDeclaration"] = json!({"declarationTime": record_time, "reason": "incorrect_data"});
        annotated["rdfs:comment"] = json!(comment);
        annotated["@context"] = json!({"other": "https://other.example/"});
        prop_assert_eq!(hash(&annotated), hash(&event));
    }

    #[test]
    fn every_change_of_content_changes_the_hash(event in object_event(), change in mutation()) {
        let mut changed = event.clone();
        prop_assume!(mutate(&mut changed, &change));
        prop_assert_ne!(hash(&changed), hash(&event), "{:?}", change);
    }

    /// URN or Digital Link, short name or URN or Web URI, any zone offset: one hash.
    #[test]
    fn equivalent_spellings_hash_alike(
        epc in sgtin(),
        offset_hours in -11i32..=11,
        report in prop::sample::select(vec!["Temperature", "gs1:Temperature", "https://gs1.org/voc/Temperature"]),
    ) {
        let (gcp, item, serial) = &epc;
        let digital_link = super::epc_urn::to_digital_link(&sgtin_urn(&epc)).unwrap();
        let local_hour = (12 + offset_hours).rem_euclid(24);
        let sign = if offset_hours < 0 { '-' } else { '+' };
        let with_urns = json!({
            "type": "ObjectEvent",
            "eventTime": "2024-05-01T12:00:00Z",
            "epcList": [format!("urn:epc:id:sgtin:{gcp}.{item}.{serial}")],
            "bizStep": "urn:epcglobal:cbv:bizstep:shipping",
            "sensorElementList": [{"sensorReport": [{"type": "Temperature", "value": 5}]}],
        });
        let with_web_uris = json!({
            "sensorElementList": [{"sensorReport": [{"value": 5.0, "type": report}]}],
            "bizStep": "shipping",
            "epcList": [digital_link.replace("https://id.gs1.org", "https://brand.example")],
            "eventTime": format!("2024-05-01T{local_hour:02}:00:00.000{sign}{:02}:00", offset_hours.abs()),
            "type": "ObjectEvent",
        });
        prop_assert_eq!(hash(&with_web_uris), hash(&with_urns));
    }

    #[test]
    fn never_panics_on_any_json(value in any_json()) {
        prop_assert_eq!(
            event_hash_id(&value, &context()).is_ok(),
            prehash_string(&value, &context()).is_ok()
        );
        let _ = document_event_hash_ids(&value);
        let _ = document_event_hash_ids(&json!({"epcisBody": {"eventList": [value]}}));
    }

    #[test]
    fn never_panics_with_any_json_in_known_members(
        members in prop::collection::vec((
            prop::sample::select(vec![
                "eventTime", "epcList", "quantityList", "childQuantityList", "bizTransactionList",
                "sourceList", "destinationList", "readPoint", "bizLocation", "sensorElementList",
                "persistentDisposition", "ilmd", "bizStep", "disposition", "certificationInfo",
                "@context", "example:ext", "example:extList",
            ]),
            any_json(),
        ), 0..6),
    ) {
        let mut event = json!({"type": "ObjectEvent"});
        for (key, value) in members {
            event[key] = value;
        }
        match event_hash_id(&event, &context()) {
            Ok(_) => {}
            Err(error) => prop_assert!(!error.to_string().is_empty()),
        }
    }
}
