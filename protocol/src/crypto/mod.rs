//! Ed25519 keys and signatures for the ledger.
//!
//! Pure and deterministic: nothing here reads files, clocks or the OS RNG (callers pass an RNG
//! to [`SigningKey::generate`]). Every signature is domain-separated ([`SigningDomain`] plus the
//! chain id, framed as documented in [`signing_input`]) and verified by a single strict rule
//! ([`verify`] and [`verify_batch`] agree item by item); the module documentation of `verify.rs`
//! explains why, since validators that disagree about one signature fork the chain.
//!
//! * [`PublicKey`]: validated 32-byte key; lowercase hex, `did:key:z6Mk...`.
//! * [`Signature`]: 64 bytes `R || S`; lowercase hex.
//! * [`SigningKey`]: the secret; PKCS#8 PEM in and out, zeroized on drop, never printed.
//!
//! Keys and signatures also implement serde (lowercase hex strings) and minicbor (byte strings).

mod cbor;
mod did_key;
mod domain;
mod key_cache;
mod public_key;
mod signature;
mod signing_key;
pub(crate) mod strict_hex;
#[cfg(test)]
mod test_support;
mod verify;

pub use did_key::DidKeyError;
pub use domain::{SigningDomain, signing_input};
pub use ed25519_dalek::pkcs8::spki::der::zeroize::Zeroizing;
pub use public_key::{PUBLIC_KEY_LENGTH, PublicKey, PublicKeyError};
pub use signature::{SIGNATURE_LENGTH, Signature, SignatureParseError};
pub use signing_key::{KeyDecodeError, SEED_LENGTH, SigningKey};
pub use strict_hex::HexError;
pub use verify::{BatchError, BatchItem, SignatureError, sign, verify, verify_batch};
