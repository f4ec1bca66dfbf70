//! # net: the peer-to-peer layer
//!
//! ## Bird's Eye View
//!
//! This module moves bytes between the organisations' nodes; it knows nothing of our message
//! formats. The consensus/sync driver encodes, decodes and judges; the network delivers,
//! forwards what the driver accepted, and answers requests with what the driver answers.
//!
//! [`start`] builds a libp2p swarm (TCP + Noise + Yamux and QUIC; identify, ping, gossipsub,
//! request-response), binds every listen address and spawns the task that owns it. The driver
//! talks to the task through a cloneable [`NetHandle`] (bounded command channel, a oneshot per
//! reply) and reads [`NetEvent`]s from a bounded channel.
//!
//! ## Invariants
//!
//! - **Only the bootstrap list is dialled.** Identify keeps no addresses, there is no
//!   Kademlia or mDNS, requests go only to connected peers. Tests that route traffic through
//!   proxies rely on this.
//! - **Only registered peers and observers hold connections** (connection-level allow-list);
//!   anyone else is refused right after the handshake. A peer whose gossip score falls below
//!   the graylist threshold is disconnected and refused for [`SCORE_COOLDOWN`].
//! - **Nothing is forwarded unjudged.** Gossip is validated manually: a message is forwarded
//!   only after the driver reports [`Verdict::Accept`]. Observers' gossip is ignored without
//!   reaching the driver.
//! - **The task never waits for the driver.** Every channel is bounded; when the event channel
//!   is full, gossip is dropped (reported Ignore) and requests are closed, both with a
//!   rate-limited warning.
//!
//! ## For the driver
//!
//! - **Verdicts within 10 s.** An unreported message stays in gossipsub's cache for
//!   [`GOSSIP_VERDICT_WINDOW`] (ten 1 s heartbeats), then is dropped unforwarded; a later
//!   `report` is a no-op. Nothing leaks if a message is never reported.
//! - **Duplicates.** Message ids are the SHA-256 of the payload and gossipsub remembers them for
//!   a minute: publishing bytes this node already published or received (even ones the driver
//!   rejected) returns [`PublishError::Duplicate`] and sends nothing. The network already has
//!   them; treat it as success. The same bytes arriving again from another peer are dropped
//!   silently, so the driver sees each message once a minute at most.
//! - **Publishing before peers subscribe** returns [`PublishError::NoSubscribedPeers`] and
//!   leaves no trace; retry later. A message reaches only peers connected and subscribed at
//!   that moment (directly, or through peers that accept and forward it, or by IHAVE gossip
//!   for 3 s); a peer that connects later needs sync.
//! - **A refused connection can flicker.** When a remote refuses us right after the handshake
//!   (we are not in its registry, it is full, we are cooling down), we may see `PeerConnected`
//!   immediately followed by `PeerDisconnected`.
//! - **Requests go only to connected peers** ([`RequestError::NotConnected`] otherwise).
//!
//! ## Code map
//!
//! `config` (what `start` is told, topic and protocol names), `error`, `handle` (the driver's
//! API), `behaviour` (the protocols and their tuning), `codec` (the request-response wire
//! format), `allow` (who may connect now), `redial` (when to dial bootstrap peers),
//! `swarm_task` (the event loop).

mod allow;
mod behaviour;
mod codec;
mod config;
mod error;
mod handle;
mod redial;
mod swarm_task;

#[cfg(test)]
mod tests;

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::StreamExt;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm, noise, tcp, yamux};
use provenance_protocol::crypto::{PublicKey, SigningKey};
use tokio::sync::mpsc;
use tracing::Instrument;

pub use allow::SCORE_COOLDOWN;
pub use config::{MAX_REDIAL_BACKOFF, NetConfig, NetLimits, PeerRole, STABLE_CONNECTION, Topic};
pub use error::{NetError, PublishError, RequestError};
pub use handle::{
    EVENT_CAPACITY, GossipMessage, NetEvent, NetHandle, PeerInfo, Responder, Verdict,
};

use crate::net::behaviour::{Behaviour, BehaviourEvent};
use crate::net::config::{TopicNames, parse_bootstrap, validate_chain_id};
use crate::net::handle::{COMMAND_CAPACITY, REPORT_CAPACITY};
use crate::net::swarm_task::Task;

