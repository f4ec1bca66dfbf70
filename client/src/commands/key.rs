//! `provenance key new|show`: organisation signing keys.

use std::io::Write;
use std::path::Path;

use provenance_protocol::crypto::PublicKey;

use crate::cli::KeyCommand;
use crate::error::{CommandError, EXIT_OK};
use crate::keyfile::{self, KeyFileError};

/// Runs a `key` subcommand.
pub fn key(command: &KeyCommand, out: &mut dyn Write) -> Result<u8, CommandError> {
    match command {
        KeyCommand::New { output, force } => new(output, *force, out),
        KeyCommand::Show { file } => {
            let key = keyfile::load_key_file(file)?;
            describe(out, &key.public_key())?;
            Ok(EXIT_OK)
        }
    }
}

/// Why `key new` refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NewKeyError {
    #[error("{source}; pass --force to replace it (the identity it signs for is then lost)")]
    Exists {
        #[source]
        source: KeyFileError,
    },
}

fn new(path: &Path, force: bool, out: &mut dyn Write) -> Result<u8, CommandError> {
    let key = if force {
        keyfile::replace_key_file(path)?
    } else {
        keyfile::generate_key_file(path).map_err(|error| match error {
            KeyFileError::AlreadyExists { .. } => {
                CommandError::input(NewKeyError::Exists { source: error })
            }
            other => other.into(),
        })?
    };
    describe(out, &key.public_key())?;
    writeln!(
        out,
        "key file    {} (mode 0600; keep it secret, back it up)",
        path.display()
    )?;
    Ok(EXIT_OK)
}

fn describe(out: &mut dyn Write, public: &PublicKey) -> std::io::Result<()> {
    writeln!(out, "public key  {public}")?;
    writeln!(out, "did:key     {}", public.to_did_key())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(command: KeyCommand) -> (Result<u8, CommandError>, String) {
        let mut out = Vec::new();
        let result = key(&command, &mut out);
        (result, String::from_utf8(out).unwrap())
    }

    #[test]
    fn new_prints_the_identity_and_refuses_to_overwrite_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("org.key");
        let (result, text) = run(KeyCommand::New {
            output: path.clone(),
            force: false,
        });
        assert_eq!(result.unwrap(), 0);
        let public = keyfile::load_key_file(&path).unwrap().public_key();
        assert!(text.contains(&format!("public key  {public}")), "{text}");
        assert!(text.contains(&public.to_did_key()), "{text}");

        let (result, _) = run(KeyCommand::New {
            output: path.clone(),
            force: false,
        });
        let err = result.unwrap_err();
        assert_eq!(err.kind().exit_code(), 2);
        assert!(err.to_string().contains("pass --force"), "{err}");
        assert_eq!(keyfile::load_key_file(&path).unwrap().public_key(), public);

        let (result, _) = run(KeyCommand::New {
            output: path.clone(),
            force: true,
        });
        assert_eq!(result.unwrap(), 0);
        assert_ne!(keyfile::load_key_file(&path).unwrap().public_key(), public);

        let (result, shown) = run(KeyCommand::Show { file: path.clone() });
        assert_eq!(result.unwrap(), 0);
        let now = keyfile::load_key_file(&path).unwrap().public_key();
        assert_eq!(
            shown,
            format!("public key  {now}\ndid:key     {}\n", now.to_did_key())
        );
    }

    #[test]
    fn show_of_a_missing_file_is_an_input_error() {
        let (result, _) = run(KeyCommand::Show {
            file: "/nonexistent/k".into(),
        });
        assert_eq!(result.unwrap_err().kind().exit_code(), 2);
    }
}
