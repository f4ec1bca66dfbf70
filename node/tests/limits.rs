//! Submission limits at the limit, driven through the service directly.

mod support;

use std::sync::Arc;

use provenance_node::mempool::MempoolLimits;
use provenance_node::metrics::Metrics;
use provenance_node::service::{MAX_BATCH_EVENTS, NodeService};
use provenance_node::store::SledStore;
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use provenance_protocol::record::SignedEvent;
use serde_json::json;

fn genesis(key: &SigningKey) -> Genesis {
    Genesis {
        chain_id: "limits".into(),
        genesis_time_ms: 1_700_000_000_000,
        participants: vec![Participant {
            name: "Maker".into(),
            roles: vec![Role::Manufacturer, Role::Validator],
            signing_key: key.public_key(),
            network_key: SigningKey::from_seed([200; 32]).public_key(),
            company_prefixes: vec!["0614141".into()],
        }],
        validators: vec![GenesisValidator {
            participant: "Maker".into(),
            power: 1,
        }],
        params: ConsensusParams::default(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_at_the_limit_is_processed_and_one_more_is_refused_unread() {
    let key = SigningKey::from_seed([1; 32]);
    let genesis = genesis(&key);
    let store = SledStore::open_temporary(&genesis).unwrap();
    let service = NodeService::new(
        Arc::new(store),
        genesis,
        Some(SigningKey::from_seed([1; 32])),
        MempoolLimits::default(),
        Metrics::new(),
    )
    .unwrap();
    tokio::spawn(service.clone().run_flusher());
    let event = json!({
        "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
        "type": "ObjectEvent",
        "eventTime": "2025-01-01T10:00:00.000Z",
        "eventTimeZoneOffset": "+00:00",
        "epcList": ["urn:epc:id:sgtin:0614141.107346.1"],
        "action": "ADD",
        "bizStep": "commissioning"
    });
    let record = SignedEvent::sign(&key, "limits", 1, &event).unwrap();

    let over = vec![record.clone(); MAX_BATCH_EVENTS + 1];
    let outcome = service.submit(over).await;
    let (index, error) = outcome.failure.expect("refused");
    assert_eq!((index, error.code()), (0, "batch_too_large"));
    assert!(outcome.accepted.is_empty());
    assert_eq!(service.status().unwrap().mempool_size, 0);

    // At the limit: processed. Identical copies are idempotent, so the event is held once.
    let at = vec![record.clone(); MAX_BATCH_EVENTS];
    let outcome = service.submit(at).await;
    assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
    assert_eq!(outcome.accepted.len(), MAX_BATCH_EVENTS);
    assert_eq!(service.status().unwrap().mempool_size, 1);
    let (_, events) =
        support::seal_as_sole_validator(&service, SigningKey::from_seed([1; 32]), "limits").await;
    assert_eq!(events, 1);

    let empty = service.submit(vec![]).await;
    assert_eq!(empty.failure.unwrap().1.code(), "empty_batch");
}