/// How long an unreported gossip message waits for its verdict before gossipsub drops it.
pub const GOSSIP_VERDICT_WINDOW: Duration =
    behaviour::HEARTBEAT_INTERVAL.saturating_mul(behaviour::GOSSIP_HISTORY_HEARTBEATS);

/// How long `start` waits for the transports to report each listen address as bound.
const LISTEN_TIMEOUT: Duration = Duration::from_secs(10);

/// Starts the network: validates the configuration, binds every listen address, spawns the
/// swarm task (which dials the bootstrap peers at once) and returns its handle and events.
///
/// Must be called within a Tokio runtime.
pub async fn start(config: NetConfig) -> Result<(NetHandle, mpsc::Receiver<NetEvent>), NetError> {
    validate_chain_id(&config.chain_id)?;
    validate_limits(&config.limits)?;
    let local_peer_id = config.keypair.public().to_peer_id();
    let bootstrap = parse_bootstrap(&config.bootstrap, local_peer_id)?;
    let topics = TopicNames::new(&config.chain_id);
    let gate = allow::Gate::new(&config.registry, &config.validators, &config.observers);

    let behaviour = Behaviour::new(&config.keypair, &config.chain_id, &config.limits, &topics)?;
    let mut swarm = build_swarm(&config, behaviour)?;
    {
        let behaviour = swarm.behaviour_mut();
        gate.apply(&mut behaviour.allow);
        for topic in Topic::ALL {
            behaviour
                .gossipsub
                .subscribe(topics.topic(topic))
                .map_err(|e| NetError::Setup {
                    component: "gossipsub",
                    reason: format!("cannot subscribe to the {topic} topic: {e:?}"),
                })?;
        }
        for validator in &gate.membership().validators {
            behaviour.gossipsub.add_explicit_peer(validator);
        }
    }
    let early_events = listen(&mut swarm, &config.listen).await?;

    let (command_tx, command_rx) = mpsc::channel(COMMAND_CAPACITY);
    let (report_tx, report_rx) = mpsc::channel(REPORT_CAPACITY);
    let (event_tx, event_rx) = mpsc::channel(EVENT_CAPACITY);
    let task = Task {
        swarm,
        topics,
        chain_id: config.chain_id.clone(),
        limits: config.limits,
        gate,
        redial: redial::RedialBook::new(bootstrap, config.limits.redial_interval, Instant::now()),
        events: event_tx,
        commands: command_rx,
        reports: report_rx,
        early_events,
    };
    let span = tracing::info_span!("net", local_peer = %local_peer_id);
    tokio::spawn(task.run().instrument(span));
    let handle = NetHandle::new(
        local_peer_id,
        command_tx,
        report_tx,
        config.limits.max_gossip_bytes,
        config.limits.max_request_bytes,
    );
    Ok((handle, event_rx))
}

/// The libp2p peer id of a node key (ed25519).
pub fn peer_id_of(key: &PublicKey) -> PeerId {
    // A `PublicKey` holds a validated, canonical curve point, which libp2p accepts.
    let key = libp2p::identity::ed25519::PublicKey::try_from_bytes(key.as_bytes())
        .expect("a validated Ed25519 public key is a valid libp2p Ed25519 key");
    libp2p::identity::PublicKey::from(key).to_peer_id()
}

/// The libp2p identity of a node key: the same Ed25519 key, so the node's peer id is
/// [`peer_id_of`] its public key.
pub fn keypair_from(key: &SigningKey) -> libp2p::identity::Keypair {
    let mut seed = key.to_seed();
    // Any 32 bytes are an Ed25519 seed; libp2p only checks the length (and zeroizes its copy).
    libp2p::identity::Keypair::ed25519_from_bytes(&mut *seed)
        .expect("a 32-byte seed is always a valid Ed25519 secret key")
}

