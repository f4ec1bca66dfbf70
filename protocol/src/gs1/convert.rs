//! Conversion between EPC URNs and GS1 Digital Links (GS1 Tag Data Standard 2.x, section on
//! the correspondence between EPC URIs and GS1 Digital Link URIs).
//!
//! URN -> Digital Link is total: the URN already splits the company prefix from the reference.
//! Digital Link -> URN is not: a GTIN or GLN does not say where its company prefix ends, so the
//! caller supplies the length, either directly or through a [`CompanyPrefixLookup`] (e.g. the
//! set of prefixes the ledger has seen registered).

use std::collections::BTreeSet;

use thiserror::Error;

use super::ai::{KeyQualifier, PrimaryKey};
use super::digital_link::{DigitalLink, DigitalLinkError};
use super::epc::{Epc, EpcScheme, EpcUrnError, indicator_key, plain_key};

/// Why an EPC URN and a Digital Link could not be converted into each other.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConversionError {
    /// A company prefix length outside 6..=12.
    #[error("company prefix length {len} is outside 6..=12")]
    PrefixLengthOutOfRange {
        /// The length given.
        len: usize,
    },
    /// The company prefix length does not fit the key's value.
    #[error("company prefix length {len} does not fit {key} value {value:?}: {reason}")]
    PrefixDoesNotFit {
        /// The length given.
        len: usize,
        /// The primary key.
        key: PrimaryKey,
        /// The key's value.
        value: String,
        /// What does not fit.
        reason: &'static str,
    },
    /// The lookup knows no company prefix at the start of the key.
    #[error("no known GS1 Company Prefix starts {key} value {value:?}")]
    UnknownCompanyPrefix {
        /// The primary key.
        key: PrimaryKey,
        /// The key's value.
        value: String,
    },
    /// This Digital Link has no EPC URN counterpart.
    #[error("{key} Digital Link has no EPC URN form: {reason}")]
    NoEpcForm {
        /// The primary key.
        key: PrimaryKey,
        /// Why.
        reason: &'static str,
    },
    /// This EPC has no Digital Link counterpart.
    #[error("{epc} has no Digital Link form: {reason}")]
    NoDigitalLinkForm {
        /// The EPC URN.
        epc: String,
        /// Why.
        reason: &'static str,
    },
    /// A prefix given to [`KnownPrefixes`] is not 6 to 12 digits.
    #[error("invalid GS1 Company Prefix {prefix:?}: must be 6 to 12 digits")]
    InvalidKnownPrefix {
        /// The prefix as given.
        prefix: String,
    },
    /// The resulting EPC URN would be invalid.
    #[error(transparent)]
    Epc(#[from] EpcUrnError),
    /// The resulting Digital Link would be invalid.
    #[error(transparent)]
    DigitalLink(#[from] DigitalLinkError),
}

/// Finds the length of the GS1 Company Prefix at the start of a key.
///
/// `digits` starts at the first company prefix digit: for a GTIN or SSCC that is after the
/// indicator/extension digit, for a GRAI after the filler `0`, otherwise the key's first
/// character. Implementations must only match at the start (never inside) and should return
/// the longest known prefix. Closures `Fn(&str) -> Option<usize>` implement it.
pub trait CompanyPrefixLookup {
    /// The prefix length, or `None` if no known prefix starts `digits`.
    fn company_prefix_len(&self, digits: &str) -> Option<usize>;
}

impl<F: Fn(&str) -> Option<usize>> CompanyPrefixLookup for F {
    fn company_prefix_len(&self, digits: &str) -> Option<usize> {
        self(digits)
    }
}

/// A set of known GS1 Company Prefixes; looks up the longest one that starts a key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnownPrefixes {
    prefixes: BTreeSet<String>,
}

impl KnownPrefixes {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a set, rejecting any prefix that is not 6 to 12 digits.
    pub fn from_prefixes<I, S>(prefixes: I) -> Result<Self, ConversionError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut set = Self::new();
        for p in prefixes {
            set.insert(p.as_ref())?;
        }
        Ok(set)
    }

    /// Adds a prefix (6 to 12 digits).
    pub fn insert(&mut self, prefix: &str) -> Result<(), ConversionError> {
        if !(6..=12).contains(&prefix.len()) || !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ConversionError::InvalidKnownPrefix {
                prefix: prefix.to_owned(),
            });
        }
        self.prefixes.insert(prefix.to_owned());
        Ok(())
    }

    /// Whether `prefix` is in the set.
    pub fn contains(&self, prefix: &str) -> bool {
        self.prefixes.contains(prefix)
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.prefixes.len()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty()
    }
}

