//! What a consumer trusts: the network's genesis document, or only its pinned hash.
//!
//! Verification trusts nothing the node says; the genesis (or its hash, checked against the
//! genesis inside the bundle) is the root every signature and certificate is traced back to.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use provenance_protocol::bundle::TrustRoot;
use provenance_protocol::genesis::{Genesis, GenesisError, GenesisHash};

use crate::config::TrustSetting;

/// Largest genesis file read (a genesis lists at most a few thousand participants).
const MAX_GENESIS_BYTES: u64 = 16 * 1024 * 1024;

/// Why the trust root could not be established. Each names the file or value at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrustError {
    #[error("cannot read genesis file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("genesis file {} is larger than {MAX_GENESIS_BYTES} bytes; is the path right?", path.display())]
    TooLarge { path: PathBuf },
    #[error("genesis file {} is not a genesis document: {reason}", path.display())]
    Malformed { path: PathBuf, reason: String },
    #[error("genesis file {} is not a valid genesis: {source}", path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        source: GenesisError,
    },
    #[error("genesis hash {value:?} is not 64 hex digits")]
    BadHash { value: String },
}

/// A trust root and the genesis hash it stands for (lowercase hex).
#[derive(Debug, Clone)]
pub struct Trust {
    pub root: TrustRoot,
    pub genesis_hash: String,
    /// The genesis document, when a file was given.
    pub genesis: Option<Genesis>,
}

impl Trust {
    /// Loads what `setting` names.
    pub fn load(setting: &TrustSetting) -> Result<Self, TrustError> {
        match setting {
            TrustSetting::File(path) => {
                let genesis = read_genesis(path)?;
                Ok(Trust {
                    genesis_hash: genesis.hash().to_string(),
                    root: TrustRoot::Genesis(Box::new(genesis.clone())),
                    genesis: Some(genesis),
                })
            }
            TrustSetting::Hash(text) => {
                let hash = parse_hash(text)?;
                Ok(Trust {
                    genesis_hash: hash.to_string(),
                    root: TrustRoot::PinnedHash(hash),
                    genesis: None,
                })
            }
        }
    }
}

/// Reads and validates a genesis document (JSON, as `provenance-node genesis` writes it).
pub fn read_genesis(path: &Path) -> Result<Genesis, TrustError> {
    let read_error = |source| TrustError::Read {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(read_error)?;
    let mut bytes = Vec::new();
    file.take(MAX_GENESIS_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    if bytes.len() as u64 > MAX_GENESIS_BYTES {
        return Err(TrustError::TooLarge {
            path: path.to_owned(),
        });
    }
    let genesis: Genesis = serde_json::from_slice(&bytes).map_err(|e| TrustError::Malformed {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    genesis.validate().map_err(|source| TrustError::Invalid {
        path: path.to_owned(),
        source,
    })?;
    Ok(genesis)
}

/// Parses a pinned genesis hash (64 hex digits, either case).
pub fn parse_hash(text: &str) -> Result<GenesisHash, TrustError> {
    let text = text.trim();
    let mut bytes = [0u8; 32];
    if text.len() != 64 || hex::decode_to_slice(text, &mut bytes).is_err() {
        return Err(TrustError::BadHash {
            value: text.to_owned(),
        });
    }
    Ok(GenesisHash(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_parse_in_either_case_and_bad_ones_are_named() {
        let hash = parse_hash(&"AB".repeat(32)).unwrap();
        assert_eq!(hash.to_string(), "ab".repeat(32));
        for bad in ["", "ab", &"zz".repeat(32)] {
            let err = parse_hash(bad).unwrap_err();
            assert!(err.to_string().contains("is not 64 hex digits"), "{err}");
        }
        let trust = Trust::load(&TrustSetting::Hash("cd".repeat(32))).unwrap();
        assert_eq!(trust.genesis_hash, "cd".repeat(32));
        assert!(matches!(trust.root, TrustRoot::PinnedHash(_)));
    }

    #[test]
    fn unreadable_malformed_and_invalid_genesis_files_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing.json");
        let err = read_genesis(&missing).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read genesis file {}", missing.display())),
            "{err}"
        );
        let garbage = dir.path().join("garbage.json");
        std::fs::write(&garbage, "{\"chain_id\": 3}").unwrap();
        let err = read_genesis(&garbage).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "genesis file {} is not a genesis document",
                garbage.display()
            )),
            "{err}"
        );
        let empty = dir.path().join("empty.json");
        std::fs::write(
            &empty,
            r#"{"chain_id":"x","genesis_time_ms":1,"participants":[],"validators":[]}"#,
        )
        .unwrap();
        let err = read_genesis(&empty).unwrap_err();
        assert!(
            err.to_string()
                .contains("is not a valid genesis: genesis lists no participants"),
            "{err}"
        );
    }
}
