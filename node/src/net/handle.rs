//! The driver's side of the network: a cloneable [`NetHandle`] that sends commands to the
//! swarm task over bounded channels (a oneshot carries each reply), and the [`NetEvent`]s the
//! task delivers.

use std::fmt;

use libp2p::gossipsub::MessageId;
use libp2p::{Multiaddr, PeerId};
use tokio::sync::{mpsc, oneshot};

use crate::net::config::{PeerRole, Topic};
use crate::net::error::{PublishError, RequestError};

/// Capacity of the driver → task command channel.
pub(crate) const COMMAND_CAPACITY: usize = 256;
/// Capacity of the task → driver event channel. When full, gossip is dropped (and reported
/// Ignore) and requests are refused; the task never waits for the driver.
pub const EVENT_CAPACITY: usize = 4096;
/// Capacity of the verdict channel: at least one slot per event the driver can hold, so
/// verdicts are only lost if the driver reports far more than it received.
pub(crate) const REPORT_CAPACITY: usize = EVENT_CAPACITY * 2;

/// What the network tells the driver.
#[derive(Debug)]
pub enum NetEvent {
    /// A gossip message from a registered peer, awaiting a verdict: it is forwarded to other
    /// peers only after [`NetHandle::report`] with [`Verdict::Accept`].
    Gossip(GossipMessage),
    /// A request from a connected peer (registered or observer). Answer with
    /// [`Responder::send`]; dropping the responder closes the stream without an answer.
    Request {
        /// Who asked.
        peer: PeerId,
        /// The request body (at most `max_request_bytes`).
        data: Vec<u8>,
        /// Where the answer goes.
        reply: Responder,
    },
    /// The first connection to `peer` is up.
    PeerConnected {
        /// The peer.
        peer: PeerId,
    },
    /// The last connection to `peer` closed.
    PeerDisconnected {
        /// The peer.
        peer: PeerId,
    },
}

/// A received gossip message.
#[derive(Clone, PartialEq, Eq)]
pub struct GossipMessage {
    /// The topic it came on.
    pub topic: Topic,
    /// Its gossipsub id: the SHA-256 of `data`.
    pub id: MessageId,
    /// The peer that delivered it to us (not necessarily its author: gossip is relayed).
    pub source: PeerId,
    /// The payload.
    pub data: Vec<u8>,
}

impl fmt::Debug for GossipMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GossipMessage")
            .field("topic", &self.topic)
            .field("id", &self.id)
            .field("source", &self.source)
            .field("len", &self.data.len())
            .finish()
    }
}

/// The driver's judgement of a gossip message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Valid: forward it to our peers.
    Accept,
    /// Invalid (bad signature, malformed, breaks a rule): drop it and penalise the peer that
    /// sent it; a few of these disconnect the peer for a cool-down.
    Reject,
    /// Not useful (stale, already known, can't judge yet): drop it without penalty.
    Ignore,
}

/// A connected peer.
#[derive(Clone, Debug, PartialEq)]
pub struct PeerInfo {
    /// The peer.
    pub peer: PeerId,
    /// What it is to us.
    pub role: PeerRole,
    /// Remote address of its first open connection.
    pub addr: Multiaddr,
    /// Number of open connections.
    pub connections: usize,
    /// Its gossipsub score (`None` before gossipsub knows it); below -80 it is disconnected.
    pub score: Option<f64>,
    /// The topics it is subscribed to.
    pub topics: Vec<Topic>,
}

/// The answer slot of one inbound request.
pub struct Responder {
    peer: PeerId,
    limit: usize,
    tx: oneshot::Sender<Vec<u8>>,
}

impl fmt::Debug for Responder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Responder")
            .field("peer", &self.peer)
            .field("limit", &self.limit)
            .finish_non_exhaustive()
    }
}

impl Responder {
    pub(crate) fn new(peer: PeerId, limit: usize) -> (Self, oneshot::Receiver<Vec<u8>>) {
        let (tx, rx) = oneshot::channel();
        (Self { peer, limit, tx }, rx)
    }

    /// The peer that asked.
    pub fn peer(&self) -> PeerId {
        self.peer
    }

    /// Sends the answer. An answer over `max_response_bytes` is refused (logged as an error,
    /// and the stream is closed without an answer): the requester would reject it anyway.
    /// If the request already timed out or its connection closed, the answer is discarded.
    pub fn send(self, data: Vec<u8>) {
        if data.len() > self.limit {
            tracing::error!(
                peer = %self.peer,
                size = data.len(),
                limit = self.limit,
                "response refused: larger than max_response_bytes; \
                 closing the stream without an answer"
            );
            return;
        }
        if self.tx.send(data).is_err() {
            tracing::debug!(
                peer = %self.peer,
                "response discarded: the request timed out or its connection closed"
            );
        }
    }
}

/// A verdict on its way to the task.
#[derive(Debug)]
pub(crate) struct Report {
    pub(crate) id: MessageId,
    pub(crate) source: PeerId,
    pub(crate) verdict: Verdict,
}

