//! [`JsonLdContext`]: the namespace prefixes in scope for an event.
//!
//! The pre-hash string spells user-extension member names as `{namespace IRI}localName` and
//! expands compact IRIs (`example:x`) in values, so it needs to know which prefixes the JSON-LD
//! `@context` declares. We only need prefix declarations, not full JSON-LD processing: EPCIS 2.0
//! documents reference the standard context by URL and add `{"prefix": "IRI"}` objects.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::Value;

/// Prefixes the EPCIS 2.0 JSON-LD context itself declares. Every EPCIS 2.0 JSON document includes
/// that context, so `gs1:Temperature` or `cbvmda:lotNumber` mean the same thing whether or not the
/// document repeats the declaration; the hash must not depend on that repetition.
const EPCIS_CONTEXT_PREFIXES: [(&str, &str); 8] = [
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("dcterms", "http://purl.org/dc/terms/"),
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("gs1", "https://gs1.org/voc/"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
];

/// Namespace prefixes in scope for an event: the EPCIS 2.0 context's own prefixes, then those the
/// document's `@context` declares, then the event's own `@context` (later declarations win).
///
/// ```
/// use provenance_protocol::event_hash::JsonLdContext;
/// let doc = serde_json::json!({"@context": [
///     "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
///     {"example": "https://ns.example.com/epcis/"}
/// ]});
/// let context = JsonLdContext::from_document(&doc);
/// assert_eq!(context.iri_for("example"), Some("https://ns.example.com/epcis/"));
/// assert_eq!(context.iri_for("gs1"), Some("https://gs1.org/voc/"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonLdContext {
    prefixes: BTreeMap<String, String>,
}

impl Default for JsonLdContext {
    fn default() -> Self {
        Self::epcis()
    }
}

impl JsonLdContext {
    /// Only the prefixes of the standard EPCIS 2.0 context (`gs1`, `cbv`, `cbvmda`, `epcis`, ...).
    pub fn epcis() -> Self {
        Self {
            prefixes: EPCIS_CONTEXT_PREFIXES
                .iter()
                .map(|(prefix, iri)| ((*prefix).to_owned(), (*iri).to_owned()))
                .collect(),
        }
    }

    /// The prefixes in scope at document level: [`epcis`](Self::epcis) plus the document's
    /// `@context`. Entries that are not prefix declarations (remote context URLs, `@version`, ...)
    /// are ignored.
    pub fn from_document(document: &Value) -> Self {
        Self::epcis().with_event(document)
    }

    /// These prefixes extended (and, for redeclared prefixes, overridden) by the `@context` of
    /// `event`, which JSON-LD scopes to that event. Without an `@context` member this is a copy.
    pub fn with_event(&self, event: &Value) -> Self {
        self.scoped(event).into_owned()
    }

