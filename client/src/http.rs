//! The node's HTTP API as the CLI uses it: status, bundles, event lookups and submissions.
//!
//! Blocking `ureq` with a connect timeout and an overall timeout per request. Transport failures
//! and busy answers (`503`, `429`) are retried a few times with the same request: every request
//! the CLI makes is safe to repeat (reads, and submissions of already signed events, which the
//! node answers idempotently).
//!
//! How failures map to exit codes ([`HttpError::kind`]): no connection, DNS failure, timeout,
//! or a `5xx` that persists after the retries are "node unreachable" (exit 3): the node cannot
//! serve the request now, and the remedy is the same (retry later, or ask another node). A `4xx`
//! is an input error (exit 2) and carries the node's own `code` and `message` (e.g. an unknown
//! product).
//!
//! Plain `http://` only unless the crate is built with the `tls` feature (`https://` through
//! rustls); without it an `https://` URL is refused with that advice.

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use provenance_protocol::bundle::Scope;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::record::SignedEvent;
use serde::Deserialize;

use crate::error::ErrorKind;

/// Longest wait for a TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a request may take, body included (a large bundle on a slow link).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);
/// Largest answer read (the bundle limit; other answers are far smaller).
pub const MAX_RESPONSE_BYTES: u64 = provenance_protocol::bundle::MAX_BUNDLE_BYTES as u64;
/// Attempts per request (the first plus retries) for transport failures and busy answers.
const ATTEMPTS: u32 = 3;
/// Longest `Retry-After` honoured before giving up (the caller can rerun later).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);

/// Characters of a path segment that are sent as they are (RFC 3986 unreserved); everything
/// else, `/` and `:` included, is percent-encoded so an identifier is exactly one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why a request to the node did not produce a usable answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    #[error("invalid node URL {url:?}: {reason}")]
    BadUrl { url: String, reason: String },
    #[error("cannot reach the node at {base}: {detail}")]
    Unreachable { base: String, detail: String },
    /// The node answered with an API error (boxed: it is the largest variant by far).
    #[error(transparent)]
    Api(Box<ApiFailure>),
    #[error("{method} {url}: the node's answer ({status}) is not what the API documents: {detail}")]
    BadAnswer {
        method: &'static str,
        url: String,
        status: u16,
        detail: String,
    },
}

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
#[error("{method} {url}: the node answered {status} {code}: {message}")]
pub struct ApiFailure {
    pub method: &'static str,
    pub url: String,
    pub status: u16,
    /// The node's stable error code (`not_found`, `sequence_gap`, ...).
    pub code: String,
    /// The node's message for a person.
    pub message: String,
    /// For a failed submission batch: position of the event that failed.
    pub index: Option<usize>,
    /// For a failed submission batch: events accepted (durably) before it.
    pub accepted: Vec<EventHashId>,
    /// For `sequence_gap` / `sequence_replayed`: the sequence the signer's next event must carry
    /// (absent from nodes older than this client).
    pub expected_sequence: Option<u64>,
}

impl HttpError {
    /// Exit-code class: unreachable for transport failures and `5xx`, input otherwise.
    pub fn kind(&self) -> ErrorKind {
        match self {
            HttpError::Unreachable { .. } => ErrorKind::Unreachable,
            HttpError::Api(failure)
                if failure.status >= 500 || matches!(failure.status, 408 | 429) =>
            {
                ErrorKind::Unreachable
            }
            HttpError::BadUrl { .. } | HttpError::Api(_) | HttpError::BadAnswer { .. } => {
                ErrorKind::Input
            }
        }
    }

    /// The node's error code, for an API error.
    pub fn code(&self) -> Option<&str> {
        match self {
            HttpError::Api(failure) => Some(&failure.code),
            _ => None,
        }
    }
}

/// What `GET /v1/status` reports that the CLI uses.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct NodeStatus {
    pub chain_id: String,
    /// Lowercase hex.
    pub genesis_hash: String,
    pub height: u64,
}

