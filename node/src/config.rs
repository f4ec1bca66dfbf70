//! Node configuration: one [`NodeConfig`], assembled from four layers.
//!
//! Precedence, highest first: command-line flags ([`CliOverrides`]), environment variables
//! (`PROVENANCE_*`, see [`env_vars`]), the TOML config file, built-in defaults. Every setting has
//! a default, so a node runs with no file at all; `config.example.toml` at the workspace root
//! documents every key (a test keeps it equal to the defaults).
//!
//! ## Why the loader is strict
//!
//! A misspelt key that is silently ignored leaves a node running with a default the operator
//! believes they changed (an API listening on the wrong interface, a limit that is not the one
//! configured). So every table refuses unknown keys, and every error names the file (or variable),
//! the full key and the problem in one line:
//! `config.toml: unknown key `api.listne`, expected one of listen, max_body_bytes, request_timeout`.
//!
//! ## Paths
//!
//! Relative paths are relative to the node's working directory. `genesis` and `node_key` default
//! to files inside `data_dir` *after* all layers are merged, so moving `data_dir` (for example with
//! `PROVENANCE_DATA_DIR`) moves them too. `signing_key` defaults to `{data_dir}/signing.key` only if
//! that file exists: a node without an organisation key can still serve reads.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Default data directory.
pub const DEFAULT_DATA_DIR: &str = "./data";
/// File name of the genesis inside the data directory, when `genesis` is not set.
pub const GENESIS_FILE: &str = "genesis.json";
/// File name of the organisation signing key inside the data directory.
pub const SIGNING_KEY_FILE: &str = "signing.key";
/// File name of the network identity key inside the data directory.
pub const NODE_KEY_FILE: &str = "node.key";
/// File name `provenance-node init` writes the configuration to, inside the data directory.
pub const CONFIG_FILE: &str = "config.toml";
/// Default HTTP API address: loopback, so a fresh node is not reachable from the network until
/// the operator decides it should be.
pub const DEFAULT_API_LISTEN: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// Default Prometheus metrics address (loopback for the same reason).
pub const DEFAULT_METRICS_LISTEN: SocketAddr =
    SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 9464);
/// Default largest HTTP request body: comfortably above a batch of maximum-size events, far below
/// what would let one client exhaust memory.
pub const DEFAULT_MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
/// Default time a request may take before the API answers 408/503.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Default mempool capacity in events.
pub const DEFAULT_MEMPOOL_MAX_EVENTS: usize = 100_000;
/// Default events one signer may have waiting, so one busy participant cannot fill the mempool.
pub const DEFAULT_MEMPOOL_MAX_PER_SIGNER: usize = 10_000;
/// Default distance ahead of a signer's last accepted sequence number a submission may be.
pub const DEFAULT_MEMPOOL_MAX_SEQUENCE_AHEAD: u64 = 10_000;
/// Default `tracing` filter.
pub const DEFAULT_LOG_FILTER: &str = "info,libp2p=warn";
/// Default libp2p listen addresses: TCP and QUIC on port 7070 on every interface, because a node
/// exists to be reached by the other organisations' nodes.
pub const DEFAULT_P2P_LISTEN: &[&str] = &["/ip4/0.0.0.0/tcp/7070", "/ip4/0.0.0.0/udp/7070/quic-v1"];
/// Default most established peer connections.
pub const DEFAULT_P2P_MAX_CONNECTIONS: u32 = 128;
/// Default idle timeout of a peer connection: long, because validator links must stay up between
/// bursts of traffic (and are redialled if they drop anyway).
pub const DEFAULT_P2P_IDLE_TIMEOUT: Duration = Duration::from_secs(3600);
/// Default largest gossip message (a bundle of events or one consensus message).
pub const DEFAULT_P2P_MAX_GOSSIP_BYTES: usize = 4 * 1024 * 1024;
/// The word that disables a metrics listener where an address is expected.
pub const METRICS_OFF: &str = "off";

/// Environment variables the loader reads. Empty values count as unset.
pub mod env_vars {
    /// `data_dir`.
    pub const DATA_DIR: &str = "PROVENANCE_DATA_DIR";
    /// `genesis`.
    pub const GENESIS: &str = "PROVENANCE_GENESIS";
    /// `signing_key`.
    pub const SIGNING_KEY: &str = "PROVENANCE_SIGNING_KEY";
    /// `node_key`.
    pub const NODE_KEY: &str = "PROVENANCE_NODE_KEY";
    /// `api.listen`.
    pub const API_LISTEN: &str = "PROVENANCE_API_LISTEN";
    /// `metrics.listen` (an address or `off`).
    pub const METRICS_LISTEN: &str = "PROVENANCE_METRICS_LISTEN";
    /// `log.filter`.
    pub const LOG: &str = "PROVENANCE_LOG";
    /// `p2p.listen`, comma-separated multiaddrs.
    pub const P2P_LISTEN: &str = "PROVENANCE_P2P_LISTEN";
    /// `p2p.bootstrap`, comma-separated multiaddrs ending in `/p2p/<peer id>`.
    pub const P2P_BOOTSTRAP: &str = "PROVENANCE_P2P_BOOTSTRAP";
    /// Every variable above, for documentation and `--help`.
    pub const ALL: &[&str] = &[
        DATA_DIR,
        GENESIS,
        SIGNING_KEY,
        NODE_KEY,
        API_LISTEN,
        METRICS_LISTEN,
        LOG,
        P2P_LISTEN,
        P2P_BOOTSTRAP,
    ];
}

