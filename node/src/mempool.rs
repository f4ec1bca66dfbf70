//! The mempool: acknowledged events waiting for a block, in admission order, with the state they
//! produce layered over the committed state so each new submission is checked against
//! everything accepted before it.
//!
//! Every entry is also in the store's durable "pending" tree under the same key; the API
//! acknowledges only after that tree is flushed, and a block commit removes its entries from it
//! in the same transaction that writes the block. So an acknowledged event survives any crash and
//! lands in exactly one block.

use std::collections::{BTreeMap, HashMap, VecDeque};

use provenance_protocol::crypto::PublicKey;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::record::VerifiedEvent;
use provenance_protocol::rules::PendingChanges;

use crate::chain::Candidate;

/// Limits of the mempool. Each is checked at admission; each has a test at the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MempoolLimits {
    /// Most events waiting in total; beyond it the API answers 503 with Retry-After.
    pub max_events: usize,
    /// Most events waiting per signer, so one participant cannot fill the pool.
    pub max_per_signer: usize,
    /// How far ahead of its last accepted sequence a signer may submit.
    pub max_sequence_ahead: u64,
}

impl Default for MempoolLimits {
    fn default() -> Self {
        MempoolLimits {
            max_events: 100_000,
            max_per_signer: 10_000,
            max_sequence_ahead: 10_000,
        }
    }
}

/// Why an event cannot enter the mempool now (beyond the rules' own verdicts).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AdmissionError {
    #[error("the mempool is full ({limit} events waiting); retry shortly")]
    Full { limit: usize },
    #[error("signer {signer} already has {limit} events waiting; retry after the next block")]
    SignerFull { signer: PublicKey, limit: usize },
    #[error(
        "sequence {found} is more than {limit} ahead of the signer's last accepted sequence {last}"
    )]
    SequenceTooFarAhead { last: u64, found: u64, limit: u64 },
    #[error("a different event with the same Event Hash ID {id} is already waiting")]
    ConflictingDuplicate { id: EventHashId },
}

/// One waiting event.
#[derive(Debug, Clone)]
struct Entry {
    key: u64,
    event: VerifiedEvent,
}

/// The in-memory half of the mempool (the durable half is the store's pending tree).
#[derive(Debug, Default)]
pub struct Mempool {
    limits: MempoolLimits,
    entries: VecDeque<Entry>,
    by_id: HashMap<EventHashId, u64>,
    per_signer: HashMap<PublicKey, usize>,
    pending: PendingChanges,
}

impl Mempool {
    /// An empty mempool.
    pub fn new(limits: MempoolLimits) -> Self {
        Mempool {
            limits,
            ..Mempool::default()
        }
    }

    /// Number of waiting events.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing waits.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The limits in force.
    pub fn limits(&self) -> MempoolLimits {
        self.limits
    }

    /// The state changes of every waiting event, to layer over the committed state.
    pub fn pending(&self) -> &PendingChanges {
        &self.pending
    }

    /// If an event with this ID is waiting: `Some(true)` when it is this exact record (a
    /// resubmission, answered as before), `Some(false)` when it is a different record.
    pub fn contains(&self, event: &VerifiedEvent) -> Option<bool> {
        let waiting = self.get(&event.record.event_hash_id);
        self.by_id.get(&event.record.event_hash_id)?;
        Some(waiting.is_some_and(|w| w.record == event.record))
    }

    /// The waiting event with this ID (already verified: a node re-executing a block reuses it
    /// instead of verifying the signature again).
    pub fn get(&self, id: &EventHashId) -> Option<&VerifiedEvent> {
        let key = *self.by_id.get(id)?;
        // Entries are pushed in increasing key order (admission order), so they are sorted.
        let index = self
            .entries
            .binary_search_by_key(&key, |e| e.key)
            .ok()
            .or_else(|| self.entries.iter().position(|e| e.key == key))?;
        self.entries.get(index).map(|e| &e.event)
    }

    /// The admission key of the waiting event with this ID.
    pub fn key_of(&self, id: &EventHashId) -> Option<u64> {
        self.by_id.get(id).copied()
    }

    /// Checks the capacity and sequence-window limits for one more event of `signer`.
    pub fn check_capacity(
        &self,
        signer: &PublicKey,
        last_sequence: u64,
        sequence: u64,
    ) -> Result<(), AdmissionError> {
        if self.entries.len() >= self.limits.max_events {
            return Err(AdmissionError::Full {
                limit: self.limits.max_events,
            });
        }
        if self.per_signer.get(signer).copied().unwrap_or(0) >= self.limits.max_per_signer {
            return Err(AdmissionError::SignerFull {
                signer: *signer,
                limit: self.limits.max_per_signer,
            });
        }
        if sequence > last_sequence.saturating_add(self.limits.max_sequence_ahead) {
            return Err(AdmissionError::SequenceTooFarAhead {
                last: last_sequence,
                found: sequence,
                limit: self.limits.max_sequence_ahead,
            });
        }
        Ok(())
    }

    /// Adds an event the rules accepted (with the changes they produced) under its durable key.
    pub fn push(
        &mut self,
        key: u64,
        event: VerifiedEvent,
        changes: Vec<provenance_protocol::rules::StateChange>,
    ) {
        self.pending.apply(changes);
        self.by_id.insert(event.record.event_hash_id, key);
        *self.per_signer.entry(event.record.signer).or_default() += 1;
        self.entries.push_back(Entry { key, event });
    }

