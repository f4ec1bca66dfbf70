//! Provenance bundles over HTTP, and the GS1 Digital Link resolver with the product page.
//!
//! ## `GET /v1/products/{id}/bundle[?scope=upstream|downstream]`
//!
//! `{id}` is an EPC URN or a GS1 Digital Link on any domain (URL-encoded as one path segment),
//! or another URI. The answer is the [`ProvenanceBundle`] of the product against the newest
//! finalised header: JSON by default, its canonical CBOR with `Accept: application/cbor`. The
//! scope is `upstream` (the story a consumer verifies, the default) or `downstream` (what was
//! made from or shipped with it afterwards, for a recall).
//!
//! ## The Digital Link resolver
//!
//! `/01/{gtin}/21/{serial}`, `/01/{gtin}/10/{lot}` (also `/01/{gtin}/10/{lot}/21/{serial}`),
//! `/00/{sscc}` and every other GS1 Digital Link path, also under any prefix path
//! (`/brand/products/01/...`): a QR code may point at the node directly. The link is rebuilt
//! from the request path alone (the `Host` header is not trusted or needed: identity is the
//! canonical `https://id.gs1.org/...` form). What is returned depends on `Accept` (or on GS1's
//! `linkType` query parameter, which wins):
//!
//! | request | answer |
//! |---|---|
//! | `Accept: application/json` | the upstream bundle, JSON |
//! | `Accept: application/cbor` | the upstream bundle, CBOR |
//! | `Accept: application/linkset+json`, `?linkType=all` or `?linkType=linkset` | an RFC 9264 linkset in the style of GS1 resolvers: `pip` and `defaultLink` → the product page, `traceability` → the bundle, `epcis` → the event history, `certificationInfo` → each certificate of the story |
//! | anything else (a browser, `text/html`, `*/*`, no `Accept`) | the product page: the node verifies its own bundle against its genesis and renders the verdict |
//!
//! Every answer carries `Vary: Accept`, `Cache-Control: no-cache` (a recall must not hide
//! behind a cache) and a `Link` header naming the other representations and the canonical
//! identifier.
//!
//! ## Errors
//!
//! JSON in the API's error shape; a browser at a resolver path gets the same status with an
//! HTML page instead.
//!
//! | status | code | meaning |
//! |---|---|---|
//! | 400 | `bad_identifier` | not an EPC URN, Digital Link or URI, or a malformed one (wrong check digit, ...) |
//! | 400 | `class_without_lot` | a bare GTIN names a product class, not one item: add AI 21 (serial) or AI 10 (lot) |
//! | 400 | `bad_query` | `scope` is not `upstream` or `downstream` |
//! | 404 | `not_found` | no finalised event names the product (an accepted event appears once its block is final) |
//! | 404 | `no_blocks_yet` | no block has been finalised, so nothing can be proven yet |
//! | 408 | `request_timeout` | assembling took longer than the node's request timeout |
//! | 422 | `too_many_events` | the story exceeds what one bundle carries (`MAX_BUNDLE_EVENTS`); the request is valid but cannot be answered with a bundle, so not a 413 (which is about request bodies) |
//! | 500 | `storage_error`, `internal_error` | the node failed; its log says why |
//!
//! A resolver path that is not a Digital Link at all (no GS1 primary key) is an unknown route:
//! `404 not_found` in JSON, as before. Paths under `/v1/` are never resolved.

