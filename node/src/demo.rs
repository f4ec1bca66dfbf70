//! The demo journey: one lot of organic coffee from a Colombian cooperative to a consumer in
//! Europe, as the twelve EPCIS 2.0 events its five organisations record.
//!
//! It exists so that `provenance-node dev --demo` fills a fresh network with a realistic story a
//! developer can verify end to end, and so that tests exercise every custody rule on real data:
//! commissioning, certification, shipping and receiving across three hand-overs, a
//! transformation (roasting), aggregation onto a pallet and back, and a retail sale.
//!
//! It also shows what the product page can tell a consumer: the certification carries its GS1
//! Web Vocabulary details (standard, agency, certificate number, validity), the roast declares
//! the cold-chain limits of the roasted coffee (`prov:temperatureMin`/`prov:temperatureMax`, the
//! project's EPCIS extension), and both shipments of the pallet carry temperature readings, all
//! within those limits.
//!
//! Everything here is data and pure functions: [`journey`] builds the events for a start time,
//! [`sign_journey`] signs them with the organisations' keys in order. Submitting them is the
//! CLI's job.

use std::collections::BTreeMap;

use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::Genesis;
use provenance_protocol::gs1;
use provenance_protocol::record::{RecordError, SignedEvent};
use serde_json::{Value, json};

use crate::devnet::{self, CERTIFIER, DISTRIBUTOR, FARM, RETAILER, ROASTER};

/// The standard EPCIS 2.0 JSON-LD context every event starts its `@context` with.
pub const EPCIS_CONTEXT: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

/// The cooperative's namespace for its harvest master data (`ilmd`).
const FARM_NS: (&str, &str) = ("esperanza", "https://ns.fincalaesperanza.example/epcis/");
/// The roaster's namespace for its roast master data (`ilmd`).
const ROASTER_NS: (&str, &str) = ("nordic", "https://ns.nordicroasters.example/epcis/");
/// The GS1 Web Vocabulary, for certification details (the EPCIS context predefines `gs1` too;
/// declaring it keeps the event self-describing).
const GS1_NS: (&str, &str) = ("gs1", "https://gs1.org/voc/");
/// The project's EPCIS extension namespace (cold-chain limits).
pub const PROV_NS: (&str, &str) = ("prov", "https://provenance.dev/ns/epcis#");

/// The two 60 kg jute bags of green coffee (lot LE-2025-07), serialised under the farm's prefix.
pub const GREEN_COFFEE_BAGS: [&str; 2] = [
    "urn:epc:id:sgtin:0614141.107346.LE25-0017",
    "urn:epc:id:sgtin:0614141.107346.LE25-0018",
];
/// The 250 g retail bags roasted from them, serialised under the roaster's prefix.
pub const RETAIL_BAGS: [&str; 3] = [
    "urn:epc:id:sgtin:0614142.004521.R1001",
    "urn:epc:id:sgtin:0614142.004521.R1002",
    "urn:epc:id:sgtin:0614142.004521.R1003",
];
/// The pallet (SSCC) the retail bags travel on.
pub const PALLET: &str = "urn:epc:id:sscc:0614142.1000004001";

const FARM_WET_MILL: &str = "urn:epc:id:sgln:0614141.00001.0";
const ROASTERY: &str = "urn:epc:id:sgln:0614142.00001.0";
const HUB: &str = "urn:epc:id:sgln:0614143.00001.0";
const STORE: &str = "urn:epc:id:sgln:0614144.00001.0";
const TEMPERATURE_LOGGER: &str = "urn:epc:id:giai:0614142.LOGGER-7";
const HUB_LOGGER: &str = "urn:epc:id:giai:0614143.LOGGER-12";
const ORGANIC_CERTIFICATE: &str = "https://certificates.ecocert.example/EU-ORG-CO-2025-0042";
/// The certificate number ([`ORGANIC_CERTIFICATE`] is where it is published).
const ORGANIC_CERTIFICATE_ID: &str = "EU-ORG-CO-2025-0042";
/// The standard the lot is certified against.
pub const ORGANIC_STANDARD: &str = "EU Organic Regulation (EU) 2018/848";
/// Cold-chain limits the roaster declares for its roasted coffee, °C.
pub const ROASTED_COFFEE_LIMITS_CEL: (f64, f64) = (5.0, 25.0);