    /// Adds or replaces one prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>, iri: impl Into<String>) -> Self {
        self.prefixes.insert(prefix.into(), iri.into());
        self
    }

    /// The namespace IRI `prefix` stands for, if declared.
    pub fn iri_for(&self, prefix: &str) -> Option<&str> {
        self.prefixes.get(prefix).map(String::as_str)
    }

    /// The context for the members of `object`: borrowed unchanged unless it has an `@context`.
    pub(super) fn scoped(&self, object: &Value) -> Cow<'_, Self> {
        match object.get("@context") {
            Some(local) => {
                let mut extended = self.clone();
                extended.declare_from(local);
                Cow::Owned(extended)
            }
            None => Cow::Borrowed(self),
        }
    }

    fn declare_from(&mut self, context: &Value) {
        match context {
            Value::Array(entries) => entries.iter().for_each(|entry| self.declare_from(entry)),
            Value::Object(definitions) => {
                for (term, definition) in definitions {
                    if term.starts_with('@') {
                        continue;
                    }
                    match definition {
                        Value::String(iri) => {
                            self.prefixes.insert(term.clone(), iri.clone());
                        }
                        Value::Object(expanded) => {
                            if let Some(Value::String(iri)) = expanded.get("@id") {
                                self.prefixes.insert(term.clone(), iri.clone());
                            }
                        }
                        // JSON-LD: a null definition removes the term from the active context.
                        Value::Null => {
                            self.prefixes.remove(term);
                        }
                        _ => {}
                    }
                }
            }
            // A remote context URL (the EPCIS context itself; its prefixes are built in) or junk.
            _ => {}
        }
    }

    /// `(namespace IRI, local part)` if `compact` is a compact IRI `prefix:local` with a declared
    /// prefix. As in JSON-LD, `prefix://...` is an absolute IRI, never a compact one.
    fn split_compact<'s>(&'s self, compact: &'s str) -> Option<(&'s str, &'s str)> {
        let (prefix, local) = compact.split_once(':')?;
        if prefix.is_empty() || local.starts_with("//") {
            return None;
        }
        self.iri_for(prefix).map(|iri| (iri, local))
    }

    /// A member name as it appears in the pre-hash string: `{namespace}local` for a declared prefix,
    /// otherwise unchanged (standard EPCIS members have no prefix).
    pub(super) fn expand_member_name<'s>(&self, key: &'s str) -> Cow<'s, str> {
        match self.split_compact(key) {
            Some((iri, local)) => Cow::Owned(format!("{{{iri}}}{local}")),
            None => Cow::Borrowed(key),
        }
    }

    /// A value with a declared compact IRI expanded to the full IRI, otherwise unchanged.
    pub(super) fn expand_value<'s>(&self, value: &'s str) -> Cow<'s, str> {
        match self.split_compact(value) {
            Some((iri, local)) => Cow::Owned(format!("{iri}{local}")),
            None => Cow::Borrowed(value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn document_and_event_contexts_layer_over_the_epcis_prefixes() {
        let document = json!({"@context": [
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
            {"ext1": "https://ns.ext.de/epcis/"},
            {"ext2": {"@id": "http://example.com/ext2/"}, "@version": 1.1}
        ]});
        let event = json!({"@context": {"ext1": "http://override.example/", "ext3": "urn:x:"}});
        let document_context = JsonLdContext::from_document(&document);
        let event_context = document_context.with_event(&event);

        assert_eq!(
            document_context.iri_for("ext1"),
            Some("https://ns.ext.de/epcis/")
        );
        assert_eq!(
            document_context.iri_for("ext2"),
            Some("http://example.com/ext2/")
        );
        assert_eq!(document_context.iri_for("ext3"), None);
        assert_eq!(document_context.iri_for("@version"), None);
        assert_eq!(
            event_context.iri_for("ext1"),
            Some("http://override.example/")
        );
        assert_eq!(event_context.iri_for("ext3"), Some("urn:x:"));
        assert_eq!(event_context.iri_for("gs1"), Some("https://gs1.org/voc/"));
    }

    #[test]
    fn null_definition_removes_a_prefix() {
        let context = JsonLdContext::epcis().with_event(&json!({"@context": {"gs1": null}}));
        assert_eq!(context.iri_for("gs1"), None);
    }

    #[test]
    fn expansion_of_names_and_values() {
        let context =
            JsonLdContext::epcis().with_prefix("example", "https://ns.example.com/epcis/");
        assert_eq!(
            context.expand_member_name("example:myField"),
            "{https://ns.example.com/epcis/}myField"
        );
        assert_eq!(context.expand_member_name("bizStep"), "bizStep");
        assert_eq!(context.expand_member_name("unknown:field"), "unknown:field");
        assert_eq!(
            context.expand_value("gs1:ALARM_CONDITION"),
            "https://gs1.org/voc/ALARM_CONDITION"
        );
        assert_eq!(
            context.expand_value("urn:epc:id:sgtin:0614141.107346.2017"),
            "urn:epc:id:sgtin:0614141.107346.2017"
        );
        let http = JsonLdContext::epcis().with_prefix("https", "urn:never:");
        assert_eq!(
            http.expand_value("https://example.com/x"),
            "https://example.com/x",
            "an absolute IRI is never a compact IRI"
        );
    }
}
