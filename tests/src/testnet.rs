//! [`TestNet`]: a network of real `provenance-node` processes on loopback, with a proxy on every
//! link so tests can cut, delay and heal the network.
//!
//! ## Layout
//!
//! `TestNet::builder().validators(4).signers(3).build()` writes, in a fresh temporary directory:
//! one signing key and one node key per validator, a genesis naming the validators (power 1 each)
//! and the signers (manufacturers with their own GS1 company prefixes), and per node a config
//! file and a data directory. `.candidates(n)` adds `n` more nodes after the validators, run by
//! registered participants with the validator role but no voting power at genesis: they follow
//! the chain until governance gives them power. For every ordered pair of nodes *(i, j)* a [`LinkProxy`] forwards
//! to *j*'s p2p port, and *i*'s `p2p.bootstrap` lists *j* only at that proxy. So every byte from
//! *i* to *j* crosses `link(i, j)`, and [`TestNet::partition`] is a matter of blocking proxies.
//!
//! Node *i* writes its log (stderr) to `<dir>/node-<i>.log`, appending across restarts. When a test
//! fails (the harness panics, or the test panics while the network is alive), the directory is
//! kept and its path printed.
//!
//! ## One network at a time
//!
//! A network holds a process-wide lock for its lifetime, so the tests of one binary run their
//! networks one after the other: twelve nodes on a two-core machine would starve each other into
//! consensus timeouts, and a test that fails because of its neighbours proves nothing.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use libp2p_identity::PeerId;
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use provenance_protocol::ledger::ValidatorSet;
use provenance_protocol::record::SignedEvent;
use tempfile::TempDir;

use crate::chain::{VerifiedChain, verify_chain, verify_chain_to};
use crate::client::{FinalisedBlock, NodeClient, NodeStatus, RequestError, test_agent};
use crate::events::{EventSource, SignerStream};
use crate::identity::{KeyRole, peer_id, test_key};
use crate::proxy::LinkProxy;

/// Environment variable naming the `provenance-node` binary, overriding the lookup next to the
/// test executable.
pub const NODE_BIN_ENV: &str = "PROVENANCE_NODE_BIN";
/// Environment variable overriding the nodes' `log.filter` (e.g. `debug,libp2p=info`).
pub const NODE_LOG_ENV: &str = "PROVENANCE_TEST_NODE_LOG";
/// Default `log.filter` of the nodes.
pub const DEFAULT_NODE_LOG: &str = "info,libp2p=warn";
/// How long a node may take to answer `/v1/status` after it is spawned.
pub const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// Launch attempts with fresh ports when a node finds its port taken.
pub const PORT_ATTEMPTS: usize = 5;
/// How often [`TestNet::wait_until`] re-checks its condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(100);
/// Log lines of each node shown when a wait times out.
pub const LOG_TAIL_LINES: usize = 40;
/// Genesis time of every test network (2023-11-14): any real clock is later.
pub const GENESIS_TIME_MS: u64 = 1_700_000_000_000;

/// Serialises the networks of one test binary (see the module documentation).
static ONE_NETWORK_AT_A_TIME: Mutex<()> = Mutex::new(());
/// Makes chain ids unique within the process.
static NETWORK_COUNTER: AtomicU64 = AtomicU64::new(0);

/// A poisoned lock only means a test panicked while holding it; the state is still usable, and
/// the harness must keep working to clean up.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The `[consensus]` timeouts written into every node's config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsensusTimeouts {
    /// Base wait for a proposal; grows by `delta` per round.
    pub propose: Duration,
    /// Base wait for prevotes and precommits.
    pub vote: Duration,
    /// Growth of the timeouts per round.
    pub delta: Duration,
    /// How often a node re-sends its latest consensus messages.
    pub rebroadcast: Duration,
}

impl Default for ConsensusTimeouts {
    fn default() -> Self {
        ConsensusTimeouts {
            propose: Duration::from_secs(1),
            vote: Duration::from_millis(500),
            delta: Duration::from_millis(250),
            rebroadcast: Duration::from_secs(1),
        }
    }
}

/// Configures a [`TestNet`].
#[derive(Debug, Clone)]
pub struct TestNetBuilder {
    validators: usize,
    candidates: usize,
    signers: usize,
    block_interval: Duration,
    max_block_events: u32,
    timeouts: ConsensusTimeouts,
    log_filter: String,
}

impl Default for TestNetBuilder {
    fn default() -> Self {
        TestNetBuilder {
            validators: 4,
            candidates: 0,
            signers: 3,
            block_interval: Duration::from_millis(150),
            max_block_events: ConsensusParams::default().max_block_events,
            timeouts: ConsensusTimeouts::default(),
            log_filter: std::env::var(NODE_LOG_ENV).unwrap_or_else(|_| DEFAULT_NODE_LOG.into()),
        }
    }
}

impl TestNetBuilder {
    /// Validator nodes (default 4), each with power 1.
    pub fn validators(mut self, n: usize) -> Self {
        self.validators = n;
        self
    }

    /// Candidate nodes (default 0), numbered after the validators: each is run by a registered
    /// participant with the validator role that is not in the genesis validator set, so it
    /// follows the chain without voting until a governance transaction gives it power (see
    /// [`TestNet::participant_name`]).
    pub fn candidates(mut self, n: usize) -> Self {
        self.candidates = n;
        self
    }

    /// Event signers (default 3): manufacturers with their own company prefix, not running nodes.
    pub fn signers(mut self, n: usize) -> Self {
        self.signers = n;
        self
    }

    /// The genesis `block_interval_ms` (default 150 ms).
    pub fn block_interval(mut self, interval: Duration) -> Self {
        self.block_interval = interval;
        self
    }