/// Requests from the handle to the task.
#[derive(Debug)]
pub(crate) enum Command {
    ListenAddrs(oneshot::Sender<Vec<Multiaddr>>),
    Publish {
        topic: Topic,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), PublishError>>,
    },
    Request {
        peer: PeerId,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<Vec<u8>, RequestError>>,
    },
    SetRegistry {
        registry: Vec<PeerId>,
        validators: Vec<PeerId>,
        done: oneshot::Sender<()>,
    },
    Peers(oneshot::Sender<Vec<PeerInfo>>),
    Shutdown(oneshot::Sender<()>),
}

/// The driver's handle on the network task. Cheap to clone; every method is safe to call after
/// the task stopped (it then reports [`PublishError::Stopped`] / [`RequestError::Stopped`] or
/// returns an empty answer).
#[derive(Clone, Debug)]
pub struct NetHandle {
    local_peer_id: PeerId,
    commands: mpsc::Sender<Command>,
    reports: mpsc::Sender<Report>,
    max_gossip_bytes: usize,
    max_request_bytes: usize,
}

impl NetHandle {
    pub(crate) fn new(
        local_peer_id: PeerId,
        commands: mpsc::Sender<Command>,
        reports: mpsc::Sender<Report>,
        max_gossip_bytes: usize,
        max_request_bytes: usize,
    ) -> Self {
        Self {
            local_peer_id,
            commands,
            reports,
            max_gossip_bytes,
            max_request_bytes,
        }
    }

    /// This node's peer id.
    pub fn local_peer_id(&self) -> PeerId {
        self.local_peer_id
    }

    /// The addresses actually bound (port 0 resolved; `0.0.0.0` expanded per interface).
    pub async fn listen_addrs(&self) -> Vec<Multiaddr> {
        self.ask(Command::ListenAddrs).await.unwrap_or_default()
    }

    /// Publishes `data` on `topic` to every connected, subscribed peer.
    ///
    /// [`PublishError::NoSubscribedPeers`] leaves nothing behind: publish again later.
    /// [`PublishError::Duplicate`] means these exact bytes were published or received within
    /// the last minute; the network already has them.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), PublishError> {
        if data.len() > self.max_gossip_bytes {
            return Err(PublishError::TooLarge {
                size: data.len(),
                limit: self.max_gossip_bytes,
            });
        }
        self.ask(|reply| Command::Publish { topic, data, reply })
            .await
            .unwrap_or(Err(PublishError::Stopped))
    }

    /// Reports the verdict on a received gossip message; only [`Verdict::Accept`] forwards it.
    /// Call once per message, within 10 s of receiving it (after that gossipsub has dropped it
    /// and the verdict has no effect). Never blocks: if the verdict queue is full the verdict is
    /// dropped with a warning and the message expires unforwarded.
    pub fn report(&self, message: &GossipMessage, verdict: Verdict) {
        let report = Report {
            id: message.id.clone(),
            source: message.source,
            verdict,
        };
        match self.reports.try_send(report) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(r)) => tracing::warn!(
                message_id = %r.id,
                peer = %r.source,
                "verdict dropped: the network task's verdict queue is full; \
                 the message will expire unforwarded"
            ),
            Err(mpsc::error::TrySendError::Closed(r)) => {
                tracing::debug!(message_id = %r.id, "verdict dropped: network task stopped");
            }
        }
    }

    /// Sends a request to a connected peer and waits for its response (at most
    /// `request_timeout`).
    pub async fn request(&self, peer: PeerId, data: Vec<u8>) -> Result<Vec<u8>, RequestError> {
        if data.len() > self.max_request_bytes {
            return Err(RequestError::RequestTooLarge {
                size: data.len(),
                limit: self.max_request_bytes,
            });
        }
        self.ask(|reply| Command::Request { peer, data, reply })
            .await
            .unwrap_or(Err(RequestError::Stopped))
    }

    /// Governance changed the registry: updates the allow-list and the explicit peers, and
    /// disconnects peers that are no longer allowed. Observers stay as configured at start.
    pub async fn set_registry(&self, registry: Vec<PeerId>, validators: Vec<PeerId>) {
        let _ = self
            .ask(|done| Command::SetRegistry {
                registry,
                validators,
                done,
            })
            .await;
    }

    /// The connected peers.
    pub async fn peers(&self) -> Vec<PeerInfo> {
        self.ask(Command::Peers).await.unwrap_or_default()
    }

    /// Stops the network task and waits until its listeners and connections are closed.
    pub async fn shutdown(self) {
        let _ = self.ask(Command::Shutdown).await;
    }

    /// Sends a command and waits for its reply; `None` if the task is gone.
    async fn ask<T>(&self, command: impl FnOnce(oneshot::Sender<T>) -> Command) -> Option<T> {
        let (tx, rx) = oneshot::channel();
        self.commands.send(command(tx)).await.ok()?;
        rx.await.ok()
    }
}
