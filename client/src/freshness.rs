//! What the client remembers between runs so that a node cannot hand it an old story: the
//! highest finalised header it has verified, per network.
//!
//! A bundle proves what the ledger held at its anchor, not that nothing happened since. A node
//! (or anyone replaying a saved bundle) could serve a bundle anchored before a recall. Once this
//! client has seen height `h`, a bundle anchored below `h` fails verification
//! (`VerifyOptions::min_anchor_height`), and a *different* header at a height it has seen is
//! proof that the network's finality was broken.
//!
//! Networks are keyed by genesis hash, not chain id: every dev network is called
//! `provenance-dev`, and a fresh one must not inherit the heights of the last.
//!
//! The file is a cache of evidence, not something to fail on: when it cannot be read or written
//! the caller warns on stderr and verification goes on without it.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use provenance_protocol::bundle::verdict::AnchorInfo;
use serde::{Deserialize, Serialize};

/// File name inside the state directory.
pub const HEADS_FILE: &str = "heads.json";
/// Format version of the file.
const HEADS_VERSION: u32 = 1;
/// Largest heads file read (one small entry per network).
const MAX_HEADS_BYTES: u64 = 4 * 1024 * 1024;

/// The highest verified header of one network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownHead {
    pub chain_id: String,
    pub height: u64,
    /// Lowercase hex.
    pub header_hash: String,
    /// Block time, RFC 3339.
    pub time: String,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct HeadsFile {
    version: u32,
    /// By genesis hash (lowercase hex).
    heads: BTreeMap<String, KnownHead>,
}

/// Why the heads file could not be used. The caller turns these into warnings.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HeadsError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{} is not a heads file this client understands ({reason}); it will be replaced", path.display())]
    Corrupt { path: PathBuf, reason: String },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A conflict between what the client remembers and what a bundle claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConflictingHead {
    pub height: u64,
    pub remembered: String,
    pub presented: String,
}

/// The remembered heads, loaded from (and saved to) one file.
#[derive(Debug, Clone)]
pub struct HeadStore {
    path: PathBuf,
    heads: BTreeMap<String, KnownHead>,
}

impl HeadStore {
    /// Loads `dir/heads.json`. A missing file is an empty store; an unreadable or corrupt one is
    /// an empty store plus the error to warn about.
    pub fn load(dir: &Path) -> (Self, Option<HeadsError>) {
        let path = dir.join(HEADS_FILE);
        let (heads, problem) = match read_heads(&path) {
            Ok(heads) => (heads, None),
            Err(problem) => (BTreeMap::new(), Some(problem)),
        };
        (HeadStore { path, heads }, problem)
    }

    /// The file this store reads and writes.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The remembered head of the network with this genesis hash.
    pub fn known(&self, genesis_hash: &str) -> Option<&KnownHead> {
        self.heads.get(&genesis_hash.to_ascii_lowercase())
    }

    /// The lowest anchor height acceptable for this network: the remembered one.
    pub fn min_height(&self, genesis_hash: &str) -> Option<u64> {
        self.known(genesis_hash).map(|head| head.height)
    }

    /// A header hash at an already remembered height that differs from the remembered one.
    pub fn conflict(&self, genesis_hash: &str, anchor: &AnchorInfo) -> Option<ConflictingHead> {
        let known = self.known(genesis_hash)?;
        (known.height == anchor.height
            && !known.header_hash.eq_ignore_ascii_case(&anchor.header_hash))
        .then(|| ConflictingHead {
            height: known.height,
            remembered: known.header_hash.clone(),
            presented: anchor.header_hash.clone(),
        })
    }

    /// Remembers `anchor` if it is higher than what is known; true when something changed.
    pub fn record(&mut self, genesis_hash: &str, chain_id: &str, anchor: &AnchorInfo) -> bool {
        let head = KnownHead {
            chain_id: chain_id.to_owned(),
            height: anchor.height,
            header_hash: anchor.header_hash.to_ascii_lowercase(),
            time: anchor.time.clone(),
        };
        merge(&mut self.heads, genesis_hash.to_ascii_lowercase(), head)
    }

    /// Writes the store, merged with whatever another process wrote meanwhile (the highest
    /// head per network wins), atomically (temporary file, fsync, rename).
    pub fn save(&self) -> Result<(), HeadsError> {
        let write_error = |source| HeadsError::Write {
            path: self.path.clone(),
            source,
        };
        let mut heads = read_heads(&self.path).unwrap_or_default();
        for (genesis, head) in &self.heads {
            merge(&mut heads, genesis.clone(), head.clone());
        }
        let file = HeadsFile {
            version: HEADS_VERSION,
            heads,
        };
        let mut text =
            serde_json::to_vec_pretty(&file).map_err(|e| write_error(std::io::Error::other(e)))?;
        text.push(b'\n');
        write_atomically(&self.path, &text).map_err(write_error)
    }
}

