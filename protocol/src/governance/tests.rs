//! Stateless governance checks: encoding, approvals, quorum.

use proptest::prelude::*;

use super::*;
use crate::genesis::Role;
use crate::ledger::Validator;

const CHAIN: &str = "governance-test";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed([seed; 32])
}

/// Four validators of power 10, 10, 10, 30 (total 60; quorum needs > 40).
fn set() -> ValidatorSet {
    ValidatorSet::new(
        [(1, 10), (2, 10), (3, 10), (4, 30)]
            .into_iter()
            .map(|(seed, power)| Validator {
                key: key(seed).public_key(),
                power,
            })
            .collect(),
    )
    .unwrap()
}

fn proposal(action: GovernanceAction) -> GovernanceProposal {
    GovernanceProposal {
        chain_id: CHAIN.into(),
        action,
        nonce: 7,
        expires_at_height: 100,
    }
}

fn add_participant() -> GovernanceAction {
    GovernanceAction::AddParticipant {
        participant: Participant {
            name: "New Roaster".into(),
            roles: vec![Role::Manufacturer, Role::Validator],
            signing_key: key(20).public_key(),
            network_key: key(21).public_key(),
            company_prefixes: vec!["0614150".into(), "0614151".into()],
        },
    }
}

fn tx(action: GovernanceAction, signers: &[u8]) -> GovernanceTx {
    let p = proposal(action);
    let approvals = signers.iter().map(|s| p.approve(&key(*s))).collect();
    GovernanceTx::new(p, approvals)
}

fn all_actions() -> Vec<GovernanceAction> {
    vec![
        add_participant(),
        GovernanceAction::RemoveParticipant { name: "A".into() },
        GovernanceAction::SetValidatorPower {
            name: "A".into(),
            power: 5,
        },
        GovernanceAction::RotateKeys {
            name: "A".into(),
            signing_key: Some(key(30).public_key()),
            network_key: None,
        },
        GovernanceAction::RotateKeys {
            name: "A".into(),
            signing_key: None,
            network_key: Some(key(31).public_key()),
        },
        GovernanceAction::RevokeKey { name: "A".into() },
    ]
}

#[test]
fn quorum_is_strictly_more_than_two_thirds_of_power() {
    // 10 + 30 = 40 of 60 is exactly two thirds: refused.
    assert_eq!(
        tx(add_participant(), &[1, 4]).verify(&set(), CHAIN),
        Err(GovernanceError::InsufficientPower {
            approved: 40,
            total: 60
        })
    );
    // 10 + 10 + 30 = 50 > 40: accepted.
    tx(add_participant(), &[1, 2, 4])
        .verify(&set(), CHAIN)
        .unwrap();
    // Without the big validator, all three small ones (30) are not enough.
    assert_eq!(
        tx(add_participant(), &[1, 2, 3])
            .verify(&set(), CHAIN)
            .unwrap_err()
            .code(),
        "governance_insufficient_power"
    );
}

#[test]
fn approvals_must_be_distinct_sorted_members_with_valid_signatures() {
    let good = tx(add_participant(), &[1, 2, 4]);
    let mut duplicate = good.clone();
    duplicate
        .approvals
        .insert(1, duplicate.approvals[0].clone());
    assert!(matches!(
        duplicate.verify(&set(), CHAIN),
        Err(GovernanceError::DuplicateApproval { .. })
    ));
    let mut unsorted = good.clone();
    unsorted.approvals.reverse();
    assert!(matches!(
        unsorted.verify(&set(), CHAIN),
        Err(GovernanceError::ApprovalsNotSorted { .. })
    ));
    let stranger = tx(add_participant(), &[1, 2, 4, 9]);
    assert_eq!(
        stranger.verify(&set(), CHAIN),
        Err(GovernanceError::UnknownApprover {
            key: key(9).public_key()
        })
    );
    let mut forged = good.clone();
    forged.approvals[1].signature = forged.approvals[0].signature;
    assert!(matches!(
        forged.verify(&set(), CHAIN),
        Err(GovernanceError::BadApprovalSignature { .. })
    ));
    // A signature over another proposal (other nonce) is not an approval of this one.
    let mut other = good.clone();
    other.proposal.nonce += 1;
    assert!(matches!(
        other.verify(&set(), CHAIN),
        Err(GovernanceError::BadApprovalSignature { .. })
    ));
    assert!(matches!(
        good.verify(&set(), "other-chain"),
        Err(GovernanceError::WrongChain { .. })
    ));
    // `new` canonicalises: order and duplicates of the input do not matter.
    let p = proposal(add_participant());
    let shuffled = GovernanceTx::new(
        p.clone(),
        vec![
            p.approve(&key(4)),
            p.approve(&key(1)),
            p.approve(&key(4)),
            p.approve(&key(2)),
        ],
    );
    assert_eq!(shuffled, good);
}

#[test]
fn approval_signatures_are_domain_separated() {
    let p = proposal(add_participant());
    let as_event = crypto::sign(
        &key(1),
        SigningDomain::Event,
        CHAIN,
        &p.to_canonical_bytes(),
    );
    assert!(
        crypto::verify(
            &key(1).public_key(),
            SigningDomain::Governance,
            CHAIN,
            &p.to_canonical_bytes(),
            &as_event
        )
        .is_err()
    );
    assert_ne!(
        p.id(),
        proposal(GovernanceAction::RevokeKey { name: "A".into() }).id()
    );
}

