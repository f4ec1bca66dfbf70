//! Files the CLI writes (saved bundles, QR images): replaced atomically, so a reader never sees
//! half a file. Key files are not written here but by [`crate::keyfile`], which never overwrites.

use std::io::Write;
use std::path::{Path, PathBuf};

/// Why an output file could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OutputError {
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes `bytes` to `path` (`-`: to `stdout`), replacing the file atomically.
pub fn write_output(path: &Path, bytes: &[u8], stdout: &mut dyn Write) -> Result<(), OutputError> {
    let error = |source| OutputError::Write {
        path: path.to_owned(),
        source,
    };
    if path == Path::new("-") {
        return stdout
            .write_all(bytes)
            .and_then(|()| stdout.flush())
            .map_err(error);
    }
    crate::freshness::write_atomically(path, bytes).map_err(error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_files_and_stdout_and_names_failures() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        let mut stdout = Vec::new();
        write_output(&path, b"one", &mut stdout).unwrap();
        write_output(&path, b"two", &mut stdout).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        write_output(Path::new("-"), b"three", &mut stdout).unwrap();
        assert_eq!(stdout, b"three");
        let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no temporary files left behind");

        let blocked = dir.path().join("out.json").join("x");
        let err = write_output(&blocked, b"x", &mut stdout).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write {}", blocked.display())),
            "{err}"
        );
    }
}
