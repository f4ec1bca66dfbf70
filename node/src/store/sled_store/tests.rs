//! Tests of [`SledStore`] with real signed events and real blocks: a scripted journey checked
//! field by field and across a reopen, a differential test against `MemoryState` over random
//! journeys, and every refusal (blocks not extending the head, double signing, wrong schema or
//! genesis, a locked directory, tampering found by `verify_head`).

mod differential;
pub(crate) mod support;

use std::collections::BTreeMap;

use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::merkle::node_key;
use provenance_protocol::record::SignedEvent;
use provenance_protocol::rules::{EpcKey, LedgerView, MemoryState, resolve_identifier};

use super::keys::{self, meta};
use super::*;
use support::*;

fn key(text: &str) -> EpcKey {
    resolve_identifier(text).unwrap().key
}

/// Asserts that every [`LedgerView`] answer of `store` is `reference`'s, for the genesis
/// participants, the organisations' keys and prefixes, `epcs` and `ids`.
pub(crate) fn assert_same_state(
    store: &SledStore,
    reference: &MemoryState,
    net: &Net,
    epcs: &[EpcKey],
    ids: &[EventHashId],
) {
    let stranger = provenance_protocol::crypto::SigningKey::from_seed([99; 32]).public_key();
    for p in &net.genesis.participants {
        assert_eq!(
            store.participant_by_key(&p.signing_key),
            reference.participant_by_key(&p.signing_key)
        );
        assert_eq!(
            store.participant_by_name(&p.name),
            reference.participant_by_name(&p.name)
        );
        assert_eq!(
            store.last_sequence(&p.signing_key),
            reference.last_sequence(&p.signing_key),
            "sequence of {}",
            p.name
        );
        for prefix in &p.company_prefixes {
            for digits in [
                prefix.clone(),
                format!("{prefix}07346"),
                prefix[..5].to_owned(),
            ] {
                assert_eq!(store.prefix_owner(&digits), reference.prefix_owner(&digits));
            }
        }
    }
    assert_eq!(store.participant_by_key(&stranger), None);
    assert_eq!(store.last_sequence(&stranger), 0);
    assert_eq!(store.participant_by_name("Nobody"), None);
    for epc in epcs {
        assert_eq!(store.epc(epc), reference.epc(epc), "state of {epc}");
        assert_eq!(
            store.children(epc),
            reference.children(epc),
            "children of {epc}"
        );
        assert_eq!(
            store.transformed_from(epc).unwrap(),
            reference.transformed_from(epc).unwrap_or_default(),
            "inputs of {epc}"
        );
    }
    for id in ids.iter().chain([&EventHashId::from_bytes([0xee; 32])]) {
        assert_eq!(store.event_signer(id), reference.event_signer(id), "{id}");
        assert_eq!(
            store.error_declared(id),
            reference.error_declared(id),
            "{id}"
        );
    }
    assert!(store.read_fault().is_none());
}

const BEAN: &str = "urn:epc:id:sgtin:0614141.107346.1";
const BEAN_LOT: &str = "https://id.gs1.org/01/10614141073464/10/LOTA/21/2";
const BEANS_CLASS: &str = "urn:epc:class:lgtin:0614141.107346.LOTB";
const BAG: &str = "urn:epc:id:sgtin:0614142.107347.1001";
const BAG2: &str = "urn:epc:id:sgtin:0614142.107347.1002";
const PALLET: &str = "urn:epc:id:sscc:0614142.1234567890";
const BEAN_GTIN: &str = "10614141073464";
const BAG_GTIN: &str = "10614142073470";

/// A scripted journey of four blocks (the third empty), with everything it should produce.
struct Journey {
    net: Net,
    reference: MemoryState,
    blocks: Vec<BuiltBlock>,
    /// Records in leaf order.
    leaves: Vec<SignedEvent>,
}

