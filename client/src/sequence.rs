//! The per-signer sequence journal: which sequence number this key gave each event it signed.
//!
//! Every event a participant signs carries a sequence number exactly one above the signer's
//! last accepted one. Two properties matter:
//!
//! * **Idempotent retries.** Ed25519 signatures are deterministic, so the same event signed
//!   with the same sequence is the same record byte for byte, and the node accepts an identical
//!   resubmission without storing it twice. The journal makes sure an event is always signed
//!   with the sequence it was first given: a submission that timed out, a crashed import, a
//!   rerun of the same file all resend identical records. Assignments are written (and fsynced)
//!   *before* the records are sent.
//! * **The node is the authority.** When the journal is missing (another machine, a wiped state
//!   directory) or stale, the node says so (`sequence_gap`: the next expected is N;
//!   `sequence_replayed`: the last accepted is N) and the journal is corrected with
//!   [`SequenceJournal::resync`].
//!
//! One append-only JSON-lines file per signer and chain:
//! `<state dir>/sequences/<chain id>/<public key hex>.jsonl`, with three kinds of line:
//!
//! ```text
//! {"event":"<event hash hex>","seq":7}   this event was signed with sequence 7
//! {"next":5}                             the node expects 5: assignments >= 5 are void
//! {"drop":"<event hash hex>"}            this event's assignment is void
//! ```
//!
//! A file that cannot be written is not fatal: the journal goes on in memory and the caller
//! warns (the node's answers still correct the sequence; only retry idempotence across runs is
//! lost).

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};

use provenance_protocol::crypto::PublicKey;
use provenance_protocol::event_hash::EventHashId;
use serde::{Deserialize, Serialize};

/// Sub-directory of the state directory holding the journals.
pub const SEQUENCES_DIR: &str = "sequences";
/// Compaction happens on open when the file has this many more lines than live entries.
const COMPACT_SLACK: usize = if cfg!(test) { 100 } else { 10_000 };

/// Why the journal could not be read or written. The caller warns; nothing fails on it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum JournalError {
    #[error("cannot read the sequence journal {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the sequence journal {}: {source}; sequences are tracked in memory for this run only", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("sequence journal {} line {line} is unreadable and was skipped", path.display())]
    BadLine { path: PathBuf, line: usize },
    #[error(
        "no state directory (set --state-dir, PROVENANCE_STATE_DIR, XDG_STATE_HOME or HOME); sequences are tracked in memory for this run only"
    )]
    NoStateDir,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(untagged)]
enum Line {
    Assigned {
        #[serde(with = "hex32")]
        event: [u8; 32],
        seq: u64,
    },
    Next {
        next: u64,
    },
    Drop {
        #[serde(with = "hex32")]
        drop: [u8; 32],
    },
}

mod hex32 {
    pub fn serialize<S: serde::Serializer>(bytes: &[u8; 32], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(bytes))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(&text, &mut bytes).map_err(serde::de::Error::custom)?;
        Ok(bytes)
    }
}

/// The sequence assignments of one signer on one chain.
#[derive(Debug)]
pub struct SequenceJournal {
    path: Option<PathBuf>,
    file: Option<File>,
    assigned: HashMap<[u8; 32], u64>,
    next: u64,
    problems: Vec<JournalError>,
}

impl SequenceJournal {
    /// The journal file of `signer` on `chain_id` under `state_dir`.
    pub fn path_for(state_dir: &Path, chain_id: &str, signer: &PublicKey) -> PathBuf {
        // Chain ids are `[a-z0-9.-]`; anything else (a node that lies) is made safe anyway.
        let chain: String = chain_id
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        state_dir
            .join(SEQUENCES_DIR)
            .join(chain)
            .join(format!("{}.jsonl", hex::encode(signer.as_bytes())))
    }

