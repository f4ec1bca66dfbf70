//! Unit tests of the consensus core: signing discipline, input checks, evidence, decisions.

use std::time::Duration;

use proptest::prelude::*;
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::ledger::{
    BlockBody, BlockHeader, FinalityCertificate, Validator, ValidatorSet, VoteKind, VotePayload,
};

use super::*;

const CHAIN: &str = "unit-chain";

/// Seeds of the four validators, in validator-set (public key) order.
fn seeds() -> Vec<[u8; 32]> {
    let mut seeds: Vec<[u8; 32]> = (1..=4u8).map(|i| [i; 32]).collect();
    seeds.sort_by_key(|s| SigningKey::from_seed(*s).public_key());
    seeds
}

fn key(index: usize) -> SigningKey {
    SigningKey::from_seed(seeds()[index])
}

fn set() -> ValidatorSet {
    ValidatorSet::new(
        (0..4)
            .map(|i| Validator {
                key: key(i).public_key(),
                power: 10,
            })
            .collect(),
    )
    .unwrap()
}

fn core(index: usize, height: u64, restored: Option<SignedState>) -> Consensus {
    Consensus::new(
        Config {
            chain_id: CHAIN.into(),
            validators: set(),
            key: key(index),
            timeouts: TimeoutConfig::default(),
        },
        height,
        restored,
    )
    .unwrap()
}

fn index_of_proposer(height: u64, round: u32) -> usize {
    let proposer = set().proposer(height, round).key;
    (0..4).find(|&i| key(i).public_key() == proposer).unwrap()
}

fn some_other_than(excluded: usize) -> usize {
    (excluded + 1) % 4
}

fn proposal(height: u64, round: u32, hash: Hash) -> SignedProposal {
    let proposer = key(index_of_proposer(height, round));
    let payload = ProposalPayload {
        height,
        round,
        pol_round: None,
        block_hash: hash,
    };
    SignedProposal {
        payload,
        proposer: proposer.public_key(),
        signature: payload.sign(&proposer, CHAIN),
    }
}

fn vote(index: usize, kind: VoteKind, height: u64, round: u32, hash: Option<Hash>) -> SignedVote {
    let signer = key(index);
    let payload = VotePayload {
        kind,
        height,
        round,
        block_hash: hash,
    };
    SignedVote {
        signature: payload.sign(&signer, CHAIN),
        payload,
        validator: signer.public_key(),
    }
}

fn broadcast_votes(outputs: &[Output]) -> Vec<SignedVote> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Broadcast(Message::Vote(v)) => Some(v.clone()),
            _ => None,
        })
        .collect()
}

fn persisted(outputs: &[Output]) -> Option<SignedState> {
    outputs
        .iter()
        .filter_map(|o| match o {
            Output::Persist(s) => Some(s.clone()),
            _ => None,
        })
        .next_back()
}

#[test]
fn persist_precedes_the_broadcast_of_what_it_records() {
    let proposer = index_of_proposer(1, 0);
    let me = some_other_than(proposer);
    let mut c = core(me, 1, None);
    c.start();
    let out = c.handle(Input::Proposal {
        proposal: proposal(1, 0, [7; 32]),
        valid: true,
    });
    let persist_at = out
        .iter()
        .position(|o| matches!(o, Output::Persist(_)))
        .expect("a prevote is persisted");
    let send_at = out
        .iter()
        .position(|o| matches!(o, Output::Broadcast(Message::Vote(_))))
        .expect("a prevote is sent");
    assert!(persist_at < send_at);
    let state = persisted(&out).unwrap();
    assert_eq!(
        (state.height, state.round, state.step),
        (1, 0, SignStep::Prevote)
    );
    assert_eq!(state.messages[0].block_hash, Some([7; 32]));
    assert_eq!(broadcast_votes(&out)[0].payload.block_hash, Some([7; 32]));
}

#[test]
fn restarted_core_resends_the_same_vote_and_never_signs_a_conflicting_one() {
    let proposer = index_of_proposer(1, 0);
    let me = some_other_than(proposer);
    let mut before = core(me, 1, None);
    before.start();
    let out = before.handle(Input::Proposal {
        proposal: proposal(1, 0, [7; 32]),
        valid: true,
    });
    let signed = broadcast_votes(&out)[0].clone();
    let state = persisted(&out).unwrap();

    // Crash; restart from the persisted state.
    let mut after = core(me, 1, Some(state));
    let out = after.start();
    assert!(
        !out.iter().any(|o| matches!(o, Output::Persist(_))),
        "nothing new is signed"
    );
    assert_eq!(
        broadcast_votes(&out),
        vec![signed.clone()],
        "identical bytes re-sent"
    );
    // Everything that would make an amnesic validator prevote differently in round 0.
    let mut all = Vec::new();
    all.extend(after.handle(Input::Timeout {
        height: 1,
        round: 0,
        kind: TimeoutKind::Propose,
    }));
    all.extend(after.handle(Input::Proposal {
        proposal: proposal(1, 0, [8; 32]),
        valid: true,
    }));
    for v in broadcast_votes(&all) {
        if v.validator == key(me).public_key() && v.payload.kind == VoteKind::Prevote {
            assert_eq!(v, signed, "a conflicting prevote was signed after restart");
        }
    }
}

