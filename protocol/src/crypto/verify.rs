//! Signing and the single verification rule.
//!
//! # One rule: strict Ed25519
//!
//! Every signature on the ledger is checked with ed25519-dalek's `verify_strict`, and nothing
//! else. That rule, applied to the signing input `M` (see [`super::domain`]), public key `A` and
//! signature `R || S`, accepts iff:
//!
//! 1. `S` is canonical (`S < L`, the group order);
//! 2. `R` decodes to a curve point, and neither `R` nor `A` is of small order;
//! 3. with `k = SHA-512(R || A || M) mod L`, the point `[S]B - [k]A`, encoded, equals the
//!    32 bytes `R` (the *cofactorless* equation, compared on encodings, so `R` must also be
//!    canonically encoded).
//!
//! Why strict, and why only one rule: validators must agree bit-for-bit on which signatures are
//! valid, or they disagree on which blocks are valid and the chain forks. Ed25519 as deployed
//! has several "valid" definitions that differ exactly on adversarial inputs: non-canonical `S`
//! (`S + L` verifies under lax rules, so signatures are malleable and a transaction can get a
//! second id), small-order keys and `R` values (a small-order key "signs" many messages with one
//! signature), and cofactored versus cofactorless equations (points with a small-order
//! component pass one and fail the other). Strict verification rejects all the ambiguous cases,
//! and using the same function everywhere means there is nothing left to disagree on.
//! [`PublicKey`] additionally rejects keys with a small-order component at parse time.
//!
//! # Batch verification
//!
//! [`verify_batch`] gives exactly the per-item verdicts of strict verification, and it does so
//! by verifying each item strictly. It deliberately does not use ed25519-dalek's
//! `verify_batch`, because that function can accept what strict verification rejects:
//!
//! * dalek 3's batch checks the **cofactorless** equation
//!   `[-Σ zᵢSᵢ]B + Σ [zᵢ]Rᵢ + Σ [zᵢkᵢ]Aᵢ = 0` with 128-bit coefficients `zᵢ` derived from a
//!   Merlin transcript of all inputs (deterministic, so a signer can grind inputs), and it does
//!   not check `R` or `A` for small order;
//! * if a signer publishes `R = [r]B + T` with `T` a small-order point and `S = r + k·a`, strict
//!   verification always rejects (the recomputed `R` has no `T` in it), but the batch sum
//!   contains only `[zᵢ]T`, which is zero whenever `zᵢ` is a multiple of the order of `T`
//!   (probability 1/2 for the order-2 point). A test in this module demonstrates such a case.
//!
//! Making the batch exact would require proving every `R` torsion-free, one full scalar
//! multiplication per signature. Measured on the development machine (release build): strict
//! verification ≈ 33 µs per signature, dalek batch ≈ 11–21 µs per signature, torsion check of
//! `R` ≈ 24–29 µs per signature. An exact batch therefore costs more than verifying each
//! signature strictly, so this function verifies strictly and keeps the batch-shaped API (all
//! failing indices at once) for callers that validate whole blocks.

use super::domain::{SigningDomain, signing_input, signing_prefix};
use super::public_key::PublicKey;
use super::signature::Signature;
use super::signing_key::SigningKey;

/// One item of a batch: the message (before framing), its signature and the claimed signer.
pub type BatchItem<'a> = (&'a [u8], &'a Signature, &'a PublicKey);

/// A signature that failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// Strict Ed25519 verification rejected the signature.
    #[error(
        "signature by {public_key} is not valid for domain {domain} on chain {chain_id:?} \
         (wrong key, message, domain or chain id, or a non-canonical signature)"
    )]
    Invalid {
        /// The key the signature was checked against.
        public_key: PublicKey,
        /// The domain the signature was checked for.
        domain: SigningDomain,
        /// The chain id the signature was checked for.
        chain_id: String,
    },
}

