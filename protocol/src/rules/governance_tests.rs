//! Governance and evidence rules over a small network: registry changes, key rotation and
//! revocation judged by height, validator-set hand-offs, and equivocation records.

use serde_json::{Value, json};

use super::*;
use crate::crypto::SigningKey;
use crate::evidence::{Equivocation, EvidenceError, SignedVote};
use crate::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant};
use crate::governance::{GovernanceAction, GovernanceError, GovernanceProposal, GovernanceTx};
use crate::ledger::{Validator, ValidatorSet, VoteKind, VotePayload};
use crate::record::SignedEvent;

const CHAIN: &str = "governance-rules-test";
const T0: u64 = 1_735_725_600_000;

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed([seed; 32])
}

/// Validators A–D (power 10 each, prefixes 0614141–0614144) and a retailer, Shop (0614145).
struct Net {
    state: MemoryState,
    params: ConsensusParams,
    /// Every secret key the test ever created, to approve with whatever the set holds.
    secrets: Vec<SigningKey>,
    nonce: u64,
    serial: u32,
}

impl Net {
    fn new(validators: &[&str]) -> Self {
        let names = ["A", "B", "C", "D", "Shop"];
        let participants = names
            .iter()
            .enumerate()
            .map(|(i, name)| Participant {
                name: (*name).into(),
                roles: if *name == "Shop" {
                    vec![Role::Retailer]
                } else {
                    vec![Role::Manufacturer, Role::Validator]
                },
                signing_key: key(i as u8 + 1).public_key(),
                network_key: key(i as u8 + 101).public_key(),
                company_prefixes: vec![format!("061414{}", i + 1)],
            })
            .collect();
        let genesis = Genesis {
            chain_id: CHAIN.into(),
            genesis_time_ms: T0,
            participants,
            validators: validators
                .iter()
                .map(|v| GenesisValidator {
                    participant: (*v).into(),
                    power: 10,
                })
                .collect(),
            params: ConsensusParams::default(),
        };
        genesis.validate().unwrap();
        Net {
            state: MemoryState::from_genesis(&genesis),
            params: genesis.params.clone(),
            secrets: (1..=5).map(key).collect(),
            nonce: 0,
            serial: 0,
        }
    }

    fn ctx(height: u64) -> RuleContext {
        RuleContext {
            height,
            block_time_ms: T0 + 3_600_000,
            max_clock_skew_ms: 60_000,
        }
    }

    /// A transaction approved by every member of the set certifying `height`.
    fn approved(&mut self, height: u64, action: GovernanceAction) -> GovernanceTx {
        self.nonce += 1;
        let proposal = GovernanceProposal {
            chain_id: CHAIN.into(),
            action,
            nonce: self.nonce,
            expires_at_height: height + 10,
        };
        let set = self.state.validator_set_at(height).unwrap();
        let approvals = set
            .validators()
            .iter()
            .filter_map(|v| self.secrets.iter().find(|s| s.public_key() == v.key))
            .map(|s| proposal.approve(s))
            .collect();
        GovernanceTx::new(proposal, approvals)
    }

    fn check(&self, height: u64, tx: &GovernanceTx) -> Result<Vec<StateChange>, GovernanceError> {
        check_governance(&self.state, tx, CHAIN, &Self::ctx(height), &self.params)
    }

    /// Approves, checks and applies `action` in the block at `height`.
    fn govern(&mut self, height: u64, action: GovernanceAction) -> Result<(), GovernanceError> {
        let tx = self.approved(height, action);
        let changes = self.check(height, &tx)?;
        self.state.apply(changes);
        Ok(())
    }

    /// A commissioning event under `prefix`, signed by `signer` with `sequence`, checked at
    /// `height` and applied if accepted.
    fn commission(
        &mut self,
        signer: &SigningKey,
        sequence: u64,
        prefix: &str,
        height: u64,
    ) -> Result<(), RuleViolation> {
        self.serial += 1;
        let epc = format!("urn:epc:id:sgtin:{prefix}.107346.{}", self.serial);
        let event = event(json!({"epcList": [epc], "action": "ADD", "bizStep": "commissioning"}));
        let record = SignedEvent::sign(signer, CHAIN, sequence, &event).unwrap();
        let verified = record.verify(CHAIN).unwrap();
        let changes = check_event(&self.state, &verified, &Self::ctx(height))?;
        self.state.apply(changes);
        Ok(())
    }
}

fn event(extra: Value) -> Value {
    let mut event = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventTime": "2025-01-01T10:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
    });
    for (k, v) in extra.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

