//! Gossip in and out: verdicts on received events and consensus messages, the outbox of events
//! accepted from clients, and re-gossip of events no block has included yet.

use std::sync::atomic::Ordering;

use libp2p::PeerId;
use provenance_protocol::codec::CodecError;
use tokio::time::Instant;

use super::{Engine, EngineError, Internal, MAX_FUTURE_MESSAGES, MAX_PENDING_ITEMS};
use crate::consensus::Input;
use crate::net::{GossipMessage, NetEvent, PublishError, Topic, Verdict};
use crate::service::SubmitError;
use crate::wire::{self, ConsensusEnvelope, ConsensusMessage, EventBundle, MAX_BUNDLE_EVENTS};

/// Longest wait between two re-gossips of one event.
const MAX_REGOSSIP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);

/// How often at most the "no peers" warning is logged.
const NO_PEERS_WARNING_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

impl Engine {
    pub(super) async fn on_net_event(&mut self, event: NetEvent) -> Result<(), EngineError> {
        match event {
            NetEvent::Gossip(message) => match message.topic {
                Topic::Events => {
                    self.on_events_gossip(message);
                    Ok(())
                }
                Topic::Consensus => self.on_consensus_gossip(message).await,
            },
            NetEvent::Request { peer, data, reply } => {
                let shared = self.shared.clone();
                tokio::spawn(async move {
                    let response = super::serve_request(&shared, peer, &data).await;
                    reply.send(response);
                });
                Ok(())
            }
            NetEvent::PeerConnected { peer } => {
                tracing::info!(%peer, "peer connected");
                Ok(())
            }
            NetEvent::PeerDisconnected { peer } => {
                tracing::info!(%peer, "peer disconnected");
                Ok(())
            }
        }
    }

    fn report(&self, message: &GossipMessage, verdict: Verdict) {
        let topic = match message.topic {
            Topic::Events => "events",
            Topic::Consensus => "consensus",
        };
        let label = match verdict {
            Verdict::Accept => "accept",
            Verdict::Reject => "reject",
            Verdict::Ignore => "ignore",
        };
        self.service().metrics().gossip(topic, label);
        if let Some(net) = &self.shared.net {
            net.report(message, verdict);
        }
    }

    /// Events from a peer: admitted like a client's (verified, rules, durable) in their own
    /// task; the verdict follows the outcome.
    fn on_events_gossip(&mut self, message: GossipMessage) {
        let limit = self.shared.config.max_gossip_bytes;
        let bundle = match wire::decode::<EventBundle>(&message.data, limit) {
            Ok(bundle) if !bundle.events.is_empty() && bundle.events.len() <= MAX_BUNDLE_EVENTS => {
                bundle
            }
            Ok(_) => return self.report(&message, Verdict::Reject),
            Err(error) => {
                tracing::debug!(source = %message.source, %error, "malformed event bundle");
                return self.report(&message, Verdict::Reject);
            }
        };
        let service = self.service().clone();
        let net = self.shared.net.clone();
        let metrics = self.service().metrics().clone();
        let internal = self.internal_tx.clone();
        tokio::spawn(async move {
            let (outcome, orphans) = admit_holding_gaps(&service, bundle.events).await;
            if !outcome.accepted.is_empty() {
                let _ = internal.send(Internal::Admitted).await;
            }
            if !orphans.is_empty() {
                let _ = internal.send(Internal::Orphans(orphans)).await;
            }
            let verdict = match &outcome.failure {
                None => Verdict::Accept,
                // Forged or malformed: the sender is at fault (honest nodes check first).
                Some((_, SubmitError::Record(_))) => Verdict::Reject,
                // Rules (e.g. a sequence gap from reordered gossip), capacity, duplicates:
                // not provably malicious. Forward what was accepted anyway.
                Some(_) if !outcome.accepted.is_empty() => Verdict::Accept,
                Some(_) => Verdict::Ignore,
            };
            metrics.gossip(
                "events",
                match verdict {
                    Verdict::Accept => "accept",
                    Verdict::Reject => "reject",
                    Verdict::Ignore => "ignore",
                },
            );
            if let Some(net) = net {
                net.report(&message, verdict);
            }
        });
    }

