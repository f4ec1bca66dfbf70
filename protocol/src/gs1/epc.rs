//! EPC pure identity URNs (GS1 Tag Data Standard 2.x): `urn:epc:id:*`, `urn:epc:class:lgtin`
//! and the SGTIN pattern `urn:epc:idpat:sgtin`.
//!
//! An [`Epc`] keeps the GS1 Company Prefix as written. That boundary is not recoverable from the
//! GS1 key alone (prefixes are 6 to 12 digits long), which is why the URN form exists at all, and
//! why converting a Digital Link back to a URN needs the prefix length from outside
//! (see [`super::convert`]).

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::check_digit::with_check_digit;
use super::escape::{urn_escape_into, urn_unescape};
use super::keys::{Gln, Gtin, Sscc};
use super::value::{Charset, ValueError, check_chars};

/// Why a string is not a valid EPC URN.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum EpcUrnError {
    /// The string does not start with `urn:epc:id:`, `urn:epc:class:` or `urn:epc:idpat:`.
    #[error(
        "not an EPC URN: expected \"urn:epc:id:<scheme>:...\", \"urn:epc:class:lgtin:...\" \
         or \"urn:epc:idpat:sgtin:...\""
    )]
    NotAnEpcUrn,
    /// A well-formed EPC URN of a scheme this module does not implement.
    #[error("unsupported EPC scheme \"urn:epc:{kind}:{scheme}\"")]
    UnsupportedScheme {
        /// `id`, `class` or `idpat`.
        kind: String,
        /// The scheme name as written.
        scheme: String,
    },
    /// Wrong number of `.`-separated components.
    #[error("{scheme}: expected {expected} dot-separated components ({layout}), found {found}")]
    ComponentCount {
        /// The URN prefix, e.g. `urn:epc:id:sgtin`.
        scheme: &'static str,
        /// Required number of components.
        expected: usize,
        /// Components found.
        found: usize,
        /// The component layout in words.
        layout: &'static str,
    },
    /// The company prefix is not 6 to 12 digits.
    #[error("{scheme}: company prefix must be 6 to 12 digits, found {found}")]
    CompanyPrefixLength {
        /// The URN prefix.
        scheme: &'static str,
        /// Length found.
        found: usize,
    },
    /// Company prefix plus numeric reference do not add up to the scheme's fixed digit count.
    #[error(
        "{scheme}: company prefix ({prefix_digits} digits) and {component} ({reference_digits} \
         digits) must total {expected} digits"
    )]
    DigitCount {
        /// The URN prefix.
        scheme: &'static str,
        /// Name of the reference component.
        component: &'static str,
        /// Digits in the company prefix.
        prefix_digits: usize,
        /// Digits in the reference.
        reference_digits: usize,
        /// Required total.
        expected: usize,
    },
    /// Company prefix plus alphanumeric reference are longer than the GS1 key allows.
    #[error(
        "{scheme}: company prefix ({prefix_len}) and {component} ({reference_len}) are \
         {total} characters together; at most {max} allowed"
    )]
    TooLong {
        /// The URN prefix.
        scheme: &'static str,
        /// Name of the reference component.
        component: &'static str,
        /// Company prefix length.
        prefix_len: usize,
        /// Reference length (unescaped).
        reference_len: usize,
        /// Sum of both.
        total: usize,
        /// Maximum for the GS1 key.
        max: usize,
    },
    /// A component has an invalid value.
    #[error("{scheme}: {component} {source}")]
    InvalidComponent {
        /// The URN prefix.
        scheme: &'static str,
        /// Which component, e.g. `serial`.
        component: &'static str,
        /// What is wrong with it.
        source: ValueError,
    },
    /// A pattern whose wildcards are not trailing (`P.I.*`, `P.*.*`, `*.*.*`).
    #[error(
        "urn:epc:idpat:sgtin: wildcards must cover the trailing components \
         (P.I.S, P.I.*, P.*.* or *.*.*), found {found:?}"
    )]
    InvalidPattern {
        /// The pattern body as written.
        found: String,
    },
}

