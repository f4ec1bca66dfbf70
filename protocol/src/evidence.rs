//! Equivocation evidence: two conflicting messages signed by one validator for one consensus
//! step.
//!
//! A correct validator signs at most one proposal per `(height, round)` and at most one prevote
//! and one precommit per `(height, round)`. Two different signed values for the same step are
//! proof of misbehaviour that anyone can check with nothing but the validator set of that height.
//! Validators keep such proof and commit it in a block ([`crate::ledger::BlockBody::evidence`]),
//! so the misbehaviour is on the record for governance to act on.
//!
//! A pair has exactly one encoding: `first` sorts strictly before `second` by canonical bytes.
//! Evidence is deduplicated by its [`Offence`] (signer and step), not by the pair, so a validator
//! that signed three conflicting votes in one step is recorded once.

use minicbor::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec::Canonical;
use crate::crypto::{PublicKey, Signature, SignatureError, SigningKey};
use crate::ledger::{ProposalPayload, ValidatorSet, VoteKind, VotePayload};

/// Largest canonical encoding of one [`Equivocation`] (two signed messages with small payloads).
pub const MAX_EVIDENCE_BYTES: usize = 1024;

/// A prevote or precommit with its signer's signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct SignedVote {
    #[n(0)]
    pub payload: VotePayload,
    #[n(1)]
    pub validator: PublicKey,
    #[n(2)]
    pub signature: Signature,
}

impl Canonical for SignedVote {
    const KIND: &'static str = "SignedVote";
}

impl SignedVote {
    /// Signs `payload` with `key` for `chain_id`.
    pub fn sign(payload: VotePayload, key: &SigningKey, chain_id: &str) -> Self {
        let signature = payload.sign(key, chain_id);
        SignedVote {
            payload,
            validator: key.public_key(),
            signature,
        }
    }

    /// Strictly verifies the signature under `validator`.
    pub fn verify(&self, chain_id: &str) -> Result<(), SignatureError> {
        self.payload
            .verify(&self.validator, chain_id, &self.signature)
    }
}

/// A block proposal with its proposer's signature.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct SignedProposal {
    #[n(0)]
    pub payload: ProposalPayload,
    #[n(1)]
    pub proposer: PublicKey,
    #[n(2)]
    pub signature: Signature,
}

impl Canonical for SignedProposal {
    const KIND: &'static str = "SignedProposal";
}

impl SignedProposal {
    /// Signs `payload` with `key` for `chain_id`.
    pub fn sign(payload: ProposalPayload, key: &SigningKey, chain_id: &str) -> Self {
        let signature = payload.sign(key, chain_id);
        SignedProposal {
            payload,
            proposer: key.public_key(),
            signature,
        }
    }

    /// Strictly verifies the signature under `proposer`.
    pub fn verify(&self, chain_id: &str) -> Result<(), SignatureError> {
        self.payload
            .verify(&self.proposer, chain_id, &self.signature)
    }
}

/// Two conflicting signed messages from one validator for one consensus step.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", deny_unknown_fields)]
pub enum Equivocation {
    /// Two different prevotes (or two different precommits) at one height and round.
    #[n(0)]
    #[cbor(map)]
    Votes {
        #[n(0)]
        first: SignedVote,
        #[n(1)]
        second: SignedVote,
    },
    /// Two different proposals at one height and round.
    #[n(1)]
    #[cbor(map)]
    Proposals {
        #[n(0)]
        first: SignedProposal,
        #[n(1)]
        second: SignedProposal,
    },
}

impl Canonical for Equivocation {
    const KIND: &'static str = "Equivocation";
}

/// The consensus step a message belongs to.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode, Serialize, Deserialize,
)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    #[n(0)]
    Proposal,
    #[n(1)]
    Prevote,
    #[n(2)]
    Precommit,
}

impl From<VoteKind> for Step {
    fn from(kind: VoteKind) -> Self {
        match kind {
            VoteKind::Prevote => Step::Prevote,
            VoteKind::Precommit => Step::Precommit,
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Proposal => "proposal",
            Step::Prevote => "prevote",
            Step::Precommit => "precommit",
        })
    }
}

/// Who misbehaved where: the key under which evidence is recorded, at most once.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Offence {
    pub validator: PublicKey,
    pub height: u64,
    pub round: u32,
    pub step: Step,
}

