//! One error enum per operation: starting the network, publishing gossip, making a request.

use std::time::Duration;

use libp2p::request_response::OutboundFailure;
use libp2p::{Multiaddr, PeerId};

use crate::net::codec::{FrameKind, FrameTooLarge};
use crate::net::config::Topic;

/// Why [`crate::net::start`] failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The chain id cannot be part of a protocol name.
    #[error(
        "chain id {chain_id:?} cannot be used in network protocol names: it must be non-empty \
         printable ASCII without spaces or '/'"
    )]
    InvalidChainId {
        /// The rejected chain id.
        chain_id: String,
    },
    /// A bootstrap address does not name the peer to expect there.
    #[error(
        "bootstrap address {addr} does not end in /p2p/<peer id>; append the node's peer id so \
         the connection can be authenticated"
    )]
    BootstrapWithoutPeerId {
        /// The rejected address.
        addr: Multiaddr,
    },
    /// A bootstrap address names a peer but no way to reach it.
    #[error(
        "bootstrap address {addr} has no transport part; use e.g. \
         /ip4/10.0.0.1/tcp/4001/p2p/<peer id>"
    )]
    BootstrapWithoutTransport {
        /// The rejected address.
        addr: Multiaddr,
    },
    /// A listen address could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Listen {
        /// The address that failed.
        addr: Multiaddr,
        /// What the transport reported.
        reason: String,
    },
    /// A limit has a value the network layer cannot work with.
    #[error("network limit {name} = {value} is invalid: {reason}")]
    InvalidLimit {
        /// The `NetLimits` field.
        name: &'static str,
        /// Its value, as text.
        value: String,
        /// What it must be instead.
        reason: &'static str,
    },
    /// libp2p refused to build the transport or a protocol (a bug or an impossible config).
    #[error("cannot set up the {component}: {reason}")]
    Setup {
        /// Which part failed (e.g. "TCP transport", "gossipsub").
        component: &'static str,
        /// What libp2p reported.
        reason: String,
    },
}

/// Why a gossip message was not published.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublishError {
    /// Nobody would receive it. The message is not remembered, so publishing it again later
    /// (once peers are connected) works.
    #[error("no connected peer is subscribed to the {topic} topic")]
    NoSubscribedPeers {
        /// The topic published on.
        topic: Topic,
    },
    /// The payload exceeds `NetLimits::max_gossip_bytes`.
    #[error("gossip message of {size} bytes exceeds the max_gossip_bytes limit of {limit} bytes")]
    TooLarge {
        /// The payload size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The same bytes were published or received on this node recently (gossipsub remembers
    /// message ids for a minute): the network already has them, so nothing was sent. Callers
    /// can treat this as success.
    #[error(
        "an identical message was already published or received on the {topic} topic within \
         the last minute; it was not sent again"
    )]
    Duplicate {
        /// The topic published on.
        topic: Topic,
    },
    /// Every subscribed peer's send queue is full: the network is congested or the peers are
    /// stalled.
    #[error("the send queues of all {peers} peers subscribed to the {topic} topic are full")]
    QueuesFull {
        /// The topic published on.
        topic: Topic,
        /// How many peers were tried.
        peers: usize,
    },
    /// Gossipsub refused the message for another reason.
    #[error("gossipsub refused the message on the {topic} topic: {reason}")]
    Gossipsub {
        /// The topic published on.
        topic: Topic,
        /// What gossipsub reported.
        reason: String,
    },
    /// The network task is not running (shut down or crashed).
    #[error("the network task has stopped; nothing can be published")]
    Stopped,
}

