//! Helpers shared by the node's integration tests.

pub mod http;

use provenance_node::service::{BlockError, CommitOutcome, NodeService};
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::governance::GovernanceTx;
use provenance_protocol::ledger::{Block, CommitSignature, FinalityCertificate};

/// Seals the waiting events into the next block as a sole validator's consensus does: build the
/// proposal, precommit it, commit it with that one-signature certificate. Returns
/// `(height, events in the block)`.
#[allow(dead_code)]
pub async fn seal_as_sole_validator(
    service: &NodeService,
    validator: SigningKey,
    chain_id: &str,
) -> (u64, usize) {
    match seal_with(service, vec![validator], chain_id, vec![]).await {
        Ok((block, CommitOutcome::Committed { height, events })) => {
            assert_eq!(block.header.height, height);
            (height, events)
        }
        other => panic!("expected a new block, got {other:?}"),
    }
}

/// Builds the next block from the mempool plus `governance`, and commits it with precommits
/// from `signers` (any set: the commit checks the certificate against the validator set the
/// state assigns to that height).
#[allow(dead_code)]
pub async fn seal_with(
    service: &NodeService,
    signers: Vec<SigningKey>,
    chain_id: &str,
    governance: Vec<GovernanceTx>,
) -> Result<(Block, CommitOutcome), BlockError> {
    let service = service.clone();
    let chain_id = chain_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let block = service.build_proposal(governance, vec![], None)?;
        let unsigned = FinalityCertificate::from_precommits(&block.header, 0, vec![]);
        let payload = unsigned.precommit_payload();
        let signatures = signers
            .iter()
            .map(|key| CommitSignature {
                validator: key.public_key(),
                signature: payload.sign(key, &chain_id),
            })
            .collect();
        let certificate = FinalityCertificate::from_precommits(&block.header, 0, signatures);
        let outcome = service.commit_finalised(&block, &certificate)?;
        Ok((block, outcome))
    })
    .await
    .unwrap()
}
