//! A blocking HTTP client for one node's API, shaped for tests.
//!
//! Reads come back as protocol types (`BlockHeader`, `FinalityCertificate`, `SignedEvent`), so
//! tests verify what a node serves with the same code a light client would. Submissions follow
//! the API's contract: `202` with the accepted ids, or an error body naming the failing batch
//! position and what was accepted before it; busy answers (`429`/`503` with `Retry-After`) are
//! retried for up to [`SUBMIT_PATIENCE`].

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use provenance_protocol::bundle::ProvenanceBundle;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::evidence::Equivocation;
use provenance_protocol::governance::GovernanceTx;
use provenance_protocol::ledger::{BlockBody, BlockHeader, FinalityCertificate, ValidatorSet};
use provenance_protocol::record::SignedEvent;
use serde::Deserialize;
use serde::de::DeserializeOwned;

/// Time limit of one request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long [`NodeClient::submit`] keeps retrying while the node answers "busy".
pub const SUBMIT_PATIENCE: Duration = Duration::from_secs(60);
/// Longest single wait on a `Retry-After`, so a test never sleeps longer than it needs to.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
/// Largest response body read (a block of many events is several MiB).
pub const MAX_RESPONSE_BYTES: u64 = 256 * 1024 * 1024;

/// `GET /v1/status`. Fields the harness does not use are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NodeStatus {
    pub chain_id: String,
    pub genesis_hash: String,
    /// Height of the last finalised block, 0 before the first.
    pub height: u64,
    /// Hex header hash of the last finalised block.
    pub head_hash: Option<String>,
    /// Events in the ledger's log after the last finalised block.
    pub log_size: u64,
    pub mempool_size: u64,
    /// Connected peers.
    pub peers: u64,
    /// Whether the node votes in consensus at the next height (its key is in the set the
    /// committed state assigns to that height). False when the node does not report the field.
    #[serde(default)]
    pub validator: bool,
    /// Equivocations (two conflicting signed messages of one validator) this node detected.
    /// Zero when the node does not report the field.
    #[serde(default)]
    pub equivocations: u64,
}

/// `GET /v1/blocks/{height}`: a finalised block with its certificate.
///
/// The node omits empty `governance` and `evidence` lists and an absent `next_validators`, so
/// those default to empty.
#[derive(Debug, Clone, Deserialize)]
pub struct FinalisedBlock {
    pub header: BlockHeader,
    pub certificate: FinalityCertificate,
    pub events: Vec<SignedEvent>,
    #[serde(default)]
    pub governance: Vec<GovernanceTx>,
    #[serde(default)]
    pub evidence: Vec<Equivocation>,
    #[serde(default)]
    pub next_validators: Option<ValidatorSet>,
}

impl FinalisedBlock {
    /// The body the header's `body_hash` commits to.
    pub fn body(&self) -> BlockBody {
        BlockBody {
            events: self.events.clone(),
            governance: self.governance.clone(),
            evidence: self.evidence.clone(),
            next_validators: self.next_validators.clone(),
        }
    }
}

/// `GET /v1/head`.
#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    pub header: BlockHeader,
    pub certificate: FinalityCertificate,
}

/// `GET /v1/events/{id}`: an event in the ledger and where it sits.
#[derive(Debug, Clone, Deserialize)]
pub struct LedgerEvent {
    pub event: SignedEvent,
    pub height: u64,
    pub leaf_index: u64,
}

/// A read request that did not produce the expected answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    #[error("GET {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("GET {url} answered HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },
    #[error("GET {url}: the answer is not the expected JSON ({source}): {body}")]
    Decode {
        url: String,
        #[source]
        source: serde_json::Error,
        body: String,
    },
}

