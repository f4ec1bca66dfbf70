//! Seeded, deterministic simulation of four validators running the consensus core over an
//! in-memory network with loss, duplication, reordering, delay and crash/restart.
//!
//! `PROVENANCE_SIM_SEEDS=n` sets the number of seeds (default 1000); `PROVENANCE_SIM_SEED=n`
//! reruns a single seed. A failure names its seed.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap};
use std::time::{Duration, Instant};

use provenance_node::consensus::{
    Config, Consensus, Evidence, Hash, Input, Message, Output, ProposalPayload, SignStep,
    SignedProposal, SignedState, SignedVote, TimeoutConfig, TimeoutKind,
};
use provenance_protocol::crypto::{PublicKey, SigningKey};
use provenance_protocol::ledger::{
    FinalityCertificate, Validator, ValidatorSet, VoteKind, VotePayload,
};

const CHAIN: &str = "sim-chain";
const NODES: usize = 4;
const HEIGHTS: u64 = 3;
/// Simulated milliseconds after global stabilisation by which every live node must decide.
const LIVENESS_BUDGET_MS: u64 = 600_000;

struct Xorshift(u64);

impl Xorshift {
    fn new(seed: u64) -> Self {
        // Never zero; spread small seeds.
        Xorshift(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn percent(&mut self, p: u64) -> bool {
        self.below(100) < p
    }
}

fn keys() -> Vec<SigningKey> {
    // Sorted by public key, so node index == position in the validator set.
    let mut keys: Vec<SigningKey> = (1..=NODES as u8)
        .map(|i| SigningKey::from_seed([i; 32]))
        .collect();
    keys.sort_by_key(|k| k.public_key());
    keys
}

fn seed_of(index: usize) -> [u8; 32] {
    let key = &keys()[index];
    (1..=NODES as u8)
        .map(|i| [i; 32])
        .find(|s| SigningKey::from_seed(*s).public_key() == key.public_key())
        .unwrap()
}

fn validator_set(keys: &[SigningKey]) -> ValidatorSet {
    ValidatorSet::new(
        keys.iter()
            .map(|k| Validator {
                key: k.public_key(),
                power: 1,
            })
            .collect(),
    )
    .unwrap()
}

fn timeouts() -> TimeoutConfig {
    TimeoutConfig {
        propose: Duration::from_millis(200),
        propose_delta: Duration::from_millis(100),
        prevote: Duration::from_millis(100),
        prevote_delta: Duration::from_millis(50),
        precommit: Duration::from_millis(100),
        precommit_delta: Duration::from_millis(50),
        rebroadcast: Duration::from_millis(400),
    }
}

fn value(seed: u64, height: u64, round: u32, node: usize) -> Hash {
    let mut h = [0u8; 32];
    h[0..8].copy_from_slice(&seed.to_be_bytes());
    h[8..16].copy_from_slice(&height.to_be_bytes());
    h[16..20].copy_from_slice(&round.to_be_bytes());
    h[20] = node as u8;
    h
}

#[derive(Debug)]
enum Event {
    Deliver {
        from: usize,
        to: usize,
        message: Message,
    },
    Timeout {
        node: usize,
        epoch: u64,
        height: u64,
        round: u32,
        kind: TimeoutKind,
    },
    Crash {
        node: usize,
        permanent: bool,
    },
    Restart {
        node: usize,
    },
}

/// (height, round, step) of a signed message.
type Slot = (u64, u32, SignStep);
/// What was signed there: block hash (None = nil) and proposal pol_round.
type SignedContent = (Option<Hash>, Option<u32>);

struct Node {
    core: Option<Consensus>,
    /// The host's durable state: survives crashes.
    persisted: Option<SignedState>,
    committed: u64,
    last_certificate: Option<FinalityCertificate>,
    certificates: BTreeMap<u64, FinalityCertificate>,
    /// Everything this validator ever signed (the test's view, across restarts).
    signed: BTreeMap<Slot, SignedContent>,
    epoch: u64,
    down_forever: bool,
    evidence: Vec<Evidence>,
}

struct Sim {
    seed: u64,
    rng: Xorshift,
    now: u64,
    gst: u64,
    seq: u64,
    queue: BinaryHeap<(Reverse<u64>, Reverse<u64>, usize)>,
    events: BTreeMap<usize, Event>,
    nodes: Vec<Node>,
    keys: Vec<PublicKey>,
    set: ValidatorSet,
    /// height -> decided hash, across all honest nodes.
    decisions: BTreeMap<u64, Hash>,
    decided_by: Vec<BTreeSet<u64>>,
    byzantine: Option<usize>,
    byz_key: Option<SigningKey>,
    byz_acted: BTreeSet<(u64, u32)>,
    rejections: usize,
    /// The peer whose message is being handled (for `Reply` and `PeerBehind`).
    sender: Option<usize>,
}

impl Sim {
    fn new(seed: u64, byzantine: Option<usize>) -> Self {
        let signing = keys();
        let set = validator_set(&signing);
        let public: Vec<PublicKey> = signing.iter().map(|k| k.public_key()).collect();
        let mut sim = Sim {
            seed,
            rng: Xorshift::new(seed),
            now: 0,
            gst: 0,
            seq: 0,
            queue: BinaryHeap::new(),
            events: BTreeMap::new(),
            nodes: Vec::new(),
            keys: public,
            set,
            decisions: BTreeMap::new(),
            decided_by: vec![BTreeSet::new(); NODES],
            byzantine,
            byz_key: byzantine.map(|b| SigningKey::from_seed(seed_of(b))),
            byz_acted: BTreeSet::new(),
            rejections: 0,
            sender: None,
        };
        for _ in 0..NODES {
            sim.nodes.push(Node {
                core: None,
                persisted: None,
                committed: 0,
                last_certificate: None,
                certificates: BTreeMap::new(),
                signed: BTreeMap::new(),
                epoch: 0,
                down_forever: false,
                evidence: Vec::new(),
            });
        }
        sim
    }

    fn push(&mut self, at: u64, event: Event) {
        self.seq += 1;
        let id = self.seq as usize;
        self.events.insert(id, event);
        self.queue.push((Reverse(at), Reverse(self.seq), id));
    }

    fn boot(&mut self, node: usize) {
        if Some(node) == self.byzantine {
            return;
        }
        let config = Config {
            chain_id: CHAIN.into(),
            validators: self.set.clone(),
            key: SigningKey::from_seed(seed_of(node)),
            timeouts: timeouts(),
        };
        let n = &mut self.nodes[node];
        let mut core = Consensus::new(config, n.committed + 1, n.persisted.clone()).unwrap();
        if let Some(cert) = n.last_certificate.clone() {
            core.restore_last_decision(cert);
        }
        let outputs = core.start();
        n.core = Some(core);
        self.execute(node, outputs);
    }

    fn send(&mut self, from: usize, to: usize, message: &Message) {
        if self.now < self.gst && self.rng.percent(20) {
            return; // lost
        }
        let copies = if self.rng.percent(10) { 2 } else { 1 };
        for _ in 0..copies {
            let max_delay = if self.now < self.gst { 300 } else { 100 };
            let at = self.now + 1 + self.rng.below(max_delay);
            self.push(
                at,
                Event::Deliver {
                    from,
                    to,
                    message: message.clone(),
                },
            );
        }
    }

    fn fail(&self, what: &str) -> ! {
        panic!(
            "seed {} (rerun with PROVENANCE_SIM_SEED={}): {what}",
            self.seed, self.seed
        )
    }

    /// The host side: executes outputs in order, checking the persist-before-broadcast rule.
    fn execute(&mut self, node: usize, outputs: Vec<Output>) {
        let mut pending = std::collections::VecDeque::from(outputs);
        while let Some(output) = pending.pop_front() {
            match output {
                Output::Persist(state) => {
                    self.nodes[node].persisted = Some(state);
                    // Crash between the flush and the send: the restarted node must re-send
                    // exactly what it persisted, never something else.
                    if self.now < self.gst
                        && self.byzantine.is_none()
                        && !self.nodes[node].down_forever
                        && self.rng.percent(2)
                    {
                        self.crash(node, false);
                        let back = self.now + 50 + self.rng.below(1500);
                        self.push(back, Event::Restart { node });
                        return;
                    }
                }
                Output::Broadcast(message) => {
                    self.check_persisted(node, &message);
                    for to in 0..NODES {
                        if to != node {
                            self.send(node, to, &message);
                        }
                    }
                }
                Output::Reply(message) => {
                    let Some(to) = self.sender else {
                        self.fail("Reply while handling an input that no peer sent");
                    };
                    self.send(node, to, &message);
                }
                Output::ScheduleTimeout {
                    height,
                    round,
                    kind,
                    after,
                } => {
                    let at = self.now + after.as_millis() as u64;
                    let epoch = self.nodes[node].epoch;
                    self.push(
                        at,
                        Event::Timeout {
                            node,
                            epoch,
                            height,
                            round,
                            kind,
                        },
                    );
                }
                Output::RequestValue { height, round } => {
                    let hash = value(self.seed, height, round, node);
                    let more = self.feed(
                        node,
                        Input::ProposeValue {
                            height,
                            round,
                            hash,
                        },
                    );
                    pending.extend(more);
                }
                Output::Decide {
                    height,
                    round,
                    hash,
                    certificate,
                } => {
                    if certificate.height != height
                        || certificate.round != round
                        || certificate.header_hash != hash
                    {
                        self.fail("certificate does not match its decision");
                    }
                    let payload = certificate.precommit_payload();
                    let mut power = 0;
                    for s in &certificate.signatures {
                        if payload.verify(&s.validator, CHAIN, &s.signature).is_err() {
                            self.fail("certificate signature does not verify");
                        }
                        power += self.set.power_of(&s.validator).unwrap();
                    }
                    if !self.set.is_quorum(power) {
                        self.fail("certificate lacks a quorum");
                    }
                    match self.decisions.get(&height) {
                        Some(other) if *other != hash => self.fail(&format!(
                            "SAFETY: node {node} decided {} at height {height}, another decided {}",
                            hex::encode(hash),
                            hex::encode(other)
                        )),
                        _ => {
                            self.decisions.insert(height, hash);
                        }
                    }
                    if !self.decided_by[node].insert(height) {
                        self.fail(&format!("node {node} decided height {height} twice"));
                    }
                    self.nodes[node].committed = height;
                    self.nodes[node].last_certificate = Some(certificate.clone());
                    self.nodes[node].certificates.insert(height, certificate);
                }
                Output::Evidence(evidence) => self.nodes[node].evidence.push(evidence),
                Output::Rejected { .. } => self.rejections += 1,
                Output::PeerBehind { height } => {
                    let Some(to) = self.sender else {
                        self.fail("PeerBehind while handling an input that no peer sent");
                    };
                    if let Some(cert) = self.nodes[node].certificates.get(&height).cloned() {
                        self.send(node, to, &Message::Decision(cert));
                    }
                }
            }
        }
    }

    /// A signed message may only leave after a persisted state at or beyond it, and a node
    /// never signs two different messages for one (height, round, step), across restarts.
    fn check_persisted(&mut self, node: usize, message: &Message) {
        let signed = match message {
            Message::Proposal(p) if p.proposer != self.keys[node] => return,
            Message::Proposal(p) => (Some(p.payload.block_hash), p.payload.pol_round),
            Message::Vote(v) if v.validator == self.keys[node] => (v.payload.block_hash, None),
            // Relayed messages of other validators are not ours to persist.
            _ => return,
        };
        let (h, r, step) = match message {
            Message::Proposal(p) => (p.payload.height, p.payload.round, SignStep::Propose),
            Message::Vote(v) => (
                v.payload.height,
                v.payload.round,
                SignStep::of_vote(v.payload.kind),
            ),
            Message::Decision(_) => return,
        };
        match &self.nodes[node].persisted {
            Some(s) if (s.height, s.round, s.step) >= (h, r, step) => {}
            _ => self.fail(&format!(
                "node {node} broadcast a message at ({h}, {r}, {step:?}) before persisting it"
            )),
        }
        let slot = (h, r, step);
        match self.nodes[node].signed.get(&slot) {
            Some(before) if *before != signed => self.fail(&format!(
                "node {node} signed two different messages at {slot:?}"
            )),
            _ => {
                self.nodes[node].signed.insert(slot, signed);
            }
        }
    }

    fn feed(&mut self, node: usize, input: Input) -> Vec<Output> {
        match self.nodes[node].core.as_mut() {
            Some(core) => core.handle(input),
            None => Vec::new(),
        }
    }

    fn deliver(&mut self, from: usize, to: usize, message: Message) {
        if Some(to) == self.byzantine {
            return self.byzantine_react(&message);
        }
        self.sender = Some(from);
        let input = match message {
            Message::Proposal(proposal) => Input::Proposal {
                proposal,
                valid: true,
            },
            Message::Vote(vote) => Input::Vote(vote),
            Message::Decision(cert) => Input::Decision(cert),
        };
        let outputs = self.feed(to, input);
        self.execute(to, outputs);
        self.sender = None;
    }

    /// The Byzantine validator: on first sight of each (height, round), it proposes (if it is
    /// the proposer) and votes for two different values, sending one to nodes {0, 1} and the
    /// other to nodes {1, 2}; node 1 sees both.
    fn byzantine_react(&mut self, message: &Message) {
        let (h, r) = match message {
            Message::Proposal(p) => (p.payload.height, p.payload.round),
            Message::Vote(v) => (v.payload.height, v.payload.round),
            Message::Decision(_) => return,
        };
        if !self.byz_acted.insert((h, r)) {
            return;
        }
        let me = self.byzantine.unwrap();
        let key = self.byz_key.take().unwrap();
        let mut x = value(self.seed, h, r, 100);
        let mut y = x;
        x[31] = 1;
        y[31] = 2;
        let mut to_sets: Vec<(Hash, [usize; 2])> = vec![(x, [0, 1]), (y, [1, 2])];
        if self.rng.percent(50) {
            to_sets.reverse();
        }
        for (hash, targets) in to_sets {
            let mut messages = Vec::new();
            if self.set.proposer(h, r).key == key.public_key() {
                let payload = ProposalPayload {
                    height: h,
                    round: r,
                    pol_round: None,
                    block_hash: hash,
                };
                messages.push(Message::Proposal(SignedProposal {
                    payload,
                    proposer: key.public_key(),
                    signature: payload.sign(&key, CHAIN),
                }));
            }
            for kind in [VoteKind::Prevote, VoteKind::Precommit] {
                let payload = VotePayload {
                    kind,
                    height: h,
                    round: r,
                    block_hash: Some(hash),
                };
                messages.push(Message::Vote(SignedVote {
                    signature: payload.sign(&key, CHAIN),
                    payload,
                    validator: key.public_key(),
                }));
            }
            for to in targets {
                if to != me {
                    for m in &messages {
                        self.send(me, to, m);
                    }
                }
            }
        }
        self.byz_key = Some(key);
    }

    fn crash(&mut self, node: usize, permanent: bool) {
        let n = &mut self.nodes[node];
        n.core = None;
        n.epoch += 1;
        n.down_forever |= permanent;
    }

    fn live_done(&self) -> bool {
        (0..NODES)
            .filter(|&i| !self.nodes[i].down_forever && Some(i) != self.byzantine)
            .all(|i| (1..=HEIGHTS).all(|h| self.decided_by[i].contains(&h)))
    }

    fn run(&mut self) {
        for node in 0..NODES {
            self.boot(node);
        }
        while let Some((Reverse(at), _, id)) = self.queue.pop() {
            if self.now >= self.gst && self.live_done() {
                return;
            }
            if at > self.gst + LIVENESS_BUDGET_MS {
                self.fail(&format!(
                    "LIVENESS: live nodes did not decide {HEIGHTS} heights; decided up to: {:?}; cores: {:?}; gst {}",
                    self.decided_by.iter().map(|d| d.last().copied()).collect::<Vec<_>>(),
                    self.nodes
                        .iter()
                        .map(|n| {
                            n.core.as_ref().map(|c| {
                                (
                                    c.height(),
                                    c.round(),
                                    c.step(),
                                    c.lock().map(|l| (l.round, l.hash[31], l.pol.len())),
                                    c.valid_value().map(|(r, h)| (r, h[31])),
                                )
                            })
                        })
                        .collect::<Vec<_>>(),
                    self.gst
                ));
            }
            self.now = at;
            let Some(event) = self.events.remove(&id) else {
                continue;
            };
            match event {
                Event::Deliver { from, to, message } => self.deliver(from, to, message),
                Event::Timeout {
                    node,
                    epoch,
                    height,
                    round,
                    kind,
                } => {
                    if self.nodes[node].epoch == epoch {
                        let outputs = self.feed(
                            node,
                            Input::Timeout {
                                height,
                                round,
                                kind,
                            },
                        );
                        self.execute(node, outputs);
                    }
                }
                Event::Crash { node, permanent } => self.crash(node, permanent),
                Event::Restart { node } => {
                    if !self.nodes[node].down_forever && self.nodes[node].core.is_none() {
                        self.boot(node);
                    }
                }
            }
        }
        if !self.live_done() {
            self.fail("event queue ran dry before liveness");
        }
    }
}

fn honest_scenario(seed: u64) -> Sim {
    let mut sim = Sim::new(seed, None);
    sim.gst = 500 + sim.rng.below(4000);
    // In a third of the runs one validator (f = 1) goes silent for good, before GST.
    let silent = sim
        .rng
        .percent(33)
        .then(|| sim.rng.below(NODES as u64) as usize);
    if let Some(node) = silent {
        let at = sim.rng.below(sim.gst);
        sim.push(
            at,
            Event::Crash {
                node,
                permanent: true,
            },
        );
    }
    // Crash/restart windows of the others before GST, one node at a time.
    let mut t = sim.rng.below(500);
    while t < sim.gst {
        let node = sim.rng.below(NODES as u64) as usize;
        if Some(node) == silent {
            t += 1 + sim.rng.below(500);
            continue;
        }
        let down = 50 + sim.rng.below(1500);
        sim.push(
            t,
            Event::Crash {
                node,
                permanent: false,
            },
        );
        sim.push(t + down, Event::Restart { node });
        t += down + 1 + sim.rng.below(2000);
    }
    sim.run();
    if sim.rejections != 0 {
        sim.fail("honest validators' messages were rejected");
    }
    sim
}

fn seeds() -> Vec<u64> {
    if let Ok(one) = std::env::var("PROVENANCE_SIM_SEED") {
        return vec![one.parse().expect("PROVENANCE_SIM_SEED must be an integer")];
    }
    let count: u64 = std::env::var("PROVENANCE_SIM_SEEDS")
        .ok()
        .map(|n| n.parse().expect("PROVENANCE_SIM_SEEDS must be an integer"))
        .unwrap_or(1000);
    (0..count).collect()
}

/// Runs `scenario` over all seeds on two threads (the simulation itself is single-threaded
/// and deterministic per seed).
fn run_seeds(scenario: fn(u64) -> Sim) -> Vec<Sim> {
    let seeds = seeds();
    let started = Instant::now();
    let threads = 2;
    let results: Vec<Vec<Sim>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let mine: Vec<u64> = seeds.iter().copied().skip(t).step_by(threads).collect();
                s.spawn(move || mine.into_iter().map(scenario).collect::<Vec<_>>())
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    eprintln!("{} seeds in {:.1?}", seeds.len(), started.elapsed());
    results.into_iter().flatten().collect()
}

#[test]
fn honest_validators_with_faults_agree_and_decide() {
    let sims = run_seeds(honest_scenario);
    for sim in &sims {
        assert!((1..=HEIGHTS).all(|h| sim.decisions.contains_key(&h)));
        for node in &sim.nodes {
            assert!(
                node.evidence.is_empty(),
                "seed {}: evidence among honest nodes",
                sim.seed
            );
        }
    }
    let crashed_forever = sims
        .iter()
        .filter(|s| s.nodes.iter().any(|n| n.down_forever))
        .count();
    eprintln!("{crashed_forever} runs had a permanently silent validator");
    assert!(crashed_forever > 0 || sims.len() < 10);
}

fn byzantine_scenario(seed: u64) -> Sim {
    let mut sim = Sim::new(seed, Some(3));
    // Even seeds: full delivery (with duplication and reordering) so that node 1 sees both
    // halves of every equivocation. Odd seeds: message loss until GST as well.
    sim.gst = if seed.is_multiple_of(2) {
        0
    } else {
        500 + sim.rng.below(3000)
    };
    sim.run();
    sim
}

#[test]
fn equivocating_validator_cannot_break_safety_and_is_reported() {
    // 200 seeds by default (each run is costlier); the environment variables override.
    let explicit = std::env::var_os("PROVENANCE_SIM_SEED").is_some()
        || std::env::var_os("PROVENANCE_SIM_SEEDS").is_some();
    let count = if explicit { seeds().len() } else { 200 };
    let sims: Vec<Sim> = seeds()
        .into_iter()
        .chain(0..)
        .take(count)
        .map(byzantine_scenario)
        .collect();
    let byz_key = keys()[3].public_key();
    let mut reported = 0;
    for sim in &sims {
        for (i, node) in sim.nodes.iter().enumerate().take(3) {
            let mut seen = BTreeSet::new();
            for e in &node.evidence {
                assert_eq!(e.offender(), byz_key, "seed {}", sim.seed);
                let slot = match e {
                    Evidence::Vote { first, second } => {
                        assert_ne!(first.payload, second.payload);
                        assert_eq!(first.payload.kind, second.payload.kind);
                        first
                            .payload
                            .verify(&byz_key, CHAIN, &first.signature)
                            .unwrap();
                        second
                            .payload
                            .verify(&byz_key, CHAIN, &second.signature)
                            .unwrap();
                        let step = SignStep::of_vote(first.payload.kind);
                        (first.payload.height, first.payload.round, step)
                    }
                    Evidence::Proposal { first, second } => {
                        assert_ne!(first.payload, second.payload);
                        first
                            .payload
                            .verify(&byz_key, CHAIN, &first.signature)
                            .unwrap();
                        second
                            .payload
                            .verify(&byz_key, CHAIN, &second.signature)
                            .unwrap();
                        (first.payload.height, first.payload.round, SignStep::Propose)
                    }
                };
                assert!(
                    seen.insert(slot),
                    "seed {}: node {i} reported {slot:?} twice",
                    sim.seed
                );
            }
        }
        if sim.gst == 0 && !sim.nodes[1].evidence.is_empty() {
            reported += 1;
        }
    }
    let lossless = sims.iter().filter(|s| s.gst == 0).count();
    eprintln!("node 1 reported evidence in {reported} of {lossless} lossless runs");
    // Node 1 receives both halves of every equivocation; it misses evidence only when it had
    // already left the height before the Byzantine votes arrived.
    assert!(
        reported * 10 >= lossless * 9,
        "evidence reported in only {reported} of {lossless} lossless runs"
    );
}
