//! Adversarial multi-node tests: real `provenance-node` processes against a peer the test
//! scripts, built from the node's own network code ([`InProcessPeer`]).
//!
//! - A Byzantine validator (it holds validator 3's genuine keys, so its messages are signed and
//!   its votes count) equivocates, proposes invalid blocks and serves lies, and replays its old
//!   messages. The honest three must keep finalising one chain, and record the equivocation.
//! - Evidence already recorded in a block, gossiped again, must not be work for the validators
//!   (they must not build empty blocks for it).
//! - A peer genesis does not know must never hold a connection, and nothing it publishes may
//!   reach a block.
//! - An observer a node lets in may sync certified blocks, but its gossip is ignored.
//!
//! As in `network.rs`, every assertion is "eventually, within generous bounds" or "never during
//! this window"; a failing test keeps its network directory and prints where it is.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use libp2p::PeerId;
use provenance_node::net::{NetEvent, NetHandle, NetLimits, Topic, Verdict};
use provenance_node::wire::{
    self, ConsensusEnvelope, ConsensusMessage, EventBundle, MAX_SYNC_BLOCKS, SyncRequest,
    SyncResponse,
};
use provenance_protocol::crypto::{PublicKey, SigningKey};
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::evidence::{Equivocation, SignedProposal, SignedVote};
use provenance_protocol::ledger::{
    Block, BlockBody, BlockHeader, ProposalPayload, ValidatorSet, VoteKind, VotePayload,
};
use provenance_protocol::record::SignedEvent;
use provenance_tests::load::LoadShape;
use provenance_tests::peer::request_sync;
use provenance_tests::{InProcessPeer, PeerSpec, SignerStream, TestNet};
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

/// Bound on every "eventually".
const WAIT: Duration = Duration::from_secs(60);
/// The Byzantine validator attacks at least this long, whatever it has achieved by then.
const MIN_ATTACK: Duration = Duration::from_secs(5);
/// How often the Byzantine validator re-reads the head and re-sends its messages.
const ATTACK_TICK: Duration = Duration::from_millis(300);
/// It equivocates in rounds `0..=LAST_ATTACKED_ROUND` of every height it attacks.
const LAST_ATTACKED_ROUND: u32 = 2;
/// Old messages it replays per tick.
const REPLAYS_PER_TICK: usize = 6;
/// How long a peer that must not get in keeps trying, while honest traffic flows.
const INTRUSION_WINDOW: Duration = Duration::from_secs(4);
/// How long heights must stay put for a network to count as idle, and how long an idle
/// network is watched for blocks it should not make.
const IDLE_WINDOW: Duration = Duration::from_secs(3);
/// Sampling interval within such windows.
const SAMPLE: Duration = Duration::from_millis(100);
/// Largest sync request the stand-in decodes (the node's own bound is 1 KiB).
const MAX_SYNC_REQUEST_BYTES: usize = 1024;