#[test]
fn restored_state_forbids_signing_at_or_below_it() {
    let state = SignedState {
        height: 3,
        round: 2,
        step: SignStep::Precommit,
        messages: vec![SignedAt {
            round: 2,
            step: SignStep::Precommit,
            block_hash: None,
            pol_round: None,
        }],
        lock: None,
    };
    assert!(!state.allows(3, 2, SignStep::Precommit));
    assert!(!state.allows(3, 2, SignStep::Prevote));
    assert!(!state.allows(3, 1, SignStep::Precommit));
    assert!(!state.allows(2, 9, SignStep::Precommit));
    assert!(state.allows(3, 3, SignStep::Propose));
    assert!(state.allows(4, 0, SignStep::Propose));
    // A core restarted at a lower height (host lost its last block) signs nothing there.
    let me = 0;
    let mut c = core(me, 2, Some(state));
    let mut out = c.start();
    out.extend(c.handle(Input::Timeout {
        height: 2,
        round: 0,
        kind: TimeoutKind::Propose,
    }));
    assert!(!out.iter().any(|o| matches!(o, Output::Persist(_))));
    assert!(broadcast_votes(&out).is_empty());
}

#[test]
fn signed_state_round_trips_through_json() {
    let state = SignedState {
        height: 9,
        round: 1,
        step: SignStep::Precommit,
        messages: vec![
            SignedAt {
                round: 0,
                step: SignStep::Prevote,
                block_hash: Some([3; 32]),
                pol_round: None,
            },
            SignedAt {
                round: 1,
                step: SignStep::Precommit,
                block_hash: None,
                pol_round: None,
            },
        ],
        lock: Some(Lock {
            round: 1,
            hash: [3; 32],
            pol: vec![],
        }),
    };
    let json = serde_json::to_string(&state).unwrap();
    assert_eq!(serde_json::from_str::<SignedState>(&json).unwrap(), state);
}

#[test]
fn strangers_bad_signatures_and_wrong_proposers_are_rejected() {
    let mut c = core(0, 1, None);
    c.start();
    let stranger = SigningKey::from_seed([99; 32]);
    let payload = VotePayload {
        kind: VoteKind::Prevote,
        height: 1,
        round: 0,
        block_hash: None,
    };
    let out = c.handle(Input::Vote(SignedVote {
        signature: payload.sign(&stranger, CHAIN),
        payload: payload.clone(),
        validator: stranger.public_key(),
    }));
    assert!(matches!(
        out.as_slice(),
        [Output::Rejected {
            reason: Rejection::NotAValidator { .. },
            ..
        }]
    ));

    let mut forged = vote(1, VoteKind::Prevote, 1, 0, None);
    forged.payload.block_hash = Some([1; 32]);
    let out = c.handle(Input::Vote(forged));
    assert!(matches!(
        out.as_slice(),
        [Output::Rejected {
            reason: Rejection::BadSignature { .. },
            ..
        }]
    ));

    let wrong = some_other_than(index_of_proposer(1, 0));
    let signer = key(wrong);
    let payload = ProposalPayload {
        height: 1,
        round: 0,
        pol_round: None,
        block_hash: [5; 32],
    };
    let out = c.handle(Input::Proposal {
        proposal: SignedProposal {
            payload,
            proposer: signer.public_key(),
            signature: payload.sign(&signer, CHAIN),
        },
        valid: true,
    });
    assert!(matches!(
        out.as_slice(),
        [Output::Rejected {
            reason: Rejection::WrongProposer { .. },
            ..
        }]
    ));
}

