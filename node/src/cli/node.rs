//! The one place the CLI calls into the node runtime, so that wiring changes stay here.

use std::future::Future;
use std::net::SocketAddr;

use crate::config::NodeConfig;
use crate::runtime::{self, RunningNode, RuntimeError};

/// Runs a node until `shutdown` completes.
pub(super) async fn run_node(
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    runtime::run(config, shutdown).await?;
    Ok(())
}

/// A started node the CLI keeps running while it does more work (the dev demo).
#[derive(Debug)]
pub(super) struct StartedNode(RunningNode);

impl StartedNode {
    /// Starts a node; returns once its API is listening.
    pub(super) async fn start(config: NodeConfig) -> Result<Self, RuntimeError> {
        runtime::start(config).await.map(StartedNode)
    }

    /// Where the API listens.
    pub(super) fn api_addr(&self) -> SocketAddr {
        self.0.api_addr()
    }

    /// Stops the node cleanly.
    pub(super) async fn stop(self) {
        self.0.stop().await;
    }
}
