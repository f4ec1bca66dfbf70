//! The blocking HTTP client `dev --demo` uses to talk to the node this process started: a thin
//! layer over [`ureq`] that fixes the settings that matter for that job and turns failures into
//! errors naming the request.
//!
//! Settings, and why: a global time limit per request (a stuck node must not hang the demo); a
//! cap on the response body (the demo's answers are a few hundred bytes); no proxy (the node is
//! on this machine, an `HTTP_PROXY` meant for the internet must not intercept it); no redirects
//! (the API never redirects, so one would be a misconfiguration worth seeing); and 4xx/5xx are
//! answers, not errors, because the caller decides what a status means (`404` from
//! `GET /v1/events/{id}` is "not recorded yet").

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use serde::Deserialize;

/// Largest response body read; the demo's responses are a few hundred bytes.
const MAX_RESPONSE_BYTES: u64 = 4 * 1024 * 1024;
/// Longest body excerpt quoted in an error, in characters.
const EXCERPT_CHARS: usize = 500;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum HttpError {
    /// No complete answer: the connection was refused, timed out, the response was malformed or
    /// its body larger than the cap.
    #[error("{method} {url} failed: {source}")]
    Transport {
        method: &'static str,
        url: String,
        #[source]
        source: ureq::Error,
    },
    /// The node answered with a status the caller did not expect, and the API's JSON error.
    #[error("{method} {url} answered HTTP {status} {code}: {message}")]
    Api {
        method: &'static str,
        url: String,
        status: u16,
        code: String,
        message: String,
    },
    /// The node answered with a status the caller did not expect, and a body that is not the
    /// API's error shape (quoted, shortened).
    #[error("{method} {url} answered HTTP {status}: {body}")]
    Status {
        method: &'static str,
        url: String,
        status: u16,
        body: String,
    },
}

/// The API's error shape, `{"error": {"code": ..., "message": ...}}` (other fields ignored).
#[derive(Debug, Deserialize)]
struct ApiErrorBody {
    error: ApiErrorDetail,
}

#[derive(Debug, Deserialize)]
struct ApiErrorDetail {
    code: String,
    message: String,
}

/// An answer: status code and body, and the request it answers (for error messages).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response {
    pub status: u16,
    pub body: Vec<u8>,
    method: &'static str,
    url: String,
}

impl Response {
    /// The error for an answer whose status the caller did not expect: names the request and
    /// the status, with the API's error `code` and `message` when the body has them, else an
    /// excerpt of the body.
    pub fn unexpected_status(self) -> HttpError {
        let Response {
            status,
            body,
            method,
            url,
        } = self;
        match serde_json::from_slice::<ApiErrorBody>(&body) {
            Ok(ApiErrorBody {
                error: ApiErrorDetail { code, message },
            }) => HttpError::Api {
                method,
                url,
                status,
                code,
                message,
            },
            Err(_) => HttpError::Status {
                method,
                url,
                status,
                body: excerpt(&body),
            },
        }
    }
}

/// The body as text for an error message: trimmed, shortened, `(empty body)` if nothing is left.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "(empty body)".to_owned();
    }
    match text.char_indices().nth(EXCERPT_CHARS) {
        Some((cut, _)) => format!("{}…", text.get(..cut).unwrap_or(text)),
        None => text.to_owned(),
    }
}

/// A client for one node.
#[derive(Debug, Clone)]
pub(crate) struct HttpClient {
    agent: ureq::Agent,
    addr: SocketAddr,
}

impl HttpClient {
    /// A client for the node listening on `addr`, each request limited to `timeout` overall. A
    /// wildcard address (`0.0.0.0`, `::`) is reached on loopback.
    pub fn new(addr: SocketAddr, timeout: Duration) -> Self {
        let addr = match addr.ip() {
            IpAddr::V4(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv4Addr::LOCALHOST.into(), addr.port())
            }
            IpAddr::V6(ip) if ip.is_unspecified() => {
                SocketAddr::new(Ipv6Addr::LOCALHOST.into(), addr.port())
            }
            _ => addr,
        };
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .proxy(None)
            .max_redirects(0)
            .user_agent(concat!("provenance-node/", env!("CARGO_PKG_VERSION")))
            .accept("application/json")
            .build()
            .into();
        HttpClient { agent, addr }
    }

    /// The address requests go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `GET path` (`path` starts with `/` and is already percent-encoded).
    pub fn get(&self, path: &str) -> Result<Response, HttpError> {
        let url = self.url(path);
        let answer = self.agent.get(&url).call();
        read_response("GET", url, answer)
    }

    /// `POST path` with a JSON body.
    pub fn post_json(&self, path: &str, body: &[u8]) -> Result<Response, HttpError> {
        let url = self.url(path);
        let answer = self
            .agent
            .post(&url)
            .content_type("application/json")
            .send(body);
        read_response("POST", url, answer)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }
}

/// Reads the body of `answer` (up to the cap) into a [`Response`].
fn read_response(
    method: &'static str,
    url: String,
    answer: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
) -> Result<Response, HttpError> {
    let body = answer.and_then(|mut response| {
        let body = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()?;
        Ok((response.status().as_u16(), body))
    });
    match body {
        Ok((status, body)) => Ok(Response {
            status,
            body,
            method,
            url,
        }),
        Err(source) => Err(HttpError::Transport {
            method,
            url,
            source,
        }),
    }
}

/// Percent-encodes one path segment (everything but RFC 3986 unreserved characters), so an ID
/// like `ni:///sha-256;…?ver=CBV2.0` stays one segment.
pub(crate) fn encode_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len() * 3);
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A stand-in node for tests: a loopback server answering each request from a closure.
#[cfg(test)]
pub(super) mod stand_in {
    use std::io::{BufRead as _, BufReader, Read as _, Write as _};
    use std::net::{SocketAddr, TcpListener, TcpStream};