/// The effective configuration of a node.
///
/// Build it with [`NodeConfig::load`]. Deserializing it directly (it is `Deserialize`) applies the
/// file defaults, including the `data_dir`-relative `genesis` and `node_key`, but neither the
/// environment nor the "signing key if the file exists" default.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
// Deserialization goes through `FileConfig` (which denies unknown keys) so that the
// `data_dir`-relative defaults apply however the value is read.
#[serde(from = "FileConfig")]
pub struct NodeConfig {
    /// Where the ledger, keys and generated files live.
    pub data_dir: PathBuf,
    /// The genesis file this node serves (default `{data_dir}/genesis.json`).
    pub genesis: PathBuf,
    /// The organisation's (and, on a validator, the block-signing) key file, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<PathBuf>,
    /// The node's network identity key file (default `{data_dir}/node.key`).
    pub node_key: PathBuf,
    /// HTTP API.
    pub api: ApiConfig,
    /// Prometheus metrics endpoint.
    pub metrics: MetricsConfig,
    /// Admission limits of the pending-event pool.
    pub mempool: MempoolConfig,
    /// Logging.
    pub log: LogConfig,
    /// Peer-to-peer network.
    pub p2p: P2pConfig,
    /// Consensus timing (local: validators need not agree on it).
    pub consensus: ConsensusConfig,
}

/// `[api]`: the HTTP API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Address the API listens on.
    pub listen: SocketAddr,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Time limit per request (humantime: `"30s"`, `"500ms"`, `"1m 30s"`).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: DEFAULT_API_LISTEN,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
        }
    }
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricsConfig {
    /// Address of the metrics listener; `None` (written `"off"`) for none.
    #[serde(with = "metrics_listen_serde")]
    pub listen: Option<SocketAddr>,
    /// Whether metrics are served at all.
    pub enabled: bool,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        MetricsConfig {
            listen: Some(DEFAULT_METRICS_LISTEN),
            enabled: true,
        }
    }
}

/// `[mempool]`: how many acknowledged-but-unsealed events the node holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MempoolConfig {
    /// Most events waiting in total.
    pub max_events: usize,
    /// Most events waiting from one signer.
    pub max_per_signer: usize,
    /// How far ahead of the signer's last accepted sequence number a submission may be.
    pub max_sequence_ahead: u64,
}

impl Default for MempoolConfig {
    fn default() -> Self {
        MempoolConfig {
            max_events: DEFAULT_MEMPOOL_MAX_EVENTS,
            max_per_signer: DEFAULT_MEMPOOL_MAX_PER_SIGNER,
            max_sequence_ahead: DEFAULT_MEMPOOL_MAX_SEQUENCE_AHEAD,
        }
    }
}

/// `[log]`: logging.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    /// `tracing` env-filter directives; `RUST_LOG`, when set, takes precedence.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            filter: DEFAULT_LOG_FILTER.to_owned(),
        }
    }
}

/// `[p2p]`: the libp2p network.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct P2pConfig {
    /// Multiaddrs to listen on (TCP and/or QUIC). Empty: no network (a single-validator network).
    pub listen: Vec<String>,
    /// Peers to dial at start and redial while disconnected: multiaddrs ending in
    /// `/p2p/<peer id>`.
    pub bootstrap: Vec<String>,
    /// Peer ids of read-only observers: they may connect and sync blocks; what they publish is
    /// ignored.
    pub observers: Vec<String>,
    /// Most established peer connections in total.
    pub max_connections: u32,
    /// How long a connection with no traffic stays open.
    #[serde(with = "humantime_serde")]
    pub idle_connection_timeout: Duration,
    /// Largest gossip message accepted or sent, in bytes.
    pub max_gossip_bytes: usize,
}

impl Default for P2pConfig {
    fn default() -> Self {
        P2pConfig {
            listen: DEFAULT_P2P_LISTEN.iter().map(|s| (*s).to_owned()).collect(),
            bootstrap: Vec::new(),
            observers: Vec::new(),
            max_connections: DEFAULT_P2P_MAX_CONNECTIONS,
            idle_connection_timeout: DEFAULT_P2P_IDLE_TIMEOUT,
            max_gossip_bytes: DEFAULT_P2P_MAX_GOSSIP_BYTES,
        }
    }
}

/// `[consensus]`: this validator's round timeouts. They only affect liveness, so validators
/// may differ; every timeout grows by `timeout_delta` per round, so after a partition heals
/// some round is long enough for every honest validator to hear every other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusConfig {
    /// How long to wait for the round's proposal (round 0).
    #[serde(with = "humantime_serde")]
    pub timeout_propose: Duration,
    /// How long to wait for more prevotes or precommits after seeing a quorum of mixed votes.
    #[serde(with = "humantime_serde")]
    pub timeout_vote: Duration,
    /// Added to every timeout per round.
    #[serde(with = "humantime_serde")]
    pub timeout_delta: Duration,
    /// Period of re-sending this validator's messages of the current round (repairs loss).
    #[serde(with = "humantime_serde")]
    pub rebroadcast: Duration,
}