fn power(name: &str, power: u64) -> GovernanceAction {
    GovernanceAction::SetValidatorPower {
        name: name.into(),
        power,
    }
}

fn newcomer(seed: u8, prefix: &str) -> GovernanceAction {
    GovernanceAction::AddParticipant {
        participant: Participant {
            name: format!("New {seed}"),
            roles: vec![Role::Manufacturer, Role::Validator],
            signing_key: key(seed).public_key(),
            network_key: key(seed + 100).public_key(),
            company_prefixes: vec![prefix.into()],
        },
    }
}

fn set_of(entries: &[(u8, u64)]) -> ValidatorSet {
    ValidatorSet::new(
        entries
            .iter()
            .map(|(seed, power)| Validator {
                key: key(*seed).public_key(),
                power: *power,
            })
            .collect(),
    )
    .unwrap()
}

const ABCD: &[&str] = &["A", "B", "C", "D"];

#[test]
fn a_new_participant_signs_from_the_effective_height() {
    let mut net = Net::new(ABCD);
    net.govern(5, newcomer(50, "0614150")).unwrap();
    // Registered at once (its name and prefix are reserved), signing only from 5 + 2.
    assert_eq!(net.state.participant("New 50").unwrap().removed_at, None);
    assert_eq!(
        net.state.prefix_owner("06141501234").unwrap().name,
        "New 50"
    );
    let err = net.commission(&key(50), 1, "0614150", 6).unwrap_err();
    assert_eq!(
        err,
        RuleViolation::SignerNotYetValid {
            participant: "New 50".into(),
            valid_from: 7
        }
    );
    assert_eq!(err.code(), "signer_not_yet_valid");
    net.commission(&key(50), 1, "0614150", 7).unwrap();
    // A network key never signs events.
    assert_eq!(
        net.commission(&key(150), 1, "0614150", 7)
            .unwrap_err()
            .code(),
        "unknown_signer"
    );
    // Its network key is admitted from the same height.
    assert!(
        !net.state
            .network_keys_at(6)
            .iter()
            .any(|(n, _)| n == "New 50")
    );
    assert!(
        net.state
            .network_keys_at(7)
            .contains(&("New 50".into(), key(150).public_key()))
    );
}

#[test]
fn registry_conflicts_are_refused() {
    let mut net = Net::new(ABCD);
    let code = |net: &mut Net, action| {
        let tx = net.approved(5, action);
        net.check(5, &tx).unwrap_err().code()
    };
    let mut dup = newcomer(50, "0614150");
    if let GovernanceAction::AddParticipant { participant } = &mut dup {
        participant.name = "Shop".into();
    }
    assert_eq!(code(&mut net, dup), "governance_duplicate_name");
    // A genesis key, signing or network, can never be registered again.
    assert_eq!(
        code(&mut net, newcomer(1, "0614150")),
        "governance_key_in_use"
    );
    let mut network_reuse = newcomer(50, "0614150");
    if let GovernanceAction::AddParticipant { participant } = &mut network_reuse {
        participant.signing_key = key(103).public_key();
    }
    assert_eq!(code(&mut net, network_reuse), "governance_key_in_use");
    // Prefixes overlapping a registered one, from either side, are refused.
    for prefix in ["06141411", "061414", "0614141"] {
        let tx = net.approved(5, newcomer(50, prefix));
        assert!(
            matches!(
                net.check(5, &tx),
                Err(GovernanceError::OverlappingPrefix { ref other, .. }) if other == "A"
            ),
            "{prefix}"
        );
    }
    assert_eq!(
        code(&mut net, power("Nobody", 5)),
        "governance_unknown_participant"
    );
    assert_eq!(
        code(&mut net, power("Shop", 5)),
        "governance_not_a_validator"
    );
}

#[test]
fn nonces_expiry_and_quorum_are_enforced() {
    let mut net = Net::new(ABCD);
    let tx = net.approved(5, newcomer(50, "0614150"));
    net.state.apply(net.check(5, &tx).unwrap());
    let mut replay = net.approved(6, newcomer(51, "0614151"));
    replay.proposal.nonce = tx.proposal.nonce;
    let replay = GovernanceTx::new(
        replay.proposal.clone(),
        (1..=4).map(|s| replay.proposal.approve(&key(s))).collect(),
    );
    assert_eq!(
        net.check(6, &replay),
        Err(GovernanceError::NonceUsed {
            nonce: tx.proposal.nonce
        })
    );
    let late = net.approved(5, newcomer(52, "0614152"));
    assert_eq!(
        net.check(16, &late),
        Err(GovernanceError::Expired {
            expires_at_height: 15,
            height: 16
        })
    );
    // Two of four equal validators are not a quorum.
    let mut weak = net.approved(6, newcomer(53, "0614153"));
    weak.approvals.truncate(2);
    assert_eq!(
        net.check(6, &weak).unwrap_err().code(),
        "governance_insufficient_power"
    );
}

