//! Light syntactic URI checks (RFC 3986, with IRI characters allowed).
//!
//! EPCIS 2.0 types most identifiers as `xsd:anyURI`. This module only decides whether a string
//! has the SHAPE of an absolute URI: a scheme, no characters that URIs forbid, well-formed
//! percent escapes, an authority for `http(s)` and a namespace identifier for `urn`. Whether an
//! EPC URN or a GS1 Digital Link is well-formed GS1-wise is a stricter question answered
//! elsewhere (the `gs1` module); keeping the two apart lets this check stay total and cheap.

use std::fmt;

/// What is wrong with a string that should be a URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriError {
    /// The empty string.
    #[error("a URI must not be empty")]
    Empty,
    /// No `scheme:` at the start.
    #[error("a URI needs a scheme such as `urn:` or `https:`")]
    NoScheme,
    /// The scheme has characters RFC 3986 does not allow.
    #[error(
        "{} is not a valid URI scheme (letters, digits, `+`, `-`, `.`; letter first)",
        Quoted(scheme)
    )]
    InvalidScheme {
        /// The text before the first colon.
        scheme: String,
    },
    /// Nothing after `scheme:`.
    #[error("nothing follows the scheme {}", Quoted(scheme))]
    EmptyAfterScheme {
        /// The scheme.
        scheme: String,
    },
    /// A character URIs do not allow (space, control character, `"<>\^`{|}`).
    #[error("character {ch:?} at byte {index} is not allowed in a URI")]
    InvalidCharacter {
        /// The character.
        ch: char,
        /// Its byte offset.
        index: usize,
    },
    /// `%` not followed by two hexadecimal digits.
    #[error("`%` at byte {index} is not followed by two hexadecimal digits")]
    BadPercentEncoding {
        /// Byte offset of the `%`.
        index: usize,
    },
    /// `http:`/`https:` without `//host`.
    #[error("an {scheme} URI needs `//` and a host after `{scheme}:`")]
    MissingHost {
        /// The scheme.
        scheme: String,
    },
    /// `urn:` not followed by `NID:NSS`.
    #[error("a URN must look like `urn:<namespace>:<specific string>`")]
    MalformedUrn,
    /// Scheme other than `urn`, `http` or `https` where an EPC or class identifier is expected.
    #[error(
        "`{scheme}:` is not an identifier scheme for EPCs; use an EPC URN (`urn:epc:…`) or a GS1 Digital Link (`https://…`)"
    )]
    NotAnEpcScheme {
        /// The scheme found.
        scheme: String,
    },
}

/// The scheme of `value` (text before the first `:`), if it is a syntactically valid scheme.
pub fn scheme(value: &str) -> Option<&str> {
    let (scheme, _) = value.split_once(':')?;
    is_valid_scheme(scheme).then_some(scheme)
}

fn is_valid_scheme(scheme: &str) -> bool {
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}

/// Checks that `value` is a syntactically valid absolute URI (IRI characters allowed).
pub fn check_uri(value: &str) -> Result<(), UriError> {
    if value.is_empty() {
        return Err(UriError::Empty);
    }
    let Some((scheme, rest)) = value.split_once(':') else {
        return Err(UriError::NoScheme);
    };
    if !is_valid_scheme(scheme) {
        return Err(UriError::InvalidScheme {
            scheme: scheme.to_owned(),
        });
    }
    if rest.is_empty() {
        return Err(UriError::EmptyAfterScheme {
            scheme: scheme.to_owned(),
        });
    }
    check_characters(value)?;
    if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") {
        let host = rest
            .strip_prefix("//")
            .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
            .unwrap_or("");
        if host.is_empty() {
            return Err(UriError::MissingHost {
                scheme: scheme.to_ascii_lowercase(),
            });
        }
    } else if scheme.eq_ignore_ascii_case("urn") {
        check_urn(rest)?;
    }
    Ok(())
}

/// Checks that `value` is a URI whose scheme can name an EPC or EPC class: `urn`, `http` or
/// `https` (EPC URNs and GS1 Digital Link URIs).
pub fn check_epc_uri(value: &str) -> Result<(), UriError> {
    check_uri(value)?;
    let scheme = scheme(value).unwrap_or_default();
    if ["urn", "http", "https"]
        .iter()
        .any(|s| scheme.eq_ignore_ascii_case(s))
    {
        Ok(())
    } else {
        Err(UriError::NotAnEpcScheme {
            scheme: scheme.to_owned(),
        })
    }
}

