//! The HTTP API over real sockets: a node (sled store in a temporary directory, one validator)
//! serving `api::router` on 127.0.0.1:0, driven by a minimal HTTP/1.1 client so every byte the
//! server sends (status, headers, body shape) is what a real client would see.

mod support;

use support::http::{Body, Reply, request};

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use provenance_node::api::{self, ApiLimits, ROUTES};
use provenance_node::mempool::MempoolLimits;
use provenance_node::metrics::Metrics;
use provenance_node::service::NodeService;
use provenance_node::store::SledStore;
use provenance_protocol::crypto::{Signature, SigningKey};
use provenance_protocol::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use provenance_protocol::ledger::{BlockHeader, FinalityCertificate};
use provenance_protocol::merkle::{self, ConsistencyProof, InclusionProof, MerkleHash};
use provenance_protocol::record::{MAX_EVENT_JSON_BYTES, SignedEvent};
use serde_json::{Value, json};
use tempfile::TempDir;
use tokio::net::TcpListener;

const CHAIN: &str = "api-test";
const T0: u64 = 1_735_689_600_000; // 2025-01-01T00:00:00Z

/// Farm manufactures and validates; Roaster manufactures; Hauler distributes; Shop retails.
const ORGS: &[(&str, &[Role], &str)] = &[
    ("Farm", &[Role::Manufacturer, Role::Validator], "0614141"),
    ("Roaster", &[Role::Manufacturer], "0614142"),
    ("Hauler", &[Role::Distributor], "0614143"),
    ("Shop", &[Role::Retailer], "0614144"),
];

const HAULER_PGLN: &str = "urn:epc:id:pgln:0614143.00000";
const SHOP_PGLN: &str = "urn:epc:id:pgln:0614144.00000";

fn key(org: &str) -> SigningKey {
    let index = ORGS.iter().position(|(name, ..)| *name == org).unwrap();
    SigningKey::from_seed([index as u8 + 1; 32])
}

fn genesis() -> Genesis {
    let participants = ORGS
        .iter()
        .enumerate()
        .map(|(i, (name, roles, prefix))| Participant {
            name: (*name).into(),
            roles: roles.to_vec(),
            signing_key: key(name).public_key(),
            network_key: SigningKey::from_seed([i as u8 + 101; 32]).public_key(),
            company_prefixes: vec![(*prefix).into()],
        })
        .collect();
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: T0,
        participants,
        validators: vec![GenesisValidator {
            participant: "Farm".into(),
            power: 1,
        }],
        params: ConsensusParams::default(),
    };
    genesis.validate().unwrap();
    genesis
}

/// Farm's SGTIN with this serial.
fn farm_item(serial: &str) -> String {
    format!("urn:epc:id:sgtin:0614141.107346.{serial}")
}

fn base(event_type: &str, minute: u32, extra: Value) -> Value {
    let mut event = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": event_type,
        "eventTime": format!("2025-01-01T10:{minute:02}:00.000Z"),
        "eventTimeZoneOffset": "+00:00",
    });
    for (k, v) in extra.as_object().unwrap() {
        event[k] = v.clone();
    }
    event
}

fn commission(epcs: &[&str], minute: u32) -> Value {
    base(
        "ObjectEvent",
        minute,
        json!({"epcList": epcs, "action": "ADD", "bizStep": "commissioning", "disposition": "active"}),
    )
}

fn ship(epcs: &[&str], to_pgln: &str, minute: u32) -> Value {
    base(
        "ObjectEvent",
        minute,
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": "shipping", "disposition": "in_transit",
               "destinationList": [{"type": "possessing_party", "destination": to_pgln}]}),
    )
}

fn receive(epcs: &[&str], minute: u32) -> Value {
    base(
        "ObjectEvent",
        minute,
        json!({"epcList": epcs, "action": "OBSERVE", "bizStep": "receiving", "disposition": "in_progress"}),
    )
}

/// Signs events with per-organisation sequence numbers.
#[derive(Debug, Default)]
struct Signer {
    sequences: std::collections::BTreeMap<String, u64>,
}

impl Signer {
    fn sign(&mut self, org: &str, event: &Value) -> SignedEvent {
        let sequence = self.sequences.get(org).copied().unwrap_or(0) + 1;
        self.sequences.insert(org.to_owned(), sequence);
        SignedEvent::sign(&key(org), CHAIN, sequence, event).unwrap()
    }

    fn sign_at(&self, org: &str, sequence: u64, event: &Value) -> SignedEvent {
        SignedEvent::sign(&key(org), CHAIN, sequence, event).unwrap()
    }
}

