//! The OpenAPI 3.1 description of the API, served at `GET /v1/openapi.json`.
//!
//! Hand-written (no generator crate), but not free to drift: a test checks that its paths and
//! methods are exactly the router's [`super::ROUTES`], that every `$ref` resolves and that every
//! path template parameter is declared; and the submission error responses are generated from
//! [`SUBMIT_ERRORS`], the same table the server maps statuses with.

use std::collections::BTreeMap;

use provenance_protocol::record::{MAX_CHAIN_ID_BYTES, MAX_EVENT_JSON_BYTES};
use serde_json::{Map, Value, json};

use super::error::SUBMIT_ERRORS;
use super::read::{DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT, METRICS_CONTENT_TYPE};
use crate::service::MAX_BATCH_EVENTS;

/// The whole document.
pub fn document() -> Value {
    json!({
        "openapi": "3.1.0",
        "info": info(),
        "tags": [
            {"name": "submit", "description": "Submit signed EPCIS events."},
            {"name": "governance", "description": "Registry and validator-set changes approved by the validators."},
            {"name": "ledger", "description": "Read events, product histories and blocks."},
            {"name": "products", "description": "Provenance bundles (a product's signed story with proofs, verifiable offline) and the GS1 Digital Link resolver with the product page."},
            {"name": "proofs", "description": "Merkle inclusion and consistency proofs."},
            {"name": "node", "description": "Node status, health and this document."}
        ],
        "paths": paths(),
        "components": {
            "schemas": schemas(),
            "parameters": parameters(),
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before retrying.",
                    "schema": {"type": "integer", "minimum": 1}
                }
            }
        }
    })
}

fn info() -> Value {
    json!({
        "title": "Provenance node API",
        "version": env!("CARGO_PKG_VERSION"),
        "license": {"name": "Apache-2.0 OR MIT", "identifier": "Apache-2.0 OR MIT"},
        "description": format!("{INFO_DESCRIPTION}`GET /metrics` (`{METRICS_CONTENT_TYPE}`).")
    })
}

/// Overview shown at the top of the document.
const INFO_DESCRIPTION: &str = concat!(
    "HTTP API of a Provenance node, a GS1 EPCIS 2.0 supply-chain ledger.\n\n",
    "Events are signed by the participant's client and submitted as `SignedEvent` JSON; ",
    "a `202` means every listed event is durably stored and will be in a finalised block. ",
    "A batch is processed in order and stops at the first failure; the error names the ",
    "failing event's `index` and lists the events `accepted` before it. Resubmitting an ",
    "accepted event is idempotent (same answer, stored once).\n\n",
    "Every error has the shape `{\"error\": {\"code\", \"message\"}}` where `code` is ",
    "stable snake_case. Any route can also answer `405 method_not_allowed` (with `Allow`), ",
    "`408 request_timeout` and `500 internal_error`; unknown paths answer `404 not_found`.\n\n",
    "Prometheus metrics are served on a separate listener at "
);

// ---------------------------------------------------------------------------------------------
// Helpers

fn schema_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/schemas/{name}")})
}

fn param_ref(name: &str) -> Value {
    json!({"$ref": format!("#/components/parameters/{name}")})
}

fn json_content(schema: Value) -> Value {
    json!({"application/json": {"schema": schema}})
}

fn ok(description: &str, schema: Value) -> Value {
    json!({"description": description, "content": json_content(schema)})
}

/// An error response whose `error.code` is one of `codes`.
fn error_response(description: &str, codes: &[&str]) -> Value {
    let list = codes
        .iter()
        .map(|c| format!("`{c}`"))
        .collect::<Vec<_>>()
        .join(", ");
    json!({
        "description": format!("{description} Codes: {list}."),
        "content": json_content(json!({
            "allOf": [
                schema_ref("Error"),
                {"properties": {"error": {"properties": {"code": {"enum": codes}}}}}
            ]
        }))
    })
}

fn with_retry_after(mut response: Value) -> Value {
    response["headers"] = json!({"Retry-After": {"$ref": "#/components/headers/Retry-After"}});
    response
}

/// Responses every route can give: method not allowed, timeout, internal error.
fn common_errors(responses: &mut Map<String, Value>) {
    responses.insert(
        "405".into(),
        error_response(
            "The method is not allowed on this path; `Allow` lists the allowed ones.",
            &["method_not_allowed"],
        ),
    );
    responses.insert(
        "408".into(),
        error_response(
            "The request took longer than the node's request timeout.",
            &["request_timeout"],
        ),
    );
    responses
        .entry("500")
        .or_insert_with(|| error_response("The node failed internally.", &["internal_error"]));
}

fn operation(
    tag: &str,
    id: &str,
    summary: &str,
    description: &str,
    parameters: Vec<Value>,
    responses: Vec<(&str, Value)>,
) -> Value {
    let mut map: Map<String, Value> = responses
        .into_iter()
        .map(|(status, response)| (status.to_owned(), response))
        .collect();
    common_errors(&mut map);
    let mut op = json!({
        "tags": [tag],
        "operationId": id,
        "summary": summary,
        "description": description,
        "responses": map
    });
    if !parameters.is_empty() {
        op["parameters"] = Value::Array(parameters);
    }
    op
}