#[test]
fn equivocation_yields_evidence_exactly_once() {
    let mut c = core(0, 1, None);
    c.start();
    let a = vote(2, VoteKind::Prevote, 1, 0, Some([1; 32]));
    let b = vote(2, VoteKind::Prevote, 1, 0, Some([2; 32]));
    let nil = vote(2, VoteKind::Prevote, 1, 0, None);
    let mut out = c.handle(Input::Vote(a.clone()));
    out.extend(c.handle(Input::Vote(a.clone())));
    out.extend(c.handle(Input::Vote(b.clone())));
    out.extend(c.handle(Input::Vote(nil)));
    out.extend(c.handle(Input::Vote(b.clone())));
    let evidence: Vec<&Evidence> = out
        .iter()
        .filter_map(|o| match o {
            Output::Evidence(e) => Some(e),
            _ => None,
        })
        .collect();
    assert_eq!(
        evidence,
        vec![&Evidence::Vote {
            first: a,
            second: b
        }]
    );
    // A precommit of the same validator in the same round is a different step: not evidence.
    let out = c.handle(Input::Vote(vote(2, VoteKind::Precommit, 1, 0, None)));
    assert!(!out.iter().any(|o| matches!(o, Output::Evidence(_))));
}

#[test]
fn f_plus_one_in_a_higher_round_moves_the_core_there() {
    let mut c = core(0, 1, None);
    c.start();
    c.handle(Input::Vote(vote(1, VoteKind::Prevote, 1, 5, None)));
    assert_eq!(c.round(), 0, "one validator of four is not f+1");
    c.handle(Input::Vote(vote(2, VoteKind::Prevote, 1, 5, None)));
    assert_eq!(c.round(), 5);
}

#[test]
fn timeouts_grow_with_the_round() {
    let t = TimeoutConfig::default();
    assert_eq!(t.duration(TimeoutKind::Propose, 0), t.propose);
    assert_eq!(
        t.duration(TimeoutKind::Prevote, 4),
        t.prevote + t.prevote_delta * 4
    );
    assert_eq!(
        t.duration(TimeoutKind::Precommit, u32::MAX),
        t.precommit
            .saturating_add(t.precommit_delta.saturating_mul(u32::MAX))
    );
    assert_eq!(t.duration(TimeoutKind::Rebroadcast, 99), t.rebroadcast);
    assert!(t.duration(TimeoutKind::Propose, 1) > Duration::ZERO);
}

fn header() -> BlockHeader {
    let set = set();
    BlockHeader {
        chain_id: CHAIN.into(),
        height: 1,
        prev_hash: [1; 32],
        time_ms: 1_700_000_000_000,
        proposer: set.proposer(1, 0).key,
        log_root: [2; 32],
        log_size: 0,
        body_hash: BlockBody::default().hash(),
        validators_hash: set.hash(),
        next_validators_hash: set.hash(),
        app_state_root: [3; 32],
    }
}

/// Four cores, perfect synchronous delivery, all proposals valid.
fn run_perfect_network(value: Hash) -> Vec<Output> {
    let mut cores: Vec<Consensus> = (0..4).map(|i| core(i, 1, None)).collect();
    let mut queue: Vec<(usize, Output)> = Vec::new();
    for (i, c) in cores.iter_mut().enumerate() {
        queue.extend(c.start().into_iter().map(|o| (i, o)));
    }
    let mut all = Vec::new();
    let mut steps = 0;
    while let Some((from, output)) = (!queue.is_empty()).then(|| queue.remove(0)) {
        steps += 1;
        assert!(steps < 10_000, "no convergence");
        match &output {
            // Only height 1 is under test; later heights stay idle.
            Output::RequestValue { height: 1, round } => {
                let more = cores[from].handle(Input::ProposeValue {
                    height: 1,
                    round: *round,
                    hash: value,
                });
                queue.extend(more.into_iter().map(|o| (from, o)));
            }
            Output::Broadcast(message) => {
                for to in (0..4).filter(|&to| to != from) {
                    let input = match message.clone() {
                        Message::Proposal(proposal) => Input::Proposal {
                            proposal,
                            valid: true,
                        },
                        Message::Vote(v) => Input::Vote(v),
                        Message::Decision(c) => Input::Decision(c),
                    };
                    let more = cores[to].handle(input);
                    queue.extend(more.into_iter().map(|o| (to, o)));
                }
            }
            _ => {}
        }
        all.push(output);
    }
    all
}

#[test]
fn four_validators_decide_with_a_certificate_the_ledger_accepts() {
    let header = header();
    let outputs = run_perfect_network(header.hash());
    let decisions: Vec<&FinalityCertificate> = outputs
        .iter()
        .filter_map(|o| match o {
            Output::Decide {
                height: 1,
                hash,
                certificate,
                ..
            } if *hash == header.hash() => Some(certificate),
            _ => None,
        })
        .collect();
    assert_eq!(decisions.len(), 4, "every validator decides once");
    for cert in decisions {
        cert.verify(&header, &set()).unwrap();
    }
    assert!(
        !outputs
            .iter()
            .any(|o| matches!(o, Output::Rejected { .. } | Output::Evidence(_)))
    );
}