    /// The genesis `max_block_events`.
    pub fn max_block_events(mut self, n: u32) -> Self {
        self.max_block_events = n;
        self
    }

    /// The `[consensus]` timeouts of every node.
    pub fn timeouts(mut self, timeouts: ConsensusTimeouts) -> Self {
        self.timeouts = timeouts;
        self
    }

    /// The nodes' `log.filter` (default [`DEFAULT_NODE_LOG`], or `$PROVENANCE_TEST_NODE_LOG`).
    pub fn log_filter(mut self, filter: &str) -> Self {
        filter.clone_into(&mut self.log_filter);
        self
    }

    /// Writes keys, genesis and configs and starts the link proxies; starts no node (see
    /// [`TestNet::start_all`]). Waits for any other network of this process to be dropped.
    ///
    /// # Panics
    /// On zero validators, more than 100 signers, or when the temporary directory cannot be
    /// written.
    pub fn build(self) -> TestNet {
        assert!(self.validators > 0, "a test network needs a validator");
        assert!(
            self.signers <= 100,
            "at most 100 signers (two-digit company prefix suffix)"
        );
        let exclusive = lock(&ONE_NETWORK_AT_A_TIME);
        let dir = tempfile::Builder::new()
            .prefix("provenance-testnet-")
            .tempdir()
            .unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let number = NETWORK_COUNTER.fetch_add(1, Ordering::Relaxed);
        let chain_id = format!("testnet-{}-{number}", std::process::id());
        let genesis = self.genesis(&chain_id);
        let validator_set = genesis
            .validator_set()
            .unwrap_or_else(|e| panic!("the test genesis has no valid validator set: {e}"));
        genesis
            .validate()
            .unwrap_or_else(|e| panic!("the test genesis is invalid: {e}"));
        let genesis_path = dir.path().join("genesis.json");
        write_file(
            &genesis_path,
            &serde_json::to_string_pretty(&genesis).unwrap_or_else(|e| panic!("genesis: {e}")),
        );

        let nodes: Vec<Node> = (0..self.validators + self.candidates)
            .map(|i| Node::create(dir.path(), i, genesis_path.clone()))
            .collect();
        let links = (0..nodes.len())
            .map(|from| {
                (0..nodes.len())
                    .map(|to| (from != to).then(|| LinkProxy::start(lock(&nodes[to].run).p2p)))
                    .collect()
            })
            .collect();
        let streams = (0..self.signers)
            .map(|s| {
                SignerStream::new(
                    s,
                    &chain_id,
                    test_key(KeyRole::SignerSigning, s),
                    signer_prefix(s),
                )
            })
            .collect();
        let net = TestNet {
            path: dir.path().to_owned(),
            dir: Some(dir),
            keep: AtomicBool::new(false),
            genesis_path,
            validators: self.validators,
            genesis,
            validator_set,
            nodes,
            links,
            events: Mutex::new(Some(EventSource::new(streams))),
            timeouts: self.timeouts,
            log_filter: self.log_filter,
            agent: test_agent(),
            _exclusive: exclusive,
        };
        for i in 0..net.len() {
            net.write_config(i);
        }
        net
    }

    fn genesis(&self, chain_id: &str) -> Genesis {
        // Validators and candidates alike run a node with a vote key; only the former have power.
        let validators = (0..self.validators + self.candidates).map(|i| Participant {
            name: participant_name(self.validators, i),
            roles: vec![Role::Validator],
            signing_key: test_key(KeyRole::ValidatorSigning, i).public_key(),
            network_key: test_key(KeyRole::NodeNetwork, i).public_key(),
            company_prefixes: Vec::new(),
        });
        let signers = (0..self.signers).map(|s| Participant {
            name: format!("Signer {s}"),
            roles: vec![Role::Manufacturer],
            signing_key: test_key(KeyRole::SignerSigning, s).public_key(),
            network_key: test_key(KeyRole::SignerNetwork, s).public_key(),
            company_prefixes: vec![signer_prefix(s)],
        });
        Genesis {
            chain_id: chain_id.to_owned(),
            genesis_time_ms: GENESIS_TIME_MS,
            participants: validators.chain(signers).collect(),
            validators: (0..self.validators)
                .map(|i| GenesisValidator {
                    participant: participant_name(self.validators, i),
                    power: 1,
                })
                .collect(),
            params: ConsensusParams {
                block_interval_ms: u64::try_from(self.block_interval.as_millis())
                    .unwrap_or(u64::MAX)
                    .max(1),
                max_block_events: self.max_block_events,
                ..ConsensusParams::default()
            },
        }
    }
}

/// The registry name of node `i`'s organisation: the first `validators` nodes are genesis
/// validators, the rest candidates.
fn participant_name(validators: usize, i: usize) -> String {
    if i < validators {
        format!("Validator {i}")
    } else {
        format!("Candidate {i}")
    }
}

/// Seven-digit prefixes of equal length, so no prefix is a prefix of another.
fn signer_prefix(s: usize) -> String {
    format!("06141{s:02}")
}

fn write_file(path: &Path, contents: &str) {
    fs::write(path, contents).unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
}

/// A loopback address nobody listens on right now. Another process may take it before the node
/// binds it; [`TestNet::start`] then retries with fresh ports.
fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("cannot bind a loopback port: {e}"));
    listener
        .local_addr()
        .unwrap_or_else(|e| panic!("cannot read a bound port: {e}"))
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", u32::from(c))),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn toml_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| toml_string(s)).collect();
    format!("[{}]", quoted.join(", "))
}

