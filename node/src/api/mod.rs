//! The HTTP API: JSON under `/v1`, a thin translation of [`NodeService`] calls into HTTP.
//!
//! Nothing here decides validity: submissions go to [`NodeService::submit`], which verifies,
//! applies the rules and makes accepted events durable before this layer answers `202`. Reads go
//! to the store on blocking threads so a slow disk never stalls the async runtime.
//!
//! The routes live in one table, [`ROUTES`], used both to build the router and (in tests) to
//! check that the OpenAPI document ([`openapi::document`], served at `GET /v1/openapi.json`)
//! describes exactly the routes that exist.
//!
//! ## Errors
//!
//! Every error, including axum's own rejections (unknown route, wrong method, body too large,
//! wrong content type, timeout), has one shape:
//!
//! ```json
//! {"error": {"code": "not_custodian", "message": "Hauler does not hold ...", "index": 2},
//!  "accepted": ["ni:///sha-256;...?ver=CBV2.0", "..."]}
//! ```
//!
//! `code` is stable snake_case for programs; `message` is for a person. `index` (the position in
//! the batch of the event that failed) and `accepted` (events of the batch accepted, durably,
//! before it) appear only on submission failures: a batch is processed in order and stops at the
//! first failure, so a client resubmits from `index` after fixing that event. `sequence_gap` and
//! `sequence_replayed` also carry `expected_sequence`, the number the signer's next event needs.
//!
//! Submission error status codes (the machine-readable table is [`SUBMIT_ERRORS`]):
//!
//! | status | codes | meaning |
//! |---|---|---|
//! | 400 | `malformed_json`, `body_unreadable` | the body is not JSON, or not a `SignedEvent` (message names line and column); or it could not be read |
//! | 403 | `unknown_signer`, `signer_revoked` | the signing key may not write to this ledger at all |
//! | 409 | `duplicate_event` | another record with the same Event Hash ID is waiting or final |
//! | 413 | `body_too_large`, `batch_too_large`, `event_too_large` | a size limit; split the batch or the event |
//! | 415 | `unsupported_media_type` | send `Content-Type: application/json` |
//! | 422 | every other validation and rule code (`bad_signature`, `wrong_chain`, `sequence_gap`, `not_custodian`, ...) | the event is not acceptable as it is |
//! | 425 | `event_from_the_future` | `eventTime` is beyond the allowed clock skew; `Retry-After` says when it will be acceptable |
//! | 429 | `signer_quota_full` | this signer has too many events waiting; `Retry-After: 1` |
//! | 500 | `storage_error` | the node could not store the event durably; only the events in `accepted` are acknowledged |
//! | 503 | `mempool_full` (`Retry-After: 1`), `shutting_down` | retry later (or at another node) |
//!
//! `bad_signature` is 422, not 401: the request is not an authentication attempt (there is no
//! challenge to answer), the record itself is invalid. Read errors: `400` for a malformed path or
//! query parameter (`bad_event_hash_id`, `bad_identifier`, `bad_height`, `bad_block_hash`,
//! `bad_query`, `bad_range`), `404` for what does not exist (`event_not_found`,
//! `block_not_found`, `no_blocks_yet`, `not_found`), `405 method_not_allowed`,
//! `408 request_timeout`, `409 not_yet_included`, `500 storage_error`/`proof_error`/`internal_error`,
//! and `503 store_unavailable` from `GET /healthz`.
//!
//! A request that times out (`408`) may still have been applied: submission is idempotent, so
//! resubmitting the same events returns the same answer and stores nothing twice.
//!
//! Products ([`products`]): `GET /v1/products/{id}/bundle` serves a provenance bundle (JSON or
//! CBOR) with `400 class_without_lot`, `404 not_found` (no finalised event names it),
//! `404 no_blocks_yet` and `422 too_many_events` besides the read errors above; GS1 Digital
//! Link paths (`/01/{gtin}/21/{serial}`, ... under any prefix) are resolved by the node itself,
//! and a browser gets the product page (HTML, error pages too) instead of JSON.

mod body;
mod error;
mod middleware;
pub mod openapi;
mod page;
mod products;
mod proofs;
mod read;
mod submit;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{MethodRouter, get, post};
use tower_http::classify::{ServerErrorsAsFailures, SharedClassifier};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::trace::{
    DefaultMakeSpan, DefaultOnFailure, DefaultOnRequest, DefaultOnResponse, TraceLayer,
};
use tracing::Level;

use crate::metrics::Metrics;
use crate::service::NodeService;

pub use error::{ErrorCodeDoc, SUBMIT_ERRORS};

use error::ApiError;

/// Limits every request is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ApiLimits {
    /// Largest request body accepted; larger ones get `413 body_too_large` before being read.
    pub max_body_bytes: usize,
    /// Longest a request may take, body upload included; beyond it `408 request_timeout`.
    pub request_timeout: Duration,
}

impl ApiLimits {
    /// 8 MiB: a batch of a few hundred typical events, or dozens of large ones.
    pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
    /// 30 s: generous for an 8 MiB upload on a slow link plus a durable flush.
    pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
}

impl Default for ApiLimits {
    fn default() -> Self {
        ApiLimits {
            max_body_bytes: Self::DEFAULT_MAX_BODY_BYTES,
            request_timeout: Self::DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// What every handler can reach.
#[derive(Debug, Clone)]
struct AppState {
    service: NodeService,
    limits: ApiLimits,
}

/// HTTP methods the API uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    /// Lowercase, as OpenAPI path items name operations.
    pub fn as_openapi(self) -> &'static str {
        match self {
            HttpMethod::Get => "get",
            HttpMethod::Post => "post",
        }
    }
}

/// One route: method, path (axum and OpenAPI share the `{param}` syntax) and its handler.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub method: HttpMethod,
    pub path: &'static str,
    handler: fn() -> MethodRouter<AppState>,
}