// ---------------------------------------------------------------------------------------------
// A node on a real socket

struct TestNode {
    addr: SocketAddr,
    service: NodeService,
    metrics: Metrics,
    _dir: TempDir,
}

async fn start_with(mempool: MempoolLimits, limits: ApiLimits) -> TestNode {
    let dir = tempfile::tempdir().unwrap();
    let genesis = genesis();
    let store = SledStore::open(&dir.path().join("ledger"), &genesis).unwrap();
    let metrics = Metrics::new();
    let service = NodeService::new(
        Arc::new(store),
        genesis,
        Some(key("Farm")),
        mempool,
        metrics.clone(),
    )
    .unwrap();
    tokio::spawn(service.clone().run_flusher());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = api::router(service.clone(), limits);
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    TestNode {
        addr,
        service,
        metrics,
        _dir: dir,
    }
}

async fn start() -> TestNode {
    start_with(MempoolLimits::default(), ApiLimits::default()).await
}

impl TestNode {
    async fn get(&self, path: &str) -> Reply {
        request(self.addr, "GET", path, &[], Body::Fixed(vec![])).await
    }

    async fn post(&self, path: &str, body: &Value) -> Reply {
        self.post_bytes(path, serde_json::to_vec(body).unwrap())
            .await
    }

    async fn post_bytes(&self, path: &str, body: Vec<u8>) -> Reply {
        request(
            self.addr,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            Body::Fixed(body),
        )
        .await
    }

    async fn submit(&self, events: &[&SignedEvent]) -> Reply {
        self.post("/v1/events", &serde_json::to_value(events).unwrap())
            .await
    }

    /// Seals the waiting events into a block as the sole validator does: build the proposal,
    /// precommit it, commit it with that one-signature certificate.
    async fn seal(&self) -> u64 {
        assert!(self.service.mempool_len() > 0, "events were waiting");
        self.seal_any().await
    }

    async fn seal_any(&self) -> u64 {
        support::seal_as_sole_validator(&self.service, key("Farm"), CHAIN)
            .await
            .0
    }

    async fn header(&self, height: u64) -> (BlockHeader, FinalityCertificate) {
        let reply = self.get(&format!("/v1/blocks/{height}")).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let body = reply.json();
        (
            serde_json::from_value(body["header"].clone()).unwrap(),
            serde_json::from_value(body["certificate"].clone()).unwrap(),
        )
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters (for a path segment).
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn hex_digest(id: &str) -> &str {
    id.strip_prefix("ni:///sha-256;")
        .and_then(|rest| rest.strip_suffix("?ver=CBV2.0"))
        .unwrap()
}

// ---------------------------------------------------------------------------------------------
// Submission

#[tokio::test]
async fn accepted_events_are_readable_by_id_once_their_block_is_final() {
    let node = start().await;
    let mut signer = Signer::default();
    let first = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let second = signer.sign("Farm", &commission(&[&farm_item("2")], 1));

    // One object as body, then an array.
    let reply = node
        .post("/v1/events", &serde_json::to_value(&first).unwrap())
        .await;
    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!(reply.accepted(), vec![first.event_hash_id.to_string()]);
    let reply = node.submit(&[&second]).await;
    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!(reply.accepted(), vec![second.event_hash_id.to_string()]);

    // Accepted but not final yet.
    let id = first.event_hash_id.to_string();
    let reply = node.get(&format!("/v1/events/{}", encode(&id))).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (404, "event_not_found")
    );

    assert_eq!(node.seal().await, 1);
    for path in [encode(&id), hex_digest(&id).to_owned()] {
        let reply = node.get(&format!("/v1/events/{path}")).await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let body = reply.json();
        let event: SignedEvent = serde_json::from_value(body["event"].clone()).unwrap();
        assert_eq!(event, first);
        assert_eq!(body["height"], 1);
        assert_eq!(body["leaf_index"], 0);
        assert_eq!(body["error_declaration"], Value::Null);
    }
    let reply = node
        .get(&format!(
            "/v1/events/{}",
            encode(&second.event_hash_id.to_string())
        ))
        .await;
    assert_eq!(reply.json()["leaf_index"], 1);

    for bad in [
        "xyz",
        "ni%3A%2F%2F%2Fsha-256%3Bzz%3Fver%3DCBV2.0",
        &"a".repeat(63),
    ] {
        let reply = node.get(&format!("/v1/events/{bad}")).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (400, "bad_event_hash_id"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn malformed_json_is_400_and_names_the_position() {
    let node = start().await;
    let reply = node
        .post_bytes("/v1/events", b"{\"chain_id\": ".to_vec())
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (400, "malformed_json")
    );
    let message = reply.json()["error"]["message"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains("line 1 column"), "{message}");

    // Valid JSON, but not a SignedEvent.
    let reply = node.post("/v1/events", &json!({"chain_id": CHAIN})).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (400, "malformed_json")
    );
    assert!(reply.text().contains("missing field"), "{}", reply.text());
    assert!(reply.json().get("accepted").is_none());

    let reply = node.post("/v1/events", &json!("just a string")).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (400, "malformed_json")
    );

    // An empty array is well-formed but holds nothing.
    let reply = node.post("/v1/events", &json!([])).await;
    assert_eq!((reply.status, reply.code().as_str()), (422, "empty_batch"));
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let node = start().await;
    let mut signer = Signer::default();
    let event = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let body = serde_json::to_vec(&event).unwrap();
    for headers in [vec![("Content-Type", "text/plain")], vec![]] {
        let reply = request(
            node.addr,
            "POST",
            "/v1/events",
            &headers,
            Body::Fixed(body.clone()),
        )
        .await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (415, "unsupported_media_type")
        );
    }
}

