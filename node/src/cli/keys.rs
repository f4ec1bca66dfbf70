//! `provenance-node key show`: the public halves of this node's keys, in the forms other parties
//! need (hex for genesis files and APIs, did:key for people). Private keys are never printed.

use std::io::Write;
use std::path::Path;

use provenance_client::keyfile;

use crate::config::{NodeConfig, SIGNING_KEY_FILE};

pub(super) fn show(config: &NodeConfig, out: &mut dyn Write) -> anyhow::Result<()> {
    print_key(out, "node key (network identity)", &config.node_key)?;
    let node = keyfile::load_key_file(&config.node_key)?.public_key();
    writeln!(
        out,
        "  peer id: {} (other nodes bootstrap to /ip4/<address>/tcp/<port>/p2p/<peer id>)",
        crate::net::peer_id_of(&node)
    )?;
    match &config.signing_key {
        Some(path) => print_key(out, "signing key (events and blocks)", path)?,
        None => writeln!(
            out,
            "signing key: none configured (set signing_key, or create {})",
            config.data_dir.join(SIGNING_KEY_FILE).display()
        )?,
    }
    Ok(())
}

fn print_key(out: &mut dyn Write, what: &str, path: &Path) -> anyhow::Result<()> {
    let public = keyfile::load_key_file(path)?.public_key();
    writeln!(out, "{what}: {}", path.display())?;
    writeln!(out, "  hex:     {public}")?;
    writeln!(out, "  did:key: {}", public.to_did_key())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use provenance_protocol::crypto::SigningKey;

    #[test]
    fn shows_both_public_keys_and_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = NodeConfig::for_data_dir(dir.path().to_owned());
        let node = SigningKey::from_seed([1; 32]);
        let signing = SigningKey::from_seed([2; 32]);
        keyfile::create_key_file(&config.node_key, &node).unwrap();
        let signing_path = dir.path().join(SIGNING_KEY_FILE);
        keyfile::create_key_file(&signing_path, &signing).unwrap();

        let mut out = Vec::new();
        show(&config, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("signing key: none configured"), "{text}");

        config.signing_key = Some(signing_path);
        let mut out = Vec::new();
        show(&config, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        for key in [&node, &signing] {
            assert!(text.contains(&key.public_key().to_string()), "{text}");
            assert!(text.contains(&key.public_key().to_did_key()), "{text}");
        }
        let peer = crate::net::peer_id_of(&node.public_key()).to_string();
        assert!(text.contains(&peer), "{text}");
        assert!(!text.contains("PRIVATE"), "{text}");
    }

    #[test]
    fn a_missing_node_key_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = NodeConfig::for_data_dir(dir.path().to_owned());
        let err = show(&config, &mut Vec::new()).unwrap_err();
        assert!(err.to_string().contains("node.key"), "{err}");
    }
}