    async fn on_consensus_gossip(&mut self, message: GossipMessage) -> Result<(), EngineError> {
        let limit = self.shared.config.max_gossip_bytes;
        let envelope: Result<ConsensusEnvelope, CodecError> = wire::decode(&message.data, limit);
        let envelope = match envelope {
            Ok(envelope) => envelope,
            Err(error) => {
                tracing::debug!(source = %message.source, %error, "malformed consensus message");
                self.report(&message, Verdict::Reject);
                return Ok(());
            }
        };
        let verdict = self.judge(&envelope.message);
        self.report(&message, verdict);
        if verdict == Verdict::Accept {
            self.consensus_message(envelope.message, Some(message.source))
                .await?;
        }
        Ok(())
    }

    /// The verdict on a consensus message before it is used: signatures are checked here, so
    /// nothing forged is forwarded.
    fn judge(&self, message: &ConsensusMessage) -> Verdict {
        let height = self.service().tip().height + 1;
        let chain_id = &self.chain_id;
        let member_at = |h: u64, key| {
            self.service()
                .validator_set_at(h)
                .is_some_and(|set| set.power_of(key).is_some())
        };
        match message {
            ConsensusMessage::Proposal(p) => {
                let h = p.payload.height;
                if h + 1 < height || h > height + 1 {
                    return Verdict::Ignore;
                }
                // Only the round's proposer may propose: anything else is refused before the
                // engine spends a block fetch on it.
                let is_proposer = self
                    .service()
                    .validator_set_at(h)
                    .is_some_and(|set| set.proposer(h, p.payload.round).key == p.proposer);
                if !is_proposer || p.verify(chain_id).is_err() {
                    return Verdict::Reject;
                }
                Verdict::Accept
            }
            ConsensusMessage::Vote(v) => {
                let h = v.payload.height;
                if h + 1 < height || h > height + 1 {
                    return Verdict::Ignore;
                }
                if !member_at(h, &v.validator) || v.verify(chain_id).is_err() {
                    return Verdict::Reject;
                }
                Verdict::Accept
            }
            ConsensusMessage::Decision(certificate) => {
                if certificate.height < height {
                    Verdict::Ignore
                } else {
                    // Checked against its header when the block is fetched (sync) or by the
                    // core (current height).
                    Verdict::Accept
                }
            }
            ConsensusMessage::Evidence(evidence) => {
                let offence = evidence.offence();
                if self.service().store().evidence_recorded(&offence) {
                    // Already in the ledger: a replay, or a peer that is behind. Not forwarded.
                    return Verdict::Ignore;
                }
                match self.service().validator_set_at(offence.height) {
                    Some(set) if evidence.verify(chain_id, &set).is_ok() => Verdict::Accept,
                    Some(_) => Verdict::Reject,
                    None => Verdict::Ignore,
                }
            }
            ConsensusMessage::Governance(tx) => match self.service().validator_set_at(height) {
                Some(set) if tx.verify(&set, chain_id).is_err() => Verdict::Reject,
                Some(_) if self.service().check_governance(tx).is_ok() => Verdict::Accept,
                // Validly approved but not applicable now (used nonce, expired, a change the
                // registry refuses): not forwarded, not held.
                _ => Verdict::Ignore,
            },
        }
    }

