//! Ledger types: validator sets, block headers, votes, finality certificates and blocks.
//!
//! A block is final when a [`FinalityCertificate`] carries precommit signatures for its header
//! hash from validators holding more than two thirds of the voting power of the set that
//! `validators_hash` names. The header commits to the RFC 6962 root of the *global* event log
//! after the block, so any event ever accepted can be proven against the newest header alone.

use std::collections::BTreeSet;

use minicbor::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec::{self, Canonical, HashDomain};
use crate::crypto::{self, PublicKey, Signature, SigningDomain, SigningKey};
use crate::evidence::Equivocation;
use crate::governance::GovernanceTx;
use crate::record::Digest32 as Hash;
use crate::record::SignedEvent;

/// Most validators a set may hold. Bounds certificate size and verification cost.
pub const MAX_VALIDATORS: usize = 256;

/// Most events in one block.
pub const MAX_BLOCK_EVENTS: usize = 10_000;

/// Largest canonical encoding of a [`BlockBody`] a valid block may have. Bounds what a proposer
/// can make every validator download, hash and store for one block.
pub const MAX_BLOCK_BYTES: usize = 16 * 1024 * 1024;

/// Most governance transactions in one block. Each may carry up to [`MAX_VALIDATORS`] approvals
/// to verify, so this bounds the signature work a block can demand.
pub const MAX_BLOCK_GOVERNANCE: usize = 64;

/// Most pieces of equivocation evidence in one block (two signatures each).
pub const MAX_BLOCK_EVIDENCE: usize = 256;

/// One validator: its signing key and voting power.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
pub struct Validator {
    #[n(0)]
    pub key: PublicKey,
    #[n(1)]
    pub power: u64,
}

/// A set of validators, sorted by key, with no duplicates and no zero power.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize)]
#[cbor(transparent)]
#[serde(transparent)]
pub struct ValidatorSet {
    #[n(0)]
    validators: Vec<Validator>,
}

impl Canonical for ValidatorSet {
    const KIND: &'static str = "ValidatorSet";
}

/// Why a validator set, vote or certificate is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    #[error("validator set is empty")]
    EmptyValidatorSet,
    #[error("validator set has {count} validators; the limit is {MAX_VALIDATORS}")]
    TooManyValidators { count: usize },
    #[error("validator {key} appears twice in the set")]
    DuplicateValidator { key: PublicKey },
    #[error("validator {key} has zero voting power")]
    ZeroPower { key: PublicKey },
    #[error("total voting power overflows")]
    PowerOverflow,
    #[error("certificate is for height {found}, header is at height {expected}")]
    CertificateHeightMismatch { expected: u64, found: u64 },
    #[error("certificate signs header hash {found}, header hash is {expected}")]
    CertificateHashMismatch { expected: String, found: String },
    #[error("certificate signer {key} is not in the validator set")]
    UnknownSigner { key: PublicKey },
    #[error("validator {key} signed the certificate twice")]
    DuplicateSigner { key: PublicKey },
    #[error("precommit signature of validator {key} does not verify")]
    BadCommitSignature { key: PublicKey },
    #[error("certificate holds {signed} of {total} voting power; more than two thirds is required")]
    InsufficientPower { signed: u64, total: u64 },
    #[error(
        "header's validators_hash {found} does not match the validator set {expected} that should sign it"
    )]
    ValidatorSetMismatch { expected: String, found: String },
    #[error("block body is {size} bytes in canonical form; the limit is {MAX_BLOCK_BYTES}")]
    BodyTooLarge { size: usize },
    #[error("block body holds {count} {what}; the limit is {limit}")]
    TooManyInBody {
        what: &'static str,
        count: usize,
        limit: usize,
    },
    #[error(
        "header {height} hands off to validator set {next_validators_hash} but its body carries no next_validators"
    )]
    NextValidatorsMissing {
        height: u64,
        next_validators_hash: String,
    },
    #[error("header {height} keeps its validator set, so its body must not carry next_validators")]
    NextValidatorsUnexpected { height: u64 },
    #[error(
        "body's next_validators hashes to {found}; header {height} names next_validators_hash {expected}"
    )]
    NextValidatorsMismatch {
        height: u64,
        expected: String,
        found: String,
    },
}

