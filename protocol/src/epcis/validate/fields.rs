//! Checks of individual members: JSON types, URIs, times, numbers, code lists, extension keys.
//!
//! Every function reports into a [`Checker`] and returns what later cross-field rules need
//! (the parsed value, or `None` when it was unusable), so one pass finds every problem.

use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::ProblemKind;
use crate::epcis::context::{NamespaceScope, PrefixIssue, inspect_context};
use crate::epcis::path;
use crate::epcis::timestamp::{TimeZoneOffset, TimestampError, parse_timestamp};
use crate::epcis::uri::{self, Quoted, UriError};
use crate::epcis::vocab::{VocabError, Vocabulary};

/// Deepest nesting of extension content the validator follows.
const MAX_EXTENSION_DEPTH: usize = 64;

/// Collects problems.
#[derive(Debug, Default)]
pub(crate) struct Checker {
    pub(crate) problems: Vec<super::Problem>,
}

impl Checker {
    pub(crate) fn report(
        &mut self,
        path: impl Into<String>,
        kind: ProblemKind,
        message: impl Into<String>,
    ) {
        self.problems.push(super::Problem {
            path: path.into(),
            kind,
            message: message.into(),
        });
    }
}

/// Whether an object admits namespaced user extensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Openness {
    /// Extension point: namespaced keys allowed.
    Open,
    /// `additionalProperties: false` in the EPCIS schema.
    Closed,
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn wrong_type(ck: &mut Checker, at: &str, expected: &str, found: &Value) {
    ck.report(
        at,
        ProblemKind::WrongType,
        format!("must be {expected}, found {}", json_type(found)),
    );
}

pub(crate) fn expect_string<'v>(ck: &mut Checker, at: &str, value: &'v Value) -> Option<&'v str> {
    match value {
        Value::String(s) => Some(s),
        other => {
            wrong_type(ck, at, "a string", other);
            None
        }
    }
}

pub(crate) fn expect_object<'v>(
    ck: &mut Checker,
    at: &str,
    value: &'v Value,
) -> Option<&'v Map<String, Value>> {
    match value {
        Value::Object(map) => Some(map),
        other => {
            wrong_type(ck, at, "an object", other);
            None
        }
    }
}

pub(crate) fn expect_array<'v>(
    ck: &mut Checker,
    at: &str,
    value: &'v Value,
) -> Option<&'v Vec<Value>> {
    match value {
        Value::Array(items) => Some(items),
        other => {
            wrong_type(ck, at, "an array", other);
            None
        }
    }
}

/// A list of objects (quantity elements, sensor elements, transaction entries, …): reports a
/// value that is not an array and each element that is not an object, runs `check` on every
/// object element with its path, and returns the number of elements.
pub(crate) fn check_object_list(
    ck: &mut Checker,
    at: &str,
    value: &Value,
    mut check: impl FnMut(&mut Checker, &str, &Map<String, Value>),
) -> Option<usize> {
    let items = expect_array(ck, at, value)?;
    for (i, item) in items.iter().enumerate() {
        let item_at = path::index(at, i);
        if let Some(object) = expect_object(ck, &item_at, item) {
            check(ck, &item_at, object);
        }
    }
    Some(items.len())
}

/// Reports `key` missing from `object` (at `object_at`).
pub(crate) fn require(
    ck: &mut Checker,
    object_at: &str,
    object: &Map<String, Value>,
    key: &str,
    owner: &str,
) {
    if !object.contains_key(key) {
        ck.report(
            path::child(object_at, key),
            ProblemKind::MissingField,
            format!("`{key}` is required in {owner}"),
        );
    }
}

pub(crate) fn check_uri(ck: &mut Checker, at: &str, value: &Value) {
    if let Some(text) = expect_string(ck, at, value)
        && let Err(e) = uri::check_uri(text)
    {
        ck.report(
            at,
            ProblemKind::InvalidUri,
            format!("{} is not a valid URI: {e}", Quoted(text)),
        );
    }
}