impl Default for ConsensusConfig {
    fn default() -> Self {
        ConsensusConfig {
            timeout_propose: Duration::from_secs(3),
            timeout_vote: Duration::from_secs(1),
            timeout_delta: Duration::from_millis(500),
            rebroadcast: Duration::from_secs(2),
        }
    }
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig::for_data_dir(PathBuf::from(DEFAULT_DATA_DIR))
    }
}

/// Settings given on the command line; each beats the environment and the file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CliOverrides {
    pub data_dir: Option<PathBuf>,
    pub genesis: Option<PathBuf>,
    pub signing_key: Option<PathBuf>,
    pub node_key: Option<PathBuf>,
    pub api_listen: Option<SocketAddr>,
    pub metrics_listen: Option<MetricsListen>,
    pub log_filter: Option<String>,
}

/// A metrics listener setting as typed by a person: an address, or `off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MetricsListen(pub Option<SocketAddr>);

impl FromStr for MetricsListen {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.trim().eq_ignore_ascii_case(METRICS_OFF) {
            return Ok(MetricsListen(None));
        }
        text.trim()
            .parse()
            .map(|addr| MetricsListen(Some(addr)))
            .map_err(|_| {
                format!(
                    "{text:?} is neither a socket address (like 127.0.0.1:9464) nor {METRICS_OFF:?}"
                )
            })
    }
}

impl std::fmt::Display for MetricsListen {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0 {
            Some(addr) => addr.fmt(f),
            None => f.write_str(METRICS_OFF),
        }
    }
}

/// Why a configuration could not be loaded. Each message names where the problem is (file and
/// key, or environment variable) and what it is.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Syntax {
        file: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("{file}: unknown key `{key}`, expected one of {expected}")]
    UnknownKey {
        file: String,
        key: String,
        expected: String,
    },
    #[error("{file}: `{key}` must be a table (a `[{key}]` section)")]
    NotATable { file: String, key: String },
    #[error("{file}: invalid value for `{key}`: {message}")]
    InvalidValue {
        file: String,
        key: String,
        message: String,
    },
    #[error("environment variable {var}={value:?} is invalid: {message}")]
    InvalidEnv {
        var: &'static str,
        value: String,
        message: String,
    },
    #[error("invalid configuration: `{key}` {problem}")]
    Invalid { key: &'static str, problem: String },
    #[error("cannot show the configuration as TOML: {message}")]
    Render { message: String },
}

impl NodeConfig {
    /// The defaults, with every file inside `data_dir`.
    pub fn for_data_dir(data_dir: PathBuf) -> Self {
        NodeConfig {
            genesis: data_dir.join(GENESIS_FILE),
            node_key: data_dir.join(NODE_KEY_FILE),
            signing_key: None,
            data_dir,
            api: ApiConfig::default(),
            metrics: MetricsConfig::default(),
            mempool: MempoolConfig::default(),
            log: LogConfig::default(),
            p2p: P2pConfig::default(),
            consensus: ConsensusConfig::default(),
        }
    }

    /// Loads the configuration: `file` (if any), then the environment as read through `env`
    /// (pass `|name| std::env::var(name).ok()`), then `overrides`.
    pub fn load(
        file: Option<&Path>,
        env: &impl Fn(&str) -> Option<String>,
        overrides: &CliOverrides,
    ) -> Result<NodeConfig, ConfigError> {
        let file_config = match file {
            Some(path) => read_file(path)?,
            None => FileConfig::default(),
        };
        let env = Env(env);
        let FileConfig {
            data_dir,
            genesis,
            signing_key,
            node_key,
            mut api,
            mut metrics,
            mempool,
            mut log,
            mut p2p,
            consensus,
        } = file_config;

        let data_dir = layered(
            overrides.data_dir.clone(),
            env.path(env_vars::DATA_DIR),
            data_dir,
        )
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        let genesis = layered(
            overrides.genesis.clone(),
            env.path(env_vars::GENESIS),
            genesis,
        )
        .unwrap_or_else(|| data_dir.join(GENESIS_FILE));
        let node_key = layered(
            overrides.node_key.clone(),
            env.path(env_vars::NODE_KEY),
            node_key,
        )
        .unwrap_or_else(|| data_dir.join(NODE_KEY_FILE));
        let signing_key = layered(
            overrides.signing_key.clone(),
            env.path(env_vars::SIGNING_KEY),
            signing_key,
        )
        .or_else(|| {
            let default = data_dir.join(SIGNING_KEY_FILE);
            default.exists().then_some(default)
        });

        if let Some(listen) = overrides.api_listen {
            api.listen = listen;
        } else if let Some(listen) = env.parsed::<SocketAddr>(env_vars::API_LISTEN)? {
            api.listen = listen;
        }
        if let Some(listen) = overrides.metrics_listen {
            metrics.listen = listen.0;
        } else if let Some(listen) = env.parsed::<MetricsListen>(env_vars::METRICS_LISTEN)? {
            metrics.listen = listen.0;
        }
        if let Some(filter) = overrides.log_filter.clone() {
            log.filter = filter;
        } else if let Some(filter) = env.get(env_vars::LOG) {
            log.filter = filter;
        }

        if let Some(listen) = env.get(env_vars::P2P_LISTEN) {
            p2p.listen = split_list(&listen);
        }
        if let Some(bootstrap) = env.get(env_vars::P2P_BOOTSTRAP) {
            p2p.bootstrap = split_list(&bootstrap);
        }

        let config = NodeConfig {
            data_dir,
            genesis,
            signing_key,
            node_key,
            api,
            metrics,
            mempool,
            log,
            p2p,
            consensus,
        };
        config.validate()?;
        Ok(config)
    }

