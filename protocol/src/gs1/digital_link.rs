//! GS1 Digital Link URIs (GS1 Digital Link standard 1.x, uncompressed form).
//!
//! A Digital Link is `scheme://domain[/any/prefix]/{primary AI}/{value}[/{qualifier AI}/{value}...][?attributes]`.
//! Brands put them on any domain, so parsing must not assume `id.gs1.org`: we locate the
//! primary key from the end of the path (the last primary-key AI at an even distance from the
//! end, so values that happen to look like AIs are never mistaken for one), keep whatever came
//! before it as the resolver, and validate every AI value against the GS1 formats.
//! [`DigitalLink::canonical_uri`] then gives one spelling per identity: `https://id.gs1.org`,
//! GTIN-14, qualifiers in standard order, values percent-encoded outside the RFC 3986
//! unreserved set, no query.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::ai::{KeyQualifier, PrimaryKey, UNSUPPORTED_PRIMARY_KEYS};
use super::escape::{dl_decode, dl_encode_into};
use super::keys::Gtin;
use super::value::ValueError;

/// GS1's own resolver; the domain of every canonical Digital Link.
pub const GS1_RESOLVER: &str = "https://id.gs1.org";

/// Why a string is not a valid GS1 Digital Link URI.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DigitalLinkError {
    /// Not an `http://` or `https://` URI.
    #[error("not a GS1 Digital Link: the URI scheme must be http or https, found {found:?}")]
    UnsupportedScheme {
        /// The scheme found (empty if there was no `://`).
        found: String,
    },
    /// The domain part is missing or malformed.
    #[error("invalid domain {host:?} in Digital Link: {reason}")]
    InvalidHost {
        /// The authority as written.
        host: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The resolver path prefix (before the primary key) has characters not allowed in a URI path.
    #[error(
        "invalid path prefix {prefix:?} before the primary key: character {ch:?} is not allowed in a URI path"
    )]
    InvalidPathPrefix {
        /// The prefix as written.
        prefix: String,
        /// The offending character.
        ch: char,
    },
    /// A `#fragment` was present; it is not part of an identifier.
    #[error("a GS1 Digital Link used as an identifier must not have a fragment (#{fragment})")]
    Fragment {
        /// The fragment after `#`.
        fragment: String,
    },
    /// The path holds no `/{primary key AI}/{value}` pair.
    #[error(
        "no GS1 primary key found in path {path:?} (expected e.g. /01/<GTIN>, /00/<SSCC>, \
         /414/<GLN>, /8004/<GIAI>)"
    )]
    NoPrimaryKey {
        /// The path as written.
        path: String,
    },
    /// The path ends with an AI that has no value segment.
    #[error("AI {ai} at the end of the path has no value")]
    MissingValue {
        /// The AI.
        ai: String,
    },
    /// A GS1 primary key this module does not implement.
    #[error("GS1 primary key AI {ai} ({name}) is not supported")]
    UnsupportedPrimaryKey {
        /// The AI.
        ai: &'static str,
        /// Its name.
        name: &'static str,
    },
    /// A numeric path segment after the primary key that is not a key-qualifier AI.
    #[error(
        "unknown key qualifier AI {ai:?} after primary key {primary}; data attributes \
         (e.g. 17 expiry date) belong in the query string"
    )]
    UnknownAi {
        /// The segment as written.
        ai: String,
        /// The primary key.
        primary: PrimaryKey,
    },
    /// A non-numeric path segment after the primary key.
    #[error(
        "path segment {segment:?} after primary key {primary} is not an Application Identifier"
    )]
    UnexpectedSegment {
        /// The segment as written.
        segment: String,
        /// The primary key.
        primary: PrimaryKey,
    },
    /// A key qualifier that the primary key does not take.
    #[error(
        "key qualifier {qualifier} is not allowed after primary key {primary} (allowed: {allowed})"
    )]
    QualifierNotAllowed {
        /// The qualifier.
        qualifier: KeyQualifier,
        /// The primary key.
        primary: PrimaryKey,
        /// The allowed qualifier sequences in words.
        allowed: String,
    },
    /// The same key qualifier twice.
    #[error("key qualifier {qualifier} appears more than once")]
    DuplicateQualifier {
        /// The repeated qualifier.
        qualifier: KeyQualifier,
    },
    /// Key qualifiers out of the standard order.
    #[error("key qualifier {qualifier} must come before {after} (order after {primary}: {order})")]
    QualifierOrder {
        /// The qualifier that is too late.
        qualifier: KeyQualifier,
        /// The qualifier it was found after.
        after: KeyQualifier,
        /// The primary key.
        primary: PrimaryKey,
        /// The required order in words.
        order: String,
    },
    /// Two key qualifiers from mutually exclusive sequences (e.g. `21` and `235` on a GTIN).
    #[error("key qualifiers {first} and {second} cannot be combined after primary key {primary}")]
    IncompatibleQualifiers {
        /// The first qualifier.
        first: KeyQualifier,
        /// The conflicting qualifier.
        second: KeyQualifier,
        /// The primary key.
        primary: PrimaryKey,
    },
    /// A path value fails its AI's format.
    #[error("AI {ai} ({name}) value {source}")]
    InvalidValue {
        /// The AI.
        ai: &'static str,
        /// Its name.
        name: &'static str,
        /// What is wrong with the (percent-decoded) value.
        source: ValueError,
    },
    /// A query-string part could not be percent-decoded.
    #[error("query parameter {part:?}: {source}")]
    InvalidQuery {
        /// The `key=value` part as written.
        part: String,
        /// The decoding problem.
        source: ValueError,
    },
}