use axum::extract::rejection::{PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use provenance_protocol::bundle::{
    AssembleError, ProvenanceBundle, Scope, Subject, SubjectError, TrustRoot, VerifyOptions,
};
use provenance_protocol::epcis::EpcisEvent;
use provenance_protocol::gs1::{self, GS1_RESOLVER};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::error::ApiError;
use super::read::{path_error, query_error, shown};
use super::{AppState, blocking, middleware, page};
use crate::service::{BundleError, NodeService};
use crate::store::StoreError;

/// The Digital Link paths in the route table (and so in the OpenAPI document). Every other
/// Digital Link path, prefixed ones included, reaches [`resolve`] through the router's fallback.
pub(super) const RESOLVER_PATHS: [&str; 3] = [
    "/01/{gtin}/21/{serial}",
    "/01/{gtin}/10/{lot}",
    "/00/{sscc}",
];

const JSON: &str = "application/json";
const CBOR: &str = "application/cbor";
const LINKSET: &str = "application/linkset+json";
const HTML: &str = "text/html; charset=utf-8";

/// What the product page may load: its own inline CSS and inline SVG, nothing else. The page
/// shows text from signed events, which anyone registered can write; it is escaped, and this
/// makes a slip in the escaping harmless.
const PAGE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
                        base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// GS1 Web Vocabulary link types of the linkset.
const GS1_VOC: &str = "https://gs1.org/voc/";
const OWL_SAME_AS: &str = "http://www.w3.org/2002/07/owl#sameAs";

/// The representations the node serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Representation {
    Html,
    Json,
    Cbor,
    Linkset,
}

impl Representation {
    fn media_type(self) -> &'static str {
        match self {
            Representation::Html => "text/html",
            Representation::Json => JSON,
            Representation::Cbor => CBOR,
            Representation::Linkset => LINKSET,
        }
    }
}

/// Picks the representation `accept` prefers among `offered` (in the server's order of
/// preference, which breaks ties). `None` when the header is absent or accepts none of them.
///
/// Each offered type takes the quality of the most specific media range that matches it
/// (`type/subtype` over `type/*` over `*/*`), as RFC 9110 §12.5.1 prescribes.
fn negotiate(accept: Option<&str>, offered: &[Representation]) -> Option<Representation> {
    let accept = accept?;
    let ranges: Vec<(&str, &str, u16)> = accept
        .split(',')
        .filter_map(|item| {
            let mut parts = item.split(';');
            let range = parts.next()?.trim();
            let (kind, sub) = range.split_once('/')?;
            let quality = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .map(quality)
                .next_back()
                .unwrap_or(1000);
            Some((kind.trim(), sub.trim(), quality))
        })
        .collect();
    let mut best: Option<(Representation, u16)> = None;
    for &offer in offered {
        let (kind, sub) = offer.media_type().split_once('/')?;
        let matched = ranges
            .iter()
            .filter_map(|&(k, s, q)| {
                let specificity = match (k, s) {
                    _ if k.eq_ignore_ascii_case(kind) && s.eq_ignore_ascii_case(sub) => 3,
                    (_, "*") if k.eq_ignore_ascii_case(kind) => 2,
                    ("*", "*") => 1,
                    _ => return None,
                };
                Some((specificity, q))
            })
            .max_by_key(|(specificity, _)| *specificity);
        if let Some((_, q)) = matched
            && q > 0
            && best.is_none_or(|(_, b)| q > b)
        {
            best = Some((offer, q));
        }
    }
    best.map(|(offer, _)| offer)
}

/// An RFC 9110 `qvalue` in thousandths; a malformed one counts as 1 (lenient, like browsers).
fn quality(text: &str) -> u16 {
    let text = text.trim();
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let fraction_ok = fraction.len() <= 3 && fraction.bytes().all(|b| b.is_ascii_digit());
    match whole {
        "0" if fraction_ok => format!("{fraction:0<3}").parse().unwrap_or(0),
        // "1", "1.000", and anything malformed.
        _ => 1000,
    }
}

fn accept_header(headers: &HeaderMap) -> Option<&str> {
    headers.get(header::ACCEPT).and_then(|v| v.to_str().ok())
}

// ---------------------------------------------------------------------------------------------
// Problems: one error, two shapes

/// An error of this module, rendered as the API's JSON error or as an HTML page.
#[derive(Debug)]
struct Problem {
    status: StatusCode,
    code: &'static str,
    /// Heading of the HTML page.
    title: &'static str,
    message: String,
}