impl Journey {
    fn run(store: &SledStore) -> Journey {
        let mut net = Net::new();
        let mut reference = MemoryState::from_genesis(&net.genesis);
        let farm_commission = commission(0, &[BEAN, BEAN_LOT], &[BEANS_CLASS]);
        let script: Vec<Vec<(&'static str, serde_json::Value)>> = vec![
            vec![
                ("Farm", farm_commission.clone()),
                ("Farm", ship(1, &[BEAN], PGLNS[1])),
            ],
            vec![
                ("Roaster", receive(2, &[BEAN])),
                ("Roaster", transform(3, &[BEAN], &[BAG])),
                ("Roaster", commission(4, &[BAG2], &[])),
                ("Roaster", aggregate(5, "ADD", PALLET, &[BAG, BAG2])),
                ("Farm", declare_error(&farm_commission)),
            ],
            vec![],
            vec![
                ("Roaster", ship(7, &[PALLET], PGLNS[2])),
                ("Hauler", receive(8, &[PALLET])),
                ("Hauler", aggregate(9, "DELETE", PALLET, &[])),
            ],
        ];
        let mut blocks = Vec::new();
        let mut leaves = Vec::new();
        for events in script {
            let records: Vec<SignedEvent> =
                events.iter().map(|(who, e)| net.sign(who, e)).collect();
            let built = build_block(store, &net, &records);
            store.commit_block(built.commit(&[])).unwrap();
            reference.apply(built.changes.clone());
            leaves.extend(records);
            blocks.push(built);
        }
        Journey {
            net,
            reference,
            blocks,
            leaves,
        }
    }

    fn id(&self, leaf: usize) -> EventHashId {
        self.leaves[leaf].event_hash_id
    }

    fn ids(&self, leaves: &[usize]) -> Vec<EventHashId> {
        leaves.iter().map(|l| self.id(*l)).collect()
    }

    /// Everything the journey should have left in `store`.
    fn check(&self, store: &SledStore) {
        let epcs: Vec<EpcKey> = [BEAN, BEAN_LOT, BEANS_CLASS, BAG, BAG2, PALLET]
            .into_iter()
            .map(key)
            .collect();
        let ids: Vec<EventHashId> = self.leaves.iter().map(|r| r.event_hash_id).collect();
        assert_same_state(store, &self.reference, &self.net, &epcs, &ids);

        let head = store.head().unwrap().unwrap();
        let last = self.blocks.last().unwrap();
        assert_eq!(head.header, last.block.header);
        assert_eq!(head.certificate, last.certificate);
        assert_eq!(store.log_size().unwrap(), 10);
        for (i, built) in self.blocks.iter().enumerate() {
            let height = i as u64 + 1;
            let stored = store.block(height).unwrap().unwrap();
            assert_eq!(stored.block, built.block, "block {height}");
            assert_eq!(stored.certificate, built.certificate);
            assert_eq!(
                store.height_of(&built.block.header.hash()).unwrap(),
                Some(height)
            );
        }
        assert!(store.block(5).unwrap().is_none());
        assert!(store.header(0).unwrap().is_none());
        assert_eq!(store.height_of(&[0; 32]).unwrap(), None);
        for leaf in 0..10 {
            assert_eq!(store.event_at(leaf as u64).unwrap(), Some(self.id(leaf)));
        }
        assert_eq!(store.event_at(10).unwrap(), None);

        // The commission (leaf 0) and its error declaration (leaf 6) share one ID.
        let original = store.event(&self.id(0)).unwrap().unwrap();
        assert_eq!((original.leaf_index, original.height), (0, 1));
        assert_eq!(original.record, self.leaves[0]);
        let declaration = store.error_declaration(&self.id(0)).unwrap().unwrap();
        assert_eq!((declaration.leaf_index, declaration.height), (6, 2));
        assert_eq!(declaration.record, self.leaves[6]);
        assert!(store.error_declaration(&self.id(1)).unwrap().is_none());
        let received = store.event(&self.id(8)).unwrap().unwrap();
        assert_eq!((received.leaf_index, received.height), (8, 4));

        // Identifier, product and lot indexes, in ledger order, declarations not repeated.
        let all = usize::MAX;
        assert_eq!(
            store.events_for_epc(&key(BEAN), all).unwrap(),
            self.ids(&[0, 1, 2, 3])
        );
        assert_eq!(
            store.events_for_epc(&key(BEAN), 2).unwrap(),
            self.ids(&[0, 1])
        );
        assert_eq!(
            store.events_for_epc(&key(BAG), all).unwrap(),
            self.ids(&[3, 5])
        );
        assert_eq!(
            store.events_for_epc(&key(PALLET), all).unwrap(),
            self.ids(&[5, 7, 8, 9])
        );
        assert_eq!(
            store.events_for_epc(&key(BEANS_CLASS), all).unwrap(),
            self.ids(&[0])
        );
        assert!(
            store
                .events_for_epc(&EpcKey("urn:x".into()), all)
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store.events_for_gtin(BEAN_GTIN, all).unwrap(),
            self.ids(&[0, 1, 2, 3])
        );
        assert_eq!(
            store.events_for_gtin(BAG_GTIN, all).unwrap(),
            self.ids(&[3, 4, 5])
        );
        assert_eq!(
            store.events_for_gtin(BAG_GTIN, 0).unwrap(),
            Vec::<EventHashId>::new()
        );
        assert_eq!(
            store.events_for_lot(BEAN_GTIN, "LOTA", all).unwrap(),
            self.ids(&[0])
        );
        assert_eq!(
            store.events_for_lot(BEAN_GTIN, "LOTB", all).unwrap(),
            self.ids(&[0])
        );
        assert!(
            store
                .events_for_lot(BEAN_GTIN, "LOT", all)
                .unwrap()
                .is_empty()
        );

        // Transformation and aggregation history.
        assert_eq!(store.transformed_from(&key(BAG)).unwrap(), [key(BEAN)]);
        assert_eq!(store.transformed_into(&key(BEAN)).unwrap(), [key(BAG)]);
        assert!(store.transformed_into(&key(BAG)).unwrap().is_empty());
        for child in [BAG, BAG2] {
            assert_eq!(
                store.aggregation_history(&key(child)).unwrap(),
                [AggregationStay {
                    parent: key(PALLET),
                    from_leaf: 5,
                    to_leaf: Some(9)
                }]
            );
        }
        assert!(store.aggregation_history(&key(PALLET)).unwrap().is_empty());

        let names: Vec<String> = store
            .participants()
            .unwrap()
            .into_iter()
            .map(|p| p.name)
            .collect();
        assert_eq!(names, ["Farm", "Hauler", "Lab", "Roaster", "Shop"]);
        store.verify_head(&self.net.genesis).unwrap();
    }
}

