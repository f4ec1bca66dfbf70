//! Multi-node tests: real `provenance-node` processes on loopback, every link through a proxy.
//!
//! Each test asserts only "eventually, within generous bounds" and "never during this window":
//! no timing is asserted, so a slow machine makes a test slower, not red. A failing test keeps
//! its network directory (keys, configs, data, `node-<i>.log`) and prints where it is.
//!
//! The networks of this file run one at a time (the harness serialises them), so twelve nodes
//! never share two cores.

use std::sync::Mutex;
use std::thread;
use std::time::{Duration, Instant};

use provenance_tests::client::NodeStatus;
use provenance_tests::load::LoadShape;
use provenance_tests::{SignerStream, TestNet};

/// Bound on every "eventually".
const WAIT: Duration = Duration::from_secs(60);

#[test]
fn four_validators_finalise_a_stream_of_events() {
    const EVENTS_PER_NODE: usize = 75;
    const BATCH: usize = 15;
    let net = TestNet::builder().validators(4).signers(4).build();
    net.start_all();
    net.wait_for_full_mesh(WAIT);

    // Signer k submits to node k (a signer's sequence numbers must reach one node in order):
    // 300 events, round-robin over the nodes batch by batch, all four nodes concurrently.
    let acked = Mutex::new(Vec::new());
    let mut streams = net.event_source().into_streams();
    thread::scope(|scope| {
        for (node, stream) in streams.iter_mut().enumerate() {
            let (net, acked) = (&net, &acked);
            scope.spawn(move || {
                for _ in 0..EVENTS_PER_NODE / BATCH {
                    let ids = net.submit(node, &stream.batch(BATCH));
                    acked.lock().unwrap().extend(ids);
                }
            });
        }
    });
    let acked = acked.into_inner().unwrap();
    assert_eq!(acked.len(), 4 * EVENTS_PER_NODE);

    net.wait_for_log_size(acked.len() as u64, WAIT);
    let converged = net.assert_converged(&acked);
    assert_eq!(converged.events, acked.len());
    assert_eq!(converged.unacknowledged, 0);

    // Every node also finds events by id, at a height it has finalised.
    for i in 0..net.len() {
        let client = net.client(i);
        for id in acked.iter().step_by(17) {
            let found = client
                .event(id)
                .unwrap()
                .unwrap_or_else(|| panic!("node {i} does not serve event {id}"));
            assert_eq!(found.event.event_hash_id, *id);
            assert!((1..=converged.height).contains(&found.height));
        }
    }
}

#[test]
fn a_killed_validator_catches_up_and_nothing_acknowledged_is_lost() {
    let net = TestNet::builder().validators(4).signers(3).build();
    net.start_all();
    net.wait_for_full_mesh(WAIT);

    let streams = net.event_source().into_streams().into_iter().enumerate();
    let acked = net.under_load(streams.collect(), LoadShape::default(), || {
        net.wait_until(WAIT, "the first block under load", |net| {
            net.statuses()
                .iter()
                .all(|s| s.as_ref().is_some_and(|s| s.height >= 1))
        });

        net.kill(3);
        let at_kill: Vec<u64> = net
            .heights(&[0, 1, 2])
            .into_iter()
            .map(|h| h.expect("nodes 0-2 answer"))
            .collect();
        net.wait_until(
            WAIT,
            "nodes 0-2 to finalise three more blocks without node 3",
            |net| {
                net.heights(&[0, 1, 2])
                    .iter()
                    .zip(&at_kill)
                    .all(|(now, then)| now.is_some_and(|now| now >= then + 3))
            },
        );
        assert!(!net.is_running(3), "node 3 came back on its own");

        net.start(3);
        // Let node 3 rejoin while the load goes on.
        net.wait_until(WAIT, "node 3 to reconnect", |net| {
            net.try_status(3).is_ok_and(|s| s.peers >= 3)
        });
    });
    assert!(!acked.is_empty(), "nothing was acknowledged");

    net.wait_for_log_size(acked.len() as u64, WAIT);
    let converged = net.assert_converged(&acked);
    assert_eq!(converged.unacknowledged, 0);
    println!(
        "{} events acknowledged under load, all final on every node at height {}",
        acked.len(),
        converged.height
    );
    // And directly on the node that was down: every acknowledged event, once.
    let chain = net.verified_chain(3);
    assert_eq!(chain.event_ids.len(), acked.len());
}