impl Problem {
    fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            status,
            code,
            title,
            message: message.into(),
        }
    }

    fn api(self) -> ApiError {
        ApiError::new(self.status, self.code, self.message)
    }

    fn page(self) -> Response {
        let mut response =
            (self.status, page::render_problem(self.title, &self.message)).into_response();
        set(&mut response, header::CONTENT_TYPE, HTML);
        set(&mut response, header::CONTENT_SECURITY_POLICY, PAGE_CSP);
        response
    }

    fn respond(self, representation: Representation) -> Response {
        let mut response = match representation {
            Representation::Html => self.page(),
            _ => self.api().into_response(),
        };
        set(&mut response, header::VARY, "Accept");
        response
    }

    /// A storage failure: the detail goes to the log, not to the client.
    fn storage(error: &StoreError) -> Self {
        tracing::error!(%error, "storage error while assembling a bundle");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "storage_error",
            "The node could not read its ledger",
            "the node's storage failed to answer; retry later (the node operator can find the cause in the node's log)",
        )
    }

    fn internal() -> Self {
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "The node failed",
            "the node failed while preparing this answer; the node operator can find the cause in the node's log",
        )
    }
}

fn subject_problem(error: &SubjectError) -> Problem {
    match error {
        SubjectError::ClassWithoutLot { .. } => Problem::new(
            StatusCode::BAD_REQUEST,
            "class_without_lot",
            "This link names a product, not an item",
            format!(
                "{error}; a product page needs the serial number (/21/...) or the lot (/10/...)"
            ),
        ),
        _ => Problem::new(
            StatusCode::BAD_REQUEST,
            "bad_identifier",
            "This is not a valid product link",
            error.to_string(),
        ),
    }
}