#[tokio::test]
async fn a_flipped_signature_byte_is_bad_signature() {
    let node = start().await;
    let mut signer = Signer::default();
    let mut event = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let mut bytes = event.signature.to_bytes();
    bytes[0] ^= 0x01;
    event.signature = Signature::from_bytes(&bytes);
    let reply = node.submit(&[&event]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (422, "bad_signature")
    );
    assert_eq!(reply.json()["error"]["index"], 0);
    assert_eq!(reply.accepted(), Vec::<String>::new());
}

#[tokio::test]
async fn an_unregistered_signer_is_403() {
    let node = start().await;
    let stranger = SigningKey::from_seed([77; 32]);
    let event = SignedEvent::sign(&stranger, CHAIN, 1, &commission(&[&farm_item("1")], 0)).unwrap();
    let reply = node.submit(&[&event]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (403, "unknown_signer")
    );
}

#[tokio::test]
async fn replayed_and_skipped_sequences_are_refused() {
    let node = start().await;
    let mut signer = Signer::default();
    let first = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    assert_eq!(node.submit(&[&first]).await.status, 202);

    let replay = signer.sign_at("Farm", 1, &commission(&[&farm_item("2")], 1));
    let reply = node.submit(&[&replay]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (422, "sequence_replayed")
    );
    // The next sequence to use, for clients to resynchronise without parsing the message.
    assert_eq!(reply.json()["error"]["expected_sequence"], 2);

    let gap = signer.sign_at("Farm", 3, &commission(&[&farm_item("2")], 1));
    let reply = node.submit(&[&gap]).await;
    assert_eq!((reply.status, reply.code().as_str()), (422, "sequence_gap"));
    assert_eq!(reply.json()["error"]["expected_sequence"], 2);
}

#[tokio::test]
async fn commissioning_another_companys_gtin_is_not_prefix_owner() {
    let node = start().await;
    let mut signer = Signer::default();
    // Roaster manufactures, but 0614141 is Farm's prefix.
    let event = signer.sign("Roaster", &commission(&[&farm_item("1")], 0));
    let reply = node.submit(&[&event]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (422, "not_prefix_owner")
    );
    assert!(reply.text().contains("Farm"), "{}", reply.text());
}

#[tokio::test]
async fn custody_rules_refuse_shipping_and_receiving_out_of_turn() {
    let node = start().await;
    let mut signer = Signer::default();
    let item = farm_item("1");
    let other = farm_item("2");
    let made = signer.sign("Farm", &commission(&[&item, &other], 0));
    assert_eq!(node.submit(&[&made]).await.status, 202);

    // Hauler ships what Farm holds.
    let reply = node
        .submit(&[&signer.sign_at("Hauler", 1, &ship(&[&item], SHOP_PGLN, 1))])
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (422, "not_custodian")
    );

    // Shop receives what nobody shipped.
    let reply = node
        .submit(&[&signer.sign_at("Shop", 1, &receive(&[&item], 2))])
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (422, "not_in_transit")
    );

    // Farm ships to Hauler; Shop tries to receive it.
    let shipped = signer.sign("Farm", &ship(&[&item], HAULER_PGLN, 3));
    assert_eq!(node.submit(&[&shipped]).await.status, 202);
    let reply = node
        .submit(&[&signer.sign_at("Shop", 1, &receive(&[&item], 4))])
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (422, "not_addressee")
    );

    // The addressee may.
    let received = signer.sign("Hauler", &receive(&[&item], 5));
    assert_eq!(node.submit(&[&received]).await.status, 202);
}