/// A duration as the node's config reads it ("250ms").
fn toml_duration(d: Duration) -> String {
    toml_string(&format!("{}ms", d.as_millis()))
}

/// The `provenance-node` binary: `$PROVENANCE_NODE_BIN`, or the one cargo built into the target
/// directory of this test executable (`target/<profile>/deps/<test>` → `target/<profile>/`).
///
/// # Panics
/// If there is none; the message says how to build it.
pub fn node_binary() -> PathBuf {
    workspace_binary("provenance-node", "provenance-node", NODE_BIN_ENV)
}

/// A binary of the workspace: `$<env>`, or the one cargo built into the target directory of this
/// test executable (`target/<profile>/deps/<test>` → `target/<profile>/<name>`).
///
/// # Panics
/// If there is none; the message says how to build it (`cargo build -p <package>`).
pub fn workspace_binary(name: &str, package: &str, env: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(env) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe()
        .unwrap_or_else(|e| panic!("cannot locate the test executable: {e}"));
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .unwrap_or(Path::new("."));
    let binary = profile_dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        binary.is_file(),
        "{name} binary not found at {}; run `cargo build -p {package}` (cargo test --workspace builds it), or set {env}",
        binary.display()
    );
    binary
}

/// One node's files and process.
#[derive(Debug)]
struct Node {
    index: usize,
    peer_id: PeerId,
    config_path: PathBuf,
    log_path: PathBuf,
    data_dir: PathBuf,
    genesis_path: PathBuf,
    signing_key_path: PathBuf,
    node_key_path: PathBuf,
    /// Peer ids written as `p2p.observers` (read-only peers this node lets connect).
    observers: Mutex<Vec<PeerId>>,
    run: Mutex<NodeRun>,
}

/// What changes while a node runs: its ports (new ones after a port clash) and its process.
#[derive(Debug)]
struct NodeRun {
    api: SocketAddr,
    p2p: SocketAddr,
    child: Option<Child>,
    launches: u32,
}

impl Node {
    fn create(dir: &Path, index: usize, genesis_path: PathBuf) -> Node {
        let node_dir = dir.join(format!("node-{index}"));
        let data_dir = node_dir.join("data");
        fs::create_dir_all(&data_dir)
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", data_dir.display()));
        let signing_key_path = node_dir.join("signing.key");
        let node_key_path = node_dir.join("node.key");
        for (path, key) in [
            (
                &signing_key_path,
                test_key(KeyRole::ValidatorSigning, index),
            ),
            (&node_key_path, test_key(KeyRole::NodeNetwork, index)),
        ] {
            provenance_client::keyfile::create_key_file(path, &key)
                .unwrap_or_else(|e| panic!("cannot write key file {}: {e}", path.display()));
        }
        let peer_id = peer_id(&test_key(KeyRole::NodeNetwork, index).public_key())
            .unwrap_or_else(|e| panic!("node key {index} is not a libp2p ed25519 key: {e}"));
        Node {
            index,
            peer_id,
            config_path: node_dir.join("config.toml"),
            log_path: dir.join(format!("node-{index}.log")),
            data_dir,
            genesis_path,
            signing_key_path,
            node_key_path,
            observers: Mutex::new(Vec::new()),
            run: Mutex::new(NodeRun {
                api: free_port(),
                p2p: free_port(),
                child: None,
                launches: 0,
            }),
        }
    }
}

/// How a launch ended.
enum Launch {
    Ready(Child),
    PortTaken,
}

/// What [`TestNet::assert_converged`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Converged {
    /// Height every node is at.
    pub height: u64,
    /// Hex header hash every node has at that height.
    pub head_hash: Option<String>,
    /// Events in the ledger.
    pub events: usize,
    /// Events in the ledger that are not among the acknowledged ones.
    pub unacknowledged: usize,
}

/// A network of `provenance-node` processes. Dropping it kills every node.
#[derive(Debug)]
pub struct TestNet {
    path: PathBuf,
    dir: Option<TempDir>,
    keep: AtomicBool,
    genesis_path: PathBuf,
    /// Nodes `0..validators` are genesis validators, the rest candidates.
    validators: usize,
    genesis: Genesis,
    validator_set: ValidatorSet,
    nodes: Vec<Node>,
    /// `links[from][to]`, `None` on the diagonal.
    links: Vec<Vec<Option<LinkProxy>>>,
    events: Mutex<Option<EventSource>>,
    timeouts: ConsensusTimeouts,
    log_filter: String,
    agent: ureq::Agent,
    /// Dropped last (after `Drop::drop` killed the nodes).
    _exclusive: MutexGuard<'static, ()>,
}

impl TestNet {
    /// A builder with the defaults: 4 validators, 3 signers, 150 ms blocks.
    pub fn builder() -> TestNetBuilder {
        TestNetBuilder::default()
    }

    /// Number of nodes.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the network has no node (never: the builder requires one).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The network's directory (keys, genesis, configs, data, logs).
    pub fn dir(&self) -> &Path {
        &self.path
    }

    /// The genesis every node runs.
    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The genesis file every node's config names (what `provenance-node governance propose
    /// --genesis` reads).
    pub fn genesis_path(&self) -> &Path {
        &self.genesis_path
    }

    /// The genesis validator set, which certifies every block until governance hands over to
    /// another set (chain verification follows the hand-offs).
    pub fn validator_set(&self) -> &ValidatorSet {
        &self.validator_set
    }

    /// Whether node `i` is a genesis validator (rather than a candidate).
    pub fn is_genesis_validator(&self, i: usize) -> bool {
        self.node(i);
        i < self.validators
    }

    /// The registry name of node `i`'s organisation (`Validator <i>` or `Candidate <i>`), as a
    /// governance action names it.
    pub fn participant_name(&self, i: usize) -> String {
        self.node(i);
        participant_name(self.validators, i)
    }