fn check_urn(rest: &str) -> Result<(), UriError> {
    let (nid, nss) = rest.split_once(':').ok_or(UriError::MalformedUrn)?;
    let nid_ok = (1..=32).contains(&nid.len())
        && nid.starts_with(|c: char| c.is_ascii_alphanumeric())
        && nid.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if nid_ok && !nss.is_empty() {
        Ok(())
    } else {
        Err(UriError::MalformedUrn)
    }
}

fn check_characters(value: &str) -> Result<(), UriError> {
    let bytes = value.as_bytes();
    for (index, ch) in value.char_indices() {
        if ch == '%' {
            let hex = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_hexdigit);
            if !(hex(index + 1) && hex(index + 2)) {
                return Err(UriError::BadPercentEncoding { index });
            }
            continue;
        }
        let allowed = if ch.is_ascii() {
            ch.is_ascii_alphanumeric() || "-._~:/?#[]@!$&'()*+,;=".contains(ch)
        } else {
            !ch.is_control() && !ch.is_whitespace()
        };
        if !allowed {
            return Err(UriError::InvalidCharacter { ch, index });
        }
    }
    Ok(())
}

/// Displays a value in backticks, shortened to 120 characters, so that a huge hostile
/// input cannot blow up an error message.
#[derive(Debug, Clone, Copy)]
pub struct Quoted<'a>(pub &'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const MAX: usize = 120;
        if self.0.chars().count() > MAX {
            let cut: String = self.0.chars().take(MAX).collect();
            write!(f, "`{cut}…`")
        } else {
            write!(f, "`{}`", self.0)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_identifiers_seen_in_epcis() {
        for ok in [
            "urn:epc:id:sgtin:0614141.107346.2017",
            "urn:epc:idpat:sgtin:4012345.098765.*",
            "urn:epc:class:lgtin:4012345.012345.998877",
            "https://id.gs1.org/01/09521141012345/21/2017",
            "ni:///sha-256;fec9667280c4710a3fa9558b7bc8ddc2ced0dc442d87f82becae24bb6ca6a46f?ver=CBV2.0",
            "urn:uuid:374d95fc-9457-4a51-bd6a-0bba133845a8",
            "geo:47.506694,11.104301",
            "https://identifiers.org/inchikey:CZMRCDWAGMRECN-UGDNZRGBSA-N",
            "example:x",
            "https://example.com/caf%C3%A9",
            "https://example.com/café",
        ] {
            assert_eq!(check_uri(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn rejects_malformed() {
        assert_eq!(check_uri(""), Err(UriError::Empty));
        assert_eq!(check_uri("materialType"), Err(UriError::NoScheme));
        assert!(matches!(
            check_uri("1abc:x"),
            Err(UriError::InvalidScheme { .. })
        ));
        assert!(matches!(
            check_uri("urn:"),
            Err(UriError::EmptyAfterScheme { .. })
        ));
        assert!(matches!(
            check_uri("urn:epc:id:sgtin:0614141 107346"),
            Err(UriError::InvalidCharacter { ch: ' ', .. })
        ));
        assert!(matches!(
            check_uri("https://x/%zz"),
            Err(UriError::BadPercentEncoding { .. })
        ));
        assert!(matches!(
            check_uri("https:/x"),
            Err(UriError::MissingHost { .. })
        ));
        assert_eq!(check_uri("urn:epc"), Err(UriError::MalformedUrn));
        assert_eq!(check_uri("urn::x"), Err(UriError::MalformedUrn));
        assert!(matches!(
            check_uri("https://x/\u{7}"),
            Err(UriError::InvalidCharacter { .. })
        ));
    }

    #[test]
    fn epc_scheme_restriction() {
        assert_eq!(check_epc_uri("urn:epc:id:sscc:0614141.1234567890"), Ok(()));
        assert_eq!(
            check_epc_uri("https://id.gs1.org/00/106141412345678908"),
            Ok(())
        );
        assert!(matches!(
            check_epc_uri("geo:1,2"),
            Err(UriError::NotAnEpcScheme { .. })
        ));
    }

    #[test]
    fn scheme_extraction() {
        assert_eq!(scheme("urn:epc:id"), Some("urn"));
        assert_eq!(scheme("ext1:field"), Some("ext1"));
        assert_eq!(scheme("no scheme"), None);
        assert_eq!(scheme("9x:y"), None);
    }

    #[test]
    fn quoted_truncates_long_values() {
        let long = "a".repeat(500);
        assert!(Quoted(&long).to_string().len() < 200);
        assert_eq!(Quoted("x").to_string(), "`x`");
    }
}
