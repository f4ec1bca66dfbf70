//! The facts of an EPCIS event that the ledger rules act on, extracted once from the typed model.
//!
//! This is the only place the rules read the EPCIS model, so the rules themselves speak in terms
//! of custody steps and identifiers, not JSON fields.

use std::collections::BTreeSet;

use crate::epcis::{Action, EpcisEvent, EventType};

use super::RuleViolation;
use super::identity::{Identity, resolve_identifier};

const CBV: &str = "https://ref.gs1.org/cbv/";

/// A business step that moves custody.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CustodyStep {
    /// `shipping`: the holder sends it to the destination the event names.
    Ship,
    /// `receiving` or `accepting`: the named destination takes custody.
    Receive,
    /// `retail_selling`: a retailer sells it to a consumer.
    RetailSale,
}

/// Rule-relevant facts of one event, with every identifier resolved.
#[derive(Debug, Clone)]
pub struct EventFacts {
    pub event_type: EventType,
    pub action: Option<Action>,
    /// `eventTime` in milliseconds since the Unix epoch (may be negative for odd data).
    pub event_time_ms: i64,
    /// `epcList`.
    pub epcs: Vec<Identity>,
    /// Classes of `quantityList` (ObjectEvent) — checked for ownership on commissioning.
    pub quantity_classes: Vec<Identity>,
    /// `parentID`.
    pub parent: Option<Identity>,
    /// `childEPCs`.
    pub children: Vec<Identity>,
    /// `inputEPCList`.
    pub inputs: Vec<Identity>,
    /// `outputEPCList`.
    pub outputs: Vec<Identity>,
    /// Classes of `outputQuantityList`.
    pub output_classes: Vec<Identity>,
    /// Destinations, most specific party first: possessing_party, owning_party, location.
    pub destinations: Vec<Identity>,
    pub custody_step: Option<CustodyStep>,
    /// Disposition `recalled`.
    pub is_recall: bool,
    /// Business step `destroying` or disposition `destroyed`.
    pub is_destruction: bool,
    pub has_certification: bool,
    pub declares_error: bool,
}

impl EventFacts {
    /// Extracts the facts, resolving every identifier; an identifier listed twice in one role is
    /// an error (it would otherwise be counted twice).
    pub fn extract(event: &EpcisEvent) -> Result<Self, RuleViolation> {
        let biz_step = event.biz_step().and_then(|s| s.strip_prefix(CBV));
        let disposition = event.disposition().and_then(|s| s.strip_prefix(CBV));
        let custody_step = match biz_step {
            Some("BizStep-shipping") => Some(CustodyStep::Ship),
            Some("BizStep-receiving" | "BizStep-accepting") => Some(CustodyStep::Receive),
            Some("BizStep-retail_selling") => Some(CustodyStep::RetailSale),
            _ => None,
        };
        let mut destinations: Vec<(u8, &str)> = event
            .destination_list()
            .iter()
            .filter_map(|d| {
                let rank = match d.destination_type_canonical().strip_prefix(CBV) {
                    Some("SDT-possessing_party") => 0,
                    Some("SDT-owning_party") => 1,
                    Some("SDT-location") => 2,
                    _ => return None,
                };
                Some((rank, d.destination.as_str()))
            })
            .collect();
        destinations.sort_by_key(|(rank, _)| *rank);
        let nanos = event.event_time().unix_timestamp_nanos();
        let event_time_ms =
            i64::try_from(nanos / 1_000_000).unwrap_or(if nanos < 0 { i64::MIN } else { i64::MAX });
        Ok(EventFacts {
            event_type: event.event_type(),
            action: event.action(),
            event_time_ms,
            epcs: resolve_all(event.epc_list())?,
            quantity_classes: resolve_classes(event.quantity_list().iter().map(|q| &q.epc_class))?,
            parent: event.parent_id().map(resolve_identifier).transpose()?,
            children: resolve_all(event.child_epcs())?,
            inputs: resolve_all(event.input_epcs())?,
            outputs: resolve_all(event.output_epcs())?,
            output_classes: resolve_classes(
                event.output_quantity_list().iter().map(|q| &q.epc_class),
            )?,
            destinations: destinations
                .into_iter()
                .map(|(_, d)| resolve_identifier(d))
                .collect::<Result<_, _>>()?,
            custody_step,
            is_recall: disposition == Some("Disp-recalled"),
            is_destruction: biz_step == Some("BizStep-destroying")
                || disposition == Some("Disp-destroyed"),
            has_certification: !event.certification_info().is_empty(),
            declares_error: event.error_declaration().is_some(),
        })
    }
}

fn resolve_all(list: &[String]) -> Result<Vec<Identity>, RuleViolation> {
    let mut seen = BTreeSet::new();
    list.iter()
        .map(|text| {
            let identity = resolve_identifier(text)?;
            if !seen.insert(identity.key.clone()) {
                return Err(RuleViolation::BadIdentifier {
                    epc: text.clone(),
                    reason: "listed twice in the same list of the event".into(),
                });
            }
            Ok(identity)
        })
        .collect()
}

fn resolve_classes<'a>(
    classes: impl Iterator<Item = &'a String>,
) -> Result<Vec<Identity>, RuleViolation> {
    classes.map(|c| resolve_identifier(c)).collect()
}