// ---------------------------------------------------------------------------------------------
// Paths

fn paths() -> Value {
    json!({
        "/v1/events": {"post": submit_events()},
        "/v1/documents": {"post": submit_documents()},
        "/v1/governance": {"post": submit_governance()},
        "/v1/events/{event_hash_id}": {"get": get_event()},
        "/v1/products/{id}/history": {"get": get_history()},
        "/v1/products/{id}/bundle": {"get": get_bundle()},
        "/01/{gtin}/21/{serial}": {"get": resolve_operation(
            "resolveItem", "A serialised item (GTIN + serial)", &["Gtin", "Serial"])},
        "/01/{gtin}/10/{lot}": {"get": resolve_operation(
            "resolveLot", "A lot of a product (GTIN + batch/lot)", &["Gtin", "Lot"])},
        "/00/{sscc}": {"get": resolve_operation(
            "resolveLogisticUnit", "A logistic unit (SSCC)", &["Sscc"])},
        "/v1/blocks/{height}": {"get": get_block()},
        "/v1/blocks/by-hash/{hash}": {"get": get_block_by_hash()},
        "/v1/head": {"get": get_head()},
        "/v1/proofs/inclusion/{event_hash_id}": {"get": get_inclusion()},
        "/v1/proofs/consistency": {"get": get_consistency()},
        "/v1/participants": {"get": get_participants()},
        "/v1/status": {"get": get_status()},
        "/v1/openapi.json": {"get": get_openapi()},
        "/healthz": {"get": get_healthz()}
    })
}

/// Submission responses: `202`, then one entry per status of [`SUBMIT_ERRORS`].
fn submit_responses() -> Vec<(String, Value)> {
    let mut by_status: BTreeMap<u16, Vec<&str>> = BTreeMap::new();
    for doc in SUBMIT_ERRORS {
        by_status.entry(doc.status).or_default().push(doc.code);
    }
    let mut responses = vec![(
        "202".to_owned(),
        ok(
            "Every event is accepted and durably stored; it will be in a finalised block.",
            schema_ref("SubmitAccepted"),
        ),
    )];
    for (status, codes) in by_status {
        let meanings: Vec<String> = SUBMIT_ERRORS
            .iter()
            .filter(|doc| doc.status == status)
            .map(|doc| format!("`{}`: {}", doc.code, doc.meaning))
            .collect();
        let description = format!(
            "The batch stopped at event `index`; events in `accepted` were stored. {}.",
            meanings.join("; ")
        );
        let mut response = error_response(&description, &codes);
        if SUBMIT_ERRORS
            .iter()
            .any(|doc| doc.status == status && doc.retry_after)
        {
            response = with_retry_after(response);
        }
        responses.push((status.to_string(), response));
    }
    responses
}

fn submit_operation(id: &str, summary: &str, description: &str, body: Value) -> Value {
    let responses = submit_responses();
    let mut op = operation(
        "submit",
        id,
        summary,
        description,
        vec![],
        responses
            .iter()
            .map(|(s, r)| (s.as_str(), r.clone()))
            .collect(),
    );
    op["requestBody"] = json!({"required": true, "content": json_content(body)});
    op
}

fn submit_events() -> Value {
    submit_operation(
        "submitEvents",
        "Submit one signed event or a batch",
        "The body is one `SignedEvent` or an array of them, applied in order.",
        json!({
            "oneOf": [
                schema_ref("SignedEvent"),
                {"type": "array", "items": schema_ref("SignedEvent"), "minItems": 1, "maxItems": MAX_BATCH_EVENTS}
            ]
        }),
    )
}

fn submit_documents() -> Value {
    submit_operation(
        "submitDocument",
        "Submit the signed events of one EPCIS document",
        "The body holds the events of one EPCIS 2.0 document, each signed by the client \
         (`provenance` CLI), in document order. Answers exactly like `POST /v1/events`.",
        schema_ref("DocumentSubmission"),
    )
}

fn submit_governance() -> Value {
    operation(
        "governance",
        "submitGovernance",
        "Submit an approved governance transaction",
        "A registry or validator-set change (add or remove a participant, set a validator's \
         power, rotate or revoke a key) with approvals from more than two thirds of the current \
         voting power. Checked against the committed state, gossiped to the validators and \
         included by the next proposer; it takes effect `validator_change_delay` heights after \
         the block that includes it.",
        vec![],
        vec![
            (
                "202",
                ok(
                    "Accepted: it will be included in a block.",
                    json!({"type": "object", "required": ["id"], "properties": {"id": schema_ref("Hash")}}),
                ),
            ),
            (
                "400",
                error_response(
                    "The body is not a governance transaction.",
                    &["malformed_json"],
                ),
            ),
            (
                "422",
                error_response(
                    "The governance rule refuses it (too little approving power, a used nonce, expired, an invalid change).",
                    &[
                        "governance_insufficient_power",
                        "governance_nonce_used",
                        "governance_expired",
                    ],
                ),
            ),
        ],
    )
}

