//! `provenance-node init`: prepares a data directory for a new node.
//!
//! It creates what a node needs before it can join a network (its network key, its
//! organisation's signing key, a config file with every default written out) and never replaces
//! anything that exists: a key is an identity other parties may already have registered, and a
//! config file may hold the operator's edits. Running it twice is harmless.

use std::io::Write;
use std::path::Path;

use anyhow::Context as _;
use provenance_client::keyfile::{self, KeyFileError};
use provenance_protocol::crypto::SigningKey;

use crate::config::{CONFIG_FILE, NODE_KEY_FILE, NodeConfig, SIGNING_KEY_FILE};

/// What happened to one file or directory.
fn status(created: bool) -> &'static str {
    if created { "created" } else { "kept" }
}

pub(super) fn init(data_dir: &Path, out: &mut dyn Write) -> anyhow::Result<()> {
    let data_dir = std::path::absolute(data_dir)
        .with_context(|| format!("cannot resolve data directory {}", data_dir.display()))?;
    let dir_created = !data_dir.exists();
    create_private_dir(&data_dir)
        .with_context(|| format!("cannot create data directory {}", data_dir.display()))?;

    let node_key_path = data_dir.join(NODE_KEY_FILE);
    let (node_key, node_created) = load_or_create(&node_key_path)?;
    let signing_key_path = data_dir.join(SIGNING_KEY_FILE);
    let (signing_key, signing_created) = load_or_create(&signing_key_path)?;

    let mut config = NodeConfig::for_data_dir(data_dir.clone());
    config.signing_key = Some(signing_key_path.clone());
    let config_path = data_dir.join(CONFIG_FILE);
    let config_created = write_if_absent(&config_path, &config_text(&config)?)
        .with_context(|| format!("cannot write {}", config_path.display()))?;

    writeln!(
        out,
        "data directory  {} ({})",
        data_dir.display(),
        status(dir_created)
    )?;
    writeln!(
        out,
        "node key        {} ({})  {}",
        node_key_path.display(),
        status(node_created),
        node_key.public_key().to_did_key()
    )?;
    writeln!(
        out,
        "signing key     {} ({})  {}",
        signing_key_path.display(),
        status(signing_created),
        signing_key.public_key().to_did_key()
    )?;
    writeln!(
        out,
        "config          {} ({})",
        config_path.display(),
        status(config_created)
    )?;
    writeln!(out)?;
    writeln!(out, "Next:")?;
    writeln!(
        out,
        "  1. Send the signing key's did:key (and the node key's, as network_key) to your network's genesis coordinator."
    )?;
    writeln!(
        out,
        "  2. Put the network's genesis at {}.",
        config.genesis.display()
    )?;
    writeln!(
        out,
        "  3. provenance-node run --config {}",
        config_path.display()
    )?;
    Ok(())
}

fn config_text(config: &NodeConfig) -> anyhow::Result<String> {
    Ok(format!(
        "# Written by `provenance-node init`. Every key is explained in config.example.toml.\n{}",
        config.to_toml_redacted()?
    ))
}

/// Loads the key at `path`, or generates one there; the flag says whether it was created.
fn load_or_create(path: &Path) -> Result<(SigningKey, bool), KeyFileError> {
    if path.symlink_metadata().is_ok() {
        return Ok((keyfile::load_key_file(path)?, false));
    }
    match keyfile::generate_key_file(path) {
        Ok(key) => Ok((key, true)),
        // Created by someone else in between: use it, never replace it.
        Err(KeyFileError::AlreadyExists { .. }) => Ok((keyfile::load_key_file(path)?, false)),
        Err(e) => Err(e),
    }
}

/// Writes `text` to `path` unless something exists there; says whether it wrote.
fn write_if_absent(path: &Path, text: &str) -> std::io::Result<bool> {
    let mut file = match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(e) => return Err(e),
    };
    if let Err(e) = file
        .write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
    {
        drop(file);
        // This call created the file; removing the partial file destroys nothing else.
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(true)
}

/// Creates `dir` and its parents; a new directory is private (0700 on Unix) since it holds keys.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt as _;
        builder.mode(0o700);
    }
    builder.create(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn init_creates_everything_once_and_keeps_it() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("node-a");
        let mut out = Vec::new();
        init(&data, &mut out).unwrap();
        let first = String::from_utf8(out).unwrap();
        assert_eq!(first.matches("(created)").count(), 4, "{first}");

        let files = [NODE_KEY_FILE, SIGNING_KEY_FILE, CONFIG_FILE];
        let before: Vec<Vec<u8>> = files
            .iter()
            .map(|f| std::fs::read(data.join(f)).unwrap())
            .collect();
        let mut out = Vec::new();
        init(&data, &mut out).unwrap();
        let second = String::from_utf8(out).unwrap();
        assert_eq!(second.matches("(kept)").count(), 4, "{second}");
        for (file, bytes) in files.iter().zip(&before) {
            assert_eq!(&std::fs::read(data.join(file)).unwrap(), bytes, "{file}");
        }

        // The written config loads, with absolute paths into the data directory.
        let config = NodeConfig::load(
            Some(&data.join(CONFIG_FILE)),
            &|_| None,
            &Default::default(),
        )
        .unwrap();
        assert_eq!(config.data_dir, data);
        assert!(config.data_dir.is_absolute());
        assert_eq!(config.signing_key, Some(data.join(SIGNING_KEY_FILE)));
        assert_eq!(config.genesis, data.join("genesis.json"));
    }

    #[test]
    fn an_unreadable_existing_key_is_an_error_not_a_replacement() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().to_owned();
        std::fs::write(data.join(NODE_KEY_FILE), "not a key").unwrap();
        let err = init(&data, &mut Vec::new()).unwrap_err();
        let message = format!("{err:#}");
        assert!(message.contains(NODE_KEY_FILE), "{message}");
        assert_eq!(
            std::fs::read_to_string(data.join(NODE_KEY_FILE)).unwrap(),
            "not a key"
        );
    }
}
