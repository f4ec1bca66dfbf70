//! Stories built from real signed events: a coffee journey through a pallet, cold-chain limits
//! from every source, certifications, recalls and their retraction.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};

use super::*;
use crate::bundle::verdict::{Place, SensorClaim};
use crate::crypto::SigningKey;
use crate::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use crate::rules::{LedgerView, resolve_identifier};

const CHAIN: &str = "claims-test";
const CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";
const PROV_NS: &str = "https://provenance.dev/ns/epcis#";
/// 2025-06-01T00:00:00Z: the anchor's block time.
const ANCHOR_MS: u64 = 1_748_736_000_000;

const ORGS: &[(&str, &[Role], &str)] = &[
    ("Farm", &[Role::Manufacturer, Role::Validator], "0614141"),
    ("Roaster", &[Role::Manufacturer], "0614142"),
    ("Hauler", &[Role::Distributor], "0614143"),
    ("Shop", &[Role::Retailer], "0614144"),
    ("Lab", &[Role::Certifier], "0614145"),
];

const G1: &str = "urn:epc:id:sgtin:0614141.107346.G1";
const G2: &str = "urn:epc:id:sgtin:0614141.107346.G2";
const R1: &str = "urn:epc:id:sgtin:0614142.004521.R1";
const R2: &str = "urn:epc:id:sgtin:0614142.004521.R2";
const PALLET: &str = "urn:epc:id:sscc:0614142.1000000001";
const FARM_SITE: &str = "urn:epc:id:sgln:0614141.00001.0";
const ROASTERY: &str = "urn:epc:id:sgln:0614142.00001.0";
const HUB: &str = "urn:epc:id:sgln:0614143.00001.0";
const STORE: &str = "urn:epc:id:sgln:0614144.00001.0";
const ORGANIC: &str = "https://certificates.example/organic/EU-ORG-42";

/// Signed events and what the verifier would pass along with them.
struct Fixture {
    registry: MemoryState,
    keys: BTreeMap<&'static str, SigningKey>,
    sequences: BTreeMap<&'static str, u64>,
    records: Vec<SignedEvent>,
    events: Vec<Option<EpcisEvent>>,
    signers: Vec<Option<String>>,
    verified: Vec<bool>,
    tracked: BTreeSet<EpcKey>,
    policy: ColdChainPolicy,
}

impl Fixture {
    fn new() -> Self {
        let mut keys = BTreeMap::new();
        let mut participants = Vec::new();
        for (i, (name, roles, prefix)) in (1u8..).zip(ORGS) {
            let key = SigningKey::from_seed([i; 32]);
            participants.push(Participant {
                name: (*name).into(),
                roles: roles.to_vec(),
                signing_key: key.public_key(),
                network_key: SigningKey::from_seed([i + 100; 32]).public_key(),
                company_prefixes: vec![(*prefix).into()],
            });
            keys.insert(*name, key);
        }
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: 1_735_725_600_000,
            participants,
            validators: vec![GenesisValidator {
                participant: "Farm".into(),
                power: 1,
            }],
            params: ConsensusParams::default(),
        };
        genesis.validate().unwrap();
        Fixture {
            registry: MemoryState::from_genesis(&genesis),
            keys,
            sequences: BTreeMap::new(),
            records: Vec::new(),
            events: Vec::new(),
            signers: Vec::new(),
            verified: Vec::new(),
            tracked: BTreeSet::new(),
            policy: ColdChainPolicy::default(),
        }
    }

    /// Signs `event` as `who`, verifies it as the verifier would, and appends it to the log.
    fn record(&mut self, who: &'static str, event: Value) -> usize {
        let sequence = self.sequences.entry(who).or_insert(0);
        *sequence += 1;
        let record = SignedEvent::sign(&self.keys[who], CHAIN, *sequence, &event).unwrap();
        let parsed = record.verify(CHAIN).unwrap().event;
        let signer = self
            .registry
            .participant_by_key(&record.signer)
            .map(|p| p.name);
        assert_eq!(signer.as_deref(), Some(who));
        self.records.push(record);
        self.events.push(Some(parsed));
        self.signers.push(signer);
        self.verified.push(true);
        self.records.len() - 1
    }

    fn track(&mut self, identifiers: &[&str]) {
        for id in identifiers {
            self.tracked.insert(key(id));
        }
    }

    fn story(&self, subject: &str) -> Story {
        let subject = Subject::parse(subject).unwrap();
        let events = (0..self.records.len())
            .map(|i| StoryEvent {
                index: i,
                record: &self.records[i],
                event: self.events[i].as_ref(),
                signer: self.signers[i].clone(),
                height: i as u64 + 1,
                verified: self.verified[i],
            })
            .collect();
        story(&StoryInput {
            subject: &subject,
            events,
            tracked: &self.tracked,
            registry: &self.registry,
            policy: &self.policy,
            anchor_time_ms: ANCHOR_MS,
        })
    }
}