/// An identifier of an object or class: `urn:` (EPC URN) or `http(s):` (GS1 Digital Link).
pub(crate) fn check_epc(ck: &mut Checker, at: &str, value: &Value) {
    if let Some(text) = expect_string(ck, at, value) {
        match uri::check_epc_uri(text) {
            Ok(()) => {}
            Err(e @ UriError::NotAnEpcScheme { .. }) => {
                ck.report(
                    at,
                    ProblemKind::InvalidEpc,
                    format!("{}: {e}", Quoted(text)),
                );
            }
            Err(e) => ck.report(
                at,
                ProblemKind::InvalidEpc,
                format!("{} is not a valid EPC URI: {e}", Quoted(text)),
            ),
        }
    }
}

/// A list of URIs (EPC-shaped if `epc`); repeats are reported when `unique`.
pub(crate) fn check_uri_list(
    ck: &mut Checker,
    at: &str,
    value: &Value,
    epc: bool,
    unique: bool,
) -> Option<usize> {
    let items = expect_array(ck, at, value)?;
    let mut seen = std::collections::HashSet::new();
    for (i, item) in items.iter().enumerate() {
        let item_at = path::index(at, i);
        if epc {
            check_epc(ck, &item_at, item);
        } else {
            check_uri(ck, &item_at, item);
        }
        if let Value::String(s) = item
            && unique
            && !seen.insert(s.as_str())
        {
            ck.report(
                &item_at,
                ProblemKind::DuplicateEntry,
                format!("{} appears more than once in the list", Quoted(s)),
            );
        }
    }
    Some(items.len())
}

pub(crate) fn check_timestamp(ck: &mut Checker, at: &str, value: &Value) -> Option<OffsetDateTime> {
    let text = expect_string(ck, at, value)?;
    match parse_timestamp(text) {
        Ok(instant) => Some(instant),
        Err(e) => {
            let hint = match e {
                TimestampError::MissingOffset { .. } => " (a time without offset is ambiguous)",
                _ => "",
            };
            ck.report(at, ProblemKind::InvalidTimestamp, format!("{e}{hint}"));
            None
        }
    }
}

pub(crate) fn check_time_zone_offset(ck: &mut Checker, at: &str, value: &Value) {
    if let Some(text) = expect_string(ck, at, value)
        && let Err(e) = TimeZoneOffset::parse(text)
    {
        ck.report(at, ProblemKind::InvalidTimeZoneOffset, e.to_string());
    }
}

pub(crate) fn check_vocab(ck: &mut Checker, at: &str, value: &Value, vocabulary: Vocabulary) {
    let Some(text) = expect_string(ck, at, value) else {
        return;
    };
    if let Err(e) = vocabulary.canonical(text) {
        let kind = match e {
            VocabError::InvalidUri { .. } | VocabError::Empty { .. } => ProblemKind::InvalidUri,
            _ => ProblemKind::NonStandardVocabulary,
        };
        ck.report(at, kind, e.to_string());
    }
}

/// `schemaVersion`: digits separated by dots, major version 2.
pub(crate) fn check_schema_version(ck: &mut Checker, at: &str, value: &Value) {
    let Some(text) = expect_string(ck, at, value) else {
        return;
    };
    let well_formed = !text.is_empty()
        && text
            .split('.')
            .all(|part| !part.is_empty() && part.chars().all(|c| c.is_ascii_digit()));
    if !well_formed || text.split('.').next() != Some("2") {
        ck.report(
            at,
            ProblemKind::InvalidSchemaVersion,
            format!(
                "schemaVersion {} is not an EPCIS 2.x version such as \"2.0\"",
                Quoted(text)
            ),
        );
    }
}