/// The EPC scheme of an [`Epc`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EpcScheme {
    /// `urn:epc:id:sgtin` - serialised GTIN.
    Sgtin,
    /// `urn:epc:id:sscc`.
    Sscc,
    /// `urn:epc:id:sgln` - GLN with extension (`0` = none).
    Sgln,
    /// `urn:epc:id:grai` - returnable asset with serial.
    Grai,
    /// `urn:epc:id:giai` - individual asset.
    Giai,
    /// `urn:epc:id:gsrn` - service relation (recipient).
    Gsrn,
    /// `urn:epc:id:gsrnp` - service relation (provider).
    Gsrnp,
    /// `urn:epc:id:gdti` - document with serial.
    Gdti,
    /// `urn:epc:id:sgcn` - coupon with serial.
    Sgcn,
    /// `urn:epc:id:ginc` - consignment.
    Ginc,
    /// `urn:epc:id:gsin` - shipment.
    Gsin,
    /// `urn:epc:id:cpi` - component/part with serial.
    Cpi,
    /// `urn:epc:id:upui` - GTIN with third-party serial extension.
    Upui,
    /// `urn:epc:id:pgln` - party GLN.
    Pgln,
    /// `urn:epc:class:lgtin` - GTIN with batch/lot.
    Lgtin,
    /// `urn:epc:idpat:sgtin` - SGTIN pattern with trailing wildcards.
    SgtinPattern,
}

/// How the second component is formed.
#[derive(Debug, Clone, Copy)]
enum Reference {
    /// Digits; company prefix + reference have exactly `total` digits.
    Digits { total: usize },
    /// Characters of `charset`; company prefix + reference have at most `max_total` characters.
    Text { charset: Charset, max_total: usize },
}

/// Static description of one scheme.
#[derive(Debug, Clone, Copy)]
struct Spec {
    prefix: &'static str,
    reference_name: &'static str,
    reference: Reference,
    /// Name, character set and maximum length of the third component, if any.
    last: Option<(&'static str, Charset, usize)>,
    layout: &'static str,
}

const ALL_SCHEMES: [EpcScheme; 16] = [
    EpcScheme::Sgtin,
    EpcScheme::Sscc,
    EpcScheme::Sgln,
    EpcScheme::Grai,
    EpcScheme::Giai,
    EpcScheme::Gsrn,
    EpcScheme::Gsrnp,
    EpcScheme::Gdti,
    EpcScheme::Sgcn,
    EpcScheme::Ginc,
    EpcScheme::Gsin,
    EpcScheme::Cpi,
    EpcScheme::Upui,
    EpcScheme::Pgln,
    EpcScheme::Lgtin,
    EpcScheme::SgtinPattern,
];

impl EpcScheme {
    /// Every supported scheme.
    pub const ALL: [EpcScheme; 16] = ALL_SCHEMES;

    /// The URN prefix without trailing colon, e.g. `urn:epc:id:sgtin`.
    pub fn urn_prefix(self) -> &'static str {
        self.spec().prefix
    }