fn key(id: &str) -> EpcKey {
    resolve_identifier(id).unwrap().key
}

/// `2025-03-{day}T{hour}:00:00.000+01:00`.
fn at(day: u32, hour: u32) -> String {
    format!("2025-03-{day:02}T{hour:02}:00:00.000+01:00")
}

fn pgln(prefix: &str) -> String {
    format!("urn:epc:id:pgln:{prefix}.00000")
}

/// An event with the EPCIS context plus the `prov` and `ex` namespaces.
fn event(kind: &str, time: &str, fields: Value) -> Value {
    let mut event = json!({
        "@context": [CONTEXT, {"prov": PROV_NS, "ex": "https://ns.example/"}],
        "type": kind,
        "eventTime": time,
        "eventTimeZoneOffset": "+01:00",
    });
    if let (Some(target), Value::Object(fields)) = (event.as_object_mut(), fields) {
        target.extend(fields);
    }
    event
}

fn object(time: &str, epcs: &[&str], fields: Value) -> Value {
    let mut e = event("ObjectEvent", time, fields);
    e["epcList"] = json!(epcs);
    if e.get("action").is_none() {
        e["action"] = json!("OBSERVE");
    }
    e
}

fn ship(time: &str, epcs: &[&str], to_prefix: &str, from_site: &str, extra: Value) -> Value {
    let mut e = object(
        time,
        epcs,
        json!({
            "bizStep": "shipping",
            "disposition": "in_transit",
            "readPoint": {"id": from_site},
            "destinationList": [{"type": "possessing_party", "destination": pgln(to_prefix)}]
        }),
    );
    if let (Some(target), Value::Object(extra)) = (e.as_object_mut(), extra) {
        target.extend(extra);
    }
    e
}

fn receive(time: &str, epcs: &[&str], site: &str, extra: Value) -> Value {
    let mut e = object(
        time,
        epcs,
        json!({"bizStep": "receiving", "disposition": "in_progress",
               "readPoint": {"id": site}, "bizLocation": {"id": site}}),
    );
    if let (Some(target), Value::Object(extra)) = (e.as_object_mut(), extra) {
        target.extend(extra);
    }
    e
}

fn temperature(fields: Value) -> Value {
    let mut report = json!({"type": "gs1:Temperature"});
    if let (Some(target), Value::Object(fields)) = (report.as_object_mut(), fields) {
        target.extend(fields);
    }
    json!({"sensorElementList": [{
        "sensorMetadata": {"startTime": at(6, 12), "endTime": at(7, 9), "deviceID": "urn:epc:id:giai:0614142.LOGGER-1"},
        "sensorReport": [report]
    }]})
}

