//! Per-height bookkeeping of verified votes and proposals: power tallies, and detection of
//! validators that sign two conflicting messages for one (round, step).

use std::collections::{BTreeMap, BTreeSet};

use provenance_protocol::crypto::PublicKey;
use provenance_protocol::ledger::{ValidatorSet, VoteKind};

use super::types::{Evidence, Hash, Message, SignedProposal, SignedVote};

/// Result of recording a message.
#[derive(Debug, PartialEq, Eq)]
pub enum Recorded {
    /// First message of this signer at this (round, step): it counts.
    New,
    /// Identical to one already held (network duplicate): ignored.
    Duplicate,
    /// Conflicts with the one held; the first one keeps counting. `Some` only the first time
    /// this signer is caught at this (round, step).
    Conflict(Option<Box<Evidence>>),
}

/// Most distinct votes kept per signer per (round, kind). An equivocator's vote for a value
/// counts towards that value's tally (once per value), because honest validators may need it:
/// a proof of lock can legitimately include a Byzantine prevote, and if receivers only kept
/// the equivocator's first vote they could never accept the locked validator's re-proposal,
/// which stalls the height. This is safe: the Byzantine validator could have sent each vote
/// to a different honest node anyway, and quorum intersection only relies on honest
/// validators voting once. The cap bounds memory; a Byzantine validator spamming more values
/// than this can still hide a later vote of its own (a liveness limitation, documented).
pub const MAX_VOTES_PER_SIGNER: usize = 4;

/// Verified messages of one height. Each signer counts at most once per value in a tally, and
/// at most once in "any value" tallies.
#[derive(Debug, Default)]
pub struct HeightVotes {
    votes: BTreeMap<(u32, VoteKindKey), BTreeMap<PublicKey, Vec<SignedVote>>>,
    proposals: BTreeMap<u32, (SignedProposal, bool)>,
    /// Signers per round, whatever they sent (for the f+1 round-skip rule).
    senders: BTreeMap<u32, BTreeSet<PublicKey>>,
    reported: BTreeSet<(PublicKey, u32, u8)>,
}

/// `VoteKind` has no `Ord`; this mirrors it as a map key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum VoteKindKey {
    Prevote,
    Precommit,
}

impl From<VoteKind> for VoteKindKey {
    fn from(kind: VoteKind) -> Self {
        match kind {
            VoteKind::Prevote => VoteKindKey::Prevote,
            VoteKind::Precommit => VoteKindKey::Precommit,
        }
    }
}

const PROPOSAL_STEP: u8 = 0;

impl HeightVotes {
    /// Records a verified vote (signature and membership already checked by the caller).
    pub fn add_vote(&mut self, vote: SignedVote) -> Recorded {
        let round = vote.payload.round;
        let kind = VoteKindKey::from(vote.payload.kind);
        self.senders
            .entry(round)
            .or_default()
            .insert(vote.validator);
        let slot = self.votes.entry((round, kind)).or_default();
        let held = slot.entry(vote.validator).or_default();
        let Some(first) = held.first().cloned() else {
            held.push(vote);
            return Recorded::New;
        };
        if held.iter().any(|h| h.payload == vote.payload) {
            return Recorded::Duplicate;
        }
        let step = match kind {
            VoteKindKey::Prevote => 1,
            VoteKindKey::Precommit => 2,
        };
        let fresh = self.reported.insert((vote.validator, round, step));
        let evidence = fresh.then(|| {
            Box::new(Evidence::Vote {
                first,
                second: vote.clone(),
            })
        });
        if held.len() < MAX_VOTES_PER_SIGNER {
            held.push(vote);
        }
        Recorded::Conflict(evidence)
    }

