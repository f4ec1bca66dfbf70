//! Provenance bundles and the Digital Link resolver over real sockets: a one-validator node
//! (sled store, the dev network's organisations with seeded keys) records the demo coffee journey
//! in three blocks plus a lot-level event in a fourth, serves `api::router` on 127.0.0.1:0, and
//! a minimal HTTP/1.1 client checks every byte a consumer's client would see.

mod support;

use support::http::{Body, Reply};

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use provenance_node::api::{self, ApiLimits};
use provenance_node::demo;
use provenance_node::devnet::{self, DevKeys, PARTICIPANTS};
use provenance_node::mempool::MempoolLimits;
use provenance_node::metrics::Metrics;
use provenance_node::service::NodeService;
use provenance_node::store::SledStore;
use provenance_protocol::bundle::{
    ProvenanceBundle, Scope, Subject, TrustRoot, VerdictStatus, VerifyOptions, verify,
};
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::{Genesis, Role};
use provenance_protocol::governance::{GovernanceAction, GovernanceProposal, GovernanceTx};
use provenance_protocol::merkle::{self, InclusionProof, MerkleHash};
use provenance_protocol::record::SignedEvent;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// The bag a consumer scans.
const BAG: &str = "urn:epc:id:sgtin:0614142.004521.R1001";
const BAG_LINK: &str = "https://id.gs1.org/01/00614142045210/21/R1001";
const BAG_PATH: &str = "/01/00614142045210/21/R1001";
/// The green coffee lot, recorded as a class by the lot-level event of block 4.
const LOT: &str = "urn:epc:class:lgtin:0614141.107346.LE-2025-07";
const ORGANIC_CERTIFICATE: &str = "https://certificates.ecocert.example/EU-ORG-CO-2025-0042";
const BROWSER: &str = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";

fn key_of(name: &str) -> SigningKey {
    let index = PARTICIPANTS.iter().position(|p| p.name == name).unwrap();
    SigningKey::from_seed([index as u8 + 1; 32])
}

fn genesis() -> Genesis {
    let keys: DevKeys = std::array::from_fn(|i| {
        (
            SigningKey::from_seed([i as u8 + 1; 32]).public_key(),
            SigningKey::from_seed([i as u8 + 101; 32]).public_key(),
        )
    });
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    devnet::build_genesis(now.as_millis() as u64, &keys)
}

struct Node {
    addr: SocketAddr,
    service: NodeService,
    genesis: Genesis,
}

async fn start(genesis: Genesis) -> Node {
    let store = SledStore::open_temporary(&genesis).unwrap();
    let service = NodeService::new(
        Arc::new(store),
        genesis.clone(),
        Some(key_of(devnet::ROASTER)),
        MempoolLimits::default(),
        Metrics::new(),
    )
    .unwrap();
    tokio::spawn(service.clone().run_flusher());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = api::router(service.clone(), ApiLimits::default());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Node {
        addr,
        service,
        genesis,
    }
}

impl Node {
    async fn record(&self, events: &[SignedEvent]) {
        let outcome = self.service.submit(events.to_vec()).await;
        assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
        let chain = self.genesis.chain_id.clone();
        support::seal_as_sole_validator(&self.service, key_of(devnet::ROASTER), &chain).await;
    }

    async fn get(&self, path: &str, accept: Option<&str>) -> Reply {
        let headers: Vec<(&str, &str)> = accept.map(|a| ("Accept", a)).into_iter().collect();
        request(self.addr, "GET", path, &headers).await
    }

    async fn bundle(&self, path: &str, accept: Option<&str>) -> ProvenanceBundle {
        let reply = self.get(path, accept).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        ProvenanceBundle::from_bytes(&reply.body).unwrap()
    }
}

