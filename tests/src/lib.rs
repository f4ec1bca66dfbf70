//! Workspace-level test harness.
//!
//! # Bird's Eye View
//!
//! Integration tests that span crates live in `tests/tests/`; this library holds what they share.
//! Besides locating the workspace, that is the multi-node harness:
//!
//! - [`testnet`]: [`TestNet`] starts real `provenance-node` processes on loopback from a generated
//!   genesis, kills and restarts them, partitions and heals the network, and waits for conditions
//!   with a report of every node (status and log tail) when they do not come true.
//! - [`proxy`]: [`LinkProxy`], the userspace TCP proxy on every node-to-node link that makes
//!   partitions possible without root or `netem`.
//! - [`client`]: [`NodeClient`], the HTTP API as the tests use it (protocol types in, protocol
//!   types out, busy answers retried).
//! - [`events`] and [`load`]: valid signed commissioning events from several signers, and a loop
//!   that submits them until told to stop, counting only what was acknowledged.
//! - [`chain`]: verification of a node's chain from genesis, as a light client would.
//! - [`identity`]: deterministic test keys and libp2p peer ids.
//! - [`peer`]: [`InProcessPeer`], a libp2p peer in the test process built from the node's own
//!   network code, for participants the test scripts: a Byzantine stand-in for a validator, an
//!   intruder, an observer.
//! - [`consumer`]: a `provenance-node dev --demo` process and the `provenance` CLI binary run
//!   against it, for end-to-end verification, tampering and recall tests.
//! - [`browser`]: headless Debian `chromium` (DOM dumps and screenshots) against the node's
//!   product pages.
//!
//! The nodes under test always run as processes of the `provenance-node` binary: the harness
//! talks to them over their config files, HTTP API and sockets, like an operator would. Only
//! [`peer`] links the node library, for its network layer and wire format.

use std::path::PathBuf;

pub mod browser;
pub mod chain;
pub mod client;
pub mod consumer;
pub mod events;
pub mod identity;
pub mod load;
pub mod peer;
pub mod proxy;
pub mod testnet;

pub use client::{NodeClient, NodeStatus};
pub use events::{EventSource, SignerStream};
pub use peer::{InProcessPeer, PeerSpec};
pub use proxy::LinkProxy;
pub use testnet::{TestNet, TestNetBuilder};

/// The workspace root (the directory holding the virtual `Cargo.toml`).
pub fn workspace_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}
