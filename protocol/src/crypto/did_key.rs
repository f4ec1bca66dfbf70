//! `did:key` identifiers for Ed25519 public keys (W3C CCG did:key method).
//!
//! `did:key:z<base58btc(0xed 0x01 || public key)>`: `z` is the multibase prefix for base58btc
//! and `0xed 0x01` is the unsigned-varint multicodec code `0xed` (`ed25519-pub`). An Ed25519
//! did:key is therefore always `did:key:z6Mk` followed by 44 more characters.
//!
//! Base58btc is implemented here (about 40 lines) instead of adding a crate: the inputs are
//! 34 bytes, so the simple quadratic algorithm is fast enough, and input length is bounded
//! before decoding so hostile input cannot make it slow.

use super::public_key::{PUBLIC_KEY_LENGTH, PublicKey, PublicKeyError};

/// The scheme and method prefix every did:key starts with.
const DID_KEY_PREFIX: &str = "did:key:";
/// Multibase prefix for base58btc.
const MULTIBASE_BASE58BTC: char = 'z';
/// Unsigned-varint encoding of multicodec `0xed` (ed25519-pub).
const ED25519_PUB_MULTICODEC: [u8; 2] = [0xed, 0x01];
/// Longest input accepted; an Ed25519 did:key is 56 characters, the slack keeps error messages
/// precise for near misses while bounding decoding work.
const MAX_DID_KEY_LENGTH: usize = 128;
/// The Bitcoin base58 alphabet (no 0, O, I, l).
const BASE58_ALPHABET: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Why a string is not the did:key of a usable Ed25519 public key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DidKeyError {
    /// The string does not start with `did:key:`.
    #[error("{input:?} is not a did:key (it must start with \"did:key:\")")]
    NotDidKey {
        /// The rejected input, truncated to a readable length.
        input: String,
    },
    /// The input is longer than any Ed25519 did:key.
    #[error("did:key is {actual} characters long; an Ed25519 did:key has at most {max}")]
    TooLong {
        /// Length of the input in characters.
        actual: usize,
        /// The accepted maximum.
        max: usize,
    },
    /// The method-specific part is not base58btc multibase.
    #[error("did:key multibase prefix must be 'z' (base58btc), got {found:?}")]
    UnsupportedMultibase {
        /// The multibase prefix found, if any.
        found: Option<char>,
    },
    /// A character outside the base58btc alphabet.
    #[error("did:key has invalid base58btc character {character:?} at index {index}")]
    InvalidBase58 {
        /// The rejected character.
        character: char,
        /// Zero-based character index in the whole did:key string.
        index: usize,
    },
    /// The multicodec prefix is not `ed25519-pub`.
    #[error("did:key is not an Ed25519 key: multicodec prefix is 0x{found}, expected 0xed01")]
    NotEd25519 {
        /// The first (up to two) decoded bytes, as hex.
        found: String,
    },
    /// The key after the multicodec prefix has the wrong length.
    #[error("did:key Ed25519 public key must be {PUBLIC_KEY_LENGTH} bytes, got {actual}")]
    KeyLength {
        /// Number of key bytes found.
        actual: usize,
    },
    /// The key bytes are not a usable public key.
    #[error("did:key contains an unusable key: {0}")]
    Key(#[from] PublicKeyError),
}

impl PublicKey {
    /// The `did:key:z6Mk...` identifier of this key.
    pub fn to_did_key(&self) -> String {
        let mut multicodec = [0u8; ED25519_PUB_MULTICODEC.len() + PUBLIC_KEY_LENGTH];
        let (prefix, key) = multicodec.split_at_mut(ED25519_PUB_MULTICODEC.len());
        prefix.copy_from_slice(&ED25519_PUB_MULTICODEC);
        key.copy_from_slice(self.as_bytes());
        format!(
            "{DID_KEY_PREFIX}{MULTIBASE_BASE58BTC}{}",
            base58_encode(&multicodec)
        )
    }

    /// Parses a `did:key:z6Mk...` identifier. Exactly the output of
    /// [`PublicKey::to_did_key`] is accepted (no DID URL fragments, paths or queries).
    pub fn from_did_key(did: &str) -> Result<Self, DidKeyError> {
        let length = did.chars().count();
        if length > MAX_DID_KEY_LENGTH {
            return Err(DidKeyError::TooLong {
                actual: length,
                max: MAX_DID_KEY_LENGTH,
            });
        }
        let Some(method_specific) = did.strip_prefix(DID_KEY_PREFIX) else {
            return Err(DidKeyError::NotDidKey {
                input: did.chars().take(24).collect(),
            });
        };
        let mut chars = method_specific.chars();
        match chars.next() {
            Some(MULTIBASE_BASE58BTC) => {}
            found => return Err(DidKeyError::UnsupportedMultibase { found }),
        }
        // Index of the first base58 character within `did`, for error messages.
        let offset = DID_KEY_PREFIX.len() + 1;
        let decoded = base58_decode(chars.as_str()).map_err(|(character, index)| {
            DidKeyError::InvalidBase58 {
                character,
                index: offset + index,
            }
        })?;
        let Some(key) = decoded.strip_prefix(&ED25519_PUB_MULTICODEC) else {
            return Err(DidKeyError::NotEd25519 {
                found: ::hex::encode(decoded.get(..2).unwrap_or(&decoded)),
            });
        };
        let key: &[u8; PUBLIC_KEY_LENGTH] = key
            .try_into()
            .map_err(|_| DidKeyError::KeyLength { actual: key.len() })?;
        Ok(PublicKey::from_bytes(key)?)
    }
}

/// Base58btc encoding (Bitcoin alphabet): each leading zero byte becomes `1`, the rest is the
/// big-endian number written in base 58.
fn base58_encode(bytes: &[u8]) -> String {
    let zeros = bytes.iter().take_while(|&&byte| byte == 0).count();
    // Base-58 digits, least significant first.
    let mut digits: Vec<u8> = Vec::with_capacity(bytes.len() * 138 / 100 + 1);
    for &byte in bytes.iter().skip(zeros) {
        let mut carry = u32::from(byte);
        for digit in &mut digits {
            carry += u32::from(*digit) << 8;
            *digit = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let mut text = String::with_capacity(zeros + digits.len());
    text.extend(std::iter::repeat_n('1', zeros));
    text.extend(digits.iter().rev().filter_map(|&digit| {
        BASE58_ALPHABET
            .get(usize::from(digit))
            .map(|&c| char::from(c))
    }));
    text
}

/// Inverse of [`base58_encode`]; on failure returns the offending character and its index.
fn base58_decode(text: &str) -> Result<Vec<u8>, (char, usize)> {
    let zeros = text.chars().take_while(|&c| c == '1').count();
    // Bytes of the number, least significant first.
    let mut bytes: Vec<u8> = Vec::with_capacity(text.len());
    for (index, character) in text.chars().enumerate().skip(zeros) {
        let value = BASE58_ALPHABET
            .iter()
            .position(|&c| char::from(c) == character)
            .ok_or((character, index))?;
        // `value < 58`, so the carry stays below 58 * 256 + 58.
        let mut carry = value as u32;
        for byte in &mut bytes {
            carry += u32::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            bytes.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let mut out = vec![0u8; zeros];
    out.extend(bytes.iter().rev());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use crate::crypto::test_support::SMALL_ORDER_POINTS;
    use proptest::prelude::*;

    /// From the W3C CCG did:key test vectors (`test-vectors/ed25519-x25519.json` in
    /// w3c-ccg/did-method-key): (seed, publicKeyBase58, did).
    const W3C_DID_KEY_VECTORS: [(&str, &str, &str); 5] = [
        (
            "0000000000000000000000000000000000000000000000000000000000000000",
            "4zvwRjXUKGfvwnParsHAS3HuSVzV5cA4McphgmoCtajS",
            "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000001",
            "6ASf5EcmmEHTgDJ4X4ZT5vT6iHVJBXPg5AN5YoTCpGWt",
            "did:key:z6MkjchhfUsD6mmvni8mCdXHw216Xrm9bQe2mBH1P5RDjVJG",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000002",
            "8pM1DN3RiT8vbom5u1sNryaNT1nyL8CTTW3b5PwWXRBH",
            "did:key:z6MknGc3ocHs3zdPiJbnaaqDi58NGb4pk1Sp9WxWufuXSdxf",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000003",
            "HPYVwAQmskwT1qEEeRzhoomyfyupJGASQQtCXSNG8XS2",
            "did:key:z6MkvqoYXQfDDJRv8L4wKzxYeuKyVZBfi9Qo6Ro8MiLH3kDQ",
        ),
        (
            "0000000000000000000000000000000000000000000000000000000000000004",
            "J3qYF7YJMKCqQke47UQwiHizgFUXapHxRxKmxbkar89x",
            "did:key:z6MkwW6aqMnjgrhJXFUko3NnZPGzVpkNzhYK7yEhnsibmLwL",
        ),
    ];

    #[test]
    fn matches_w3c_did_key_test_vectors() {
        for (seed, public_base58, did) in W3C_DID_KEY_VECTORS {
            let seed: [u8; 32] = ::hex::decode(seed).unwrap().try_into().unwrap();
            let key = SigningKey::from_seed(seed).public_key();
            assert_eq!(base58_encode(key.as_bytes()), public_base58);
            assert_eq!(key.to_did_key(), did);
            assert_eq!(PublicKey::from_did_key(did).unwrap(), key);
        }
    }

    #[test]
    fn base58_matches_published_examples() {
        // Examples from the IETF base58 draft (draft-msporny-base58).
        assert_eq!(base58_encode(b"Hello World!"), "2NEpo7TZRRrLZSi2U");
        assert_eq!(
            base58_encode(&[0x00, 0x00, 0x28, 0x7f, 0xb4, 0xcd]),
            "11233QC4"
        );
        assert_eq!(
            base58_decode("11233QC4").unwrap(),
            [0, 0, 0x28, 0x7f, 0xb4, 0xcd]
        );
        assert_eq!(base58_encode(&[]), "");
        assert_eq!(base58_decode("").unwrap(), Vec::<u8>::new());
    }

    #[test]
    fn errors_name_the_problem() {
        let did = W3C_DID_KEY_VECTORS[0].2;
        assert_eq!(
            PublicKey::from_did_key("did:web:example.com")
                .unwrap_err()
                .to_string(),
            "\"did:web:example.com\" is not a did:key (it must start with \"did:key:\")"
        );
        assert_eq!(
            PublicKey::from_did_key("did:key:f00").unwrap_err(),
            DidKeyError::UnsupportedMultibase { found: Some('f') }
        );
        assert_eq!(
            PublicKey::from_did_key("did:key:").unwrap_err(),
            DidKeyError::UnsupportedMultibase { found: None }
        );
        let with_zero = did.replacen('B', "0", 1);
        assert_eq!(
            PublicKey::from_did_key(&with_zero).unwrap_err().to_string(),
            "did:key has invalid base58btc character '0' at index 14"
        );
        let fragment = format!("{did}#{}", &did[8..]);
        assert!(matches!(
            PublicKey::from_did_key(&fragment).unwrap_err(),
            DidKeyError::InvalidBase58 {
                character: '#',
                index: 56
            }
        ));
        assert!(matches!(
            PublicKey::from_did_key(&"did:key:z".repeat(20)).unwrap_err(),
            DidKeyError::TooLong {
                actual: 180,
                max: 128
            }
        ));
    }

    #[test]
    fn rejects_other_key_types_and_lengths() {
        // An X25519 did:key (multicodec 0xec01) from the same W3C vector file.
        let x25519 = "did:key:z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW";
        assert_eq!(
            PublicKey::from_did_key(x25519).unwrap_err().to_string(),
            "did:key is not an Ed25519 key: multicodec prefix is 0xec01, expected 0xed01"
        );
        let short = format!("did:key:z{}", base58_encode(&[0xed, 0x01, 1, 2, 3]));
        assert_eq!(
            PublicKey::from_did_key(&short).unwrap_err(),
            DidKeyError::KeyLength { actual: 3 }
        );
    }

    #[test]
    fn rejects_unusable_keys() {
        let mut multicodec = ED25519_PUB_MULTICODEC.to_vec();
        multicodec.extend(::hex::decode(SMALL_ORDER_POINTS[0]).unwrap());
        let did = format!("did:key:z{}", base58_encode(&multicodec));
        assert!(matches!(
            PublicKey::from_did_key(&did).unwrap_err(),
            DidKeyError::Key(PublicKeyError::SmallOrder { .. })
        ));
    }

    proptest! {
        #[test]
        fn base58_round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..48), zeros in 0usize..4) {
            let mut input = vec![0u8; zeros];
            input.extend(bytes);
            let text = base58_encode(&input);
            prop_assert_eq!(base58_decode(&text).unwrap(), input);
        }

        #[test]
        fn did_key_round_trips(seed in proptest::array::uniform32(any::<u8>())) {
            let key = SigningKey::from_seed(seed).public_key();
            let did = key.to_did_key();
            prop_assert!(did.starts_with("did:key:z6Mk"));
            prop_assert_eq!(did.len(), 56);
            prop_assert_eq!(PublicKey::from_did_key(&did).unwrap(), key);
        }

        #[test]
        fn from_did_key_accepts_only_canonical_output(text in "did:key:z6Mk[1-9A-Za-z]{40,48}") {
            if let Ok(key) = PublicKey::from_did_key(&text) {
                prop_assert_eq!(key.to_did_key(), text);
            }
        }
    }
}
