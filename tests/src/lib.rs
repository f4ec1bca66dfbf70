//! Workspace-level test harness.
//!
//! Integration tests that span crates live in `tests/tests/`. This library holds what they share;
//! today that is locating the workspace, later the multi-node `TestNet` harness.

use std::path::PathBuf;

/// The workspace root (the directory holding the virtual `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
