//! The 32-byte node value of the log and the three RFC 6962 hash functions.
//!
//! The `0x00` / `0x01` prefixes are domain separation: without them a leaf could be crafted whose
//! bytes equal `left || right` of an interior node, and an inclusion proof could then "prove" a
//! leaf that was never appended (second-preimage attack on plain Merkle trees).

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// Domain-separation prefix of a leaf hash (RFC 6962 §2.1, RFC 9162 §2.1.1).
const LEAF_PREFIX: u8 = 0x00;
/// Domain-separation prefix of an interior node hash (RFC 6962 §2.1, RFC 9162 §2.1.1).
const NODE_PREFIX: u8 = 0x01;

/// A SHA-256 value in the Merkle log: a leaf hash, an interior node hash or a tree root.
///
/// A newtype rather than a bare `[u8; 32]` so that every textual form is the same canonical one:
/// `Display`, `Debug` and serde all use 64 **lowercase** hex digits, and parsing accepts nothing
/// else (no uppercase, no `0x`, no base64). Two encodings of the same hash would otherwise give
/// two different signed documents for one fact. Serde writes hex even in binary formats, so a
/// proof has one shape everywhere.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MerkleHash([u8; 32]);

impl MerkleHash {
    /// Length of a hash in bytes.
    pub const LEN: usize = 32;

    /// Wraps raw digest bytes.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The raw digest bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The raw digest bytes, by value.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }

    /// Reads a hash from a byte slice that must be exactly 32 bytes long (e.g. a decoded base64
    /// field of an external proof format).
    pub fn from_slice(bytes: &[u8]) -> Result<Self, HashParseError> {
        <[u8; 32]>::try_from(bytes)
            .map(Self)
            .map_err(|_| HashParseError::WrongByteLength {
                actual: bytes.len(),
            })
    }

    /// Parses the canonical form: exactly 64 lowercase hex digits.
    pub fn from_hex(text: &str) -> Result<Self, HashParseError> {
        let raw = text.as_bytes();
        if raw.len() != 2 * Self::LEN {
            return Err(HashParseError::WrongHexLength {
                actual: text.chars().count(),
            });
        }
        let digit = |position: usize| {
            raw.get(position)
                .copied()
                .and_then(lower_hex_value)
                .ok_or_else(|| HashParseError::InvalidHexDigit {
                    position,
                    // The byte may start a multi-byte UTF-8 sequence: report the whole char.
                    found: text
                        .get(position..)
                        .and_then(|rest| rest.chars().next())
                        .unwrap_or(char::REPLACEMENT_CHARACTER),
                })
        };
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = (digit(2 * i)? << 4) | digit(2 * i + 1)?;
        }
        Ok(Self(out))
    }

    /// The canonical text form: 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

/// Value of one lowercase hex digit; uppercase is rejected on purpose (single canonical form).
fn lower_hex_value(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

/// Why text or bytes could not be read as a [`MerkleHash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HashParseError {
    /// The hex text is not 64 characters long.
    #[error("Merkle hash must be 64 lowercase hex characters, got {actual} characters")]
    WrongHexLength {
        /// Number of characters received.
        actual: usize,
    },
    /// A character is not one of `0-9a-f`.
    #[error(
        "Merkle hash has {found:?} at character {position}; only lowercase hex digits 0-9 a-f are allowed"
    )]
    InvalidHexDigit {
        /// Zero-based byte offset of the offending character.
        position: usize,
        /// The offending character.
        found: char,
    },
    /// Raw bytes are not exactly 32 bytes long.
    #[error("Merkle hash must be 32 bytes (SHA-256), got {actual} bytes")]
    WrongByteLength {
        /// Number of bytes received.
        actual: usize,
    },
}

impl fmt::Display for MerkleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for MerkleHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MerkleHash({self})")
    }
}

impl FromStr for MerkleHash {
    type Err = HashParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_hex(s)
    }
}

impl From<[u8; 32]> for MerkleHash {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

impl From<MerkleHash> for [u8; 32] {
    fn from(hash: MerkleHash) -> Self {
        hash.0
    }
}

impl TryFrom<&[u8]> for MerkleHash {
    type Error = HashParseError;

    fn try_from(bytes: &[u8]) -> Result<Self, Self::Error> {
        Self::from_slice(bytes)
    }
}

impl AsRef<[u8]> for MerkleHash {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Serialize for MerkleHash {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for MerkleHash {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(HexVisitor)
    }
}

/// Accepts borrowed and owned strings alike (serde_json hands out either).
struct HexVisitor;

impl Visitor<'_> for HexVisitor {
    type Value = MerkleHash;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Merkle hash as 64 lowercase hex characters")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        MerkleHash::from_hex(v).map_err(E::custom)
    }
}

