//! # provenance-protocol
//!
//! ## Bird's Eye View
//!
//! The pure heart of Provenance: every type that crosses a process boundary and every rule that
//! decides whether an event is accepted. Nothing here performs I/O, spawns tasks or touches a
//! clock: callers pass time and ledger state in. That keeps the rules deterministic (every
//! validator reaches the same verdict on the same input) and lets a consumer's offline verifier
//! re-run exactly the code the validators ran.

pub mod bundle;
pub mod codec;
pub mod crypto;
pub mod epcis;
pub mod event_hash;
pub mod evidence;
pub mod genesis;
pub mod governance;
pub mod gs1;
pub mod ledger;
pub mod merkle;
pub mod record;
pub mod rules;