fn assemble_problem(error: BundleError) -> Problem {
    match error {
        AssembleError::NoBlocksYet => Problem::new(
            StatusCode::NOT_FOUND,
            "no_blocks_yet",
            "Nothing is recorded yet",
            "no block has been finalised yet, so nothing can be proven; the first block follows the first accepted events",
        ),
        AssembleError::NotFound { subject } => Problem::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "Unknown product",
            format!(
                "no finalised event names {subject}; an accepted event appears here once its block is final"
            ),
        ),
        error @ AssembleError::TooManyEvents { .. } => Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "too_many_events",
            "This product's story is too long to show",
            format!(
                "{error}; ask for one item rather than a container it travelled in, or page through GET /v1/products/{{id}}/history"
            ),
        ),
        AssembleError::BadStoredEvent(what) => Problem::storage(&StoreError::Corrupt { what }),
        AssembleError::Source(error) => Problem::storage(&error),
        other => {
            tracing::error!(error = %other, "cannot assemble a bundle");
            Problem::internal()
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Links

/// `text` as one URL path segment (everything but RFC 3986 unreserved characters encoded).
fn encode_segment(text: &str) -> String {
    const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// Where the representations of one product live on this node, as path-absolute references
/// (the node does not know the origin it is reached under, and needs not).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ProductLinks {
    /// The canonical identifier (`https://id.gs1.org/...` or the URI as written).
    canonical: String,
    /// The product page: the resolver path it was asked at, or the canonical Digital Link's
    /// path; `None` for identifiers without a Digital Link form.
    page: Option<String>,
    bundle: String,
    history: String,
}

impl ProductLinks {
    fn new(subject: &Subject, page: Option<String>) -> Self {
        let canonical = subject.key().0.clone();
        let id = encode_segment(&canonical);
        let page = page.or_else(|| {
            canonical
                .strip_prefix(GS1_RESOLVER)
                .filter(|path| path.starts_with('/'))
                .map(str::to_owned)
        });
        ProductLinks {
            bundle: format!("/v1/products/{id}/bundle"),
            history: format!("/v1/products/{id}/history"),
            canonical,
            page,
        }
    }

    /// The RFC 8288 `Link` header.
    fn header(&self) -> String {
        let mut links = vec![
            format!("<{}>; rel=\"{OWL_SAME_AS}\"", self.canonical),
            format!(
                "<{}>; rel=\"{GS1_VOC}traceability\"; type=\"{JSON}\"",
                self.bundle
            ),
            format!("<{}>; rel=\"alternate\"; type=\"{CBOR}\"", self.bundle),
        ];
        if let Some(page) = &self.page {
            links.push(format!(
                "<{page}>; rel=\"{GS1_VOC}pip\"; type=\"text/html\""
            ));
            links.push(format!(
                "<{page}?linkType=linkset>; rel=\"linkset\"; type=\"{LINKSET}\""
            ));
        }
        links.join(", ")
    }

    /// The RFC 9264 linkset (JSON form), GS1 resolver style: link types are GS1 Web Vocabulary
    /// IRIs, the anchor is the canonical identifier.
    fn linkset(&self, certificates: &[String]) -> Value {
        let mut set = Map::new();
        set.insert("anchor".into(), json!(self.canonical));
        if let Some(page) = &self.page {
            let page_link = json!([{"href": page, "title": "Product page: the verified story", "type": "text/html"}]);
            set.insert(format!("{GS1_VOC}defaultLink"), page_link.clone());
            set.insert(format!("{GS1_VOC}pip"), page_link);
        }
        set.insert(
            format!("{GS1_VOC}traceability"),
            json!([
                {"href": self.bundle, "title": "Provenance bundle: the signed events with proofs", "type": JSON},
                {"href": self.bundle, "title": "Provenance bundle (CBOR)", "type": CBOR}
            ]),
        );
        set.insert(
            format!("{GS1_VOC}epcis"),
            json!([{"href": self.history, "title": "EPCIS events naming this product", "type": JSON}]),
        );
        if !certificates.is_empty() {
            set.insert(
                format!("{GS1_VOC}certificationInfo"),
                Value::Array(
                    certificates
                        .iter()
                        .map(|uri| json!({"href": uri, "title": "Certificate"}))
                        .collect(),
                ),
            );
        }
        json!({ "linkset": [Value::Object(set)] })
    }
}

/// The distinct http(s) certificate URIs of a bundle's events, in order of first appearance.
fn certificates(bundle: &ProvenanceBundle) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    for proven in &bundle.events {
        let Ok(value) = proven.record.event_json() else {
            continue;
        };
        let Ok(event) = EpcisEvent::from_value(&value) else {
            continue;
        };
        for uri in event.certification_info() {
            let web = uri.starts_with("https://") || uri.starts_with("http://");
            if web && !found.iter().any(|f| f == uri) {
                found.push(uri.to_owned());
            }
        }
    }
    found
}

fn set(response: &mut Response, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().insert(name, value);
    }
}

/// `bundle` (or its linkset) as `representation`, with the common headers.
fn respond(
    representation: Representation,
    bundle: &ProvenanceBundle,
    links: &ProductLinks,
    html: Option<String>,
) -> Result<Response, Problem> {
    let (body, content_type) = match representation {
        Representation::Json => (bundle.to_json().into_bytes(), JSON),
        Representation::Cbor => (bundle.to_cbor(), CBOR),
        Representation::Linkset => (
            serde_json::to_vec(&links.linkset(&certificates(bundle))).map_err(|e| {
                tracing::error!(error = %e, "cannot encode a linkset");
                Problem::internal()
            })?,
            LINKSET,
        ),
        Representation::Html => (html.unwrap_or_default().into_bytes(), HTML),
    };
    let mut response = (StatusCode::OK, body).into_response();
    set(&mut response, header::CONTENT_TYPE, content_type);
    set(&mut response, header::VARY, "Accept");
    set(&mut response, header::CACHE_CONTROL, "no-cache");
    set(&mut response, header::LINK, &links.header());
    if representation == Representation::Html {
        set(&mut response, header::CONTENT_SECURITY_POLICY, PAGE_CSP);
        set(&mut response, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    }
    Ok(response)
}

// ---------------------------------------------------------------------------------------------
// GET /v1/products/{id}/bundle

/// Query parameters of a bundle request.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BundleQuery {
    scope: Option<Scope>,
}

