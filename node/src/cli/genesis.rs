//! `provenance-node genesis`: builds a network's genesis from a participants file.
//!
//! The participants file is what a genesis coordinator collects from each organisation; keys may
//! be given as hex, as `did:key`, or as a path to a key file (convenient on a test machine where
//! `init` created them). Output is the validated genesis as pretty JSON, and its hash on stdout
//! (the value consumers pin). An existing output file is never replaced: a genesis in use must
//! not silently change.
//!
//! ```toml
//! chain_id = "provenance-coffee"
//! # genesis_time_ms = 1767225600000   # optional; default: now
//!
//! [[participants]]
//! name = "Nordic Roasters AB"
//! roles = ["manufacturer", "validator"]
//! signing_key = "did:key:z6Mk..."
//! network_key = "keys/roaster-node.key"
//! company_prefixes = ["0614142"]
//!
//! [[validators]]
//! participant = "Nordic Roasters AB"
//! power = 1
//!
//! # [params] block_interval_ms, max_block_events, max_clock_skew_ms, validator_change_delay
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use provenance_client::keyfile;
use provenance_protocol::crypto::PublicKey;
use provenance_protocol::genesis::{
    ConsensusParams, Genesis, GenesisError, GenesisValidator, Participant, Role,
};
use serde::Deserialize;

/// Why a participants file does not make a genesis. Each names the file and the entry.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParticipantsError {
    #[error("cannot read participants file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("participants file {}: {message}", path.display())]
    Parse { path: PathBuf, message: String },
    #[error("participants file {}: participant {participant:?}: invalid {field}: {message}", path.display())]
    Key {
        path: PathBuf,
        participant: String,
        field: &'static str,
        message: String,
    },
    #[error("participants file {} does not make a valid genesis: {source}", path.display())]
    Invalid {
        path: PathBuf,
        #[source]
        source: GenesisError,
    },
    #[error("refusing to overwrite existing file {}; remove it or choose another --out", path.display())]
    OutExists { path: PathBuf },
}

/// The participants file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipantsFile {
    chain_id: String,
    genesis_time_ms: Option<u64>,
    participants: Vec<ParticipantEntry>,
    validators: Vec<GenesisValidator>,
    #[serde(default)]
    params: ConsensusParams,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ParticipantEntry {
    name: String,
    roles: Vec<Role>,
    /// Hex, did:key, or a key file path.
    signing_key: String,
    /// Hex, did:key, or a key file path.
    network_key: String,
    #[serde(default)]
    company_prefixes: Vec<String>,
}

pub(super) fn genesis(
    participants: &Path,
    out_path: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .context("the system clock is before 1970")?;
    let genesis = build(participants, now_ms)?;
    write_new(out_path, &genesis)?;
    eprintln!(
        "wrote genesis of chain {:?} ({} participants, {} validators) to {}",
        genesis.chain_id,
        genesis.participants.len(),
        genesis.validators.len(),
        out_path.display()
    );
    writeln!(out, "{}", genesis.hash())?;
    Ok(())
}

/// Reads, resolves and validates a participants file. `now_ms` dates the genesis when the file
/// does not.
fn build(path: &Path, now_ms: u64) -> Result<Genesis, ParticipantsError> {
    let text = std::fs::read_to_string(path).map_err(|source| ParticipantsError::Read {
        path: path.to_owned(),
        source,
    })?;
    let file = parse(path, &text)?;
    let base = path.parent().unwrap_or(Path::new("."));
    let participants = file
        .participants
        .into_iter()
        .map(|entry| {
            let key = |field, spec: &str| {
                resolve_key(spec, base).map_err(|message| ParticipantsError::Key {
                    path: path.to_owned(),
                    participant: entry.name.clone(),
                    field,
                    message,
                })
            };
            Ok(Participant {
                signing_key: key("signing_key", &entry.signing_key)?,
                network_key: key("network_key", &entry.network_key)?,
                name: entry.name,
                roles: entry.roles,
                company_prefixes: entry.company_prefixes,
            })
        })
        .collect::<Result<Vec<_>, ParticipantsError>>()?;
    let genesis = Genesis {
        chain_id: file.chain_id,
        genesis_time_ms: file.genesis_time_ms.unwrap_or(now_ms),
        participants,
        validators: file.validators,
        params: file.params,
    };
    genesis
        .validate()
        .map_err(|source| ParticipantsError::Invalid {
            path: path.to_owned(),
            source,
        })?;
    Ok(genesis)
}

/// JSON if the name ends in `.json` or the text starts with `{`; TOML otherwise.
fn parse(path: &Path, text: &str) -> Result<ParticipantsFile, ParticipantsError> {
    let parse_error = |message| ParticipantsError::Parse {
        path: path.to_owned(),
        message,
    };
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        || text.trim_start().starts_with('{');
    if is_json {
        serde_json::from_str(text).map_err(|e| parse_error(e.to_string()))
    } else {
        toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|span| text.get(..span.start).unwrap_or(text).matches('\n').count() + 1);
            parse_error(match line {
                Some(line) => format!("line {line}: {}", e.message()),
                None => e.message().to_owned(),
            })
        })
    }
}

