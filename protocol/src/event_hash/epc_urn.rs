//! EPC URIs (GS1 Tag Data Standard: `urn:epc:id:…`, `urn:epc:class:lgtin:…`, `urn:epc:idpat:…`)
//! to constrained canonical GS1 Digital Link URIs, for the Event Hash ID only.
//!
//! Covers the schemes the reference implementation converts. The GS1 Company Prefix (6-12 digits)
//! and the reference that completes it are re-joined into the GS1 key, the check digit is computed,
//! and serial-like components keep their EPC percent-escapes while `! ( ) * + , :` are
//! percent-encoded as Digital Link requires. Anything else (other schemes, wrong lengths,
//! characters outside the EPC alphabets) is `None` and the value is hashed as written.
//!
//! Private and minimal on purpose: the lead may later route this through `crate::gs1`.

const ROOT: &str = "https://id.gs1.org/";

/// The Digital Link form of an EPC URI, or `None` if `uri` is not one this module converts.
pub(super) fn to_digital_link(uri: &str) -> Option<String> {
    if let Some(rest) = uri.strip_prefix("urn:epc:id:") {
        let (scheme, body) = rest.split_once(':')?;
        return instance(scheme, body);
    }
    if let Some(body) = uri.strip_prefix("urn:epc:class:lgtin:") {
        let [gcp, item, lot] = split::<3>(body)?;
        let gtin = gtin(gcp, item)?;
        units(lot, Alphabet::Ai82, 1, 20)?;
        return Some(format!("{ROOT}01/{gtin}/10/{}", encode(lot)));
    }
    if let Some(rest) = uri.strip_prefix("urn:epc:idpat:") {
        let (scheme, body) = rest.split_once(':')?;
        return pattern(scheme, body);
    }
    None
}