/// The node with the journey recorded: returns it and the journey's signed events in order.
async fn journey_node() -> (Node, Vec<SignedEvent>) {
    let genesis = genesis();
    let node = start(genesis.clone()).await;
    let t0 = demo::start_time_for(&genesis);
    let steps = demo::journey(t0);
    let keys: BTreeMap<&str, SigningKey> = PARTICIPANTS
        .iter()
        .map(|p| (p.name, key_of(p.name)))
        .collect();
    let signed = demo::sign_journey(&steps, &genesis.chain_id, &keys).unwrap();
    // Three blocks, so the story spans heights and proofs cross block boundaries.
    node.record(&signed[..4]).await;
    node.record(&signed[4..7]).await;
    node.record(&signed[7..]).await;
    // Block 4: the cooperative records 120 kg of the lot as a class (its third event).
    let lot_event = json!({
        "@context": [demo::EPCIS_CONTEXT],
        "type": "ObjectEvent",
        "eventTime": steps[1].event["eventTime"],
        "eventTimeZoneOffset": steps[1].event["eventTimeZoneOffset"],
        "quantityList": [{"epcClass": LOT, "quantity": 120, "uom": "KGM"}],
        "action": "ADD",
        "bizStep": "commissioning",
    });
    let farm = SignedEvent::sign(&key_of(devnet::FARM), &genesis.chain_id, 3, &lot_event).unwrap();
    node.record(&[farm]).await;
    (node, signed)
}