impl CompanyPrefixLookup for KnownPrefixes {
    fn company_prefix_len(&self, digits: &str) -> Option<usize> {
        (6..=12)
            .rev()
            .find(|&len| digits.get(..len).is_some_and(|p| self.prefixes.contains(p)))
    }
}

impl DigitalLink {
    /// Converts to an EPC given the GS1 Company Prefix length (6-12).
    ///
    /// Mapping (TDS): `01`+`21` -> SGTIN (lot and variant dropped: GTIN + serial is unique),
    /// `01`+`235` -> UPUI, `01`+`10` -> LGTIN, `01` alone -> `urn:epc:idpat:sgtin:P.I.*`,
    /// `00` -> SSCC, `414` (+ optional `254`) -> SGLN (extension `0` when absent), `417` -> PGLN,
    /// `8003` -> GRAI, `8004` -> GIAI, `8018`/`8017` -> GSRN/GSRNP, `253` -> GDTI,
    /// `255` -> SGCN, `401` -> GINC, `402` -> GSIN, `8010`+`8011` -> CPI.
    pub fn to_epc(&self, company_prefix_len: usize) -> Result<Epc, ConversionError> {
        let len = company_prefix_len;
        if !(6..=12).contains(&len) {
            return Err(ConversionError::PrefixLengthOutOfRange { len });
        }
        let key = self.primary_key();
        let value = self.primary_value();
        let gcp = gcp_part(key, value);
        let doesnt_fit = |reason| ConversionError::PrefixDoesNotFit {
            len,
            key,
            value: value.to_owned(),
            reason,
        };
        let (prefix, rest) = match (gcp.get(..len), gcp.get(len..)) {
            (Some(p), Some(r)) => (p, r),
            _ => return Err(doesnt_fit("the key is shorter than the prefix")),
        };
        if !prefix.bytes().all(|b| b.is_ascii_digit()) {
            return Err(doesnt_fit("a company prefix is digits only"));
        }
        let no_epc = |reason| ConversionError::NoEpcForm { key, reason };
        let q = |k| self.qualifier(k);
        let first = value.get(..1).unwrap_or("");
        let tail_after = |n: usize| value.get(n..).unwrap_or("");
        let (scheme, reference, last): (EpcScheme, String, Option<&str>) = match key {
            PrimaryKey::Gtin => {
                let reference = format!("{first}{rest}");
                if let Some(tpx) = q(KeyQualifier::Tpx) {
                    (EpcScheme::Upui, reference, Some(tpx))
                } else if let Some(serial) = q(KeyQualifier::Serial) {
                    (EpcScheme::Sgtin, reference, Some(serial))
                } else if q(KeyQualifier::Cpv).is_some() {
                    return Err(no_epc(
                        "a consumer product variant (AI 22) without a serial number has no EPC",
                    ));
                } else if let Some(lot) = q(KeyQualifier::Lot) {
                    (EpcScheme::Lgtin, reference, Some(lot))
                } else {
                    (EpcScheme::SgtinPattern, reference, None)
                }
            }
            PrimaryKey::Sscc => (EpcScheme::Sscc, format!("{first}{rest}"), None),
            PrimaryKey::Gln | PrimaryKey::PartyGln => {
                if q(KeyQualifier::UicExtension).is_some() {
                    return Err(no_epc("AI 7040 (UIC with extension) has no EPC"));
                }
                if key == PrimaryKey::Gln {
                    let ext = q(KeyQualifier::GlnExtension).unwrap_or("0");
                    (EpcScheme::Sgln, rest.to_owned(), Some(ext))
                } else {
                    (EpcScheme::Pgln, rest.to_owned(), None)
                }
            }
            PrimaryKey::Grai | PrimaryKey::Gdti | PrimaryKey::Gcn => {
                // GRAI: filler 0 + 13 digits; GDTI/GCN: 13 digits; the serial follows.
                let serial_start = if key == PrimaryKey::Grai { 14 } else { 13 };
                let serial = tail_after(serial_start);
                if serial.is_empty() {
                    return Err(no_epc(
                        "only a GRAI, GDTI or GCN with a serial component has an EPC (TDS)",
                    ));
                }
                let scheme = match key {
                    PrimaryKey::Grai => EpcScheme::Grai,
                    PrimaryKey::Gdti => EpcScheme::Gdti,
                    _ => EpcScheme::Sgcn,
                };
                (scheme, rest.to_owned(), Some(serial))
            }
            PrimaryKey::Giai | PrimaryKey::Ginc => {
                if q(KeyQualifier::UicExtension).is_some() {
                    return Err(no_epc("AI 7040 (UIC with extension) has no EPC"));
                }
                if rest.is_empty() {
                    return Err(doesnt_fit("no characters remain for the reference"));
                }
                let scheme = if key == PrimaryKey::Giai {
                    EpcScheme::Giai
                } else {
                    EpcScheme::Ginc
                };
                (scheme, rest.to_owned(), None)
            }
            PrimaryKey::Gsrn | PrimaryKey::Gsrnp => {
                if q(KeyQualifier::Srin).is_some() {
                    return Err(no_epc(
                        "a service relation instance number (AI 8019) has no EPC",
                    ));
                }
                let scheme = if key == PrimaryKey::Gsrn {
                    EpcScheme::Gsrn
                } else {
                    EpcScheme::Gsrnp
                };
                (scheme, rest.to_owned(), None)
            }
            PrimaryKey::Gsin => (EpcScheme::Gsin, rest.to_owned(), None),
            PrimaryKey::Cpid => {
                let Some(serial) = q(KeyQualifier::CpidSerial) else {
                    return Err(no_epc("a CPID without serial (AI 8011) has no EPC (TDS)"));
                };
                if rest.is_empty() {
                    return Err(doesnt_fit("no characters remain for the reference"));
                }
                (EpcScheme::Cpi, rest.to_owned(), Some(serial))
            }
            PrimaryKey::Itip => {
                return Err(no_epc("ITIP EPC URNs are not implemented"));
            }
        };
        Ok(Epc::from_parts(
            scheme,
            Some(prefix),
            Some(&reference),
            last,
        )?)
    }

