//! EPC URIs (GS1 Tag Data Standard: `urn:epc:id:…`, `urn:epc:class:lgtin:…`, `urn:epc:idpat:…`)
//! to the constrained canonical GS1 Digital Link URIs of the pre-hash string.
//!
//! Validation and GS1 key construction (company prefix and reference re-joined, check digit
//! computed) are [`crate::gs1`]'s: each URI is checked with [`Epc::from_parts`] and its key taken
//! from [`Epc::to_digital_link`]. This module only holds what the Event Hash needs beyond that,
//! because the pre-hash string must match the reference implementation byte for byte:
//!
//! * **Text as written** ([`Component`]): the reference copies serials, lots, extensions and asset
//!   references into the Digital Link as written, keeping their escapes (hex case included) and
//!   percent-encoding only `! ( ) * + , :`, where `gs1` would re-encode the decoded value. It also
//!   accepts an escape of *any* character of the component's character set (`%41` for `A`),
//!   which `gs1` rejects because the TDS writes such characters literally.
//! * **Exact spelling**: the reference matches the lower-case prefixes only; `gs1` also accepts
//!   `URN:EPC:ID:SGTIN:…`.
//! * **GDTI serials** of 0-19 characters (1-20 with a 12-digit company prefix) where the GS1 format
//!   has 1-17: the reference counts the dot before the serial into it.
//! * **Schemes `gs1` does not model**: ITIP (`urn:epc:id:itip`) and the `urn:epc:idpat:` patterns
//!   other than SGTIN (UPUI, GRAI, GDTI, SGCN, CPI, ITIP). Of the SGTIN patterns only `P.I.*`
//!   converts, as in the reference (`gs1` also reads `P.I.S`, `P.*.*` and `*.*.*`).
//!
//! Anything else (other schemes, wrong lengths, characters outside the EPC alphabets) is `None`
//! and the value is hashed as written. The tests below pin the output for every scheme and each
//! difference above, so a change in `gs1` that would move an Event Hash ID fails here first.

use crate::gs1::{DigitalLink, Epc, EpcScheme, GS1_RESOLVER, KeyQualifier, PrimaryKey};

/// The Digital Link form of an EPC URI, or `None` if `uri` is not one this module converts.
pub(super) fn to_digital_link(uri: &str) -> Option<String> {
    let rest = uri.strip_prefix("urn:epc:")?;
    let (kind, rest) = rest.split_once(':')?;
    let (scheme, body) = rest.split_once(':')?;
    let path = match (kind, scheme) {
        ("id", "itip") => itip(body, Itip::Instance)?,
        ("idpat", "itip") => itip(body, Itip::Pattern)?,
        ("idpat", _) => pattern(scheme, body)?,
        _ => {
            // Case-sensitive on purpose: see the module docs.
            let prefix = format!("urn:epc:{kind}:{scheme}");
            let scheme = EpcScheme::ALL
                .into_iter()
                .find(|known| known.urn_prefix() == prefix)?;
            instance(scheme, body)?
        }
    };
    Some(format!("{GS1_RESOLVER}/{path}"))
}

