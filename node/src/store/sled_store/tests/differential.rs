//! Differential test: random journeys, committed block by block to a store on disk and applied
//! to a `MemoryState`, must leave the two answering every [`LedgerView`] question alike, before
//! and after a reopen; the indexes must match what the generator knows each event names.

use std::collections::BTreeMap;

use proptest::prelude::*;
use serde_json::Value;

use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::gs1;
use provenance_protocol::rules::{
    EpcKey, EpcState, EpcStatus, LedgerView, MemoryState, StateChange, resolve_identifier,
};

use super::support::*;
use super::{LedgerStore, SledStore, assert_same_state};
use crate::store::AggregationStay;

/// Pallets (created by aggregating into them) and a lot-level class of Farm's product.
const PALLETS: &[&str] = &[
    "urn:epc:id:sscc:0614142.1234567890",
    "urn:epc:id:sscc:0614141.1234567891",
];
const CLASS: &str = "urn:epc:class:lgtin:0614141.107346.LOTB";
const ACTORS: &[&str] = &["Farm", "Roaster", "Hauler", "Shop", "Lab"];

/// One attempted step: what to do, who tries first, and two free choices.
#[derive(Debug, Clone)]
struct Step {
    kind: u8,
    actor: usize,
    a: usize,
    b: usize,
}

fn step() -> impl Strategy<Value = Step> {
    (0u8..10, 0..ACTORS.len(), 0usize..64, 0usize..64).prop_map(|(kind, actor, a, b)| Step {
        kind,
        actor,
        a,
        b,
    })
}

/// A new product identifier: Farm's with a lot, Farm's, or Roaster's, serial `n`.
fn fresh(choice: usize, n: u32) -> String {
    match choice % 3 {
        0 => format!("https://id.gs1.org/01/10614141073464/10/LOTA/21/{n}"),
        1 => format!("urn:epc:id:sgtin:0614141.107346.{n}"),
        _ => format!("urn:epc:id:sgtin:0614142.107347.{n}"),
    }
}

/// The journey so far, as the generator sees it.
#[derive(Debug, Default)]
struct World {
    /// Every identifier ever created, in creation order.
    known: Vec<String>,
    /// Accepted original events with their signers (targets for error declarations).
    history: Vec<(&'static str, Value)>,
}

impl World {
    /// An identifier whose committed state satisfies `fit`, chosen by `choice`.
    fn pick(
        &self,
        reference: &MemoryState,
        choice: usize,
        fit: impl Fn(&EpcState) -> bool,
    ) -> Option<String> {
        let fitting: Vec<&String> = self
            .known
            .iter()
            .filter(|e| {
                reference
                    .epc(&resolve_identifier(e).unwrap().key)
                    .is_some_and(|s| fit(&s))
            })
            .collect();
        fitting
            .get(choice % fitting.len().max(1))
            .map(|e| (*e).clone())
    }