#[test]
fn rotated_keys_hand_over_at_the_effective_height() {
    let mut net = Net::new(ABCD);
    net.secrets.push(key(60));
    net.govern(
        5,
        GovernanceAction::RotateKeys {
            name: "B".into(),
            signing_key: Some(key(60).public_key()),
            network_key: Some(key(160).public_key()),
        },
    )
    .unwrap();
    // Old key: valid before the effective height 7, refused from it.
    net.commission(&key(2), 1, "0614142", 6).unwrap();
    assert_eq!(
        net.commission(&key(2), 2, "0614142", 7),
        Err(RuleViolation::SignerRevoked {
            participant: "B".into(),
            revoked_at: 7
        })
    );
    // New key: refused before, valid from it (its own sequence starts at 1).
    assert_eq!(
        net.commission(&key(60), 1, "0614142", 6)
            .unwrap_err()
            .code(),
        "signer_not_yet_valid"
    );
    net.commission(&key(60), 1, "0614142", 7).unwrap();
    let by_old_key = net.state.participant_by_key(&key(2).public_key()).unwrap();
    assert_eq!(
        (by_old_key.name.as_str(), by_old_key.revoked_at),
        ("B", Some(7))
    );
    assert_eq!(
        net.state.participant_by_name("B").unwrap().signing_key,
        key(60).public_key()
    );
    // The validator keeps its power under the new key from height 7.
    assert_eq!(
        net.state
            .validator_set_at(6)
            .unwrap()
            .power_of(&key(2).public_key()),
        Some(10)
    );
    let at7 = net.state.validator_set_at(7).unwrap();
    assert_eq!(at7.power_of(&key(2).public_key()), None);
    assert_eq!(at7.power_of(&key(60).public_key()), Some(10));
    assert!(
        net.state
            .network_keys_at(6)
            .contains(&("B".into(), key(102).public_key()))
    );
    assert!(
        net.state
            .network_keys_at(7)
            .contains(&("B".into(), key(160).public_key()))
    );
    assert!(
        !net.state
            .network_keys_at(7)
            .contains(&("B".into(), key(102).public_key()))
    );
    // A rotated-out key can never come back.
    let back = GovernanceAction::RotateKeys {
        name: "C".into(),
        signing_key: Some(key(2).public_key()),
        network_key: None,
    };
    let tx = net.approved(8, back);
    assert_eq!(
        net.check(8, &tx).unwrap_err().code(),
        "governance_key_in_use"
    );
}

#[test]
fn an_organisation_may_correct_its_own_event_after_rotating() {
    let mut net = Net::new(ABCD);
    let original = event(
        json!({"epcList": ["urn:epc:id:sgtin:0614142.107346.9"], "action": "ADD", "bizStep": "commissioning"}),
    );
    let record = SignedEvent::sign(&key(2), CHAIN, 1, &original).unwrap();
    let changes = check_event(&net.state, &record.verify(CHAIN).unwrap(), &Net::ctx(3)).unwrap();
    net.state.apply(changes);
    net.govern(
        5,
        GovernanceAction::RotateKeys {
            name: "B".into(),
            signing_key: Some(key(60).public_key()),
            network_key: None,
        },
    )
    .unwrap();
    let mut correction = original.clone();
    correction["errorDeclaration"] =
        json!({"declarationTime": "2025-01-01T10:05:00.000Z", "reason": "incorrect_data"});
    let record = SignedEvent::sign(&key(60), CHAIN, 1, &correction).unwrap();
    check_event(&net.state, &record.verify(CHAIN).unwrap(), &Net::ctx(8)).unwrap();
    // Another organisation still may not.
    let record = SignedEvent::sign(&key(3), CHAIN, 1, &correction).unwrap();
    assert_eq!(
        check_event(&net.state, &record.verify(CHAIN).unwrap(), &Net::ctx(8))
            .unwrap_err()
            .code(),
        "error_by_other_signer"
    );
}

