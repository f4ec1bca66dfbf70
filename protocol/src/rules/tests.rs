//! Rule tests over multi-step journeys: real signed events, verified, checked and applied.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::*;
use crate::crypto::SigningKey;
use crate::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant};
use crate::record::SignedEvent;

const CHAIN: &str = "rules-test";
const T0: u64 = 1_735_725_600_000; // 2025-01-01T10:00:00Z

/// Farm and Roaster manufacture; Hauler distributes; Shop retails; Lab certifies.
const ORGS: &[(&str, &[Role], &str)] = &[
    ("Farm", &[Role::Manufacturer, Role::Validator], "0614141"),
    ("Roaster", &[Role::Manufacturer], "0614142"),
    ("Hauler", &[Role::Distributor], "0614143"),
    ("Shop", &[Role::Retailer], "0614144"),
    ("Lab", &[Role::Certifier], "0614145"),
];

struct World {
    state: MemoryState,
    keys: BTreeMap<&'static str, SigningKey>,
    sequences: BTreeMap<&'static str, u64>,
    height: u64,
}

impl World {
    fn new() -> Self {
        let mut keys = BTreeMap::new();
        let mut participants = Vec::new();
        for (i, (name, roles, prefix)) in ORGS.iter().enumerate() {
            let key = SigningKey::from_seed([i as u8 + 1; 32]);
            participants.push(Participant {
                name: (*name).into(),
                roles: roles.to_vec(),
                signing_key: key.public_key(),
                network_key: SigningKey::from_seed([i as u8 + 101; 32]).public_key(),
                company_prefixes: vec![(*prefix).into()],
            });
            keys.insert(*name, key);
        }
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: T0,
            participants,
            validators: vec![GenesisValidator {
                participant: "Farm".into(),
                power: 1,
            }],
            params: ConsensusParams::default(),
        };
        genesis.validate().unwrap();
        World {
            state: MemoryState::from_genesis(&genesis),
            keys,
            sequences: BTreeMap::new(),
            height: 1,
        }
    }

    fn sign(&mut self, who: &'static str, event: &Value) -> SignedEvent {
        let seq = self.sequences.get(who).copied().unwrap_or(0) + 1;
        self.sign_with_sequence(who, seq, event)
    }

    fn sign_with_sequence(&mut self, who: &'static str, seq: u64, event: &Value) -> SignedEvent {
        SignedEvent::sign(&self.keys[who], CHAIN, seq, event).unwrap()
    }

    fn check(&self, record: &SignedEvent) -> Result<Vec<StateChange>, RuleViolation> {
        let verified = record.verify(CHAIN).unwrap();
        check_event(
            &self.state,
            &verified,
            &RuleContext {
                height: self.height,
                block_time_ms: T0 + 3_600_000,
                max_clock_skew_ms: 60_000,
            },
        )
    }

    /// Signs, verifies, checks and (on success) applies `event` as `who`.
    fn submit(&mut self, who: &'static str, event: Value) -> Result<(), RuleViolation> {
        let record = self.sign(who, &event);
        let changes = self.check(&record)?;
        self.state.apply(changes);
        *self.sequences.entry(who).or_default() += 1;
        self.height += 1;
        Ok(())
    }

    fn epc(&self, epc: &str) -> EpcState {
        let key = resolve_identifier(epc).unwrap().key;
        self.state.epc(&key).expect("epc known")
    }
}

fn base(event_type: &str, extra: Value) -> Value {
    let mut event = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": event_type,
        "eventTime": "2025-01-01T10:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
    });
    for (k, v) in extra.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

/// The same event at another minute: a different event, same facts.
fn later(mut event: Value, minute: u32) -> Value {
    event["eventTime"] = json!(format!("2025-01-01T10:{minute:02}:00.000Z"));
    event
}

fn commission(epcs: &[&str]) -> Value {
    base(
        "ObjectEvent",
        json!({"epcList": epcs, "action": "ADD", "bizStep": "commissioning", "disposition": "active"}),
    )
}