    /// The event a step proposes, who may sign it (tried in order) and the identifiers it names.
    fn candidate(
        &self,
        step: &Step,
        second: u32,
        reference: &MemoryState,
    ) -> Option<(Vec<&'static str>, Value, Vec<String>)> {
        let free = |s: &EpcState| {
            s.status == EpcStatus::Active && s.parent.is_none() && s.in_transit_to.is_none()
        };
        let active = |s: &EpcState| s.status == EpcStatus::Active;
        let pallet = PALLETS[step.b % PALLETS.len()].to_owned();
        let (event, names) = match step.kind {
            0 => {
                let new = fresh(step.b, second);
                if step.a.is_multiple_of(2) {
                    (
                        commission(second, &[&new], &[CLASS]),
                        vec![new, CLASS.to_owned()],
                    )
                } else {
                    (commission(second, &[&new], &[]), vec![new])
                }
            }
            1 => {
                let child = self.pick(reference, step.a, free)?;
                (
                    aggregate(second, "ADD", &pallet, &[&child]),
                    vec![pallet, child],
                )
            }
            2 => (aggregate(second, "DELETE", &pallet, &[]), vec![pallet]),
            3 => {
                let what = self.pick(reference, step.a, free)?;
                (
                    ship(second, &[&what], PGLNS[step.b % PGLNS.len()]),
                    vec![what],
                )
            }
            4 => {
                let what = self.pick(reference, step.a, |s| s.in_transit_to.is_some())?;
                (receive(second, &[&what]), vec![what])
            }
            5 => {
                let input = self.pick(reference, step.a, free)?;
                let output = fresh(step.b, second);
                (
                    transform(second, &[&input], &[&output]),
                    vec![input, output],
                )
            }
            6 => {
                let what = self.pick(reference, step.a, active)?;
                (observe(second, &[&what], "inspecting"), vec![what])
            }
            7 => {
                let what = self.pick(reference, step.a, |s| {
                    s.custodian.as_deref() == Some("Shop")
                })?;
                (observe(second, &[&what], "retail_selling"), vec![what])
            }
            8 => {
                let (who, original) = self.history.get(step.a % self.history.len().max(1))?;
                // Error declarations are not indexed: they name nothing new.
                return Some((vec![*who], declare_error(original), vec![]));
            }
            _ => {
                let what = self.pick(reference, step.a, free)?;
                (decommission(second, &[&what]), vec![what])
            }
        };
        let actors = (0..ACTORS.len())
            .map(|i| ACTORS[(step.actor + i) % ACTORS.len()])
            .collect();
        Some((actors, event, names))
    }
}

/// What the generator knows the store must hold, beyond the rules' state.
#[derive(Debug, Default)]
struct Expected {
    by_epc: BTreeMap<EpcKey, Vec<EventHashId>>,
    by_gtin: BTreeMap<String, Vec<EventHashId>>,
    by_lot: BTreeMap<(String, String), Vec<EventHashId>>,
    stays: BTreeMap<EpcKey, Vec<AggregationStay>>,
    parent_of: BTreeMap<EpcKey, EpcKey>,
    ids: Vec<EventHashId>,
    blocks: Vec<BuiltBlock>,
}

impl Expected {
    fn named(&mut self, id: EventHashId, names: &[String]) {
        fn push<K: Ord>(map: &mut BTreeMap<K, Vec<EventHashId>>, key: K, id: EventHashId) {
            let ids = map.entry(key).or_default();
            if ids.last() != Some(&id) {
                ids.push(id);
            }
        }
        for name in names {
            push(&mut self.by_epc, resolve_identifier(name).unwrap().key, id);
            let parsed = gs1::parse_any_epc(name).unwrap();
            if let Some(gtin) = parsed.gtin() {
                push(&mut self.by_gtin, gtin.as_str().to_owned(), id);
                if let Some(lot) = parsed.lot() {
                    push(
                        &mut self.by_lot,
                        (gtin.as_str().to_owned(), lot.to_owned()),
                        id,
                    );
                }
            }
        }
    }

    /// Follows containers through a committed block's changes, event (leaf) by event.
    fn follow_aggregation(&mut self, changes: &[StateChange], first_leaf: u64) {
        let mut leaf = first_leaf;
        for change in changes {
            match change {
                StateChange::Epc { epc, state } => {
                    let old = self.parent_of.get(epc).cloned();
                    if old != state.parent {
                        let stays = self.stays.entry(epc.clone()).or_default();
                        if old.is_some()
                            && let Some(open) = stays.last_mut()
                        {
                            open.to_leaf = Some(leaf);
                        }
                        match &state.parent {
                            Some(parent) => {
                                stays.push(AggregationStay {
                                    parent: parent.clone(),
                                    from_leaf: leaf,
                                    to_leaf: None,
                                });
                                self.parent_of.insert(epc.clone(), parent.clone());
                            }
                            None => {
                                self.parent_of.remove(epc);
                            }
                        }
                    }
                }
                StateChange::Sequence { .. } => leaf += 1,
                _ => {}
            }
        }
    }