const HOUR_MS: u64 = 3_600_000;
const DAY_MS: u64 = 24 * HOUR_MS;

/// The roaster's warehouse log between packing and dispatch: (hours after packing, °C).
const WAREHOUSE_READINGS: [(u64, f64); 7] = [
    (1, 16.2),
    (4, 17.4),
    (7, 18.9),
    (10, 19.3),
    (13, 18.1),
    (16, 16.6),
    (19, 15.2),
];
/// The hub's log between receipt and dispatch: (minutes after receipt, °C).
const HUB_READINGS: [(u64, f64); 5] = [
    (15, 13.8),
    (60, 14.6),
    (120, 15.9),
    (180, 16.4),
    (225, 15.7),
];

/// Time from the first event to the last.
pub const JOURNEY_SPAN_MS: u64 = 11 * DAY_MS;

/// Latest start time [`journey`] accepts (9999-12-31T00:00:00Z minus the span): EPCIS timestamps
/// have four-digit years. Later values are clamped.
pub const MAX_START_MS: u64 = 253_402_214_400_000 - JOURNEY_SPAN_MS;

/// One step of the journey: who records which event, and what it means.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoStep {
    /// Name of the recording organisation (a [`devnet::PARTICIPANTS`] name).
    pub actor: &'static str,
    /// The EPCIS 2.0 event, self-contained (its `@context` declares every prefix it uses).
    pub event: Value,
    /// One line for people watching the demo.
    pub description: &'static str,
}

/// Why the journey could not be signed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    #[error("no signing key for {0:?}")]
    MissingKey(String),
    #[error("cannot sign step {step} ({description}): {source}")]
    Sign {
        step: usize,
        description: &'static str,
        #[source]
        source: RecordError,
    },
}

/// The start time the dev network uses: the journey ends an hour before the genesis, so every
/// event is in the past when the node starts, and the same genesis always gives the same events
/// (which is how a second `dev --demo` recognises the journey is already recorded).
pub fn start_time_for(genesis: &Genesis) -> u64 {
    genesis
        .genesis_time_ms
        .saturating_sub(JOURNEY_SPAN_MS + HOUR_MS)
}