impl ValidatorSet {
    /// Builds a set, sorting by key and rejecting duplicates, zero power and oversized sets.
    pub fn new(mut validators: Vec<Validator>) -> Result<Self, LedgerError> {
        validators.sort_by_key(|v| v.key);
        let set = ValidatorSet { validators };
        set.check()?;
        Ok(set)
    }

    fn check(&self) -> Result<(), LedgerError> {
        if self.validators.is_empty() {
            return Err(LedgerError::EmptyValidatorSet);
        }
        if self.validators.len() > MAX_VALIDATORS {
            return Err(LedgerError::TooManyValidators {
                count: self.validators.len(),
            });
        }
        for pair in self.validators.windows(2) {
            if pair[0].key >= pair[1].key {
                return Err(LedgerError::DuplicateValidator { key: pair[1].key });
            }
        }
        if let Some(v) = self.validators.iter().find(|v| v.power == 0) {
            return Err(LedgerError::ZeroPower { key: v.key });
        }
        self.checked_total_power()?;
        Ok(())
    }

    fn checked_total_power(&self) -> Result<u64, LedgerError> {
        self.validators
            .iter()
            .try_fold(0u64, |acc, v| acc.checked_add(v.power))
            // Keep 3 * total representable so quorum arithmetic cannot overflow.
            .filter(|total| total.checked_mul(3).is_some())
            .ok_or(LedgerError::PowerOverflow)
    }

    /// The validators, sorted by key.
    pub fn validators(&self) -> &[Validator] {
        &self.validators
    }

    /// Sum of voting power (checked at construction not to overflow, even times three).
    pub fn total_power(&self) -> u64 {
        self.validators.iter().map(|v| v.power).sum()
    }

    /// The voting power of `key`, if it is a member.
    pub fn power_of(&self, key: &PublicKey) -> Option<u64> {
        self.validators
            .binary_search_by(|v| v.key.cmp(key))
            .ok()
            .map(|i| self.validators[i].power)
    }

    /// True when `power` is more than two thirds of the total.
    pub fn is_quorum(&self, power: u64) -> bool {
        // 3 * power > 2 * total, in u128 so no input can overflow.
        3 * u128::from(power) > 2 * u128::from(self.total_power())
    }

    /// `domain_hash(ValidatorSet, canonical bytes)`: what headers carry as `validators_hash`.
    pub fn hash(&self) -> Hash {
        codec::domain_hash(HashDomain::ValidatorSet, &self.to_canonical_bytes())
    }

    /// Round-robin proposer for `(height, round)`, weighted by nothing but order. Deterministic.
    pub fn proposer(&self, height: u64, round: u32) -> &Validator {
        let n = self.validators.len() as u64;
        let index = (height.wrapping_add(u64::from(round))) % n;
        &self.validators[index as usize]
    }
}

impl<'de> Deserialize<'de> for ValidatorSet {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let validators = Vec::<Validator>::deserialize(deserializer)?;
        ValidatorSet::new(validators).map_err(serde::de::Error::custom)
    }
}

/// The header of a block: everything a light client needs, nothing it does not.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
pub struct BlockHeader {
    #[n(0)]
    pub chain_id: String,
    /// Height 1 is the first block after genesis.
    #[n(1)]
    pub height: u64,
    /// Hash of the previous header; for height 1, the genesis hash.
    #[n(2)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(with = "crate::codec::hex32")]
    pub prev_hash: Hash,
    /// Proposer's clock, milliseconds since the Unix epoch; strictly increasing along the chain.
    #[n(3)]
    pub time_ms: u64,
    /// Signing key of the validator that proposed the block.
    #[n(4)]
    pub proposer: PublicKey,
    /// RFC 6962 root of the global event log after this block.
    #[n(5)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(with = "crate::codec::hex32")]
    pub log_root: Hash,
    /// Number of leaves in the global event log after this block.
    #[n(6)]
    pub log_size: u64,
    /// `domain_hash(BlockBody, canonical body)`.
    #[n(7)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(with = "crate::codec::hex32")]
    pub body_hash: Hash,
    /// Hash of the validator set that must certify this block.
    #[n(8)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(with = "crate::codec::hex32")]
    pub validators_hash: Hash,
    /// Hash of the validator set that certifies the next block (differs at hand-offs).
    #[n(9)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(with = "crate::codec::hex32")]
    pub next_validators_hash: Hash,
    /// Digest chain of application-state transitions up to and including this block.
    #[n(10)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(with = "crate::codec::hex32")]
    pub app_state_root: Hash,
}