fn get_event() -> Value {
    operation(
        "ledger",
        "getEvent",
        "An event by its Event Hash ID",
        "The event as signed, where it sits in the ledger, and its error declaration if the \
         signer recorded one.",
        vec![param_ref("EventHashIdPath")],
        vec![
            ("200", ok("The event.", schema_ref("EventRecord"))),
            (
                "400",
                error_response("The path is not an Event Hash ID.", &["bad_event_hash_id"]),
            ),
            (
                "404",
                error_response("No such event in the ledger (yet).", &["event_not_found"]),
            ),
            (
                "500",
                error_response("Storage failed.", &["storage_error", "internal_error"]),
            ),
        ],
    )
}

fn get_history() -> Value {
    operation(
        "ledger",
        "getProductHistory",
        "Events naming a product, in ledger order",
        "For one object (serialised identifier), every event naming it. For a GTIN with a lot \
         (LGTIN or Digital Link with AI 10) the lot's events; for a bare GTIN, every event \
         naming any instance or class of the product. An EPC URN and a Digital Link of the same \
         object give the same events.",
        vec![param_ref("ProductId"), param_ref("Limit")],
        vec![
            ("200", ok("The history.", schema_ref("History"))),
            (
                "400",
                error_response(
                    "The identifier or the query is malformed.",
                    &["bad_identifier", "bad_query"],
                ),
            ),
            (
                "500",
                error_response("Storage failed.", &["storage_error", "internal_error"]),
            ),
        ],
    )
}

/// Responses of a bundle: JSON (default) or CBOR.
fn bundle_ok() -> Value {
    json!({
        "description": "The bundle. `Link` names the other representations and the canonical identifier.",
        "content": {
            "application/json": {"schema": schema_ref("ProvenanceBundle")},
            "application/cbor": {"schema": {
                "type": "string",
                "contentMediaType": "application/cbor",
                "description": "The same bundle as one canonical CBOR map (protocol SPEC §13)."
            }}
        }
    })
}

/// Product errors: 400, 404, 422 and 500.
fn product_errors(html: bool) -> Vec<(&'static str, Value)> {
    let page = |mut response: Value| {
        if html {
            response["content"]["text/html"] = json!({"schema": {"type": "string"},
                "description": "For a browser: the same error as a page."});
        }
        response
    };
    vec![
        (
            "400",
            page(error_response(
                "The identifier is malformed, or names a whole product class (a GTIN without serial or lot), or the query is malformed.",
                &["bad_identifier", "class_without_lot", "bad_query"],
            )),
        ),
        (
            "404",
            page(error_response(
                "No finalised event names the product, or no block was finalised yet.",
                &["not_found", "no_blocks_yet"],
            )),
        ),
        (
            "422",
            page(error_response(
                "The product's story has more events than one bundle carries (10,000).",
                &["too_many_events"],
            )),
        ),
        (
            "500",
            page(error_response(
                "Storage failed.",
                &["storage_error", "internal_error"],
            )),
        ),
    ]
}

fn get_bundle() -> Value {
    let mut responses = vec![("200", bundle_ok())];
    responses.extend(product_errors(false));
    operation(
        "products",
        "getProductBundle",
        "A product's provenance bundle",
        "Everything needed to verify the product's story offline, trusting only the genesis: its \
         signed events and its ancestors' (the containers it travelled in while inside them, the \
         transformation inputs back to raw materials) or, with `scope=downstream`, its \
         descendants', each with an RFC 6962 inclusion proof against one finalised header, that \
         header with its certificate, the validator-set hand-offs and governance since genesis, \
         and the genesis. JSON by default; `Accept: application/cbor` gives the compact canonical \
         CBOR form. Format: protocol SPEC §13.",
        vec![param_ref("ProductId"), param_ref("Scope")],
        responses,
    )
}

fn resolve_operation(id: &str, summary: &str, path_parameters: &[&str]) -> Value {
    let mut parameters: Vec<Value> = path_parameters.iter().map(|p| param_ref(p)).collect();
    parameters.push(param_ref("LinkType"));
    let mut responses = vec![(
        "200",
        json!({
            "description": "The product in the representation asked for (`linkType`, then `Accept`; a browser, `*/*` or no `Accept` gets the page).",
            "content": {
                "text/html": {"schema": {"type": "string"},
                    "description": "The product page: the node's verdict on its own bundle, the story as a timeline, certificates, sensor readings."},
                "application/json": {"schema": schema_ref("ProvenanceBundle")},
                "application/cbor": {"schema": {"type": "string", "contentMediaType": "application/cbor"}},
                "application/linkset+json": {"schema": schema_ref("Linkset")}
            }
        }),
    )];
    responses.extend(product_errors(true));
    operation(
        "products",
        id,
        summary,
        "GS1 Digital Link resolver. The same paths are served under any prefix path \
         (`/any/prefix/01/{gtin}/21/{serial}`), and so is every other Digital Link key \
         (e.g. `/01/{gtin}/10/{lot}/21/{serial}`); paths under `/v1/` are never resolved. The \
         identity is the canonical `https://id.gs1.org/...` link rebuilt from the path; the \
         upstream bundle is served. `405` answers methods other than GET and HEAD.",
        parameters,
        responses,
    )
}