/// A finite JSON number, `None` (and a problem of `kind`) otherwise.
pub(crate) fn check_number(
    ck: &mut Checker,
    at: &str,
    value: &Value,
    kind: ProblemKind,
) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).or_else(|| {
            ck.report(at, kind, "must be a finite number");
            None
        }),
        Value::String(s) => {
            ck.report(
                at,
                kind,
                format!(
                    "must be a JSON number, not the string {}; write it without quotes",
                    Quoted(s)
                ),
            );
            None
        }
        other => {
            ck.report(
                at,
                kind,
                format!("must be a number, found {}", json_type(other)),
            );
            None
        }
    }
}

/// UN/ECE Recommendation 20 code shape: 2–3 upper-case letters or digits.
pub(crate) fn check_uom(ck: &mut Checker, at: &str, value: &Value) {
    if let Some(text) = expect_string(ck, at, value) {
        let ok = (2..=3).contains(&text.len())
            && text
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !ok {
            ck.report(
                at,
                ProblemKind::InvalidUom,
                format!(
                    "{} is not a UN/ECE Recommendation 20 unit code (2-3 upper-case letters or digits, e.g. \"KGM\", \"CEL\")",
                    Quoted(text)
                ),
            );
        }
    }
}

/// A list of quantity elements; returns the number of elements.
pub(crate) fn check_quantity_list(
    ck: &mut Checker,
    at: &str,
    value: &Value,
    scope: &NamespaceScope,
) -> Option<usize> {
    check_object_list(ck, at, value, |ck, item_at, element| {
        for (key, value) in element {
            let key_at = path::child(item_at, key);
            match key.as_str() {
                "epcClass" => check_epc(ck, &key_at, value),
                "quantity" => {
                    if let Some(q) = check_number(ck, &key_at, value, ProblemKind::InvalidQuantity)
                        && q < 0.0
                    {
                        ck.report(
                            &key_at,
                            ProblemKind::InvalidQuantity,
                            format!("quantity {q} is negative"),
                        );
                    }
                }
                "uom" => check_uom(ck, &key_at, value),
                _ => unknown_key(
                    ck,
                    item_at,
                    key,
                    value,
                    scope,
                    Openness::Closed,
                    "a quantity element",
                ),
            }
        }
        require(ck, item_at, element, "epcClass", "a quantity element");
    })
}

/// A key that is not a standard member of the object at `object_at`.
pub(crate) fn unknown_key(
    ck: &mut Checker,
    object_at: &str,
    key: &str,
    value: &Value,
    scope: &NamespaceScope,
    openness: Openness,
    owner: &str,
) {
    let at = path::child(object_at, key);
    if key.starts_with('@') {
        ck.report(
            at,
            ProblemKind::UnknownField,
            format!("JSON-LD keyword `{key}` is not allowed in {owner}"),
        );
    } else if !key.contains(':') {
        ck.report(
            at,
            ProblemKind::UnknownField,
            format!(
                "`{key}` is not a field of {owner}; user extensions must be namespaced, e.g. `example:{key}` with `example` declared in @context"
            ),
        );
    } else if openness == Openness::Closed {
        ck.report(
            at,
            ProblemKind::ExtensionNotAllowed,
            format!("{owner} does not admit extension `{key}`"),
        );
    } else {
        check_extension_key(ck, &at, key, scope);
        check_extension_value(ck, &at, value, scope, 0);
    }
}

