//! Assembling a bundle from a ledger: which events belong to a subject's story.
//!
//! Pure: the ledger is reached through [`BundleSource`], which the node implements over its store
//! and tests implement in memory. The selection follows [`Closure`], the same rule the verifier
//! re-derives from the bundle's own events, so a node that leaves a container or an input out is
//! caught by the custody rules rather than believed.
//!
//! The procedure:
//!
//! 1. Pin the anchor (the newest finalised header). Everything is read relative to its
//!    `log_size`: events the source returns at or beyond it were finalised after the anchor
//!    and are ignored, so concurrent commits cannot produce a proof the anchor does not back.
//! 2. Fetch the subject's events, compute the closure over every event fetched so far, fetch
//!    the events of every identifier the closure newly tracks, and repeat until no identifier
//!    is new (a fixed point: each round only adds identifiers, and the ledger is finite).
//! 3. Keep the subject's own events and every event the closure needs, plus the error
//!    declarations of kept events (separate records with the same Event Hash ID), deduplicated
//!    and in log order, each with its inclusion proof against the anchor.

use std::collections::{BTreeMap, BTreeSet};

use crate::epcis::EpcisEvent;
use crate::event_hash::EventHashId;
use crate::genesis::Genesis;
use crate::merkle::MerkleHash;
use crate::record::SignedEvent;
use crate::rules::{EpcKey, EventFacts};

use super::closure::Closure;
use super::{
    BUNDLE_VERSION, CertifiedHeader, Handoff, IncludedGovernance, MAX_BUNDLE_EVENTS, ProofPath,
    ProvenEvent, ProvenanceBundle, Scope, Subject,
};

/// Most distinct events assembly examines (fetched and parsed) for one bundle, kept or not.
/// Containers reused for many shipments make the examined set larger than the bundle; this
/// bounds the work one request can cause.
pub const MAX_EXAMINED_EVENTS: usize = 4 * MAX_BUNDLE_EVENTS;

/// Most events asked of the source per identifier: one more than a bundle carries, so an
/// identifier with too long a history is recognised instead of silently cut short.
const FETCH_LIMIT: usize = MAX_BUNDLE_EVENTS + 1;

/// A finalised event with its place in the ledger.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerEvent {
    pub record: SignedEvent,
    pub height: u64,
    pub leaf_index: u64,
}

/// Read access to a finalised ledger, as much as assembling a bundle needs.
pub trait BundleSource {
    type Error: std::error::Error + Send + Sync + 'static;

    fn genesis(&self) -> &Genesis;
    /// The newest finalised header with its certificate (`None` before the first block).
    fn anchor(&self) -> Result<Option<CertifiedHeader>, Self::Error>;
    /// Every validator-set hand-off at or below `height`, in increasing height.
    fn handoffs(&self, height: u64) -> Result<Vec<Handoff>, Self::Error>;
    /// Every governance transaction included at or below `height`, in ledger order.
    fn governance(&self, height: u64) -> Result<Vec<IncludedGovernance>, Self::Error>;
    /// Every finalised event naming `key` in any role (epcList, parentID, childEPCs, inputs,
    /// outputs, quantity classes) in log order, including error declarations; at most `limit`.
    fn events_naming(&self, key: &EpcKey, limit: usize) -> Result<Vec<LedgerEvent>, Self::Error>;
    /// Every finalised event naming lot `lot` of `gtin`, in log order; at most `limit`.
    fn lot_events(
        &self,
        gtin: &str,
        lot: &str,
        limit: usize,
    ) -> Result<Vec<LedgerEvent>, Self::Error>;
    /// RFC 6962 audit path of `leaf_index` in the tree of the first `tree_size` leaves.
    fn inclusion_path(
        &self,
        leaf_index: u64,
        tree_size: u64,
    ) -> Result<Vec<MerkleHash>, Self::Error>;
}

/// Why a bundle could not be assembled.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AssembleError<E: std::error::Error + 'static> {
    #[error("the ledger has no finalised block yet, so nothing can be proven")]
    NoBlocksYet,
    #[error("no finalised event names {subject}")]
    NotFound { subject: String },
    #[error(
        "the story of {subject} has more than {limit} events; a bundle carries at most {limit}"
    )]
    TooManyEvents { subject: String, limit: usize },
    #[error("a stored event cannot be read: {0}")]
    BadStoredEvent(String),
    #[error("ledger read failed: {0}")]
    Source(#[source] E),
}