    /// Opens (creating if needed) the journal at `path`, or an in-memory one without a path.
    /// Problems are kept for [`Self::take_problems`].
    pub fn open(path: Option<PathBuf>) -> Self {
        let mut journal = SequenceJournal {
            path: path.clone(),
            file: None,
            assigned: HashMap::new(),
            next: 1,
            problems: Vec::new(),
        };
        let Some(path) = path else {
            journal.problems.push(JournalError::NoStateDir);
            return journal;
        };
        let lines = match journal.replay(&path) {
            Ok(lines) => lines,
            Err(problem) => {
                journal.problems.push(problem);
                0
            }
        };
        if lines > journal.assigned.len() + COMPACT_SLACK
            && let Err(source) = journal.compact(&path)
        {
            journal.problems.push(JournalError::Write {
                path: path.clone(),
                source,
            });
        }
        let opened = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| OpenOptions::new().create(true).append(true).open(&path));
        match opened {
            Ok(file) => journal.file = Some(file),
            Err(source) => journal.problems.push(JournalError::Write { path, source }),
        }
        journal
    }

    /// Applies the file's lines; returns how many there were.
    fn replay(&mut self, path: &Path) -> Result<usize, JournalError> {
        let file = match File::open(path) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(source) => {
                return Err(JournalError::Read {
                    path: path.to_owned(),
                    source,
                });
            }
        };
        let mut count = 0;
        for (number, line) in BufReader::new(file).lines().enumerate() {
            let line = line.map_err(|source| JournalError::Read {
                path: path.to_owned(),
                source,
            })?;
            count += 1;
            match serde_json::from_str::<Line>(&line) {
                Ok(line) => self.apply(&line),
                // A torn last line after a crash is expected; anything else is worth a word.
                Err(_) => self.problems.push(JournalError::BadLine {
                    path: path.to_owned(),
                    line: number + 1,
                }),
            }
        }
        Ok(count)
    }

    fn apply(&mut self, line: &Line) {
        match *line {
            Line::Assigned { event, seq } => {
                self.assigned.insert(event, seq);
                self.next = self.next.max(seq.saturating_add(1));
            }
            Line::Next { next } => {
                self.assigned.retain(|_, seq| *seq < next);
                self.next = next.max(1);
            }
            Line::Drop { drop } => {
                self.assigned.remove(&drop);
            }
        }
    }

    /// Rewrites the file with only the live assignments.
    fn compact(&self, path: &Path) -> std::io::Result<()> {
        let mut entries: Vec<_> = self.assigned.iter().collect();
        entries.sort_by_key(|(_, seq)| **seq);
        let mut text = Vec::new();
        for (event, seq) in entries {
            serde_json::to_writer(
                &mut text,
                &Line::Assigned {
                    event: *event,
                    seq: *seq,
                },
            )?;
            text.push(b'\n');
        }
        serde_json::to_writer(&mut text, &Line::Next { next: self.next })?;
        text.push(b'\n');
        crate::freshness::write_atomically(path, &text)
    }

    /// Appends lines and fsyncs; on failure the journal continues in memory.
    fn persist(&mut self, lines: &[Line]) {
        let Some(file) = self.file.as_mut() else {
            return;
        };
        let mut text = Vec::new();
        for line in lines {
            // Serialising these plain structs cannot fail.
            let _ = serde_json::to_writer(&mut text, line);
            text.push(b'\n');
        }
        if let Err(source) = file.write_all(&text).and_then(|()| file.sync_data()) {
            self.file = None;
            self.problems.push(JournalError::Write {
                path: self.path.clone().unwrap_or_default(),
                source,
            });
        }
    }

    /// The sequence of each event: the one it was given before, else the next free one.
    /// New assignments are durable before this returns (unless the journal is memory-only).
    pub fn assign(&mut self, ids: &[EventHashId]) -> Vec<u64> {
        let mut new = Vec::new();
        let sequences = ids
            .iter()
            .map(|id| {
                let key = *id.as_bytes();
                *self.assigned.entry(key).or_insert_with(|| {
                    let seq = self.next;
                    self.next += 1;
                    new.push(Line::Assigned { event: key, seq });
                    seq
                })
            })
            .collect();
        self.persist(&new);
        sequences
    }

    /// Records an event's sequence as the ledger holds it (found on the node).
    pub fn record(&mut self, id: &EventHashId, seq: u64) {
        let line = Line::Assigned {
            event: *id.as_bytes(),
            seq,
        };
        self.apply(&line);
        self.persist(&[line]);
    }

    /// The node expects `next`: every assignment at or above it never reached the ledger.
    pub fn resync(&mut self, next: u64) {
        let line = Line::Next { next };
        self.apply(&line);
        self.persist(&[line]);
    }

    /// Voids the assignment of these events (the ledger holds other events at their sequences).
    pub fn forget(&mut self, ids: &[EventHashId]) {
        let lines: Vec<Line> = ids
            .iter()
            .filter(|id| self.assigned.contains_key(id.as_bytes()))
            .map(|id| Line::Drop {
                drop: *id.as_bytes(),
            })
            .collect();
        for line in &lines {
            self.apply(line);
        }
        self.persist(&lines);
    }

    /// The sequence this event was given, if any.
    pub fn sequence_of(&self, id: &EventHashId) -> Option<u64> {
        self.assigned.get(id.as_bytes()).copied()
    }

    /// The next sequence a new event gets.
    pub fn next(&self) -> u64 {
        self.next
    }

    /// Problems met so far (each reported once).
    pub fn take_problems(&mut self) -> Vec<JournalError> {
        std::mem::take(&mut self.problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_protocol::crypto::SigningKey;

    fn id(n: u8) -> EventHashId {
        EventHashId::from_bytes([n; 32])
    }

    fn journal(dir: &Path) -> SequenceJournal {
        let signer = SigningKey::from_seed([1; 32]).public_key();
        let mut journal =
            SequenceJournal::open(Some(SequenceJournal::path_for(dir, "dev-1", &signer)));
        assert!(journal.take_problems().is_empty());
        journal
    }

    #[test]
    fn an_event_keeps_its_sequence_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = journal(dir.path());
        assert_eq!(first.assign(&[id(1), id(2), id(3)]), vec![1, 2, 3]);
        drop(first);
        let mut second = journal(dir.path());
        assert_eq!(second.assign(&[id(2), id(4), id(1)]), vec![2, 4, 1]);
        assert_eq!(second.next(), 5);
    }

    #[test]
    fn resync_voids_what_the_node_never_got() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal1 = journal(dir.path());
        journal1.assign(&[id(1), id(2), id(3), id(4)]);
        // The node expects 3: events 3 and 4 never arrived.
        journal1.resync(3);
        assert_eq!(journal1.sequence_of(&id(2)), Some(2));
        assert_eq!(journal1.sequence_of(&id(3)), None);
        assert_eq!(journal1.assign(&[id(4), id(3)]), vec![3, 4]);
        drop(journal1);
        let reopened = journal(dir.path());
        assert_eq!(reopened.sequence_of(&id(4)), Some(3));
        assert_eq!(reopened.sequence_of(&id(3)), Some(4));
        assert_eq!(reopened.next(), 5);
    }

    #[test]
    fn a_lost_journal_catches_up_from_the_node() {
        let dir = tempfile::tempdir().unwrap();
        let mut journal1 = journal(dir.path());
        assert_eq!(journal1.assign(&[id(9), id(10)]), vec![1, 2]);
        // sequence_replayed: the last accepted is 41.
        journal1.forget(&[id(9), id(10)]);
        journal1.resync(42);
        assert_eq!(journal1.assign(&[id(9), id(10)]), vec![42, 43]);
        journal1.record(&id(7), 40);
        assert_eq!(journal1.sequence_of(&id(7)), Some(40));
        drop(journal1);
        let reopened = journal(dir.path());
        assert_eq!(reopened.sequence_of(&id(9)), Some(42));
        assert_eq!(reopened.next(), 44);
    }

    #[test]
    fn torn_lines_are_skipped_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        let signer = SigningKey::from_seed([1; 32]).public_key();
        let path = SequenceJournal::path_for(dir.path(), "dev-1", &signer);
        let mut first = SequenceJournal::open(Some(path.clone()));
        first.assign(&[id(1)]);
        drop(first);
        let mut file = OpenOptions::new().append(true).open(&path).unwrap();
        file.write_all(b"{\"event\":\"ab").unwrap();
        drop(file);
        let mut reopened = SequenceJournal::open(Some(path));
        let problems = reopened.take_problems();
        assert!(
            matches!(problems.as_slice(), [JournalError::BadLine { line: 2, .. }]),
            "{problems:?}"
        );
        assert_eq!(reopened.sequence_of(&id(1)), Some(1));
    }

    #[test]
    fn an_unwritable_journal_works_in_memory_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("file");
        std::fs::write(&blocker, "").unwrap();
        let mut journal = SequenceJournal::open(Some(blocker.join("x.jsonl")));
        assert!(!journal.take_problems().is_empty());
        assert_eq!(journal.assign(&[id(1), id(2)]), vec![1, 2]);
        let mut memory = SequenceJournal::open(None);
        assert!(matches!(
            memory.take_problems().as_slice(),
            [JournalError::NoStateDir]
        ));
        assert_eq!(memory.assign(&[id(5)]), vec![1]);
    }

    #[test]
    fn large_journals_are_compacted_on_open() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = journal(dir.path());
        for round in 0..(COMPACT_SLACK / 2 + 10) {
            first.assign(&[id(1)]);
            first.resync(1);
            assert_eq!(first.next(), 1, "{round}");
        }
        first.assign(&[id(2)]);
        drop(first);
        let signer = SigningKey::from_seed([1; 32]).public_key();
        let path = SequenceJournal::path_for(dir.path(), "dev-1", &signer);
        let before = std::fs::read_to_string(&path).unwrap().lines().count();
        let reopened = journal(dir.path());
        let after = std::fs::read_to_string(&path).unwrap().lines().count();
        assert!(after < 5 && before > COMPACT_SLACK, "{before} -> {after}");
        assert_eq!(reopened.sequence_of(&id(2)), Some(1));
        assert_eq!(reopened.next(), 2);
    }

    #[test]
    fn chain_ids_cannot_escape_the_state_directory() {
        let signer = SigningKey::from_seed([1; 32]).public_key();
        let path = SequenceJournal::path_for(Path::new("/s"), "../../etc", &signer);
        assert!(
            path.starts_with("/s/sequences/______etc"),
            "{}",
            path.display()
        );
    }
}
