//! Merkle proofs: inclusion of an event under a finalised header, and consistency between two
//! log sizes. A proof is served with the header and certificate it is checked against, because a
//! root alone does not authenticate its tree size (see `provenance_protocol::merkle`).

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::ledger::{BlockHeader, FinalityCertificate};
use provenance_protocol::merkle::{InclusionProof, MerkleHash};
use serde::{Deserialize, Serialize};

use super::error::ApiError;
use super::read::{event_not_found, json, parse_event_hash_id, path_error, query_error};
use super::{AppState, blocking};

/// Query of an inclusion proof: the header height to prove against (default: the head).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InclusionQuery {
    height: Option<u64>,
}

#[derive(Debug, Serialize)]
struct InclusionView {
    event_hash_id: EventHashId,
    leaf_index: u64,
    /// Height of the block that included the event; the leaf commits to it.
    height: u64,
    tree_size: u64,
    /// RFC 6962 leaf hash of the event's log entry (height and canonical CBOR record).
    leaf_hash: MerkleHash,
    proof: InclusionProof,
    header: BlockHeader,
    certificate: FinalityCertificate,
}

/// `GET /v1/proofs/inclusion/{event_hash_id}?height=H`.
pub(super) async fn inclusion(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Path(raw) = path.map_err(|r| path_error("bad_event_hash_id", r))?;
    let Query(query) = query.map_err(query_error)?;
    let id = parse_event_hash_id(&raw)?;
    let service = state.service.clone();
    let view = blocking(move || {
        let Some((stored, _)) = service.event(&id).map_err(|e| ApiError::storage(&e))? else {
            return Err(event_not_found(&id));
        };
        let Some((proof, block)) = service
            .inclusion_proof(&id, query.height)
            .map_err(ApiError::query)?
        else {
            return Err(event_not_found(&id));
        };
        Ok(InclusionView {
            event_hash_id: id,
            leaf_index: proof.leaf_index,
            height: stored.height,
            tree_size: proof.tree_size,
            leaf_hash: stored.record.leaf_hash(stored.height),
            proof,
            header: block.block.header,
            certificate: block.certificate,
        })
    })
    .await?;
    json(StatusCode::OK, &view)
}

/// Query of a consistency proof.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsistencyQuery {
    old: u64,
    new: u64,
}

/// `GET /v1/proofs/consistency?old=A&new=B`.
pub(super) async fn consistency(
    State(state): State<AppState>,
    query: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(ConsistencyQuery { old, new }) = query.map_err(query_error)?;
    let service = state.service.clone();
    let proof =
        blocking(move || service.consistency_proof(old, new).map_err(ApiError::query)).await?;
    json(StatusCode::OK, &proof)
}