/// Why a request got no response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Requests go only to connected peers (this node never dials addresses it learnt from
    /// others); the peer is not connected right now.
    #[error("not connected to peer {peer}; requests are only sent to connected peers")]
    NotConnected {
        /// The peer asked.
        peer: PeerId,
    },
    /// The connection needed for the request could not be opened.
    #[error("could not reach peer {peer} to send the request")]
    DialFailure {
        /// The peer asked.
        peer: PeerId,
    },
    /// No response within `NetLimits::request_timeout`.
    #[error("peer {peer} did not answer within {after:?}")]
    Timeout {
        /// The peer asked.
        peer: PeerId,
        /// The configured timeout.
        after: Duration,
    },
    /// The peer announced a response larger than `NetLimits::max_response_bytes`; it was
    /// refused before being read.
    #[error(
        "peer {peer} announced a response of {size} bytes, over the max_response_bytes limit \
         of {limit} bytes"
    )]
    ResponseTooLarge {
        /// The peer asked.
        peer: PeerId,
        /// The announced size.
        size: u64,
        /// The configured limit.
        limit: usize,
    },
    /// The request exceeds `NetLimits::max_request_bytes`; it was not sent.
    #[error("request of {size} bytes exceeds the max_request_bytes limit of {limit} bytes")]
    RequestTooLarge {
        /// The request size.
        size: usize,
        /// The configured limit.
        limit: usize,
    },
    /// The peer closed the stream without answering (it had no answer, refused, or its
    /// response exceeded its own limit).
    #[error("peer {peer} closed the stream without answering")]
    Closed {
        /// The peer asked.
        peer: PeerId,
    },
    /// The connection went down before the response arrived.
    #[error("the connection to peer {peer} closed before its response arrived")]
    ConnectionClosed {
        /// The peer asked.
        peer: PeerId,
    },
    /// The peer does not speak this chain's sync protocol.
    #[error("peer {peer} does not support this chain's sync protocol")]
    UnsupportedProtocol {
        /// The peer asked.
        peer: PeerId,
    },
    /// The stream failed (malformed frame, reset, ...).
    #[error("the request stream to peer {peer} failed: {reason}")]
    Stream {
        /// The peer asked.
        peer: PeerId,
        /// What failed.
        reason: String,
    },
    /// Too many of our requests are already waiting for responses.
    #[error("{limit} requests are already waiting for responses; try again later")]
    TooManyPending {
        /// The limit on outstanding requests.
        limit: usize,
    },
    /// The network task is not running (shut down or crashed).
    #[error("the network task has stopped; no request can be made")]
    Stopped,
}

impl RequestError {
    /// Translates request-response's failure; `timeout` is the configured request timeout.
    pub(crate) fn from_outbound(peer: PeerId, error: OutboundFailure, timeout: Duration) -> Self {
        match error {
            OutboundFailure::DialFailure => Self::DialFailure { peer },
            OutboundFailure::Timeout => Self::Timeout {
                peer,
                after: timeout,
            },
            OutboundFailure::ConnectionClosed => Self::ConnectionClosed { peer },
            OutboundFailure::UnsupportedProtocols => Self::UnsupportedProtocol { peer },
            OutboundFailure::Io(e) => match FrameTooLarge::find(&e) {
                Some(FrameTooLarge {
                    kind: FrameKind::Response,
                    size,
                    limit,
                }) => Self::ResponseTooLarge { peer, size, limit },
                Some(FrameTooLarge {
                    kind: FrameKind::Request,
                    size,
                    limit,
                }) => Self::RequestTooLarge {
                    size: usize::try_from(size).unwrap_or(usize::MAX),
                    limit,
                },
                // The responder closed its side before writing a frame: it had no answer.
                None if e.kind() == std::io::ErrorKind::UnexpectedEof => Self::Closed { peer },
                None => Self::Stream {
                    peer,
                    reason: e.to_string(),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_topic_and_the_limit() {
        let e = PublishError::NoSubscribedPeers {
            topic: Topic::Events,
        };
        assert_eq!(
            e.to_string(),
            "no connected peer is subscribed to the events topic"
        );
        let e = PublishError::TooLarge {
            size: 11,
            limit: 10,
        };
        assert!(e.to_string().contains("max_gossip_bytes limit of 10 bytes"));
        let e = RequestError::RequestTooLarge {
            size: 11,
            limit: 10,
        };
        assert!(
            e.to_string()
                .contains("max_request_bytes limit of 10 bytes")
        );
    }

    #[test]
    fn request_failures_keep_the_limit_and_the_peer() {
        let peer = libp2p::identity::Keypair::generate_ed25519()
            .public()
            .to_peer_id();
        let t = Duration::from_secs(3);
        let too_large = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            FrameTooLarge {
                kind: FrameKind::Response,
                size: 9,
                limit: 8,
            },
        );
        assert_eq!(
            RequestError::from_outbound(peer, OutboundFailure::Io(too_large), t),
            RequestError::ResponseTooLarge {
                peer,
                size: 9,
                limit: 8
            }
        );
        let eof = std::io::Error::from(std::io::ErrorKind::UnexpectedEof);
        assert_eq!(
            RequestError::from_outbound(peer, OutboundFailure::Io(eof), t),
            RequestError::Closed { peer }
        );
        assert_eq!(
            RequestError::from_outbound(peer, OutboundFailure::Timeout, t),
            RequestError::Timeout { peer, after: t }
        );
    }
}
