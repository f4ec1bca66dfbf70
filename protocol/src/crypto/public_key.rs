//! [`PublicKey`]: a validated Ed25519 verifying key.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::VerifyingKey;

use super::strict_hex::{self, FromStrVisitor, HexError};

/// Length of an encoded public key in bytes.
pub const PUBLIC_KEY_LENGTH: usize = 32;

/// An Ed25519 public key that is known to be usable on the ledger.
///
/// Every constructor enforces the same three rules, so a value of this type always satisfies
/// them and nothing downstream needs to re-check:
///
/// 1. the 32 bytes are the **canonical** encoding of a curve point (`y < p`, and no "negative
///    zero" sign bit), so a key has exactly one byte string, one hex string and one did:key;
/// 2. the point is **not of small order** (strict verification would reject every signature
///    under such a key anyway; rejecting it at parse time gives a clear error instead);
/// 3. the point lies in the **prime-order subgroup** (no small-order component). Keys made by
///    honest key generation always do. Without this rule one secret would have eight public
///    keys (`A + T` for each small-order `T`), i.e. eight ledger identities, and whether a
///    signature verified would depend on the hash in ways batch verifiers cannot reproduce.
///
/// Rule 3 costs one scalar multiplication (tens of microseconds) per parse; callers that parse
/// the same key many times should keep the parsed value.
///
/// Only the 32 validated bytes are stored, not the decompressed point: the type is small and
/// cheap to copy into validator sets and error values, at the price of one point decompression
/// (roughly a tenth of a verification) each time a signature is checked.
///
/// Equality, ordering and hashing are those of the 32-byte encoding. Text form (`Display`,
/// `FromStr`, serde) is 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PublicKey([u8; PUBLIC_KEY_LENGTH]);

/// Why bytes or text could not be turned into a [`PublicKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PublicKeyError {
    /// The hex text is malformed.
    #[error(transparent)]
    Hex(#[from] HexError),
    /// The byte string is not 32 bytes long.
    #[error("public key must be {PUBLIC_KEY_LENGTH} bytes, got {actual}")]
    Length {
        /// Number of bytes found.
        actual: usize,
    },
    /// The bytes do not decode to a point on the Ed25519 curve.
    #[error("public key {hex} is not a point on the Ed25519 curve")]
    NotOnCurve {
        /// The rejected key, as hex.
        hex: String,
    },
    /// The bytes decode to a point, but are not that point's canonical encoding.
    #[error("public key {hex} is a non-canonical point encoding; the canonical one is {canonical}")]
    NonCanonical {
        /// The rejected key, as hex.
        hex: String,
        /// The canonical encoding of the same point, as hex.
        canonical: String,
    },
    /// The point has small order (one of the 8 torsion points); it cannot verify anything.
    #[error("public key {hex} is a small-order point and cannot be used for signatures")]
    SmallOrder {
        /// The rejected key, as hex.
        hex: String,
    },
    /// The point has a small-order component; honest key generation never produces one.
    #[error(
        "public key {hex} is not in the prime-order subgroup (it has a small-order component); \
         it was not produced by standard Ed25519 key generation"
    )]
    NotPrimeOrder {
        /// The rejected key, as hex.
        hex: String,
    },
}