/// The twelve steps, in the order they must be recorded, with the first event at `t0_ms`
/// (milliseconds since the Unix epoch; clamped to [`MAX_START_MS`]).
pub fn journey(t0_ms: u64) -> Vec<DemoStep> {
    let t0 = t0_ms.min(MAX_START_MS);
    let at = |offset_ms: u64| timestamp(t0 + offset_ms);
    let farm = devnet::participant(FARM).map_or_else(String::new, |p| p.pgln());
    let roaster = devnet::participant(ROASTER).map_or_else(String::new, |p| p.pgln());
    let distributor = devnet::participant(DISTRIBUTOR).map_or_else(String::new, |p| p.pgln());
    let retailer = devnet::participant(RETAILER).map_or_else(String::new, |p| p.pgln());

    let mut steps = Vec::with_capacity(12);
    let mut step = |actor, description, event| {
        steps.push(DemoStep {
            actor,
            event,
            description,
        })
    };

    step(
        FARM,
        "The cooperative commissions two bags of washed Caturra green coffee, lot LE-2025-07",
        event(
            "ObjectEvent",
            &at(0),
            "-05:00",
            &[FARM_NS],
            json!({
                "epcList": GREEN_COFFEE_BAGS,
                "action": "ADD",
                "bizStep": "commissioning",
                "disposition": "active",
                "readPoint": {"id": FARM_WET_MILL},
                "bizLocation": {"id": FARM_WET_MILL},
                "ilmd": {
                    "cbvmda:countryOfOrigin": "CO",
                    "cbvmda:lotNumber": "LE-2025-07",
                    "esperanza:harvestStart": date(t0.saturating_sub(60 * DAY_MS)),
                    "esperanza:harvestEnd": date(t0.saturating_sub(20 * DAY_MS)),
                    "esperanza:region": "Huila",
                    "esperanza:altitudeMetres": 1650,
                    "esperanza:variety": "Caturra",
                    "esperanza:process": "washed",
                    "esperanza:netWeightKg": 60
                }
            }),
        ),
    );
    step(
        CERTIFIER,
        "EcoCert inspects the lot at the wet mill and records its organic certificate",
        event(
            "ObjectEvent",
            &at(DAY_MS),
            "-05:00",
            &[GS1_NS],
            json!({
                "epcList": GREEN_COFFEE_BAGS,
                "action": "OBSERVE",
                "bizStep": "inspecting",
                "disposition": "conformant",
                "readPoint": {"id": FARM_WET_MILL},
                "certificationInfo": ORGANIC_CERTIFICATE,
                "gs1:certification": {
                    "gs1:certificationStandard": ORGANIC_STANDARD,
                    "gs1:certificationAgency": CERTIFIER,
                    "gs1:certificationIdentification": ORGANIC_CERTIFICATE_ID,
                    "gs1:certificationStartDate": date(t0.saturating_sub(30 * DAY_MS)),
                    "gs1:certificationEndDate": date(t0 + 700 * DAY_MS)
                }
            }),
        ),
    );
    step(
        FARM,
        "The cooperative ships the bags to Nordic Roasters",
        event(
            "ObjectEvent",
            &at(2 * DAY_MS),
            "-05:00",
            &[],
            json!({
                "epcList": GREEN_COFFEE_BAGS,
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "readPoint": {"id": FARM_WET_MILL},
                "sourceList": [
                    {"type": "owning_party", "source": farm},
                    {"type": "possessing_party", "source": farm}
                ],
                "destinationList": [
                    {"type": "owning_party", "destination": roaster},
                    {"type": "possessing_party", "destination": roaster}
                ]
            }),
        ),
    );
    step(
        ROASTER,
        "Nordic Roasters receives the green coffee at its roastery",
        event(
            "ObjectEvent",
            &at(6 * DAY_MS),
            "+01:00",
            &[],
            json!({
                "epcList": GREEN_COFFEE_BAGS,
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "readPoint": {"id": ROASTERY},
                "bizLocation": {"id": ROASTERY}
            }),
        ),
    );
    step(
        ROASTER,
        "Nordic Roasters roasts the lot into three 250 g retail bags",
        event(
            "TransformationEvent",
            &at(7 * DAY_MS),
            "+01:00",
            &[ROASTER_NS, PROV_NS],
            json!({
                "inputEPCList": GREEN_COFFEE_BAGS,
                "outputEPCList": RETAIL_BAGS,
                "bizStep": "commissioning",
                "disposition": "active",
                "readPoint": {"id": ROASTERY},
                "bizLocation": {"id": ROASTERY},
                "ilmd": {
                    "cbvmda:bestBeforeDate": date(t0 + 7 * DAY_MS + 365 * DAY_MS),
                    "nordic:roastDate": date(t0 + 7 * DAY_MS),
                    "nordic:roastProfile": "medium",
                    "nordic:netWeightGrams": 250,
                    "prov:temperatureMin": ROASTED_COFFEE_LIMITS_CEL.0,
                    "prov:temperatureMax": ROASTED_COFFEE_LIMITS_CEL.1,
                    "prov:temperatureUom": "CEL"
                }
            }),
        ),
    );
    step(
        ROASTER,
        "Nordic Roasters packs the retail bags onto a pallet",
        event(
            "AggregationEvent",
            &at(7 * DAY_MS + 3 * HOUR_MS),
            "+01:00",
            &[],
            json!({
                "parentID": PALLET,
                "childEPCs": RETAIL_BAGS,
                "action": "ADD",
                "bizStep": "packing",
                "disposition": "in_progress",
                "readPoint": {"id": ROASTERY}
            }),
        ),
    );
    step(
        ROASTER,
        "Nordic Roasters ships the pallet to TransEuropa, with its warehouse temperature log",
        event(
            "ObjectEvent",
            &at(8 * DAY_MS),
            "+01:00",
            &[],
            json!({
                "epcList": [PALLET],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "readPoint": {"id": ROASTERY},
                "sourceList": [{"type": "possessing_party", "source": roaster}],
                "destinationList": [{"type": "possessing_party", "destination": distributor}],
                "sensorElementList": [
                    {
                        "sensorMetadata": {
                            "startTime": at(7 * DAY_MS + 3 * HOUR_MS),
                            "endTime": at(8 * DAY_MS),
                            "deviceID": TEMPERATURE_LOGGER
                        },
                        "sensorReport": [{
                            "type": "gs1:Temperature",
                            "minValue": 14.5,
                            "maxValue": 19.5,
                            "meanValue": 16.8,
                            "uom": "CEL"
                        }]
                    },
                    readings(
                        TEMPERATURE_LOGGER,
                        &WAREHOUSE_READINGS.map(|(hours, celsius)| {
                            (at(7 * DAY_MS + 3 * HOUR_MS + hours * HOUR_MS), celsius)
                        })
                    )
                ]
            }),
        ),
    );
    step(
        DISTRIBUTOR,
        "TransEuropa receives the pallet at its hub",
        event(
            "ObjectEvent",
            &at(9 * DAY_MS),
            "+01:00",
            &[],
            json!({
                "epcList": [PALLET],
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "readPoint": {"id": HUB},
                "bizLocation": {"id": HUB}
            }),
        ),
    );
    step(
        DISTRIBUTOR,
        "TransEuropa ships the pallet to GreenGrocer, with the hub's temperature log",
        event(
            "ObjectEvent",
            &at(9 * DAY_MS + 4 * HOUR_MS),
            "+01:00",
            &[],
            json!({
                "epcList": [PALLET],
                "action": "OBSERVE",
                "bizStep": "shipping",
                "disposition": "in_transit",
                "readPoint": {"id": HUB},
                "sourceList": [{"type": "possessing_party", "source": distributor}],
                "destinationList": [{"type": "possessing_party", "destination": retailer}],
                "sensorElementList": [readings(
                    HUB_LOGGER,
                    &HUB_READINGS.map(|(minutes, celsius)| {
                        (at(9 * DAY_MS + minutes * 60_000), celsius)
                    })
                )]
            }),
        ),
    );
    step(
        RETAILER,
        "GreenGrocer receives the pallet at its store",
        event(
            "ObjectEvent",
            &at(10 * DAY_MS),
            "+01:00",
            &[],
            json!({
                "epcList": [PALLET],
                "action": "OBSERVE",
                "bizStep": "receiving",
                "disposition": "in_progress",
                "readPoint": {"id": STORE},
                "bizLocation": {"id": STORE}
            }),
        ),
    );
    step(
        RETAILER,
        "GreenGrocer unpacks the pallet onto its shelves",
        event(
            "AggregationEvent",
            &at(10 * DAY_MS + HOUR_MS),
            "+01:00",
            &[],
            json!({
                "parentID": PALLET,
                "childEPCs": RETAIL_BAGS,
                "action": "DELETE",
                "bizStep": "unpacking",
                "disposition": "sellable_accessible",
                "readPoint": {"id": STORE},
                "bizLocation": {"id": STORE}
            }),
        ),
    );
    step(
        RETAILER,
        "GreenGrocer sells the first bag to a consumer",
        event(
            "ObjectEvent",
            &at(JOURNEY_SPAN_MS),
            "+01:00",
            &[],
            json!({
                "epcList": [RETAIL_BAGS[0]],
                "action": "OBSERVE",
                "bizStep": "retail_selling",
                "disposition": "retail_sold",
                "readPoint": {"id": STORE},
                "bizLocation": {"id": STORE}
            }),
        ),
    );
    steps
}