#[test]
fn a_two_two_partition_finalises_nothing_and_heals() {
    let net = TestNet::builder().validators(4).signers(4).build();
    net.start_all();
    net.wait_for_full_mesh(WAIT);

    // A common history first, so "no fork" compares real blocks.
    let mut source = net.event_source();
    let mut acked = Vec::new();
    for node in 0..4 {
        acked.extend(net.submit(node, &source.batch(node, 5)));
    }
    net.wait_for_log_size(acked.len() as u64, WAIT);

    net.partition(&[&[0, 1], &[2, 3]]);
    net.wait_until(WAIT, "each node to see only its own side", |net| {
        net.statuses()
            .iter()
            .all(|s| s.as_ref().is_some_and(|s| s.peers <= 1))
    });
    // Let work in flight when the links went down settle (a block certified just before the
    // cut may still reach the rest of its side).
    let interval = Duration::from_millis(net.genesis().params.block_interval_ms);
    thread::sleep(2 * interval + Duration::from_secs(1));
    let before: Vec<NodeStatus> = (0..4).map(|i| net.status(i)).collect();

    let streams: Vec<(usize, SignerStream)> =
        source.into_streams().into_iter().enumerate().collect();
    let during = net.under_load(streams, LoadShape::default(), || {
        let window = Instant::now() + Duration::from_secs(4);
        while Instant::now() < window {
            for (i, then) in before.iter().enumerate() {
                let now = net.status(i);
                assert_eq!(
                    (now.height, &now.head_hash),
                    (then.height, &then.head_hash),
                    "node {i} finalised a block with only half of the validators"
                );
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    assert!(
        !during.is_empty(),
        "nothing was acknowledged during the partition"
    );
    for (i, then) in before.iter().enumerate() {
        let now = net.status(i);
        assert_eq!(
            now.head_hash, then.head_hash,
            "node {i} finalised a block with only half of the validators"
        );
    }
    // No fork: wherever two nodes both have a block, it is the same block.
    let common = before.iter().map(|s| s.height).min().unwrap_or(0);
    for height in 1..=common {
        let hashes: Vec<_> = (0..4)
            .map(|i| net.block(i, height).map(|b| b.header.hash()))
            .collect();
        assert!(
            hashes.windows(2).all(|w| w[0] == w[1]),
            "different blocks at height {height}: {hashes:?}"
        );
    }

    println!(
        "{} events acknowledged while split at heights {:?}",
        during.len(),
        before.iter().map(|s| s.height).collect::<Vec<_>>()
    );

    net.heal();
    acked.extend(during);
    net.wait_for_log_size(acked.len() as u64, WAIT);
    let converged = net.assert_converged(&acked);
    assert_eq!(converged.unacknowledged, 0);
}

#[test]
fn an_isolated_validator_stalls_while_the_other_three_finalise_and_then_catches_up() {
    let net = TestNet::builder().validators(4).signers(4).build();
    net.start_all();
    net.wait_for_full_mesh(WAIT);

    net.partition(&[&[0, 1, 2], &[3]]);
    net.wait_until(WAIT, "node 3 to be cut off from the other three", |net| {
        net.statuses().iter().enumerate().all(|(i, s)| {
            s.as_ref()
                .is_some_and(|s| if i == 3 { s.peers == 0 } else { s.peers == 2 })
        })
    });
    let interval = Duration::from_millis(net.genesis().params.block_interval_ms);
    thread::sleep(2 * interval + Duration::from_secs(1));
    let isolated = net.status(3);
    let majority: Vec<u64> = (0..3).map(|i| net.status(i).height).collect();

    // Node 3 takes submissions too: acknowledged (durable) but not final until the network heals.
    let streams: Vec<(usize, SignerStream)> = net
        .event_source()
        .into_streams()
        .into_iter()
        .enumerate()
        .collect();
    let acked = net.under_load(streams, LoadShape::default(), || {
        net.wait_until(
            WAIT,
            "nodes 0-2 to finalise three blocks without node 3",
            |net| {
                net.heights(&[0, 1, 2])
                    .iter()
                    .zip(&majority)
                    .all(|(now, then)| now.is_some_and(|now| now >= then + 3))
            },
        );
        let now = net.status(3);
        assert_eq!(
            (now.height, &now.head_hash),
            (isolated.height, &isolated.head_hash),
            "the isolated node finalised a block alone"
        );
    });

    net.heal();
    net.wait_for_log_size(acked.len() as u64, WAIT);
    let converged = net.assert_converged(&acked);
    assert_eq!(converged.unacknowledged, 0);
}
