//! The JSON-LD `@context` of EPCIS 2.0 documents, read without fetching anything.
//!
//! A ledger must not make its verdict depend on what a web server returns today, so remote
//! contexts are never loaded. Instead:
//! * the EPCIS 2.0 context is recognised by URL (any of [`EPCIS_CONTEXT_URLS`]) and its prefix
//!   declarations are built in ([`PREDEFINED_PREFIXES`]);
//! * inline context objects are read for namespace prefixes (`{"example": "https://…/"}`), which
//!   extension keys such as `example:myField` must use;
//! * any other remote context URL is tolerated but contributes nothing, so an extension prefix
//!   declared only there is reported as undeclared.
//!
//! Prefix eligibility follows JSON-LD 1.1 (the EPCIS context sets `@version: 1.1`): a simple
//! term is a prefix when its IRI ends with a gen-delim (`/`, `#`, `:`, `?`, `[`, `]`, `@`); an
//! expanded term definition only with `"@prefix": true`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

/// URLs under which GS1 publishes (or published) the EPCIS 2.0 JSON-LD context.
pub const EPCIS_CONTEXT_URLS: &[&str] = &[
    "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
    "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
    "https://ref.gs1.org/standards/epcis/2.0.1/epcis-context.jsonld",
    "https://gs1.github.io/EPCIS/epcis-context.jsonld",
    "https://id.gs1.org/epcis-context.jsonld",
];

/// Prefixes the EPCIS 2.0 context declares, available to every EPCIS document.
pub const PREDEFINED_PREFIXES: &[(&str, &str)] = &[
    ("epcis", "https://ref.gs1.org/epcis/"),
    ("cbv", "https://ref.gs1.org/cbv/"),
    ("cbvmda", "urn:epcglobal:cbv:mda:"),
    ("gs1", "https://gs1.org/voc/"),
    ("rdfs", "http://www.w3.org/2000/01/rdf-schema#"),
    ("owl", "http://www.w3.org/2002/07/owl#"),
    ("xsd", "http://www.w3.org/2001/XMLSchema#"),
    ("dcterms", "http://purl.org/dc/terms/"),
];

/// Most entries an `@context` array may have (keeps the uniqueness check cheap).
const MAX_CONTEXT_ENTRIES: usize = 64;

/// Whether `url` names the EPCIS 2.0 context (`http://` spellings of the same URLs included).
pub fn is_epcis_context_url(url: &str) -> bool {
    let https;
    let url = match url.strip_prefix("http://") {
        Some(rest) => {
            https = format!("https://{rest}");
            https.as_str()
        }
        None => url,
    };
    EPCIS_CONTEXT_URLS.contains(&url)
}

/// How a term of the active context may be used in a key `term:suffix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixDefinition {
    /// Usable as a prefix; expands to this IRI.
    Prefix(String),
    /// Defined, but JSON-LD 1.1 will not use it as a prefix (IRI not ending in a gen-delim and
    /// no `"@prefix": true`); a compact IRI with it would silently become an absolute IRI.
    NotAPrefix(String),
}

/// A problem in the shape of an `@context` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextIssue {
    /// JSON path suffix relative to the `@context` member (e.g. `[2]`).
    pub subpath: String,
    /// What is wrong.
    pub message: String,
}

/// What a single `@context` value says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContextInfo {
    /// Whether one of the entries is an EPCIS 2.0 context URL.
    pub references_epcis: bool,
    /// Terms defined inline, in document order (later definitions win).
    pub terms: Vec<(String, PrefixDefinition)>,
    /// Shape problems.
    pub issues: Vec<ContextIssue>,
}

/// Reads an `@context` value: a URL string, an object, or an array of those.
pub fn inspect_context(context: &Value) -> ContextInfo {
    let mut info = ContextInfo::default();
    match context {
        Value::Array(entries) => {
            if entries.is_empty() {
                info.issues.push(ContextIssue {
                    subpath: String::new(),
                    message: "@context is an empty array".to_owned(),
                });
            }
            if entries.len() > MAX_CONTEXT_ENTRIES {
                info.issues.push(ContextIssue {
                    subpath: String::new(),
                    message: format!(
                        "@context has {} entries; at most {MAX_CONTEXT_ENTRIES} are accepted",
                        entries.len()
                    ),
                });
                return info;
            }
            for (i, entry) in entries.iter().enumerate() {
                if entries[..i].contains(entry) {
                    info.issues.push(ContextIssue {
                        subpath: format!("[{i}]"),
                        message: "@context entries must be unique".to_owned(),
                    });
                }
                inspect_entry(entry, &format!("[{i}]"), &mut info);
            }
        }
        other => inspect_entry(other, "", &mut info),
    }
    info
}

fn inspect_entry(entry: &Value, subpath: &str, info: &mut ContextInfo) {
    match entry {
        Value::String(url) => {
            if is_epcis_context_url(url) {
                info.references_epcis = true;
            } else if let Err(e) = super::uri::check_uri(url) {
                info.issues.push(ContextIssue {
                    subpath: subpath.to_owned(),
                    message: format!("@context URL `{url}` is not a valid URI: {e}"),
                });
            }
        }
        Value::Object(definitions) => read_definitions(definitions, subpath, info),
        Value::Null => info.issues.push(ContextIssue {
            subpath: subpath.to_owned(),
            message: "a null @context entry would discard the EPCIS context".to_owned(),
        }),
        _ => info.issues.push(ContextIssue {
            subpath: subpath.to_owned(),
            message: "@context entries must be URL strings or objects".to_owned(),
        }),
    }
}