    /// [`Self::to_epc`], as the canonical URN string.
    pub fn to_epc_urn(&self, company_prefix_len: usize) -> Result<String, ConversionError> {
        Ok(self.to_epc(company_prefix_len)?.to_string())
    }

    /// Converts to an EPC, finding the company prefix length with `lookup`.
    pub fn to_epc_with<L: CompanyPrefixLookup + ?Sized>(
        &self,
        lookup: &L,
    ) -> Result<Epc, ConversionError> {
        let key = self.primary_key();
        let value = self.primary_value();
        let len = lookup
            .company_prefix_len(gcp_part(key, value))
            .ok_or_else(|| ConversionError::UnknownCompanyPrefix {
                key,
                value: value.to_owned(),
            })?;
        self.to_epc(len)
    }

    /// [`Self::to_epc_with`], as the canonical URN string.
    pub fn to_epc_urn_with<L: CompanyPrefixLookup + ?Sized>(
        &self,
        lookup: &L,
    ) -> Result<String, ConversionError> {
        Ok(self.to_epc_with(lookup)?.to_string())
    }
}

/// The part of a key value that starts with the company prefix (check digit excluded for
/// numeric keys, so a prefix can never extend into it).
fn gcp_part(key: PrimaryKey, value: &str) -> &str {
    let range = match key {
        PrimaryKey::Gtin | PrimaryKey::Itip | PrimaryKey::Grai => value.get(1..13),
        PrimaryKey::Sscc => value.get(1..17),
        PrimaryKey::Gln | PrimaryKey::PartyGln | PrimaryKey::Gdti | PrimaryKey::Gcn => {
            value.get(..12)
        }
        PrimaryKey::Gsrn | PrimaryKey::Gsrnp => value.get(..17),
        PrimaryKey::Gsin => value.get(..16),
        PrimaryKey::Giai | PrimaryKey::Ginc | PrimaryKey::Cpid => Some(value),
    };
    range.unwrap_or("")
}