    fn spec(self) -> Spec {
        use Charset::{Cs39, Cs82, Digits};
        let digits = |total| Reference::Digits { total };
        let (prefix, reference_name, reference, last, layout) = match self {
            EpcScheme::Sgtin => (
                "urn:epc:id:sgtin",
                "item reference",
                digits(13),
                Some(("serial", Cs82, 20)),
                "CompanyPrefix.IndicatorItemRef.Serial",
            ),
            EpcScheme::SgtinPattern => (
                "urn:epc:idpat:sgtin",
                "item reference",
                digits(13),
                Some(("serial", Cs82, 20)),
                "CompanyPrefix.IndicatorItemRef.Serial, trailing ones may be *",
            ),
            EpcScheme::Lgtin => (
                "urn:epc:class:lgtin",
                "item reference",
                digits(13),
                Some(("lot", Cs82, 20)),
                "CompanyPrefix.IndicatorItemRef.Lot",
            ),
            EpcScheme::Upui => (
                "urn:epc:id:upui",
                "item reference",
                digits(13),
                Some(("TPX", Cs82, 28)),
                "CompanyPrefix.IndicatorItemRef.TPX",
            ),
            EpcScheme::Sscc => (
                "urn:epc:id:sscc",
                "serial reference",
                digits(17),
                None,
                "CompanyPrefix.SerialRef",
            ),
            EpcScheme::Sgln => (
                "urn:epc:id:sgln",
                "location reference",
                digits(12),
                Some(("extension", Cs82, 20)),
                "CompanyPrefix.LocationRef.Extension",
            ),
            EpcScheme::Pgln => (
                "urn:epc:id:pgln",
                "party reference",
                digits(12),
                None,
                "CompanyPrefix.PartyRef",
            ),
            EpcScheme::Grai => (
                "urn:epc:id:grai",
                "asset type",
                digits(12),
                Some(("serial", Cs82, 16)),
                "CompanyPrefix.AssetType.Serial",
            ),
            EpcScheme::Giai => (
                "urn:epc:id:giai",
                "individual asset reference",
                Reference::Text {
                    charset: Cs82,
                    max_total: 30,
                },
                None,
                "CompanyPrefix.IndividualAssetRef",
            ),
            EpcScheme::Gsrn => (
                "urn:epc:id:gsrn",
                "service reference",
                digits(17),
                None,
                "CompanyPrefix.ServiceRef",
            ),
            EpcScheme::Gsrnp => (
                "urn:epc:id:gsrnp",
                "service reference",
                digits(17),
                None,
                "CompanyPrefix.ServiceRef",
            ),
            EpcScheme::Gdti => (
                "urn:epc:id:gdti",
                "document type",
                digits(12),
                Some(("serial", Cs82, 17)),
                "CompanyPrefix.DocumentType.Serial",
            ),
            EpcScheme::Sgcn => (
                "urn:epc:id:sgcn",
                "coupon reference",
                digits(12),
                Some(("serial", Digits, 12)),
                "CompanyPrefix.CouponRef.Serial",
            ),
            EpcScheme::Ginc => (
                "urn:epc:id:ginc",
                "consignment reference",
                Reference::Text {
                    charset: Cs82,
                    max_total: 30,
                },
                None,
                "CompanyPrefix.ConsignmentRef",
            ),
            EpcScheme::Gsin => (
                "urn:epc:id:gsin",
                "shipper reference",
                digits(16),
                None,
                "CompanyPrefix.ShipperRef",
            ),
            EpcScheme::Cpi => (
                "urn:epc:id:cpi",
                "component/part reference",
                Reference::Text {
                    charset: Cs39,
                    max_total: 30,
                },
                Some(("serial", Digits, 12)),
                "CompanyPrefix.ComponentPartRef.Serial",
            ),
        };
        Spec {
            prefix,
            reference_name,
            reference,
            last,
            layout,
        }
    }

    fn from_kind_and_name(kind: &str, name: &str) -> Option<Self> {
        ALL_SCHEMES.into_iter().find(|s| {
            let p = s.urn_prefix();
            p.len() == "urn:epc:".len() + kind.len() + 1 + name.len()
                && p.get(8..8 + kind.len())
                    .is_some_and(|k| k.eq_ignore_ascii_case(kind))
                && p.get(9 + kind.len()..)
                    .is_some_and(|n| n.eq_ignore_ascii_case(name))
        })
    }
}

impl fmt::Display for EpcScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.urn_prefix())
    }
}

/// A parsed EPC URN. Invariants (digit counts, character sets, lengths) hold for every value.
///
/// Components are stored unescaped; [`fmt::Display`] writes the canonical URN (upper-case hex
/// escapes, lower-case `urn:epc:` prefix).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Epc {
    scheme: EpcScheme,
    /// `None` only for the `*` of a fully wildcarded pattern.
    company_prefix: Option<String>,
    /// `None` only for a pattern wildcard.
    reference: Option<String>,
    /// Third component (serial, lot, extension, TPX); `None` for two-component schemes and for
    /// a pattern wildcard.
    last: Option<String>,
}

impl Epc {
    /// The scheme.
    pub fn scheme(&self) -> EpcScheme {
        self.scheme
    }

    /// The GS1 Company Prefix (6-12 digits); `None` only for `urn:epc:idpat:sgtin:*.*.*`.
    pub fn company_prefix(&self) -> Option<&str> {
        self.company_prefix.as_deref()
    }

    /// The reference after the company prefix (item reference with indicator, serial reference,
    /// location reference, asset type, individual asset reference, ...), unescaped.
    /// `None` for a pattern wildcard.
    pub fn reference(&self) -> Option<&str> {
        self.reference.as_deref()
    }