#[tokio::test]
async fn a_batch_stops_at_the_first_failure_and_reports_what_was_kept() {
    let node = start().await;
    let mut signer = Signer::default();
    let a = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let b = signer.sign("Farm", &commission(&[&farm_item("2")], 1));
    let bad = signer.sign("Roaster", &commission(&[&farm_item("3")], 2));
    let reply = node.submit(&[&a, &b, &bad]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (422, "not_prefix_owner")
    );
    assert_eq!(reply.json()["error"]["index"], 2);
    assert_eq!(
        reply.accepted(),
        vec![a.event_hash_id.to_string(), b.event_hash_id.to_string()]
    );
    assert_eq!(node.service.status().unwrap().mempool_size, 2);
}

#[tokio::test]
async fn resubmission_is_idempotent_before_and_after_the_block() {
    let node = start().await;
    let mut signer = Signer::default();
    let event = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let first = node.submit(&[&event]).await;
    let again = node.submit(&[&event]).await;
    assert_eq!((first.status, again.status), (202, 202));
    assert_eq!(first.json(), again.json());
    assert_eq!(node.service.status().unwrap().mempool_size, 1);

    node.seal().await;
    let after = node.submit(&[&event]).await;
    assert_eq!(after.status, 202, "{after:?}");
    assert_eq!(after.json(), first.json());
    assert_eq!(node.service.status().unwrap().mempool_size, 0);
    // Nothing waits any more: the next block is empty.
    assert_eq!(node.service.mempool_len(), 0);
    let status = node.get("/v1/status").await.json();
    assert_eq!(status["log_size"], 1);
    let block = node.get("/v1/blocks/1").await.json();
    assert_eq!(block["events"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_same_event_signed_by_another_participant_is_409() {
    let node = start().await;
    let mut signer = Signer::default();
    let event = commission(&[&farm_item("1")], 0);
    let farm = signer.sign("Farm", &event);
    assert_eq!(node.submit(&[&farm]).await.status, 202);
    let roaster = signer.sign("Roaster", &event);
    assert_eq!(roaster.event_hash_id, farm.event_hash_id);
    let reply = node.submit(&[&roaster]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (409, "duplicate_event")
    );
}

#[tokio::test]
async fn mempool_full_is_503_with_retry_after_at_exactly_the_limit() {
    let limits = MempoolLimits {
        max_events: 2,
        ..MempoolLimits::default()
    };
    let node = start_with(limits, ApiLimits::default()).await;
    let mut signer = Signer::default();
    let events: Vec<SignedEvent> = (0..3)
        .map(|i| signer.sign("Farm", &commission(&[&farm_item(&i.to_string())], i)))
        .collect();
    for event in &events[..2] {
        assert_eq!(node.submit(&[event]).await.status, 202);
    }
    let reply = node.submit(&[&events[2]]).await;
    assert_eq!((reply.status, reply.code().as_str()), (503, "mempool_full"));
    assert_eq!(reply.header("retry-after"), Some("1"));

    // Room again after a block.
    node.seal().await;
    assert_eq!(node.submit(&[&events[2]]).await.status, 202);

    // In one batch: two fit, the third is refused with the first two kept.
    let node = start_with(limits, ApiLimits::default()).await;
    let reply = node.submit(&events.iter().collect::<Vec<_>>()).await;
    assert_eq!((reply.status, reply.code().as_str()), (503, "mempool_full"));
    assert_eq!(reply.json()["error"]["index"], 2);
    assert_eq!(reply.accepted().len(), 2);
}

#[tokio::test]
async fn a_full_signer_quota_is_429_with_retry_after() {
    let limits = MempoolLimits {
        max_per_signer: 1,
        ..MempoolLimits::default()
    };
    let node = start_with(limits, ApiLimits::default()).await;
    let mut signer = Signer::default();
    let a = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let b = signer.sign("Farm", &commission(&[&farm_item("2")], 1));
    assert_eq!(node.submit(&[&a]).await.status, 202);
    let reply = node.submit(&[&b]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (429, "signer_quota_full")
    );
    assert_eq!(reply.header("retry-after"), Some("1"));
    // Another signer is not affected.
    let roaster = signer.sign(
        "Roaster",
        &commission(&["urn:epc:id:sgtin:0614142.107347.1"], 2),
    );
    assert_eq!(node.submit(&[&roaster]).await.status, 202);
}

#[tokio::test]
async fn an_event_from_the_future_is_425_with_the_wait_in_retry_after() {
    let node = start().await;
    let mut signer = Signer::default();
    let mut event = commission(&[&farm_item("1")], 0);
    event["eventTime"] = json!("2099-01-01T00:00:00.000Z");
    let record = signer.sign("Farm", &event);
    let reply = node.submit(&[&record]).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (425, "event_from_the_future")
    );
    let retry: u64 = reply.header("retry-after").unwrap().parse().unwrap();
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let skew = ConsensusParams::default().max_clock_skew_ms;
    let expected = (4_070_908_800_000 - now_ms - skew) / 1000;
    assert!(retry.abs_diff(expected) <= 5, "{retry} vs {expected}");
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_body_too_large() {
    let limits = ApiLimits {
        max_body_bytes: 256 * 1024,
        ..ApiLimits::default()
    };
    let node = start_with(MempoolLimits::default(), limits).await;
    let mut padded = vec![b' '; 300 * 1024];
    padded.extend_from_slice(b"[]");
    // Declared length over the limit: refused before reading.
    let reply = node.post_bytes("/v1/events", padded.clone()).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (413, "body_too_large")
    );
    assert!(reply.text().contains("262144"), "{}", reply.text());
    // Chunked, no declared length: refused while reading.
    let reply = request(
        node.addr,
        "POST",
        "/v1/events",
        &[("Content-Type", "application/json")],
        Body::Chunked(padded, 16 * 1024),
    )
    .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (413, "body_too_large")
    );
    // Just under the limit is read (and is an empty batch).
    let mut fits = vec![b' '; 200 * 1024];
    fits.extend_from_slice(b"[]");
    let reply = node.post_bytes("/v1/events", fits).await;
    assert_eq!(reply.code(), "empty_batch");
}

#[tokio::test]
async fn an_event_over_the_size_limit_is_413_event_too_large() {
    let node = start().await;
    let mut signer = Signer::default();
    let record = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let mut body = serde_json::to_value(&record).unwrap();
    let many: Vec<String> = (0..4_000).map(|i| farm_item(&format!("{i:08}"))).collect();
    body["event"]["epcList"] = json!(many);
    assert!(body["event"].to_string().len() > MAX_EVENT_JSON_BYTES);
    let reply = node.post("/v1/events", &body).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (413, "event_too_large")
    );
    assert_eq!(reply.json()["error"]["index"], 0);
}