impl PublicKey {
    /// Parses and validates a 32-byte encoding (see the type doc for the rules).
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LENGTH]) -> Result<Self, PublicKeyError> {
        if super::key_cache::get(bytes).is_some() {
            return Ok(Self(*bytes));
        }
        let hex = || ::hex::encode(bytes);
        let key = VerifyingKey::from_bytes(bytes)
            .map_err(|_| PublicKeyError::NotOnCurve { hex: hex() })?;
        let point = key.to_edwards();
        let canonical = point.compress().to_bytes();
        if &canonical != bytes {
            return Err(PublicKeyError::NonCanonical {
                hex: hex(),
                canonical: ::hex::encode(canonical),
            });
        }
        if key.is_weak() {
            return Err(PublicKeyError::SmallOrder { hex: hex() });
        }
        if !point.is_torsion_free() {
            return Err(PublicKeyError::NotPrimeOrder { hex: hex() });
        }
        super::key_cache::remember(*bytes, key);
        Ok(Self(*bytes))
    }

    /// Like [`PublicKey::from_bytes`], for a slice whose length is not known statically.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, PublicKeyError> {
        let array: &[u8; PUBLIC_KEY_LENGTH] =
            bytes.try_into().map_err(|_| PublicKeyError::Length {
                actual: bytes.len(),
            })?;
        Self::from_bytes(array)
    }

    /// The canonical 32-byte encoding.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LENGTH] {
        &self.0
    }

    /// Wraps a key derived from a secret; such keys satisfy the type's rules by construction
    /// (`[a]B` with a clamped, non-zero `a`), so the costly checks are skipped.
    pub(super) fn from_derived(key: VerifyingKey) -> Self {
        Self(key.to_bytes())
    }

    /// The dalek key for verification. Always `Some` for a validated key (decompression of a
    /// canonical point cannot fail); callers still treat `None` as "invalid" rather than panic.
    pub(super) fn decompress(&self) -> Option<VerifyingKey> {
        if let Some(key) = super::key_cache::get(&self.0) {
            return Some(key);
        }
        let key = VerifyingKey::from_bytes(&self.0).ok()?;
        // A `PublicKey` is valid by construction, so its decompressed form may be remembered.
        super::key_cache::remember(self.0, key);
        Some(key)
    }
}

impl fmt::Display for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&::hex::encode(self.as_bytes()))
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PublicKey({self})")
    }
}

impl FromStr for PublicKey {
    type Err = PublicKeyError;