#[test]
fn a_decision_certificate_catches_a_lagging_core_up_and_a_short_one_is_rejected() {
    let header = header();
    let hash = header.hash();
    let precommits: Vec<_> = (0..3)
        .map(|i| {
            let v = vote(i, VoteKind::Precommit, 1, 0, Some(hash));
            provenance_protocol::ledger::CommitSignature {
                validator: v.validator,
                signature: v.signature,
            }
        })
        .collect();
    let mut c = core(3, 1, None);
    c.start();
    let short = FinalityCertificate::from_precommits(&header, 0, precommits[..2].to_vec());
    let out = c.handle(Input::Decision(short));
    assert!(matches!(
        out.as_slice(),
        [Output::Rejected {
            reason: Rejection::BadCertificate { .. },
            ..
        }]
    ));
    let full = FinalityCertificate::from_precommits(&header, 0, precommits);
    let out = c.handle(Input::Decision(full.clone()));
    assert!(matches!(
        out.first(),
        Some(Output::Decide { height: 1, certificate, .. }) if *certificate == full
    ));
    assert_eq!(c.height(), 2);
}

#[test]
fn a_non_validator_cannot_run_the_core() {
    let result = Consensus::new(
        Config {
            chain_id: CHAIN.into(),
            validators: set(),
            key: SigningKey::from_seed([42; 32]),
            timeouts: TimeoutConfig::default(),
        },
        1,
        None,
    );
    assert!(matches!(result, Err(ConfigError::NotAValidator { .. })));
    assert!(matches!(
        Consensus::new(
            Config {
                chain_id: CHAIN.into(),
                validators: set(),
                key: key(0),
                timeouts: TimeoutConfig::default(),
            },
            0,
            None
        ),
        Err(ConfigError::HeightZero)
    ));
}

proptest! {
    #[test]
    fn proposal_signature_breaks_under_any_field_change(
        height in any::<u64>(),
        round in any::<u32>(),
        pol in proptest::option::of(any::<u32>()),
        hash in any::<[u8; 32]>(),
        which in 0usize..4,
        delta in 1u32..1000,
    ) {
        let signer = key(0);
        let payload = ProposalPayload { height, round, pol_round: pol, block_hash: hash };
        let signature = payload.sign(&signer, CHAIN);
        prop_assert!(payload.verify(&signer.public_key(), CHAIN, &signature).is_ok());
        let mut changed = payload;
        match which {
            0 => changed.height = height.wrapping_add(u64::from(delta)),
            1 => changed.round = round.wrapping_add(delta),
            2 => changed.pol_round = match pol {
                None => Some(0),
                Some(p) if delta.is_multiple_of(2) => Some(p.wrapping_add(delta)),
                Some(_) => None,
            },
            _ => changed.block_hash[(delta % 32) as usize] ^= 1,
        }
        prop_assert_ne!(
            provenance_protocol::codec::Canonical::to_canonical_bytes(&changed),
            provenance_protocol::codec::Canonical::to_canonical_bytes(&payload)
        );
        prop_assert!(changed.verify(&signer.public_key(), CHAIN, &signature).is_err());
        prop_assert!(payload.verify(&signer.public_key(), "other-chain", &signature).is_err());
    }
}

#[test]
fn a_restored_lock_still_binds_the_restarted_validator() {
    let locked = [7; 32];
    let me = some_other_than(index_of_proposer(1, 1));
    let pol = (0..4)
        .filter(|&i| i != me)
        .map(|i| {
            let v = vote(i, VoteKind::Prevote, 1, 0, Some(locked));
            provenance_protocol::ledger::CommitSignature {
                validator: v.validator,
                signature: v.signature,
            }
        })
        .collect();
    let state = SignedState {
        height: 1,
        round: 0,
        step: SignStep::Precommit,
        messages: vec![SignedAt {
            round: 0,
            step: SignStep::Precommit,
            block_hash: Some(locked),
            pol_round: None,
        }],
        lock: Some(Lock {
            round: 0,
            hash: locked,
            pol,
        }),
    };
    let mut c = core(me, 1, Some(state));
    c.start();
    c.handle(Input::Timeout {
        height: 1,
        round: 0,
        kind: TimeoutKind::Precommit,
    });
    assert_eq!(c.round(), 1);
    let out = c.handle(Input::Proposal {
        proposal: proposal(1, 1, [8; 32]),
        valid: true,
    });
    let prevotes = broadcast_votes(&out);
    assert_eq!(prevotes.len(), 1);
    assert_eq!(prevotes[0].payload.round, 1);
    assert_eq!(
        prevotes[0].payload.block_hash, None,
        "locked on another value: prevote nil"
    );
    assert_eq!(
        persisted(&out).unwrap().lock.map(|l| l.hash),
        Some(locked),
        "the lock stays persisted"
    );
}