    fn check(&self, store: &SledStore, reference: &MemoryState, net: &Net, world: &World) {
        let mut epcs: Vec<EpcKey> = world
            .known
            .iter()
            .map(String::as_str)
            .chain(PALLETS.iter().copied())
            .chain([CLASS, "urn:epc:id:sgtin:0614141.107346.999999"])
            .map(|e| resolve_identifier(e).unwrap().key)
            .collect();
        epcs.sort();
        epcs.dedup();
        assert_same_state(store, reference, net, &epcs, &self.ids);
        for epc in &epcs {
            let want = self.by_epc.get(epc).cloned().unwrap_or_default();
            assert_eq!(
                store.events_for_epc(epc, usize::MAX).unwrap(),
                want,
                "{epc}"
            );
            let first: Vec<_> = want.iter().take(1).copied().collect();
            assert_eq!(store.events_for_epc(epc, 1).unwrap(), first);
            assert_eq!(
                store.aggregation_history(epc).unwrap(),
                self.stays.get(epc).cloned().unwrap_or_default(),
                "stays of {epc}"
            );
            let mut into: Vec<EpcKey> = epcs
                .iter()
                .filter(|output| {
                    reference
                        .transformed_from(output)
                        .is_some_and(|inputs| inputs.contains(epc))
                })
                .cloned()
                .collect();
            into.sort();
            assert_eq!(
                store.transformed_into(epc).unwrap(),
                into,
                "outputs of {epc}"
            );
        }
        for gtin in ["10614141073464", "10614142073470"] {
            let want = self.by_gtin.get(gtin).cloned().unwrap_or_default();
            assert_eq!(store.events_for_gtin(gtin, usize::MAX).unwrap(), want);
        }
        for (gtin, lot) in [("10614141073464", "LOTA"), ("10614141073464", "LOTB")] {
            let want = self
                .by_lot
                .get(&(gtin.to_owned(), lot.to_owned()))
                .cloned()
                .unwrap_or_default();
            assert_eq!(store.events_for_lot(gtin, lot, usize::MAX).unwrap(), want);
        }
        for (i, built) in self.blocks.iter().enumerate() {
            let stored = store.block(i as u64 + 1).unwrap().unwrap();
            assert_eq!(stored.block, built.block);
        }
        let log_size: usize = self.blocks.iter().map(|b| b.block.body.events.len()).sum();
        assert_eq!(store.log_size().unwrap(), log_size as u64);
        store.verify_head(&net.genesis).unwrap();
    }
}

/// Runs the journey and returns how many events of each step kind were accepted.
fn run_journey(steps: &[Step], block_every: usize) -> BTreeMap<u8, usize> {
    let mut accepted = BTreeMap::new();
    let dir = tempfile::tempdir().unwrap();
    let mut net = Net::new();
    let mut reference = MemoryState::from_genesis(&net.genesis);
    let mut expected = Expected::default();
    let mut world = World::default();
    {
        let store = SledStore::open(dir.path(), &net.genesis).unwrap();
        let mut builder = BlockBuilder::new(&store, &net);
        for (i, step) in steps.iter().enumerate() {
            let second = u32::try_from(i).unwrap();
            if let Some((actors, event, names)) = world.candidate(step, second, &reference) {
                for who in actors {
                    let record = net.sign_next(who, &event);
                    if builder.try_add(record.clone()).is_ok() {
                        net.advance(who);
                        *accepted.entry(step.kind).or_default() += 1;
                        if step.kind != 8 {
                            world.history.push((who, event.clone()));
                            expected.ids.push(record.event_hash_id);
                            expected.named(record.event_hash_id, &names);
                        }
                        for name in names {
                            if name != CLASS && !world.known.contains(&name) {
                                world.known.push(name);
                            }
                        }
                        break;
                    }
                }
            }
            if (i + 1) % block_every == 0 || i + 1 == steps.len() {
                let built = builder.finish(&net);
                let first_leaf = store.log_size().unwrap();
                store.commit_block(built.commit(&[])).unwrap();
                builder = BlockBuilder::new(&store, &net);
                reference.apply(built.changes.clone());
                expected.follow_aggregation(&built.changes, first_leaf);
                expected.blocks.push(built);
            }
        }
        expected.check(&store, &reference, &net, &world);
    }
    let reopened = SledStore::open(dir.path(), &net.genesis).unwrap();
    expected.check(&reopened, &reference, &net, &world);
    accepted
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(32))]

    #[test]
    fn random_journeys_match_the_memory_state_across_reopen(
        steps in prop::collection::vec(step(), 8..48),
        block_every in 1usize..6,
    ) {
        run_journey(&steps, block_every);
    }
}

/// A long journey from a fixed pseudo-random sequence (xorshift), long enough that every kind of
/// step, including retail sale after ship and receive, is accepted at least once.
#[test]
fn a_long_seeded_journey_matches_the_memory_state() {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        usize::try_from(x % n as u64).unwrap()
    };
    let steps: Vec<Step> = (0..400)
        .map(|_| Step {
            kind: u8::try_from(next(10)).unwrap(),
            actor: next(ACTORS.len()),
            a: next(64),
            b: next(64),
        })
        .collect();
    let accepted = run_journey(&steps, 9);
    eprintln!("accepted per kind: {accepted:?}");
    for kind in 0..10u8 {
        assert!(
            accepted.get(&kind).is_some_and(|n| *n > 0),
            "no step of kind {kind} accepted: {accepted:?}"
        );
    }
}
