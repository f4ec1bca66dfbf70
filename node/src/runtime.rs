//! Wiring: open the store, start the service, the group-commit flusher, the peer-to-peer network,
//! the consensus engine, the HTTP API and the metrics listener; stop them in order on shutdown.
//!
//! Shutdown order: stop accepting requests (in-flight ones finish), stop the engine (it finishes
//! what it is executing), stop the network, flush storage, return. Every acknowledged event and
//! every signed consensus message is already durable, so even an abrupt kill loses nothing and
//! signs nothing twice; the order only avoids needless work at the next start.

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
use crate::consensus::TimeoutConfig;
use crate::engine::{Engine, EngineConfig};
use crate::mempool::MempoolLimits;
use crate::metrics::Metrics;
use crate::net::{NetConfig, NetEvent, NetHandle, NetLimits};
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
    #[error("cannot load signing key: {0}")]
    Key(#[from] provenance_client::keyfile::KeyFileError),
    #[error(
        "cannot load the node key {path} (the network identity; `provenance-node init` creates it): {source}"
    )]
    NodeKey {
        path: PathBuf,
        #[source]
        source: provenance_client::keyfile::KeyFileError,
    },
    #[error("invalid p2p setting: {0}")]
    P2pConfig(String),
    #[error("cannot start the peer-to-peer network: {0}")]
    Network(#[from] crate::net::NetError),
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
    engine_task: JoinHandle<()>,
    flusher_task: JoinHandle<()>,
    net: Option<NetHandle>,
    p2p_addrs: Vec<libp2p::Multiaddr>,
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

    /// The addresses the peer-to-peer network listens on (port 0 resolved); empty without one.
    pub fn p2p_addrs(&self) -> &[libp2p::Multiaddr] {
        &self.p2p_addrs
    }

    /// The network handle, if the node has a network.
    pub fn net(&self) -> Option<&NetHandle> {
        self.net.as_ref()
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
        let _ = self.engine_task.await;
        if let Some(net) = self.net {
            net.shutdown().await;
        }
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
    let signing_key = match &config.signing_key {
        Some(path) => Some(provenance_client::keyfile::load_key_file(path)?),
        None => None,
    };
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
    let (net, net_events) = start_network(&config, &service).await?;
    let p2p_addrs = match &net {
        Some(net) => net.listen_addrs().await,
        None => Vec::new(),
    };
    let engine = Engine::new(
        service.clone(),
        net.clone(),
        EngineConfig {
            timeouts: TimeoutConfig {
                propose: config.consensus.timeout_propose,
                propose_delta: config.consensus.timeout_delta,
                prevote: config.consensus.timeout_vote,
                prevote_delta: config.consensus.timeout_delta,
                precommit: config.consensus.timeout_vote,
                precommit_delta: config.consensus.timeout_delta,
                rebroadcast: config.consensus.rebroadcast,
            },
            block_interval: Duration::from_millis(genesis.params.block_interval_ms.max(1)),
            sync_interval: SYNC_INTERVAL,
            regossip_after: REGOSSIP_AFTER,
            max_gossip_bytes: config.p2p.max_gossip_bytes,
            max_response_bytes: NetLimits::default().max_response_bytes,
        },
    );
    let engine_task = tokio::spawn(engine.run(net_events, shutdown_rx.clone()));
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
        p2p = ?p2p_addrs.iter().map(ToString::to_string).collect::<Vec<_>>(),
        peer_id = ?net.as_ref().map(|n| n.local_peer_id().to_string()),
        "node started"
    );
    Ok(RunningNode {
        api_addr,
        metrics_addr,
        service,
        shutdown,
        api_task,
        metrics_task,
        engine_task,
        flusher_task,
        net,
        p2p_addrs,
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

/// How often the engine asks peers for their head.
const SYNC_INTERVAL: Duration = Duration::from_secs(1);
/// Events accepted here and not in a block after this long are gossiped again.
const REGOSSIP_AFTER: Duration = Duration::from_secs(3);

/// Starts libp2p when the configuration asks for a network (listen or bootstrap addresses).
/// The allow-list is every network key in the committed registry, plus configured observers;
/// validators at the next height are gossip explicit peers.
async fn start_network(
    config: &NodeConfig,
    service: &NodeService,
) -> Result<
    (
        Option<NetHandle>,
        Option<tokio::sync::mpsc::Receiver<NetEvent>>,
    ),
    RuntimeError,
> {
    if config.p2p.listen.is_empty() && config.p2p.bootstrap.is_empty() {
        return Ok((None, None));
    }
    let node_key =
        provenance_client::keyfile::load_key_file(&config.node_key).map_err(|source| {
            RuntimeError::NodeKey {
                path: config.node_key.clone(),
                source,
            }
        })?;
    let parse_addrs = |list: &[String], key: &str| {
        list.iter()
            .map(|a| {
                a.parse::<libp2p::Multiaddr>()
                    .map_err(|e| RuntimeError::P2pConfig(format!("{key} entry {a:?}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()
    };
    let observers = config
        .p2p
        .observers
        .iter()
        .map(|p| {
            p.parse::<libp2p::PeerId>()
                .map_err(|e| RuntimeError::P2pConfig(format!("p2p.observers entry {p:?}: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let (registry, validators) = membership(service);
    let limits = NetLimits {
        max_gossip_bytes: config.p2p.max_gossip_bytes,
        max_connections: config.p2p.max_connections,
        idle_connection_timeout: config.p2p.idle_connection_timeout,
        ..NetLimits::default()
    };
    let (handle, events) = crate::net::start(NetConfig {
        chain_id: service.genesis().chain_id.clone(),
        keypair: crate::net::keypair_from(&node_key),
        listen: parse_addrs(&config.p2p.listen, "p2p.listen")?,
        bootstrap: parse_addrs(&config.p2p.bootstrap, "p2p.bootstrap")?,
        registry,
        validators,
        observers,
        limits,
    })
    .await?;
    Ok((Some(handle), Some(events)))
}

/// The peers of the committed registry: every participant's node, and the validators' nodes
/// at the next height.
pub(crate) fn membership(service: &NodeService) -> (Vec<libp2p::PeerId>, Vec<libp2p::PeerId>) {
    let store = service.store();
    let height = service.tip().height + 1;
    let validators = service.validator_set_at(height);
    let mut registry = Vec::new();
    let mut validator_peers = Vec::new();
    for record in store.participants().unwrap_or_default() {
        let Some(entry) = store.participant(&record.name) else {
            continue;
        };
        if entry.removed_at.is_some_and(|at| at <= height) {
            continue;
        }
        let peer = crate::net::peer_id_of(&entry.network_key);
        registry.push(peer);
        if validators
            .as_ref()
            .is_some_and(|set| set.power_of(&entry.signing_key).is_some())
        {
            validator_peers.push(peer);
        }
    }
    (registry, validator_peers)
}
