//! Wiring: open the store, start the service, the group-commit flusher, the block producer, the
//! HTTP API and the metrics listener; stop them in order on shutdown.
//!
//! Shutdown order: stop accepting requests (in-flight ones finish), let the producer finish the
//! block it is building, flush storage, return. Every acknowledged event is already durable, so
//! even an abrupt kill loses nothing; the order only avoids needless work at the next start.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use provenance_protocol::genesis::Genesis;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::api::{self, ApiLimits};
use crate::config::NodeConfig;
use crate::mempool::MempoolLimits;
use crate::metrics::Metrics;
use crate::service::{NodeService, ServiceError};
use crate::store::{SledStore, StoreError};

/// Why the node could not start or stopped abnormally. Each message is one line an operator can
/// act on.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    #[error("cannot read genesis file {path}: {source}")]
    GenesisRead {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("genesis file {path} is not a valid genesis: {reason}")]
    GenesisParse { path: PathBuf, reason: String },
    #[error(
        "no signing key configured: set `signing_key` in the config (a validator signs blocks with it)"
    )]
    NoSigningKey,
    #[error("cannot load signing key: {0}")]
    Key(#[from] provenance_client::keyfile::KeyFileError),
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Service(#[from] ServiceError),
    #[error("cannot listen on {addr} for {what}: {source}")]
    Listen {
        what: &'static str,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// A started node. Drop it or call [`RunningNode::stop`] to stop.
#[derive(Debug)]
pub struct RunningNode {
    api_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    service: NodeService,
    shutdown: watch::Sender<bool>,
    api_task: JoinHandle<()>,
    metrics_task: Option<JoinHandle<()>>,
    producer_task: JoinHandle<()>,
    flusher_task: JoinHandle<()>,
}

impl RunningNode {
    /// Where the HTTP API listens (useful with port 0).
    pub fn api_addr(&self) -> SocketAddr {
        self.api_addr
    }

    /// Where the metrics listen, if enabled.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The service (for in-process tests).
    pub fn service(&self) -> &NodeService {
        &self.service
    }

    /// Stops accepting requests, finishes the block in progress, flushes, and returns.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        let _ = self.api_task.await;
        if let Some(task) = self.metrics_task {
            let _ = task.await;
        }
        let _ = self.producer_task.await;
        self.flusher_task.abort();
        let store = self.service.store().clone();
        let _ = tokio::task::spawn_blocking(move || store.flush()).await;
        tracing::info!("node stopped");
    }
}

/// Reads and validates a genesis file.
pub fn load_genesis(path: &Path) -> Result<Genesis, RuntimeError> {
    let text = std::fs::read_to_string(path).map_err(|source| RuntimeError::GenesisRead {
        path: path.to_owned(),
        source,
    })?;
    let genesis: Genesis = serde_json::from_str(&text).map_err(|e| RuntimeError::GenesisParse {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    genesis.validate().map_err(|e| RuntimeError::GenesisParse {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    Ok(genesis)
}

/// The sled directory inside a data directory.
pub fn ledger_dir(data_dir: &Path) -> PathBuf {
    data_dir.join("ledger")
}

/// Starts a node from its configuration.
pub async fn start(config: NodeConfig) -> Result<RunningNode, RuntimeError> {
    let genesis = load_genesis(&config.genesis)?;
    let key_path = config
        .signing_key
        .clone()
        .ok_or(RuntimeError::NoSigningKey)?;
    let signing_key = provenance_client::keyfile::load_key_file(&key_path)?;
    std::fs::create_dir_all(&config.data_dir).map_err(|source| RuntimeError::DataDir {
        path: config.data_dir.clone(),
        source,
    })?;

    // Bind listeners before opening the store so a port clash fails fast and cleanly.
    let api_listener = bind("HTTP API", config.api.listen).await?;
    let api_addr = local_addr("HTTP API", config.api.listen, &api_listener)?;
    let metrics_listener = match (config.metrics.enabled, config.metrics.listen) {
        (true, Some(addr)) => Some(bind("metrics", addr).await?),
        _ => None,
    };

    let ledger = ledger_dir(&config.data_dir);
    let open_genesis = genesis.clone();
    let store = tokio::task::spawn_blocking(move || -> Result<SledStore, StoreError> {
        let store = SledStore::open(&ledger, &open_genesis)?;
        store.verify_head(&open_genesis)?;
        Ok(store)
    })
    .await
    .map_err(|e| StoreError::Corrupt {
        what: format!("store open task failed: {e}"),
    })??;
    let metrics = Metrics::new();
    let limits = MempoolLimits {
        max_events: config.mempool.max_events,
        max_per_signer: config.mempool.max_per_signer,
        max_sequence_ahead: config.mempool.max_sequence_ahead,
    };
    let service = NodeService::new(
        Arc::new(store),
        genesis.clone(),
        signing_key,
        limits,
        metrics.clone(),
    )?;
    let (shutdown, shutdown_rx) = watch::channel(false);

    let flusher_task = tokio::spawn(service.clone().run_flusher());
    let producer_task = tokio::spawn(run_producer(
        service.clone(),
        Duration::from_millis(genesis.params.block_interval_ms.max(1)),
        shutdown_rx.clone(),
    ));
    let router = api::router(
        service.clone(),
        ApiLimits {
            max_body_bytes: config.api.max_body_bytes,
            request_timeout: config.api.request_timeout,
        },
    );
    let api_task = tokio::spawn(serve(api_listener, router, shutdown_rx.clone()));
    let mut metrics_addr = None;
    let metrics_task = match metrics_listener {
        Some(listener) => {
            metrics_addr = listener.local_addr().ok();
            Some(tokio::spawn(serve(
                listener,
                api::metrics_router(metrics),
                shutdown_rx,
            )))
        }
        None => None,
    };
    let status = service.status()?;
    tracing::info!(
        chain_id = %status.chain_id,
        genesis = %status.genesis_hash,
        height = status.height,
        mempool = status.mempool_size,
        api = %api_addr,
        "node started"
    );
    Ok(RunningNode {
        api_addr,
        metrics_addr,
        service,
        shutdown,
        api_task,
        metrics_task,
        producer_task,
        flusher_task,
    })
}

/// Runs a node until `shutdown` completes, then stops it cleanly.
pub async fn run(
    config: NodeConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), RuntimeError> {
    let node = start(config).await?;
    shutdown.await;
    tracing::info!("shutting down");
    node.stop().await;
    Ok(())
}

async fn bind(
    what: &'static str,
    addr: SocketAddr,
) -> Result<tokio::net::TcpListener, RuntimeError> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| RuntimeError::Listen { what, addr, source })
}

fn local_addr(
    what: &'static str,
    addr: SocketAddr,
    listener: &tokio::net::TcpListener,
) -> Result<SocketAddr, RuntimeError> {
    listener
        .local_addr()
        .map_err(|source| RuntimeError::Listen { what, addr, source })
}

async fn serve(
    listener: tokio::net::TcpListener,
    router: axum::Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let result = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            let _ = shutdown.wait_for(|stop| *stop).await;
        })
        .await;
    if let Err(error) = result {
        tracing::error!(%error, "HTTP server failed");
    }
}

/// Seals a block every `interval` while events wait; on shutdown, finishes the block in
/// progress and returns.
async fn run_producer(
    service: NodeService,
    interval: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.wait_for(|stop| *stop) => return,
        }
        match service.produce_block().await {
            Ok(_) => {}
            Err(error) => {
                // A validator that cannot commit must not keep signing: stop producing.
                tracing::error!(%error, "block production failed; no further blocks will be produced");
                return;
            }
        }
    }
}
