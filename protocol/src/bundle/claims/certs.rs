//! Certifications: the certificate URIs of `certificationInfo`, with the GS1 Web Vocabulary
//! details an event may carry (`gs1:certification`: standard, agency, identification, start and
//! end dates, status), judged valid or not at the anchor's time.
//!
//! Details are matched to a URI by `certificationIdentification` (equal to the URI, or its last
//! segment); unmatched details go to the remaining URIs in order.

use serde_json::Value;
use time::{Date, Month};

use crate::bundle::verdict::CertificationClaim;
use crate::epcis::Timestamp;

use super::jsonld::{GS1, text_of};
use super::read::Seen;

/// What a `gs1:certification` object declares.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(super) struct Details {
    pub standard: Option<String>,
    pub agency: Option<String>,
    pub identification: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    pub status: Option<String>,
}

/// Statuses (last path segment, lower case) that make a certificate not valid, whatever its
/// dates say.
const INVALID_STATUSES: &[&str] = &[
    "revoked",
    "suspended",
    "withdrawn",
    "expired",
    "cancelled",
    "canceled",
    "inactive",
    "terminated",
];

/// The certification details an event carries, in document order.
pub(super) fn details(seen: &Seen<'_>) -> Vec<Details> {
    let iri = format!("{GS1}certification");
    seen.names
        .members(seen.event.extensions(), &iri)
        .into_iter()
        .flat_map(|value| match value {
            Value::Array(items) => items.iter().collect::<Vec<_>>(),
            other => vec![other],
        })
        .filter_map(|value| value.as_object())
        .map(|object| {
            let names = seen.names.within(object);
            let term = |name: &str| {
                names
                    .member(object, &format!("{GS1}{name}"))
                    .and_then(|v| text_of(v, &names))
            };
            Details {
                standard: term("certificationStandard"),
                agency: term("certificationAgency"),
                identification: term("certificationIdentification"),
                start: term("certificationStartDate"),
                end: term("certificationEndDate"),
                status: term("certificationStatus"),
            }
        })
        .collect()
}

/// The certification claims of one event, one per `certificationInfo` URI.
pub(super) fn claims(
    seen: &Seen<'_>,
    details: &[Details],
    anchor_time_ms: u64,
) -> Vec<CertificationClaim> {
    let uris = seen.event.certification_info();
    let matched = match_details(&uris, details);
    uris.iter()
        .zip(matched)
        .map(|(uri, detail)| {
            let detail = detail.cloned().unwrap_or_default();
            let valid_at_anchor = valid_at(
                anchor_time_ms,
                detail.start.as_deref(),
                detail.end.as_deref(),
                detail.status.as_deref(),
            );
            CertificationClaim {
                event_index: seen.index,
                certificate: (*uri).to_owned(),
                issuer: seen.who().to_owned(),
                standard: detail.standard,
                valid_from: detail.start,
                valid_until: detail.end,
                valid_at_anchor,
                verified: seen.verified,
            }
        })
        .collect()
}

/// For each URI, the details that describe it: by identification first, then in order.
fn match_details<'d>(uris: &[&str], details: &'d [Details]) -> Vec<Option<&'d Details>> {
    let mut used = vec![false; details.len()];
    let mut matched: Vec<Option<usize>> = uris
        .iter()
        .map(|uri| {
            let found = details.iter().enumerate().position(|(j, d)| {
                !used[j]
                    && d.identification
                        .as_deref()
                        .is_some_and(|id| identifies(id, uri))
            });
            if let Some(j) = found {
                used[j] = true;
            }
            found
        })
        .collect();
    for slot in matched.iter_mut().filter(|slot| slot.is_none()) {
        let next = (0..details.len()).find(|j| {
            !used[*j]
                && details[*j]
                    .identification
                    .as_deref()
                    .is_none_or(|id| !uris.iter().any(|uri| identifies(id, uri)))
        });
        if let Some(j) = next {
            used[j] = true;
            *slot = Some(j);
        }
    }
    matched
        .into_iter()
        .map(|slot| slot.and_then(|j| details.get(j)))
        .collect()
}

/// Whether identification `id` names certificate `uri`: the URI itself, or its last segment.
fn identifies(id: &str, uri: &str) -> bool {
    !id.is_empty()
        && (id == uri
            || uri
                .strip_suffix(id)
                .is_some_and(|head| head.ends_with(['/', '#', ':', '='])))
}

/// Whether the anchor's time lies within `[start, end]` and the status does not withdraw the
/// certificate. `None` when nothing is declared, or when a declared date cannot be read and no
/// other declaration already settles it.
pub(super) fn valid_at(
    anchor_ms: u64,
    start: Option<&str>,
    end: Option<&str>,
    status: Option<&str>,
) -> Option<bool> {
    if status.is_some_and(withdrawn) {
        return Some(false);
    }
    let anchor = i128::from(anchor_ms);
    let from = start.map(|s| instant(s, Bound::Start));
    let until = end.map(|s| instant(s, Bound::End));
    let broken = matches!(from, Some(Some(from)) if anchor < from)
        || matches!(until, Some(Some(until)) if anchor > until);
    if broken {
        return Some(false);
    }
    let unreadable = matches!(from, Some(None)) || matches!(until, Some(None));
    if unreadable {
        return None;
    }
    (from.is_some() || until.is_some()).then_some(true)
}

