//! Reading extension members by what they mean, not by how they are spelled.
//!
//! `cbvmda:countryOfOrigin`, `mda:countryOfOrigin` (with `mda` declared as
//! `urn:epcglobal:cbv:mda:`) and `urn:epcglobal:cbv:mda:countryOfOrigin` are one member; a
//! `cbvmda:` an event re-declares to some other IRI is not it. So every lookup expands keys
//! through the `@context` in scope (the EPCIS context's prefixes, then the event's own, then any
//! nested object's) and compares full IRIs, exactly as the validator resolves extension keys.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::epcis::EpcisEvent;
use crate::epcis::context::{NamespaceScope, inspect_context};

/// Core Business Vocabulary master data attributes (`cbvmda:`).
pub(super) const CBVMDA: &str = "urn:epcglobal:cbv:mda:";
/// GS1 Web Vocabulary (`gs1:`).
pub(super) const GS1: &str = "https://gs1.org/voc/";
/// The project's extension namespace (conventional prefix `prov`).
pub(super) const PROV: &str = "https://provenance.dev/ns/epcis#";

/// Deepest nesting read when flattening or searching extension content; EPCIS validation
/// already bounds it, this only keeps a hand-built event from recursing without end.
pub(super) const MAX_DEPTH: usize = 16;

/// The namespace prefixes in force for one object of an event.
#[derive(Debug, Clone)]
pub(super) struct Names {
    scope: NamespaceScope,
}

impl Names {
    /// The prefixes in force at the top level of `event`: the EPCIS context's, overridden by the
    /// event's own `@context` (a signed event is self-contained, so nothing else applies).
    pub(super) fn of_event(event: &EpcisEvent) -> Self {
        let scope = NamespaceScope::epcis();
        let scope = match event.context() {
            Some(context) => scope.extended(&inspect_context(context)),
            None => scope,
        };
        Names { scope }
    }

    /// The prefixes in force inside `object`, which may carry its own `@context`.
    pub(super) fn within<'s>(&'s self, object: &Map<String, Value>) -> Cow<'s, Names> {
        match object.get("@context") {
            Some(context) => Cow::Owned(Names {
                scope: self.scope.extended(&inspect_context(context)),
            }),
            None => Cow::Borrowed(self),
        }
    }

    /// The full IRI a member key stands for: `prefix:suffix` with a declared prefix expanded, an
    /// absolute IRI (or a compact IRI whose prefix is not a usable prefix, which JSON-LD reads
    /// as absolute) as it is. Keywords and bare terms have no IRI here.
    pub(super) fn expand(&self, key: &str) -> Option<String> {
        if key.starts_with('@') {
            return None;
        }
        let (prefix, suffix) = key.split_once(':')?;
        if suffix.starts_with("//") || prefix.eq_ignore_ascii_case("urn") {
            return Some(key.to_owned());
        }
        match self.scope.resolve(prefix) {
            Ok(iri) => Some(format!("{iri}{suffix}")),
            Err(_) => Some(key.to_owned()),
        }
    }

    /// The first member of `object` whose key expands to `iri`.
    pub(super) fn member<'v>(
        &self,
        object: &'v Map<String, Value>,
        iri: &str,
    ) -> Option<&'v Value> {
        let names = self.within(object);
        object
            .iter()
            .find(|(key, _)| names.expand(key).as_deref() == Some(iri))
            .map(|(_, value)| value)
    }

    /// Every member of `object` whose key expands to `iri`, in document order.
    pub(super) fn members<'v>(&self, object: &'v Map<String, Value>, iri: &str) -> Vec<&'v Value> {
        let names = self.within(object);
        object
            .iter()
            .filter(|(key, _)| names.expand(key).as_deref() == Some(iri))
            .map(|(_, value)| value)
            .collect()
    }
}

/// A value as text for people: strings as they are, numbers and booleans as JSON writes them,
/// JSON-LD value objects (`{"@value": …}`) and node references (`{"@id": …}`) by their content,
/// an organisation by its GS1 name, lists joined with ", ".
pub(super) fn text_of(value: &Value, names: &Names) -> Option<String> {
    text_at(value, names, 0)
}

fn text_at(value: &Value, names: &Names, depth: usize) -> Option<String> {
    if depth > MAX_DEPTH {
        return None;
    }
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Array(items) => {
            let texts: Vec<String> = items
                .iter()
                .filter_map(|item| text_at(item, names, depth + 1))
                .collect();
            (!texts.is_empty()).then(|| texts.join(", "))
        }
        Value::Object(object) => {
            let names = names.within(object);
            let named = [
                format!("{GS1}organizationName"),
                format!("{GS1}name"),
                format!("{GS1}partyName"),
            ];
            object
                .get("@value")
                .or_else(|| named.iter().find_map(|iri| names.member(object, iri)))
                .or_else(|| object.get("@id"))
                .and_then(|inner| text_at(inner, &names, depth + 1))
        }
    }
}

/// A value as a number: a JSON number, a numeric string, or a JSON-LD value object holding one.
/// JSON cannot carry NaN or infinities, and numeric strings that parse to them are refused.
pub(super) fn number_of(value: &Value) -> Option<f64> {
    match value {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        Value::Object(object) => match object.get("@value") {
            Some(inner @ (Value::Number(_) | Value::String(_))) => number_of(inner),
            _ => None,
        },
        _ => None,
    }
}

/// `object` flattened to `key → text`, keys as written; nested objects append `.member`, lists
/// of objects `[i]` (JSON-LD keywords are left out).
pub(super) fn flatten(
    object: &Map<String, Value>,
    names: &Names,
) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    flatten_into(None, object, names, &mut out, 0);
    out
}

