//! The evidence rule: may this equivocation be committed in the block at `ctx.height`?

use crate::evidence::{Equivocation, EvidenceError};

use super::RuleContext;
use super::state::{LedgerView, StateChange};

/// Checks `evidence` for inclusion in the block `ctx.height` of chain `chain_id` and returns the
/// state change recording it. The offence must lie at an earlier height, the signer must be in
/// the validator set that certified that height, and the offence must not be recorded yet.
pub fn check_evidence<V: LedgerView + ?Sized>(
    view: &V,
    evidence: &Equivocation,
    chain_id: &str,
    ctx: &RuleContext,
) -> Result<Vec<StateChange>, EvidenceError> {
    let offence = evidence.offence();
    if offence.height >= ctx.height {
        return Err(EvidenceError::NotInThePast {
            height: offence.height,
            including: ctx.height,
        });
    }
    let validators =
        view.validator_set_at(offence.height)
            .ok_or(EvidenceError::NoValidatorSet {
                height: offence.height,
            })?;
    evidence.verify(chain_id, &validators)?;
    if view.evidence_recorded(&offence) {
        return Err(EvidenceError::AlreadyRecorded { offence });
    }
    Ok(vec![StateChange::Evidence { offence }])
}