/// An event as `GET /v1/events/{id}` returns it.
#[derive(Debug, Clone, Deserialize)]
pub struct StoredEvent {
    pub event: SignedEvent,
    pub height: u64,
    pub leaf_index: u64,
}

/// A bundle as the node sent it.
#[derive(Debug, Clone)]
pub struct FetchedBundle {
    pub bytes: Vec<u8>,
    /// The URL it came from, for messages.
    pub url: String,
}

/// The error body every API error has.
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
    expected_sequence: Option<u64>,
}

#[derive(Debug, Deserialize)]
struct AcceptedBody {
    accepted: Vec<EventHashId>,
}

/// One answer, status and body.
#[derive(Debug)]
struct Answer {
    status: u16,
    retry_after: Option<Duration>,
    body: Vec<u8>,
}

/// A client for one node.
#[derive(Debug, Clone)]
pub struct NodeClient {
    agent: ureq::Agent,
    /// `http://host:port[/prefix]`, no trailing slash.
    base: String,
    /// Sleeps between retries (shortened in tests).
    backoff: Duration,
}

impl NodeClient {
    /// A client for the node at `url` (`http://host:port`, optionally with a path prefix).
    pub fn new(url: &str) -> Result<Self, HttpError> {
        let bad = |reason: &str| HttpError::BadUrl {
            url: url.to_owned(),
            reason: reason.to_owned(),
        };
        let trimmed = url.trim();
        let lower = trimmed.to_ascii_lowercase();
        if lower.starts_with("https://") {
            if !cfg!(feature = "tls") {
                return Err(bad(
                    "this build of provenance has no TLS support; use an http:// URL (e.g. through a local TLS-terminating proxy) or build the client with `--features tls`",
                ));
            }
        } else if !lower.starts_with("http://") {
            return Err(bad("use http://HOST:PORT"));
        }
        let trimmed = trimmed.trim_end_matches('/');
        let rest = trimmed.split_once("://").map_or("", |(_, rest)| rest);
        if rest.is_empty() || rest.starts_with('/') {
            return Err(bad("the URL names no host"));
        }
        if trimmed.contains(['?', '#']) {
            return Err(bad("a node URL has no query or fragment"));
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(CONNECT_TIMEOUT))
            .timeout_global(Some(REQUEST_TIMEOUT))
            .max_redirects(0)
            .user_agent(concat!("provenance/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(NodeClient {
            agent,
            base: trimmed.to_owned(),
            backoff: Duration::from_millis(300),
        })
    }

