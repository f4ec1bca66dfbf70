//! A ledger for tests: genesis with four validators, blocks certified by any chosen validators,
//! and no rules applied when committing (so tests can also play a dishonest quorum). It serves
//! bundles through [`BundleSource`], like the node does over its store.

use std::collections::BTreeMap;
use std::convert::Infallible;

use serde_json::{Value, json};

use crate::crypto::SigningKey;
use crate::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use crate::governance::{GovernanceAction, GovernanceTx};
use crate::ledger::{
    BlockBody, BlockHeader, CommitSignature, FinalityCertificate, Validator, ValidatorSet,
    VoteKind, VotePayload,
};
use crate::merkle::{self, MemoryNodeStore, MerkleHash, MerkleLog};
use crate::record::SignedEvent;
use crate::rules::{EpcKey, EventFacts};

use super::assemble::{BundleSource, LedgerEvent};
use super::{CertifiedHeader, Handoff, IncludedGovernance};

pub const CHAIN: &str = "bundle-test";
pub const T0: u64 = 1_735_725_600_000; // 2025-01-01T10:00:00Z

/// Farm and Roaster manufacture, Hauler distributes, Shop retails, Lab certifies; the first four
/// validate with power 1 each.
pub const ORGS: &[(&str, &[Role], &str)] = &[
    ("Farm", &[Role::Manufacturer, Role::Validator], "0614141"),
    ("Roaster", &[Role::Manufacturer, Role::Validator], "0614142"),
    ("Hauler", &[Role::Distributor, Role::Validator], "0614143"),
    ("Shop", &[Role::Retailer, Role::Validator], "0614144"),
    ("Lab", &[Role::Certifier], "0614145"),
];

#[derive(Debug)]
pub struct TestLedger {
    pub genesis: Genesis,
    pub keys: BTreeMap<&'static str, SigningKey>,
    sequences: BTreeMap<&'static str, u64>,
    log: MerkleLog,
    nodes: MemoryNodeStore,
    pub blocks: Vec<CertifiedHeader>,
    pub events: Vec<LedgerEvent>,
    pub governance: Vec<IncludedGovernance>,
    pub handoffs: Vec<Handoff>,
    set: ValidatorSet,
    /// Sets taking effect at a height, from governance.
    scheduled: Vec<(u64, ValidatorSet)>,
}