    /// Serial number of an SGTIN, GRAI, GDTI, SGCN, CPI or fully specified SGTIN pattern.
    pub fn serial(&self) -> Option<&str> {
        match self.scheme {
            EpcScheme::Sgtin
            | EpcScheme::SgtinPattern
            | EpcScheme::Grai
            | EpcScheme::Gdti
            | EpcScheme::Sgcn
            | EpcScheme::Cpi => self.last.as_deref(),
            _ => None,
        }
    }

    /// Batch/lot of an LGTIN.
    pub fn lot(&self) -> Option<&str> {
        match self.scheme {
            EpcScheme::Lgtin => self.last.as_deref(),
            _ => None,
        }
    }

    /// GLN extension of an SGLN; `None` when the URN says `0` (TDS: no extension).
    pub fn gln_extension(&self) -> Option<&str> {
        match self.scheme {
            EpcScheme::Sgln => self.last.as_deref().filter(|e| *e != "0"),
            _ => None,
        }
    }

    /// Third-party controlled serial extension of a UPUI.
    pub fn tpx(&self) -> Option<&str> {
        match self.scheme {
            EpcScheme::Upui => self.last.as_deref(),
            _ => None,
        }
    }

    /// The GTIN of an SGTIN, UPUI, LGTIN or SGTIN pattern whose item reference is given.
    pub fn gtin(&self) -> Option<Gtin> {
        match self.scheme {
            EpcScheme::Sgtin | EpcScheme::SgtinPattern | EpcScheme::Lgtin | EpcScheme::Upui => {
                let (p, r) = (self.company_prefix.as_deref()?, self.reference.as_deref()?);
                Gtin::from_str(&indicator_key(p, r)).ok()
            }
            _ => None,
        }
    }

    /// The SSCC of an `urn:epc:id:sscc`.
    pub fn sscc(&self) -> Option<Sscc> {
        match self.scheme {
            EpcScheme::Sscc => {
                let (p, r) = (self.company_prefix.as_deref()?, self.reference.as_deref()?);
                Sscc::from_str(&indicator_key(p, r)).ok()
            }
            _ => None,
        }
    }

    /// The GLN of an SGLN (location) or PGLN (party).
    pub fn gln(&self) -> Option<Gln> {
        match self.scheme {
            EpcScheme::Sgln | EpcScheme::Pgln => {
                let (p, r) = (self.company_prefix.as_deref()?, self.reference.as_deref()?);
                Gln::from_str(&plain_key(p, r)).ok()
            }
            _ => None,
        }
    }

    /// True for `urn:epc:idpat:*` patterns.
    pub fn is_pattern(&self) -> bool {
        self.scheme == EpcScheme::SgtinPattern
    }

    /// True when the identifier names a class of objects rather than one object:
    /// LGTIN, and SGTIN patterns with a wildcard.
    pub fn is_class_level(&self) -> bool {
        match self.scheme {
            EpcScheme::Lgtin => true,
            EpcScheme::SgtinPattern => self.last.is_none(),
            _ => false,
        }
    }

    /// Builds an EPC from unescaped components, validating it exactly as the URN parser does.
    ///
    /// `last` is the third component (serial, lot, extension, TPX) for schemes that have one
    /// and must be `None` otherwise. For [`EpcScheme::SgtinPattern`], `None` components are
    /// wildcards.
    pub fn from_parts(
        scheme: EpcScheme,
        company_prefix: Option<&str>,
        reference: Option<&str>,
        last: Option<&str>,
    ) -> Result<Self, EpcUrnError> {
        let spec = scheme.spec();
        if scheme == EpcScheme::SgtinPattern {
            let wildcards_trailing = !matches!(
                (company_prefix, reference, last),
                (None, Some(_), _) | (_, None, Some(_))
            );
            if !wildcards_trailing {
                let part = |o: Option<&str>| o.unwrap_or("*").to_owned();
                return Err(EpcUrnError::InvalidPattern {
                    found: format!(
                        "{}.{}.{}",
                        part(company_prefix),
                        part(reference),
                        part(last)
                    ),
                });
            }
        }
        let expected = if spec.last.is_some() { 3 } else { 2 };
        let given = [company_prefix, reference, last]
            .iter()
            .filter(|c| c.is_some())
            .count();
        if scheme != EpcScheme::SgtinPattern && given != expected {
            return Err(EpcUrnError::ComponentCount {
                scheme: spec.prefix,
                expected,
                found: given,
                layout: spec.layout,
            });
        }
        if let Some(p) = company_prefix {
            check_company_prefix(spec.prefix, p)?;
        }
        if let Some(r) = reference {
            check_reference(&spec, company_prefix.unwrap_or(""), r)?;
        }
        if let (Some(l), Some((name, charset, max))) = (last, spec.last) {
            super::value::check_text(l, charset, max).map_err(|source| {
                EpcUrnError::InvalidComponent {
                    scheme: spec.prefix,
                    component: name,
                    source,
                }
            })?;
        }
        Ok(Self {
            scheme,
            company_prefix: company_prefix.map(str::to_owned),
            reference: reference.map(str::to_owned),
            last: last.map(str::to_owned),
        })
    }
}

