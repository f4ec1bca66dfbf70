//! Golden vectors: fixed keys and fixed records give fixed bytes, hashes and signatures, forever.
//!
//! `tests/golden/v1.json` is the committed expectation; a third-party implementation of
//! `SPEC.md` can check itself against it. If a change of encoding is *intended*, regenerate with
//! `PROVENANCE_BLESS=1 cargo test -p provenance-protocol --test golden` and say why in the commit.

use std::collections::BTreeMap;

use provenance_protocol::codec::Canonical;
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::evidence::{Equivocation, SignedProposal, SignedVote};
use provenance_protocol::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use provenance_protocol::governance::{GovernanceAction, GovernanceProposal, GovernanceTx};
use provenance_protocol::ledger::{
    BlockBody, BlockHeader, CommitSignature, FinalityCertificate, ProposalPayload, Validator,
    ValidatorSet, VoteKind, VotePayload,
};
use provenance_protocol::merkle;
use provenance_protocol::record::SignedEvent;
use serde_json::json;

const CHAIN: &str = "provenance-golden";
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/v1.json");

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed([seed; 32])
}

fn compute() -> BTreeMap<&'static str, String> {
    let mut out = BTreeMap::new();
    let signer = key(7);
    let event = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventTime": "2025-03-01T08:30:00.000+01:00",
        "eventTimeZoneOffset": "+01:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
        "action": "ADD",
        "bizStep": "commissioning",
        "disposition": "active",
        "readPoint": {"id": "urn:epc:id:sgln:0614141.07346.1234"}
    });
    let record = SignedEvent::sign(&signer, CHAIN, 1, &event).unwrap();
    record.verify(CHAIN).unwrap();
    out.insert("signer_public_key", signer.public_key().to_string());
    out.insert("signer_did_key", signer.public_key().to_did_key());
    out.insert("event_canonical_json", record.event.clone());
    out.insert("event_content_hash", hex::encode(record.content_hash));
    out.insert("event_hash_id", record.event_hash_id.to_string());
    out.insert(
        "event_signing_payload_cbor",
        hex::encode(record.signing_payload().to_canonical_bytes()),
    );
    out.insert("event_signature", record.signature.to_string());
    out.insert(
        "signed_event_cbor",
        hex::encode(record.to_canonical_bytes()),
    );
    out.insert(
        "signed_event_leaf_data_at_1",
        hex::encode(record.leaf_data(1)),
    );
    out.insert(
        "signed_event_leaf_hash_at_1",
        record.leaf_hash(1).to_string(),
    );

    let participants = (1..=4u8)
        .map(|i| Participant {
            name: format!("Validator {i}"),
            roles: vec![Role::Validator, Role::Manufacturer],
            signing_key: key(i).public_key(),
            network_key: key(100 + i).public_key(),
            company_prefixes: vec![format!("061414{i}")],
        })
        .collect();
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 1_735_689_600_000,
        participants,
        validators: (1..=4)
            .map(|i| GenesisValidator {
                participant: format!("Validator {i}"),
                power: 10,
            })
            .collect(),
        params: ConsensusParams::default(),
    };
    genesis.validate().unwrap();
    out.insert("genesis_cbor", hex::encode(genesis.to_canonical_bytes()));
    out.insert("genesis_hash", genesis.hash().to_string());
    let validators = genesis.validator_set().unwrap();
    out.insert(
        "validator_set_cbor",
        hex::encode(validators.to_canonical_bytes()),
    );
    out.insert("validator_set_hash", hex::encode(validators.hash()));

    let body = BlockBody {
        events: vec![record.clone()],
        ..BlockBody::default()
    };
    let header = BlockHeader {
        chain_id: CHAIN.into(),
        height: 1,
        prev_hash: genesis.hash().0,
        time_ms: 1_740_814_200_000,
        proposer: key(1).public_key(),
        log_root: merkle::root_from_leaves(&[record.leaf_hash(1)]).to_bytes(),
        log_size: 1,
        body_hash: body.hash(),
        validators_hash: validators.hash(),
        next_validators_hash: validators.hash(),
        app_state_root: [0; 32],
    };
    out.insert("block_body_hash", hex::encode(body.hash()));
    out.insert(
        "block_header_cbor",
        hex::encode(header.to_canonical_bytes()),
    );
    out.insert("block_header_hash", hex::encode(header.hash()));
    let unsigned = FinalityCertificate::from_precommits(&header, 0, vec![]);
    let payload = unsigned.precommit_payload();
    let signatures = (1..=3)
        .map(|i| CommitSignature {
            validator: key(i).public_key(),
            signature: payload.sign(&key(i), CHAIN),
        })
        .collect();
    let certificate = FinalityCertificate::from_precommits(&header, 0, signatures);
    certificate.verify(&header, &validators).unwrap();
    let proposal = ProposalPayload {
        height: header.height,
        round: 1,
        pol_round: Some(0),
        block_hash: header.hash(),
    };
    out.insert(
        "proposal_payload_cbor",
        hex::encode(proposal.to_canonical_bytes()),
    );
    out.insert(
        "proposal_signature",
        proposal.sign(&key(1), CHAIN).to_string(),
    );
    out.insert(
        "precommit_payload_cbor",
        hex::encode(payload.to_canonical_bytes()),
    );
    out.insert(
        "finality_certificate_cbor",
        hex::encode(certificate.to_canonical_bytes()),
    );
    governance_and_evidence(&mut out, &validators, record);
    out
}