    /// Checks the values no type can express (non-zero limits, a non-empty log filter).
    pub fn validate(&self) -> Result<(), ConfigError> {
        // TOML integers are signed 64-bit: a larger value could not be written back to a file.
        let positive = |key, value: u128| match value {
            0 => Err(ConfigError::Invalid {
                key,
                problem: "must be greater than zero".into(),
            }),
            v if v > i64::MAX as u128 => Err(ConfigError::Invalid {
                key,
                problem: format!("must be at most {}", i64::MAX),
            }),
            _ => Ok(()),
        };
        positive("api.max_body_bytes", self.api.max_body_bytes as u128)?;
        positive("api.request_timeout", self.api.request_timeout.as_millis())?;
        positive("mempool.max_events", self.mempool.max_events as u128)?;
        positive(
            "mempool.max_per_signer",
            self.mempool.max_per_signer as u128,
        )?;
        positive(
            "mempool.max_sequence_ahead",
            u128::from(self.mempool.max_sequence_ahead),
        )?;
        if self.mempool.max_per_signer > self.mempool.max_events {
            return Err(ConfigError::Invalid {
                key: "mempool.max_per_signer",
                problem: format!(
                    "({}) must not exceed mempool.max_events ({})",
                    self.mempool.max_per_signer, self.mempool.max_events
                ),
            });
        }
        positive("p2p.max_connections", u128::from(self.p2p.max_connections))?;
        positive("p2p.max_gossip_bytes", self.p2p.max_gossip_bytes as u128)?;
        positive(
            "p2p.idle_connection_timeout",
            self.p2p.idle_connection_timeout.as_millis(),
        )?;
        for (key, list) in [
            ("p2p.listen", &self.p2p.listen),
            ("p2p.bootstrap", &self.p2p.bootstrap),
        ] {
            for addr in list {
                let parsed: libp2p::Multiaddr = addr.parse().map_err(|e| ConfigError::Invalid {
                    key,
                    problem: format!("entry {addr:?} is not a multiaddr: {e}"),
                })?;
                if key == "p2p.bootstrap"
                    && !parsed
                        .iter()
                        .any(|p| matches!(p, libp2p::multiaddr::Protocol::P2p(_)))
                {
                    return Err(ConfigError::Invalid {
                        key,
                        problem: format!(
                            "entry {addr:?} must end in /p2p/<peer id> so the node knows whom it dials"
                        ),
                    });
                }
            }
        }
        for peer in &self.p2p.observers {
            peer.parse::<libp2p::PeerId>()
                .map_err(|e| ConfigError::Invalid {
                    key: "p2p.observers",
                    problem: format!("entry {peer:?} is not a peer id: {e}"),
                })?;
        }
        positive(
            "consensus.timeout_propose",
            self.consensus.timeout_propose.as_millis(),
        )?;
        positive(
            "consensus.timeout_vote",
            self.consensus.timeout_vote.as_millis(),
        )?;
        positive(
            "consensus.rebroadcast",
            self.consensus.rebroadcast.as_millis(),
        )?;
        if self.log.filter.trim().is_empty() {
            return Err(ConfigError::Invalid {
                key: "log.filter",
                problem: format!("must not be empty (the default is {DEFAULT_LOG_FILTER:?})"),
            });
        }
        Ok(())
    }

    /// Where metrics are served, if they are.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.listen.filter(|_| self.metrics.enabled)
    }

    /// The configuration as a TOML document that [`NodeConfig::load`] reads back to the same
    /// value. The configuration holds no secrets: key files appear by path, never by content.
    pub fn to_toml_redacted(&self) -> Result<String, ConfigError> {
        let body = toml::to_string_pretty(self).map_err(|e| ConfigError::Render {
            message: e.to_string(),
        })?;
        let mut out = String::from(
            "# provenance-node configuration. Key files are listed by path; their contents are never shown.\n",
        );
        if self.signing_key.is_none() {
            out.push_str(&format!(
                "# signing_key: not set (no {} found); this node cannot sign events or blocks.\n",
                self.data_dir.join(SIGNING_KEY_FILE).display()
            ));
        }
        out.push_str(&body);
        Ok(out)
    }
}

/// A comma-separated list from an environment variable, blanks dropped.
fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The first of flag, environment and file that is set.
fn layered<T>(flag: Option<T>, env: Option<T>, file: Option<T>) -> Option<T> {
    flag.or(env).or(file)
}

