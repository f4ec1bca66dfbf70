//! The one error shape of the API, and the mapping from the service's errors to HTTP statuses.
//!
//! The mapping is a table ([`SUBMIT_ERRORS`]) rather than a `match` so the OpenAPI document can be
//! generated from the same data and cannot disagree with what the server does.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::rules::RuleViolation;
use serde::Serialize;

use crate::service::{QueryError, SubmitError};
use crate::store::StoreError;

/// One error code a submission can fail with, its HTTP status, and what it means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCodeDoc {
    pub code: &'static str,
    pub status: u16,
    /// Whether the response carries `Retry-After`.
    pub retry_after: bool,
    pub meaning: &'static str,
}

const fn code(code: &'static str, status: u16, meaning: &'static str) -> ErrorCodeDoc {
    ErrorCodeDoc {
        code,
        status,
        retry_after: false,
        meaning,
    }
}

const fn retry(code: &'static str, status: u16, meaning: &'static str) -> ErrorCodeDoc {
    ErrorCodeDoc {
        code,
        status,
        retry_after: true,
        meaning,
    }
}

/// Status of every code `POST /v1/events` and `POST /v1/documents` can answer with. A code not
/// listed (a newer rule) is a `422`.
pub const SUBMIT_ERRORS: &[ErrorCodeDoc] = &[
    code(
        "malformed_json",
        400,
        "the body is not JSON or not a SignedEvent / array / {\"events\": [...]}",
    ),
    code(
        "body_unreadable",
        400,
        "the request body could not be read (connection dropped or broken chunked encoding)",
    ),
    code(
        "unsupported_media_type",
        415,
        "the body must be sent with Content-Type: application/json",
    ),
    code(
        "body_too_large",
        413,
        "the body exceeds the node's request size limit; split the batch",
    ),
    code(
        "batch_too_large",
        413,
        "more events in one request than the node accepts; split the batch",
    ),
    code(
        "event_too_large",
        413,
        "one event's canonical JSON exceeds the per-event size limit",
    ),
    code("empty_batch", 422, "the request holds no events"),
    code(
        "wrong_chain",
        422,
        "the event was signed for another network (chain_id)",
    ),
    code(
        "invalid_event_json",
        422,
        "the event is not a canonicalisable JSON object",
    ),
    code(
        "content_hash_mismatch",
        422,
        "content_hash does not match the event",
    ),
    code("invalid_epcis", 422, "the event is not valid EPCIS 2.0"),
    code(
        "event_hash_mismatch",
        422,
        "event_hash_id is not the event's CBV 2.0 Event Hash ID",
    ),
    code(
        "bad_signature",
        422,
        "the signature does not verify for the signer",
    ),
    code("invalid_event", 422, "the signed event is invalid"),
    code(
        "unknown_signer",
        403,
        "the signing key is not a registered participant",
    ),
    code("signer_revoked", 403, "the signing key was revoked"),
    code(
        "sequence_replayed",
        422,
        "the signer's sequence number was already used",
    ),
    code(
        "sequence_gap",
        422,
        "the signer's sequence number skips ahead of the next expected one",
    ),
    code(
        "sequence_too_far_ahead",
        422,
        "the sequence number is too far beyond the signer's last accepted one",
    ),
    code(
        "duplicate_event",
        409,
        "a different record with the same Event Hash ID is already waiting or final",
    ),
    retry(
        "event_from_the_future",
        425,
        "eventTime lies beyond the allowed clock skew; Retry-After gives the seconds until it is acceptable",
    ),
    code(
        "role_required",
        422,
        "the signer lacks the role this event needs",
    ),
    code(
        "not_prefix_owner",
        422,
        "the identifier's GS1 company prefix belongs to another participant",
    ),
    code(
        "not_commissionable",
        422,
        "the identifier has no GS1 company prefix, so nobody can commission it",
    ),
    code(
        "bad_identifier",
        422,
        "an identifier in the event is malformed",
    ),
    code(
        "already_commissioned",
        422,
        "the identifier was already commissioned",
    ),
    code(
        "not_commissioned",
        422,
        "the identifier has not been commissioned",
    ),
    code(
        "no_longer_active",
        422,
        "the identifier was sold, consumed, decommissioned or destroyed",
    ),
    code(
        "not_custodian",
        422,
        "the signer does not hold the identifier",
    ),
    code(
        "in_transit",
        422,
        "the identifier is in transit and must be received first",
    ),
    code(
        "not_in_transit",
        422,
        "the identifier was not shipped, so it cannot be received",
    ),
    code(
        "not_addressee",
        422,
        "the identifier was shipped to another participant",
    ),
    code(
        "shipment_without_destination",
        422,
        "a shipment must name a registered participant as destination",
    ),
    code(
        "inside_parent",
        422,
        "the identifier is aggregated in a container; disaggregate it first",
    ),
    code(
        "already_aggregated",
        422,
        "the child is already inside the parent",
    ),
    code("not_a_child", 422, "the child is not inside the parent"),
    code(
        "aggregation_cycle",
        422,
        "the aggregation would put a container inside itself",
    ),
    code(
        "container_not_empty",
        422,
        "the container still holds aggregated items",
    ),
    code(
        "missing_parent",
        422,
        "the aggregation event must name a parentID",
    ),
    code(
        "aggregation_too_deep",
        422,
        "containers nest deeper than the ledger follows",
    ),
    code(
        "recall_not_allowed",
        422,
        "only the commissioner or a certifier may recall",
    ),
    code(
        "error_target_missing",
        422,
        "the error declaration refers to an event not in the ledger",
    ),
    code(
        "error_by_other_signer",
        422,
        "only the original signer may declare an event erroneous",
    ),
    code(
        "error_already_declared",
        422,
        "the event was already declared erroneous",
    ),
    code(
        "not_admitted",
        422,
        "the mempool refused the event for another reason",
    ),
    retry(
        "signer_quota_full",
        429,
        "the signer has too many events waiting for a block; retry after Retry-After seconds",
    ),
    code(
        "storage_error",
        500,
        "the node could not store the event; it was not accepted",
    ),
    retry(
        "mempool_full",
        503,
        "the node's mempool is full; retry after Retry-After seconds",
    ),
    code(
        "shutting_down",
        503,
        "the node is shutting down; retry later or at another node",
    ),
];

