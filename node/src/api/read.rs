//! Read-only endpoints: events, product histories, blocks, the head, participants, status,
//! health, the OpenAPI document and (on the metrics listener) Prometheus metrics.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::genesis::Role;
use provenance_protocol::gs1;
use provenance_protocol::ledger::{BlockHeader, FinalityCertificate};
use provenance_protocol::record::SignedEvent;
use provenance_protocol::rules::EpcKey;
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::{AppState, blocking, openapi};
use crate::metrics::Metrics;
use crate::store::{LedgerStore, StoreError, StoredBlock, StoredEvent};

/// Events returned by a history request when `limit` is not given.
pub const DEFAULT_HISTORY_LIMIT: usize = 1_000;
/// Most events one history request returns: bounds the response size and the store work.
pub const MAX_HISTORY_LIMIT: usize = 10_000;

/// The Prometheus exposition content type of what `prometheus-client` renders (OpenMetrics
/// text, ending in `# EOF`). Prometheus asks for it and parses it natively.
pub const METRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serialises `value` as the JSON body of a `status` response.
pub(super) fn json<T: Serialize + ?Sized>(
    status: StatusCode,
    value: &T,
) -> Result<Response, ApiError> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| ApiError::internal("cannot encode the response", &e))?;
    Ok((
        status,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        bytes,
    )
        .into_response())
}

/// At most 100 characters of client input, for quoting it back in a message.
pub(super) fn shown(text: &str) -> String {
    const MAX: usize = 100;
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{:?}...", &text[..cut]),
        None => format!("{text:?}"),
    }
}

/// A path parameter that could not be extracted (e.g. not UTF-8 after percent-decoding).
pub(super) fn path_error(code: &'static str, rejection: PathRejection) -> ApiError {
    ApiError::bad_request(
        code,
        format!("invalid path parameter: {}", rejection.body_text()),
    )
}

/// A query string that does not fit the endpoint's parameters.
pub(super) fn query_error(rejection: QueryRejection) -> ApiError {
    ApiError::bad_request(
        "bad_query",
        format!(
            "invalid query string: {}; see GET /v1/openapi.json for the parameters",
            rejection.body_text()
        ),
    )
}

/// An Event Hash ID as a path segment: the `ni:///sha-256;…?ver=CBV2.0` form (URL-encoded) or the
/// bare 64-hex-digit digest.
pub(super) fn parse_event_hash_id(text: &str) -> Result<EventHashId, ApiError> {
    if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut bytes = [0u8; 32];
        if hex::decode_to_slice(text, &mut bytes).is_ok() {
            return Ok(EventHashId::from_bytes(bytes));
        }
    }
    text.parse().map_err(|e| {
        ApiError::bad_request(
            "bad_event_hash_id",
            format!(
                "{} is not an Event Hash ID: {e}. Use ni:///sha-256;<64 hex digits>?ver=CBV2.0 (URL-encoded in the path) or the bare 64-hex-digit digest",
                shown(text)
            ),
        )
    })
}

/// A stored event and where it sits in the ledger.
#[derive(Debug, Serialize)]
struct EventAt<'a> {
    event: &'a SignedEvent,
    height: u64,
    leaf_index: u64,
}

impl<'a> From<&'a StoredEvent> for EventAt<'a> {
    fn from(stored: &'a StoredEvent) -> Self {
        EventAt {
            event: &stored.record,
            height: stored.height,
            leaf_index: stored.leaf_index,
        }
    }
}

#[derive(Debug, Serialize)]
struct EventView<'a> {
    #[serde(flatten)]
    at: EventAt<'a>,
    error_declaration: Option<&'a SignedEvent>,
}

/// `GET /v1/events/{event_hash_id}`.
pub(super) async fn event(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(raw) = path.map_err(|r| path_error("bad_event_hash_id", r))?;
    let id = parse_event_hash_id(&raw)?;
    let service = state.service.clone();
    let found = blocking(move || service.event(&id).map_err(|e| ApiError::storage(&e))).await?;
    let Some((stored, declaration)) = found else {
        return Err(event_not_found(&id));
    };
    json(
        StatusCode::OK,
        &EventView {
            at: EventAt::from(&stored),
            error_declaration: declaration.as_ref().map(|d| &d.record),
        },
    )
}

/// `404 event_not_found`.
pub(super) fn event_not_found(id: &EventHashId) -> ApiError {
    ApiError::not_found(
        "event_not_found",
        format!(
            "no event {id} is in the ledger; an accepted event appears here once its block is final"
        ),
    )
}