/// Some signatures of a batch failed verification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchError {
    /// The items at `failed` (ascending, zero-based) failed strict verification.
    #[error(
        "{} of {total} signatures for domain {domain} failed verification, at indices {failed:?}",
        failed.len()
    )]
    InvalidSignatures {
        /// Zero-based indices of the failing items, ascending.
        failed: Vec<usize>,
        /// Number of items in the batch.
        total: usize,
        /// The domain the batch was checked for.
        domain: SigningDomain,
    },
}

impl BatchError {
    /// Zero-based indices of the items that failed, ascending.
    pub fn failed_indices(&self) -> &[usize] {
        match self {
            BatchError::InvalidSignatures { failed, .. } => failed,
        }
    }
}

/// Signs `message` for `domain` on chain `chain_id` (deterministic RFC 8032 Ed25519 over
/// [`signing_input`]).
pub fn sign(key: &SigningKey, domain: SigningDomain, chain_id: &str, message: &[u8]) -> Signature {
    use ed25519_dalek::Signer as _;
    let input = signing_input(domain, chain_id, message);
    Signature::from_dalek(key.dalek().sign(&input))
}

/// Verifies a signature made by [`sign`] under the ledger's single strict rule (module doc).
pub fn verify(
    public_key: &PublicKey,
    domain: SigningDomain,
    chain_id: &str,
    message: &[u8],
    signature: &Signature,
) -> Result<(), SignatureError> {
    let input = signing_input(domain, chain_id, message);
    strict(public_key, &input, signature).map_err(|()| SignatureError::Invalid {
        public_key: *public_key,
        domain,
        chain_id: chain_id.to_owned(),
    })
}