fn encoded(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

fn bundle_path(id: &str) -> String {
    format!("/v1/products/{}/bundle", encoded(id))
}

/// The path of a subject's canonical Digital Link (what the resolver serves it at).
fn link_path(id: &str) -> String {
    let subject = Subject::parse(id).unwrap();
    subject
        .key()
        .0
        .strip_prefix("https://id.gs1.org")
        .unwrap()
        .to_owned()
}

/// Every event's inclusion proof leads to the anchor's root over the anchor's size.
fn assert_proofs_verify(bundle: &ProvenanceBundle) {
    let root = MerkleHash::from_bytes(bundle.anchor.header.log_root);
    for event in &bundle.events {
        let proof = InclusionProof {
            leaf_index: event.leaf_index,
            tree_size: bundle.anchor.header.log_size,
            path: event.path.0.clone(),
        };
        merkle::verify_inclusion(&event.record.leaf_hash(event.height), &proof, &root)
            .unwrap_or_else(|e| panic!("leaf {}: {e}", event.leaf_index));
    }
}

fn event_json(bundle: &ProvenanceBundle, index: usize) -> Value {
    bundle.events[index].record.event_json().unwrap()
}

#[tokio::test]
async fn the_demo_bag_has_its_whole_story_in_json_and_cbor_with_valid_proofs() {
    let (node, journey) = journey_node().await;
    let json_reply = node.get(&bundle_path(BAG), None).await;
    assert_eq!(json_reply.status, 200, "{}", json_reply.text());
    assert_eq!(json_reply.header("content-type"), Some("application/json"));
    assert!(
        json_reply
            .header("link")
            .unwrap()
            .contains("application/cbor")
    );
    let cbor_reply = node.get(&bundle_path(BAG), Some("application/cbor")).await;
    assert_eq!(cbor_reply.status, 200);
    assert_eq!(cbor_reply.header("content-type"), Some("application/cbor"));
    let from_json = ProvenanceBundle::from_json(&json_reply.body).unwrap();
    let from_cbor = ProvenanceBundle::from_cbor(&cbor_reply.body).unwrap();
    assert_eq!(from_json, from_cbor, "the two encodings carry one bundle");
    eprintln!(
        "demo bag bundle: {} events; JSON as served (pretty) {} bytes, compact {} bytes; CBOR {} bytes",
        from_json.events.len(),
        json_reply.body.len(),
        serde_json::to_vec(&from_json).unwrap().len(),
        cbor_reply.body.len()
    );

    let bundle = from_json;
    assert_eq!(bundle.subject, BAG_LINK);
    assert_eq!(bundle.scope, Scope::Upstream);
    assert_eq!(bundle.genesis, node.genesis);
    assert!(bundle.handoffs.is_empty() && bundle.governance.is_empty());
    // The anchor is the head.
    let head = node.get("/v1/head", None).await.json();
    assert_eq!(
        serde_json::to_value(&bundle.anchor.header).unwrap(),
        head["header"]
    );
    assert_eq!(bundle.anchor.header.height, 4);
    // Every journey event is in the bag's story: its own (roasting, packing, unpacking, sale),
    // the pallet's while the bag was on it (two shipments, two receipts), and the green coffee's
    // back to commissioning (commissioning, certification, shipment, receipt). Not the lot
    // event of block 4, which names the green coffee's lot, not the bags.
    let records: Vec<&SignedEvent> = bundle.events.iter().map(|e| &e.record).collect();
    assert_eq!(records, journey.iter().collect::<Vec<_>>());
    let heights: Vec<u64> = bundle.events.iter().map(|e| e.height).collect();
    assert_eq!(heights, [1, 1, 1, 1, 2, 2, 2, 3, 3, 3, 3, 3]);
    assert_eq!(
        event_json(&bundle, 1)["certificationInfo"],
        ORGANIC_CERTIFICATE
    );
    assert_proofs_verify(&bundle);

    // The node's bundle verifies against the genesis alone.
    let verdict = verify(
        &bundle,
        &TrustRoot::Genesis(Box::new(node.genesis.clone())),
        &VerifyOptions {
            expected_subject: Some(BAG.into()),
            expected_scope: Some(Scope::Upstream),
            ..VerifyOptions::default()
        },
    );
    assert_eq!(
        verdict.status,
        VerdictStatus::Verified,
        "{}: {:?}",
        verdict.summary,
        verdict.failures
    );

    // A Digital Link on any domain names the same bag.
    let by_link = node
        .bundle(
            &bundle_path("https://shop.example/01/00614142045210/21/R1001?17=260101"),
            None,
        )
        .await;
    assert_eq!(by_link, bundle);
}

#[tokio::test]
async fn scopes_lots_and_logistic_units_follow_their_own_stories() {
    let (node, journey) = journey_node().await;
    // A bag that was never sold: everything but the first bag's sale.
    let other = node
        .bundle(&bundle_path("urn:epc:id:sgtin:0614142.004521.R1002"), None)
        .await;
    let records: Vec<&SignedEvent> = other.events.iter().map(|e| &e.record).collect();
    assert_eq!(records, journey[..11].iter().collect::<Vec<_>>());

    // Downstream of a green coffee bag: it, the roasting, the retail bags and their pallet, the
    // sale.
    let green = demo::GREEN_COFFEE_BAGS[0];
    let down = node
        .bundle(&format!("{}?scope=downstream", bundle_path(green)), None)
        .await;
    assert_eq!(down.scope, Scope::Downstream);
    assert_eq!(down.events.len(), journey.len());
    assert_proofs_verify(&down);
    // Upstream of raw material is its own story up to now: commissioning, certification,
    // shipment, receipt and the roasting that consumed it.
    let up = node.bundle(&bundle_path(green), None).await;
    assert_eq!(up.events.len(), 5);

    // The lot, by its class URN and at its resolver path: the lot-level event only.
    let lot = node.bundle(&bundle_path(LOT), None).await;
    assert_eq!(lot.events.len(), 1);
    assert_eq!(lot.events[0].height, 4);
    assert_eq!(event_json(&lot, 0)["quantityList"][0]["epcClass"], LOT);
    assert_proofs_verify(&lot);
    let at_path = node.bundle(&link_path(LOT), Some("application/json")).await;
    assert_eq!(at_path, lot);

    // The pallet (SSCC) at its resolver path: its own history, packing to unpacking.
    let pallet = node
        .bundle(&link_path(demo::PALLET), Some("application/json"))
        .await;
    assert_eq!(pallet.events.len(), 6);
    assert_proofs_verify(&pallet);
}

#[tokio::test]
async fn the_resolver_negotiates_json_cbor_linkset_and_the_page_under_any_prefix() {
    let (node, _) = journey_node().await;
    let bundle = node.bundle(&bundle_path(BAG), None).await;

    for path in [
        BAG_PATH.to_owned(),
        format!("/brand/coffee{BAG_PATH}"),
        "/01/614142045210/21/R1001".to_owned(),
    ] {
        let reply = node.get(&path, Some("application/json")).await;
        assert_eq!(reply.status, 200, "{path}: {}", reply.text());
        assert_eq!(reply.header("content-type"), Some("application/json"));
        assert_eq!(reply.header("vary"), Some("Accept"));
        assert_eq!(ProvenanceBundle::from_json(&reply.body).unwrap(), bundle);
        let cbor = node.get(&path, Some("application/cbor")).await;
        assert_eq!(cbor.header("content-type"), Some("application/cbor"));
        assert_eq!(ProvenanceBundle::from_cbor(&cbor.body).unwrap(), bundle);
    }

    // The linkset, by Accept and by GS1's linkType, under a prefix.
    let prefixed = format!("/brand/coffee{BAG_PATH}");
    let reply = node.get(&prefixed, Some("application/linkset+json")).await;
    assert_eq!(reply.status, 200, "{}", reply.text());
    assert_eq!(
        reply.header("content-type"),
        Some("application/linkset+json")
    );
    let linkset: Value = serde_json::from_slice(&reply.body).unwrap();
    let context = &linkset["linkset"][0];
    assert_eq!(context["anchor"], BAG_LINK);
    assert_eq!(
        context["https://gs1.org/voc/pip"][0]["href"],
        prefixed.as_str()
    );
    assert_eq!(
        context["https://gs1.org/voc/certificationInfo"][0]["href"],
        ORGANIC_CERTIFICATE
    );
    let traceability = context["https://gs1.org/voc/traceability"][0]["href"]
        .as_str()
        .unwrap();
    assert_eq!(node.bundle(traceability, None).await, bundle);
    let history = context["https://gs1.org/voc/epcis"][0]["href"]
        .as_str()
        .unwrap();
    assert_eq!(
        node.get(history, None).await.json()["events"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let by_link_type = node
        .get(&format!("{BAG_PATH}?linkType=all"), Some("text/html"))
        .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&by_link_type.body).unwrap()["linkset"][0]["anchor"],
        BAG_LINK
    );

    // Browsers, */* and clients that say nothing get the product page: the node verified its
    // own bundle.
    for accept in [Some(BROWSER), Some("*/*"), None] {
        let page = node.get(&prefixed, accept).await;
        assert_eq!(page.status, 200, "{accept:?}: {}", page.text());
        assert_eq!(
            page.header("content-type"),
            Some("text/html; charset=utf-8")
        );
        assert!(
            page.header("content-security-policy")
                .unwrap()
                .contains("default-src 'none'")
        );
        let link = page.header("link").unwrap();
        assert!(link.contains("rel=\"linkset\""), "{link}");
        let html = page.text();
        assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
        assert!(html.contains("Verified"), "the page shows the verdict");
        assert!(!html.contains("<script"), "no scripts");
        // The independent check names this node as the request reached it (`Host: test`).
        assert!(html.contains("--node http://test --genesis"), "{html}");
    }

    // Only GET and HEAD.
    let post = request(node.addr, "POST", BAG_PATH, &[]).await;
    assert_eq!(
        (post.status, post.code().as_str()),
        (405, "method_not_allowed")
    );
    assert_eq!(post.header("allow"), Some("GET,HEAD"));
    let head = request(
        node.addr,
        "HEAD",
        &prefixed,
        &[("Accept", "application/json")],
    )
    .await;
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty());
}

