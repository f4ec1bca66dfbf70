//! Validated numeric GS1 keys: GTIN (normalised to GTIN-14), GLN and SSCC.
//!
//! A value of these types always has the right length, only digits and a correct check digit,
//! so code holding one never re-validates. GTINs are stored as GTIN-14 because GTIN-8/12/13 are
//! the same number zero-padded (GS1 General Specifications): storing one form means one product
//! has exactly one key in the ledger's indexes.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::check_digit::{KeyError, ensure_digits, verify_check_digit};

/// Checks that `s` is exactly `len` digits with a valid check digit.
pub(crate) fn validate_numeric_key(
    key: &'static str,
    expected: &'static str,
    s: &str,
    len: usize,
) -> Result<(), KeyError> {
    ensure_digits(key, s)?;
    if s.len() != len {
        return Err(KeyError::WrongLength {
            key,
            expected,
            found: s.chars().count(),
        });
    }
    verify_check_digit(key, s)
}

macro_rules! string_newtype_impls {
    ($ty:ident) => {
        impl $ty {
            /// The canonical digits.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl AsRef<str> for $ty {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $ty {
            type Error = KeyError;
            fn try_from(s: String) -> Result<Self, KeyError> {
                s.parse()
            }
        }

        impl From<$ty> for String {
            fn from(k: $ty) -> String {
                k.0
            }
        }
    };
}

/// Global Trade Item Number, always held as GTIN-14.
///
/// Parsing accepts GTIN-8, GTIN-12, GTIN-13 and GTIN-14 and left-pads with zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gtin(String);

impl Gtin {
    /// The indicator digit (first digit of the GTIN-14), 0-9.
    pub fn indicator(&self) -> u8 {
        self.0
            .as_bytes()
            .first()
            .map_or(0, |b| b.wrapping_sub(b'0'))
    }

    /// Builds a GTIN-14 from its parts without a check digit; computes the check digit.
    ///
    /// `payload` must be exactly 13 digits (indicator + company prefix + item reference).
    pub fn from_payload(payload: &str) -> Result<Self, KeyError> {
        ensure_digits("GTIN", payload)?;
        if payload.len() != 13 {
            return Err(KeyError::WrongLength {
                key: "GTIN",
                expected: "13 (without check digit)",
                found: payload.chars().count(),
            });
        }
        Ok(Self(super::check_digit::with_check_digit(payload)))
    }
}

impl FromStr for Gtin {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        ensure_digits("GTIN", s)?;
        match s.len() {
            8 | 12 | 13 | 14 => {
                verify_check_digit("GTIN", s)?;
                Ok(Self(format!("{s:0>14}")))
            }
            _ => Err(KeyError::WrongLength {
                key: "GTIN",
                expected: "8, 12, 13 or 14",
                found: s.chars().count(),
            }),
        }
    }
}

string_newtype_impls!(Gtin);

/// Global Location Number (13 digits), used for physical locations (AI 414) and parties (AI 417).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Gln(String);

impl FromStr for Gln {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        validate_numeric_key("GLN", "13", s, 13)?;
        Ok(Self(s.to_owned()))
    }
}

string_newtype_impls!(Gln);

/// Serial Shipping Container Code (18 digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Sscc(String);

impl Sscc {
    /// The extension digit (first digit), 0-9.
    pub fn extension_digit(&self) -> u8 {
        self.0
            .as_bytes()
            .first()
            .map_or(0, |b| b.wrapping_sub(b'0'))
    }
}

impl FromStr for Sscc {
    type Err = KeyError;

    fn from_str(s: &str) -> Result<Self, KeyError> {
        validate_numeric_key("SSCC", "18", s, 18)?;
        Ok(Self(s.to_owned()))
    }
}

string_newtype_impls!(Sscc);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtin_lengths_normalise_to_14() {
        for (input, gtin14) in [
            ("40123455", "00000040123455"),
            ("614141000036", "00614141000036"),
            ("4012345999990", "04012345999990"),
            ("10614141073464", "10614141073464"),
        ] {
            let g: Gtin = input.parse().unwrap();
            assert_eq!(g.as_str(), gtin14);
            assert_eq!(g.to_string(), gtin14);
        }
    }

    #[test]
    fn gtin_wrong_length() {
        assert_eq!(
            "123456789".parse::<Gtin>().unwrap_err(),
            KeyError::WrongLength {
                key: "GTIN",
                expected: "8, 12, 13 or 14",
                found: 9
            }
        );
    }

    #[test]
    fn gtin_illegal_char_and_check_digit() {
        assert_eq!(
            "0950600013435X".parse::<Gtin>().unwrap_err(),
            KeyError::IllegalCharacter {
                key: "GTIN",
                ch: 'X',
                position: 14
            }
        );
        assert_eq!(
            "09506000134350".parse::<Gtin>().unwrap_err(),
            KeyError::BadCheckDigit {
                key: "GTIN",
                expected: 2,
                found: 0
            }
        );
    }

    #[test]
    fn gtin_from_payload_and_indicator() {
        let g = Gtin::from_payload("1061414107346").unwrap();
        assert_eq!(g.as_str(), "10614141073464");
        assert_eq!(g.indicator(), 1);
    }

    #[test]
    fn gln_and_sscc() {
        let gln: Gln = "4012345000054".parse().unwrap();
        assert_eq!(gln.to_string(), "4012345000054");
        assert!(matches!(
            "401234500005".parse::<Gln>(),
            Err(KeyError::WrongLength { found: 12, .. })
        ));
        let sscc: Sscc = "106141411234567897".parse().unwrap();
        assert_eq!(sscc.extension_digit(), 1);
        assert!(matches!(
            "106141411234567890".parse::<Sscc>(),
            Err(KeyError::BadCheckDigit {
                expected: 7,
                found: 0,
                ..
            })
        ));
    }

    #[test]
    fn non_ascii_input_reports_char_not_byte() {
        assert_eq!(
            "é0950600013435".parse::<Gtin>().unwrap_err(),
            KeyError::IllegalCharacter {
                key: "GTIN",
                ch: 'é',
                position: 1
            }
        );
    }

    #[test]
    fn serde_round_trip_as_string() {
        let g: Gtin = "4012345999990".parse().unwrap();
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, "\"04012345999990\"");
        let back: Gtin = serde_json::from_str(&json).unwrap();
        assert_eq!(back, g);
        assert!(serde_json::from_str::<Gtin>("\"04012345999991\"").is_err());
    }
}