impl Canonical for BlockHeader {
    const KIND: &'static str = "BlockHeader";
}

impl BlockHeader {
    /// `domain_hash(BlockHeader, canonical bytes)`: what votes and certificates sign.
    pub fn hash(&self) -> Hash {
        codec::domain_hash(HashDomain::BlockHeader, &self.to_canonical_bytes())
    }
}

/// The contents of a block, applied in field order: events, then governance transactions, then
/// evidence.
///
/// Lists that are empty and an absent `next_validators` are omitted from the encoding, so a body
/// with only events has the same bytes (and hash) as before governance existed.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Default)]
#[cbor(map)]
pub struct BlockBody {
    /// Events in log order: leaf `prev.log_size + i` is `events[i]`.
    #[n(0)]
    #[cbor(skip_if = "Vec::is_empty")]
    pub events: Vec<SignedEvent>,
    /// Governance transactions, applied after the events, in order.
    #[n(1)]
    #[cbor(skip_if = "Vec::is_empty")]
    pub governance: Vec<GovernanceTx>,
    /// Equivocation evidence, recorded after the governance transactions, in order.
    #[n(2)]
    #[cbor(skip_if = "Vec::is_empty")]
    pub evidence: Vec<Equivocation>,
    /// The set that certifies the next block, present exactly when the header's
    /// `next_validators_hash` differs from its `validators_hash`: a light client learns every
    /// hand-off from the one block that announces it (see [`next_validator_set`]).
    #[n(3)]
    pub next_validators: Option<ValidatorSet>,
}

impl Canonical for BlockBody {
    const KIND: &'static str = "BlockBody";
}

impl BlockBody {
    /// `domain_hash(BlockBody, canonical bytes)`.
    pub fn hash(&self) -> Hash {
        codec::domain_hash(HashDomain::BlockBody, &self.to_canonical_bytes())
    }

    /// Checks the size limits every valid block respects: [`MAX_BLOCK_BYTES`] of canonical
    /// encoding, [`MAX_BLOCK_EVENTS`], [`MAX_BLOCK_GOVERNANCE`] and [`MAX_BLOCK_EVIDENCE`].
    pub fn check_limits(&self) -> Result<(), LedgerError> {
        for (what, count, limit) in [
            ("events", self.events.len(), MAX_BLOCK_EVENTS),
            (
                "governance transactions",
                self.governance.len(),
                MAX_BLOCK_GOVERNANCE,
            ),
            (
                "pieces of evidence",
                self.evidence.len(),
                MAX_BLOCK_EVIDENCE,
            ),
        ] {
            if count > limit {
                return Err(LedgerError::TooManyInBody { what, count, limit });
            }
        }
        // Encoding is linear in the body, and the counts above already bound it.
        let size = self.to_canonical_bytes().len();
        if size > MAX_BLOCK_BYTES {
            return Err(LedgerError::BodyTooLarge { size });
        }
        Ok(())
    }
}

