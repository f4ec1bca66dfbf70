//! Which index entries an event gets: every identifier it names (in any role) under its
//! canonical key, and the GTIN and lot of every GS1 product identifier among them.

use std::collections::BTreeSet;

use provenance_protocol::epcis::EpcisEvent;
use provenance_protocol::gs1;
use provenance_protocol::record::SignedEvent;
use provenance_protocol::rules::{EpcKey, resolve_identifier};

use super::keys::corrupt;
use crate::store::StoreError;

/// The index keys of one event. Sets, so an identifier named in two roles is indexed once.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(super) struct EventIndexes {
    /// Canonical identifier keys (`rules::resolve_identifier`).
    pub epcs: BTreeSet<EpcKey>,
    /// GTIN-14s of the product identifiers (instances and classes).
    pub gtins: BTreeSet<String>,
    /// `(GTIN-14, lot)` of identifiers that carry a lot.
    pub lots: BTreeSet<(String, String)>,
}

impl EventIndexes {
    /// Collects the identifiers of `record`: `epcList`, `parentID`, `childEPCs`,
    /// `inputEPCList`, `outputEPCList` and the classes of every quantity list.
    ///
    /// The event was validated before it was committed, so JSON that no longer parses means the
    /// record was damaged: that is [`StoreError::Corrupt`].
    pub(super) fn of(record: &SignedEvent) -> Result<Self, StoreError> {
        let id = record.event_hash_id;
        let value: serde_json::Value = serde_json::from_str(&record.event)
            .map_err(|e| corrupt(format!("event {id}: its JSON no longer parses: {e}")))?;
        let event = EpcisEvent::from_value(&value)
            .map_err(|e| corrupt(format!("event {id}: no longer an EPCIS event: {e}")))?;
        let mut indexes = EventIndexes::default();
        let instances = event
            .epc_list()
            .iter()
            .map(String::as_str)
            .chain(event.parent_id())
            .chain(event.child_epcs().iter().map(String::as_str))
            .chain(event.input_epcs().iter().map(String::as_str))
            .chain(event.output_epcs().iter().map(String::as_str));
        let classes = event
            .quantity_list()
            .iter()
            .chain(event.child_quantity_list())
            .chain(event.input_quantity_list())
            .chain(event.output_quantity_list())
            .map(|q| q.epc_class.as_str());
        for text in instances.chain(classes) {
            indexes.add(text);
        }
        Ok(indexes)
    }

    fn add(&mut self, text: &str) {
        // The rules resolved every identifier they act on; the few they do not read (classes of
        // child and input quantity lists) are indexed verbatim if they do not resolve, rather
        // than failing a block that was already finalised.
        let key = resolve_identifier(text)
            .map(|identity| identity.key)
            .unwrap_or_else(|_| EpcKey(text.to_owned()));
        self.epcs.insert(key);
        if let Ok(normalized) = gs1::parse_any_epc(text)
            && let Some(gtin) = normalized.gtin()
        {
            let gtin = gtin.as_str().to_owned();
            if let Some(lot) = normalized.lot() {
                self.lots.insert((gtin.clone(), lot.to_owned()));
            }
            self.gtins.insert(gtin);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_protocol::crypto::SigningKey;
    use serde_json::json;

    fn record(event: serde_json::Value) -> SignedEvent {
        SignedEvent::sign(&SigningKey::from_seed([1; 32]), "index-test", 1, &event).unwrap()
    }

    fn base(kind: &str) -> serde_json::Value {
        json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": kind,
            "eventTime": "2025-01-01T10:00:00.000Z",
            "eventTimeZoneOffset": "+00:00",
        })
    }

    #[test]
    fn every_role_and_quantity_class_is_indexed_with_gtin_and_lot() {
        let mut event = base("ObjectEvent");
        event["action"] = json!("ADD");
        event["epcList"] = json!([
            "urn:epc:id:sgtin:0614141.107346.2017",
            "https://id.gs1.org/01/10614141073464/10/LOT9/21/7",
            "urn:uuid:3b9c0a6e-7f0e-4f6b-9c2f-1a2b3c4d5e6f"
        ]);
        event["quantityList"] =
            json!([{"epcClass": "urn:epc:class:lgtin:0614141.107346.LOT1", "quantity": 5}]);
        let indexes = EventIndexes::of(&record(event)).unwrap();
        let keys: Vec<&str> = indexes.epcs.iter().map(|k| k.0.as_str()).collect();
        assert_eq!(
            keys,
            [
                "https://id.gs1.org/01/10614141073464/10/LOT1",
                "https://id.gs1.org/01/10614141073464/21/2017",
                "https://id.gs1.org/01/10614141073464/21/7",
                "urn:uuid:3b9c0a6e-7f0e-4f6b-9c2f-1a2b3c4d5e6f",
            ]
        );
        assert_eq!(indexes.gtins.iter().collect::<Vec<_>>(), ["10614141073464"]);
        let lots: Vec<(&str, &str)> = indexes
            .lots
            .iter()
            .map(|(g, l)| (g.as_str(), l.as_str()))
            .collect();
        assert_eq!(
            lots,
            [("10614141073464", "LOT1"), ("10614141073464", "LOT9")]
        );
    }

    #[test]
    fn parent_children_inputs_and_outputs_are_indexed() {
        let mut aggregation = base("AggregationEvent");
        aggregation["action"] = json!("ADD");
        aggregation["parentID"] = json!("urn:epc:id:sscc:0614142.1234567890");
        aggregation["childEPCs"] = json!(["urn:epc:id:sgtin:0614142.107347.1001"]);
        let indexes = EventIndexes::of(&record(aggregation)).unwrap();
        assert_eq!(indexes.epcs.len(), 2);
        assert_eq!(indexes.gtins.len(), 1, "the SSCC is not a product");

        let mut transformation = base("TransformationEvent");
        transformation["inputEPCList"] = json!(["urn:epc:id:sgtin:0614141.107346.1"]);
        transformation["outputEPCList"] = json!(["urn:epc:id:sgtin:0614142.107347.1"]);
        let indexes = EventIndexes::of(&record(transformation)).unwrap();
        assert_eq!(indexes.epcs.len(), 2);
        assert_eq!(indexes.gtins.len(), 2);
    }

    #[test]
    fn damaged_json_is_corruption() {
        let mut damaged = record({
            let mut e = base("ObjectEvent");
            e["action"] = json!("OBSERVE");
            e["epcList"] = json!(["urn:epc:id:sgtin:0614141.107346.2017"]);
            e
        });
        damaged.event.truncate(damaged.event.len() - 1);
        let err = EventIndexes::of(&damaged).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("no longer parses"), "{err}");
    }
}