    /// Node `i`'s libp2p peer id.
    pub fn peer_id(&self, i: usize) -> PeerId {
        self.node(i).peer_id
    }

    /// Node `i`'s log file.
    pub fn log_path(&self, i: usize) -> &Path {
        &self.node(i).log_path
    }

    /// The proxy every byte from node `from` to node `to` crosses.
    ///
    /// # Panics
    /// If `from == to` or either is out of range.
    pub fn link(&self, from: usize, to: usize) -> &LinkProxy {
        self.links
            .get(from)
            .and_then(|row| row.get(to))
            .and_then(Option::as_ref)
            .unwrap_or_else(|| panic!("there is no link from node {from} to node {to}"))
    }

    /// The signers' event streams. Sequence numbers start at 1, so there is one source per
    /// network.
    ///
    /// # Panics
    /// On a second call.
    pub fn event_source(&self) -> EventSource {
        lock(&self.events).take().expect(
            "TestNet::event_source was already taken: a second source would reuse sequence numbers",
        )
    }

    /// Keeps the directory after the network is dropped, and prints where it is.
    pub fn keep(&self) {
        if !self.keep.swap(true, Ordering::SeqCst) {
            eprintln!("test network kept at {}", self.path.display());
        }
    }

    fn node(&self, i: usize) -> &Node {
        self.nodes.get(i).unwrap_or_else(|| {
            panic!(
                "there is no node {i}; the network has {} nodes",
                self.nodes.len()
            )
        })
    }

    fn write_config(&self, i: usize) {
        let node = self.node(i);
        let (api, p2p) = {
            let run = lock(&node.run);
            (run.api, run.p2p)
        };
        let bootstrap = self.bootstrap(i);
        let observers: Vec<String> = lock(&node.observers)
            .iter()
            .map(ToString::to_string)
            .collect();
        let t = &self.timeouts;
        let config = format!(
            "data_dir = {data_dir}\n\
             genesis = {genesis}\n\
             signing_key = {signing_key}\n\
             node_key = {node_key}\n\
             \n\
             [api]\n\
             listen = {api}\n\
             \n\
             [metrics]\n\
             enabled = false\n\
             \n\
             [log]\n\
             filter = {filter}\n\
             \n\
             [p2p]\n\
             listen = {listen}\n\
             bootstrap = {bootstrap}\n\
             observers = {observers}\n\
             \n\
             [consensus]\n\
             timeout_propose = {propose}\n\
             timeout_vote = {vote}\n\
             timeout_delta = {delta}\n\
             rebroadcast = {rebroadcast}\n",
            data_dir = toml_string(&node.data_dir.display().to_string()),
            genesis = toml_string(&node.genesis_path.display().to_string()),
            signing_key = toml_string(&node.signing_key_path.display().to_string()),
            node_key = toml_string(&node.node_key_path.display().to_string()),
            api = toml_string(&api.to_string()),
            filter = toml_string(&self.log_filter),
            listen = toml_list(&[format!("/ip4/{}/tcp/{}", p2p.ip(), p2p.port())]),
            bootstrap = toml_list(&bootstrap),
            observers = toml_list(&observers),
            propose = toml_duration(t.propose),
            vote = toml_duration(t.vote),
            delta = toml_duration(t.delta),
            rebroadcast = toml_duration(t.rebroadcast),
        );
        write_file(&node.config_path, &config);
    }

    /// The addresses node `i` dials (its `p2p.bootstrap`): every other node at the proxy of
    /// the link from `i`, as `/ip4/127.0.0.1/tcp/<port>/p2p/<peer id>`. A stand-in for node `i`
    /// dialling these reaches the others exactly as node `i` would, partitions included.
    pub fn bootstrap(&self, i: usize) -> Vec<String> {
        self.node(i);
        (0..self.len())
            .filter(|&j| j != i)
            .map(|j| {
                let proxy = self.link(i, j).addr();
                format!(
                    "/ip4/{}/tcp/{}/p2p/{}",
                    proxy.ip(),
                    proxy.port(),
                    self.nodes[j].peer_id
                )
            })
            .collect()
    }

    /// Node `i`'s p2p listen address (the proxies of links to `i` forward there). While node
    /// `i` is not running, a stand-in may listen on it and the others' dials reach the stand-in.
    pub fn p2p_addr(&self, i: usize) -> SocketAddr {
        lock(&self.node(i).run).p2p
    }

    /// Gives node `i`, which must not be running, a fresh p2p port and points every link to it
    /// there; returns the new address. For a stand-in whose port was taken meanwhile (an
    /// outgoing connection may get any free port number as its local port).
    pub fn move_p2p(&self, i: usize) -> SocketAddr {
        let node = self.node(i);
        let mut run = lock(&node.run);
        assert!(run.child.is_none(), "node {i} is running; stop it first");
        run.p2p = free_port();
        for j in (0..self.len()).filter(|&j| j != i) {
            self.link(j, i).set_target(run.p2p);
        }
        let addr = run.p2p;
        drop(run);
        self.write_config(i);
        addr
    }

    /// Node `i`'s validator signing key (the key genesis names for
    /// [`participant_name(i)`](TestNet::participant_name)).
    pub fn signing_key(&self, i: usize) -> SigningKey {
        self.node(i);
        test_key(KeyRole::ValidatorSigning, i)
    }

    /// The key file (mode 0600) holding node `i`'s signing key, as its config names it.
    pub fn signing_key_path(&self, i: usize) -> &Path {
        &self.node(i).signing_key_path
    }