#[tokio::test]
async fn documents_are_submitted_like_events() {
    let node = start().await;
    let mut signer = Signer::default();
    let a = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let b = signer.sign("Farm", &ship(&[&farm_item("1")], HAULER_PGLN, 1));
    let reply = node.post("/v1/documents", &json!({"events": [a, b]})).await;
    assert_eq!(reply.status, 202, "{reply:?}");
    assert_eq!(
        reply.accepted(),
        vec![a.event_hash_id.to_string(), b.event_hash_id.to_string()]
    );
    let reply = node
        .post("/v1/documents", &json!({"events": [], "extra": 1}))
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (400, "malformed_json")
    );
    let reply = node.post("/v1/documents", &json!([a])).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (400, "malformed_json")
    );
}

// ---------------------------------------------------------------------------------------------
// Reads

#[tokio::test]
async fn history_by_urn_and_by_digital_link_give_the_same_events() {
    let node = start().await;
    let mut signer = Signer::default();
    let item = farm_item("2017");
    let made = signer.sign("Farm", &commission(&[&item, &farm_item("9")], 0));
    let shipped = signer.sign("Farm", &ship(&[&item], HAULER_PGLN, 1));
    assert_eq!(node.submit(&[&made, &shipped]).await.status, 202);
    node.seal().await;
    let received = signer.sign("Hauler", &receive(&[&item], 2));
    assert_eq!(node.submit(&[&received]).await.status, 202);
    node.seal().await;

    let link = "https://id.gs1.org/01/10614141073464/21/2017";
    let by_urn = node
        .get(&format!("/v1/products/{item}/history"))
        .await
        .json();
    let by_link = node
        .get(&format!("/v1/products/{}/history", encode(link)))
        .await
        .json();
    // Another resolver domain and query attributes name the same object.
    let elsewhere = node
        .get(&format!(
            "/v1/products/{}/history",
            encode("https://example.com/01/10614141073464/21/2017?17=250101")
        ))
        .await
        .json();
    assert_eq!(by_urn["key"], link);
    assert_eq!(by_urn["scope"], "instance");
    assert_eq!(by_urn["events"], by_link["events"]);
    assert_eq!(by_urn["events"], elsewhere["events"]);
    let ids: Vec<&str> = by_urn["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["event"]["event_hash_id"].as_str().unwrap())
        .collect();
    let expected = [&made, &shipped, &received].map(|e| e.event_hash_id.to_string());
    assert_eq!(ids, expected);
    let heights: Vec<u64> = by_urn["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["height"].as_u64().unwrap())
        .collect();
    assert_eq!(heights, [1, 1, 2]);
    assert_eq!(by_urn["truncated"], false);

    let page = node
        .get(&format!("/v1/products/{item}/history?limit=2"))
        .await
        .json();
    assert_eq!(page["events"].as_array().unwrap().len(), 2);
    assert_eq!(page["truncated"], true);

    // The product class: every event naming any instance of the GTIN.
    let product = node
        .get(&format!(
            "/v1/products/{}/history",
            encode("https://id.gs1.org/01/10614141073464")
        ))
        .await
        .json();
    assert_eq!(product["scope"], "product");
    assert_eq!(product["events"].as_array().unwrap().len(), 3);

    for (query, code) in [
        ("?limit=0", "bad_query"),
        ("?limit=10001", "bad_query"),
        ("?limit=x", "bad_query"),
        ("?limt=5", "bad_query"),
    ] {
        let reply = node
            .get(&format!("/v1/products/{item}/history{query}"))
            .await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (400, code),
            "{query}"
        );
    }
    for bad in [
        "not-a-uri",
        "urn:epc:id:sgtin:0614141.107346",
        &encode("https://id.gs1.org/01/10614141073465/21/1"),
    ] {
        let reply = node.get(&format!("/v1/products/{bad}/history")).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (400, "bad_identifier"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn blocks_head_status_participants_and_health() {
    let node = start().await;
    let reply = node.get("/v1/head").await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (404, "no_blocks_yet")
    );
    let reply = node.get("/v1/blocks/1").await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (404, "block_not_found")
    );

    let mut signer = Signer::default();
    let event = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    assert_eq!(node.submit(&[&event]).await.status, 202);
    node.seal().await;

    let head = node.get("/v1/head").await.json();
    let header: BlockHeader = serde_json::from_value(head["header"].clone()).unwrap();
    assert_eq!(header.height, 1);
    assert_eq!(header.log_size, 1);
    let block = node.get("/v1/blocks/1").await.json();
    assert_eq!(block["header"], head["header"]);
    assert_eq!(block["certificate"], head["certificate"]);
    let events: Vec<SignedEvent> = serde_json::from_value(block["events"].clone()).unwrap();
    assert_eq!(events, vec![event]);
    let by_hash = node
        .get(&format!(
            "/v1/blocks/by-hash/{}",
            hex::encode(header.hash())
        ))
        .await
        .json();
    assert_eq!(by_hash, block);

    for (path, status, code) in [
        ("/v1/blocks/2", 404, "block_not_found"),
        ("/v1/blocks/0", 404, "block_not_found"),
        ("/v1/blocks/one", 400, "bad_height"),
        ("/v1/blocks/-1", 400, "bad_height"),
        ("/v1/blocks/by-hash/zz", 400, "bad_block_hash"),
    ] {
        let reply = node.get(path).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{path}"
        );
    }
    let reply = node
        .get(&format!("/v1/blocks/by-hash/{}", "00".repeat(32)))
        .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (404, "block_not_found")
    );

    let status = node.get("/v1/status").await.json();
    assert_eq!(status["chain_id"], CHAIN);
    assert_eq!(status["height"], 1);
    assert_eq!(status["log_size"], 1);
    assert_eq!(status["head_hash"], hex::encode(header.hash()));

    let participants = node.get("/v1/participants").await.json();
    let participants = participants.as_array().unwrap();
    assert_eq!(participants.len(), ORGS.len());
    let farm = participants.iter().find(|p| p["name"] == "Farm").unwrap();
    assert_eq!(farm["signing_key"], key("Farm").public_key().to_string());
    assert_eq!(farm["did_key"], key("Farm").public_key().to_did_key());
    assert_eq!(farm["roles"], json!(["manufacturer", "validator"]));
    assert_eq!(farm["company_prefixes"], json!(["0614141"]));
    assert_eq!(farm["revoked_at"], Value::Null);

    let health = node.get("/healthz").await;
    assert_eq!(health.status, 200);
    assert_eq!(health.text(), "ok");
}

