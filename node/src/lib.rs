//! # provenance-node
//!
//! ## Bird's Eye View
//!
//! The daemon every organisation runs. A submitted [`provenance_protocol::record::SignedEvent`]
//! enters through [`api`], is checked and made durable by [`service`] (cheap checks, signature,
//! rules against the committed state plus the [`mempool`]), waits in the mempool, and is sealed
//! into a block by the producer ([`chain`] builds it, the validator signs it), which [`store`]
//! commits atomically with its certificate, state changes, indexes and Merkle nodes.
//! [`runtime`] wires the pieces together; [`config`], [`cli`], [`devnet`] and [`demo`] serve the
//! operator.

pub mod api;
pub mod chain;
pub mod cli;
pub mod config;
pub mod consensus;
pub mod demo;
pub mod devnet;
pub mod mempool;
pub mod metrics;
pub mod runtime;
pub mod service;
pub mod store;
