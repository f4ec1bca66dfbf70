//! The real `provenance` binary on the shared EPCIS vectors.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::prelude::*;

fn vectors() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../protocol/tests/vectors")
}

fn provenance() -> Command {
    Command::cargo_bin("provenance").unwrap()
}

/// Every `(document, expected .hashes)` pair in a vector folder.
fn hash_cases(folder: &str, doc_ext: &str) -> Vec<(PathBuf, String)> {
    let dir = vectors().join(folder);
    let mut cases: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hashes"))
        .map(|hashes| {
            let doc = hashes.with_extension(doc_ext);
            assert!(doc.exists(), "{} has no document", hashes.display());
            (doc, std::fs::read_to_string(&hashes).unwrap())
        })
        .collect();
    cases.sort();
    cases
}

fn expected_lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn hash_prints_every_reference_event_hash_in_document_order() {
    let mut checked = 0;
    for (folder, ext) in [
        ("epcis-event-hash", "jsonld"),
        ("epcis-documents/valid", "json"),
    ] {
        for (doc, hashes) in hash_cases(folder, ext) {
            let output = provenance()
                .args(["epcis", "hash"])
                .arg(&doc)
                .output()
                .unwrap();
            assert!(
                output.status.success(),
                "{}: {}",
                doc.display(),
                String::from_utf8_lossy(&output.stderr)
            );
            let stdout = String::from_utf8(output.stdout).unwrap();
            assert_eq!(
                stdout.lines().collect::<Vec<_>>(),
                expected_lines(&hashes),
                "{}",
                doc.display()
            );
            checked += 1;
        }
    }
    assert!(checked >= 30, "only {checked} documents checked");
}

#[test]
fn hash_reads_standard_input() {
    let doc = vectors().join("epcis-event-hash/epcisDocWithSingleEvent.jsonld");
    let hashes = std::fs::read_to_string(doc.with_extension("hashes")).unwrap();
    provenance()
        .args(["epcis", "hash", "-"])
        .write_stdin(std::fs::read(&doc).unwrap())
        .assert()
        .success()
        .stdout(format!("{}\n", expected_lines(&hashes)[0]));
}

#[test]
fn validate_accepts_every_valid_document_with_a_one_line_summary() {
    let dir = vectors().join("epcis-documents/valid");
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let output = provenance()
            .args(["epcis", "validate"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}: {}",
            path.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert_eq!(stdout.lines().count(), 1, "{stdout}");
        assert!(stdout.contains("valid EPCIS 2.0"), "{stdout}");
        assert!(output.stderr.is_empty());
    }
}

#[test]
fn validate_rejects_every_invalid_document_with_json_paths_and_exit_2() {
    let dir = vectors().join("epcis-documents/invalid");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let output = provenance()
            .args(["epcis", "validate"])
            .arg(&path)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{}", path.display());
        assert!(output.stdout.is_empty());
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert!(stderr.contains("invalid EPCIS 2.0"), "{stderr}");
        assert!(
            stderr
                .lines()
                .skip(1)
                .all(|l| l.trim_start().starts_with('$')),
            "every problem line starts with its JSON path:\n{stderr}"
        );
        checked += 1;
    }
    assert_eq!(checked, 8);
}

#[test]
fn validate_names_the_bad_action_by_path() {
    provenance()
        .args(["epcis", "validate"])
        .arg(vectors().join("epcis-documents/invalid/ObjectEvent_with_invalid_action.json"))
        .assert()
        .code(2)
        .stderr(predicate::str::contains("$.epcisBody.eventList[0].action"));
}

#[test]
fn unreadable_and_malformed_input_exit_2_with_a_clear_message() {
    provenance()
        .args(["epcis", "hash", "/nonexistent/doc.json"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "cannot read /nonexistent/doc.json",
        ));
    provenance()
        .args(["epcis", "validate", "-"])
        .write_stdin("{not json")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not valid JSON"));
    provenance()
        .args(["epcis", "hash", "-"])
        .write_stdin("{not json")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not valid JSON"));
    provenance().args(["epcis", "frobnicate"]).assert().code(2);
}
