//! Ledger rules: may this signed, well-formed event be appended to the ledger, and what does it
//! change?
//!
//! Pure functions over a read-only [`LedgerView`]; the node, the block builder and the consumer's
//! offline verifier all call the same [`check_event`], so they cannot disagree. Every rejection
//! is a distinct [`RuleViolation`] variant with the data a person needs to act on it.
//!
//! ## Custody model
//!
//! * Instance-level identifiers (EPCs) are tracked; class-level quantities are checked only for
//!   who may commission them (their company prefix).
//! * Custody is held by a participant (by name, so key rotation keeps it). Commissioning
//!   (ObjectEvent `ADD`) gives custody to the prefix owner; shipping (`bizStep` shipping) marks an
//!   identifier in transit to the participant named by the event's destination; receiving
//!   (receiving or accepting) by that participant transfers custody.
//! * An aggregated child travels with its container: the custody of a child is the custody of its
//!   outermost container, and it cannot be shipped or received on its own until disaggregated.
//! * Recalls (disposition `recalled`) may be recorded by the participant that commissioned the
//!   identifier or by a certifier, whoever holds it, even after retail sale.
//! * Certifications (`certificationInfo`) may be recorded only by certifiers.

mod evidence;
mod facts;
mod governance;
mod identity;
mod registry;
mod state;

pub use evidence::check_evidence;
pub use facts::{CustodyStep, EventFacts};
pub use governance::{check_governance, effective_height};
pub use identity::{Identity, resolve_identifier};
pub use registry::{KeyPurpose, KeyRecord, ParticipantEntry, genesis_changes};
pub use state::{
    EpcKey, EpcState, EpcStatus, LedgerView, MemoryState, Overlay, ParticipantRecord,
    PendingChanges, StateChange,
};

use crate::crypto::PublicKey;
use crate::epcis::{Action, EventType};
use crate::event_hash::EventHashId;
use crate::genesis::Role;
use crate::record::VerifiedEvent;

/// `H(AppState, previous || SHA-256(JCS(changes)))`, where `changes` is the JSON array of the
/// block's [`StateChange`]s: a digest chain of every state transition, so two nodes whose states
/// diverge also diverge in their headers' `app_state_root`.
pub fn next_app_state_root(previous: &[u8; 32], changes: &[StateChange]) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    // Serialising these plain data types to JSON cannot fail; an empty string would only be
    // hashed if it did, and every node would do the same.
    let json = serde_json::to_value(changes)
        .ok()
        .and_then(|v| crate::codec::canonical_json(&v).ok())
        .unwrap_or_default();
    let mut data = Vec::with_capacity(64);
    data.extend_from_slice(previous);
    data.extend_from_slice(&Sha256::digest(json.as_bytes()));
    crate::codec::domain_hash(crate::codec::HashDomain::AppState, &data)
}

/// Deepest container nesting the rules follow (item in case in pallet in container ...).
pub const MAX_AGGREGATION_DEPTH: usize = 16;

/// Where and when an event is being applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleContext {
    /// Height of the block that will include the event.
    pub height: u64,
    /// That block's time, milliseconds since the Unix epoch.
    pub block_time_ms: u64,
    /// How far `eventTime` may lie beyond `block_time_ms`.
    pub max_clock_skew_ms: u64,
}