/// Green coffee from the farm, certified organic, roasted into retail bags that travel on a
/// pallet through a hauler to a shop, where one is sold. The certification is recorded after
/// the shipment but happened before it. The consumer's default limit (at most 0 °C) must lose
/// to the limits the roaster declared.
fn journey() -> Fixture {
    let mut f = Fixture::new();
    f.policy.default = Some(Threshold {
        min: None,
        max: Some(0.0),
        uom: "CEL".into(),
        source: String::new(),
    });
    f.record(
        "Farm",
        object(
            &at(1, 10),
            &[G1, G2],
            json!({
                "action": "ADD", "bizStep": "commissioning", "disposition": "active",
                "readPoint": {"id": FARM_SITE}, "bizLocation": {"id": FARM_SITE},
                "ilmd": {"cbvmda:countryOfOrigin": "CO", "cbvmda:lotNumber": "LE-1", "ex:region": "Huila"}
            }),
        ),
    );
    f.record(
        "Farm",
        ship(&at(3, 10), &[G1, G2], "0614142", FARM_SITE, json!({})),
    );
    f.record(
        "Lab",
        object(
            &at(2, 10),
            &[G1, G2],
            json!({
                "bizStep": "inspecting", "disposition": "conformant",
                "readPoint": {"id": FARM_SITE},
                "certificationInfo": ORGANIC,
                "gs1:certification": {
                    "gs1:certificationStandard": "EU Organic",
                    "gs1:certificationAgency": "EcoCert",
                    "gs1:certificationIdentification": "EU-ORG-42",
                    "gs1:certificationStartDate": "2025-01-01",
                    "gs1:certificationEndDate": "2025-12-31"
                }
            }),
        ),
    );
    f.record(
        "Roaster",
        receive(&at(5, 10), &[G1, G2], ROASTERY, json!({})),
    );
    f.record(
        "Roaster",
        event(
            "TransformationEvent",
            &at(6, 10),
            json!({
                "inputEPCList": [G1, G2], "outputEPCList": [R1, R2],
                "bizStep": "commissioning", "disposition": "active",
                "readPoint": {"id": ROASTERY}, "bizLocation": {"id": ROASTERY},
                "ilmd": {"cbvmda:lotNumber": "R-7", "ex:roast": "medium",
                         "prov:temperatureMin": 10, "prov:temperatureMax": 25}
            }),
        ),
    );
    f.record(
        "Roaster",
        event(
            "AggregationEvent",
            &at(6, 12),
            json!({"parentID": PALLET, "childEPCs": [R1, R2], "action": "ADD",
                   "bizStep": "packing", "readPoint": {"id": ROASTERY}}),
        ),
    );
    f.record(
        "Roaster",
        ship(
            &at(7, 10),
            &[PALLET],
            "0614143",
            ROASTERY,
            temperature(
                json!({"minValue": 14.5, "maxValue": 19.5, "meanValue": 16.8, "uom": "CEL"}),
            ),
        ),
    );
    // 80.6 °F is 27 °C: above the roaster's 25 °C.
    f.record(
        "Hauler",
        receive(
            &at(8, 10),
            &[PALLET],
            HUB,
            temperature(json!({"value": 80.6, "uom": "FAH"})),
        ),
    );
    f.record(
        "Hauler",
        ship(&at(8, 18), &[PALLET], "0614144", HUB, json!({})),
    );
    f.record("Shop", receive(&at(9, 10), &[PALLET], STORE, json!({})));
    f.record(
        "Shop",
        event(
            "AggregationEvent",
            &at(9, 12),
            json!({"parentID": PALLET, "childEPCs": [R1, R2], "action": "DELETE",
                   "bizStep": "unpacking", "readPoint": {"id": STORE}}),
        ),
    );
    f.record(
        "Shop",
        object(
            &at(10, 10),
            &[R1],
            json!({"bizStep": "retail_selling", "disposition": "retail_sold", "readPoint": {"id": STORE}}),
        ),
    );
    // What the closure of R1 upstream is: the bag, its pallet, the green coffee.
    f.track(&[R1, PALLET, G1, G2]);
    f
}

#[test]
fn product_names_maker_place_origin_lot_and_master_data() {
    let story = journey().story(R1);
    let product = story.product.unwrap();
    assert_eq!(product.identifier, key(R1).0);
    assert_eq!(product.maker.as_deref(), Some("Roaster"));
    assert_eq!(product.made_at, Some(at(6, 10)));
    assert_eq!(
        product.made_where,
        Some(Place {
            id: ROASTERY.into(),
            operator: Some("Roaster".into())
        })
    );
    // The roast declares no origin; the green coffee it was made from does.
    assert_eq!(product.origin_country.as_deref(), Some("CO"));
    assert_eq!(product.lot.as_deref(), Some("R-7"));
    assert_eq!(product.master_data["ex:roast"], "medium");
    assert_eq!(product.master_data["prov:temperatureMax"], "25");
    assert_eq!(product.master_data.len(), 4);

    let green = journey().story(G1).product.unwrap();
    assert_eq!(green.maker.as_deref(), Some("Farm"));
    assert_eq!(green.origin_country.as_deref(), Some("CO"));
    assert_eq!(green.lot.as_deref(), Some("LE-1"));
    assert_eq!(green.made_where.unwrap().operator.as_deref(), Some("Farm"));
}