/// Keeps the higher of the two heads; true when `head` replaced or added an entry.
fn merge(heads: &mut BTreeMap<String, KnownHead>, genesis: String, head: KnownHead) -> bool {
    match heads.get(&genesis) {
        Some(known) if known.height >= head.height => false,
        _ => {
            heads.insert(genesis, head);
            true
        }
    }
}

fn read_heads(path: &Path) -> Result<BTreeMap<String, KnownHead>, HeadsError> {
    use std::io::Read as _;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(HeadsError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let mut bytes = Vec::new();
    file.take(MAX_HEADS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| HeadsError::Read {
            path: path.to_owned(),
            source,
        })?;
    let corrupt = |reason: String| HeadsError::Corrupt {
        path: path.to_owned(),
        reason,
    };
    if bytes.len() as u64 > MAX_HEADS_BYTES {
        return Err(corrupt(format!("larger than {MAX_HEADS_BYTES} bytes")));
    }
    let file: HeadsFile = serde_json::from_slice(&bytes).map_err(|e| corrupt(e.to_string()))?;
    if file.version != HEADS_VERSION {
        return Err(corrupt(format!("version {}", file.version)));
    }
    Ok(file.heads)
}

/// Writes `bytes` to `path` through a temporary file in the same directory, so readers see the
/// old or the new content and never a torn file. Creates the directory if needed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)?;
        #[cfg(unix)]
        std::fs::File::open(dir)?.sync_all()?;
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchor(height: u64, hash: &str) -> AnchorInfo {
        AnchorInfo {
            height,
            time_ms: 1_000 * height,
            time: format!("2025-01-01T00:00:{height:02}Z"),
            header_hash: hash.to_owned(),
            log_size: height * 3,
            signed_power: 1,
            total_power: 1,
        }
    }

    #[test]
    fn remembers_the_highest_head_per_genesis_across_loads() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, problem) = HeadStore::load(dir.path());
        assert!(problem.is_none());
        assert_eq!(store.min_height("aa"), None);
        assert!(store.record("AA", "dev", &anchor(5, "h5")));
        assert!(
            !store.record("aa", "dev", &anchor(3, "h3")),
            "lower is ignored"
        );
        assert!(store.record("bb", "dev", &anchor(2, "x2")));
        store.save().unwrap();

        let (loaded, problem) = HeadStore::load(dir.path());
        assert!(problem.is_none());
        assert_eq!(loaded.min_height("aa"), Some(5));
        assert_eq!(loaded.known("aa").unwrap().header_hash, "h5");
        assert_eq!(loaded.min_height("bb"), Some(2));
    }

    #[test]
    fn saving_merges_with_a_concurrent_writer() {
        let dir = tempfile::tempdir().unwrap();
        let (mut first, _) = HeadStore::load(dir.path());
        let (mut second, _) = HeadStore::load(dir.path());
        first.record("aa", "dev", &anchor(9, "h9"));
        first.save().unwrap();
        second.record("aa", "dev", &anchor(4, "h4"));
        second.record("cc", "other", &anchor(1, "c1"));
        second.save().unwrap();
        let (loaded, _) = HeadStore::load(dir.path());
        assert_eq!(loaded.min_height("aa"), Some(9), "the higher head survives");
        assert_eq!(loaded.min_height("cc"), Some(1));
    }

    #[test]
    fn a_different_header_at_a_remembered_height_is_a_conflict() {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = HeadStore::load(dir.path());
        store.record("aa", "dev", &anchor(5, "abc"));
        assert_eq!(store.conflict("aa", &anchor(5, "ABC")), None);
        assert_eq!(store.conflict("aa", &anchor(6, "zzz")), None);
        assert_eq!(
            store.conflict("aa", &anchor(5, "def")),
            Some(ConflictingHead {
                height: 5,
                remembered: "abc".into(),
                presented: "def".into()
            })
        );
    }

    #[test]
    fn corrupt_or_unwritable_files_are_reported_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(HEADS_FILE), "{not json").unwrap();
        let (mut store, problem) = HeadStore::load(dir.path());
        assert!(
            matches!(problem, Some(HeadsError::Corrupt { .. })),
            "{problem:?}"
        );
        assert_eq!(store.min_height("aa"), None);
        store.record("aa", "dev", &anchor(1, "h"));
        store.save().unwrap();
        assert_eq!(HeadStore::load(dir.path()).0.min_height("aa"), Some(1));

        // A state "directory" that is a file cannot be written.
        let blocker = dir.path().join("blocker");
        std::fs::write(&blocker, "").unwrap();
        let (mut store, _) = HeadStore::load(&blocker);
        store.record("aa", "dev", &anchor(1, "h"));
        let err = store.save().unwrap_err();
        assert!(err.to_string().starts_with("cannot write "), "{err}");
    }
}
