//! [`Signature`]: a 64-byte Ed25519 signature as it travels on the wire.

use std::fmt;
use std::str::FromStr;

use super::strict_hex::{self, FromStrVisitor, HexError};

/// Length of an encoded signature in bytes (`R || S`).
pub const SIGNATURE_LENGTH: usize = 64;

/// An Ed25519 signature, `R || S` (RFC 8032).
///
/// Parsing only checks the shape (64 bytes); whether `R` is a valid point and `S` is canonical
/// is decided by verification, so that there is exactly one place that judges signatures.
/// Text form (`Display`, `FromStr`, serde) is 128 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signature(ed25519_dalek::Signature);

/// Why text or bytes could not be turned into a [`Signature`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureParseError {
    /// The hex text is malformed.
    #[error(transparent)]
    Hex(#[from] HexError),
    /// The byte string is not 64 bytes long.
    #[error("signature must be {SIGNATURE_LENGTH} bytes, got {actual}")]
    Length {
        /// Number of bytes found.
        actual: usize,
    },
}

impl Signature {
    /// Wraps 64 bytes `R || S`.
    pub fn from_bytes(bytes: &[u8; SIGNATURE_LENGTH]) -> Self {
        Self(ed25519_dalek::Signature::from_bytes(bytes))
    }

    /// Like [`Signature::from_bytes`], for a slice whose length is not known statically.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, SignatureParseError> {
        let array: &[u8; SIGNATURE_LENGTH] =
            bytes.try_into().map_err(|_| SignatureParseError::Length {
                actual: bytes.len(),
            })?;
        Ok(Self::from_bytes(array))
    }

    /// The 64 bytes `R || S`.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LENGTH] {
        self.0.to_bytes()
    }

    pub(super) fn from_dalek(signature: ed25519_dalek::Signature) -> Self {
        Self(signature)
    }

    pub(super) fn dalek(&self) -> &ed25519_dalek::Signature {
        &self.0
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&::hex::encode(self.to_bytes()))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

impl FromStr for Signature {
    type Err = SignatureParseError;

    /// Parses 128 lowercase hex characters.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(Self::from_bytes(&strict_hex::decode_fixed(
            "signature",
            text,
        )?))
    }
}

impl serde::Serialize for Signature {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Signature {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(FromStrVisitor::new(
            "an Ed25519 signature as 128 lowercase hex characters",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hex_errors_name_the_field() {
        let err = "ab".parse::<Signature>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "signature hex must be 128 characters, got 2"
        );
        assert_eq!(
            Signature::from_slice(&[0; 65]).unwrap_err().to_string(),
            "signature must be 64 bytes, got 65"
        );
    }

    #[test]
    fn serde_rejects_non_strings_and_bad_hex() {
        assert!(serde_json::from_str::<Signature>("[1,2]").is_err());
        let upper = format!("\"{}\"", "AB".repeat(64));
        let err = serde_json::from_str::<Signature>(&upper).unwrap_err();
        assert!(err.to_string().contains("invalid character 'A' at index 0"));
    }

    proptest! {
        #[test]
        fn round_trips_through_bytes_hex_and_serde(bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let signature = Signature::from_slice(&bytes).unwrap();
            prop_assert_eq!(signature.to_bytes().to_vec(), bytes);
            let text = signature.to_string();
            prop_assert_eq!(text.len(), 128);
            prop_assert_eq!(text.parse::<Signature>().unwrap(), signature);
            let json = serde_json::to_string(&signature).unwrap();
            let parsed: Signature = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(parsed, signature);
        }
    }
}