/// A parsed GS1 Digital Link: resolver, primary key, key qualifiers and query attributes.
///
/// Values are stored percent-decoded and validated; [`fmt::Display`] re-encodes them.
/// `DigitalLink::parse(&x.to_string()) == Ok(x)` holds for every value.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DigitalLink {
    /// `scheme://domain[/prefix]`, scheme and domain lower-cased, no trailing `/`.
    resolver: String,
    primary: PrimaryKey,
    /// Canonical primary key value (GTIN-14 for AI 01).
    key: String,
    /// In standard order.
    qualifiers: Vec<(KeyQualifier, String)>,
    /// Query parameters in the order given, percent-decoded.
    attributes: Vec<(String, String)>,
}

impl DigitalLink {
    /// Parses a Digital Link URI on any http(s) domain.
    pub fn parse(uri: &str) -> Result<Self, DigitalLinkError> {
        if let Some((_, fragment)) = uri.split_once('#') {
            return Err(DigitalLinkError::Fragment {
                fragment: fragment.to_owned(),
            });
        }
        let (without_query, query) = match uri.split_once('?') {
            Some((a, q)) => (a, Some(q)),
            None => (uri, None),
        };
        let (origin, path) = split_origin(without_query)?;
        let mut segments: Vec<&str> = match path.strip_prefix('/') {
            Some(p) => p.split('/').collect(),
            None => Vec::new(),
        };
        if segments.last() == Some(&"") {
            segments.pop(); // one trailing slash is tolerated
        }
        let start = find_primary(&segments, path)?;
        let (prefix, tail) = segments.split_at(start);
        let mut resolver = origin;
        for p in prefix {
            check_path_prefix(p)?;
            resolver.push('/');
            resolver.push_str(p);
        }
        let (primary, key, qualifiers) = parse_ai_path(tail)?;
        let attributes = match query {
            Some(q) => parse_query(q)?,
            None => Vec::new(),
        };
        Ok(Self {
            resolver,
            primary,
            key,
            qualifiers,
            attributes,
        })
    }

    /// A Digital Link on `https://id.gs1.org` with just a primary key.
    /// GTIN-8/12/13 are accepted and padded to GTIN-14.
    pub fn new(primary: PrimaryKey, value: &str) -> Result<Self, DigitalLinkError> {
        let key = primary
            .normalise(value)
            .map_err(|source| DigitalLinkError::InvalidValue {
                ai: primary.ai(),
                name: primary.name(),
                source,
            })?;
        Ok(Self {
            resolver: GS1_RESOLVER.to_owned(),
            primary,
            key,
            qualifiers: Vec::new(),
            attributes: Vec::new(),
        })
    }

