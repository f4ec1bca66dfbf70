//! What nodes send each other, and its one encoding: deterministic CBOR through the protocol
//! codec with strict decoding (no trailing bytes, re-encoding must give the same bytes, size
//! limits before allocation).
//!
//! * Gossip topic `events`: [`EventBundle`], many signed events per message so gossip costs
//!   little per event. No envelope signature: every event carries its signer's signature.
//! * Gossip topic `consensus`: [`ConsensusEnvelope`], one proposal, vote, decision certificate,
//!   piece of evidence or governance transaction. Messages are self-authenticating (signed by
//!   validators).
//! * Request-response `sync`: [`SyncRequest`] / [`SyncResponse`]: the peer's head, ranges of
//!   finalised blocks with their certificates, and proposed blocks by hash. Blocks never travel
//!   by gossip.
//!
//! Gossip message ids are content hashes, so a re-sent message with identical bytes would be
//! dropped by every peer's duplicate cache. Retransmission (the consensus core's rebroadcast
//! timer, the mempool's retry of events nobody included) is deliberate, so both envelopes carry
//! a `nonce` that makes each transmission distinct; receivers ignore it.

use minicbor::{Decode, Encode};
use provenance_protocol::codec::{Canonical, CodecError};
use provenance_protocol::evidence::{Equivocation, SignedProposal, SignedVote};
use provenance_protocol::governance::GovernanceTx;
use provenance_protocol::ledger::{Block, BlockHeader, FinalityCertificate};
use provenance_protocol::record::SignedEvent;

/// Most events in one gossip bundle (a bundle must also fit the gossip size limit).
pub const MAX_BUNDLE_EVENTS: usize = 1_000;
/// Most blocks asked for or returned in one sync exchange.
pub const MAX_SYNC_BLOCKS: u32 = 64;

/// Signed events, gossiped on the events topic.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(map)]
pub struct EventBundle {
    /// Makes a retransmission a distinct gossip message. Ignored by receivers.
    #[n(0)]
    pub nonce: u64,
    #[n(1)]
    pub events: Vec<SignedEvent>,
}

impl Canonical for EventBundle {
    const KIND: &'static str = "EventBundle";
}

/// One consensus message, gossiped on the consensus topic.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(map)]
pub struct ConsensusEnvelope {
    /// Makes a retransmission a distinct gossip message. Ignored by receivers.
    #[n(0)]
    pub nonce: u64,
    #[n(1)]
    pub message: ConsensusMessage,
}

impl Canonical for ConsensusEnvelope {
    const KIND: &'static str = "ConsensusEnvelope";
}

