//! The task that owns the `Swarm`. It reacts to swarm events, handle commands, verdicts and a
//! housekeeping tick, and never waits on the driver: events go out with `try_send`.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use futures::stream::FuturesUnordered;
use futures::{FutureExt, StreamExt};
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::swarm::{ConnectionId, DialError, ListenError, SwarmEvent};
use libp2p::{Multiaddr, PeerId, Swarm, allow_block_list, connection_limits, identify, ping};
use tokio::sync::{mpsc, oneshot};

use crate::net::allow::{Gate, RateLimitedWarn, SCORE_COOLDOWN};
use crate::net::behaviour::{Behaviour, BehaviourEvent, SCORE_THRESHOLDS};
use crate::net::codec::FrameTooLarge;
use crate::net::config::{NetLimits, TopicNames, identify_protocol_version};
use crate::net::error::{PublishError, RequestError};
use crate::net::handle::{Command, GossipMessage, NetEvent, PeerInfo, Report, Responder, Verdict};
use crate::net::redial::RedialBook;

/// How often redials, cool-downs and scores are looked at.
const HOUSEKEEPING_INTERVAL: Duration = Duration::from_millis(250);
/// Scores are checked every this many housekeeping ticks (and right after each Reject).
const SCORE_CHECK_TICKS: u32 = 4;
/// Outbound requests awaiting a response; beyond this, requests fail at once.
pub(crate) const MAX_PENDING_REQUESTS: usize = 1024;
/// Peer status events waiting for room in the event channel; beyond this the oldest is dropped.
const MAX_PENDING_PEER_EVENTS: usize = 1024;

type RequestReply = oneshot::Sender<Result<Vec<u8>, RequestError>>;
type PendingResponse = BoxFuture<'static, (ResponseChannel<Vec<u8>>, PeerId, Option<Vec<u8>>)>;

/// Rate-limited warnings, one per condition.
#[derive(Debug, Default)]
struct Warnings {
    refused: RateLimitedWarn,
    over_limit: RateLimitedWarn,
    gossip_dropped: RateLimitedWarn,
    request_dropped: RateLimitedWarn,
    peer_event_dropped: RateLimitedWarn,
}

/// Everything the task owns.
pub(crate) struct Task {
    pub(crate) swarm: Swarm<Behaviour>,
    pub(crate) topics: TopicNames,
    pub(crate) chain_id: String,
    pub(crate) limits: NetLimits,
    pub(crate) gate: Gate,
    pub(crate) redial: RedialBook,
    pub(crate) events: mpsc::Sender<NetEvent>,
    pub(crate) commands: mpsc::Receiver<Command>,
    pub(crate) reports: mpsc::Receiver<Report>,
    /// Swarm events that arrived while `start` waited for the listeners.
    pub(crate) early_events: Vec<SwarmEvent<BehaviourEvent>>,
}

struct Running {
    task: Task,
    connected: HashMap<PeerId, Vec<(ConnectionId, Multiaddr)>>,
    peer_events: VecDeque<NetEvent>,
    pending_requests: HashMap<OutboundRequestId, (PeerId, RequestReply)>,
    pending_responses: FuturesUnordered<PendingResponse>,
    /// Our own bootstrap dials in flight. Only their outcomes move the redial schedule
    /// (gossipsub also dials explicit peers by id; those attempts fail without an address).
    bootstrap_dials: HashMap<ConnectionId, PeerId>,
    warnings: Warnings,
    ticks: u32,
}

impl Task {
    /// Runs until shutdown or until every handle is dropped.
    pub(crate) async fn run(mut self) {
        let early = std::mem::take(&mut self.early_events);
        let mut state = Running {
            task: self,
            connected: HashMap::new(),
            peer_events: VecDeque::new(),
            pending_requests: HashMap::new(),
            pending_responses: FuturesUnordered::new(),
            bootstrap_dials: HashMap::new(),
            warnings: Warnings::default(),
            ticks: 0,
        };
        for event in early {
            state.on_swarm_event(event);
        }
        state.housekeeping();
        let done = state.run().await;
        let Running { task, .. } = state;
        // Dropping the swarm closes listeners and connections before shutdown() returns.
        drop(task);
        if let Some(done) = done {
            let _ = done.send(());
        }
        tracing::info!("network task stopped");
    }
}