/// `urn:epc:id:{scheme}:{body}` (a single instance) or `urn:epc:class:lgtin:{body}`, as the
/// Digital Link path after the domain.
fn instance(scheme: EpcScheme, body: &str) -> Option<String> {
    use EpcScheme as S;
    Some(match scheme {
        S::Sgtin | S::Lgtin | S::Upui | S::Sgln => {
            let [prefix, reference, last] = split::<3>(body)?;
            let last = Component::read(last)?;
            let link = gs1_link(scheme, prefix, reference, Some(&last.value))?;
            let key = key_path(&link);
            let qualifier = match scheme {
                S::Sgtin => KeyQualifier::Serial,
                S::Lgtin => KeyQualifier::Lot,
                S::Upui => KeyQualifier::Tpx,
                // TDS: extension `0` means "no extension"; compared as written, like the reference.
                _ if last.written == "0" => return Some(key),
                _ => KeyQualifier::GlnExtension,
            };
            format!("{key}/{}/{}", qualifier.ai(), last.to_link_text())
        }
        S::Grai => {
            let [prefix, asset_type, serial] = split::<3>(body)?;
            let serial = Component::read(serial)?;
            let link = gs1_link(scheme, prefix, asset_type, Some(&serial.value))?;
            key_path_with_tail(&link, &serial)?
        }
        S::Gdti => {
            let [prefix, document_type, serial] = split::<3>(body)?;
            let serial = Component::read(serial)?;
            // The reference counts the separating dot into the 20 characters unless the company
            // prefix has 12 digits, and allows an empty serial then; we keep its limits.
            let (min, max) = if prefix.len() == 12 { (1, 20) } else { (0, 19) };
            let length = serial.value.chars().count();
            let serial_ok =
                serial.value.is_empty() || KeyQualifier::Serial.normalise(&serial.value).is_ok();
            if !(min..=max).contains(&length) || !serial_ok {
                return None;
            }
            let class = gs1_link(scheme, prefix, document_type, Some(ANY_SERIAL))?;
            let key = class.primary_value().strip_suffix(ANY_SERIAL)?;
            format!(
                "{}/{key}{}",
                class.primary_key().ai(),
                serial.to_link_text()
            )
        }
        S::Giai | S::Ginc => {
            let [prefix, reference] = split::<2>(body)?;
            let reference = Component::read(reference)?;
            let link = gs1_link(scheme, prefix, &reference.value, None)?;
            key_path_with_tail(&link, &reference)?
        }
        S::Cpi => {
            let [prefix, part, serial] = split::<3>(body)?;
            let part = Component::read(part)?;
            gs1_link(scheme, prefix, &part.value, Some(serial))?;
            format!("8010/{prefix}{}/8011/{serial}", part.to_link_text())
        }
        S::Sscc | S::Gsrn | S::Gsrnp | S::Gsin | S::Pgln => {
            let [prefix, reference] = split::<2>(body)?;
            key_path(&gs1_link(scheme, prefix, reference, None)?)
        }
        S::Sgcn => {
            // The serial is digits only: no escapes, and the key is written as `gs1` builds it.
            let [prefix, coupon, serial] = split::<3>(body)?;
            key_path(&gs1_link(scheme, prefix, coupon, Some(serial))?)
        }
        _ => return None,
    })
}

/// `urn:epc:idpat:{scheme}:{body}` where the serial (or everything after the class) is `*`: the
/// class key alone.
fn pattern(scheme: &str, body: &str) -> Option<String> {
    let [prefix, reference, star] = split::<3>(body)?;
    Some(match scheme {
        "sgtin" | "upui" => {
            wildcard(star)?;
            key_path(&gs1_link(EpcScheme::SgtinPattern, prefix, reference, None)?)
        }
        "grai" | "gdti" | "sgcn" => {
            // For a 12-digit company prefix the reference implementation expects `GCP...*`
            // (three dots) where the TDS writes `GCP..*`; accept both.
            if star != "*" && !(prefix.len() == 12 && star == ".*") {
                return None;
            }
            let scheme = match scheme {
                "grai" => EpcScheme::Grai,
                "gdti" => EpcScheme::Gdti,
                _ => EpcScheme::Sgcn,
            };
            let class = gs1_link(scheme, prefix, reference, Some(ANY_SERIAL))?;
            let key = class.primary_value().strip_suffix(ANY_SERIAL)?;
            format!("{}/{key}", class.primary_key().ai())
        }
        "cpi" => {
            wildcard(star)?;
            let part = Component::read(reference)?;
            gs1_link(EpcScheme::Cpi, prefix, &part.value, Some(ANY_SERIAL))?;
            format!("8010/{prefix}{}", part.to_link_text())
        }
        _ => return None,
    })
}

/// Whether an ITIP URI names one piece or, with a `*` serial, every piece of that kind.
#[derive(Debug, Clone, Copy)]
enum Itip {
    Instance,
    Pattern,
}