/// A namespaced key `prefix:suffix` (or absolute IRI) must resolve in `scope`.
pub(crate) fn check_extension_key(ck: &mut Checker, at: &str, key: &str, scope: &NamespaceScope) {
    let Some((prefix, suffix)) = key.split_once(':') else {
        return;
    };
    if suffix.starts_with("//") || prefix.eq_ignore_ascii_case("urn") {
        // An absolute IRI used as key.
        if let Err(e) = uri::check_uri(key) {
            ck.report(
                at,
                ProblemKind::InvalidUri,
                format!("key `{key}` is not a valid IRI: {e}"),
            );
        }
        return;
    }
    match scope.resolve(prefix) {
        Ok(_) => {}
        Err(PrefixIssue::Undeclared) => ck.report(
            at,
            ProblemKind::UndeclaredPrefix,
            format!(
                "prefix `{prefix}` of `{key}` is not declared; add {{\"{prefix}\": \"https://…/\"}} to @context"
            ),
        ),
        Err(PrefixIssue::NotAPrefix(iri)) => ck.report(
            at,
            ProblemKind::UndeclaredPrefix,
            format!(
                "`{prefix}` maps to `{iri}`, which JSON-LD 1.1 does not use as a prefix; end the IRI with `/`, `#` or `:`"
            ),
        ),
    }
}

/// Walks extension content: nested namespaced keys must resolve too (un-namespaced nested keys
/// are the extension's own business). An object's own `@context` extends the scope.
pub(crate) fn check_extension_value(
    ck: &mut Checker,
    at: &str,
    value: &Value,
    scope: &NamespaceScope,
    depth: usize,
) {
    if depth > MAX_EXTENSION_DEPTH {
        ck.report(
            at,
            ProblemKind::TooDeep,
            format!("extension content nests deeper than {MAX_EXTENSION_DEPTH} levels"),
        );
        return;
    }
    match value {
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                check_extension_value(ck, &path::index(at, i), item, scope, depth + 1);
            }
        }
        Value::Object(map) => {
            let local;
            let scope = match map.get("@context") {
                Some(context) => {
                    let info = inspect_context(context);
                    report_context_issues(ck, &path::child(at, "@context"), &info.issues);
                    local = scope.extended(&info);
                    &local
                }
                None => scope,
            };
            for (key, nested) in map {
                if key == "@context" {
                    continue;
                }
                let key_at = path::child(at, key);
                if key.contains(':') && !key.starts_with('@') {
                    check_extension_key(ck, &key_at, key, scope);
                }
                check_extension_value(ck, &key_at, nested, scope, depth + 1);
            }
        }
        _ => {}
    }
}

pub(crate) fn report_context_issues(
    ck: &mut Checker,
    context_at: &str,
    issues: &[crate::epcis::context::ContextIssue],
) {
    for issue in issues {
        ck.report(
            format!("{context_at}{}", issue.subpath),
            ProblemKind::InvalidContext,
            issue.message.clone(),
        );
    }
}

/// `epcisHeader`: master data is opaque but must be an object.
pub(crate) fn check_header(ck: &mut Checker, at: &str, value: &Value, scope: &NamespaceScope) {
    let Some(header) = expect_object(ck, at, value) else {
        return;
    };
    for (key, value) in header {
        if key == "epcisMasterData" {
            expect_object(ck, &path::child(at, key), value);
        } else {
            unknown_key(ck, at, key, value, scope, Openness::Open, "epcisHeader");
        }
    }
}