    /// The base URL requests go to.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sets the pause before the first retry (doubles with each retry).
    pub fn with_backoff(mut self, backoff: Duration) -> Self {
        self.backoff = backoff;
        self
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> Result<NodeStatus, HttpError> {
        let url = format!("{}/v1/status", self.base);
        let answer = self.request("GET", &url, None, "application/json")?;
        let answer = self.expect_ok("GET", &url, answer)?;
        parse_json("GET", &url, &answer)
    }

    /// `GET /v1/products/{id}/bundle?scope=…`, asking for CBOR (JSON accepted too).
    pub fn bundle(&self, id: &str, scope: Scope) -> Result<FetchedBundle, HttpError> {
        let scope = match scope {
            Scope::Upstream => "upstream",
            Scope::Downstream => "downstream",
        };
        let url = format!(
            "{}/v1/products/{}/bundle?scope={scope}",
            self.base,
            utf8_percent_encode(id, SEGMENT)
        );
        let answer = self.request(
            "GET",
            &url,
            None,
            "application/cbor, application/json;q=0.9",
        )?;
        let answer = self.expect_ok("GET", &url, answer)?;
        Ok(FetchedBundle {
            bytes: answer.body,
            url,
        })
    }

    /// `GET /v1/events/{id}`: the event as the ledger holds it, `None` when it is not (yet)
    /// final.
    pub fn event(&self, id: &EventHashId) -> Result<Option<StoredEvent>, HttpError> {
        let url = format!("{}/v1/events/{}", self.base, hex::encode(id.as_bytes()));
        let answer = self.request("GET", &url, None, "application/json")?;
        if answer.status == 404 {
            return Ok(None);
        }
        let answer = self.expect_ok("GET", &url, answer)?;
        parse_json("GET", &url, &answer).map(Some)
    }

    /// `POST /v1/events` with a batch; the Event Hash IDs the node accepted (all of them), or
    /// [`HttpError::Api`] with `index` and `accepted` when one failed.
    pub fn submit(&self, records: &[SignedEvent]) -> Result<Vec<EventHashId>, HttpError> {
        let url = format!("{}/v1/events", self.base);
        let body = serde_json::to_vec(records).map_err(|e| HttpError::BadUrl {
            url: url.clone(),
            reason: format!("cannot encode the events: {e}"),
        })?;
        let answer = self.request("POST", &url, Some(&body), "application/json")?;
        if answer.status != 202 && answer.status != 200 {
            return Err(api_error("POST", &url, &answer));
        }
        let accepted: AcceptedBody = parse_json("POST", &url, &answer)?;
        Ok(accepted.accepted)
    }

    /// Sends a request, retrying transport failures and busy answers.
    fn request(
        &self,
        method: &'static str,
        url: &str,
        body: Option<&[u8]>,
        accept: &str,
    ) -> Result<Answer, HttpError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let pause = self.backoff * 2u32.saturating_pow(attempt - 1);
            match self.send_once(method, url, body, accept) {
                Ok(answer) if matches!(answer.status, 429 | 503) && attempt < ATTEMPTS => {
                    let wait = answer.retry_after.unwrap_or(pause);
                    if wait > MAX_RETRY_AFTER {
                        return Ok(answer);
                    }
                    std::thread::sleep(wait);
                }
                Ok(answer) => return Ok(answer),
                Err(error) if attempt < ATTEMPTS && retryable(&error) => {
                    std::thread::sleep(pause);
                }
                Err(error) => return Err(self.transport_error(url, &error)),
            }
        }
    }

    fn send_once(
        &self,
        method: &'static str,
        url: &str,
        body: Option<&[u8]>,
        accept: &str,
    ) -> Result<Answer, ureq::Error> {
        let mut response = match body {
            None => self.agent.get(url).header("Accept", accept).call()?,
            Some(body) => self
                .agent
                .post(url)
                .header("Accept", accept)
                .content_type("application/json")
                .send(body)?,
        };
        debug_assert!(method == "GET" || body.is_some());
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()?;
        Ok(Answer {
            status,
            retry_after,
            body,
        })
    }

    fn transport_error(&self, url: &str, error: &ureq::Error) -> HttpError {
        match error {
            ureq::Error::BadUri(reason) => HttpError::BadUrl {
                url: url.to_owned(),
                reason: reason.clone(),
            },
            ureq::Error::BodyExceedsLimit(limit) => HttpError::BadAnswer {
                method: "GET",
                url: url.to_owned(),
                status: 200,
                detail: format!("the answer is larger than {limit} bytes"),
            },
            other => HttpError::Unreachable {
                base: self.base.clone(),
                detail: describe_transport(other),
            },
        }
    }

    fn expect_ok(
        &self,
        method: &'static str,
        url: &str,
        answer: Answer,
    ) -> Result<Answer, HttpError> {
        if answer.status == 200 {
            Ok(answer)
        } else {
            Err(api_error(method, url, &answer))
        }
    }
}

/// Whether a transport failure is worth another attempt (the request may never have arrived,
/// or its answer was lost).
fn retryable(error: &ureq::Error) -> bool {
    matches!(
        error,
        ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::ConnectionFailed
            | ureq::Error::Protocol(_)
    )
}