#[test]
fn a_fresh_store_registers_the_genesis_participants() {
    let net = Net::new();
    let store = SledStore::open_temporary(&net.genesis).unwrap();
    let reference = MemoryState::from_genesis(&net.genesis);
    assert_same_state(&store, &reference, &net, &[key(BEAN)], &[]);
    assert!(store.head().unwrap().is_none());
    assert_eq!(store.log_size().unwrap(), 0);
    assert!(store.block(1).unwrap().is_none());
    assert_eq!(store.participants().unwrap().len(), 5);
    assert!(
        store
            .participants()
            .unwrap()
            .iter()
            .all(|p| p.revoked_at.is_none())
    );
    store.verify_head(&net.genesis).unwrap();
}

#[test]
fn commit_then_reopen_gives_identical_head_events_indexes_and_state() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = Net::new().genesis;
    let journey = {
        let store = SledStore::open(dir.path(), &genesis).unwrap();
        let journey = Journey::run(&store);
        journey.check(&store);
        journey
    };
    let store = SledStore::open(dir.path(), &genesis).unwrap();
    journey.check(&store);
}

#[test]
fn a_block_not_extending_the_head_is_refused_and_nothing_is_written() {
    let mut net = Net::new();
    let store = SledStore::open_temporary(&net.genesis).unwrap();
    let commissioned = net.sign("Farm", &commission(0, &[BEAN], &[]));
    let first = build_block(&store, &net, &[commissioned]);
    store.commit_block(first.commit(&[])).unwrap();
    let shipped = net.sign("Farm", &ship(1, &[BEAN], PGLNS[1]));
    let second = build_block(&store, &net, &[shipped]);
    let before = snapshot(&store);
    let refused = |built: &BuiltBlock, needle: &str| {
        let err = store.commit_block(built.commit(&[])).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err} lacks {needle:?}");
        assert_eq!(snapshot(&store), before, "a refused commit wrote something");
    };

    refused(&first, "does not extend the head at height 1");
    let mut skip = second.clone();
    skip.block.header.height = 3;
    refused(&skip, "does not extend the head");
    let mut fork = second.clone();
    fork.block.header.prev_hash = [7; 32];
    refused(&fork, "prev_hash");
    let mut other_chain = second.clone();
    other_chain.block.header.chain_id = "other".into();
    refused(&other_chain, "chain");
    let mut stale_certificate = second.clone();
    stale_certificate.block.header.time_ms += 1;
    refused(&stale_certificate, "certificate");
    let mut wrong_body = second.clone();
    wrong_body.block.body.events.clear();
    refused(&wrong_body, "body_hash");
    let mut wrong_root = second.clone();
    wrong_root.block.header.log_root = [1; 32];
    wrong_root.certificate.header_hash = wrong_root.block.header.hash();
    refused(&wrong_root, "log_root");
    let mut wrong_size = second.clone();
    wrong_size.block.header.log_size = 5;
    wrong_size.certificate.header_hash = wrong_size.block.header.hash();
    refused(&wrong_size, "log_size 5");
    let mut missing_nodes = second.clone();
    missing_nodes.nodes.pop();
    refused(&missing_nodes, "merkle_nodes");
    let mut missing_sequence = second.clone();
    missing_sequence.changes.pop();
    refused(&missing_sequence, "Sequence");
    let mut extra_change = second.clone();
    extra_change.changes.extend(first.changes.clone());
    refused(&extra_change, "follow the last event's Sequence");
    let mut wrong_record = second.clone();
    wrong_record.changes.retain(|c| {
        !matches!(
            c,
            provenance_protocol::rules::StateChange::EventRecorded { .. }
        )
    });
    refused(&wrong_record, "record exactly that event");

    store.commit_block(second.commit(&[])).unwrap();
    assert_eq!(store.head().unwrap().unwrap().header.height, 2);
    store.verify_head(&net.genesis).unwrap();
}