/// Why an event may not be appended. Each variant is one rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RuleViolation {
    #[error("signer {signer} is not a registered participant")]
    UnknownSigner { signer: PublicKey },
    #[error("the key of {participant} was revoked at height {revoked_at}")]
    SignerRevoked {
        participant: String,
        revoked_at: u64,
    },
    #[error("the key of {participant} only signs from height {valid_from}")]
    SignerNotYetValid {
        participant: String,
        valid_from: u64,
    },
    #[error(
        "sequence {found} of {participant} was already used (last accepted is {last}); the event is a replay"
    )]
    SequenceReplayed {
        participant: String,
        last: u64,
        found: u64,
    },
    #[error("sequence {found} of {participant} skips ahead; the next expected is {expected}")]
    SequenceGap {
        participant: String,
        expected: u64,
        found: u64,
    },
    #[error("event {id} is already in the ledger")]
    DuplicateEvent { id: EventHashId },
    #[error(
        "eventTime is {event_time_ms} ms, more than the allowed clock skew beyond the block time {block_time_ms} ms; the event is held back until then"
    )]
    FromTheFuture {
        event_time_ms: i64,
        block_time_ms: u64,
    },
    #[error("{participant} lacks the {role} role needed to {action}")]
    RoleRequired {
        participant: String,
        role: Role,
        action: &'static str,
    },
    #[error(
        "{participant} may not commission {epc}: its company prefix belongs to {}",
        owner.as_deref().unwrap_or("no registered participant")
    )]
    NotPrefixOwner {
        participant: String,
        epc: String,
        owner: Option<String>,
    },
    #[error("{epc} is not a GS1 identifier with a company prefix, so nobody can commission it")]
    NotCommissionable { epc: String },
    #[error("identifier {epc:?} is malformed: {reason}")]
    BadIdentifier { epc: String, reason: String },
    #[error("{epc} was already commissioned")]
    AlreadyCommissioned { epc: String },
    #[error("{epc} has not been commissioned")]
    NotCommissioned { epc: String },
    #[error("{epc} is {status:?}; nothing may happen to it any more")]
    NoLongerActive { epc: String, status: EpcStatus },
    #[error("{participant} does not hold {epc}; its custodian is {}", custodian.as_deref().unwrap_or("nobody"))]
    NotCustodian {
        participant: String,
        epc: String,
        custodian: Option<String>,
    },
    #[error("{epc} is in transit to {to}; it must be received first")]
    InTransit { epc: String, to: String },
    #[error("{epc} was not shipped, so it cannot be received")]
    NotInTransit { epc: String },
    #[error("{epc} was shipped to {to}, not to {participant}")]
    NotAddressee {
        participant: String,
        epc: String,
        to: String,
    },
    #[error(
        "a shipment must name a registered participant as destination (destinationList possessing_party, owning_party or location)"
    )]
    ShipmentWithoutDestination,
    #[error("{epc} is aggregated inside {parent}; disaggregate it first")]
    InsideParent { epc: String, parent: String },
    #[error("{child} is already aggregated inside {parent}")]
    AlreadyAggregated { child: String, parent: String },
    #[error("{child} is not aggregated inside {parent}")]
    NotAChild { child: String, parent: String },
    #[error("aggregating {child} into {parent} would put a container inside itself")]
    AggregationCycle { child: String, parent: String },
    #[error("{epc} still contains {count} aggregated items; disaggregate them first")]
    ContainerNotEmpty { epc: String, count: usize },
    #[error("{event_type} with action {action:?} must name a parentID")]
    MissingParent {
        event_type: EventType,
        action: Option<Action>,
    },
    #[error("containers nest deeper than {MAX_AGGREGATION_DEPTH} levels at {epc}")]
    AggregationTooDeep { epc: String },
    #[error(
        "{participant} may not recall {epc}: only the participant that commissioned it or a certifier may"
    )]
    RecallNotAllowed { participant: String, epc: String },
    #[error("error declaration refers to event {id}, which is not in the ledger")]
    ErrorTargetMissing { id: EventHashId },
    #[error("only the participant that signed event {id} may declare it erroneous")]
    ErrorByOtherSigner { id: EventHashId },
    #[error("event {id} was already declared erroneous")]
    ErrorAlreadyDeclared { id: EventHashId },
}

impl RuleViolation {
    /// Transient violations may succeed later without any change by the submitter (the event is
    /// held, not rejected, and the peer that relayed it is not punished).
    pub fn is_transient(&self) -> bool {
        matches!(self, RuleViolation::FromTheFuture { .. })
    }