impl TestLedger {
    pub fn new() -> Self {
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
            validators: ORGS[..4]
                .iter()
                .map(|(name, ..)| GenesisValidator {
                    participant: (*name).into(),
                    power: 1,
                })
                .collect(),
            params: ConsensusParams::default(),
        };
        genesis.validate().unwrap();
        let set = genesis.validator_set().unwrap();
        TestLedger {
            genesis,
            keys,
            sequences: BTreeMap::new(),
            log: MerkleLog::new(),
            nodes: MemoryNodeStore::new(),
            blocks: Vec::new(),
            events: Vec::new(),
            governance: Vec::new(),
            handoffs: Vec::new(),
            set,
            scheduled: Vec::new(),
        }
    }

    pub fn sign(&mut self, who: &'static str, event: &Value) -> SignedEvent {
        let sequence = self.sequences.entry(who).or_default();
        *sequence += 1;
        SignedEvent::sign(&self.keys[who], CHAIN, *sequence, event).unwrap()
    }

    /// Commits one block with `events`, certified by `signers` (validator names).
    pub fn commit_signed_by(&mut self, events: Vec<SignedEvent>, signers: &[&str]) -> u64 {
        let height = self.blocks.len() as u64 + 1;
        for record in &events {
            let leaf_index = self.log.size();
            let nodes = self.log.append(record.leaf_hash(height)).unwrap();
            self.nodes.insert_all(nodes).unwrap();
            self.events.push(LedgerEvent {
                record: record.clone(),
                height,
                leaf_index,
            });
        }
        let next = self
            .scheduled
            .iter()
            .find(|(from, _)| *from == height + 1)
            .map_or_else(|| self.set.clone(), |(_, set)| set.clone());
        let hands_off = next != self.set;
        let body = BlockBody {
            events,
            next_validators: hands_off.then(|| next.clone()),
            ..BlockBody::default()
        };
        let header = BlockHeader {
            chain_id: CHAIN.into(),
            height,
            prev_hash: self
                .blocks
                .last()
                .map_or(self.genesis.hash().0, |b| b.header.hash()),
            time_ms: T0 + height * 60_000,
            proposer: self.keys["Farm"].public_key(),
            log_root: self.log.root().to_bytes(),
            log_size: self.log.size(),
            body_hash: body.hash(),
            validators_hash: self.set.hash(),
            next_validators_hash: next.hash(),
            app_state_root: [0; 32],
        };
        let certificate = self.certify(&header, signers);
        if hands_off {
            self.handoffs.push(Handoff {
                header: header.clone(),
                certificate: certificate.clone(),
                next_validators: next.clone(),
            });
        }
        self.set = next;
        self.blocks.push(CertifiedHeader {
            header,
            certificate,
        });
        height
    }

    /// Commits one block certified by every genesis validator.
    pub fn commit(&mut self, events: Vec<SignedEvent>) -> u64 {
        self.commit_signed_by(events, &["Farm", "Roaster", "Hauler", "Shop"])
    }

    /// Commits an empty block including `tx` (only `SetValidatorPower` changes the schedule
    /// here), effective `validator_change_delay` heights later, as the rules make it.
    pub fn commit_with_governance(&mut self, tx: GovernanceTx) {
        let height = self.blocks.len() as u64 + 1;
        if let GovernanceAction::SetValidatorPower { name, power } = &tx.proposal.action {
            let key = self.keys[name.as_str()].public_key();
            let validators = self
                .set
                .validators()
                .iter()
                .map(|v| Validator {
                    key: v.key,
                    power: if v.key == key { *power } else { v.power },
                })
                .collect();
            let effective = height + self.genesis.params.validator_change_delay;
            self.scheduled
                .push((effective, ValidatorSet::new(validators).unwrap()));
        }
        self.governance.push(IncludedGovernance { height, tx });
        self.commit(Vec::new());
    }

    pub fn certify(&self, header: &BlockHeader, signers: &[&str]) -> FinalityCertificate {
        let payload = VotePayload {
            kind: VoteKind::Precommit,
            height: header.height,
            round: 0,
            block_hash: Some(header.hash()),
        };
        let signatures = signers
            .iter()
            .map(|name| CommitSignature {
                validator: self.keys[name].public_key(),
                signature: payload.sign(&self.keys[name], CHAIN),
            })
            .collect();
        FinalityCertificate::from_precommits(header, 0, signatures)
    }

    /// The standard journey: two green-coffee bags from Farm, certified by Lab, shipped to
    /// Roaster, roasted into retail bags R1 and R2 (R3 commissioned separately, outside the
    /// story), packed on a pallet with R3, shipped to Hauler with a temperature log, then to
    /// Shop, unpacked and R1 sold. One block per event.
    pub fn journey() -> TestLedger {
        let mut ledger = TestLedger::new();
        for (who, event) in journey_events() {
            let record = ledger.sign(who, &event);
            ledger.commit(vec![record]);
        }
        ledger
    }
}

pub const BAGS: [&str; 2] = [
    "urn:epc:id:sgtin:0614141.107346.B1",
    "urn:epc:id:sgtin:0614141.107346.B2",
];
pub const R1: &str = "urn:epc:id:sgtin:0614142.004521.R1";
pub const R2: &str = "urn:epc:id:sgtin:0614142.004521.R2";
pub const R3: &str = "urn:epc:id:sgtin:0614142.004521.R3";
pub const PALLET: &str = "urn:epc:id:sscc:0614142.1000004001";
const HAULER_PGLN: &str = "urn:epc:id:pgln:0614143.00000";
const ROASTER_PGLN: &str = "urn:epc:id:pgln:0614142.00000";
const SHOP_PGLN: &str = "urn:epc:id:pgln:0614144.00000";

pub fn at(minutes: u64) -> String {
    let ms = T0 - 24 * 3_600_000 + minutes * 60_000;
    crate::bundle::verify::rfc3339(ms)
}

pub fn object(minutes: u64, fields: Value) -> Value {
    let mut event = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventTime": at(minutes),
        "eventTimeZoneOffset": "+00:00",
    });
    for (k, v) in fields.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

fn typed(kind: &str, minutes: u64, fields: Value) -> Value {
    let mut event = object(minutes, fields);
    event["type"] = json!(kind);
    event
}