/// The environment as the loader sees it: empty values are unset.
struct Env<'a, F: Fn(&str) -> Option<String>>(&'a F);

impl<F: Fn(&str) -> Option<String>> Env<'_, F> {
    fn get(&self, var: &str) -> Option<String> {
        (self.0)(var).filter(|v| !v.trim().is_empty())
    }

    fn path(&self, var: &str) -> Option<PathBuf> {
        self.get(var).map(PathBuf::from)
    }

    fn parsed<T: FromStr>(&self, var: &'static str) -> Result<Option<T>, ConfigError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(var)
            .map(|value| {
                value
                    .trim()
                    .parse()
                    .map_err(|e: T::Err| ConfigError::InvalidEnv {
                        var,
                        message: e.to_string(),
                        value,
                    })
            })
            .transpose()
    }
}

/// The file layer: like [`NodeConfig`], but the paths may be unset so that their defaults can
/// follow `data_dir` after every layer is merged.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    data_dir: Option<PathBuf>,
    genesis: Option<PathBuf>,
    signing_key: Option<PathBuf>,
    node_key: Option<PathBuf>,
    #[serde(default)]
    api: ApiConfig,
    #[serde(default)]
    metrics: MetricsConfig,
    #[serde(default)]
    mempool: MempoolConfig,
    #[serde(default)]
    log: LogConfig,
    #[serde(default)]
    p2p: P2pConfig,
    #[serde(default)]
    consensus: ConsensusConfig,
}

impl From<FileConfig> for NodeConfig {
    fn from(file: FileConfig) -> Self {
        let data_dir = file
            .data_dir
            .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
        NodeConfig {
            genesis: file.genesis.unwrap_or_else(|| data_dir.join(GENESIS_FILE)),
            node_key: file
                .node_key
                .unwrap_or_else(|| data_dir.join(NODE_KEY_FILE)),
            signing_key: file.signing_key,
            data_dir,
            api: file.api,
            metrics: file.metrics,
            mempool: file.mempool,
            log: file.log,
            p2p: file.p2p,
            consensus: file.consensus,
        }
    }
}

/// Top-level keys that hold a path.
const PATH_KEYS: &[&str] = &["data_dir", "genesis", "signing_key", "node_key"];

/// Every section and its keys. `config_schema_matches_the_types` keeps this equal to the structs.
const SECTIONS: &[(&str, &[&str])] = &[
    ("api", &["listen", "max_body_bytes", "request_timeout"]),
    ("metrics", &["listen", "enabled"]),
    (
        "mempool",
        &["max_events", "max_per_signer", "max_sequence_ahead"],
    ),
    ("log", &["filter"]),
    (
        "p2p",
        &[
            "listen",
            "bootstrap",
            "observers",
            "max_connections",
            "idle_connection_timeout",
            "max_gossip_bytes",
        ],
    ),
    (
        "consensus",
        &[
            "timeout_propose",
            "timeout_vote",
            "timeout_delta",
            "rebroadcast",
        ],
    ),
];

fn read_file(path: &Path) -> Result<FileConfig, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    parse_file(&path.display().to_string(), &text)
}

/// Parses a config file's text; `name` is how errors refer to the file.
fn parse_file(name: &str, text: &str) -> Result<FileConfig, ConfigError> {
    let table: toml::Table = toml::from_str(text).map_err(|e| {
        let (line, column) = e
            .span()
            .map(|span| line_column(text, span.start))
            .unwrap_or((1, 1));
        ConfigError::Syntax {
            file: name.to_owned(),
            line,
            column,
            message: e.message().to_owned(),
        }
    })?;
    check_keys(name, &table)?;
    deserialize_file(&table).map_err(|(key, message)| ConfigError::InvalidValue {
        file: name.to_owned(),
        key,
        message,
    })
}

/// 1-based line and column (in characters) of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let column = before
        .rsplit('\n')
        .next()
        .map_or(0, |last| last.chars().count())
        + 1;
    (line, column)
}

/// Refuses unknown keys by their full dotted name, listing what is allowed there.
fn check_keys(file: &str, table: &toml::Table) -> Result<(), ConfigError> {
    for (key, value) in table {
        if let Some((_, allowed)) = SECTIONS.iter().find(|(section, _)| section == key) {
            let section = value.as_table().ok_or_else(|| ConfigError::NotATable {
                file: file.to_owned(),
                key: key.clone(),
            })?;
            if let Some(unknown) = section.keys().find(|k| !allowed.contains(&k.as_str())) {
                return Err(ConfigError::UnknownKey {
                    file: file.to_owned(),
                    key: format!("{key}.{unknown}"),
                    expected: allowed.join(", "),
                });
            }
        } else if !PATH_KEYS.contains(&key.as_str()) {
            let expected: Vec<&str> = PATH_KEYS
                .iter()
                .copied()
                .chain(SECTIONS.iter().map(|(section, _)| *section))
                .collect();
            return Err(ConfigError::UnknownKey {
                file: file.to_owned(),
                key: key.clone(),
                expected: expected.join(", "),
            });
        }
    }
    Ok(())
}

