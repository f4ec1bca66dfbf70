//! The GS1 Application Identifiers a Digital Link path may carry: primary keys, their key
//! qualifiers (with the order the GS1 Digital Link standard fixes) and each value's format.
//!
//! The table follows the GS1 Digital Link URI syntax (path grammar) and the GS1 General
//! Specifications (value formats). Keeping the rules as data means the parser, the builder and
//! the EPC conversion all consult one source.

use std::fmt;

use super::check_digit::{KeyError, ensure_digits, verify_check_digit};
use super::keys::{Gtin, validate_numeric_key};
use super::value::{Charset, ValueError, check_text};

/// A GS1 primary identification key usable as the first AI of a Digital Link path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum PrimaryKey {
    /// AI 01, Global Trade Item Number.
    Gtin,
    /// AI 00, Serial Shipping Container Code.
    Sscc,
    /// AI 414, GLN of a physical location.
    Gln,
    /// AI 417, GLN of a party.
    PartyGln,
    /// AI 8003, Global Returnable Asset Identifier.
    Grai,
    /// AI 8004, Global Individual Asset Identifier.
    Giai,
    /// AI 8018, Global Service Relation Number (recipient).
    Gsrn,
    /// AI 8017, Global Service Relation Number (provider).
    Gsrnp,
    /// AI 253, Global Document Type Identifier.
    Gdti,
    /// AI 255, Global Coupon Number.
    Gcn,
    /// AI 401, Global Identification Number for Consignment.
    Ginc,
    /// AI 402, Global Shipment Identification Number.
    Gsin,
    /// AI 8006, Identification of an Individual Trade Item Piece.
    Itip,
    /// AI 8010, Component/Part Identifier.
    Cpid,
}

/// A key qualifier: an AI that narrows a primary key inside the Digital Link path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum KeyQualifier {
    /// AI 22, consumer product variant.
    Cpv,
    /// AI 10, batch or lot number.
    Lot,
    /// AI 21, serial number.
    Serial,
    /// AI 235, third-party controlled serialised extension of a GTIN (TPX).
    Tpx,
    /// AI 254, GLN extension component.
    GlnExtension,
    /// AI 8011, component/part identifier serial number.
    CpidSerial,
    /// AI 8019, service relation instance number.
    Srin,
    /// AI 7040, GS1 UIC with extension 1 and importer index.
    UicExtension,
}

/// How a value is written (crate-private: callers see validated strings).
#[derive(Debug, Clone, Copy)]
pub(crate) enum Format {
    /// GTIN-8/12/13/14 with check digit, normalised to 14 digits.
    Gtin,
    /// A numeric key of fixed length with a check digit.
    NumericKey {
        key: &'static str,
        expected: &'static str,
        len: usize,
    },
    /// Optional filler `0`, a numeric key with check digit, then an optional tail.
    KeyThenTail {
        key: &'static str,
        filler: bool,
        digits: usize,
        tail: Charset,
        tail_max: usize,
    },
    /// 1..=max characters of a set.
    Text { charset: Charset, max: usize },
    /// ITIP: GTIN-14 (check digit) + 2-digit piece number + 2-digit total count.
    Itip,
    /// One digit then three CS82 characters.
    UicExtension,
}

const PRIMARY_KEYS: [PrimaryKey; 14] = [
    PrimaryKey::Gtin,
    PrimaryKey::Sscc,
    PrimaryKey::Gln,
    PrimaryKey::PartyGln,
    PrimaryKey::Grai,
    PrimaryKey::Giai,
    PrimaryKey::Gsrn,
    PrimaryKey::Gsrnp,
    PrimaryKey::Gdti,
    PrimaryKey::Gcn,
    PrimaryKey::Ginc,
    PrimaryKey::Gsin,
    PrimaryKey::Itip,
    PrimaryKey::Cpid,
];

const QUALIFIERS: [KeyQualifier; 8] = [
    KeyQualifier::Cpv,
    KeyQualifier::Lot,
    KeyQualifier::Serial,
    KeyQualifier::Tpx,
    KeyQualifier::GlnExtension,
    KeyQualifier::CpidSerial,
    KeyQualifier::Srin,
    KeyQualifier::UicExtension,
];

/// Primary keys GS1 defines for Digital Link that this module recognises but does not support.
/// They get a precise error instead of "unknown AI".
pub(crate) const UNSUPPORTED_PRIMARY_KEYS: [(&str, &str); 1] = [("8013", "GMN")];

impl PrimaryKey {
    /// Every supported primary key.
    pub const ALL: [PrimaryKey; 14] = PRIMARY_KEYS;