#[test]
fn steps_are_phrased_and_ordered_by_event_time() {
    let story = journey().story(R1);
    let packed = format!("Packed into {PALLET}");
    let unpacked = format!("Unpacked from {PALLET}");
    let what: Vec<(usize, &str)> = story
        .steps
        .iter()
        .map(|s| (s.event_index, s.what.as_str()))
        .collect();
    assert_eq!(
        what,
        vec![
            (0, "Commissioned"),
            (2, "Certified (EU Organic)"),
            (1, "Shipped to Roaster"),
            (3, "Received"),
            (4, "Transformed into 2 items"),
            (5, packed.as_str()),
            (6, "Shipped to Hauler"),
            (7, "Received"),
            (8, "Shipped to Shop"),
            (9, "Received"),
            (10, unpacked.as_str()),
            (11, "Sold"),
        ]
    );
    let first = &story.steps[0];
    assert_eq!(first.event_type, "ObjectEvent");
    assert_eq!(first.biz_step.as_deref(), Some("commissioning"));
    assert_eq!(first.disposition.as_deref(), Some("active"));
    assert_eq!(first.who, "Farm");
    assert_eq!(first.when, at(1, 10));
    assert_eq!(first.time_zone_offset, "+01:00");
    // 2025-03-01T10:00+01:00 is 09:00 UTC.
    assert_eq!(first.when_ms, 1_740_819_600_000);
    assert_eq!(
        first.where_.as_ref().unwrap().operator.as_deref(),
        Some("Farm")
    );
    assert_eq!(first.identifiers, [G1, G2]);
    assert_eq!(
        first.event_hash_id,
        journey().records[0].event_hash_id.to_string()
    );
    assert_eq!(
        (first.height, first.verified, first.retracted),
        (1, true, false)
    );
    // The roasting names only the tracked bag among its outputs (R2 is not in the story).
    assert_eq!(story.steps[4].identifiers, [G1, G2, R1]);
    assert!(story.steps.windows(2).all(|w| w[0].when_ms <= w[1].when_ms));
    assert_eq!(story.related.len(), 3);
    assert!(!story.related.contains(&key(R1).0));
    assert!(story.related.contains(&key(PALLET).0));
    assert!(story.recalls.is_empty() && story.error_declarations.is_empty());
}

#[test]
fn custody_follows_the_pallet_while_the_bag_is_on_it() {
    let story = journey().story(R1);
    let periods: Vec<(&str, usize, Option<usize>)> = story
        .custody
        .iter()
        .map(|c| (c.holder.as_str(), c.from_event, c.until_event))
        .collect();
    // Made by the roaster; handed over with the pallet at each receipt (not at shipping);
    // unpacking by the shop keeps it with the shop; the sale ends custody.
    assert_eq!(
        periods,
        [
            ("Roaster", 4, Some(7)),
            ("Hauler", 7, Some(9)),
            ("Shop", 9, Some(11)),
        ]
    );
    assert_eq!(story.custody[0].from, at(6, 10));
    assert_eq!(story.custody[2].until, Some(at(10, 10)));

    // The green coffee: the farm until the roaster received it, the roaster until roasting.
    let green = journey().story(G1);
    let periods: Vec<(&str, usize, Option<usize>)> = green
        .custody
        .iter()
        .map(|c| (c.holder.as_str(), c.from_event, c.until_event))
        .collect();
    assert_eq!(periods, [("Farm", 0, Some(3)), ("Roaster", 3, Some(4))]);
}

#[test]
fn custody_of_an_unsold_bag_is_open_at_the_anchor() {
    let mut f = journey();
    f.track(&[R2]);
    let story = f.story(R2);
    let last = story.custody.last().unwrap();
    assert_eq!((last.holder.as_str(), last.from_event), ("Shop", 9));
    assert_eq!((last.until.as_ref(), last.until_event), (None, None));
}

#[test]
fn certification_with_details_and_validity() {
    let mut f = journey();
    let story = f.story(R1);
    assert_eq!(story.certifications.len(), 1);
    let cert = &story.certifications[0];
    assert_eq!(cert.event_index, 2);
    assert_eq!(cert.certificate, ORGANIC);
    assert_eq!(cert.issuer, "Lab");
    assert_eq!(cert.standard.as_deref(), Some("EU Organic"));
    assert_eq!(cert.valid_from.as_deref(), Some("2025-01-01"));
    assert_eq!(cert.valid_until.as_deref(), Some("2025-12-31"));
    assert_eq!(cert.valid_at_anchor, Some(true));
    assert!(cert.verified);

    // Two certificates in one event, details in the other order and one already expired; and
    // a certificate without details. The verifier found the event forged: it says so.
    let fair = "https://fair.example/c/FT-9";
    let bare = "https://other.example/cert/1";
    let forged = f.record(
        "Lab",
        object(
            &at(9, 15),
            &[R1],
            json!({
                "bizStep": "inspecting",
                "certificationInfo": [ORGANIC, fair, bare],
                "gs1:certification": [
                    {"gs1:certificationIdentification": "FT-9", "gs1:certificationStandard": "Fairtrade",
                     "gs1:certificationEndDate": "2025-05-31"},
                    {"gs1:certificationIdentification": ORGANIC, "gs1:certificationStandard": "EU Organic",
                     "gs1:certificationStartDate": {"@value": "2025-01-01", "@type": "xsd:date"}}
                ]
            }),
        ),
    );
    f.verified[forged] = false;
    let story = f.story(R1);
    let certs: Vec<(&str, Option<&str>, Option<bool>, bool)> = story.certifications[1..]
        .iter()
        .map(|c| {
            (
                c.certificate.as_str(),
                c.standard.as_deref(),
                c.valid_at_anchor,
                c.verified,
            )
        })
        .collect();
    assert_eq!(
        certs,
        [
            (ORGANIC, Some("EU Organic"), Some(true), false),
            (fair, Some("Fairtrade"), Some(false), false),
            (bare, None, None, false),
        ]
    );
    let step = story
        .steps
        .iter()
        .find(|s| s.event_index == forged)
        .unwrap();
    assert_eq!(step.what, "Certified (Fairtrade, EU Organic)");
    assert!(!step.verified);
}