    /// Adds a key qualifier, placing it in standard order. Fails if the primary key does not
    /// take it, it is already present, or it conflicts with one present.
    pub fn with_qualifier(
        mut self,
        qualifier: KeyQualifier,
        value: &str,
    ) -> Result<Self, DigitalLinkError> {
        let value = normalise_qualifier(qualifier, value)?;
        self.qualifiers.push((qualifier, value));
        let rank = |q: KeyQualifier| {
            self.primary
                .qualifier_sequences()
                .iter()
                .find_map(|s| s.iter().position(|x| *x == q))
                .unwrap_or(usize::MAX)
        };
        let mut sorted = self.qualifiers.clone();
        sorted.sort_by_key(|(q, _)| rank(*q));
        check_qualifiers(self.primary, &sorted)?;
        self.qualifiers = drop_empty_gln_extension(sorted);
        Ok(self)
    }

    /// Appends a query attribute (a data attribute such as `17`, or e.g. `linkType`).
    pub fn with_attribute(mut self, name: &str, value: &str) -> Self {
        self.attributes.push((name.to_owned(), value.to_owned()));
        self
    }

    /// The same identifier on another resolver: `http(s)://domain[/path/prefix]`.
    /// A trailing `/` is ignored; a query or fragment is rejected.
    pub fn with_resolver(mut self, resolver: &str) -> Result<Self, DigitalLinkError> {
        if let Some((_, fragment)) = resolver.split_once('#') {
            return Err(DigitalLinkError::Fragment {
                fragment: fragment.to_owned(),
            });
        }
        if resolver.contains('?') {
            return Err(DigitalLinkError::InvalidPathPrefix {
                prefix: resolver.to_owned(),
                ch: '?',
            });
        }
        let (mut origin, path) = split_origin(resolver.trim_end_matches('/'))?;
        if let Some(p) = path.strip_prefix('/') {
            for segment in p.split('/') {
                check_path_prefix(segment)?;
            }
            origin.push_str(path);
        }
        self.resolver = origin;
        Ok(self)
    }

    /// `scheme://domain[/prefix]` this link was written against.
    pub fn resolver(&self) -> &str {
        &self.resolver
    }

    /// The primary key.
    pub fn primary_key(&self) -> PrimaryKey {
        self.primary
    }

    /// The primary key's value (GTIN-14 for AI 01).
    pub fn primary_value(&self) -> &str {
        &self.key
    }

    /// Key qualifiers in standard order, values decoded.
    pub fn qualifiers(&self) -> &[(KeyQualifier, String)] {
        &self.qualifiers
    }

    /// The value of one key qualifier.
    pub fn qualifier(&self, qualifier: KeyQualifier) -> Option<&str> {
        self.qualifiers
            .iter()
            .find(|(q, _)| *q == qualifier)
            .map(|(_, v)| v.as_str())
    }

    /// Query attributes in the order given, decoded.
    pub fn attributes(&self) -> &[(String, String)] {
        &self.attributes
    }

    /// The first query attribute with this name.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The GTIN when the primary key is AI 01.
    pub fn gtin(&self) -> Option<Gtin> {
        match self.primary {
            PrimaryKey::Gtin => self.key.parse().ok(),
            _ => None,
        }
    }

    /// Batch/lot (AI 10).
    pub fn lot(&self) -> Option<&str> {
        self.qualifier(KeyQualifier::Lot)
    }

    /// Serial number (AI 21).
    pub fn serial(&self) -> Option<&str> {
        self.qualifier(KeyQualifier::Serial)
    }

    /// The path `/{AI}/{value}...` with canonical percent-encoding.
    pub fn path(&self) -> String {
        let mut s = String::with_capacity(64);
        push_pair(&mut s, self.primary.ai(), &self.key);
        for (q, v) in &self.qualifiers {
            push_pair(&mut s, q.ai(), v);
        }
        s
    }