fn withdrawn(status: &str) -> bool {
    let word = status
        .rsplit(['/', '#', ':', '-'])
        .next()
        .unwrap_or(status)
        .to_ascii_lowercase();
    INVALID_STATUSES.contains(&word.as_str())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bound {
    Start,
    End,
}

/// A validity bound in milliseconds: an `xsd:dateTime` with offset as written; an `xsd:date`
/// (optionally with a zone, read as UTC) from its first millisecond (start) or to its last
/// (end), so a certificate valid "until 2025-12-31" is valid all that day.
fn instant(text: &str, bound: Bound) -> Option<i128> {
    let text = text.trim();
    if let Ok(timestamp) = Timestamp::parse(text) {
        return Some(timestamp.datetime().unix_timestamp_nanos() / 1_000_000);
    }
    let date = parse_date(text)?;
    let start = date.midnight().assume_utc().unix_timestamp_nanos() / 1_000_000;
    Some(match bound {
        Bound::Start => start,
        Bound::End => start + 86_400_000 - 1,
    })
}

/// `YYYY-MM-DD`, optionally followed by `Z` or `±hh:mm`.
fn parse_date(text: &str) -> Option<Date> {
    let (date, zone) = (text.get(..10)?, text.get(10..)?);
    let zone_ok = zone.is_empty()
        || zone == "Z"
        || (zone.len() == 6
            && zone.starts_with(['+', '-'])
            && zone.as_bytes().get(3) == Some(&b':'));
    if !zone_ok {
        return None;
    }
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    if year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(year) && digits(month) && digits(day)) {
        return None;
    }
    let month = Month::try_from(month.parse::<u8>().ok()?).ok()?;
    Date::from_calendar_date(year.parse().ok()?, month, day.parse().ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2025-06-01T00:00:00Z
    const JUNE_1: u64 = 1_748_736_000_000;

    #[test]
    fn validity_is_judged_at_the_anchor() {
        assert_eq!(
            valid_at(JUNE_1, Some("2025-01-01"), Some("2025-12-31"), None),
            Some(true)
        );
        assert_eq!(
            valid_at(JUNE_1, Some("2025-07-01"), None, None),
            Some(false)
        );
        assert_eq!(
            valid_at(JUNE_1, None, Some("2025-05-31"), None),
            Some(false)
        );
        // The end date is valid the whole day.
        assert_eq!(
            valid_at(JUNE_1 - 1, None, Some("2025-05-31"), None),
            Some(true)
        );
        assert_eq!(
            valid_at(JUNE_1, Some("2025-06-01T00:00:00.001Z"), None, None),
            Some(false)
        );
        assert_eq!(valid_at(JUNE_1, None, None, None), None);
        assert_eq!(valid_at(JUNE_1, Some("soon"), None, None), None);
        // An unreadable start does not save an expired certificate.
        assert_eq!(
            valid_at(JUNE_1, Some("soon"), Some("2025-01-01"), None),
            Some(false)
        );
        assert_eq!(
            valid_at(
                JUNE_1,
                Some("2025-01-01"),
                None,
                Some("https://ns.example/status/Revoked")
            ),
            Some(false)
        );
        assert_eq!(
            valid_at(JUNE_1, Some("2025-01-01"), None, Some("active")),
            Some(true)
        );
    }

    #[test]
    fn dates_parse_strictly() {
        assert!(parse_date("2025-02-28").is_some());
        assert!(parse_date("2025-02-28Z").is_some());
        assert!(parse_date("2025-02-28+01:00").is_some());
        assert!(parse_date("2025-02-30").is_none());
        assert!(parse_date("2025-2-28").is_none());
        assert!(parse_date("25-02-2028").is_none());
        assert!(parse_date("2025-02-28 junk").is_none());
        assert!(parse_date("").is_none());
    }

    #[test]
    fn details_match_by_identification_then_in_order() {
        let detail = |id: Option<&str>, standard: &str| Details {
            identification: id.map(str::to_owned),
            standard: Some(standard.to_owned()),
            ..Details::default()
        };
        let details = [
            detail(Some("FT-9"), "Fairtrade"),
            detail(None, "Rainforest"),
            detail(Some("https://cert.example/org/EU-1"), "EU Organic"),
        ];
        let uris = [
            "https://cert.example/org/EU-1",
            "https://cert.example/other",
            "https://ft.example/c/FT-9",
        ];
        let matched: Vec<Option<&str>> = match_details(&uris, &details)
            .into_iter()
            .map(|d| d.and_then(|d| d.standard.as_deref()))
            .collect();
        assert_eq!(
            matched,
            [Some("EU Organic"), Some("Rainforest"), Some("Fairtrade")]
        );
        // More URIs than details: the rest get none.
        let matched = match_details(&uris, &details[1..2]);
        assert_eq!(matched.iter().filter(|d| d.is_some()).count(), 1);
        assert!(identifies("EU-1", "https://cert.example/org/EU-1"));
        assert!(!identifies("U-1", "https://cert.example/org/EU-1"));
        assert!(!identifies("", "https://cert.example/"));
    }
}