#[test]
fn pending_entries_survive_reopen_in_order_and_are_removed_by_commit() {
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let records = [
        net.sign("Farm", &commission(0, &[BEAN], &[])),
        net.sign("Farm", &ship(1, &[BEAN], PGLNS[1])),
        net.sign("Roaster", &commission(2, &[BAG], &[])),
    ];
    {
        let store = SledStore::open(dir.path(), &net.genesis).unwrap();
        assert_eq!(store.put_pending(&records[..2]).unwrap(), [0, 1]);
        assert_eq!(store.put_pending(&[]).unwrap(), Vec::<u64>::new());
        assert_eq!(store.put_pending(&records[2..]).unwrap(), [2]);
        store.flush().unwrap();
    }
    let store = SledStore::open(dir.path(), &net.genesis).unwrap();
    let pending = store.pending().unwrap();
    assert_eq!(
        pending,
        records
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, r)| (i as u64, r))
            .collect::<Vec<_>>()
    );
    store.remove_pending(&[1]).unwrap();
    // Keys continue after the largest ever handed out that is still stored.
    assert_eq!(store.put_pending(&records[1..2]).unwrap(), [3]);
    let keys: Vec<u64> = store.pending().unwrap().iter().map(|(k, _)| *k).collect();
    assert_eq!(keys, [0, 2, 3]);

    let block = build_block(&store, &net, &[records[0].clone(), records[1].clone()]);
    store.commit_block(block.commit(&[0, 3])).unwrap();
    let left: Vec<(u64, SignedEvent)> = store.pending().unwrap();
    assert_eq!(left, [(2, records[2].clone())]);
    store.remove_pending(&[2, 99]).unwrap();
    assert!(store.pending().unwrap().is_empty());
}

#[test]
fn signed_state_and_proposals_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let net = Net::new();
    let genesis = net.genesis.clone();
    let (hash, height) = {
        let store = SledStore::open(dir.path(), &genesis).unwrap();
        assert_eq!(store.signed_state().unwrap(), None);
        store.record_signed_state(b"first").unwrap();
        store.record_signed_state(b"second").unwrap();
        let block = build_block(&store, &net, &[]);
        store.record_proposal(&block.block).unwrap();
        store.flush().unwrap();
        (block.block.header.hash(), block.block.header.height)
    };
    let store = SledStore::open(dir.path(), &genesis).unwrap();
    assert_eq!(
        store.signed_state().unwrap().as_deref(),
        Some(&b"second"[..])
    );
    let block = store.proposal(height, &hash).unwrap().unwrap();
    assert_eq!(block.header.hash(), hash);
    assert_eq!(store.proposal(height, &[0; 32]).unwrap(), None);
    store.forget_proposals_through(height).unwrap();
    assert_eq!(store.proposal(height, &hash).unwrap(), None);
}