/// Every route of the API router. The router is built from this table, and a test checks it
/// against the OpenAPI document, so the two cannot drift apart.
pub const ROUTES: &[Route] = &[
    Route {
        method: HttpMethod::Post,
        path: "/v1/events",
        handler: || post(submit::events),
    },
    Route {
        method: HttpMethod::Post,
        path: "/v1/documents",
        handler: || post(submit::documents),
    },
    Route {
        method: HttpMethod::Post,
        path: "/v1/governance",
        handler: || post(submit::governance),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/events/{event_hash_id}",
        handler: || get(read::event),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/products/{id}/history",
        handler: || get(read::history),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/products/{id}/bundle",
        handler: || get(products::bundle),
    },
    Route {
        method: HttpMethod::Get,
        path: products::RESOLVER_PATHS[0],
        handler: || get(products::resolve),
    },
    Route {
        method: HttpMethod::Get,
        path: products::RESOLVER_PATHS[1],
        handler: || get(products::resolve),
    },
    Route {
        method: HttpMethod::Get,
        path: products::RESOLVER_PATHS[2],
        handler: || get(products::resolve),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/blocks/{height}",
        handler: || get(read::block_by_height),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/blocks/by-hash/{hash}",
        handler: || get(read::block_by_hash),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/head",
        handler: || get(read::head),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/proofs/inclusion/{event_hash_id}",
        handler: || get(proofs::inclusion),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/proofs/consistency",
        handler: || get(proofs::consistency),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/participants",
        handler: || get(read::participants),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/status",
        handler: || get(read::status),
    },
    Route {
        method: HttpMethod::Get,
        path: "/v1/openapi.json",
        handler: || get(read::openapi),
    },
    Route {
        method: HttpMethod::Get,
        path: "/healthz",
        handler: || get(read::healthz),
    },
];

/// Whether `route` is one of the Digital Link resolver's: it answers browsers with HTML pages,
/// error pages included, so it must not sit under [`middleware::json_errors`].
fn serves_pages(route: &Route) -> bool {
    products::RESOLVER_PATHS.contains(&route.path)
}

/// The API router over `service`, with body limit, timeout, JSON errors and request tracing.
///
/// The Digital Link resolver (its routes and the fallback, which resolves prefixed Digital Link
/// paths and answers `404 not_found` for anything else) is added after the JSON-error, timeout
/// and body-limit layers, which axum applies only to what exists when they are added: its HTML
/// error pages must reach browsers as HTML. It applies the request timeout itself, produces its
/// own JSON errors for API clients and never reads a body.
pub fn router(service: NodeService, limits: ApiLimits) -> Router {
    let mut router = Router::new();
    for route in ROUTES.iter().filter(|r| !serves_pages(r)) {
        // Same path twice (different methods) merges into one method router.
        router = router.route(route.path, (route.handler)());
    }
    let mut router = router
        // Axum's extractors apply this limit while reading; the tower-http layer refuses a
        // declared Content-Length over the limit before reading anything.
        .layer(DefaultBodyLimit::max(limits.max_body_bytes))
        .layer(RequestBodyLimitLayer::new(limits.max_body_bytes))
        .layer(axum::middleware::from_fn_with_state(
            limits.request_timeout,
            middleware::timeout,
        ))
        .layer(axum::middleware::from_fn_with_state(
            limits,
            middleware::json_errors,
        ));
    for route in ROUTES.iter().filter(|r| serves_pages(r)) {
        router = router.route(route.path, (route.handler)().fallback(products::resolve));
    }
    router
        .fallback(products::resolve)
        .layer(trace_layer())
        .with_state(AppState { service, limits })
}

/// The metrics router, served on its own (loopback by default) listener: `GET /metrics`.
pub fn metrics_router(metrics: Metrics) -> Router {
    Router::new()
        .route("/metrics", get(read::metrics))
        .fallback(middleware::not_found)
        .layer(axum::middleware::from_fn_with_state(
            ApiLimits::default(),
            middleware::json_errors,
        ))
        .layer(trace_layer())
        .with_state(metrics)
}

/// One span per request at debug level: useful when debugging, silent at the default `info`.
/// Failures (5xx) are debug too: a full mempool answers 503 to every client and must not flood
/// the log, while real internal failures are logged at `error` where they happen.
fn trace_layer() -> TraceLayer<SharedClassifier<ServerErrorsAsFailures>> {
    TraceLayer::new_for_http()
        .make_span_with(DefaultMakeSpan::new().level(Level::DEBUG))
        .on_request(DefaultOnRequest::new().level(Level::DEBUG))
        .on_response(DefaultOnResponse::new().level(Level::DEBUG))
        .on_failure(DefaultOnFailure::new().level(Level::DEBUG))
}

/// Runs a store query on a blocking thread (sled reads may wait on disk).
async fn blocking<T, F>(query: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(query)
        .await
        .map_err(|e| ApiError::internal("a query task failed", &e))?
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn route_table_has_no_duplicates_and_paths_are_absolute() {
        let mut seen = BTreeSet::new();
        for route in ROUTES {
            assert!(route.path.starts_with('/'), "{}", route.path);
            assert!(
                seen.insert((route.method.as_openapi(), route.path)),
                "duplicate route {:?} {}",
                route.method,
                route.path
            );
        }
    }

    #[test]
    fn default_limits_are_the_documented_ones() {
        let limits = ApiLimits::default();
        assert_eq!(limits.max_body_bytes, 8 * 1024 * 1024);
        assert_eq!(limits.request_timeout, Duration::from_secs(30));
    }
}