#[test]
fn cold_chain_from_the_roasters_ilmd_applies_to_the_pallet() {
    let story = journey().story(R1);
    let source = format!("declared at transformation into {R1}");
    let claims: Vec<(usize, Option<bool>, Option<&str>)> = story
        .cold_chain
        .iter()
        .map(|c| {
            (
                c.event_index,
                c.within,
                c.threshold.as_ref().map(|t| t.source.as_str()),
            )
        })
        .collect();
    assert_eq!(
        claims,
        [
            (6, Some(true), Some(source.as_str())),
            (7, Some(false), Some(source.as_str()))
        ]
    );
    let shipped = &story.cold_chain[0];
    assert_eq!(
        (shipped.min, shipped.max, shipped.mean, shipped.value),
        (Some(14.5), Some(19.5), Some(16.8), None)
    );
    assert_eq!(shipped.measurement, "gs1:Temperature");
    assert_eq!(
        shipped.device.as_deref(),
        Some("urn:epc:id:giai:0614142.LOGGER-1")
    );
    assert_eq!(
        (shipped.start.clone(), shipped.end.clone()),
        (Some(at(6, 12)), Some(at(7, 9)))
    );
    let threshold = shipped.threshold.as_ref().unwrap();
    assert_eq!(
        (threshold.min, threshold.max, threshold.uom.as_str()),
        (Some(10.0), Some(25.0), "CEL")
    );
    let received = &story.cold_chain[1];
    assert_eq!(
        (received.value, received.uom.as_deref()),
        (Some(80.6), Some("FAH"))
    );
}

/// A cold-chain fixture: one item commissioned by the farm, then readings.
fn readings() -> (Fixture, &'static str) {
    const ITEM: &str = "urn:epc:id:sgtin:0614141.107346.X1";
    let mut f = Fixture::new();
    f.record(
        "Farm",
        object(
            &at(1, 10),
            &[ITEM],
            json!({"action": "ADD", "bizStep": "commissioning"}),
        ),
    );
    f.track(&[ITEM]);
    (f, ITEM)
}

fn reading(f: &mut Fixture, item: &str, day: u32, report: Value, extra: Value) -> usize {
    let mut e = object(
        &at(day, 10),
        &[item],
        json!({"bizStep": "sensor_reporting"}),
    );
    let mut sensors = temperature(report);
    if let (Some(target), Value::Object(extra)) = (sensors.as_object_mut(), extra) {
        target.extend(extra);
    }
    if let (Some(target), Value::Object(fields)) = (e.as_object_mut(), sensors) {
        target.extend(fields);
    }
    f.record("Farm", e)
}

fn within(story: &Story, index: usize) -> (Option<bool>, Option<String>) {
    let claim: &SensorClaim = story
        .cold_chain
        .iter()
        .find(|c| c.event_index == index)
        .unwrap();
    (
        claim.within,
        claim.threshold.as_ref().map(|t| t.source.clone()),
    )
}