/// A hash nobody ever built a block for, distinct per `parts`.
fn fake_hash(parts: &[&[u8]]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(b"provenance adversary test");
    for part in parts {
        hasher.update((part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    hasher.finalize().into()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// What the Byzantine validator did and saw.
#[derive(Debug, Clone, Default)]
struct AttackStats {
    /// Heights it equivocated at.
    heights: BTreeSet<u64>,
    votes_signed: usize,
    proposals_signed: usize,
    /// Gossip messages the network took (first sends, re-sends and replays).
    published: usize,
    /// Messages of past heights re-published with a new nonce.
    replayed: usize,
    /// `Proposed` requests answered with its invalid block (matching hash, wrong `prev_hash`).
    invalid_blocks_served: usize,
    /// `Proposed` requests answered with a block whose hash is not the one asked for.
    mismatching_blocks_served: usize,
    /// Decision certificates honest nodes gossiped to it.
    decisions_received: usize,
    /// Evidence messages honest nodes gossiped to it.
    evidence_received: usize,
}

/// The Byzantine validator's behaviour: a task on its peer's runtime.
struct Byzantine {
    handle: NetHandle,
    limits: NetLimits,
    chain_id: String,
    key: SigningKey,
    validators: ValidatorSet,
    /// The honest node whose head decides which height to attack.
    honest: PeerId,
    nonce: u64,
    /// Everything it signed, by height.
    signed: BTreeMap<u64, Vec<ConsensusMessage>>,
    /// Its invalid blocks by header hash, to serve when asked.
    invalid_blocks: HashMap<[u8; 32], Block>,
    /// Highest height seen in honest consensus gossip.
    seen_height: u64,
    replay_cursor: usize,
    stats: Arc<Mutex<AttackStats>>,
}

impl Byzantine {
    fn new(
        net: &TestNet,
        peer: &InProcessPeer,
        byzantine: usize,
        honest: usize,
        stats: Arc<Mutex<AttackStats>>,
    ) -> Self {
        Byzantine {
            handle: peer.handle().clone(),
            limits: peer.limits(),
            chain_id: net.genesis().chain_id.clone(),
            key: net.signing_key(byzantine),
            validators: net.validator_set().clone(),
            honest: net.peer_id(honest),
            nonce: 0,
            signed: BTreeMap::new(),
            invalid_blocks: HashMap::new(),
            seen_height: 0,
            replay_cursor: 0,
            stats,
        }
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, AttackStats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn run(mut self, mut events: mpsc::Receiver<NetEvent>, stop: Arc<AtomicBool>) {
        let mut tick = tokio::time::interval(ATTACK_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        while !stop.load(Ordering::SeqCst) {
            tokio::select! {
                event = events.recv() => match event {
                    Some(event) => {
                        if let Some(height) = self.on_event(event) {
                            // A height it has not attacked yet: at once, not at the next tick.
                            self.attack(height).await;
                        }
                    }
                    None => return,
                },
                _ = tick.tick() => {
                    let head = self.honest_head().await;
                    let target = head.map_or(0, |h| h + 1).max(self.seen_height);
                    if target > 0 {
                        self.attack(target).await;
                        self.replay(target).await;
                    }
                }
            }
        }
    }

    /// Handles a network event; a height to attack now if honest gossip reveals a new one.
    fn on_event(&mut self, event: NetEvent) -> Option<u64> {
        match event {
            NetEvent::Gossip(message) => {
                // Never forward anything: Ignore costs the sender nothing.
                self.handle.report(&message, Verdict::Ignore);
                if message.topic != Topic::Consensus {
                    return None;
                }
                let envelope: ConsensusEnvelope =
                    wire::decode(&message.data, self.limits.max_gossip_bytes).ok()?;
                let height = match envelope.message {
                    ConsensusMessage::Proposal(p) => p.payload.height,
                    ConsensusMessage::Vote(v) => v.payload.height,
                    ConsensusMessage::Decision(c) => {
                        self.stats().decisions_received += 1;
                        c.height + 1
                    }
                    ConsensusMessage::Evidence(_) => {
                        self.stats().evidence_received += 1;
                        return None;
                    }
                    ConsensusMessage::Governance(_) => return None,
                };
                if height > self.seen_height {
                    self.seen_height = height;
                    return (!self.signed.contains_key(&height)).then_some(height);
                }
                None
            }
            NetEvent::Request { data, reply, .. } => {
                let response = match wire::decode::<SyncRequest>(&data, MAX_SYNC_REQUEST_BYTES) {
                    Ok(SyncRequest::Proposed { hash }) => SyncResponse::Proposed(self.lie(hash)),
                    Ok(SyncRequest::Blocks { .. }) => SyncResponse::Blocks(Vec::new()),
                    Ok(SyncRequest::Status) | Err(_) => SyncResponse::Refused("no".into()),
                };
                reply.send(wire::encode(&response));
                None
            }
            NetEvent::PeerConnected { .. } | NetEvent::PeerDisconnected { .. } => None,
        }
    }

    /// The answer to "send me the block with this hash": its invalid block if it has one under
    /// that hash, otherwise some other block (garbage the asker must recognise by its hash).
    fn lie(&mut self, hash: [u8; 32]) -> Option<Block> {
        if let Some(block) = self.invalid_blocks.get(&hash) {
            self.stats().invalid_blocks_served += 1;
            return Some(block.clone());
        }
        let height = self.seen_height.max(1);
        self.stats().mismatching_blocks_served += 1;
        Some(self.invalid_block(height, u32::MAX))
    }

    /// A block for `height` on a parent that does not exist: well-formed, signed-for by its
    /// proposal, and invalid.
    fn invalid_block(&self, height: u64, round: u32) -> Block {
        let tag = |what: &[u8]| {
            fake_hash(&[
                what,
                &height.to_le_bytes(),
                &round.to_le_bytes(),
                self.chain_id.as_bytes(),
            ])
        };
        let body = BlockBody::default();
        let validators_hash = self.validators.hash();
        Block {
            header: BlockHeader {
                chain_id: self.chain_id.clone(),
                height,
                prev_hash: tag(b"prev_hash"),
                time_ms: now_ms(),
                proposer: self.key.public_key(),
                log_root: tag(b"log_root"),
                log_size: 0,
                body_hash: body.hash(),
                validators_hash,
                next_validators_hash: validators_hash,
                app_state_root: tag(b"app_state_root"),
            },
            body,
        }
    }

    /// Signs (once per height) and sends (every time) the attack on `height`: two prevotes and
    /// two precommits for different made-up blocks in every attacked round, and where it is the
    /// proposer, a proposal of its invalid block and a conflicting one of a made-up hash.
    async fn attack(&mut self, height: u64) {
        if !self.signed.contains_key(&height) {
            let messages = self.sign_attack(height);
            self.signed.insert(height, messages);
            self.stats().heights.insert(height);
        }
        let messages = self.signed.get(&height).cloned().unwrap_or_default();
        for message in messages {
            self.publish(message).await;
        }
    }

    fn sign_attack(&mut self, height: u64) -> Vec<ConsensusMessage> {
        let me = self.key.public_key();
        let mut messages = Vec::new();
        for round in 0..=LAST_ATTACKED_ROUND {
            if self.validators.proposer(height, round).key == me {
                // The invalid block first: receivers fetch and check the first proposal.
                let block = self.invalid_block(height, round);
                let hash = block.header.hash();
                self.invalid_blocks.insert(hash, block);
                for block_hash in [
                    hash,
                    fake_hash(&[b"proposal", &height.to_le_bytes(), &round.to_le_bytes()]),
                ] {
                    let payload = ProposalPayload {
                        height,
                        round,
                        pol_round: None,
                        block_hash,
                    };
                    messages.push(ConsensusMessage::Proposal(SignedProposal::sign(
                        payload,
                        &self.key,
                        &self.chain_id,
                    )));
                    self.stats().proposals_signed += 1;
                }
            }
            for (kind, name) in [
                (VoteKind::Prevote, b"prevote".as_slice()),
                (VoteKind::Precommit, b"precommit".as_slice()),
            ] {
                for variant in [b"a", b"b"] {
                    let payload = VotePayload {
                        kind,
                        height,
                        round,
                        block_hash: Some(fake_hash(&[
                            name,
                            variant,
                            &height.to_le_bytes(),
                            &round.to_le_bytes(),
                        ])),
                    };
                    messages.push(ConsensusMessage::Vote(SignedVote::sign(
                        payload,
                        &self.key,
                        &self.chain_id,
                    )));
                    self.stats().votes_signed += 1;
                }
            }
        }
        messages
    }

    /// Re-publishes a few of its messages of heights below `height` with new nonces.
    async fn replay(&mut self, height: u64) {
        let old: Vec<ConsensusMessage> = self
            .signed
            .range(..height)
            .flat_map(|(_, messages)| messages.iter().cloned())
            .collect();
        if old.is_empty() {
            return;
        }
        for i in 0..REPLAYS_PER_TICK.min(old.len()) {
            let message = old[(self.replay_cursor + i) % old.len()].clone();
            self.publish(message).await;
            self.stats().replayed += 1;
        }
        self.replay_cursor = self.replay_cursor.wrapping_add(REPLAYS_PER_TICK);
    }

    async fn publish(&mut self, message: ConsensusMessage) {
        self.nonce += 1;
        let bytes = wire::encode(&ConsensusEnvelope {
            nonce: self.nonce,
            message,
        });
        if self.handle.publish(Topic::Consensus, bytes).await.is_ok() {
            self.stats().published += 1;
        }
    }

    /// The honest node's finalised height, if it answers within a tick.
    async fn honest_head(&self) -> Option<u64> {
        let asked = request_sync(&self.handle, self.limits, self.honest, &SyncRequest::Status);
        match tokio::time::timeout(ATTACK_TICK, asked).await {
            Ok(Ok(SyncResponse::Status(header))) => Some(header.map_or(0, |h| h.height)),
            _ => None,
        }
    }
}

/// The first block of node `node` from `*next` on that carries evidence against `offender`;
/// advances `*next` past the blocks it looked at.
fn evidence_against(
    net: &TestNet,
    node: usize,
    offender: &PublicKey,
    next: &mut u64,
) -> Option<(u64, Vec<Equivocation>)> {
    let height = net.try_status(node).ok()?.height;
    while *next <= height {
        let block = net.block(node, *next)?;
        *next += 1;
        let against: Vec<Equivocation> = block
            .evidence
            .into_iter()
            .filter(|e| e.offence().validator == *offender)
            .collect();
        if !against.is_empty() {
            return Some((block.header.height, against));
        }
    }
    None
}

/// Waits until the heights of `nodes` stay the same for [`IDLE_WINDOW`]; those heights.
fn wait_for_idle(net: &TestNet, nodes: &[usize]) -> Vec<Option<u64>> {
    let mut last = net.heights(nodes);
    let mut since = Instant::now();
    net.wait_until(
        WAIT,
        &format!("nodes {nodes:?} to stop finalising once there is no work"),
        |net| {
            let now = net.heights(nodes);
            if now != last {
                last = now;
                since = Instant::now();
            }
            since.elapsed() >= IDLE_WINDOW
        },
    );
    last
}

#[test]
fn a_byzantine_validator_cannot_break_safety_and_its_equivocation_is_recorded() {
    const HONEST: [usize; 3] = [0, 1, 2];
    const BYZANTINE: usize = 3;
    let net = TestNet::builder().validators(4).signers(3).build();
    net.start_nodes(&HONEST);
    let mut byzantine = InProcessPeer::stand_in(&net, BYZANTINE);
    net.wait_until(
        WAIT,
        "nodes 0-2 to connect to each other and to the Byzantine stand-in for node 3",
        |net| {
            HONEST
                .iter()
                .all(|&i| net.try_status(i).is_ok_and(|s| s.peers >= 3))
        },
    );

    let stats = Arc::new(Mutex::new(AttackStats::default()));
    let stop = Arc::new(AtomicBool::new(false));
    let attacker = Byzantine::new(&net, &byzantine, BYZANTINE, 0, Arc::clone(&stats));
    let events = byzantine.take_events();
    let task = byzantine
        .runtime()
        .spawn(attacker.run(events, Arc::clone(&stop)));
    let snapshot = || stats.lock().unwrap().clone();

    let streams: Vec<(usize, SignerStream)> = net
        .event_source()
        .into_streams()
        .into_iter()
        .enumerate()
        .collect();
    let before: Vec<u64> = net
        .heights(&HONEST)
        .into_iter()
        .map(|h| h.expect("nodes 0-2 answer"))
        .collect();
    let started = Instant::now();
    let acked = net.under_load(streams, LoadShape::default(), || {
        net.wait_until(
            WAIT,
            "nodes 0-2 to finalise three blocks while validator 3 attacks",
            |net| {
                net.heights(&HONEST)
                    .iter()
                    .zip(&before)
                    .all(|(now, then)| now.is_some_and(|now| now >= then + 3))
            },
        );
        net.wait_until(WAIT, "an honest node to detect an equivocation", |net| {
            HONEST
                .iter()
                .any(|&i| net.try_status(i).is_ok_and(|s| s.equivocations >= 1))
        });
        net.wait_until(
            WAIT,
            "an honest node to fetch one of validator 3's invalid blocks",
            |_| snapshot().invalid_blocks_served >= 1,
        );
        net.wait_until(WAIT, "the attack to replay old messages", |_| {
            snapshot().replayed >= 1
        });
        if let Some(rest) = MIN_ATTACK.checked_sub(started.elapsed()) {
            thread::sleep(rest);
        }
    });
    stop.store(true, Ordering::SeqCst);
    byzantine
        .block_on(task)
        .unwrap_or_else(|e| panic!("the Byzantine task failed: {e}"));
    let attack = snapshot();
    let attacked_for = started.elapsed();
    assert!(
        !acked.is_empty(),
        "nothing was acknowledged during the attack"
    );

    // The equivocation reaches a block, and the evidence is genuine.
    let offender = net.signing_key(BYZANTINE).public_key();
    let mut next = 1;
    let mut found = None;
    net.wait_until(
        WAIT,
        "a finalised block of node 0 to carry evidence against validator 3",
        |net| {
            found = found
                .take()
                .or_else(|| evidence_against(net, 0, &offender, &mut next));
            found.is_some()
        },
    );
    let (evidence_height, evidence) = found.expect("found by the wait");
    for item in &evidence {
        item.verify(&net.genesis().chain_id, net.validator_set())
            .unwrap_or_else(|e| panic!("block {evidence_height} holds bogus evidence: {e}"));
    }

    // Safety: one chain, every certificate verifies, every acknowledged event final once.
    net.wait_for_log_size_on(&HONEST, acked.len() as u64, WAIT);
    net.wait_until(WAIT, "nodes 0-2 to reach the evidence block", |net| {
        net.heights(&HONEST)
            .iter()
            .all(|h| h.is_some_and(|h| h >= evidence_height))
    });
    let converged = net.assert_converged_on(&HONEST, &acked);
    assert_eq!(converged.unacknowledged, 0);
    assert!(converged.height >= evidence_height);
    let detected: Vec<u64> = HONEST
        .iter()
        .map(|&i| net.status(i).equivocations)
        .collect();

    // Once the attack and the load stop there is no work left: the chain stops growing.
    let idle = wait_for_idle(&net, &HONEST);
    println!(
        "attacked for {attacked_for:?}: {attack:?}; {} events final at height {} on nodes 0-2; \
         equivocations detected per node {detected:?}; evidence in block {evidence_height}: {:?}; \
         idle at {idle:?}",
        acked.len(),
        converged.height,
        evidence
            .iter()
            .map(Equivocation::offence)
            .collect::<Vec<_>>()
    );
}

/// Publishes `evidence` as validator `peer` on the consensus topic `times` times, each with a
/// new nonce (so each is a new gossip message), retrying while no node has subscribed yet.
fn publish_evidence(net: &TestNet, peer: &InProcessPeer, evidence: &Equivocation, times: usize) {
    for _ in 0..times {
        let nonce = NEXT_NONCE.fetch_add(1, Ordering::Relaxed);
        let bytes = wire::encode(&ConsensusEnvelope {
            nonce,
            message: ConsensusMessage::Evidence(evidence.clone()),
        });
        net.wait_until(WAIT, "the evidence to be published", |_| {
            peer.publish(Topic::Consensus, bytes.clone()).is_ok()
        });
    }
}

/// Nonces of messages the tests publish outside an attack task.
static NEXT_NONCE: AtomicU64 = AtomicU64::new(1 << 40);

#[test]
fn evidence_already_recorded_and_replayed_by_its_subject_is_no_work() {
    const HONEST: [usize; 3] = [0, 1, 2];
    const SUBJECT: usize = 3;
    let net = TestNet::builder().validators(4).signers(3).build();
    net.start_nodes(&HONEST);
    let subject = InProcessPeer::stand_in(&net, SUBJECT);
    net.wait_until(
        WAIT,
        "nodes 0-2 to connect to each other and to node 3",
        |net| {
            HONEST
                .iter()
                .all(|&i| net.try_status(i).is_ok_and(|s| s.peers >= 3))
        },
    );
    // A first block, so that an offence at height 1 is in the past.
    let mut source = net.event_source();
    let acked = net.submit(0, &source.batch(0, 5));
    net.wait_for_log_size_on(&HONEST, acked.len() as u64, WAIT);

    // Validator 3 signed two different prevotes for height 1, round 0; it (or anyone) gossips
    // the proof.
    let chain_id = net.genesis().chain_id.clone();
    let key = net.signing_key(SUBJECT);
    let prevote = |value: &[u8]| {
        let payload = VotePayload {
            kind: VoteKind::Prevote,
            height: 1,
            round: 0,
            block_hash: Some(fake_hash(&[b"replayed evidence", value])),
        };
        SignedVote::sign(payload, &key, &chain_id)
    };
    let evidence = Equivocation::votes(prevote(b"a"), prevote(b"b"));
    evidence.verify(&chain_id, net.validator_set()).unwrap();
    publish_evidence(&net, &subject, &evidence, 1);
    let offender = key.public_key();
    let mut next = 1;
    let mut found = None;
    net.wait_until(WAIT, "a block of node 0 to record the evidence", |net| {
        found = found
            .take()
            .or_else(|| evidence_against(net, 0, &offender, &mut next));
        found.is_some()
    });
    let (recorded_at, recorded) = found.expect("found by the wait");
    assert_eq!(recorded, std::slice::from_ref(&evidence));

    // Recorded evidence is no work: replaying it must not make the validators build blocks.
    let idle = wait_for_idle(&net, &HONEST);
    publish_evidence(&net, &subject, &evidence, 3);
    thread::sleep(IDLE_WINDOW);
    let after = net.heights(&HONEST);
    assert_eq!(
        after, idle,
        "nodes 0-2 went from heights {idle:?} to {after:?} in {IDLE_WINDOW:?} without any work, \
         after validator 3 replayed the evidence block {recorded_at} already recorded"
    );
}

/// Events of `stream` in one bundle, re-sent with a new nonce every call.
struct Bundle {
    events: Vec<SignedEvent>,
    nonce: u64,
}

impl Bundle {
    fn next(&mut self) -> Vec<u8> {
        self.nonce += 1;
        wire::encode(&EventBundle {
            nonce: self.nonce,
            events: self.events.clone(),
        })
    }
}

/// Asserts that no node of `net` has any of `ids` in its ledger.
fn assert_never_final(net: &TestNet, ids: &[EventHashId], who: &str) {
    for i in 0..net.len() {
        let client = net.client(i);
        for id in ids {
            let found = client
                .event(id)
                .unwrap_or_else(|e| panic!("node {i}'s event {id}: {e}"));
            assert!(
                found.is_none(),
                "node {i} finalised event {id}, which only {who} ever sent (at height {:?})",
                found.map(|e| e.height)
            );
        }
    }
}

#[test]
fn an_unregistered_peer_cannot_connect_or_get_a_message_forwarded() {
    let net = TestNet::builder().validators(4).signers(3).build();
    net.start_all();
    net.wait_for_full_mesh(WAIT);

    // A key genesis does not know, dialling node 0 directly and through the proxy node 1 uses.
    let through_link = net.link(1, 0).addr();
    let mut intruder = InProcessPeer::start(
        &net,
        PeerSpec {
            node_key: SigningKey::from_seed([0x66; 32]),
            listen: "127.0.0.1:0".parse().unwrap(),
            bootstrap: vec![
                format!(
                    "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                    net.p2p_addr(0).port(),
                    net.peer_id(0)
                ),
                format!(
                    "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                    through_link.port(),
                    net.peer_id(0)
                ),
            ],
        },
    )
    .unwrap_or_else(|e| panic!("cannot start the intruder: {e}"));
    let mut intruder_events = intruder.take_events();

    // Valid events of a registered signer that only the intruder ever sends.
    let mut streams = net.event_source().into_streams();
    let mut smuggled = Bundle {
        events: streams.pop().expect("three signers").batch(5),
        nonce: 0,
    };
    let smuggled_ids: Vec<EventHashId> = smuggled.events.iter().map(|e| e.event_hash_id).collect();
    let honest: Vec<(usize, SignerStream)> = streams.into_iter().enumerate().collect();

    let others = (net.len() - 1) as u64;
    let (mut published, mut answered, mut held) = (0usize, 0usize, 0usize);
    let acked = net.under_load(honest, LoadShape::default(), || {
        let window = Instant::now() + INTRUSION_WINDOW;
        while Instant::now() < window {
            let status = net.status(0);
            assert!(
                status.peers <= others,
                "node 0 counts {} peers; only {others} are registered",
                status.peers
            );
            if !intruder.peers().is_empty() {
                held += 1;
            }
            if intruder.publish(Topic::Events, smuggled.next()).is_ok() {
                published += 1;
            }
            if intruder
                .request(net.peer_id(0), &SyncRequest::Status)
                .is_ok()
            {
                answered += 1;
            }
            thread::sleep(SAMPLE);
        }
    });
    assert_eq!(
        answered, 0,
        "node 0 answered an unregistered peer's request"
    );
    assert!(
        intruder.peers().is_empty(),
        "the intruder still holds a connection: {:?}",
        intruder.peers()
    );
    // Any connection it saw was closed again.
    let (mut connected, mut disconnected) = (0usize, 0usize);
    while let Ok(event) = intruder_events.try_recv() {
        match event {
            NetEvent::PeerConnected { .. } => connected += 1,
            NetEvent::PeerDisconnected { .. } => disconnected += 1,
            NetEvent::Gossip(message) => panic!(
                "the intruder received gossip ({:?} from {})",
                message.topic, message.source
            ),
            NetEvent::Request { peer, .. } => panic!("the intruder received a request from {peer}"),
        }
    }
    assert_eq!(
        connected, disconnected,
        "a connection of the intruder stayed open"
    );

    net.wait_for_log_size(acked.len() as u64, WAIT);
    let converged = net.assert_converged(&acked);
    assert_eq!(converged.unacknowledged, 0);
    assert_never_final(&net, &smuggled_ids, "the unregistered peer");
    println!(
        "intruder: {published} publishes taken, {held} samples with a connection, \
         {connected} connections seen (all closed); {} honest events final at height {}",
        acked.len(),
        converged.height
    );
}

#[test]
fn an_observer_syncs_certified_blocks_but_its_gossip_is_ignored() {
    let net = TestNet::builder().validators(4).signers(3).build();
    let observer_key = SigningKey::from_seed([0x0b; 32]);
    let observer_id = provenance_node::net::peer_id_of(&observer_key.public_key());
    net.set_observers(0, &[observer_id]);
    net.start_all();
    net.wait_for_full_mesh(WAIT);

    let mut observer = InProcessPeer::start(
        &net,
        PeerSpec {
            node_key: observer_key,
            listen: "127.0.0.1:0".parse().unwrap(),
            bootstrap: vec![format!(
                "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                net.p2p_addr(0).port(),
                net.peer_id(0)
            )],
        },
    )
    .unwrap_or_else(|e| panic!("cannot start the observer: {e}"));
    let node0 = net.peer_id(0);
    net.wait_until(WAIT, "the observer to connect to node 0", |_| {
        observer.peers().iter().any(|p| p.peer == node0)
    });
    // Count the consensus gossip it receives; answer nothing, forward nothing.
    let received = Arc::new(Mutex::new(0usize));
    let mut events = observer.take_events();
    let handle = observer.handle().clone();
    let counter = Arc::clone(&received);
    observer.runtime().spawn(async move {
        while let Some(event) = events.recv().await {
            if let NetEvent::Gossip(message) = event {
                handle.report(&message, Verdict::Ignore);
                if message.topic == Topic::Consensus {
                    *counter.lock().unwrap() += 1;
                }
            }
        }
    });

    let mut streams = net.event_source().into_streams();
    let mut ignored = Bundle {
        events: streams.pop().expect("three signers").batch(5),
        nonce: 0,
    };
    let ignored_ids: Vec<EventHashId> = ignored.events.iter().map(|e| e.event_hash_id).collect();
    let honest: Vec<(usize, SignerStream)> = streams
        .into_iter()
        .enumerate()
        .map(|(s, stream)| (s + 1, stream))
        .collect();
    let mut publish_errors: BTreeMap<String, usize> = BTreeMap::new();
    let acked = net.under_load(honest, LoadShape::default(), || {
        net.wait_until(WAIT, "nodes to finalise two blocks", |net| {
            net.heights(&[0, 1, 2, 3])
                .iter()
                .all(|h| h.is_some_and(|h| h >= 2))
        });
        let window = Instant::now() + INTRUSION_WINDOW;
        while Instant::now() < window {
            match observer.publish(Topic::Events, ignored.next()) {
                Ok(()) => *publish_errors.entry("ok".into()).or_default() += 1,
                Err(e) => *publish_errors.entry(e.to_string()).or_default() += 1,
            }
            thread::sleep(SAMPLE);
        }
    });
    net.wait_for_log_size(acked.len() as u64, WAIT);
    let converged = net.assert_converged(&acked);
    assert_eq!(converged.unacknowledged, 0);
    assert_never_final(&net, &ignored_ids, "the observer");
    net.wait_until(WAIT, "the observer to receive consensus gossip", |_| {
        *received.lock().unwrap() >= 1
    });

    // It syncs: certified blocks from node 0 that verify from genesis, as node 0 serves them.
    let reference = net.verified_chain_to(0, converged.height);
    let mut prev_hash = net.genesis().hash().0;
    let mut height = 1;
    while height <= converged.height {
        let request = SyncRequest::Blocks {
            from: height,
            count: MAX_SYNC_BLOCKS,
        };
        let blocks = match observer.request(node0, &request) {
            Ok(SyncResponse::Blocks(blocks)) if !blocks.is_empty() => blocks,
            other => panic!("node 0 answered the observer's {request:?} with {other:?}"),
        };
        for certified in blocks {
            if height > converged.height {
                break;
            }
            let header = &certified.block.header;
            assert_eq!(header.height, height);
            assert_eq!(header.prev_hash, prev_hash, "block {height} does not link");
            assert_eq!(certified.block.body.hash(), header.body_hash);
            certified
                .certificate
                .verify(header, net.validator_set())
                .unwrap_or_else(|e| panic!("block {height}'s certificate: {e}"));
            prev_hash = header.hash();
            assert_eq!(reference.header_hashes[(height - 1) as usize], prev_hash);
            height += 1;
        }
    }
    println!(
        "observer synced {} certified blocks, received {} consensus messages; its publishes: \
         {publish_errors:?}",
        converged.height,
        received.lock().unwrap()
    );
}
