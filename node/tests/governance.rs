//! Governance through the node: an approved transaction is accepted by the service, included in
//! the next block, and hands the validator set over at exactly the effective height; the
//! headers and bodies let a light client follow the hand-off from genesis.

mod support;

use std::sync::Arc;

use provenance_node::mempool::MempoolLimits;
use provenance_node::metrics::Metrics;
use provenance_node::service::{BlockError, NodeService};
use provenance_node::store::{LedgerStore, SledStore};
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use provenance_protocol::governance::{GovernanceAction, GovernanceProposal, GovernanceTx};
use provenance_protocol::ledger::next_validator_set;

const CHAIN: &str = "governance-test";

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed([seed; 32])
}

fn genesis() -> Genesis {
    let participant = |name: &str, seed: u8, prefix: &str| Participant {
        name: name.into(),
        roles: vec![Role::Manufacturer, Role::Validator],
        signing_key: key(seed).public_key(),
        network_key: key(seed + 100).public_key(),
        company_prefixes: vec![prefix.into()],
    };
    Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 1_700_000_000_000,
        participants: vec![
            participant("Alpha", 1, "0614141"),
            participant("Beta", 2, "0614142"),
        ],
        validators: vec![GenesisValidator {
            participant: "Alpha".into(),
            power: 1,
        }],
        params: ConsensusParams {
            validator_change_delay: 2,
            ..ConsensusParams::default()
        },
    }
}

fn add_beta(approvers: &[&SigningKey], nonce: u64) -> GovernanceTx {
    let proposal = GovernanceProposal {
        chain_id: CHAIN.into(),
        action: GovernanceAction::SetValidatorPower {
            name: "Beta".into(),
            power: 1,
        },
        nonce,
        expires_at_height: 100,
    };
    let approvals = approvers.iter().map(|k| proposal.approve(k)).collect();
    GovernanceTx::new(proposal, approvals)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_approved_validator_change_hands_off_at_the_effective_height() {
    let genesis = genesis();
    let store = Arc::new(SledStore::open_temporary(&genesis).unwrap());
    let service = NodeService::new(
        store.clone(),
        genesis.clone(),
        Some(key(1)),
        MempoolLimits::default(),
        Metrics::new(),
    )
    .unwrap();

    // Approved by a non-member only: refused, naming the reason.
    let error = service
        .submit_governance(add_beta(&[&key(2)], 1))
        .unwrap_err();
    assert_eq!(error.code(), "governance_unknown_approver", "{error}");
    assert!(service.take_governance_outbox().is_empty());

    // Approved by the whole current set (Alpha): accepted, handed to the engine.
    service.submit_governance(add_beta(&[&key(1)], 1)).unwrap();
    let governance = service.take_governance_outbox();
    assert_eq!(governance.len(), 1);

    let genesis_set = genesis.validator_set().unwrap();
    let (block1, _) = support::seal_with(&service, vec![key(1)], CHAIN, governance)
        .await
        .unwrap();
    assert_eq!(block1.body.governance.len(), 1, "the proposer included it");
    // Included at height 1 with delay 2: the block at height 3 is the first the new set
    // certifies, so header 2 announces it.
    assert_eq!(block1.header.next_validators_hash, genesis_set.hash());
    let (block2, _) = support::seal_with(&service, vec![key(1)], CHAIN, vec![])
        .await
        .unwrap();
    assert_eq!(block2.header.validators_hash, genesis_set.hash());
    let new_set = block2
        .body
        .next_validators
        .clone()
        .expect("hand-off announced");
    assert_eq!(block2.header.next_validators_hash, new_set.hash());
    assert_eq!(new_set.validators().len(), 2);

    // Approvals are counted against the set of the next height, which is now {Alpha, Beta}:
    // Alpha's alone no longer suffice, and a replay with both is refused for its used nonce.
    let alone = service
        .submit_governance(add_beta(&[&key(1)], 2))
        .unwrap_err();
    assert_eq!(alone.code(), "governance_insufficient_power");
    let replay = service
        .submit_governance(add_beta(&[&key(1), &key(2)], 1))
        .unwrap_err();
    assert_eq!(replay.code(), "governance_nonce_used");

    // Height 3 needs more than 2/3 of {Alpha, Beta}: Alpha alone no longer finalises.
    match support::seal_with(&service, vec![key(1)], CHAIN, vec![]).await {
        Err(BlockError::Certificate { height: 3, .. }) => {}
        other => panic!("expected a certificate refusal at height 3, got {other:?}"),
    }
    let (block3, _) = support::seal_with(&service, vec![key(1), key(2)], CHAIN, vec![])
        .await
        .unwrap();
    assert_eq!(block3.header.validators_hash, new_set.hash());

    // A light client trusting only the genesis follows every hand-off from the blocks.
    let mut trusted = genesis_set;
    for height in 1..=3 {
        let stored = store.block(height).unwrap().unwrap();
        stored
            .certificate
            .verify(&stored.block.header, &trusted)
            .unwrap();
        trusted = next_validator_set(&trusted, &stored.block.header, &stored.block.body).unwrap();
    }
    assert_eq!(trusted.hash(), new_set.hash());
}