impl Epc {
    /// The canonical Digital Link (on `https://id.gs1.org`) for this EPC.
    ///
    /// SGLN extension `0` maps to no AI 254. Patterns map only when just the serial is a
    /// wildcard (`P.I.*` -> `/01/{GTIN}`); wider patterns have no Digital Link form.
    pub fn to_digital_link(&self) -> Result<DigitalLink, ConversionError> {
        let (Some(prefix), Some(reference)) = (self.company_prefix(), self.reference()) else {
            return Err(ConversionError::NoDigitalLinkForm {
                epc: self.to_string(),
                reason: "only patterns with a wildcard serial (P.I.*) denote a GTIN class",
            });
        };
        let new = |key: PrimaryKey, value: &str| DigitalLink::new(key, value);
        let link = match self.scheme() {
            EpcScheme::Sgtin | EpcScheme::SgtinPattern | EpcScheme::Lgtin | EpcScheme::Upui => {
                let link = new(PrimaryKey::Gtin, &indicator_key(prefix, reference))?;
                match (self.serial(), self.lot(), self.tpx()) {
                    (Some(s), _, _) => link.with_qualifier(KeyQualifier::Serial, s)?,
                    (_, Some(l), _) => link.with_qualifier(KeyQualifier::Lot, l)?,
                    (_, _, Some(t)) => link.with_qualifier(KeyQualifier::Tpx, t)?,
                    _ => link,
                }
            }
            EpcScheme::Sscc => new(PrimaryKey::Sscc, &indicator_key(prefix, reference))?,
            EpcScheme::Sgln => {
                let link = new(PrimaryKey::Gln, &plain_key(prefix, reference))?;
                match self.gln_extension() {
                    Some(ext) => link.with_qualifier(KeyQualifier::GlnExtension, ext)?,
                    None => link,
                }
            }
            EpcScheme::Pgln => new(PrimaryKey::PartyGln, &plain_key(prefix, reference))?,
            EpcScheme::Grai => {
                let serial = self.serial().unwrap_or("");
                let value = format!("0{}{serial}", plain_key(prefix, reference));
                new(PrimaryKey::Grai, &value)?
            }
            EpcScheme::Gdti | EpcScheme::Sgcn => {
                let serial = self.serial().unwrap_or("");
                let key = if self.scheme() == EpcScheme::Gdti {
                    PrimaryKey::Gdti
                } else {
                    PrimaryKey::Gcn
                };
                new(key, &format!("{}{serial}", plain_key(prefix, reference)))?
            }
            EpcScheme::Giai => new(PrimaryKey::Giai, &format!("{prefix}{reference}"))?,
            EpcScheme::Ginc => new(PrimaryKey::Ginc, &format!("{prefix}{reference}"))?,
            EpcScheme::Gsrn => new(PrimaryKey::Gsrn, &plain_key(prefix, reference))?,
            EpcScheme::Gsrnp => new(PrimaryKey::Gsrnp, &plain_key(prefix, reference))?,
            EpcScheme::Gsin => new(PrimaryKey::Gsin, &plain_key(prefix, reference))?,
            EpcScheme::Cpi => {
                let link = new(PrimaryKey::Cpid, &format!("{prefix}{reference}"))?;
                match self.serial() {
                    Some(s) => link.with_qualifier(KeyQualifier::CpidSerial, s)?,
                    None => link,
                }
            }
        };
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epc(s: &str) -> Epc {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn dl(s: &str) -> DigitalLink {
        DigitalLink::parse(s).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    /// Pairs taken from the TDS examples and the EPCIS event-hash reference vectors.
    const PAIRS: &[(&str, &str)] = &[
        (
            "urn:epc:id:sgtin:0614141.107346.2017",
            "https://id.gs1.org/01/10614141073464/21/2017",
        ),
        (
            "urn:epc:id:sscc:4012345.0000000111",
            "https://id.gs1.org/00/040123450000001112",
        ),
        (
            "urn:epc:id:sgln:4012345.00000.5",
            "https://id.gs1.org/414/4012345000009/254/5",
        ),
        (
            "urn:epc:id:sgln:0614141.07346.1234",
            "https://id.gs1.org/414/0614141073467/254/1234",
        ),
        (
            "urn:epc:id:sgln:4012345.00001.0",
            "https://id.gs1.org/414/4012345000016",
        ),
        (
            "urn:epc:id:pgln:4000001.00012",
            "https://id.gs1.org/417/4000001000128",
        ),
        (
            "urn:epc:id:grai:4012345.55555.987",
            "https://id.gs1.org/8003/04012345555554987",
        ),
        (
            "urn:epc:id:giai:4000001.111",
            "https://id.gs1.org/8004/4000001111",
        ),
        (
            "urn:epc:class:lgtin:4012345.099988.2014-02-10",
            "https://id.gs1.org/01/04012345999884/10/2014-02-10",
        ),
        (
            "urn:epc:idpat:sgtin:4012345.066666.*",
            "https://id.gs1.org/01/04012345666663",
        ),
        (
            "urn:epc:id:gdti:0614141.12345.400",
            "https://id.gs1.org/253/0614141123452400",
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
            "urn:epc:id:sgcn:4012345.67890.04711",
            "https://id.gs1.org/255/401234567890104711",
        ),
        (
            "urn:epc:id:ginc:0614141.xyz47%2F11",
            "https://id.gs1.org/401/0614141xyz47%2F11",
        ),
        (
            "urn:epc:id:gsin:0614141.123456789",
            "https://id.gs1.org/402/06141411234567890",
        ),
        (
            "urn:epc:id:cpi:0614141.5PQ7%2FZ43.12345",
            "https://id.gs1.org/8010/06141415PQ7%2FZ43/8011/12345",
        ),
        (
            "urn:epc:id:upui:1234567.089456.51qIgY)%3C%26Jp3*j7'SDB",
            "https://id.gs1.org/01/01234567894560/235/51qIgY%29%3C%26Jp3%2Aj7%27SDB",
        ),
    ];

    #[test]
    fn known_pairs_convert_both_ways() {
        for (urn, link) in PAIRS {
            let e = epc(urn);
            let d = e.to_digital_link().unwrap();
            assert_eq!(d.to_string(), *link, "{urn}");
            let len = e.company_prefix().unwrap().len();
            assert_eq!(dl(link).to_epc_urn(len).unwrap(), *urn, "{link}");
        }
    }

    #[test]
    fn lookup_finds_longest_prefix_at_start_only() {
        let known = KnownPrefixes::from_prefixes(["061414", "0614141", "4012345"]).unwrap();
        let d = dl("https://id.gs1.org/01/10614141073464/21/2017");
        assert_eq!(
            d.to_epc_urn_with(&known).unwrap(),
            "urn:epc:id:sgtin:0614141.107346.2017"
        );
        // "4012345" occurs inside this GTIN but not at the start of its prefix part.
        let inner = dl("https://id.gs1.org/01/09940123450003");
        assert!(matches!(
            inner.to_epc_with(&known),
            Err(ConversionError::UnknownCompanyPrefix { .. })
        ));
        let by_closure = |digits: &str| digits.starts_with("0614141").then_some(7);
        assert_eq!(
            d.to_epc_urn_with(&by_closure).unwrap(),
            "urn:epc:id:sgtin:0614141.107346.2017"
        );
        assert!(matches!(
            KnownPrefixes::from_prefixes(["12345"]),
            Err(ConversionError::InvalidKnownPrefix { .. })
        ));
    }

    #[test]
    fn conversion_errors() {
        let d = dl("https://id.gs1.org/01/10614141073464/21/2017");
        assert_eq!(
            d.to_epc(5),
            Err(ConversionError::PrefixLengthOutOfRange { len: 5 })
        );
        assert!(matches!(
            dl("https://id.gs1.org/8004/40000A1111").to_epc(7),
            Err(ConversionError::PrefixDoesNotFit { .. })
        ));
        assert!(matches!(
            dl("https://id.gs1.org/8004/4000001").to_epc(7),
            Err(ConversionError::PrefixDoesNotFit { .. })
        ));
        assert!(matches!(
            dl("https://id.gs1.org/8003/04012345555554").to_epc(7),
            Err(ConversionError::NoEpcForm {
                key: PrimaryKey::Grai,
                ..
            })
        ));
        assert!(matches!(
            dl("https://id.gs1.org/01/10614141073464/22/v").to_epc(7),
            Err(ConversionError::NoEpcForm { .. })
        ));
        assert!(matches!(
            dl("https://id.gs1.org/8006/040123451111180102/21/1").to_epc(7),
            Err(ConversionError::NoEpcForm { .. })
        ));
        assert!(matches!(
            epc("urn:epc:idpat:sgtin:4012345.*.*").to_digital_link(),
            Err(ConversionError::NoDigitalLinkForm { .. })
        ));
    }

    #[test]
    fn serial_wins_over_lot_and_extension_zero() {
        let d = dl("https://example.com/01/10614141073464/10/L1/21/2017?17=250101");
        assert_eq!(
            d.to_epc_urn(7).unwrap(),
            "urn:epc:id:sgtin:0614141.107346.2017"
        );
        assert_eq!(
            dl("https://id.gs1.org/414/4012345000016")
                .to_epc_urn(7)
                .unwrap(),
            "urn:epc:id:sgln:4012345.00001.0"
        );
    }

    #[test]
    fn twelve_digit_prefix() {
        let d = dl("https://id.gs1.org/414/0614141000012");
        assert_eq!(d.to_epc_urn(12).unwrap(), "urn:epc:id:sgln:061414100001..0");
        let d = dl("https://id.gs1.org/01/10614141073464/21/x");
        assert_eq!(
            d.to_epc_urn(12).unwrap(),
            "urn:epc:id:sgtin:061414107346.1.x"
        );
    }
}
