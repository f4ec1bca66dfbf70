//! Short phrases for people: what a step did ("Shipped to Nordic Roasters"), and CBV values by
//! their short names (`shipping`, not `https://ref.gs1.org/cbv/BizStep-shipping`).

use crate::epcis::vocab;
use crate::epcis::{Action, EpcisEvent};
use crate::rules::MemoryState;

use super::read::{Seen, owner_of};

const BIZ_STEP: &str = "https://ref.gs1.org/cbv/BizStep-";
const DISPOSITION: &str = "https://ref.gs1.org/cbv/Disp-";
const SDT: &str = "https://ref.gs1.org/cbv/SDT-";

/// A business step by its CBV short name, or as written when it is not a CBV value.
pub(super) fn biz_step_name(raw: &str) -> String {
    vocab::normalise_biz_step(raw)
        .ok()
        .and_then(|n| n.standard())
        .map_or_else(|| raw.to_owned(), |t| t.word().to_owned())
}

/// A disposition by its CBV short name, or as written.
pub(super) fn disposition_name(raw: &str) -> String {
    vocab::normalise_disposition(raw)
        .ok()
        .and_then(|n| n.standard())
        .map_or_else(|| raw.to_owned(), |t| t.word().to_owned())
}

/// An error reason by its CBV short name, or as written.
pub(super) fn error_reason_name(raw: &str) -> String {
    vocab::normalise_error_reason(raw)
        .ok()
        .and_then(|n| n.standard())
        .map_or_else(|| raw.to_owned(), |t| t.word().to_owned())
}

/// Whether the event's disposition is CBV `recalled` (in any spelling). Only the disposition
/// counts, as in the ledger rules: those decide who may record a recall by it.
pub(super) fn is_recall(event: &EpcisEvent) -> bool {
    event.disposition() == Some("https://ref.gs1.org/cbv/Disp-recalled")
}

/// What a step did, for people. `standards` are the certification standards the event declares
/// (for "Certified (EU Organic)").
pub(super) fn what(seen: &Seen<'_>, registry: &MemoryState, standards: &[String]) -> String {
    let event = seen.event;
    let certified = (!event.certification_info().is_empty()).then(|| {
        if standards.is_empty() {
            "certified".to_owned()
        } else {
            format!("certified ({})", standards.join(", "))
        }
    });
    match (structural(event, registry), certified) {
        (Some(done), None) => done,
        (Some(done), Some(certified)) => format!("{done}, {certified}"),
        (None, Some(certified)) => capitalise(&certified),
        (None, None) => observation(event),
    }
}

/// The phrase for events whose structure says what happened: recalls, commissioning, custody
/// moves, aggregation, transformation.
fn structural(event: &EpcisEvent, registry: &MemoryState) -> Option<String> {
    if is_recall(event) {
        return Some("Recalled".to_owned());
    }
    let step = event.biz_step().and_then(|s| s.strip_prefix(BIZ_STEP));
    let parent = event.parent_id();
    match event {
        EpcisEvent::Object(_) => match event.action() {
            Some(Action::Add) => Some("Commissioned".to_owned()),
            Some(Action::Delete) => {
                let destroyed = step == Some("destroying")
                    || event
                        .disposition()
                        .is_some_and(|d| d.strip_prefix(DISPOSITION) == Some("destroyed"));
                Some(
                    if destroyed {
                        "Destroyed"
                    } else {
                        "Decommissioned"
                    }
                    .to_owned(),
                )
            }
            _ => match step {
                Some("shipping") => Some(shipped_to(event, registry)),
                Some("receiving" | "accepting") => Some("Received".to_owned()),
                Some("retail_selling") => Some("Sold".to_owned()),
                _ => None,
            },
        },
        EpcisEvent::Aggregation(_) => match event.action() {
            Some(Action::Add) => Some(with_parent("Packed into", "Packed", parent)),
            Some(Action::Delete) => Some(with_parent("Unpacked from", "Unpacked", parent)),
            _ => None,
        },
        EpcisEvent::Association(_) => match event.action() {
            Some(Action::Add) => Some(with_parent("Associated with", "Associated", parent)),
            Some(Action::Delete) => Some(with_parent("Dissociated from", "Dissociated", parent)),
            _ => None,
        },
        EpcisEvent::Transformation(_) => Some(transformed(event)),
        EpcisEvent::Transaction(_) => None,
    }
}

fn with_parent(phrase: &str, alone: &str, parent: Option<&str>) -> String {
    match parent {
        Some(parent) => format!("{phrase} {parent}"),
        None => alone.to_owned(),
    }
}

