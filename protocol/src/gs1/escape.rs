//! The two escaping schemes a GS1 value meets: EPC URN escaping (Tag Data Standard) and
//! Digital Link percent-encoding (RFC 3986 as profiled by GS1 Digital Link).
//!
//! They differ on purpose. The TDS allows only a fixed set of escapes and forbids the escaped
//! characters literally, so an EPC URN has exactly one spelling per value (apart from hex case),
//! and we enforce that. A Digital Link is an ordinary web URI: any character may arrive
//! percent-encoded or (where RFC 3986 allows) literally, so we decode leniently and re-encode
//! canonically (everything outside the RFC 3986 unreserved set is encoded).

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::value::{Charset, ValueError};

/// Characters the TDS requires to be escaped in an EPC URN component, with their escapes.
/// `#` only occurs in CS39 values (CPI component/part references).
const URN_ESCAPES: [(char, &str); 8] = [
    ('"', "%22"),
    ('#', "%23"),
    ('%', "%25"),
    ('&', "%26"),
    ('/', "%2F"),
    ('<', "%3C"),
    ('>', "%3E"),
    ('?', "%3F"),
];

fn urn_escape_for(c: char) -> Option<&'static str> {
    URN_ESCAPES.iter().find(|(ch, _)| *ch == c).map(|(_, e)| *e)
}

fn hex_value(c: char) -> Option<u8> {
    c.to_digit(16).and_then(|d| u8::try_from(d).ok())
}

/// Decodes one EPC URN component and checks every character against `charset`.
///
/// Positions in errors are 1-based character positions in `raw` as written.
pub(crate) fn urn_unescape(raw: &str, charset: Charset) -> Result<String, ValueError> {
    let chars: Vec<char> = raw.chars().collect();
    let mut out = String::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let position = i + 1;
        if c == '%' {
            let found: String = chars.iter().skip(i).take(3).collect();
            let (Some(hi), Some(lo)) = (
                chars.get(i + 1).copied().and_then(hex_value),
                chars.get(i + 2).copied().and_then(hex_value),
            ) else {
                return Err(ValueError::BadEscape {
                    found,
                    position,
                    reason: "'%' must be followed by two hex digits",
                });
            };
            let decoded = char::from(hi * 16 + lo);
            if urn_escape_for(decoded).is_none() {
                return Err(ValueError::BadEscape {
                    found,
                    position,
                    reason: "EPC URNs only allow the escapes %22 %23 %25 %26 %2F %3C %3E %3F; \
                             write other characters literally",
                });
            }
            if !charset.allows(decoded) {
                return Err(ValueError::IllegalCharacter {
                    ch: decoded,
                    position,
                    allowed: charset.describe(),
                });
            }
            out.push(decoded);
            i += 3;
            continue;
        }
        if let Some(escape) = urn_escape_for(c)
            && charset.allows(c)
        {
            return Err(ValueError::MustBeEscaped {
                ch: c,
                position,
                escape,
            });
        }
        if !charset.allows(c) {
            return Err(ValueError::IllegalCharacter {
                ch: c,
                position,
                allowed: charset.describe(),
            });
        }
        out.push(c);
        i += 1;
    }
    Ok(out)
}