/// The validator set that certifies block `header.height + 1`, given `current`, the set that
/// certifies `header` (already checked against `header.validators_hash`), and the header's body.
///
/// This is the light client's hand-off rule: when `next_validators_hash` equals
/// `validators_hash` the set stays; otherwise the body must carry `next_validators` hashing to
/// `next_validators_hash`, and that set is trusted from the next height on. Block producers must
/// fill `next_validators` exactly when the hashes differ; validators check it with this function.
pub fn next_validator_set(
    current: &ValidatorSet,
    header: &BlockHeader,
    body: &BlockBody,
) -> Result<ValidatorSet, LedgerError> {
    let current_hash = current.hash();
    if current_hash != header.validators_hash {
        return Err(LedgerError::ValidatorSetMismatch {
            expected: hex::encode(current_hash),
            found: hex::encode(header.validators_hash),
        });
    }
    let hands_off = header.next_validators_hash != header.validators_hash;
    match (&body.next_validators, hands_off) {
        (None, false) => Ok(current.clone()),
        (Some(_), false) => Err(LedgerError::NextValidatorsUnexpected {
            height: header.height,
        }),
        (None, true) => Err(LedgerError::NextValidatorsMissing {
            height: header.height,
            next_validators_hash: hex::encode(header.next_validators_hash),
        }),
        (Some(next), true) => {
            let found = next.hash();
            if found != header.next_validators_hash {
                return Err(LedgerError::NextValidatorsMismatch {
                    height: header.height,
                    expected: hex::encode(header.next_validators_hash),
                    found: hex::encode(found),
                });
            }
            Ok(next.clone())
        }
    }
}

/// A header with its body.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(map)]
pub struct Block {
    #[n(0)]
    pub header: BlockHeader,
    #[n(1)]
    pub body: BlockBody,
}

impl Canonical for Block {
    const KIND: &'static str = "Block";
}

/// Signs the canonical bytes of `value` in `domain` for `chain_id`: the one way consensus
/// messages are signed.
fn sign_canonical<T: Canonical>(
    value: &T,
    domain: SigningDomain,
    key: &SigningKey,
    chain_id: &str,
) -> Signature {
    crypto::sign(key, domain, chain_id, &value.to_canonical_bytes())
}

/// Strictly verifies a signature made by [`sign_canonical`].
fn verify_canonical<T: Canonical>(
    value: &T,
    domain: SigningDomain,
    key: &PublicKey,
    chain_id: &str,
    signature: &Signature,
) -> Result<(), crypto::SignatureError> {
    crypto::verify(
        key,
        domain,
        chain_id,
        &value.to_canonical_bytes(),
        signature,
    )
}

/// The two voting steps of the BFT protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Encode, Decode, Serialize, Deserialize)]
#[cbor(index_only)]
#[serde(rename_all = "snake_case")]
pub enum VoteKind {
    #[n(1)]
    Prevote,
    #[n(2)]
    Precommit,
}

impl VoteKind {
    fn signing_domain(self) -> SigningDomain {
        match self {
            VoteKind::Prevote => SigningDomain::Prevote,
            VoteKind::Precommit => SigningDomain::Precommit,
        }
    }
}

/// What a validator signs when it votes. `block_hash = None` is a vote for nil.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct VotePayload {
    #[n(0)]
    pub kind: VoteKind,
    #[n(1)]
    pub height: u64,
    #[n(2)]
    pub round: u32,
    #[n(3)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(default, with = "hex32_opt")]
    pub block_hash: Option<Hash>,
}

/// Serde helper: an optional 32-byte digest as 64 lowercase hex digits or `null`.
mod hex32_opt {
    use serde::{Deserialize, Deserializer, Serializer};

    use super::Hash;