/// `urn:epc:id:itip:P.I.PP.TT.S` and `urn:epc:idpat:itip:P.I.PP.TT.*`.
///
/// `gs1` has no ITIP URN (it converts ITIP Digital Links only), but an ITIP URN is an SGTIN URN
/// with the piece number and total count inserted: `gs1` validates the company prefix, item
/// reference and serial as an SGTIN's (same rules) and the 18-digit ITIP key as AI 8006's.
fn itip(body: &str, kind: Itip) -> Option<String> {
    let [prefix, item, piece, total, serial] = split::<5>(body)?;
    if piece.len() != 2 || total.len() != 2 {
        return None;
    }
    let (gtin, serial) = match kind {
        Itip::Instance => {
            let serial = Component::read(serial)?;
            let sgtin = gs1_link(EpcScheme::Sgtin, prefix, item, Some(&serial.value))?;
            (sgtin.primary_value().to_owned(), Some(serial))
        }
        Itip::Pattern => {
            wildcard(serial)?;
            let class = gs1_link(EpcScheme::SgtinPattern, prefix, item, None)?;
            (class.primary_value().to_owned(), None)
        }
    };
    let itip = DigitalLink::new(PrimaryKey::Itip, &format!("{gtin}{piece}{total}")).ok()?;
    let key = key_path(&itip);
    Some(match serial {
        Some(serial) => format!("{key}/21/{}", serial.to_link_text()),
        None => key,
    })
}

/// A serial `gs1` accepts in every scheme, standing in for the `*` of a pattern (or for a
/// serial validated separately) so that `gs1` builds the key of the class; it is stripped again.
const ANY_SERIAL: &str = "0";

/// The Digital Link `gs1` builds for these unescaped components, if they are valid.
fn gs1_link(
    scheme: EpcScheme,
    company_prefix: &str,
    reference: &str,
    last: Option<&str>,
) -> Option<DigitalLink> {
    Epc::from_parts(scheme, Some(company_prefix), Some(reference), last)
        .ok()?
        .to_digital_link()
        .ok()
}

/// `{primary key AI}/{key}` of a link (keys are digits: no encoding question arises).
fn key_path(link: &DigitalLink) -> String {
    format!("{}/{}", link.primary_key().ai(), link.primary_value())
}

/// `{primary key AI}/{key}{text}` for the keys that end in free text (GRAI and GDTI serials, GIAI
/// and GINC references), with the text written as the reference writes it.
fn key_path_with_tail(link: &DigitalLink, tail: &Component<'_>) -> Option<String> {
    let key = link.primary_value().strip_suffix(tail.value.as_str())?;
    Some(format!(
        "{}/{key}{}",
        link.primary_key().ai(),
        tail.to_link_text()
    ))
}

/// Splits at the first `N - 1` dots; the last part keeps any further dots (serials may have them).
fn split<const N: usize>(body: &str) -> Option<[&str; N]> {
    let mut parts = body.splitn(N, '.');
    let mut out = [""; N];
    for slot in &mut out {
        *slot = parts.next()?;
    }
    Some(out)
}

fn wildcard(part: &str) -> Option<()> {
    (part == "*").then_some(())
}

/// A free-text EPC URI component (serial, lot, extension, asset or part reference) as written,
/// and its unescaped value for `gs1` to validate.
#[derive(Debug)]
struct Component<'a> {
    written: &'a str,
    value: String,
}

/// Characters the TDS requires to be escaped in an EPC URI, so never written literally.
const MUST_BE_ESCAPED: &str = "\"#%&/<>?";

