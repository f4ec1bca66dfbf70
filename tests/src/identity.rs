//! Keys of a test network and the libp2p peer ids derived from them.
//!
//! Keys are derived from fixed seeds, so a failing run can be inspected with the same identities
//! (the chain id, which differs per network, keeps concurrent networks apart). A node's peer id is
//! the libp2p ed25519 identity of its `network_key`: the node derives it from the same 32 bytes,
//! and the harness needs it to write `/p2p/<peer id>` bootstrap addresses.

use libp2p_identity::{DecodingError, PeerId, ed25519};
use provenance_protocol::crypto::{PublicKey, SigningKey};

/// What a derived key is for; part of the seed so no two keys of a network coincide.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    /// A validator organisation's signing (and vote) key.
    ValidatorSigning,
    /// A node's network identity.
    NodeNetwork,
    /// A signer organisation's event-signing key.
    SignerSigning,
    /// A signer organisation's (unused) network key; genesis requires one per participant.
    SignerNetwork,
}

/// The deterministic key for `role` number `index`.
pub fn test_key(role: KeyRole, index: usize) -> SigningKey {
    let mut seed = [0x5au8; 32];
    seed[0] = match role {
        KeyRole::ValidatorSigning => 1,
        KeyRole::NodeNetwork => 2,
        KeyRole::SignerSigning => 3,
        KeyRole::SignerNetwork => 4,
    };
    seed[1..9].copy_from_slice(&(index as u64).to_le_bytes());
    SigningKey::from_seed(seed)
}

/// The libp2p peer id of a node whose network key is `key`.
pub fn peer_id(key: &PublicKey) -> Result<PeerId, DecodingError> {
    let ed25519 = ed25519::PublicKey::try_from_bytes(key.as_bytes())?;
    Ok(libp2p_identity::PublicKey::from(ed25519).to_peer_id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_equals_the_one_libp2p_derives_from_the_secret_key() {
        for index in 0..4 {
            let key = test_key(KeyRole::NodeNetwork, index);
            let keypair = libp2p_identity::Keypair::ed25519_from_bytes(*key.to_seed()).unwrap();
            let from_public = peer_id(&key.public_key()).unwrap();
            assert_eq!(from_public, keypair.public().to_peer_id());
            // Ed25519 identities are inlined in the multihash: base58 "12D3KooW...".
            assert!(
                from_public.to_string().starts_with("12D3KooW"),
                "{from_public}"
            );
        }
    }

    #[test]
    fn derived_keys_are_all_distinct() {
        let roles = [
            KeyRole::ValidatorSigning,
            KeyRole::NodeNetwork,
            KeyRole::SignerSigning,
            KeyRole::SignerNetwork,
        ];
        let mut seen = std::collections::BTreeSet::new();
        for role in roles {
            for index in 0..16 {
                assert!(
                    seen.insert(test_key(role, index).public_key()),
                    "{role:?} {index} repeats a key"
                );
            }
        }
    }
}