    /// Parses 64 lowercase hex characters.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::from_bytes(&strict_hex::decode_fixed("public key", text)?)
    }
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FromStrVisitor::new(
            "an Ed25519 public key as 64 lowercase hex characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use crate::crypto::test_support::{SMALL_ORDER_POINTS, mixed_order_key_bytes};
    use proptest::prelude::*;

    /// RFC 8032 section 7.1, TEST 1 public key.
    const RFC8032_TEST1_PUBLIC: &str =
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a";

    #[test]
    fn parses_rfc8032_key_and_prints_it_back() {
        let key: PublicKey = RFC8032_TEST1_PUBLIC.parse().unwrap();
        assert_eq!(key.to_string(), RFC8032_TEST1_PUBLIC);
        assert_eq!(
            format!("{key:?}"),
            format!("PublicKey({RFC8032_TEST1_PUBLIC})")
        );
    }

    #[test]
    fn is_just_the_32_bytes() {
        // Small enough to sit in validator sets and error variants without boxing.
        assert_eq!(std::mem::size_of::<PublicKey>(), PUBLIC_KEY_LENGTH);
    }

    #[test]
    fn hex_errors_name_the_field_and_length() {
        let err = RFC8032_TEST1_PUBLIC[..63].parse::<PublicKey>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "public key hex must be 64 characters, got 63"
        );
        let upper = RFC8032_TEST1_PUBLIC.to_uppercase();
        let err = upper.parse::<PublicKey>().unwrap_err();
        assert!(matches!(
            err,
            PublicKeyError::Hex(HexError::Character { .. })
        ));
        assert_eq!(
            PublicKey::from_slice(&[0u8; 31]).unwrap_err().to_string(),
            "public key must be 32 bytes, got 31"
        );
    }

    #[test]
    fn all_eight_small_order_points_are_rejected() {
        for hex in SMALL_ORDER_POINTS {
            let bytes: [u8; 32] = ::hex::decode(hex).unwrap().try_into().unwrap();
            // Cross-check the list itself: dalek agrees that each is a weak (small-order) key.
            assert!(VerifyingKey::from_bytes(&bytes).unwrap().is_weak(), "{hex}");
            let err = PublicKey::from_bytes(&bytes).unwrap_err();
            assert_eq!(
                err,
                PublicKeyError::SmallOrder {
                    hex: hex.to_owned()
                }
            );
        }
    }

    #[test]
    fn mixed_order_key_is_rejected() {
        let honest = SigningKey::from_seed([3; 32]).public_key();
        for torsion_index in 1..SMALL_ORDER_POINTS.len() {
            let bytes = mixed_order_key_bytes(&honest, torsion_index);
            let err = PublicKey::from_bytes(&bytes).unwrap_err();
            assert!(matches!(err, PublicKeyError::NotPrimeOrder { .. }), "{err}");
        }
    }

    /// The memo of validated keys never turns a refusal into an acceptance: a key that failed
    /// is refused again, also after a valid key and the same decode were memoised.
    #[test]
    fn the_validation_memo_only_remembers_valid_keys() {
        let honest = SigningKey::from_seed([4; 32]).public_key();
        let bad = mixed_order_key_bytes(&honest, 1);
        for _ in 0..2 {
            assert!(PublicKey::from_bytes(&bad).is_err());
            assert_eq!(PublicKey::from_bytes(honest.as_bytes()).unwrap(), honest);
            assert!(honest.decompress().is_some());
        }
        assert!(super::super::key_cache::get(&bad).is_none());
        assert!(super::super::key_cache::get(honest.as_bytes()).is_some());
    }

    #[test]
    fn non_canonical_encoding_is_rejected() {
        // y = p + 1 encodes the same point as y = 1 (the identity) but is not canonical.
        let mut p_plus_one = [0xffu8; 32];
        p_plus_one[0] = 0xee;
        p_plus_one[31] = 0x7f;
        let err = PublicKey::from_bytes(&p_plus_one).unwrap_err();
        assert_eq!(
            err,
            PublicKeyError::NonCanonical {
                hex: ::hex::encode(p_plus_one),
                canonical: SMALL_ORDER_POINTS[0].to_owned(),
            }
        );
        // x = 0 with the sign bit set ("negative zero") is also non-canonical.
        let mut negative_zero = [0u8; 32];
        negative_zero[0] = 1;
        negative_zero[31] = 0x80;
        assert!(matches!(
            PublicKey::from_bytes(&negative_zero),
            Err(PublicKeyError::NonCanonical { .. })
        ));
    }

    #[test]
    fn off_curve_bytes_are_rejected() {
        // About half of all y values have no x on the curve; take the first small one.
        let bytes = (2u8..64)
            .map(|y| {
                let mut bytes = [0u8; 32];
                bytes[0] = y;
                bytes
            })
            .find(|bytes| VerifyingKey::from_bytes(bytes).is_err())
            .unwrap();
        let err = PublicKey::from_bytes(&bytes).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "public key {} is not a point on the Ed25519 curve",
                ::hex::encode(bytes)
            )
        );
    }

    #[test]
    fn serde_uses_the_same_strict_hex() {
        let key: PublicKey = RFC8032_TEST1_PUBLIC.parse().unwrap();
        let json = serde_json::to_string(&key).unwrap();
        assert_eq!(json, format!("\"{RFC8032_TEST1_PUBLIC}\""));
        assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), key);
        let err = serde_json::from_str::<PublicKey>("\"abc\"").unwrap_err();
        assert!(
            err.to_string()
                .contains("public key hex must be 64 characters, got 3")
        );
        assert!(serde_json::from_str::<PublicKey>("42").is_err());
    }

    proptest! {
        #[test]
        fn derived_keys_round_trip_through_every_encoding(seed in proptest::array::uniform32(any::<u8>())) {
            let key = SigningKey::from_seed(seed).public_key();
            prop_assert_eq!(PublicKey::from_bytes(key.as_bytes()).unwrap(), key);
            prop_assert_eq!(key.to_string().parse::<PublicKey>().unwrap(), key);
            let json = serde_json::to_string(&key).unwrap();
            prop_assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), key);
        }

        #[test]
        fn parsing_arbitrary_bytes_never_panics_and_accepts_only_canonical(bytes in proptest::array::uniform32(any::<u8>())) {
            if let Ok(key) = PublicKey::from_bytes(&bytes) {
                prop_assert_eq!(key.as_bytes(), &bytes);
                let point = key.decompress().unwrap();
                prop_assert!(!point.is_weak());
                prop_assert!(point.to_edwards().is_torsion_free());
            }
        }

        #[test]
        fn ordering_is_byte_ordering(a in proptest::array::uniform32(any::<u8>()), b in proptest::array::uniform32(any::<u8>())) {
            let (ka, kb) = (SigningKey::from_seed(a).public_key(), SigningKey::from_seed(b).public_key());
            prop_assert_eq!(ka.cmp(&kb), ka.as_bytes().cmp(kb.as_bytes()));
            prop_assert_eq!(ka == kb, ka.as_bytes() == kb.as_bytes());
        }
    }
}
