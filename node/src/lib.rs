//! # provenance-node
//!
//! ## Bird's Eye View
//!
//! The daemon every organisation runs. A submitted [`provenance_protocol::record::SignedEvent`]
//! enters through [`api`], is checked and made durable by [`service`] (cheap checks, signature,
//! rules against the committed state plus the [`mempool`]), waits in the mempool and is gossiped
//! to the other nodes ([`net`], encoded by [`wire`]). The [`engine`] drives the BFT core
//! ([`consensus`]): the proposer builds a block ([`chain`]), the others fetch and re-execute it,
//! and once more than two thirds of the voting power precommit, every node commits it with its
//! certificate ([`store`], one atomic transaction). Nodes that fell behind catch up by fetching
//! certified blocks. [`runtime`] wires the pieces together; [`config`], [`cli`], [`devnet`] and
//! [`demo`] serve the operator.

pub mod api;
pub mod chain;
pub mod cli;
pub mod config;
pub mod consensus;
pub mod demo;
pub mod devnet;
pub mod engine;
pub mod mempool;
pub mod metrics;
pub mod net;
pub mod runtime;
pub mod service;
pub mod store;
pub mod wire;
