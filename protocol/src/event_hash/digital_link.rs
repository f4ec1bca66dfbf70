//! GS1 identifiers in the one form the pre-hash string uses: a *constrained canonical* GS1 Digital
//! Link URI (`https://id.gs1.org/{primary key AI}/{key}[/{qualifier AI}/{value}]`).
//!
//! CBV 2.0 section 8.9 hashes every GS1 key in that form so that `urn:epc:id:sgtin:...`,
//! `https://brand.example/gtin/...?...` and `https://id.gs1.org/01/...` give one hash. Constrained
//! means: the `id.gs1.org` domain, AI numbers instead of short names (`gtin` → `01`), GTINs padded
//! to 14 digits, no query string, no CPV (AI 22), and only the finest identification level (a lot
//! is dropped when a serial is present). Anything that does not come out as one of the canonical
//! shapes listed in [`is_constrained_canonical`] is left exactly as written.
//!
//! EPC URIs are converted by [`epc_urn`], through `crate::gs1`. Digital Link URIs are *not*
//! parsed with [`crate::gs1::DigitalLink`], on purpose: the reference implementation rewrites
//! them as text (short names replaced, re-rooted on the first primary-key AI found, GTIN padded,
//! then the result matched against the shapes below) and never checks a check digit, so to hash
//! like it we must do the same. `gs1` validates instead, and would change the hash of, among
//! others: keys with a wrong check digit (`https://id.example.com/8003/030013450007718765` in
//! the openepcis vectors), GRAIs without the filler `0`, short names (`/gtin/…/ser/…`, which
//! `gs1` does not read), `/254/0` (which `gs1` drops), values the reference leaves as written
//! because they are percent-encoded, and URIs on hosts or paths `gs1` rejects. The tables below
//! are the reference's, frozen: taking them from `gs1` would let a new `gs1` key change hashes.

use super::epc_urn;

/// The canonical Digital Link URI for a GS1 key written as an EPC URI or a Digital Link URI, or
/// `None` if `text` is neither (or not one this normalisation covers).
pub(super) fn canonical_gs1_uri(text: &str) -> Option<String> {
    // Every EPC URI and every Digital Link URI (domain name) contains a dot; the reference
    // implementation uses this as its cheap pre-filter, so we do too.
    if !text.contains('.') {
        return None;
    }
    epc_urn::to_digital_link(text).or_else(|| canonical_digital_link(text))
}

/// Key path segments (AI numbers and their Digital Link short names) that mark a URI as a Digital
/// Link URI carrying a GS1 primary key.
const DIGITAL_LINK_KEYS: [&str; 28] = [
    "01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party", "8017", "gsrnp",
    "8018", "gsrn", "255", "gcn", "00", "sscc", "253", "gdti", "401", "ginc", "402", "gsin",
    "8003", "grai", "8004", "giai",
];

/// Digital Link short names and the AI numbers that replace them.
const SHORT_NAMES: [(&str, &str); 17] = [
    ("/gtin/", "/01/"),
    ("/itip/", "/8006/"),
    ("/cpid/", "/8010/"),
    ("/gln/", "/414/"),
    ("/party/", "/417/"),
    ("/gsrnp/", "/8017/"),
    ("/gsrn/", "/8018/"),
    ("/gcn/", "/255/"),
    ("/sscc/", "/00/"),
    ("/gdti/", "/253/"),
    ("/ginc/", "/401/"),
    ("/gsin/", "/402/"),
    ("/grai/", "/8003/"),
    ("/giai/", "/8004/"),
    ("/cpv/", "/22/"),
    ("/lot/", "/10/"),
    ("/ser/", "/21/"),
];

/// Primary-key AIs, in the order in which a path is searched for one when re-rooting a URI on
/// `https://id.gs1.org` (the first AI of this list found anywhere in the URI wins).
const PRIMARY_KEY_AIS: [&str; 14] = [
    "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017",
    "8018",
];

const CANONICAL_ROOT: &str = "https://id.gs1.org/";

