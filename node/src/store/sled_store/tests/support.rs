//! Test support: a five-organisation network, signed EPCIS events, and blocks built the way the
//! node builds them (rules checked over an overlay of the store, Merkle nodes from the stored
//! frontier, a certificate signed by the single validator).

use std::collections::BTreeMap;

use serde_json::{Value, json};

use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use provenance_protocol::ledger::{
    Block, BlockBody, BlockHeader, CommitSignature, FinalityCertificate,
};
use provenance_protocol::merkle::{CompletedNode, MerkleLog};
use provenance_protocol::record::SignedEvent;
use provenance_protocol::rules::{
    Overlay, PendingChanges, RuleContext, RuleViolation, StateChange, check_event,
};

use crate::store::{BlockCommit, LedgerStore, SledStore};

pub(crate) const CHAIN: &str = "store-test";
/// 2025-01-01T10:00:00Z: the events' time; blocks come an hour later.
pub(crate) const T0: u64 = 1_735_725_600_000;

/// Farm (the validator) and Roaster manufacture, Hauler distributes, Shop retails, Lab certifies.
pub(crate) const ORGS: &[(&str, &[Role], &str)] = &[
    ("Farm", &[Role::Manufacturer, Role::Validator], "0614141"),
    ("Roaster", &[Role::Manufacturer], "0614142"),
    ("Hauler", &[Role::Distributor], "0614143"),
    ("Shop", &[Role::Retailer], "0614144"),
    ("Lab", &[Role::Certifier], "0614145"),
];

/// Party identifiers (PGLN) of the organisations, in `ORGS` order.
pub(crate) const PGLNS: &[&str] = &[
    "urn:epc:id:pgln:0614141.00000",
    "urn:epc:id:pgln:0614142.00000",
    "urn:epc:id:pgln:0614143.00000",
    "urn:epc:id:pgln:0614144.00000",
    "urn:epc:id:pgln:0614145.00000",
];

/// The network: genesis and every organisation's key, with the next sequence numbers.
#[derive(Debug)]
pub(crate) struct Net {
    pub genesis: Genesis,
    pub keys: BTreeMap<&'static str, SigningKey>,
    sequences: BTreeMap<&'static str, u64>,
}

impl Net {
    pub(crate) fn new() -> Self {
        Self::with_chain(CHAIN)
    }

    pub(crate) fn with_chain(chain_id: &str) -> Self {
        let mut keys = BTreeMap::new();
        let mut participants = Vec::new();
        for (i, (name, roles, prefix)) in ORGS.iter().enumerate() {
            let seed = u8::try_from(i).unwrap() + 1;
            let key = SigningKey::from_seed([seed; 32]);
            participants.push(Participant {
                name: (*name).into(),
                roles: roles.to_vec(),
                signing_key: key.public_key(),
                network_key: SigningKey::from_seed([seed + 100; 32]).public_key(),
                company_prefixes: vec![(*prefix).into()],
            });
            keys.insert(*name, key);
        }
        let genesis = Genesis {
            chain_id: chain_id.into(),
            genesis_time_ms: T0,
            participants,
            validators: vec![GenesisValidator {
                participant: "Farm".into(),
                power: 1,
            }],
            params: ConsensusParams::default(),
        };
        genesis.validate().unwrap();
        Net {
            genesis,
            keys,
            sequences: BTreeMap::new(),
        }
    }

    /// Signs `event` as `who` with its next sequence number, without advancing it.
    pub(crate) fn sign_next(&self, who: &'static str, event: &Value) -> SignedEvent {
        let sequence = self.sequences.get(who).copied().unwrap_or(0) + 1;
        SignedEvent::sign(&self.keys[who], &self.genesis.chain_id, sequence, event).unwrap()
    }

    /// Marks `who`'s last signed sequence number as used.
    pub(crate) fn advance(&mut self, who: &'static str) {
        *self.sequences.entry(who).or_default() += 1;
    }