/// `reference[0] + prefix + reference[1..] + check digit`: GTIN-14 and SSCC put the indicator
/// (extension) digit, which the URN keeps at the start of the reference, in front.
pub(crate) fn indicator_key(prefix: &str, reference: &str) -> String {
    let first = reference.get(..1).unwrap_or("");
    let rest = reference.get(1..).unwrap_or("");
    with_check_digit(&format!("{first}{prefix}{rest}"))
}

/// `prefix + reference + check digit` (GLN, GSRN, GSIN, and the 13-digit part of GRAI/GDTI/GCN).
pub(crate) fn plain_key(prefix: &str, reference: &str) -> String {
    with_check_digit(&format!("{prefix}{reference}"))
}

fn check_company_prefix(scheme: &'static str, p: &str) -> Result<(), EpcUrnError> {
    check_chars(p, Charset::Digits).map_err(|source| EpcUrnError::InvalidComponent {
        scheme,
        component: "company prefix",
        source,
    })?;
    if !(6..=12).contains(&p.len()) {
        return Err(EpcUrnError::CompanyPrefixLength {
            scheme,
            found: p.len(),
        });
    }
    Ok(())
}

/// Validates an unescaped reference against the scheme, given the (valid) company prefix.
fn check_reference(spec: &Spec, prefix: &str, r: &str) -> Result<(), EpcUrnError> {
    let invalid = |source| EpcUrnError::InvalidComponent {
        scheme: spec.prefix,
        component: spec.reference_name,
        source,
    };
    match spec.reference {
        Reference::Digits { total } => {
            check_chars(r, Charset::Digits).map_err(invalid)?;
            if prefix.len() + r.len() != total {
                return Err(EpcUrnError::DigitCount {
                    scheme: spec.prefix,
                    component: spec.reference_name,
                    prefix_digits: prefix.len(),
                    reference_digits: r.len(),
                    expected: total,
                });
            }
        }
        Reference::Text { charset, max_total } => {
            if r.is_empty() {
                return Err(invalid(ValueError::Empty));
            }
            check_chars(r, charset).map_err(invalid)?;
            let reference_len = r.chars().count();
            let total = prefix.len() + reference_len;
            if total > max_total {
                return Err(EpcUrnError::TooLong {
                    scheme: spec.prefix,
                    component: spec.reference_name,
                    prefix_len: prefix.len(),
                    reference_len,
                    total,
                    max: max_total,
                });
            }
        }
    }
    Ok(())
}

/// Splits `urn:epc:<kind>:<scheme>:<body>` case-insensitively in its fixed parts.
fn split_urn(s: &str) -> Result<(&str, &str, &str), EpcUrnError> {
    let head = s.get(..8).ok_or(EpcUrnError::NotAnEpcUrn)?;
    if !head.eq_ignore_ascii_case("urn:epc:") {
        return Err(EpcUrnError::NotAnEpcUrn);
    }
    let rest = s.get(8..).unwrap_or("");
    let (kind, rest) = rest.split_once(':').ok_or(EpcUrnError::NotAnEpcUrn)?;
    if !["id", "class", "idpat"]
        .iter()
        .any(|k| k.eq_ignore_ascii_case(kind))
    {
        return Err(EpcUrnError::NotAnEpcUrn);
    }
    let (scheme, body) = rest.split_once(':').ok_or(EpcUrnError::NotAnEpcUrn)?;
    Ok((kind, scheme, body))
}