#[tokio::test]
async fn unknown_malformed_and_unprovable_products_have_stable_codes() {
    let (node, _) = journey_node().await;
    let unknown = "urn:epc:id:sgtin:0614142.004521.NOPE";
    let cases = [
        (bundle_path(unknown), None, 404, "not_found"),
        (
            bundle_path("not an identifier"),
            None,
            400,
            "bad_identifier",
        ),
        (
            bundle_path("https://id.gs1.org/01/00614142045218/21/R1001"),
            None,
            400,
            "bad_identifier",
        ),
        (
            bundle_path("https://id.gs1.org/01/00614142045210"),
            None,
            400,
            "class_without_lot",
        ),
        (
            format!("{}?scope=sideways", bundle_path(BAG)),
            None,
            400,
            "bad_query",
        ),
        (
            format!("{}?limit=3", bundle_path(BAG)),
            None,
            400,
            "bad_query",
        ),
        (
            link_path(unknown),
            Some("application/json"),
            404,
            "not_found",
        ),
        (
            "/x/01/00614142045210/21/NOPE".into(),
            Some("application/json"),
            404,
            "not_found",
        ),
        (
            "/01/00614142045210".into(),
            Some("application/json"),
            400,
            "class_without_lot",
        ),
        (
            "/01/00614142045218/21/R1001".into(),
            Some("application/json"),
            400,
            "bad_identifier",
        ),
        (
            "/01/00614142045210/21/R1001/99/1".into(),
            Some("application/json"),
            400,
            "bad_identifier",
        ),
        // Not a Digital Link, or an API path: an unknown route, as before.
        ("/v1/nothing".into(), None, 404, "not_found"),
        ("/favicon.ico".into(), Some(BROWSER), 404, "not_found"),
        (
            "/v1/01/00614142045210/21/R1001".into(),
            None,
            404,
            "not_found",
        ),
    ];
    for (path, accept, status, code) in cases {
        let reply = node.get(&path, accept).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{path}"
        );
    }
    // A browser gets the same statuses as pages.
    for (path, status) in [
        (link_path(unknown), 404),
        ("/01/00614142045210".into(), 400),
        ("/01/00614142045218/21/R1001".into(), 400),
    ] {
        let reply = node.get(&path, Some(BROWSER)).await;
        assert_eq!(reply.status, status, "{path}");
        assert_eq!(
            reply.header("content-type"),
            Some("text/html; charset=utf-8"),
            "{path}"
        );
        assert!(reply.text().starts_with("<!DOCTYPE html>"), "{path}");
    }

    // Before the first block nothing can be proven.
    let empty = start(genesis()).await;
    for (path, accept) in [
        (bundle_path(BAG), None),
        (BAG_PATH.to_owned(), Some("application/json")),
    ] {
        let reply = empty.get(&path, accept).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (404, "no_blocks_yet"),
            "{path}"
        );
    }
}

