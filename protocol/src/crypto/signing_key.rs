//! [`SigningKey`]: an Ed25519 secret key that never prints, copies or serialises its secret
//! except into an explicitly zeroized PKCS#8 PEM.

use std::fmt;

use base64::Engine as _;
use ed25519_dalek::pkcs8::DecodePrivateKey as _;
use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;

use super::public_key::PublicKey;

/// Length of an Ed25519 secret seed in bytes.
pub const SEED_LENGTH: usize = 32;

/// DER prefix of an RFC 8410 PKCS#8 v1 Ed25519 private key; the 32-byte seed follows it:
/// `SEQUENCE(46) { INTEGER 0, SEQUENCE(5) { OID 1.3.101.112 }, OCTET STRING(34) { OCTET STRING(32) seed } }`.
const PKCS8_ED25519_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
const PKCS8_DER_LENGTH: usize = PKCS8_ED25519_PREFIX.len() + SEED_LENGTH;
/// Base64 of the 48-byte DER: exactly 64 characters, i.e. one PEM line.
const PKCS8_BASE64_LENGTH: usize = 64;
const PEM_BEGIN: &str = "-----BEGIN PRIVATE KEY-----\n";
const PEM_END: &str = "\n-----END PRIVATE KEY-----\n";

/// An Ed25519 signing key.
///
/// Deliberately not `Clone`, not serde-serialisable, and its `Debug` shows only the public key:
/// every copy of a secret is one more place it can leak from. The secret is zeroized when the
/// value is dropped (ed25519-dalek's `zeroize` feature).
pub struct SigningKey(ed25519_dalek::SigningKey);

/// Why a PKCS#8 PEM document could not be read as a [`SigningKey`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyDecodeError {
    /// The text is not an unencrypted PKCS#8 PEM Ed25519 private key. `reason` comes from the
    /// PKCS#8 decoder and never contains key material.
    #[error("not an unencrypted PKCS#8 PEM Ed25519 private key: {reason}")]
    Pkcs8 {
        /// What the decoder objected to.
        reason: String,
    },
}

impl SigningKey {
    /// Generates a fresh key from a cryptographically secure RNG (e.g.
    /// `rand_core::OsRng.unwrap_err()`).
    ///
    /// Takes a `rand_core` 0.9 RNG (the workspace's version) and draws the 32-byte seed from it,
    /// rather than passing the RNG to ed25519-dalek 3, which is built on `rand_core` 0.10. The
    /// result is identical to dalek's own `generate` (which also just fills a seed).
    pub fn generate<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let mut seed = Zeroizing::new([0u8; SEED_LENGTH]);
        rng.fill_bytes(seed.as_mut());
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// Builds the key whose RFC 8032 secret seed is `seed`: 32 bytes from a CSPRNG, or a fixed
    /// value in tests and golden vectors. The caller still owns (and should zeroize) its own
    /// copy of `seed`.
    pub fn from_seed(seed: [u8; SEED_LENGTH]) -> Self {
        let seed = Zeroizing::new(seed);
        Self(ed25519_dalek::SigningKey::from_bytes(&seed))
    }

    /// The RFC 8032 secret seed, zeroized on drop. For handing the same key to another
    /// ed25519 implementation (the node derives its libp2p identity from its node key file);
    /// never log or store it.
    pub fn to_seed(&self) -> Zeroizing<[u8; SEED_LENGTH]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The matching public key.
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from_derived(self.0.verifying_key())
    }

    /// Encodes the key as an RFC 8410 PKCS#8 v1 PEM document (the form `openssl genpkey
    /// -algorithm ed25519` writes): `-----BEGIN PRIVATE KEY-----`, one 64-character base64 line,
    /// `-----END PRIVATE KEY-----`, LF line endings, trailing newline.
    ///
    /// Written by hand rather than through the `pkcs8` crate because the encoding of a 32-byte
    /// seed is a fixed 48-byte layout, which makes this infallible, and every intermediate
    /// buffer is zeroized.
    pub fn to_pkcs8_pem(&self) -> Zeroizing<String> {
        let mut der = Zeroizing::new([0u8; PKCS8_DER_LENGTH]);
        let (prefix, seed) = der.split_at_mut(PKCS8_ED25519_PREFIX.len());
        prefix.copy_from_slice(&PKCS8_ED25519_PREFIX);
        seed.copy_from_slice(self.0.as_bytes());

        let mut base64 = Zeroizing::new([0u8; PKCS8_BASE64_LENGTH]);
        // Cannot fail: 48 input bytes need exactly 64 output bytes.
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(der.as_slice(), base64.as_mut_slice())
            .unwrap_or(0);
        debug_assert_eq!(written, PKCS8_BASE64_LENGTH);

        let mut pem = Zeroizing::new(String::with_capacity(
            PEM_BEGIN.len() + written + PEM_END.len(),
        ));
        pem.push_str(PEM_BEGIN);
        pem.extend(base64.iter().take(written).map(|&byte| char::from(byte)));
        pem.push_str(PEM_END);
        pem
    }

    /// Decodes an unencrypted PKCS#8 PEM Ed25519 private key (v1, or v2 with a public key, which
    /// must then match the secret).
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyDecodeError> {
        ed25519_dalek::SigningKey::from_pkcs8_pem(pem)
            .map(Self)
            .map_err(|error| KeyDecodeError::Pkcs8 {
                reason: error.to_string(),
            })
    }

    /// The underlying dalek key, for the signing code in this module only.
    pub(super) fn dalek(&self) -> &ed25519_dalek::SigningKey {
        &self.0
    }
}