/// Deserializes the whole table; on failure finds the key at fault by deserializing each key
/// alone (every other key then takes its default), so the error can name it.
fn deserialize_file(table: &toml::Table) -> Result<FileConfig, (String, String)> {
    let whole = FileConfig::deserialize(toml::Value::Table(table.clone()));
    let error = match whole {
        Ok(config) => return Ok(config),
        Err(error) => error,
    };
    let alone = |key: &str, value: toml::Value| {
        let mut single = toml::Table::new();
        single.insert(key.to_owned(), value);
        FileConfig::deserialize(toml::Value::Table(single)).err()
    };
    for (key, value) in table {
        match value.as_table() {
            Some(section) => {
                for (inner, inner_value) in section {
                    let mut one = toml::Table::new();
                    one.insert(inner.clone(), inner_value.clone());
                    if let Some(e) = alone(key, toml::Value::Table(one)) {
                        return Err((format!("{key}.{inner}"), e.message().to_owned()));
                    }
                }
            }
            None => {
                if let Some(e) = alone(key, value.clone()) {
                    return Err((key.clone(), e.message().to_owned()));
                }
            }
        }
    }
    Err(("(file)".to_owned(), error.message().to_owned()))
}

/// `metrics.listen` as TOML: an address string, or `"off"` for none (TOML has no null).
mod metrics_listen_serde {
    use std::net::SocketAddr;

    use serde::{Deserialize, Deserializer, Serializer};

    use super::MetricsListen;

