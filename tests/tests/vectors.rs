//! The repo's copies of the external vectors must stay byte-identical to `../shared/vectors`
//! (where that folder exists, as on developer machines and CI), so the repo stands alone without
//! drifting from the data written outside the project.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use provenance_tests::workspace_root;

fn files(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).unwrap().to_path_buf();
                out.insert(rel, std::fs::read(&path).unwrap());
            }
        }
    }
    out
}

#[test]
fn repo_vectors_are_byte_identical_to_shared_vectors() {
    let ours = files(&workspace_root().join("protocol/tests/vectors"));
    assert!(
        ours.len() > 100,
        "vector copies missing: {} files",
        ours.len()
    );
    let shared_root = workspace_root().join("../shared/vectors");
    if !shared_root.is_dir() {
        eprintln!(
            "skipping comparison: {} not present on this machine",
            shared_root.display()
        );
        return;
    }
    let shared = files(&shared_root);
    let only_ours: Vec<_> = ours.keys().filter(|k| !shared.contains_key(*k)).collect();
    let only_shared: Vec<_> = shared.keys().filter(|k| !ours.contains_key(*k)).collect();
    let differing: Vec<_> = ours
        .iter()
        .filter(|(k, v)| shared.get(*k).is_some_and(|s| s != *v))
        .map(|(k, _)| k)
        .collect();
    assert!(
        only_ours.is_empty() && only_shared.is_empty() && differing.is_empty(),
        "vectors drifted: only in repo {only_ours:?}, only in shared {only_shared:?}, differing {differing:?}"
    );
}
