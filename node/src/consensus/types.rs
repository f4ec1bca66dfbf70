//! The messages, inputs and outputs of the consensus core, and the signed-state record the host
//! must persist before anything the core signs leaves the process.

use std::time::Duration;

use provenance_protocol::crypto::PublicKey;
use provenance_protocol::ledger::{CommitSignature, FinalityCertificate, VoteKind};
use serde::{Deserialize, Serialize};

/// A block hash: the opaque value consensus agrees on.
pub type Hash = [u8; 32];

pub use provenance_protocol::ledger::ProposalPayload;

pub use provenance_protocol::evidence::{SignedProposal, SignedVote};

/// Everything validators exchange. Wire encoding is the network layer's job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Proposal(SignedProposal),
    Vote(SignedVote),
    /// A finality certificate, sent to a peer that is still voting at an already decided
    /// height so it can catch up (the paper's assumption that every message is eventually
    /// delivered does not hold for a lossy network without this).
    Decision(FinalityCertificate),
}

/// The three timeouts of the algorithm plus the retransmission timer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TimeoutKind {
    Propose,
    Prevote,
    Precommit,
    /// Re-broadcast this node's own messages of the current round and relay the messages it
    /// holds for the current and previous round (gossip retransmission).
    Rebroadcast,
}

/// Timeout durations: `base + round * delta` for the three protocol timeouts, so that after
/// global stabilisation some round is long enough for every honest node to hear every other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeoutConfig {
    pub propose: Duration,
    pub propose_delta: Duration,
    pub prevote: Duration,
    pub prevote_delta: Duration,
    pub precommit: Duration,
    pub precommit_delta: Duration,
    /// Fixed period of the retransmission timer ([`TimeoutKind::Rebroadcast`]).
    pub rebroadcast: Duration,
}

impl Default for TimeoutConfig {
    fn default() -> Self {
        TimeoutConfig {
            propose: Duration::from_millis(3000),
            propose_delta: Duration::from_millis(500),
            prevote: Duration::from_millis(1000),
            prevote_delta: Duration::from_millis(500),
            precommit: Duration::from_millis(1000),
            precommit_delta: Duration::from_millis(500),
            rebroadcast: Duration::from_millis(2000),
        }
    }
}

impl TimeoutConfig {
    /// The duration of `kind` in `round`. Saturates instead of overflowing.
    pub fn duration(&self, kind: TimeoutKind, round: u32) -> Duration {
        let (base, delta) = match kind {
            TimeoutKind::Propose => (self.propose, self.propose_delta),
            TimeoutKind::Prevote => (self.prevote, self.prevote_delta),
            TimeoutKind::Precommit => (self.precommit, self.precommit_delta),
            TimeoutKind::Rebroadcast => return self.rebroadcast,
        };
        base.saturating_add(delta.saturating_mul(round))
    }
}

/// The signing steps, ordered as they happen within a round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SignStep {
    Propose,
    Prevote,
    Precommit,
}

impl SignStep {
    /// The step at which a vote of `kind` is signed.
    pub fn of_vote(kind: VoteKind) -> SignStep {
        match kind {
            VoteKind::Prevote => SignStep::Prevote,
            VoteKind::Precommit => SignStep::Precommit,
        }
    }
}

/// The lock a validator holds: it precommitted `hash` in `round`, justified by `pol`, the
/// prevotes for `hash` in `round` (the proof of lock: `VotePayload { Prevote, height, round,
/// Some(hash) }` signed by each listed validator). The POL is kept because after message loss
/// the other validators may never have seen it, and without it they cannot accept this
/// node's re-proposal of the locked value: with exactly 2f+1 live validators that deadlocks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lock {
    pub round: u32,
    #[serde(with = "hex_hash")]
    pub hash: Hash,
    pub pol: Vec<CommitSignature>,
}

/// What this validator last signed, and its lock. The host must write this durably (flushed)
/// when the core emits [`Output::Persist`], before sending anything emitted after it, and must
/// pass the last persisted value back to [`super::Consensus::new`] after a restart. The core
/// then never signs at a `(height, round, step)` at or below `last`, so it cannot sign a
/// message that conflicts with one it signed before the crash, and it keeps its lock (losing
/// the lock would make a restarted validator behave like an amnesic, i.e. Byzantine, one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedState {
    pub height: u64,
    pub round: u32,
    pub step: SignStep,
    /// Every message this validator signed at `height` in rounds `round - 1` and `round`, in
    /// signing order, so a restarted core can re-create the identical messages (Ed25519 is
    /// deterministic) and re-send them instead of signing new ones: with exactly 2f+1 live
    /// validators, one lost message can otherwise stall the height forever (the previous
    /// round matters for validators still waiting for its precommits).
    pub messages: Vec<SignedAt>,
    /// Lock at `height`, if any.
    pub lock: Option<Lock>,
}

