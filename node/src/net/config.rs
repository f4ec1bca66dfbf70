//! What the network layer is told at start: who we are, where we listen, whom we dial, who may
//! connect, and the limits that bound every queue and message.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::time::Duration;

use libp2p::gossipsub::{IdentTopic, TopicHash};
use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, StreamProtocol};

use crate::net::error::NetError;

/// Everything [`crate::net::start`] needs.
///
/// `registry`, `validators` and `observers` come from governance (the first two) and local
/// configuration (observers); [`crate::net::NetHandle::set_registry`] replaces the first two
/// while running.
pub struct NetConfig {
    /// The chain identifier; part of every topic and protocol name, so nodes of different chains
    /// never exchange a byte even if they can reach each other.
    pub chain_id: String,
    /// This node's network identity (its node key, see [`crate::net::keypair_from`]).
    pub keypair: libp2p::identity::Keypair,
    /// Addresses to listen on: `/ip4/../tcp/..` and/or `/ip4/../udp/../quic-v1`; port 0 picks a
    /// free port (read the result with [`crate::net::NetHandle::listen_addrs`]).
    pub listen: Vec<Multiaddr>,
    /// Peers to dial at start and redial whenever disconnected. Each address must end in
    /// `/p2p/<peer id>`. These are the ONLY addresses this node ever dials.
    pub bootstrap: Vec<Multiaddr>,
    /// Registered participants' node keys: they may connect and their gossip is delivered.
    pub registry: Vec<PeerId>,
    /// Validators' node keys, a subset of `registry`: gossipsub explicit peers, so every
    /// message is always sent to them, mesh or not. A validator missing from `registry` is
    /// treated as registered (with a warning).
    pub validators: Vec<PeerId>,
    /// Read-only peers: they may connect, receive gossip, and make and answer requests, but
    /// gossip received from them is never delivered nor forwarded. A peer that is also in
    /// `registry` is treated as registered: governance is the authority on who may publish.
    pub observers: Vec<PeerId>,
    /// Limits on messages, connections and timing.
    pub limits: NetLimits,
}

impl fmt::Debug for NetConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The keypair is secret: show only the identity it stands for.
        f.debug_struct("NetConfig")
            .field("chain_id", &self.chain_id)
            .field("peer_id", &self.keypair.public().to_peer_id())
            .field("listen", &self.listen)
            .field("bootstrap", &self.bootstrap)
            .field("registry", &self.registry)
            .field("validators", &self.validators)
            .field("observers", &self.observers)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Bounds on everything the network layer holds or accepts. [`Default`] gives values for a
/// production network of 4–20 organisations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NetLimits {
    /// Largest gossip payload, in bytes, that may be published or is accepted (default 4 MiB:
    /// a full block of events). Larger publishes fail with
    /// [`crate::net::PublishError::TooLarge`]; larger received messages are dropped by
    /// gossipsub before they reach the driver.
    pub max_gossip_bytes: usize,
    /// Largest request body, in bytes (default 64 KiB: sync requests are small queries). Checked
    /// locally before sending and enforced on the length prefix when receiving.
    pub max_request_bytes: usize,
    /// Largest response body, in bytes (default 32 MiB: a batch of blocks during sync). A peer
    /// announcing a larger response is refused before anything is allocated.
    pub max_response_bytes: usize,
    /// Established connections in total, inbound and outbound (default 128).
    pub max_connections: u32,
    /// Established connections to one peer (default 2: simultaneous dials from both sides may
    /// briefly produce two).
    pub max_connections_per_peer: u32,
    /// How long a connection that no protocol needs stays open (default 1 h). Gossipsub keeps
    /// its long-lived streams open, so connections to gossiping peers never idle out; this only
    /// closes connections nothing uses.
    pub idle_connection_timeout: Duration,
    /// Base delay before redialling a disconnected bootstrap peer (default 1 s). Doubles after
    /// each failed or short-lived attempt, up to [`MAX_REDIAL_BACKOFF`]; back to the base once
    /// a connection has been up for [`STABLE_CONNECTION`].
    pub redial_interval: Duration,
    /// How long an outbound request waits for its response, and an inbound one for the
    /// driver's answer (default 30 s).
    pub request_timeout: Duration,
}

/// The longest wait between two dials of the same bootstrap peer.
pub const MAX_REDIAL_BACKOFF: Duration = Duration::from_secs(30);

/// A connection that stayed up this long counts as a success: the redial backoff resets. A
/// shorter one (e.g. the remote refuses us right after the handshake) counts as a failure, so a
/// peer that keeps refusing us is not redialled every second.
pub const STABLE_CONNECTION: Duration = Duration::from_secs(10);