/// RFC 6962 leaf hash: `SHA-256(0x00 || data)`.
pub fn leaf_hash(data: &[u8]) -> MerkleHash {
    MerkleHash(
        Sha256::new()
            .chain_update([LEAF_PREFIX])
            .chain_update(data)
            .finalize()
            .into(),
    )
}

/// RFC 6962 interior node hash: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &MerkleHash, right: &MerkleHash) -> MerkleHash {
    MerkleHash(
        Sha256::new()
            .chain_update([NODE_PREFIX])
            .chain_update(left.0)
            .chain_update(right.0)
            .finalize()
            .into(),
    )
}

/// Root of the empty tree: `SHA-256("")` (RFC 9162 §2.1.1).
pub fn empty_root() -> MerkleHash {
    MerkleHash(Sha256::digest([]).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(text: &str) -> MerkleHash {
        MerkleHash::from_hex(text).unwrap()
    }

    /// Hasher vectors of transparency-dev/merkle rfc6962/rfc6962_test.go (TestRFC6962Hasher).
    #[test]
    fn hashes_match_the_transparency_dev_hasher_vectors() {
        assert_eq!(
            empty_root(),
            h("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        );
        assert_eq!(
            leaf_hash(b""),
            h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
        );
        assert_eq!(
            leaf_hash(b"L123456"),
            h("395aa064aa4c29f7010acfe3f25db9485bbd4b91897b6ad7ad547639252b4d56")
        );
        // Root of the 2-leaf Certificate Transparency test tree ("" and "\x00").
        assert_eq!(
            node_hash(&leaf_hash(b""), &leaf_hash(b"\x00")),
            h("fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125")
        );
    }

    #[test]
    fn leaf_and_node_hashes_are_domain_separated() {
        let a = leaf_hash(b"a");
        let b = leaf_hash(b"b");
        let mut concatenated = a.to_bytes().to_vec();
        concatenated.extend_from_slice(b.as_bytes());
        assert_ne!(leaf_hash(&concatenated), node_hash(&a, &b));
    }

    #[test]
    fn hex_is_lowercase_and_round_trips() {
        let hash = leaf_hash(b"x");
        let text = hash.to_string();
        assert_eq!(text.len(), 64);
        assert!(text.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        assert_eq!(text.parse::<MerkleHash>().unwrap(), hash);
        assert_eq!(format!("{hash:?}"), format!("MerkleHash({text})"));
    }

    #[test]
    fn hex_parsing_rejects_non_canonical_text_and_names_the_problem() {
        let good = "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d";
        assert_eq!(
            MerkleHash::from_hex(&good.to_uppercase()),
            Err(HashParseError::InvalidHexDigit {
                position: 1,
                found: 'E'
            })
        );
        assert_eq!(
            MerkleHash::from_hex(&good[..62]),
            Err(HashParseError::WrongHexLength { actual: 62 })
        );
        let with_prefix = format!("0x{}", &good[2..]);
        assert_eq!(
            MerkleHash::from_hex(&with_prefix),
            Err(HashParseError::InvalidHexDigit {
                position: 1,
                found: 'x'
            })
        );
        // 64 bytes but containing a multi-byte char: reported as that char, never a panic.
        let unicode = format!("é{}", &good[2..]);
        assert_eq!(unicode.len(), 64);
        assert_eq!(
            MerkleHash::from_hex(&unicode),
            Err(HashParseError::InvalidHexDigit {
                position: 0,
                found: 'é'
            })
        );
        assert!(MerkleHash::from_hex("").is_err());
    }

    #[test]
    fn from_slice_requires_exactly_32_bytes() {
        assert_eq!(
            MerkleHash::from_slice(&[0u8; 31]),
            Err(HashParseError::WrongByteLength { actual: 31 })
        );
        assert_eq!(
            MerkleHash::from_slice(&[7u8; 32]),
            Ok(MerkleHash([7u8; 32]))
        );
        assert!(MerkleHash::try_from(&[0u8; 33][..]).is_err());
    }

    #[test]
    fn serde_uses_the_hex_string() {
        let hash = leaf_hash(b"serde");
        let json = serde_json::to_string(&hash).unwrap();
        assert_eq!(json, format!("\"{hash}\""));
        assert_eq!(serde_json::from_str::<MerkleHash>(&json).unwrap(), hash);
        let upper = json.to_uppercase();
        let err = serde_json::from_str::<MerkleHash>(&upper).unwrap_err();
        assert!(err.to_string().contains("lowercase hex"), "{err}");
        assert!(serde_json::from_str::<MerkleHash>("[0,1]").is_err());
    }
}