#[test]
fn validator_set_at_follows_every_scheduled_change() {
    let mut net = Net::new(ABCD);
    let genesis = set_of(&[(1, 10), (2, 10), (3, 10), (4, 10)]);
    net.govern(5, power("A", 40)).unwrap();
    net.govern(6, power("D", 0)).unwrap();
    assert_eq!(net.state.validator_set_at(0), Some(genesis.clone()));
    assert_eq!(net.state.validator_set_at(6), Some(genesis));
    // The block at 7 is certified by the first change, the block at 8 by both.
    assert_eq!(
        net.state.validator_set_at(7),
        Some(set_of(&[(1, 40), (2, 10), (3, 10), (4, 10)]))
    );
    let both = set_of(&[(1, 40), (2, 10), (3, 10)]);
    assert_eq!(net.state.validator_set_at(8), Some(both.clone()));
    assert_eq!(net.state.validator_set_at(1_000), Some(both));
    // Approvals count against the set of the including block: D's counts at 7, not at 8.
    let mut tx = net.approved(7, power("B", 20));
    tx.approvals
        .retain(|a| a.validator == key(1).public_key() || a.validator == key(4).public_key());
    assert!(
        net.check(7, &tx).is_ok(),
        "A and D hold 50 of 70 at height 7"
    );
    assert_eq!(
        net.check(8, &tx).unwrap_err().code(),
        "governance_unknown_approver"
    );
}

#[test]
fn changes_in_one_block_build_on_each_other() {
    let net = Net::new(ABCD);
    let mut net = net;
    let first = net.approved(5, newcomer(50, "0614150"));
    let second = net.approved(5, power("New 50", 30));
    let third = net.approved(5, power("A", 0));
    let clash = net.approved(5, newcomer(51, "06141501"));
    let mut pending = PendingChanges::default();
    for tx in [&first, &second, &third] {
        let view = Overlay::new(&net.state, &pending);
        let changes = check_governance(&view, tx, CHAIN, &Net::ctx(5), &net.params).unwrap();
        pending.apply(changes);
    }
    let view = Overlay::new(&net.state, &pending);
    assert_eq!(
        view.validator_set_at(7),
        Some(set_of(&[(2, 10), (3, 10), (4, 10), (50, 30)]))
    );
    assert_eq!(view.validator_set_at(6), net.state.validator_set_at(6));
    // The pending registration already reserves its prefix and keys.
    assert!(matches!(
        check_governance(&view, &clash, CHAIN, &Net::ctx(5), &net.params),
        Err(GovernanceError::OverlappingPrefix { ref other, .. }) if other == "New 50"
    ));
    assert_eq!(
        view.participant_by_key(&key(50).public_key())
            .unwrap()
            .valid_from,
        7
    );
    // Committing gives the same state as the overlay showed.
    let changes = pending.into_changes();
    net.state.apply(changes);
    assert_eq!(
        net.state.validator_set_at(7),
        Some(set_of(&[(2, 10), (3, 10), (4, 10), (50, 30)]))
    );
}

#[test]
fn the_last_validator_cannot_be_removed() {
    let mut net = Net::new(&["A"]);
    for action in [
        power("A", 0),
        GovernanceAction::RemoveParticipant { name: "A".into() },
        GovernanceAction::RevokeKey { name: "A".into() },
    ] {
        let tx = net.approved(5, action);
        assert_eq!(
            net.check(5, &tx),
            Err(GovernanceError::ValidatorSet(
                crate::ledger::LedgerError::EmptyValidatorSet
            ))
        );
    }
    let tx = net.approved(5, power("B", 0));
    assert_eq!(
        net.check(5, &tx).unwrap_err().code(),
        "governance_not_in_validator_set"
    );
}

#[test]
fn revoking_and_removing_stop_signing_and_voting() {
    let mut net = Net::new(ABCD);
    net.govern(5, GovernanceAction::RevokeKey { name: "C".into() })
        .unwrap();
    net.commission(&key(3), 1, "0614143", 6).unwrap();
    assert_eq!(
        net.commission(&key(3), 2, "0614143", 7).unwrap_err().code(),
        "signer_revoked"
    );
    assert_eq!(
        net.state
            .validator_set_at(7)
            .unwrap()
            .power_of(&key(3).public_key()),
        None
    );
    let tx = net.approved(6, power("C", 10));
    assert_eq!(
        net.check(6, &tx).unwrap_err().code(),
        "governance_key_revoked"
    );
    let tx = net.approved(6, GovernanceAction::RevokeKey { name: "C".into() });
    assert_eq!(
        net.check(6, &tx).unwrap_err().code(),
        "governance_key_revoked"
    );
    // Rotating restores signing (and power is granted again by a separate decision).
    net.secrets.push(key(70));
    net.govern(
        6,
        GovernanceAction::RotateKeys {
            name: "C".into(),
            signing_key: Some(key(70).public_key()),
            network_key: None,
        },
    )
    .unwrap();
    net.govern(6, power("C", 10)).unwrap();
    net.commission(&key(70), 1, "0614143", 8).unwrap();
    assert_eq!(
        net.state
            .validator_set_at(8)
            .unwrap()
            .power_of(&key(70).public_key()),
        Some(10)
    );

    net.govern(9, GovernanceAction::RemoveParticipant { name: "D".into() })
        .unwrap();
    assert_eq!(net.state.participant("D").unwrap().removed_at, Some(11));
    net.commission(&key(4), 1, "0614144", 10).unwrap();
    assert_eq!(
        net.commission(&key(4), 2, "0614144", 11)
            .unwrap_err()
            .code(),
        "signer_revoked"
    );
    assert!(!net.state.network_keys_at(11).iter().any(|(n, _)| n == "D"));
    assert_eq!(
        net.state
            .validator_set_at(11)
            .unwrap()
            .power_of(&key(4).public_key()),
        None
    );
    let tx = net.approved(10, GovernanceAction::RemoveParticipant { name: "D".into() });
    assert_eq!(
        net.check(10, &tx).unwrap_err().code(),
        "governance_participant_removed"
    );
}