#[test]
fn cold_chain_alarms_policy_and_units() {
    let (mut f, item) = readings();
    let warm = reading(
        &mut f,
        item,
        2,
        json!({"value": 30, "uom": "CEL"}),
        json!({}),
    );
    let alarm = reading(
        &mut f,
        item,
        3,
        json!({"value": 5, "uom": "CEL", "exception": "ALARM_CONDITION"}),
        json!({}),
    );
    let odd_unit = reading(
        &mut f,
        item,
        4,
        json!({"value": 5, "uom": "XYZ"}),
        json!({}),
    );
    let humid = f.record(
        "Farm",
        object(
            &at(5, 10),
            &[item],
            json!({"sensorElementList": [{"sensorReport": [
                {"type": "gs1:RelativeHumidity", "value": 95, "uom": "P1"}
            ]}]}),
        ),
    );

    // No limits anywhere: nothing to judge, except the alarm, which is outside by itself.
    let story = f.story(item);
    assert_eq!(within(&story, warm), (None, None));
    assert_eq!(within(&story, alarm), (Some(false), None));
    assert_eq!(within(&story, odd_unit), (None, None));
    assert_eq!(within(&story, humid), (None, None));
    assert_eq!(story.steps.last().unwrap().what, "Sensor readings recorded");

    // The consumer's default, then its limit for this GTIN, which wins.
    f.policy.default = Some(Threshold {
        min: Some(0.0),
        max: Some(25.0),
        uom: "CEL".into(),
        source: String::new(),
    });
    let story = f.story(item);
    let default = Some("default for products without declared limits".to_owned());
    assert_eq!(within(&story, warm), (Some(false), default.clone()));
    assert_eq!(within(&story, alarm), (Some(false), default.clone()));
    // A unit that does not convert cannot be judged; the limit is still shown.
    assert_eq!(within(&story, odd_unit), (None, default));
    // Temperature limits do not judge humidity.
    assert_eq!(within(&story, humid), (None, None));

    f.policy.by_gtin.insert(
        "10614141073464".into(),
        Threshold {
            min: None,
            max: Some(95.0),
            uom: "FAH".into(),
            source: String::new(),
        },
    );
    let story = f.story(item);
    // 30 °C is 86 °F.
    assert_eq!(
        within(&story, warm),
        (
            Some(true),
            Some("default for GTIN 10614141073464".to_owned())
        )
    );
}

#[test]
fn cold_chain_limits_declared_by_the_event_beat_the_ilmd_and_resolve_by_iri() {
    const ITEM: &str = "urn:epc:id:sgtin:0614141.107346.X2";
    let mut f = Fixture::new();
    f.record(
        "Farm",
        object(
            &at(1, 10),
            &[ITEM],
            json!({"action": "ADD", "bizStep": "commissioning",
                   "ilmd": {"prov:temperatureMax": 20, "prov:temperatureUom": "CEL"}}),
        ),
    );
    f.track(&[ITEM]);
    let inherited = reading(
        &mut f,
        ITEM,
        2,
        json!({"value": 15, "uom": "CEL"}),
        json!({}),
    );
    // The event's own limit, under another prefix name for the same namespace.
    let mut own = object(&at(3, 10), &[ITEM], json!({"pv:temperatureMax": 8}));
    own["@context"] = json!([CONTEXT, {"pv": PROV_NS}]);
    own["sensorElementList"] =
        temperature(json!({"value": 9, "uom": "CEL"}))["sensorElementList"].clone();
    let own = f.record("Farm", own);
    // `prov` bound to another namespace declares nothing: the ilmd limit applies.
    let mut impostor = object(&at(4, 10), &[ITEM], json!({"prov:temperatureMax": 100}));
    impostor["@context"] = json!([CONTEXT, {"prov": "https://elsewhere.example/ns#"}]);
    impostor["sensorElementList"] =
        temperature(json!({"value": 25, "uom": "CEL"}))["sensorElementList"].clone();
    let impostor = f.record("Farm", impostor);

    let story = f.story(ITEM);
    let at_commissioning = Some(format!("declared at commissioning of {ITEM}"));
    assert_eq!(
        within(&story, inherited),
        (Some(true), at_commissioning.clone())
    );
    assert_eq!(
        within(&story, own),
        (Some(false), Some("declared by the event".to_owned()))
    );
    assert_eq!(within(&story, impostor), (Some(false), at_commissioning));
}