/// Assembles the bundle of `subject` in `scope` against the source's newest finalised header.
pub fn assemble<S: BundleSource>(
    source: &S,
    subject: &Subject,
    scope: Scope,
) -> Result<ProvenanceBundle, AssembleError<S::Error>> {
    let anchor = source
        .anchor()
        .map_err(AssembleError::Source)?
        .ok_or(AssembleError::NoBlocksYet)?;
    let log_size = anchor.header.log_size;
    let mut examined = Examined::new(subject, log_size);

    let own = match subject {
        Subject::Instance { key } => source.events_naming(key, FETCH_LIMIT),
        Subject::Lot { gtin, lot, .. } => source.lot_events(gtin, lot, FETCH_LIMIT),
    }
    .map_err(AssembleError::Source)?;
    examined.add(own)?;
    // The subject's own events are its story even when the closure would not name them (a lot's
    // events may name instances that carry the lot rather than the lot class itself).
    let own_leaves: BTreeSet<u64> = examined.originals.keys().copied().collect();
    if own_leaves.is_empty() {
        return Err(AssembleError::NotFound {
            subject: subject.key().0.clone(),
        });
    }

    let mut queried = BTreeSet::from([subject.key().clone()]);
    let closure = loop {
        let closure = examined.closure(subject.key(), scope);
        let new: Vec<EpcKey> = closure
            .members
            .keys()
            .filter(|key| !queried.contains(*key))
            .cloned()
            .collect();
        if new.is_empty() {
            break closure;
        }
        for key in new {
            let events = source
                .events_naming(&key, FETCH_LIMIT)
                .map_err(AssembleError::Source)?;
            examined.add(events)?;
            queried.insert(key);
        }
    };

    let selected = examined.select(&own_leaves, &closure);
    if selected.len() > MAX_BUNDLE_EVENTS {
        return Err(examined.too_many());
    }
    let events = selected
        .into_iter()
        .map(|event| {
            let path = source
                .inclusion_path(event.leaf_index, log_size)
                .map_err(AssembleError::Source)?;
            Ok(ProvenEvent {
                record: event.record.clone(),
                height: event.height,
                leaf_index: event.leaf_index,
                path: ProofPath(path),
            })
        })
        .collect::<Result<Vec<_>, AssembleError<S::Error>>>()?;

    let height = anchor.header.height;
    Ok(ProvenanceBundle {
        version: BUNDLE_VERSION,
        subject: subject.key().0.clone(),
        scope,
        genesis: source.genesis().clone(),
        handoffs: source.handoffs(height).map_err(AssembleError::Source)?,
        governance: source.governance(height).map_err(AssembleError::Source)?,
        anchor,
        events,
    })
}

/// An event assembly has read, with the facts the closure acts on.
#[derive(Debug)]
struct Parsed {
    event: LedgerEvent,
    facts: EventFacts,
}

/// Every event read so far below the anchor: originals by leaf, error declarations by the Event
/// Hash ID of the event they correct.
#[derive(Debug)]
struct Examined {
    subject: String,
    log_size: u64,
    originals: BTreeMap<u64, Parsed>,
    declarations: BTreeMap<EventHashId, Vec<LedgerEvent>>,
    /// Leaves of every distinct record read (originals and declarations), for the work bound.
    seen: BTreeSet<u64>,
}

impl Examined {
    fn new(subject: &Subject, log_size: u64) -> Self {
        Examined {
            subject: subject.key().0.clone(),
            log_size,
            originals: BTreeMap::new(),
            declarations: BTreeMap::new(),
            seen: BTreeSet::new(),
        }
    }

    fn too_many<E: std::error::Error>(&self) -> AssembleError<E> {
        AssembleError::TooManyEvents {
            subject: self.subject.clone(),
            limit: MAX_BUNDLE_EVENTS,
        }
    }