#[tokio::test]
async fn a_validator_hand_off_and_its_governance_travel_in_the_bundle() {
    let mut genesis = genesis();
    genesis
        .participants
        .iter_mut()
        .find(|p| p.name == devnet::DISTRIBUTOR)
        .unwrap()
        .roles
        .push(Role::Validator);
    let chain = genesis.chain_id.clone();
    let node = start(genesis.clone()).await;
    let roaster = key_of(devnet::ROASTER);
    let proposal = GovernanceProposal {
        chain_id: chain.clone(),
        action: GovernanceAction::SetValidatorPower {
            name: devnet::DISTRIBUTOR.into(),
            power: 1,
        },
        nonce: 1,
        expires_at_height: 100,
    };
    let approval = proposal.approve(&roaster);
    node.service
        .submit_governance(GovernanceTx::new(proposal, vec![approval]))
        .unwrap();
    let governance = node.service.take_governance_outbox();

    let keys: BTreeMap<&str, SigningKey> = PARTICIPANTS
        .iter()
        .map(|p| (p.name, key_of(p.name)))
        .collect();
    let steps = demo::journey(demo::start_time_for(&genesis));
    let signed = demo::sign_journey(&steps, &chain, &keys).unwrap();
    // Block 1 includes the change, block 2 announces the new set, block 3 is certified by it.
    let blocks: [(&[SignedEvent], Vec<SigningKey>, Vec<GovernanceTx>); 3] = [
        (&signed[..4], vec![key_of(devnet::ROASTER)], governance),
        (&signed[4..7], vec![key_of(devnet::ROASTER)], vec![]),
        (
            &signed[7..],
            vec![key_of(devnet::ROASTER), key_of(devnet::DISTRIBUTOR)],
            vec![],
        ),
    ];
    for (events, signers, governance) in blocks {
        let outcome = node.service.submit(events.to_vec()).await;
        assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
        support::seal_with(&node.service, signers, &chain, governance)
            .await
            .unwrap();
    }

    let bundle = node.bundle(&bundle_path(BAG), None).await;
    assert_eq!(bundle.governance.len(), 1);
    assert_eq!(bundle.governance[0].height, 1);
    assert_eq!(bundle.handoffs.len(), 1);
    assert_eq!(bundle.handoffs[0].header.height, 2);
    assert_eq!(bundle.handoffs[0].next_validators.validators().len(), 2);
    assert_eq!(bundle.anchor.header.height, 3);
    assert_eq!(bundle.anchor.certificate.signatures.len(), 2);
    assert_eq!(bundle.events.len(), signed.len());
    assert_proofs_verify(&bundle);
    let verdict = verify(
        &bundle,
        &TrustRoot::Genesis(Box::new(genesis)),
        &VerifyOptions::default(),
    );
    assert_eq!(
        verdict.status,
        VerdictStatus::Verified,
        "{}: {:?}",
        verdict.summary,
        verdict.failures
    );
}

/// A request without a body through the shared raw-socket client.
async fn request(addr: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)]) -> Reply {
    support::http::request(addr, method, path, headers, Body::Fixed(Vec::new())).await
}
