//! How a command failed, and the exit code that tells a script which kind of failure it was.
//!
//! Verification outcomes are not errors: a verdict that says "failed" or "unsafe" is a result,
//! and its exit code (1) comes from [`provenance_protocol::bundle::Verdict::exit_code`]. What is
//! here are the cases where a command could not produce its result at all.

use std::fmt;

/// Exit code: success (verified, valid, submitted).
pub const EXIT_OK: u8 = 0;
/// Exit code: verification failed, or the product is unsafe.
pub const EXIT_FAILED: u8 = 1;
/// Exit code: usage or input error (bad arguments, unreadable or malformed files, missing
/// settings, a request the node refused as invalid, e.g. an unknown product).
pub const EXIT_INPUT: u8 = 2;
/// Exit code: the node could not be reached (connection refused, DNS, timeout) or could not
/// answer (an HTTP 5xx after retries).
pub const EXIT_UNREACHABLE: u8 = 3;

/// Which exit code an error maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Exit 2: something the user gave (argument, file, setting, identifier) is wrong.
    Input,
    /// Exit 3: the node is down, unreachable or failing; retry later or use another node.
    Unreachable,
}

impl ErrorKind {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Input => EXIT_INPUT,
            ErrorKind::Unreachable => EXIT_UNREACHABLE,
        }
    }
}

/// A command that could not complete, with the exit code it maps to.
///
/// The message is the wrapped error's; its `source` chain is printed below it, one cause per
/// line, by [`crate::cli::run`].
#[derive(Debug)]
pub struct CommandError {
    kind: ErrorKind,
    error: Box<dyn std::error::Error + Send + Sync + 'static>,
}

impl CommandError {
    /// An input error (exit 2).
    pub fn input(error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        CommandError {
            kind: ErrorKind::Input,
            error: error.into(),
        }
    }

    /// A node-unreachable error (exit 3).
    pub fn unreachable(
        error: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    ) -> Self {
        CommandError {
            kind: ErrorKind::Unreachable,
            error: error.into(),
        }
    }

    /// Which exit code this error maps to.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether this is a write to a closed pipe (the reader went away).
    pub fn is_broken_pipe(&self) -> bool {
        self.error
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.error.fmt(f)
    }
}

impl std::error::Error for CommandError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.source()
    }
}

/// Errors whose exit code is always "input error".
macro_rules! input_errors {
    ($($ty:ty),* $(,)?) => {
        $(impl From<$ty> for CommandError {
            fn from(error: $ty) -> Self {
                CommandError::input(error)
            }
        })*
    };
}

input_errors!(
    crate::config::ConfigError,
    crate::keyfile::KeyFileError,
    crate::epcis_tools::InputError,
    crate::events::EventsError,
    crate::output::OutputError,
    crate::trust::TrustError,
    crate::commands::key::NewKeyError,
    provenance_protocol::bundle::BundleFormatError,
    provenance_protocol::bundle::SubjectError,
);

impl From<crate::http::HttpError> for CommandError {
    fn from(error: crate::http::HttpError) -> Self {
        CommandError {
            kind: error.kind(),
            error: Box::new(error),
        }
    }
}

/// Writing to stdout or stderr failed (a closed pipe): nothing more can be reported.
impl From<std::io::Error> for CommandError {
    fn from(error: std::io::Error) -> Self {
        CommandError::input(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_map_to_the_documented_exit_codes() {
        assert_eq!(ErrorKind::Input.exit_code(), 2);
        assert_eq!(ErrorKind::Unreachable.exit_code(), 3);
        assert_eq!((EXIT_OK, EXIT_FAILED), (0, 1));
    }

    #[test]
    fn message_and_causes_are_the_wrapped_errors() {
        let inner = std::io::Error::other("disk on fire");
        let error = CommandError::unreachable(inner);
        assert_eq!(error.kind(), ErrorKind::Unreachable);
        assert_eq!(error.to_string(), "disk on fire");
    }
}
