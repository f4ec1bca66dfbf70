//! Provenance bundles: everything a consumer needs to verify a product's story offline, trusting
//! nothing but the network's genesis.
//!
//! A [`ProvenanceBundle`] carries, for one subject (a serialised item, a logistic unit or a lot):
//!
//! * the genesis document (so a consumer may pin only its hash),
//! * the validator-set **hand-offs** since genesis: for every block that changed the set, its
//!   header, its finality certificate and the next set, so the verifier walks from the genesis
//!   set to the set that certifies the anchor ([`crate::ledger::next_validator_set`] in light
//!   form: the header commits to `next_validators_hash`, so the body is not needed),
//! * the **governance** transactions included so far, each self-authenticating through the
//!   approvals of more than 2/3 of the voting power, so the verifier rebuilds the participant
//!   registry (names, roles, keys, company prefixes) as it stood at each height,
//! * one **anchor**: a finalised header with its certificate,
//! * the subject's **events** and those of its ancestors (the containers it travelled inside while
//!   it was inside them; transformation inputs back to raw materials), or its descendants for a
//!   downstream trace, each with an RFC 6962 inclusion proof against the anchor's log root.
//!
//! Two encodings: JSON (for people and tools; hashes, keys and signatures as lowercase hex) and
//! the canonical CBOR of [`crate::codec`] (compact; one value, one byte string). Both carry
//! [`BUNDLE_VERSION`]; a reader refuses versions it does not know.
//!
//! What a bundle cannot prove is *completeness*: a node could leave an event out. The rules the
//! verifier re-applies expose omissions inside the story (custody must be continuous, nothing
//! before commissioning), and freshness checks ([`verify::VerifyOptions`]) expose an old anchor
//! that predates a later event such as a recall. See `protocol/SPEC.md` §13.

pub mod assemble;
pub mod claims;
pub mod closure;
pub mod compare;
mod subject;
pub mod verdict;
pub mod verify;
mod view;

#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;

pub use assemble::{AssembleError, BundleSource, LedgerEvent, assemble};
pub use claims::ColdChainPolicy;
pub use subject::{Subject, SubjectError};
pub use verdict::{Failure, Site, Verdict, VerdictStatus};
pub use verify::{TrustRoot, VerifyOptions, verify};

use minicbor::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec::{self, Canonical, CodecError};
use crate::genesis::Genesis;
use crate::governance::GovernanceTx;
use crate::ledger::{BlockHeader, FinalityCertificate, ValidatorSet};
use crate::merkle::MerkleHash;
use crate::record::SignedEvent;

/// The bundle format version this crate writes and reads.
pub const BUNDLE_VERSION: u32 = 1;
/// Most events one bundle carries: bounds assembly work, transfer size and verification time.
pub const MAX_BUNDLE_EVENTS: usize = 10_000;
/// Most validator-set hand-offs one bundle carries.
pub const MAX_BUNDLE_HANDOFFS: usize = 10_000;
/// Most governance transactions one bundle carries.
pub const MAX_BUNDLE_GOVERNANCE: usize = 10_000;
/// Largest encoded bundle, CBOR or JSON, a reader accepts.
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;
/// Longest inclusion path: a log of up to 2^64 leaves.
pub const MAX_PROOF_PATH: usize = 64;

/// Which way from the subject a bundle follows the links between identifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// The subject's story: its own events, its containers' while it was inside them, and its
    /// transformation inputs' back to raw materials (trace back, and what a consumer verifies).
    #[n(0)]
    Upstream,
    /// Everything made from or shipped with the subject afterwards: transformation outputs and
    /// their containers (trace forward, for a recall).
    #[n(1)]
    Downstream,
}

/// A finalised header with the certificate that finalised it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct CertifiedHeader {
    #[n(0)]
    pub header: BlockHeader,
    #[n(1)]
    pub certificate: FinalityCertificate,
}

/// A block at which the validator set changes: certified by the set in force, naming the next.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct Handoff {
    #[n(0)]
    pub header: BlockHeader,
    #[n(1)]
    pub certificate: FinalityCertificate,
    /// The set that certifies `header.height + 1` onwards; hashes to
    /// `header.next_validators_hash`.
    #[n(2)]
    pub next_validators: ValidatorSet,
}

/// A governance transaction and the height of the block that included it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct IncludedGovernance {
    #[n(0)]
    pub height: u64,
    #[n(1)]
    pub tx: GovernanceTx,
}

/// One event of the story with its place in the log and its proof against the anchor.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct ProvenEvent {
    /// The signed event exactly as the ledger holds it.
    #[n(0)]
    pub record: SignedEvent,
    /// Height of the block that included it; the log leaf commits to it (SPEC §6), so the
    /// inclusion proof proves it.
    #[n(1)]
    pub height: u64,
    /// Zero-based position of its leaf in the global log.
    #[n(2)]
    pub leaf_index: u64,
    /// RFC 6962 audit path from the leaf to the anchor's `log_root` over `log_size` leaves,
    /// bottom-up.
    #[n(3)]
    pub path: ProofPath,
}

/// Sibling hashes of an inclusion proof. CBOR: one byte string of `32 × n` bytes (compact);
/// JSON: a list of 64-hex-digit strings.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProofPath(pub Vec<MerkleHash>);

impl<C> Encode<C> for ProofPath {
    fn encode<W: minicbor::encode::Write>(
        &self,
        e: &mut minicbor::Encoder<W>,
        _ctx: &mut C,
    ) -> Result<(), minicbor::encode::Error<W::Error>> {
        let mut bytes = Vec::with_capacity(self.0.len() * 32);
        for hash in &self.0 {
            bytes.extend_from_slice(hash.as_bytes());
        }
        e.bytes(&bytes)?;
        Ok(())
    }
}