fn get_block() -> Value {
    operation(
        "ledger",
        "getBlock",
        "A finalised block by height",
        "Header, finality certificate and events of the block.",
        vec![param_ref("Height")],
        vec![
            ("200", ok("The block.", schema_ref("Block"))),
            (
                "400",
                error_response("The height is not a number.", &["bad_height"]),
            ),
            (
                "404",
                error_response("No finalised block there.", &["block_not_found"]),
            ),
            (
                "500",
                error_response("Storage failed.", &["storage_error", "internal_error"]),
            ),
        ],
    )
}

fn get_block_by_hash() -> Value {
    operation(
        "ledger",
        "getBlockByHash",
        "A finalised block by header hash",
        "Header, finality certificate and events of the block whose header hash is `hash`.",
        vec![param_ref("BlockHash")],
        vec![
            ("200", ok("The block.", schema_ref("Block"))),
            (
                "400",
                error_response("The hash is not 64 hex digits.", &["bad_block_hash"]),
            ),
            (
                "404",
                error_response("No finalised block with that hash.", &["block_not_found"]),
            ),
            (
                "500",
                error_response("Storage failed.", &["storage_error", "internal_error"]),
            ),
        ],
    )
}

fn get_head() -> Value {
    operation(
        "ledger",
        "getHead",
        "The newest finalised header",
        "The signed tree head: header (with log root and size) and its finality certificate.",
        vec![],
        vec![
            ("200", ok("The head.", schema_ref("Head"))),
            (
                "404",
                error_response("No block was finalised yet.", &["no_blocks_yet"]),
            ),
            (
                "500",
                error_response("Storage failed.", &["storage_error", "internal_error"]),
            ),
        ],
    )
}

fn get_inclusion() -> Value {
    operation(
        "proofs",
        "getInclusionProof",
        "Inclusion proof of an event",
        "RFC 9162 audit path of the event's leaf to the log root of the header at `height` \
         (default: the head), with that header and its certificate. Verify the certificate, \
         then the proof against `header.log_root` and `header.log_size`.",
        vec![param_ref("EventHashIdPath"), param_ref("ProofHeight")],
        vec![
            (
                "200",
                ok("The proof.", schema_ref("InclusionProofResponse")),
            ),
            (
                "400",
                error_response(
                    "The ID or the query is malformed.",
                    &["bad_event_hash_id", "bad_query"],
                ),
            ),
            (
                "404",
                error_response(
                    "No such event, or no block at that height.",
                    &["event_not_found", "block_not_found"],
                ),
            ),
            (
                "409",
                error_response(
                    "The event was included after the requested height.",
                    &["not_yet_included"],
                ),
            ),
            (
                "500",
                error_response(
                    "Storage or proof construction failed.",
                    &["storage_error", "proof_error", "internal_error"],
                ),
            ),
        ],
    )
}

fn get_consistency() -> Value {
    operation(
        "proofs",
        "getConsistencyProof",
        "Consistency proof between two log sizes",
        "RFC 9162 proof that the log of size `old` is a prefix of the log of size `new`. Check \
         it against the `log_root`s of the finalised headers with those `log_size`s.",
        vec![param_ref("OldSize"), param_ref("NewSize")],
        vec![
            ("200", ok("The proof.", schema_ref("ConsistencyProof"))),
            (
                "400",
                error_response(
                    "The sizes are missing, malformed or not `old <= new <= log size`.",
                    &["bad_range", "bad_query"],
                ),
            ),
            (
                "500",
                error_response(
                    "Storage or proof construction failed.",
                    &["storage_error", "proof_error", "internal_error"],
                ),
            ),
        ],
    )
}

fn get_participants() -> Value {
    operation(
        "ledger",
        "listParticipants",
        "Registered participants",
        "Every participant with its roles, signing key and GS1 company prefixes.",
        vec![],
        vec![
            (
                "200",
                ok(
                    "The participants.",
                    json!({"type": "array", "items": schema_ref("Participant")}),
                ),
            ),
            (
                "500",
                error_response("Storage failed.", &["storage_error", "internal_error"]),
            ),
        ],
    )
}

fn get_status() -> Value {
    operation(
        "node",
        "getStatus",
        "Node status",
        "Chain, height, log size and mempool size.",
        vec![],
        vec![
            ("200", ok("The status.", schema_ref("Status"))),
            (
                "500",
                error_response("Storage failed.", &["storage_error", "internal_error"]),
            ),
        ],
    )
}

fn get_openapi() -> Value {
    operation(
        "node",
        "getOpenApi",
        "This document",
        "The OpenAPI 3.1 description of the API.",
        vec![],
        vec![(
            "200",
            ok("The OpenAPI document.", json!({"type": "object"})),
        )],
    )
}

fn get_healthz() -> Value {
    operation(
        "node",
        "health",
        "Health check",
        "`200 ok` (text) when the node's storage answers, `503` otherwise.",
        vec![],
        vec![
            (
                "200",
                json!({
                    "description": "Healthy.",
                    "content": {"text/plain": {"schema": {"type": "string", "const": "ok"}}}
                }),
            ),
            (
                "503",
                error_response("The storage does not answer.", &["store_unavailable"]),
            ),
        ],
    )
}

// ---------------------------------------------------------------------------------------------
// Parameters

