//! Hosting the consensus core: building it for each height, starting it, feeding it inputs and
//! executing its outputs in order (persist before send), fetching and checking proposed blocks,
//! and committing decisions.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;

use provenance_protocol::evidence::Equivocation;
use provenance_protocol::ledger::{Block, FinalityCertificate};
use tokio::time::Instant;

use super::{Core, Engine, EngineError, Internal, lock};
use crate::consensus::{
    Config, Consensus, Evidence, Input, Message, Output, SignedProposal, SignedState,
};
use crate::net::Topic;
use crate::service::BlockError;
use crate::wire::{self, ConsensusEnvelope, ConsensusMessage, SyncRequest, SyncResponse};

impl Engine {
    /// Builds the core for the next height if this node validates there and the tip moved.
    pub(super) async fn ensure_core(&mut self) {
        let tip = self.service().tip();
        let height = tip.height + 1;
        if let Some((decided, ..)) = &self.decided {
            if *decided < height {
                // Sync committed the block we were fetching.
                self.decided = None;
            } else {
                return;
            }
        }
        if self
            .core
            .as_ref()
            .is_some_and(|c| c.consensus.height() == height)
        {
            return;
        }
        self.core = None;
        self.verdicts.clear();
        self.awaiting_block.clear();
        lock(&self.shared.blocks).retain_above(tip.height);
        self.drop_future_below(height);
        let Some(key) = self
            .service()
            .signing_key()
            .map(|k| provenance_protocol::crypto::SigningKey::from_seed(*k.to_seed()))
        else {
            return;
        };
        let Some(validators) = self.service().validator_set_at(height) else {
            return;
        };
        if validators.power_of(&key.public_key()).is_none() {
            return;
        }
        let store = self.service().store().clone();
        let restored = tokio::task::spawn_blocking(move || {
            let state = store.signed_state()?;
            let last = store.head()?.map(|h| h.certificate);
            Ok::<_, crate::store::StoreError>((state, last))
        })
        .await;
        let (state, last_certificate) = match restored {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot read the consensus state; not voting");
                return;
            }
            Err(error) => {
                tracing::error!(%error, "consensus state read task failed; not voting");
                return;
            }
        };
        let restored: Option<SignedState> = match state.map(|bytes| serde_json::from_slice(&bytes))
        {
            None => None,
            Some(Ok(state)) => Some(state),
            Some(Err(error)) => {
                // Refusing to vote is safe; guessing what was signed is not.
                tracing::error!(%error, "the stored consensus signing state does not parse; not voting");
                return;
            }
        };
        let resume = restored.as_ref().is_some_and(|s| s.height == height);
        let config = Config {
            chain_id: self.chain_id.clone(),
            validators,
            key,
            timeouts: self.shared.config.timeouts,
        };
        match Consensus::new(config, height, restored) {
            Ok(mut consensus) => {
                if let Some(certificate) = last_certificate {
                    consensus.restore_last_decision(certificate);
                }
                self.core = Some(Core {
                    consensus,
                    started: false,
                });
                if resume {
                    tracing::info!(height, "resuming consensus where this validator stopped");
                    if let Err(error) = self.start_core().await {
                        tracing::error!(%error, "cannot resume consensus");
                    }
                }
            }
            Err(error) => tracing::error!(%error, "cannot build the consensus core"),
        }
    }

    /// Starts the current height once there is something to decide and the block interval
    /// since the last commit has passed.
    pub(super) async fn maybe_start(&mut self) -> Result<(), EngineError> {
        self.maybe_propose_deferred().await?;
        let Some(core) = &self.core else {
            return Ok(());
        };
        if core.started || self.last_commit.elapsed() < self.shared.config.block_interval {
            return Ok(());
        }
        let height = core.consensus.height();
        let work = self.service().mempool_len() > 0
            || self.has_includable_items()
            || self.future.contains_key(&height);
        if work {
            self.start_core().await?;
        }
        Ok(())
    }

    /// Starts the core and replays what arrived early for its height.
    pub(super) async fn start_core(&mut self) -> Result<(), EngineError> {
        let Some(core) = self.core.as_mut() else {
            return Ok(());
        };
        if core.started {
            return Ok(());
        }
        core.started = true;
        let height = core.consensus.height();
        let outputs = core.consensus.start();
        tracing::debug!(height, "consensus height started");
        self.run_outputs(outputs).await?;
        if let Some(messages) = self.future.remove(&height) {
            self.future_count = self.future_count.saturating_sub(messages.len());
            for message in messages {
                // Boxed: routing a message may start the core, which replays messages.
                Box::pin(self.consensus_message(message, None)).await?;
            }
        }
        Ok(())
    }

    /// Feeds one input to the core (starting it first) and executes what it asks.
    pub(super) async fn feed(&mut self, input: Input) -> Result<(), EngineError> {
        let Some(core) = self.core.as_mut() else {
            return Ok(());
        };
        if !core.started {
            if matches!(input, Input::Timeout { .. }) {
                return Ok(());
            }
            self.start_core().await?;
        }
        let Some(core) = self.core.as_mut() else {
            return Ok(());
        };
        let outputs = core.consensus.handle(input);
        self.run_outputs(outputs).await
    }

    /// Executes outputs in order. A decision ends the batch: the core is replaced for the next
    /// height, and whatever the old core emitted after deciding is dropped (nothing of it was
    /// sent, so dropping it is safe; the new core starts from the last *persisted* state).
    async fn run_outputs(&mut self, outputs: Vec<Output>) -> Result<(), EngineError> {
        let mut queue: VecDeque<Output> = outputs.into();
        while let Some(output) = queue.pop_front() {
            match output {
                Output::Persist(state) => self.persist(&state).await?,
                Output::Broadcast(message) => self.broadcast(message).await,
                Output::Reply(message) => {
                    // A lagging peer's every retransmission asks again: answer each height at
                    // most once per interval (the reply is gossiped to everyone).
                    let height = match &message {
                        Message::Decision(c) => c.height,
                        Message::Proposal(p) => p.payload.height,
                        Message::Vote(v) => v.payload.height,
                    };
                    let due = self
                        .last_reply
                        .is_none_or(|(h, at)| h != height || at.elapsed() >= super::REPLY_INTERVAL);
                    if due {
                        self.last_reply = Some((height, Instant::now()));
                        self.broadcast(message).await;
                    }
                }
                Output::ScheduleTimeout {
                    height,
                    round,
                    kind,
                    after,
                } => self.schedule(height, round, kind, after),
                Output::RequestValue { height, round } => {
                    if self.nothing_to_propose() {
                        let wait = self.shared.config.timeouts.propose / 2;
                        self.deferred_proposal = Some((height, round, Instant::now() + wait));
                    } else if let Some(more) = self.propose_value(height, round).await {
                        queue.extend(more);
                    }
                }
                Output::Decide {
                    height,
                    hash,
                    certificate,
                    ..
                } => {
                    self.core = None;
                    self.decide(height, hash, certificate).await;
                    return Ok(());
                }
                Output::Evidence(evidence) => self.on_evidence(evidence).await,
                Output::PeerBehind { height } => {
                    tracing::debug!(height, "a peer votes at an old height; it will sync");
                }
                Output::Rejected { from, reason } => {
                    tracing::debug!(from = ?from.map(|k| k.to_string()), %reason, "consensus input refused");
                }
            }
        }
        Ok(())
    }

    fn nothing_to_propose(&self) -> bool {
        self.service().mempool_len() == 0 && !self.has_includable_items()
    }

    /// Whether evidence or governance waits that a block at the next height could include.
    pub(super) fn has_includable_items(&self) -> bool {
        let height = self.service().tip().height + 1;
        !self.governance.is_empty() || self.evidence.iter().any(|e| e.offence().height < height)
    }

    /// Drops waiting evidence and governance the committed state has made pointless: already
    /// recorded, nonce used, or expired.
    pub(super) fn prune_pending_items(&mut self) {
        let store = self.service().store().clone();
        let next = self.service().tip().height + 1;
        self.evidence
            .retain(|e| !store.evidence_recorded(&e.offence()));
        self.governance.retain(|g| {
            !store.governance_nonce_used(g.proposal.nonce) && g.proposal.expires_at_height >= next
        });
    }

    /// Builds this validator's block and hands its hash to the core; the core's outputs.
    async fn propose_value(&mut self, height: u64, round: u32) -> Option<Vec<Output>> {
        let hash = self.propose().await?;
        let core = self.core.as_mut()?;
        Some(core.consensus.handle(Input::ProposeValue {
            height,
            round,
            hash,
        }))
    }

    /// Answers a deferred proposal once there is something to propose or its deadline passed.
    pub(super) async fn maybe_propose_deferred(&mut self) -> Result<(), EngineError> {
        let Some((height, round, deadline)) = self.deferred_proposal else {
            return Ok(());
        };
        let current = self
            .core
            .as_ref()
            .map(|c| (c.consensus.height(), c.consensus.round()));
        if current != Some((height, round)) {
            self.deferred_proposal = None;
            return Ok(());
        }
        if self.nothing_to_propose() && Instant::now() < deadline {
            return Ok(());
        }
        self.deferred_proposal = None;
        if let Some(outputs) = self.propose_value(height, round).await {
            self.run_outputs(outputs).await?;
        }
        Ok(())
    }

    async fn persist(&mut self, state: &SignedState) -> Result<(), EngineError> {
        let bytes = serde_json::to_vec(state).map_err(|e| EngineError::Persist(e.to_string()))?;
        let store = self.service().store().clone();
        tokio::task::spawn_blocking(move || store.record_signed_state(&bytes))
            .await
            .map_err(|e| EngineError::Persist(e.to_string()))?
            .map_err(|e| EngineError::Persist(e.to_string()))
    }

    pub(super) async fn broadcast(&mut self, message: Message) {
        let message = match message {
            Message::Proposal(p) => ConsensusMessage::Proposal(p),
            Message::Vote(v) => ConsensusMessage::Vote(v),
            Message::Decision(c) => ConsensusMessage::Decision(c),
        };
        self.publish_consensus(message).await;
    }

    pub(super) async fn publish_consensus(&mut self, message: ConsensusMessage) {
        let nonce = self.next_nonce();
        let Some(net) = &self.shared.net else {
            return;
        };
        let bytes = wire::encode(&ConsensusEnvelope { nonce, message });
        if let Err(error) = net.publish(Topic::Consensus, bytes).await {
            tracing::debug!(%error, "consensus message not sent (it is re-sent by the rebroadcast timer)");
        }
    }

    /// Builds this validator's block; its hash, or `None` if it cannot (then the core's propose
    /// timeout moves the round on).
    async fn propose(&mut self) -> Option<[u8; 32]> {
        let service = self.service().clone();
        let governance = self.governance.clone();
        let evidence = self.evidence.clone();
        // Building and re-executing a block cost about the same; both must fit in the round's
        // propose timeout with room for the transfer, or the round times out and the next
        // proposer faces an even larger mempool.
        let budget = Some(self.shared.config.timeouts.propose / 4);
        let built = tokio::task::spawn_blocking(move || {
            service.build_proposal(governance, evidence, budget)
        })
        .await;
        match built {
            Ok(Ok(block)) => {
                let hash = block.header.hash();
                tracing::debug!(height = block.header.height, events = block.body.events.len(), hash = %hex::encode(hash), "proposing block");
                // What the rules refused now stays refused (recorded, expired, used nonce, not
                // approved by the current set): drop it, or it would count as work forever.
                // Evidence of this very height is kept: it becomes includable at the next.
                let height = block.header.height;
                self.evidence
                    .retain(|e| block.body.evidence.contains(e) || e.offence().height >= height);
                self.governance
                    .retain(|g| block.body.governance.contains(g));
                self.verdicts.insert(hash, true);
                lock(&self.shared.blocks).insert(block);
                Some(hash)
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot build a block to propose");
                None
            }
            Err(error) => {
                tracing::error!(%error, "block building task failed");
                None
            }
        }
    }

    /// A proposal at the current height: feed it with a verdict on its block, fetching the
    /// block first if needed.
    pub(super) async fn on_proposal(
        &mut self,
        proposal: SignedProposal,
        source: Option<libp2p::PeerId>,
    ) -> Result<(), EngineError> {
        let hash = proposal.payload.block_hash;
        if let Some(valid) = self.verdicts.get(&hash).copied() {
            return self.feed(Input::Proposal { proposal, valid }).await;
        }
        let cached = lock(&self.shared.blocks).get(&hash);
        if let Some(block) = cached {
            let valid = self.check(&block).await;
            return self.feed(Input::Proposal { proposal, valid }).await;
        }
        let proposer = proposal.proposer;
        self.awaiting_block.entry(hash).or_default().push(proposal);
        self.fetch_block(hash, source, Some(proposer));
        Ok(())
    }

    /// A fetched block: a decided one is committed, a proposed one checked and its waiting
    /// proposals fed.
    pub(super) async fn on_block(&mut self, block: Block) -> Result<(), EngineError> {
        let hash = block.header.hash();
        if let Some((height, decided, certificate)) = self.decided.clone()
            && decided == hash
            && block.header.height == height
        {
            self.decided = None;
            self.commit(block, certificate).await;
            return Ok(());
        }
        let waiting = self.awaiting_block.remove(&hash).unwrap_or_default();
        if waiting.is_empty() {
            return Ok(());
        }
        let valid = self.check(&block).await;
        lock(&self.shared.blocks).insert(block);
        for proposal in waiting {
            self.feed(Input::Proposal { proposal, valid }).await?;
        }
        Ok(())
    }

    /// Re-executes a proposed block (off the async threads); the verdict is remembered.
    async fn check(&mut self, block: &Block) -> bool {
        let hash = block.header.hash();
        if let Some(valid) = self.verdicts.get(&hash) {
            return *valid;
        }
        let service = self.service().clone();
        let candidate = block.clone();
        let result = tokio::task::spawn_blocking(move || service.check_proposed(&candidate)).await;
        let valid = match result {
            Ok(Ok(())) => true,
            Ok(Err(error)) => {
                tracing::warn!(height = block.header.height, hash = %hex::encode(hash), %error, "proposed block is invalid; prevoting nil");
                false
            }
            Err(error) => {
                tracing::error!(%error, "block check task failed");
                false
            }
        };
        self.verdicts.insert(hash, valid);
        valid
    }

    /// Asks peers for a block by hash (the proposal's relayer first, then the proposer's node,
    /// then every connected peer), reporting back through the internal channel.
    pub(super) fn fetch_block(
        &mut self,
        hash: [u8; 32],
        source: Option<libp2p::PeerId>,
        proposer: Option<provenance_protocol::crypto::PublicKey>,
    ) {
        let Some(net) = self.shared.net.clone() else {
            return;
        };
        if !self.fetching.insert(hash) {
            return;
        }
        let proposer_peer = proposer.and_then(|key| self.peer_of_signer(&key));
        let tx = self.internal_tx.clone();
        let limit = self.shared.config.max_response_bytes;
        let height = self.service().tip().height + 1;
        tokio::spawn(async move {
            let mut candidates: Vec<libp2p::PeerId> = source.into_iter().collect();
            candidates.extend(proposer_peer);
            for info in net.peers().await {
                candidates.push(info.peer);
            }
            let mut seen = std::collections::HashSet::new();
            candidates.retain(|peer| seen.insert(*peer));
            let mut found = None;
            'peers: for peer in candidates {
                for request in [
                    SyncRequest::Proposed { hash },
                    SyncRequest::Blocks {
                        from: height,
                        count: 1,
                    },
                ] {
                    let Ok(bytes) = net.request(peer, wire::encode(&request)).await else {
                        continue 'peers;
                    };
                    let block = match wire::decode::<SyncResponse>(&bytes, limit) {
                        Ok(SyncResponse::Proposed(Some(block))) => Some(block),
                        Ok(SyncResponse::Blocks(blocks)) => {
                            blocks.into_iter().next().map(|b| b.block)
                        }
                        _ => None,
                    };
                    if let Some(block) = block.filter(|b| b.header.hash() == hash) {
                        found = Some(Box::new(block));
                        break 'peers;
                    }
                }
            }
            let _ = tx.send(Internal::BlockFetched { hash, block: found }).await;
        });
    }

    /// The node of the participant whose signing key this is.
    fn peer_of_signer(
        &self,
        key: &provenance_protocol::crypto::PublicKey,
    ) -> Option<libp2p::PeerId> {
        let store = self.service().store();
        let record = store.key_record(key)?;
        let entry = store.participant(&record.participant)?;
        Some(crate::net::peer_id_of(&entry.network_key))
    }

    /// The core decided: commit the block (fetching it first if this node never saw it).
    async fn decide(&mut self, height: u64, hash: [u8; 32], certificate: FinalityCertificate) {
        let cached = lock(&self.shared.blocks).get(&hash);
        let block = match cached {
            Some(block) => Some(block),
            None => {
                let store = self.service().store().clone();
                tokio::task::spawn_blocking(move || store.proposal(height, &hash))
                    .await
                    .ok()
                    .and_then(Result::ok)
                    .flatten()
            }
        };
        match block {
            Some(block) => self.commit(block, certificate).await,
            None => {
                tracing::info!(height, hash = %hex::encode(hash), "decided a block this node has not seen; fetching it");
                self.decided = Some((height, hash, certificate));
                self.fetch_block(hash, None, None);
            }
        }
    }

    /// Commits a finalised block through the service.
    pub(super) async fn commit(&mut self, block: Block, certificate: FinalityCertificate) {
        let service = self.service().clone();
        let evidence_in_block = block.body.evidence.clone();
        let governance_in_block: Vec<[u8; 32]> =
            block.body.governance.iter().map(|g| g.id()).collect();
        let included: Vec<_> = block.body.events.iter().map(|e| e.event_hash_id).collect();
        let result =
            tokio::task::spawn_blocking(move || service.commit_finalised(&block, &certificate))
                .await;
        match result {
            Ok(Ok(_)) => {
                self.last_commit = Instant::now();
                self.prune_pending_items();
                if !governance_in_block.is_empty()
                    && let Some(net) = &self.shared.net
                {
                    // The registry changed: admit new nodes, drop removed ones.
                    let (registry, validators) = crate::runtime::membership(self.service());
                    net.set_registry(registry, validators).await;
                }
                self.evidence.retain(|e| !evidence_in_block.contains(e));
                self.governance
                    .retain(|g| !governance_in_block.contains(&g.id()));
                for id in included {
                    self.origin.remove(&id);
                }
            }
            Ok(Err(BlockError::Conflict {
                height,
                ours,
                theirs,
            })) => {
                tracing::error!(
                    height,
                    ours,
                    theirs,
                    "a decided block conflicts with this node's chain"
                );
            }
            Ok(Err(error)) => {
                tracing::error!(%error, "cannot commit a decided block; waiting for sync to fetch it again");
            }
            Err(error) => tracing::error!(%error, "commit task failed"),
        }
        self.shared
            .sync_target
            .fetch_max(self.service().tip().height, Ordering::Relaxed);
    }

    /// Evidence found by the core: kept for the next block this node proposes, counted, and
    /// gossiped so whichever validator proposes next can include it.
    async fn on_evidence(&mut self, evidence: Evidence) {
        let equivocation = match evidence {
            Evidence::Vote { first, second } => Equivocation::votes(first, second),
            Evidence::Proposal { first, second } => Equivocation::proposals(first, second),
        };
        let offence = equivocation.offence();
        tracing::warn!(validator = %offence.validator, height = offence.height, round = offence.round, "validator equivocated; evidence recorded");
        self.equivocations += 1;
        self.service().metrics().equivocation();
        self.add_evidence(equivocation.clone());
        self.publish_consensus(ConsensusMessage::Evidence(equivocation))
            .await;
    }

    /// Keeps evidence for inclusion (bounded, deduplicated by offence, never one the ledger
    /// already recorded).
    pub(super) fn add_evidence(&mut self, evidence: Equivocation) -> bool {
        let offence = evidence.offence();
        if self.evidence.len() >= super::MAX_PENDING_ITEMS
            || self.evidence.iter().any(|e| e.offence() == offence)
            || self.service().store().evidence_recorded(&offence)
        {
            return false;
        }
        self.evidence.push(evidence);
        true
    }
}