    /// Stable machine-readable code, used by the HTTP API.
    pub fn code(&self) -> &'static str {
        match self {
            RuleViolation::UnknownSigner { .. } => "unknown_signer",
            RuleViolation::SignerRevoked { .. } => "signer_revoked",
            RuleViolation::SignerNotYetValid { .. } => "signer_not_yet_valid",
            RuleViolation::SequenceReplayed { .. } => "sequence_replayed",
            RuleViolation::SequenceGap { .. } => "sequence_gap",
            RuleViolation::DuplicateEvent { .. } => "duplicate_event",
            RuleViolation::FromTheFuture { .. } => "event_from_the_future",
            RuleViolation::RoleRequired { .. } => "role_required",
            RuleViolation::NotPrefixOwner { .. } => "not_prefix_owner",
            RuleViolation::NotCommissionable { .. } => "not_commissionable",
            RuleViolation::BadIdentifier { .. } => "bad_identifier",
            RuleViolation::AlreadyCommissioned { .. } => "already_commissioned",
            RuleViolation::NotCommissioned { .. } => "not_commissioned",
            RuleViolation::NoLongerActive { .. } => "no_longer_active",
            RuleViolation::NotCustodian { .. } => "not_custodian",
            RuleViolation::InTransit { .. } => "in_transit",
            RuleViolation::NotInTransit { .. } => "not_in_transit",
            RuleViolation::NotAddressee { .. } => "not_addressee",
            RuleViolation::ShipmentWithoutDestination => "shipment_without_destination",
            RuleViolation::InsideParent { .. } => "inside_parent",
            RuleViolation::AlreadyAggregated { .. } => "already_aggregated",
            RuleViolation::NotAChild { .. } => "not_a_child",
            RuleViolation::AggregationCycle { .. } => "aggregation_cycle",
            RuleViolation::ContainerNotEmpty { .. } => "container_not_empty",
            RuleViolation::MissingParent { .. } => "missing_parent",
            RuleViolation::AggregationTooDeep { .. } => "aggregation_too_deep",
            RuleViolation::RecallNotAllowed { .. } => "recall_not_allowed",
            RuleViolation::ErrorTargetMissing { .. } => "error_target_missing",
            RuleViolation::ErrorByOtherSigner { .. } => "error_by_other_signer",
            RuleViolation::ErrorAlreadyDeclared { .. } => "error_already_declared",
        }
    }
}

/// Checks `event` against `view` and returns the state changes it makes, or the first rule it
/// breaks. The signature, hashes and EPCIS validity were checked by
/// [`crate::record::SignedEvent::verify`] before this is called.
pub fn check_event<V: LedgerView + ?Sized>(
    view: &V,
    event: &VerifiedEvent,
    ctx: &RuleContext,
) -> Result<Vec<StateChange>, RuleViolation> {
    let record = &event.record;
    let signer = view
        .participant_by_key(&record.signer)
        .ok_or(RuleViolation::UnknownSigner {
            signer: record.signer,
        })?;
    if let Some(revoked_at) = signer.revoked_at.filter(|h| ctx.height >= *h) {
        return Err(RuleViolation::SignerRevoked {
            participant: signer.name,
            revoked_at,
        });
    }
    if ctx.height < signer.valid_from {
        return Err(RuleViolation::SignerNotYetValid {
            participant: signer.name,
            valid_from: signer.valid_from,
        });
    }
    let last = view.last_sequence(&record.signer);
    if record.sequence <= last {
        return Err(RuleViolation::SequenceReplayed {
            participant: signer.name,
            last,
            found: record.sequence,
        });
    }
    if record.sequence != last + 1 {
        return Err(RuleViolation::SequenceGap {
            participant: signer.name,
            expected: last + 1,
            found: record.sequence,
        });
    }
    let facts = EventFacts::extract(&event.event)?;
    let limit = i128::from(ctx.block_time_ms) + i128::from(ctx.max_clock_skew_ms);
    if i128::from(facts.event_time_ms) > limit {
        return Err(RuleViolation::FromTheFuture {
            event_time_ms: facts.event_time_ms,
            block_time_ms: ctx.block_time_ms,
        });
    }
    if facts.has_certification {
        require_role(&signer, Role::Certifier, "record a certification")?;
    }

    let mut changes = if facts.declares_error {
        check_error_declaration(view, &signer, record.event_hash_id)?
    } else {
        if view.event_signer(&record.event_hash_id).is_some() {
            return Err(RuleViolation::DuplicateEvent {
                id: record.event_hash_id,
            });
        }
        let mut changes = Custody {
            view,
            signer: &signer,
        }
        .check(&facts)?;
        changes.push(StateChange::EventRecorded {
            id: record.event_hash_id,
            signer: record.signer,
        });
        changes
    };
    changes.push(StateChange::Sequence {
        signer: record.signer,
        sequence: record.sequence,
    });
    Ok(changes)
}