impl FromStr for Epc {
    type Err = EpcUrnError;

    fn from_str(s: &str) -> Result<Self, EpcUrnError> {
        let (kind, name, body) = split_urn(s)?;
        let scheme = EpcScheme::from_kind_and_name(kind, name).ok_or_else(|| {
            EpcUrnError::UnsupportedScheme {
                kind: kind.to_ascii_lowercase(),
                scheme: name.to_owned(),
            }
        })?;
        let spec = scheme.spec();
        let expected = if spec.last.is_some() { 3 } else { 2 };
        // The last component may itself contain '.', except when it is a digit-only reference.
        let parts: Vec<&str> = match (spec.last, spec.reference) {
            (None, Reference::Digits { .. }) => body.split('.').collect(),
            _ => body.splitn(expected, '.').collect(),
        };
        if parts.len() != expected {
            return Err(EpcUrnError::ComponentCount {
                scheme: spec.prefix,
                expected,
                found: parts.len(),
                layout: spec.layout,
            });
        }
        let wildcard = |i: usize| scheme == EpcScheme::SgtinPattern && parts.get(i) == Some(&"*");
        let prefix = match parts.first() {
            Some(_) if wildcard(0) => None,
            Some(p) => Some(*p),
            None => None,
        };
        let reference = match parts.get(1) {
            Some(_) if wildcard(1) => None,
            Some(r) => Some(match spec.reference {
                Reference::Digits { .. } => (*r).to_owned(),
                Reference::Text { charset, .. } => {
                    urn_unescape(r, charset).map_err(|source| EpcUrnError::InvalidComponent {
                        scheme: spec.prefix,
                        component: spec.reference_name,
                        source,
                    })?
                }
            }),
            None => None,
        };
        let last = match (parts.get(2), spec.last) {
            (Some(_), _) if wildcard(2) => None,
            (Some(l), Some((name, charset, _))) => Some(urn_unescape(l, charset).map_err(
                |source| EpcUrnError::InvalidComponent {
                    scheme: spec.prefix,
                    component: name,
                    source,
                },
            )?),
            _ => None,
        };
        if scheme == EpcScheme::SgtinPattern
            && (prefix.is_none() && reference.is_some() || reference.is_none() && last.is_some())
        {
            return Err(EpcUrnError::InvalidPattern {
                found: body.to_owned(),
            });
        }
        Self::from_parts(scheme, prefix, reference.as_deref(), last.as_deref())
    }
}

impl fmt::Display for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(64);
        s.push_str(self.scheme.urn_prefix());
        s.push(':');
        s.push_str(self.company_prefix.as_deref().unwrap_or("*"));
        s.push('.');
        match &self.reference {
            Some(r) => urn_escape_into(r, &mut s),
            None => s.push('*'),
        }
        if self.scheme.spec().last.is_some() {
            s.push('.');
            match &self.last {
                Some(l) => urn_escape_into(l, &mut s),
                None => s.push('*'),
            }
        }
        f.write_str(&s)
    }
}

impl TryFrom<String> for Epc {
    type Error = EpcUrnError;
    fn try_from(s: String) -> Result<Self, EpcUrnError> {
        s.parse()
    }
}

