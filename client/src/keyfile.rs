//! Key files: an Ed25519 signing key on disk as an unencrypted PKCS#8 PEM document.
//!
//! The file is the secret, so the rules are about never exposing or losing it:
//!
//! * **Created private.** The file is created with mode 0600 in the same `open` call that
//!   creates it (`O_CREAT | O_EXCL` with a mode), so there is no window in which it exists with
//!   wider permissions; the process umask can only narrow that further.
//! * **Never overwritten.** Creation fails if anything (a file, a symlink) already exists at the
//!   path: overwriting a key destroys an identity that may hold ledger history.
//! * **Durable.** The file and its parent directory are fsynced before success is reported, so a
//!   crash cannot leave a node believing it has a key that is not on disk.
//! * **Refused when shared.** Loading fails if group or others have any permission bit, the way
//!   OpenSSH treats private keys; the message says how to fix it. The check is done on the open
//!   file handle, so the file checked is the file read.
//!
//! Permission handling is Unix-only (`cfg(unix)`); elsewhere files get the platform default.

use std::fs::{File, OpenOptions};
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};

use provenance_protocol::crypto::{KeyDecodeError, SigningKey, Zeroizing};

/// Largest key file read. A PKCS#8 Ed25519 PEM is about 120 bytes; the limit stops a wrong path
/// (a log, a disk image) from being read into memory.
const MAX_KEY_FILE_BYTES: u64 = 16 * 1024;

/// Permission bits a key file is created with.
#[cfg(unix)]
const KEY_FILE_MODE: u32 = 0o600;

/// Why a key file could not be created or loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyFileError {
    /// Something already exists at the path.
    #[error("refusing to overwrite existing key file {}", path.display())]
    AlreadyExists {
        /// The key file path.
        path: PathBuf,
    },
    /// Group or others have permissions on the file.
    #[error(
        "key file {} is readable by other users (mode {mode:04o}); run chmod 600 {}",
        path.display(),
        path.display()
    )]
    InsecurePermissions {
        /// The key file path.
        path: PathBuf,
        /// The file's permission bits (`mode & 0o7777`).
        mode: u32,
    },
    /// Creating, writing or syncing the file failed.
    #[error("cannot write key file {}: {source}", path.display())]
    Write {
        /// The key file path.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// Opening or reading the file failed.
    #[error("cannot read key file {}: {source}", path.display())]
    Read {
        /// The key file path.
        path: PathBuf,
        /// The underlying I/O error.
        source: io::Error,
    },
    /// The file is far larger than any key file.
    #[error(
        "key file {} is {size} bytes, too large for a key file (limit {MAX_KEY_FILE_BYTES} bytes); is the path right?",
        path.display()
    )]
    TooLarge {
        /// The key file path.
        path: PathBuf,
        /// The file's size in bytes.
        size: u64,
    },
    /// The file is not text.
    #[error("key file {} is not a PEM text file (it is not valid UTF-8)", path.display())]
    NotText {
        /// The key file path.
        path: PathBuf,
    },
    /// The text is not a PKCS#8 PEM Ed25519 private key.
    #[error("key file {} does not hold a usable key: {source}", path.display())]
    Decode {
        /// The key file path.
        path: PathBuf,
        /// What the decoder objected to.
        source: KeyDecodeError,
    },
    /// The operating system's random number generator failed.
    #[error("cannot generate a key for {}: the OS random number generator failed: {reason}", path.display())]
    Randomness {
        /// The key file path.
        path: PathBuf,
        /// The RNG error, as text (`rand_core::OsError` is only an `Error` with its `std` feature).
        reason: String,
    },
}

/// Writes `key` to a new file at `path` as PKCS#8 PEM, created with mode 0600.
///
/// Fails with [`KeyFileError::AlreadyExists`] if anything exists at `path`. On a failure after
/// the file was created, the partial file is removed so the call can be retried.
pub fn create_key_file(path: &Path, key: &SigningKey) -> Result<(), KeyFileError> {
    let write_error = |source| KeyFileError::Write {
        path: path.to_owned(),
        source,
    };
    let pem = key.to_pkcs8_pem();

    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(KEY_FILE_MODE);
    }
    let mut file = options.open(path).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            KeyFileError::AlreadyExists {
                path: path.to_owned(),
            }
        } else {
            write_error(source)
        }
    })?;

    let written = file
        .write_all(pem.as_bytes())
        .and_then(|()| file.sync_all());
    if let Err(source) = written {
        drop(file);
        // Best effort: this process created the file (create_new), so removing it cannot
        // destroy anything else; if removal fails the original error is still the one to report.
        let _ = std::fs::remove_file(path);
        return Err(write_error(source));
    }
    drop(file);
    sync_parent_directory(path).map_err(write_error)
}