fn ship(epcs: &[&str], to_pgln: &str) -> Value {
    base(
        "ObjectEvent",
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
               "destinationList": [{"type": "possessing_party", "destination": to_pgln}]}),
    )
}

fn receive(epcs: &[&str]) -> Value {
    base(
        "ObjectEvent",
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress"}),
    )
}

fn observe(epcs: &[&str], biz_step: &str) -> Value {
    base(
        "ObjectEvent",
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": biz_step}),
    )
}

fn aggregate(action: &str, parent: &str, children: &[&str]) -> Value {
    base(
        "AggregationEvent",
        json!({"parentID": parent, "childEPCs": children, "action": action, "bizStep": "packing"}),
    )
}

const BEAN: &str = "urn:epc:id:sgtin:0614141.107346.lot1-bag1";
const BEAN2: &str = "urn:epc:id:sgtin:0614141.107346.lot1-bag2";
const BAG: &str = "urn:epc:id:sgtin:0614142.107347.1001";
const BAG2: &str = "urn:epc:id:sgtin:0614142.107347.1002";
const PALLET: &str = "urn:epc:id:sscc:0614142.1234567890";
const ROASTER: &str = "urn:epc:id:pgln:0614142.00000";
const HAULER: &str = "urn:epc:id:pgln:0614143.00000";
const SHOP: &str = "urn:epc:id:pgln:0614144.00000";

#[test]
fn full_journey_moves_custody_step_by_step() {
    let mut w = World::new();
    w.submit("Roaster", commission(&[BAG, BAG2])).unwrap();
    assert_eq!(w.epc(BAG).custodian.as_deref(), Some("Roaster"));
    w.submit("Roaster", aggregate("ADD", PALLET, &[BAG, BAG2]))
        .unwrap();
    assert_eq!(w.epc(PALLET).commissioned_by, "Roaster");
    w.submit("Roaster", ship(&[PALLET], HAULER)).unwrap();
    assert_eq!(w.epc(PALLET).in_transit_to.as_deref(), Some("Hauler"));
    w.submit("Hauler", receive(&[PALLET])).unwrap();
    w.submit("Hauler", aggregate("DELETE", PALLET, &[]))
        .unwrap();
    assert_eq!(w.epc(BAG).custodian.as_deref(), Some("Hauler"));
    assert_eq!(w.epc(BAG).parent, None);
    w.submit("Hauler", ship(&[BAG], SHOP)).unwrap();
    w.submit("Shop", receive(&[BAG])).unwrap();
    w.submit("Shop", observe(&[BAG], "retail_selling")).unwrap();
    assert_eq!(w.epc(BAG).status, EpcStatus::Sold);
    // After sale nothing moves it again...
    assert!(matches!(
        w.submit("Shop", ship(&[BAG], HAULER)),
        Err(RuleViolation::NoLongerActive { .. })
    ));
    // ...but its maker may still recall it.
    let recall = base(
        "ObjectEvent",
        json!({"epcList": [BAG], "action": "OBSERVE", "bizStep": "holding", "disposition": "recalled"}),
    );
    w.submit("Roaster", recall.clone()).unwrap();
    assert!(matches!(
        w.submit("Shop", later(recall, 5)),
        Err(RuleViolation::RecallNotAllowed { .. })
    ));
}

#[test]
fn only_the_prefix_owner_commissions_by_true_prefix_match() {
    let mut w = World::new();
    assert!(matches!(
        w.submit("Farm", commission(&[BAG])),
        Err(RuleViolation::NotPrefixOwner { owner: Some(o), .. }) if o == "Roaster"
    ));
    // "9061414" contains Farm's "061414..." only as a substring: nobody owns it.
    assert!(matches!(
        w.submit("Farm", commission(&["urn:epc:id:sgtin:9061414.107346.1"])),
        Err(RuleViolation::NotPrefixOwner { owner: None, .. })
    ));
    // Custom URIs cannot be proven to belong to anyone.
    assert!(matches!(
        w.submit("Farm", commission(&["https://example.com/thing/1"])),
        Err(RuleViolation::NotCommissionable { .. })
    ));
    // A distributor is not a manufacturer even for its own prefix.
    assert!(matches!(
        w.submit("Hauler", commission(&["urn:epc:id:sgtin:0614143.107346.1"])),
        Err(RuleViolation::RoleRequired {
            role: Role::Manufacturer,
            ..
        })
    ));
    w.submit("Farm", commission(&[BEAN])).unwrap();
    assert!(matches!(
        w.submit("Farm", later(commission(&[BEAN]), 5)),
        Err(RuleViolation::AlreadyCommissioned { .. })
    ));
}