/// The farm commissions two items and recalls both; it retracts one recall. The lab's
/// declaration about the other does not count (another organisation), nor does an unverified
/// one.
#[test]
fn recalls_and_their_retraction_by_error_declaration() {
    const X: &str = "urn:epc:id:sgtin:0614141.107346.X";
    const Y: &str = "urn:epc:id:sgtin:0614141.107346.Y";
    let mut f = Fixture::new();
    f.record(
        "Farm",
        object(
            &at(1, 10),
            &[X, Y],
            json!({"action": "ADD", "bizStep": "commissioning"}),
        ),
    );
    let recall_x = object(
        &at(2, 10),
        &[X],
        json!({"disposition": "recalled", "bizStep": "holding"}),
    );
    let recall_y = object(&at(3, 10), &[Y], json!({"disposition": "recalled"}));
    let declare = |recall: &Value, reason: &str| {
        let mut declaration = recall.clone();
        declaration["errorDeclaration"] = json!({"declarationTime": at(4, 10), "reason": reason});
        declaration
    };
    let x = f.record("Farm", recall_x.clone());
    let y = f.record("Lab", recall_y.clone());
    let retract_x = f.record("Farm", declare(&recall_x, "incorrect_data"));
    let by_other = f.record("Farm", declare(&recall_y, "incorrect_data"));
    let unverified = f.record("Lab", declare(&recall_y, "did_not_occur"));
    f.verified[unverified] = false;
    f.track(&[X, Y]);

    let story = f.story(X);
    let recalls: Vec<(usize, &str, bool)> = story
        .recalls
        .iter()
        .map(|r| (r.event_index, r.by.as_str(), r.retracted))
        .collect();
    assert_eq!(recalls, [(x, "Farm", true), (y, "Lab", false)]);
    assert_eq!(story.recalls[0].identifiers, [X]);
    assert_eq!(story.recalls[0].when, at(2, 10));

    // Declarations are not steps; the retracted recall is marked.
    let steps: Vec<(usize, &str, bool)> = story
        .steps
        .iter()
        .map(|s| (s.event_index, s.what.as_str(), s.retracted))
        .collect();
    assert_eq!(
        steps,
        [
            (0, "Commissioned", false),
            (x, "Recalled", true),
            (y, "Recalled", false)
        ]
    );
    assert_eq!(story.steps[1].biz_step.as_deref(), Some("holding"));

    let declarations: Vec<(usize, &str, Option<&str>, &str)> = story
        .error_declarations
        .iter()
        .map(|d| {
            (
                d.event_index,
                d.by.as_str(),
                d.reason.as_deref(),
                d.corrects.as_str(),
            )
        })
        .collect();
    let x_id = f.records[x].event_hash_id.to_string();
    let y_id = f.records[y].event_hash_id.to_string();
    assert_eq!(
        declarations,
        [
            (retract_x, "Farm", Some("incorrect_data"), x_id.as_str()),
            (by_other, "Farm", Some("incorrect_data"), y_id.as_str()),
            (unverified, "Lab", Some("did_not_occur"), y_id.as_str()),
        ]
    );
    assert_eq!(story.error_declarations[0].when, at(4, 10));
}

#[test]
fn a_retracted_event_contributes_no_readings_or_certificates() {
    let (mut f, item) = readings();
    let mut bad = object(
        &at(2, 10),
        &[item],
        json!({"pv:temperatureMax": 8, "certificationInfo": ORGANIC}),
    );
    bad["@context"] = json!([CONTEXT, {"pv": PROV_NS}]);
    bad["sensorElementList"] =
        temperature(json!({"value": 50, "uom": "CEL"}))["sensorElementList"].clone();
    // The farm may not certify, but the story does not judge that; the lab records it.
    let recorded = f.record("Lab", bad.clone());
    let mut declaration = bad;
    declaration["errorDeclaration"] = json!({"declarationTime": at(3, 10)});
    f.record("Lab", declaration);
    let story = f.story(item);
    assert!(story.cold_chain.is_empty());
    assert!(story.certifications.is_empty());
    let step = story
        .steps
        .iter()
        .find(|s| s.event_index == recorded)
        .unwrap();
    assert!(step.retracted);
    assert_eq!(story.error_declarations[0].reason, None);
}

#[test]
fn an_unreadable_event_is_a_failed_step_in_time_order() {
    let (mut f, item) = readings();
    let later = f.record(
        "Farm",
        object(&at(5, 10), &[item], json!({"bizStep": "storing"})),
    );
    // An event the model cannot parse (a type EPCIS does not have), from an unknown key.
    let mut broken = f.records[later].clone();
    broken.event =
        json!({"type": "QuantityEvent", "eventTime": at(3, 10), "eventTimeZoneOffset": "+01:00"})
            .to_string();
    f.records.push(broken.clone());
    f.events.push(None);
    f.signers.push(None);
    f.verified.push(true);
    // And one without even a time.
    broken.event = "not json".into();
    f.records.push(broken);
    f.events.push(None);
    f.signers.push(Some("Farm".into()));
    f.verified.push(false);

    let story = f.story(item);
    let steps: Vec<(usize, &str, &str, bool)> = story
        .steps
        .iter()
        .map(|s| (s.event_index, s.what.as_str(), s.who.as_str(), s.verified))
        .collect();
    assert_eq!(
        steps,
        [
            (0, "Commissioned", "Farm", true),
            (2, "Unreadable event", UNKNOWN, false),
            (later, "Stored", "Farm", true),
            (3, "Unreadable event", "Farm", false),
        ]
    );
    let unreadable = &story.steps[1];
    assert_eq!(unreadable.event_type, "QuantityEvent");
    assert_eq!(unreadable.when, at(3, 10));
    assert_eq!(unreadable.time_zone_offset, "+01:00");
    assert!(unreadable.identifiers.is_empty() && unreadable.where_.is_none());
    assert_eq!(story.steps[3].event_type, "unknown");
}

const UNKNOWN: &str = read::UNKNOWN_SIGNER;

