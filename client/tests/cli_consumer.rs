//! The real `provenance` binary on what needs no node: keys, QR codes, settings errors and the
//! exit codes of a node that is not there. (Verification against a running node is tested end
//! to end in the workspace's `tests/tests/consumer.rs`.)

use assert_cmd::Command;
use predicates::prelude::*;

/// The binary with an empty, private environment (no settings from the developer's shell).
fn provenance(home: &std::path::Path) -> Command {
    let mut command = Command::cargo_bin("provenance").unwrap();
    command
        .env_clear()
        .env("HOME", home)
        .env("PROVENANCE_STATE_DIR", home.join("state"));
    command
}

#[test]
fn key_new_writes_a_private_key_once_and_show_reads_it() {
    let home = tempfile::tempdir().unwrap();
    let key = home.path().join("org.key");
    let created = provenance(home.path())
        .args(["key", "new", "-o"])
        .arg(&key)
        .assert()
        .success()
        .stdout(predicate::str::contains("did:key     did:key:z6Mk"));
    let printed = String::from_utf8(created.get_output().stdout.clone()).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
    }
    provenance(home.path())
        .args(["key", "new", "-o"])
        .arg(&key)
        .assert()
        .code(2)
        .stderr(
            predicate::str::contains("refusing to overwrite")
                .and(predicate::str::contains("--force")),
        );
    let shown = provenance(home.path())
        .args(["key", "show"])
        .arg(&key)
        .assert()
        .success();
    let shown = String::from_utf8(shown.get_output().stdout.clone()).unwrap();
    assert!(printed.starts_with(&shown), "{printed}\n{shown}");
}

#[test]
fn qr_prints_the_link_and_writes_images() {
    let home = tempfile::tempdir().unwrap();
    let svg = home.path().join("bag.svg");
    let png = home.path().join("bag.png");
    provenance(home.path())
        .args([
            "qr",
            "urn:epc:id:sgtin:0614142.004521.R1001",
            "--base",
            "https://coffee.example",
            "--svg",
        ])
        .arg(&svg)
        .arg("--png")
        .arg(&png)
        .assert()
        .success()
        .stdout(predicate::str::starts_with(
            "https://coffee.example/01/00614142045210/21/R1001\n",
        ));
    assert!(std::fs::read_to_string(&svg).unwrap().contains("<svg"));
    assert!(
        std::fs::read(&png)
            .unwrap()
            .starts_with(b"\x89PNG\r\n\x1a\n")
    );
    provenance(home.path())
        .args(["qr", "not an id"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("is not a GS1 identifier"));
}

#[test]
fn missing_settings_are_usage_errors_naming_the_three_ways() {
    let home = tempfile::tempdir().unwrap();
    provenance(home.path())
        .args(["verify", "urn:epc:id:sgtin:0614142.004521.R1001"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no genesis given (the network's genesis is the one thing verification trusts): pass --genesis FILE (or --genesis-hash HEX), set PROVENANCE_GENESIS, or add `genesis = \"/path/to/genesis.json\"` to",
        ));
    provenance(home.path())
        .args([
            "verify",
            "urn:epc:id:sgtin:0614142.004521.R1001",
            "--genesis-hash",
        ])
        .arg("ab".repeat(32))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "no node URL given: pass --node URL, set PROVENANCE_NODE",
        ));
    // clap's own usage errors keep clap's exit code, 2.
    provenance(home.path()).args(["verify"]).assert().code(2);
    provenance(home.path())
        .args(["frobnicate"])
        .assert()
        .code(2);
}

#[test]
fn settings_come_from_the_environment_and_the_config_file() {
    let home = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = home.path().join("client.toml");
    std::fs::write(
        &config,
        format!(
            "node = \"http://127.0.0.1:{port}\"\ngenesis_hash = \"{}\"\n",
            "ab".repeat(32)
        ),
    )
    .unwrap();
    // Everything from the config file: the node is down, so exit 3.
    provenance(home.path())
        .args([
            "verify",
            "urn:epc:id:sgtin:0614142.004521.R1001",
            "--config",
        ])
        .arg(&config)
        .assert()
        .code(3)
        .stderr(predicate::str::contains(format!(
            "cannot reach the node at http://127.0.0.1:{port}"
        )));
    // The environment overrides the file; the flag overrides the environment.
    provenance(home.path())
        .env("PROVENANCE_CONFIG", &config)
        .env("PROVENANCE_NODE", "ftp://nowhere")
        .args(["verify", "urn:epc:id:sgtin:0614142.004521.R1001"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "invalid node URL \"ftp://nowhere\"",
        ));
    provenance(home.path())
        .env("PROVENANCE_CONFIG", &config)
        .env("PROVENANCE_NODE", "ftp://nowhere")
        .args(["verify", "urn:epc:id:sgtin:0614142.004521.R1001", "--node"])
        .arg(format!("http://127.0.0.1:{port}"))
        .assert()
        .code(3);
    // A broken config file is named.
    std::fs::write(&config, "node = 3\n").unwrap();
    provenance(home.path())
        .args(["verify", "x", "--config"])
        .arg(&config)
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "config file {} is not valid",
            config.display()
        )));
}

#[test]
fn a_malformed_bundle_file_is_an_input_error() {
    let home = tempfile::tempdir().unwrap();
    let bundle = home.path().join("b.json");
    std::fs::write(&bundle, "{\"version\": 7}").unwrap();
    provenance(home.path())
        .args(["verify", "--bundle"])
        .arg(&bundle)
        .arg("--genesis-hash")
        .arg("ab".repeat(32))
        .assert()
        .code(2)
        .stderr(predicate::str::contains(format!(
            "bundle file {}",
            bundle.display()
        )));
}
