//! The real `provenance-node` binary: output, files written and exit codes of the commands that
//! need no running node (`run` and `dev` are covered with the runtime).

use std::path::Path;

use assert_cmd::Command;
use predicates::prelude::*;
use provenance_client::keyfile;
use provenance_node::config::NodeConfig;
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::Genesis;

/// The binary with no configuration leaking in from the caller's environment.
fn node() -> Command {
    let mut cmd = Command::cargo_bin("provenance-node").unwrap();
    for var in provenance_node::config::env_vars::ALL {
        cmd.env_remove(var);
    }
    cmd.env_remove("PROVENANCE_CONFIG").env_remove("RUST_LOG");
    cmd
}

fn stdout_of(cmd: &mut Command) -> String {
    let output = cmd.assert().success().get_output().stdout.clone();
    String::from_utf8(output).unwrap()
}

#[test]
fn config_default_prints_the_defaults_as_toml() {
    let text = stdout_of(node().args(["config", "--default"]));
    let parsed: NodeConfig = toml::from_str(&text).unwrap();
    assert_eq!(parsed, NodeConfig::default());
}

#[test]
fn config_shows_file_env_and_flags_merged() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("node.toml");
    std::fs::write(
        &file,
        "[api]\nlisten = \"127.0.0.1:7001\"\n[log]\nfilter = \"warn\"\n",
    )
    .unwrap();
    let text = stdout_of(
        node()
            .args(["config", "--config"])
            .arg(&file)
            .args(["--log", "debug"])
            .env("PROVENANCE_METRICS_LISTEN", "off"),
    );
    let parsed: NodeConfig = toml::from_str(&text).unwrap();
    assert_eq!(parsed.api.listen.port(), 7001);
    assert_eq!(parsed.log.filter, "debug");
    assert_eq!(parsed.metrics.listen, None);
}

#[test]
fn an_unknown_config_key_exits_2_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("config.toml");
    std::fs::write(&file, "[api]\nlistne = \"127.0.0.1:8080\"\n").unwrap();
    let expected = format!(
        "error: {}: unknown key `api.listne`, expected one of listen, max_body_bytes, request_timeout\n",
        file.display()
    );
    for command in ["config", "run", "start"] {
        node()
            .args([command, "--config"])
            .arg(&file)
            .assert()
            .code(2)
            .stdout("")
            .stderr(expected.clone());
    }
}

#[test]
fn a_bad_environment_value_exits_2_and_names_the_variable() {
    node()
        .args(["config"])
        .env("PROVENANCE_API_LISTEN", "everywhere")
        .assert()
        .code(2)
        .stderr(predicate::str::starts_with(
            "error: environment variable PROVENANCE_API_LISTEN=\"everywhere\" is invalid: ",
        ));
}

#[test]
fn bad_arguments_exit_2() {
    node().args(["run", "--no-such-flag"]).assert().code(2);
    node()
        .args(["run", "--api-listen", "nowhere"])
        .assert()
        .code(2);
}

#[test]
fn init_creates_files_and_never_overwrites() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let first = stdout_of(node().arg("init").arg("--data-dir").arg(&data));
    assert_eq!(first.matches("(created)").count(), 4, "{first}");
    let files = ["node.key", "signing.key", "config.toml"];
    let before: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(data.join(f)).unwrap())
        .collect();

    let second = stdout_of(node().arg("init").arg("--data-dir").arg(&data));
    assert_eq!(second.matches("(kept)").count(), 4, "{second}");
    for (file, bytes) in files.iter().zip(&before) {
        assert_eq!(
            &std::fs::read(data.join(file)).unwrap(),
            bytes,
            "{file} changed"
        );
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for key in ["node.key", "signing.key"] {
            let mode = std::fs::metadata(data.join(key))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{key}");
        }
    }
    // The written config is what `run --config` will read.
    let shown = stdout_of(
        node()
            .arg("config")
            .arg("--config")
            .arg(data.join("config.toml")),
    );
    let config: NodeConfig = toml::from_str(&shown).unwrap();
    assert_eq!(config.signing_key, Some(data.join("signing.key")));
}

#[test]
fn key_show_prints_public_keys_only() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    node()
        .arg("init")
        .arg("--data-dir")
        .arg(data)
        .assert()
        .success();
    let shown = stdout_of(node().args(["key", "show", "--data-dir"]).arg(data));
    for file in ["node.key", "signing.key"] {
        let public = keyfile::load_key_file(&data.join(file))
            .unwrap()
            .public_key();
        assert!(shown.contains(&public.to_string()), "{shown}");
        assert!(shown.contains(&public.to_did_key()), "{shown}");
    }
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
}

fn participants_file(dir: &Path) -> std::path::PathBuf {
    let key = |seed: u8| SigningKey::from_seed([seed; 32]).public_key();
    keyfile::create_key_file(&dir.join("shop.key"), &SigningKey::from_seed([5; 32])).unwrap();
    let text = format!(
        r#"chain_id = "provenance-cli-test"
genesis_time_ms = 1767225600000

[[participants]]
name = "Roaster"
roles = ["manufacturer", "validator"]
signing_key = "{}"
network_key = "{}"
company_prefixes = ["0614142"]

[[participants]]
name = "Shop"
roles = ["retailer"]
signing_key = "shop.key"
network_key = "{}"
company_prefixes = ["0614144"]

[[validators]]
participant = "Roaster"
power = 1
"#,
        key(1),
        key(2).to_did_key(),
        key(6)
    );
    let path = dir.join("participants.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn genesis_writes_a_valid_genesis_and_prints_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let participants = participants_file(dir.path());
    let out = dir.path().join("genesis.json");
    let printed = stdout_of(
        node()
            .arg("genesis")
            .arg("--participants")
            .arg(&participants)
            .arg("--out")
            .arg(&out),
    );
    let genesis: Genesis = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    genesis.validate().unwrap();
    assert_eq!(printed, format!("{}\n", genesis.hash()));
    assert_eq!(
        genesis.participant("Shop").unwrap().signing_key,
        SigningKey::from_seed([5; 32]).public_key()
    );

    // A second run refuses to replace it.
    node()
        .arg("genesis")
        .arg("--participants")
        .arg(&participants)
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("refusing to overwrite"));
}

#[test]
fn an_invalid_participants_file_exits_2_naming_the_entry() {
    let dir = tempfile::tempdir().unwrap();
    let participants = participants_file(dir.path());
    let text = std::fs::read_to_string(&participants).unwrap();
    std::fs::write(&participants, text.replace("\"0614144\"", "\"06141\"")).unwrap();
    node()
        .arg("genesis")
        .arg("--participants")
        .arg(&participants)
        .arg("--out")
        .arg(dir.path().join("genesis.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("\"06141\""));
    assert!(!dir.path().join("genesis.json").exists());
}

#[test]
fn completions_are_generated() {
    let script = stdout_of(node().args(["completions", "bash"]));
    assert!(script.contains("provenance-node"), "{script}");
    assert!(script.contains("genesis"), "{script}");
}