/// `urn:epc:id:{scheme}:{body}` (a single instance).
fn instance(scheme: &str, body: &str) -> Option<String> {
    let link = match scheme {
        "sgtin" => {
            let [gcp, item, serial] = split::<3>(body)?;
            units(serial, Alphabet::Ai82, 1, 20)?;
            format!("01/{}/21/{}", gtin(gcp, item)?, encode(serial))
        }
        "sscc" => {
            let [gcp, serial_reference] = split::<2>(body)?;
            key_digits(gcp, serial_reference, 17)?;
            let (extension, serial) = serial_reference.split_at(1);
            format!(
                "00/{}",
                with_check_digit(&format!("{extension}{gcp}{serial}"))
            )
        }
        "sgln" => {
            let [gcp, location, extension] = split::<3>(body)?;
            key_digits(gcp, location, 12)?;
            units(extension, Alphabet::Ai82, 1, 20)?;
            let gln = with_check_digit(&format!("{gcp}{location}"));
            match extension {
                "0" => format!("414/{gln}"),
                _ => format!("414/{gln}/254/{}", encode(extension)),
            }
        }
        "grai" => {
            let [gcp, asset_type, serial] = split::<3>(body)?;
            key_digits(gcp, asset_type, 12)?;
            units(serial, Alphabet::Ai82, 1, 16)?;
            let grai = with_check_digit(&format!("0{gcp}{asset_type}"));
            format!("8003/{grai}{}", encode(serial))
        }
        "giai" => {
            let [gcp, asset] = split::<2>(body)?;
            company_prefix(gcp)?;
            units(asset, Alphabet::Ai82, 1, 30 - gcp.len())?;
            format!("8004/{gcp}{}", encode(asset))
        }
        "gsrn" | "gsrnp" => {
            let [gcp, service] = split::<2>(body)?;
            key_digits(gcp, service, 17)?;
            let ai = if scheme == "gsrn" { "8018" } else { "8017" };
            format!("{ai}/{}", with_check_digit(&format!("{gcp}{service}")))
        }
        "gdti" => {
            let [gcp, document_type, serial] = split::<3>(body)?;
            key_digits(gcp, document_type, 12)?;
            // The reference counts the separating dot into the 20 characters unless the company
            // prefix has 12 digits; we keep its limits so both accept the same URIs.
            let (min, max) = if gcp.len() == 12 { (1, 20) } else { (0, 19) };
            units(serial, Alphabet::Ai82, min, max)?;
            let gdti = with_check_digit(&format!("{gcp}{document_type}"));
            format!("253/{gdti}{}", encode(serial))
        }
        "cpi" => {
            let [gcp, part, serial] = split::<3>(body)?;
            company_prefix(gcp)?;
            units(part, Alphabet::Cpi, 1, 30 - gcp.len())?;
            digits_between(serial, 1, 12)?;
            format!("8010/{gcp}{part}/8011/{serial}")
        }
        "sgcn" => {
            let [gcp, coupon, serial] = split::<3>(body)?;
            key_digits(gcp, coupon, 12)?;
            digits_between(serial, 1, 12)?;
            format!(
                "255/{}{serial}",
                with_check_digit(&format!("{gcp}{coupon}"))
            )
        }
        "ginc" => {
            let [gcp, consignment] = split::<2>(body)?;
            company_prefix(gcp)?;
            units(consignment, Alphabet::Ai82, 1, 30 - gcp.len())?;
            format!("401/{gcp}{}", encode(consignment))
        }
        "gsin" => {
            let [gcp, shipper] = split::<2>(body)?;
            key_digits(gcp, shipper, 16)?;
            format!("402/{}", with_check_digit(&format!("{gcp}{shipper}")))
        }
        "itip" => {
            let [gcp, item, piece, total, serial] = split::<5>(body)?;
            digits_between(piece, 2, 2)?;
            digits_between(total, 2, 2)?;
            units(serial, Alphabet::Ai82, 1, 20)?;
            let gtin = gtin(gcp, item)?;
            format!("8006/{gtin}{piece}{total}/21/{}", encode(serial))
        }
        "upui" => {
            let [gcp, item, serial] = split::<3>(body)?;
            units(serial, Alphabet::Ai82, 1, 28)?;
            format!("01/{}/235/{}", gtin(gcp, item)?, encode(serial))
        }
        "pgln" => {
            let [gcp, party] = split::<2>(body)?;
            key_digits(gcp, party, 12)?;
            format!("417/{}", with_check_digit(&format!("{gcp}{party}")))
        }
        _ => return None,
    };
    Some(format!("{ROOT}{link}"))
}

/// `urn:epc:idpat:{scheme}:{body}` where the serial (or everything after the class) is `*`.
fn pattern(scheme: &str, body: &str) -> Option<String> {
    let link = match scheme {
        "sgtin" | "upui" => {
            let [gcp, item, star] = split::<3>(body)?;
            wildcard(star)?;
            format!("01/{}", gtin(gcp, item)?)
        }
        "grai" | "gdti" | "sgcn" => {
            let [gcp, reference, star] = split::<3>(body)?;
            key_digits(gcp, reference, 12)?;
            // For a 12-digit company prefix the reference implementation expects `GCP...*`
            // (three dots) where the TDS writes `GCP..*`; accept both.
            if star != "*" && !(gcp.len() == 12 && star == ".*") {
                return None;
            }
            match scheme {
                "grai" => format!("8003/{}", with_check_digit(&format!("0{gcp}{reference}"))),
                "gdti" => format!("253/{}", with_check_digit(&format!("{gcp}{reference}"))),
                _ => format!("255/{}", with_check_digit(&format!("{gcp}{reference}"))),
            }
        }
        "cpi" => {
            let [gcp, part, star] = split::<3>(body)?;
            company_prefix(gcp)?;
            units(part, Alphabet::Cpi, 1, 30 - gcp.len())?;
            wildcard(star)?;
            format!("8010/{gcp}{part}")
        }
        "itip" => {
            let [gcp, item, piece, total, star] = split::<5>(body)?;
            digits_between(piece, 2, 2)?;
            digits_between(total, 2, 2)?;
            wildcard(star)?;
            format!("8006/{}{piece}{total}", gtin(gcp, item)?)
        }
        _ => return None,
    };
    Some(format!("{ROOT}{link}"))
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

/// A GS1 Company Prefix: 6 to 12 digits.
fn company_prefix(gcp: &str) -> Option<()> {
    ((6..=12).contains(&gcp.len()) && gcp.bytes().all(|b| b.is_ascii_digit())).then_some(())
}

/// A company prefix plus an all-digit reference (possibly empty) of `total` digits together.
fn key_digits(gcp: &str, reference: &str, total: usize) -> Option<()> {
    company_prefix(gcp)?;
    (gcp.len() + reference.len() == total && reference.bytes().all(|b| b.is_ascii_digit()))
        .then_some(())
}

fn digits_between(text: &str, min: usize, max: usize) -> Option<()> {
    ((min..=max).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit())).then_some(())
}

