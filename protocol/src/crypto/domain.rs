//! Domain separation: what exactly the Ed25519 key signs.
//!
//! A signature must mean one thing. Without separation, bytes signed as an event could be
//! replayed as a vote whose encoding happens to coincide, and a signature made on a test
//! network would be valid on the main network. So every signature covers a *signing input*
//! that binds the purpose ([`SigningDomain`]) and the chain id in front of the message:
//!
//! ```text
//! signing_input = u64be(len(tag))      || tag
//!              || u64be(len(chain_id)) || chain_id
//!              || message
//! ```
//!
//! * `tag` is the ASCII domain tag, e.g. `provenance/v1/event` (see [`SigningDomain::tag`]);
//! * `chain_id` is the chain id's UTF-8 bytes, exactly as given (no normalisation);
//! * `u64be(n)` is `n` as an 8-byte big-endian unsigned integer (a length in bytes);
//! * `message` is the payload bytes, to the end of the input (its length is implied).
//!
//! Both variable-length fields are length-prefixed, so the input is an injective function of
//! `(domain, chain_id, message)`: no two different triples produce the same bytes. A 64-bit
//! length covers every string Rust can hold, so framing never fails and signing is infallible.
//! The Ed25519 signature (RFC 8032, pure Ed25519, no prehash, no context) is over these bytes.

use std::fmt;

/// The purpose a signature is made for. Each purpose has its own tag, so a signature for one
/// purpose never verifies for another.
///
/// Tags are part of the protocol: changing one invalidates every signature made with it. A new
/// purpose gets a new variant and a new tag; an incompatible change gets a new version
/// segment (`provenance/v2/...`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum SigningDomain {
    /// An EPCIS event submitted by a participant.
    Event,
    /// A block header sealed by its proposer.
    BlockHeader,
    /// A consensus proposal of a block.
    Proposal,
    /// A consensus prevote.
    Prevote,
    /// A consensus precommit (the vote that commits a block).
    Precommit,
    /// A governance action (membership, key rotation, parameter changes).
    Governance,
    /// Proof of key possession when two nodes connect.
    PeerHandshake,
}

impl SigningDomain {
    /// Every domain, in declaration order.
    pub const ALL: [SigningDomain; 7] = [
        SigningDomain::Event,
        SigningDomain::BlockHeader,
        SigningDomain::Proposal,
        SigningDomain::Prevote,
        SigningDomain::Precommit,
        SigningDomain::Governance,
        SigningDomain::PeerHandshake,
    ];

    /// The stable ASCII tag bound into every signature of this domain.
    pub const fn tag(self) -> &'static str {
        match self {
            SigningDomain::Event => "provenance/v1/event",
            SigningDomain::BlockHeader => "provenance/v1/block-header",
            SigningDomain::Proposal => "provenance/v1/proposal",
            SigningDomain::Prevote => "provenance/v1/prevote",
            SigningDomain::Precommit => "provenance/v1/precommit",
            SigningDomain::Governance => "provenance/v1/governance",
            SigningDomain::PeerHandshake => "provenance/v1/peer-handshake",
        }
    }
}

impl fmt::Display for SigningDomain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.tag())
    }
}

/// The bytes actually signed for `message` in `domain` on chain `chain_id` (layout in the
/// module documentation). Public so that independent verifiers and the specification's test
/// vectors can reproduce it.
pub fn signing_input(domain: SigningDomain, chain_id: &str, message: &[u8]) -> Vec<u8> {
    let mut input = signing_prefix(domain, chain_id);
    input.extend_from_slice(message);
    input
}

/// Everything in the signing input before the message; shared by batch verification.
pub(super) fn signing_prefix(domain: SigningDomain, chain_id: &str) -> Vec<u8> {
    let tag = domain.tag().as_bytes();
    let chain_id = chain_id.as_bytes();
    let mut prefix = Vec::with_capacity(16 + tag.len() + chain_id.len());
    push_length_prefixed(&mut prefix, tag);
    push_length_prefixed(&mut prefix, chain_id);
    prefix
}

fn push_length_prefixed(out: &mut Vec<u8>, field: &[u8]) {
    // `usize` is at most 64 bits on every target Rust supports, so this is lossless.
    let length = field.len() as u64;
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(field);
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashSet;

    fn any_domain() -> impl Strategy<Value = SigningDomain> {
        proptest::sample::select(SigningDomain::ALL.to_vec())
    }

    #[test]
    fn tags_are_pinned() {
        let tags: Vec<&str> = SigningDomain::ALL.iter().map(|d| d.tag()).collect();
        assert_eq!(
            tags,
            [
                "provenance/v1/event",
                "provenance/v1/block-header",
                "provenance/v1/proposal",
                "provenance/v1/prevote",
                "provenance/v1/precommit",
                "provenance/v1/governance",
                "provenance/v1/peer-handshake",
            ]
        );
        assert_eq!(tags.iter().collect::<HashSet<_>>().len(), tags.len());
        assert_eq!(SigningDomain::Event.to_string(), "provenance/v1/event");
    }

    #[test]
    fn layout_is_exactly_as_documented() {
        let input = signing_input(SigningDomain::Event, "main", b"hi");
        let mut expected = Vec::new();
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 19]);
        expected.extend_from_slice(b"provenance/v1/event");
        expected.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 4]);
        expected.extend_from_slice(b"main");
        expected.extend_from_slice(b"hi");
        assert_eq!(input, expected);
        assert_eq!(
            ::hex::encode(signing_input(SigningDomain::Precommit, "", b"")),
            "000000000000001770726f76656e616e63652f76312f707265636f6d6d69740000000000000000"
        );
    }

    proptest! {
        #[test]
        fn framing_is_injective(
            a in (any_domain(), ".{0,8}", proptest::collection::vec(any::<u8>(), 0..16)),
            b in (any_domain(), ".{0,8}", proptest::collection::vec(any::<u8>(), 0..16)),
        ) {
            let input_a = signing_input(a.0, &a.1, &a.2);
            let input_b = signing_input(b.0, &b.1, &b.2);
            prop_assert_eq!(input_a == input_b, a == b);
        }

        #[test]
        fn moving_bytes_between_chain_id_and_message_changes_the_input(
            domain in any_domain(),
            chain_id in "[a-z]{1,8}",
            message in proptest::collection::vec(any::<u8>(), 0..16),
        ) {
            // The classic ambiguity of unframed concatenation: ("ab", "c") vs ("a", "bc").
            let (head, tail) = chain_id.split_at(chain_id.len() - 1);
            let mut moved = tail.as_bytes().to_vec();
            moved.extend_from_slice(&message);
            prop_assert_ne!(
                signing_input(domain, &chain_id, &message),
                signing_input(domain, head, &moved)
            );
        }
    }
}