/// Query parameters of a product history.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct HistoryQuery {
    limit: Option<usize>,
}

/// Which index a history request reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum HistoryTarget {
    /// One object (or a non-GS1 URI): every event naming it.
    Instance { key: EpcKey },
    /// A GTIN with a batch/lot: events naming that lot.
    Lot {
        key: String,
        gtin: String,
        lot: String,
    },
    /// A GTIN: events naming any instance or class of the product.
    Product { key: String, gtin: String },
}

impl HistoryTarget {
    /// Resolves an EPC URN, a GS1 Digital Link (any domain) or another URI.
    fn resolve(id: &str) -> Result<Self, ApiError> {
        match gs1::parse_any_epc(id) {
            Ok(normalized) => {
                let key = normalized.index_key();
                if !normalized.is_class_level() {
                    return Ok(HistoryTarget::Instance { key: EpcKey(key) });
                }
                Ok(match (normalized.gtin(), normalized.lot()) {
                    (Some(gtin), Some(lot)) => HistoryTarget::Lot {
                        key,
                        gtin: gtin.as_str().to_owned(),
                        lot: lot.to_owned(),
                    },
                    (Some(gtin), None) => HistoryTarget::Product {
                        key,
                        gtin: gtin.as_str().to_owned(),
                    },
                    // Other class-level keys (e.g. an unserialised GRAI) are indexed as written.
                    (None, _) => HistoryTarget::Instance { key: EpcKey(key) },
                })
            }
            Err(e) if e.is_not_gs1() && looks_like_uri(id) => Ok(HistoryTarget::Instance {
                key: EpcKey(id.to_owned()),
            }),
            Err(e) if e.is_not_gs1() => Err(bad_identifier(
                id,
                "expected an EPC URN (urn:epc:id:...), a GS1 Digital Link (https://id.gs1.org/01/...) or another URI",
            )),
            Err(e) => Err(bad_identifier(id, &e.to_string())),
        }
    }

    fn key(&self) -> &str {
        match self {
            HistoryTarget::Instance { key } => &key.0,
            HistoryTarget::Lot { key, .. } | HistoryTarget::Product { key, .. } => key,
        }
    }

    fn scope(&self) -> &'static str {
        match self {
            HistoryTarget::Instance { .. } => "instance",
            HistoryTarget::Lot { .. } => "lot",
            HistoryTarget::Product { .. } => "product",
        }
    }

    fn lookup<S: LedgerStore + ?Sized>(
        &self,
        store: &S,
        limit: usize,
    ) -> Result<Vec<EventHashId>, StoreError> {
        match self {
            HistoryTarget::Instance { key } => store.events_for_epc(key, limit),
            HistoryTarget::Lot { gtin, lot, .. } => store.events_for_lot(gtin, lot, limit),
            HistoryTarget::Product { gtin, .. } => store.events_for_gtin(gtin, limit),
        }
    }
}

/// `scheme:rest` with an RFC 3986 scheme: what EPCIS allows as an identifier.
fn looks_like_uri(text: &str) -> bool {
    match text.split_once(':') {
        Some((scheme, rest)) => {
            !rest.is_empty()
                && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

fn bad_identifier(id: &str, reason: &str) -> ApiError {
    ApiError::bad_request(
        "bad_identifier",
        format!("{} is not a usable identifier: {reason}", shown(id)),
    )
}

#[derive(Debug, Serialize)]
struct HistoryView<'a> {
    id: &'a str,
    key: &'a str,
    scope: &'static str,
    events: Vec<EventAt<'a>>,
    /// More events exist beyond `limit`.
    truncated: bool,
}

/// `GET /v1/products/{id}/history?limit=N`.
pub(super) async fn history(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<HistoryQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(id) = path.map_err(|r| path_error("bad_identifier", r))?;
    let Query(query) = query.map_err(query_error)?;
    let limit = query.limit.unwrap_or(DEFAULT_HISTORY_LIMIT);
    if !(1..=MAX_HISTORY_LIMIT).contains(&limit) {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit must be between 1 and {MAX_HISTORY_LIMIT}, found {limit}"),
        ));
    }
    let target = HistoryTarget::resolve(&id)?;
    let store = state.service.store().clone();
    let lookup = target.clone();
    let (events, truncated) = blocking(move || {
        // One more than asked, to tell the client whether there is more.
        let ids = lookup
            .lookup(&*store, limit + 1)
            .map_err(|e| ApiError::storage(&e))?;
        let truncated = ids.len() > limit;
        let mut events = Vec::with_capacity(ids.len().min(limit));
        for id in ids.into_iter().take(limit) {
            match store.event(&id).map_err(|e| ApiError::storage(&e))? {
                Some(event) => events.push(event),
                None => {
                    return Err(ApiError::storage(&StoreError::Corrupt {
                        what: format!("index names event {id}, which is not stored"),
                    }));
                }
            }
        }
        Ok((events, truncated))
    })
    .await?;
    json(
        StatusCode::OK,
        &HistoryView {
            id: &id,
            key: target.key(),
            scope: target.scope(),
            events: events.iter().map(EventAt::from).collect(),
            truncated,
        },
    )
}

