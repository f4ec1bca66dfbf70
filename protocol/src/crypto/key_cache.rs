//! A bounded memo of public keys that passed validation, with their decompressed form.
//!
//! Validating an encoded key ([`super::PublicKey::from_bytes`]) costs a point decompression and
//! a full scalar multiplication (the prime-order check), about 50 µs. A node decodes the same few
//! keys (its registry's) over and over: the signer of every event it receives, every key record
//! it reads back while applying the rules, every vote. Profiling a 4-validator network under load
//! showed more than half of each node's CPU in that check. The memo makes the repeat cost a
//! hash lookup without changing any result: only keys that passed every check go in, and the
//! check is a pure function of the 32 bytes.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use ed25519_dalek::VerifyingKey;

/// Keys remembered at most; the memo is emptied when full (a registry is far smaller, so in
/// practice it never is).
const CAPACITY: usize = 16_384;

fn memo() -> &'static Mutex<HashMap<[u8; 32], VerifyingKey>> {
    static MEMO: OnceLock<Mutex<HashMap<[u8; 32], VerifyingKey>>> = OnceLock::new();
    MEMO.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The decompressed key, if these bytes were validated before.
pub(super) fn get(bytes: &[u8; 32]) -> Option<VerifyingKey> {
    memo()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .get(bytes)
        .copied()
}

/// Remembers a key that passed every validation check.
pub(super) fn remember(bytes: [u8; 32], key: VerifyingKey) {
    let mut memo = memo().lock().unwrap_or_else(PoisonError::into_inner);
    if memo.len() >= CAPACITY {
        memo.clear();
    }
    memo.insert(bytes, key);
}