/// The canonical GS1 Digital Link URIs (`https://id.gs1.org/01/…/21/…`) of the retail bags: what
/// a consumer scans, and what `provenance verify` takes.
pub fn finished_products() -> Vec<String> {
    RETAIL_BAGS
        .iter()
        .filter_map(|urn| gs1::parse_any_epc(urn).ok())
        .map(|epc| epc.index_key())
        .collect()
}

/// The Digital Link paths (`/01/{gtin}/21/{serial}`) of the retail bags: a node serves the product
/// page of each at `http://<api>{path}`, as a resolver would at `https://id.gs1.org{path}`.
pub fn product_page_paths() -> Vec<String> {
    finished_products()
        .iter()
        .filter_map(|url| url.strip_prefix(gs1::GS1_RESOLVER).map(str::to_owned))
        .collect()
}

/// Signs every step with its actor's key, numbering each actor's events 1, 2, 3, … in journey
/// order (a fresh network has seen none of them).
pub fn sign_journey(
    steps: &[DemoStep],
    chain_id: &str,
    keys: &BTreeMap<&str, SigningKey>,
) -> Result<Vec<SignedEvent>, DemoError> {
    let mut sequences: BTreeMap<&str, u64> = BTreeMap::new();
    steps
        .iter()
        .enumerate()
        .map(|(index, step)| {
            let key = keys
                .get(step.actor)
                .ok_or_else(|| DemoError::MissingKey(step.actor.to_owned()))?;
            let sequence = sequences.entry(step.actor).or_insert(0);
            *sequence += 1;
            SignedEvent::sign(key, chain_id, *sequence, &step.event).map_err(|source| {
                DemoError::Sign {
                    step: index + 1,
                    description: step.description,
                    source,
                }
            })
        })
        .collect()
}