#[derive(Debug, Serialize)]
struct BlockView<'a> {
    header: &'a BlockHeader,
    certificate: &'a FinalityCertificate,
    events: &'a [SignedEvent],
    /// Governance transactions applied after the events (omitted when none).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    governance: &'a [provenance_protocol::governance::GovernanceTx],
    /// Equivocation evidence recorded by the block (omitted when none).
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    evidence: &'a [provenance_protocol::evidence::Equivocation],
    /// The validator set certifying the next block, present at hand-offs only.
    #[serde(skip_serializing_if = "Option::is_none")]
    next_validators: Option<&'a provenance_protocol::ledger::ValidatorSet>,
}

fn block_response(block: Option<StoredBlock>, which: &str) -> Result<Response, ApiError> {
    let block = block.ok_or_else(|| {
        ApiError::not_found(
            "block_not_found",
            format!("there is no finalised block {which}"),
        )
    })?;
    json(
        StatusCode::OK,
        &BlockView {
            header: &block.block.header,
            certificate: &block.certificate,
            events: &block.block.body.events,
            governance: &block.block.body.governance,
            evidence: &block.block.body.evidence,
            next_validators: block.block.body.next_validators.as_ref(),
        },
    )
}

/// `GET /v1/blocks/{height}`.
pub(super) async fn block_by_height(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(raw) = path.map_err(|r| path_error("bad_height", r))?;
    let height: u64 = raw.parse().map_err(|_| {
        ApiError::bad_request(
            "bad_height",
            format!(
                "{} is not a block height; use a decimal number, 1 for the first block",
                shown(&raw)
            ),
        )
    })?;
    let service = state.service.clone();
    let block = blocking(move || service.block(height).map_err(|e| ApiError::storage(&e))).await?;
    block_response(block, &format!("at height {height}"))
}

/// `GET /v1/blocks/by-hash/{hash}`.
pub(super) async fn block_by_hash(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(raw) = path.map_err(|r| path_error("bad_block_hash", r))?;
    let mut hash = [0u8; 32];
    if raw.len() != 64 || hex::decode_to_slice(&raw, &mut hash).is_err() {
        return Err(ApiError::bad_request(
            "bad_block_hash",
            format!(
                "{} is not a block header hash; use its 64 hex digits",
                shown(&raw)
            ),
        ));
    }
    let service = state.service.clone();
    let block = blocking(move || {
        service
            .block_by_hash(&hash)
            .map_err(|e| ApiError::storage(&e))
    })
    .await?;
    block_response(block, &format!("with header hash {}", hex::encode(hash)))
}

#[derive(Debug, Serialize)]
struct HeadView<'a> {
    header: &'a BlockHeader,
    certificate: &'a FinalityCertificate,
}

/// `GET /v1/head`.
pub(super) async fn head(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.service.store().clone();
    let head = blocking(move || store.head().map_err(|e| ApiError::storage(&e))).await?;
    let head = head.ok_or_else(|| {
        ApiError::not_found(
            "no_blocks_yet",
            "no block has been finalised yet; the first block follows the first accepted events",
        )
    })?;
    json(
        StatusCode::OK,
        &HeadView {
            header: &head.header,
            certificate: &head.certificate,
        },
    )
}

#[derive(Debug, Serialize)]
struct ParticipantView {
    name: String,
    roles: Vec<Role>,
    /// Ed25519 public key, 64 lowercase hex digits.
    signing_key: String,
    /// The same key as a `did:key`.
    did_key: String,
    company_prefixes: Vec<String>,
    revoked_at: Option<u64>,
}

