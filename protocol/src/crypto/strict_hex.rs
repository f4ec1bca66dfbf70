//! Strict lowercase hexadecimal for fixed-size keys and signatures.
//!
//! Why strict: public keys and signatures sit inside documents that are signed and hashed. If
//! `"AB"` and `"ab"` both parsed to the same byte, one value would have two encodings, and
//! re-serialising a parsed document could silently change its hash. So exactly one spelling is
//! accepted: lowercase, no prefix, no separators, exact length.

use std::fmt;
use std::marker::PhantomData;
use std::str::FromStr;

/// Why a hex string was rejected. `what` names the value being parsed ("public key",
/// "signature") so the message points at the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HexError {
    /// The string does not have exactly `expected` characters.
    #[error("{what} hex must be {expected} characters, got {actual}")]
    Length {
        /// The value being parsed, e.g. "public key".
        what: &'static str,
        /// Required number of characters (twice the byte length).
        expected: usize,
        /// Number of characters found.
        actual: usize,
    },
    /// A character outside `0-9a-f` (uppercase is rejected on purpose, see the module doc).
    #[error(
        "{what} hex has invalid character {character:?} at index {index}; only lowercase 0-9 and a-f are allowed"
    )]
    Character {
        /// The value being parsed, e.g. "public key".
        what: &'static str,
        /// The rejected character.
        character: char,
        /// Zero-based character index of the rejected character.
        index: usize,
    },
}

/// Decodes exactly `N` bytes from `2 * N` lowercase hex characters.
pub(crate) fn decode_fixed<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<[u8; N], HexError> {
    let actual = text.chars().count();
    if actual != 2 * N {
        return Err(HexError::Length {
            what,
            expected: 2 * N,
            actual,
        });
    }
    let mut nibbles = [0u8; 2];
    let mut out = [0u8; N];
    for (index, character) in text.chars().enumerate() {
        let value = match character {
            '0'..='9' => character as u8 - b'0',
            'a'..='f' => character as u8 - b'a' + 10,
            _ => {
                return Err(HexError::Character {
                    what,
                    character,
                    index,
                });
            }
        };
        nibbles[index % 2] = value;
        if index % 2 == 1 {
            // `index / 2 < N` because the loop runs over exactly `2 * N` characters.
            if let Some(slot) = out.get_mut(index / 2) {
                *slot = (nibbles[0] << 4) | nibbles[1];
            }
        }
    }
    Ok(out)
}

/// Serde visitor that accepts a string and parses it with `T::from_str`, so every serde format
/// goes through the same strict parser as `str::parse`.
pub(crate) struct FromStrVisitor<T> {
    expecting: &'static str,
    marker: PhantomData<T>,
}

impl<T> FromStrVisitor<T> {
    pub(crate) fn new(expecting: &'static str) -> Self {
        Self {
            expecting,
            marker: PhantomData,
        }
    }
}

impl<T> serde::de::Visitor<'_> for FromStrVisitor<T>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    type Value = T;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.expecting)
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<T, E> {
        value.parse().map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn length_error_counts_characters() {
        let err = decode_fixed::<32>("public key", &"a".repeat(63)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "public key hex must be 64 characters, got 63"
        );
        // Multi-byte characters are counted as characters, not bytes.
        let err = decode_fixed::<1>("signature", "é").unwrap_err();
        assert_eq!(err.to_string(), "signature hex must be 2 characters, got 1");
    }

    #[test]
    fn uppercase_and_non_ascii_are_rejected_with_position() {
        let err = decode_fixed::<2>("signature", "0A00").unwrap_err();
        assert_eq!(
            err,
            HexError::Character {
                what: "signature",
                character: 'A',
                index: 1
            }
        );
        let err = decode_fixed::<2>("signature", "00éa").unwrap_err();
        assert!(matches!(err, HexError::Character { index: 2, .. }));
        assert!(err.to_string().contains("'é' at index 2"));
    }

    proptest! {
        #[test]
        fn round_trips_with_hex_encode(bytes in proptest::array::uniform32(any::<u8>())) {
            let text = ::hex::encode(bytes);
            prop_assert_eq!(decode_fixed::<32>("public key", &text).unwrap(), bytes);
            // Exactly one spelling: the uppercase form is rejected whenever it differs.
            let upper = text.to_uppercase();
            prop_assert_eq!(decode_fixed::<32>("public key", &upper).is_ok(), upper == text);
        }
    }
}
