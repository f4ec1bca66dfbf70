//! Reading JSON request bodies with our error shape.
//!
//! Axum's `Json` extractor answers rejections in plain text; here the content type, the size
//! limit and the parse are checked one by one, so each failure gets its own stable code and a
//! message naming what is wrong (serde's line and column, never a Debug dump).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use provenance_protocol::record::SignedEvent;
use serde::de::DeserializeOwned;

use super::ApiLimits;
use super::error::ApiError;

/// Reads the whole body of a JSON request, within the configured size limit.
pub(super) async fn read_json(request: Request, limits: &ApiLimits) -> Result<Bytes, ApiError> {
    check_content_type(request.headers())?;
    Bytes::from_request(request, &())
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                body_too_large(limits)
            } else {
                ApiError::bad_request(
                    "body_unreadable",
                    format!("could not read the request body: {}", rejection.body_text()),
                )
            }
        })
}

/// The `413` for a body over the limit (also used by the middleware for tower-http's refusal).
pub(super) fn body_too_large(limits: &ApiLimits) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "body_too_large",
        format!(
            "the request body exceeds this node's limit of {} bytes; split the batch into smaller requests",
            limits.max_body_bytes
        ),
    )
}

/// Accepts `application/json` and `application/<anything>+json`, with any parameters.
fn check_content_type(headers: &HeaderMap) -> Result<(), ApiError> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let is_json = essence == "application/json"
        || essence
            .strip_prefix("application/")
            .is_some_and(|sub| sub.ends_with("+json"));
    if is_json {
        Ok(())
    } else {
        let found = if value.is_empty() {
            "no Content-Type header".to_owned()
        } else {
            format!("Content-Type {value:?}")
        };
        Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            format!(
                "the request body must be JSON sent with Content-Type: application/json; found {found}"
            ),
        ))
    }
}

/// Parses `bytes` as `T`; `what` names the expected shape in the error message.
pub(super) fn parse<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, ApiError> {
    serde_json::from_slice(bytes).map_err(|e| malformed(what, &e))
}

/// A body that is one `SignedEvent` object or an array of them.
pub(super) fn parse_events(bytes: &[u8]) -> Result<Vec<SignedEvent>, ApiError> {
    match bytes.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'[') => parse(bytes, "a JSON array of SignedEvent objects"),
        Some(b'{') => parse::<SignedEvent>(bytes, "a SignedEvent JSON object").map(|e| vec![e]),
        Some(_) => Err(ApiError::bad_request(
            "malformed_json",
            "the request body must be a SignedEvent JSON object or an array of them",
        )),
        None => Err(ApiError::bad_request(
            "malformed_json",
            "the request body is empty; send a SignedEvent JSON object or an array of them",
        )),
    }
}

fn malformed(what: &str, error: &serde_json::Error) -> ApiError {
    // serde_json's Display is "<what went wrong> at line L column C": exact and readable.
    ApiError::bad_request(
        "malformed_json",
        format!("the request body is not {what}: {error}"),
    )
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    fn headers(content_type: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if let Some(ct) = content_type {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
        }
        headers
    }

    #[test]
    fn json_content_types_are_accepted_and_others_refused() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON",
            "application/ld+json",
        ] {
            assert!(check_content_type(&headers(Some(ok))).is_ok(), "{ok}");
        }
        for bad in [
            None,
            Some("text/plain"),
            Some("application/jsonx"),
            Some("json"),
        ] {
            let err = check_content_type(&headers(bad)).unwrap_err();
            assert_eq!(err.code(), "unsupported_media_type");
            assert_eq!(err.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        }
    }

    #[test]
    fn parse_errors_name_line_and_column() {
        let err = parse_events(b"{\n  \"chain_id\": 5\n}").unwrap_err();
        assert_eq!(err.code(), "malformed_json");
        let text = err.to_string();
        assert!(text.contains("line 2"), "{text}");
        assert!(text.contains("column"), "{text}");
        assert_eq!(parse_events(b"  ").unwrap_err().code(), "malformed_json");
        assert_eq!(parse_events(b"42").unwrap_err().code(), "malformed_json");
        assert_eq!(parse_events(b"[]").unwrap(), vec![]);
    }

    proptest! {
        /// No body, however broken, makes the parser panic; it is refused as malformed JSON.
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
            if let Err(err) = parse_events(&bytes) {
                prop_assert_eq!(err.code(), "malformed_json");
            }
        }
    }
}