/// "Shipped to <participant>": the most specific destination (possessing party, owning party,
/// location) whose company prefix a participant owns; else the destination as written.
fn shipped_to(event: &EpcisEvent, registry: &MemoryState) -> String {
    let mut destinations: Vec<(u8, &str)> = event
        .destination_list()
        .iter()
        .map(|d| {
            let rank = match d.destination_type_canonical().strip_prefix(SDT) {
                Some("possessing_party") => 0,
                Some("owning_party") => 1,
                Some("location") => 2,
                _ => 3,
            };
            (rank, d.destination.as_str())
        })
        .collect();
    destinations.sort_by_key(|(rank, _)| *rank);
    let to = destinations
        .iter()
        .find_map(|(_, id)| owner_of(id, registry))
        .or_else(|| destinations.first().map(|(_, id)| (*id).to_owned()));
    match to {
        Some(to) => format!("Shipped to {to}"),
        None => "Shipped".to_owned(),
    }
}

/// "Transformed into 3 items" (instances), "… 1 lot" (output quantities), or both.
fn transformed(event: &EpcisEvent) -> String {
    let items = event.output_epcs().len();
    let lots = event.output_quantity_list().len();
    let mut parts = Vec::new();
    if items > 0 {
        parts.push(count(items, "item", "items"));
    }
    if lots > 0 {
        parts.push(count(lots, "lot", "lots"));
    }
    if parts.is_empty() {
        "Transformed".to_owned()
    } else {
        format!("Transformed into {}", parts.join(" and "))
    }
}

fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Events that only observe: by their business step, else by what they carry.
fn observation(event: &EpcisEvent) -> String {
    if let Some(raw) = event.biz_step_raw() {
        return step_phrase(&biz_step_name(raw));
    }
    if !event.sensor_elements().is_empty() {
        return "Sensor readings recorded".to_owned();
    }
    match event {
        EpcisEvent::Aggregation(_) => with_parent("Observed in", "Observed", event.parent_id()),
        EpcisEvent::Transaction(_) => "Business transaction recorded".to_owned(),
        _ => "Observed".to_owned(),
    }
}

/// A business step as a past-tense phrase; unknown or custom steps by their last path segment.
fn step_phrase(step: &str) -> String {
    let known = match step {
        "accepting" => "Accepted",
        "arriving" => "Arrived",
        "assembling" => "Assembled",
        "collecting" => "Collected",
        "commissioning" => "Commissioned",
        "consigning" => "Consigned",
        "creating_class_instance" => "Created",
        "cycle_counting" => "Counted",
        "decommissioning" => "Decommissioned",
        "departing" => "Departed",
        "destroying" => "Destroyed",
        "disassembling" => "Disassembled",
        "dispensing" => "Dispensed",
        "encoding" => "Encoded",
        "entering_exiting" => "Entered or left a site",
        "holding" => "Held",
        "inspecting" => "Inspected",
        "installing" => "Installed",
        "killing" => "Deactivated",
        "loading" => "Loaded",
        "other" => "Observed",
        "packing" => "Packed",
        "picking" => "Picked",
        "receiving" => "Received",
        "removing" => "Removed",
        "repackaging" => "Repackaged",
        "repairing" => "Repaired",
        "replacing" => "Replaced",
        "reserving" => "Reserved",
        "retail_selling" => "Sold",
        "sampling" => "Sampled",
        "sensor_reporting" => "Sensor readings recorded",
        "shipping" => "Shipped",
        "staging_outbound" => "Staged for shipping",
        "stock_taking" => "Stock taken",
        "stocking" => "Stocked",
        "storing" => "Stored",
        "transporting" => "Transported",
        "unloading" => "Unloaded",
        "unpacking" => "Unpacked",
        "void_shipping" => "Shipment voided",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_owned();
    }
    let last = step
        .rsplit(['/', '#', ':'])
        .find(|segment| !segment.is_empty())
        .unwrap_or(step);
    let words = last.replace(['_', '-'], " ");
    if words.trim().is_empty() {
        "Observed".to_owned()
    } else {
        capitalise(words.trim())
    }
}

fn capitalise(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cbv_values_by_short_name_and_custom_ones_as_written() {
        for raw in [
            "shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "cbv:BizStep-shipping",
        ] {
            assert_eq!(biz_step_name(raw), "shipping", "{raw}");
        }
        assert_eq!(
            biz_step_name("https://ns.example/steps/roasting"),
            "https://ns.example/steps/roasting"
        );
        assert_eq!(
            disposition_name("urn:epcglobal:cbv:disp:in_transit"),
            "in_transit"
        );
        assert_eq!(error_reason_name("incorrect_data"), "incorrect_data");
        assert_eq!(
            error_reason_name("https://ns.example/why"),
            "https://ns.example/why"
        );
    }

    #[test]
    fn step_phrases_are_past_tense_or_derived_from_the_uri() {
        assert_eq!(step_phrase("inspecting"), "Inspected");
        assert_eq!(step_phrase("staging_outbound"), "Staged for shipping");
        assert_eq!(
            step_phrase("https://ns.example/steps/cold_roasting"),
            "Cold roasting"
        );
        assert_eq!(
            step_phrase("urn:example:step:quality-check"),
            "Quality check"
        );
        assert_eq!(step_phrase("https://ns.example/"), "Ns.example");
        assert_eq!(count(1, "item", "items"), "1 item");
        assert_eq!(count(3, "item", "items"), "3 items");
    }
}