/// GTIN-14 from a company prefix and an item reference whose first digit is the indicator.
fn gtin(gcp: &str, item_reference: &str) -> Option<String> {
    key_digits(gcp, item_reference, 13)?;
    let (indicator, item) = item_reference.split_at(1);
    Some(with_check_digit(&format!("{indicator}{gcp}{item}")))
}

/// `digits` followed by its GS1 mod-10 check digit (GS1 General Specifications 7.9.1).
fn with_check_digit(digits: &str) -> String {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(position, digit)| {
            let weight = if position % 2 == 0 { 3 } else { 1 };
            u32::from(digit.wrapping_sub(b'0')) * weight
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

/// Character sets of EPC URI components.
#[derive(Clone, Copy)]
enum Alphabet {
    /// GS1 AI encodable character set 82, as escaped in EPC URIs (serials, lots, asset refs).
    Ai82,
    /// Component/part reference of a CPI: `0-9 A-Z -` and the escapes for `# - /`, digits, letters.
    Cpi,
}

impl Alphabet {
    fn allows(self, byte: u8) -> bool {
        match self {
            Alphabet::Ai82 => matches!(byte,
                b'!' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b'-' | b'.' | b'0'..=b'9'
                | b':' | b';' | b'=' | b'A'..=b'Z' | b'_' | b'a'..=b'z'),
            Alphabet::Cpi => matches!(byte, b'0'..=b'9' | b'A'..=b'Z' | b'-'),
        }
    }

    fn allows_escape(self, high: u8, low: u8) -> bool {
        match self {
            Alphabet::Ai82 => match high {
                b'2' => matches!(low, b'1' | b'2' | b'5'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
                b'3' => low.is_ascii_hexdigit(),
                b'4' | b'6' => matches!(low, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
                b'5' => matches!(low, b'0'..=b'9' | b'A' | b'a' | b'F' | b'f'),
                b'7' => matches!(low, b'0'..=b'9' | b'A' | b'a'),
                _ => false,
            },
            Alphabet::Cpi => match high {
                b'2' => matches!(low, b'3' | b'D' | b'd' | b'F' | b'f'),
                b'3' => low.is_ascii_digit(),
                b'4' => matches!(low, b'1'..=b'9' | b'A'..=b'F' | b'a'..=b'f'),
                b'5' => matches!(low, b'0'..=b'9' | b'A' | b'a'),
                _ => false,
            },
        }
    }
}

/// Checks that `text` is `min..=max` characters of `alphabet`, a `%XX` escape counting as one.
fn units(text: &str, alphabet: Alphabet, min: usize, max: usize) -> Option<()> {
    let bytes = text.as_bytes();
    let (mut at, mut count) = (0, 0);
    while at < bytes.len() {
        match bytes[at] {
            b'%' => match (bytes.get(at + 1), bytes.get(at + 2)) {
                (Some(&high), Some(&low)) if alphabet.allows_escape(high, low) => at += 3,
                _ => return None,
            },
            byte if alphabet.allows(byte) => at += 1,
            _ => return None,
        }
        count += 1;
    }
    (min..=max).contains(&count).then_some(())
}

/// Percent-encodes the characters Digital Link reserves that EPC URIs leave bare.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
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

    proptest! {
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