fn canonical_digital_link(uri: &str) -> Option<String> {
    if !looks_like_digital_link(uri) {
        return None;
    }
    let mut link = uri.split('?').next().unwrap_or(uri).to_owned();
    for (short_name, ai) in SHORT_NAMES {
        if link.contains(short_name) {
            link = link.replace(short_name, ai);
        }
    }
    if !is_rooted_on_canonical_domain(&link) {
        let found = PRIMARY_KEY_AIS
            .iter()
            .find_map(|ai| link.find(&format!("/{ai}/")));
        if let Some(start) = found {
            link = format!("https://id.gs1.org{}", &link[start..]);
        }
    }
    pad_gtin(&mut link);
    drop_cpv(&mut link);
    drop_lot_when_serialised(&mut link);
    is_constrained_canonical(&link).then_some(link)
}

/// `http(s):` URI whose path (before any `?`/`#`) contains `/{key}/` followed by four digits and
/// at least one more character that is not `/`.
fn looks_like_digital_link(uri: &str) -> bool {
    let Some(rest) = uri
        .strip_prefix("https:")
        .or_else(|| uri.strip_prefix("http:"))
    else {
        return false;
    };
    let head_end = rest.find(['?', '#']).unwrap_or(rest.len());
    let head = &rest[..head_end];
    head.match_indices('/').any(|(slash, _)| {
        DIGITAL_LINK_KEYS.iter().any(|key| {
            let after_key = slash + 1 + key.len();
            head[slash + 1..].starts_with(key)
                && head.as_bytes().get(after_key) == Some(&b'/')
                && head
                    .as_bytes()
                    .get(after_key + 1..after_key + 5)
                    .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
                && rest
                    .as_bytes()
                    .get(after_key + 5)
                    .is_some_and(|&next| next != b'/')
        })
    })
}

/// Already `https://id.gs1.org/{primary key AI}/{4 digits}{something}`?
fn is_rooted_on_canonical_domain(link: &str) -> bool {
    let Some(path) = link.strip_prefix(CANONICAL_ROOT) else {
        return false;
    };
    let Some((ai, key)) = path.split_once('/') else {
        return false;
    };
    PRIMARY_KEY_AIS.contains(&ai)
        && key.len() > 4
        && key.as_bytes()[..4].iter().all(u8::is_ascii_digit)
        && key.as_bytes()[4] != b'/'
}

/// GTIN-8/12/13 → GTIN-14 by left-padding with zeros.
fn pad_gtin(link: &mut String) {
    let Some(key) = link.strip_prefix("https://id.gs1.org/01/") else {
        return;
    };
    let pad = match leading_digits(key) {
        14.. => 0,
        13 => 1,
        12 => 2,
        8..=11 => 6,
        _ => 0,
    };
    if pad > 0 {
        // Every "/01/" is padded, as in the reference; for well-formed URIs there is only one.
        *link = link.replace("/01/", &format!("/01/{}", "0".repeat(pad)));
    }
}

/// Removes a trailing CPV (`/22/{cpv}`) or one followed by further qualifiers, after a GTIN or ITIP.
fn drop_cpv(link: &mut String) {
    let Some(start) = link.find("/22/") else {
        return;
    };
    if !follows_item_key(link, start) {
        return;
    }
    let rest = &link[start + 4..];
    if rest.len() > 20 {
        return;
    }
    if rest.bytes().all(is_dl_char) {
        link.truncate(start);
    } else if rest.bytes().all(|b| b == b'/' || is_dl_char(b))
        && let Some(slash) = rest.find('/')
    {
        *link = format!("{}{}", &link[..start], &rest[slash..]);
    }
}

/// Drops `/10/{lot}` when `/21/{serial}` follows it (GTIN or ITIP): the serial is finer.
fn drop_lot_when_serialised(link: &mut String) {
    let Some(start) = link.find("/10/") else {
        return;
    };
    if !follows_item_key(link, start) {
        return;
    }
    let rest = &link[start + 4..];
    let Some((lot, serial)) = rest.split_once("/21/") else {
        return;
    };
    let valid = |part: &str| part.len() <= 20 && part.bytes().all(is_dl_char);
    if valid(lot) && valid(serial) {
        *link = format!("{}/21/{serial}", &link[..start]);
    }
}

