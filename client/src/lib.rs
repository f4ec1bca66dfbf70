//! # provenance-client
//!
//! ## Bird's Eye View
//!
//! The participant's and the consumer's side of Provenance, as a library with a thin CLI
//! (`provenance`) on top, so tests and other programs call the same code the CLI runs.
//!
//! * [`epcis_tools`]: read EPCIS 2.0 input, compute CBV Event Hash IDs, validate with every
//!   problem reported by JSON path. No network access, ever.
//! * [`keyfile`]: organisation signing keys on disk (PKCS#8 PEM, mode 0600, never overwritten).
//! * [`cli`]: the command-line interface and its exit codes.

pub mod cli;
pub mod epcis_tools;
pub mod keyfile;