impl std::fmt::Display for Offence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} at height {} round {} ({})",
            self.validator, self.height, self.round, self.step
        )
    }
}

/// Why a piece of evidence is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    #[error("evidence is {size} bytes; the limit is {MAX_EVIDENCE_BYTES}")]
    TooLarge { size: usize },
    #[error("the two messages are signed by different keys ({first} and {second})")]
    DifferentSigners { first: PublicKey, second: PublicKey },
    #[error(
        "the two messages are for different steps ({first} and {second}); equivocation needs one step"
    )]
    DifferentSteps { first: String, second: String },
    #[error("both messages sign the same value; that is not equivocation")]
    SameValue,
    #[error(
        "the first message must sort strictly before the second by canonical bytes; build evidence with Equivocation::votes or Equivocation::proposals"
    )]
    NotOrdered,
    #[error("the {which} message's signature by {signer} does not verify")]
    BadSignature {
        which: &'static str,
        signer: PublicKey,
    },
    #[error("{signer} is not in the validator set of height {height}")]
    NotAValidator { signer: PublicKey, height: u64 },
    #[error("no validator set is known for height {height}")]
    NoValidatorSet { height: u64 },
    #[error(
        "evidence is about height {height}; only heights below the including block's {including} may be reported"
    )]
    NotInThePast { height: u64, including: u64 },
    #[error("equivocation of {offence} is already recorded")]
    AlreadyRecorded { offence: Offence },
}

impl EvidenceError {
    /// Stable machine-readable code, used by the HTTP API.
    pub fn code(&self) -> &'static str {
        match self {
            EvidenceError::TooLarge { .. } => "evidence_too_large",
            EvidenceError::DifferentSigners { .. } => "evidence_different_signers",
            EvidenceError::DifferentSteps { .. } => "evidence_different_steps",
            EvidenceError::SameValue => "evidence_same_value",
            EvidenceError::NotOrdered => "evidence_not_ordered",
            EvidenceError::BadSignature { .. } => "evidence_bad_signature",
            EvidenceError::NotAValidator { .. } => "evidence_not_a_validator",
            EvidenceError::NoValidatorSet { .. } => "evidence_no_validator_set",
            EvidenceError::NotInThePast { .. } => "evidence_not_in_the_past",
            EvidenceError::AlreadyRecorded { .. } => "evidence_already_recorded",
        }
    }
}

/// Orders two values by canonical bytes, so the same pair always has the same encoding.
fn ordered<T: Canonical>(a: T, b: T) -> (T, T) {
    if a.to_canonical_bytes() <= b.to_canonical_bytes() {
        (a, b)
    } else {
        (b, a)
    }
}

impl Equivocation {
    /// Evidence from two conflicting votes, in canonical order. Not checked: call
    /// [`Equivocation::verify`].
    pub fn votes(a: SignedVote, b: SignedVote) -> Self {
        let (first, second) = ordered(a, b);
        Equivocation::Votes { first, second }
    }

    /// Evidence from two conflicting proposals, in canonical order. Not checked: call
    /// [`Equivocation::verify`].
    pub fn proposals(a: SignedProposal, b: SignedProposal) -> Self {
        let (first, second) = ordered(a, b);
        Equivocation::Proposals { first, second }
    }

    /// The offence this evidence proves, as claimed by its first message.
    pub fn offence(&self) -> Offence {
        match self {
            Equivocation::Votes { first, .. } => Offence {
                validator: first.validator,
                height: first.payload.height,
                round: first.payload.round,
                step: first.payload.kind.into(),
            },
            Equivocation::Proposals { first, .. } => Offence {
                validator: first.proposer,
                height: first.payload.height,
                round: first.payload.round,
                step: Step::Proposal,
            },
        }
    }

