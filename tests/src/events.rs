//! Valid signed events for a test network: commissioning events from several signers.
//!
//! Every signer is a genesis participant with the manufacturer role and its own GS1 company
//! prefix, and commissions SGTINs under that prefix with fresh serial numbers, so every event is
//! admissible and distinct. A signer's sequence numbers must reach a node in order (the node
//! refuses a gap), so a [`SignerStream`] should be submitted to one node, batch after batch;
//! [`EventSource::into_streams`] hands each stream to its own submitting thread.

use provenance_protocol::crypto::SigningKey;
use provenance_protocol::record::SignedEvent;
use serde_json::json;

/// One signer's stream of commissioning events.
#[derive(Debug)]
pub struct SignerStream {
    index: usize,
    chain_id: String,
    key: SigningKey,
    prefix: String,
    next_sequence: u64,
    next_serial: u64,
}

impl SignerStream {
    /// A stream for a signer whose next sequence number is 1.
    pub(crate) fn new(index: usize, chain_id: &str, key: SigningKey, prefix: String) -> Self {
        SignerStream {
            index,
            chain_id: chain_id.to_owned(),
            key,
            prefix,
            next_sequence: 1,
            next_serial: 1,
        }
    }

    /// The signer's number in the network (`0..signers`).
    pub fn index(&self) -> usize {
        self.index
    }

    /// The signer's GS1 company prefix.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The sequence number the next event will carry.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// The next `size` events, with consecutive sequence numbers.
    pub fn batch(&mut self, size: usize) -> Vec<SignedEvent> {
        (0..size).map(|_| self.next_event()).collect()
    }

    /// The next event: an `ObjectEvent` commissioning one new SGTIN.
    pub fn next_event(&mut self) -> SignedEvent {
        let event = json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "ObjectEvent",
            "eventTime": "2025-01-01T10:00:00.000Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [format!("urn:epc:id:sgtin:{}.107346.{}", self.prefix, self.next_serial)],
            "action": "ADD",
            "bizStep": "commissioning",
            "disposition": "active"
        });
        let record = SignedEvent::sign(&self.key, &self.chain_id, self.next_sequence, &event)
            .unwrap_or_else(|e| {
                panic!(
                    "signer {} cannot sign commissioning event {}: {e}",
                    self.index, self.next_serial
                )
            });
        self.next_sequence += 1;
        self.next_serial += 1;
        record
    }
}

/// The signers of a test network, each with its own stream.
#[derive(Debug)]
pub struct EventSource {
    streams: Vec<SignerStream>,
}

impl EventSource {
    pub(crate) fn new(streams: Vec<SignerStream>) -> Self {
        EventSource { streams }
    }

    /// How many signers there are.
    pub fn signers(&self) -> usize {
        self.streams.len()
    }

    /// The next `size` events of signer `signer`.
    ///
    /// # Panics
    /// If there is no such signer.
    pub fn batch(&mut self, signer: usize, size: usize) -> Vec<SignedEvent> {
        self.stream(signer).batch(size)
    }

    /// Signer `signer`'s stream.
    ///
    /// # Panics
    /// If there is no such signer.
    pub fn stream(&mut self, signer: usize) -> &mut SignerStream {
        let count = self.streams.len();
        self.streams
            .get_mut(signer)
            .unwrap_or_else(|| panic!("signer {signer} does not exist; the network has {count}"))
    }

    /// Every signer's stream, for one submitting thread each.
    pub fn into_streams(self) -> Vec<SignerStream> {
        self.streams
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::{KeyRole, test_key};

    #[test]
    fn events_verify_and_sequences_and_serials_advance() {
        let mut stream = SignerStream::new(
            0,
            "unit-chain",
            test_key(KeyRole::SignerSigning, 0),
            "0614100".into(),
        );
        let first = stream.batch(3);
        let second = stream.batch(2);
        let sequences: Vec<u64> = first.iter().chain(&second).map(|e| e.sequence).collect();
        assert_eq!(sequences, [1, 2, 3, 4, 5]);
        assert_eq!(stream.next_sequence(), 6);
        let mut ids = std::collections::BTreeSet::new();
        for event in first.iter().chain(&second) {
            event.verify("unit-chain").unwrap();
            assert!(ids.insert(event.event_hash_id), "two events share an id");
            assert!(event.event.contains("0614100.107346."), "{}", event.event);
        }
    }

    #[test]
    fn signers_have_separate_streams() {
        let mut source = EventSource::new(
            (0..2)
                .map(|i| {
                    SignerStream::new(
                        i,
                        "unit-chain",
                        test_key(KeyRole::SignerSigning, i),
                        format!("06141{i:02}"),
                    )
                })
                .collect(),
        );
        assert_eq!(source.signers(), 2);
        let a = source.batch(0, 2);
        let b = source.batch(1, 1);
        assert_eq!(b[0].sequence, 1);
        assert_ne!(a[0].signer, b[0].signer);
        let streams = source.into_streams();
        assert_eq!(streams[0].next_sequence(), 3);
        assert_eq!(streams[1].prefix(), "0614101");
    }
}
