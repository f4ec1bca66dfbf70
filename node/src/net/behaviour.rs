//! The libp2p protocols the node speaks, and how each is tuned for a small permissioned network.
//!
//! Order matters in the composed behaviour: the allow-list and the connection limits come first
//! so a refused connection is refused before any other protocol sees it.

use std::time::Duration;

use libp2p::gossipsub::{
    self, MessageAuthenticity, MessageId, PeerScoreParams, PeerScoreThresholds, TopicScoreParams,
    ValidationMode,
};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{allow_block_list, connection_limits, identify, identity, ping, request_response};
use sha2::{Digest, Sha256};

use crate::net::codec::BytesCodec;
use crate::net::config::{NetLimits, Topic, TopicNames, identify_protocol_version, sync_protocol};
use crate::net::error::NetError;

/// Bytes gossipsub's frame limit allows beyond `max_gossip_bytes`: the protobuf envelope (topic
/// name, field tags, lengths) around a payload of exactly the limit must still fit.
pub(crate) const GOSSIP_FRAME_OVERHEAD: usize = 4 * 1024;

/// Gossipsub's heartbeat: mesh maintenance, IHAVE gossip, cache expiry.
pub(crate) const HEARTBEAT_INTERVAL: Duration = Duration::from_secs(1);
/// Heartbeats an unvalidated message stays in gossipsub's cache. The driver must report a
/// verdict within this many heartbeats or the message is dropped unforwarded.
pub(crate) const GOSSIP_HISTORY_HEARTBEATS: u32 = 10;

/// Interval between pings on every connection.
pub(crate) const PING_INTERVAL: Duration = Duration::from_secs(5);
/// A ping unanswered this long closes the connection, so a silently dead link (a partition that
/// drops packets without resetting TCP) is noticed and the bootstrap peer redialled.
pub(crate) const PING_TIMEOUT: Duration = Duration::from_secs(10);

/// Concurrent request-response streams per connection (inbound and outbound together).
pub(crate) const MAX_CONCURRENT_REQUEST_STREAMS: usize = 32;

/// Connections still in their handshake: bounds what an unauthenticated dialer can cost.
pub(crate) const MAX_PENDING_INCOMING: u32 = 32;

/// Peer score thresholds. A peer below `graylist_threshold` is ignored by gossipsub and
/// disconnected by the swarm task for a cool-down.
pub(crate) const SCORE_THRESHOLDS: ScoreThresholds = ScoreThresholds {
    gossip: -10.0,
    publish: -50.0,
    graylist: -80.0,
};

/// Copyable view of the thresholds (gossipsub's type is not `const`-constructible).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ScoreThresholds {
    pub(crate) gossip: f64,
    pub(crate) publish: f64,
    pub(crate) graylist: f64,
}

/// Penalty weight of one invalid (rejected) message, applied to the squared count of invalid
/// messages per topic: 1 → -10, 2 → -40, 3 → -90. The positive part of a score is at most +3 per
/// topic, so three rejected messages in a few minutes graylist any peer.
const INVALID_MESSAGE_WEIGHT: f64 = -10.0;
/// Over how long the invalid-message count decays to a tenth.
const INVALID_MESSAGE_DECAY: Duration = Duration::from_secs(300);
/// Cap on the positive part of a score: good behaviour cannot buy tolerance for invalid messages.
const TOPIC_SCORE_CAP: f64 = 10.0;
/// P1, credit for time in the mesh: 0.01 per second, at most +1 per topic.
const TIME_IN_MESH_WEIGHT: f64 = 0.01;
const TIME_IN_MESH_CAP: f64 = 100.0;
/// P2, credit for first deliveries of valid messages: at most +2 per topic.
const FIRST_DELIVERIES_CAP: f64 = 2.0;

/// The composed protocols. Field order is the order in which connection decisions are asked.
#[derive(NetworkBehaviour)]
pub(crate) struct Behaviour {
    pub(crate) allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    pub(crate) limits: connection_limits::Behaviour,
    pub(crate) identify: identify::Behaviour,
    pub(crate) ping: ping::Behaviour,
    pub(crate) gossipsub: gossipsub::Behaviour,
    pub(crate) sync: request_response::Behaviour<BytesCodec>,
}

impl Behaviour {
    pub(crate) fn new(
        key: &identity::Keypair,
        chain_id: &str,
        limits: &NetLimits,
        topics: &TopicNames,
    ) -> Result<Self, NetError> {
        let connection_limits = connection_limits::ConnectionLimits::default()
            .with_max_established(Some(limits.max_connections))
            .with_max_established_per_peer(Some(limits.max_connections_per_peer))
            .with_max_pending_incoming(Some(MAX_PENDING_INCOMING));

        // cache_size 0: addresses a peer reports about itself are never kept, so nothing but the
        // configured bootstrap addresses is ever dialled.
        let identify = identify::Behaviour::new(
            identify::Config::new(identify_protocol_version(chain_id), key.public())
                .with_agent_version(format!("provenance-node/{}", env!("CARGO_PKG_VERSION")))
                .with_cache_size(0),
        );

        let ping = ping::Behaviour::new(
            ping::Config::new()
                .with_interval(PING_INTERVAL)
                .with_timeout(PING_TIMEOUT),
        );

        let sync = request_response::Behaviour::with_codec(
            BytesCodec::new(limits.max_request_bytes, limits.max_response_bytes),
            [(
                sync_protocol(chain_id)?,
                request_response::ProtocolSupport::Full,
            )],
            request_response::Config::default()
                .with_request_timeout(limits.request_timeout)
                .with_max_concurrent_streams(MAX_CONCURRENT_REQUEST_STREAMS),
        );

        Ok(Self {
            allow: allow_block_list::Behaviour::default(),
            limits: connection_limits::Behaviour::new(connection_limits),
            identify,
            ping,
            gossipsub: gossipsub(limits, topics)?,
            sync,
        })
    }
}