/// A person's description of a transport failure.
fn describe_transport(error: &ureq::Error) -> String {
    match error {
        ureq::Error::HostNotFound => "the host name does not resolve (DNS)".to_owned(),
        ureq::Error::Timeout(which) => format!("timed out ({which:?})"),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused (is the node running, and is the port right?)".to_owned()
        }
        other => other.to_string(),
    }
}

fn api_error(method: &'static str, url: &str, answer: &Answer) -> HttpError {
    let failure = match serde_json::from_slice::<ErrorBody>(&answer.body) {
        Ok(body) => ApiFailure {
            method,
            url: url.to_owned(),
            status: answer.status,
            code: body.error.code,
            message: body.error.message,
            index: body.error.index,
            accepted: body.accepted,
            expected_sequence: body.error.expected_sequence,
        },
        Err(_) => ApiFailure {
            method,
            url: url.to_owned(),
            status: answer.status,
            code: "unexpected_answer".to_owned(),
            message: format!(
                "not an API error body: {}",
                String::from_utf8_lossy(&answer.body[..answer.body.len().min(200)])
            ),
            index: None,
            accepted: Vec::new(),
            expected_sequence: None,
        },
    };
    HttpError::Api(Box::new(failure))
}

fn parse_json<T: serde::de::DeserializeOwned>(
    method: &'static str,
    url: &str,
    answer: &Answer,
) -> Result<T, HttpError> {
    serde_json::from_slice(&answer.body).map_err(|e| HttpError::BadAnswer {
        method,
        url: url.to_owned(),
        status: answer.status,
        detail: e.to_string(),
    })
}

#[cfg(test)]
pub(crate) mod fake {
    //! A canned-answer HTTP server on loopback for tests: each connection gets the next answer
    //! of a script, and the requests are recorded.

    use std::io::{BufRead, BufReader, Read, Write};
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    /// A request as the fake server saw it.
    #[derive(Debug, Clone)]
    pub struct Seen {
        pub method: String,
        pub path: String,
        pub headers: Vec<(String, String)>,
        pub body: Vec<u8>,
    }