    /// Signs `event` as `who` and advances its sequence.
    pub(crate) fn sign(&mut self, who: &'static str, event: &Value) -> SignedEvent {
        let record = self.sign_next(who, event);
        self.advance(who);
        record
    }
}

/// An EPCIS 2.0 event of `event_type` at `2025-01-01T10:00:00Z + second` with `extra` fields.
pub(crate) fn event(event_type: &str, second: u32, extra: Value) -> Value {
    let mut event = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": event_type,
        "eventTime": format!("2025-01-01T10:{:02}:{:02}.000Z", (second / 60) % 60, second % 60),
        "eventTimeZoneOffset": "+00:00",
    });
    if let (Some(target), Some(fields)) = (event.as_object_mut(), extra.as_object()) {
        for (k, v) in fields {
            target.insert(k.clone(), v.clone());
        }
    }
    event
}

pub(crate) fn commission(second: u32, epcs: &[&str], classes: &[&str]) -> Value {
    let quantities: Vec<Value> = classes
        .iter()
        .map(|c| json!({"epcClass": c, "quantity": 10}))
        .collect();
    let mut extra = json!({"epcList": epcs, "action": "ADD", "bizStep": "commissioning", "disposition": "active"});
    if !quantities.is_empty() {
        extra["quantityList"] = json!(quantities);
    }
    event("ObjectEvent", second, extra)
}

pub(crate) fn ship(second: u32, epcs: &[&str], to_pgln: &str) -> Value {
    event(
        "ObjectEvent",
        second,
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
               "destinationList": [{"type": "possessing_party", "destination": to_pgln}]}),
    )
}

pub(crate) fn receive(second: u32, epcs: &[&str]) -> Value {
    event(
        "ObjectEvent",
        second,
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress"}),
    )
}

pub(crate) fn observe(second: u32, epcs: &[&str], biz_step: &str) -> Value {
    event(
        "ObjectEvent",
        second,
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": biz_step}),
    )
}

pub(crate) fn decommission(second: u32, epcs: &[&str]) -> Value {
    event(
        "ObjectEvent",
        second,
        json!({"epcList": epcs, "action": "DELETE", "bizStep": "decommissioning"}),
    )
}

pub(crate) fn aggregate(second: u32, action: &str, parent: &str, children: &[&str]) -> Value {
    event(
        "AggregationEvent",
        second,
        json!({"parentID": parent, "childEPCs": children, "action": action, "bizStep": "packing"}),
    )
}

pub(crate) fn transform(second: u32, inputs: &[&str], outputs: &[&str]) -> Value {
    event(
        "TransformationEvent",
        second,
        json!({"inputEPCList": inputs, "outputEPCList": outputs, "bizStep": "commissioning"}),
    )
}

/// `original` with an `errorDeclaration`: same Event Hash ID, declares it erroneous.
pub(crate) fn declare_error(original: &Value) -> Value {
    let mut declaration = original.clone();
    declaration["errorDeclaration"] = json!({
        "declarationTime": "2025-01-01T11:00:00.000Z",
        "reason": "incorrect_data"
    });
    declaration
}

/// A block built on a store's head, with everything `commit_block` takes.
#[derive(Debug, Clone)]
pub(crate) struct BuiltBlock {
    pub block: Block,
    pub certificate: FinalityCertificate,
    pub changes: Vec<StateChange>,
    pub nodes: Vec<CompletedNode>,
}

impl BuiltBlock {
    pub(crate) fn commit<'a>(&'a self, included_pending: &'a [u64]) -> BlockCommit<'a> {
        BlockCommit {
            block: &self.block,
            certificate: &self.certificate,
            changes: &self.changes,
            merkle_nodes: &self.nodes,
            included_pending,
        }
    }
}

/// Builds the next block on `store`'s head event by event, checking each against the store
/// with the block's earlier events layered on top.
#[derive(Debug)]
pub(crate) struct BlockBuilder<'s> {
    store: &'s SledStore,
    pending: PendingChanges,
    records: Vec<SignedEvent>,
    ctx: RuleContext,
    chain_id: String,
}