/// Seconds a client waits before retrying after `mempool_full` or `signer_quota_full`: about two
/// block intervals, by which time the next block has drained the mempool.
const RETRY_AFTER_FULL_SECS: u64 = 1;

/// The HTTP status of a submission error code (422 for a code not in [`SUBMIT_ERRORS`]).
pub(crate) fn submit_status(code: &str) -> StatusCode {
    SUBMIT_ERRORS
        .iter()
        .find(|doc| doc.code == code)
        .and_then(|doc| StatusCode::from_u16(doc.status).ok())
        .unwrap_or(StatusCode::UNPROCESSABLE_ENTITY)
}

/// Where a submission stopped: the failing event's position and what was accepted before it.
#[derive(Debug)]
struct BatchFailure {
    index: usize,
    accepted: Vec<EventHashId>,
    /// For `sequence_gap` / `sequence_replayed`: the sequence number the signer's next event
    /// must carry, so a client resynchronises without parsing the message.
    expected_sequence: Option<u64>,
}

/// An error answer: status, stable code, human message, and for submissions the batch position.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub(crate) struct ApiError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Boxed: most errors have none of it, and handlers return `Result<_, ApiError>` everywhere.
    extra: Box<Extra>,
}

/// The parts only some errors carry.
#[derive(Debug, Default)]
struct Extra {
    retry_after: Option<u64>,
    allow: Option<HeaderValue>,
    batch: Option<BatchFailure>,
}