    /// The canonical identity URI: on `https://id.gs1.org`, GTIN-14, qualifiers in standard
    /// order, canonical percent-encoding, and no query (data attributes describe, they do not
    /// identify).
    pub fn canonical_uri(&self) -> String {
        format!("{GS1_RESOLVER}{}", self.path())
    }

    /// The same link on `https://id.gs1.org` without query attributes (qualifiers kept):
    /// the parsed form of [`Self::canonical_uri`].
    pub fn to_canonical(&self) -> Self {
        Self {
            resolver: GS1_RESOLVER.to_owned(),
            primary: self.primary,
            key: self.key.clone(),
            qualifiers: self.qualifiers.clone(),
            attributes: Vec::new(),
        }
    }

    /// The identity of the thing this link names, for indexing: the canonical form with the
    /// resolver set to `id.gs1.org`, no attributes, and, when a serial (AI 21) is present, no
    /// lot (10) or variant (22), because GTIN + serial is unique on its own (GS1 General
    /// Specifications) and EPC URNs (SGTIN) never carry them.
    pub(crate) fn identity(&self) -> Self {
        let serialised = self.qualifier(KeyQualifier::Serial).is_some();
        Self {
            resolver: GS1_RESOLVER.to_owned(),
            primary: self.primary,
            key: self.key.clone(),
            qualifiers: self
                .qualifiers
                .iter()
                .filter(|(q, _)| !serialised || !matches!(q, KeyQualifier::Lot | KeyQualifier::Cpv))
                .cloned()
                .collect(),
            attributes: Vec::new(),
        }
    }
}

fn push_pair(s: &mut String, ai: &str, value: &str) {
    s.push('/');
    s.push_str(ai);
    s.push('/');
    dl_encode_into(value, s);
}

/// TDS uses GLN extension `0` to mean "no extension", so `/254/0` and no `/254` are the same
/// location. We keep one spelling (none) so that the two never become two ledger keys.
fn drop_empty_gln_extension(q: Vec<(KeyQualifier, String)>) -> Vec<(KeyQualifier, String)> {
    q.into_iter()
        .filter(|(k, v)| !(*k == KeyQualifier::GlnExtension && v == "0"))
        .collect()
}

/// Splits `scheme://authority/path` into the normalised origin and the raw path.
fn split_origin(s: &str) -> Result<(String, &str), DigitalLinkError> {
    let Some((scheme, rest)) = s.split_once("://") else {
        let found = s.split_once(':').map_or("", |(sch, _)| sch);
        return Err(DigitalLinkError::UnsupportedScheme {
            found: found.to_owned(),
        });
    };
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Err(DigitalLinkError::UnsupportedScheme { found: scheme });
    }
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let bad = |reason| DigitalLinkError::InvalidHost {
        host: authority.to_owned(),
        reason,
    };
    if authority.is_empty() {
        return Err(bad("the domain is empty"));
    }
    if authority.contains('@') {
        return Err(bad("user information (user@) is not allowed"));
    }
    if !authority
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '[' | ']'))
    {
        return Err(bad(
            "only letters, digits, '-', '.', ':' (port) and [ ] (IPv6) are allowed",
        ));
    }
    Ok((
        format!("{scheme}://{}", authority.to_ascii_lowercase()),
        path,
    ))
}

/// A resolver path segment must be valid URI path text (RFC 3986 `pchar`, escapes well formed).
fn check_path_prefix(segment: &str) -> Result<(), DigitalLinkError> {
    let bad = |ch| DigitalLinkError::InvalidPathPrefix {
        prefix: segment.to_owned(),
        ch,
    };
    if let Some(ch) = segment
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-._~!$&'()*+,;=:@%".contains(*c)))
    {
        return Err(bad(ch));
    }
    dl_decode(segment).map_err(|_| bad('%'))?;
    Ok(())
}

