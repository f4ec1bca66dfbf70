//! The one canonical encoding for everything that is signed or hashed.
//!
//! ## Why deterministic CBOR
//!
//! A signature or hash is only meaningful if every implementation produces the same bytes for the
//! same value. We use CBOR (RFC 8949) under the *core deterministic encoding* rules of §4.2.1,
//! further restricted to a strict profile:
//!
//! * every structure is a map with small unsigned-integer keys in ascending order (field numbers
//!   are fixed forever; a field is never renumbered), or an array of such maps;
//! * integers, lengths and tags use the shortest form; all lengths are definite;
//! * no floating-point values anywhere, no maps built from hash-map iteration order;
//! * optional fields are omitted when absent, never encoded as `null`;
//! * byte strings carry hashes, keys and signatures; text strings are UTF-8.
//!
//! CBOR is an IETF standard with decoders in every language, is compact (hashes are raw bytes, not
//! hex), and its deterministic profile is specified precisely enough that a third party can
//! reproduce our bytes (see `protocol/SPEC.md`).
//!
//! Decoding is *strict*: after decoding we re-encode and demand the identical bytes, so any
//! non-canonical input (long-form integers, indefinite lengths, unsorted or duplicate keys,
//! unknown fields, trailing bytes) is rejected. Two encodings of one value therefore cannot both
//! be accepted, which closes malleability games on hashes and signatures.
//!
//! EPCIS events themselves are JSON; where their bytes matter they are carried as RFC 8785 (JCS)
//! canonical JSON text, with the same re-encode-and-compare rule ([`canonical_json`]).

mod impls;

use minicbor::{Decode, Encode};
use sha2::{Digest, Sha256};

/// Upper bound on any single canonical object this crate decodes, unless a caller asks for less.
///
/// Large enough for a block of a few thousand events; small enough that a hostile peer cannot make
/// us allocate without limit.
pub const MAX_CANONICAL_BYTES: usize = 16 * 1024 * 1024;

/// Errors from strict canonical decoding.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// Input longer than the limit the caller allowed.
    #[error("{kind}: encoded size {len} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        kind: &'static str,
        len: usize,
        limit: usize,
    },
    /// The bytes are not a well-formed value of the expected type.
    #[error("{kind}: malformed CBOR: {reason}")]
    Malformed { kind: &'static str, reason: String },
    /// Extra bytes followed a complete value.
    #[error("{kind}: {extra} trailing bytes after the encoded value")]
    TrailingBytes { kind: &'static str, extra: usize },
    /// The value decoded but is not in canonical form (re-encoding gives other bytes).
    #[error(
        "{kind}: not in canonical form (non-minimal integer, indefinite length, unsorted, duplicate or unknown field)"
    )]
    NotCanonical { kind: &'static str },
    /// JSON text that is not valid JSON.
    #[error("invalid JSON: {0}")]
    Json(String),
    /// JSON text that is valid but not RFC 8785 canonical.
    #[error(
        "JSON is not in RFC 8785 canonical form (keys sorted, no whitespace, shortest numbers); canonical form starts differing at byte {at}"
    )]
    NonCanonicalJson { at: usize },
}

/// A type with a canonical CBOR encoding. `KIND` names the type in error messages.
pub trait Canonical: Encode<()> + for<'b> Decode<'b, ()> {
    /// Human-readable name of the encoded object, used in errors ("SignedEvent", ...).
    const KIND: &'static str;

    /// The canonical bytes of `self`.
    fn to_canonical_bytes(&self) -> Vec<u8> {
        to_canonical_bytes(self)
    }

    /// Decodes `bytes`, accepting only the canonical encoding and nothing longer than `limit`.
    fn from_canonical_bytes(bytes: &[u8], limit: usize) -> Result<Self, CodecError>
    where
        Self: Sized,
    {
        decode_canonical(bytes, limit)
    }
}

/// Encodes any value with the deterministic encoder.
pub fn to_canonical_bytes<T: Encode<()> + ?Sized>(value: &T) -> Vec<u8> {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail, and our types' Encode impls never return errors of their own.
    if let Err(e) = minicbor::encode(value, &mut buf) {
        unreachable!("encoding into a Vec<u8> is infallible: {e}");
    }
    buf
}

/// Strict decode: size limit, full consumption, and byte-for-byte canonicality.
pub fn decode_canonical<T: Canonical>(bytes: &[u8], limit: usize) -> Result<T, CodecError> {
    let kind = T::KIND;
    if bytes.len() > limit {
        return Err(CodecError::TooLarge {
            kind,
            len: bytes.len(),
            limit,
        });
    }
    let mut decoder = minicbor::Decoder::new(bytes);
    let value: T = decoder.decode().map_err(|e| CodecError::Malformed {
        kind,
        reason: e.to_string(),
    })?;
    let consumed = decoder.position();
    if consumed != bytes.len() {
        return Err(CodecError::TrailingBytes {
            kind,
            extra: bytes.len() - consumed,
        });
    }
    if to_canonical_bytes(&value) != bytes {
        return Err(CodecError::NotCanonical { kind });
    }
    Ok(value)
}