#[test]
fn the_same_product_as_urn_or_digital_link_is_one_identifier() {
    let mut w = World::new();
    w.submit("Roaster", commission(&[BAG])).unwrap();
    let as_link = "https://id.gs1.org/01/10614142073470/21/1001";
    assert_eq!(
        resolve_identifier(as_link).unwrap().key,
        resolve_identifier(BAG).unwrap().key
    );
    assert!(matches!(
        w.submit("Roaster", later(commission(&[as_link]), 5)),
        Err(RuleViolation::AlreadyCommissioned { .. })
    ));
}

#[test]
fn shipping_and_receiving_follow_custody() {
    let mut w = World::new();
    w.submit("Roaster", commission(&[BAG])).unwrap();
    assert!(matches!(
        w.submit("Hauler", ship(&[BAG], SHOP)),
        Err(RuleViolation::NotCustodian { custodian: Some(c), .. }) if c == "Roaster"
    ));
    assert!(matches!(
        w.submit("Hauler", receive(&[BAG])),
        Err(RuleViolation::NotInTransit { .. })
    ));
    let no_destination = observe(&[BAG], "shipping");
    assert_eq!(
        w.submit("Roaster", no_destination),
        Err(RuleViolation::ShipmentWithoutDestination)
    );
    w.submit("Roaster", ship(&[BAG], HAULER)).unwrap();
    assert!(matches!(
        w.submit("Shop", receive(&[BAG])),
        Err(RuleViolation::NotAddressee { to, .. }) if to == "Hauler"
    ));
    assert!(matches!(
        w.submit("Roaster", ship(&[BAG], SHOP)),
        Err(RuleViolation::InTransit { .. })
    ));
    // The shipper keeps custody in transit and may still report on it (e.g. temperatures).
    w.submit("Roaster", observe(&[BAG], "sensor_reporting"))
        .unwrap();
    w.submit("Hauler", receive(&[BAG])).unwrap();
    assert_eq!(w.epc(BAG).custodian.as_deref(), Some("Hauler"));
}

#[test]
fn nothing_happens_before_commissioning_or_after_decommissioning() {
    let mut w = World::new();
    assert!(matches!(
        w.submit("Roaster", observe(&[BAG], "inspecting")),
        Err(RuleViolation::NotCommissioned { .. })
    ));
    w.submit("Roaster", commission(&[BAG])).unwrap();
    let destroy = base(
        "ObjectEvent",
        json!({"epcList": [BAG], "action": "DELETE", "bizStep": "destroying", "disposition": "destroyed"}),
    );
    w.submit("Roaster", destroy).unwrap();
    assert_eq!(w.epc(BAG).status, EpcStatus::Destroyed);
    assert!(matches!(
        w.submit("Roaster", observe(&[BAG], "inspecting")),
        Err(RuleViolation::NoLongerActive {
            status: EpcStatus::Destroyed,
            ..
        })
    ));
}