/// An error declaration (EPCIS 2.0 §7.4.1.2) repeats an earlier event with `errorDeclaration`
/// added; the CBV Event Hash ID ignores that field, so it names the event it corrects.
fn check_error_declaration<V: LedgerView + ?Sized>(
    view: &V,
    signer: &ParticipantRecord,
    id: EventHashId,
) -> Result<Vec<StateChange>, RuleViolation> {
    let original = view
        .event_signer(&id)
        .ok_or(RuleViolation::ErrorTargetMissing { id })?;
    // The same organisation, under any of its keys: a rotation does not take away the right to
    // correct one's own events.
    let same_organisation = original == signer.signing_key
        || view
            .participant_by_key(&original)
            .is_some_and(|p| p.name == signer.name);
    if !same_organisation {
        return Err(RuleViolation::ErrorByOtherSigner { id });
    }
    if view.error_declared(&id) {
        return Err(RuleViolation::ErrorAlreadyDeclared { id });
    }
    Ok(vec![StateChange::ErrorDeclared { id }])
}

fn require_role(
    participant: &ParticipantRecord,
    role: Role,
    action: &'static str,
) -> Result<(), RuleViolation> {
    if participant.has_role(role) {
        Ok(())
    } else {
        Err(RuleViolation::RoleRequired {
            participant: participant.name.clone(),
            role,
            action,
        })
    }
}

/// The custody rules of one event, evaluated against one view for one signer.
struct Custody<'v, V: LedgerView + ?Sized> {
    view: &'v V,
    signer: &'v ParticipantRecord,
}