impl From<Epc> for String {
    fn from(e: Epc) -> String {
        e.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn epc(s: &str) -> Epc {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn sgtin_parts_and_gtin() {
        let e = epc("urn:epc:id:sgtin:0614141.107346.2017");
        assert_eq!(e.scheme(), EpcScheme::Sgtin);
        assert_eq!(e.company_prefix(), Some("0614141"));
        assert_eq!(e.reference(), Some("107346"));
        assert_eq!(e.serial(), Some("2017"));
        assert_eq!(e.gtin().unwrap().as_str(), "10614141073464");
        assert_eq!(e.to_string(), "urn:epc:id:sgtin:0614141.107346.2017");
        assert!(!e.is_class_level());
    }

    #[test]
    fn sscc_sgln_pgln_keys() {
        assert_eq!(
            epc("urn:epc:id:sscc:0614141.1234567890")
                .sscc()
                .unwrap()
                .as_str(),
            "106141412345678908"
        );
        let sgln = epc("urn:epc:id:sgln:0614141.00777.0");
        assert_eq!(sgln.gln().unwrap().as_str(), "0614141007776");
        assert_eq!(sgln.gln_extension(), None);
        assert_eq!(
            epc("urn:epc:id:sgln:0614141.07346.1234").gln_extension(),
            Some("1234")
        );
        assert_eq!(
            epc("urn:epc:id:pgln:4012345.00225").gln().unwrap().as_str(),
            "4012345002256"
        );
    }

    #[test]
    fn escapes_decode_and_re_encode_canonically() {
        let e = epc("urn:epc:id:sgtin:0614141.107346.ab%2fc%22");
        assert_eq!(e.serial(), Some("ab/c\""));
        assert_eq!(e.to_string(), "urn:epc:id:sgtin:0614141.107346.ab%2Fc%22");
    }

    #[test]
    fn serial_may_contain_dots_and_giai_ref_too() {
        assert_eq!(
            epc("urn:epc:id:sgtin:0614141.107346.a.b").serial(),
            Some("a.b")
        );
        assert_eq!(epc("urn:epc:id:giai:0614141.x.y").reference(), Some("x.y"));
    }

    #[test]
    fn twelve_digit_prefix_gives_empty_reference() {
        let e = epc("urn:epc:id:sgln:061414100001..0");
        assert_eq!(e.reference(), Some(""));
        assert_eq!(e.to_string(), "urn:epc:id:sgln:061414100001..0");
        epc("urn:epc:id:pgln:061414100001.");
    }

    #[test]
    fn prefix_case_is_normalised() {
        assert_eq!(
            epc("URN:EPC:ID:SGTIN:0614141.107346.2017").to_string(),
            "urn:epc:id:sgtin:0614141.107346.2017"
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let err = |s: &str| s.parse::<Epc>().unwrap_err();
        assert_eq!(err("urn:isbn:123"), EpcUrnError::NotAnEpcUrn);
        assert_eq!(
            err("urn:epc:id:gid:95100000.12345.400"),
            EpcUrnError::UnsupportedScheme {
                kind: "id".into(),
                scheme: "gid".into()
            }
        );
        assert_eq!(
            err("urn:epc:id:sgtin:0614141.10734.1"),
            EpcUrnError::DigitCount {
                scheme: "urn:epc:id:sgtin",
                component: "item reference",
                prefix_digits: 7,
                reference_digits: 5,
                expected: 13
            }
        );
        assert_eq!(
            err("urn:epc:id:sgtin:06141.1073466.1"),
            EpcUrnError::CompanyPrefixLength {
                scheme: "urn:epc:id:sgtin",
                found: 5
            }
        );
        assert!(matches!(
            err("urn:epc:id:sgtin:0614141.107346.a/b"),
            EpcUrnError::InvalidComponent {
                component: "serial",
                source: ValueError::MustBeEscaped { ch: '/', .. },
                ..
            }
        ));
        assert!(matches!(
            err("urn:epc:id:sgtin:0614141.107346.123456789012345678901"),
            EpcUrnError::InvalidComponent {
                component: "serial",
                source: ValueError::TooLong { max: 20, found: 21 },
                ..
            }
        ));
        assert!(matches!(
            err("urn:epc:id:sgtin:0614141.107346."),
            EpcUrnError::InvalidComponent {
                source: ValueError::Empty,
                ..
            }
        ));
        assert!(matches!(
            err("urn:epc:id:sscc:0614141.1234567890.1"),
            EpcUrnError::ComponentCount {
                expected: 2,
                found: 3,
                ..
            }
        ));
        assert!(matches!(
            err("urn:epc:id:sgtin:0614141.107346"),
            EpcUrnError::ComponentCount {
                expected: 3,
                found: 2,
                ..
            }
        ));
        assert!(matches!(
            err("urn:epc:id:grai:4012345.55555.12345678901234567"),
            EpcUrnError::InvalidComponent {
                source: ValueError::TooLong { max: 16, .. },
                ..
            }
        ));
        assert!(matches!(
            err("urn:epc:id:giai:4000001.123456789012345678901234"),
            EpcUrnError::TooLong {
                total: 31,
                max: 30,
                ..
            }
        ));
        assert!(matches!(
            err("urn:epc:id:sgln:0614141.00777.123456789012345678901"),
            EpcUrnError::InvalidComponent {
                component: "extension",
                source: ValueError::TooLong { max: 20, .. },
                ..
            }
        ));
        assert!(matches!(
            err("urn:epc:id:sgtin:06141a1.107346.1"),
            EpcUrnError::InvalidComponent {
                component: "company prefix",
                source: ValueError::IllegalCharacter {
                    ch: 'a',
                    position: 6,
                    ..
                },
                ..
            }
        ));
    }

    #[test]
    fn patterns() {
        let p = epc("urn:epc:idpat:sgtin:4012345.066666.*");
        assert!(p.is_pattern() && p.is_class_level());
        assert_eq!(p.gtin().unwrap().as_str(), "04012345666663");
        assert_eq!(p.to_string(), "urn:epc:idpat:sgtin:4012345.066666.*");
        let p = epc("urn:epc:idpat:sgtin:4012345.*.*");
        assert_eq!(p.gtin(), None);
        assert_eq!(p.company_prefix(), Some("4012345"));
        let p = epc("urn:epc:idpat:sgtin:*.*.*");
        assert_eq!(p.company_prefix(), None);
        assert_eq!(p.to_string(), "urn:epc:idpat:sgtin:*.*.*");
        assert!(matches!(
            "urn:epc:idpat:sgtin:4012345.*.1".parse::<Epc>(),
            Err(EpcUrnError::InvalidPattern { .. })
        ));
        assert!(matches!(
            "urn:epc:idpat:sgtin:*.066666.*".parse::<Epc>(),
            Err(EpcUrnError::InvalidPattern { .. })
        ));
        let full = epc("urn:epc:idpat:sgtin:4012345.066666.7");
        assert_eq!(full.serial(), Some("7"));
        assert!(!full.is_class_level());
    }

    #[test]
    fn lgtin_and_other_schemes() {
        let l = epc("urn:epc:class:lgtin:4012345.012345.998877");
        assert_eq!(l.lot(), Some("998877"));
        assert!(l.is_class_level());
        assert_eq!(l.gtin().unwrap().as_str(), "04012345123456");
        for s in [
            "urn:epc:id:gdti:95252084.0001.0003555480001000",
            "urn:epc:id:gsrn:95252084.000000001",
            "urn:epc:id:gsrnp:0614141.0000010253",
            "urn:epc:id:sgcn:4012345.67890.04711",
            "urn:epc:id:ginc:0614141.xyz47%2F11",
            "urn:epc:id:gsin:0614141.123456789",
            "urn:epc:id:cpi:0614141.5PQ7%2FZ43.12345",
            "urn:epc:id:upui:1234567.089456.51qIgY)%3C%26Jp3*j7'SDB",
        ] {
            assert_eq!(epc(s).to_string(), s);
        }
    }

    #[test]
    fn from_parts_validates() {
        let e = Epc::from_parts(
            EpcScheme::Sgtin,
            Some("0614141"),
            Some("107346"),
            Some("a/b"),
        )
        .unwrap();
        assert_eq!(e.to_string(), "urn:epc:id:sgtin:0614141.107346.a%2Fb");
        assert!(matches!(
            Epc::from_parts(
                EpcScheme::Sscc,
                Some("0614141"),
                Some("1234567890"),
                Some("x")
            ),
            Err(EpcUrnError::ComponentCount { .. })
        ));
        assert!(matches!(
            Epc::from_parts(EpcScheme::SgtinPattern, None, Some("1"), None),
            Err(EpcUrnError::InvalidPattern { .. })
        ));
    }

    #[test]
    fn serde_as_urn_string() {
        let e = epc("urn:epc:id:sgtin:0614141.107346.2017");
        let json = serde_json::to_string(&e).unwrap();
        assert_eq!(json, "\"urn:epc:id:sgtin:0614141.107346.2017\"");
        assert_eq!(serde_json::from_str::<Epc>(&json).unwrap(), e);
    }
}
