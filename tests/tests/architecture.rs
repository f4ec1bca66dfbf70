//! Architecture invariants from ARCHITECTURE.md, checked mechanically.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use provenance_tests::workspace_root;

/// Crates whose presence in `provenance-protocol`'s dependency tree would mean it does I/O,
/// runs async code, touches storage or the network.
const FORBIDDEN_IN_PROTOCOL: &[&str] = &[
    "tokio",
    "async-std",
    "smol",
    "futures",
    "mio",
    "socket2",
    "sled",
    "rocksdb",
    "libp2p",
    "hyper",
    "axum",
    "reqwest",
    "tower",
    "rustls",
    "tracing-subscriber",
];

/// Source-level uses of I/O or ambient state the protocol crate must not make.
const FORBIDDEN_SOURCE: &[&str] = &[
    "std::fs",
    "std::net",
    "std::process",
    "std::thread",
    "std::env",
    "SystemTime::now",
    "Instant::now",
    "OsRng",
    "File::",
    "println!",
    "eprintln!",
];

fn metadata() -> serde_json::Value {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked"])
        .current_dir(workspace_root())
        .output()
        .expect("run cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("parse cargo metadata")
}

/// Names of every crate `provenance-protocol` depends on at run time (normal deps, transitively).
fn protocol_runtime_closure(meta: &serde_json::Value) -> BTreeSet<String> {
    let packages: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let nodes: BTreeMap<&str, &serde_json::Value> = meta["resolve"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["id"].as_str().unwrap(), n))
        .collect();
    let root = packages
        .iter()
        .find(|(_, name)| **name == "provenance-protocol")
        .map(|(id, _)| *id)
        .expect("provenance-protocol in workspace");
    let mut seen = BTreeSet::new();
    let mut stack = vec![root];
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        for dep in nodes[id]["deps"].as_array().unwrap() {
            let normal = dep["dep_kinds"]
                .as_array()
                .unwrap()
                .iter()
                .any(|k| k["kind"].is_null());
            if normal {
                stack.push(dep["pkg"].as_str().unwrap());
            }
        }
    }
    seen.iter().map(|id| packages[id].to_owned()).collect()
}

#[test]
fn protocol_has_no_io_async_network_or_storage_dependency() {
    let closure = protocol_runtime_closure(&metadata());
    assert!(closure.contains("sha2"), "closure looks wrong: {closure:?}");
    let offenders: Vec<_> = closure
        .iter()
        .filter(|name| {
            FORBIDDEN_IN_PROTOCOL
                .iter()
                .any(|f| *name == f || name.starts_with(&format!("{f}-")))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "provenance-protocol must stay pure, but depends on {offenders:?}"
    );
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn protocol_source_performs_no_io() {
    let mut files = Vec::new();
    rust_files(&workspace_root().join("protocol/src"), &mut files);
    assert!(files.len() > 5, "found only {files:?}");
    let mut offences = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        // Only production code counts: stop at the first test module.
        let production: String = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or("")
            .lines()
            .filter(|line| !line.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        for needle in FORBIDDEN_SOURCE {
            if production.contains(needle) {
                offences.push(format!("{}: uses {needle}", file.display()));
            }
        }
    }
    assert!(
        offences.is_empty(),
        "I/O in protocol crate:\n{}",
        offences.join("\n")
    );
}