fn setup_error(reason: impl std::fmt::Display) -> NetError {
    NetError::Setup {
        component: "gossipsub",
        reason: reason.to_string(),
    }
}

/// The message id is the SHA-256 of the payload: payloads are signed by our protocol and carry
/// no gossipsub envelope, so identical bytes are the same message whoever relays them.
pub(crate) fn message_id(data: &[u8]) -> MessageId {
    MessageId::new(&Sha256::digest(data))
}

fn gossipsub(limits: &NetLimits, topics: &TopicNames) -> Result<gossipsub::Behaviour, NetError> {
    let config = gossipsub::ConfigBuilder::default()
        // Payloads are signed by the protocol; gossipsub adds no author, seqno or signature.
        .validation_mode(ValidationMode::Anonymous)
        // Nothing is forwarded before the driver reports a verdict.
        .validate_messages()
        .message_id_fn(|m: &gossipsub::Message| message_id(&m.data))
        .max_transmit_size(
            limits
                .max_gossip_bytes
                .saturating_add(GOSSIP_FRAME_OVERHEAD),
        )
        // Small networks (4–20 nodes): a mesh that can hold everyone, publish to every
        // subscribed peer (flood publish) and gossip IHAVE to every non-mesh peer, so a message
        // reaches peers outside the mesh too.
        .mesh_n(8)
        .mesh_n_low(4)
        .mesh_n_high(16)
        .mesh_outbound_min(2)
        .gossip_lazy(20)
        .gossip_factor(1.0)
        .flood_publish(true)
        .heartbeat_interval(HEARTBEAT_INTERVAL)
        .heartbeat_initial_delay(Duration::from_millis(500))
        .history_length(GOSSIP_HISTORY_HEARTBEATS as usize)
        .history_gossip(3)
        .build()
        .map_err(setup_error)?;

    let mut behaviour =
        gossipsub::Behaviour::new(MessageAuthenticity::Anonymous, config).map_err(setup_error)?;

    let mut params = PeerScoreParams {
        topic_score_cap: TOPIC_SCORE_CAP,
        // Everyone is admitted by key: many organisations behind one NAT or a test on
        // 127.0.0.1 must not be penalised for sharing an IP.
        ip_colocation_factor_weight: 0.0,
        ..PeerScoreParams::default()
    };
    for topic in Topic::ALL {
        params
            .topics
            .insert(topics.topic(topic).hash(), topic_score_params());
    }
    let thresholds = PeerScoreThresholds {
        gossip_threshold: SCORE_THRESHOLDS.gossip,
        publish_threshold: SCORE_THRESHOLDS.publish,
        graylist_threshold: SCORE_THRESHOLDS.graylist,
        ..PeerScoreThresholds::default()
    };
    behaviour
        .with_peer_score(params, thresholds)
        .map_err(setup_error)?;
    Ok(behaviour)
}

/// Scoring of one topic: invalid messages dominate; mesh-delivery penalties are off because a
/// ledger's traffic is bursty and sparse (an idle hour is not misbehaviour).
fn topic_score_params() -> TopicScoreParams {
    TopicScoreParams {
        topic_weight: 1.0,
        // P1: a little credit for time in the mesh, at most +1.
        time_in_mesh_weight: TIME_IN_MESH_WEIGHT,
        time_in_mesh_quantum: Duration::from_secs(1),
        time_in_mesh_cap: TIME_IN_MESH_CAP,
        // P2: credit for first deliveries of valid messages, at most +2.
        first_message_deliveries_weight: 1.0,
        first_message_deliveries_decay: gossipsub::score_parameter_decay(Duration::from_secs(600)),
        first_message_deliveries_cap: FIRST_DELIVERIES_CAP,
        // P3, P3b: off (sparse traffic).
        mesh_message_deliveries_weight: 0.0,
        mesh_failure_penalty_weight: 0.0,
        // P4: invalid messages.
        invalid_message_deliveries_weight: INVALID_MESSAGE_WEIGHT,
        invalid_message_deliveries_decay: gossipsub::score_parameter_decay(INVALID_MESSAGE_DECAY),
        ..TopicScoreParams::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_id_is_the_content_hash() {
        let id = message_id(b"abc");
        assert_eq!(
            id.to_string(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn three_invalid_messages_graylist_even_a_peer_with_full_credit() {
        let p = topic_score_params();
        let credit_per_topic = p.time_in_mesh_weight * p.time_in_mesh_cap
            + p.first_message_deliveries_weight * p.first_message_deliveries_cap;
        let full_credit = (credit_per_topic * Topic::ALL.len() as f64).min(TOPIC_SCORE_CAP);
        let score =
            |invalid: f64| full_credit + p.invalid_message_deliveries_weight * invalid * invalid;
        assert!(
            score(1.0) > SCORE_THRESHOLDS.graylist,
            "one mistake is tolerated"
        );
        assert!(score(3.0) < SCORE_THRESHOLDS.graylist);
    }

    #[test]
    fn the_protocols_build_with_default_and_small_limits() {
        let key = identity::Keypair::generate_ed25519();
        let topics = TopicNames::new("acme-1");
        Behaviour::new(&key, "acme-1", &NetLimits::default(), &topics).unwrap();
        let small = NetLimits {
            max_gossip_bytes: 1,
            ..NetLimits::default()
        };
        Behaviour::new(&key, "acme-1", &small, &topics).unwrap();
    }
}