/// Hash domains: a distinct tag per kind of hashed object, so that a hash computed for one purpose
/// can never be presented as another (e.g. a header hash as a validator-set hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum HashDomain {
    /// `BlockHeader` → header hash (what votes and certificates sign).
    BlockHeader,
    /// `ValidatorSet` → `validators_hash` / `next_validators_hash`.
    ValidatorSet,
    /// `Genesis` → the genesis hash consumers pin.
    Genesis,
    /// The block body (governance transactions, evidence, event leaf hashes) → `body_hash`.
    BlockBody,
    /// One step of the application-state digest chain.
    AppState,
    /// Canonical JSON of an EPCIS event → `content_hash` of a `SignedEvent`.
    EventContent,
    /// `GovernanceProposal` → its id (what approvals and the API refer to).
    GovernanceProposal,
}

impl HashDomain {
    /// The tag bytes hashed in front of the object. Stable forever.
    pub const fn tag(self) -> &'static str {
        match self {
            HashDomain::BlockHeader => "provenance/v1/hash/block-header",
            HashDomain::ValidatorSet => "provenance/v1/hash/validator-set",
            HashDomain::Genesis => "provenance/v1/hash/genesis",
            HashDomain::BlockBody => "provenance/v1/hash/block-body",
            HashDomain::AppState => "provenance/v1/hash/app-state",
            HashDomain::EventContent => "provenance/v1/hash/event-content",
            HashDomain::GovernanceProposal => "provenance/v1/hash/governance-proposal",
        }
    }
}

/// `SHA-256(len(tag) as u8 || tag || data)`: the domain-separated hash used for every object hash.
pub fn domain_hash(domain: HashDomain, data: &[u8]) -> [u8; 32] {
    let tag = domain.tag().as_bytes();
    let mut hasher = Sha256::new();
    // Tags are short compile-time constants (< 256 bytes), so the length fits in one byte.
    hasher.update([tag.len() as u8]);
    hasher.update(tag);
    hasher.update(data);
    hasher.finalize().into()
}

/// RFC 8785 (JCS) canonical JSON text of `value`.
pub fn canonical_json(value: &serde_json::Value) -> Result<String, CodecError> {
    serde_json_canonicalizer::to_string(value).map_err(|e| CodecError::Json(e.to_string()))
}

/// Parses JSON text and accepts it only if it already is in RFC 8785 canonical form.
///
/// This is the JSON counterpart of [`decode_canonical`]: one value, one byte string. It also
/// rejects duplicate object keys, which a canonical re-serialisation cannot reproduce.
pub fn parse_canonical_json(text: &str) -> Result<serde_json::Value, CodecError> {
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| CodecError::Json(e.to_string()))?;
    let canonical = canonical_json(&value)?;
    if canonical != text {
        let at = canonical
            .bytes()
            .zip(text.bytes())
            .position(|(a, b)| a != b)
            .unwrap_or(canonical.len().min(text.len()));
        return Err(CodecError::NonCanonicalJson { at });
    }
    Ok(value)
}