    /// Node `i`'s network key (its libp2p identity is this Ed25519 key).
    pub fn node_key(&self, i: usize) -> SigningKey {
        self.node(i);
        test_key(KeyRole::NodeNetwork, i)
    }

    /// Sets node `i`'s `p2p.observers` (peers it lets connect read-only). Takes effect at the
    /// node's next start.
    pub fn set_observers(&self, i: usize, observers: &[PeerId]) {
        *lock(&self.node(i).observers) = observers.to_vec();
        self.write_config(i);
    }

    /// Starts every node that is not running, in parallel, and waits until each answers.
    pub fn start_all(&self) {
        self.start_nodes(&(0..self.len()).collect::<Vec<_>>());
    }

    /// Starts the nodes in `nodes` that are not running, in parallel, and waits until each
    /// answers. The others stay down (their identities unused, their ports free).
    pub fn start_nodes(&self, nodes: &[usize]) {
        thread::scope(|scope| {
            let starting: Vec<_> = nodes
                .iter()
                .copied()
                .filter(|&i| !self.is_running(i))
                .map(|i| scope.spawn(move || self.start(i)))
                .collect();
            for handle in starting {
                if let Err(panic) = handle.join() {
                    std::panic::resume_unwind(panic);
                }
            }
        });
    }

    /// Starts node `i` and waits until its API serves this network's status. If the node exits
    /// because a port it was given is taken, it is relaunched on fresh ports (and the proxies to it
    /// retargeted), up to [`PORT_ATTEMPTS`] times.
    ///
    /// # Panics
    /// If the node is already running, exits for another reason, or does not answer within
    /// [`STARTUP_TIMEOUT`]; the message holds the end of its log.
    pub fn start(&self, i: usize) {
        let node = self.node(i);
        let mut run = lock(&node.run);
        assert!(run.child.is_none(), "node {i} is already running");
        for _ in 0..PORT_ATTEMPTS {
            run.launches += 1;
            match self.launch(node, &run) {
                Launch::Ready(child) => {
                    run.child = Some(child);
                    return;
                }
                Launch::PortTaken => {
                    run.api = free_port();
                    run.p2p = free_port();
                    for j in (0..self.len()).filter(|&j| j != i) {
                        self.link(j, i).set_target(run.p2p);
                    }
                    drop(run);
                    self.write_config(i);
                    run = lock(&node.run);
                }
            }
        }
        self.keep();
        panic!("node {i} found its ports taken {PORT_ATTEMPTS} times in a row");
    }