impl<V: LedgerView + ?Sized> Custody<'_, V> {
    fn check(&self, facts: &EventFacts) -> Result<Vec<StateChange>, RuleViolation> {
        match facts.event_type {
            EventType::ObjectEvent => self.object_event(facts),
            EventType::AggregationEvent => self.aggregation_event(facts),
            EventType::TransformationEvent => self.transformation_event(facts),
            EventType::TransactionEvent | EventType::AssociationEvent => {
                let mut all = facts.epcs.clone();
                all.extend(facts.parent.iter().cloned());
                all.extend(facts.children.iter().cloned());
                self.observe_all(&all)?;
                Ok(Vec::new())
            }
        }
    }

    fn object_event(&self, facts: &EventFacts) -> Result<Vec<StateChange>, RuleViolation> {
        match facts.action {
            Some(Action::Add) => self.commission(facts),
            Some(Action::Delete) => self.decommission(facts),
            _ if facts.is_recall => self.recall(&facts.epcs),
            _ => match facts.custody_step {
                Some(CustodyStep::Ship) => self.ship(facts),
                Some(CustodyStep::Receive) => self.receive(&facts.epcs),
                Some(CustodyStep::RetailSale) => self.retail_sale(&facts.epcs),
                None => {
                    self.observe_all(&facts.epcs)?;
                    Ok(Vec::new())
                }
            },
        }
    }

    fn commission(&self, facts: &EventFacts) -> Result<Vec<StateChange>, RuleViolation> {
        require_role(self.signer, Role::Manufacturer, "commission products")?;
        for class in &facts.quantity_classes {
            self.require_prefix_owner(class)?;
        }
        facts
            .epcs
            .iter()
            .map(|epc| self.new_identifier(epc))
            .collect()
    }

    /// Checks that `epc` may be created by the signer and returns its initial state.
    fn new_identifier(&self, epc: &Identity) -> Result<StateChange, RuleViolation> {
        self.require_prefix_owner(epc)?;
        if self.view.epc(&epc.key).is_some() {
            return Err(RuleViolation::AlreadyCommissioned {
                epc: epc.original.clone(),
            });
        }
        Ok(StateChange::Epc {
            epc: epc.key.clone(),
            state: EpcState {
                status: EpcStatus::Active,
                commissioned_by: self.signer.name.clone(),
                custodian: Some(self.signer.name.clone()),
                in_transit_to: None,
                parent: None,
            },
        })
    }

    fn require_prefix_owner(&self, epc: &Identity) -> Result<(), RuleViolation> {
        let digits =
            epc.company_digits
                .as_deref()
                .ok_or_else(|| RuleViolation::NotCommissionable {
                    epc: epc.original.clone(),
                })?;
        match self.view.prefix_owner(digits) {
            Some(owner) if owner.name == self.signer.name => Ok(()),
            owner => Err(RuleViolation::NotPrefixOwner {
                participant: self.signer.name.clone(),
                epc: epc.original.clone(),
                owner: owner.map(|o| o.name),
            }),
        }
    }

    fn decommission(&self, facts: &EventFacts) -> Result<Vec<StateChange>, RuleViolation> {
        let status = if facts.is_destruction {
            EpcStatus::Destroyed
        } else {
            EpcStatus::Decommissioned
        };
        facts
            .epcs
            .iter()
            .map(|epc| {
                let state = self.held_top_level(epc)?;
                let children = self.view.children(&epc.key);
                if !children.is_empty() {
                    return Err(RuleViolation::ContainerNotEmpty {
                        epc: epc.original.clone(),
                        count: children.len(),
                    });
                }
                Ok(StateChange::Epc {
                    epc: epc.key.clone(),
                    state: EpcState {
                        status,
                        custodian: None,
                        ..state
                    },
                })
            })
            .collect()
    }

    fn recall(&self, epcs: &[Identity]) -> Result<Vec<StateChange>, RuleViolation> {
        for epc in epcs {
            let state = self.existing(epc)?;
            if state.commissioned_by != self.signer.name && !self.signer.has_role(Role::Certifier) {
                return Err(RuleViolation::RecallNotAllowed {
                    participant: self.signer.name.clone(),
                    epc: epc.original.clone(),
                });
            }
        }
        Ok(Vec::new())
    }

    fn ship(&self, facts: &EventFacts) -> Result<Vec<StateChange>, RuleViolation> {
        let destination = facts
            .destinations
            .iter()
            .filter_map(|d| d.company_digits.as_deref())
            .find_map(|digits| self.view.prefix_owner(digits))
            .ok_or(RuleViolation::ShipmentWithoutDestination)?;
        facts
            .epcs
            .iter()
            .map(|epc| {
                let state = self.held_top_level(epc)?;
                Ok(StateChange::Epc {
                    epc: epc.key.clone(),
                    state: EpcState {
                        in_transit_to: Some(destination.name.clone()),
                        ..state
                    },
                })
            })
            .collect()
    }

    fn receive(&self, epcs: &[Identity]) -> Result<Vec<StateChange>, RuleViolation> {
        epcs.iter()
            .map(|epc| {
                let state = self.active(epc)?;
                if let Some(parent) = &state.parent {
                    return Err(RuleViolation::InsideParent {
                        epc: epc.original.clone(),
                        parent: parent.to_string(),
                    });
                }
                match &state.in_transit_to {
                    None => Err(RuleViolation::NotInTransit {
                        epc: epc.original.clone(),
                    }),
                    Some(to) if *to != self.signer.name => Err(RuleViolation::NotAddressee {
                        participant: self.signer.name.clone(),
                        epc: epc.original.clone(),
                        to: to.clone(),
                    }),
                    Some(_) => Ok(StateChange::Epc {
                        epc: epc.key.clone(),
                        state: EpcState {
                            custodian: Some(self.signer.name.clone()),
                            in_transit_to: None,
                            ..state
                        },
                    }),
                }
            })
            .collect()
    }

    fn retail_sale(&self, epcs: &[Identity]) -> Result<Vec<StateChange>, RuleViolation> {
        require_role(self.signer, Role::Retailer, "sell at retail")?;
        epcs.iter()
            .map(|epc| {
                let state = self.held_top_level(epc)?;
                Ok(StateChange::Epc {
                    epc: epc.key.clone(),
                    state: EpcState {
                        status: EpcStatus::Sold,
                        custodian: None,
                        ..state
                    },
                })
            })
            .collect()
    }

    fn aggregation_event(&self, facts: &EventFacts) -> Result<Vec<StateChange>, RuleViolation> {
        let parent = facts.parent.as_ref();
        match (facts.action, parent) {
            (Some(Action::Observe), _) => {
                let mut all = facts.children.clone();
                all.extend(parent.cloned());
                self.observe_all(&all)?;
                Ok(Vec::new())
            }
            (Some(Action::Add), Some(parent)) => self.aggregate(parent, &facts.children),
            (Some(Action::Delete), Some(parent)) => self.disaggregate(parent, &facts.children),
            (action, None) => Err(RuleViolation::MissingParent {
                event_type: EventType::AggregationEvent,
                action,
            }),
            (None, Some(_)) => Err(RuleViolation::MissingParent {
                event_type: EventType::AggregationEvent,
                action: None,
            }),
        }
    }

    fn aggregate(
        &self,
        parent: &Identity,
        children: &[Identity],
    ) -> Result<Vec<StateChange>, RuleViolation> {
        let mut changes = Vec::new();
        let parent_state = match self.view.epc(&parent.key) {
            Some(_) => self.held(parent)?,
            // A new logistic unit (e.g. a pallet's SSCC) is created by aggregating into it.
            None => {
                changes.push(self.new_identifier(parent)?);
                self.new_state()
            }
        };
        if let Some(to) = &parent_state.in_transit_to {
            return Err(RuleViolation::InTransit {
                epc: parent.original.clone(),
                to: to.clone(),
            });
        }
        let ancestors = self.ancestors(parent, &parent_state)?;
        for child in children {
            let state = self.held_top_level(child)?;
            if child.key == parent.key || ancestors.contains(&child.key) {
                return Err(RuleViolation::AggregationCycle {
                    child: child.original.clone(),
                    parent: parent.original.clone(),
                });
            }
            changes.push(StateChange::Epc {
                epc: child.key.clone(),
                state: EpcState {
                    parent: Some(parent.key.clone()),
                    ..state
                },
            });
        }
        Ok(changes)
    }

    fn disaggregate(
        &self,
        parent: &Identity,
        children: &[Identity],
    ) -> Result<Vec<StateChange>, RuleViolation> {
        self.held(parent)?;
        let current = self.view.children(&parent.key);
        let keys: Vec<(EpcKey, String)> = if children.is_empty() {
            current.iter().map(|k| (k.clone(), k.to_string())).collect()
        } else {
            children
                .iter()
                .map(|c| (c.key.clone(), c.original.clone()))
                .collect()
        };
        keys.into_iter()
            .map(|(key, original)| {
                let state = self
                    .view
                    .epc(&key)
                    .filter(|s| s.parent.as_ref() == Some(&parent.key))
                    .ok_or_else(|| RuleViolation::NotAChild {
                        child: original,
                        parent: parent.original.clone(),
                    })?;
                Ok(StateChange::Epc {
                    epc: key,
                    state: EpcState {
                        parent: None,
                        custodian: Some(self.signer.name.clone()),
                        ..state
                    },
                })
            })
            .collect()
    }

    fn transformation_event(&self, facts: &EventFacts) -> Result<Vec<StateChange>, RuleViolation> {
        require_role(self.signer, Role::Manufacturer, "transform products")?;
        let mut changes = Vec::new();
        for input in &facts.inputs {
            let state = self.held_top_level(input)?;
            changes.push(StateChange::Epc {
                epc: input.key.clone(),
                state: EpcState {
                    status: EpcStatus::Consumed,
                    custodian: None,
                    ..state
                },
            });
        }
        for class in &facts.output_classes {
            self.require_prefix_owner(class)?;
        }
        let inputs: Vec<EpcKey> = facts.inputs.iter().map(|i| i.key.clone()).collect();
        for output in &facts.outputs {
            changes.push(self.new_identifier(output)?);
            if !inputs.is_empty() {
                changes.push(StateChange::TransformedFrom {
                    output: output.key.clone(),
                    inputs: inputs.clone(),
                });
            }
        }
        Ok(changes)
    }

    /// Observations (inspections, sensor reports, transactions, associations) need the signer to
    /// hold the identifier, possibly inside a container, or to be a certifier.
    fn observe_all(&self, epcs: &[Identity]) -> Result<(), RuleViolation> {
        for epc in epcs {
            if self.signer.has_role(Role::Certifier) {
                self.existing(epc)?;
            } else {
                self.held(epc)?;
            }
        }
        Ok(())
    }

    fn new_state(&self) -> EpcState {
        EpcState {
            status: EpcStatus::Active,
            commissioned_by: self.signer.name.clone(),
            custodian: Some(self.signer.name.clone()),
            in_transit_to: None,
            parent: None,
        }
    }

    fn existing(&self, epc: &Identity) -> Result<EpcState, RuleViolation> {
        self.view
            .epc(&epc.key)
            .ok_or_else(|| RuleViolation::NotCommissioned {
                epc: epc.original.clone(),
            })
    }

    fn active(&self, epc: &Identity) -> Result<EpcState, RuleViolation> {
        let state = self.existing(epc)?;
        if state.status != EpcStatus::Active {
            return Err(RuleViolation::NoLongerActive {
                epc: epc.original.clone(),
                status: state.status,
            });
        }
        Ok(state)
    }

    /// Held by the signer through its outermost container; may be in transit from the signer
    /// (the shipper keeps custody until receipt). Returns the identifier's own state.
    fn held(&self, epc: &Identity) -> Result<EpcState, RuleViolation> {
        let state = self.active(epc)?;
        let mut top = state.clone();
        let mut depth = 0;
        while let Some(parent) = top.parent.clone() {
            depth += 1;
            if depth > MAX_AGGREGATION_DEPTH {
                return Err(RuleViolation::AggregationTooDeep {
                    epc: epc.original.clone(),
                });
            }
            top = self
                .view
                .epc(&parent)
                .ok_or_else(|| RuleViolation::NotCommissioned {
                    epc: parent.to_string(),
                })?;
        }
        if top.custodian.as_deref() != Some(self.signer.name.as_str()) {
            return Err(RuleViolation::NotCustodian {
                participant: self.signer.name.clone(),
                epc: epc.original.clone(),
                custodian: top.custodian,
            });
        }
        Ok(state)
    }

    /// Held directly by the signer: not inside a container and not in transit.
    fn held_top_level(&self, epc: &Identity) -> Result<EpcState, RuleViolation> {
        let state = self.held(epc)?;
        if let Some(parent) = &state.parent {
            return Err(RuleViolation::InsideParent {
                epc: epc.original.clone(),
                parent: parent.to_string(),
            });
        }
        if let Some(to) = &state.in_transit_to {
            return Err(RuleViolation::InTransit {
                epc: epc.original.clone(),
                to: to.clone(),
            });
        }
        Ok(state)
    }

    fn ancestors(&self, epc: &Identity, state: &EpcState) -> Result<Vec<EpcKey>, RuleViolation> {
        let mut result = Vec::new();
        let mut next = state.parent.clone();
        while let Some(parent) = next {
            if result.len() >= MAX_AGGREGATION_DEPTH {
                return Err(RuleViolation::AggregationTooDeep {
                    epc: epc.original.clone(),
                });
            }
            next = self.view.epc(&parent).and_then(|s| s.parent);
            result.push(parent);
        }
        Ok(result)
    }
}

#[cfg(test)]
mod governance_tests;
#[cfg(test)]
mod tests;