// ---------------------------------------------------------------------------------------------
// Proofs

#[tokio::test]
async fn inclusion_proofs_verify_against_the_certified_header() {
    let node = start().await;
    let validators = genesis().validator_set().unwrap();
    let mut signer = Signer::default();
    let early = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    let also = signer.sign("Farm", &commission(&[&farm_item("2")], 1));
    node.submit(&[&early, &also]).await;
    node.seal().await;
    let late = signer.sign("Farm", &commission(&[&farm_item("3")], 2));
    node.submit(&[&late]).await;
    node.seal().await;

    for (record, query, height) in [
        (&early, "", 2),
        (&early, "?height=1", 1),
        (&also, "?height=2", 2),
        (&late, "", 2),
    ] {
        let id = record.event_hash_id.to_string();
        let reply = node
            .get(&format!("/v1/proofs/inclusion/{}{query}", encode(&id)))
            .await;
        assert_eq!(reply.status, 200, "{reply:?}");
        let body = reply.json();
        assert_eq!(body["event_hash_id"], id);
        let header: BlockHeader = serde_json::from_value(body["header"].clone()).unwrap();
        let certificate: FinalityCertificate =
            serde_json::from_value(body["certificate"].clone()).unwrap();
        let proof: InclusionProof = serde_json::from_value(body["proof"].clone()).unwrap();
        assert_eq!(header.height, height);
        certificate.verify(&header, &validators).unwrap();
        assert_eq!(proof.tree_size, header.log_size);
        assert_eq!(body["tree_size"], header.log_size);
        assert_eq!(body["leaf_index"], proof.leaf_index);
        // The client computes the leaf hash itself; the server's matches.
        let included_at = body["height"].as_u64().unwrap();
        let leaf = record.leaf_hash(included_at);
        assert_eq!(body["leaf_hash"], leaf.to_hex());
        merkle::verify_inclusion(&leaf, &proof, &MerkleHash::from(header.log_root)).unwrap();
        // A proof for another leaf does not verify.
        let other = also.leaf_hash(included_at);
        if record.event_hash_id != also.event_hash_id {
            assert!(
                merkle::verify_inclusion(&other, &proof, &MerkleHash::from(header.log_root))
                    .is_err()
            );
        }
    }

    let late_id = encode(&late.event_hash_id.to_string());
    for (path, status, code) in [
        (
            format!("/v1/proofs/inclusion/{late_id}?height=1"),
            409,
            "not_yet_included",
        ),
        (
            format!("/v1/proofs/inclusion/{late_id}?height=9"),
            404,
            "block_not_found",
        ),
        (
            format!("/v1/proofs/inclusion/{late_id}?height=x"),
            400,
            "bad_query",
        ),
        (
            format!("/v1/proofs/inclusion/{}", "0".repeat(64)),
            404,
            "event_not_found",
        ),
        (
            "/v1/proofs/inclusion/nope".to_owned(),
            400,
            "bad_event_hash_id",
        ),
    ] {
        let reply = node.get(&path).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (status, code),
            "{path}"
        );
    }
}