impl<'b, C> Decode<'b, C> for ProofPath {
    fn decode(
        d: &mut minicbor::Decoder<'b>,
        _ctx: &mut C,
    ) -> Result<Self, minicbor::decode::Error> {
        let bytes = d.bytes()?;
        if bytes.len() % 32 != 0 || bytes.len() / 32 > MAX_PROOF_PATH {
            return Err(minicbor::decode::Error::message(format!(
                "an inclusion path is up to {MAX_PROOF_PATH} hashes of 32 bytes; found {} bytes",
                bytes.len()
            )));
        }
        bytes
            .chunks_exact(32)
            .map(MerkleHash::from_slice)
            .collect::<Result<Vec<_>, _>>()
            .map(ProofPath)
            .map_err(|e| minicbor::decode::Error::message(e.to_string()))
    }
}

/// Everything needed to verify one subject's story offline. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct ProvenanceBundle {
    /// [`BUNDLE_VERSION`].
    #[n(0)]
    pub version: u32,
    /// The identifier the bundle is about, as the node resolved it: the canonical
    /// `https://id.gs1.org/...` Digital Link for GS1 keys.
    #[n(1)]
    pub subject: String,
    #[n(2)]
    pub scope: Scope,
    /// The network's genesis; its hash is what a consumer pins.
    #[n(3)]
    pub genesis: Genesis,
    /// Hand-offs in increasing height, every one up to the anchor.
    #[n(4)]
    #[cbor(skip_if = "Vec::is_empty")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub handoffs: Vec<Handoff>,
    /// Governance transactions up to the anchor, in ledger order.
    #[n(5)]
    #[cbor(skip_if = "Vec::is_empty")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub governance: Vec<IncludedGovernance>,
    /// The finalised header every inclusion proof is checked against.
    #[n(6)]
    pub anchor: CertifiedHeader,
    /// The story's events in log order (increasing `leaf_index`).
    #[n(7)]
    #[cbor(skip_if = "Vec::is_empty")]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<ProvenEvent>,
}

impl Canonical for ProvenanceBundle {
    const KIND: &'static str = "ProvenanceBundle";
}

/// Why bytes are not a bundle this crate can read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleFormatError {
    #[error("the bundle is {len} bytes; the limit is {limit}")]
    TooLarge { len: usize, limit: usize },
    #[error("the bundle is not valid bundle JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("the bundle is not valid canonical CBOR: {0}")]
    Cbor(#[from] CodecError),
    #[error(
        "bundle format version {found} is not supported (this verifier reads version {BUNDLE_VERSION}); upgrade the client"
    )]
    UnsupportedVersion { found: u32 },
    #[error("the bundle carries {count} {what}; the limit is {limit}")]
    TooMany {
        what: &'static str,
        count: usize,
        limit: usize,
    },
}

/// The first byte of every canonical CBOR bundle (a map); JSON starts with `{` or whitespace.
const CBOR_MAP_MAJOR: u8 = 0xa0;

impl ProvenanceBundle {
    /// The canonical CBOR form.
    pub fn to_cbor(&self) -> Vec<u8> {
        self.to_canonical_bytes()
    }

    /// The JSON form, pretty-printed for people.
    pub fn to_json(&self) -> String {
        // Every field serialises to JSON without error (no maps with non-string keys, no floats).
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Reads the CBOR form strictly (canonical, size-limited, known version, list limits).
    pub fn from_cbor(bytes: &[u8]) -> Result<Self, BundleFormatError> {
        let bundle: Self = codec::decode_canonical(bytes, MAX_BUNDLE_BYTES)?;
        bundle.check_format()?;
        Ok(bundle)
    }

    /// Reads the JSON form (size-limited, known version, list limits).
    pub fn from_json(bytes: &[u8]) -> Result<Self, BundleFormatError> {
        if bytes.len() > MAX_BUNDLE_BYTES {
            return Err(BundleFormatError::TooLarge {
                len: bytes.len(),
                limit: MAX_BUNDLE_BYTES,
            });
        }
        let bundle: Self = serde_json::from_slice(bytes)?;
        bundle.check_format()?;
        Ok(bundle)
    }

    /// Reads either form, telling them apart by the first byte.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, BundleFormatError> {
        match bytes.first() {
            Some(b) if b & 0xe0 == CBOR_MAP_MAJOR => Self::from_cbor(bytes),
            _ => Self::from_json(bytes),
        }
    }

    fn check_format(&self) -> Result<(), BundleFormatError> {
        if self.version != BUNDLE_VERSION {
            return Err(BundleFormatError::UnsupportedVersion {
                found: self.version,
            });
        }
        for (what, count, limit) in [
            ("events", self.events.len(), MAX_BUNDLE_EVENTS),
            ("hand-offs", self.handoffs.len(), MAX_BUNDLE_HANDOFFS),
            (
                "governance transactions",
                self.governance.len(),
                MAX_BUNDLE_GOVERNANCE,
            ),
        ] {
            if count > limit {
                return Err(BundleFormatError::TooMany { what, count, limit });
            }
        }
        if let Some(long) = self.events.iter().find(|e| e.path.0.len() > MAX_PROOF_PATH) {
            return Err(BundleFormatError::TooMany {
                what: "hashes in one inclusion path",
                count: long.path.0.len(),
                limit: MAX_PROOF_PATH,
            });
        }
        Ok(())
    }
}