/// Index of the primary key AI: the last segment naming a primary key with an even number of
/// segments from it to the end (AI/value pairs only).
fn find_primary(segments: &[&str], path: &str) -> Result<usize, DigitalLinkError> {
    let n = segments.len();
    let at_pair_start = |i: usize| (n - i).is_multiple_of(2);
    for (i, s) in segments.iter().enumerate().rev() {
        if !at_pair_start(i) {
            continue;
        }
        if PrimaryKey::from_ai(s).is_some() {
            return Ok(i);
        }
        if let Some((ai, name)) = UNSUPPORTED_PRIMARY_KEYS.iter().find(|(ai, _)| ai == s) {
            return Err(DigitalLinkError::UnsupportedPrimaryKey { ai, name });
        }
    }
    match segments.last() {
        Some(last)
            if PrimaryKey::from_ai(last).is_some() || KeyQualifier::from_ai(last).is_some() =>
        {
            Err(DigitalLinkError::MissingValue {
                ai: (*last).to_owned(),
            })
        }
        _ => Err(DigitalLinkError::NoPrimaryKey {
            path: path.to_owned(),
        }),
    }
}

type AiPath = (PrimaryKey, String, Vec<(KeyQualifier, String)>);

/// Parses `[primary AI, value, (qualifier AI, value)*]`.
fn parse_ai_path(tail: &[&str]) -> Result<AiPath, DigitalLinkError> {
    let mut pairs = tail.chunks_exact(2);
    let (primary, key) = match pairs.next() {
        Some([ai, raw]) => {
            let primary =
                PrimaryKey::from_ai(ai).ok_or_else(|| DigitalLinkError::NoPrimaryKey {
                    path: tail.join("/"),
                })?;
            let invalid = |source| DigitalLinkError::InvalidValue {
                ai: primary.ai(),
                name: primary.name(),
                source,
            };
            let decoded = dl_decode(raw).map_err(invalid)?;
            (primary, primary.normalise(&decoded).map_err(invalid)?)
        }
        _ => {
            return Err(DigitalLinkError::NoPrimaryKey {
                path: tail.join("/"),
            });
        }
    };
    let mut qualifiers = Vec::new();
    for pair in pairs {
        let [ai, raw] = pair else { continue };
        let Some(q) = KeyQualifier::from_ai(ai) else {
            return Err(
                if !ai.is_empty() && ai.bytes().all(|b| b.is_ascii_digit()) {
                    DigitalLinkError::UnknownAi {
                        ai: (*ai).to_owned(),
                        primary,
                    }
                } else {
                    DigitalLinkError::UnexpectedSegment {
                        segment: (*ai).to_owned(),
                        primary,
                    }
                },
            );
        };
        let decoded = dl_decode(raw).map_err(|source| DigitalLinkError::InvalidValue {
            ai: q.ai(),
            name: q.name(),
            source,
        })?;
        qualifiers.push((q, normalise_qualifier(q, &decoded)?));
    }
    check_qualifiers(primary, &qualifiers)?;
    Ok((primary, key, drop_empty_gln_extension(qualifiers)))
}

fn normalise_qualifier(q: KeyQualifier, value: &str) -> Result<String, DigitalLinkError> {
    q.normalise(value)
        .map_err(|source| DigitalLinkError::InvalidValue {
            ai: q.ai(),
            name: q.name(),
            source,
        })
}