impl Running {
    async fn run(&mut self) -> Option<oneshot::Sender<()>> {
        let mut tick = tokio::time::interval(HOUSEKEEPING_INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // A second sender to wait for room with: a permit borrows its sender for as long as
        // the select! outputs live, which must not be `self`.
        let events = self.task.events.clone();
        loop {
            tokio::select! {
                event = self.task.swarm.select_next_some() => self.on_swarm_event(event),
                command = self.task.commands.recv() => match command {
                    Some(Command::Shutdown(done)) => return Some(done),
                    Some(command) => self.on_command(command),
                    None => return None,
                },
                Some(report) = self.task.reports.recv() => self.on_report(report),
                Some((channel, peer, answer)) = self.pending_responses.next(),
                    if !self.pending_responses.is_empty() => self.on_answer(channel, peer, answer),
                permit = events.reserve(), if !self.peer_events.is_empty() => match permit {
                    Ok(permit) => {
                        if let Some(event) = self.peer_events.pop_front() {
                            permit.send(event);
                        }
                    }
                    Err(_) => self.peer_events.clear(),
                },
                _ = tick.tick() => self.housekeeping(),
            }
        }
    }

    fn behaviour(&mut self) -> &mut Behaviour {
        self.task.swarm.behaviour_mut()
    }

    // ---- commands ------------------------------------------------------------------------

    fn on_command(&mut self, command: Command) {
        match command {
            Command::ListenAddrs(reply) => {
                let _ = reply.send(self.task.swarm.listeners().cloned().collect());
            }
            Command::Publish { topic, data, reply } => {
                let _ = reply.send(self.publish(topic, data));
            }
            Command::Request { peer, data, reply } => self.request(peer, data, reply),
            Command::SetRegistry {
                registry,
                validators,
                done,
            } => {
                self.set_registry(&registry, &validators);
                let _ = done.send(());
            }
            Command::Peers(reply) => {
                let _ = reply.send(self.peer_infos());
            }
            // Handled by the loop.
            Command::Shutdown(done) => {
                let _ = done.send(());
            }
        }
    }

    fn publish(&mut self, topic: crate::net::Topic, data: Vec<u8>) -> Result<(), PublishError> {
        let limit = self.task.limits.max_gossip_bytes;
        if data.len() > limit {
            return Err(PublishError::TooLarge {
                size: data.len(),
                limit,
            });
        }
        let hash = self.task.topics.topic(topic).hash();
        match self.behaviour().gossipsub.publish(hash, data) {
            Ok(id) => {
                tracing::debug!(%topic, message_id = %id, "published");
                Ok(())
            }
            Err(gossipsub::PublishError::NoPeersSubscribedToTopic) => {
                Err(PublishError::NoSubscribedPeers { topic })
            }
            Err(gossipsub::PublishError::Duplicate) => Err(PublishError::Duplicate { topic }),
            Err(gossipsub::PublishError::MessageTooLarge) => {
                Err(PublishError::TooLarge { size: 0, limit })
            }
            Err(gossipsub::PublishError::AllQueuesFull(peers)) => {
                Err(PublishError::QueuesFull { topic, peers })
            }
            Err(other) => Err(PublishError::Gossipsub {
                topic,
                reason: format!("{other:?}"),
            }),
        }
    }

    fn request(&mut self, peer: PeerId, data: Vec<u8>, reply: RequestReply) {
        let limit = self.task.limits.max_request_bytes;
        let refused = if data.len() > limit {
            Some(RequestError::RequestTooLarge {
                size: data.len(),
                limit,
            })
        } else if !self.task.swarm.is_connected(&peer) {
            // Never dial for a request: we only dial configured bootstrap addresses.
            Some(RequestError::NotConnected { peer })
        } else if self.pending_requests.len() >= MAX_PENDING_REQUESTS {
            Some(RequestError::TooManyPending {
                limit: MAX_PENDING_REQUESTS,
            })
        } else {
            None
        };
        if let Some(err) = refused {
            let _ = reply.send(Err(err));
            return;
        }
        let id = self.behaviour().sync.send_request(&peer, data);
        tracing::debug!(%peer, request_id = %id, "request sent");
        self.pending_requests.insert(id, (peer, reply));
    }

    fn set_registry(&mut self, registry: &[PeerId], validators: &[PeerId]) {
        let old = self.task.gate.set_registry(registry, validators);
        let new = self.task.gate.membership().clone();
        let gossipsub = &mut self.task.swarm.behaviour_mut().gossipsub;
        for gone in old.validators.difference(&new.validators) {
            gossipsub.remove_explicit_peer(gone);
        }
        for added in new.validators.difference(&old.validators) {
            gossipsub.add_explicit_peer(added);
        }
        let behaviour = self.task.swarm.behaviour_mut();
        self.task.gate.apply(&mut behaviour.allow);
        tracing::info!(
            registry = new.registry.len(),
            validators = new.validators.len(),
            observers = new.observers.len(),
            "registry updated; peers no longer allowed are disconnected"
        );
    }

    fn peer_infos(&mut self) -> Vec<PeerInfo> {
        let subscriptions: HashMap<PeerId, Vec<gossipsub::TopicHash>> = self
            .task
            .swarm
            .behaviour()
            .gossipsub
            .all_peers()
            .map(|(peer, topics)| (*peer, topics.into_iter().cloned().collect()))
            .collect();
        let mut infos = Vec::with_capacity(self.connected.len());
        for (peer, connections) in &self.connected {
            let (Some(role), Some((_, addr))) =
                (self.task.gate.membership().role(peer), connections.first())
            else {
                continue;
            };
            let topics = subscriptions
                .get(peer)
                .map(|hashes| {
                    hashes
                        .iter()
                        .filter_map(|h| self.task.topics.lookup(h))
                        .collect()
                })
                .unwrap_or_default();
            infos.push(PeerInfo {
                peer: *peer,
                role,
                addr: addr.clone(),
                connections: connections.len(),
                score: self.task.swarm.behaviour().gossipsub.peer_score(peer),
                topics,
            });
        }
        infos.sort_by_key(|i| i.peer);
        infos
    }

    // ---- verdicts and answers ------------------------------------------------------------

    fn on_report(&mut self, report: Report) {
        let acceptance = match report.verdict {
            Verdict::Accept => MessageAcceptance::Accept,
            Verdict::Reject => MessageAcceptance::Reject,
            Verdict::Ignore => MessageAcceptance::Ignore,
        };
        let found = self.behaviour().gossipsub.report_message_validation_result(
            &report.id,
            &report.source,
            acceptance,
        );
        if !found {
            tracing::debug!(
                message_id = %report.id,
                peer = %report.source,
                "verdict came after the message left gossipsub's cache; nothing forwarded"
            );
        }
        if report.verdict == Verdict::Reject {
            self.check_score(report.source);
        }
    }

    fn on_answer(
        &mut self,
        channel: ResponseChannel<Vec<u8>>,
        peer: PeerId,
        answer: Option<Vec<u8>>,
    ) {
        match answer {
            Some(data) => {
                if self.behaviour().sync.send_response(channel, data).is_err() {
                    tracing::debug!(%peer, "answer discarded: the request stream is already gone");
                }
            }
            None => tracing::debug!(%peer, "request closed without an answer"),
        }
    }

    // ---- events to the driver ------------------------------------------------------------

    /// Peer status events are never dropped while there is room in the overflow queue, and
    /// keep their order.
    fn emit_peer_event(&mut self, event: NetEvent) {
        let event = if self.peer_events.is_empty() {
            match self.task.events.try_send(event) {
                Ok(()) => return,
                Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(event)) => event,
            }
        } else {
            event
        };
        if self.peer_events.len() >= MAX_PENDING_PEER_EVENTS {
            self.peer_events.pop_front();
            if let Some(n) = self.warnings.peer_event_dropped.hit(Instant::now()) {
                tracing::warn!(
                    dropped = n,
                    "driver is not reading network events; peer status events dropped"
                );
            }
        }
        self.peer_events.push_back(event);
    }