/// Reads the signing key stored at `path`.
///
/// On Unix, refuses a file that group or others have any permission on.
pub fn load_key_file(path: &Path) -> Result<SigningKey, KeyFileError> {
    let read_error = |source| KeyFileError::Read {
        path: path.to_owned(),
        source,
    };
    let mut file = File::open(path).map_err(read_error)?;
    let metadata = file.metadata().map_err(read_error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = metadata.permissions().mode() & 0o7777;
        if mode & 0o077 != 0 {
            return Err(KeyFileError::InsecurePermissions {
                path: path.to_owned(),
                mode,
            });
        }
    }
    let size = metadata.len();
    if size > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }

    // Sized up front (plus room for the end-of-file probe) so the buffer holding the secret is
    // never reallocated, which would leave an un-zeroized copy behind.
    let capacity = usize::try_from(MAX_KEY_FILE_BYTES).unwrap_or(usize::MAX);
    let mut bytes = Zeroizing::new(Vec::with_capacity(capacity + 1));
    io::Read::take(&mut file, MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_error)?;
    // The file may have grown since `metadata`; the `take` bound keeps this check meaningful.
    let size = bytes.len() as u64;
    if size > MAX_KEY_FILE_BYTES {
        return Err(KeyFileError::TooLarge {
            path: path.to_owned(),
            size,
        });
    }
    let text = std::str::from_utf8(&bytes).map_err(|_| KeyFileError::NotText {
        path: path.to_owned(),
    })?;
    SigningKey::from_pkcs8_pem(text).map_err(|source| KeyFileError::Decode {
        path: path.to_owned(),
        source,
    })
}

