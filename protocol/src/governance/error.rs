//! Why a governance transaction is refused.

use crate::crypto::PublicKey;
use crate::ledger::LedgerError;

use super::{MAX_COMPANY_PREFIXES, MAX_GOVERNANCE_TX_BYTES, MAX_JSON_SAFE_INTEGER};

/// Why a governance transaction is not acceptable. Each variant names the part that is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GovernanceError {
    #[error("governance transaction is {size} bytes; the limit is {MAX_GOVERNANCE_TX_BYTES}")]
    TooLarge { size: usize },
    #[error("proposal is for chain {found:?}, this network is {expected:?}")]
    WrongChain { expected: String, found: String },
    #[error(
        "{field} is {value}; it must be at most {MAX_JSON_SAFE_INTEGER} (2^53 - 1) so every JSON reader sees it exactly"
    )]
    NumberTooLarge { field: &'static str, value: u64 },
    #[error("participant name {name:?} must be 1 to {limit} bytes and not blank")]
    BadName { name: String, limit: usize },
    #[error("participant {name:?} must hold at least one role, each at most once")]
    BadRoles { name: String },
    #[error("participant {name:?}: company prefix {prefix:?} must be 6 to 12 digits")]
    BadCompanyPrefix { name: String, prefix: String },
    #[error(
        "participant {name:?} lists {count} company prefixes; the limit is {MAX_COMPANY_PREFIXES}"
    )]
    TooManyPrefixes { name: String, count: usize },
    #[error(
        "company prefix {prefix:?} of {name:?} overlaps prefix {other_prefix:?} of {other:?}: prefixes must not be prefixes of one another"
    )]
    OverlappingPrefix {
        name: String,
        prefix: String,
        other: String,
        other_prefix: String,
    },
    #[error("rotation of {name:?} names no new key")]
    NothingToRotate { name: String },
    #[error("key {key} is already used (by {by:?}); every key may serve one purpose, once, ever")]
    KeyInUse { key: PublicKey, by: String },
    #[error("approvals must be sorted by validator key without duplicates; {key} is out of order")]
    ApprovalsNotSorted { key: PublicKey },
    #[error("validator {key} approved twice")]
    DuplicateApproval { key: PublicKey },
    #[error("approver {key} is not in the validator set that certifies the including block")]
    UnknownApprover { key: PublicKey },
    #[error("approval signature of validator {key} does not verify over this proposal")]
    BadApprovalSignature { key: PublicKey },
    #[error("approvals hold {approved} of {total} voting power; more than two thirds is required")]
    InsufficientPower { approved: u64, total: u64 },
    #[error("no validator set is known for height {height}")]
    NoValidatorSet { height: u64 },
    #[error("proposal expired at height {expires_at_height}; the including block is {height}")]
    Expired { expires_at_height: u64, height: u64 },
    #[error("governance nonce {nonce} was already used; sign the proposal again with a new nonce")]
    NonceUsed { nonce: u64 },
    #[error("participant {name:?} is already registered")]
    DuplicateName { name: String },
    #[error("participant {name:?} is not registered")]
    UnknownParticipant { name: String },
    #[error("participant {name:?} is removed from height {removed_at}")]
    ParticipantRemoved { name: String, removed_at: u64 },
    #[error("participant {name:?} does not hold the validator role")]
    NotAValidator { name: String },
    #[error("participant {name:?} is not in the validator set, so there is no power to remove")]
    NotInValidatorSet { name: String },
    #[error("the signing key of {name:?} is revoked from height {revoked_at}; rotate it first")]
    KeyRevoked { name: String, revoked_at: u64 },
    #[error("the resulting validator set is invalid: {0}")]
    ValidatorSet(#[from] LedgerError),
}

impl GovernanceError {
    /// Stable machine-readable code, used by the HTTP API.
    pub fn code(&self) -> &'static str {
        match self {
            GovernanceError::TooLarge { .. } => "governance_too_large",
            GovernanceError::WrongChain { .. } => "governance_wrong_chain",
            GovernanceError::NumberTooLarge { .. } => "governance_number_too_large",
            GovernanceError::BadName { .. } => "governance_bad_name",
            GovernanceError::BadRoles { .. } => "governance_bad_roles",
            GovernanceError::BadCompanyPrefix { .. } => "governance_bad_company_prefix",
            GovernanceError::TooManyPrefixes { .. } => "governance_too_many_prefixes",
            GovernanceError::OverlappingPrefix { .. } => "governance_overlapping_prefix",
            GovernanceError::NothingToRotate { .. } => "governance_nothing_to_rotate",
            GovernanceError::KeyInUse { .. } => "governance_key_in_use",
            GovernanceError::ApprovalsNotSorted { .. } => "governance_approvals_not_sorted",
            GovernanceError::DuplicateApproval { .. } => "governance_duplicate_approval",
            GovernanceError::UnknownApprover { .. } => "governance_unknown_approver",
            GovernanceError::BadApprovalSignature { .. } => "governance_bad_approval_signature",
            GovernanceError::InsufficientPower { .. } => "governance_insufficient_power",
            GovernanceError::NoValidatorSet { .. } => "governance_no_validator_set",
            GovernanceError::Expired { .. } => "governance_expired",
            GovernanceError::NonceUsed { .. } => "governance_nonce_used",
            GovernanceError::DuplicateName { .. } => "governance_duplicate_name",
            GovernanceError::UnknownParticipant { .. } => "governance_unknown_participant",
            GovernanceError::ParticipantRemoved { .. } => "governance_participant_removed",
            GovernanceError::NotAValidator { .. } => "governance_not_a_validator",
            GovernanceError::NotInValidatorSet { .. } => "governance_not_in_validator_set",
            GovernanceError::KeyRevoked { .. } => "governance_key_revoked",
            GovernanceError::ValidatorSet(_) => "governance_invalid_validator_set",
        }
    }
}