impl Default for NetLimits {
    fn default() -> Self {
        Self {
            max_gossip_bytes: 4 * 1024 * 1024,
            max_request_bytes: 64 * 1024,
            max_response_bytes: 32 * 1024 * 1024,
            max_connections: 128,
            max_connections_per_peer: 2,
            idle_connection_timeout: Duration::from_secs(3600),
            redial_interval: Duration::from_secs(1),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The gossip topics. Every topic name carries the chain id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Signed supply-chain events travelling to the mempools.
    Events,
    /// Consensus proposals and votes.
    Consensus,
}

impl Topic {
    /// Both topics, in a fixed order.
    pub const ALL: [Topic; 2] = [Topic::Events, Topic::Consensus];

    /// The short name used in topic names and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Events => "events",
            Topic::Consensus => "consensus",
        }
    }

    /// The gossipsub topic: `/provenance/{chain_id}/{name}/1`.
    pub fn gossipsub_topic(self, chain_id: &str) -> IdentTopic {
        IdentTopic::new(format!("/provenance/{chain_id}/{}/1", self.as_str()))
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The two gossipsub topic hashes of one chain, for mapping received messages back to a
/// [`Topic`].
#[derive(Clone, Debug)]
pub(crate) struct TopicNames {
    events: IdentTopic,
    consensus: IdentTopic,
}

impl TopicNames {
    pub(crate) fn new(chain_id: &str) -> Self {
        Self {
            events: Topic::Events.gossipsub_topic(chain_id),
            consensus: Topic::Consensus.gossipsub_topic(chain_id),
        }
    }

    pub(crate) fn topic(&self, topic: Topic) -> &IdentTopic {
        match topic {
            Topic::Events => &self.events,
            Topic::Consensus => &self.consensus,
        }
    }

    /// `None` for a topic of another chain or protocol version.
    pub(crate) fn lookup(&self, hash: &TopicHash) -> Option<Topic> {
        Topic::ALL
            .into_iter()
            .find(|t| &self.topic(*t).hash() == hash)
    }
}

/// The identify protocol version: peers announcing another one run another chain.
pub(crate) fn identify_protocol_version(chain_id: &str) -> String {
    format!("/provenance/{chain_id}/id/1.0.0")
}

/// The request-response protocol name.
pub(crate) fn sync_protocol(chain_id: &str) -> Result<StreamProtocol, NetError> {
    let name = format!("/provenance/{chain_id}/sync/1");
    StreamProtocol::try_from_owned(name).map_err(|_| NetError::InvalidChainId {
        chain_id: chain_id.to_owned(),
    })
}

/// Checks the chain id can be used in protocol names: non-empty, printable ASCII, no `/`.
pub(crate) fn validate_chain_id(chain_id: &str) -> Result<(), NetError> {
    let ok = !chain_id.is_empty() && chain_id.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
    if ok {
        Ok(())
    } else {
        Err(NetError::InvalidChainId {
            chain_id: chain_id.to_owned(),
        })
    }
}

/// Splits each bootstrap address into its peer id and the address to dial, grouping several
/// addresses of one peer (e.g. TCP and QUIC). Entries for `local` are skipped: a config shared by
/// every node may list the node itself.
pub(crate) fn parse_bootstrap(
    bootstrap: &[Multiaddr],
    local: PeerId,
) -> Result<HashMap<PeerId, Vec<Multiaddr>>, NetError> {
    let mut peers: HashMap<PeerId, Vec<Multiaddr>> = HashMap::new();
    for addr in bootstrap {
        let mut dial = addr.clone();
        let peer = match dial.pop() {
            Some(Protocol::P2p(peer)) => peer,
            _ => return Err(NetError::BootstrapWithoutPeerId { addr: addr.clone() }),
        };
        if dial.iter().next().is_none() {
            return Err(NetError::BootstrapWithoutTransport { addr: addr.clone() });
        }
        if peer == local {
            tracing::info!(%addr, "bootstrap address is this node's own; not dialling it");
            continue;
        }
        let addrs = peers.entry(peer).or_default();
        if !addrs.contains(&dial) {
            addrs.push(dial);
        }
    }
    Ok(peers)
}

/// Who may connect and what they may do, derived from the registry, validators and observers.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Membership {
    pub(crate) registry: HashSet<PeerId>,
    pub(crate) validators: HashSet<PeerId>,
    pub(crate) observers: HashSet<PeerId>,
}

/// What a connected peer is to us.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerRole {
    /// A registered participant that validates: gossipsub explicit peer.
    Validator,
    /// A registered participant that does not validate.
    Registered,
    /// A read-only peer whose gossip is ignored.
    Observer,
}

impl Membership {
    /// Normalises the lists: validators are registered, registered peers are not observers.
    pub(crate) fn new(registry: &[PeerId], validators: &[PeerId], observers: &[PeerId]) -> Self {
        let mut registry: HashSet<PeerId> = registry.iter().copied().collect();
        let validators: HashSet<PeerId> = validators.iter().copied().collect();
        for v in &validators {
            if registry.insert(*v) {
                tracing::warn!(peer = %v, "validator not in the registry; treated as registered");
            }
        }
        let observers = observers
            .iter()
            .copied()
            .filter(|o| {
                let registered = registry.contains(o);
                if registered {
                    tracing::warn!(peer = %o, "observer is also registered; treated as registered");
                }
                !registered
            })
            .collect();
        Self {
            registry,
            validators,
            observers,
        }
    }