/// `GET /v1/products/{id}/bundle[?scope=upstream|downstream]`.
pub(super) async fn bundle(
    State(state): State<AppState>,
    path: Result<Path<String>, PathRejection>,
    query: Result<Query<BundleQuery>, QueryRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Path(id) = path.map_err(|r| path_error("bad_identifier", r))?;
    let Query(query) = query.map_err(query_error)?;
    let subject = Subject::parse(&id).map_err(|e| subject_problem(&e).api())?;
    let representation = negotiate(
        accept_header(&headers),
        &[Representation::Json, Representation::Cbor],
    )
    .unwrap_or(Representation::Json);
    let scope = query.scope.unwrap_or(Scope::Upstream);
    let service = state.service.clone();
    let links = ProductLinks::new(&subject, None);
    let bundle = blocking(move || {
        service
            .bundle(&subject, scope)
            .map_err(|e| assemble_problem(e).api())
    })
    .await?;
    respond(representation, &bundle, &links, None).map_err(Problem::api)
}

// ---------------------------------------------------------------------------------------------
// The Digital Link resolver

/// The host the resolver parses request paths under. Any valid one would do: the canonical
/// identifier never keeps it, and nothing is looked up there.
const PLACEHOLDER_ORIGIN: &str = "https://resolver.invalid";

/// What a request path asks the resolver for.
#[derive(Debug)]
enum Target {
    /// Not a Digital Link (or an API path): an unknown route.
    NotALink,
    /// A Digital Link that does not name one item, lot or logistic unit.
    Bad(Problem),
    Product(Subject),
}

impl Target {
    fn of(path: &str) -> Target {
        if path == "/v1" || path.starts_with("/v1/") {
            return Target::NotALink;
        }
        let link = format!("{PLACEHOLDER_ORIGIN}{path}");
        match gs1::parse_any_epc(&link) {
            Err(e) if e.is_not_gs1() => Target::NotALink,
            Err(e) => Target::Bad(Problem::new(
                StatusCode::BAD_REQUEST,
                "bad_identifier",
                "This is not a valid product link",
                format!("{} is not a valid GS1 Digital Link: {e}", shown(path)),
            )),
            Ok(_) => match Subject::parse(&link) {
                Ok(subject) => Target::Product(subject),
                Err(e) => Target::Bad(subject_problem(&e)),
            },
        }
    }
}

/// The representation GS1's `linkType` query parameter asks for, if it names one this node
/// serves: `all`/`linkset` the linkset, `gs1:pip` the page, `gs1:traceability` the bundle.
fn link_type(query: Option<&str>) -> Option<Representation> {
    let value = query?.split('&').find_map(|pair| {
        let (name, value) = pair.split_once('=')?;
        (name == "linkType").then(|| percent_decode_str(value).decode_utf8_lossy().into_owned())
    })?;
    let short = value
        .strip_prefix(GS1_VOC)
        .or_else(|| value.strip_prefix("gs1:"))
        .unwrap_or(&value);
    match short {
        "all" | "linkset" => Some(Representation::Linkset),
        "pip" | "defaultLink" => Some(Representation::Html),
        "traceability" | "epcis" => Some(Representation::Json),
        _ => None,
    }
}