    // ---- swarm events --------------------------------------------------------------------

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(event)) => self.on_gossipsub(event),
            SwarmEvent::Behaviour(BehaviourEvent::Sync(event)) => self.on_sync(event),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(event)) => self.on_identify(event),
            SwarmEvent::Behaviour(BehaviourEvent::Ping(event)) => self.on_ping(event),
            SwarmEvent::Behaviour(BehaviourEvent::Allow(never)) => match never {},
            SwarmEvent::Behaviour(BehaviourEvent::Limits(never)) => match never {},
            SwarmEvent::ConnectionEstablished {
                peer_id,
                connection_id,
                endpoint,
                num_established,
                ..
            } => {
                self.bootstrap_dials.remove(&connection_id);
                let addr = endpoint.get_remote_address().clone();
                tracing::debug!(peer = %peer_id, %addr, "connection established");
                self.connected
                    .entry(peer_id)
                    .or_default()
                    .push((connection_id, addr));
                if num_established.get() == 1 {
                    self.task.redial.connected(&peer_id, Instant::now());
                    let role = self.task.gate.membership().role(&peer_id);
                    tracing::info!(peer = %peer_id, ?role, "peer connected");
                    self.emit_peer_event(NetEvent::PeerConnected { peer: peer_id });
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                connection_id,
                num_established,
                cause,
                ..
            } => {
                tracing::debug!(peer = %peer_id, cause = ?cause, "connection closed");
                if let Some(connections) = self.connected.get_mut(&peer_id) {
                    connections.retain(|(id, _)| *id != connection_id);
                }
                if num_established == 0 {
                    self.connected.remove(&peer_id);
                    self.task.redial.disconnected(&peer_id, Instant::now());
                    tracing::info!(peer = %peer_id, "peer disconnected");
                    self.emit_peer_event(NetEvent::PeerDisconnected { peer: peer_id });
                }
            }
            SwarmEvent::IncomingConnectionError {
                error,
                peer_id,
                send_back_addr,
                ..
            } => match error {
                ListenError::Denied { cause } => self.on_denied(peer_id, &send_back_addr, &cause),
                other => {
                    tracing::debug!(
                        peer = ?peer_id,
                        addr = %send_back_addr,
                        error = %other,
                        "incoming connection failed"
                    )
                }
            },
            SwarmEvent::OutgoingConnectionError {
                connection_id,
                peer_id,
                error,
            } => {
                if let Some(peer) = self.bootstrap_dials.remove(&connection_id) {
                    self.task.redial.dial_failed(&peer, Instant::now());
                }
                match &error {
                    DialError::Denied { cause } => {
                        tracing::debug!(peer = ?peer_id, %cause, "outgoing connection refused")
                    }
                    // Gossipsub asks to dial explicit peers by id; we keep no addresses for
                    // that, only the bootstrap list is dialled.
                    DialError::NoAddresses => {
                        tracing::trace!(peer = ?peer_id, "dial without address skipped")
                    }
                    other => tracing::debug!(peer = ?peer_id, error = %other, "dial failed"),
                }
            }
            SwarmEvent::NewListenAddr { address, .. } => tracing::info!(%address, "listening"),
            SwarmEvent::ExpiredListenAddr { address, .. } => {
                tracing::info!(%address, "no longer listening")
            }
            SwarmEvent::ListenerError { error, .. } => tracing::warn!(%error, "listener error"),
            SwarmEvent::ListenerClosed {
                addresses, reason, ..
            } => tracing::warn!(?addresses, ?reason, "listener closed"),
            _ => {}
        }
    }

    fn on_denied(
        &mut self,
        peer: Option<PeerId>,
        addr: &Multiaddr,
        cause: &libp2p::swarm::ConnectionDenied,
    ) {
        let now = Instant::now();
        if cause
            .downcast_ref::<allow_block_list::NotAllowed>()
            .is_some()
        {
            tracing::debug!(
                peer = ?peer,
                %addr,
                "refused connection: peer neither registered nor observer, or cooling down"
            );
            if let Some(n) = self.warnings.refused.hit(now) {
                tracing::warn!(
                    refused = n,
                    latest_peer = ?peer,
                    %addr,
                    "refused connections from unregistered or cooling-down peers"
                );
            }
        } else if let Some(exceeded) = cause.downcast_ref::<connection_limits::Exceeded>() {
            tracing::debug!(
                peer = ?peer,
                %addr,
                limit = exceeded.limit(),
                "refused connection: connection limit reached"
            );
            if let Some(n) = self.warnings.over_limit.hit(now) {
                tracing::warn!(
                    refused = n,
                    limit = exceeded.limit(),
                    "refused connections: connection limit reached; \
                     raise max_connections if this persists"
                );
            }
        } else {
            tracing::debug!(peer = ?peer, %addr, %cause, "refused connection");
        }
    }

    fn on_gossipsub(&mut self, event: gossipsub::Event) {
        match event {
            gossipsub::Event::Message {
                propagation_source,
                message_id,
                message,
            } => self.on_gossip(propagation_source, message_id, message),
            gossipsub::Event::Subscribed { peer_id, topic, .. } => {
                tracing::debug!(peer = %peer_id, %topic, "peer subscribed")
            }
            gossipsub::Event::Unsubscribed { peer_id, topic } => {
                tracing::debug!(peer = %peer_id, %topic, "peer unsubscribed")
            }
            gossipsub::Event::GossipsubNotSupported { peer_id } => {
                tracing::warn!(peer = %peer_id, "peer does not speak gossipsub; it gets no gossip")
            }
            gossipsub::Event::SlowPeer {
                peer_id,
                failed_messages,
            } => {
                tracing::debug!(peer = %peer_id, ?failed_messages, "slow peer: messages dropped")
            }
            #[allow(unreachable_patterns)]
            _ => {}
        }
    }

    fn on_gossip(&mut self, source: PeerId, id: gossipsub::MessageId, message: gossipsub::Message) {
        let topic = self.task.topics.lookup(&message.topic);
        let registered = self.task.gate.membership().registry.contains(&source);
        let Some(topic) = topic.filter(|_| registered) else {
            tracing::debug!(
                peer = %source,
                message_id = %id,
                topic = %message.topic,
                "gossip from an observer or on an unknown topic ignored"
            );
            self.ignore(&id, &source);
            return;
        };
        let limit = self.task.limits.max_gossip_bytes;
        if message.data.len() > limit {
            // Gossipsub's frame limit leaves room for the envelope, so a slightly larger
            // payload can get this far. Ignore, not Reject: the sender may just be configured
            // with a larger limit.
            tracing::warn!(
                peer = %source,
                message_id = %id,
                size = message.data.len(),
                limit,
                "gossip message over max_gossip_bytes ignored"
            );
            self.ignore(&id, &source);
            return;
        }
        let gossip = GossipMessage {
            topic,
            id,
            source,
            data: message.data,
        };
        match self.task.events.try_send(NetEvent::Gossip(gossip)) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(NetEvent::Gossip(g))) => {
                tracing::debug!(peer = %source, message_id = %g.id, "event queue full");
                if let Some(n) = self.warnings.gossip_dropped.hit(Instant::now()) {
                    tracing::warn!(
                        dropped = n,
                        "driver is not keeping up: gossip messages dropped (reported Ignore)"
                    );
                }
                self.ignore(&g.id, &source);
            }
            Err(mpsc::error::TrySendError::Closed(NetEvent::Gossip(g))) => {
                self.ignore(&g.id, &source)
            }
            Err(_) => {}
        }
    }

    fn ignore(&mut self, id: &gossipsub::MessageId, source: &PeerId) {
        self.behaviour().gossipsub.report_message_validation_result(
            id,
            source,
            MessageAcceptance::Ignore,
        );
    }

    fn on_sync(&mut self, event: request_response::Event<Vec<u8>, Vec<u8>>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => self.on_inbound_request(peer, request, channel),
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                peer,
                request_id,
                error,
                ..
            } => {
                tracing::debug!(%peer, %request_id, %error, "request failed");
                if let Some((_, reply)) = self.pending_requests.remove(&request_id) {
                    let timeout = self.task.limits.request_timeout;
                    let _ = reply.send(Err(RequestError::from_outbound(peer, error, timeout)));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => match error {
                request_response::InboundFailure::Io(e) if FrameTooLarge::find(&e).is_some() => {
                    tracing::warn!(%peer, error = %e, "refused an oversized request")
                }
                other => tracing::debug!(%peer, error = %other, "inbound request failed"),
            },
            request_response::Event::ResponseSent { peer, .. } => {
                tracing::trace!(%peer, "response sent")
            }
        }
    }

    fn on_inbound_request(
        &mut self,
        peer: PeerId,
        data: Vec<u8>,
        channel: ResponseChannel<Vec<u8>>,
    ) {
        let (reply, answer) = Responder::new(peer, self.task.limits.max_response_bytes);
        match self
            .task
            .events
            .try_send(NetEvent::Request { peer, data, reply })
        {
            Ok(()) => {
                let timeout = self.task.limits.request_timeout;
                self.pending_responses.push(
                    async move {
                        let answer = tokio::time::timeout(timeout, answer)
                            .await
                            .ok()
                            .and_then(Result::ok);
                        (channel, peer, answer)
                    }
                    .boxed(),
                );
            }
            Err(_) => {
                // Dropping the channel closes the stream: the requester sees "closed without
                // answering" at once rather than waiting for its timeout.
                tracing::debug!(%peer, "event queue full or closed: request refused");
                if let Some(n) = self.warnings.request_dropped.hit(Instant::now()) {
                    tracing::warn!(
                        refused = n,
                        "driver is not keeping up: inbound requests closed without an answer"
                    );
                }
            }
        }
    }

    fn on_identify(&mut self, event: identify::Event) {
        if let identify::Event::Received { peer_id, info, .. } = event {
            let expected = identify_protocol_version(&self.task.chain_id);
            if info.protocol_version != expected {
                tracing::warn!(
                    peer = %peer_id,
                    theirs = %info.protocol_version,
                    ours = %expected,
                    "peer runs another chain or protocol version; disconnecting"
                );
                let _ = self.task.swarm.disconnect_peer_id(peer_id);
            } else {
                tracing::debug!(peer = %peer_id, agent = %info.agent_version, "peer identified");
            }
        }
    }

    fn on_ping(&mut self, event: ping::Event) {
        match event.result {
            Ok(rtt) => tracing::trace!(peer = %event.peer, ?rtt, "ping"),
            Err(ping::Failure::Unsupported) => {
                tracing::debug!(peer = %event.peer, "peer does not answer pings")
            }
            Err(failure) => {
                // A link that silently drops packets never closes by itself; closing it lets
                // the redial loop reconnect once the path works again.
                tracing::info!(peer = %event.peer, %failure, "ping failed; closing the connection");
                self.task.swarm.close_connection(event.connection);
            }
        }
    }

    // ---- housekeeping --------------------------------------------------------------------

    fn housekeeping(&mut self) {
        let now = Instant::now();
        if self.task.gate.expire(now) {
            let behaviour = self.task.swarm.behaviour_mut();
            self.task.gate.apply(&mut behaviour.allow);
        }
        let gate = &self.task.gate;
        for (peer, addrs) in self.task.redial.due(now, |p| gate.may_connect(p)) {
            let opts = DialOpts::peer_id(peer)
                .addresses(addrs)
                .condition(PeerCondition::DisconnectedAndNotDialing)
                .build();
            let connection_id = opts.connection_id();
            match self.task.swarm.dial(opts) {
                Ok(()) => {
                    tracing::debug!(%peer, "dialling bootstrap peer");
                    self.bootstrap_dials.insert(connection_id, peer);
                }
                Err(error) => {
                    tracing::debug!(%peer, %error, "dial not started");
                    self.task.redial.dial_failed(&peer, now);
                }
            }
        }
        self.ticks = self.ticks.wrapping_add(1);
        if self.ticks.is_multiple_of(SCORE_CHECK_TICKS) {
            let peers: Vec<PeerId> = self.connected.keys().copied().collect();
            for peer in peers {
                self.check_score(peer);
            }
        }
    }

    /// Disconnects `peer` for a cool-down if its gossip score is below the graylist threshold.
    fn check_score(&mut self, peer: PeerId) {
        let Some(score) = self.task.swarm.behaviour().gossipsub.peer_score(&peer) else {
            return;
        };
        if score >= SCORE_THRESHOLDS.graylist || !self.connected.contains_key(&peer) {
            return;
        }
        tracing::warn!(
            %peer,
            score,
            threshold = SCORE_THRESHOLDS.graylist,
            cooldown = ?SCORE_COOLDOWN,
            "gossip score below the graylist threshold (invalid messages); \
             disconnecting the peer for the cool-down"
        );
        self.task.gate.cool_down(peer, Instant::now());
        let behaviour = self.task.swarm.behaviour_mut();
        self.task.gate.apply(&mut behaviour.allow);
    }
}