    /// Registry ∪ observers: the peers that may hold a connection.
    pub(crate) fn allowed(&self) -> HashSet<PeerId> {
        self.registry.union(&self.observers).copied().collect()
    }

    pub(crate) fn role(&self, peer: &PeerId) -> Option<PeerRole> {
        if self.validators.contains(peer) {
            Some(PeerRole::Validator)
        } else if self.registry.contains(peer) {
            Some(PeerRole::Registered)
        } else if self.observers.contains(peer) {
            Some(PeerRole::Observer)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use libp2p::identity::Keypair;

    use super::*;

    fn peer() -> PeerId {
        Keypair::generate_ed25519().public().to_peer_id()
    }

    #[test]
    fn topic_names_carry_the_chain_id_and_map_back() {
        let names = TopicNames::new("acme-1");
        assert_eq!(
            names.topic(Topic::Events).hash().as_str(),
            "/provenance/acme-1/events/1"
        );
        assert_eq!(
            names.topic(Topic::Consensus).hash().as_str(),
            "/provenance/acme-1/consensus/1"
        );
        for t in Topic::ALL {
            assert_eq!(names.lookup(&names.topic(t).hash()), Some(t));
        }
        let other = TopicNames::new("acme-2");
        assert_eq!(names.lookup(&other.topic(Topic::Events).hash()), None);
    }

    #[test]
    fn chain_id_must_be_usable_in_protocol_names() {
        assert!(validate_chain_id("acme-1").is_ok());
        for bad in ["", "a/b", "a b", "é"] {
            let err = validate_chain_id(bad).unwrap_err();
            assert!(err.to_string().contains(&format!("{bad:?}")), "{err}");
        }
        assert_eq!(
            sync_protocol("acme-1").unwrap().as_ref(),
            "/provenance/acme-1/sync/1"
        );
    }

    #[test]
    fn bootstrap_addresses_need_a_peer_id_and_a_transport() {
        let local = peer();
        let remote = peer();
        let good: Multiaddr = format!("/ip4/127.0.0.1/tcp/4001/p2p/{remote}")
            .parse()
            .unwrap();
        let quic: Multiaddr = format!("/ip4/127.0.0.1/udp/4001/quic-v1/p2p/{remote}")
            .parse()
            .unwrap();
        let own: Multiaddr = format!("/ip4/127.0.0.1/tcp/4002/p2p/{local}")
            .parse()
            .unwrap();
        let parsed = parse_bootstrap(&[good.clone(), quic, own, good], local).unwrap();
        assert_eq!(parsed.len(), 1, "own address skipped, same peer grouped");
        assert_eq!(parsed[&remote].len(), 2, "duplicate address kept once");

        let no_peer: Multiaddr = "/ip4/127.0.0.1/tcp/4001".parse().unwrap();
        let err = parse_bootstrap(std::slice::from_ref(&no_peer), local).unwrap_err();
        assert!(err.to_string().contains("/ip4/127.0.0.1/tcp/4001"), "{err}");
        assert!(err.to_string().contains("/p2p/"), "{err}");

        let only_peer: Multiaddr = format!("/p2p/{remote}").parse().unwrap();
        let err = parse_bootstrap(&[only_peer], local).unwrap_err();
        assert!(err.to_string().contains(&remote.to_string()), "{err}");
    }

    #[test]
    fn membership_normalises_roles() {
        let (r, v, o, both) = (peer(), peer(), peer(), peer());
        let m = Membership::new(&[r, both], &[v], &[o, both]);
        assert_eq!(m.role(&r), Some(PeerRole::Registered));
        assert_eq!(
            m.role(&v),
            Some(PeerRole::Validator),
            "validator added to registry"
        );
        assert!(m.registry.contains(&v));
        assert_eq!(m.role(&o), Some(PeerRole::Observer));
        assert_eq!(m.role(&both), Some(PeerRole::Registered), "registry wins");
        assert_eq!(m.role(&peer()), None);
        assert_eq!(m.allowed().len(), 4);
    }

    #[test]
    fn default_limits_match_the_documented_values() {
        let l = NetLimits::default();
        assert_eq!(l.max_gossip_bytes, 4 << 20);
        assert_eq!(l.max_request_bytes, 64 << 10);
        assert_eq!(l.max_response_bytes, 32 << 20);
        assert_eq!((l.max_connections, l.max_connections_per_peer), (128, 2));
        assert_eq!(l.idle_connection_timeout, Duration::from_secs(3600));
        assert_eq!(l.redial_interval, Duration::from_secs(1));
        assert_eq!(l.request_timeout, Duration::from_secs(30));
    }
}