    /// Checks, without any ledger state but the validator set of the offence's height, that this
    /// is proof of equivocation on `chain_id`: one signer, one step, two different values, both
    /// signatures strictly valid, the pair in canonical order, and the signer a member of
    /// `validators`.
    pub fn verify(&self, chain_id: &str, validators: &ValidatorSet) -> Result<(), EvidenceError> {
        let size = self.to_canonical_bytes().len();
        if size > MAX_EVIDENCE_BYTES {
            return Err(EvidenceError::TooLarge { size });
        }
        let (a, b) = match self {
            Equivocation::Votes { first, second } => (vote_offence(first), vote_offence(second)),
            Equivocation::Proposals { first, second } => {
                (proposal_offence(first), proposal_offence(second))
            }
        };
        if a.validator != b.validator {
            return Err(EvidenceError::DifferentSigners {
                first: a.validator,
                second: b.validator,
            });
        }
        if (a.height, a.round, a.step) != (b.height, b.round, b.step) {
            return Err(EvidenceError::DifferentSteps {
                first: step_text(&a),
                second: step_text(&b),
            });
        }
        let same_value = match self {
            Equivocation::Votes { first, second } => first.payload == second.payload,
            Equivocation::Proposals { first, second } => first.payload == second.payload,
        };
        if same_value {
            return Err(EvidenceError::SameValue);
        }
        let in_order = match self {
            Equivocation::Votes { first, second } => {
                first.to_canonical_bytes() < second.to_canonical_bytes()
            }
            Equivocation::Proposals { first, second } => {
                first.to_canonical_bytes() < second.to_canonical_bytes()
            }
        };
        if !in_order {
            return Err(EvidenceError::NotOrdered);
        }
        if validators.power_of(&a.validator).is_none() {
            return Err(EvidenceError::NotAValidator {
                signer: a.validator,
                height: a.height,
            });
        }
        let (first_ok, second_ok) = match self {
            Equivocation::Votes { first, second } => {
                (first.verify(chain_id), second.verify(chain_id))
            }
            Equivocation::Proposals { first, second } => {
                (first.verify(chain_id), second.verify(chain_id))
            }
        };
        for (which, result) in [("first", first_ok), ("second", second_ok)] {
            if result.is_err() {
                return Err(EvidenceError::BadSignature {
                    which,
                    signer: a.validator,
                });
            }
        }
        Ok(())
    }
}

fn vote_offence(vote: &SignedVote) -> Offence {
    Offence {
        validator: vote.validator,
        height: vote.payload.height,
        round: vote.payload.round,
        step: vote.payload.kind.into(),
    }
}

fn proposal_offence(proposal: &SignedProposal) -> Offence {
    Offence {
        validator: proposal.proposer,
        height: proposal.payload.height,
        round: proposal.payload.round,
        step: Step::Proposal,
    }
}