/// Serde helper: a 32-byte digest as exactly 64 lowercase hex digits (one spelling only, since
/// these values sit inside hashed and signed documents). Use with `#[serde(with = "codec::hex32")]`.
pub mod hex32 {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    /// Writes lowercase hex.
    pub fn serialize<S: Serializer>(bytes: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&hex::encode(bytes))
    }

    /// Reads exactly 64 lowercase hex digits.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<[u8; 32], D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        crate::crypto::strict_hex::decode_fixed::<32>("hash", &text).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
    #[cbor(map)]
    struct Sample {
        #[n(0)]
        height: u64,
        #[n(1)]
        name: String,
        #[n(2)]
        #[cbor(with = "minicbor::bytes")]
        hash: [u8; 32],
        #[n(3)]
        note: Option<String>,
        #[n(4)]
        items: Vec<u32>,
    }

    impl Canonical for Sample {
        const KIND: &'static str = "Sample";
    }

    fn sample() -> Sample {
        Sample {
            height: 1,
            name: "a".into(),
            hash: [0xab; 32],
            note: None,
            items: vec![1, 500],
        }
    }

    #[test]
    fn golden_bytes_are_stable() {
        let bytes = sample().to_canonical_bytes();
        // map(4) {0: 1, 1: "a", 2: h'abab..', 4: [1, 500]} -- absent option omitted.
        let expected = format!("a40001016161025820{}0482011901f4", "ab".repeat(32));
        assert_eq!(hex::encode(&bytes), expected);
        assert_eq!(
            Sample::from_canonical_bytes(&bytes, 1024).unwrap(),
            sample()
        );
    }

    #[test]
    fn rejects_non_minimal_integer() {
        let mut bytes = sample().to_canonical_bytes();
        // Replace `00 01` (key 0, value 1) with `00 18 01` (value 1 in long form).
        assert_eq!(&bytes[1..3], &[0x00, 0x01]);
        bytes.splice(2..3, [0x18, 0x01]);
        assert!(matches!(
            Sample::from_canonical_bytes(&bytes, 1024),
            Err(CodecError::NotCanonical { .. })
        ));
    }

    #[test]
    fn rejects_unsorted_keys_and_unknown_fields() {
        // {1: "a", 0: 1, 2: h'..', 4: []}
        let mut unsorted = vec![0xa4, 0x01, 0x61, 0x61, 0x00, 0x01, 0x02, 0x58, 0x20];
        unsorted.extend([0xab; 32]);
        unsorted.extend([0x04, 0x80]);
        assert!(matches!(
            Sample::from_canonical_bytes(&unsorted, 1024),
            Err(CodecError::NotCanonical { .. })
        ));
        // Canonical object plus an unknown field 9.
        let mut unknown = vec![0xa5, 0x00, 0x01, 0x01, 0x61, 0x61, 0x02, 0x58, 0x20];
        unknown.extend([0xab; 32]);
        unknown.extend([0x04, 0x80, 0x09, 0x00]);
        assert!(matches!(
            Sample::from_canonical_bytes(&unknown, 1024),
            Err(CodecError::NotCanonical { .. })
        ));
    }

    #[test]
    fn rejects_indefinite_length_trailing_bytes_and_oversize() {
        let canonical = sample().to_canonical_bytes();
        let mut trailing = canonical.clone();
        trailing.push(0x00);
        assert!(matches!(
            Sample::from_canonical_bytes(&trailing, 1024),
            Err(CodecError::TrailingBytes { extra: 1, .. })
        ));
        // Indefinite-length array for `items`: 9f 01 19 01f4 ff
        let mut indefinite = canonical[..canonical.len() - 5].to_vec();
        indefinite.extend([0x9f, 0x01, 0x19, 0x01, 0xf4, 0xff]);
        assert!(Sample::from_canonical_bytes(&indefinite, 1024).is_err());
        assert!(matches!(
            Sample::from_canonical_bytes(&canonical, 10),
            Err(CodecError::TooLarge { limit: 10, .. })
        ));
    }

    #[test]
    fn domain_hashes_differ_per_domain() {
        let a = domain_hash(HashDomain::BlockHeader, b"x");
        let b = domain_hash(HashDomain::ValidatorSet, b"x");
        assert_ne!(a, b);
    }

    #[test]
    fn canonical_json_accepts_only_jcs() {
        let v = parse_canonical_json(r#"{"a":1,"b":[true,null,"x"]}"#).unwrap();
        assert_eq!(v["a"], 1);
        assert!(matches!(
            parse_canonical_json(r#"{"b":1,"a":2}"#),
            Err(CodecError::NonCanonicalJson { .. })
        ));
        assert!(matches!(
            parse_canonical_json(r#"{"a": 1}"#),
            Err(CodecError::NonCanonicalJson { .. })
        ));
        assert!(matches!(
            parse_canonical_json(r#"{"a":1,"a":2}"#),
            Err(CodecError::NonCanonicalJson { .. })
        ));
        assert!(matches!(
            parse_canonical_json(r#"{"a":1.50}"#),
            Err(CodecError::NonCanonicalJson { .. })
        ));
    }

    fn arb_sample() -> impl Strategy<Value = Sample> {
        (
            any::<u64>(),
            ".{0,40}",
            any::<[u8; 32]>(),
            proptest::option::of(".{0,10}"),
            proptest::collection::vec(any::<u32>(), 0..20),
        )
            .prop_map(|(height, name, hash, note, items)| Sample {
                height,
                name,
                hash,
                note,
                items,
            })
    }

    proptest! {
        #[test]
        fn round_trip(s in arb_sample()) {
            let bytes = s.to_canonical_bytes();
            prop_assert_eq!(Sample::from_canonical_bytes(&bytes, usize::MAX).unwrap(), s);
        }

        #[test]
        fn any_single_byte_change_is_rejected_or_decodes_to_another_value(
            s in arb_sample(), pos in any::<prop::sample::Index>(), xor in 1u8..=255
        ) {
            let bytes = s.to_canonical_bytes();
            let mut mutated = bytes.clone();
            let i = pos.index(mutated.len());
            mutated[i] ^= xor;
            match Sample::from_canonical_bytes(&mutated, usize::MAX) {
                Err(_) => {}
                // If it still decodes, it must be a *different* value with exactly these bytes:
                // one value never has two accepted encodings.
                Ok(other) => {
                    prop_assert_ne!(&other, &s);
                    prop_assert_eq!(other.to_canonical_bytes(), mutated);
                }
            }
        }

        #[test]
        fn json_canonicalisation_is_idempotent(
            obj in proptest::collection::btree_map("[a-z]{1,5}", any::<i32>(), 0..8)
        ) {
            let value = serde_json::to_value(&obj).unwrap();
            let text = canonical_json(&value).unwrap();
            prop_assert_eq!(parse_canonical_json(&text).unwrap(), value);
        }

        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = Sample::from_canonical_bytes(&bytes, 1024);
            let _ = parse_canonical_json(&String::from_utf8_lossy(&bytes));
        }
    }
}