/// Whether the qualifier starting at byte `start` directly follows a GTIN-14 (`/01/`) or an ITIP
/// (`/8006/`) on the canonical domain.
fn follows_item_key(link: &str, start: usize) -> bool {
    let Some(path) = link.strip_prefix(CANONICAL_ROOT) else {
        return false;
    };
    let Some((ai, key)) = start
        .checked_sub(CANONICAL_ROOT.len())
        .and_then(|end| path.get(..end))
        .and_then(|before| before.split_once('/'))
    else {
        return false;
    };
    let digits = match ai {
        "01" => 14,
        "8006" => 18,
        _ => return false,
    };
    key.len() == digits && key.bytes().all(|b| b.is_ascii_digit())
}

/// The constrained canonical shapes (everything else is rejected and left as written).
fn is_constrained_canonical(link: &str) -> bool {
    let Some(path) = link.strip_prefix(CANONICAL_ROOT) else {
        return false;
    };
    let Some((ai, rest)) = path.split_once('/') else {
        return false;
    };
    let digits = leading_digits(rest);
    let after = |n: usize| rest.get(n..).filter(|_| digits >= n);
    let qualifier = |tail: &str, ai: &str, max: usize| {
        tail.strip_prefix('/')
            .and_then(|t| t.strip_prefix(ai))
            .and_then(|t| t.strip_prefix('/'))
            .is_some_and(|value| value.len() <= max && value.bytes().all(is_dl_char))
    };
    match ai {
        "00" | "8017" | "8018" => rest.len() == 18 && digits == 18,
        "402" => rest.len() == 17 && digits == 17,
        "417" => rest.len() == 13 && digits == 13,
        "414" => after(13).is_some_and(|t| t.is_empty() || qualifier(t, "254", 20)),
        "01" => after(14).is_some_and(|t| {
            t.is_empty()
                || qualifier(t, "21", 20)
                || qualifier(t, "10", 20)
                || qualifier(t, "235", 28)
        }),
        "8006" => after(18)
            .is_some_and(|t| t.is_empty() || qualifier(t, "21", 20) || qualifier(t, "10", 20)),
        "253" => after(13).is_some_and(|t| t.len() <= 17 && t.bytes().all(is_dl_char)),
        "255" => after(13).is_some_and(|t| t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit())),
        "8003" => after(14).is_some_and(|t| t.len() <= 16 && t.bytes().all(is_dl_char)),
        "401" | "8004" => rest.len() <= 30 && rest.bytes().all(is_dl_char),
        "8010" => is_cpi_link(rest),
        _ => false,
    }
}

/// `{cpi}` or `{cpi}/8011/{serial}` with a CPI of at most 30 of `# - / 0-9 A-Z`.
fn is_cpi_link(rest: &str) -> bool {
    let cpi = |part: &str| {
        part.len() <= 30
            && part
                .bytes()
                .all(|b| matches!(b, b'#' | b'-' | b'/' | b'0'..=b'9' | b'A'..=b'Z'))
    };
    cpi(rest)
        || rest.match_indices("/8011/").any(|(at, _)| {
            let serial = &rest[at + 6..];
            cpi(&rest[..at]) && serial.len() <= 12 && serial.bytes().all(|b| b.is_ascii_digit())
        })
}

/// Characters allowed in alphanumeric key values of a constrained canonical Digital Link URI:
/// `" ' - . 0-9 ; < = > ? A-Z _ a-z` (anything needing percent-encoding fails the check).
fn is_dl_char(byte: u8) -> bool {
    matches!(byte,
        b'"' | b'\'' | b'-' | b'.' | b'0'..=b'9' | b';'..=b'?' | b'A'..=b'Z' | b'_' | b'a'..=b'z')
}

