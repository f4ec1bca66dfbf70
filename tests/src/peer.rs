//! [`InProcessPeer`]: a libp2p peer inside the test process, built from the node's own network
//! code (`provenance_node::net`) and wire format (`provenance_node::wire`).
//!
//! Tests that need a participant the nodes cannot tell from a real one use it: a Byzantine
//! stand-in holding a validator's keys (it listens where that validator's node would and dials
//! whom it would, so the others connect to it as to the node), an intruder with a key genesis
//! does not know, an observer. It speaks exactly the protocols a node speaks, but the test
//! decides what it says.
//!
//! The peer owns a small Tokio runtime; blocking test code drives it through
//! [`InProcessPeer::block_on`] and the convenience wrappers, or spawns a task on it that reads
//! [`InProcessPeer::take_events`]. Dropping the peer shuts its network down.

use std::net::SocketAddr;
use std::time::Duration;

use libp2p::{Multiaddr, PeerId};
use provenance_node::net::{
    self, NetConfig, NetError, NetEvent, NetHandle, NetLimits, PeerInfo, PublishError, Topic,
};
use provenance_node::wire::{self, SyncRequest, SyncResponse};
use provenance_protocol::codec::CodecError;
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::{Genesis, Role};
use tokio::runtime::Runtime;
use tokio::sync::mpsc;

use crate::testnet::TestNet;

/// Worker threads of a peer's runtime: it gossips a few messages a second, and the machine's
/// cores belong to the nodes.
pub const PEER_WORKER_THREADS: usize = 2;
/// How long dropping a peer waits for its network task to close its connections.
pub const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(5);

/// Why an in-process peer could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerError {
    #[error("cannot build the in-process peer's Tokio runtime: {0}")]
    Runtime(#[source] std::io::Error),
    #[error("{addr:?} is not a multiaddr: {reason}")]
    Address { addr: String, reason: String },
    #[error("the in-process peer's network did not start: {0}")]
    Net(#[from] NetError),
}

/// Why a sync request of an in-process peer got no usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerRequestError {
    #[error("the request to {peer} failed: {source}")]
    Request {
        peer: PeerId,
        /// Boxed: the network's error is large and this one travels in every `Result`.
        #[source]
        source: Box<net::RequestError>,
    },
    #[error("{peer} answered bytes that are not a sync response: {source}")]
    Decode {
        peer: PeerId,
        #[source]
        source: CodecError,
    },
}

/// Ports a stand-in tries before giving up.
pub const STAND_IN_ATTEMPTS: usize = 5;

/// Who an [`InProcessPeer`] is and whom it talks to.
#[derive(Debug)]
pub struct PeerSpec {
    /// Its network identity (the libp2p ed25519 key).
    pub node_key: SigningKey,
    /// Where it listens, `127.0.0.1:0` for any free port.
    pub listen: SocketAddr,
    /// Whom it dials (and redials): `/ip4/../tcp/../p2p/<peer id>` multiaddrs.
    pub bootstrap: Vec<String>,
}

/// A libp2p peer in the test process. See the module documentation.
#[derive(Debug)]
pub struct InProcessPeer {
    runtime: Runtime,
    handle: NetHandle,
    events: Option<mpsc::Receiver<NetEvent>>,
    limits: NetLimits,
}