fn parameters() -> Value {
    json!({
        "EventHashIdPath": {
            "name": "event_hash_id",
            "in": "path",
            "required": true,
            "description": "CBV 2.0 Event Hash ID, `ni:///sha-256;<64 hex>?ver=CBV2.0` URL-encoded (`ni%3A%2F%2F%2Fsha-256%3B...%3Fver%3DCBV2.0`), or the bare 64-hex-digit digest.",
            "schema": {"type": "string"}
        },
        "ProductId": {
            "name": "id",
            "in": "path",
            "required": true,
            "description": "EPC URN (`urn:epc:id:sgtin:0614141.107346.2017`, `urn:epc:class:lgtin:...`) or GS1 Digital Link on any domain, URL-encoded (`https%3A%2F%2Fid.gs1.org%2F01%2F...`).",
            "schema": {"type": "string"}
        },
        "Limit": {
            "name": "limit",
            "in": "query",
            "required": false,
            "description": "Most events to return.",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_HISTORY_LIMIT, "default": DEFAULT_HISTORY_LIMIT}
        },
        "Scope": {
            "name": "scope",
            "in": "query",
            "required": false,
            "description": "`upstream`: the product's story (containers while inside, transformation inputs back to raw materials). `downstream`: what was made from or shipped with it afterwards (for a recall).",
            "schema": {"type": "string", "enum": ["upstream", "downstream"], "default": "upstream"}
        },
        "LinkType": {
            "name": "linkType",
            "in": "query",
            "required": false,
            "description": "GS1 link type; wins over `Accept`: `all` or `linkset` (the linkset), `gs1:pip` (the page), `gs1:traceability` or `gs1:epcis` (the bundle, JSON).",
            "schema": {"type": "string"}
        },
        "Gtin": {
            "name": "gtin",
            "in": "path",
            "required": true,
            "description": "GTIN-8, -12, -13 or -14 (with its check digit).",
            "schema": {"type": "string", "pattern": "^[0-9]{8,14}$"}
        },
        "Serial": {
            "name": "serial",
            "in": "path",
            "required": true,
            "description": "Serial number (AI 21), percent-encoded.",
            "schema": {"type": "string"}
        },
        "Lot": {
            "name": "lot",
            "in": "path",
            "required": true,
            "description": "Batch or lot number (AI 10), percent-encoded.",
            "schema": {"type": "string"}
        },
        "Sscc": {
            "name": "sscc",
            "in": "path",
            "required": true,
            "description": "Serial Shipping Container Code, 18 digits.",
            "schema": {"type": "string", "pattern": "^[0-9]{18}$"}
        },
        "Height": {
            "name": "height",
            "in": "path",
            "required": true,
            "description": "Block height; the first block is 1.",
            "schema": {"type": "integer", "minimum": 1}
        },
        "BlockHash": {
            "name": "hash",
            "in": "path",
            "required": true,
            "description": "Header hash, 64 hex digits.",
            "schema": schema_ref("Hash")
        },
        "ProofHeight": {
            "name": "height",
            "in": "query",
            "required": false,
            "description": "Height of the header to prove against; default the head.",
            "schema": {"type": "integer", "minimum": 1}
        },
        "OldSize": {
            "name": "old",
            "in": "query",
            "required": true,
            "description": "Size of the earlier log.",
            "schema": {"type": "integer", "minimum": 0}
        },
        "NewSize": {
            "name": "new",
            "in": "query",
            "required": true,
            "description": "Size of the later log (at most the current log size).",
            "schema": {"type": "integer", "minimum": 0}
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Schemas

fn schemas() -> Value {
    let mut map = Map::new();
    for (name, schema) in [
        ("Hash", hex_schema(64, "32-byte hash, lowercase hex.")),
        (
            "PublicKey",
            hex_schema(64, "Ed25519 public key, lowercase hex."),
        ),
        (
            "Signature",
            hex_schema(128, "Ed25519 signature, lowercase hex."),
        ),
        ("EventHashId", event_hash_id_schema()),
        ("SignedEvent", signed_event_schema()),
        ("DocumentSubmission", document_submission_schema()),
        ("SubmitAccepted", submit_accepted_schema()),
        ("Error", error_schema()),
        ("EventRecord", event_record_schema()),
        ("HistoryEvent", history_event_schema()),
        ("History", history_schema()),
        ("BlockHeader", block_header_schema()),
        ("CommitSignature", commit_signature_schema()),
        ("FinalityCertificate", certificate_schema()),
        ("Block", block_schema()),
        ("Head", head_schema()),
        ("InclusionProof", inclusion_proof_schema()),
        ("ConsistencyProof", consistency_proof_schema()),
        ("InclusionProofResponse", inclusion_response_schema()),
        ("Participant", participant_schema()),
        ("Status", status_schema()),
        ("ProvenEvent", proven_event_schema()),
        ("ProvenanceBundle", bundle_schema()),
        ("Linkset", linkset_schema()),
    ] {
        map.insert(name.to_owned(), schema);
    }
    Value::Object(map)
}

fn proven_event_schema() -> Value {
    object(
        &["record", "height", "leaf_index", "path"],
        json!({
            "record": schema_ref("SignedEvent"),
            "height": uint("Height of the block that included the event (its log entry commits to it)."),
            "leaf_index": uint("Zero-based position of its leaf in the global log."),
            "path": {"type": "array", "items": schema_ref("Hash"), "maxItems": 64,
                     "description": "RFC 6962 audit path to the anchor's log_root over its log_size leaves, bottom-up."}
        }),
    )
}

fn bundle_schema() -> Value {
    let mut schema = object(
        &["version", "subject", "scope", "genesis", "anchor"],
        json!({
            "version": {"type": "integer", "const": provenance_protocol::bundle::BUNDLE_VERSION},
            "subject": {"type": "string", "description": "Canonical identifier: the https://id.gs1.org Digital Link, or the URI as written."},
            "scope": {"type": "string", "enum": ["upstream", "downstream"]},
            "genesis": {"type": "object", "description": "The network's genesis document; its hash is what a consumer pins."},
            "handoffs": {"type": "array", "items": object(
                &["header", "certificate", "next_validators"],
                json!({
                    "header": schema_ref("BlockHeader"),
                    "certificate": schema_ref("FinalityCertificate"),
                    "next_validators": {"type": "object", "description": "The validator set from the next height on."}
                }))},
            "governance": {"type": "array", "items": object(
                &["height", "tx"],
                json!({"height": uint("Height of the block that included it."),
                       "tx": {"type": "object", "description": "The governance transaction with its approvals."}}))},
            "anchor": object(&["header", "certificate"], json!({
                "header": schema_ref("BlockHeader"),
                "certificate": schema_ref("FinalityCertificate")
            })),
            "events": {"type": "array", "items": schema_ref("ProvenEvent"),
                       "description": "The story's events in log order."}
        }),
    );
    schema["description"] = json!(
        "A provenance bundle (protocol SPEC §13): verifiable offline against the genesis. Empty lists are omitted."
    );
    schema
}

fn linkset_schema() -> Value {
    json!({
        "type": "object",
        "description": "RFC 9264 linkset, GS1 resolver style: one context whose anchor is the canonical identifier, link types as GS1 Web Vocabulary IRIs (https://gs1.org/voc/pip, defaultLink, traceability, epcis, certificationInfo). Targets are references relative to this node.",
        "required": ["linkset"],
        "properties": {
            "linkset": {"type": "array", "items": {
                "type": "object",
                "required": ["anchor"],
                "properties": {"anchor": {"type": "string"}},
                "additionalProperties": {"type": "array", "items": {
                    "type": "object",
                    "required": ["href"],
                    "properties": {"href": {"type": "string"}, "title": {"type": "string"}, "type": {"type": "string"}}
                }}
            }}
        }
    })
}

fn hex_schema(len: usize, description: &str) -> Value {
    json!({
        "type": "string",
        "pattern": format!("^[0-9a-f]{{{len}}}$"),
        "description": description
    })
}

fn uint(description: &str) -> Value {
    json!({"type": "integer", "minimum": 0, "description": description})
}

fn object(required: &[&str], properties: Value) -> Value {
    json!({
        "type": "object",
        "required": required,
        "additionalProperties": false,
        "properties": properties
    })
}

fn event_hash_id_schema() -> Value {
    json!({
        "type": "string",
        "pattern": "^ni:///sha-256;[0-9a-f]{64}\\?ver=CBV2\\.0$",
        "description": "GS1 CBV 2.0 Event Hash ID (RFC 6920 ni URI).",
        "examples": ["ni:///sha-256;df7bb3c352fef055578554f09f5e2aa41782150ced7bd0b8af24dd3ccb30ba69?ver=CBV2.0"]
    })
}

fn signed_event_schema() -> Value {
    let mut schema = object(
        &[
            "chain_id",
            "signer",
            "sequence",
            "event_hash_id",
            "content_hash",
            "event",
            "signature",
        ],
        json!({
            "chain_id": {"type": "string", "minLength": 1, "maxLength": MAX_CHAIN_ID_BYTES, "description": "The network the event is signed for."},
            "signer": schema_ref("PublicKey"),
            "sequence": {"type": "integer", "minimum": 1, "description": "Exactly one more than the signer's last accepted sequence."},
            "event_hash_id": schema_ref("EventHashId"),
            "content_hash": schema_ref("Hash"),
            "event": {
                "type": "object",
                "description": format!(
                    "The EPCIS 2.0 event, self-contained (its own @context). Its RFC 8785 canonical JSON must not exceed {MAX_EVENT_JSON_BYTES} bytes."
                )
            },
            "signature": schema_ref("Signature")
        }),
    );
    schema["description"] = json!(
        "An EPCIS event signed by a registered participant. The signature covers signer, \
         sequence, event_hash_id and content_hash (the domain-separated SHA-256 of the event's \
         canonical JSON)."
    );
    schema
}

fn document_submission_schema() -> Value {
    object(
        &["events"],
        json!({
            "events": {"type": "array", "items": schema_ref("SignedEvent"), "minItems": 1, "maxItems": MAX_BATCH_EVENTS}
        }),
    )
}

fn submit_accepted_schema() -> Value {
    object(
        &["accepted"],
        json!({
            "accepted": {"type": "array", "items": schema_ref("EventHashId"), "description": "Event Hash IDs of the accepted events, in submission order."}
        }),
    )
}

fn error_schema() -> Value {
    object(
        &["error"],
        json!({
            "error": object(&["code", "message"], json!({
                "code": {"type": "string", "pattern": "^[a-z_]+$", "description": "Stable machine-readable code."},
                "message": {"type": "string", "description": "What is wrong, for a person."},
                "index": {"type": "integer", "minimum": 0, "description": "Submissions only: position in the batch of the event that failed."},
                "expected_sequence": {"type": "integer", "minimum": 1, "description": "sequence_gap and sequence_replayed only: the sequence number the signer's next event must carry."}
            })),
            "accepted": {
                "type": "array",
                "items": schema_ref("EventHashId"),
                "description": "Submissions only: events of the batch accepted (durably) before the failure."
            }
        }),
    )
}

fn event_record_schema() -> Value {
    object(
        &["event", "height", "leaf_index", "error_declaration"],
        json!({
            "event": schema_ref("SignedEvent"),
            "height": uint("Height of the block that included the event."),
            "leaf_index": uint("Position of the event in the global Merkle log."),
            "error_declaration": {
                "oneOf": [schema_ref("SignedEvent"), {"type": "null"}],
                "description": "The signer's EPCIS error declaration for this event, if any."
            }
        }),
    )
}

fn history_event_schema() -> Value {
    object(
        &["event", "height", "leaf_index"],
        json!({
            "event": schema_ref("SignedEvent"),
            "height": uint("Height of the block that included the event."),
            "leaf_index": uint("Position of the event in the global Merkle log.")
        }),
    )
}

fn history_schema() -> Value {
    object(
        &["id", "key", "scope", "events", "truncated"],
        json!({
            "id": {"type": "string", "description": "The identifier as requested."},
            "key": {"type": "string", "description": "The canonical index key (id.gs1.org Digital Link for GS1 identifiers)."},
            "scope": {"type": "string", "enum": ["instance", "lot", "product"], "description": "Whether the history is of one object, one lot, or every instance and class of a GTIN."},
            "events": {"type": "array", "items": schema_ref("HistoryEvent"), "description": "In ledger order."},
            "truncated": {"type": "boolean", "description": "More events exist beyond `limit`."}
        }),
    )
}

fn block_header_schema() -> Value {
    object(
        &[
            "chain_id",
            "height",
            "prev_hash",
            "time_ms",
            "proposer",
            "log_root",
            "log_size",
            "body_hash",
            "validators_hash",
            "next_validators_hash",
            "app_state_root",
        ],
        json!({
            "chain_id": {"type": "string"},
            "height": uint("1 for the first block after genesis."),
            "prev_hash": schema_ref("Hash"),
            "time_ms": uint("Proposer's clock, ms since the Unix epoch."),
            "proposer": schema_ref("PublicKey"),
            "log_root": schema_ref("Hash"),
            "log_size": uint("Leaves in the global event log after this block."),
            "body_hash": schema_ref("Hash"),
            "validators_hash": schema_ref("Hash"),
            "next_validators_hash": schema_ref("Hash"),
            "app_state_root": schema_ref("Hash")
        }),
    )
}

fn commit_signature_schema() -> Value {
    object(
        &["validator", "signature"],
        json!({"validator": schema_ref("PublicKey"), "signature": schema_ref("Signature")}),
    )
}

fn certificate_schema() -> Value {
    object(
        &["height", "round", "header_hash", "signatures"],
        json!({
            "height": uint("Height of the certified header."),
            "round": uint("Consensus round."),
            "header_hash": schema_ref("Hash"),
            "signatures": {"type": "array", "items": schema_ref("CommitSignature"), "description": "Precommits from more than 2/3 of the voting power."}
        }),
    )
}

fn block_schema() -> Value {
    object(
        &["header", "certificate", "events"],
        json!({
            "header": schema_ref("BlockHeader"),
            "certificate": schema_ref("FinalityCertificate"),
            "events": {"type": "array", "items": schema_ref("SignedEvent"), "description": "In log order."},
            "governance": {"type": "array", "items": {"type": "object"}, "description": "Governance transactions (proposal + approvals), applied after the events. Omitted when none."},
            "evidence": {"type": "array", "items": {"type": "object"}, "description": "Equivocation evidence (two conflicting signed messages of one validator). Omitted when none."},
            "next_validators": {"type": "array", "items": {"type": "object"}, "description": "The validator set certifying the next block; present only when the header's next_validators_hash differs from validators_hash."}
        }),
    )
}

fn head_schema() -> Value {
    object(
        &["header", "certificate"],
        json!({
            "header": schema_ref("BlockHeader"),
            "certificate": schema_ref("FinalityCertificate")
        }),
    )
}

fn inclusion_proof_schema() -> Value {
    object(
        &["leaf_index", "tree_size", "path"],
        json!({
            "leaf_index": uint("Zero-based position of the leaf."),
            "tree_size": uint("Leaves of the tree the path leads to."),
            "path": {"type": "array", "items": schema_ref("Hash"), "description": "Sibling hashes, bottom-up."}
        }),
    )
}

fn consistency_proof_schema() -> Value {
    object(
        &["old_size", "new_size", "path"],
        json!({
            "old_size": uint("Size of the earlier tree."),
            "new_size": uint("Size of the later tree."),
            "path": {"type": "array", "items": schema_ref("Hash"), "description": "RFC 9162 SUBPROOF order."}
        }),
    )
}

fn inclusion_response_schema() -> Value {
    object(
        &[
            "event_hash_id",
            "leaf_index",
            "tree_size",
            "leaf_hash",
            "proof",
            "header",
            "certificate",
        ],
        json!({
            "event_hash_id": schema_ref("EventHashId"),
            "leaf_index": uint("Position of the event in the log."),
            "tree_size": uint("Equal to header.log_size."),
            "leaf_hash": schema_ref("Hash"),
            "proof": schema_ref("InclusionProof"),
            "header": schema_ref("BlockHeader"),
            "certificate": schema_ref("FinalityCertificate")
        }),
    )
}

fn participant_schema() -> Value {
    object(
        &[
            "name",
            "roles",
            "signing_key",
            "did_key",
            "company_prefixes",
            "revoked_at",
        ],
        json!({
            "name": {"type": "string"},
            "roles": {"type": "array", "items": {"type": "string", "enum": ["manufacturer", "distributor", "retailer", "certifier", "validator"]}},
            "signing_key": schema_ref("PublicKey"),
            "did_key": {"type": "string", "pattern": "^did:key:z", "description": "The signing key as a did:key."},
            "company_prefixes": {"type": "array", "items": {"type": "string", "pattern": "^[0-9]{6,12}$"}},
            "revoked_at": {"type": ["integer", "null"], "minimum": 0, "description": "Height from which the key no longer signs."}
        }),
    )
}

fn status_schema() -> Value {
    object(
        &[
            "chain_id",
            "genesis_hash",
            "height",
            "head_hash",
            "log_size",
            "mempool_size",
            "peers",
            "validator",
            "round",
            "sync_target",
            "equivocations",
            "version",
        ],
        json!({
            "chain_id": {"type": "string"},
            "genesis_hash": schema_ref("Hash"),
            "height": uint("Newest finalised height (0 before the first block)."),
            "head_hash": {"oneOf": [schema_ref("Hash"), {"type": "null"}]},
            "log_size": uint("Events in the ledger."),
            "mempool_size": uint("Events accepted and waiting for a block."),
            "peers": uint("Connected peers."),
            "validator": {"type": "boolean", "description": "Whether this node votes at the next height."},
            "round": {"oneOf": [uint("Consensus round at the next height (validators, once the height started)."), {"type": "null"}]},
            "sync_target": uint("Highest finalised height a peer reported; above `height` while catching up."),
            "equivocations": uint("Conflicting signed messages of validators this node detected (evidence)."),
            "version": {"type": "string"}
        }),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn collect_refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    if k == "$ref"
                        && let Some(s) = v.as_str()
                    {
                        out.push(s.to_owned());
                    }
                    collect_refs(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
            _ => {}
        }
    }

    #[test]
    fn every_ref_resolves() {
        let doc = document();
        let mut refs = Vec::new();
        collect_refs(&doc, &mut refs);
        assert!(!refs.is_empty());
        for r in refs {
            let pointer = r.strip_prefix('#').expect("local ref");
            assert!(doc.pointer(pointer).is_some(), "{r} does not resolve");
        }
    }

    #[test]
    fn every_path_template_parameter_is_declared() {
        let doc = document();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let templated: BTreeSet<&str> = path
                .split('/')
                .filter_map(|s| s.strip_prefix('{')?.strip_suffix('}'))
                .collect();
            for (method, op) in item.as_object().unwrap() {
                let mut declared = BTreeSet::new();
                for p in op["parameters"].as_array().into_iter().flatten() {
                    let p = match p.get("$ref").and_then(Value::as_str) {
                        Some(r) => doc.pointer(&r[1..]).unwrap(),
                        None => p,
                    };
                    if p["in"] == "path" {
                        declared.insert(p["name"].as_str().unwrap());
                    }
                }
                let templated: BTreeSet<&str> = templated.iter().copied().collect();
                assert_eq!(templated, declared, "{method} {path}");
                assert!(op["responses"].as_object().unwrap().len() >= 2);
                assert!(op["operationId"].is_string());
            }
        }
    }

    #[test]
    fn paths_are_exactly_the_routes() {
        let doc = document();
        let documented: BTreeSet<(String, String)> = doc["paths"]
            .as_object()
            .unwrap()
            .iter()
            .flat_map(|(path, item)| {
                item.as_object()
                    .unwrap()
                    .keys()
                    .map(move |m| (m.clone(), path.clone()))
            })
            .collect();
        let routed: BTreeSet<(String, String)> = super::super::ROUTES
            .iter()
            .map(|r| (r.method.as_openapi().to_owned(), r.path.to_owned()))
            .collect();
        assert_eq!(documented, routed);
    }

    #[test]
    fn submission_responses_cover_every_error_code_with_retry_after_where_promised() {
        let doc = document();
        let responses = &doc["paths"]["/v1/events"]["post"]["responses"];
        for code in SUBMIT_ERRORS {
            let response = &responses[code.status.to_string()];
            let text = response.to_string();
            assert!(text.contains(code.code), "{} missing", code.code);
            if code.retry_after {
                assert!(
                    response["headers"]["Retry-After"].is_object(),
                    "{}",
                    code.code
                );
            }
        }
        assert_eq!(doc["openapi"], "3.1.0");
    }
}