fn validate_limits(limits: &NetLimits) -> Result<(), NetError> {
    fn invalid(name: &'static str, value: impl ToString, reason: &'static str) -> NetError {
        NetError::InvalidLimit {
            name,
            value: value.to_string(),
            reason,
        }
    }
    // The frame length prefix is a u32.
    let max_frame = usize::try_from(u32::MAX).unwrap_or(usize::MAX);
    if limits.max_gossip_bytes == 0 {
        return Err(invalid("max_gossip_bytes", 0, "must be at least 1"));
    }
    for (name, value) in [
        ("max_request_bytes", limits.max_request_bytes),
        ("max_response_bytes", limits.max_response_bytes),
    ] {
        if value == 0 || value > max_frame {
            return Err(invalid(name, value, "must be between 1 and 4294967295"));
        }
    }
    if limits.max_connections == 0 {
        return Err(invalid("max_connections", 0, "must be at least 1"));
    }
    if limits.max_connections_per_peer == 0 {
        return Err(invalid("max_connections_per_peer", 0, "must be at least 1"));
    }
    for (name, value) in [
        ("idle_connection_timeout", limits.idle_connection_timeout),
        ("redial_interval", limits.redial_interval),
        ("request_timeout", limits.request_timeout),
    ] {
        if value.is_zero() {
            return Err(invalid(name, format!("{value:?}"), "must be positive"));
        }
    }
    Ok(())
}

fn build_swarm(config: &NetConfig, behaviour: Behaviour) -> Result<Swarm<Behaviour>, NetError> {
    let idle = config.limits.idle_connection_timeout;
    let swarm = libp2p::SwarmBuilder::with_existing_identity(config.keypair.clone())
        .with_tokio()
        .with_tcp(
            tcp::Config::default().nodelay(true),
            noise::Config::new,
            yamux::Config::default,
        )
        .map_err(|e| NetError::Setup {
            component: "TCP transport",
            reason: e.to_string(),
        })?
        .with_quic()
        .with_behaviour(move |_| behaviour)
        .map_err(|never| match never {})?
        .with_swarm_config(|c| c.with_idle_connection_timeout(idle))
        .build();
    Ok(swarm)
}

/// Starts every listener and waits until each has bound at least one address. Other swarm
/// events seen meanwhile are returned so the task can handle them.
async fn listen(
    swarm: &mut Swarm<Behaviour>,
    addrs: &[Multiaddr],
) -> Result<Vec<SwarmEvent<BehaviourEvent>>, NetError> {
    let mut waiting = Vec::with_capacity(addrs.len());
    for addr in addrs {
        let id = swarm
            .listen_on(addr.clone())
            .map_err(|e| NetError::Listen {
                addr: addr.clone(),
                reason: error_chain(&e),
            })?;
        waiting.push((id, addr.clone()));
    }
    let mut bound = HashSet::new();
    let mut early = Vec::new();
    let deadline = tokio::time::Instant::now() + LISTEN_TIMEOUT;
    while bound.len() < waiting.len() {
        let pending = || {
            waiting
                .iter()
                .find(|(id, _)| !bound.contains(id))
                .map(|(_, a)| a.clone())
        };
        let event = match tokio::time::timeout_at(deadline, swarm.select_next_some()).await {
            Ok(event) => event,
            Err(_) => {
                return Err(NetError::Listen {
                    addr: pending().unwrap_or_else(Multiaddr::empty),
                    reason: format!("not bound within {LISTEN_TIMEOUT:?}"),
                });
            }
        };
        let addr_of = |id| {
            waiting
                .iter()
                .find(|(l, _)| *l == id)
                .map(|(_, a)| a.clone())
                .unwrap_or_else(Multiaddr::empty)
        };
        match event {
            SwarmEvent::NewListenAddr {
                listener_id,
                address,
            } => {
                tracing::info!(%address, "listening");
                bound.insert(listener_id);
            }
            SwarmEvent::ListenerError { listener_id, error } => {
                return Err(NetError::Listen {
                    addr: addr_of(listener_id),
                    reason: error_chain(&error),
                });
            }
            SwarmEvent::ListenerClosed {
                listener_id,
                reason,
                ..
            } => {
                return Err(NetError::Listen {
                    addr: addr_of(listener_id),
                    reason: match reason {
                        Ok(()) => "listener closed".to_owned(),
                        Err(e) => error_chain(&e),
                    },
                });
            }
            other => early.push(other),
        }
    }
    Ok(early)
}

/// An error with its sources, joined by ": " (libp2p's transport errors often say nothing at
/// the top level and keep the cause, such as "Address already in use", in their source).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut parts = vec![error.to_string()];
    let mut source = error.source();
    while let Some(cause) = source {
        parts.push(cause.to_string());
        source = cause.source();
    }
    parts.retain(|p| !p.is_empty());
    parts.dedup();
    if parts.is_empty() {
        "unknown error".to_owned()
    } else {
        parts.join(": ")
    }
}
