//! [`EventHashId`]: the SHA-256 digest of a pre-hash string, written as an RFC 6920 `ni` URI.

use std::fmt;
use std::str::FromStr;

use sha2::{Digest, Sha256};

/// A CBV 2.0 Event Hash ID: the SHA-256 digest of an event's canonical pre-hash string.
///
/// Its string form is `ni:///sha-256;{64 lowercase hex digits}?ver=CBV2.0` (RFC 6920 named
/// information URI, as CBV 2.0 section 8.9 prescribes); that is also its serde form, so JSON
/// documents carry it exactly as an EPCIS `eventID` would. Only SHA-256 / CBV 2.0 IDs exist in this
/// type: the other digests the reference implementation offers (sha3-256, sha-384, sha-512) are not
/// what the standard's `eventID` uses, and a ledger key must have one spelling.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventHashId([u8; 32]);

/// Why a string is not an Event Hash ID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseEventHashIdError {
    /// The string does not start with `ni:///sha-256;`.
    #[error(
        "an Event Hash ID starts with \"ni:///sha-256;\" (RFC 6920 ni URI with SHA-256), but this one starts with {found:?}"
    )]
    WrongPrefix {
        /// The first characters of the rejected string.
        found: String,
    },
    /// The part after the digest is not `?ver=CBV2.0`.
    #[error("an Event Hash ID ends with \"?ver=CBV2.0\" right after the digest, found {found:?}")]
    WrongSuffix {
        /// What followed the digest (empty if nothing did).
        found: String,
    },
    /// The digest does not have 64 characters.
    #[error("the SHA-256 digest of an Event Hash ID has 64 hex digits, found {found} characters")]
    WrongDigestLength {
        /// Number of characters between `;` and `?`.
        found: usize,
    },
    /// The digest contains something other than `0-9a-f`.
    #[error(
        "the digest of an Event Hash ID is lowercase hexadecimal (0-9, a-f); {found:?} at digest position {position} is not"
    )]
    InvalidDigestCharacter {
        /// Zero-based character position within the digest.
        position: usize,
        /// The offending character.
        found: char,
    },
}

impl EventHashId {
    /// Everything before the digest in the string form.
    pub const PREFIX: &'static str = "ni:///sha-256;";
    /// Everything after the digest in the string form.
    pub const SUFFIX: &'static str = "?ver=CBV2.0";

    /// Wraps a raw SHA-256 digest.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw SHA-256 digest.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The ID of a pre-hash string: SHA-256 over its UTF-8 bytes.
    pub(super) fn of_prehash(prehash: &str) -> Self {
        Self(Sha256::digest(prehash.as_bytes()).into())
    }
}

impl fmt::Display for EventHashId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}{}", Self::PREFIX, hex::encode(self.0), Self::SUFFIX)
    }
}

impl fmt::Debug for EventHashId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventHashId({self})")
    }
}

impl FromStr for EventHashId {
    type Err = ParseEventHashIdError;

    /// Strict: exactly the form [`Display`](fmt::Display) writes, nothing else (no uppercase hex,
    /// no other algorithm or version, no surrounding whitespace), so one ID has one spelling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let rest =
            s.strip_prefix(Self::PREFIX)
                .ok_or_else(|| ParseEventHashIdError::WrongPrefix {
                    found: s.chars().take(Self::PREFIX.len()).collect(),
                })?;
        let (digest, tail) = rest.split_at(rest.find('?').unwrap_or(rest.len()));
        if tail != Self::SUFFIX {
            return Err(ParseEventHashIdError::WrongSuffix {
                found: tail.to_owned(),
            });
        }
        let length = digest.chars().count();
        if length != 64 {
            return Err(ParseEventHashIdError::WrongDigestLength { found: length });
        }
        if let Some((position, found)) = digest
            .chars()
            .enumerate()
            .find(|(_, c)| !matches!(c, '0'..='9' | 'a'..='f'))
        {
            return Err(ParseEventHashIdError::InvalidDigestCharacter { position, found });
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(digest, &mut bytes).map_err(|_| {
            // Unreachable after the checks above; report it as the length problem it would be.
            ParseEventHashIdError::WrongDigestLength { found: length }
        })?;
        Ok(Self(bytes))
    }
}

impl serde::Serialize for EventHashId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EventHashId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = EventHashId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an Event Hash ID string \"ni:///sha-256;<64 hex>?ver=CBV2.0\"")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<EventHashId, E> {
                v.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str =
        "ni:///sha-256;df6523665bc5e5803d6c7b84f5a04e103694d8220f2abc4f2c74310e89f31bc6?ver=CBV2.0";

    #[test]
    fn digest_of_empty_prehash_is_sha256_of_nothing() {
        assert_eq!(
            EventHashId::of_prehash("").to_string(),
            "ni:///sha-256;e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855?ver=CBV2.0"
        );
    }

    #[test]
    fn parses_the_canonical_form() {
        let id: EventHashId = SAMPLE.parse().unwrap();
        assert_eq!(id.as_bytes()[0], 0xdf);
        assert_eq!(id.to_string(), SAMPLE);
    }

    #[test]
    fn rejections_name_the_problem() {
        let cases = [
            (
                "ni:///sha3-256;00?ver=CBV2.0",
                ParseEventHashIdError::WrongPrefix {
                    found: "ni:///sha3-256".into(),
                },
            ),
            (
                &SAMPLE.replace("CBV2.0", "CBV2.1"),
                ParseEventHashIdError::WrongSuffix {
                    found: "?ver=CBV2.1".into(),
                },
            ),
            (
                &SAMPLE.replace("?ver=CBV2.0", ""),
                ParseEventHashIdError::WrongSuffix { found: "".into() },
            ),
            (
                &SAMPLE.replace("df65", "df6"),
                ParseEventHashIdError::WrongDigestLength { found: 63 },
            ),
            (
                &SAMPLE.replace("df65", "Df65"),
                ParseEventHashIdError::InvalidDigestCharacter {
                    position: 0,
                    found: 'D',
                },
            ),
            (
                &SAMPLE.replace("df65", "dfé5"),
                ParseEventHashIdError::InvalidDigestCharacter {
                    position: 2,
                    found: 'é',
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                input.parse::<EventHashId>(),
                Err(expected.clone()),
                "{input}"
            );
            assert!(!expected.to_string().is_empty());
        }
    }

    #[test]
    fn serde_uses_the_string_form() {
        let id: EventHashId = SAMPLE.parse().unwrap();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{SAMPLE}\""));
        assert_eq!(serde_json::from_str::<EventHashId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<EventHashId>("\"ni:///sha-256;00?ver=CBV2.0\"").is_err());
        assert!(serde_json::from_str::<EventHashId>("42").is_err());
    }

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in any::<[u8; 32]>()) {
            let id = EventHashId::from_bytes(bytes);
            prop_assert_eq!(id.to_string().parse::<EventHashId>(), Ok(id));
            prop_assert_eq!(id.as_bytes(), &bytes);
        }

        #[test]
        fn any_single_character_change_is_rejected_or_changes_the_id(
            bytes in any::<[u8; 32]>(),
            position in 0usize..89,
            replacement in proptest::char::any(),
        ) {
            let id = EventHashId::from_bytes(bytes);
            let text = id.to_string();
            let mut chars: Vec<char> = text.chars().collect();
            prop_assume!(chars[position] != replacement);
            chars[position] = replacement;
            let mutated: String = chars.into_iter().collect();
            if let Ok(other) = mutated.parse::<EventHashId>() {
                prop_assert_ne!(other, id);
            }
        }
    }
}