    pub fn serialize<S: Serializer>(hash: &Option<Hash>, serializer: S) -> Result<S::Ok, S::Error> {
        match hash {
            Some(bytes) => crate::codec::hex32::serialize(bytes, serializer),
            None => serializer.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<Hash>, D::Error> {
        #[derive(Deserialize)]
        #[serde(transparent)]
        struct Hex(#[serde(with = "crate::codec::hex32")] Hash);
        Ok(Option::<Hex>::deserialize(deserializer)?.map(|h| h.0))
    }
}

impl Canonical for VotePayload {
    const KIND: &'static str = "VotePayload";
}

impl VotePayload {
    /// Signs this payload for `chain_id`.
    pub fn sign(&self, key: &SigningKey, chain_id: &str) -> Signature {
        sign_canonical(self, self.kind.signing_domain(), key, chain_id)
    }

    /// Strictly verifies `signature` by `key` over this payload.
    pub fn verify(
        &self,
        key: &PublicKey,
        chain_id: &str,
        signature: &Signature,
    ) -> Result<(), crypto::SignatureError> {
        verify_canonical(self, self.kind.signing_domain(), key, chain_id, signature)
    }
}

/// What a proposer signs: "at `height`/`round` I propose `block_hash`", with the round of the
/// proof-of-lock (`pol_round`, Tendermint's `validRound`) when re-proposing a value that already
/// gathered a prevote quorum. Signed in domain [`SigningDomain::Proposal`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
#[serde(deny_unknown_fields)]
pub struct ProposalPayload {
    #[n(0)]
    pub height: u64,
    #[n(1)]
    pub round: u32,
    #[n(2)]
    #[serde(default)]
    pub pol_round: Option<u32>,
    #[n(3)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(with = "crate::codec::hex32")]
    pub block_hash: Hash,
}

impl Canonical for ProposalPayload {
    const KIND: &'static str = "ProposalPayload";
}

impl ProposalPayload {
    /// Signs this payload for `chain_id`.
    pub fn sign(&self, key: &SigningKey, chain_id: &str) -> Signature {
        sign_canonical(self, SigningDomain::Proposal, key, chain_id)
    }

    /// Strictly verifies `signature` by `key` over this payload.
    pub fn verify(
        &self,
        key: &PublicKey,
        chain_id: &str,
        signature: &Signature,
    ) -> Result<(), crypto::SignatureError> {
        verify_canonical(self, SigningDomain::Proposal, key, chain_id, signature)
    }
}

/// One validator's precommit signature inside a certificate.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
pub struct CommitSignature {
    #[n(0)]
    pub validator: PublicKey,
    #[n(1)]
    pub signature: Signature,
}

/// Proof that a header is final: precommits for its hash from > 2/3 of the voting power.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[cbor(map)]
pub struct FinalityCertificate {
    #[n(0)]
    pub height: u64,
    #[n(1)]
    pub round: u32,
    #[n(2)]
    #[cbor(with = "minicbor::bytes")]
    #[serde(with = "crate::codec::hex32")]
    pub header_hash: Hash,
    #[n(3)]
    pub signatures: Vec<CommitSignature>,
}

impl Canonical for FinalityCertificate {
    const KIND: &'static str = "FinalityCertificate";
}

impl FinalityCertificate {
    /// Builds a certificate from precommits gathered for `header` in `round`.
    pub fn from_precommits(
        header: &BlockHeader,
        round: u32,
        signatures: Vec<CommitSignature>,
    ) -> Self {
        let mut signatures = signatures;
        signatures.sort_by_key(|s| s.validator);
        FinalityCertificate {
            height: header.height,
            round,
            header_hash: header.hash(),
            signatures,
        }
    }

    /// The payload every signature in this certificate covers.
    pub fn precommit_payload(&self) -> VotePayload {
        VotePayload {
            kind: VoteKind::Precommit,
            height: self.height,
            round: self.round,
            block_hash: Some(self.header_hash),
        }
    }

    /// Verifies that this certificate finalises `header` under `validators`: the set matches the
    /// header's `validators_hash`, every signer is a distinct member, every signature verifies
    /// strictly, and the signers hold more than two thirds of the power.
    pub fn verify(
        &self,
        header: &BlockHeader,
        validators: &ValidatorSet,
    ) -> Result<(), LedgerError> {
        if self.height != header.height {
            return Err(LedgerError::CertificateHeightMismatch {
                expected: header.height,
                found: self.height,
            });
        }
        let header_hash = header.hash();
        if self.header_hash != header_hash {
            return Err(LedgerError::CertificateHashMismatch {
                expected: hex::encode(header_hash),
                found: hex::encode(self.header_hash),
            });
        }
        let set_hash = validators.hash();
        if set_hash != header.validators_hash {
            return Err(LedgerError::ValidatorSetMismatch {
                expected: hex::encode(set_hash),
                found: hex::encode(header.validators_hash),
            });
        }
        let payload = self.precommit_payload().to_canonical_bytes();
        let mut seen = BTreeSet::new();
        let mut signed: u64 = 0;
        for commit in &self.signatures {
            let power =
                validators
                    .power_of(&commit.validator)
                    .ok_or(LedgerError::UnknownSigner {
                        key: commit.validator,
                    })?;
            if !seen.insert(commit.validator) {
                return Err(LedgerError::DuplicateSigner {
                    key: commit.validator,
                });
            }
            crypto::verify(
                &commit.validator,
                SigningDomain::Precommit,
                &header.chain_id,
                &payload,
                &commit.signature,
            )
            .map_err(|_| LedgerError::BadCommitSignature {
                key: commit.validator,
            })?;
            signed = signed.saturating_add(power);
        }
        if !validators.is_quorum(signed) {
            return Err(LedgerError::InsufficientPower {
                signed,
                total: validators.total_power(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(seed: u8) -> SigningKey {
        SigningKey::from_seed([seed; 32])
    }

    fn set_of(keys: &[&SigningKey]) -> ValidatorSet {
        ValidatorSet::new(
            keys.iter()
                .map(|k| Validator {
                    key: k.public_key(),
                    power: 10,
                })
                .collect(),
        )
        .unwrap()
    }

    fn header(validators: &ValidatorSet) -> BlockHeader {
        BlockHeader {
            chain_id: "test-chain".into(),
            height: 7,
            prev_hash: [1; 32],
            time_ms: 1_700_000_000_000,
            proposer: validators.validators()[0].key,
            log_root: [2; 32],
            log_size: 42,
            body_hash: BlockBody::default().hash(),
            validators_hash: validators.hash(),
            next_validators_hash: validators.hash(),
            app_state_root: [3; 32],
        }
    }

    fn certify(header: &BlockHeader, signers: &[&SigningKey]) -> FinalityCertificate {
        let unsigned = FinalityCertificate::from_precommits(header, 0, vec![]);
        let payload = unsigned.precommit_payload();
        let sigs = signers
            .iter()
            .map(|k| CommitSignature {
                validator: k.public_key(),
                signature: payload.sign(k, &header.chain_id),
            })
            .collect();
        FinalityCertificate::from_precommits(header, 0, sigs)
    }

    #[test]
    fn quorum_is_strictly_more_than_two_thirds() {
        let (a, b, c, d) = (key(1), key(2), key(3), key(4));
        let set = set_of(&[&a, &b, &c, &d]);
        assert!(!set.is_quorum(20));
        assert!(set.is_quorum(30));
        let h = header(&set);
        assert!(certify(&h, &[&a, &b, &c]).verify(&h, &set).is_ok());
        assert_eq!(
            certify(&h, &[&a, &b]).verify(&h, &set),
            Err(LedgerError::InsufficientPower {
                signed: 20,
                total: 40
            })
        );
        // Three of three-validators-with-equal-power is a quorum; two of three is 2/3 exactly: not.
        let set3 = set_of(&[&a, &b, &c]);
        assert!(!set3.is_quorum(20));
    }

    #[test]
    fn certificate_rejects_duplicates_strangers_and_wrong_header() {
        let (a, b, c, d, e) = (key(1), key(2), key(3), key(4), key(5));
        let set = set_of(&[&a, &b, &c, &d]);
        let h = header(&set);
        let mut dup = certify(&h, &[&a, &b]);
        dup.signatures.push(dup.signatures[0].clone());
        assert!(matches!(
            dup.verify(&h, &set),
            Err(LedgerError::DuplicateSigner { .. })
        ));
        assert!(matches!(
            certify(&h, &[&a, &b, &e]).verify(&h, &set),
            Err(LedgerError::UnknownSigner { .. })
        ));
        let mut other = h.clone();
        other.log_size += 1;
        assert!(matches!(
            certify(&h, &[&a, &b, &c]).verify(&other, &set),
            Err(LedgerError::CertificateHashMismatch { .. })
        ));
        let mut forged = certify(&h, &[&a, &b, &c]);
        forged.signatures[1].signature = forged.signatures[0].signature;
        assert!(matches!(
            forged.verify(&h, &set),
            Err(LedgerError::BadCommitSignature { .. })
        ));
        let other_set = set_of(&[&a, &b, &c, &e]);
        assert!(matches!(
            certify(&h, &[&a, &b, &c]).verify(&h, &other_set),
            Err(LedgerError::ValidatorSetMismatch { .. })
        ));
    }

    #[test]
    fn prevote_signature_is_not_a_precommit() {
        let a = key(1);
        let set = set_of(&[&a]);
        let h = header(&set);
        let prevote = VotePayload {
            kind: VoteKind::Prevote,
            height: h.height,
            round: 0,
            block_hash: Some(h.hash()),
        };
        let cert = FinalityCertificate::from_precommits(
            &h,
            0,
            vec![CommitSignature {
                validator: a.public_key(),
                signature: prevote.sign(&a, &h.chain_id),
            }],
        );
        assert!(matches!(
            cert.verify(&h, &set),
            Err(LedgerError::BadCommitSignature { .. })
        ));
    }

    #[test]
    fn validator_set_rejects_duplicates_and_zero_power() {
        let a = key(1);
        let dup = vec![
            Validator {
                key: a.public_key(),
                power: 1,
            },
            Validator {
                key: a.public_key(),
                power: 2,
            },
        ];
        assert!(matches!(
            ValidatorSet::new(dup),
            Err(LedgerError::DuplicateValidator { .. })
        ));
        let zero = vec![Validator {
            key: a.public_key(),
            power: 0,
        }];
        assert!(matches!(
            ValidatorSet::new(zero),
            Err(LedgerError::ZeroPower { .. })
        ));
        let huge = vec![
            Validator {
                key: a.public_key(),
                power: u64::MAX / 2,
            },
            Validator {
                key: key(2).public_key(),
                power: u64::MAX / 2,
            },
        ];
        assert!(matches!(
            ValidatorSet::new(huge),
            Err(LedgerError::PowerOverflow)
        ));
    }

    fn governed_body() -> BlockBody {
        use crate::evidence::SignedVote;
        use crate::governance::{GovernanceAction, GovernanceProposal};
        let (a, b) = (key(1), key(2));
        let proposal = GovernanceProposal {
            chain_id: "test-chain".into(),
            action: GovernanceAction::RevokeKey { name: "B".into() },
            nonce: 1,
            expires_at_height: 9,
        };
        let vote = |hash: u8| {
            SignedVote::sign(
                VotePayload {
                    kind: VoteKind::Prevote,
                    height: 3,
                    round: 0,
                    block_hash: Some([hash; 32]),
                },
                &b,
                "test-chain",
            )
        };
        BlockBody {
            events: vec![],
            governance: vec![GovernanceTx::new(
                proposal.clone(),
                vec![proposal.approve(&a)],
            )],
            evidence: vec![Equivocation::votes(vote(1), vote(2))],
            next_validators: Some(set_of(&[&a])),
        }
    }

    #[test]
    fn empty_body_parts_are_omitted_and_explicit_empties_refused() {
        // An empty body is the empty map, as before governance existed.
        assert_eq!(BlockBody::default().to_canonical_bytes(), vec![0xa0]);
        // {1: []} decodes to the default body but is not its canonical encoding.
        assert!(matches!(
            BlockBody::from_canonical_bytes(&[0xa1, 0x01, 0x80], 16),
            Err(codec::CodecError::NotCanonical { .. })
        ));
        let body = governed_body();
        let bytes = body.to_canonical_bytes();
        assert_eq!(
            BlockBody::from_canonical_bytes(&bytes, MAX_BLOCK_BYTES).unwrap(),
            body
        );
        body.check_limits().unwrap();
    }

    #[test]
    fn body_limits_are_enforced_at_the_boundary() {
        let mut body = governed_body();
        body.evidence = vec![body.evidence[0].clone(); MAX_BLOCK_EVIDENCE];
        body.governance = vec![body.governance[0].clone(); MAX_BLOCK_GOVERNANCE];
        body.check_limits().unwrap();
        body.evidence.push(body.evidence[0].clone());
        assert_eq!(
            body.check_limits(),
            Err(LedgerError::TooManyInBody {
                what: "pieces of evidence",
                count: MAX_BLOCK_EVIDENCE + 1,
                limit: MAX_BLOCK_EVIDENCE
            })
        );
        body.evidence.pop();
        body.governance.push(body.governance[0].clone());
        assert!(matches!(
            body.check_limits(),
            Err(LedgerError::TooManyInBody {
                what: "governance transactions",
                ..
            })
        ));
        // Bytes: grow one proposal's text to land exactly on, then one past, the limit.
        let mut body = governed_body();
        let base = body.to_canonical_bytes().len();
        let grow = |body: &mut BlockBody, extra: usize| {
            body.governance[0].proposal.chain_id = "x".repeat(extra);
        };
        // "test-chain" (10 bytes, 1-byte header) becomes a text with a 5-byte header.
        let fill = MAX_BLOCK_BYTES - (base - 11) - 5;
        grow(&mut body, fill);
        assert_eq!(body.to_canonical_bytes().len(), MAX_BLOCK_BYTES);
        body.check_limits().unwrap();
        grow(&mut body, fill + 1);
        assert_eq!(
            body.check_limits(),
            Err(LedgerError::BodyTooLarge {
                size: MAX_BLOCK_BYTES + 1
            })
        );
    }

    #[test]
    fn hand_offs_carry_the_next_set_in_the_body() {
        let (a, b) = (key(1), key(2));
        let current = set_of(&[&a]);
        let next = set_of(&[&a, &b]);
        let mut h = header(&current);
        let mut body = BlockBody::default();
        assert_eq!(next_validator_set(&current, &h, &body), Ok(current.clone()));
        body.next_validators = Some(next.clone());
        assert!(matches!(
            next_validator_set(&current, &h, &body),
            Err(LedgerError::NextValidatorsUnexpected { height: 7 })
        ));
        h.next_validators_hash = next.hash();
        assert_eq!(next_validator_set(&current, &h, &body), Ok(next.clone()));
        body.next_validators = None;
        assert!(matches!(
            next_validator_set(&current, &h, &body),
            Err(LedgerError::NextValidatorsMissing { .. })
        ));
        body.next_validators = Some(set_of(&[&b]));
        assert!(matches!(
            next_validator_set(&current, &h, &body),
            Err(LedgerError::NextValidatorsMismatch { .. })
        ));
        assert!(matches!(
            next_validator_set(&next, &h, &body),
            Err(LedgerError::ValidatorSetMismatch { .. })
        ));
    }

    #[test]
    fn signed_messages_round_trip_through_json() {
        let vote = VotePayload {
            kind: VoteKind::Precommit,
            height: 3,
            round: 1,
            block_hash: None,
        };
        let json = serde_json::to_string(&vote).unwrap();
        assert_eq!(serde_json::from_str::<VotePayload>(&json).unwrap(), vote);
        let with_hash = VotePayload {
            block_hash: Some([7; 32]),
            ..vote
        };
        let json = serde_json::to_value(&with_hash).unwrap();
        assert_eq!(json["block_hash"], hex::encode([7; 32]));
        assert_eq!(
            serde_json::from_value::<VotePayload>(json).unwrap(),
            with_hash
        );
        let proposal = ProposalPayload {
            height: 3,
            round: 1,
            pol_round: Some(0),
            block_hash: [9; 32],
        };
        let json = serde_json::to_string(&proposal).unwrap();
        assert_eq!(
            serde_json::from_str::<ProposalPayload>(&json).unwrap(),
            proposal
        );
    }

    #[test]
    fn header_round_trips_canonically() {
        let set = set_of(&[&key(1)]);
        let h = header(&set);
        let bytes = h.to_canonical_bytes();
        assert_eq!(BlockHeader::from_canonical_bytes(&bytes, 4096).unwrap(), h);
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(serde_json::from_str::<BlockHeader>(&json).unwrap(), h);
    }
}