#[tokio::test]
async fn consistency_proofs_verify_between_certified_heads() {
    let node = start().await;
    let mut signer = Signer::default();
    for round in 0..3u32 {
        let events: Vec<SignedEvent> = (0..=round)
            .map(|i| {
                signer.sign(
                    "Farm",
                    &commission(&[&farm_item(&format!("{round}-{i}"))], round * 10 + i),
                )
            })
            .collect();
        assert_eq!(
            node.submit(&events.iter().collect::<Vec<_>>()).await.status,
            202
        );
        node.seal().await;
    }
    let (h1, _) = node.header(1).await;
    let (h3, _) = node.header(3).await;
    assert_eq!((h1.log_size, h3.log_size), (1, 6));
    let reply = node
        .get(&format!(
            "/v1/proofs/consistency?old={}&new={}",
            h1.log_size, h3.log_size
        ))
        .await;
    assert_eq!(reply.status, 200, "{reply:?}");
    let proof: ConsistencyProof = serde_json::from_value(reply.json()).unwrap();
    assert_eq!((proof.old_size, proof.new_size), (1, 6));
    merkle::verify_consistency(
        &MerkleHash::from(h1.log_root),
        &MerkleHash::from(h3.log_root),
        &proof,
    )
    .unwrap();
    // Against the wrong old root it fails.
    let (h2, _) = node.header(2).await;
    assert!(
        merkle::verify_consistency(
            &MerkleHash::from(h2.log_root),
            &MerkleHash::from(h3.log_root),
            &proof
        )
        .is_err()
    );

    for (query, code) in [
        ("old=6&new=1", "bad_range"),
        ("old=1&new=7", "bad_range"),
        ("old=1", "bad_query"),
        ("old=a&new=2", "bad_query"),
    ] {
        let reply = node.get(&format!("/v1/proofs/consistency?{query}")).await;
        assert_eq!(
            (reply.status, reply.code().as_str()),
            (400, code),
            "{query}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Routing, errors, limits, metrics, OpenAPI

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_in_the_json_error_shape() {
    let node = start().await;
    let reply = node.get("/v1/nothing-here").await;
    assert_eq!((reply.status, reply.code().as_str()), (404, "not_found"));
    let reply = node.get("/").await;
    assert_eq!((reply.status, reply.code().as_str()), (404, "not_found"));
    // An identifier that was not URL-encoded gets a hint.
    let reply = node
        .get(&format!("/v1/events/ni:///sha-256;{}", "0".repeat(64)))
        .await;
    assert_eq!((reply.status, reply.code().as_str()), (404, "not_found"));
    assert!(reply.text().contains("URL-encoded"), "{}", reply.text());

    let reply = node.get("/v1/events").await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (405, "method_not_allowed")
    );
    assert_eq!(reply.header("allow"), Some("POST"));
    let reply = request(node.addr, "DELETE", "/v1/head", &[], Body::Fixed(vec![])).await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (405, "method_not_allowed")
    );
    assert!(reply.header("allow").unwrap().contains("GET"));
}

#[tokio::test]
async fn a_stalled_request_times_out_with_408() {
    let limits = ApiLimits {
        request_timeout: Duration::from_millis(300),
        ..ApiLimits::default()
    };
    let node = start_with(MempoolLimits::default(), limits).await;
    let started = std::time::Instant::now();
    let reply = request(
        node.addr,
        "POST",
        "/v1/events",
        &[("Content-Type", "application/json")],
        Body::Stalled(100),
    )
    .await;
    assert_eq!(
        (reply.status, reply.code().as_str()),
        (408, "request_timeout")
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn openapi_describes_exactly_the_served_routes() {
    let node = start().await;
    let doc = node.get("/v1/openapi.json").await.json();
    assert_eq!(doc["openapi"], "3.1.0");
    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let routed: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|r| (r.method.as_openapi().to_owned(), r.path.to_owned()))
        .collect();
    assert_eq!(documented, routed);

    // Every route in the table is really served (not the 404 fallback, not a 405).
    for route in ROUTES {
        let path = route
            .path
            .replace("{event_hash_id}", &"0".repeat(64))
            .replace("{id}", &farm_item("1"))
            .replace("{height}", "1")
            .replace("{hash}", &"0".repeat(64));
        let method = route.method.as_openapi().to_uppercase();
        let reply = request(
            node.addr,
            &method,
            &path,
            &[("Content-Type", "application/json")],
            Body::Fixed(b"{}".to_vec()),
        )
        .await;
        assert_ne!(reply.status, 405, "{method} {path}");
        if reply.status == 404 {
            assert_ne!(reply.code(), "not_found", "{method} {path}");
        }
        // Documented status for this answer.
        let documented = &doc["paths"][route.path][route.method.as_openapi()]["responses"]
            [reply.status.to_string()];
        assert!(
            documented.is_object(),
            "{method} {path} answered {} undocumented",
            reply.status
        );
    }
}

#[tokio::test]
async fn metrics_are_served_on_their_own_router() {
    let node = start().await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = api::metrics_router(node.metrics.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let mut signer = Signer::default();
    let event = signer.sign("Farm", &commission(&[&farm_item("1")], 0));
    assert_eq!(node.submit(&[&event]).await.status, 202);
    let stranger = SigningKey::from_seed([77; 32]);
    let bad = SignedEvent::sign(&stranger, CHAIN, 1, &commission(&[&farm_item("2")], 1)).unwrap();
    assert_eq!(node.submit(&[&bad]).await.status, 403);

    let reply = request(addr, "GET", "/metrics", &[], Body::Fixed(vec![])).await;
    assert_eq!(reply.status, 200);
    assert!(
        reply
            .header("content-type")
            .unwrap()
            .starts_with("application/openmetrics-text"),
        "{reply:?}"
    );
    let text = reply.text();
    assert!(
        text.contains("provenance_events_accepted_total 1"),
        "{text}"
    );
    assert!(
        text.contains("provenance_events_rejected_total{code=\"unknown_signer\"} 1"),
        "{text}"
    );
    let reply = request(addr, "GET", "/v1/status", &[], Body::Fixed(vec![])).await;
    assert_eq!((reply.status, reply.code().as_str()), (404, "not_found"));
}
