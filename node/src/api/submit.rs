//! `POST /v1/events` and `POST /v1/documents`: hand signed events to the service and report what
//! it accepted; `POST /v1/governance`: hand it an approved governance transaction. The answer is `202` only once every accepted event is durable (the service waits
//! for the group-commit flush before returning).

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::record::SignedEvent;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::body;
use super::error::ApiError;
use super::read::json;

/// The body of `POST /v1/documents`: the events of one EPCIS document, each signed by the client.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DocumentSubmission {
    events: Vec<SignedEvent>,
}

#[derive(Debug, Serialize)]
struct Accepted {
    accepted: Vec<EventHashId>,
}

/// `POST /v1/events`: one `SignedEvent` or an array of them.
pub(super) async fn events(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let bytes = body::read_json(request, &state.limits).await?;
    let records = body::parse_events(&bytes)?;
    submit(&state, records).await
}

/// `POST /v1/documents`: `{"events": [SignedEvent, ...]}`, the events of one EPCIS document.
pub(super) async fn documents(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let bytes = body::read_json(request, &state.limits).await?;
    let document: DocumentSubmission = body::parse(
        &bytes,
        "a document submission {\"events\": [SignedEvent, ...]}",
    )?;
    submit(&state, document.events).await
}

#[derive(Debug, Serialize)]
struct GovernanceAccepted {
    /// The transaction's id (hex): the hash of its proposal.
    id: String,
}

/// `POST /v1/governance`: a governance transaction (proposal + approvals from more than two
/// thirds of the voting power). `202` once it passes the governance rule against the committed
/// state; the next proposer includes it and it takes effect `validator_change_delay` heights
/// later. `422` names what is wrong with it.
pub(super) async fn governance(
    State(state): State<AppState>,
    request: Request,
) -> Result<Response, ApiError> {
    let bytes = body::read_json(request, &state.limits).await?;
    let tx: provenance_protocol::governance::GovernanceTx = body::parse(
        &bytes,
        "a governance transaction {\"proposal\": {...}, \"approvals\": [...]}",
    )?;
    match state.service.submit_governance(tx) {
        Ok(id) => json(
            StatusCode::ACCEPTED,
            &GovernanceAccepted {
                id: hex::encode(id),
            },
        ),
        Err(error) => Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            error.code(),
            error.to_string(),
        )),
    }
}

async fn submit(state: &AppState, records: Vec<SignedEvent>) -> Result<Response, ApiError> {
    let outcome = state.service.submit(records).await;
    match outcome.failure {
        None => json(
            StatusCode::ACCEPTED,
            &Accepted {
                accepted: outcome.accepted,
            },
        ),
        Some((index, error)) => Err(ApiError::submit(
            index,
            outcome.accepted,
            &error,
            state.service.genesis().params.max_clock_skew_ms,
        )),
    }
}
