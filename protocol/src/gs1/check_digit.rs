//! The GS1 mod-10 check digit shared by every numeric GS1 key (GTIN, GLN, SSCC, GSRN, GDTI, ...).
//!
//! Weights alternate 3, 1, 3, ... starting from the digit nearest the check digit, so a leading
//! zero never changes the result. That property is what lets GTIN-8/12/13 be zero-padded to
//! GTIN-14 (and the GRAI be prefixed with its filler `0`) without recomputing anything.

use thiserror::Error;

/// Why a string is not a valid numeric GS1 key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key has the wrong number of digits.
    #[error("{key}: expected {expected} digits, found {found}")]
    WrongLength {
        /// Which key was being read, e.g. `"GTIN"`.
        key: &'static str,
        /// Allowed digit counts in words, e.g. `"8, 12, 13 or 14"`.
        expected: &'static str,
        /// Number of characters actually given.
        found: usize,
    },
    /// A character other than `0`-`9`.
    #[error("{key}: illegal character {ch:?} at position {position} (only digits 0-9 are allowed)")]
    IllegalCharacter {
        /// Which key was being read.
        key: &'static str,
        /// The offending character.
        ch: char,
        /// 1-based character position in the key.
        position: usize,
    },
    /// The last digit does not match the GS1 mod-10 check digit of the others.
    #[error("{key}: bad check digit: expected {expected}, found {found}")]
    BadCheckDigit {
        /// Which key was being read.
        key: &'static str,
        /// The check digit computed from the other digits.
        expected: u8,
        /// The check digit written in the key.
        found: u8,
    },
}

/// Computes the GS1 check digit for `payload` (every digit of a key except the check digit).
///
/// ```
/// # use provenance_protocol::gs1::check_digit;
/// assert_eq!(check_digit("0950600013435").unwrap(), 2); // GTIN 09506000134352
/// ```
pub fn check_digit(payload: &str) -> Result<u8, KeyError> {
    ensure_digits("GS1 key", payload)?;
    Ok(compute(payload.as_bytes()))
}

/// Checks that the last digit of `digits` is the GS1 check digit of the others.
///
/// `key` names the key in the error (e.g. `"GLN"`). Length is not checked here; the key types do that.
pub fn verify_check_digit(key: &'static str, digits: &str) -> Result<(), KeyError> {
    ensure_digits(key, digits)?;
    let bytes = digits.as_bytes();
    let Some((&last, payload)) = bytes.split_last() else {
        return Err(KeyError::WrongLength {
            key,
            expected: "at least 2",
            found: 0,
        });
    };
    let expected = compute(payload);
    let found = last - b'0';
    if expected == found {
        Ok(())
    } else {
        Err(KeyError::BadCheckDigit {
            key,
            expected,
            found,
        })
    }
}

/// Rejects the first character that is not an ASCII digit, naming it and its 1-based position.
pub(crate) fn ensure_digits(key: &'static str, s: &str) -> Result<(), KeyError> {
    match s.chars().enumerate().find(|(_, c)| !c.is_ascii_digit()) {
        Some((i, ch)) => Err(KeyError::IllegalCharacter {
            key,
            ch,
            position: i + 1,
        }),
        None => Ok(()),
    }
}

/// Check digit of ASCII digits; callers guarantee every byte is `b'0'..=b'9'`.
pub(crate) fn compute(payload: &[u8]) -> u8 {
    let sum: u32 = payload
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &b)| {
            let d = u32::from(b.wrapping_sub(b'0') % 10);
            if i % 2 == 0 { d * 3 } else { d }
        })
        .sum();
    // `sum % 10` is below 10, so the result always fits.
    ((10 - sum % 10) % 10) as u8
}

/// Appends the check digit of `payload` (ASCII digits) to it.
pub(crate) fn with_check_digit(payload: &str) -> String {
    let mut s = String::with_capacity(payload.len() + 1);
    s.push_str(payload);
    s.push(char::from(b'0' + compute(payload.as_bytes())));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_keys_verify() {
        for key in [
            "09506000134352",     // GTIN-14 from the GS1 DL standard
            "4012345000054",      // GLN
            "106141411234567897", // SSCC from the GS1 General Specifications
            "40123455",           // GTIN-8
        ] {
            verify_check_digit("key", key).unwrap();
        }
    }

    #[test]
    fn check_digit_of_payload() {
        assert_eq!(check_digit("0950600013435").unwrap(), 2);
        assert_eq!(check_digit("401234500005").unwrap(), 4);
        assert_eq!(check_digit("").unwrap(), 0);
    }

    #[test]
    fn bad_check_digit_names_expected_and_found() {
        let err = verify_check_digit("GTIN", "09506000134353").unwrap_err();
        assert_eq!(
            err,
            KeyError::BadCheckDigit {
                key: "GTIN",
                expected: 2,
                found: 3
            }
        );
        assert_eq!(
            err.to_string(),
            "GTIN: bad check digit: expected 2, found 3"
        );
    }

    #[test]
    fn illegal_character_is_named_with_position() {
        let err = check_digit("12a4").unwrap_err();
        assert_eq!(
            err,
            KeyError::IllegalCharacter {
                key: "GS1 key",
                ch: 'a',
                position: 3
            }
        );
    }

    #[test]
    fn empty_key_is_a_length_error() {
        assert!(matches!(
            verify_check_digit("GLN", ""),
            Err(KeyError::WrongLength { found: 0, .. })
        ));
    }

    #[test]
    fn leading_zero_does_not_change_check_digit() {
        assert_eq!(compute(b"12345"), compute(b"0000012345"));
    }
}
