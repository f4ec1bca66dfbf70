//! Governance across real processes: a validator-set change drafted, approved and submitted with
//! the operator CLI hands consensus over at exactly its effective height, and from then on the
//! new validator's votes are what keep the chain final.
//!
//! Like the other multi-node tests, this asserts only "eventually, within generous bounds"; a
//! failing run keeps its network directory (keys, configs, the governance file, `node-<i>.log`).

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use provenance_protocol::bundle::{TrustRoot, VerdictStatus, VerifyOptions, verify};
use provenance_protocol::crypto::PublicKey;
use provenance_protocol::governance::{GovernanceAction, GovernanceProposal, GovernanceTx};
use provenance_protocol::ledger::ValidatorSet;
use provenance_tests::TestNet;
use provenance_tests::client::{FinalisedBlock, GovernanceSubmitError};
use provenance_tests::load::{LoadShape, under_load};
use provenance_tests::testnet::node_binary;

/// Bound on every "eventually".
const WAIT: Duration = Duration::from_secs(30);
/// The node run by the participant that governance turns into a validator.
const CANDIDATE: usize = 4;
/// The genesis validator killed once the candidate votes.
const VICTIM: usize = 1;
/// Nodes that take load: validators and the candidate, never the victim.
const LOADED: [usize; 3] = [0, 2, CANDIDATE];
/// Nodes alive at the end.
const SURVIVORS: [usize; 4] = [0, 2, 3, CANDIDATE];