impl<'a> Component<'a> {
    /// Reads `written` as the reference does: every `%XX` escape is decoded (which characters
    /// are allowed is `gs1`'s check on the value) and no character the TDS requires to be
    /// escaped may appear literally. `None` if `written` is not such text.
    fn read(written: &'a str) -> Option<Self> {
        let mut value = String::with_capacity(written.len());
        let mut rest = written;
        while let Some(c) = rest.chars().next() {
            if c == '%' {
                let hex = rest
                    .get(1..3)
                    .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))?;
                value.push(char::from(u8::from_str_radix(hex, 16).ok()?));
                rest = rest.get(3..)?;
            } else if MUST_BE_ESCAPED.contains(c) {
                return None;
            } else {
                value.push(c);
                rest = rest.get(c.len_utf8()..)?;
            }
        }
        Some(Self { written, value })
    }

    /// The component as the reference writes it into a Digital Link: as written, escapes
    /// kept, with the characters Digital Link reserves and EPC URIs leave bare
    /// (`! ( ) * + , :`) percent-encoded.
    fn to_link_text(&self) -> String {
        let mut out = String::with_capacity(self.written.len());
        for c in self.written.chars() {
            match c {
                '!' => out.push_str("%21"),
                '(' => out.push_str("%28"),
                ')' => out.push_str("%29"),
                '*' => out.push_str("%2A"),
                '+' => out.push_str("%2B"),
                ',' => out.push_str("%2C"),
                ':' => out.push_str("%3A"),
                other => out.push(other),
            }
        }
        out
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn converts_every_scheme() {
        let cases = [
            (
                "urn:epc:id:sgtin:0614141.107346.2017",
                "https://id.gs1.org/01/10614141073464/21/2017",
            ),
            (
                "urn:epc:id:sgtin:4012345.011111.A(1)!",
                "https://id.gs1.org/01/04012345111118/21/A%281%29%21",
            ),
            (
                "urn:epc:id:sscc:0614141.1234567890",
                "https://id.gs1.org/00/106141412345678908",
            ),
            (
                "urn:epc:id:sgln:0614141.07346.1234",
                "https://id.gs1.org/414/0614141073467/254/1234",
            ),
            (
                "urn:epc:id:sgln:4012345.00225.0",
                "https://id.gs1.org/414/4012345002256",
            ),
            (
                "urn:epc:id:grai:4012345.55555.987",
                "https://id.gs1.org/8003/04012345555554987",
            ),
            (
                "urn:epc:id:giai:4000001.12345",
                "https://id.gs1.org/8004/400000112345",
            ),
            (
                "urn:epc:id:gsrn:0614141.0000010253",
                "https://id.gs1.org/8018/061414100000102534",
            ),
            (
                "urn:epc:id:gsrnp:0614141.0000010253",
                "https://id.gs1.org/8017/061414100000102534",
            ),
            (
                "urn:epc:id:gdti:0614141.00001.1618034",
                "https://id.gs1.org/253/06141410000121618034",
            ),
            (
                "urn:epc:id:cpi:0614141.123ABC.123456789",
                "https://id.gs1.org/8010/0614141123ABC/8011/123456789",
            ),
            (
                "urn:epc:id:sgcn:4012345.67890.04711",
                "https://id.gs1.org/255/401234567890104711",
            ),
            (
                "urn:epc:id:ginc:0614141.xyz47(11)",
                "https://id.gs1.org/401/0614141xyz47%2811%29",
            ),
            (
                "urn:epc:id:gsin:0614141.123456789",
                "https://id.gs1.org/402/06141411234567890",
            ),
            (
                "urn:epc:id:itip:4012345.012345.01.02.987",
                "https://id.gs1.org/8006/040123451234560102/21/987",
            ),
            (
                "urn:epc:id:upui:1234567.089456.51qIgY)%3C%26Jp3*j7'SDB",
                "https://id.gs1.org/01/01234567894560/235/51qIgY%29%3C%26Jp3%2Aj7'SDB",
            ),
            (
                "urn:epc:id:pgln:0614141.00777",
                "https://id.gs1.org/417/0614141007776",
            ),
            (
                "urn:epc:class:lgtin:4012345.012345.998877",
                "https://id.gs1.org/01/04012345123456/10/998877",
            ),
            (
                "urn:epc:idpat:sgtin:4012345.098765.*",
                "https://id.gs1.org/01/04012345987652",
            ),
            (
                "urn:epc:idpat:grai:4012345.55555.*",
                "https://id.gs1.org/8003/04012345555554",
            ),
            (
                "urn:epc:idpat:grai:401234500000..*",
                "https://id.gs1.org/8003/04012345000009",
            ),
            (
                "urn:epc:idpat:grai:401234500000...*",
                "https://id.gs1.org/8003/04012345000009",
            ),
            (
                "urn:epc:id:sgtin:061414.1073466.2017.",
                "https://id.gs1.org/01/10614140734663/21/2017.",
            ),
            (
                "urn:epc:idpat:gdti:0614141.00001.*",
                "https://id.gs1.org/253/0614141000012",
            ),
            (
                "urn:epc:idpat:cpi:0614141.123ABC.*",
                "https://id.gs1.org/8010/0614141123ABC",
            ),
            (
                "urn:epc:idpat:itip:4012345.012345.01.02.*",
                "https://id.gs1.org/8006/040123451234560102",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(to_digital_link(input).as_deref(), Some(expected), "{input}");
        }
    }

    #[test]
    fn rejects_malformed_uris() {
        for input in [
            "urn:epc:id:sgtin:0614141.10734.2017",
            "urn:epc:id:sgtin:0614141.107346.",
            "urn:epc:id:sgtin:0614141.107346.has space",
            "urn:epc:id:sgtin:0614141.107346.%ZZ",
            "urn:epc:id:sgtin:0614141.107346.123456789012345678901",
            "urn:epc:id:sscc:0614141.123456789",
            "urn:epc:id:sgln:0614141.07346",
            "urn:epc:id:pgln:0614141.00777.0",
            "urn:epc:id:unknown:0614141.1",
            "urn:epc:idpat:sgtin:4012345.098765.1",
            "urn:epc:idpat:sscc:4012345.*",
            "urn:epc:id:sgtin:٠٦١٤١٤١.107346.2017",
        ] {
            assert_eq!(to_digital_link(input), None, "{input}");
        }
    }

    /// Where the reference's form differs from `gs1`'s canonical form (see the module docs).
    #[test]
    fn follows_the_reference_where_gs1_differs() {
        let sgtin = "https://id.gs1.org/01/10614141073464/21/";
        let cases = [
            // Escapes are kept as written, hex case included; superfluous ones too.
            (
                "urn:epc:id:sgtin:0614141.107346.a%2fb",
                Some(format!("{sgtin}a%2fb")),
            ),
            (
                "urn:epc:id:sgtin:0614141.107346.%41'1",
                Some(format!("{sgtin}%41'1")),
            ),
            (
                "urn:epc:id:sgtin:0614141.107346.a;b=c",
                Some(format!("{sgtin}a;b=c")),
            ),
            (
                "urn:epc:id:sgln:0614141.07346.%30",
                Some("https://id.gs1.org/414/0614141073467/254/%30".to_owned()),
            ),
            // Escapes of characters outside the component's character set stay invalid.
            ("urn:epc:id:sgtin:0614141.107346.a%23b", None),
            ("urn:epc:id:sgtin:0614141.107346.a/b", None),
            ("urn:epc:id:cpi:0614141.A%2Fb.1", None),
            ("urn:epc:id:sgcn:4012345.67890.%30", None),
            // Lower-case prefixes only.
            ("URN:EPC:ID:SGTIN:0614141.107346.2017", None),
            ("urn:epc:id:SGTIN:0614141.107346.2017", None),
            // GDTI serials: 0-19 characters, 1-20 after a 12-digit company prefix.
            (
                "urn:epc:id:gdti:0614141.00001.",
                Some("https://id.gs1.org/253/0614141000012".to_owned()),
            ),
            (
                "urn:epc:id:gdti:0614141.00001.1234567890123456789",
                Some("https://id.gs1.org/253/06141410000121234567890123456789".to_owned()),
            ),
            ("urn:epc:id:gdti:0614141.00001.12345678901234567890", None),
            ("urn:epc:id:gdti:061414100001..", None),
            // SGTIN patterns: only a wildcard serial converts.
            ("urn:epc:idpat:sgtin:4012345.098765.1", None),
            ("urn:epc:idpat:sgtin:4012345.*.*", None),
            ("urn:epc:idpat:sgtin:*.*.*", None),
            // ITIP: piece and total are exactly two digits.
            ("urn:epc:id:itip:4012345.012345.1.002.987", None),
            ("urn:epc:idpat:itip:4012345.012345.0a.02.*", None),
        ];
        for (input, expected) in cases {
            assert_eq!(to_digital_link(input), expected, "{input}");
        }
    }

    /// `(URN, values need no percent-encoding)` for every scheme `gs1` models.
    fn gs1_modelled_urn() -> impl Strategy<Value = String> {
        (6usize..=12, "[0-9]{17}", "[A-Za-z0-9._-]{1,12}", 0usize..13).prop_map(
            |(gcp_len, digits, text, scheme)| {
                let gcp = &digits[..gcp_len];
                let reference = |total: usize| &digits[gcp_len..total];
                let numeric_serial: String = text.chars().filter(char::is_ascii_digit).collect();
                let numeric_serial = if numeric_serial.is_empty() {
                    "7".into()
                } else {
                    numeric_serial
                };
                match scheme {
                    0 => format!("urn:epc:id:sgtin:{gcp}.{}.{text}", reference(13)),
                    1 => format!("urn:epc:class:lgtin:{gcp}.{}.{text}", reference(13)),
                    2 => format!("urn:epc:id:upui:{gcp}.{}.{text}", reference(13)),
                    3 => format!("urn:epc:idpat:sgtin:{gcp}.{}.*", reference(13)),
                    4 => format!("urn:epc:id:sscc:{gcp}.{}", reference(17)),
                    5 => format!("urn:epc:id:sgln:{gcp}.{}.{text}", reference(12)),
                    6 => format!("urn:epc:id:pgln:{gcp}.{}", reference(12)),
                    7 => format!("urn:epc:id:grai:{gcp}.{}.{text}", reference(12)),
                    8 => format!("urn:epc:id:giai:{gcp}.{text}"),
                    9 => format!("urn:epc:id:gsrn:{gcp}.{}", reference(17)),
                    10 => format!("urn:epc:id:gdti:{gcp}.{}.{text}", reference(12)),
                    11 => format!("urn:epc:id:sgcn:{gcp}.{}.{numeric_serial}", reference(12)),
                    _ => format!("urn:epc:id:gsin:{gcp}.{}", reference(16)),
                }
            },
        )
    }

    proptest! {
        /// Where no percent-encoding is involved, the hash's form is `gs1`'s index key, so
        /// ledger keys and event hashes agree on what "the same EPC" is.
        #[test]
        fn agrees_with_the_gs1_index_key(uri in gs1_modelled_urn()) {
            let expected = crate::gs1::parse_any_epc(&uri).unwrap().index_key();
            prop_assert_eq!(to_digital_link(&uri), Some(expected));
        }

        #[test]
        fn sgtin_gives_a_gtin_with_a_valid_check_digit(
            gcp_len in 6usize..=12,
            digits in "[0-9]{13}",
            serial in "[A-Za-z0-9]{1,20}",
        ) {
            let (gcp, item) = digits.split_at(gcp_len);
            let uri = format!("urn:epc:id:sgtin:{gcp}.{item}.{serial}");
            let link = to_digital_link(&uri).unwrap();
            let gtin = &link["https://id.gs1.org/01/".len()..][..14];
            // A GTIN with its check digit has a weighted sum divisible by 10.
            let sum: u32 = gtin.bytes().rev().enumerate()
                .map(|(i, d)| u32::from(d - b'0') * if i % 2 == 0 { 1 } else { 3 }).sum();
            prop_assert_eq!(sum % 10, 0);
            prop_assert_eq!(&gtin[1..1 + gcp_len], gcp);
            let expected_tail = format!("/21/{serial}");
            prop_assert!(link.ends_with(&expected_tail));
        }

        #[test]
        fn never_panics(tail in "\\PC{0,40}", scheme in "(sgtin|sscc|sgln|grai|giai|gdti|cpi|itip|upui|pgln|x)") {
            let _ = to_digital_link(&format!("urn:epc:id:{scheme}:{tail}"));
            let _ = to_digital_link(&format!("urn:epc:idpat:{scheme}:{tail}"));
            let _ = to_digital_link(&format!("urn:epc:class:lgtin:{tail}"));
        }
    }
}