/// `GET /v1/participants`.
pub(super) async fn participants(State(state): State<AppState>) -> Result<Response, ApiError> {
    let store = state.service.store().clone();
    let records = blocking(move || store.participants().map_err(|e| ApiError::storage(&e))).await?;
    let views: Vec<ParticipantView> = records
        .into_iter()
        .map(|p| ParticipantView {
            signing_key: p.signing_key.to_string(),
            did_key: p.signing_key.to_did_key(),
            name: p.name,
            roles: p.roles,
            company_prefixes: p.company_prefixes,
            revoked_at: p.revoked_at,
        })
        .collect();
    json(StatusCode::OK, &views)
}

/// `GET /v1/status`.
pub(super) async fn status(State(state): State<AppState>) -> Result<Response, ApiError> {
    let service = state.service.clone();
    let status = blocking(move || service.status().map_err(|e| ApiError::storage(&e))).await?;
    json(StatusCode::OK, &status)
}

/// `GET /healthz`: `200 ok` when the store answers, so a load balancer can route around a node
/// whose storage failed.
pub(super) async fn healthz(State(state): State<AppState>) -> Result<Response, ApiError> {
    let service = state.service.clone();
    blocking(move || {
        service.status().map_err(|error| {
            tracing::error!(%error, "health check: the store does not answer");
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unavailable",
                "the node's storage does not answer; the node operator can find the cause in the node's log",
            )
        })
    })
    .await?;
    Ok((
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        )],
        "ok",
    )
        .into_response())
}

/// `GET /v1/openapi.json`.
pub(super) async fn openapi() -> Result<Response, ApiError> {
    json(StatusCode::OK, &openapi::document())
}

/// `GET /metrics` (metrics listener).
pub(super) async fn metrics(State(metrics): State<Metrics>) -> Response {
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static(METRICS_CONTENT_TYPE),
        )],
        metrics.render(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_hash_ids_parse_in_both_forms_and_errors_say_how() {
        let hex = "ab".repeat(32);
        let ni = format!("ni:///sha-256;{hex}?ver=CBV2.0");
        assert_eq!(
            parse_event_hash_id(&hex).unwrap(),
            parse_event_hash_id(&ni).unwrap()
        );
        assert_eq!(
            parse_event_hash_id(&hex.to_uppercase()).unwrap(),
            parse_event_hash_id(&ni).unwrap()
        );
        for bad in ["", "xyz", &hex[..63], "ni:///sha-256;zz?ver=CBV2.0"] {
            let err = parse_event_hash_id(bad).unwrap_err();
            assert_eq!(err.code(), "bad_event_hash_id");
            assert!(err.to_string().contains("ni:///sha-256;"), "{err}");
        }
    }

    #[test]
    fn history_targets_pick_the_right_index() {
        let sgtin = HistoryTarget::resolve("urn:epc:id:sgtin:0614141.107346.2017").unwrap();
        let link =
            HistoryTarget::resolve("https://example.com/01/10614141073464/21/2017?x=1").unwrap();
        assert_eq!(sgtin, link);
        assert_eq!(sgtin.scope(), "instance");
        assert_eq!(sgtin.key(), "https://id.gs1.org/01/10614141073464/21/2017");
        let lot = HistoryTarget::resolve("urn:epc:class:lgtin:0614141.107346.LOT7").unwrap();
        assert!(
            matches!(&lot, HistoryTarget::Lot { gtin, lot, .. } if gtin == "10614141073464" && lot == "LOT7"),
            "{lot:?}"
        );
        let product = HistoryTarget::resolve("https://id.gs1.org/01/10614141073464").unwrap();
        assert_eq!(product.scope(), "product");
        let uuid = HistoryTarget::resolve("urn:uuid:3b9c0a6e-7f0e-4f6b-9c2f-1a2b3c4d5e6f").unwrap();
        assert_eq!(uuid.scope(), "instance");
        for bad in [
            "hello",
            "",
            "https://id.gs1.org/01/10614141073465/21/1",
            "urn:epc:id:sgtin:bad",
        ] {
            let err = HistoryTarget::resolve(bad).unwrap_err();
            assert_eq!(err.code(), "bad_identifier", "{bad}");
        }
    }

    #[test]
    fn quoted_input_is_bounded() {
        let long = "é".repeat(500);
        let quoted = shown(&long);
        assert!(quoted.chars().count() < 110, "{quoted}");
        assert_eq!(shown("ab"), "\"ab\"");
    }
}