/// A submission that was not (entirely) acknowledged. Every variant carries the ids acknowledged
/// before the failure, in batch order: those events are durable and must be counted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    /// The request failed on the way (node down, connection reset): the rest of the batch may or
    /// may not be durable. Resubmit the identical batch; the node answers idempotently.
    #[error("POST {url}: {source}; the batch is in doubt, resubmit it unchanged")]
    InDoubt {
        url: String,
        accepted: Vec<EventHashId>,
        #[source]
        source: Box<ureq::Error>,
    },
    /// The node refused an event for good.
    #[error("POST {url} refused batch position {index:?} with HTTP {status} {code}: {message}")]
    Refused {
        url: String,
        status: u16,
        code: String,
        message: String,
        index: Option<usize>,
        accepted: Vec<EventHashId>,
    },
    /// The node stayed busy for longer than [`SUBMIT_PATIENCE`].
    #[error("POST {url} was still answering {code} after {waited:?} of retries")]
    Busy {
        url: String,
        code: String,
        waited: Duration,
        accepted: Vec<EventHashId>,
    },
    /// The acknowledgement does not name the events sent.
    #[error("POST {url} acknowledged {found:?} for events {expected:?}")]
    Mismatch {
        url: String,
        expected: Vec<EventHashId>,
        found: Vec<EventHashId>,
    },
}

impl SubmitError {
    /// What was acknowledged before the failure.
    pub fn accepted(&self) -> &[EventHashId] {
        match self {
            SubmitError::InDoubt { accepted, .. }
            | SubmitError::Refused { accepted, .. }
            | SubmitError::Busy { accepted, .. } => accepted,
            SubmitError::Mismatch { .. } => &[],
        }
    }
}

/// A governance transaction the node did not accept.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GovernanceSubmitError {
    /// The request failed on the way; the node may or may not hold the transaction.
    #[error("POST {url}: {source}")]
    Transport {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    /// The node refused the transaction with an API error (`422` names the governance rule).
    #[error("POST {url} refused the transaction with HTTP {status} {code}: {message}")]
    Refused {
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The answer is neither an acceptance nor an API error.
    #[error("POST {url} answered HTTP {status} with an unexpected body: {body}")]
    Unexpected {
        url: String,
        status: u16,
        body: String,
    },
}

/// `202` body of a governance submission.
#[derive(Debug, Deserialize)]
struct GovernanceAccepted {
    id: String,
}

/// `202` body of a submission.
#[derive(Debug, Deserialize)]
struct Accepted {
    accepted: Vec<EventHashId>,
}

/// Error body of every API error: `{"error": {"code", "message", "index"?}, "accepted"?: [...]}`.
#[derive(Debug, Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
    #[serde(default)]
    accepted: Vec<EventHashId>,
}

#[derive(Debug, Deserialize)]
struct ErrorDetail {
    code: String,
    message: String,
    index: Option<usize>,
}

/// Error codes under which a `404` means "not there (yet)" rather than "no such route".
const ABSENT_CODES: &[&str] = &["block_not_found", "event_not_found", "no_blocks_yet"];

/// A client of one node's HTTP API.
#[derive(Debug, Clone)]
pub struct NodeClient {
    base: String,
    agent: ureq::Agent,
}

/// An agent that returns HTTP errors as responses (the tests look at them) and never waits long.
pub fn test_agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(REQUEST_TIMEOUT))
            .timeout_connect(Some(Duration::from_secs(2)))
            .build(),
    )
}

impl NodeClient {
    /// A client of the API at `api` with a fresh agent.
    pub fn new(api: SocketAddr) -> Self {
        NodeClient::with_agent(api, test_agent())
    }