/// Verifies many signatures of one domain and chain, reporting every failing index.
///
/// The verdict for each item is exactly that of [`verify`] (see the module doc for why this is
/// not built on ed25519-dalek's batch equation). An empty batch is valid.
pub fn verify_batch(
    domain: SigningDomain,
    chain_id: &str,
    items: &[BatchItem<'_>],
) -> Result<(), BatchError> {
    let prefix = signing_prefix(domain, chain_id);
    let mut input = prefix.clone();
    let mut failed = Vec::new();
    for (index, (message, signature, public_key)) in items.iter().enumerate() {
        input.truncate(prefix.len());
        input.extend_from_slice(message);
        if strict(public_key, &input, signature).is_err() {
            failed.push(index);
        }
    }
    if failed.is_empty() {
        Ok(())
    } else {
        Err(BatchError::InvalidSignatures {
            failed,
            total: items.len(),
            domain,
        })
    }
}

/// The one verification rule: ed25519-dalek `verify_strict` over the framed input.
fn strict(public_key: &PublicKey, input: &[u8], signature: &Signature) -> Result<(), ()> {
    let key = public_key.decompress().ok_or(())?;
    key.verify_strict(input, signature.dalek()).map_err(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::test_support::{
        MaliciousSigner, SMALL_ORDER_POINTS, add_l_to_s, small_order_bytes,
    };
    use proptest::prelude::*;

    const CHAIN: &str = "provenance-test";

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed([seed; 32])
    }

    /// Seed `[7; 32]`, domain Event, chain "provenance-test", message "golden message".
    /// Computed once and cross-checked independently with OpenSSL (through pyca/cryptography:
    /// same public key, same signature over the documented signing input, same PEM) and a
    /// separate base58 implementation for the did:key.
    #[test]
    fn golden_vector() {
        let key = SigningKey::from_seed([7u8; 32]);
        let public_key = key.public_key();
        let signature = sign(&key, SigningDomain::Event, CHAIN, b"golden message");
        assert_eq!(
            ::hex::encode(signing_input(
                SigningDomain::Event,
                CHAIN,
                b"golden message"
            )),
            "0000000000000013\
             70726f76656e616e63652f76312f6576656e74\
             000000000000000f\
             70726f76656e616e63652d74657374\
             676f6c64656e206d657373616765"
        );
        assert_eq!(
            public_key.to_string(),
            "ea4a6c63e29c520abef5507b132ec5f9954776aebebe7b92421eea691446d22c"
        );
        assert_eq!(
            public_key.to_did_key(),
            "did:key:z6MkvDqGT54cXesYGvABpF1UapVNwjCqRcafi4Px6Thv5T3Z"
        );
        assert_eq!(
            signature.to_string(),
            "7c15293270a3e70a35f38294a07e28c5911d87363662c2cd91df61ad4bb3b533\
             c9bc27b226628924e5017eadda1ef68656aae961a7b89a1f9e6434786c8ba500"
        );
        assert_eq!(
            verify(
                &public_key,
                SigningDomain::Event,
                CHAIN,
                b"golden message",
                &signature
            ),
            Ok(())
        );
        assert_eq!(
            key.to_pkcs8_pem().as_str(),
            "-----BEGIN PRIVATE KEY-----\n\
             MC4CAQAwBQYDK2VwBCIEIAcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcH\n\
             -----END PRIVATE KEY-----\n"
        );
    }

    #[test]
    fn rfc8032_test_vectors_hold_for_the_raw_rule() {
        // RFC 8032 section 7.1 TEST 1 and TEST 2: (secret, public, message, signature).
        let vectors = [
            (
                "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
                "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
                "",
                "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
            ),
            (
                "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
                "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
                "72",
                "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
            ),
        ];
        for (secret, public, message, expected) in vectors {
            let key = SigningKey::from_seed(::hex::decode(secret).unwrap().try_into().unwrap());
            assert_eq!(key.public_key().to_string(), public);
            let message = ::hex::decode(message).unwrap();
            let signature: Signature = expected.parse().unwrap();
            use ed25519_dalek::Signer as _;
            assert_eq!(key.dalek().sign(&message).to_bytes(), signature.to_bytes());
            assert_eq!(strict(&key.public_key(), &message, &signature), Ok(()));
        }
    }

    #[test]
    fn signature_for_one_domain_or_chain_does_not_verify_for_another() {
        let key = key(1);
        let public_key = key.public_key();
        for signed_domain in SigningDomain::ALL {
            let signature = sign(&key, signed_domain, CHAIN, b"payload");
            for checked_domain in SigningDomain::ALL {
                let result = verify(&public_key, checked_domain, CHAIN, b"payload", &signature);
                assert_eq!(result.is_ok(), signed_domain == checked_domain);
            }
            assert!(
                verify(
                    &public_key,
                    signed_domain,
                    "provenance-main",
                    b"payload",
                    &signature
                )
                .is_err()
            );
            assert!(verify(&public_key, signed_domain, "", b"payload", &signature).is_err());
        }
        // And it is not a raw signature over the message either.
        let signature = sign(&key, SigningDomain::Event, CHAIN, b"payload");
        assert!(strict(&public_key, b"payload", &signature).is_err());
    }

    #[test]
    fn error_message_names_key_domain_and_chain() {
        let key = key(2);
        let signature = sign(&key, SigningDomain::Event, CHAIN, b"a");
        let err = verify(
            &key.public_key(),
            SigningDomain::BlockHeader,
            CHAIN,
            b"a",
            &signature,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "signature by {} is not valid for domain provenance/v1/block-header on chain \
                 \"provenance-test\" (wrong key, message, domain or chain id, or a non-canonical signature)",
                key.public_key()
            )
        );
    }

    #[test]
    fn non_canonical_s_is_rejected() {
        let key = key(3);
        let signature = sign(&key, SigningDomain::Event, CHAIN, b"m");
        let malleated = add_l_to_s(&signature);
        assert_ne!(malleated, signature);
        assert!(
            verify(
                &key.public_key(),
                SigningDomain::Event,
                CHAIN,
                b"m",
                &malleated
            )
            .is_err()
        );
    }

    #[test]
    fn small_order_r_is_rejected() {
        let key = key(4);
        let signature = sign(&key, SigningDomain::Event, CHAIN, b"m");
        for index in 0..SMALL_ORDER_POINTS.len() {
            let mut bytes = signature.to_bytes();
            bytes[..32].copy_from_slice(&small_order_bytes(index));
            let forged = Signature::from_bytes(&bytes);
            assert!(
                verify(
                    &key.public_key(),
                    SigningDomain::Event,
                    CHAIN,
                    b"m",
                    &forged
                )
                .is_err()
            );
        }
    }

    /// Pins the reason `verify_batch` does not use dalek's batch equation: a signer who puts a
    /// small-order component into `R` gets signatures that strict verification always rejects
    /// but dalek's `verify_batch` accepts about half of the time.
    #[test]
    fn dalek_batch_accepts_torsioned_r_that_strict_rejects() {
        let signer = MaliciousSigner::new([5; 32]);
        let public_key = signer.public_key();
        let mut dalek_batch_accepted = 0;
        for attempt in 0u32..32 {
            let message = attempt.to_be_bytes();
            let input = signing_input(SigningDomain::Event, CHAIN, &message);
            // Torsion point of order 2.
            let signature = signer.sign_with_torsioned_r(&input, 1);
            assert!(strict(&public_key, &input, &signature).is_err());
            assert!(
                verify_batch(
                    SigningDomain::Event,
                    CHAIN,
                    &[(&message, &signature, &public_key)]
                )
                .is_err()
            );
            if ed25519_dalek::verify_batch(
                &[&input],
                &[*signature.dalek()],
                &[public_key.decompress().unwrap()],
            )
            .is_ok()
            {
                dalek_batch_accepted += 1;
            }
        }
        assert!(
            dalek_batch_accepted > 0,
            "dalek batch never accepted; re-evaluate the module doc"
        );
    }

    #[test]
    fn batch_reports_all_failing_indices() {
        let keys: Vec<SigningKey> = (0..4).map(key).collect();
        let public_keys: Vec<PublicKey> = keys.iter().map(SigningKey::public_key).collect();
        let messages: Vec<Vec<u8>> = (0..4u8).map(|i| vec![i; 3]).collect();
        let mut signatures: Vec<Signature> = keys
            .iter()
            .zip(&messages)
            .map(|(k, m)| sign(k, SigningDomain::Prevote, CHAIN, m))
            .collect();
        signatures[1] = signatures[2];
        signatures[3] = add_l_to_s(&signatures[3]);
        let items: Vec<BatchItem<'_>> = (0..4)
            .map(|i| (messages[i].as_slice(), &signatures[i], &public_keys[i]))
            .collect();
        let err = verify_batch(SigningDomain::Prevote, CHAIN, &items).unwrap_err();
        assert_eq!(err.failed_indices(), [1, 3]);
        assert_eq!(
            err.to_string(),
            "2 of 4 signatures for domain provenance/v1/prevote failed verification, at indices [1, 3]"
        );
        assert_eq!(
            verify_batch(SigningDomain::Prevote, CHAIN, &items[..1]),
            Ok(())
        );
        assert_eq!(verify_batch(SigningDomain::Prevote, CHAIN, &[]), Ok(()));
    }

    /// How a generated batch item is corrupted (or not).
    #[derive(Debug, Clone)]
    enum Mutation {
        None,
        FlipMessageBit(usize),
        FlipSignatureBit(usize),
        WrongKey,
        NonCanonicalS,
        SmallOrderR(usize),
        TorsionedR(usize),
        WrongDomain,
    }

    fn mutation() -> impl Strategy<Value = Mutation> {
        prop_oneof![
            4 => Just(Mutation::None),
            1 => any::<usize>().prop_map(Mutation::FlipMessageBit),
            1 => (0usize..512).prop_map(Mutation::FlipSignatureBit),
            1 => Just(Mutation::WrongKey),
            1 => Just(Mutation::NonCanonicalS),
            1 => (0usize..8).prop_map(Mutation::SmallOrderR),
            1 => (1usize..8).prop_map(Mutation::TorsionedR),
            1 => Just(Mutation::WrongDomain),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn batch_verdicts_equal_strict_verdicts(
            cases in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec(any::<u8>(), 1..24), mutation()),
                0..12,
            )
        ) {
            let mut messages = Vec::new();
            let mut signatures = Vec::new();
            let mut public_keys = Vec::new();
            for (seed, message, mutation) in &cases {
                let signer = MaliciousSigner::new([*seed; 32]);
                let mut message = message.clone();
                let mut public_key = signer.public_key();
                let input = signing_input(SigningDomain::Precommit, CHAIN, &message);
                let mut signature = sign(signer.key(), SigningDomain::Precommit, CHAIN, &message);
                match mutation {
                    Mutation::None => {}
                    Mutation::FlipMessageBit(bit) => {
                        let bit = bit % (message.len() * 8);
                        message[bit / 8] ^= 1 << (bit % 8);
                    }
                    Mutation::FlipSignatureBit(bit) => {
                        let mut bytes = signature.to_bytes();
                        bytes[bit / 8] ^= 1 << (bit % 8);
                        signature = Signature::from_bytes(&bytes);
                    }
                    Mutation::WrongKey => public_key = key(seed.wrapping_add(1)).public_key(),
                    Mutation::NonCanonicalS => signature = add_l_to_s(&signature),
                    Mutation::SmallOrderR(index) => {
                        let mut bytes = signature.to_bytes();
                        bytes[..32].copy_from_slice(&small_order_bytes(*index));
                        signature = Signature::from_bytes(&bytes);
                    }
                    Mutation::TorsionedR(index) => {
                        signature = signer.sign_with_torsioned_r(&input, *index);
                    }
                    Mutation::WrongDomain => {
                        signature = sign(signer.key(), SigningDomain::Prevote, CHAIN, &message);
                    }
                }
                messages.push(message);
                signatures.push(signature);
                public_keys.push(public_key);
            }
            // Reference: dalek's verify_strict on the framed input, item by item.
            let expected_failures: Vec<usize> = (0..cases.len())
                .filter(|&i| {
                    let input = signing_input(SigningDomain::Precommit, CHAIN, &messages[i]);
                    public_keys[i].decompress().unwrap().verify_strict(&input, signatures[i].dalek()).is_err()
                })
                .collect();
            for (i, (_, _, mutation)) in cases.iter().enumerate() {
                if matches!(mutation, Mutation::None) {
                    prop_assert!(!expected_failures.contains(&i));
                } else {
                    prop_assert!(expected_failures.contains(&i), "mutation {:?} survived", mutation);
                }
            }
            let items: Vec<BatchItem<'_>> = (0..cases.len())
                .map(|i| (messages[i].as_slice(), &signatures[i], &public_keys[i]))
                .collect();
            match verify_batch(SigningDomain::Precommit, CHAIN, &items) {
                Ok(()) => prop_assert!(expected_failures.is_empty()),
                Err(err) => prop_assert_eq!(err.failed_indices(), expected_failures.as_slice()),
            }
        }

        #[test]
        fn any_bit_flip_in_message_or_signature_fails(
            seed in any::<u8>(),
            message in proptest::collection::vec(any::<u8>(), 1..64),
            message_bit in any::<usize>(),
            signature_bit in 0usize..512,
        ) {
            let key = key(seed);
            let public_key = key.public_key();
            let signature = sign(&key, SigningDomain::Event, CHAIN, &message);
            prop_assert_eq!(verify(&public_key, SigningDomain::Event, CHAIN, &message, &signature), Ok(()));

            let mut flipped_message = message.clone();
            let bit = message_bit % (message.len() * 8);
            flipped_message[bit / 8] ^= 1 << (bit % 8);
            prop_assert!(verify(&public_key, SigningDomain::Event, CHAIN, &flipped_message, &signature).is_err());

            let mut bytes = signature.to_bytes();
            bytes[signature_bit / 8] ^= 1 << (signature_bit % 8);
            let flipped_signature = Signature::from_bytes(&bytes);
            prop_assert!(verify(&public_key, SigningDomain::Event, CHAIN, &message, &flipped_signature).is_err());
        }

        #[test]
        fn chain_id_is_bound(chain_a in "[a-z0-9-]{0,12}", chain_b in "[a-z0-9-]{0,12}") {
            let key = key(9);
            let signature = sign(&key, SigningDomain::Governance, &chain_a, b"x");
            let verdict = verify(&key.public_key(), SigningDomain::Governance, &chain_b, b"x", &signature);
            prop_assert_eq!(verdict.is_ok(), chain_a == chain_b);
        }
    }
}