fn read_definitions(definitions: &Map<String, Value>, subpath: &str, info: &mut ContextInfo) {
    for (term, definition) in definitions {
        if term.starts_with('@') || term.contains(':') {
            // Keywords (@vocab, @version, …) and compact-IRI term definitions declare no prefix.
            continue;
        }
        let parsed = match definition {
            Value::String(iri) => {
                if ends_with_gen_delim(iri) {
                    PrefixDefinition::Prefix(iri.clone())
                } else {
                    PrefixDefinition::NotAPrefix(iri.clone())
                }
            }
            Value::Object(expanded) => match expanded.get("@id").and_then(Value::as_str) {
                Some(iri) if expanded.get("@prefix") == Some(&Value::Bool(true)) => {
                    PrefixDefinition::Prefix(iri.to_owned())
                }
                Some(iri) => PrefixDefinition::NotAPrefix(iri.to_owned()),
                None => continue,
            },
            Value::Null => continue,
            _ => {
                info.issues.push(ContextIssue {
                    subpath: format!("{subpath}{}", super::path::key_suffix(term)),
                    message: format!(
                        "the definition of term `{term}` must be an IRI string or an object"
                    ),
                });
                continue;
            }
        };
        info.terms.push((term.clone(), parsed));
    }
}

fn ends_with_gen_delim(iri: &str) -> bool {
    iri.ends_with(['/', '#', ':', '?', '[', ']', '@'])
}

/// The prefixes in force at some point of a document: the EPCIS context's, overridden by the
/// document's inline definitions, overridden by an event's own `@context`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamespaceScope {
    terms: BTreeMap<String, PrefixDefinition>,
}

impl Default for NamespaceScope {
    fn default() -> Self {
        Self::epcis()
    }
}

/// Why a key `prefix:suffix` cannot be resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrefixIssue {
    /// No context declares `prefix`.
    Undeclared,
    /// `prefix` is declared but is not usable as a JSON-LD 1.1 prefix.
    NotAPrefix(String),
}

impl NamespaceScope {
    /// Only the prefixes of the EPCIS 2.0 context.
    pub fn epcis() -> Self {
        Self {
            terms: PREDEFINED_PREFIXES
                .iter()
                .map(|(p, iri)| ((*p).to_owned(), PrefixDefinition::Prefix((*iri).to_owned())))
                .collect(),
        }
    }

    /// This scope with the inline definitions of `info` applied on top.
    pub fn extended(&self, info: &ContextInfo) -> Self {
        let mut scope = self.clone();
        for (term, definition) in &info.terms {
            scope.terms.insert(term.clone(), definition.clone());
        }
        scope
    }

    /// The IRI `prefix` expands to, if it is a usable prefix here.
    pub fn resolve(&self, prefix: &str) -> Result<&str, PrefixIssue> {
        match self.terms.get(prefix) {
            Some(PrefixDefinition::Prefix(iri)) => Ok(iri),
            Some(PrefixDefinition::NotAPrefix(iri)) => Err(PrefixIssue::NotAPrefix(iri.clone())),
            None => Err(PrefixIssue::Undeclared),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognises_epcis_urls_only() {
        for url in EPCIS_CONTEXT_URLS {
            assert!(is_epcis_context_url(url));
        }
        assert!(is_epcis_context_url(
            "http://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
        ));
        assert!(!is_epcis_context_url(
            "https://example.com/epcis-context.jsonld"
        ));
    }

    #[test]
    fn string_array_and_object_forms() {
        let single = inspect_context(&json!(
            "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
        ));
        assert!(single.references_epcis && single.issues.is_empty());

        let array = inspect_context(&json!([
            "https://ref.gs1.org/standards/epcis/epcis-context.jsonld",
            {"ext1": "http://example.com/ext1/"},
            {"rail": "urn:gs1:epcisapp:rail:", "bad": "https://example.org/epcis"},
            {"pfx": {"@id": "https://x.example/", "@prefix": true}, "@version": 1.1}
        ]));
        assert!(array.references_epcis);
        assert!(array.issues.is_empty(), "{:?}", array.issues);
        let scope = NamespaceScope::epcis().extended(&array);
        assert_eq!(scope.resolve("ext1"), Ok("http://example.com/ext1/"));
        assert_eq!(scope.resolve("rail"), Ok("urn:gs1:epcisapp:rail:"));
        assert_eq!(scope.resolve("pfx"), Ok("https://x.example/"));
        assert_eq!(scope.resolve("cbvmda"), Ok("urn:epcglobal:cbv:mda:"));
        assert!(matches!(
            scope.resolve("bad"),
            Err(PrefixIssue::NotAPrefix(_))
        ));
        assert_eq!(scope.resolve("nope"), Err(PrefixIssue::Undeclared));

        let inline_only = inspect_context(&json!({"example": "https://example.com/"}));
        assert!(!inline_only.references_epcis);
    }

    #[test]
    fn reports_shape_problems() {
        let info = inspect_context(&json!([null, 3, "not a url", {"t": 5}]));
        let subpaths: Vec<_> = info.issues.iter().map(|i| i.subpath.as_str()).collect();
        assert_eq!(subpaths, ["[0]", "[1]", "[2]", "[3].t"]);
        assert!(!inspect_context(&json!([])).issues.is_empty());
        let dup = inspect_context(&json!(["https://x.example/c", "https://x.example/c"]));
        assert_eq!(dup.issues.len(), 1);
    }
}
