//! One key per thing: normalising the identifiers EPCIS documents put in `epcList`,
//! `parentID`, `epcClass`, `readPoint`, `bizLocation`, source/destination lists, ... which may
//! be written as EPC URNs or as GS1 Digital Links on any domain.
//!
//! # The index key: canonical Digital Link URI
//!
//! The ledger indexes every GS1 identifier by its canonical Digital Link URI on
//! `https://id.gs1.org` (see [`NormalizedEpc::index_key`]), not by its EPC URN, because:
//!
//! * URN -> Digital Link needs nothing but the URN, while Digital Link -> URN needs the length
//!   of the GS1 Company Prefix, which the identifier does not carry. Only the Digital Link form
//!   is reachable from both spellings without outside data, so only it makes the same object
//!   written two ways land on the same key, today and after new prefixes are issued.
//! * The CBV 2.0 Event Hash ID algorithm canonicalises EPCs to exactly this form, so ledger
//!   keys and event hashes agree on what "the same EPC" means.
//! * The resolver domain and query attributes are dropped: they say where to look things up
//!   and describe the object, they do not change which object it is. For the same reason a
//!   serialised GTIN keeps only AI 01 + AI 21 (lot and variant are implied by the serial).
//!
//! SGTIN patterns wider than `P.I.*` have no Digital Link form; they keep their canonical URN
//! as key, which cannot collide with an `https://` key.

use thiserror::Error;

use super::ai::{KeyQualifier, PrimaryKey};
use super::convert::ConversionError;
use super::digital_link::{DigitalLink, DigitalLinkError};
use super::epc::{Epc, EpcUrnError};
use super::keys::Gtin;

