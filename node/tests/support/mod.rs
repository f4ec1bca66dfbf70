//! Helpers shared by the node's integration tests.

use provenance_node::service::{CommitOutcome, NodeService};
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::ledger::{CommitSignature, FinalityCertificate};

/// Seals the waiting events into the next block as a sole validator's consensus does: build the
/// proposal, precommit it, commit it with that one-signature certificate. Returns
/// `(height, events in the block)`.
pub async fn seal_as_sole_validator(
    service: &NodeService,
    validator: SigningKey,
    chain_id: &str,
) -> (u64, usize) {
    let service = service.clone();
    let chain_id = chain_id.to_owned();
    tokio::task::spawn_blocking(move || {
        let block = service.build_proposal(vec![], vec![]).unwrap();
        let unsigned = FinalityCertificate::from_precommits(&block.header, 0, vec![]);
        let signature = unsigned.precommit_payload().sign(&validator, &chain_id);
        let certificate = FinalityCertificate::from_precommits(
            &block.header,
            0,
            vec![CommitSignature {
                validator: validator.public_key(),
                signature,
            }],
        );
        match service.commit_finalised(&block, &certificate).unwrap() {
            CommitOutcome::Committed { height, events } => (height, events),
            other => panic!("expected a new block, got {other:?}"),
        }
    })
    .await
    .unwrap()
}