    /// The Application Identifier, e.g. `"01"`.
    pub fn ai(self) -> &'static str {
        match self {
            PrimaryKey::Gtin => "01",
            PrimaryKey::Sscc => "00",
            PrimaryKey::Gln => "414",
            PrimaryKey::PartyGln => "417",
            PrimaryKey::Grai => "8003",
            PrimaryKey::Giai => "8004",
            PrimaryKey::Gsrn => "8018",
            PrimaryKey::Gsrnp => "8017",
            PrimaryKey::Gdti => "253",
            PrimaryKey::Gcn => "255",
            PrimaryKey::Ginc => "401",
            PrimaryKey::Gsin => "402",
            PrimaryKey::Itip => "8006",
            PrimaryKey::Cpid => "8010",
        }
    }

    /// The short GS1 name, e.g. `"GTIN"`.
    pub fn name(self) -> &'static str {
        match self {
            PrimaryKey::Gtin => "GTIN",
            PrimaryKey::Sscc => "SSCC",
            PrimaryKey::Gln => "GLN",
            PrimaryKey::PartyGln => "party GLN",
            PrimaryKey::Grai => "GRAI",
            PrimaryKey::Giai => "GIAI",
            PrimaryKey::Gsrn => "GSRN",
            PrimaryKey::Gsrnp => "GSRN-P",
            PrimaryKey::Gdti => "GDTI",
            PrimaryKey::Gcn => "GCN",
            PrimaryKey::Ginc => "GINC",
            PrimaryKey::Gsin => "GSIN",
            PrimaryKey::Itip => "ITIP",
            PrimaryKey::Cpid => "CPID",
        }
    }

    /// Looks a primary key up by its AI.
    pub fn from_ai(ai: &str) -> Option<Self> {
        PRIMARY_KEYS.into_iter().find(|k| k.ai() == ai)
    }

    /// The allowed key-qualifier sequences. Each inner slice lists qualifiers in the only order
    /// they may appear; any of them may be omitted; sequences are mutually exclusive
    /// (e.g. a GTIN takes `22, 10, 21` or `235`, never both).
    pub fn qualifier_sequences(self) -> &'static [&'static [KeyQualifier]] {
        use KeyQualifier as Q;
        match self {
            PrimaryKey::Gtin => &[&[Q::Cpv, Q::Lot, Q::Serial], &[Q::Tpx]],
            PrimaryKey::Itip => &[&[Q::Cpv, Q::Lot, Q::Serial]],
            PrimaryKey::Gln => &[&[Q::GlnExtension], &[Q::UicExtension]],
            PrimaryKey::PartyGln | PrimaryKey::Giai => &[&[Q::UicExtension]],
            PrimaryKey::Gsrn | PrimaryKey::Gsrnp => &[&[Q::Srin]],
            PrimaryKey::Cpid => &[&[Q::CpidSerial]],
            PrimaryKey::Sscc
            | PrimaryKey::Grai
            | PrimaryKey::Gdti
            | PrimaryKey::Gcn
            | PrimaryKey::Ginc
            | PrimaryKey::Gsin => &[],
        }
    }

    pub(crate) fn format(self) -> Format {
        match self {
            PrimaryKey::Gtin => Format::Gtin,
            PrimaryKey::Sscc => numeric_key("SSCC", "18", 18),
            PrimaryKey::Gln => numeric_key("GLN", "13", 13),
            PrimaryKey::PartyGln => numeric_key("party GLN", "13", 13),
            PrimaryKey::Gsrn => numeric_key("GSRN", "18", 18),
            PrimaryKey::Gsrnp => numeric_key("GSRN-P", "18", 18),
            PrimaryKey::Gsin => numeric_key("GSIN", "17", 17),
            PrimaryKey::Grai => Format::KeyThenTail {
                key: "GRAI",
                filler: true,
                digits: 13,
                tail: Charset::Cs82,
                tail_max: 16,
            },
            PrimaryKey::Gdti => Format::KeyThenTail {
                key: "GDTI",
                filler: false,
                digits: 13,
                tail: Charset::Cs82,
                tail_max: 17,
            },
            PrimaryKey::Gcn => Format::KeyThenTail {
                key: "GCN",
                filler: false,
                digits: 13,
                tail: Charset::Digits,
                tail_max: 12,
            },
            PrimaryKey::Giai | PrimaryKey::Ginc => Format::Text {
                charset: Charset::Cs82,
                max: 30,
            },
            PrimaryKey::Cpid => Format::Text {
                charset: Charset::Cs39,
                max: 30,
            },
            PrimaryKey::Itip => Format::Itip,
        }
    }

    /// Validates a value for this key and returns its canonical form (GTIN-14 for AI 01).
    pub(crate) fn normalise(self, value: &str) -> Result<String, ValueError> {
        self.format().normalise(value)
    }
}