fn leading_digits(text: &str) -> usize {
    text.bytes().take_while(u8::is_ascii_digit).count()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn canonicalises_digital_link_uris() {
        let cases = [
            (
                "https://id.gs1.de/01/04012345999990/21/XYZ-1234",
                "https://id.gs1.org/01/04012345999990/21/XYZ-1234",
            ),
            (
                "https://example.com/253/4012345000054987",
                "https://id.gs1.org/253/4012345000054987",
            ),
            (
                "https://example.org/8004/401234599999",
                "https://id.gs1.org/8004/401234599999",
            ),
            (
                "http://brand.example/gtin/614141123452/lot/ABC/ser/12?s=1",
                "https://id.gs1.org/01/00614141123452/21/12",
            ),
            (
                "https://id.gs1.org/01/09520123456788/22/2A/10/ABC123",
                "https://id.gs1.org/01/09520123456788/10/ABC123",
            ),
            (
                "https://id.gs1.org/01/09520123456788/22/2A",
                "https://id.gs1.org/01/09520123456788",
            ),
            (
                "https://id.gs1.org/01/0952012345678/21/1",
                "https://id.gs1.org/01/00952012345678/21/1",
            ),
            (
                "https://id.gs1.org/01/12345670",
                "https://id.gs1.org/01/00000012345670",
            ),
            (
                "https://id.gs1.org/414/4012345000115/254/987",
                "https://id.gs1.org/414/4012345000115/254/987",
            ),
            (
                "https://example.com/a/b/party/4012345000009",
                "https://id.gs1.org/417/4012345000009",
            ),
            (
                "https://id.gs1.org/8010/0614141ABC/8011/123",
                "https://id.gs1.org/8010/0614141ABC/8011/123",
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                canonical_gs1_uri(input).as_deref(),
                Some(expected),
                "{input}"
            );
        }
    }

    /// Inputs `crate::gs1::DigitalLink` rejects or rewrites, canonicalised as the reference does.
    #[test]
    fn follows_the_reference_where_gs1_differs() {
        let cases = [
            // Wrong check digit (6, not 1), from the openepcis test documents.
            (
                "https://id.example.com/8003/030013450007718765",
                "https://id.gs1.org/8003/030013450007718765",
            ),
            // GRAI without the filler digit 0.
            (
                "https://example.com/8003/14012345555559987",
                "https://id.gs1.org/8003/14012345555559987",
            ),
            // GLN extension 0 is kept.
            (
                "https://example.com/414/4012345000016/254/0",
                "https://id.gs1.org/414/4012345000016/254/0",
            ),
        ];
        for (input, expected) in cases {
            assert!(crate::gs1::parse_any_epc(input).map(|n| n.index_key()) != Ok(expected.into()));
            assert_eq!(
                canonical_gs1_uri(input).as_deref(),
                Some(expected),
                "{input}"
            );
        }
    }

    #[test]
    fn leaves_other_uris_alone() {
        for input in [
            "http://transaction.acme.com/po/12345678",
            "https://accreditation-council.example.org/certificate/ABC12345",
            "http://www.opengis.net/def/crs/EPSG/0/27700",
            "https://id.gs1.org/01/09520123456788/21/ABC%2F1",
            "https://id.gs1.org/00/12345",
            "https://id.gs1.org/01/09520123456788#frag",
            "ftp://id.gs1.org/01/09520123456788",
            "urn:epcglobal:cbv:bt:0614141073467:1152",
            "geo:47.506694,11.104301",
        ] {
            assert_eq!(canonical_gs1_uri(input), None, "{input}");
        }
    }

    proptest! {
        #[test]
        fn canonical_form_is_a_fixed_point(
            gtin in "[0-9]{14}",
            serial in "[A-Za-z0-9._-]{1,20}",
            domain in "[a-z]{1,10}\\.(org|com|de)",
        ) {
            let uri = format!("https://{domain}/01/{gtin}/21/{serial}?linkType=all");
            let canonical = canonical_gs1_uri(&uri).unwrap();
            prop_assert_eq!(&canonical, &format!("https://id.gs1.org/01/{gtin}/21/{serial}"));
            prop_assert_eq!(canonical_gs1_uri(&canonical), Some(canonical.clone()));
        }

        #[test]
        fn never_panics(text in "\\PC{0,60}") {
            let _ = canonical_gs1_uri(&text);
            let _ = canonical_gs1_uri(&format!("https://id.gs1.org/{text}"));
        }
    }
}
