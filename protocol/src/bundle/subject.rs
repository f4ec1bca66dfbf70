//! What a bundle is about: one serialised object or logistic unit, or one lot of a product.
//!
//! Consumers arrive with a GS1 Digital Link from a QR code (`https://brand.example/01/…/21/…`,
//! on any domain) or an EPC URN; both resolve to the ledger's index key, the canonical
//! `https://id.gs1.org/…` Digital Link, so a URN and a link to the same object are one subject.

use crate::gs1::{self, NormalizedEpc};
use crate::rules::EpcKey;

/// A resolved bundle subject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// One object, logistic unit or asset (SGTIN, SSCC, GRAI with serial, …), or a non-GS1 URI.
    Instance { key: EpcKey },
    /// One batch/lot of a GTIN: the events naming the lot as a class.
    Lot {
        key: EpcKey,
        gtin: String,
        lot: String,
    },
}

/// Why an identifier cannot be the subject of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SubjectError {
    #[error("{input:?} is not a valid GS1 identifier: {reason}")]
    Malformed { input: String, reason: String },
    #[error(
        "{input:?} names a whole product class (a GTIN without serial or lot); a story needs one item (AI 21), one lot (AI 10) or one logistic unit (AI 00)"
    )]
    ClassWithoutLot { input: String },
    #[error("{input:?} is neither a GS1 Digital Link, an EPC URN nor another absolute URI")]
    NotAnIdentifier { input: String },
}

impl Subject {
    /// Resolves an EPC URN, a GS1 Digital Link on any domain, or another absolute URI (tracked
    /// verbatim, as the ledger rules do).
    pub fn parse(input: &str) -> Result<Self, SubjectError> {
        let input = input.trim();
        match gs1::parse_any_epc(input) {
            Ok(normalized) => Self::from_normalized(input, &normalized),
            Err(e) if e.is_not_gs1() && looks_like_uri(input) => Ok(Subject::Instance {
                key: EpcKey(input.to_owned()),
            }),
            Err(e) if e.is_not_gs1() => Err(SubjectError::NotAnIdentifier {
                input: input.to_owned(),
            }),
            Err(e) => Err(SubjectError::Malformed {
                input: input.to_owned(),
                reason: e.to_string(),
            }),
        }
    }

    fn from_normalized(input: &str, normalized: &NormalizedEpc) -> Result<Self, SubjectError> {
        let key = EpcKey(normalized.index_key());
        if !normalized.is_class_level() {
            return Ok(Subject::Instance { key });
        }
        match (normalized.gtin(), normalized.lot()) {
            (Some(gtin), Some(lot)) => Ok(Subject::Lot {
                key,
                gtin: gtin.as_str().to_owned(),
                lot: lot.to_owned(),
            }),
            (Some(_), None) => Err(SubjectError::ClassWithoutLot {
                input: input.to_owned(),
            }),
            // Other class-level keys (an unserialised GRAI, a pattern) are indexed as written.
            (None, _) => Ok(Subject::Instance { key }),
        }
    }

    /// The ledger's index key of the subject.
    pub fn key(&self) -> &EpcKey {
        match self {
            Subject::Instance { key } | Subject::Lot { key, .. } => key,
        }
    }
}

/// `scheme:rest` with an RFC 3986 scheme: what EPCIS accepts as a non-GS1 identifier.
fn looks_like_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    !rest.is_empty()
        && scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        && !text.chars().any(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_urn_and_a_digital_link_of_one_item_are_one_subject() {
        let urn = Subject::parse("urn:epc:id:sgtin:0614142.004521.R1001").unwrap();
        let link = Subject::parse("https://shop.example/01/00614142045210/21/R1001").unwrap();
        assert_eq!(urn, link);
        assert!(matches!(urn, Subject::Instance { .. }));
        assert_eq!(urn.key().0, "https://id.gs1.org/01/00614142045210/21/R1001");
    }

    #[test]
    fn sscc_is_an_instance_and_a_lot_is_a_lot() {
        assert!(matches!(
            Subject::parse("https://id.gs1.org/00/006141421000040014").unwrap(),
            Subject::Instance { .. }
        ));
        let lot = Subject::parse("https://example.com/01/00614141073467/10/LE-2025-07").unwrap();
        let Subject::Lot { gtin, lot, .. } = lot else {
            panic!("expected a lot");
        };
        assert_eq!(
            (gtin.as_str(), lot.as_str()),
            ("00614141073467", "LE-2025-07")
        );
    }

    #[test]
    fn bad_inputs_name_what_is_wrong() {
        let class = Subject::parse("https://id.gs1.org/01/00614141073467").unwrap_err();
        assert!(
            matches!(class, SubjectError::ClassWithoutLot { .. }),
            "{class}"
        );
        let bad = Subject::parse("https://id.gs1.org/01/00614141073468/21/1").unwrap_err();
        assert!(matches!(bad, SubjectError::Malformed { .. }), "{bad}");
        assert!(bad.to_string().contains("00614141073468"), "{bad}");
        let junk = Subject::parse("not an identifier").unwrap_err();
        assert!(
            matches!(junk, SubjectError::NotAnIdentifier { .. }),
            "{junk}"
        );
        assert!(matches!(
            Subject::parse("urn:uuid:9a4b2c1e-0000-4000-8000-000000000001").unwrap(),
            Subject::Instance { .. }
        ));
    }
}