/// The content of one message signed at a [`SignedState`]'s height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedAt {
    pub round: u32,
    pub step: SignStep,
    /// The block hash signed (`None`: a nil vote; always `Some` for a proposal).
    #[serde(with = "hex_hash_opt")]
    pub block_hash: Option<Hash>,
    /// The proposal's `pol_round` (always `None` for votes).
    pub pol_round: Option<u32>,
}

impl SignedState {
    /// True when signing at `(height, round, step)` is strictly after this state.
    pub fn allows(&self, height: u64, round: u32, step: SignStep) -> bool {
        (height, round, step) > (self.height, self.round, self.step)
    }
}

mod hex_hash_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &Option<[u8; 32]>, s: S) -> Result<S::Ok, S::Error> {
        match hash {
            Some(hash) => super::hex_hash::serialize(hash, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<[u8; 32]>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        text.map(|text| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
            Ok(out)
        })
        .transpose()
    }
}

mod hex_hash {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(hash: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(hash))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text = String::deserialize(d)?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(&text, &mut out).map_err(serde::de::Error::custom)?;
        Ok(out)
    }
}

/// Two conflicting messages signed by one validator for the same height, round and step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence {
    /// Two different votes of the same kind.
    Vote {
        first: SignedVote,
        second: SignedVote,
    },
    /// Two different proposals.
    Proposal {
        first: SignedProposal,
        second: SignedProposal,
    },
}

/// Inputs the host feeds to the core.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A proposal from the network, with the host's verdict on the block it names (the host
    /// fetched and validated the block; `valid` must be a deterministic function of the block
    /// and the committed chain, the same on every honest node).
    Proposal {
        proposal: SignedProposal,
        valid: bool,
    },
    /// A vote from the network.
    Vote(SignedVote),
    /// A finality certificate from the network (catch-up).
    Decision(FinalityCertificate),
    /// The value this node proposes, answering [`Output::RequestValue`].
    ProposeValue { height: u64, round: u32, hash: Hash },
    /// A timeout scheduled by [`Output::ScheduleTimeout`] fired.
    Timeout {
        height: u64,
        round: u32,
        kind: TimeoutKind,
    },
}

/// What the core asks the host to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Durably store this state (flushed) before executing any later output.
    Persist(SignedState),
    /// Send to every validator.
    Broadcast(Message),
    /// Send to the peer that delivered the input being handled (catch-up answers).
    Reply(Message),
    /// Fire [`Input::Timeout`] with these fields after `after` (host clock).
    ScheduleTimeout {
        height: u64,
        round: u32,
        kind: TimeoutKind,
        after: Duration,
    },
    /// This node proposes at `(height, round)`: answer with [`Input::ProposeValue`].
    RequestValue { height: u64, round: u32 },
    /// `hash` is decided at `height`; `certificate` proves it. The core has moved to
    /// `height + 1`. The host must obtain the block (it may not have seen the proposal).
    Decide {
        height: u64,
        round: u32,
        hash: Hash,
        certificate: FinalityCertificate,
    },
    /// A validator signed two conflicting messages. Reported once per (signer, height, round,
    /// step).
    Evidence(Evidence),
    /// The peer that delivered the input being handled is still voting at `height`, which
    /// this node decided before its previous height: the host should send it the certificate
    /// (and block) of `height` from its store, rate-limited per peer.
    PeerBehind { height: u64 },
    /// An input was dropped. `from` is the claimed signer; the host scores the peer that
    /// delivered the input (messages are relayed, so the two can differ).
    Rejected {
        from: Option<PublicKey>,
        reason: Rejection,
    },
}

/// Why an input was dropped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    #[error("signer {key} is not in the validator set")]
    NotAValidator { key: PublicKey },
    #[error("signature of {key} on {what} does not verify")]
    BadSignature { key: PublicKey, what: &'static str },
    #[error(
        "proposal at height {height} round {round} is from {found}, the proposer is {expected}"
    )]
    WrongProposer {
        height: u64,
        round: u32,
        expected: PublicKey,
        found: PublicKey,
    },
    #[error("proposal at round {round} names pol_round {pol_round}, which is not below it")]
    BadPolRound { round: u32, pol_round: u32 },
    #[error("round {round} is more than {window} rounds ahead of the current round {current}")]
    RoundTooFarAhead {
        round: u32,
        current: u32,
        window: u32,
    },
    #[error("decision certificate for height {height} does not verify: {reason}")]
    BadCertificate { height: u64, reason: String },
}