    pub fn serialize<S: Serializer>(
        value: &Option<SocketAddr>,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&MetricsListen(*value))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<SocketAddr>, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse::<MetricsListen>()
            .map(|listen| listen.0)
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The example file at the workspace root, as shipped.
    const EXAMPLE: &str = include_str!("../../config.example.toml");

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn load_text(text: &str) -> Result<NodeConfig, ConfigError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        NodeConfig::load(Some(&path), &no_env, &CliOverrides::default())
    }

    fn message(text: &str) -> String {
        parse_file("config.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let config = NodeConfig::default();
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(config.genesis, PathBuf::from("./data/genesis.json"));
        assert_eq!(config.node_key, PathBuf::from("./data/node.key"));
        assert_eq!(config.signing_key, None);
        assert_eq!(config.api.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(config.api.max_body_bytes, 8 * 1024 * 1024);
        assert_eq!(config.api.request_timeout, Duration::from_secs(30));
        assert_eq!(
            config.metrics_addr().map(|a| a.to_string()).as_deref(),
            Some("127.0.0.1:9464")
        );
        assert_eq!(config.mempool.max_events, 100_000);
        assert_eq!(config.mempool.max_per_signer, 10_000);
        assert_eq!(config.mempool.max_sequence_ahead, 10_000);
        assert_eq!(config.log.filter, "info,libp2p=warn");
        config.validate().unwrap();
        // No file, no environment, no flags: the defaults (no signing key in ./data here).
        let loaded = NodeConfig::load(None, &no_env, &CliOverrides::default()).unwrap();
        assert_eq!(loaded.api, config.api);
    }

    #[test]
    fn example_file_equals_the_defaults() {
        let parsed: NodeConfig = parse_file("config.example.toml", EXAMPLE).unwrap().into();
        assert_eq!(parsed, NodeConfig::default());
        // Direct serde deserialization agrees with the loader.
        let direct: NodeConfig = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(direct, NodeConfig::default());
    }

    #[test]
    fn example_file_documents_every_key() {
        for key in PATH_KEYS {
            assert!(
                EXAMPLE.lines().any(|l| {
                    let l = l.trim_start_matches(['#', ' ']);
                    l.starts_with(&format!("{key} ="))
                }),
                "config.example.toml does not document `{key}`"
            );
        }
        for (section, keys) in SECTIONS {
            assert!(
                EXAMPLE.contains(&format!("[{section}]")),
                "config.example.toml lacks [{section}]"
            );
            for key in *keys {
                let documented = EXAMPLE
                    .split(&format!("[{section}]"))
                    .nth(1)
                    .and_then(|rest| rest.split("\n[").next())
                    .is_some_and(|body| body.lines().any(|l| l.starts_with(&format!("{key} ="))));
                assert!(
                    documented,
                    "config.example.toml does not set `{section}.{key}`"
                );
            }
        }
    }

    #[test]
    fn config_schema_matches_the_types() {
        let config = NodeConfig {
            signing_key: Some(PathBuf::from("k")),
            ..NodeConfig::default()
        };
        let table: toml::Table = toml::from_str(&config.to_toml_redacted().unwrap()).unwrap();
        let mut top: Vec<&str> = table
            .iter()
            .filter(|(_, v)| !v.is_table())
            .map(|(k, _)| k.as_str())
            .collect();
        top.sort_unstable();
        let mut expected = PATH_KEYS.to_vec();
        expected.sort_unstable();
        assert_eq!(top, expected);
        for (section, keys) in SECTIONS {
            let mut found: Vec<&str> = table[*section]
                .as_table()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            found.sort_unstable();
            let mut keys = keys.to_vec();
            keys.sort_unstable();
            assert_eq!(found, keys, "[{section}]");
        }
        assert_eq!(table.len(), PATH_KEYS.len() + SECTIONS.len());
    }

    #[test]
    fn unknown_keys_are_named_with_what_is_allowed() {
        assert_eq!(
            message("[api]\nlistne = \"127.0.0.1:1\"\n"),
            "config.toml: unknown key `api.listne`, expected one of listen, max_body_bytes, request_timeout"
        );
        assert_eq!(
            message("data_dri = \"x\"\n"),
            "config.toml: unknown key `data_dri`, expected one of data_dir, genesis, signing_key, node_key, api, metrics, mempool, log, p2p, consensus"
        );
        assert_eq!(
            message("[mempol]\nmax_events = 1\n"),
            "config.toml: unknown key `mempol`, expected one of data_dir, genesis, signing_key, node_key, api, metrics, mempool, log, p2p, consensus"
        );
        assert_eq!(
            message("api = 3\n"),
            "config.toml: `api` must be a table (a `[api]` section)"
        );
    }

    #[test]
    fn invalid_values_name_the_key() {
        let m = message("[api]\nlisten = \"localhost\"\n");
        assert!(
            m.starts_with("config.toml: invalid value for `api.listen`: "),
            "{m}"
        );
        let m = message("[api]\nrequest_timeout = \"3 parsecs\"\n");
        assert!(
            m.starts_with("config.toml: invalid value for `api.request_timeout`: "),
            "{m}"
        );
        let m = message("[mempool]\nmax_events = -1\n");
        assert!(
            m.starts_with("config.toml: invalid value for `mempool.max_events`: "),
            "{m}"
        );
        let m = message("data_dir = 7\n");
        assert!(
            m.starts_with("config.toml: invalid value for `data_dir`: "),
            "{m}"
        );
        let m = message("[metrics]\nlisten = \"nowhere\"\n");
        assert!(
            m.contains("`metrics.listen`") && m.contains("\"off\""),
            "{m}"
        );
        let m = load_text("[mempool]\nmax_events = 0\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            m,
            "invalid configuration: `mempool.max_events` must be greater than zero"
        );
        let m = load_text("[mempool]\nmax_events = 10\n")
            .unwrap_err()
            .to_string();
        assert!(m.contains("`mempool.max_per_signer`"), "{m}");
        let mut config = NodeConfig::default();
        config.mempool.max_sequence_ahead = u64::MAX;
        let m = config.validate().unwrap_err().to_string();
        assert!(
            m.contains("`mempool.max_sequence_ahead` must be at most"),
            "{m}"
        );
    }

    #[test]
    fn syntax_errors_give_line_and_column() {
        let m = message("data_dir = \"x\"\n[api\n");
        assert!(m.starts_with("config.toml:2:"), "{m}");
        assert!(!m.contains('\n'), "one line: {m}");
    }

    #[test]
    fn missing_file_is_named() {
        let err = NodeConfig::load(
            Some(Path::new("/nonexistent/provenance.toml")),
            &no_env,
            &CliOverrides::default(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("cannot read config file /nonexistent/provenance.toml: "),
            "{err}"
        );
    }

    #[test]
    fn durations_are_humantime() {
        for (text, expected) in [
            ("500ms", Duration::from_millis(500)),
            ("30s", Duration::from_secs(30)),
            ("1m 30s", Duration::from_secs(90)),
            ("2h", Duration::from_secs(7200)),
        ] {
            let config = load_text(&format!("[api]\nrequest_timeout = \"{text}\"\n")).unwrap();
            assert_eq!(config.api.request_timeout, expected, "{text}");
        }
        let rendered = NodeConfig::default().to_toml_redacted().unwrap();
        assert!(rendered.contains("request_timeout = \"30s\""), "{rendered}");
    }

    #[test]
    fn flag_beats_env_beats_file_beats_default() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.toml");
        std::fs::write(
            &path,
            "data_dir = \"/file\"\n[api]\nlisten = \"127.0.0.1:1001\"\n[log]\nfilter = \"warn\"\n",
        )
        .unwrap();
        let env = |name: &str| match name {
            "PROVENANCE_DATA_DIR" => Some("/env".to_owned()),
            "PROVENANCE_API_LISTEN" => Some("127.0.0.1:1002".to_owned()),
            "PROVENANCE_LOG" => Some("debug".to_owned()),
            "PROVENANCE_METRICS_LISTEN" => Some("off".to_owned()),
            _ => None,
        };
        let flags = CliOverrides {
            data_dir: Some("/flag".into()),
            api_listen: Some("127.0.0.1:1003".parse().unwrap()),
            log_filter: Some("trace".into()),
            metrics_listen: Some(MetricsListen(Some("127.0.0.1:1004".parse().unwrap()))),
            ..CliOverrides::default()
        };

        let c = NodeConfig::load(Some(&path), &env, &flags).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/flag"));
        assert_eq!(c.genesis, PathBuf::from("/flag/genesis.json"));
        assert_eq!(c.api.listen.port(), 1003);
        assert_eq!(c.log.filter, "trace");
        assert_eq!(c.metrics_addr().map(|a| a.port()), Some(1004));

        let c = NodeConfig::load(Some(&path), &env, &CliOverrides::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/env"));
        assert_eq!(c.node_key, PathBuf::from("/env/node.key"));
        assert_eq!(c.api.listen.port(), 1002);
        assert_eq!(c.log.filter, "debug");
        assert_eq!(c.metrics_addr(), None);

        let c = NodeConfig::load(Some(&path), &no_env, &CliOverrides::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from("/file"));
        assert_eq!(c.genesis, PathBuf::from("/file/genesis.json"));
        assert_eq!(c.api.listen.port(), 1001);
        assert_eq!(c.log.filter, "warn");

        let c = NodeConfig::load(None, &no_env, &CliOverrides::default()).unwrap();
        assert_eq!(c.data_dir, PathBuf::from(DEFAULT_DATA_DIR));
        assert_eq!(c.api.listen, DEFAULT_API_LISTEN);
    }

    #[test]
    fn explicit_paths_are_not_moved_by_data_dir() {
        let c =
            load_text("data_dir = \"/d\"\ngenesis = \"/g.json\"\nnode_key = \"/n.key\"\n").unwrap();
        assert_eq!(c.genesis, PathBuf::from("/g.json"));
        assert_eq!(c.node_key, PathBuf::from("/n.key"));
        let env = |name: &str| (name == "PROVENANCE_GENESIS").then(|| "/env-g.json".to_owned());
        let c = NodeConfig::load(None, &env, &CliOverrides::default()).unwrap();
        assert_eq!(c.genesis, PathBuf::from("/env-g.json"));
    }

    #[test]
    fn bad_environment_values_name_the_variable() {
        let env = |name: &str| (name == "PROVENANCE_API_LISTEN").then(|| "8080".to_owned());
        let err = NodeConfig::load(None, &env, &CliOverrides::default()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("environment variable PROVENANCE_API_LISTEN=\"8080\" is invalid: "),
            "{err}"
        );
        // Empty means unset.
        let env = |name: &str| (name == "PROVENANCE_API_LISTEN").then(String::new);
        let c = NodeConfig::load(None, &env, &CliOverrides::default()).unwrap();
        assert_eq!(c.api.listen, DEFAULT_API_LISTEN);
    }

    #[test]
    fn signing_key_defaults_to_the_data_dir_file_only_if_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let flags = CliOverrides {
            data_dir: Some(dir.path().to_owned()),
            ..CliOverrides::default()
        };
        let c = NodeConfig::load(None, &no_env, &flags).unwrap();
        assert_eq!(c.signing_key, None);
        assert!(
            c.to_toml_redacted()
                .unwrap()
                .contains("# signing_key: not set")
        );
        std::fs::write(dir.path().join(SIGNING_KEY_FILE), "x").unwrap();
        let c = NodeConfig::load(None, &no_env, &flags).unwrap();
        assert_eq!(c.signing_key, Some(dir.path().join(SIGNING_KEY_FILE)));
    }

    #[test]
    fn metrics_can_be_turned_off_either_way() {
        let c = load_text("[metrics]\nlisten = \"off\"\n").unwrap();
        assert_eq!(c.metrics.listen, None);
        assert_eq!(c.metrics_addr(), None);
        let c = load_text("[metrics]\nenabled = false\n").unwrap();
        assert_eq!(c.metrics.listen, Some(DEFAULT_METRICS_LISTEN));
        assert_eq!(c.metrics_addr(), None);
        assert!(c.to_toml_redacted().unwrap().contains("enabled = false"));
    }

    fn arb_config() -> impl Strategy<Value = NodeConfig> {
        (
            "[a-z][a-z0-9_/.-]{0,20}",
            prop::option::of("[a-z][a-z0-9_/.-]{0,20}"),
            any::<u16>(),
            prop::option::of(any::<u16>()),
            any::<bool>(),
            (1usize..1 << 30, 1u64..1 << 40),
            (1usize..1_000_000, 1usize..1_000_000, 1u64..i64::MAX as u64),
            "[a-z]{1,8}(,[a-z_]{1,8}=(info|warn|debug)){0,3}",
        )
            .prop_map(
                |(
                    dir,
                    key,
                    api_port,
                    metrics_port,
                    enabled,
                    (body, timeout_ms),
                    mempool,
                    filter,
                )| {
                    let mut c = NodeConfig::for_data_dir(PathBuf::from(dir));
                    c.signing_key = key.map(PathBuf::from);
                    c.api.listen.set_port(api_port);
                    c.api.max_body_bytes = body;
                    c.api.request_timeout = Duration::from_millis(timeout_ms);
                    c.metrics.listen =
                        metrics_port.map(|p| SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), p));
                    c.metrics.enabled = enabled;
                    let (a, b, ahead) = mempool;
                    c.mempool.max_events = a.max(b);
                    c.mempool.max_per_signer = a.min(b);
                    c.mempool.max_sequence_ahead = ahead;
                    c.log.filter = filter;
                    c
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// What `provenance-node config` prints loads back to the same configuration.
        #[test]
        fn rendered_config_loads_back_identically(config in arb_config()) {
            let text = config.to_toml_redacted().unwrap();
            let back: NodeConfig = parse_file("rendered.toml", &text).unwrap().into();
            config.validate().unwrap();
            prop_assert_eq!(back, config);
        }
    }
}