fn numeric_key(key: &'static str, expected: &'static str, len: usize) -> Format {
    Format::NumericKey { key, expected, len }
}

impl KeyQualifier {
    /// Every supported key qualifier.
    pub const ALL: [KeyQualifier; 8] = QUALIFIERS;

    /// The Application Identifier, e.g. `"21"`.
    pub fn ai(self) -> &'static str {
        match self {
            KeyQualifier::Cpv => "22",
            KeyQualifier::Lot => "10",
            KeyQualifier::Serial => "21",
            KeyQualifier::Tpx => "235",
            KeyQualifier::GlnExtension => "254",
            KeyQualifier::CpidSerial => "8011",
            KeyQualifier::Srin => "8019",
            KeyQualifier::UicExtension => "7040",
        }
    }

    /// A short human name, e.g. `"serial number"`.
    pub fn name(self) -> &'static str {
        match self {
            KeyQualifier::Cpv => "consumer product variant",
            KeyQualifier::Lot => "batch/lot",
            KeyQualifier::Serial => "serial number",
            KeyQualifier::Tpx => "third-party serial extension",
            KeyQualifier::GlnExtension => "GLN extension",
            KeyQualifier::CpidSerial => "CPID serial number",
            KeyQualifier::Srin => "service relation instance number",
            KeyQualifier::UicExtension => "UIC with extension",
        }
    }

    /// Looks a qualifier up by its AI.
    pub fn from_ai(ai: &str) -> Option<Self> {
        QUALIFIERS.into_iter().find(|q| q.ai() == ai)
    }

    pub(crate) fn format(self) -> Format {
        let text = |max| Format::Text {
            charset: Charset::Cs82,
            max,
        };
        match self {
            KeyQualifier::Cpv
            | KeyQualifier::Lot
            | KeyQualifier::Serial
            | KeyQualifier::GlnExtension => text(20),
            KeyQualifier::Tpx => text(28),
            KeyQualifier::CpidSerial => Format::Text {
                charset: Charset::Digits,
                max: 12,
            },
            KeyQualifier::Srin => Format::Text {
                charset: Charset::Digits,
                max: 10,
            },
            KeyQualifier::UicExtension => Format::UicExtension,
        }
    }

    /// Validates a value for this qualifier and returns it (qualifier values need no normalising).
    pub(crate) fn normalise(self, value: &str) -> Result<String, ValueError> {
        self.format().normalise(value)
    }
}

impl fmt::Display for PrimaryKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.ai(), self.name())
    }
}

impl fmt::Display for KeyQualifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.ai(), self.name())
    }
}

impl Format {
    pub(crate) fn normalise(self, value: &str) -> Result<String, ValueError> {
        match self {
            Format::Gtin => Ok(value.parse::<Gtin>()?.as_str().to_owned()),
            Format::NumericKey { key, expected, len } => {
                validate_numeric_key(key, expected, value, len)?;
                Ok(value.to_owned())
            }
            Format::KeyThenTail {
                key,
                filler,
                digits,
                tail,
                tail_max,
            } => {
                let mut rest = value;
                if filler {
                    match rest.chars().next() {
                        Some('0') => rest = rest.get(1..).unwrap_or(""),
                        Some(found) => return Err(ValueError::MissingFillerDigit { found }),
                        None => return Err(ValueError::Empty),
                    }
                }
                let key_part = rest.get(..digits).ok_or_else(|| too_short(key, rest))?;
                let tail_part = rest.get(digits..).unwrap_or("");
                ensure_digits(key, key_part)?;
                verify_check_digit(key, key_part)?;
                if !tail_part.is_empty() {
                    check_text(tail_part, tail, tail_max)?;
                }
                Ok(value.to_owned())
            }
            Format::Text { charset, max } => {
                check_text(value, charset, max)?;
                Ok(value.to_owned())
            }
            Format::Itip => {
                ensure_digits("ITIP", value)?;
                if value.len() != 18 {
                    return Err(KeyError::WrongLength {
                        key: "ITIP",
                        expected: "18",
                        found: value.len(),
                    }
                    .into());
                }
                verify_check_digit("ITIP", value.get(..14).unwrap_or(""))?;
                Ok(value.to_owned())
            }
            Format::UicExtension => {
                let mut chars = value.chars();
                match chars.next() {
                    None => return Err(ValueError::Empty),
                    Some(c) if !c.is_ascii_digit() => {
                        return Err(ValueError::IllegalCharacter {
                            ch: c,
                            position: 1,
                            allowed: Charset::Digits.describe(),
                        });
                    }
                    Some(_) => {}
                }
                let found = value.chars().count();
                if found != 4 {
                    return Err(ValueError::WrongLength { expected: 4, found });
                }
                check_text(chars.as_str(), Charset::Cs82, 3).map_err(|e| match e {
                    ValueError::IllegalCharacter {
                        ch,
                        position,
                        allowed,
                    } => ValueError::IllegalCharacter {
                        ch,
                        position: position + 1,
                        allowed,
                    },
                    other => other,
                })?;
                Ok(value.to_owned())
            }
        }
    }
}