#[test]
fn governance_changes_move_the_app_state_root() {
    let mut net = Net::new(ABCD);
    let a = net.approved(5, power("A", 20));
    let b = net.approved(5, power("A", 21));
    let root = |tx: &GovernanceTx| next_app_state_root(&[0; 32], &net.check(5, tx).unwrap());
    assert_ne!(root(&a), root(&b));
    assert_ne!(root(&a), next_app_state_root(&[0; 32], &[]));
}

fn double_precommit(seed: u8, height: u64) -> Equivocation {
    let vote = |hash: u8| {
        SignedVote::sign(
            VotePayload {
                kind: VoteKind::Precommit,
                height,
                round: 0,
                block_hash: Some([hash; 32]),
            },
            &key(seed),
            CHAIN,
        )
    };
    Equivocation::votes(vote(1), vote(2))
}

#[test]
fn evidence_is_recorded_once_against_the_set_of_its_height() {
    let mut net = Net::new(ABCD);
    let ev = double_precommit(2, 4);
    let changes = check_evidence(&net.state, &ev, CHAIN, &Net::ctx(6)).unwrap();
    assert_eq!(
        changes,
        vec![StateChange::Evidence {
            offence: ev.offence()
        }]
    );
    net.state.apply(changes);
    assert_eq!(
        check_evidence(&net.state, &ev, CHAIN, &Net::ctx(7)),
        Err(EvidenceError::AlreadyRecorded {
            offence: ev.offence()
        })
    );
    // A third conflicting vote in the same step is the same offence.
    let third = Equivocation::votes(
        match &ev {
            Equivocation::Votes { first, .. } => first.clone(),
            Equivocation::Proposals { .. } => unreachable!(),
        },
        SignedVote::sign(
            VotePayload {
                kind: VoteKind::Precommit,
                height: 4,
                round: 0,
                block_hash: None,
            },
            &key(2),
            CHAIN,
        ),
    );
    assert_eq!(
        check_evidence(&net.state, &third, CHAIN, &Net::ctx(7))
            .unwrap_err()
            .code(),
        "evidence_already_recorded"
    );
    assert_eq!(
        check_evidence(&net.state, &double_precommit(3, 7), CHAIN, &Net::ctx(7))
            .unwrap_err()
            .code(),
        "evidence_not_in_the_past"
    );
    // Shop never validated: its double vote is not evidence against the set.
    assert_eq!(
        check_evidence(&net.state, &double_precommit(5, 4), CHAIN, &Net::ctx(7))
            .unwrap_err()
            .code(),
        "evidence_not_a_validator"
    );
    // A validator that joins at height 7 was not a validator at height 4...
    net.govern(5, newcomer(50, "0614150")).unwrap();
    net.govern(5, power("New 50", 10)).unwrap();
    assert_eq!(
        check_evidence(&net.state, &double_precommit(50, 4), CHAIN, &Net::ctx(9))
            .unwrap_err()
            .code(),
        "evidence_not_a_validator"
    );
    // ...but is at height 7.
    check_evidence(&net.state, &double_precommit(50, 7), CHAIN, &Net::ctx(9)).unwrap();
    // The overlay sees evidence recorded earlier in the same block.
    let mut pending = PendingChanges::default();
    let ev7 = double_precommit(50, 7);
    pending.apply(check_evidence(&net.state, &ev7, CHAIN, &Net::ctx(9)).unwrap());
    assert!(Overlay::new(&net.state, &pending).evidence_recorded(&ev7.offence()));
}