#[test]
fn malformed_actions_are_refused_before_any_signature_is_checked() {
    let with = |f: fn(&mut Participant)| {
        let mut action = add_participant();
        if let GovernanceAction::AddParticipant { participant } = &mut action {
            f(participant);
        }
        tx(action, &[1, 2, 4])
            .verify(&set(), CHAIN)
            .unwrap_err()
            .code()
    };
    assert_eq!(with(|p| p.name = "  ".into()), "governance_bad_name");
    assert_eq!(with(|p| p.name = "x".repeat(129)), "governance_bad_name");
    assert_eq!(with(|p| p.roles.clear()), "governance_bad_roles");
    assert_eq!(
        with(|p| p.roles = vec![Role::Retailer, Role::Retailer]),
        "governance_bad_roles"
    );
    assert_eq!(
        with(|p| p.network_key = p.signing_key),
        "governance_key_in_use"
    );
    assert_eq!(
        with(|p| p.company_prefixes = vec!["12345".into()]),
        "governance_bad_company_prefix"
    );
    assert_eq!(
        with(|p| p.company_prefixes = vec!["0614150".into(), "06141501".into()]),
        "governance_overlapping_prefix"
    );
    assert_eq!(
        with(|p| p.company_prefixes = vec!["0614150".into(); 2]),
        "governance_overlapping_prefix"
    );
    assert_eq!(
        with(|p| p.company_prefixes = (0..65).map(|i| format!("{:07}", 1_000_000 + i)).collect()),
        "governance_too_many_prefixes"
    );
    let nothing = GovernanceAction::RotateKeys {
        name: "A".into(),
        signing_key: None,
        network_key: None,
    };
    assert_eq!(
        tx(nothing, &[1, 2, 4])
            .verify(&set(), CHAIN)
            .unwrap_err()
            .code(),
        "governance_nothing_to_rotate"
    );
    let huge = GovernanceAction::SetValidatorPower {
        name: "A".into(),
        power: MAX_JSON_SAFE_INTEGER + 1,
    };
    assert_eq!(
        tx(huge, &[1, 2, 4])
            .verify(&set(), CHAIN)
            .unwrap_err()
            .code(),
        "governance_number_too_large"
    );
}

#[test]
fn every_action_round_trips_through_cbor_and_json() {
    for action in all_actions() {
        let t = tx(action, &[1, 2, 4]);
        t.verify(&set(), CHAIN).unwrap();
        let bytes = t.to_canonical_bytes();
        assert_eq!(
            GovernanceTx::from_canonical_bytes(&bytes, MAX_GOVERNANCE_TX_BYTES).unwrap(),
            t
        );
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<GovernanceTx>(&json).unwrap(), t);
    }
    let json = serde_json::to_value(proposal(GovernanceAction::SetValidatorPower {
        name: "A".into(),
        power: 5,
    }))
    .unwrap();
    assert_eq!(json["action"]["action"], "set_validator_power");
    assert_eq!(json["action"]["power"], 5);
    let typo = serde_json::json!({"action": "revoke_key", "name": "A", "nam": "B"});
    assert!(serde_json::from_value::<GovernanceAction>(typo).is_err());
}

#[test]
fn an_oversized_transaction_is_refused() {
    let p = proposal(GovernanceAction::RevokeKey {
        name: "x".repeat(MAX_GOVERNANCE_TX_BYTES),
    });
    assert!(matches!(
        GovernanceTx::new(p, vec![]).verify(&set(), CHAIN),
        Err(GovernanceError::TooLarge { .. })
    ));
}

proptest! {
    #[test]
    fn any_single_byte_change_of_a_signed_tx_is_rejected(
        which in 0usize..6, pos in any::<prop::sample::Index>(), xor in 1u8..=255,
    ) {
        let t = tx(all_actions()[which].clone(), &[1, 2, 4]);
        let bytes = t.to_canonical_bytes();
        prop_assert_eq!(
            GovernanceTx::from_canonical_bytes(&bytes, MAX_GOVERNANCE_TX_BYTES).unwrap(),
            t.clone()
        );
        let mut mutated = bytes;
        let i = pos.index(mutated.len());
        mutated[i] ^= xor;
        if let Ok(other) = GovernanceTx::from_canonical_bytes(&mutated, MAX_GOVERNANCE_TX_BYTES) {
            prop_assert_ne!(&other, &t);
            prop_assert!(other.verify(&set(), CHAIN).is_err());
        }
    }

    #[test]
    fn proposals_round_trip(nonce in 0u64..=MAX_JSON_SAFE_INTEGER, expires in any::<u64>(),
                            power in any::<u64>(), name in "[A-Za-z ]{1,40}") {
        let p = GovernanceProposal {
            chain_id: CHAIN.into(),
            action: GovernanceAction::SetValidatorPower { name, power },
            nonce,
            expires_at_height: expires,
        };
        let bytes = p.to_canonical_bytes();
        prop_assert_eq!(GovernanceProposal::from_canonical_bytes(&bytes, 4096).unwrap(), p.clone());
        let json = serde_json::to_string(&p).unwrap();
        prop_assert_eq!(serde_json::from_str::<GovernanceProposal>(&json).unwrap(), p);
    }
}