/// Appends `value` to `out` with EPC URN escaping (upper-case hex, the canonical spelling).
pub(crate) fn urn_escape_into(value: &str, out: &mut String) {
    for c in value.chars() {
        match urn_escape_for(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
}

/// Everything except the RFC 3986 unreserved characters `A-Z a-z 0-9 - . _ ~` is encoded.
const DL_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Appends `value` to `out` percent-encoded for a Digital Link path segment or query part.
pub(crate) fn dl_encode_into(value: &str, out: &mut String) {
    out.extend(utf8_percent_encode(value, DL_ENCODE));
}

/// Percent-decodes a Digital Link path segment or query part (no `+`-as-space rule: that
/// belongs to HTML forms, not to URIs). Malformed escapes are errors, not passed through.
pub(crate) fn dl_decode(raw: &str) -> Result<String, ValueError> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hi = bytes.get(i + 1).and_then(|h| hex_value(char::from(*h)));
            let lo = bytes.get(i + 2).and_then(|h| hex_value(char::from(*h)));
            let (Some(hi), Some(lo)) = (hi, lo) else {
                let position = raw.get(..i).map_or(i, |p| p.chars().count()) + 1;
                let found: String = raw.get(i..).unwrap_or("").chars().take(3).collect();
                return Err(ValueError::BadEscape {
                    found,
                    position,
                    reason: "'%' must be followed by two hex digits",
                });
            };
            out.push(hi * 16 + lo);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| ValueError::InvalidUtf8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urn_round_trip_of_every_escape() {
        let value = "a\"b%c&d/e<f>g?h";
        let mut s = String::new();
        urn_escape_into(value, &mut s);
        assert_eq!(s, "a%22b%25c%26d%2Fe%3Cf%3Eg%3Fh");
        assert_eq!(urn_unescape(&s, Charset::Cs82).unwrap(), value);
    }

    #[test]
    fn urn_lower_case_hex_accepted() {
        assert_eq!(urn_unescape("ab%2fc", Charset::Cs82).unwrap(), "ab/c");
    }

    #[test]
    fn urn_literal_slash_must_be_escaped() {
        assert_eq!(
            urn_unescape("ab/c", Charset::Cs82),
            Err(ValueError::MustBeEscaped {
                ch: '/',
                position: 3,
                escape: "%2F"
            })
        );
    }

    #[test]
    fn urn_unneeded_or_broken_escape_rejected() {
        assert!(matches!(
            urn_unescape("%41", Charset::Cs82),
            Err(ValueError::BadEscape { position: 1, .. })
        ));
        assert!(matches!(
            urn_unescape("ab%2", Charset::Cs82),
            Err(ValueError::BadEscape { position: 3, .. })
        ));
        assert!(matches!(
            urn_unescape("%zz", Charset::Cs82),
            Err(ValueError::BadEscape { .. })
        ));
    }

    #[test]
    fn urn_hash_only_in_cs39() {
        assert_eq!(urn_unescape("A%23B", Charset::Cs39).unwrap(), "A#B");
        assert!(matches!(
            urn_unescape("A%23B", Charset::Cs82),
            Err(ValueError::IllegalCharacter { ch: '#', .. })
        ));
        assert!(matches!(
            urn_unescape("A#B", Charset::Cs39),
            Err(ValueError::MustBeEscaped { ch: '#', .. })
        ));
    }

    #[test]
    fn urn_illegal_char() {
        assert_eq!(
            urn_unescape("ab c", Charset::Cs82),
            Err(ValueError::IllegalCharacter {
                ch: ' ',
                position: 3,
                allowed: Charset::Cs82.describe()
            })
        );
    }

    #[test]
    fn dl_encoding_is_canonical_and_reversible() {
        let mut s = String::new();
        dl_encode_into("ab/c!'()*+,:;=?%&<>\"-._~é", &mut s);
        assert_eq!(
            s,
            "ab%2Fc%21%27%28%29%2A%2B%2C%3A%3B%3D%3F%25%26%3C%3E%22-._~%C3%A9"
        );
        assert_eq!(dl_decode(&s).unwrap(), "ab/c!'()*+,:;=?%&<>\"-._~é");
    }

    #[test]
    fn dl_decode_lenient_on_literals_strict_on_escapes() {
        assert_eq!(dl_decode("a!b+c").unwrap(), "a!b+c");
        assert_eq!(dl_decode("%2d%2D").unwrap(), "--");
        assert!(matches!(
            dl_decode("ab%g0"),
            Err(ValueError::BadEscape { position: 3, .. })
        ));
        assert!(matches!(
            dl_decode("é%"),
            Err(ValueError::BadEscape { position: 2, .. })
        ));
        assert_eq!(dl_decode("%ff"), Err(ValueError::InvalidUtf8));
    }
}
