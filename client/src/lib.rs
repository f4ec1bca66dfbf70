//! # provenance-client
//!
//! ## Bird's Eye View
//!
//! The participant's and the consumer's side of Provenance, as a library with a thin CLI
//! (`provenance`) on top, so tests and other programs call the same code the CLI runs.
//!
//! Consumer side (verification trusts nothing but the network's genesis):
//!
//! * [`trust`]: the genesis file or pinned hash verification starts from.
//! * [`http`]: the node's API (bundles, status, events, submissions), with retries and the
//!   mapping of failures to exit codes.
//! * [`freshness`]: the highest verified head per network, remembered between runs so an old
//!   bundle (one that predates a recall) is refused.
//! * [`render`]: the human form of a verdict.
//!
//! Participant side (the private key never leaves the machine):
//!
//! * [`keyfile`]: organisation signing keys on disk (PKCS#8 PEM, mode 0600, never overwritten
//!   unless asked).
//! * [`events`]: EPCIS input validated, made self-contained and identified, ready to sign.
//! * [`sequence`]: the per-signer sequence journal (idempotent retries, corrected by the node).
//! * [`submission`]: signing and submitting in order, in batches, recovering from stale
//!   sequences.
//!
//! Shared: [`config`] (flags, environment, config file), [`epcis_tools`] (offline EPCIS tools:
//! Event Hash IDs, validation), [`output`] (atomic file output), [`error`] (exit codes), and
//! [`cli`] + [`commands`]: the command line.

pub mod cli;
pub mod commands;
pub mod config;
pub mod epcis_tools;
pub mod error;
pub mod events;
pub mod freshness;
pub mod http;
pub mod keyfile;
pub mod output;
pub mod render;
pub mod sequence;
pub mod submission;
pub mod trust;
