//! Signing events locally and submitting them in order: the engine behind `provenance submit`
//! and `provenance import`.
//!
//! Only [`SignedEvent`]s leave the machine; the key never does. Events are signed in document
//! order with consecutive sequence numbers from the [`SequenceJournal`] and sent in batches to
//! `POST /v1/events`. The node processes a batch in order and stops at the first failure,
//! answering with its `index` and the events `accepted` before it. The engine then:
//!
//! * `sequence_gap` / `sequence_replayed`: the journal was stale (or missing); the node's
//!   message says the next expected / last accepted sequence (the API has no structured field
//!   for it, so the number is read from the message). The journal is corrected and the rest is
//!   re-signed and resent.
//! * `duplicate_event`: a different record of this event is already in the ledger. If it is
//!   this signer's (signed earlier under another sequence), the event counts as already
//!   recorded; otherwise the submission stops.
//! * `batch_too_large` / `body_too_large`: the batch is halved and resent.
//! * anything else: the submission stops with the node's code and message, naming the event.
//!
//! Rerunning after any stop (or a timeout) is safe: the journal gives every event the sequence it
//! had, so the node sees identical records and answers idempotently.

use provenance_protocol::crypto::SigningKey;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::record::{RecordError, SignedEvent};

use crate::error::{CommandError, ErrorKind};
use crate::events::PreparedEvent;
use crate::http::{ApiFailure, HttpError, NodeClient};
use crate::sequence::{JournalError, SequenceJournal};

/// Events per request unless told otherwise.
pub const DEFAULT_BATCH: usize = 100;
/// Sequence corrections in a row (without progress) before giving up.
const MAX_RESYNCS: u32 = 4;

/// One event the node accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submitted {
    pub event_hash_id: EventHashId,
    pub sequence: u64,
    /// The ledger already held this signer's record of the event (under `sequence`).
    pub already_recorded: bool,
}

/// Why a submission stopped. Events before the one named were accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SubmitError {
    #[error("cannot sign the event at {path}: {source}")]
    Sign {
        path: String,
        #[source]
        source: RecordError,
    },
    #[error("the node refused the event at {path} ({event_hash_id}): {code}: {message}")]
    Rejected {
        path: String,
        event_hash_id: EventHashId,
        code: String,
        message: String,
    },
    #[error(
        "the event at {path} ({event_hash_id}) is already in the ledger, recorded by another signer or waiting to be final; nothing to do for it"
    )]
    Duplicate {
        path: String,
        event_hash_id: EventHashId,
    },
    #[error("the node's {code} answer does not say which sequence it expects: {message:?}")]
    UnreadableSequence { code: String, message: String },
    #[error(
        "the node refused the sequence of the event at {path} {MAX_RESYNCS} times in a row (last: {message}); is another client signing with this key right now?"
    )]
    SequenceChurn { path: String, message: String },
    #[error("the node acknowledged {acknowledged} events of a batch of {sent}")]
    ShortAcknowledgement { acknowledged: usize, sent: usize },
    #[error(transparent)]
    Http(#[from] HttpError),
}

impl From<SubmitError> for CommandError {
    fn from(error: SubmitError) -> Self {
        match &error {
            SubmitError::Http(http) if http.kind() == ErrorKind::Unreachable => {
                CommandError::unreachable(error)
            }
            _ => CommandError::input(error),
        }
    }
}

/// Signs and submits events for one key on one chain.
#[derive(Debug)]
pub struct Submitter<'a> {
    client: &'a NodeClient,
    key: &'a SigningKey,
    chain_id: String,
    journal: SequenceJournal,
    batch: usize,
}

impl<'a> Submitter<'a> {
    /// A submitter sending `batch` events per request (at least 1).
    pub fn new(
        client: &'a NodeClient,
        key: &'a SigningKey,
        chain_id: String,
        journal: SequenceJournal,
        batch: usize,
    ) -> Self {
        Submitter {
            client,
            key,
            chain_id,
            journal,
            batch: batch.max(1),
        }
    }

    /// Journal problems met so far, to warn about.
    pub fn take_problems(&mut self) -> Vec<JournalError> {
        self.journal.take_problems()
    }