    /// Records a verified proposal from the round's proposer, with the host's validity verdict.
    pub fn add_proposal(&mut self, proposal: SignedProposal, valid: bool) -> Recorded {
        let round = proposal.payload.round;
        self.senders
            .entry(round)
            .or_default()
            .insert(proposal.proposer);
        match self.proposals.get(&round) {
            None => {
                self.proposals.insert(round, (proposal, valid));
                Recorded::New
            }
            Some((held, _)) if held.payload == proposal.payload => Recorded::Duplicate,
            Some((held, _)) => {
                let fresh = self
                    .reported
                    .insert((proposal.proposer, round, PROPOSAL_STEP));
                Recorded::Conflict(fresh.then(|| {
                    Box::new(Evidence::Proposal {
                        first: held.clone(),
                        second: proposal,
                    })
                }))
            }
        }
    }

    /// The (first) proposal of `round` and whether the host found its block valid.
    pub fn proposal(&self, round: u32) -> Option<&(SignedProposal, bool)> {
        self.proposals.get(&round)
    }

    fn slot(&self, round: u32, kind: VoteKind) -> impl Iterator<Item = &SignedVote> {
        self.votes
            .get(&(round, VoteKindKey::from(kind)))
            .into_iter()
            .flat_map(|m| m.values().flatten())
    }