fn describe_sequences(primary: PrimaryKey) -> String {
    let seqs = primary.qualifier_sequences();
    if seqs.is_empty() {
        return "none".to_owned();
    }
    seqs.iter()
        .map(|s| s.iter().map(|q| q.ai()).collect::<Vec<_>>().join(", "))
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Checks qualifiers against the primary key's allowed sequences, naming the first problem.
fn check_qualifiers(
    primary: PrimaryKey,
    qualifiers: &[(KeyQualifier, String)],
) -> Result<(), DigitalLinkError> {
    let seqs = primary.qualifier_sequences();
    let qs: Vec<KeyQualifier> = qualifiers.iter().map(|(q, _)| *q).collect();
    for (i, q) in qs.iter().enumerate() {
        if !seqs.iter().any(|s| s.contains(q)) {
            return Err(DigitalLinkError::QualifierNotAllowed {
                qualifier: *q,
                primary,
                allowed: describe_sequences(primary),
            });
        }
        if qs.get(..i).is_some_and(|before| before.contains(q)) {
            return Err(DigitalLinkError::DuplicateQualifier { qualifier: *q });
        }
    }
    for (i, a) in qs.iter().enumerate() {
        for b in qs.iter().skip(i + 1) {
            if !seqs.iter().any(|s| s.contains(a) && s.contains(b)) {
                return Err(DigitalLinkError::IncompatibleQualifiers {
                    first: *a,
                    second: *b,
                    primary,
                });
            }
        }
    }
    // All qualifiers now sit in one sequence; check their order within it.
    if let Some(seq) = qs
        .first()
        .and_then(|first| seqs.iter().find(|s| s.contains(first)))
    {
        let pos = |q: &KeyQualifier| seq.iter().position(|x| x == q).unwrap_or(usize::MAX);
        for w in qs.windows(2) {
            if let [a, b] = w
                && pos(a) > pos(b)
            {
                return Err(DigitalLinkError::QualifierOrder {
                    qualifier: *b,
                    after: *a,
                    primary,
                    order: seq.iter().map(|q| q.ai()).collect::<Vec<_>>().join(", "),
                });
            }
        }
    }
    Ok(())
}

fn parse_query(query: &str) -> Result<Vec<(String, String)>, DigitalLinkError> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|part| {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            let decode = |s| {
                dl_decode(s).map_err(|source| DigitalLinkError::InvalidQuery {
                    part: part.to_owned(),
                    source,
                })
            };
            Ok((decode(k)?, decode(v)?))
        })
        .collect()
}

impl FromStr for DigitalLink {
    type Err = DigitalLinkError;
    fn from_str(s: &str) -> Result<Self, DigitalLinkError> {
        Self::parse(s)
    }
}

impl fmt::Display for DigitalLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = self.resolver.clone();
        s.push_str(&self.path());
        for (i, (k, v)) in self.attributes.iter().enumerate() {
            s.push(if i == 0 { '?' } else { '&' });
            dl_encode_into(k, &mut s);
            s.push('=');
            dl_encode_into(v, &mut s);
        }
        f.write_str(&s)
    }
}

impl TryFrom<String> for DigitalLink {
    type Error = DigitalLinkError;
    fn try_from(s: String) -> Result<Self, DigitalLinkError> {
        Self::parse(&s)
    }
}

