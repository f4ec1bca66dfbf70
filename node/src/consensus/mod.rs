//! Deterministic BFT consensus core (Tendermint), as a pure state machine.
//!
//! # Design
//!
//! [`Consensus`] implements Algorithm 1 of Buchman, Kwon, Milosevic, "The latest gossip on BFT
//! consensus" (2018): propose / prevote / precommit steps, locked and valid value/round,
//! timeouts `base + round * delta`, the f+1 round skip, and decision on precommits from more
//! than two thirds of the voting power (power-weighted through [`ValidatorSet::is_quorum`]; f+1
//! is "more than one third"). It does no I/O, reads no clock and draws no randomness: the host
//! feeds [`Input`]s (messages, timeouts, the value to propose) and executes the returned
//! [`Output`]s in order (persist, broadcast, schedule timeouts, decisions, evidence, rejections).
//! The same inputs always give the same outputs, which is what makes the seeded simulation in
//! `node/tests/consensus_sim.rs` reproducible.
//!
//! * Values are opaque block hashes. Validity is decided by the host: an [`Input::Proposal`]
//!   carries `valid: bool`, the host's verdict on the block the proposal names (we chose this
//!   over a validate-request/response round trip: the host must fetch the block before it can
//!   hand over the proposal anyway, so the round trip adds state without adding information).
//!   When this node proposes, the core emits [`Output::RequestValue`] and the host answers with
//!   [`Input::ProposeValue`].
//! * Every proposal and vote is checked before it counts: the signer must be in the
//!   [`ValidatorSet`], a proposal must come from `proposer(height, round)`, and the signature must
//!   verify strictly (votes: [`VotePayload::verify`]; proposals: [`ProposalPayload`] under
//!   `SigningDomain::Proposal`). Failures are reported as [`Output::Rejected`] for peer scoring.
//! * Decision requires only the precommit quorum (not the proposal): honest validators precommit
//!   only values their host found valid, so the quorum implies validity; the host fetches the
//!   block by hash if it never saw the proposal. [`Output::Decide`] carries a
//!   [`FinalityCertificate`] (sorted precommit signatures) that `FinalityCertificate::verify`
//!   accepts against the block header with that hash.
//! * Never signing twice: before anything is signed the core emits [`Output::Persist`] with the
//!   new [`SignedState`] (height, round, step, the messages signed at this height in the current
//!   and previous round, and the lock with its proof of lock), always *before* the `Broadcast`
//!   of that message. A core rebuilt from the last persisted state refuses to sign at or below
//!   it; it re-creates the recorded messages instead (Ed25519 is deterministic, so they are
//!   byte-identical) and re-sends them, because with exactly 2f+1 live validators one message
//!   lost in a crash can stall a height forever.
//! * Equivocation: a second, different message of a signer for one (height, round, step)
//!   yields [`Output::Evidence`] holding both signed messages, once. For proposals the first
//!   one counts; for votes each distinct value the signer voted for counts towards that value
//!   (capped at [`MAX_VOTES_PER_SIGNER`]), because a proof of lock may legitimately contain a
//!   Byzantine vote that a receiver first saw for another value (see `votes.rs` for why this
//!   is safe).
//! * Lossy networks: the paper assumes every message is eventually delivered. We get that with
//!   (a) a rebroadcast timer that re-sends this node's own messages of the current round and
//!   relays every message it holds for the current and previous round (whatever justified this
//!   node's progress reaches the others), exact duplicates being dropped before signature
//!   verification; (b) a re-proposal of a valid value carries its proof-of-lock prevotes; and
//!   (c) a vote for an already decided height is answered with [`Output::Reply`] carrying the
//!   certificate (last height) or [`Output::PeerBehind`] (older heights: the host sends the
//!   certificate and block from its store).
//!
//! # What the host must do
//!
//! * Feed verified-or-not network messages as [`Input`]s (the core verifies), passing with each
//!   proposal its validity verdict on the named block (fetched first); proposals for the next
//!   height are buffered, so their verdict must not depend on the block still being decided.
//! * Execute outputs in order: `Persist` durably (fsync) before any later output; `Broadcast`
//!   to all validators; `Reply`/`PeerBehind` to the peer that delivered the current input;
//!   `ScheduleTimeout` by its own clock (stale timeouts are ignored, so no cancellation is
//!   needed); `RequestValue` answered with [`Input::ProposeValue`]; `Decide` committed with the
//!   block fetched by hash; `Evidence` stored/gossiped; `Rejected` fed to peer scoring.
//! * On restart: construct with the committed height + 1, the last persisted [`SignedState`],
//!   and [`Consensus::restore_last_decision`] with the last certificate.

//! # Evaluated arc-malachitebft-core-consensus (Malachite's I/O-free Tendermint core)
//!
//! `cargo info` shows version 0.8.2 (Apache-2.0, MSRV 1.88), depending on
//! `arc-malachitebft-core-{driver,types,votekeeper}`, `arc-malachitebft-peer`, `multiaddr
//! 0.18`, `genawaiter`, `futures`, `async-recursion`, `tokio` and (default) `arc-malachitebft-
//! metrics`. Against our seams it fits poorly: it is parameterised by its own `Context` trait
//! (address, height, value, vote, proposal, signing provider) so our `ValidatorSet`,
//! `VotePayload` and `FinalityCertificate` would be wrapped rather than used; its peer identity
//! and multiaddr types come from its own libp2p-facing crates, which would have to agree with
//! our libp2p 0.57 stack; its effect model is coroutine-based (genawaiter) with its own WAL
//! replay conventions rather than our sled store; and strict ed25519 verification would live
//! behind its signing-provider abstraction rather than in one call site we can audit.
//! Decision: a self-written core of a few hundred lines on our own types, covered by the
//! property-checked simulation; to be revisited if we need Malachite's value-sync or
//! proposal-parts streaming.
//!
//! # What is not here
//!
//! Validator-set changes between heights (the set is fixed per core: the engine builds a new
//! core for every height with the set the committed state assigns to it); wire encoding of
//! [`Message`] (`crate::wire`); pruning of a peer's spam within the round window
//! ([`ROUND_WINDOW`] rounds ahead are accepted, which also means an honest peer more than that
//! far ahead is reported as `RoundTooFarAhead`); rate limiting of catch-up answers (host).
//!
//! [`ValidatorSet`]: provenance_protocol::ledger::ValidatorSet
//! [`ValidatorSet::is_quorum`]: provenance_protocol::ledger::ValidatorSet::is_quorum
//! [`VotePayload::verify`]: provenance_protocol::ledger::VotePayload::verify
//! [`FinalityCertificate`]: provenance_protocol::ledger::FinalityCertificate

mod machine;
mod types;
mod votes;

#[cfg(test)]
mod tests;

pub use machine::{Config, ConfigError, Consensus, MAX_BUFFERED, ROUND_WINDOW, Step};
pub use types::{
    Evidence, Hash, Input, Lock, Message, Output, ProposalPayload, Rejection, SignStep, SignedAt,
    SignedProposal, SignedState, SignedVote, TimeoutConfig, TimeoutKind,
};
pub use votes::MAX_VOTES_PER_SIGNER;