/// Why an EPCIS identifier string could not be normalised.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AnyEpcError {
    /// Neither an EPC URN nor an http(s) URI with a GS1 primary key. EPCIS permits other URIs
    /// as EPCs; callers that accept them should index them verbatim.
    #[error(
        "not a GS1 identifier: {found:?} is neither an EPC URN (urn:epc:...) nor a GS1 Digital \
         Link (http(s)://.../01/...)"
    )]
    NotGs1 {
        /// The input.
        found: String,
    },
    /// Looks like an EPC URN but is invalid or of an unsupported scheme.
    #[error("invalid EPC URN: {0}")]
    Urn(#[from] EpcUrnError),
    /// Looks like a GS1 Digital Link but is invalid.
    #[error("invalid GS1 Digital Link: {0}")]
    DigitalLink(#[from] DigitalLinkError),
    /// A valid URN whose Digital Link form could not be built.
    #[error(transparent)]
    Conversion(#[from] ConversionError),
}

impl AnyEpcError {
    /// True when the input is simply not a GS1 identifier (as opposed to a broken one).
    pub fn is_not_gs1(&self) -> bool {
        matches!(self, AnyEpcError::NotGs1 { .. })
    }
}

/// A GS1 identifier from an EPCIS document in normalised form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum NormalizedEpc {
    /// Anything with a Digital Link form, on `https://id.gs1.org`, without query attributes,
    /// with every key qualifier of the input kept (so [`NormalizedEpc::lot`] still sees a lot
    /// written next to a serial).
    DigitalLink(DigitalLink),
    /// An SGTIN pattern with a wildcard company prefix or item reference.
    Pattern(Epc),
}

/// Parses an identifier as EPCIS writes it, URN or Digital Link, into its normalised form.
pub fn parse_any_epc(s: &str) -> Result<NormalizedEpc, AnyEpcError> {
    let starts_with = |p: &str| s.get(..p.len()).is_some_and(|h| h.eq_ignore_ascii_case(p));
    if starts_with("urn:epc:") {
        let epc: Epc = s.parse()?;
        return match epc.to_digital_link() {
            Ok(link) => Ok(NormalizedEpc::DigitalLink(link)),
            Err(ConversionError::NoDigitalLinkForm { .. }) => Ok(NormalizedEpc::Pattern(epc)),
            Err(e) => Err(e.into()),
        };
    }
    if starts_with("http://") || starts_with("https://") {
        return match DigitalLink::parse(s) {
            Ok(link) => Ok(NormalizedEpc::DigitalLink(link.to_canonical())),
            Err(DigitalLinkError::NoPrimaryKey { .. }) => Err(AnyEpcError::NotGs1 {
                found: s.to_owned(),
            }),
            Err(e) => Err(e.into()),
        };
    }
    Err(AnyEpcError::NotGs1 {
        found: s.to_owned(),
    })
}

impl NormalizedEpc {
    /// The key the ledger indexes this identifier under (see the module docs for why).
    pub fn index_key(&self) -> String {
        match self {
            NormalizedEpc::DigitalLink(link) => link.identity().canonical_uri(),
            NormalizedEpc::Pattern(epc) => epc.to_string(),
        }
    }

    /// The Digital Link form, if there is one.
    pub fn digital_link(&self) -> Option<&DigitalLink> {
        match self {
            NormalizedEpc::DigitalLink(link) => Some(link),
            NormalizedEpc::Pattern(_) => None,
        }
    }

    /// The GTIN, for the product-class index (AI 01 links, SGTIN/LGTIN/UPUI, `P.I.*` patterns).
    pub fn gtin(&self) -> Option<Gtin> {
        match self {
            NormalizedEpc::DigitalLink(link) => link.gtin(),
            NormalizedEpc::Pattern(epc) => epc.gtin(),
        }
    }

    /// The batch/lot, for the lot index (AI 10, also when written next to a serial).
    pub fn lot(&self) -> Option<&str> {
        match self {
            NormalizedEpc::DigitalLink(link) => link.lot(),
            NormalizedEpc::Pattern(_) => None,
        }
    }

    /// The serial number (AI 21).
    pub fn serial(&self) -> Option<&str> {
        match self {
            NormalizedEpc::DigitalLink(link) => link.serial(),
            NormalizedEpc::Pattern(_) => None,
        }
    }

    /// True when the identifier names a class (GTIN, GTIN + lot, unserialised GRAI/GDTI/GCN,
    /// CPID without serial, ITIP without serial, patterns) rather than one object or place.
    pub fn is_class_level(&self) -> bool {
        let NormalizedEpc::DigitalLink(link) = self else {
            return true;
        };
        let value_len = link.primary_value().len();
        match link.primary_key() {
            PrimaryKey::Gtin => {
                link.serial().is_none() && link.qualifier(KeyQualifier::Tpx).is_none()
            }
            PrimaryKey::Itip => link.serial().is_none(),
            PrimaryKey::Cpid => link.qualifier(KeyQualifier::CpidSerial).is_none(),
            PrimaryKey::Grai => value_len == 14,
            PrimaryKey::Gdti | PrimaryKey::Gcn => value_len == 13,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(s: &str) -> String {
        parse_any_epc(s)
            .unwrap_or_else(|e| panic!("{s}: {e}"))
            .index_key()
    }

    #[test]
    fn urn_and_link_share_a_key() {
        let k = "https://id.gs1.org/01/10614141073464/21/2017";
        assert_eq!(key("urn:epc:id:sgtin:0614141.107346.2017"), k);
        assert_eq!(
            key("https://example.com/x/01/10614141073464/21/2017?17=250101"),
            k
        );
        assert_eq!(key("http://id.gs1.org/01/10614141073464/10/L/21/2017"), k);
        assert_eq!(
            key("urn:epc:idpat:sgtin:4012345.066666.*"),
            key("https://id.gs1.de/01/4012345666663")
        );
        assert_eq!(
            key("urn:epc:id:sgln:4012345.00001.0"),
            key("https://id.gs1.org/414/4012345000016/254/0")
        );
    }

    #[test]
    fn gtin_and_lot_accessors() {
        let n = parse_any_epc("https://id.gs1.org/01/04012345999990/10/L1/21/S?17=250101").unwrap();
        assert_eq!(n.gtin().unwrap().as_str(), "04012345999990");
        assert_eq!(n.lot(), Some("L1"));
        assert_eq!(n.serial(), Some("S"));
        assert!(!n.is_class_level());
        assert_eq!(
            n.digital_link().unwrap().to_string(),
            "https://id.gs1.org/01/04012345999990/10/L1/21/S"
        );
        let lgtin = parse_any_epc("urn:epc:class:lgtin:4012345.012345.998877").unwrap();
        assert_eq!(lgtin.lot(), Some("998877"));
        assert!(lgtin.is_class_level());
        assert_eq!(
            lgtin.index_key(),
            "https://id.gs1.org/01/04012345123456/10/998877"
        );
    }

    #[test]
    fn patterns_keep_urn_key() {
        let p = parse_any_epc("urn:epc:idpat:sgtin:4012345.*.*").unwrap();
        assert_eq!(p.index_key(), "urn:epc:idpat:sgtin:4012345.*.*");
        assert!(p.is_class_level());
        assert_eq!(p.gtin(), None);
    }

    #[test]
    fn not_gs1_vs_broken() {
        for s in [
            "urn:uuid:123",
            "https://id.example.org/document1",
            "",
            "geo:47.5,11.1",
        ] {
            assert!(parse_any_epc(s).unwrap_err().is_not_gs1(), "{s}");
        }
        assert!(matches!(
            parse_any_epc("urn:epc:id:sgtin:0614141.107346"),
            Err(AnyEpcError::Urn(_))
        ));
        assert!(matches!(
            parse_any_epc("https://id.gs1.org/01/10614141073465"),
            Err(AnyEpcError::DigitalLink(_))
        ));
    }

    #[test]
    fn class_levels() {
        for (s, class) in [
            ("https://id.gs1.org/8003/04012345555554", true),
            ("https://id.gs1.org/8003/04012345555554987", false),
            ("https://id.gs1.org/253/4012345000054", true),
            ("https://id.gs1.org/253/4012345000054987", false),
            ("https://id.gs1.org/00/106141411234567897", false),
            ("https://id.gs1.org/01/04012345111118/235/x", false),
        ] {
            assert_eq!(parse_any_epc(s).unwrap().is_class_level(), class, "{s}");
        }
    }
}
