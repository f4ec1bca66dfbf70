//! From an identifier as an event writes it to the key the ledger tracks it under, and to the
//! digits where its GS1 company prefix starts (to find who owns it).

use crate::gs1::{self, NormalizedEpc, PrimaryKey};

use super::RuleViolation;
use super::state::EpcKey;

/// An identifier from an event, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// As written in the event (used in messages).
    pub original: String,
    /// The canonical index key: the id.gs1.org Digital Link for GS1 identifiers (so a URN and a
    /// Digital Link of one object are one key), the string itself for other URIs.
    pub key: EpcKey,
    /// The identifier's digits from the start of its GS1 company prefix, when it has one. The
    /// owner is the participant whose registered prefix starts these digits.
    pub company_digits: Option<String>,
}

/// Resolves an identifier. Non-GS1 URIs (`urn:uuid:…`, private URIs) are tracked verbatim and
/// have no owner; malformed GS1 identifiers are an error.
pub fn resolve_identifier(text: &str) -> Result<Identity, RuleViolation> {
    match gs1::parse_any_epc(text) {
        Ok(normalized) => Ok(Identity {
            original: text.to_owned(),
            key: EpcKey(normalized.index_key()),
            company_digits: company_digits(&normalized),
        }),
        Err(e) if e.is_not_gs1() => Ok(Identity {
            original: text.to_owned(),
            key: EpcKey(text.to_owned()),
            company_digits: None,
        }),
        Err(e) => Err(RuleViolation::BadIdentifier {
            epc: text.to_owned(),
            reason: e.to_string(),
        }),
    }
}

/// Where the company prefix starts in each key: after the GTIN indicator digit, the SSCC
/// extension digit and the GRAI padding zero; at the start of every other key.
fn company_digits(normalized: &NormalizedEpc) -> Option<String> {
    match normalized {
        NormalizedEpc::DigitalLink(link) => {
            let value = link.primary_value();
            let digits = match link.primary_key() {
                PrimaryKey::Gtin | PrimaryKey::Sscc | PrimaryKey::Grai | PrimaryKey::Itip => {
                    value.get(1..)?
                }
                _ => value,
            };
            Some(digits.to_owned())
        }
        NormalizedEpc::Pattern(epc) => epc.company_prefix().map(str::to_owned),
        // `NormalizedEpc` is non-exhaustive: an unknown form has no provable owner.
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn company_digits_skip_indicator_and_extension_digits() {
        let sgtin = resolve_identifier("urn:epc:id:sgtin:0614141.107346.2017").unwrap();
        assert_eq!(sgtin.key.0, "https://id.gs1.org/01/10614141073464/21/2017");
        assert!(sgtin.company_digits.unwrap().starts_with("0614141"));
        let sscc = resolve_identifier("urn:epc:id:sscc:0614141.1234567890").unwrap();
        assert!(sscc.company_digits.unwrap().starts_with("0614141"));
        let pgln = resolve_identifier("urn:epc:id:pgln:0614141.00000").unwrap();
        assert!(pgln.company_digits.unwrap().starts_with("0614141"));
        let giai = resolve_identifier("urn:epc:id:giai:0614141.A1").unwrap();
        assert!(giai.company_digits.unwrap().starts_with("0614141"));
    }

    #[test]
    fn non_gs1_uris_are_tracked_verbatim_and_broken_gs1_is_an_error() {
        let uuid = resolve_identifier("urn:uuid:3b9c0a6e-7f0e-4f6b-9c2f-1a2b3c4d5e6f").unwrap();
        assert_eq!(uuid.key.0, uuid.original);
        assert_eq!(uuid.company_digits, None);
        let err = resolve_identifier("https://id.gs1.org/01/10614141073465/21/1").unwrap_err();
        assert_eq!(err.code(), "bad_identifier");
    }
}
