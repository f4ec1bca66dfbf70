//! Canonical text of one scalar value, as it appears after `name=` in the pre-hash string.

use serde_json::{Number, Value};

use super::context::JsonLdContext;
use super::digital_link;
use super::timestamp;
use super::vocab::{URN_TO_WEB_URI, Vocabulary};

/// How a member's value is canonicalised, beyond the steps every value goes through.
#[derive(Debug, Clone, Copy)]
pub(super) enum ValueKind {
    /// Compact IRI expansion, CBV URN → Web URI, number formatting, GS1 key → Digital Link.
    Plain,
    /// Like `Plain`, after expanding the CBV short names of this `@vocab`-typed member.
    Vocabulary(&'static Vocabulary),
    /// An xsd:dateTime, normalised to UTC milliseconds instead.
    Timestamp,
}

/// Why a scalar could not be canonicalised (only timestamps can fail).
#[derive(Debug)]
pub(super) struct InvalidTimestamp(pub(super) &'static str);

/// The canonical text of a JSON scalar; `None` for `null`, which JSON-LD treats as absent.
/// An empty string is returned as `Some("")`: the caller decides whether an empty value is
/// omitted or leaves its bare member name.
pub(super) fn canonical_scalar(
    value: &Value,
    kind: ValueKind,
    context: &JsonLdContext,
) -> Result<Option<String>, InvalidTimestamp> {
    Ok(match value {
        Value::Null | Value::Array(_) | Value::Object(_) => None,
        // XSD canonical lexical form, the same text an XML event carries.
        Value::Bool(flag) => Some(flag.to_string()),
        Value::Number(number) => match kind {
            ValueKind::Timestamp => return Err(InvalidTimestamp("a number is not a date-time")),
            _ => Some(canonical_number(number)),
        },
        Value::String(text) => Some(canonical_text(text.trim(), kind, context)?),
    })
}

fn canonical_text(
    text: &str,
    kind: ValueKind,
    context: &JsonLdContext,
) -> Result<String, InvalidTimestamp> {
    if text.is_empty() {
        return Ok(String::new());
    }
    let expanded = match kind {
        ValueKind::Timestamp => return timestamp::normalise(text).map_err(InvalidTimestamp),
        ValueKind::Vocabulary(vocabulary) => vocabulary.expand(text),
        ValueKind::Plain => None,
    };
    let text = match expanded {
        Some(full) => full,
        None => context.expand_value(text).into_owned(),
    };
    let text = cbv_urns_to_web_uris(text);
    if let Some(number) = canonical_numeral(&text) {
        return Ok(number);
    }
    Ok(digital_link::canonical_gs1_uri(&text).unwrap_or(text))
}

/// Rewrites EPCIS 1.x CBV URNs (`urn:epcglobal:cbv:bizstep:shipping`) to CBV 2.0 Web URIs
/// (`https://ref.gs1.org/cbv/BizStep-shipping`), wherever they occur in the text.
fn cbv_urns_to_web_uris(mut text: String) -> String {
    for (urn, web) in URN_TO_WEB_URI {
        if text.contains(urn) {
            text = text.replace(urn, web);
        }
    }
    text
}

/// The canonical form of a decimal numeral, or `None` if `text` is not one.
///
/// A numeral is ASCII `[+-]? (digits [. digits?] | . digits) ([eE] [+-]? digits)?`. It is read as
/// an IEEE double (as the reference implementation does) and written back in the shortest form that
/// round-trips: `010.50` → `10.5`, `+3` → `3`, `26.0` → `26`, `1e-05`-style exponents below 1e-4.
fn canonical_numeral(text: &str) -> Option<String> {
    if !is_decimal_numeral(text) {
        return None;
    }
    let value: f64 = text.parse().ok()?;
    value.is_finite().then(|| format_double(value))
}

fn is_decimal_numeral(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut at = usize::from(matches!(bytes.first(), Some(b'+' | b'-')));
    let count_digits = |from: usize| {
        bytes.get(from..).map_or(0, |rest| {
            rest.iter().take_while(|b| b.is_ascii_digit()).count()
        })
    };
    let integer_digits = count_digits(at);
    at += integer_digits;
    let mut fraction_digits = 0;
    if bytes.get(at) == Some(&b'.') {
        fraction_digits = count_digits(at + 1);
        at += 1 + fraction_digits;
    }
    if integer_digits + fraction_digits == 0 {
        return false;
    }
    if matches!(bytes.get(at), Some(b'e' | b'E')) {
        at += 1;
        at += usize::from(matches!(bytes.get(at), Some(b'+' | b'-')));
        let exponent_digits = count_digits(at);
        if exponent_digits == 0 {
            return false;
        }
        at += exponent_digits;
    }
    at == bytes.len()
}

/// A JSON number in canonical form (JSON numbers are doubles to every EPCIS implementation).
fn canonical_number(number: &Number) -> String {
    match number.as_f64() {
        Some(value) if value.is_finite() => format_double(value),
        // Only reachable with serde_json's arbitrary_precision feature; keep the literal.
        _ => number.to_string(),
    }
}

/// Shortest round-trip decimal form of a finite double, laid out as Python's `repr` does (the
/// reference implementation is Python): integral values as plain integers (the exact digits of
/// the double), others positionally, or as `d.ddde-XX` below 1e-4.
///
/// Among the shortest digit strings that read back as `value`, the one nearest to it is chosen,
/// ties to even: `1608882928643910.25` (exactly representable) is `1608882928643910.2`. Rust's
/// own shortest formatting may pick the other neighbour (`.3`), so we only take the digit count
/// from it and round exactly.
fn format_double(value: f64) -> String {
    if value == value.trunc() {
        if value == 0.0 {
            // Also folds -0 into 0.
            return "0".to_owned();
        }
        return format!("{value:.0}");
    }
    let shortest = format!("{value:e}");
    let significant = shortest.split('e').next().map_or(1, |mantissa| {
        mantissa.bytes().filter(u8::is_ascii_digit).count()
    });
    let nearest = format!("{:.*e}", significant.saturating_sub(1), value);
    let Some((mantissa, exponent)) = nearest.split_once('e') else {
        return nearest;
    };
    let Ok(exponent) = exponent.parse::<i32>() else {
        return nearest;
    };
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(unsigned) => ("-", unsigned),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if exponent < -4 {
        // Python pads the exponent to two digits: 1.5e-07.
        return format!("{sign}{mantissa}e-{:02}", -exponent);
    }
    // Non-integral doubles are below 2^52 < 1e16, so a non-negative exponent leaves a fraction.
    let point = usize::try_from(exponent + 1).unwrap_or(0);
    if exponent >= 0 && point < digits.len() {
        format!("{sign}{}.{}", &digits[..point], &digits[point..])
    } else {
        let zeros = usize::try_from(-exponent - 1).unwrap_or(0);
        format!("{sign}0.{}{digits}", "0".repeat(zeros))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event_hash::vocab::BIZ_STEP;
    use proptest::prelude::*;
    use serde_json::json;

    fn plain(value: Value) -> Option<String> {
        canonical_scalar(&value, ValueKind::Plain, &JsonLdContext::epcis()).unwrap()
    }

    #[test]
    fn numerals() {
        let cases = [
            ("010.50", "10.5"),
            ("+3", "3"),
            ("26.0", "26"),
            ("-0", "0"),
            ("-0.0", "0"),
            (".5", "0.5"),
            ("5.", "5"),
            ("1e2", "100"),
            ("0.0001", "0.0001"),
            ("0.00001", "1e-05"),
            ("-1.5e-7", "-1.5e-07"),
            ("123.456e-300", "1.23456e-298"),
            ("12345678901234567890", "12345678901234567168"),
            ("0614141000005", "614141000005"),
            // Exactly representable tie: the nearest shortest form rounds to even.
            ("1608882928643910.25", "1608882928643910.2"),
            ("-178031487228471.625", "-178031487228471.62"),
        ];
        for (input, expected) in cases {
            assert_eq!(
                canonical_numeral(input).as_deref(),
                Some(expected),
                "{input}"
            );
        }
        for not_numeral in [
            "", "+", ".", "1e", "e5", "1_000", "inf", "NaN", "0x10", "1,5", "1e400",
        ] {
            assert_eq!(canonical_numeral(not_numeral), None, "{not_numeral}");
        }
    }

    #[test]
    fn scalars() {
        assert_eq!(plain(json!(true)).as_deref(), Some("true"));
        assert_eq!(plain(json!(200.5)).as_deref(), Some("200.5"));
        assert_eq!(plain(json!(10)).as_deref(), Some("10"));
        assert_eq!(plain(json!(null)), None);
        assert_eq!(plain(json!("  padded ")).as_deref(), Some("padded"));
        assert_eq!(
            plain(json!("urn:epcglobal:cbv:disp:in_transit")).as_deref(),
            Some("https://ref.gs1.org/cbv/Disp-in_transit")
        );
        assert_eq!(
            plain(json!("urn:epc:id:sgtin:0614141.107346.2017")).as_deref(),
            Some("https://id.gs1.org/01/10614141073464/21/2017")
        );
        assert_eq!(
            plain(json!("gs1:Temperature")).as_deref(),
            Some("https://gs1.org/voc/Temperature")
        );
        let context = JsonLdContext::epcis();
        let bare = |text: &str| {
            canonical_scalar(&json!(text), ValueKind::Vocabulary(&BIZ_STEP), &context).unwrap()
        };
        assert_eq!(
            bare("shipping").as_deref(),
            Some("https://ref.gs1.org/cbv/BizStep-shipping")
        );
        assert_eq!(bare("my_step").as_deref(), Some("my_step"));
        assert!(canonical_scalar(&json!(5), ValueKind::Timestamp, &context).is_err());
    }

    proptest! {
        /// The canonical text of any finite double reads back as the same double.
        #[test]
        fn canonical_numbers_round_trip(value in any::<f64>().prop_filter("finite", |v| v.is_finite())) {
            let text = format_double(value);
            let back: f64 = text.parse().unwrap();
            prop_assert!(back == value, "{} -> {} -> {}", value, text, back);
            prop_assert_eq!(canonical_numeral(&text), Some(text.clone()), "canonical form is a fixed point");
        }
    }
}