#[test]
fn another_schema_version_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = Net::new().genesis;
    drop(SledStore::open(dir.path(), &genesis).unwrap());
    {
        let db = sled::open(dir.path()).unwrap();
        let meta_tree = db.open_tree(keys::tree::META).unwrap();
        meta_tree
            .insert(meta::SCHEMA_VERSION, &(SCHEMA_VERSION + 1).to_be_bytes())
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(dir.path(), &genesis).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaVersion { found, .. } if found == SCHEMA_VERSION + 1),
        "{err}"
    );
}

#[test]
fn a_foreign_data_directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    drop(SledStore::open(dir.path(), &Net::new().genesis).unwrap());
    // Another chain id.
    let other = Net::with_chain("other-chain").genesis;
    let err = SledStore::open(dir.path(), &other).unwrap_err();
    match &err {
        StoreError::WrongChain {
            expected,
            found,
            found_hash,
            ..
        } => {
            assert_eq!(expected, "other-chain");
            assert_eq!(found, CHAIN);
            assert_eq!(*found_hash, Net::new().genesis.hash().to_string());
        }
        other => panic!("expected WrongChain, got {other}"),
    }
    // Same chain id, different genesis.
    let mut changed = Net::new().genesis;
    changed.genesis_time_ms += 1;
    let err = SledStore::open(dir.path(), &changed).unwrap_err();
    assert!(matches!(err, StoreError::WrongChain { .. }), "{err}");
    // A meta tree that provenance-node did not write.
    let dir = tempfile::tempdir().unwrap();
    {
        let db = sled::open(dir.path()).unwrap();
        db.open_tree(keys::tree::META)
            .unwrap()
            .insert("x", "y")
            .unwrap();
        db.flush().unwrap();
    }
    let err = SledStore::open(dir.path(), &changed).unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
}

#[test]
fn a_second_open_of_the_same_directory_is_locked() {
    let dir = tempfile::tempdir().unwrap();
    let genesis = Net::new().genesis;
    let first = SledStore::open(dir.path(), &genesis).unwrap();
    let err = SledStore::open(dir.path(), &genesis).unwrap_err();
    assert!(
        matches!(&err, StoreError::Locked { path } if path.contains(&*dir.path().to_string_lossy())),
        "{err}"
    );
    drop(first);
    SledStore::open(dir.path(), &genesis).unwrap();
}

/// A store with two blocks, and the genesis.
fn two_blocks() -> (SledStore, Net) {
    let mut net = Net::new();
    let store = SledStore::open_temporary(&net.genesis).unwrap();
    for events in [
        vec![net.sign("Farm", &commission(0, &[BEAN], &[]))],
        vec![
            net.sign("Farm", &ship(1, &[BEAN], PGLNS[1])),
            net.sign("Roaster", &receive(2, &[BEAN])),
        ],
    ] {
        let built = build_block(&store, &net, &events);
        store.commit_block(built.commit(&[])).unwrap();
    }
    store.verify_head(&net.genesis).unwrap();
    (store, net)
}

fn assert_corrupt(result: Result<(), StoreError>, needle: &str) {
    let err = result.unwrap_err();
    assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
    assert!(err.to_string().contains(needle), "{err} lacks {needle:?}");
}

#[test]
fn verify_head_detects_a_tampered_merkle_node() {
    let (store, net) = two_blocks();
    store
        .trees
        .merkle_nodes
        .insert(node_key(1, 0), &[9u8; 32][..])
        .unwrap();
    assert_corrupt(store.verify_head(&net.genesis), "log root at size 3");

    let (store, net) = two_blocks();
    store
        .trees
        .merkle_nodes
        .insert(node_key(0, 2), &[9u8; 32][..])
        .unwrap();
    assert_corrupt(store.verify_head(&net.genesis), "log root at size 3");

    let (store, net) = two_blocks();
    store.trees.merkle_nodes.remove(node_key(0, 2)).unwrap();
    assert_corrupt(store.verify_head(&net.genesis), "cannot recompute");
}