impl fmt::Debug for SigningKey {
    /// Shows only the public key, never the secret.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public_key", &self.public_key())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::EncodePrivateKey as _;
    use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
    use proptest::prelude::*;

    /// RFC 8410 section 10.3 example private key and its seed.
    const RFC8410_PEM: &str = "-----BEGIN PRIVATE KEY-----\n\
        MC4CAQAwBQYDK2VwBCIEINTuctv5E1hK1bbY8fdp+K06/nwoy/HU++CXqI9EdVhC\n\
        -----END PRIVATE KEY-----\n";
    const RFC8410_SEED: &str = "d4ee72dbf913584ad5b6d8f1f769f8ad3afe7c28cbf1d4fbe097a88f44755842";

    fn seed(hex: &str) -> [u8; 32] {
        ::hex::decode(hex).unwrap().try_into().unwrap()
    }

    #[test]
    fn pem_matches_rfc8410_example_byte_for_byte() {
        let key = SigningKey::from_seed(seed(RFC8410_SEED));
        assert_eq!(key.to_pkcs8_pem().as_str(), RFC8410_PEM);
        let decoded = SigningKey::from_pkcs8_pem(RFC8410_PEM).unwrap();
        assert_eq!(decoded.public_key(), key.public_key());
    }

    #[test]
    fn reads_pkcs8_v2_with_public_key_as_written_by_dalek() {
        let key = SigningKey::from_seed([9; 32]);
        let v2 = key.dalek().to_pkcs8_pem(LineEnding::LF).unwrap();
        assert_ne!(v2.as_str(), key.to_pkcs8_pem().as_str());
        let decoded = SigningKey::from_pkcs8_pem(&v2).unwrap();
        assert_eq!(decoded.public_key(), key.public_key());
    }

    #[test]
    fn garbage_pem_gives_a_clear_error() {
        let err = SigningKey::from_pkcs8_pem("not a key").unwrap_err();
        assert!(
            err.to_string()
                .starts_with("not an unencrypted PKCS#8 PEM Ed25519 private key: "),
            "{err}"
        );
        // A well-formed PEM with a corrupted body is also rejected.
        let corrupted = RFC8410_PEM.replace("MC4CAQAw", "MC4CAQEw");
        assert!(SigningKey::from_pkcs8_pem(&corrupted).is_err());
    }

    #[test]
    fn debug_shows_public_key_only() {
        let key = SigningKey::from_seed(seed(RFC8410_SEED));
        let debug = format!("{key:?}");
        assert_eq!(
            debug,
            format!("SigningKey {{ public_key: {:?}, .. }}", key.public_key())
        );
        assert!(!debug.contains(RFC8410_SEED));
    }

    #[test]
    fn generate_uses_the_rng() {
        use rand_core::TryRngCore as _;
        let mut rng = rand_core::OsRng.unwrap_err();
        let a = SigningKey::generate(&mut rng);
        let b = SigningKey::generate(&mut rng);
        assert_ne!(a.public_key(), b.public_key());
    }

    proptest! {
        #[test]
        fn pem_round_trips(seed in proptest::array::uniform32(any::<u8>())) {
            let key = SigningKey::from_seed(seed);
            let pem = key.to_pkcs8_pem();
            prop_assert!(pem.starts_with(PEM_BEGIN) && pem.ends_with(PEM_END));
            prop_assert_eq!(pem.len(), PEM_BEGIN.len() + PKCS8_BASE64_LENGTH + PEM_END.len());
            let decoded = SigningKey::from_pkcs8_pem(&pem).unwrap();
            prop_assert_eq!(decoded.dalek().as_bytes(), &seed);
        }
    }
}