/// What validators gossip.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum ConsensusMessage {
    #[n(0)]
    Proposal(#[n(0)] SignedProposal),
    #[n(1)]
    Vote(#[n(0)] SignedVote),
    /// The certificate of a decided height, for a validator still voting there.
    #[n(2)]
    Decision(#[n(0)] FinalityCertificate),
    /// Proof that a validator signed two conflicting messages.
    #[n(3)]
    Evidence(#[n(0)] Equivocation),
    /// A governance transaction approved by more than two thirds of the voting power, for the
    /// next proposer to include.
    #[n(4)]
    Governance(#[n(0)] GovernanceTx),
}

/// A request on the sync protocol.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncRequest {
    /// The peer's finalised head.
    #[n(0)]
    Status,
    /// Finalised blocks `from..from + count` with certificates (`count` ≤ [`MAX_SYNC_BLOCKS`];
    /// the answer may hold fewer, to stay under the response size limit, but at least one if
    /// the peer has `from`).
    #[n(1)]
    Blocks {
        #[n(0)]
        from: u64,
        #[n(1)]
        count: u32,
    },
    /// A block proposed for consensus (not yet final), by header hash.
    #[n(2)]
    Proposed {
        #[n(0)]
        #[cbor(with = "minicbor::bytes")]
        hash: [u8; 32],
    },
}

impl Canonical for SyncRequest {
    const KIND: &'static str = "SyncRequest";
}

/// A finalised block with its certificate.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(map)]
pub struct CertifiedBlock {
    #[n(0)]
    pub block: Block,
    #[n(1)]
    pub certificate: FinalityCertificate,
}

/// The answer to a [`SyncRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum SyncResponse {
    /// The peer's finalised head (`None`: no block yet).
    #[n(0)]
    Status(#[n(0)] Option<BlockHeader>),
    #[n(1)]
    Blocks(#[n(0)] Vec<CertifiedBlock>),
    #[n(2)]
    Proposed(#[n(0)] Option<Block>),
    /// The request was refused (bad range, too many blocks); the text says why.
    #[n(3)]
    Refused(#[n(0)] String),
}

impl Canonical for SyncResponse {
    const KIND: &'static str = "SyncResponse";
}

/// Encodes a wire value.
pub fn encode<T: Canonical>(value: &T) -> Vec<u8> {
    value.to_canonical_bytes()
}

/// Decodes a wire value strictly (size limit, no trailing bytes, canonical form).
pub fn decode<T: Canonical + for<'b> Decode<'b, ()>>(
    bytes: &[u8],
    max_bytes: usize,
) -> Result<T, CodecError> {
    T::from_canonical_bytes(bytes, max_bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_protocol::crypto::SigningKey;
    use provenance_protocol::ledger::{ProposalPayload, VoteKind, VotePayload};

    fn vote() -> SignedVote {
        SignedVote::sign(
            VotePayload {
                kind: VoteKind::Prevote,
                height: 3,
                round: 1,
                block_hash: Some([7; 32]),
            },
            &SigningKey::from_seed([1; 32]),
            "wire-test",
        )
    }

    #[test]
    fn consensus_envelopes_round_trip_and_decode_strictly() {
        let proposal = SignedProposal::sign(
            ProposalPayload {
                height: 3,
                round: 0,
                pol_round: None,
                block_hash: [9; 32],
            },
            &SigningKey::from_seed([2; 32]),
            "wire-test",
        );
        for message in [
            ConsensusMessage::Vote(vote()),
            ConsensusMessage::Proposal(proposal),
        ] {
            let envelope = ConsensusEnvelope { nonce: 5, message };
            let bytes = encode(&envelope);
            assert_eq!(
                decode::<ConsensusEnvelope>(&bytes, 1 << 20).unwrap(),
                envelope
            );
            let mut trailing = bytes.clone();
            trailing.push(0);
            assert!(decode::<ConsensusEnvelope>(&trailing, 1 << 20).is_err());
            assert!(decode::<ConsensusEnvelope>(&bytes, bytes.len() - 1).is_err());
        }
    }

    #[test]
    fn a_retransmission_differs_only_in_its_nonce() {
        let a = encode(&ConsensusEnvelope {
            nonce: 1,
            message: ConsensusMessage::Vote(vote()),
        });
        let b = encode(&ConsensusEnvelope {
            nonce: 2,
            message: ConsensusMessage::Vote(vote()),
        });
        assert_ne!(a, b);
        assert_eq!(
            decode::<ConsensusEnvelope>(&a, 1 << 20).unwrap().message,
            decode::<ConsensusEnvelope>(&b, 1 << 20).unwrap().message
        );
    }

    #[test]
    fn sync_messages_round_trip() {
        for request in [
            SyncRequest::Status,
            SyncRequest::Blocks { from: 4, count: 64 },
            SyncRequest::Proposed { hash: [3; 32] },
        ] {
            let bytes = encode(&request);
            assert_eq!(decode::<SyncRequest>(&bytes, 1024).unwrap(), request);
        }
        for response in [
            SyncResponse::Status(None),
            SyncResponse::Blocks(vec![]),
            SyncResponse::Proposed(None),
            SyncResponse::Refused("no".into()),
        ] {
            let bytes = encode(&response);
            assert_eq!(decode::<SyncResponse>(&bytes, 1024).unwrap(), response);
        }
    }

    /// The wire format is what other implementations must produce: pinned byte for byte (see
    /// protocol/SPEC.md §12).
    #[test]
    fn encodings_are_pinned() {
        let hex = |bytes: Vec<u8>| hex::encode(bytes);
        assert_eq!(hex(encode(&SyncRequest::Status)), "820080");
        assert_eq!(
            hex(encode(&SyncRequest::Blocks { from: 4, count: 2 })),
            "8201820402"
        );
        assert_eq!(
            hex(encode(&SyncResponse::Refused("x".into()))),
            "8203816178"
        );
        assert_eq!(
            hex(encode(&EventBundle {
                nonce: 1,
                events: vec![]
            })),
            "a200010180"
        );
        let decision = ConsensusEnvelope {
            nonce: 1,
            message: ConsensusMessage::Decision(provenance_protocol::ledger::FinalityCertificate {
                height: 1,
                round: 0,
                header_hash: [0; 32],
                signatures: vec![],
            }),
        };
        assert_eq!(
            hex(encode(&decision)),
            format!(
                "a20001018202 81 a4 0001 0100 025820{} 0380",
                "00".repeat(32)
            )
            .replace(' ', "")
        );
    }
}