    /// A canned answer: status, content type, body.
    pub type Canned = (u16, &'static str, Vec<u8>);

    /// The requests a fake server received, in order.
    pub type RequestLog = Arc<Mutex<Vec<Seen>>>;

    /// Answers with `respond(request)` until dropped; returns the base URL and the log.
    pub fn serve(respond: impl Fn(&Seen) -> Canned + Send + 'static) -> (String, RequestLog) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&log);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut line = String::new();
                if reader.read_line(&mut line).is_err() {
                    continue;
                }
                let mut parts = line.split_whitespace();
                let method = parts.next().unwrap_or_default().to_owned();
                let path = parts.next().unwrap_or_default().to_owned();
                let mut headers = Vec::new();
                let mut length = 0;
                loop {
                    let mut header = String::new();
                    if reader.read_line(&mut header).unwrap_or(0) == 0 || header == "\r\n" {
                        break;
                    }
                    if let Some((name, value)) = header.trim_end().split_once(':') {
                        let (name, value) = (name.to_ascii_lowercase(), value.trim().to_owned());
                        if name == "content-length" {
                            length = value.parse().unwrap_or(0);
                        }
                        headers.push((name, value));
                    }
                }
                let mut body = vec![0; length];
                let _ = reader.read_exact(&mut body);
                let request = Seen {
                    method,
                    path,
                    headers,
                    body,
                };
                let (status, content_type, answer) = respond(&request);
                seen.lock().unwrap().push(request);
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    answer.len()
                );
                let _ = stream.write_all(head.as_bytes());
                let _ = stream.write_all(&answer);
            }
        });
        (base, log)
    }

    /// An API error body.
    pub fn error(code: &str, message: &str) -> Vec<u8> {
        serde_json::json!({"error": {"code": code, "message": message}})
            .to_string()
            .into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_checked_before_any_request() {
        for (url, needle) in [
            ("localhost:8080", "use http://HOST:PORT"),
            ("ftp://x", "use http://HOST:PORT"),
            ("http://", "names no host"),
            ("http://x/?a=1", "no query"),
        ] {
            let err = NodeClient::new(url).unwrap_err();
            assert!(err.to_string().contains(needle), "{url}: {err}");
            assert_eq!(err.kind(), ErrorKind::Input);
        }
        if !cfg!(feature = "tls") {
            let err = NodeClient::new("https://node.example").unwrap_err();
            assert!(err.to_string().contains("no TLS support"), "{err}");
        }
        assert_eq!(
            NodeClient::new("http://127.0.0.1:1/prefix/")
                .unwrap()
                .base(),
            "http://127.0.0.1:1/prefix"
        );
    }

    #[test]
    fn identifiers_are_one_encoded_path_segment() {
        let (base, log) = fake::serve(|_| (200, "application/cbor", vec![0xa0]));
        let client = NodeClient::new(&base).unwrap();
        let fetched = client
            .bundle(
                "https://id.gs1.org/01/09506000134352/21/A b",
                Scope::Downstream,
            )
            .unwrap();
        assert_eq!(fetched.bytes, vec![0xa0]);
        let seen = log.lock().unwrap()[0].clone();
        assert_eq!(
            seen.path,
            "/v1/products/https%3A%2F%2Fid.gs1.org%2F01%2F09506000134352%2F21%2FA%20b/bundle?scope=downstream"
        );
        let accept = seen.headers.iter().find(|(n, _)| n == "accept").unwrap();
        assert!(accept.1.starts_with("application/cbor"), "{accept:?}");
    }

    #[test]
    fn a_404_is_an_input_error_with_the_nodes_message() {
        let (base, _) = fake::serve(|_| {
            (
                404,
                "application/json",
                fake::error("not_found", "no product X"),
            )
        });
        let err = NodeClient::new(&base)
            .unwrap()
            .bundle("urn:epc:id:sgtin:0614141.107346.1", Scope::Upstream)
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Input);
        assert_eq!(err.code(), Some("not_found"));
        assert!(
            err.to_string().ends_with("404 not_found: no product X"),
            "{err}"
        );
    }

    #[test]
    fn persistent_5xx_and_refused_connections_are_unreachable() {
        let (base, log) =
            fake::serve(|_| (503, "application/json", fake::error("shutting_down", "bye")));
        let client = NodeClient::new(&base)
            .unwrap()
            .with_backoff(Duration::from_millis(1));
        let err = client.status().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unreachable);
        assert_eq!(log.lock().unwrap().len(), ATTEMPTS as usize, "retried");

        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client = NodeClient::new(&format!("http://127.0.0.1:{port}"))
            .unwrap()
            .with_backoff(Duration::from_millis(1));
        let err = client.status().unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unreachable);
        assert!(err.to_string().contains("connection refused"), "{err}");
    }

    #[test]
    fn a_busy_answer_is_retried_until_it_succeeds() {
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let (base, _) = fake::serve(move |_| {
            if calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0 {
                (503, "application/json", fake::error("mempool_full", "busy"))
            } else {
                (
                    200,
                    "application/json",
                    br#"{"chain_id":"c","genesis_hash":"ab","height":3,"extra":1}"#.to_vec(),
                )
            }
        });
        let status = NodeClient::new(&base)
            .unwrap()
            .with_backoff(Duration::from_millis(1))
            .status()
            .unwrap();
        assert_eq!(status.height, 3);
    }

    #[test]
    fn an_unknown_event_is_none() {
        let (base, log) = fake::serve(|_| {
            (
                404,
                "application/json",
                fake::error("event_not_found", "no"),
            )
        });
        let id = EventHashId::from_bytes([7; 32]);
        assert!(
            NodeClient::new(&base)
                .unwrap()
                .event(&id)
                .unwrap()
                .is_none()
        );
        assert_eq!(
            log.lock().unwrap()[0].path,
            format!("/v1/events/{}", "07".repeat(32))
        );
    }
}