impl ApiError {
    /// An error with this status, code and message.
    pub(crate) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: Box::default(),
        }
    }

    /// `400` with this code.
    pub(crate) fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// `404` with this code.
    pub(crate) fn not_found(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, code, message)
    }

    /// Keeps the `Allow` header of a `405`.
    pub(crate) fn with_allow(mut self, allow: Option<HeaderValue>) -> Self {
        self.extra.allow = allow;
        self
    }

    /// The stable code.
    #[cfg(test)]
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// The status.
    #[cfg(test)]
    pub(crate) fn status(&self) -> StatusCode {
        self.status
    }

    /// A failure inside the node. The detail goes to the log, not to the client: it can name
    /// paths and internals, and the client cannot act on it anyway.
    pub(crate) fn internal(context: &str, error: &dyn std::fmt::Display) -> Self {
        tracing::error!(%error, "{context}");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            format!("{context}; the node operator can find the cause in the node's log"),
        )
    }

    /// A storage failure while answering a query.
    pub(crate) fn storage(error: &StoreError) -> Self {
        tracing::error!(%error, "storage error while answering a request");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            "the node's storage failed to answer; retry later (the node operator can find the cause in the node's log)",
        )
    }

    /// A failed proof or query.
    pub(crate) fn query(error: QueryError) -> Self {
        match error {
            QueryError::Store(e) => Self::storage(&e),
            QueryError::NoSuchHeight { height } => Self::not_found(
                "block_not_found",
                format!("there is no finalised block at height {height}"),
            ),
            QueryError::NotYetIncluded {
                height,
                included_at,
            } => Self::new(
                StatusCode::CONFLICT,
                "not_yet_included",
                format!(
                    "the event was included at height {included_at}, after height {height}; ask for a proof at height {included_at} or later"
                ),
            ),
            QueryError::BadRange { old, new, size } => Self::bad_request(
                "bad_range",
                format!(
                    "cannot prove consistency from size {old} to size {new}: need old <= new <= {size} (the current log size)"
                ),
            ),
            QueryError::Proof(reason) => {
                tracing::error!(%reason, "cannot build a Merkle proof");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "proof_error",
                    "the node could not build the proof from its stored log; the node operator can find the cause in the node's log",
                )
            }
        }
    }

    /// A submission that stopped at batch position `index` with `error`, after accepting
    /// `accepted`. `max_clock_skew_ms` (from the genesis) dates the retry of an early event.
    pub(crate) fn submit(
        index: usize,
        accepted: Vec<EventHashId>,
        error: &SubmitError,
        max_clock_skew_ms: u64,
    ) -> Self {
        let code = error.code();
        let status = submit_status(code);
        let message = match error {
            SubmitError::Storage(e) => {
                tracing::error!(error = %e, "storage error while admitting events");
                "the node could not store the event, so it was not accepted; retry later (the node operator can find the cause in the node's log)".to_owned()
            }
            other => other.to_string(),
        };
        let mut api = Self::new(status, code, message);
        let expected_sequence = match error {
            SubmitError::Rule(RuleViolation::SequenceGap { expected, .. }) => Some(*expected),
            SubmitError::Rule(RuleViolation::SequenceReplayed { last, .. }) => {
                Some(last.saturating_add(1))
            }
            _ => None,
        };
        api.extra.batch = Some(BatchFailure {
            index,
            accepted,
            expected_sequence,
        });
        api.extra.retry_after = match error {
            SubmitError::Rule(RuleViolation::FromTheFuture {
                event_time_ms,
                block_time_ms,
            }) => Some(seconds_until_acceptable(
                *event_time_ms,
                *block_time_ms,
                max_clock_skew_ms,
            )),
            _ if SUBMIT_ERRORS
                .iter()
                .any(|doc| doc.code == code && doc.retry_after) =>
            {
                Some(RETRY_AFTER_FULL_SECS)
            }
            _ => None,
        };
        api
    }
}

/// Whole seconds (rounded up, at least 1) until `event_time_ms - skew` is no longer in the future
/// of a block made at `now_ms`.
fn seconds_until_acceptable(event_time_ms: i64, now_ms: u64, max_clock_skew_ms: u64) -> u64 {
    let wait_ms = i128::from(event_time_ms) - i128::from(now_ms) - i128::from(max_clock_skew_ms);
    let seconds = (wait_ms + 999).div_euclid(1000).max(1);
    u64::try_from(seconds).unwrap_or(u64::MAX)
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: ErrorDetail<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    accepted: Option<&'a [EventHashId]>,
}