#[test]
fn aggregated_children_travel_with_their_container() {
    let mut w = World::new();
    w.submit("Roaster", commission(&[BAG, BAG2])).unwrap();
    w.submit("Roaster", aggregate("ADD", PALLET, &[BAG]))
        .unwrap();
    assert!(matches!(
        w.submit("Roaster", ship(&[BAG], HAULER)),
        Err(RuleViolation::InsideParent { .. })
    ));
    assert!(matches!(
        w.submit("Roaster", aggregate("ADD", BAG2, &[BAG])),
        Err(RuleViolation::InsideParent { .. })
    ));
    assert!(matches!(
        w.submit("Roaster", aggregate("ADD", PALLET, &[PALLET])),
        Err(RuleViolation::AggregationCycle { .. })
    ));
    assert!(matches!(
        w.submit("Roaster", aggregate("DELETE", PALLET, &[BAG2])),
        Err(RuleViolation::NotAChild { .. })
    ));
    let decommission_pallet = base(
        "ObjectEvent",
        json!({"epcList": [PALLET], "action": "DELETE", "bizStep": "decommissioning"}),
    );
    assert!(matches!(
        w.submit("Roaster", decommission_pallet),
        Err(RuleViolation::ContainerNotEmpty { count: 1, .. })
    ));
    // Observing a child inside the container is fine for the container's holder.
    w.submit("Roaster", observe(&[BAG], "inspecting")).unwrap();
    w.submit("Roaster", ship(&[PALLET], HAULER)).unwrap();
    w.submit("Hauler", receive(&[PALLET])).unwrap();
    w.submit("Hauler", observe(&[BAG], "storing")).unwrap();
    assert!(matches!(
        w.submit("Roaster", later(observe(&[BAG], "storing"), 5)),
        Err(RuleViolation::NotCustodian { .. })
    ));
}

#[test]
fn transformation_consumes_held_inputs_and_creates_owned_outputs() {
    let mut w = World::new();
    w.submit("Farm", commission(&[BEAN, BEAN2])).unwrap();
    w.submit("Farm", ship(&[BEAN], ROASTER)).unwrap();
    w.submit("Roaster", receive(&[BEAN])).unwrap();
    let roast = |inputs: &[&str], outputs: &[&str]| {
        base(
            "TransformationEvent",
            json!({"inputEPCList": inputs, "outputEPCList": outputs, "bizStep": "commissioning"}),
        )
    };
    assert!(matches!(
        w.submit("Roaster", roast(&[BEAN2], &[BAG])),
        Err(RuleViolation::NotCustodian { .. })
    ));
    assert!(matches!(
        w.submit(
            "Roaster",
            roast(&[BEAN], &["urn:epc:id:sgtin:0614141.107346.99"])
        ),
        Err(RuleViolation::NotPrefixOwner { .. })
    ));
    w.submit("Roaster", roast(&[BEAN], &[BAG])).unwrap();
    assert_eq!(w.epc(BEAN).status, EpcStatus::Consumed);
    let bag_key = resolve_identifier(BAG).unwrap().key;
    let bean_key = resolve_identifier(BEAN).unwrap().key;
    assert_eq!(w.state.transformed_from(&bag_key), Some(&[bean_key][..]));
    assert!(matches!(
        w.submit("Roaster", roast(&[BEAN], &[BAG2])),
        Err(RuleViolation::NoLongerActive {
            status: EpcStatus::Consumed,
            ..
        })
    ));
}

#[test]
fn sequence_numbers_are_gapless_and_never_replayed() {
    let mut w = World::new();
    let first = w.sign("Roaster", &commission(&[BAG]));
    w.state.apply(w.check(&first).unwrap());
    w.sequences.insert("Roaster", 1);
    assert!(matches!(
        w.check(&first),
        Err(RuleViolation::SequenceReplayed {
            last: 1,
            found: 1,
            ..
        })
    ));
    let skipped = w.sign_with_sequence("Roaster", 3, &commission(&[BAG2]));
    assert!(matches!(
        w.check(&skipped),
        Err(RuleViolation::SequenceGap {
            expected: 2,
            found: 3,
            ..
        })
    ));
    // The same event again under a fresh sequence number is a duplicate, not a second copy.
    let again = w.sign("Roaster", &commission(&[BAG]));
    assert!(matches!(
        w.check(&again),
        Err(RuleViolation::DuplicateEvent { .. })
    ));
}