impl InProcessPeer {
    /// Starts a peer on `net`'s chain. Like a node, it lets the participants genesis registers
    /// connect (the validators as gossipsub explicit peers) and nobody else.
    pub fn start(net: &TestNet, spec: PeerSpec) -> Result<InProcessPeer, PeerError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(PEER_WORKER_THREADS)
            .thread_name("in-process-peer")
            .enable_all()
            .build()
            .map_err(PeerError::Runtime)?;
        let listen = multiaddr(&format!(
            "/ip4/{}/tcp/{}",
            spec.listen.ip(),
            spec.listen.port()
        ))?;
        let bootstrap = spec
            .bootstrap
            .iter()
            .map(|a| multiaddr(a))
            .collect::<Result<Vec<_>, _>>()?;
        let (registry, validators) = membership(net.genesis());
        let limits = NetLimits::default();
        let config = NetConfig {
            chain_id: net.genesis().chain_id.clone(),
            keypair: net::keypair_from(&spec.node_key),
            listen: vec![listen],
            bootstrap,
            registry,
            validators,
            observers: Vec::new(),
            limits,
        };
        let (handle, events) = runtime.block_on(net::start(config))?;
        Ok(InProcessPeer {
            runtime,
            handle,
            events: Some(events),
            limits,
        })
    }

    /// A stand-in for node `i`, which must not be running: node `i`'s network key, listening on
    /// node `i`'s p2p address (where the other nodes' links to `i` lead), dialling node `i`'s
    /// bootstrap list. The others cannot tell it from node `i`.
    ///
    /// If node `i`'s port was taken meanwhile, the stand-in moves to a fresh one and the links
    /// to node `i` follow it.
    ///
    /// # Panics
    /// If node `i` is running or the peer cannot start in [`STAND_IN_ATTEMPTS`] attempts.
    pub fn stand_in(net: &TestNet, i: usize) -> InProcessPeer {
        assert!(
            !net.is_running(i),
            "node {i} is running; stop it before standing in for it"
        );
        let mut last_error = None;
        for _ in 0..STAND_IN_ATTEMPTS {
            let spec = PeerSpec {
                node_key: net.node_key(i),
                listen: net.p2p_addr(i),
                bootstrap: net.bootstrap(i),
            };
            match InProcessPeer::start(net, spec) {
                Ok(peer) => return peer,
                Err(e) => {
                    // Most likely the port was taken since it was chosen: move and retry.
                    last_error = Some(e);
                    net.move_p2p(i);
                }
            }
        }
        panic!(
            "cannot start a stand-in for node {i} after {STAND_IN_ATTEMPTS} attempts: {}",
            last_error.map(|e| e.to_string()).unwrap_or_default()
        )
    }

    /// The network handle (publish, request, report, peers).
    pub fn handle(&self) -> &NetHandle {
        &self.handle
    }

    /// The peer's id.
    pub fn peer_id(&self) -> PeerId {
        self.handle.local_peer_id()
    }

    /// The limits the peer's network runs with (decode responses within `max_response_bytes`).
    pub fn limits(&self) -> NetLimits {
        self.limits
    }

    /// The runtime, to spawn a task that acts for the peer.
    pub fn runtime(&self) -> &Runtime {
        &self.runtime
    }

    /// Runs `future` on the peer's runtime from blocking code.
    pub fn block_on<F: Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// What the network delivers (gossip, requests, connections). Until it is taken, events
    /// queue up to the network's bound and then gossip is dropped and requests are refused.
    ///
    /// # Panics
    /// On a second call.
    pub fn take_events(&mut self) -> mpsc::Receiver<NetEvent> {
        self.events
            .take()
            .expect("InProcessPeer::take_events was already called")
    }

    /// The peers connected now.
    pub fn peers(&self) -> Vec<PeerInfo> {
        self.block_on(self.handle.peers())
    }

    /// Publishes `data` on `topic`.
    pub fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), PublishError> {
        self.block_on(self.handle.publish(topic, data))
    }

    /// Sends a sync request to `peer` and decodes the answer.
    pub fn request(
        &self,
        peer: PeerId,
        request: &SyncRequest,
    ) -> Result<SyncResponse, PeerRequestError> {
        self.block_on(request_sync(&self.handle, self.limits, peer, request))
    }
}

impl Drop for InProcessPeer {
    fn drop(&mut self) {
        let handle = self.handle.clone();
        self.runtime.block_on(async {
            let _ = tokio::time::timeout(SHUTDOWN_TIMEOUT, handle.shutdown()).await;
        });
    }
}

/// Sends a sync request through `handle` and decodes the answer (for tasks on a peer's
/// runtime; blocking code uses [`InProcessPeer::request`]).
pub async fn request_sync(
    handle: &NetHandle,
    limits: NetLimits,
    peer: PeerId,
    request: &SyncRequest,
) -> Result<SyncResponse, PeerRequestError> {
    let bytes = handle
        .request(peer, wire::encode(request))
        .await
        .map_err(|source| PeerRequestError::Request {
            peer,
            source: Box::new(source),
        })?;
    wire::decode::<SyncResponse>(&bytes, limits.max_response_bytes)
        .map_err(|source| PeerRequestError::Decode { peer, source })
}

/// The peer ids genesis registers (every participant's network key) and, among them, the
/// validators'.
fn membership(genesis: &Genesis) -> (Vec<PeerId>, Vec<PeerId>) {
    let registry = genesis
        .participants
        .iter()
        .map(|p| net::peer_id_of(&p.network_key))
        .collect();
    let validators = genesis
        .participants
        .iter()
        .filter(|p| p.roles.contains(&Role::Validator))
        .map(|p| net::peer_id_of(&p.network_key))
        .collect();
    (registry, validators)
}

fn multiaddr(text: &str) -> Result<Multiaddr, PeerError> {
    text.parse()
        .map_err(|e: libp2p::multiaddr::Error| PeerError::Address {
            addr: text.to_owned(),
            reason: e.to_string(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn membership_lists_every_participant_and_marks_the_validators() {
        let net = TestNet::builder().validators(3).signers(2).build();
        let (registry, validators) = membership(net.genesis());
        assert_eq!(registry.len(), 5);
        assert_eq!(
            validators,
            (0..3).map(|i| net.peer_id(i)).collect::<Vec<_>>()
        );
        assert!(validators.iter().all(|v| registry.contains(v)));
    }

    #[test]
    fn bad_multiaddrs_are_named() {
        let err = multiaddr("/ip4/not-an-ip/tcp/1").unwrap_err();
        assert!(err.to_string().contains("not-an-ip"), "{err}");
    }

    /// A peer starts on a free port without any node, sees nobody, and shuts down on drop.
    #[test]
    fn a_peer_starts_alone_and_has_no_peers() {
        let net = TestNet::builder().validators(1).signers(1).build();
        let peer = InProcessPeer::start(
            &net,
            PeerSpec {
                node_key: SigningKey::from_seed([0x42; 32]),
                listen: "127.0.0.1:0".parse().unwrap(),
                bootstrap: Vec::new(),
            },
        )
        .unwrap();
        assert!(peer.peers().is_empty());
        assert_eq!(
            peer.peer_id(),
            net::peer_id_of(&SigningKey::from_seed([0x42; 32]).public_key())
        );
        assert!(matches!(
            peer.publish(Topic::Events, vec![1, 2, 3]),
            Err(PublishError::NoSubscribedPeers { .. })
        ));
    }
}