/// `ilmd`: an object whose every key is a namespaced extension.
pub(crate) fn check_ilmd(ck: &mut Checker, at: &str, value: &Value, scope: &NamespaceScope) {
    let Some(ilmd) = expect_object(ck, at, value) else {
        return;
    };
    for (key, value) in ilmd {
        if key.contains(':') || key.starts_with('@') {
            unknown_key(ck, at, key, value, scope, Openness::Open, "ilmd");
        } else {
            ck.report(
                path::child(at, key),
                ProblemKind::UnknownField,
                format!(
                    "ilmd key `{key}` is not namespaced; instance/lot master data keys must be URIs or use a declared prefix, e.g. `cbvmda:{key}` or `example:{key}`"
                ),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kinds(ck: &Checker) -> Vec<(String, ProblemKind)> {
        ck.problems
            .iter()
            .map(|p| (p.path.clone(), p.kind))
            .collect()
    }

    #[test]
    fn numbers_must_be_numbers() {
        let mut ck = Checker::default();
        assert_eq!(
            check_number(&mut ck, "$.q", &json!(1.5), ProblemKind::InvalidQuantity),
            Some(1.5)
        );
        assert_eq!(
            check_number(&mut ck, "$.q", &json!("150"), ProblemKind::InvalidQuantity),
            None
        );
        assert_eq!(
            check_number(&mut ck, "$.q", &json!(null), ProblemKind::InvalidQuantity),
            None
        );
        assert_eq!(ck.problems.len(), 2);
        assert!(ck.problems[0].message.contains("without quotes"));
    }

    #[test]
    fn quantity_lists() {
        let mut ck = Checker::default();
        let scope = NamespaceScope::epcis();
        let list = json!([
            {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": 200, "uom": "KGM"},
            {"epcClass": "urn:epc:class:lgtin:4012345.012345.998877", "quantity": -1},
            {"quantity": "3", "uom": "kg", "extra": 1, "ex:x": 2}
        ]);
        assert_eq!(check_quantity_list(&mut ck, "$.l", &list, &scope), Some(3));
        assert_eq!(
            kinds(&ck),
            vec![
                ("$.l[1].quantity".into(), ProblemKind::InvalidQuantity),
                ("$.l[2].quantity".into(), ProblemKind::InvalidQuantity),
                ("$.l[2].uom".into(), ProblemKind::InvalidUom),
                ("$.l[2].extra".into(), ProblemKind::UnknownField),
                ("$.l[2]['ex:x']".into(), ProblemKind::ExtensionNotAllowed),
                ("$.l[2].epcClass".into(), ProblemKind::MissingField),
            ]
        );
    }

    #[test]
    fn uri_lists_report_bad_and_repeated_entries() {
        let mut ck = Checker::default();
        let list = json!([
            "urn:epc:id:sgtin:1.2.3",
            "geo:1,2",
            5,
            "urn:epc:id:sgtin:1.2.3"
        ]);
        assert_eq!(check_uri_list(&mut ck, "$.e", &list, true, true), Some(4));
        assert_eq!(
            kinds(&ck),
            vec![
                ("$.e[1]".into(), ProblemKind::InvalidEpc),
                ("$.e[2]".into(), ProblemKind::WrongType),
                ("$.e[3]".into(), ProblemKind::DuplicateEntry),
            ]
        );
    }

    #[test]
    fn extension_keys_need_declared_prefixes() {
        let mut ck = Checker::default();
        let scope = NamespaceScope::epcis();
        let value = json!({
            "cbvmda:lotNumber": "1",
            "free": {"nested": 1, "undeclared:x": 2, "https://x.example/y": 3},
            "scoped": {"@context": {"loc": "https://loc.example/"}, "loc:a": 1}
        });
        check_extension_value(&mut ck, "$.v", &value, &scope, 0);
        assert_eq!(
            kinds(&ck),
            vec![(
                "$.v.free['undeclared:x']".into(),
                ProblemKind::UndeclaredPrefix
            )]
        );
    }

    #[test]
    fn deep_nesting_is_cut_off() {
        let mut value = json!(1);
        for _ in 0..100 {
            value = json!([value]);
        }
        let mut ck = Checker::default();
        check_extension_value(&mut ck, "$", &value, &NamespaceScope::epcis(), 0);
        assert_eq!(ck.problems.len(), 1);
        assert_eq!(ck.problems[0].kind, ProblemKind::TooDeep);
    }

    #[test]
    fn schema_versions() {
        let mut ck = Checker::default();
        for ok in ["2.0", "2", "2.0.1"] {
            check_schema_version(&mut ck, "$", &json!(ok));
        }
        assert!(ck.problems.is_empty());
        for bad in ["1.2", "2.x", "", "2..0"] {
            check_schema_version(&mut ck, "$", &json!(bad));
        }
        check_schema_version(&mut ck, "$", &json!(2));
        assert_eq!(ck.problems.len(), 5);
    }
}
