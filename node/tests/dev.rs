//! `provenance-node dev --demo`, the README's first command, through the real binary: it starts a
//! one-validator network, records the coffee journey through the HTTP API, writes demo.json,
//! stops cleanly on SIGINT, and a second run reuses the data dir without duplicating the journey.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

fn free_addr() -> String {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string()
}

fn get_json(url: &str) -> Option<Value> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build(),
    );
    let text = agent
        .get(url)
        .call()
        .ok()?
        .into_body()
        .read_to_string()
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// Runs `dev --demo` until demo.json exists and the journey is final, then sends SIGINT and
/// returns the exit code and the status seen.
#[allow(clippy::zombie_processes)] // waited for below on every path
fn run_dev(data_dir: &Path, addr: &str) -> (Option<i32>, Value) {
    let mut child: Child = Command::new(env!("CARGO_BIN_EXE_provenance-node"))
        .args(["dev", "--demo", "--data-dir"])
        .arg(data_dir)
        .args(["--api-listen", addr, "--metrics-listen", "off"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        let status = get_json(&format!("http://{addr}/v1/status"));
        if let Some(status) = status
            && data_dir.join("demo.json").exists()
            && status["mempool_size"] == 0
            && status["log_size"].as_u64().unwrap_or(0) > 0
        {
            break status;
        }
        if Instant::now() > deadline || child.try_wait().unwrap().is_some() {
            let _ = child.kill();
            let _ = child.wait();
            panic!("dev --demo did not finish its journey");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let exit = child.wait().unwrap();
    (exit.code(), status)
}

#[test]
fn dev_demo_records_the_journey_once_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("dev");
    let addr = free_addr();
    let (code, first) = run_dev(&data_dir, &addr);
    assert_eq!(code, Some(0), "SIGINT must stop the node with exit 0");
    let events = first["log_size"].as_u64().unwrap();
    assert!(events >= 10, "the journey has at least 10 events: {first}");

    let demo: Value =
        serde_json::from_str(&std::fs::read_to_string(data_dir.join("demo.json")).unwrap())
            .unwrap();
    assert!(Path::new(demo["genesis"].as_str().unwrap()).exists());
    let products = demo["products"].as_array().unwrap();
    assert!(!products.is_empty());
    for product in products {
        assert!(
            product
                .as_str()
                .unwrap()
                .starts_with("https://id.gs1.org/01/"),
            "{product}"
        );
    }

    let (code, second) = run_dev(&data_dir, &addr);
    assert_eq!(code, Some(0));
    assert_eq!(second["log_size"], first["log_size"], "journey duplicated");
    assert_eq!(second["height"], first["height"]);
}

/// Runs `provenance-node dev` expecting it to fail fast; returns (exit code, stderr).
fn dev_failure(data_dir: &Path, addr: &str) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_provenance-node"))
        .args(["dev", "--data-dir"])
        .arg(data_dir)
        .args(["--api-listen", addr, "--metrics-listen", "off"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn error_lines(stderr: &str) -> Vec<&str> {
    stderr.lines().filter(|l| l.starts_with("error")).collect()
}

#[test]
fn a_port_in_use_gives_one_clear_line_and_exit_1() {
    let dir = tempfile::tempdir().unwrap();
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = busy.local_addr().unwrap().to_string();
    let (code, stderr) = dev_failure(&dir.path().join("dev"), &addr);
    assert_eq!(code, Some(1), "{stderr}");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(
        errors[0].contains("cannot listen on") && errors[0].contains(&addr),
        "{stderr}"
    );
}

#[test]
#[allow(clippy::zombie_processes)] // the first node is killed and waited for below
fn a_data_dir_locked_by_another_node_gives_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("dev");
    let first_addr = free_addr();
    let mut first = Command::new(env!("CARGO_BIN_EXE_provenance-node"))
        .args(["dev", "--data-dir"])
        .arg(&data_dir)
        .args(["--api-listen", &first_addr, "--metrics-listen", "off"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while get_json(&format!("http://{first_addr}/v1/status")).is_none() {
        if Instant::now() > deadline {
            let _ = first.kill();
            let _ = first.wait();
            panic!("first node never came up");
        }
        thread::sleep(Duration::from_millis(50));
    }
    let (code, stderr) = dev_failure(&data_dir, &free_addr());
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(code, Some(1), "{stderr}");
    let errors = error_lines(&stderr);
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("locked by another process"), "{stderr}");
}