/// Generates a fresh key from the OS random number generator, writes it to a new key file at
/// `path` (as [`create_key_file`]) and returns it.
pub fn generate_key_file(path: &Path) -> Result<SigningKey, KeyFileError> {
    use rand_core::TryRngCore as _;
    let mut seed = Zeroizing::new([0u8; 32]);
    rand_core::OsRng
        .try_fill_bytes(seed.as_mut())
        .map_err(|error| KeyFileError::Randomness {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
    let key = SigningKey::from_seed(*seed);
    create_key_file(path, &key)?;
    Ok(key)
}

/// Like [`generate_key_file`], but replaces whatever key file exists at `path`.
///
/// The new key is written to a temporary file beside it (mode 0600 from creation) and renamed
/// over `path`, so at every instant `path` holds either the old key or the complete new one.
/// Replacing a key abandons the identity the old one signs for; the CLI only does it when told
/// (`--force`).
pub fn replace_key_file(path: &Path) -> Result<SigningKey, KeyFileError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temp = path.with_file_name(format!(".{name}.new-{}", std::process::id()));
    // A leftover from a crashed run of this same process id is ours to remove.
    let _ = std::fs::remove_file(&temp);
    let key = generate_key_file(&temp).map_err(|error| match error {
        KeyFileError::Write { source, .. } => KeyFileError::Write {
            path: path.to_owned(),
            source,
        },
        other => other,
    })?;
    if let Err(source) = std::fs::rename(&temp, path) {
        let _ = std::fs::remove_file(&temp);
        return Err(KeyFileError::Write {
            path: path.to_owned(),
            source,
        });
    }
    sync_parent_directory(path).map_err(|source| KeyFileError::Write {
        path: path.to_owned(),
        source,
    })?;
    Ok(key)
}

/// Makes the directory entry of a newly created file durable.
#[cfg(unix)]
fn sync_parent_directory(path: &Path) -> io::Result<()> {
    let parent = match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    File::open(parent)?.sync_all()
}

/// Directories cannot be opened for syncing on this platform; the file itself was synced.
#[cfg(not(unix))]
fn sync_parent_directory(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seeded(seed: u8) -> SigningKey {
        SigningKey::from_seed([seed; 32])
    }

    #[test]
    fn create_then_load_round_trips() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        let key = seeded(1);
        create_key_file(&path, &key).unwrap();
        let loaded = load_key_file(&path).unwrap();
        assert_eq!(loaded.public_key(), key.public_key());
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    }

    #[cfg(unix)]
    #[test]
    fn created_file_has_mode_0600() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        create_key_file(&path, &seeded(2)).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn creating_twice_fails_and_keeps_the_original() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        create_key_file(&path, &seeded(3)).unwrap();
        let original = std::fs::read(&path).unwrap();

        let err = create_key_file(&path, &seeded(4)).unwrap_err();
        assert!(matches!(err, KeyFileError::AlreadyExists { .. }), "{err:?}");
        assert_eq!(
            err.to_string(),
            format!("refusing to overwrite existing key file {}", path.display())
        );
        assert_eq!(std::fs::read(&path).unwrap(), original);
        assert_eq!(
            load_key_file(&path).unwrap().public_key(),
            seeded(3).public_key()
        );
        assert!(matches!(
            generate_key_file(&path),
            Err(KeyFileError::AlreadyExists { .. })
        ));
        assert_eq!(std::fs::read(&path).unwrap(), original);
    }

    #[cfg(unix)]
    #[test]
    fn does_not_follow_a_symlink_planted_at_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere");
        let path = dir.path().join("node.key");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let err = create_key_file(&path, &seeded(5)).unwrap_err();
        assert!(matches!(err, KeyFileError::AlreadyExists { .. }), "{err:?}");
        assert!(!target.exists());
    }

    #[cfg(unix)]
    #[test]
    fn group_or_world_permissions_are_refused_with_the_fix() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.key");
        create_key_file(&path, &seeded(6)).unwrap();

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_key_file(&path).unwrap_err();
        let shown = path.display();
        assert_eq!(
            err.to_string(),
            format!(
                "key file {shown} is readable by other users (mode 0644); run chmod 600 {shown}"
            )
        );

        for mode in [0o640, 0o604, 0o620, 0o602, 0o660] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let err = load_key_file(&path).unwrap_err();
            assert!(
                matches!(err, KeyFileError::InsecurePermissions { mode: found, .. } if found == mode),
                "{mode:o}: {err:?}"
            );
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            assert!(load_key_file(&path).is_ok(), "{mode:o}");
        }
    }

    /// Writes `contents` as a private file, so only the content check can fail.
    fn private_file(dir: &Path, name: &str, contents: &[u8]) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        path
    }

    #[test]
    fn garbage_pem_names_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = private_file(dir.path(), "garbage.key", b"hello, I am not a key\n");
        let err = load_key_file(&path).unwrap_err();
        assert!(matches!(err, KeyFileError::Decode { .. }), "{err:?}");
        let message = err.to_string();
        assert!(
            message.starts_with(&format!(
                "key file {} does not hold a usable key: not an unencrypted PKCS#8 PEM Ed25519 private key",
                path.display()
            )),
            "{message}"
        );
    }

    #[test]
    fn binary_and_oversized_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let binary = private_file(dir.path(), "binary.key", &[0xff, 0xfe, 0x00]);
        assert_eq!(
            load_key_file(&binary).unwrap_err().to_string(),
            format!(
                "key file {} is not a PEM text file (it is not valid UTF-8)",
                binary.display()
            )
        );
        let large = private_file(dir.path(), "large.key", &vec![b'a'; 20_000]);
        assert!(matches!(
            load_key_file(&large).unwrap_err(),
            KeyFileError::TooLarge { size: 20_000, .. }
        ));
    }

    #[test]
    fn missing_file_and_missing_directory_name_the_path() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("absent.key");
        let err = load_key_file(&missing).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot read key file {}: ", missing.display())),
            "{err}"
        );
        let nested = dir.path().join("no-such-dir").join("node.key");
        let err = create_key_file(&nested, &seeded(7)).unwrap_err();
        assert!(
            err.to_string()
                .starts_with(&format!("cannot write key file {}: ", nested.display())),
            "{err}"
        );
    }

    #[test]
    fn generated_key_file_loads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fresh.key");
        let key = generate_key_file(&path).unwrap();
        assert_eq!(load_key_file(&path).unwrap().public_key(), key.public_key());
        let other = generate_key_file(&dir.path().join("other.key")).unwrap();
        assert_ne!(other.public_key(), key.public_key());
    }

    #[test]
    fn relative_path_in_current_directory_syncs_parent() {
        // `Path::parent` of a bare file name is empty; syncing must fall back to ".".
        assert!(sync_parent_directory(Path::new("Cargo.toml")).is_ok());
    }

    #[test]
    fn replacing_swaps_in_a_new_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.key");
        let old = generate_key_file(&path).unwrap();
        let new = replace_key_file(&path).unwrap();
        assert_ne!(old.public_key(), new.public_key());
        assert_eq!(load_key_file(&path).unwrap().public_key(), new.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777;
            assert_eq!(mode, 0o600);
        }
        let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(entries.len(), 1, "no temporary file left");
        // Replacing also works when nothing exists yet.
        let fresh = dir.path().join("fresh.key");
        assert!(replace_key_file(&fresh).is_ok());
    }
}