    /// A client of the API at `api` sharing `agent`'s connection pool.
    pub fn with_agent(api: SocketAddr, agent: ureq::Agent) -> Self {
        NodeClient {
            base: format!("http://{api}"),
            agent,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// Whether `GET /healthz` answers `200`.
    pub fn healthy(&self) -> bool {
        self.agent
            .get(format!("{}/healthz", self.base))
            .call()
            .is_ok_and(|r| r.status() == 200)
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> Result<NodeStatus, RequestError> {
        self.get_json("/v1/status")?
            .ok_or_else(|| self.absent_error("/v1/status"))
    }

    /// `GET /v1/blocks/{height}`; `None` if the node has no finalised block there.
    pub fn block(&self, height: u64) -> Result<Option<FinalisedBlock>, RequestError> {
        self.get_json(&format!("/v1/blocks/{height}"))
    }

    /// `GET /v1/head`; `None` before the first block.
    pub fn head(&self) -> Result<Option<Head>, RequestError> {
        self.get_json("/v1/head")
    }

    /// `GET /v1/events/{id}`; `None` if the event is not (yet) in the ledger.
    pub fn event(&self, id: &EventHashId) -> Result<Option<LedgerEvent>, RequestError> {
        self.get_json(&format!("/v1/events/{}", hex::encode(id.as_bytes())))
    }

    /// `GET /v1/products/{id}/bundle` (JSON) for an EPC URN (no escaping needed in a path).
    pub fn bundle(&self, epc_urn: &str) -> Result<ProvenanceBundle, RequestError> {
        let path = format!("/v1/products/{epc_urn}/bundle");
        self.get_json(&path)?
            .ok_or_else(|| self.absent_error(&path))
    }

    fn absent_error(&self, path: &str) -> RequestError {
        RequestError::Status {
            url: format!("{}{path}", self.base),
            status: 404,
            body: "not found".into(),
        }
    }

    /// `GET path` as JSON; `None` on a `404` whose code says the thing does not exist.
    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<Option<T>, RequestError> {
        let url = format!("{}{path}", self.base);
        let response = self
            .agent
            .get(&url)
            .call()
            .map_err(|source| RequestError::Transport {
                url: url.clone(),
                source: Box::new(source),
            })?;
        let status = response.status().as_u16();
        let body = read_body(response).map_err(|source| RequestError::Transport {
            url: url.clone(),
            source: Box::new(source),
        })?;
        if status == 404 && error_code(&body).is_some_and(|c| ABSENT_CODES.contains(&c.as_str())) {
            return Ok(None);
        }
        if status != 200 {
            return Err(RequestError::Status { url, status, body });
        }
        serde_json::from_str(&body)
            .map(Some)
            .map_err(|source| RequestError::Decode { url, source, body })
    }

    /// `POST /v1/governance` with `tx`; the transaction's hex id on `202`. Not retried: a
    /// governance transaction is submitted once, and a refusal is what a test looks at.
    pub fn submit_governance(&self, tx: &GovernanceTx) -> Result<String, GovernanceSubmitError> {
        let url = format!("{}/v1/governance", self.base);
        let body = serde_json::to_vec(tx)
            .unwrap_or_else(|e| panic!("a governance transaction does not serialise: {e}"));
        let transport = |source| GovernanceSubmitError::Transport {
            url: url.clone(),
            source: Box::new(source),
        };
        let response = self
            .agent
            .post(&url)
            .header("content-type", "application/json")
            .send(&body[..])
            .map_err(transport)?;
        let status = response.status().as_u16();
        let text = read_body(response).map_err(transport)?;
        if status == 202
            && let Ok(accepted) = serde_json::from_str::<GovernanceAccepted>(&text)
        {
            return Ok(accepted.id);
        }
        match serde_json::from_str::<ErrorBody>(&text) {
            Ok(error) if status != 202 => Err(GovernanceSubmitError::Refused {
                url,
                status,
                code: error.error.code,
                message: error.error.message,
            }),
            _ => Err(GovernanceSubmitError::Unexpected {
                url,
                status,
                body: text,
            }),
        }
    }

    /// `POST /v1/events` with `events`, retrying busy answers; the acknowledged ids in batch
    /// order. An empty batch is acknowledged without a request.
    pub fn submit(&self, events: &[SignedEvent]) -> Result<Vec<EventHashId>, SubmitError> {
        let url = format!("{}/v1/events", self.base);
        let started = Instant::now();
        let mut accepted = Vec::with_capacity(events.len());
        let mut rest = events;
        while !rest.is_empty() {
            // Serialising a SignedEvent only re-reads its canonical JSON, which `sign` produced.
            let body = serde_json::to_vec(rest).unwrap_or_else(|e| {
                panic!("a signed event does not serialise: {e}");
            });
            let sent = self
                .agent
                .post(&url)
                .header("content-type", "application/json")
                .send(&body[..]);
            let response = match sent {
                Ok(response) => response,
                Err(source) => {
                    return Err(SubmitError::InDoubt {
                        url,
                        accepted,
                        source: Box::new(source),
                    });
                }
            };
            let status = response.status().as_u16();
            let retry_after = response
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok())
                .map(Duration::from_secs);
            let text = match read_body(response) {
                Ok(text) => text,
                Err(source) => {
                    return Err(SubmitError::InDoubt {
                        url,
                        accepted,
                        source: Box::new(source),
                    });
                }
            };
            if status == 202 {
                let found = serde_json::from_str::<Accepted>(&text)
                    .map(|a| a.accepted)
                    .unwrap_or_default();
                check_ids(&url, rest, &found)?;
                accepted.extend(found);
                return Ok(accepted);
            }
            let Ok(error) = serde_json::from_str::<ErrorBody>(&text) else {
                return Err(SubmitError::Refused {
                    url,
                    status,
                    code: "unparseable_error".into(),
                    message: text,
                    index: None,
                    accepted,
                });
            };
            // Whatever came before the failing position is acknowledged, busy or not.
            let done = error
                .error
                .index
                .unwrap_or(error.accepted.len())
                .min(rest.len());
            check_ids(&url, &rest[..done], &error.accepted)?;
            accepted.extend(error.accepted);
            rest = &rest[done..];
            let busy = matches!(status, 429 | 503);
            match retry_after {
                Some(wait)
                    if busy && started.elapsed() + wait.min(MAX_RETRY_AFTER) <= SUBMIT_PATIENCE =>
                {
                    thread::sleep(wait.min(MAX_RETRY_AFTER));
                }
                Some(_) if busy => {
                    return Err(SubmitError::Busy {
                        url,
                        code: error.error.code,
                        waited: started.elapsed(),
                        accepted,
                    });
                }
                _ => {
                    return Err(SubmitError::Refused {
                        url,
                        status,
                        code: error.error.code,
                        message: error.error.message,
                        index: error.error.index,
                        accepted,
                    });
                }
            }
        }
        Ok(accepted)
    }
}

/// The acknowledged ids must be exactly the sent events' ids, in order.
fn check_ids(url: &str, sent: &[SignedEvent], found: &[EventHashId]) -> Result<(), SubmitError> {
    let expected: Vec<EventHashId> = sent.iter().map(|e| e.event_hash_id).collect();
    if expected == found {
        Ok(())
    } else {
        Err(SubmitError::Mismatch {
            url: url.to_owned(),
            expected,
            found: found.to_vec(),
        })
    }
}

fn read_body(response: ureq::http::Response<ureq::Body>) -> Result<String, ureq::Error> {
    response
        .into_body()
        .with_config()
        .limit(MAX_RESPONSE_BYTES)
        .read_to_string()
}

/// The `error.code` of an API error body, if it is one.
fn error_code(body: &str) -> Option<String> {
    serde_json::from_str::<ErrorBody>(body)
        .ok()
        .map(|e| e.error.code)
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::events::SignerStream;
    use crate::identity::{KeyRole, test_key};

    /// A one-thread HTTP server answering each request with the next canned response, and
    /// recording the request bodies.
    fn canned_server(answers: Vec<String>) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&bodies);
        thread::spawn(move || {
            let mut answers = answers.into_iter();
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut stream = stream;
                // Keep-alive: several requests per connection.
                loop {
                    let mut length = 0usize;
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        break;
                    }
                    loop {
                        line.clear();
                        reader.read_line(&mut line).unwrap();
                        if line == "\r\n" {
                            break;
                        }
                        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                            length = v.trim().parse().unwrap();
                        }
                    }
                    let mut body = vec![0u8; length];
                    reader.read_exact(&mut body).unwrap();
                    seen.lock().unwrap().push(String::from_utf8(body).unwrap());
                    let Some(answer) = answers.next() else { return };
                    stream.write_all(answer.as_bytes()).unwrap();
                }
            }
        });
        (addr, bodies)
    }

    fn http(status: &str, extra_header: &str, body: &str) -> String {
        format!(
            "HTTP/1.1 {status}\r\ncontent-type: application/json\r\n{extra_header}content-length: {}\r\n\r\n{body}",
            body.len()
        )
    }

    fn events(n: usize) -> Vec<SignedEvent> {
        SignerStream::new(
            0,
            "unit-chain",
            test_key(KeyRole::SignerSigning, 0),
            "0614100".into(),
        )
        .batch(n)
    }

    fn ids(events: &[SignedEvent]) -> Vec<String> {
        events
            .iter()
            .map(|e| format!("\"{}\"", e.event_hash_id))
            .collect()
    }

    #[test]
    fn a_busy_answer_is_retried_from_the_failing_position() {
        let batch = events(3);
        let ids = ids(&batch);
        let busy = format!(
            r#"{{"error":{{"code":"mempool_full","message":"full","index":1}},"accepted":[{}]}}"#,
            ids[0]
        );
        let done = format!(r#"{{"accepted":[{},{}]}}"#, ids[1], ids[2]);
        let (addr, bodies) = canned_server(vec![
            http("503 Service Unavailable", "retry-after: 0\r\n", &busy),
            http("202 Accepted", "", &done),
        ]);
        let acked = NodeClient::new(addr).submit(&batch).unwrap();
        assert_eq!(
            acked,
            batch.iter().map(|e| e.event_hash_id).collect::<Vec<_>>()
        );
        let bodies = bodies.lock().unwrap();
        assert_eq!(bodies.len(), 2);
        let second: Vec<SignedEvent> = serde_json::from_str(&bodies[1]).unwrap();
        assert_eq!(
            second,
            batch[1..],
            "the retry resends only the unaccepted rest"
        );
    }

    #[test]
    fn a_refusal_reports_code_position_and_the_accepted_prefix() {
        let batch = events(2);
        let ids = ids(&batch);
        let refused = format!(
            r#"{{"error":{{"code":"sequence_gap","message":"gap","index":1}},"accepted":[{}]}}"#,
            ids[0]
        );
        let (addr, _) = canned_server(vec![http("422 Unprocessable Entity", "", &refused)]);
        let err = NodeClient::new(addr).submit(&batch).unwrap_err();
        assert!(
            matches!(&err, SubmitError::Refused { status: 422, code, index: Some(1), .. } if code == "sequence_gap"),
            "{err}"
        );
        assert_eq!(err.accepted(), [batch[0].event_hash_id]);
    }

    #[test]
    fn an_acknowledgement_naming_other_events_is_a_mismatch() {
        let batch = events(2);
        let ids = ids(&batch);
        let wrong = format!(r#"{{"accepted":[{}]}}"#, ids[1]);
        let (addr, _) = canned_server(vec![http("202 Accepted", "", &wrong)]);
        let err = NodeClient::new(addr).submit(&batch).unwrap_err();
        assert!(matches!(err, SubmitError::Mismatch { .. }), "{err}");
    }

    #[test]
    fn an_unreachable_node_leaves_the_batch_in_doubt() {
        let unused = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = unused.local_addr().unwrap();
        drop(unused);
        let err = NodeClient::new(addr).submit(&events(1)).unwrap_err();
        assert!(matches!(err, SubmitError::InDoubt { .. }), "{err}");
        assert!(NodeClient::new(addr).submit(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_governance_submission_yields_the_id_or_the_refusal_code() {
        let proposal = provenance_protocol::governance::GovernanceProposal {
            chain_id: "unit-chain".into(),
            action: provenance_protocol::governance::GovernanceAction::SetValidatorPower {
                name: "Candidate 4".into(),
                power: 1,
            },
            nonce: 1,
            expires_at_height: 10,
        };
        let tx = GovernanceTx::new(proposal, Vec::new());
        let refused = r#"{"error":{"code":"governance_insufficient_power","message":"too few"}}"#;
        let (addr, bodies) = canned_server(vec![
            http("202 Accepted", "", r#"{"id":"abcd"}"#),
            http("422 Unprocessable Entity", "", refused),
            http("500 Internal Server Error", "", "oops"),
        ]);
        let client = NodeClient::new(addr);
        assert_eq!(client.submit_governance(&tx).unwrap(), "abcd");
        let err = client.submit_governance(&tx).unwrap_err();
        assert!(
            matches!(&err, GovernanceSubmitError::Refused { status: 422, code, .. } if code == "governance_insufficient_power"),
            "{err}"
        );
        let err = client.submit_governance(&tx).unwrap_err();
        assert!(
            matches!(&err, GovernanceSubmitError::Unexpected { status: 500, .. }),
            "{err}"
        );
        let sent: GovernanceTx = serde_json::from_str(&bodies.lock().unwrap()[0]).unwrap();
        assert_eq!(sent, tx);
    }

    #[test]
    fn absent_things_are_none_and_unknown_routes_are_errors() {
        let missing = r#"{"error":{"code":"block_not_found","message":"none"}}"#;
        let route = r#"{"error":{"code":"not_found","message":"no route"}}"#;
        let (addr, _) = canned_server(vec![
            http("404 Not Found", "", missing),
            http("404 Not Found", "", route),
        ]);
        let client = NodeClient::new(addr);
        assert!(client.block(7).unwrap().is_none());
        let err = client.status().unwrap_err();
        assert!(
            matches!(err, RequestError::Status { status: 404, .. }),
            "{err}"
        );
    }
}
