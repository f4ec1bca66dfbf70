//! The engine: drives the pure consensus core ([`crate::consensus`]) with the network
//! ([`crate::net`]), the store and the service, and keeps the node at the head of the chain.
//!
//! One task owns the core. It receives gossip (events and consensus messages), its own timers,
//! "events arrived" notifications from the service and the results of work it started (block
//! fetches), and executes the core's outputs in order: `Persist` is written and flushed before
//! anything after it is sent, so no conflicting message can ever be signed, even across a crash.
//! Blocks never travel by gossip: a proposal names a block hash and validators fetch the block
//! over request-response from whoever has it, check it by re-executing it, and only then give
//! the core their verdict.
//!
//! * **Heights.** The engine's height is always the tip's height + 1. The core for that height is
//!   built with the validator set the committed state assigns to it (so hand-offs decided by
//!   governance take effect exactly at their height). A height is *started* only when there is
//!   work (waiting events, evidence, governance, or a message from another validator at that
//!   height) and at least `block_interval` after the last commit, so an idle network does not
//!   grow a chain of empty blocks.
//! * **Catch-up.** [`sync`] runs beside the core: it asks peers for their head and fetches
//!   missing finalised blocks with certificates, verifying and committing each. Whenever the tip
//!   moves past the core's height, the core is rebuilt for the new height.
//! * **Gossip verdicts.** Every gossip message gets a verdict once checked: `Accept` (forward),
//!   `Reject` (malformed or badly signed: the peer is penalised) or `Ignore`.

mod gossip;
mod host;
mod sync;

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::evidence::Equivocation;
use provenance_protocol::governance::GovernanceTx;
use provenance_protocol::ledger::{Block, FinalityCertificate};
use provenance_protocol::record::SignedEvent;
use tokio::sync::{mpsc, watch};
use tokio::time::Instant;

use crate::consensus::{Consensus, Input, SignedProposal, TimeoutConfig, TimeoutKind};
use crate::net::{NetEvent, NetHandle};
use crate::service::{NetworkStatus, NodeService};
use crate::wire::ConsensusMessage;

pub use sync::serve_request;

/// Most consensus messages held for heights above the current one.
const MAX_FUTURE_MESSAGES: usize = 4_096;
/// Most pieces of evidence or governance transactions waiting for a block.
const MAX_PENDING_ITEMS: usize = 256;
/// Most proposed blocks kept in memory (several rounds of one height, and the next).
const MAX_CACHED_BLOCKS: usize = 16;
/// How often the engine re-checks its state (start a height, re-gossip, sync, status).
const TICK: Duration = Duration::from_millis(100);
/// How often at most the engine answers a lagging validator's votes with the decision.
const REPLY_INTERVAL: Duration = Duration::from_secs(1);
/// Most gossiped events held because an earlier event of their signer has not arrived yet.
const MAX_ORPHANS: usize = 20_000;
/// How long such an event is held before it is dropped (its origin re-gossips it anyway).
const ORPHAN_TTL: Duration = Duration::from_secs(60);

/// Engine settings.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub timeouts: TimeoutConfig,
    /// Least time between a commit and the start of the next height (batches events).
    pub block_interval: Duration,
    /// How often to ask peers for their head.
    pub sync_interval: Duration,
    /// Events accepted here and not yet in a block are gossiped again after this long.
    pub regossip_after: Duration,
    /// Largest gossip message (bundles of events are split to fit).
    pub max_gossip_bytes: usize,
    /// Largest sync response this node sends or accepts.
    pub max_response_bytes: usize,
}

/// Proposed blocks by header hash, shared with the request server (peers fetch proposals).
#[derive(Debug, Default)]
pub struct BlockCache {
    blocks: Vec<([u8; 32], Block)>,
}

impl BlockCache {
    fn insert(&mut self, block: Block) {
        let hash = block.header.hash();
        if self.blocks.iter().any(|(h, _)| *h == hash) {
            return;
        }
        if self.blocks.len() >= MAX_CACHED_BLOCKS {
            self.blocks.remove(0);
        }
        self.blocks.push((hash, block));
    }

    /// The cached block with this header hash.
    pub fn get(&self, hash: &[u8; 32]) -> Option<Block> {
        self.blocks
            .iter()
            .find(|(h, _)| h == hash)
            .map(|(_, b)| b.clone())
    }

    fn retain_above(&mut self, height: u64) {
        self.blocks.retain(|(_, b)| b.header.height > height);
    }
}