#[test]
fn strangers_revoked_keys_and_future_events_are_refused() {
    let mut w = World::new();
    let stranger = SigningKey::from_seed([99; 32]);
    let record = SignedEvent::sign(&stranger, CHAIN, 1, &commission(&[BAG])).unwrap();
    assert!(matches!(
        w.check(&record),
        Err(RuleViolation::UnknownSigner { .. })
    ));

    let roaster = w.state.participant_by_name("Roaster").unwrap();
    let record = w.state.key_record(&roaster.signing_key).unwrap();
    w.state.apply([StateChange::Key {
        record: record.revoked_from(1),
    }]);
    let err = w.submit("Roaster", commission(&[BAG])).unwrap_err();
    assert_eq!(err.code(), "signer_revoked");

    let mut w = World::new();
    let mut future = commission(&[BAG]);
    future["eventTime"] = json!("2030-01-01T00:00:00Z");
    let err = w.submit("Roaster", future).unwrap_err();
    assert!(matches!(err, RuleViolation::FromTheFuture { .. }));
    assert!(err.is_transient());
}

#[test]
fn certifications_come_only_from_certifiers() {
    let mut w = World::new();
    w.submit("Roaster", commission(&[BAG])).unwrap();
    let mut certify = observe(&[BAG], "inspecting");
    certify["certificationInfo"] = json!("https://certs.example.org/organic/2025/42");
    assert!(matches!(
        w.submit("Roaster", certify.clone()),
        Err(RuleViolation::RoleRequired {
            role: Role::Certifier,
            ..
        })
    ));
    // A certifier may inspect what it does not hold.
    w.submit("Lab", certify).unwrap();
}

#[test]
fn error_declarations_name_an_existing_event_of_the_same_signer() {
    let mut w = World::new();
    let original = commission(&[BAG]);
    let mut declaration = original.clone();
    declaration["errorDeclaration"] = json!({
        "declarationTime": "2025-01-01T11:00:00.000Z",
        "reason": "incorrect_data"
    });
    assert!(matches!(
        w.submit("Roaster", declaration.clone()),
        Err(RuleViolation::ErrorTargetMissing { .. })
    ));
    w.submit("Roaster", original).unwrap();
    assert!(matches!(
        w.submit("Farm", declaration.clone()),
        Err(RuleViolation::ErrorByOtherSigner { .. })
    ));
    w.submit("Roaster", declaration.clone()).unwrap();
    assert!(matches!(
        w.submit("Roaster", declaration),
        Err(RuleViolation::ErrorAlreadyDeclared { .. })
    ));
}

#[test]
fn an_overlay_applies_a_block_in_order_without_touching_the_base() {
    let mut w = World::new();
    let events = [
        ("Roaster", commission(&[BAG, BAG2])),
        ("Roaster", aggregate("ADD", PALLET, &[BAG, BAG2])),
        ("Roaster", ship(&[PALLET], HAULER)),
    ];
    let records: Vec<_> = events.iter().map(|(who, e)| w.sign(who, e)).collect();
    let ctx = RuleContext {
        height: 1,
        block_time_ms: T0 + 3_600_000,
        max_clock_skew_ms: 0,
    };
    let mut pending = PendingChanges::default();
    for (i, record) in records.iter().enumerate() {
        // Sequence numbers were all signed as 1 by `sign`; re-sign in block order.
        let record = SignedEvent::sign(
            &w.keys["Roaster"],
            CHAIN,
            i as u64 + 1,
            &record.event_json().unwrap(),
        )
        .unwrap();
        let overlay = Overlay::new(&w.state, &pending);
        let changes = check_event(&overlay, &record.verify(CHAIN).unwrap(), &ctx).unwrap();
        pending.apply(changes);
    }
    let overlay = Overlay::new(&w.state, &pending);
    let pallet = resolve_identifier(PALLET).unwrap().key;
    assert_eq!(overlay.children(&pallet).len(), 2);
    assert_eq!(
        overlay.epc(&pallet).unwrap().in_transit_to.as_deref(),
        Some("Hauler")
    );
    assert!(w.state.epc(&pallet).is_none(), "base untouched");
    w.state.apply(pending.into_changes());
    assert_eq!(w.state.children(&pallet).len(), 2);
    assert_eq!(w.state.last_sequence(&w.keys["Roaster"].public_key()), 3);
}