    /// Takes in one identifier's events: refuses a history too long to have been read whole,
    /// ignores events past the anchor and records already read, parses the rest.
    fn add<E: std::error::Error>(
        &mut self,
        events: Vec<LedgerEvent>,
    ) -> Result<(), AssembleError<E>> {
        if events.len() > MAX_BUNDLE_EVENTS {
            return Err(self.too_many());
        }
        for event in events {
            if event.leaf_index >= self.log_size || !self.seen.insert(event.leaf_index) {
                continue;
            }
            if self.seen.len() > MAX_EXAMINED_EVENTS {
                return Err(self.too_many());
            }
            let facts = facts_of(&event)?;
            if facts.declares_error {
                self.declarations
                    .entry(event.record.event_hash_id)
                    .or_default()
                    .push(event);
            } else {
                self.originals
                    .insert(event.leaf_index, Parsed { event, facts });
            }
        }
        Ok(())
    }

    /// The closure over the originals in log order. Error declarations stay out: they repeat the
    /// event they correct and change no custody, so following them would invent a second
    /// aggregation or transformation at a later leaf.
    fn closure(&self, subject: &EpcKey, scope: Scope) -> Closure {
        let facts: Vec<(u64, &EventFacts)> = self
            .originals
            .iter()
            .map(|(leaf, parsed)| (*leaf, &parsed.facts))
            .collect();
        Closure::compute(subject, scope, &facts)
    }

    /// The subject's own events, the events the closure needs, and the error declarations of
    /// those, in log order.
    fn select(&self, own: &BTreeSet<u64>, closure: &Closure) -> Vec<&LedgerEvent> {
        let mut kept: BTreeMap<u64, &LedgerEvent> = BTreeMap::new();
        for (leaf, parsed) in &self.originals {
            if own.contains(leaf) || closure.needs(*leaf, &parsed.facts) {
                kept.insert(*leaf, &parsed.event);
                for declaration in self
                    .declarations
                    .get(&parsed.event.record.event_hash_id)
                    .into_iter()
                    .flatten()
                {
                    kept.insert(declaration.leaf_index, declaration);
                }
            }
        }
        kept.into_values().collect()
    }
}