    /// One request as the stand-in saw it.
    #[derive(Debug)]
    pub(crate) struct Request {
        /// E.g. `POST /v1/events`.
        pub method_and_path: String,
        /// `name: value` lines, names lowercased.
        pub headers: Vec<String>,
        pub body: Vec<u8>,
    }

    /// Serves every connection on a fresh loopback port with `reply`, which returns the status
    /// and body to answer (`connection: close` after each answer). Runs until the test ends.
    pub(crate) fn serve(
        mut reply: impl FnMut(&Request) -> (u16, Vec<u8>) + Send + 'static,
    ) -> SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                let (request, mut stream) = read_request(stream);
                let (status, body) = reply(&request);
                let head = format!(
                    "HTTP/1.1 {status} Stand-In\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                // The client may hang up early (e.g. over its size cap); nothing to do then.
                let _ = stream
                    .write_all(head.as_bytes())
                    .and_then(|()| stream.write_all(&body));
            }
        });
        addr
    }

    fn read_request(stream: TcpStream) -> (Request, TcpStream) {
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let method_and_path = line.rsplit_once(' ').unwrap().0.to_owned();
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            let line = line.trim_end().to_ascii_lowercase();
            if line.is_empty() {
                break;
            }
            if let Some(v) = line.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap();
            }
            headers.push(line);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).unwrap();
        let request = Request {
            method_and_path,
            headers,
            body,
        };
        (request, reader.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::sync::{Arc, Mutex};

    #[test]
    fn segments_are_encoded_whole() {
        assert_eq!(
            encode_segment("ni:///sha-256;ab?ver=CBV2.0"),
            "ni%3A%2F%2F%2Fsha-256%3Bab%3Fver%3DCBV2.0"
        );
        assert_eq!(encode_segment("plain-Text_1.~"), "plain-Text_1.~");
    }

    #[test]
    fn posts_json_to_the_node_on_loopback() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        let addr = stand_in::serve(move |request| {
            log.lock().unwrap().push((
                request.method_and_path.clone(),
                request.headers.clone(),
                request.body.clone(),
            ));
            (202, b"done".to_vec())
        });
        let unspecified = SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), addr.port());
        let client = HttpClient::new(unspecified, Duration::from_secs(5));
        assert_eq!(client.addr(), addr);

        let response = client.post_json("/v1/events", b"[1]").unwrap();
        assert_eq!(
            (response.status, response.body.as_slice()),
            (202, &b"done"[..])
        );
        let seen = seen.lock().unwrap();
        let (line, headers, body) = &seen[0];
        assert_eq!(line, "POST /v1/events");
        assert!(
            headers.contains(&"content-type: application/json".to_owned()),
            "{headers:?}"
        );
        assert_eq!(body, b"[1]");
    }

    #[test]
    fn error_statuses_are_answers_and_surface_the_api_error() {
        let addr = stand_in::serve(|request| match request.method_and_path.as_str() {
            "GET /json" => (
                422,
                br#"{"error":{"code":"sequence_gap","message":"boom","index":0}}"#.to_vec(),
            ),
            "GET /text" => (500, b"  oops \n".to_vec()),
            _ => (404, Vec::new()),
        });
        let client = HttpClient::new(addr, Duration::from_secs(5));

        let response = client.get("/json").unwrap();
        assert_eq!(response.status, 422);
        let err = response.unexpected_status();
        assert!(
            matches!(&err, HttpError::Api { status: 422, code, .. } if code == "sequence_gap"),
            "{err:?}"
        );
        assert_eq!(
            err.to_string(),
            format!("GET http://{addr}/json answered HTTP 422 sequence_gap: boom")
        );

        let err = client.get("/text").unwrap().unexpected_status();
        assert_eq!(
            err.to_string(),
            format!("GET http://{addr}/text answered HTTP 500: oops")
        );
        let err = client.get("/none").unwrap().unexpected_status();
        assert_eq!(
            err.to_string(),
            format!("GET http://{addr}/none answered HTTP 404: (empty body)")
        );
    }

    #[test]
    fn long_bodies_are_shortened_in_errors() {
        let long = "é".repeat(EXCERPT_CHARS + 10);
        let shortened = excerpt(long.as_bytes());
        assert_eq!(shortened.chars().count(), EXCERPT_CHARS + 1);
        assert!(shortened.ends_with('…'));
    }

    #[test]
    fn a_body_over_the_cap_is_refused() {
        let addr = stand_in::serve(|_| (200, vec![b'x'; MAX_RESPONSE_BYTES as usize + 1]));
        let err = HttpClient::new(addr, Duration::from_secs(10))
            .get("/big")
            .unwrap_err();
        assert!(
            matches!(
                &err,
                HttpError::Transport {
                    source: ureq::Error::BodyExceedsLimit(_),
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("GET http://{addr}/big failed: ")),
            "{err}"
        );
    }

    #[test]
    fn a_silent_node_times_out() {
        // Never accepted, never answered: the kernel completes the connection into the
        // listener's backlog, and the request waits there for as long as the listener lives.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let err = HttpClient::new(addr, Duration::from_millis(300))
            .get("/slow")
            .unwrap_err();
        assert!(
            matches!(
                &err,
                HttpError::Transport {
                    source: ureq::Error::Timeout(_),
                    ..
                }
            ),
            "{err:?}"
        );
        drop(listener);
    }

    #[test]
    fn connection_refused_names_the_url() {
        let addr = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        let err = HttpClient::new(addr, Duration::from_secs(2))
            .get("/v1/status")
            .unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("GET http://{addr}/v1/status failed: ")),
            "{err}"
        );
    }
}
