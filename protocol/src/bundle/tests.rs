//! Verifier tests: an honest story verifies; every kind of tampering, forgery, omission and
//! staleness is refused with a failure naming its site.

use proptest::prelude::*;
use serde_json::json;

use super::testkit::*;
use super::*;
use crate::governance::{GovernanceAction, GovernanceProposal};
use crate::ledger::BlockHeader;

/// Ledger positions of R1's story in [`TestLedger::journey`]: everything but R3's own
/// commissioning (index 5), which is outside the story.
const R1_STORY: [usize; 12] = [0, 1, 2, 3, 4, 6, 7, 8, 9, 10, 11, 12];

fn bundle_of(ledger: &TestLedger, subject: &str, indices: &[usize]) -> ProvenanceBundle {
    let anchor = ledger.blocks.last().unwrap().clone();
    let events = indices
        .iter()
        .map(|&i| {
            let e = &ledger.events[i];
            ProvenEvent {
                record: e.record.clone(),
                height: e.height,
                leaf_index: e.leaf_index,
                path: ProofPath(
                    ledger
                        .inclusion_path(e.leaf_index, anchor.header.log_size)
                        .unwrap(),
                ),
            }
        })
        .collect();
    ProvenanceBundle {
        version: BUNDLE_VERSION,
        subject: Subject::parse(subject).unwrap().key().0.clone(),
        scope: Scope::Upstream,
        genesis: ledger.genesis.clone(),
        handoffs: ledger.handoffs.clone(),
        governance: ledger.governance.clone(),
        anchor,
        events,
    }
}

fn trust(ledger: &TestLedger) -> TrustRoot {
    TrustRoot::Genesis(Box::new(ledger.genesis.clone()))
}

fn asked(subject: &str) -> VerifyOptions {
    VerifyOptions {
        expected_subject: Some(subject.to_owned()),
        expected_scope: Some(Scope::Upstream),
        ..VerifyOptions::default()
    }
}

fn check(ledger: &TestLedger, bundle: &ProvenanceBundle) -> Verdict {
    verify(bundle, &trust(ledger), &asked(R1))
}

fn codes(verdict: &Verdict) -> Vec<&str> {
    verdict.failures.iter().map(|f| f.code.as_str()).collect()
}

fn assert_failed(verdict: &Verdict, code: &str) {
    assert_eq!(verdict.status, VerdictStatus::Failed, "{verdict:#?}");
    assert!(
        codes(verdict).contains(&code),
        "expected {code}, got {:?}",
        verdict.failures
    );
    assert_eq!(verdict.exit_code(), 1);
}