    /// Up to `max` waiting events, oldest first, for the next block.
    pub fn candidates(&self, max: usize) -> Vec<Candidate> {
        self.entries
            .iter()
            .take(max)
            .map(|e| Candidate {
                key: e.key,
                event: e.event.clone(),
            })
            .collect()
    }

    /// Removes the entries with these keys (included in a block, or refused).
    ///
    /// When the removed entries are exactly a prefix of the queue that was included in a block,
    /// the pending state stays valid (see [`PendingChanges`]). Otherwise it is rebuilt by the
    /// caller through [`Mempool::drain_all`] and re-admission.
    pub fn remove(&mut self, keys: &[u64]) {
        if keys.is_empty() {
            return;
        }
        let set: BTreeMap<u64, ()> = keys.iter().map(|k| (*k, ())).collect();
        let mut kept = VecDeque::with_capacity(self.entries.len());
        for entry in self.entries.drain(..) {
            if set.contains_key(&entry.key) {
                self.by_id.remove(&entry.event.record.event_hash_id);
                if let Some(n) = self.per_signer.get_mut(&entry.event.record.signer) {
                    *n -= 1;
                    if *n == 0 {
                        self.per_signer.remove(&entry.event.record.signer);
                    }
                }
            } else {
                kept.push_back(entry);
            }
        }
        self.entries = kept;
        if self.entries.is_empty() {
            // Nothing waits: the committed state is the whole truth again.
            self.pending = PendingChanges::default();
        }
    }

    /// True when `keys` are exactly the oldest `keys.len()` entries, in order.
    pub fn is_prefix(&self, keys: &[u64]) -> bool {
        keys.len() <= self.entries.len() && self.entries.iter().zip(keys).all(|(e, k)| e.key == *k)
    }

    /// Empties the mempool, returning every entry in order (to re-admit against a new state).
    pub fn drain_all(&mut self) -> Vec<(u64, VerifiedEvent)> {
        self.by_id.clear();
        self.per_signer.clear();
        self.pending = PendingChanges::default();
        self.entries.drain(..).map(|e| (e.key, e.event)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_protocol::crypto::SigningKey;
    use provenance_protocol::record::SignedEvent;
    use serde_json::json;

    fn event(key: &SigningKey, sequence: u64, serial: u32) -> VerifiedEvent {
        let event = json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "ObjectEvent",
            "eventTime": "2025-01-01T10:00:00.000Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": [format!("urn:epc:id:sgtin:0614141.107346.{serial}")],
            "action": "ADD",
            "bizStep": "commissioning"
        });
        SignedEvent::sign(key, "mempool-test", sequence, &event)
            .unwrap()
            .verify("mempool-test")
            .unwrap()
    }

    fn limits(max_events: usize, max_per_signer: usize, ahead: u64) -> MempoolLimits {
        MempoolLimits {
            max_events,
            max_per_signer,
            max_sequence_ahead: ahead,
        }
    }

    #[test]
    fn total_limit_refuses_exactly_at_the_limit() {
        let (a, b) = (
            SigningKey::from_seed([1; 32]),
            SigningKey::from_seed([2; 32]),
        );
        let mut pool = Mempool::new(limits(2, 10, 100));
        pool.check_capacity(&a.public_key(), 0, 1).unwrap();
        pool.push(1, event(&a, 1, 1), vec![]);
        pool.check_capacity(&b.public_key(), 0, 1).unwrap();
        pool.push(2, event(&b, 1, 2), vec![]);
        assert_eq!(
            pool.check_capacity(&b.public_key(), 1, 2),
            Err(AdmissionError::Full { limit: 2 })
        );
        pool.remove(&[1]);
        pool.check_capacity(&b.public_key(), 1, 2).unwrap();
    }

    #[test]
    fn per_signer_limit_and_sequence_window() {
        let a = SigningKey::from_seed([1; 32]);
        let mut pool = Mempool::new(limits(10, 1, 5));
        pool.push(1, event(&a, 1, 1), vec![]);
        assert!(matches!(
            pool.check_capacity(&a.public_key(), 1, 2),
            Err(AdmissionError::SignerFull { limit: 1, .. })
        ));
        let b = SigningKey::from_seed([2; 32]);
        pool.check_capacity(&b.public_key(), 0, 5).unwrap();
        assert_eq!(
            pool.check_capacity(&b.public_key(), 0, 6),
            Err(AdmissionError::SequenceTooFarAhead {
                last: 0,
                found: 6,
                limit: 5
            })
        );
    }

    #[test]
    fn resubmission_is_recognised_and_conflicts_are_not() {
        let a = SigningKey::from_seed([1; 32]);
        let mut pool = Mempool::new(MempoolLimits::default());
        let e = event(&a, 1, 1);
        assert_eq!(pool.contains(&e), None);
        pool.push(7, e.clone(), vec![]);
        assert_eq!(pool.contains(&e), Some(true));
        // Same event content (same Event Hash ID) under another sequence number: a different record.
        assert_eq!(pool.contains(&event(&a, 2, 1)), Some(false));
        assert!(pool.is_prefix(&[7]));
        assert!(!pool.is_prefix(&[8]));
        pool.remove(&[7]);
        assert!(pool.is_empty());
        assert!(pool.pending().is_empty());
    }
}