/// State shared between the engine, its sync task and the request server.
#[derive(Debug)]
pub struct Shared {
    pub service: NodeService,
    pub net: Option<NetHandle>,
    pub blocks: Mutex<BlockCache>,
    pub config: EngineConfig,
    /// Highest head a peer reported.
    pub sync_target: AtomicU64,
    sync_running: AtomicBool,
    /// Peers not asked for blocks until the given time (they served bad or no blocks).
    sync_penalised: Mutex<HashMap<libp2p::PeerId, std::time::Instant>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Results of work the engine started in other tasks.
#[derive(Debug)]
enum Internal {
    /// A block fetched by hash (`None`: no peer had it).
    BlockFetched {
        hash: [u8; 32],
        block: Option<Box<Block>>,
    },
    /// Gossiped events that arrived before an earlier event of their signer (a sequence gap):
    /// held and retried when more events arrive.
    Orphans(Vec<SignedEvent>),
    /// Gossiped events were admitted: held orphans may fit now.
    Admitted,
}

/// A timer the core asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Timer {
    at: Instant,
    seq: u64,
    height: u64,
    round: u32,
    kind: TimeoutKind,
}

/// The core with whether its height has started.
#[derive(Debug)]
struct Core {
    consensus: Consensus,
    started: bool,
}

/// The consensus and gossip driver. Build with [`Engine::new`], run with [`Engine::run`].
#[derive(Debug)]
pub struct Engine {
    shared: Arc<Shared>,
    chain_id: String,
    core: Option<Core>,
    timers: BinaryHeap<Reverse<Timer>>,
    timer_seq: u64,
    /// Consensus messages for heights above the current one, by height.
    future: BTreeMap<u64, Vec<ConsensusMessage>>,
    future_count: usize,
    /// Verdicts on proposed blocks at the current height, by hash.
    verdicts: HashMap<[u8; 32], bool>,
    /// Proposals whose block is being fetched.
    awaiting_block: HashMap<[u8; 32], Vec<SignedProposal>>,
    fetching: HashSet<[u8; 32]>,
    /// A decision whose block is being fetched.
    decided: Option<(u64, [u8; 32], FinalityCertificate)>,
    evidence: Vec<Equivocation>,
    governance: Vec<GovernanceTx>,
    /// Events accepted from clients here and not yet final: when each was last gossiped, and
    /// how often it was re-gossiped.
    origin: HashMap<EventHashId, (Instant, u32, SignedEvent)>,
    /// Gossiped events waiting for an earlier event of their signer, with when they arrived.
    orphans: Vec<(Instant, SignedEvent)>,
    orphans_retry: bool,
    /// This node is the proposer but had nothing to propose: `(height, round, deadline)`. It
    /// answers as soon as events arrive, or with an empty block at the deadline (half the
    /// propose timeout), so a proposer that is a moment behind on gossip does not cut an
    /// empty block while the others hold events.
    deferred_proposal: Option<(u64, u32, Instant)>,
    /// The last decision sent to a lagging peer: `(height, when)`.
    last_reply: Option<(u64, Instant)>,
    nonce: u64,
    last_commit: Instant,
    last_no_peers_warning: Option<Instant>,
    equivocations: u64,
    internal_tx: mpsc::Sender<Internal>,
    internal_rx: mpsc::Receiver<Internal>,
}

impl Engine {
    /// An engine over `service`, with `net` when the node has a network (a single-validator
    /// network runs without one).
    pub fn new(service: NodeService, net: Option<NetHandle>, config: EngineConfig) -> Self {
        let (internal_tx, internal_rx) = mpsc::channel(256);
        let chain_id = service.genesis().chain_id.clone();
        Engine {
            shared: Arc::new(Shared {
                service,
                net,
                blocks: Mutex::new(BlockCache::default()),
                config,
                sync_target: AtomicU64::new(0),
                sync_running: AtomicBool::new(false),
                sync_penalised: Mutex::new(HashMap::new()),
            }),
            chain_id,
            core: None,
            timers: BinaryHeap::new(),
            timer_seq: 0,
            future: BTreeMap::new(),
            future_count: 0,
            verdicts: HashMap::new(),
            awaiting_block: HashMap::new(),
            fetching: HashSet::new(),
            decided: None,
            evidence: Vec::new(),
            governance: Vec::new(),
            origin: HashMap::new(),
            orphans: Vec::new(),
            orphans_retry: false,
            deferred_proposal: None,
            last_reply: None,
            nonce: rand_nonce(),
            last_commit: Instant::now(),
            last_no_peers_warning: None,
            equivocations: 0,
            internal_tx,
            internal_rx,
        }
    }

    /// What the request server needs.
    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    fn service(&self) -> &NodeService {
        &self.shared.service
    }