#[test]
fn a_lot_is_made_by_commissioning_its_class_and_origin_resolves_by_iri() {
    const LOT: &str = "urn:epc:class:lgtin:0614141.107346.LOT9";
    let mut f = Fixture::new();
    let mut commission = event(
        "ObjectEvent",
        &at(1, 10),
        json!({
            "action": "ADD", "bizStep": "commissioning",
            "quantityList": [{"epcClass": LOT, "quantity": 100, "uom": "KGM"}],
            "readPoint": {"id": FARM_SITE},
            "ilmd": {"mda:countryOfOrigin": "CO", "cbvmda:countryOfOrigin": "XX", "ex:grade": "AA"}
        }),
    );
    // `mda` is the master-data namespace here; `cbvmda` was re-bound to something else.
    commission["@context"] = json!([
        CONTEXT,
        {"mda": "urn:epcglobal:cbv:mda:", "cbvmda": "https://elsewhere.example/mda/", "ex": "https://ns.example/"}
    ]);
    f.record("Farm", commission);
    f.record(
        "Farm",
        event(
            "ObjectEvent",
            &at(2, 10),
            json!({"action": "OBSERVE", "bizStep": "shipping",
                   "quantityList": [{"epcClass": LOT, "quantity": 40, "uom": "KGM"}],
                   "destinationList": [{"type": "owning_party", "destination": pgln("0614143")}]}),
        ),
    );
    f.record(
        "Hauler",
        event(
            "ObjectEvent",
            &at(4, 10),
            json!({"action": "OBSERVE", "bizStep": "receiving",
                   "quantityList": [{"epcClass": LOT, "quantity": 40, "uom": "KGM"}]}),
        ),
    );
    f.track(&[LOT]);
    let story = f.story(LOT);
    let product = story.product.unwrap();
    assert_eq!(product.maker.as_deref(), Some("Farm"));
    assert_eq!(product.origin_country.as_deref(), Some("CO"));
    assert_eq!(product.lot.as_deref(), Some("LOT9"));
    assert_eq!(product.master_data["cbvmda:countryOfOrigin"], "XX");
    let what: Vec<&str> = story.steps.iter().map(|s| s.what.as_str()).collect();
    assert_eq!(what, ["Commissioned", "Shipped to Hauler", "Received"]);
    let holders: Vec<&str> = story.custody.iter().map(|c| c.holder.as_str()).collect();
    assert_eq!(holders, ["Farm", "Hauler"]);
}

/// A returnable pallet's earlier trip (a hot reading, a recall) is in the bundle for the rules,
/// but is not the bag's story: the bag was put on the pallet only afterwards.
#[test]
fn a_container_is_shown_only_while_a_tracked_item_is_inside() {
    const R9: &str = "urn:epc:id:sgtin:0614142.004521.R9";
    let mut f = Fixture::new();
    let pack = |time: &str, child: &str, action: &str| {
        event(
            "AggregationEvent",
            time,
            json!({"parentID": PALLET, "childEPCs": [child], "action": action}),
        )
    };
    let hot = |time: &str, value: i32| {
        let mut e = object(time, &[PALLET], json!({"prov:temperatureMax": 25}));
        e["sensorElementList"] =
            temperature(json!({"value": value, "uom": "CEL"}))["sensorElementList"].clone();
        e
    };
    f.record(
        "Roaster",
        object(
            &at(1, 10),
            &[R1, R9],
            json!({"action": "ADD", "bizStep": "commissioning"}),
        ),
    );
    f.record("Roaster", pack(&at(1, 12), R9, "ADD"));
    f.record("Roaster", hot(&at(2, 10), 40));
    f.record(
        "Roaster",
        object(&at(2, 12), &[PALLET], json!({"disposition": "recalled"})),
    );
    f.record("Roaster", pack(&at(3, 10), R9, "DELETE"));
    let packed = f.record("Roaster", pack(&at(4, 10), R1, "ADD"));
    let reading = f.record("Roaster", hot(&at(5, 10), 20));
    f.track(&[R1, PALLET]);

    let story = f.story(R1);
    let shown: Vec<usize> = story.steps.iter().map(|s| s.event_index).collect();
    assert_eq!(shown, [0, packed, reading]);
    assert!(story.recalls.is_empty());
    let readings: Vec<(usize, Option<bool>)> = story
        .cold_chain
        .iter()
        .map(|c| (c.event_index, c.within))
        .collect();
    assert_eq!(readings, [(reading, Some(true))]);
    // The pallet's own story shows all of it.
    let pallet = f.story(PALLET);
    assert_eq!(pallet.steps.len(), 7);
    assert_eq!(pallet.recalls.len(), 1);
}