pub fn ship(minutes: u64, epcs: &[&str], to: &str) -> Value {
    object(
        minutes,
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": "shipping",
               "disposition": "in_transit",
               "destinationList": [{"type": "possessing_party", "destination": to}]}),
    )
}

pub fn receive(minutes: u64, epcs: &[&str]) -> Value {
    object(
        minutes,
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": "receiving",
               "disposition": "in_progress"}),
    )
}

pub fn journey_events() -> Vec<(&'static str, Value)> {
    vec![
        (
            "Farm",
            object(
                0,
                json!({"epcList": BAGS, "action": "ADD", "bizStep": "commissioning",
                       "disposition": "active"}),
            ),
        ),
        (
            "Lab",
            object(
                10,
                json!({"epcList": BAGS, "action": "OBSERVE", "bizStep": "inspecting",
                       "certificationInfo": "https://cert.example/organic/42"}),
            ),
        ),
        ("Farm", ship(20, &BAGS, ROASTER_PGLN)),
        ("Roaster", receive(30, &BAGS)),
        (
            "Roaster",
            typed(
                "TransformationEvent",
                40,
                json!({"inputEPCList": BAGS, "outputEPCList": [R1, R2],
                       "bizStep": "commissioning", "disposition": "active"}),
            ),
        ),
        (
            "Roaster",
            object(
                45,
                json!({"epcList": [R3], "action": "ADD", "bizStep": "commissioning",
                       "disposition": "active"}),
            ),
        ),
        (
            "Roaster",
            typed(
                "AggregationEvent",
                50,
                json!({"parentID": PALLET, "childEPCs": [R1, R2, R3], "action": "ADD",
                       "bizStep": "packing"}),
            ),
        ),
        ("Roaster", ship(60, &[PALLET], HAULER_PGLN)),
        ("Hauler", receive(70, &[PALLET])),
        ("Hauler", ship(80, &[PALLET], SHOP_PGLN)),
        ("Shop", receive(90, &[PALLET])),
        (
            "Shop",
            typed(
                "AggregationEvent",
                100,
                json!({"parentID": PALLET, "childEPCs": [R1, R2, R3], "action": "DELETE",
                       "bizStep": "unpacking"}),
            ),
        ),
        (
            "Shop",
            object(
                110,
                json!({"epcList": [R1], "action": "OBSERVE", "bizStep": "retail_selling",
                       "disposition": "retail_sold"}),
            ),
        ),
    ]
}

fn facts(record: &SignedEvent) -> Option<EventFacts> {
    let verified = record.verify(CHAIN).ok()?;
    EventFacts::extract(&verified.event).ok()
}

impl BundleSource for TestLedger {
    type Error = Infallible;

    fn genesis(&self) -> &Genesis {
        &self.genesis
    }
    fn anchor(&self) -> Result<Option<CertifiedHeader>, Infallible> {
        Ok(self.blocks.last().cloned())
    }
    fn handoffs(&self, height: u64) -> Result<Vec<Handoff>, Infallible> {
        Ok(self
            .handoffs
            .iter()
            .filter(|h| h.header.height <= height)
            .cloned()
            .collect())
    }
    fn governance(&self, height: u64) -> Result<Vec<IncludedGovernance>, Infallible> {
        Ok(self
            .governance
            .iter()
            .filter(|g| g.height <= height)
            .cloned()
            .collect())
    }
    fn events_naming(&self, key: &EpcKey, limit: usize) -> Result<Vec<LedgerEvent>, Infallible> {
        Ok(self
            .events
            .iter()
            .filter(|e| {
                facts(&e.record).is_some_and(|f| super::closure::named(&f).any(|k| k == key))
            })
            .take(limit)
            .cloned()
            .collect())
    }
    fn lot_events(
        &self,
        gtin: &str,
        lot: &str,
        limit: usize,
    ) -> Result<Vec<LedgerEvent>, Infallible> {
        let key = EpcKey(format!("https://id.gs1.org/01/{gtin}/10/{lot}"));
        self.events_naming(&key, limit)
    }
    fn inclusion_path(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<MerkleHash>, Infallible> {
        Ok(merkle::inclusion_proof(&self.nodes, leaf_index, tree_size)
            .map(|p| p.path)
            .unwrap_or_default())
    }
}