    /// Submits `events` in order; `progress` is called with the number done after each batch.
    pub fn submit(
        &mut self,
        events: &[PreparedEvent],
        progress: &mut dyn FnMut(usize),
    ) -> Result<Vec<Submitted>, SubmitError> {
        let mut done: Vec<Submitted> = Vec::with_capacity(events.len());
        let mut resyncs = 0;
        while done.len() < events.len() {
            let start = done.len();
            let chunk = &events[start..(start + self.batch).min(events.len())];
            let ids: Vec<EventHashId> = chunk.iter().map(|e| e.event_hash_id).collect();
            let sequences = self.journal.assign(&ids);
            let records = chunk
                .iter()
                .zip(&sequences)
                .map(|(event, &seq)| {
                    SignedEvent::sign(self.key, &self.chain_id, seq, &event.value).map_err(
                        |source| SubmitError::Sign {
                            path: event.path.clone(),
                            source,
                        },
                    )
                })
                .collect::<Result<Vec<_>, _>>()?;
            match self.client.submit(&records) {
                Ok(accepted) => {
                    if accepted.len() != records.len() {
                        return Err(SubmitError::ShortAcknowledgement {
                            acknowledged: accepted.len(),
                            sent: records.len(),
                        });
                    }
                    done.extend(ids.iter().zip(&sequences).map(|(id, seq)| Submitted {
                        event_hash_id: *id,
                        sequence: *seq,
                        already_recorded: false,
                    }));
                    resyncs = 0;
                    progress(done.len());
                }
                Err(HttpError::Api(failure))
                    if failure.index.is_some_and(|index| index < chunk.len()) =>
                {
                    let ApiFailure {
                        code,
                        message,
                        index,
                        accepted,
                        expected_sequence,
                        ..
                    } = *failure;
                    let index = index.unwrap_or_default();
                    let accepted_count = accepted.len().min(index);
                    done.extend(ids.iter().zip(&sequences).take(accepted_count).map(
                        |(id, seq)| Submitted {
                            event_hash_id: *id,
                            sequence: *seq,
                            already_recorded: false,
                        },
                    ));
                    if accepted_count > 0 {
                        resyncs = 0;
                        progress(done.len());
                    }
                    let failed = &chunk[accepted_count];
                    let rest = &ids[accepted_count..];
                    let failed_seq = sequences[accepted_count];
                    match code.as_str() {
                        "sequence_gap" => {
                            let expected = expected_sequence
                                .or_else(|| number_after(&message, "next expected is "))
                                .ok_or_else(|| unreadable(&code, &message))?;
                            self.journal.resync(expected);
                        }
                        "sequence_replayed" => {
                            let last = expected_sequence
                                .map(|next| next.saturating_sub(1))
                                .or_else(|| number_after(&message, "last accepted is "))
                                .ok_or_else(|| unreadable(&code, &message))?;
                            // Unconfirmed assignments of this batch may collide with the
                            // ledger's; they are re-signed (an event this signer already
                            // recorded shows up as a duplicate and is recognised).
                            self.journal.forget(rest);
                            self.journal.resync(last.saturating_add(1));
                        }
                        "duplicate_event" => {
                            let Some(seq) = self.own_record(&failed.event_hash_id)? else {
                                return Err(SubmitError::Duplicate {
                                    path: failed.path.clone(),
                                    event_hash_id: failed.event_hash_id,
                                });
                            };
                            self.journal.forget(rest);
                            self.journal.resync(failed_seq);
                            self.journal.record(&failed.event_hash_id, seq);
                            done.push(Submitted {
                                event_hash_id: failed.event_hash_id,
                                sequence: seq,
                                already_recorded: true,
                            });
                            resyncs = 0;
                            progress(done.len());
                            continue;
                        }
                        _ => {
                            // The failed event and the rest never reached the ledger.
                            self.journal.resync(failed_seq);
                            return Err(SubmitError::Rejected {
                                path: failed.path.clone(),
                                event_hash_id: failed.event_hash_id,
                                code,
                                message,
                            });
                        }
                    }
                    resyncs += 1;
                    if resyncs >= MAX_RESYNCS {
                        return Err(SubmitError::SequenceChurn {
                            path: failed.path.clone(),
                            message,
                        });
                    }
                }
                Err(HttpError::Api(failure))
                    if failure.status == 413
                        && self.batch > 1
                        && matches!(
                            failure.code.as_str(),
                            "batch_too_large" | "body_too_large"
                        ) =>
                {
                    // Nothing of the batch was read; the same events go again, fewer at a time.
                    self.batch = (self.batch / 2).max(1);
                }
                Err(other) => return Err(other.into()),
            }
        }
        Ok(done)
    }