fn step_text(offence: &Offence) -> String {
    format!(
        "height {} round {} {}",
        offence.height, offence.round, offence.step
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::Validator;
    use proptest::prelude::*;

    const CHAIN: &str = "evidence-test";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed([seed; 32])
    }

    fn set() -> ValidatorSet {
        ValidatorSet::new(
            (1..=4)
                .map(|i| Validator {
                    key: key(i).public_key(),
                    power: 10,
                })
                .collect(),
        )
        .unwrap()
    }

    fn vote(signer: u8, kind: VoteKind, height: u64, round: u32, hash: Option<u8>) -> SignedVote {
        let payload = VotePayload {
            kind,
            height,
            round,
            block_hash: hash.map(|b| [b; 32]),
        };
        SignedVote::sign(payload, &key(signer), CHAIN)
    }

    fn proposal(signer: u8, pol_round: Option<u32>, hash: u8) -> SignedProposal {
        let payload = ProposalPayload {
            height: 5,
            round: 1,
            pol_round,
            block_hash: [hash; 32],
        };
        SignedProposal::sign(payload, &key(signer), CHAIN)
    }

    fn double_vote() -> Equivocation {
        Equivocation::votes(
            vote(1, VoteKind::Precommit, 5, 0, Some(0xaa)),
            vote(1, VoteKind::Precommit, 5, 0, Some(0xbb)),
        )
    }

    #[test]
    fn double_votes_and_double_proposals_are_evidence() {
        double_vote().verify(CHAIN, &set()).unwrap();
        // A nil vote and a block vote in one step conflict too.
        Equivocation::votes(
            vote(2, VoteKind::Prevote, 5, 0, None),
            vote(2, VoteKind::Prevote, 5, 0, Some(1)),
        )
        .verify(CHAIN, &set())
        .unwrap();
        Equivocation::proposals(proposal(3, None, 1), proposal(3, None, 2))
            .verify(CHAIN, &set())
            .unwrap();
        // Same block re-proposed with another proof-of-lock round is still two proposals.
        Equivocation::proposals(proposal(3, None, 1), proposal(3, Some(0), 1))
            .verify(CHAIN, &set())
            .unwrap();
        assert_eq!(
            double_vote().offence(),
            Offence {
                validator: key(1).public_key(),
                height: 5,
                round: 0,
                step: Step::Precommit
            }
        );
    }

    #[test]
    fn order_of_construction_does_not_matter() {
        let a = vote(1, VoteKind::Precommit, 5, 0, Some(0xaa));
        let b = vote(1, VoteKind::Precommit, 5, 0, Some(0xbb));
        assert_eq!(
            Equivocation::votes(a.clone(), b.clone()),
            Equivocation::votes(b.clone(), a.clone())
        );
        let (first, second) = ordered(a, b);
        let swapped = Equivocation::Votes {
            first: second,
            second: first,
        };
        assert_eq!(
            swapped.verify(CHAIN, &set()),
            Err(EvidenceError::NotOrdered)
        );
    }

    #[test]
    fn non_conflicting_pairs_are_refused() {
        let s = set();
        let err = |e: Equivocation| e.verify(CHAIN, &s).unwrap_err().code();
        let same = vote(1, VoteKind::Precommit, 5, 0, Some(1));
        assert_eq!(
            err(Equivocation::votes(same.clone(), same)),
            "evidence_same_value"
        );
        assert_eq!(
            err(Equivocation::votes(
                vote(1, VoteKind::Precommit, 5, 0, Some(1)),
                vote(2, VoteKind::Precommit, 5, 0, Some(2)),
            )),
            "evidence_different_signers"
        );
        for other in [
            vote(1, VoteKind::Prevote, 5, 0, Some(2)),
            vote(1, VoteKind::Precommit, 6, 0, Some(2)),
            vote(1, VoteKind::Precommit, 5, 1, Some(2)),
        ] {
            assert_eq!(
                err(Equivocation::votes(
                    vote(1, VoteKind::Precommit, 5, 0, Some(1)),
                    other
                )),
                "evidence_different_steps"
            );
        }
        assert_eq!(
            err(Equivocation::votes(
                vote(9, VoteKind::Precommit, 5, 0, Some(1)),
                vote(9, VoteKind::Precommit, 5, 0, Some(2)),
            )),
            "evidence_not_a_validator"
        );
        assert_eq!(
            double_vote().verify("other-chain", &s).unwrap_err().code(),
            "evidence_bad_signature"
        );
    }

    #[test]
    fn json_round_trips() {
        for ev in [
            double_vote(),
            Equivocation::proposals(proposal(3, None, 1), proposal(3, Some(0), 1)),
        ] {
            let json = serde_json::to_string(&ev).unwrap();
            assert_eq!(serde_json::from_str::<Equivocation>(&json).unwrap(), ev);
        }
        let json = serde_json::to_value(double_vote()).unwrap();
        assert_eq!(json["kind"], "votes");
        assert_eq!(json["first"]["payload"]["kind"], "precommit");
    }

    proptest! {
        #[test]
        fn round_trip_and_any_byte_change_is_rejected(
            hash_a in any::<[u8; 32]>(), hash_b in any::<[u8; 32]>(), height in 1u64..1_000_000,
            round in 0u32..100, precommit in any::<bool>(),
            pos in any::<prop::sample::Index>(), xor in 1u8..=255,
        ) {
            prop_assume!(hash_a != hash_b);
            let kind = if precommit { VoteKind::Precommit } else { VoteKind::Prevote };
            let mk = |h: [u8; 32]| SignedVote::sign(
                VotePayload { kind, height, round, block_hash: Some(h) }, &key(2), CHAIN);
            let ev = Equivocation::votes(mk(hash_a), mk(hash_b));
            let s = set();
            ev.verify(CHAIN, &s).unwrap();
            let bytes = ev.to_canonical_bytes();
            prop_assert_eq!(Equivocation::from_canonical_bytes(&bytes, MAX_EVIDENCE_BYTES).unwrap(), ev.clone());
            let mut mutated = bytes;
            let i = pos.index(mutated.len());
            mutated[i] ^= xor;
            if let Ok(other) = Equivocation::from_canonical_bytes(&mutated, MAX_EVIDENCE_BYTES) {
                prop_assert!(other.verify(CHAIN, &s).is_err());
            }
        }
    }
}