    /// Routes an accepted consensus message: the current height goes to the core, the next is
    /// kept until the node gets there, later ones mean this node is behind (sync).
    pub(super) async fn consensus_message(
        &mut self,
        message: ConsensusMessage,
        source: Option<PeerId>,
    ) -> Result<(), EngineError> {
        let height = self.service().tip().height + 1;
        let message_height = match &message {
            ConsensusMessage::Proposal(p) => p.payload.height,
            ConsensusMessage::Vote(v) => v.payload.height,
            ConsensusMessage::Decision(c) => c.height,
            ConsensusMessage::Evidence(evidence) => {
                self.add_evidence(evidence.clone());
                return Ok(());
            }
            ConsensusMessage::Governance(tx) => {
                self.add_governance(tx.clone());
                return Ok(());
            }
        };
        if message_height > height {
            self.shared
                .sync_target
                .fetch_max(message_height.saturating_sub(1), Ordering::Relaxed);
            if message_height == height + 1 && self.future_count < MAX_FUTURE_MESSAGES {
                self.future.entry(message_height).or_default().push(message);
                self.future_count += 1;
            }
            return Ok(());
        }
        if self.decided.is_some() {
            // Waiting for the decided block: hold current-height traffic for the next core.
            return Ok(());
        }
        match message {
            ConsensusMessage::Proposal(proposal) if message_height == height => {
                if self.core.is_some() {
                    self.on_proposal(proposal, source).await?;
                }
                Ok(())
            }
            ConsensusMessage::Vote(vote) => {
                // Votes of the previous height let the core answer a lagging peer.
                if self.core.is_some() {
                    self.feed(Input::Vote(vote)).await?;
                }
                Ok(())
            }
            ConsensusMessage::Decision(certificate) if message_height == height => {
                if self.core.is_some() {
                    self.feed(Input::Decision(certificate)).await
                } else {
                    // A follower: fetch and commit the decided block (the certificate is
                    // verified against the block's header by the commit).
                    self.decided = Some((height, certificate.header_hash, certificate.clone()));
                    self.fetch_block(certificate.header_hash, source, None);
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Drops held messages of heights this node has passed.
    pub(super) fn drop_future_below(&mut self, height: u64) {
        let kept = self.future.split_off(&height);
        let dropped: usize = self.future.values().map(Vec::len).sum();
        self.future = kept;
        self.future_count = self.future_count.saturating_sub(dropped);
    }

    /// Gossips the events (and governance transactions) clients submitted here since the last
    /// call.
    pub(super) async fn gossip_outbox(&mut self) {
        for tx in self.service().take_governance_outbox() {
            tracing::info!(id = %hex::encode(tx.id()), "governance transaction accepted; waiting for a block");
            self.add_governance(tx.clone());
            self.publish_consensus(ConsensusMessage::Governance(tx))
                .await;
        }
        let events = self.service().take_outbox();
        if self.shared.net.is_none() {
            return;
        }
        let now = Instant::now();
        for event in &events {
            self.origin
                .insert(event.event_hash_id, (now, 0, event.clone()));
        }
        self.publish_events(events).await;
    }

    /// Gossips again the events accepted here that no block has included after a while: a
    /// peer may have missed them (it was down, partitioned, or got them out of order).
    pub(super) async fn regossip(&mut self) {
        if self.shared.net.is_none() || self.origin.is_empty() {
            return;
        }
        let service = self.service().clone();
        let after = self.shared.config.regossip_after;
        let now = Instant::now();
        let mut due = Vec::new();
        self.origin.retain(|id, (sent, attempts, event)| {
            if !service.is_waiting(id) {
                return false;
            }
            // Back off per event (after, 2×, 4× … up to MAX_REGOSSIP_INTERVAL): when blocks
            // stall, re-sending everything every few seconds would only add load.
            let wait = after
                .saturating_mul(1 << (*attempts).min(5))
                .min(MAX_REGOSSIP_INTERVAL);
            if now.duration_since(*sent) >= wait && due.len() < MAX_BUNDLE_EVENTS {
                *sent = now;
                *attempts = attempts.saturating_add(1);
                due.push(event.clone());
            }
            true
        });
        if !due.is_empty() {
            tracing::debug!(
                events = due.len(),
                "gossiping events no block has included yet"
            );
            self.publish_events(due).await;
        }
    }

    async fn publish_events(&mut self, events: Vec<provenance_protocol::record::SignedEvent>) {
        let Some(net) = self.shared.net.clone() else {
            return;
        };
        let budget = self.shared.config.max_gossip_bytes * 3 / 4;
        let mut bundle = Vec::new();
        let mut size = 0;
        let mut bundles = Vec::new();
        for event in events {
            let event_size = event.event.len() + 256;
            if !bundle.is_empty()
                && (size + event_size > budget || bundle.len() >= MAX_BUNDLE_EVENTS)
            {
                bundles.push(std::mem::take(&mut bundle));
                size = 0;
            }
            size += event_size;
            bundle.push(event);
        }
        if !bundle.is_empty() {
            bundles.push(bundle);
        }
        for events in bundles {
            let count = events.len();
            let nonce = self.next_nonce();
            let bytes = wire::encode(&EventBundle { nonce, events });
            match net.publish(Topic::Events, bytes).await {
                Ok(()) | Err(PublishError::Duplicate { .. }) => {}
                Err(error @ PublishError::NoSubscribedPeers { .. }) => {
                    let due = self
                        .last_no_peers_warning
                        .is_none_or(|t| t.elapsed() >= NO_PEERS_WARNING_EVERY);
                    if due {
                        self.last_no_peers_warning = Some(Instant::now());
                        tracing::warn!(
                            events = count,
                            "{error}; event kept in the mempool and retried"
                        );
                    }
                }
                Err(error) => {
                    tracing::warn!(events = count, %error, "events not gossiped; kept in the mempool and retried");
                }
            }
        }
    }

    /// Tries the held orphans again once new events were admitted (expired ones are dropped).
    pub(super) fn retry_orphans(&mut self) {
        if !self.orphans_retry || self.orphans.is_empty() {
            return;
        }
        self.orphans_retry = false;
        let now = Instant::now();
        let events: Vec<_> = std::mem::take(&mut self.orphans)
            .into_iter()
            .filter(|(at, _)| now.duration_since(*at) < super::ORPHAN_TTL)
            .map(|(_, e)| e)
            .collect();
        let service = self.service().clone();
        let internal = self.internal_tx.clone();
        tokio::spawn(async move {
            let (outcome, orphans) = admit_holding_gaps(&service, events).await;
            if !outcome.accepted.is_empty() {
                let _ = internal.send(Internal::Admitted).await;
            }
            if !orphans.is_empty() {
                let _ = internal.send(Internal::Orphans(orphans)).await;
            }
        });
    }

    /// Keeps a governance transaction for inclusion (bounded).
    pub(super) fn add_governance(&mut self, tx: provenance_protocol::governance::GovernanceTx) {
        if self.governance.len() < MAX_PENDING_ITEMS
            && !self.governance.iter().any(|g| g.id() == tx.id())
        {
            self.governance.push(tx);
        }
    }
}

/// Admits gossiped events signer by signer, in sequence order, so that one signer's missing
/// event does not hold back the others. Events that wait for an earlier event of their signer
/// (a sequence gap: gossip does not keep order) are returned to be held and retried; the
/// outcome reports what was accepted and the first other failure.
async fn admit_holding_gaps(
    service: &crate::service::NodeService,
    mut events: Vec<provenance_protocol::record::SignedEvent>,
) -> (
    crate::service::SubmitOutcome,
    Vec<provenance_protocol::record::SignedEvent>,
) {
    use provenance_protocol::rules::RuleViolation;
    events.sort_by_key(|e| (e.signer, e.sequence));
    let mut accepted = Vec::new();
    let mut failure = None;
    let mut orphans = Vec::new();
    let mut rest = events.as_slice();
    while let Some(first) = rest.first() {
        let len = rest.iter().take_while(|e| e.signer == first.signer).count();
        let (group, tail) = rest.split_at(len);
        rest = tail;
        let outcome = service.admit_from_peer(group.to_vec()).await;
        accepted.extend(outcome.accepted);
        match outcome.failure {
            None => {}
            Some((index, SubmitError::Rule(RuleViolation::SequenceGap { .. }))) => {
                orphans.extend(group[index..].iter().cloned());
            }
            Some((index, error)) if failure.is_none() => failure = Some((index, error)),
            Some(_) => {}
        }
    }
    (crate::service::SubmitOutcome { accepted, failure }, orphans)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use provenance_protocol::crypto::SigningKey;
    use provenance_protocol::genesis::{
        ConsensusParams, Genesis, GenesisValidator, Participant, Role,
    };
    use provenance_protocol::record::SignedEvent;

    use super::admit_holding_gaps;
    use crate::mempool::MempoolLimits;
    use crate::metrics::Metrics;
    use crate::service::NodeService;
    use crate::store::SledStore;

    const CHAIN: &str = "gossip-test";

    fn service(maker: &SigningKey) -> NodeService {
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: 1_700_000_000_000,
            participants: vec![Participant {
                name: "Maker".into(),
                roles: vec![Role::Manufacturer, Role::Validator],
                signing_key: maker.public_key(),
                network_key: SigningKey::from_seed([200; 32]).public_key(),
                company_prefixes: vec!["0614141".into()],
            }],
            validators: vec![GenesisValidator {
                participant: "Maker".into(),
                power: 1,
            }],
            params: ConsensusParams::default(),
        };
        let store = SledStore::open_temporary(&genesis).unwrap();
        NodeService::new(
            Arc::new(store),
            genesis,
            None,
            MempoolLimits::default(),
            Metrics::new(),
        )
        .unwrap()
    }

    fn commission(maker: &SigningKey, sequence: u64) -> SignedEvent {
        let event = serde_json::json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "ObjectEvent",
            "eventTime": "2025-01-01T10:00:00.000Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [format!("urn:epc:id:sgtin:0614141.107346.{sequence}")],
            "action": "ADD",
            "bizStep": "commissioning"
        });
        SignedEvent::sign(maker, CHAIN, sequence, &event).unwrap()
    }

    /// Gossip does not keep order: events that arrive before their signer's earlier ones are
    /// held back (not refused), and admitted once the gap is filled.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn events_ahead_of_a_gap_are_held_and_admitted_once_it_fills() {
        let maker = SigningKey::from_seed([1; 32]);
        let service = service(&maker);
        tokio::spawn(service.clone().run_flusher());
        let events: Vec<SignedEvent> = (1..=4).map(|s| commission(&maker, s)).collect();

        // 3 and 4 arrive first, out of order.
        let (outcome, orphans) =
            admit_holding_gaps(&service, vec![events[3].clone(), events[2].clone()]).await;
        assert!(outcome.accepted.is_empty());
        assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
        let held: Vec<u64> = orphans.iter().map(|e| e.sequence).collect();
        assert_eq!(held, [3, 4], "held in sequence order");
        assert_eq!(service.mempool_len(), 0);

        let (outcome, orphans) = admit_holding_gaps(&service, events[..2].to_vec()).await;
        assert_eq!(outcome.accepted.len(), 2);
        assert!(orphans.is_empty());

        // The retry admits what was held.
        let (outcome, orphans) = admit_holding_gaps(&service, held_events(&events, &held)).await;
        assert_eq!(outcome.accepted.len(), 2);
        assert!(orphans.is_empty());
        assert_eq!(service.mempool_len(), 4);
    }

    fn held_events(events: &[SignedEvent], sequences: &[u64]) -> Vec<SignedEvent> {
        events
            .iter()
            .filter(|e| sequences.contains(&e.sequence))
            .cloned()
            .collect()
    }
}