/// The rule-relevant facts of a stored event. The ledger validated it before finalising it, so
/// a failure here means the source returned something it should not have.
fn facts_of<E: std::error::Error>(event: &LedgerEvent) -> Result<EventFacts, AssembleError<E>> {
    let bad = |what: String| {
        AssembleError::BadStoredEvent(format!(
            "event {} at leaf {}: {what}",
            event.record.event_hash_id, event.leaf_index
        ))
    };
    let value = event.record.event_json().map_err(|e| bad(e.to_string()))?;
    let parsed =
        EpcisEvent::from_value(&value).map_err(|e| bad(format!("not an EPCIS event: {e}")))?;
    EventFacts::extract(&parsed).map_err(|e| bad(format!("its identifiers do not resolve: {e}")))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::bundle::closure::named;
    use crate::crypto::SigningKey;
    use crate::genesis::{ConsensusParams, GenesisValidator, Participant, Role};
    use crate::gs1;
    use crate::ledger::{BlockHeader, FinalityCertificate};
    use crate::merkle::{self, InclusionProof, MemoryNodeStore, MerkleLog};

    const CHAIN: &str = "assemble-test";
    const G1: &str = "urn:epc:id:sgtin:0614141.107346.G1";
    const G2: &str = "urn:epc:id:sgtin:0614141.107346.G2";
    const R1: &str = "urn:epc:id:sgtin:0614142.004521.R1";
    const R2: &str = "urn:epc:id:sgtin:0614142.004521.R2";
    const X: &str = "urn:epc:id:sgtin:0614142.004521.X9";
    const UNRELATED: &str = "urn:epc:id:sgtin:0614141.107346.U1";
    const PALLET: &str = "urn:epc:id:sscc:0614142.1000004001";
    const LOT: &str = "urn:epc:class:lgtin:0614141.107346.LOT7";

    fn signing_key() -> SigningKey {
        SigningKey::from_seed([7; 32])
    }

    fn event(kind: &str, minute: u32, fields: Value) -> Value {
        let mut event = json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": kind,
            "eventTime": format!("2025-01-01T10:{minute:02}:00.000Z"),
            "eventTimeZoneOffset": "+00:00",
        });
        for (k, v) in fields.as_object().unwrap() {
            event[k] = v.clone();
        }
        event
    }

    fn object(epcs: &[&str], minute: u32, step: &str) -> Value {
        event(
            "ObjectEvent",
            minute,
            json!({"epcList": epcs, "action": if step == "commissioning" { "ADD" } else { "OBSERVE" },
                   "bizStep": step}),
        )
    }

    fn aggregation(action: &str, children: &[&str], minute: u32) -> Value {
        event(
            "AggregationEvent",
            minute,
            json!({"parentID": PALLET, "childEPCs": children, "action": action}),
        )
    }

    fn declared(mut original: Value) -> Value {
        original["errorDeclaration"] = json!({
            "declarationTime": "2025-01-01T11:00:00.000Z",
            "reason": "incorrect_data"
        });
        original
    }

    /// The ledger of the tests, one event per leaf:
    ///
    /// | leaf | event |
    /// |---|---|
    /// | 0 | commission G1, G2 |
    /// | 1 | commission an unrelated item |
    /// | 2 | certify G1, G2 |
    /// | 3 | roast G1, G2 into R1, R2 |
    /// | 4 | pack R1, R2 onto the pallet |
    /// | 5 | ship the pallet |
    /// | 6 | unpack R1, R2 |
    /// | 7 | sell R1 |
    /// | 8 | pack X onto the (reused) pallet |
    /// | 9 | ship the pallet again |
    /// | 10 | error declaration of leaf 5 |
    /// | 11 | error declaration of leaf 9 |
    /// | 12 | commission 5 units of lot LOT7 |
    fn journey() -> Vec<Value> {
        let ship = object(&[PALLET], 5, "shipping");
        let reship = object(&[PALLET], 9, "shipping");
        let mut certify = object(&[G1, G2], 2, "inspecting");
        certify["certificationInfo"] = json!("https://cert.example/1");
        vec![
            object(&[G1, G2], 0, "commissioning"),
            object(&[UNRELATED], 1, "commissioning"),
            certify,
            event(
                "TransformationEvent",
                3,
                json!({"inputEPCList": [G1, G2], "outputEPCList": [R1, R2]}),
            ),
            aggregation("ADD", &[R1, R2], 4),
            ship.clone(),
            aggregation("DELETE", &[R1, R2], 6),
            object(&[R1], 7, "retail_selling"),
            aggregation("ADD", &[X], 8),
            reship.clone(),
            declared(ship),
            declared(reship),
            event(
                "ObjectEvent",
                12,
                json!({"quantityList": [{"epcClass": LOT, "quantity": 5}], "action": "ADD",
                       "bizStep": "commissioning"}),
            ),
        ]
    }

    #[derive(Debug, thiserror::Error)]
    #[error("the fake ledger was told to fail")]
    struct FakeError;

    /// A stored event with what it is indexed under: identifier keys and `(GTIN, lot)` pairs.
    #[derive(Clone)]
    struct Stored {
        event: LedgerEvent,
        keys: Vec<EpcKey>,
        lots: Vec<(String, String)>,
    }

    /// An in-memory ledger: signed events, their Merkle log, an anchor over a prefix of it.
    struct Fake {
        genesis: Genesis,
        events: Vec<Stored>,
        nodes: MemoryNodeStore,
        leaf_hashes: Vec<MerkleHash>,
        anchor_size: Option<u64>,
        /// Rotates and duplicates what `events_naming` returns (a sloppy but honest source).
        mangle: Option<usize>,
        fail_proofs: bool,
        asked_height: Cell<Option<u64>>,
    }

    fn genesis() -> Genesis {
        Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: 1_735_689_600_000,
            participants: vec![Participant {
                name: "Everyone".into(),
                roles: vec![Role::Manufacturer, Role::Validator],
                signing_key: signing_key().public_key(),
                network_key: SigningKey::from_seed([8; 32]).public_key(),
                company_prefixes: vec!["0614141".into()],
            }],
            validators: vec![GenesisValidator {
                participant: "Everyone".into(),
                power: 1,
            }],
            params: ConsensusParams::default(),
        }
    }

    impl Fake {
        fn new(events: &[Value]) -> Fake {
            let mut log = MerkleLog::new();
            let mut nodes = MemoryNodeStore::new();
            let mut leaf_hashes = Vec::new();
            let mut stored = Vec::new();
            for (leaf, value) in events.iter().enumerate() {
                let record =
                    SignedEvent::sign(&signing_key(), CHAIN, leaf as u64 + 1, value).unwrap();
                let height = leaf as u64 / 3 + 1;
                let hash = record.leaf_hash(height);
                leaf_hashes.push(hash);
                nodes.insert_all(log.append(hash).unwrap()).unwrap();
                let parsed = EpcisEvent::from_value(&record.event_json().unwrap()).unwrap();
                let facts = EventFacts::extract(&parsed).unwrap();
                let keys = named(&facts).cloned().collect();
                let lots = [&facts.epcs, &facts.quantity_classes]
                    .into_iter()
                    .flatten()
                    .filter_map(|identity| {
                        let normalized = gs1::parse_any_epc(&identity.original).ok()?;
                        Some((
                            normalized.gtin()?.as_str().to_owned(),
                            normalized.lot()?.to_owned(),
                        ))
                    })
                    .collect();
                let event = LedgerEvent {
                    record,
                    height,
                    leaf_index: leaf as u64,
                };
                stored.push(Stored { event, keys, lots });
            }
            Fake {
                genesis: genesis(),
                anchor_size: Some(stored.len() as u64),
                events: stored,
                nodes,
                leaf_hashes,
                mangle: None,
                fail_proofs: false,
                asked_height: Cell::new(None),
            }
        }

        fn ledger() -> Fake {
            Fake::new(&journey())
        }

        fn root(&self, size: u64) -> MerkleHash {
            merkle::root_from_leaves(&self.leaf_hashes[..size as usize])
        }

        fn shape(&self, mut events: Vec<LedgerEvent>, limit: usize) -> Vec<LedgerEvent> {
            if let Some(seed) = self.mangle
                && !events.is_empty()
            {
                let at = seed % events.len();
                events.rotate_left(at);
                events.push(events[0].clone());
            }
            events.truncate(limit);
            events
        }
    }

    impl BundleSource for Fake {
        type Error = FakeError;

        fn genesis(&self) -> &Genesis {
            &self.genesis
        }

        fn anchor(&self) -> Result<Option<CertifiedHeader>, FakeError> {
            let Some(size) = self.anchor_size else {
                return Ok(None);
            };
            let height = size / 3 + 1;
            let header = BlockHeader {
                chain_id: CHAIN.into(),
                height,
                prev_hash: [0; 32],
                time_ms: 1_735_689_600_000 + height,
                proposer: signing_key().public_key(),
                log_root: self.root(size).to_bytes(),
                log_size: size,
                body_hash: [0; 32],
                validators_hash: [0; 32],
                next_validators_hash: [0; 32],
                app_state_root: [0; 32],
            };
            let certificate = FinalityCertificate {
                height,
                round: 0,
                header_hash: header.hash(),
                signatures: vec![],
            };
            Ok(Some(CertifiedHeader {
                header,
                certificate,
            }))
        }

        fn handoffs(&self, height: u64) -> Result<Vec<Handoff>, FakeError> {
            self.asked_height.set(Some(height));
            Ok(vec![])
        }

        fn governance(&self, height: u64) -> Result<Vec<IncludedGovernance>, FakeError> {
            assert_eq!(self.asked_height.get(), Some(height));
            Ok(vec![])
        }

        fn events_naming(&self, key: &EpcKey, limit: usize) -> Result<Vec<LedgerEvent>, FakeError> {
            let found = self
                .events
                .iter()
                .filter(|stored| stored.keys.contains(key))
                .map(|stored| stored.event.clone())
                .collect();
            Ok(self.shape(found, limit))
        }

        fn lot_events(
            &self,
            gtin: &str,
            lot: &str,
            limit: usize,
        ) -> Result<Vec<LedgerEvent>, FakeError> {
            let found = self
                .events
                .iter()
                .filter(|stored| stored.lots.iter().any(|(g, l)| g == gtin && l == lot))
                .map(|stored| stored.event.clone())
                .collect();
            Ok(self.shape(found, limit))
        }

        fn inclusion_path(&self, leaf: u64, size: u64) -> Result<Vec<MerkleHash>, FakeError> {
            if self.fail_proofs {
                return Err(FakeError);
            }
            Ok(merkle::inclusion_proof(&self.nodes, leaf, size)
                .unwrap()
                .path)
        }
    }

    fn subject(id: &str) -> Subject {
        Subject::parse(id).unwrap()
    }

    fn leaves(bundle: &ProvenanceBundle) -> Vec<u64> {
        bundle.events.iter().map(|e| e.leaf_index).collect()
    }

    /// Every proof leads from the record to the anchor's root over the anchor's size.
    fn assert_proofs_verify(bundle: &ProvenanceBundle) {
        let root = MerkleHash::from_bytes(bundle.anchor.header.log_root);
        for event in &bundle.events {
            let proof = InclusionProof {
                leaf_index: event.leaf_index,
                tree_size: bundle.anchor.header.log_size,
                path: event.path.0.clone(),
            };
            merkle::verify_inclusion(&event.record.leaf_hash(event.height), &proof, &root)
                .unwrap_or_else(|e| panic!("leaf {}: {e}", event.leaf_index));
        }
    }

    #[test]
    fn a_bag_carries_its_pallet_while_on_it_and_its_inputs_back_to_commissioning() {
        let fake = Fake::ledger();
        let bundle = assemble(&fake, &subject(R1), Scope::Upstream).unwrap();
        // Not the unrelated item (1), not the pallet's next trip (8, 9) nor its declaration (11),
        // not the lot (12).
        assert_eq!(leaves(&bundle), [0, 2, 3, 4, 5, 6, 7, 10]);
        assert_eq!(bundle.version, BUNDLE_VERSION);
        assert_eq!(bundle.subject, "https://id.gs1.org/01/00614142045210/21/R1");
        assert_eq!(bundle.scope, Scope::Upstream);
        assert_eq!(bundle.genesis, genesis());
        assert_eq!(bundle.anchor.header.log_size, 13);
        assert_eq!(fake.asked_height.get(), Some(bundle.anchor.header.height));
        for event in &bundle.events {
            let stored = &fake.events[event.leaf_index as usize].event;
            assert_eq!(
                (&event.record, event.height),
                (&stored.record, stored.height)
            );
        }
        assert_proofs_verify(&bundle);
        // The bundle survives both encodings.
        assert_eq!(
            ProvenanceBundle::from_cbor(&bundle.to_cbor()).unwrap(),
            bundle
        );
        assert_eq!(
            ProvenanceBundle::from_json(bundle.to_json().as_bytes()).unwrap(),
            bundle
        );
    }

    #[test]
    fn an_error_declaration_comes_with_the_event_it_corrects_and_not_alone() {
        let fake = Fake::ledger();
        let bundle = assemble(&fake, &subject(R1), Scope::Upstream).unwrap();
        let ship = &bundle
            .events
            .iter()
            .find(|e| e.leaf_index == 5)
            .unwrap()
            .record;
        let declaration = &bundle
            .events
            .iter()
            .find(|e| e.leaf_index == 10)
            .unwrap()
            .record;
        assert_eq!(ship.event_hash_id, declaration.event_hash_id);
        assert_ne!(ship, declaration);
        // The pallet itself: its whole history, both declarations with their originals.
        let pallet = assemble(&fake, &subject(PALLET), Scope::Upstream).unwrap();
        assert_eq!(leaves(&pallet), [4, 5, 6, 8, 9, 10, 11]);
    }

    #[test]
    fn downstream_follows_outputs_and_their_containers() {
        let fake = Fake::ledger();
        let bundle = assemble(&fake, &subject(G1), Scope::Downstream).unwrap();
        assert_eq!(leaves(&bundle), [0, 2, 3, 4, 5, 6, 7, 10]);
        assert_eq!(bundle.scope, Scope::Downstream);
        // Upstream of a raw material is only its own story.
        let raw = assemble(&fake, &subject(G1), Scope::Upstream).unwrap();
        assert_eq!(leaves(&raw), [0, 2, 3]);
        assert_proofs_verify(&raw);
    }

    #[test]
    fn a_lot_is_found_through_the_lot_index() {
        let fake = Fake::ledger();
        let bundle = assemble(&fake, &subject(LOT), Scope::Upstream).unwrap();
        assert_eq!(leaves(&bundle), [12]);
        assert_eq!(
            bundle.subject,
            "https://id.gs1.org/01/10614141073464/10/LOT7"
        );
        assert_proofs_verify(&bundle);
    }

    #[test]
    fn events_after_the_anchor_are_left_out_and_proofs_use_the_anchor_size() {
        let mut fake = Fake::ledger();
        // The anchor was read before leaves 7.. were finalised.
        fake.anchor_size = Some(7);
        let bundle = assemble(&fake, &subject(R1), Scope::Upstream).unwrap();
        assert_eq!(leaves(&bundle), [0, 2, 3, 4, 5, 6]);
        assert_eq!(bundle.anchor.header.log_size, 7);
        assert_proofs_verify(&bundle);
        // An item whose every event is after the anchor is not (yet) in the ledger.
        fake.anchor_size = Some(3);
        let err = assemble(&fake, &subject(R1), Scope::Upstream).unwrap_err();
        assert!(matches!(err, AssembleError::NotFound { .. }), "{err}");
    }

    #[test]
    fn unknown_subjects_empty_ledgers_and_source_failures_are_named() {
        let mut fake = Fake::ledger();
        let err = assemble(
            &fake,
            &subject("urn:epc:id:sgtin:0614142.004521.NOPE"),
            Scope::Upstream,
        )
        .unwrap_err();
        assert!(matches!(err, AssembleError::NotFound { .. }), "{err}");
        assert!(err.to_string().contains("/21/NOPE"), "{err}");

        fake.fail_proofs = true;
        let err = assemble(&fake, &subject(R1), Scope::Upstream).unwrap_err();
        assert!(matches!(err, AssembleError::Source(FakeError)), "{err}");

        fake.anchor_size = None;
        let err = assemble(&fake, &subject(R1), Scope::Upstream).unwrap_err();
        assert!(matches!(err, AssembleError::NoBlocksYet), "{err}");
    }

    #[test]
    fn a_history_longer_than_a_bundle_is_refused_rather_than_cut_short() {
        let mut fake = Fake::ledger();
        // The subject is named by more events than a bundle may carry (copies of one record
        // at consecutive leaves: assembly refuses before reading any of them).
        let template = fake.events[7].clone();
        fake.events = (0..=MAX_BUNDLE_EVENTS as u64)
            .map(|leaf| {
                let mut copy = template.clone();
                copy.event.leaf_index = leaf;
                copy
            })
            .collect();
        let err = assemble(&fake, &subject(R1), Scope::Upstream).unwrap_err();
        assert!(
            matches!(
                err,
                AssembleError::TooManyEvents {
                    limit: MAX_BUNDLE_EVENTS,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_damaged_stored_event_is_reported_with_its_leaf() {
        let mut fake = Fake::ledger();
        fake.events[7].event.record.event = "{\"type\":\"NoSuchEvent\"}".into();
        let err = assemble(&fake, &subject(R1), Scope::Upstream).unwrap_err();
        assert!(matches!(err, AssembleError::BadStoredEvent(_)), "{err}");
        assert!(err.to_string().contains("leaf 7"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Whatever the subject, scope and anchor: events in strictly increasing log order, all
        /// below the anchor, every proof valid; and the same bundle however the source orders
        /// or repeats what it returns.
        #[test]
        fn bundles_are_ordered_proven_and_independent_of_source_order(
            which in 0usize..7,
            downstream in any::<bool>(),
            size in 1u64..=13,
            seed in any::<usize>(),
        ) {
            let ids = [G1, G2, R1, R2, X, PALLET, UNRELATED];
            let scope = if downstream { Scope::Downstream } else { Scope::Upstream };
            let mut fake = Fake::ledger();
            fake.anchor_size = Some(size);
            let tidy = assemble(&fake, &subject(ids[which]), scope);
            fake.mangle = Some(seed);
            let sloppy = assemble(&fake, &subject(ids[which]), scope);
            match (tidy, sloppy) {
                (Ok(tidy), Ok(sloppy)) => {
                    prop_assert_eq!(&tidy, &sloppy);
                    let leaves = leaves(&tidy);
                    prop_assert!(leaves.windows(2).all(|w| w[0] < w[1]), "{:?}", leaves);
                    prop_assert!(leaves.iter().all(|leaf| *leaf < size));
                    assert_proofs_verify(&tidy);
                }
                (Err(AssembleError::NotFound { .. }), Err(AssembleError::NotFound { .. })) => {}
                (tidy, sloppy) => prop_assert!(false, "{:?} / {:?}", tidy, sloppy),
            }
        }
    }
}