/// A key given as `did:key:…`, 64 hex digits, or a path to a key file (relative to `base`).
fn resolve_key(spec: &str, base: &Path) -> Result<PublicKey, String> {
    let spec = spec.trim();
    if spec.starts_with("did:") {
        return PublicKey::from_did_key(spec).map_err(|e| e.to_string());
    }
    if spec.len() == 64 && spec.bytes().all(|b| b.is_ascii_hexdigit()) {
        return spec
            .parse()
            .map_err(|e: provenance_protocol::crypto::PublicKeyError| e.to_string());
    }
    keyfile::load_key_file(&base.join(spec))
        .map(|key| key.public_key())
        .map_err(|e| format!("not hex or did:key, and not a usable key file: {e}"))
}

/// Writes the genesis as pretty JSON to a file that must not exist yet.
fn write_new(path: &Path, genesis: &Genesis) -> anyhow::Result<()> {
    let mut json = serde_json::to_string_pretty(genesis).context("cannot encode the genesis")?;
    json.push('\n');
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ParticipantsError::OutExists {
                path: path.to_owned(),
            }
            .into());
        }
        Err(e) => return Err(e).with_context(|| format!("cannot create {}", path.display())),
    };
    if let Err(e) = file
        .write_all(json.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        // This call created the file; removing the partial file destroys nothing else.
        let _ = std::fs::remove_file(path);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_protocol::crypto::SigningKey;

    const T: u64 = 1_767_225_600_000;

    fn key(seed: u8) -> PublicKey {
        SigningKey::from_seed([seed; 32]).public_key()
    }

    fn toml_file(dir: &Path) -> PathBuf {
        keyfile::create_key_file(&dir.join("farm.key"), &SigningKey::from_seed([3; 32])).unwrap();
        let text = format!(
            r#"
chain_id = "provenance-test"

[[participants]]
name = "Roaster"
roles = ["manufacturer", "validator"]
signing_key = "{}"
network_key = "{}"
company_prefixes = ["0614142"]

[[participants]]
name = "Farm"
roles = ["manufacturer"]
signing_key = "farm.key"
network_key = "{}"
company_prefixes = ["0614141"]

[[validators]]
participant = "Roaster"
power = 1
"#,
            key(1).to_did_key(),
            key(2),
            key(4).to_did_key()
        );
        let path = dir.join("participants.toml");
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn toml_with_every_key_form_builds_a_valid_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = build(&toml_file(dir.path()), T).unwrap();
        assert_eq!(genesis.genesis_time_ms, T);
        assert_eq!(genesis.participant("Roaster").unwrap().signing_key, key(1));
        assert_eq!(genesis.participant("Roaster").unwrap().network_key, key(2));
        assert_eq!(genesis.participant("Farm").unwrap().signing_key, key(3));
        assert_eq!(genesis.params, ConsensusParams::default());
    }

    #[test]
    fn json_gives_the_same_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let from_toml = build(&toml_file(dir.path()), T).unwrap();
        let json = serde_json::json!({
            "chain_id": "provenance-test",
            "genesis_time_ms": T,
            "participants": [
                {"name": "Roaster", "roles": ["manufacturer", "validator"],
                 "signing_key": key(1).to_string(), "network_key": key(2).to_string(),
                 "company_prefixes": ["0614142"]},
                {"name": "Farm", "roles": ["manufacturer"],
                 "signing_key": key(3).to_did_key(), "network_key": key(4).to_string(),
                 "company_prefixes": ["0614141"]}
            ],
            "validators": [{"participant": "Roaster", "power": 1}]
        });
        let path = dir.path().join("p.json");
        std::fs::write(&path, json.to_string()).unwrap();
        assert_eq!(build(&path, 0).unwrap().hash(), from_toml.hash());
    }

    #[test]
    fn problems_name_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let path = toml_file(dir.path());
        let text = std::fs::read_to_string(&path).unwrap();

        std::fs::write(&path, text.replace("farm.key", "missing.key")).unwrap();
        let err = build(&path, T).unwrap_err().to_string();
        assert!(
            err.contains("participant \"Farm\": invalid signing_key"),
            "{err}"
        );
        assert!(err.contains("missing.key"), "{err}");

        std::fs::write(&path, text.replace("power = 1", "power = 1\nweight = 2")).unwrap();
        let err = build(&path, T).unwrap_err().to_string();
        assert!(err.contains("weight"), "{err}");

        std::fs::write(
            &path,
            text.replace("participant = \"Roaster\"", "participant = \"Farm\""),
        )
        .unwrap();
        let err = build(&path, T).unwrap_err();
        assert!(matches!(err, ParticipantsError::Invalid { .. }), "{err}");
        assert!(err.to_string().contains("\"Farm\""), "{err}");
    }

    #[test]
    fn output_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let participants = toml_file(dir.path());
        let out_path = dir.path().join("genesis.json");
        let mut out = Vec::new();
        genesis(&participants, &out_path, &mut out).unwrap();
        let hash = String::from_utf8(out).unwrap();
        let written: Genesis =
            serde_json::from_str(&std::fs::read_to_string(&out_path).unwrap()).unwrap();
        assert_eq!(hash.trim(), written.hash().to_string());

        let before = std::fs::read(&out_path).unwrap();
        let err = genesis(&participants, &out_path, &mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().starts_with("refusing to overwrite"),
            "{err}"
        );
        assert_eq!(std::fs::read(&out_path).unwrap(), before);
    }
}