fn event_site(verdict: &Verdict, code: &str) -> usize {
    verdict
        .failures
        .iter()
        .find_map(|f| match (&f.site, f.code == code) {
            (Site::Event { index, .. }, true) => Some(*index),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no {code} failure at an event: {:?}", verdict.failures))
}

#[test]
fn an_honest_story_verifies() {
    let ledger = TestLedger::journey();
    let bundle = bundle_of(&ledger, R1, &R1_STORY);
    let verdict = check(&ledger, &bundle);
    assert!(verdict.failures.is_empty(), "{:#?}", verdict.failures);
    assert_eq!(
        verdict.status,
        VerdictStatus::Verified,
        "{}",
        verdict.summary
    );
    assert_eq!(verdict.exit_code(), 0);
    assert!(
        verdict.summary.starts_with("VERIFIED"),
        "{}",
        verdict.summary
    );
    let anchor = verdict.anchor.as_ref().unwrap();
    assert_eq!(anchor.height, 13);
    assert_eq!((anchor.signed_power, anchor.total_power), (4, 4));
    // Pinning only the genesis hash works the same.
    let pinned = verify(
        &bundle,
        &TrustRoot::PinnedHash(ledger.genesis.hash()),
        &asked(R1),
    );
    assert_eq!(pinned.status, VerdictStatus::Verified);
    // A Digital Link of the same bag is the same question.
    let by_link = verify(
        &bundle,
        &trust(&ledger),
        &asked("https://brand.example/01/00614142045210/21/R1"),
    );
    assert_eq!(
        by_link.status,
        VerdictStatus::Verified,
        "{:?}",
        by_link.failures
    );
}

#[test]
fn both_encodings_round_trip() {
    let ledger = TestLedger::journey();
    let bundle = bundle_of(&ledger, R1, &R1_STORY);
    let cbor = bundle.to_cbor();
    let json = bundle.to_json();
    assert_eq!(ProvenanceBundle::from_cbor(&cbor).unwrap(), bundle);
    assert_eq!(
        ProvenanceBundle::from_json(json.as_bytes()).unwrap(),
        bundle
    );
    assert_eq!(ProvenanceBundle::from_bytes(&cbor).unwrap(), bundle);
    assert_eq!(
        ProvenanceBundle::from_bytes(json.as_bytes()).unwrap(),
        bundle
    );
    assert!(cbor.len() < json.len());
    let value: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(value["version"], 1);
    assert!(value["events"][0]["record"]["signature"].is_string());
    assert!(value["events"][0]["path"][0].as_str().unwrap().len() == 64);
}

#[test]
fn unknown_versions_and_oversized_lists_are_refused() {
    let ledger = TestLedger::journey();
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    bundle.version = 2;
    let error = ProvenanceBundle::from_cbor(&bundle.to_cbor()).unwrap_err();
    assert!(
        matches!(error, BundleFormatError::UnsupportedVersion { found: 2 }),
        "{error}"
    );
    let error = ProvenanceBundle::from_json(bundle.to_json().as_bytes()).unwrap_err();
    assert!(error.to_string().contains("version 2"), "{error}");
    let error = ProvenanceBundle::from_json(b"{\"version\": 1}").unwrap_err();
    assert!(matches!(error, BundleFormatError::Json(_)), "{error}");
}

#[test]
fn a_tampered_event_fails_at_that_event() {
    let ledger = TestLedger::journey();
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    bundle.events[2].record.event = bundle.events[2]
        .record
        .event
        .replace("in_transit", "in_progress");
    let verdict = check(&ledger, &bundle);
    assert_failed(&verdict, "hash_mismatch");
    assert_eq!(event_site(&verdict, "hash_mismatch"), 2);
    assert!(!verdict.story.steps.iter().all(|s| s.verified));
}

#[test]
fn a_tampered_proof_fails_at_that_event() {
    let ledger = TestLedger::journey();
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    let mut bytes = bundle.events[4].path.0[0].to_bytes();
    bytes[7] ^= 0x40;
    bundle.events[4].path.0[0] = bytes.into();
    let verdict = check(&ledger, &bundle);
    assert_failed(&verdict, "bad_inclusion_proof");
    assert_eq!(event_site(&verdict, "bad_inclusion_proof"), 4);
}

#[test]
fn a_claimed_height_is_proven_by_the_leaf() {
    let ledger = TestLedger::journey();
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    bundle.events[3].height += 1;
    let verdict = check(&ledger, &bundle);
    assert_failed(&verdict, "bad_inclusion_proof");
    assert_eq!(event_site(&verdict, "bad_inclusion_proof"), 3);
    // A height beyond the anchor is named as such, before the proof is even tried.
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    bundle.events[11].height = 99;
    let verdict = check(&ledger, &bundle);
    assert_failed(&verdict, "bad_height");
    assert_eq!(event_site(&verdict, "bad_height"), 11);
}

#[test]
fn a_tampered_anchor_header_or_certificate_fails() {
    let ledger = TestLedger::journey();
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    bundle.anchor.header.time_ms += 1;
    let verdict = check(&ledger, &bundle);
    assert_failed(&verdict, "bad_certificate");
    assert_eq!(verdict.failures[0].site, Site::Anchor);
    // Nothing is believed after a broken trust step.
    assert!(verdict.story.steps.is_empty());

    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    let mut signature = bundle.anchor.certificate.signatures[0].signature.to_bytes();
    signature[3] ^= 1;
    bundle.anchor.certificate.signatures[0].signature =
        crate::crypto::Signature::from_bytes(&signature);
    assert_failed(&check(&ledger, &bundle), "bad_certificate");
}

#[test]
fn a_certificate_from_too_few_validators_fails() {
    let mut ledger = TestLedger::journey();
    // Two of four validators: half the power, not more than two thirds.
    let record = ledger.sign(
        "Shop",
        &object(
            200,
            json!({"epcList": [R1], "action": "OBSERVE",
        "bizStep": "inspecting"}),
        ),
    );
    ledger.commit_signed_by(vec![record], &["Farm", "Roaster"]);
    let verdict = check(&ledger, &bundle_of(&ledger, R1, &R1_STORY));
    assert_failed(&verdict, "bad_certificate");
    let failure = &verdict.failures[0];
    assert_eq!(failure.site, Site::Anchor);
    assert!(failure.message.contains("height 14"), "{}", failure.message);
}

#[test]
fn a_dropped_step_breaks_custody() {
    let ledger = TestLedger::journey();
    // Without the Roaster's receipt of the bags, it never held them to roast.
    let story: Vec<usize> = R1_STORY.iter().copied().filter(|&i| i != 3).collect();
    let verdict = check(&ledger, &bundle_of(&ledger, R1, &story));
    assert_failed(&verdict, "not_custodian");
    // Without the commissioning, nothing may happen to the bags.
    let story: Vec<usize> = R1_STORY.iter().copied().filter(|&i| i != 0).collect();
    assert_failed(
        &check(&ledger, &bundle_of(&ledger, R1, &story)),
        "not_commissioned",
    );
    // Without the pallet's receipt by the Hauler, the Hauler cannot ship it.
    let story: Vec<usize> = R1_STORY.iter().copied().filter(|&i| i != 8).collect();
    assert_failed(
        &check(&ledger, &bundle_of(&ledger, R1, &story)),
        "not_custodian",
    );
}

#[test]
fn reordered_or_repeated_events_fail() {
    let ledger = TestLedger::journey();
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    bundle.events.swap(5, 6);
    assert_failed(&check(&ledger, &bundle), "events_out_of_order");
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    let again = bundle.events[4].clone();
    bundle.events.insert(5, again);
    assert_failed(&check(&ledger, &bundle), "events_out_of_order");
}

#[test]
fn another_participants_key_does_not_verify() {
    let ledger = TestLedger::journey();
    let mut bundle = bundle_of(&ledger, R1, &R1_STORY);
    // The Farm's shipment presented as the Roaster's.
    bundle.events[2].record.signer = ledger.keys["Roaster"].public_key();
    let verdict = check(&ledger, &bundle);
    assert_failed(&verdict, "bad_signature");
    assert_eq!(event_site(&verdict, "bad_signature"), 2);
}

#[test]
fn a_certification_by_a_non_certifier_fails_even_if_a_quorum_certified_it() {
    // A dishonest quorum includes the Farm's self-certification: proofs and certificates are
    // fine, the rules are not.
    let mut ledger = TestLedger::new();
    let events = journey_events();
    for (i, (who, event)) in events.into_iter().enumerate() {
        let (who, event) = if i == 1 {
            ("Farm", event)
        } else {
            (who, event)
        };
        let record = ledger.sign(who, &event);
        ledger.commit(vec![record]);
    }
    let verdict = check(&ledger, &bundle_of(&ledger, R1, &R1_STORY));
    assert_failed(&verdict, "role_required");
    assert_eq!(event_site(&verdict, "role_required"), 1);
    assert!(
        verdict.failures[0].message.contains("certifier"),
        "{}",
        verdict.failures[0].message
    );
}

#[test]
fn a_recall_makes_the_story_unsafe_and_an_older_anchor_stale() {
    let mut ledger = TestLedger::journey();
    let before = bundle_of(&ledger, R1, &R1_STORY);
    let recall = ledger.sign(
        "Roaster",
        &object(
            300,
            json!({"epcList": [R1], "action": "OBSERVE", "bizStep": "holding",
                   "disposition": "recalled"}),
        ),
    );
    ledger.commit(vec![recall]);
    let mut story = R1_STORY.to_vec();
    story.push(13);
    let after = bundle_of(&ledger, R1, &story);
    let verdict = check(&ledger, &after);
    assert!(verdict.failures.is_empty(), "{:?}", verdict.failures);
    assert_eq!(verdict.status, VerdictStatus::Unsafe, "{}", verdict.summary);
    assert_eq!(verdict.exit_code(), 1);
    assert!(
        verdict.summary.contains("recalled by Roaster"),
        "{}",
        verdict.summary
    );

    // The consumer has seen height 14: the bundle from before the recall is refused.
    let options = VerifyOptions {
        min_anchor_height: Some(14),
        ..asked(R1)
    };
    let stale = verify(&before, &trust(&ledger), &options);
    assert_failed(&stale, "stale_anchor");
    assert!(
        stale.failures[0].message.contains("height 13"),
        "{:?}",
        stale.failures
    );
    // So is one older than the consumer allows.
    let options = VerifyOptions {
        now_ms: Some(T0 + 14 * 60_000 + 3_600_000),
        max_age_ms: Some(60_000),
        ..asked(R1)
    };
    assert_failed(&verify(&before, &trust(&ledger), &options), "stale_anchor");
}

#[test]
fn another_network_or_subject_or_scope_is_refused() {
    let ledger = TestLedger::journey();
    let bundle = bundle_of(&ledger, R1, &R1_STORY);
    let mut other = ledger.genesis.clone();
    other.chain_id = "another-network".into();
    let verdict = verify(&bundle, &TrustRoot::Genesis(Box::new(other)), &asked(R1));
    assert_failed(&verdict, "genesis_mismatch");
    assert_eq!(verdict.failures[0].site, Site::Genesis);
    assert!(verdict.anchor.is_none());

    assert_failed(
        &verify(&bundle, &trust(&ledger), &asked(R2)),
        "wrong_subject",
    );
    let options = VerifyOptions {
        expected_scope: Some(Scope::Downstream),
        ..asked(R1)
    };
    assert_failed(&verify(&bundle, &trust(&ledger), &options), "wrong_scope");
}

/// A ledger whose validator set changes once: Shop's power goes to 2 through governance.
fn ledger_with_handoff() -> TestLedger {
    let mut ledger = TestLedger::journey();
    let proposal = GovernanceProposal {
        chain_id: CHAIN.into(),
        action: GovernanceAction::SetValidatorPower {
            name: "Shop".into(),
            power: 2,
        },
        nonce: 7,
        expires_at_height: 100,
    };
    let approvals = ["Farm", "Roaster", "Hauler"]
        .iter()
        .map(|name| proposal.approve(&ledger.keys[name]))
        .collect();
    let tx = crate::governance::GovernanceTx::new(proposal, approvals);
    let included_at = ledger.blocks.len() as u64 + 1;
    ledger.commit_with_governance(tx);
    assert_eq!(included_at, 14);
    // Effective at 14 + 2 = 16: header 15 announces the next set.
    ledger.commit(Vec::new());
    let record = ledger.sign(
        "Shop",
        &object(
            400,
            json!({"epcList": [R1], "action": "OBSERVE",
        "bizStep": "inspecting"}),
        ),
    );
    ledger.commit_signed_by(vec![record], &["Farm", "Roaster", "Shop"]);
    ledger
}

#[test]
fn hand_offs_are_followed_and_needed() {
    let ledger = ledger_with_handoff();
    assert_eq!(
        ledger.handoffs.len(),
        1,
        "the testkit announces the new set"
    );
    let bundle = bundle_of(&ledger, R1, &R1_STORY);
    let verdict = check(&ledger, &bundle);
    assert!(verdict.failures.is_empty(), "{:#?}", verdict.failures);
    let anchor = verdict.anchor.unwrap();
    assert_eq!(
        (anchor.height, anchor.signed_power, anchor.total_power),
        (16, 4, 5)
    );

    let mut without = bundle.clone();
    without.handoffs.clear();
    assert_failed(&check(&ledger, &without), "bad_certificate");

    let mut without = bundle.clone();
    without.governance.clear();
    let verdict = check(&ledger, &without);
    assert_failed(&verdict, "governance_missing");
    assert!(matches!(
        verdict.failures[0].site,
        Site::Handoff { height: 15, .. }
    ));

    let mut forged = bundle;
    forged.handoffs[0].next_validators = ledger.genesis.validator_set().unwrap();
    assert_failed(&check(&ledger, &forged), "bad_next_validators");
}

/// Re-encodes `bundle` with one byte changed; `None` when the change yields the same bundle
/// (JSON whitespace) or bytes that are no bundle at all (refused at decoding, as they should).
fn flipped(bytes: &[u8], position: usize, mask: u8, json: bool) -> Option<ProvenanceBundle> {
    let mut bytes = bytes.to_vec();
    let position = position % bytes.len();
    bytes[position] ^= mask;
    if json {
        ProvenanceBundle::from_json(&bytes).ok()
    } else {
        ProvenanceBundle::from_cbor(&bytes).ok()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Any byte of the compact form, flipped: refused at decoding or by the verifier.
    #[test]
    fn any_flipped_cbor_byte_is_refused(position in any::<usize>(), mask in 1u8..=255) {
        let (ledger, bundle) = &*SMALL;
        if let Some(changed) = flipped(&bundle.to_cbor(), position, mask, false) {
            prop_assume!(changed != *bundle);
            let verdict = check(ledger, &changed);
            prop_assert_eq!(verdict.status, VerdictStatus::Failed, "{:?}", verdict.summary);
        }
    }

    /// Any byte of the JSON form, flipped.
    #[test]
    fn any_flipped_json_byte_is_refused(position in any::<usize>(), mask in 1u8..=255) {
        let (ledger, bundle) = &*SMALL;
        if let Some(changed) = flipped(bundle.to_json().as_bytes(), position, mask, true) {
            prop_assume!(changed != *bundle);
            let verdict = check(ledger, &changed);
            prop_assert_eq!(verdict.status, VerdictStatus::Failed, "{:?}", verdict.summary);
        }
    }
}

/// The journey with its hand-off, built once for the property tests.
static SMALL: std::sync::LazyLock<(TestLedger, ProvenanceBundle)> =
    std::sync::LazyLock::new(|| {
        let ledger = ledger_with_handoff();
        let bundle = bundle_of(&ledger, R1, &R1_STORY);
        (ledger, bundle)
    });

#[test]
fn headers_of_the_testkit_link() {
    let ledger = ledger_with_handoff();
    let mut prev = ledger.genesis.hash().0;
    for block in &ledger.blocks {
        let header: &BlockHeader = &block.header;
        assert_eq!(header.prev_hash, prev);
        prev = header.hash();
    }
}