/// A sensor element of single temperature readings (`time`, °C) from one logger.
fn readings(device: &str, readings: &[(String, f64)]) -> Value {
    let reports: Vec<Value> = readings
        .iter()
        .map(|(time, celsius)| {
            json!({"type": "gs1:Temperature", "time": time, "value": celsius, "uom": "CEL"})
        })
        .collect();
    json!({
        "sensorMetadata": {"deviceID": device},
        "sensorReport": reports
    })
}

/// An EPCIS 2.0 event of `kind` at `time` with the standard context (plus the `namespaces` the
/// event uses, one object each) and `fields`.
fn event(
    kind: &str,
    time: &str,
    offset: &str,
    namespaces: &[(&str, &str)],
    fields: Value,
) -> Value {
    let mut context = vec![json!(EPCIS_CONTEXT)];
    for &(prefix, iri) in namespaces {
        context.push(json!({ prefix: iri }));
    }
    let mut event = json!({
        "@context": context,
        "type": kind,
        "eventTime": time,
        "eventTimeZoneOffset": offset,
    });
    if let (Some(target), Value::Object(fields)) = (event.as_object_mut(), fields) {
        target.extend(fields);
    }
    event
}

/// `YYYY-MM-DDThh:mm:ss.sssZ` for milliseconds since the Unix epoch.
fn timestamp(ms: u64) -> String {
    let (year, month, day) = civil_date(ms / DAY_MS);
    let in_day = ms % DAY_MS;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / HOUR_MS,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// `YYYY-MM-DD` (UTC) for milliseconds since the Unix epoch.
fn date(ms: u64) -> String {
    let (year, month, day) = civil_date(ms / DAY_MS);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Proleptic Gregorian (year, month, day) of a day count since 1970-01-01 (H. Hinnant's
/// `civil_from_days`, for non-negative days).
fn civil_date(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z % 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_protocol::crypto::PublicKey;
    use provenance_protocol::genesis::ConsensusParams;
    use provenance_protocol::rules::{
        self, EpcStatus, LedgerView, MemoryState, RuleContext, resolve_identifier,
    };

    use crate::devnet::{DevKeys, PARTICIPANTS};

    const T0: u64 = 1_735_725_600_000; // 2025-01-01T10:00:00Z

    fn seeded_keys() -> (BTreeMap<&'static str, SigningKey>, DevKeys) {
        let mut keys = BTreeMap::new();
        let mut public: Vec<(PublicKey, PublicKey)> = Vec::new();
        for (i, p) in PARTICIPANTS.iter().enumerate() {
            let seed = u8::try_from(i).unwrap();
            let signing = SigningKey::from_seed([seed + 1; 32]);
            let network = SigningKey::from_seed([seed + 101; 32]);
            public.push((signing.public_key(), network.public_key()));
            keys.insert(p.name, signing);
        }
        (keys, public.try_into().unwrap())
    }

    fn state(state: &MemoryState, epc: &str) -> rules::EpcState {
        state.epc(&resolve_identifier(epc).unwrap().key).unwrap()
    }

    /// Every step verifies and is accepted by the ledger rules, in order, against the dev
    /// genesis: the journey is exactly what `dev --demo` can submit.
    #[test]
    fn every_step_is_accepted_by_the_rules_in_order() {
        let (keys, public) = seeded_keys();
        let genesis = devnet::build_genesis(T0 + JOURNEY_SPAN_MS + HOUR_MS, &public);
        genesis.validate().unwrap();
        let steps = journey(start_time_for(&genesis));
        assert_eq!(steps.len(), 12);
        let signed = sign_journey(&steps, &genesis.chain_id, &keys).unwrap();

        let mut ledger = MemoryState::from_genesis(&genesis);
        for (height, (step, record)) in (1..).zip(steps.iter().zip(&signed)) {
            let verified = record
                .verify(&genesis.chain_id)
                .unwrap_or_else(|e| panic!("step {height} ({}): {e}", step.description));
            let context = RuleContext {
                height,
                block_time_ms: genesis.genesis_time_ms + 1000,
                max_clock_skew_ms: ConsensusParams::default().max_clock_skew_ms,
            };
            let changes = rules::check_event(&ledger, &verified, &context)
                .unwrap_or_else(|e| panic!("step {height} ({}): {e}", step.description));
            ledger.apply(changes);
        }

        for bag in GREEN_COFFEE_BAGS {
            assert_eq!(state(&ledger, bag).status, EpcStatus::Consumed);
        }
        assert_eq!(state(&ledger, RETAIL_BAGS[0]).status, EpcStatus::Sold);
        for bag in &RETAIL_BAGS[1..] {
            let s = state(&ledger, bag);
            assert_eq!(s.status, EpcStatus::Active);
            assert_eq!(s.custodian.as_deref(), Some(RETAILER));
            assert_eq!(s.parent, None);
        }
        let pallet = resolve_identifier(PALLET).unwrap().key;
        assert!(ledger.children(&pallet).is_empty());
        let retail = resolve_identifier(RETAIL_BAGS[0]).unwrap().key;
        let inputs: Vec<_> = GREEN_COFFEE_BAGS
            .iter()
            .map(|b| resolve_identifier(b).unwrap().key)
            .collect();
        assert_eq!(ledger.transformed_from(&retail), Some(inputs.as_slice()));
        // Sequence numbers were tracked per organisation.
        let roaster = genesis.participant(ROASTER).unwrap().signing_key;
        assert_eq!(ledger.last_sequence(&roaster), 4);
    }

    #[test]
    fn events_are_self_contained_and_deterministic() {
        let steps = journey(T0);
        for step in &steps {
            assert_eq!(
                step.event["@context"][0], EPCIS_CONTEXT,
                "{}",
                step.description
            );
            assert!(devnet::participant(step.actor).is_some(), "{}", step.actor);
        }
        assert_eq!(steps[0].event["eventTime"], "2025-01-01T10:00:00.000Z");
        assert_eq!(
            steps[11].event["eventTime"], "2025-01-12T10:00:00.000Z",
            "the last step is JOURNEY_SPAN_MS after the first"
        );
        assert_eq!(journey(T0), steps);
        assert_ne!(journey(T0 + 1), steps);
    }

    #[test]
    fn journey_ends_before_the_genesis() {
        let (_, public) = seeded_keys();
        let genesis = devnet::build_genesis(T0, &public);
        let last = journey(start_time_for(&genesis)).pop().unwrap();
        assert_eq!(last.event["eventTime"], "2025-01-01T09:00:00.000Z");
        // A genesis near the epoch does not underflow.
        let early = devnet::build_genesis(5, &public);
        assert_eq!(start_time_for(&early), 0);
    }

    #[test]
    fn finished_products_are_canonical_digital_links() {
        let products = finished_products();
        assert_eq!(products.len(), RETAIL_BAGS.len());
        assert_eq!(
            products[0],
            resolve_identifier(RETAIL_BAGS[0]).unwrap().key.0
        );
        for url in &products {
            assert!(
                url.starts_with("https://id.gs1.org/01/0061414204521"),
                "{url}"
            );
            assert!(url.contains("/21/R100"), "{url}");
        }
    }

    #[test]
    fn every_event_is_valid_epcis() {
        for step in journey(T0) {
            if let Err(report) = provenance_protocol::epcis::validate_event(&step.event, "$", None)
            {
                panic!("{}: {report:?}", step.description);
            }
        }
    }

    #[test]
    fn the_certification_carries_its_gs1_details() {
        let steps = journey(T0);
        let certification = &steps[1].event;
        assert_eq!(certification["certificationInfo"], ORGANIC_CERTIFICATE);
        assert!(
            certification["@context"]
                .as_array()
                .unwrap()
                .contains(&json!({"gs1": "https://gs1.org/voc/"})),
            "gs1 is declared"
        );
        let details = &certification["gs1:certification"];
        assert_eq!(details["gs1:certificationStandard"], ORGANIC_STANDARD);
        assert_eq!(details["gs1:certificationAgency"], CERTIFIER);
        assert_eq!(
            details["gs1:certificationIdentification"],
            ORGANIC_CERTIFICATE_ID
        );
        assert!(ORGANIC_CERTIFICATE.ends_with(ORGANIC_CERTIFICATE_ID));
        // Valid from before the inspection until long after the sale.
        assert_eq!(details["gs1:certificationStartDate"], "2024-12-02");
        assert_eq!(details["gs1:certificationEndDate"], "2026-12-02");
    }

    /// The roast declares the limits, and the pallet's readings (which the limits cover: the
    /// pallet contains the roasted bags) give the chart its shape without leaving them.
    #[test]
    fn the_roast_declares_limits_that_every_reading_respects() {
        let steps = journey(T0);
        let roast = &steps[4].event;
        assert!(
            roast["@context"]
                .as_array()
                .unwrap()
                .contains(&json!({PROV_NS.0: PROV_NS.1}))
        );
        let (min, max) = ROASTED_COFFEE_LIMITS_CEL;
        assert_eq!(roast["ilmd"]["prov:temperatureMin"], min);
        assert_eq!(roast["ilmd"]["prov:temperatureMax"], max);
        assert_eq!(roast["ilmd"]["prov:temperatureUom"], "CEL");

        let mut single = 0;
        for (number, step) in steps.iter().enumerate() {
            let Some(elements) = step.event["sensorElementList"].as_array() else {
                continue;
            };
            assert!(
                number > 4,
                "readings before the roast: {}",
                step.description
            );
            assert_eq!(
                step.event["epcList"],
                json!([PALLET]),
                "{}",
                step.description
            );
            let event_time = provenance_protocol::epcis::Timestamp::parse(
                step.event["eventTime"].as_str().unwrap(),
            )
            .unwrap()
            .datetime();
            for report in elements
                .iter()
                .flat_map(|e| e["sensorReport"].as_array().unwrap())
            {
                assert_eq!(report["type"], "gs1:Temperature");
                assert_eq!(report["uom"], "CEL");
                for key in ["value", "minValue", "maxValue", "meanValue"] {
                    if let Some(v) = report[key].as_f64() {
                        assert!(
                            (min..=max).contains(&v),
                            "{key} {v} in {}",
                            step.description
                        );
                    }
                }
                if let Some(time) = report["time"].as_str() {
                    single += 1;
                    let time = provenance_protocol::epcis::Timestamp::parse(time)
                        .unwrap()
                        .datetime();
                    assert!(time < event_time, "a reading after its event");
                }
            }
        }
        assert_eq!(single, WAREHOUSE_READINGS.len() + HUB_READINGS.len());
    }

    #[test]
    fn product_pages_are_at_digital_link_paths() {
        assert_eq!(
            product_page_paths(),
            [
                "/01/00614142045210/21/R1001",
                "/01/00614142045210/21/R1002",
                "/01/00614142045210/21/R1003"
            ]
        );
    }

    #[test]
    fn a_missing_key_is_named() {
        let (mut keys, _) = seeded_keys();
        keys.remove(CERTIFIER);
        let err = sign_journey(&journey(T0), "provenance-dev", &keys).unwrap_err();
        assert_eq!(err.to_string(), format!("no signing key for {CERTIFIER:?}"));
    }

    #[test]
    fn timestamps_match_known_dates() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(timestamp(1_709_210_096_789), "2024-02-29T12:34:56.789Z");
        assert_eq!(date(253_402_214_400_000), "9999-12-31");
        // Absurd start times are clamped, not overflowed.
        let last = journey(u64::MAX).pop().unwrap();
        assert_eq!(last.event["eventTime"], "9999-12-31T00:00:00.000Z");
    }

    proptest::proptest! {
        /// The hand-written calendar agrees with the one the protocol parses timestamps with.
        #[test]
        fn timestamps_parse_back_to_the_same_instant(ms in 0u64..253_402_300_799_999) {
            let text = timestamp(ms);
            let parsed = provenance_protocol::epcis::Timestamp::parse(&text).unwrap().datetime();
            proptest::prop_assert_eq!(parsed.unix_timestamp_nanos(), i128::from(ms) * 1_000_000);
        }
    }
}