    /// The sequence of this signer's record of `id` in the ledger, if the ledger has one.
    fn own_record(&self, id: &EventHashId) -> Result<Option<u64>, SubmitError> {
        let stored = self.client.event(id)?;
        Ok(stored
            .filter(|stored| stored.event.signer == self.key.public_key())
            .map(|stored| stored.event.sequence))
    }
}

fn unreadable(code: &str, message: &str) -> SubmitError {
    SubmitError::UnreadableSequence {
        code: code.to_owned(),
        message: message.to_owned(),
    }
}

/// The decimal number right after `marker` in `text`: how the sequence is recovered from a node
/// that predates the structured `expected_sequence`.
fn number_after(text: &str, marker: &str) -> Option<u64> {
    let start = text.find(marker)? + marker.len();
    let digits: String = text[start..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use serde_json::{Value, json};

    use super::*;
    use crate::http::fake;

    const EPCIS: &str = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld";

    fn events(n: usize) -> Vec<PreparedEvent> {
        (0..n)
            .map(|i| {
                let value = json!({
                    "@context": EPCIS,
                    "type": "ObjectEvent",
                    "eventTime": format!("2025-03-01T10:00:{i:02}.000Z"),
                    "eventTimeZoneOffset": "+00:00",
                    "epcList": [format!("urn:epc:id:sgtin:0614141.107346.{i}")],
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "disposition": "active"
                });
                let input = crate::epcis_tools::Input {
                    name: "e".into(),
                    text: value.to_string(),
                };
                let mut prepared = crate::events::prepare(&input).unwrap();
                let mut event = prepared.remove(0);
                event.index = i;
                event.path = format!("$[{i}]");
                event
            })
            .collect()
    }

    /// A node whose ledger is a list of (signer, sequence, event hash id) and that applies the
    /// sequence rule the way the real one does, answering with its error shape.
    #[derive(Default)]
    struct FakeLedger {
        records: Vec<SignedEvent>,
        /// Sequences used by this signer on another machine, before this test.
        prior: u64,
        reject_index: Option<usize>,
    }

    fn submit_answer(ledger: &mut FakeLedger, body: &[u8]) -> fake::Canned {
        let records: Vec<SignedEvent> = serde_json::from_slice(body).unwrap();
        let mut accepted = Vec::new();
        for (index, record) in records.into_iter().enumerate() {
            if ledger.records.contains(&record) {
                accepted.push(record.event_hash_id);
                continue;
            }
            let fail = |code: &str, message: String, accepted: &[EventHashId]| {
                let last = ledger.prior + ledger.records.len() as u64;
                let mut body = json!({"error": {"code": code, "message": message, "index": index}, "accepted": accepted});
                if code.starts_with("sequence_") {
                    body["error"]["expected_sequence"] = json!(last + 1);
                }
                (422, "application/json", body.to_string().into_bytes())
            };
            if ledger.reject_index == Some(ledger.records.len()) {
                return fail("not_custodian", "Acme does not hold it".into(), &accepted);
            }
            let last = ledger.prior + ledger.records.len() as u64;
            if record.sequence <= last {
                return fail(
                    "sequence_replayed",
                    format!(
                        "sequence {} of Acme was already used (last accepted is {last}); the event is a replay",
                        record.sequence
                    ),
                    &accepted,
                );
            }
            if record.sequence != last + 1 {
                return fail(
                    "sequence_gap",
                    format!(
                        "sequence {} of Acme skips ahead; the next expected is {}",
                        record.sequence,
                        last + 1
                    ),
                    &accepted,
                );
            }
            if ledger
                .records
                .iter()
                .any(|r| r.event_hash_id == record.event_hash_id)
            {
                return (409, "application/json", json!({"error": {"code": "duplicate_event", "message": "dup", "index": index}, "accepted": accepted}).to_string().into_bytes());
            }
            record.verify(&record.chain_id).unwrap();
            accepted.push(record.event_hash_id);
            ledger.records.push(record);
        }
        (
            202,
            "application/json",
            json!({"accepted": accepted}).to_string().into_bytes(),
        )
    }

    fn fake_node(ledger: FakeLedger) -> (NodeClient, Arc<Mutex<FakeLedger>>, fake::RequestLog) {
        let ledger = Arc::new(Mutex::new(ledger));
        let shared = Arc::clone(&ledger);
        let (base, log) = fake::serve(move |request| {
            let mut ledger = shared.lock().unwrap();
            if request.method == "POST" {
                return submit_answer(&mut ledger, &request.body);
            }
            let hex = request.path.trim_start_matches("/v1/events/");
            match ledger
                .records
                .iter()
                .find(|r| hex::encode(r.event_hash_id.as_bytes()) == hex)
            {
                Some(record) => {
                    let body = json!({"event": record, "height": 1, "leaf_index": 0, "error_declaration": Value::Null});
                    (200, "application/json", body.to_string().into_bytes())
                }
                None => (
                    404,
                    "application/json",
                    fake::error("event_not_found", "no"),
                ),
            }
        });
        let client = NodeClient::new(&base)
            .unwrap()
            .with_backoff(std::time::Duration::from_millis(1));
        (client, ledger, log)
    }

    fn journal(dir: &std::path::Path, key: &SigningKey) -> SequenceJournal {
        SequenceJournal::open(Some(SequenceJournal::path_for(
            dir,
            "test",
            &key.public_key(),
        )))
    }

    #[test]
    fn events_go_out_in_batches_with_consecutive_sequences() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed([3; 32]);
        let (client, ledger, log) = fake_node(FakeLedger::default());
        let mut submitter =
            Submitter::new(&client, &key, "test".into(), journal(dir.path(), &key), 2);
        let mut seen_progress = Vec::new();
        let done = submitter
            .submit(&events(5), &mut |n| seen_progress.push(n))
            .unwrap();
        assert_eq!(
            done.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            vec![1, 2, 3, 4, 5]
        );
        assert_eq!(seen_progress, vec![2, 4, 5]);
        assert_eq!(log.lock().unwrap().len(), 3);
        let ledger = ledger.lock().unwrap();
        assert!(ledger.records.iter().all(|r| r.signer == key.public_key()));
    }

    #[test]
    fn a_rerun_resends_identical_records_and_the_node_answers_idempotently() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed([3; 32]);
        let (client, ledger, _) = fake_node(FakeLedger::default());
        let all = events(4);
        Submitter::new(&client, &key, "test".into(), journal(dir.path(), &key), 10)
            .submit(&all[..2], &mut |_| {})
            .unwrap();
        // A new run (new journal handle) over the whole file.
        let done = Submitter::new(&client, &key, "test".into(), journal(dir.path(), &key), 10)
            .submit(&all, &mut |_| {})
            .unwrap();
        assert_eq!(
            done.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
        assert_eq!(
            ledger.lock().unwrap().records.len(),
            4,
            "nothing stored twice"
        );
    }

    #[test]
    fn a_missing_journal_catches_up_through_the_nodes_answers() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed([3; 32]);
        let (client, ledger, _) = fake_node(FakeLedger {
            prior: 41,
            ..FakeLedger::default()
        });
        let done = Submitter::new(&client, &key, "test".into(), journal(dir.path(), &key), 3)
            .submit(&events(3), &mut |_| {})
            .unwrap();
        assert_eq!(
            done.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            vec![42, 43, 44]
        );
        assert_eq!(ledger.lock().unwrap().records.len(), 3);

        // A journal that is ahead (events signed but never sent) is pulled back by a gap.
        let mut ahead = journal(dir.path(), &key);
        ahead.assign(&[
            EventHashId::from_bytes([9; 32]),
            EventHashId::from_bytes([8; 32]),
        ]);
        let more = events(5);
        let done = Submitter::new(&client, &key, "test".into(), ahead, 10)
            .submit(&more[3..], &mut |_| {})
            .unwrap();
        assert_eq!(
            done.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            vec![45, 46]
        );
    }

    #[test]
    fn an_event_already_recorded_under_another_sequence_is_recognised() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed([3; 32]);
        let (client, ledger, _) = fake_node(FakeLedger::default());
        let all = events(3);
        Submitter::new(&client, &key, "test".into(), journal(dir.path(), &key), 10)
            .submit(&all[..1], &mut |_| {})
            .unwrap();
        // The journal is lost; a new event comes first, so the old one gets another sequence
        // and the node finds it a duplicate of the record it holds.
        let other_dir = tempfile::tempdir().unwrap();
        let reordered = vec![all[1].clone(), all[0].clone(), all[2].clone()];
        let done = Submitter::new(
            &client,
            &key,
            "test".into(),
            journal(other_dir.path(), &key),
            10,
        )
        .submit(&reordered, &mut |_| {})
        .unwrap();
        assert_eq!(
            done.iter()
                .map(|s| (s.sequence, s.already_recorded))
                .collect::<Vec<_>>(),
            vec![(2, false), (1, true), (3, false)]
        );
        assert_eq!(ledger.lock().unwrap().records.len(), 3);

        // Someone else's record of the same event stops the submission.
        let stranger = SigningKey::from_seed([4; 32]);
        let err = Submitter::new(
            &client,
            &stranger,
            "test".into(),
            journal(dir.path(), &stranger),
            10,
        )
        .submit(&all[..1], &mut |_| {})
        .unwrap_err();
        assert!(
            matches!(
                err,
                SubmitError::Duplicate { .. } | SubmitError::Rejected { .. }
            ),
            "{err}"
        );
    }

    #[test]
    fn a_rule_violation_stops_at_the_event_and_releases_its_sequence() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed([3; 32]);
        let (client, ledger, _) = fake_node(FakeLedger {
            reject_index: Some(2),
            ..FakeLedger::default()
        });
        let all = events(4);
        let mut accepted = 0;
        let err = Submitter::new(&client, &key, "test".into(), journal(dir.path(), &key), 10)
            .submit(&all, &mut |n| accepted = n)
            .unwrap_err();
        assert_eq!(accepted, 2);
        assert!(
            err.to_string()
                .starts_with("the node refused the event at $[2] (ni:///sha-256;"),
            "{err}"
        );
        assert!(
            err.to_string()
                .ends_with("not_custodian: Acme does not hold it"),
            "{err}"
        );
        // The fixed file is submitted next: events 0 and 1 are identical, 2 and 3 get 3 and 4.
        ledger.lock().unwrap().reject_index = None;
        let done = Submitter::new(&client, &key, "test".into(), journal(dir.path(), &key), 10)
            .submit(&all, &mut |_| {})
            .unwrap();
        assert_eq!(
            done.iter().map(|s| s.sequence).collect::<Vec<_>>(),
            vec![1, 2, 3, 4]
        );
    }

    #[test]
    fn a_batch_too_large_for_the_node_is_halved() {
        let dir = tempfile::tempdir().unwrap();
        let key = SigningKey::from_seed([3; 32]);
        let ledger = Arc::new(Mutex::new(FakeLedger::default()));
        let shared = Arc::clone(&ledger);
        let (base, log) = fake::serve(move |request| {
            let records: Vec<SignedEvent> = serde_json::from_slice(&request.body).unwrap();
            if records.len() > 2 {
                return (
                    413,
                    "application/json",
                    fake::error("batch_too_large", "at most 2"),
                );
            }
            submit_answer(&mut shared.lock().unwrap(), &request.body)
        });
        let client = NodeClient::new(&base).unwrap();
        let done = Submitter::new(&client, &key, "test".into(), journal(dir.path(), &key), 8)
            .submit(&events(5), &mut |_| {})
            .unwrap();
        assert_eq!(done.len(), 5);
        assert_eq!(ledger.lock().unwrap().records.len(), 5);
        let sizes: Vec<usize> = log
            .lock()
            .unwrap()
            .iter()
            .map(|r| serde_json::from_slice::<Vec<Value>>(&r.body).unwrap().len())
            .collect();
        assert_eq!(sizes, vec![5, 4, 2, 2, 1]);
    }

    #[test]
    fn sequence_numbers_are_read_from_the_nodes_messages() {
        assert_eq!(
            number_after(
                "sequence 9 of X skips ahead; the next expected is 4",
                "next expected is "
            ),
            Some(4)
        );
        assert_eq!(
            number_after(
                "sequence 2 of X was already used (last accepted is 17); the event",
                "last accepted is "
            ),
            Some(17)
        );
        assert_eq!(number_after("no number here", "last accepted is "), None);
    }
}