/// A key-then-tail value too short to hold its key: report the first non-digit if there is
/// one (more useful than a length), else the length.
fn too_short(key: &'static str, rest: &str) -> ValueError {
    match ensure_digits(key, rest) {
        Err(e) => e.into(),
        Ok(()) => KeyError::WrongLength {
            key,
            expected: "13 followed by an optional serial",
            found: rest.chars().count(),
        }
        .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ai_lookup_round_trips() {
        for k in PrimaryKey::ALL {
            assert_eq!(PrimaryKey::from_ai(k.ai()), Some(k));
            assert_eq!(
                KeyQualifier::from_ai(k.ai()),
                None,
                "{k} is not a qualifier"
            );
        }
        for q in KeyQualifier::ALL {
            assert_eq!(KeyQualifier::from_ai(q.ai()), Some(q));
        }
        assert_eq!(PrimaryKey::from_ai("99"), None);
    }

    #[test]
    fn gtin_is_padded() {
        assert_eq!(
            PrimaryKey::Gtin.normalise("40123455").unwrap(),
            "00000040123455"
        );
    }

    #[test]
    fn grai_needs_filler_and_valid_check_digit() {
        PrimaryKey::Grai.normalise("04012345555554987").unwrap();
        PrimaryKey::Grai.normalise("04012345555554").unwrap();
        assert_eq!(
            PrimaryKey::Grai.normalise("14012345555559987"),
            Err(ValueError::MissingFillerDigit { found: '1' })
        );
        // From the openepcis test documents: the GRAI 3001345000771 has check digit 6, not 1.
        assert_eq!(
            PrimaryKey::Grai.normalise("030013450007718765"),
            Err(ValueError::Key(KeyError::BadCheckDigit {
                key: "GRAI",
                expected: 6,
                found: 1
            }))
        );
        assert!(matches!(
            PrimaryKey::Grai.normalise("0401234"),
            Err(ValueError::Key(KeyError::WrongLength { found: 6, .. }))
        ));
        assert!(matches!(
            PrimaryKey::Grai.normalise("04012345555554abcdefghijklmnopq"),
            Err(ValueError::TooLong { max: 16, found: 17 })
        ));
    }

    #[test]
    fn gdti_and_gcn_tails() {
        PrimaryKey::Gdti.normalise("4012345000054987").unwrap();
        PrimaryKey::Gcn.normalise("40123450000541234").unwrap();
        assert!(matches!(
            PrimaryKey::Gcn.normalise("4012345000054AB"),
            Err(ValueError::IllegalCharacter { ch: 'A', .. })
        ));
    }

    #[test]
    fn itip_and_uic() {
        PrimaryKey::Itip.normalise("040123451111180102").unwrap();
        assert!(PrimaryKey::Itip.normalise("04012345111119").is_err());
        KeyQualifier::UicExtension.normalise("1ABC").unwrap();
        assert!(matches!(
            KeyQualifier::UicExtension.normalise("1A C"),
            Err(ValueError::IllegalCharacter {
                ch: ' ',
                position: 3,
                ..
            })
        ));
        assert_eq!(
            KeyQualifier::UicExtension.normalise("1AB"),
            Err(ValueError::WrongLength {
                expected: 4,
                found: 3
            })
        );
    }

    #[test]
    fn qualifier_limits() {
        KeyQualifier::Serial
            .normalise("12345678901234567890")
            .unwrap();
        assert_eq!(
            KeyQualifier::Serial.normalise("123456789012345678901"),
            Err(ValueError::TooLong { max: 20, found: 21 })
        );
        assert!(KeyQualifier::CpidSerial.normalise("12a").is_err());
    }
}