#[derive(Serialize)]
struct ErrorDetail<'a> {
    code: &'a str,
    message: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    index: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_sequence: Option<u64>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: ErrorDetail {
                code: self.code,
                message: &self.message,
                index: self.extra.batch.as_ref().map(|b| b.index),
                expected_sequence: self.extra.batch.as_ref().and_then(|b| b.expected_sequence),
            },
            accepted: self.extra.batch.as_ref().map(|b| b.accepted.as_slice()),
        };
        // Serialising strings and numbers cannot fail; fall back to a fixed body all the same.
        let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| {
            br#"{"error":{"code":"internal_error","message":"cannot encode the error"}}"#.to_vec()
        });
        let mut response = (
            self.status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            bytes,
        )
            .into_response();
        if let Some(seconds) = self.extra.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        if let Some(allow) = self.extra.allow {
            response.headers_mut().insert(header::ALLOW, allow);
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use provenance_protocol::crypto::SigningKey;
    use provenance_protocol::epcis::{Action, EventType};
    use provenance_protocol::rules::EpcStatus;

    use super::*;
    use crate::mempool::AdmissionError;

    #[test]
    fn table_codes_are_unique_snake_case_and_statuses_are_errors() {
        let mut seen = BTreeSet::new();
        for doc in SUBMIT_ERRORS {
            assert!(seen.insert(doc.code), "duplicate {}", doc.code);
            assert!(
                doc.code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{}",
                doc.code
            );
            let status = StatusCode::from_u16(doc.status).unwrap();
            assert!(status.is_client_error() || status.is_server_error());
        }
    }

    /// Every rule violation the protocol has today maps to a documented code.
    #[test]
    fn every_rule_violation_code_is_in_the_table() {
        let key = SigningKey::from_seed([1; 32]).public_key();
        let id = EventHashId::from_bytes([0; 32]);
        let s = String::new;
        let violations = vec![
            RuleViolation::UnknownSigner { signer: key },
            RuleViolation::SignerRevoked {
                participant: s(),
                revoked_at: 1,
            },
            RuleViolation::SequenceReplayed {
                participant: s(),
                last: 1,
                found: 1,
            },
            RuleViolation::SequenceGap {
                participant: s(),
                expected: 1,
                found: 3,
            },
            RuleViolation::DuplicateEvent { id },
            RuleViolation::FromTheFuture {
                event_time_ms: 0,
                block_time_ms: 0,
            },
            RuleViolation::RoleRequired {
                participant: s(),
                role: provenance_protocol::genesis::Role::Retailer,
                action: "sell",
            },
            RuleViolation::NotPrefixOwner {
                participant: s(),
                epc: s(),
                owner: None,
            },
            RuleViolation::NotCommissionable { epc: s() },
            RuleViolation::BadIdentifier {
                epc: s(),
                reason: s(),
            },
            RuleViolation::AlreadyCommissioned { epc: s() },
            RuleViolation::NotCommissioned { epc: s() },
            RuleViolation::NoLongerActive {
                epc: s(),
                status: EpcStatus::Sold,
            },
            RuleViolation::NotCustodian {
                participant: s(),
                epc: s(),
                custodian: None,
            },
            RuleViolation::InTransit { epc: s(), to: s() },
            RuleViolation::NotInTransit { epc: s() },
            RuleViolation::NotAddressee {
                participant: s(),
                epc: s(),
                to: s(),
            },
            RuleViolation::ShipmentWithoutDestination,
            RuleViolation::InsideParent {
                epc: s(),
                parent: s(),
            },
            RuleViolation::AlreadyAggregated {
                child: s(),
                parent: s(),
            },
            RuleViolation::NotAChild {
                child: s(),
                parent: s(),
            },
            RuleViolation::AggregationCycle {
                child: s(),
                parent: s(),
            },
            RuleViolation::ContainerNotEmpty { epc: s(), count: 1 },
            RuleViolation::MissingParent {
                event_type: EventType::AggregationEvent,
                action: Some(Action::Add),
            },
            RuleViolation::AggregationTooDeep { epc: s() },
            RuleViolation::RecallNotAllowed {
                participant: s(),
                epc: s(),
            },
            RuleViolation::ErrorTargetMissing { id },
            RuleViolation::ErrorByOtherSigner { id },
            RuleViolation::ErrorAlreadyDeclared { id },
        ];
        for violation in violations {
            let code = violation.code();
            assert!(
                SUBMIT_ERRORS.iter().any(|doc| doc.code == code),
                "{code} is missing from SUBMIT_ERRORS"
            );
        }
    }

    #[test]
    fn statuses_follow_the_documented_mapping() {
        let key = SigningKey::from_seed([1; 32]).public_key();
        let cases: Vec<(SubmitError, u16)> = vec![
            (AdmissionError::Full { limit: 2 }.into(), 503),
            (
                AdmissionError::SignerFull {
                    signer: key,
                    limit: 2,
                }
                .into(),
                429,
            ),
            (
                RuleViolation::DuplicateEvent {
                    id: EventHashId::from_bytes([0; 32]),
                }
                .into(),
                409,
            ),
            (RuleViolation::UnknownSigner { signer: key }.into(), 403),
            (SubmitError::BatchTooLarge { count: 9 }, 413),
            (
                provenance_protocol::record::RecordError::EventTooLarge { len: 2, limit: 1 }.into(),
                413,
            ),
            (
                provenance_protocol::record::RecordError::WrongChain {
                    expected: "a".into(),
                    found: "b".into(),
                }
                .into(),
                422,
            ),
            (SubmitError::ShuttingDown, 503),
            (
                StoreError::Corrupt {
                    what: "/secret/path".into(),
                }
                .into(),
                500,
            ),
        ];
        for (error, status) in cases {
            let api = ApiError::submit(0, vec![], &error, 0);
            assert_eq!(api.status().as_u16(), status, "{}", error.code());
            assert_eq!(api.code(), error.code());
            assert!(!api.message.contains("/secret/path"), "{}", api.message);
        }
    }

    #[test]
    fn full_mempool_and_quota_carry_retry_after_one_second() {
        let error: SubmitError = AdmissionError::Full { limit: 2 }.into();
        let response = ApiError::submit(2, vec![], &error, 0).into_response();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(response.headers()[header::RETRY_AFTER], "1");
        let error: SubmitError = RuleViolation::NotInTransit { epc: "x".into() }.into();
        let response = ApiError::submit(0, vec![], &error, 0).into_response();
        assert!(response.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn early_events_retry_when_they_fall_inside_the_skew() {
        // 10.5 s beyond now + skew: wait 11 s.
        assert_eq!(seconds_until_acceptable(70_500, 0, 60_000), 11);
        // Exactly at the boundary or already acceptable: still at least 1 s.
        assert_eq!(seconds_until_acceptable(60_000, 0, 60_000), 1);
        assert_eq!(seconds_until_acceptable(i64::MIN, u64::MAX, u64::MAX), 1);
        assert_eq!(
            seconds_until_acceptable(i64::MAX, 0, 0),
            (i64::MAX as u64).div_ceil(1000)
        );
        let error: SubmitError = RuleViolation::FromTheFuture {
            event_time_ms: 100_000,
            block_time_ms: 10_000,
        }
        .into();
        let response = ApiError::submit(0, vec![], &error, 30_000).into_response();
        assert_eq!(response.status().as_u16(), 425);
        assert_eq!(response.headers()[header::RETRY_AFTER], "60");
    }

    #[test]
    fn unknown_codes_default_to_422() {
        assert_eq!(
            submit_status("some_future_rule"),
            StatusCode::UNPROCESSABLE_ENTITY
        );
    }
}