    /// Runs until `shutdown` turns true or a fatal error (a storage failure while persisting
    /// what this validator signs: it must stop rather than risk signing twice).
    pub async fn run(
        mut self,
        mut net_events: Option<mpsc::Receiver<NetEvent>>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut tick = tokio::time::interval(TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_regossip = Instant::now();
        let mut last_sync = Instant::now() - self.shared.config.sync_interval;
        self.ensure_core().await;
        loop {
            let next_timer = self.timers.peek().map(|Reverse(t)| t.at);
            let result = tokio::select! {
                () = wait_for_stop(&mut shutdown) => break,
                event = recv_net(&mut net_events) => match event {
                    Some(event) => self.on_net_event(event).await,
                    None => { net_events = None; Ok(()) }
                },
                Some(internal) = self.internal_rx.recv() => self.on_internal(internal).await,
                _ = sleep_until(next_timer) => self.fire_timers().await,
                _ = self.shared.service.work_available() => {
                    self.gossip_outbox().await;
                    Ok(())
                },
                _ = tick.tick() => {
                    if last_regossip.elapsed() >= self.shared.config.regossip_after {
                        last_regossip = Instant::now();
                        self.regossip().await;
                    }
                    self.retry_orphans();
                    if last_sync.elapsed() >= self.shared.config.sync_interval {
                        last_sync = Instant::now();
                        sync::spawn_round(self.shared.clone());
                    }
                    self.publish_status().await;
                    Ok(())
                },
            };
            if let Err(error) = result {
                tracing::error!(%error, "consensus stopped: this validator can no longer sign safely");
                return;
            }
            if let Err(error) = self.after_each().await {
                tracing::error!(%error, "consensus stopped: this validator can no longer sign safely");
                return;
            }
        }
    }

    /// Housekeeping after every event: follow the tip, start the height when there is work.
    async fn after_each(&mut self) -> Result<(), EngineError> {
        self.ensure_core().await;
        self.maybe_start().await
    }

    async fn on_internal(&mut self, internal: Internal) -> Result<(), EngineError> {
        match internal {
            Internal::BlockFetched { hash, block } => {
                self.fetching.remove(&hash);
                match block {
                    Some(block) => self.on_block(*block).await,
                    None => {
                        tracing::debug!(hash = %hex::encode(hash), "no peer could provide the block");
                        Ok(())
                    }
                }
            }
            Internal::Orphans(events) => {
                let now = Instant::now();
                self.orphans.extend(events.into_iter().map(|e| (now, e)));
                if self.orphans.len() > MAX_ORPHANS {
                    let excess = self.orphans.len() - MAX_ORPHANS;
                    self.orphans.drain(..excess);
                }
                Ok(())
            }
            Internal::Admitted => {
                self.orphans_retry = true;
                Ok(())
            }
        }
    }

    async fn fire_timers(&mut self) -> Result<(), EngineError> {
        let now = Instant::now();
        while let Some(Reverse(timer)) = self.timers.peek().copied() {
            if timer.at > now {
                break;
            }
            self.timers.pop();
            let input = Input::Timeout {
                height: timer.height,
                round: timer.round,
                kind: timer.kind,
            };
            self.feed(input).await?;
        }
        Ok(())
    }

    fn schedule(&mut self, height: u64, round: u32, kind: TimeoutKind, after: Duration) {
        self.timer_seq += 1;
        self.timers.push(Reverse(Timer {
            at: Instant::now() + after,
            seq: self.timer_seq,
            height,
            round,
            kind,
        }));
    }

    fn next_nonce(&mut self) -> u64 {
        self.nonce = self.nonce.wrapping_add(1);
        self.nonce
    }

    async fn publish_status(&mut self) {
        let peers = match &self.shared.net {
            Some(net) => net.peers().await.len(),
            None => 0,
        };
        let target = self.shared.sync_target.load(Ordering::Relaxed);
        let round = self
            .core
            .as_ref()
            .filter(|c| c.started)
            .map(|c| c.consensus.round());
        if let Some(round) = round {
            self.service().metrics().set_round(round);
        }
        self.service().set_network_status(NetworkStatus {
            peers,
            validator: self.core.is_some(),
            round,
            sync_target: target,
            equivocations: self.equivocations,
        });
    }
}

/// Why the engine must stop.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("cannot persist the consensus signing state: {0}")]
    Persist(String),
}

async fn wait_for_stop(shutdown: &mut watch::Receiver<bool>) {
    let _ = shutdown.wait_for(|stop| *stop).await;
}

async fn recv_net(events: &mut Option<mpsc::Receiver<NetEvent>>) -> Option<NetEvent> {
    match events {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// A starting nonce that differs between runs, so a restarted node's first retransmissions do
/// not collide with message ids its peers remember from before the restart.
fn rand_nonce() -> u64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    now ^ u64::from(std::process::id()).rotate_left(32)
}