/// Every GS1 Digital Link path, at the routes of [`RESOLVER_PATHS`] and as the router's
/// fallback (prefixed paths): the product in the representation the client prefers. Paths that
/// are not Digital Links answer `404 not_found` like any unknown route.
pub(super) async fn resolve(
    State(state): State<AppState>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let subject = match Target::of(uri.path()) {
        Target::NotALink => return middleware::not_found(method, uri).await.into_response(),
        _ if method != Method::GET && method != Method::HEAD => {
            return ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                format!(
                    "{method} is not allowed on {}; a product link answers GET and HEAD",
                    shown(uri.path())
                ),
            )
            .with_allow(Some(HeaderValue::from_static("GET,HEAD")))
            .into_response();
        }
        Target::Bad(problem) => return problem.respond(choose(&uri, &headers)),
        Target::Product(subject) => subject,
    };
    let representation = choose(&uri, &headers);
    let limit = state.limits.request_timeout;
    let node_url = node_url(&headers);
    let work = serve(
        state,
        subject,
        representation,
        uri.path().to_owned(),
        node_url,
    );
    match tokio::time::timeout(limit, work).await {
        Ok(Ok(response)) => response,
        Ok(Err(problem)) => problem.respond(representation),
        Err(_) => Problem::new(
            StatusCode::REQUEST_TIMEOUT,
            "request_timeout",
            "The node took too long",
            format!(
                "the answer took longer than {} ms; retry in a moment",
                limit.as_millis()
            ),
        )
        .respond(representation),
    }
}

/// This node's URL as the client reached it (`Host`), for the page's verify command. Only a
/// plain `host[:port]` is used; the page escapes it anyway, and nothing is decided by it.
fn node_url(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host.len() <= 255
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'));
    plain.then(|| format!("http://{host}"))
}

/// `linkType` first, then `Accept`; a browser, `*/*` and no preference get the page.
fn choose(uri: &Uri, headers: &HeaderMap) -> Representation {
    link_type(uri.query())
        .or_else(|| {
            negotiate(
                accept_header(headers),
                &[
                    Representation::Html,
                    Representation::Json,
                    Representation::Linkset,
                    Representation::Cbor,
                ],
            )
        })
        .unwrap_or(Representation::Html)
}

/// Assembles the upstream bundle (and for the page verifies it against this node's genesis
/// and renders the verdict) on a blocking thread.
async fn serve(
    state: AppState,
    subject: Subject,
    representation: Representation,
    path: String,
    node_url: Option<String>,
) -> Result<Response, Problem> {
    let links = ProductLinks::new(&subject, Some(path));
    let service = state.service.clone();
    let work = blocking(move || Ok(build(&service, &subject, representation, node_url)));
    let (bundle, html) = match work.await {
        Ok(result) => result?,
        // The task panicked or was cancelled (`blocking` logged it).
        Err(_) => return Err(Problem::internal()),
    };
    respond(representation, &bundle, &links, html)
}

fn build(
    service: &NodeService,
    subject: &Subject,
    representation: Representation,
    node_url: Option<String>,
) -> Result<(ProvenanceBundle, Option<String>), Problem> {
    let bundle = service
        .bundle(subject, Scope::Upstream)
        .map_err(assemble_problem)?;
    if representation != Representation::Html {
        return Ok((bundle, None));
    }
    let options = VerifyOptions {
        now_ms: Some(now_ms()),
        expected_subject: Some(subject.key().0.clone()),
        expected_scope: Some(Scope::Upstream),
        ..VerifyOptions::default()
    };
    let trust = TrustRoot::Genesis(Box::new(service.genesis().clone()));
    let verdict = provenance_protocol::bundle::verify(&bundle, &trust, &options);
    let html = page::render_with(&bundle, &verdict, &page::PageOptions { node_url });
    Ok((bundle, Some(html)))
}

fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use Representation::*;

    const RESOLVER: [Representation; 4] = [Html, Json, Linkset, Cbor];

    #[test]
    fn only_a_plain_host_names_the_node_on_the_page() {
        let with_host = |host: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::HOST, HeaderValue::from_str(host).unwrap());
            node_url(&headers)
        };
        assert_eq!(
            with_host("node.example:8080").as_deref(),
            Some("http://node.example:8080")
        );
        assert_eq!(with_host("[::1]:80").as_deref(), Some("http://[::1]:80"));
        assert_eq!(with_host("evil\"><script>"), None);
        assert_eq!(with_host("a b"), None);
        assert_eq!(node_url(&HeaderMap::new()), None);
    }

    #[test]
    fn accept_headers_pick_the_representation_by_quality_then_specificity() {
        let cases: &[(Option<&str>, Option<Representation>)] = &[
            (None, None),
            (Some("*/*"), Some(Html)),
            (Some("application/json"), Some(Json)),
            (Some("application/cbor"), Some(Cbor)),
            (Some("application/linkset+json"), Some(Linkset)),
            (Some("application/*"), Some(Json)),
            (
                Some("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"),
                Some(Html),
            ),
            (Some("application/json;q=0.5, application/cbor"), Some(Cbor)),
            (Some("text/html;q=0, */*"), Some(Json)),
            (Some("image/png"), None),
            (Some("APPLICATION/JSON"), Some(Json)),
            (
                Some("application/json; charset=utf-8; q=0.9, text/html; q=0.1"),
                Some(Json),
            ),
            (Some("garbage, ,;q=1"), None),
        ];
        for (accept, expected) in cases {
            assert_eq!(negotiate(*accept, &RESOLVER), *expected, "{accept:?}");
        }
        // The bundle endpoint offers only its two encodings.
        assert_eq!(negotiate(Some("*/*"), &[Json, Cbor]), Some(Json));
        assert_eq!(negotiate(Some("text/html"), &[Json, Cbor]), None);
    }

    #[test]
    fn qvalues_parse_leniently() {
        assert_eq!(quality("0.8"), 800);
        assert_eq!(quality("0.05"), 50);
        assert_eq!(quality("0"), 0);
        assert_eq!(quality("0.000"), 0);
        assert_eq!(quality("1"), 1000);
        assert_eq!(quality("1.000"), 1000);
        assert_eq!(quality("banana"), 1000);
        assert_eq!(quality("0.1234"), 1000);
    }

    #[test]
    fn link_type_wins_and_names_gs1_link_types() {
        assert_eq!(link_type(Some("linkType=all")), Some(Linkset));
        assert_eq!(link_type(Some("17=250101&linkType=gs1%3Apip")), Some(Html));
        assert_eq!(
            link_type(Some("linkType=https%3A%2F%2Fgs1.org%2Fvoc%2Ftraceability")),
            Some(Json)
        );
        assert_eq!(link_type(Some("linkType=gs1:recallStatus")), None);
        assert_eq!(link_type(None), None);
    }

    #[test]
    fn resolver_paths_resolve_with_or_without_a_prefix_and_api_paths_never() {
        let key = |path: &str| match Target::of(path) {
            Target::Product(subject) => subject.key().0.clone(),
            other => panic!("{path}: {other:?}"),
        };
        let item = "https://id.gs1.org/01/00614142045210/21/R1001";
        assert_eq!(key("/01/00614142045210/21/R1001"), item);
        assert_eq!(key("/shop/products/01/00614142045210/21/R1001"), item);
        assert_eq!(key("/01/614142045210/21/R1001"), item, "GTIN-12 is padded");
        assert!(matches!(
            Target::of("/01/00614142045210/10/LOT%2F7"),
            Target::Product(Subject::Lot { ref lot, .. }) if lot == "LOT/7"
        ));
        let sscc = Subject::parse("urn:epc:id:sscc:0614142.1000004001").unwrap();
        let sscc_path = sscc.key().0.strip_prefix(GS1_RESOLVER).unwrap();
        assert!(sscc_path.starts_with("/00/"), "{sscc_path}");
        assert_eq!(key(sscc_path), sscc.key().0);
        for not_a_link in [
            "/",
            "/favicon.ico",
            "/v1/nothing",
            "/v1/01/00614142045210/21/1",
        ] {
            assert!(
                matches!(Target::of(not_a_link), Target::NotALink),
                "{not_a_link}"
            );
        }
        let Target::Bad(problem) = Target::of("/01/00614142045218/21/R1001") else {
            panic!("a wrong check digit is a bad link");
        };
        assert_eq!(
            (problem.status, problem.code),
            (StatusCode::BAD_REQUEST, "bad_identifier")
        );
        let Target::Bad(problem) = Target::of("/01/00614142045210") else {
            panic!("a bare GTIN is a class");
        };
        assert_eq!(problem.code, "class_without_lot");
    }

    #[test]
    fn links_are_relative_to_this_node_and_the_linkset_follows_rfc_9264() {
        let subject = Subject::parse("urn:epc:id:sgtin:0614142.004521.R1001").unwrap();
        let links = ProductLinks::new(&subject, Some("/brand/01/00614142045210/21/R1001".into()));
        assert_eq!(
            links.bundle,
            "/v1/products/https%3A%2F%2Fid.gs1.org%2F01%2F00614142045210%2F21%2FR1001/bundle"
        );
        let header = links.header();
        assert!(
            header
                .contains("</brand/01/00614142045210/21/R1001?linkType=linkset>; rel=\"linkset\""),
            "{header}"
        );
        assert!(
            header.contains(&format!(
                "<{}>; rel=\"alternate\"; type=\"application/cbor\"",
                links.bundle
            )),
            "{header}"
        );
        HeaderValue::from_str(&header).unwrap();

        let set = links.linkset(&["https://cert.example/1".into()]);
        let context = &set["linkset"][0];
        assert_eq!(
            context["anchor"],
            "https://id.gs1.org/01/00614142045210/21/R1001"
        );
        assert_eq!(
            context["https://gs1.org/voc/pip"][0]["href"],
            "/brand/01/00614142045210/21/R1001"
        );
        assert_eq!(context["https://gs1.org/voc/traceability"][1]["type"], CBOR);
        assert_eq!(
            context["https://gs1.org/voc/certificationInfo"][0]["href"],
            "https://cert.example/1"
        );
        // Every link target is an object with an href (RFC 9264 §4.2.2).
        for (relation, targets) in context.as_object().unwrap() {
            if relation == "anchor" {
                continue;
            }
            for target in targets.as_array().unwrap() {
                assert!(target["href"].is_string(), "{relation}");
            }
        }

        // Without a resolver path, the page is the canonical link's path; a non-GS1 URI has none.
        let plain = ProductLinks::new(&subject, None);
        assert_eq!(plain.page.as_deref(), Some("/01/00614142045210/21/R1001"));
        let uuid = Subject::parse("urn:uuid:3b9c0a6e-7f0e-4f6b-9c2f-1a2b3c4d5e6f").unwrap();
        let none = ProductLinks::new(&uuid, None);
        assert_eq!(none.page, None);
        assert!(
            none.linkset(&[])["linkset"][0]
                .get("https://gs1.org/voc/pip")
                .is_none()
        );
    }

    #[test]
    fn problems_keep_their_status_and_code_in_both_shapes() {
        let problem = || {
            assemble_problem(AssembleError::NotFound {
                subject: "https://id.gs1.org/01/00614142045210/21/X".into(),
            })
        };
        let page = problem().respond(Html);
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
        assert_eq!(page.headers()[header::CONTENT_TYPE], HTML);
        let api = problem().respond(Json);
        assert_eq!(api.status(), StatusCode::NOT_FOUND);
        assert_eq!(api.headers()[header::CONTENT_TYPE], JSON);
        let too_many = assemble_problem(AssembleError::TooManyEvents {
            subject: "x".into(),
            limit: 1,
        });
        assert_eq!(
            (too_many.status, too_many.code),
            (StatusCode::UNPROCESSABLE_ENTITY, "too_many_events")
        );
        let storage = assemble_problem(AssembleError::Source(StoreError::Corrupt {
            what: "/secret/path".into(),
        }));
        assert_eq!(storage.code, "storage_error");
        assert!(!storage.message.contains("/secret/path"));
    }
}