/// Governance, evidence and a body carrying all of it: §10 and §11 of SPEC.md.
fn governance_and_evidence(
    out: &mut BTreeMap<&'static str, String>,
    validators: &ValidatorSet,
    record: SignedEvent,
) {
    let proposal = GovernanceProposal {
        chain_id: CHAIN.into(),
        action: GovernanceAction::AddParticipant {
            participant: Participant {
                name: "Validator 5".into(),
                roles: vec![Role::Validator, Role::Manufacturer],
                signing_key: key(5).public_key(),
                network_key: key(105).public_key(),
                company_prefixes: vec!["0614145".into()],
            },
        },
        nonce: 1,
        expires_at_height: 100,
    };
    out.insert(
        "governance_proposal_cbor",
        hex::encode(proposal.to_canonical_bytes()),
    );
    out.insert("governance_proposal_id", hex::encode(proposal.id()));
    out.insert(
        "governance_approval_signature",
        proposal.sign(&key(1)).to_string(),
    );
    let tx = GovernanceTx::new(
        proposal.clone(),
        (1..=3).map(|i| proposal.approve(&key(i))).collect(),
    );
    tx.verify(validators, CHAIN).unwrap();
    out.insert("governance_tx_cbor", hex::encode(tx.to_canonical_bytes()));
    let rotate = GovernanceProposal {
        chain_id: CHAIN.into(),
        action: GovernanceAction::RotateKeys {
            name: "Validator 2".into(),
            signing_key: Some(key(12).public_key()),
            network_key: None,
        },
        nonce: 2,
        expires_at_height: 100,
    };
    out.insert(
        "governance_rotate_keys_proposal_cbor",
        hex::encode(rotate.to_canonical_bytes()),
    );

    let vote = |hash: u8| {
        SignedVote::sign(
            VotePayload {
                kind: VoteKind::Precommit,
                height: 1,
                round: 0,
                block_hash: Some([hash; 32]),
            },
            &key(4),
            CHAIN,
        )
    };
    let votes = Equivocation::votes(vote(0xbb), vote(0xaa));
    votes.verify(CHAIN, validators).unwrap();
    out.insert(
        "equivocation_votes_cbor",
        hex::encode(votes.to_canonical_bytes()),
    );
    let proposal_at = |pol_round| {
        SignedProposal::sign(
            ProposalPayload {
                height: 1,
                round: 1,
                pol_round,
                block_hash: [0xcc; 32],
            },
            &key(2),
            CHAIN,
        )
    };
    let proposals = Equivocation::proposals(proposal_at(None), proposal_at(Some(0)));
    proposals.verify(CHAIN, validators).unwrap();
    out.insert(
        "equivocation_proposals_cbor",
        hex::encode(proposals.to_canonical_bytes()),
    );

    let mut next = validators.validators().to_vec();
    next.push(Validator {
        key: key(5).public_key(),
        power: 10,
    });
    let body = BlockBody {
        events: vec![record],
        governance: vec![tx],
        evidence: vec![votes],
        next_validators: Some(ValidatorSet::new(next).unwrap()),
    };
    body.check_limits().unwrap();
    out.insert(
        "block_body_full_cbor",
        hex::encode(body.to_canonical_bytes()),
    );
    out.insert("block_body_full_hash", hex::encode(body.hash()));
}

#[test]
fn golden_bytes_never_drift() {
    let computed = compute();
    if std::env::var_os("PROVENANCE_BLESS").is_some() {
        let text = serde_json::to_string_pretty(&computed).unwrap();
        std::fs::write(GOLDEN, text + "\n").unwrap();
        return;
    }
    let text = std::fs::read_to_string(GOLDEN)
        .expect("tests/golden/v1.json missing; generate it with PROVENANCE_BLESS=1");
    let expected: BTreeMap<String, String> = serde_json::from_str(&text).unwrap();
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        computed.keys().collect::<Vec<_>>()
    );
    for (name, value) in &computed {
        assert_eq!(&expected[*name], value, "golden value {name} drifted");
    }
}

#[test]
fn golden_records_decode_back_from_their_bytes() {
    let computed = compute();
    let bytes = hex::decode(&computed["signed_event_cbor"]).unwrap();
    let record = SignedEvent::from_canonical_bytes(&bytes, 1 << 20).unwrap();
    record.verify(CHAIN).unwrap();
    let header_bytes = hex::decode(&computed["block_header_cbor"]).unwrap();
    let header = BlockHeader::from_canonical_bytes(&header_bytes, 4096).unwrap();
    let cert_bytes = hex::decode(&computed["finality_certificate_cbor"]).unwrap();
    let cert = FinalityCertificate::from_canonical_bytes(&cert_bytes, 1 << 16).unwrap();
    assert_eq!(hex::encode(cert.header_hash), computed["block_header_hash"]);
    assert_eq!(hex::encode(header.hash()), computed["block_header_hash"]);
    let tx_bytes = hex::decode(&computed["governance_tx_cbor"]).unwrap();
    let tx = GovernanceTx::from_canonical_bytes(&tx_bytes, 1 << 16).unwrap();
    assert_eq!(hex::encode(tx.id()), computed["governance_proposal_id"]);
    let ev_bytes = hex::decode(&computed["equivocation_votes_cbor"]).unwrap();
    Equivocation::from_canonical_bytes(&ev_bytes, 1024).unwrap();
    let body_bytes = hex::decode(&computed["block_body_full_cbor"]).unwrap();
    let body = BlockBody::from_canonical_bytes(&body_bytes, 1 << 20).unwrap();
    assert_eq!(hex::encode(body.hash()), computed["block_body_full_hash"]);
    assert_eq!(body.governance, vec![tx]);
}