fn flatten_into(
    path: Option<&str>,
    object: &Map<String, Value>,
    names: &Names,
    out: &mut std::collections::BTreeMap<String, String>,
    depth: usize,
) {
    if depth > MAX_DEPTH {
        return;
    }
    let names = names.within(object);
    for (key, value) in object {
        if key.starts_with('@') {
            continue;
        }
        let here = match path {
            Some(path) => format!("{path}.{key}"),
            None => key.clone(),
        };
        flatten_value(here, value, &names, out, depth + 1);
    }
}

fn flatten_value(
    here: String,
    value: &Value,
    names: &Names,
    out: &mut std::collections::BTreeMap<String, String>,
    depth: usize,
) {
    match value {
        Value::Object(inner) if !inner.contains_key("@value") && !is_reference(inner) => {
            flatten_into(Some(&here), inner, names, out, depth);
        }
        Value::Array(items) if items.iter().any(|i| matches!(i, Value::Object(_))) => {
            for (i, item) in items.iter().enumerate() {
                flatten_value(format!("{here}[{i}]"), item, names, out, depth + 1);
            }
        }
        other => {
            if let Some(text) = text_of(other, names) {
                out.insert(here, text);
            }
        }
    }
}

/// `{"@id": …}` alone: a reference, shown as its IRI.
fn is_reference(object: &Map<String, Value>) -> bool {
    object.contains_key("@id") && object.keys().all(|k| k.starts_with('@'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(context: Value) -> Names {
        let event = EpcisEvent::from_value(&json!({
            "@context": context,
            "type": "ObjectEvent",
            "eventTime": "2025-01-01T10:00:00.000Z",
            "eventTimeZoneOffset": "+00:00",
            "action": "OBSERVE"
        }))
        .unwrap();
        Names::of_event(&event)
    }

    #[test]
    fn keys_expand_through_the_context_not_their_spelling() {
        let n = names(json!([
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"mda": "urn:epcglobal:cbv:mda:", "prov": "https://provenance.dev/ns/epcis#"}
        ]));
        let origin = format!("{CBVMDA}countryOfOrigin");
        for key in [
            "cbvmda:countryOfOrigin",
            "mda:countryOfOrigin",
            "urn:epcglobal:cbv:mda:countryOfOrigin",
        ] {
            assert_eq!(n.expand(key).as_deref(), Some(origin.as_str()), "{key}");
        }
        assert_eq!(
            n.expand("prov:temperatureMax").as_deref(),
            Some("https://provenance.dev/ns/epcis#temperatureMax")
        );
        assert_eq!(n.expand("@context"), None);
        assert_eq!(n.expand("bare"), None);

        // Re-declaring the conventional prefix changes what it means.
        let other = names(json!([{"cbvmda": "https://elsewhere.example/"}]));
        assert_ne!(
            other.expand("cbvmda:countryOfOrigin").as_deref(),
            Some(origin.as_str())
        );
        // An object's own @context applies inside it.
        let object = json!({"@context": {"x": "urn:epcglobal:cbv:mda:"}, "x:lotNumber": "L1"});
        let object = object.as_object().unwrap();
        assert_eq!(
            other.member(object, &format!("{CBVMDA}lotNumber")),
            Some(&json!("L1"))
        );
    }

    #[test]
    fn text_and_numbers_of_json_ld_values() {
        let n = names(json!(
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
        ));
        assert_eq!(
            text_of(&json!({"@value": "2025-01-01", "@type": "xsd:date"}), &n).as_deref(),
            Some("2025-01-01")
        );
        assert_eq!(
            text_of(&json!({"@id": "https://x.example/a"}), &n).as_deref(),
            Some("https://x.example/a")
        );
        assert_eq!(
            text_of(&json!({"gs1:organizationName": "EcoCert"}), &n).as_deref(),
            Some("EcoCert")
        );
        assert_eq!(text_of(&json!(["a", 2, null]), &n).as_deref(), Some("a, 2"));
        assert_eq!(text_of(&Value::Null, &n), None);
        assert_eq!(number_of(&json!(4.5)), Some(4.5));
        assert_eq!(number_of(&json!(" -2 ")), Some(-2.0));
        assert_eq!(number_of(&json!({"@value": 8})), Some(8.0));
        assert_eq!(number_of(&json!("warm")), None);
        assert_eq!(number_of(&json!("inf")), None);
        assert_eq!(number_of(&json!(true)), None);
    }

    #[test]
    fn flatten_keeps_keys_as_written_and_paths_for_nesting() {
        let n = names(json!({"ex": "https://ex.example/"}));
        let ilmd = json!({
            "cbvmda:lotNumber": "L1",
            "ex:weight": 60,
            "ex:grading": {"ex:grade": "A", "ex:score": {"@value": 86}},
            "ex:tags": ["washed", "caturra"],
            "ex:checks": [{"ex:by": "Lab"}],
            "ex:ref": {"@id": "https://ex.example/farm/1"}
        });
        let flat = flatten(ilmd.as_object().unwrap(), &n);
        let expected: Vec<(&str, &str)> = vec![
            ("cbvmda:lotNumber", "L1"),
            ("ex:checks[0].ex:by", "Lab"),
            ("ex:grading.ex:grade", "A"),
            ("ex:grading.ex:score", "86"),
            ("ex:ref", "https://ex.example/farm/1"),
            ("ex:tags", "washed, caturra"),
            ("ex:weight", "60"),
        ];
        let got: Vec<(&str, &str)> = flat.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(got, expected);
    }
}