impl<'s> BlockBuilder<'s> {
    pub(crate) fn new(store: &'s SledStore, net: &Net) -> Self {
        let height = store.head().unwrap().map_or(0, |h| h.header.height) + 1;
        BlockBuilder {
            store,
            pending: PendingChanges::default(),
            records: Vec::new(),
            ctx: RuleContext {
                height,
                block_time_ms: T0 + 3_600_000 + height,
                max_clock_skew_ms: net.genesis.params.max_clock_skew_ms,
            },
            chain_id: net.genesis.chain_id.clone(),
        }
    }

    /// Adds `record` if the rules accept it here.
    pub(crate) fn try_add(&mut self, record: SignedEvent) -> Result<(), RuleViolation> {
        let verified = record.verify(&self.chain_id).unwrap();
        let changes = check_event(
            &Overlay::new(self.store, &self.pending),
            &verified,
            &self.ctx,
        )?;
        self.pending.apply(changes);
        self.records.push(record);
        Ok(())
    }

    /// Seals the block: Merkle nodes, header and a certificate from the validator (Farm).
    pub(crate) fn finish(self, net: &Net) -> BuiltBlock {
        let store = self.store;
        let validators = net.genesis.validator_set().unwrap();
        let validator = &net.keys["Farm"];
        let prev_hash = store
            .head()
            .unwrap()
            .map_or(net.genesis.hash().0, |head| head.header.hash());
        let mut log = MerkleLog::from_store(store, store.log_size().unwrap()).unwrap();
        let nodes: Vec<CompletedNode> = self
            .records
            .iter()
            .flat_map(|r| log.append(r.leaf_hash(self.ctx.height)).unwrap())
            .collect();
        let body = BlockBody {
            events: self.records,
            ..BlockBody::default()
        };
        let header = BlockHeader {
            chain_id: net.genesis.chain_id.clone(),
            height: self.ctx.height,
            prev_hash,
            time_ms: self.ctx.block_time_ms,
            proposer: validator.public_key(),
            log_root: log.root().to_bytes(),
            log_size: log.size(),
            body_hash: body.hash(),
            validators_hash: validators.hash(),
            next_validators_hash: validators.hash(),
            app_state_root: [0; 32],
        };
        let unsigned = FinalityCertificate::from_precommits(&header, 0, vec![]);
        let signature = unsigned
            .precommit_payload()
            .sign(validator, &net.genesis.chain_id);
        let certificate = FinalityCertificate::from_precommits(
            &header,
            0,
            vec![CommitSignature {
                validator: validator.public_key(),
                signature,
            }],
        );
        certificate.verify(&header, &validators).unwrap();
        BuiltBlock {
            block: Block { header, body },
            certificate,
            changes: self.pending.into_changes(),
            nodes,
        }
    }
}

/// Builds the next block of `records`, every one of which the rules must accept.
pub(crate) fn build_block(store: &SledStore, net: &Net, records: &[SignedEvent]) -> BuiltBlock {
    let mut builder = BlockBuilder::new(store, net);
    for (i, record) in records.iter().enumerate() {
        if let Err(e) = builder.try_add(record.clone()) {
            panic!("event {i} of the block is refused: {e}");
        }
    }
    builder.finish(net)
}

/// Every `(key, value)` of one tree.
pub(crate) type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// Every entry of every tree, by tree name: to show that a refused commit wrote nothing.
pub(crate) fn snapshot(store: &SledStore) -> Vec<(Vec<u8>, Entries)> {
    let mut names = store.db.tree_names();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let tree = store.db.open_tree(&name).unwrap();
            let entries = tree
                .iter()
                .map(|e| {
                    let (k, v) = e.unwrap();
                    (k.to_vec(), v.to_vec())
                })
                .collect();
            (name.to_vec(), entries)
        })
        .collect()
}
