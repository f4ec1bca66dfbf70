//! One module per subcommand. Each takes its parsed arguments (and the [`crate::cli::Context`]
//! when it needs settings) and returns the exit code of its result, or a
//! [`crate::error::CommandError`] when it could not produce one.

pub mod epcis;
pub mod import;
pub mod key;
pub mod qr;
pub mod submit;
pub mod trace;
pub mod verify;
