//! Adversarial inputs shared by this module's tests: the eight small-order points, scalar
//! malleation, mixed-order keys, and a signer that plants small-order components in `R`.

use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use sha2::{Digest as _, Sha512};

use super::{PublicKey, Signature, SigningKey};

/// The canonical encodings of the 8 small-order points of Ed25519 (the full 8-torsion
/// subgroup): identity, the point of order 2, two of order 4, four of order 8. This is the
/// well-known blocklist used by libsodium and discussed in "Taming the many EdDSAs" (2020).
pub(crate) const SMALL_ORDER_POINTS: [&str; 8] = [
    "0100000000000000000000000000000000000000000000000000000000000000",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0000000000000000000000000000000000000000000000000000000000000080",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
];

/// The group order L, little-endian.
pub(crate) const L: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10,
];

pub(crate) fn small_order_bytes(index: usize) -> [u8; 32] {
    ::hex::decode(SMALL_ORDER_POINTS[index])
        .unwrap()
        .try_into()
        .unwrap()
}

fn small_order_point(index: usize) -> EdwardsPoint {
    CompressedEdwardsY(small_order_bytes(index))
        .decompress()
        .unwrap()
}

/// `S + L`: the same signature under lax, non-canonical-accepting rules.
pub(crate) fn add_l_to_s(signature: &Signature) -> Signature {
    let mut bytes = signature.to_bytes();
    let mut carry = 0u16;
    for (byte, l) in bytes[32..].iter_mut().zip(L) {
        let sum = u16::from(*byte) + u16::from(l) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0, "S + L fits in 32 bytes because S < L < 2^253");
    Signature::from_bytes(&bytes)
}

/// The encoding of `A + T` for the small-order point `T` with the given index.
pub(crate) fn mixed_order_key_bytes(key: &PublicKey, torsion_index: usize) -> [u8; 32] {
    (key.decompress().unwrap().to_edwards() + small_order_point(torsion_index))
        .compress()
        .to_bytes()
}

/// A key holder who deviates from RFC 8032 to produce signatures with `R = [r]B + T`.
pub(crate) struct MaliciousSigner {
    key: SigningKey,
    nonce_seed: [u8; 32],
}

impl MaliciousSigner {
    pub(crate) fn new(seed: [u8; 32]) -> Self {
        Self {
            key: SigningKey::from_seed(seed),
            nonce_seed: seed,
        }
    }

    pub(crate) fn key(&self) -> &SigningKey {
        &self.key
    }

    pub(crate) fn public_key(&self) -> PublicKey {
        self.key.public_key()
    }

    /// A signature over the raw `input` whose `R` carries the small-order point `torsion_index`
    /// and whose `S = r + k·a` is otherwise honest. Strict verification always rejects it
    /// (for `torsion_index > 0`); cofactored verification would accept it.
    pub(crate) fn sign_with_torsioned_r(&self, input: &[u8], torsion_index: usize) -> Signature {
        let a = self.key.dalek().to_scalar();
        let r = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(self.nonce_seed)
                .chain_update(input)
                .finalize()
                .into(),
        );
        let big_r = (EdwardsPoint::mul_base(&r) + small_order_point(torsion_index)).compress();
        let k = Scalar::from_bytes_mod_order_wide(
            &Sha512::new()
                .chain_update(big_r.as_bytes())
                .chain_update(self.public_key().as_bytes())
                .chain_update(input)
                .finalize()
                .into(),
        );
        let s = r + k * a;
        let mut bytes = [0u8; 64];
        bytes[..32].copy_from_slice(big_r.as_bytes());
        bytes[32..].copy_from_slice(s.as_bytes());
        Signature::from_bytes(&bytes)
    }
}

#[test]
fn small_order_list_is_the_8_torsion_subgroup() {
    let points: Vec<EdwardsPoint> = (0..8).map(small_order_point).collect();
    for (index, point) in points.iter().enumerate() {
        assert!(point.is_small_order(), "{index}");
        assert_eq!(
            point.compress().to_bytes(),
            small_order_bytes(index),
            "{index}"
        );
    }
    let identity = points[0];
    assert_eq!(points[1] + points[1], identity);
    for point in &points[2..4] {
        assert_ne!(point + point, identity);
        assert_eq!(point + point, points[1]);
    }
    for point in &points[4..] {
        assert_ne!((point + point) + (point + point), identity);
    }
    let distinct: std::collections::HashSet<[u8; 32]> = (0..8).map(small_order_bytes).collect();
    assert_eq!(distinct.len(), 8);
}

#[test]
fn malicious_signer_is_honest_without_torsion() {
    let signer = MaliciousSigner::new([1; 32]);
    let signature = signer.sign_with_torsioned_r(b"input", 0);
    use ed25519_dalek::Verifier as _;
    assert!(
        signer
            .public_key()
            .decompress()
            .unwrap()
            .verify_strict(b"input", signature.dalek())
            .is_ok()
    );
    assert!(
        signer
            .public_key()
            .decompress()
            .unwrap()
            .verify(b"input", signature.dalek())
            .is_ok()
    );
}
