//! Cross-cutting request handling: the request timeout, the `404` fallback, and the safety net
//! that turns any non-JSON error response (axum's and tower-http's built-in rejections: wrong
//! method, body over the limit, ...) into the API's JSON error shape.

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::ApiLimits;
use super::body::body_too_large;
use super::error::ApiError;
use super::read::shown;

/// Most bytes of a built-in rejection's plain-text body quoted in the JSON message.
const MAX_QUOTED_BODY: usize = 1024;

/// Fails a request that takes longer than `limit` (body upload included) with `408`.
pub(super) async fn timeout(
    State(limit): State<Duration>,
    request: Request,
    next: Next,
) -> Response {
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            format!(
                "the request took longer than {} ms; if it was a submission, resubmitting the same events is safe",
                limit.as_millis()
            ),
        )
        .into_response(),
    }
}

/// The fallback for paths no route matches.
pub(super) async fn not_found(method: Method, uri: Uri) -> ApiError {
    let path = uri.path();
    let hint = if is_unencoded_identifier(path) {
        "; an Event Hash ID or product identifier must be one URL-encoded path segment \
         (encode ':' '/' '?' as %3A %2F %3F), or use an Event Hash ID's bare 64-hex digest"
    } else {
        ""
    };
    ApiError::not_found(
        "not_found",
        format!(
            "no route for {method} {}{hint}; GET /v1/openapi.json lists the routes",
            shown(path)
        ),
    )
}

/// A path that would match an identifier route had its identifier been percent-encoded: the
/// commonest client mistake with `ni:///...` IDs and Digital Links.
fn is_unencoded_identifier(path: &str) -> bool {
    ["/v1/events/", "/v1/proofs/inclusion/", "/v1/products/"]
        .iter()
        .any(|prefix| {
            path.strip_prefix(prefix)
                .is_some_and(|rest| rest.contains(":/"))
        })
}

/// Rewrites error responses that are not JSON (built-in rejections) into the JSON error shape,
/// keeping `Allow` on a `405`.
pub(super) async fn json_errors(
    State(limits): State<ApiLimits>,
    request: Request,
    next: Next,
) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let response = next.run(request).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(&response) {
        return response;
    }
    let (parts, body) = response.into_parts();
    let text = axum::body::to_bytes(body, MAX_QUOTED_BODY)
        .await
        .map(|bytes| String::from_utf8_lossy(&bytes).trim().to_owned())
        .unwrap_or_default();
    let error = match status {
        StatusCode::PAYLOAD_TOO_LARGE => body_too_large(&limits),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allow = parts.headers.get(header::ALLOW).cloned();
            let allowed = allow
                .as_ref()
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            ApiError::new(
                status,
                "method_not_allowed",
                format!(
                    "{method} is not allowed on {}; allowed: {allowed}",
                    shown(&path)
                ),
            )
            .with_allow(allow)
        }
        _ => {
            let message = if text.is_empty() {
                status
                    .canonical_reason()
                    .unwrap_or("request failed")
                    .to_owned()
            } else {
                text
            };
            ApiError::new(status, generic_code(status), message)
        }
    };
    error.into_response()
}

fn is_json(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("application/json"))
}

/// The code of an error that only has a status.
fn generic_code(status: StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "bad_request",
        404 => "not_found",
        405 => "method_not_allowed",
        408 => "request_timeout",
        413 => "body_too_large",
        415 => "unsupported_media_type",
        422 => "unprocessable_entity",
        429 => "too_many_requests",
        503 => "service_unavailable",
        500..=599 => "internal_error",
        _ => "request_failed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_status_has_a_snake_case_code() {
        for status in 400..600u16 {
            let code = generic_code(StatusCode::from_u16(status).unwrap());
            assert!(
                code.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
                "{code}"
            );
        }
        assert_eq!(generic_code(StatusCode::NOT_FOUND), "not_found");
        assert_eq!(generic_code(StatusCode::BAD_GATEWAY), "internal_error");
    }

    #[test]
    fn unencoded_identifiers_are_recognised() {
        assert!(is_unencoded_identifier("/v1/events/ni:///sha-256;ab"));
        assert!(is_unencoded_identifier(
            "/v1/products/https://id.gs1.org/01/1/history"
        ));
        assert!(is_unencoded_identifier("/v1/proofs/inclusion/ni:///x"));
        assert!(!is_unencoded_identifier("/v1/nothing"));
        assert!(!is_unencoded_identifier("/v1/events/ni%3A%2F%2F"));
    }
}