/// Runs `provenance-node <args>` and returns its stdout.
///
/// # Panics
/// If it exits unsuccessfully; the message holds its output.
fn node_cli(net: &TestNet, args: &[&str]) -> String {
    let output = Command::new(node_binary())
        .args(args)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .unwrap_or_else(|e| panic!("cannot run provenance-node {args:?}: {e}"));
    if !output.status.success() {
        net.keep();
        panic!(
            "provenance-node {args:?} failed ({}):\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn path_arg(path: &Path) -> &str {
    path.to_str()
        .unwrap_or_else(|| panic!("{} is not UTF-8", path.display()))
}

/// The lowest height that every node in `nodes` has reached, `None` if one does not answer.
fn min_height(net: &TestNet, nodes: &[usize]) -> Option<u64> {
    nodes
        .iter()
        .map(|&i| net.try_status(i).ok().map(|s| s.height))
        .min()
        .flatten()
}

/// Node `node`'s block at `height`, which it must have.
fn block(net: &TestNet, node: usize, height: u64) -> FinalisedBlock {
    net.block(node, height)
        .unwrap_or_else(|| panic!("node {node} has no block at height {height}"))
}

fn signers(block: &FinalisedBlock) -> Vec<PublicKey> {
    block
        .certificate
        .signatures
        .iter()
        .map(|s| s.validator)
        .collect()
}

#[test]
fn a_validator_added_by_governance_votes_from_the_effective_height() {
    let net = TestNet::builder()
        .validators(4)
        .candidates(1)
        .signers(4)
        .build();
    assert!(!net.is_genesis_validator(CANDIDATE));
    let candidate_key = net.signing_key(CANDIDATE).public_key();
    let delay = net.genesis().params.validator_change_delay.max(1);
    net.start_all();
    net.wait_for_full_mesh(WAIT);

    // Events submitted to validators and to the candidate become final everywhere: the
    // candidate relays and follows, but does not vote.
    let mut streams = net.event_source().into_streams();
    let mut late_stream = streams.pop().expect("four signers");
    let mut acked = Vec::new();
    for (stream, node) in streams.iter_mut().zip(LOADED) {
        acked.extend(net.submit(node, &stream.batch(10)));
    }
    net.wait_for_log_size(acked.len() as u64, WAIT);
    net.assert_converged(&acked);
    net.wait_until(WAIT, "the genesis validators to report voting", |net| {
        (0..4).all(|i| net.try_status(i).is_ok_and(|s| s.validator))
    });
    assert!(
        !net.status(CANDIDATE).validator,
        "the candidate claims a vote it does not have"
    );

    let height_before = net.status(0).height;
    let expires = (height_before + 200).to_string();
    let action = serde_json::json!({
        "action": "set_validator_power",
        "name": net.participant_name(CANDIDATE),
        "power": 1,
    })
    .to_string();

    // Approved by only half the voting power: the API refuses it and says why.
    let proposal = GovernanceProposal {
        chain_id: net.genesis().chain_id.clone(),
        action: GovernanceAction::SetValidatorPower {
            name: net.participant_name(CANDIDATE),
            power: 1,
        },
        nonce: 99,
        expires_at_height: height_before + 200,
    };
    let half = GovernanceTx::new(
        proposal.clone(),
        [0, 1]
            .iter()
            .map(|&i| proposal.approve(&net.signing_key(i)))
            .collect(),
    );
    match net.client(0).submit_governance(&half) {
        Err(GovernanceSubmitError::Refused { status, code, .. }) => {
            assert_eq!(
                (status, code.as_str()),
                (422, "governance_insufficient_power")
            );
        }
        other => panic!("2 of 4 approvals: expected a 422 refusal, got {other:?}"),
    }

    let load: Vec<_> = streams
        .into_iter()
        .zip(LOADED)
        .map(|(stream, node)| (net.client(node), stream))
        .collect();
    let shape = LoadShape {
        batch: 3,
        pause: Duration::from_millis(100),
    };
    let (outcome, load_acked) = under_load(load, shape, || {
        // The operator workflow: draft, three of four validators approve, submit through the
        // candidate's own node (which gossips it to the validators).
        let tx_path = net.dir().join("add-candidate.json");
        let tx_file = path_arg(&tx_path);
        node_cli(
            &net,
            &[
                "governance",
                "propose",
                "--genesis",
                path_arg(net.genesis_path()),
                "--action",
                &action,
                "--nonce",
                "1",
                "--expires-at-height",
                &expires,
                "--out",
                tx_file,
            ],
        );
        for approver in [0, 2, 3] {
            node_cli(
                &net,
                &[
                    "governance",
                    "approve",
                    tx_file,
                    "--key",
                    path_arg(net.signing_key_path(approver)),
                ],
            );
        }
        let tx: GovernanceTx =
            serde_json::from_str(&std::fs::read_to_string(&tx_path).unwrap()).unwrap();
        assert_eq!(tx.approvals.len(), 3);
        let submitted = node_cli(
            &net,
            &[
                "governance",
                "submit",
                tx_file,
                "--node",
                &net.api_addr(CANDIDATE).to_string(),
            ],
        );
        let id = hex::encode(tx.id());
        assert!(submitted.contains(&id), "{submitted}");

        // The next proposer includes it; the set hands over `delay` heights later.
        let mut scanned = height_before;
        let mut included = None;
        net.wait_until(
            WAIT,
            "a block including the governance transaction",
            |net| {
                let head = net.status(0).height;
                while included.is_none() && scanned < head {
                    scanned += 1;
                    let block = block(net, 0, scanned);
                    if block.governance.iter().any(|g| g.id() == tx.id()) {
                        included = Some(scanned);
                    }
                }
                included.is_some()
            },
        );
        let included = included.unwrap_or_default();
        let effective = included + delay;
        net.wait_until(WAIT, "the candidate to vote at the next height", |net| {
            net.try_status(CANDIDATE).is_ok_and(|s| s.validator)
        });
        net.wait_until(WAIT, "every node to pass the effective height", |net| {
            min_height(net, &[0, 1, 2, 3, CANDIDATE]).is_some_and(|h| h > effective)
        });

        // Five validators of power 1: finality needs four signatures. With one genesis validator
        // dead, the three left reach four only with the candidate's vote.
        net.kill(VICTIM);
        let max_after_kill = SURVIVORS
            .iter()
            .map(|&i| net.status(i).height)
            .max()
            .unwrap_or_default();
        // The victim may have precommitted `max_after_kill + 1` before it died. It cannot have
        // precommitted anything higher: that needs a quorum of prevotes at that height, which
        // needs a quorum of survivors to have committed `max_after_kill + 1` before the kill, and
        // none had.
        let first_without_victim = max_after_kill + 2;
        net.wait_until(
            WAIT,
            "the survivors to finalise blocks without the killed validator",
            |net| min_height(net, &SURVIVORS).is_some_and(|h| h >= first_without_victim + 2),
        );
        let late_ids = net.submit(0, &late_stream.batch(5));
        net.wait_until(WAIT, "events submitted after the kill to be final", |net| {
            SURVIVORS.iter().all(|&i| {
                late_ids
                    .iter()
                    .all(|id| net.client(i).event(id).is_ok_and(|e| e.is_some()))
            })
        });
        (included, effective, first_without_victim, late_ids)
    });
    let (included, effective, first_without_victim, late_ids) = outcome;
    let late_id = late_ids[0];
    acked.extend(load_acked);
    acked.extend(late_ids);

    net.wait_for_log_size_on(&SURVIVORS, acked.len() as u64, WAIT);
    let converged = net.assert_converged_on(&SURVIVORS, &acked);
    assert_eq!(converged.events, acked.len());

    // The hand-off, as a light client trusting only the genesis sees it.
    let chain = net.verified_chain_to(CANDIDATE, converged.height);
    let genesis_set = net.validator_set();
    let new_set: &ValidatorSet = &chain.validator_sets[usize::try_from(effective - 1).unwrap()];
    assert_eq!(new_set.validators().len(), 5, "{new_set:?}");
    assert_eq!(new_set.power_of(&candidate_key), Some(1));
    for height in 1..=converged.height {
        let block = block(&net, CANDIDATE, height);
        let set = &chain.validator_sets[usize::try_from(height - 1).unwrap()];
        let expected_set = if height < effective {
            genesis_set
        } else {
            new_set
        };
        assert_eq!(set, expected_set, "the set certifying block {height}");
        assert_eq!(
            block.governance.len(),
            usize::from(height == included),
            "block {height}'s governance"
        );
        let hands_off = height == effective - 1;
        assert_eq!(
            block.next_validators.as_ref(),
            hands_off.then_some(new_set),
            "block {height}'s next_validators"
        );
        assert_eq!(
            block.header.next_validators_hash != block.header.validators_hash,
            hands_off,
            "block {height}'s header"
        );
        let signed = signers(&block);
        if height < effective {
            assert!(
                !signed.contains(&candidate_key),
                "the candidate signed block {height} before it had power"
            );
        }
        if height >= first_without_victim {
            assert!(
                signed.contains(&candidate_key)
                    && !signed.contains(&net.signing_key(VICTIM).public_key()),
                "block {height} after the kill is signed by {signed:?}"
            );
        }
    }

    // A consumer's bundle for an event finalised after the hand-off: trusting only the genesis
    // hash, the verifier walks from the genesis set through the certified hand-off to the set
    // that certifies the anchor, and rebuilds the registry from the governance transaction.
    let late = net
        .client(CANDIDATE)
        .event(&late_id)
        .unwrap()
        .expect("the late event is final");
    let epc = late.event.event_json().unwrap()["epcList"][0]
        .as_str()
        .unwrap()
        .to_owned();
    let bundle = net
        .client(CANDIDATE)
        .bundle(&epc)
        .expect("a bundle of the late event's product");
    assert_eq!(bundle.handoffs.len(), 1, "one hand-off since genesis");
    assert_eq!(bundle.handoffs[0].header.height, effective - 1);
    assert_eq!(bundle.handoffs[0].next_validators, *new_set);
    assert_eq!(bundle.governance.len(), 1);
    assert_eq!(bundle.governance[0].height, included);
    let options = VerifyOptions {
        expected_subject: Some(epc),
        ..VerifyOptions::default()
    };
    let verdict = verify(
        &bundle,
        &TrustRoot::PinnedHash(net.genesis().hash()),
        &options,
    );
    assert_eq!(
        verdict.status,
        VerdictStatus::Verified,
        "{:#?}",
        verdict.failures
    );
    assert!(verdict.anchor.expect("anchor").height >= first_without_victim);
    // Without the hand-off, the anchor's certificate names a set the genesis never reached.
    let mut cut = bundle;
    cut.handoffs.clear();
    let verdict = verify(&cut, &TrustRoot::PinnedHash(net.genesis().hash()), &options);
    assert_eq!(verdict.status, VerdictStatus::Failed);
    assert_eq!(verdict.failures[0].code, "bad_certificate");
}