    fn launch(&self, node: &Node, run: &NodeRun) -> Launch {
        let i = node.index;
        let mut log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&node.log_path)
            .unwrap_or_else(|e| panic!("cannot open {}: {e}", node.log_path.display()));
        let log_start = log.seek(SeekFrom::End(0)).unwrap_or(0);
        let _ = writeln!(
            log,
            "===== harness: launch {} of node {i} (api {}, p2p {}) =====",
            run.launches, run.api, run.p2p
        );
        let stdout = log
            .try_clone()
            .unwrap_or_else(|e| panic!("cannot share {}: {e}", node.log_path.display()));
        let mut child = Command::new(node_binary())
            .arg("run")
            .arg("--config")
            .arg(&node.config_path)
            .env_remove("RUST_LOG")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot spawn provenance-node for node {i}: {e}"));
        let client = NodeClient::with_agent(run.api, self.agent.clone());
        let expected_genesis = self.genesis.hash().to_string();
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            // Another network's node may hold this API port: only our genesis counts as ready.
            if let Ok(status) = client.status()
                && status.genesis_hash == expected_genesis
            {
                return Launch::Ready(child);
            }
            match child.try_wait() {
                Ok(Some(exit)) => {
                    let since = read_from(&node.log_path, log_start);
                    // The node's message may or may not name the cause; a port someone else
                    // holds now is the cause either way.
                    if port_was_taken(&since) || !is_free(run.api) || !is_free(run.p2p) {
                        return Launch::PortTaken;
                    }
                    self.keep();
                    panic!(
                        "node {i} exited during startup ({exit}):\n{}",
                        tail(&since, LOG_TAIL_LINES)
                    );
                }
                Ok(None) => {}
                Err(e) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    panic!("cannot query node {i}'s process: {e}");
                }
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                self.keep();
                panic!(
                    "node {i} did not answer GET {}/v1/status with this network's genesis within {STARTUP_TIMEOUT:?}:\n{}",
                    client.base_url(),
                    tail(&read_from(&node.log_path, log_start), LOG_TAIL_LINES)
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills node `i` with SIGKILL and reaps it. Does nothing if it is not running.
    pub fn kill(&self, i: usize) {
        let child = lock(&self.node(i).run).child.take();
        if let Some(mut child) = child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Kills node `i` (if running) and starts it again on the same data.
    pub fn restart(&self, i: usize) {
        self.kill(i);
        self.start(i);
    }

    /// Whether node `i`'s process is alive.
    pub fn is_running(&self, i: usize) -> bool {
        lock(&self.node(i).run)
            .child
            .as_mut()
            .is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// How node `i`'s process ended, if it did on its own (`None` while running or after
    /// [`TestNet::kill`]).
    fn exit_status(&self, i: usize) -> Option<ExitStatus> {
        lock(&self.node(i).run)
            .child
            .as_mut()
            .and_then(|child| child.try_wait().ok().flatten())
    }

    /// Cuts the network into `groups`: every link between nodes of different groups is blocked,
    /// in both directions; links within a group are open. A node named in no group is alone.
    ///
    /// # Panics
    /// If a node is named twice or does not exist.
    pub fn partition(&self, groups: &[&[usize]]) {
        let mut group_of: BTreeMap<usize, usize> = BTreeMap::new();
        for (g, members) in groups.iter().enumerate() {
            for &i in *members {
                self.node(i);
                assert!(
                    group_of.insert(i, g).is_none(),
                    "node {i} is named in two groups of {groups:?}"
                );
            }
        }
        let side = |i: usize| group_of.get(&i).copied().unwrap_or(groups.len() + i);
        for from in 0..self.len() {
            for to in (0..self.len()).filter(|&to| to != from) {
                self.link(from, to).set_blocked(side(from) != side(to));
            }
        }
    }

    /// Opens every link.
    pub fn heal(&self) {
        for proxy in self.links.iter().flatten().flatten() {
            proxy.set_blocked(false);
        }
    }

    /// Node `i`'s API address (what `provenance-node governance submit --node` takes).
    pub fn api_addr(&self, i: usize) -> SocketAddr {
        lock(&self.node(i).run).api
    }

    /// Node `i`'s API base URL, `http://127.0.0.1:<port>`.
    pub fn api(&self, i: usize) -> String {
        format!("http://{}", lock(&self.node(i).run).api)
    }

    /// A client of node `i`'s API (at its current port).
    pub fn client(&self, i: usize) -> NodeClient {
        NodeClient::with_agent(lock(&self.node(i).run).api, self.agent.clone())
    }

    /// Height of each node in `nodes`, `None` for one that does not answer.
    pub fn heights(&self, nodes: &[usize]) -> Vec<Option<u64>> {
        nodes
            .iter()
            .map(|&i| self.try_status(i).ok().map(|s| s.height))
            .collect()
    }

    /// Runs `during` while each `(node, stream)` submits to its node in `shape` batches (see
    /// [`crate::load::under_load`]); returns every acknowledged id.
    pub fn under_load(
        &self,
        streams: Vec<(usize, SignerStream)>,
        shape: crate::load::LoadShape,
        during: impl FnOnce(),
    ) -> Vec<EventHashId> {
        let load = streams
            .into_iter()
            .map(|(node, stream)| (self.client(node), stream))
            .collect();
        crate::load::under_load(load, shape, during).1
    }

    /// Node `i`'s status.
    pub fn try_status(&self, i: usize) -> Result<NodeStatus, RequestError> {
        self.client(i).status()
    }

    /// Node `i`'s status.
    ///
    /// # Panics
    /// If the node does not answer.
    pub fn status(&self, i: usize) -> NodeStatus {
        self.try_status(i)
            .unwrap_or_else(|e| self.fail(&format!("node {i}'s status: {e}")))
    }

    /// Every node's status, `None` for a node that does not answer.
    pub fn statuses(&self) -> Vec<Option<NodeStatus>> {
        (0..self.len()).map(|i| self.try_status(i).ok()).collect()
    }

    /// Node `i`'s block at `height`, `None` if it has none there.
    ///
    /// # Panics
    /// If the node does not answer or the block does not parse.
    pub fn block(&self, i: usize, height: u64) -> Option<FinalisedBlock> {
        self.client(i)
            .block(height)
            .unwrap_or_else(|e| self.fail(&format!("node {i}'s block {height}: {e}")))
    }

    /// Submits `events` to node `i`; the acknowledged ids. Busy answers are retried.
    ///
    /// # Panics
    /// If the node refuses or does not acknowledge the batch.
    pub fn submit(&self, i: usize, events: &[SignedEvent]) -> Vec<EventHashId> {
        self.client(i)
            .submit(events)
            .unwrap_or_else(|e| self.fail(&format!("submission to node {i}: {e}")))
    }

    /// Polls `condition` every [`POLL_INTERVAL`] until it holds.
    ///
    /// # Panics
    /// After `timeout`, with `what`, every node's status and the end of every node's log; the
    /// network's directory is kept.
    pub fn wait_until(
        &self,
        timeout: Duration,
        what: &str,
        mut condition: impl FnMut(&TestNet) -> bool,
    ) {
        let deadline = Instant::now() + timeout;
        loop {
            if condition(self) {
                return;
            }
            if Instant::now() >= deadline {
                self.fail(&format!("timed out after {timeout:?} waiting for {what}"));
            }
            thread::sleep(POLL_INTERVAL);
        }
    }

    /// Waits until every node is connected to every other one (by its `peers` count).
    pub fn wait_for_full_mesh(&self, timeout: Duration) {
        let others = (self.len() - 1) as u64;
        self.wait_until(timeout, "every node to be connected to all others", |net| {
            net.statuses()
                .iter()
                .all(|s| s.as_ref().is_some_and(|s| s.peers >= others))
        });
    }

    /// Waits until every node reports `log_size` events in its finalised log. (Whether they hold
    /// the same blocks is for [`TestNet::assert_converged`]: nodes may keep finalising, so
    /// comparing heads sampled one after the other would be a race.)
    pub fn wait_for_log_size(&self, log_size: u64, timeout: Duration) {
        self.wait_for_log_size_on(&(0..self.len()).collect::<Vec<_>>(), log_size, timeout);
    }

    /// [`TestNet::wait_for_log_size`] for the nodes in `nodes` only.
    pub fn wait_for_log_size_on(&self, nodes: &[usize], log_size: u64, timeout: Duration) {
        self.wait_until(
            timeout,
            &format!("nodes {nodes:?} to hold {log_size} events in their finalised logs"),
            |net| {
                nodes
                    .iter()
                    .all(|&i| net.try_status(i).is_ok_and(|s| s.log_size == log_size))
            },
        );
    }

    /// Verifies node `i`'s chain from genesis (see [`verify_chain`]).
    ///
    /// # Panics
    /// If it does not verify.
    pub fn verified_chain(&self, i: usize) -> VerifiedChain {
        verify_chain(&self.client(i), &self.genesis, &self.validator_set)
            .unwrap_or_else(|e| self.fail(&format!("node {i}'s chain does not verify: {e}")))
    }

    /// Verifies node `i`'s chain from genesis up to `height`.
    ///
    /// # Panics
    /// If it does not verify or the node has not reached `height`.
    pub fn verified_chain_to(&self, i: usize, height: u64) -> VerifiedChain {
        verify_chain_to(&self.client(i), &self.genesis, &self.validator_set, height).unwrap_or_else(
            |e| {
                self.fail(&format!(
                    "node {i}'s chain to height {height} does not verify: {e}"
                ))
            },
        )
    }

    /// Asserts that every node serves the same verified chain up to the lowest height among
    /// them, holding every id in `acked` exactly once and no event twice.
    ///
    /// # Panics
    /// On the first difference, with what differs.
    pub fn assert_converged(&self, acked: &[EventHashId]) -> Converged {
        self.assert_converged_on(&(0..self.len()).collect::<Vec<_>>(), acked)
    }

    /// [`TestNet::assert_converged`] for the nodes in `nodes` only (the others may be down or
    /// stood in for).
    ///
    /// # Panics
    /// On an empty `nodes`, and as [`TestNet::assert_converged`].
    pub fn assert_converged_on(&self, nodes: &[usize], acked: &[EventHashId]) -> Converged {
        assert!(!nodes.is_empty(), "assert_converged_on needs a node");
        let height = nodes
            .iter()
            .map(|&i| self.status(i).height)
            .min()
            .unwrap_or(0);
        let chains: Vec<(usize, VerifiedChain)> = nodes
            .iter()
            .map(|&i| (i, self.verified_chain_to(i, height)))
            .collect();
        let (first, reference) = &chains[0];
        for (i, chain) in chains.iter().skip(1) {
            let first_difference = reference
                .header_hashes
                .iter()
                .zip(&chain.header_hashes)
                .position(|(a, b)| a != b);
            if let Some(at) = first_difference {
                self.fail(&format!(
                    "fork: nodes {first} and {i} have different blocks at height {}",
                    at + 1
                ));
            }
        }
        let mut count: BTreeMap<EventHashId, usize> = BTreeMap::new();
        for id in &reference.event_ids {
            *count.entry(*id).or_default() += 1;
        }
        let twice: Vec<_> = count.iter().filter(|(_, n)| **n > 1).collect();
        if !twice.is_empty() {
            self.fail(&format!("events in the ledger more than once: {twice:?}"));
        }
        let mut missing: Vec<&EventHashId> =
            acked.iter().filter(|id| !count.contains_key(id)).collect();
        missing.sort();
        missing.dedup();
        if !missing.is_empty() {
            self.fail(&format!(
                "{} acknowledged events are not in the ledger: {:?}",
                missing.len(),
                &missing[..missing.len().min(10)]
            ));
        }
        let acked_set: std::collections::BTreeSet<&EventHashId> = acked.iter().collect();
        Converged {
            height: reference.height(),
            head_hash: reference.head_hash(),
            events: reference.event_ids.len(),
            unacknowledged: count.keys().filter(|id| !acked_set.contains(id)).count(),
        }
    }

    /// Every node's process state, status and log tail, for failure messages.
    pub fn report(&self) -> String {
        let mut out = format!("test network at {}\n", self.path.display());
        for i in 0..self.len() {
            let process = if self.is_running(i) {
                "running".to_owned()
            } else {
                match self.exit_status(i) {
                    Some(exit) => format!("exited on its own ({exit})"),
                    None => "not running".to_owned(),
                }
            };
            let status = match self.try_status(i) {
                Ok(s) => format!(
                    "height {} head {} log_size {} mempool {} peers {} validator {}",
                    s.height,
                    s.head_hash.as_deref().unwrap_or("-"),
                    s.log_size,
                    s.mempool_size,
                    s.peers,
                    s.validator
                ),
                Err(e) => format!("no status ({e})"),
            };
            let log = fs::read_to_string(&self.nodes[i].log_path).unwrap_or_default();
            out.push_str(&format!(
                "--- node {i} [{process}] {status}\n{}\n",
                tail(&log, LOG_TAIL_LINES)
            ));
        }
        out
    }

    /// Keeps the directory and panics with `what` and the [`report`](TestNet::report).
    fn fail(&self, what: &str) -> ! {
        self.keep();
        panic!("{what}\n{}", self.report());
    }
}

impl Drop for TestNet {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.kill(i);
        }
        if thread::panicking() {
            self.keep();
        }
        if self.keep.load(Ordering::SeqCst)
            && let Some(dir) = self.dir.as_mut()
        {
            dir.disable_cleanup(true);
        }
    }
}

/// The log written since byte `offset`.
fn read_from(path: &Path, offset: u64) -> String {
    let Ok(text) = fs::read(path) else {
        return String::new();
    };
    let start = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    String::from_utf8_lossy(&text[start..]).into_owned()
}

/// Whether nobody listens on `addr` (the node that was to use it has exited).
fn is_free(addr: SocketAddr) -> bool {
    TcpListener::bind(addr).is_ok()
}

/// Whether a node's startup log says a port it was to listen on is in use.
fn port_was_taken(log: &str) -> bool {
    let log = log.to_ascii_lowercase();
    [
        "address already in use",
        "addrinuse",
        "os error 98",
        "os error 48",
    ]
    .iter()
    .any(|needle| log.contains(needle))
}

/// The last `lines` lines of `text`.
fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_strings_escape_what_toml_requires() {
        assert_eq!(toml_string("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(toml_string("x\ny"), r#""x\u000Ay""#);
        assert_eq!(
            toml_list(&["/ip4/127.0.0.1/tcp/1".into(), "b".into()]),
            r#"["/ip4/127.0.0.1/tcp/1", "b"]"#
        );
        assert_eq!(toml_duration(Duration::from_secs(1)), "\"1000ms\"");
    }

    #[test]
    fn port_clashes_are_recognised_and_tails_are_short() {
        assert!(port_was_taken(
            "Error: cannot listen on 127.0.0.1:4001: Address already in use (os error 98)"
        ));
        assert!(!port_was_taken("Error: invalid genesis"));
        assert_eq!(tail("a\nb\nc", 2), "b\nc");
        assert_eq!(tail("a", 5), "a");
    }

    #[test]
    fn the_genesis_is_valid_and_names_every_validator_and_signer() {
        let genesis = TestNet::builder()
            .validators(4)
            .signers(3)
            .genesis("unit-chain");
        genesis.validate().unwrap();
        assert_eq!(genesis.validator_set().unwrap().validators().len(), 4);
        assert_eq!(genesis.participants.len(), 7);
        assert_eq!(genesis.params.block_interval_ms, 150);
    }

    #[test]
    fn candidates_are_registered_validators_without_power() {
        let genesis = TestNet::builder()
            .validators(3)
            .candidates(2)
            .signers(1)
            .genesis("unit-chain");
        genesis.validate().unwrap();
        let set = genesis.validator_set().unwrap();
        assert_eq!(set.validators().len(), 3);
        let names: Vec<&str> = genesis
            .participants
            .iter()
            .map(|p| p.name.as_str())
            .collect();
        assert_eq!(
            names,
            [
                "Validator 0",
                "Validator 1",
                "Validator 2",
                "Candidate 3",
                "Candidate 4",
                "Signer 0"
            ]
        );
        for (i, candidate) in genesis.participants[3..5].iter().enumerate() {
            assert_eq!(candidate.roles, [Role::Validator]);
            assert_eq!(
                candidate.signing_key,
                test_key(KeyRole::ValidatorSigning, 3 + i).public_key()
            );
            assert_eq!(set.power_of(&candidate.signing_key), None);
        }
    }

    #[test]
    fn candidate_nodes_follow_the_validators_and_carry_their_own_keys() {
        let net = TestNet::builder()
            .validators(2)
            .candidates(1)
            .signers(1)
            .build();
        assert_eq!(net.len(), 3);
        assert!(net.is_genesis_validator(1) && !net.is_genesis_validator(2));
        assert_eq!(net.participant_name(2), "Candidate 2");
        assert_eq!(
            net.bootstrap(2).len(),
            2,
            "a candidate dials every other node"
        );
        let key = provenance_client::keyfile::load_key_file(net.signing_key_path(2)).unwrap();
        assert_eq!(key.public_key(), net.signing_key(2).public_key());
        assert_eq!(net.genesis_path(), net.dir().join("genesis.json"));
        assert_eq!(net.api(2), format!("http://{}", net.api_addr(2)));
    }

    /// Builds a network without starting it: keys, genesis and configs on disk, one proxy per
    /// ordered pair, bootstrap addresses through the proxies.
    #[test]
    fn build_writes_configs_whose_bootstrap_goes_through_the_proxies() {
        let net = TestNet::builder().validators(3).signers(2).build();
        assert_eq!(net.len(), 3);
        let config = fs::read_to_string(net.dir().join("node-0").join("config.toml")).unwrap();
        for j in [1, 2] {
            let proxy = net.link(0, j);
            let target = lock(&net.nodes[j].run).p2p;
            assert_eq!(proxy.target(), target);
            let address = format!(
                "/ip4/127.0.0.1/tcp/{}/p2p/{}",
                proxy.addr().port(),
                net.peer_id(j)
            );
            assert!(config.contains(&address), "{address} not in\n{config}");
            assert!(
                !config.contains(&format!("tcp/{}/", target.port())),
                "node 0 could dial node {j} directly:\n{config}"
            );
        }
        assert!(config.contains("[consensus]\ntimeout_propose = \"1000ms\""));
        assert!(config.contains("observers = []"), "{config}");
        assert_eq!(net.bootstrap(0).len(), 2);
        for address in net.bootstrap(0) {
            assert!(config.contains(&address), "{address} not in\n{config}");
        }
        net.set_observers(0, &[net.peer_id(2)]);
        let config = fs::read_to_string(net.dir().join("node-0").join("config.toml")).unwrap();
        assert!(
            config.contains(&format!("observers = [\"{}\"]", net.peer_id(2))),
            "{config}"
        );
        assert!(net.dir().join("node-1").join("node.key").is_file());
        let genesis: Genesis =
            serde_json::from_str(&fs::read_to_string(net.dir().join("genesis.json")).unwrap())
                .unwrap();
        assert_eq!(&genesis, net.genesis());

        net.partition(&[&[0], &[1, 2]]);
        assert!(net.link(0, 1).is_blocked() && net.link(2, 0).is_blocked());
        assert!(!net.link(1, 2).is_blocked() && !net.link(2, 1).is_blocked());
        net.heal();
        assert!(!net.link(0, 1).is_blocked());

        let mut source = net.event_source();
        assert_eq!(source.signers(), 2);
        assert_eq!(source.batch(1, 1)[0].chain_id, net.genesis().chain_id);
        let path = net.dir().to_owned();
        drop(net);
        assert!(!path.exists(), "the directory of a passing test is removed");
    }
}