    fn power<'a>(set: &ValidatorSet, votes: impl Iterator<Item = &'a SignedVote>) -> u64 {
        votes
            .filter_map(|v| set.power_of(&v.validator))
            .fold(0u64, u64::saturating_add)
    }

    /// True when votes of `kind` in `round` for `value` (None = nil) hold > 2/3 of the power.
    pub fn quorum_for(
        &self,
        set: &ValidatorSet,
        round: u32,
        kind: VoteKind,
        value: Option<Hash>,
    ) -> bool {
        set.is_quorum(Self::power(
            set,
            self.slot(round, kind)
                .filter(|v| v.payload.block_hash == value),
        ))
    }

    /// True when exactly this vote (payload and signature) is already held: a network
    /// duplicate, skipped before paying for signature verification.
    pub fn holds(&self, vote: &SignedVote) -> bool {
        self.votes
            .get(&(vote.payload.round, VoteKindKey::from(vote.payload.kind)))
            .and_then(|m| m.get(&vote.validator))
            .is_some_and(|held| held.contains(vote))
    }

    /// True when exactly this proposal is already held.
    pub fn holds_proposal(&self, proposal: &SignedProposal) -> bool {
        self.proposals
            .get(&proposal.payload.round)
            .is_some_and(|(held, _)| held == proposal)
    }

    /// Every counted message of `round` (proposal first), for retransmission.
    pub fn messages_of_round(&self, round: u32) -> Vec<Message> {
        let mut out = Vec::new();
        if let Some((proposal, _)) = self.proposals.get(&round) {
            out.push(Message::Proposal(proposal.clone()));
        }
        for kind in [VoteKindKey::Prevote, VoteKindKey::Precommit] {
            if let Some(by_signer) = self.votes.get(&(round, kind)) {
                out.extend(by_signer.values().flatten().cloned().map(Message::Vote));
            }
        }
        out
    }

    /// The votes of `kind` in `round` for `value`, in signer order.
    pub fn votes_for(&self, round: u32, kind: VoteKind, value: Option<Hash>) -> Vec<&SignedVote> {
        self.slot(round, kind)
            .filter(|v| v.payload.block_hash == value)
            .collect()
    }

    /// True when votes of `kind` in `round`, for anything, hold > 2/3 of the power (each
    /// signer counted once).
    pub fn quorum_any(&self, set: &ValidatorSet, round: u32, kind: VoteKind) -> bool {
        let power = self
            .votes
            .get(&(round, VoteKindKey::from(kind)))
            .into_iter()
            .flat_map(|m| m.keys())
            .filter_map(|k| set.power_of(k))
            .fold(0u64, u64::saturating_add);
        set.is_quorum(power)
    }

    /// A value with a precommit quorum in some round: `(round, hash, the precommits for it)`.
    pub fn decided(&self, set: &ValidatorSet) -> Option<(u32, Hash, Vec<&SignedVote>)> {
        for ((round, kind), by_signer) in &self.votes {
            if *kind != VoteKindKey::Precommit {
                continue;
            }
            let values: BTreeSet<Hash> = by_signer
                .values()
                .flatten()
                .filter_map(|v| v.payload.block_hash)
                .collect();
            for value in values {
                let for_value: Vec<&SignedVote> = by_signer
                    .values()
                    .flatten()
                    .filter(|v| v.payload.block_hash == Some(value))
                    .collect();
                if set.is_quorum(Self::power(set, for_value.iter().copied())) {
                    return Some((*round, value, for_value));
                }
            }
        }
        None
    }

    /// The highest round above `current` in which signers holding more than one third of the
    /// power sent something (the paper's f+1 round-skip rule).
    pub fn skip_round(&self, set: &ValidatorSet, current: u32) -> Option<u32> {
        self.senders
            .range(current.saturating_add(1)..)
            .rev()
            .find(|(_, signers)| {
                let power = signers
                    .iter()
                    .filter_map(|k| set.power_of(k))
                    .fold(0u64, u64::saturating_add);
                3 * u128::from(power) > u128::from(set.total_power())
            })
            .map(|(round, _)| *round)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use provenance_protocol::crypto::{Signature, SigningKey};
    use provenance_protocol::ledger::{Validator, VotePayload};

    fn keys() -> Vec<PublicKey> {
        (1..=4u8)
            .map(|i| SigningKey::from_seed([i; 32]).public_key())
            .collect()
    }

    fn set() -> ValidatorSet {
        ValidatorSet::new(
            keys()
                .into_iter()
                .map(|key| Validator { key, power: 1 })
                .collect(),
        )
        .unwrap()
    }

    /// The book does not verify signatures (the core does before recording), so a fixed
    /// signature is enough to exercise its algebra.
    fn vote(signer: usize, round: u32, precommit: bool, value: u8) -> SignedVote {
        SignedVote {
            payload: VotePayload {
                kind: if precommit {
                    VoteKind::Precommit
                } else {
                    VoteKind::Prevote
                },
                height: 1,
                round,
                block_hash: (value > 0).then_some([value; 32]),
            },
            validator: keys()[signer],
            signature: Signature::from_bytes(&[0; 64]),
        }
    }

    proptest! {
        /// Whatever arrives, in whatever order and multiplicity: each (signer, round, kind) with
        /// two or more different payloads yields exactly one piece of evidence; a value's tally
        /// counts each signer that voted for it once, and "any" tallies count signers once.
        #[test]
        fn evidence_once_and_first_vote_counts(
            arrivals in proptest::collection::vec((0usize..4, 0u32..2, any::<bool>(), 0u8..3), 0..40)
        ) {
            let set = set();
            let mut book = HeightVotes::default();
            let mut evidence = 0;
            let mut first: BTreeMap<(usize, u32, bool), u8> = BTreeMap::new();
            let mut distinct: BTreeMap<(usize, u32, bool), BTreeSet<u8>> = BTreeMap::new();
            for &(signer, round, precommit, value) in &arrivals {
                first.entry((signer, round, precommit)).or_insert(value);
                distinct.entry((signer, round, precommit)).or_default().insert(value);
                if let Recorded::Conflict(Some(_)) = book.add_vote(vote(signer, round, precommit, value)) {
                    evidence += 1;
                }
            }
            let expected = distinct.values().filter(|values| values.len() > 1).count();
            prop_assert_eq!(evidence, expected);
            for round in 0..2 {
                for (precommit, kind) in [(false, VoteKind::Prevote), (true, VoteKind::Precommit)] {
                    let signers = first.keys().filter(|(_, r, p)| *r == round && *p == precommit).count();
                    prop_assert_eq!(book.quorum_any(&set, round, kind), signers >= 3);
                    for value in 0u8..3 {
                        let hash = (value > 0).then_some([value; 32]);
                        let for_value = distinct
                            .iter()
                            .filter(|((_, r, p), values)| {
                                *r == round && *p == precommit && values.contains(&value)
                            })
                            .count();
                        prop_assert_eq!(book.quorum_for(&set, round, kind, hash), for_value >= 3);
                    }
                }
            }
        }
    }
}