#[test]
fn verify_head_detects_a_tampered_certificate_header_or_leaf() {
    let (store, net) = two_blocks();
    let mut certificate = store.head().unwrap().unwrap().certificate;
    certificate.round += 1;
    store
        .trees
        .certificates
        .insert(keys::u64_be(2), certificate.to_canonical_bytes())
        .unwrap();
    assert_corrupt(
        store.verify_head(&net.genesis),
        "certificate of head block 2",
    );

    // A rewritten head header no longer matches its certificate.
    let (store, net) = two_blocks();
    let mut header = store.header(2).unwrap().unwrap();
    header.time_ms += 1;
    store
        .trees
        .headers
        .insert(keys::u64_be(2), header.to_canonical_bytes())
        .unwrap();
    assert_corrupt(
        store.verify_head(&net.genesis),
        "certificate of head block 2",
    );

    // A rewritten previous header breaks the link.
    let (store, net) = two_blocks();
    let mut previous = store.header(1).unwrap().unwrap();
    previous.time_ms += 1;
    store
        .trees
        .headers
        .insert(keys::u64_be(1), previous.to_canonical_bytes())
        .unwrap();
    assert_corrupt(store.verify_head(&net.genesis), "head header 2 links to");

    // The newest event replaced by another one.
    let (store, net) = two_blocks();
    let first = store.trees.leaves.get(keys::u64_be(0)).unwrap().unwrap();
    store.trees.leaves.insert(keys::u64_be(2), first).unwrap();
    assert_corrupt(store.verify_head(&net.genesis), "recorded at leaf 0");
    assert!(
        store.block(2).is_err(),
        "a block with a swapped event is not served"
    );

    // A different genesis does not certify this chain.
    let (store, _) = two_blocks();
    let other = Net::with_chain("other-chain").genesis;
    let err = store.verify_head(&other).unwrap_err();
    assert!(matches!(err, StoreError::WrongChain { .. }), "{err}");
}

#[test]
fn a_failed_read_behind_the_view_stops_commits_and_head() {
    let (store, mut net) = two_blocks();
    let inspected = net.sign("Roaster", &observe(3, &[BEAN], "inspecting"));
    let next = build_block(&store, &net, &[inspected]);
    store
        .trees
        .epc_states
        .insert(key(BAG).0.as_bytes(), &b"not json"[..])
        .unwrap();
    assert_eq!(store.epc(&key(BAG)), None);
    assert!(matches!(
        store.read_fault(),
        Some(StoreError::Corrupt { .. })
    ));
    assert_corrupt(store.head().map(drop), "does not decode");
    assert_corrupt(store.commit_block(next.commit(&[])), "does not decode");
    assert_eq!(store.log_size().unwrap(), 3, "nothing was committed");
}

/// Error declarations are leaves of the log and get no index entries of their own.
#[test]
fn error_declaration_leaves_keep_the_original_event_in_place() {
    let mut net = Net::new();
    let store = SledStore::open_temporary(&net.genesis).unwrap();
    let original = commission(0, &[BEAN], &[]);
    let both = [
        net.sign("Farm", &original),
        net.sign("Farm", &declare_error(&original)),
    ];
    let built = build_block(&store, &net, &both);
    store.commit_block(built.commit(&[])).unwrap();
    let id = both[0].event_hash_id;
    assert_eq!(both[1].event_hash_id, id);
    assert_eq!(store.event(&id).unwrap().unwrap().record, both[0]);
    assert_eq!(
        store.error_declaration(&id).unwrap().unwrap().record,
        both[1]
    );
    assert!(store.error_declared(&id));
    assert_eq!(store.event_at(0).unwrap(), Some(id));
    assert_eq!(store.event_at(1).unwrap(), Some(id));
    assert_eq!(store.events_for_epc(&key(BEAN), 10).unwrap(), [id]);
    assert_eq!(store.block(1).unwrap().unwrap().block, built.block);
    let mut counts = BTreeMap::new();
    for (name, entries) in snapshot(&store) {
        counts.insert(String::from_utf8(name).unwrap(), entries.len());
    }
    assert_eq!(counts[keys::tree::LEAVES], 2);
    assert_eq!(counts[keys::tree::EVENTS], 1);
    assert_eq!(counts[keys::tree::ERROR_DECLARATIONS], 1);
    store.verify_head(&net.genesis).unwrap();
}