impl From<DigitalLink> for String {
    fn from(d: DigitalLink) -> String {
        d.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gs1::check_digit::KeyError;

    fn dl(s: &str) -> DigitalLink {
        DigitalLink::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn err(s: &str) -> DigitalLinkError {
        DigitalLink::parse(s).unwrap_err()
    }

    #[test]
    fn gtin_with_qualifiers_and_query() {
        let d = dl(
            "https://id.gs1.org/01/09506000134352/10/ABC123/21/12345?17=261231&linkType=gs1:pip",
        );
        assert_eq!(d.primary_key(), PrimaryKey::Gtin);
        assert_eq!(d.primary_value(), "09506000134352");
        assert_eq!(d.lot(), Some("ABC123"));
        assert_eq!(d.serial(), Some("12345"));
        assert_eq!(d.attribute("17"), Some("261231"));
        assert_eq!(d.attribute("linkType"), Some("gs1:pip"));
        assert_eq!(
            d.canonical_uri(),
            "https://id.gs1.org/01/09506000134352/10/ABC123/21/12345"
        );
        assert_eq!(
            d.to_string(),
            "https://id.gs1.org/01/09506000134352/10/ABC123/21/12345?17=261231&linkType=gs1%3Apip"
        );
    }

    #[test]
    fn custom_domain_prefix_trailing_slash_and_case() {
        let d = dl("HTTPS://Example.COM/some/prefix/01/9506000134352/21/abc/");
        assert_eq!(d.resolver(), "https://example.com/some/prefix");
        assert_eq!(d.gtin().unwrap().as_str(), "09506000134352");
        assert_eq!(
            d.to_string(),
            "https://example.com/some/prefix/01/09506000134352/21/abc"
        );
        assert_eq!(
            d.canonical_uri(),
            "https://id.gs1.org/01/09506000134352/21/abc"
        );
    }

    #[test]
    fn prefix_segments_that_look_like_ais() {
        let d = dl("https://example.com/01/x/414/01/09506000134352/21/01");
        assert_eq!(d.resolver(), "https://example.com/01/x/414");
        assert_eq!(d.serial(), Some("01"));
        let d = dl("https://example.com/8004/414");
        assert_eq!(d.primary_key(), PrimaryKey::Giai);
        assert_eq!(d.primary_value(), "414");
    }

    #[test]
    fn gtin8_12_13_padded() {
        for (v, want) in [
            ("40123455", "00000040123455"),
            ("614141000036", "00614141000036"),
            ("4012345999990", "04012345999990"),
        ] {
            assert_eq!(
                dl(&format!("http://id.gs1.org/01/{v}")).primary_value(),
                want
            );
        }
    }

    #[test]
    fn percent_decoding_and_canonical_encoding() {
        let d = dl("https://id.gs1.org/01/09506000134352/21/ab%2Fc%2d!");
        assert_eq!(d.serial(), Some("ab/c-!"));
        assert_eq!(
            d.canonical_uri(),
            "https://id.gs1.org/01/09506000134352/21/ab%2Fc-%21"
        );
    }

    #[test]
    fn every_primary_key() {
        for s in [
            "https://id.gs1.org/00/106141411234567897",
            "https://id.gs1.org/414/4012345000054/254/5",
            "https://id.gs1.org/417/4012345000009",
            "https://id.gs1.org/8003/04012345555554987",
            "https://id.gs1.org/8004/4000001111",
            "https://id.gs1.org/8018/061414100000102534",
            "https://id.gs1.org/8017/061414100000102534/8019/1",
            "https://id.gs1.org/253/4012345000054987",
            "https://id.gs1.org/255/40123450000541234",
            "https://id.gs1.org/401/0614141xyz47%2F11",
            "https://id.gs1.org/402/06141411234567890",
            "https://id.gs1.org/8006/040123451111180102/22/V1/10/L1/21/S1",
            "https://id.gs1.org/8010/0614141AB%23%2F-1/8011/123",
            "https://id.gs1.org/01/04012345111118/235/tpx1",
            "https://id.gs1.org/414/4012345000054/7040/1ABC",
        ] {
            assert_eq!(dl(s).to_string(), s);
        }
    }

    #[test]
    fn gln_extension_zero_means_none() {
        let d = dl("https://id.gs1.org/414/4012345000054/254/0");
        assert_eq!(d.qualifiers(), &[]);
        assert_eq!(d.to_string(), "https://id.gs1.org/414/4012345000054");
    }

    #[test]
    fn qualifier_errors_name_the_ai() {
        assert_eq!(
            err("https://id.gs1.org/01/09506000134352/21/S/10/L"),
            DigitalLinkError::QualifierOrder {
                qualifier: KeyQualifier::Lot,
                after: KeyQualifier::Serial,
                primary: PrimaryKey::Gtin,
                order: "22, 10, 21".into()
            }
        );
        assert_eq!(
            err("https://id.gs1.org/01/09506000134352/99/x"),
            DigitalLinkError::UnknownAi {
                ai: "99".into(),
                primary: PrimaryKey::Gtin
            }
        );
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352/254/x"),
            DigitalLinkError::QualifierNotAllowed {
                qualifier: KeyQualifier::GlnExtension,
                ..
            }
        ));
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352/21/a/21/b"),
            DigitalLinkError::DuplicateQualifier {
                qualifier: KeyQualifier::Serial
            }
        ));
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352/21/a/235/b"),
            DigitalLinkError::IncompatibleQualifiers { .. }
        ));
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352/foo/bar"),
            DigitalLinkError::UnexpectedSegment { .. }
        ));
        let msg = err("https://id.gs1.org/01/09506000134352/21/S/10/L").to_string();
        assert!(msg.contains("10 (batch/lot) must come before 21"), "{msg}");
    }

    #[test]
    fn value_errors() {
        assert_eq!(
            err("https://id.gs1.org/01/09506000134353"),
            DigitalLinkError::InvalidValue {
                ai: "01",
                name: "GTIN",
                source: ValueError::Key(KeyError::BadCheckDigit {
                    key: "GTIN",
                    expected: 2,
                    found: 3
                })
            }
        );
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352/21/a%20b"),
            DigitalLinkError::InvalidValue {
                ai: "21",
                source: ValueError::IllegalCharacter { ch: ' ', .. },
                ..
            }
        ));
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352/21/"),
            DigitalLinkError::MissingValue { .. }
        ));
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352/21//"),
            DigitalLinkError::InvalidValue {
                source: ValueError::Empty,
                ..
            }
        ));
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352/21/%zz"),
            DigitalLinkError::InvalidValue {
                source: ValueError::BadEscape { .. },
                ..
            }
        ));
    }

    #[test]
    fn structural_errors() {
        assert!(matches!(
            err("ftp://id.gs1.org/01/09506000134352"),
            DigitalLinkError::UnsupportedScheme { .. }
        ));
        assert!(matches!(
            err("urn:epc:id:sgtin:0614141.107346.2017"),
            DigitalLinkError::UnsupportedScheme { .. }
        ));
        assert!(matches!(
            err("https:///01/09506000134352"),
            DigitalLinkError::InvalidHost { .. }
        ));
        assert!(matches!(
            err("https://u@x.com/01/09506000134352"),
            DigitalLinkError::InvalidHost { .. }
        ));
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352#frag"),
            DigitalLinkError::Fragment { .. }
        ));
        assert!(matches!(
            err("https://id.example.org/document1"),
            DigitalLinkError::NoPrimaryKey { .. }
        ));
        assert!(matches!(
            err("https://id.gs1.org/01"),
            DigitalLinkError::MissingValue { .. }
        ));
        assert!(matches!(
            err("https://id.gs1.org/8013/ABC"),
            DigitalLinkError::UnsupportedPrimaryKey { ai: "8013", .. }
        ));
        assert!(matches!(
            err("https://x.com/a b/01/09506000134352"),
            DigitalLinkError::InvalidPathPrefix { ch: ' ', .. }
        ));
    }

    #[test]
    fn builder_orders_qualifiers() {
        let d = DigitalLink::new(PrimaryKey::Gtin, "9506000134352")
            .unwrap()
            .with_qualifier(KeyQualifier::Serial, "S/1")
            .unwrap()
            .with_qualifier(KeyQualifier::Lot, "L1")
            .unwrap()
            .with_attribute("17", "261231")
            .with_resolver("https://example.com/dl/")
            .unwrap();
        assert_eq!(
            d.to_string(),
            "https://example.com/dl/01/09506000134352/10/L1/21/S%2F1?17=261231"
        );
        assert_eq!(DigitalLink::parse(&d.to_string()).unwrap(), d);
        assert!(
            DigitalLink::new(PrimaryKey::Sscc, "106141411234567897")
                .unwrap()
                .with_qualifier(KeyQualifier::Serial, "1")
                .is_err()
        );
        assert!(
            DigitalLink::new(PrimaryKey::Gtin, "09506000134352")
                .unwrap()
                .with_resolver("https://x.com/?q")
                .is_err()
        );
    }

    #[test]
    fn query_edge_cases() {
        let d = dl("https://id.gs1.org/01/09506000134352?&17=261231&&flag&a%26b=c%3Dd");
        assert_eq!(
            d.attributes(),
            &[
                ("17".to_owned(), "261231".to_owned()),
                ("flag".to_owned(), String::new()),
                ("a&b".to_owned(), "c=d".to_owned())
            ]
        );
        assert_eq!(DigitalLink::parse(&d.to_string()).unwrap(), d);
        assert!(matches!(
            err("https://id.gs1.org/01/09506000134352?17=%2"),
            DigitalLinkError::InvalidQuery { .. }
        ));
    }

    #[test]
    fn serde_as_uri_string() {
        let d = dl("https://id.gs1.org/00/106141411234567897");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "\"https://id.gs1.org/00/106141411234567897\"");
        assert_eq!(serde_json::from_str::<DigitalLink>(&json).unwrap(), d);
    }
}
