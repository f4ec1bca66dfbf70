//! Crash test: a real `provenance-node` process takes a stream of submissions from several signers
//! and is killed with SIGKILL at random moments. After every restart, every acknowledged event
//! must be in the ledger exactly once, the chain and the log must verify from genesis, and the
//! node must serve proofs that verify.
//!
//! `PROVENANCE_CRASH_CYCLES` sets the number of kill cycles (default 20); `PROVENANCE_CRASH_SEED`
//! replays a run (the seed is printed).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::{ConsensusParams, Genesis, GenesisValidator, Participant, Role};
use provenance_protocol::ledger::{BlockHeader, FinalityCertificate};
use provenance_protocol::merkle::{self, InclusionProof, MerkleHash};
use provenance_protocol::record::SignedEvent;
use serde_json::{Value, json};

const CHAIN: &str = "crash-test";
const SIGNERS: [(&str, &str, u8); 3] = [
    ("Alpha Foods", "0614141", 1),
    ("Beta Farms", "0614142", 2),
    ("Gamma Mills", "0614143", 3),
];

/// Small deterministic generator (xorshift64*), so a failing seed can be replayed exactly.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn key(seed: u8) -> SigningKey {
    SigningKey::from_seed([seed; 32])
}

struct Setup {
    dir: tempfile::TempDir,
    config: PathBuf,
    addr: SocketAddr,
    genesis: Genesis,
}

fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let participants = SIGNERS
        .iter()
        .map(|(name, prefix, seed)| Participant {
            name: (*name).into(),
            roles: if *seed == 1 {
                vec![Role::Manufacturer, Role::Validator]
            } else {
                vec![Role::Manufacturer]
            },
            signing_key: key(*seed).public_key(),
            network_key: key(seed + 100).public_key(),
            company_prefixes: vec![(*prefix).into()],
        })
        .collect();
    let genesis = Genesis {
        chain_id: CHAIN.into(),
        genesis_time_ms: 1_700_000_000_000,
        participants,
        validators: vec![GenesisValidator {
            participant: "Alpha Foods".into(),
            power: 1,
        }],
        params: ConsensusParams {
            block_interval_ms: 50,
            ..ConsensusParams::default()
        },
    };
    let genesis_path = dir.path().join("genesis.json");
    std::fs::write(
        &genesis_path,
        serde_json::to_string_pretty(&genesis).unwrap(),
    )
    .unwrap();
    let key_path = dir.path().join("validator.key");
    provenance_client::keyfile::create_key_file(&key_path, &key(1)).unwrap();
    let addr = free_port();
    let config = dir.path().join("config.toml");
    let data_dir = dir.path().join("data");
    std::fs::write(
        &config,
        format!(
            "data_dir = {data:?}\ngenesis = {genesis:?}\nsigning_key = {key:?}\n\n[api]\nlisten = \"{addr}\"\n\n[metrics]\nenabled = false\n\n[p2p]\nlisten = []\n",
            data = data_dir.display().to_string(),
            genesis = genesis_path.display().to_string(),
            key = key_path.display().to_string(),
        ),
    )
    .unwrap();
    Setup {
        dir,
        config,
        addr,
        genesis,
    }
}

fn agent() -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    )
}

/// Starts the node and waits until it is healthy. The caller kills and waits for the child.
#[allow(clippy::zombie_processes)]
fn start_node(setup: &Setup, cycle: usize) -> Child {
    let log = std::fs::File::create(setup.dir.path().join(format!("node-{cycle}.log"))).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_provenance-node"))
        .args(["run", "--config"])
        .arg(&setup.config)
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .unwrap();
    let mut child = child;
    let deadline = Instant::now() + Duration::from_secs(30);
    let agent = agent();
    let log_path = setup.dir.path().join(format!("node-{cycle}.log"));
    loop {
        if let Ok(response) = agent.get(format!("http://{}/healthz", setup.addr)).call()
            && response.status() == 200
        {
            return child;
        }
        let exited = child.try_wait().unwrap();
        if exited.is_some() || Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "node did not become healthy (exit: {exited:?}):\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// One signer's stream: sequence numbers, its unique serials, and the batch whose answer was lost.
struct Signer {
    key: SigningKey,
    prefix: &'static str,
    next_sequence: u64,
    next_serial: u64,
    in_doubt: Option<Vec<SignedEvent>>,
}

impl Signer {
    fn batch(&mut self, size: usize) -> Vec<SignedEvent> {
        (0..size)
            .map(|_| {
                let event = json!({
                    "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
                    "type": "ObjectEvent",
                    "eventTime": "2025-01-01T10:00:00.000Z",
                    "eventTimeZoneOffset": "+00:00",
                    "epcList": [format!("urn:epc:id:sgtin:{}.107346.{}", self.prefix, self.next_serial)],
                    "action": "ADD",
                    "bizStep": "commissioning",
                    "disposition": "active"
                });
                let record =
                    SignedEvent::sign(&self.key, CHAIN, self.next_sequence, &event).unwrap();
                self.next_sequence += 1;
                self.next_serial += 1;
                record
            })
            .collect()
    }
}

/// Submits until the node dies or `stop` is set. Returns acknowledged IDs.
fn submit_loop(
    addr: SocketAddr,
    signer: &mut Signer,
    mut rng: Rng,
    acked: &Mutex<Vec<String>>,
    stop: &std::sync::atomic::AtomicBool,
) {
    let agent = agent();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        let batch = match signer.in_doubt.take() {
            Some(batch) => batch,
            None => {
                let size = 1 + rng.below(5) as usize;
                signer.batch(size)
            }
        };
        let body = serde_json::to_string(&batch).unwrap();
        let result = agent
            .post(format!("http://{addr}/v1/events"))
            .header("content-type", "application/json")
            .send(&body);
        match result {
            Ok(response) => {
                let status = response.status().as_u16();
                let text = response.into_body().read_to_string().unwrap_or_default();
                if status == 202 {
                    let answer: Value = serde_json::from_str(&text).unwrap();
                    let ids: Vec<String> = answer["accepted"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|v| v.as_str().unwrap().to_owned())
                        .collect();
                    assert_eq!(ids.len(), batch.len(), "{text}");
                    for (id, record) in ids.iter().zip(&batch) {
                        assert_eq!(*id, record.event_hash_id.to_string());
                    }
                    acked.lock().unwrap().extend(ids);
                } else if status == 503 || status == 429 {
                    signer.in_doubt = Some(batch);
                    thread::sleep(Duration::from_millis(50));
                } else {
                    panic!("unexpected answer {status}: {text}");
                }
            }
            // The node died mid-request: the batch may or may not be durable. Resubmit the
            // identical bytes later; the node must answer idempotently.
            Err(_) => {
                signer.in_doubt = Some(batch);
                return;
            }
        }
    }
}

fn get_json(agent: &ureq::Agent, url: String) -> (u16, Value) {
    let response = agent.get(&url).call().unwrap();
    let status = response.status().as_u16();
    let text = response.into_body().read_to_string().unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The last lines of the newest node log, for failure messages.
fn log_tail(setup: &Setup) -> String {
    let mut logs: Vec<_> = std::fs::read_dir(setup.dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "log"))
        .collect();
    logs.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let text = logs
        .last()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Waits until the mempool is empty, then checks the whole ledger from genesis.
fn verify_ledger(setup: &Setup, acked: &[String]) {
    let agent = agent();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (_, status) = get_json(&agent, format!("http://{}/v1/status", setup.addr));
        if status["mempool_size"] == 0 {
            break;
        }
        if Instant::now() >= deadline {
            panic!(
                "mempool never drained: {status}\nnode log tail:\n{}",
                log_tail(setup)
            );
        }
        thread::sleep(Duration::from_millis(50));
    }
    let (_, status) = get_json(&agent, format!("http://{}/v1/status", setup.addr));
    let height = status["height"].as_u64().unwrap();
    let validators = setup.genesis.validator_set().unwrap();
    let mut prev_hash = setup.genesis.hash().0;
    let mut leaves: Vec<MerkleHash> = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut head: Option<BlockHeader> = None;
    for h in 1..=height {
        let (code, block) = get_json(&agent, format!("http://{}/v1/blocks/{h}", setup.addr));
        assert_eq!(code, 200, "block {h}: {block}");
        let header: BlockHeader = serde_json::from_value(block["header"].clone()).unwrap();
        let certificate: FinalityCertificate =
            serde_json::from_value(block["certificate"].clone()).unwrap();
        assert_eq!(header.prev_hash, prev_hash, "block {h} does not link");
        certificate.verify(&header, &validators).unwrap();
        let events: Vec<SignedEvent> = serde_json::from_value(block["events"].clone()).unwrap();
        for event in &events {
            event.verify(CHAIN).unwrap();
            leaves.push(event.leaf_hash(h));
            *seen.entry(event.event_hash_id.to_string()).or_default() += 1;
        }
        assert_eq!(header.log_size, leaves.len() as u64, "block {h} log size");
        assert_eq!(
            header.log_root,
            merkle::root_from_leaves(&leaves).to_bytes(),
            "block {h} log root"
        );
        prev_hash = header.hash();
        head = Some(header);
    }
    let duplicates: Vec<_> = seen.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        duplicates.is_empty(),
        "events in the ledger twice: {duplicates:?}"
    );
    let acked: BTreeSet<&String> = acked.iter().collect();
    let missing: Vec<_> = acked.iter().filter(|id| !seen.contains_key(**id)).collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    // Proofs for a spread of acknowledged events verify against the head.
    let head = head.expect("at least one block");
    for id in acked.iter().step_by((acked.len() / 10).max(1)) {
        let digest = id
            .trim_start_matches("ni:///sha-256;")
            .trim_end_matches("?ver=CBV2.0");
        let (code, answer) = get_json(
            &agent,
            format!("http://{}/v1/proofs/inclusion/{digest}", setup.addr),
        );
        assert_eq!(code, 200, "{answer}");
        let proof: InclusionProof = serde_json::from_value(answer["proof"].clone()).unwrap();
        let leaf: MerkleHash = serde_json::from_value(answer["leaf_hash"].clone()).unwrap();
        assert_eq!(proof.tree_size, head.log_size);
        merkle::verify_inclusion(&leaf, &proof, &MerkleHash::from_bytes(head.log_root)).unwrap();
    }
}

#[test]
fn acknowledged_events_survive_sigkill_exactly_once() {
    let cycles: usize = std::env::var("PROVENANCE_CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let seed: u64 = std::env::var("PROVENANCE_CRASH_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    println!("crash test: {cycles} cycles, PROVENANCE_CRASH_SEED={seed}");
    let _ = std::io::stdout().flush();
    let setup = setup();
    let mut rng = Rng(seed);
    let mut signers: Vec<Signer> = SIGNERS
        .iter()
        .map(|(_, prefix, seed)| Signer {
            key: key(*seed),
            prefix,
            next_sequence: 1,
            next_serial: 1,
            in_doubt: None,
        })
        .collect();
    let acked = Arc::new(Mutex::new(Vec::new()));
    for cycle in 0..cycles {
        let mut child = start_node(&setup, cycle);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let kill_after = Duration::from_millis(50 + rng.below(400));
        let handles: Vec<_> = signers
            .drain(..)
            .map(|mut signer| {
                let acked = acked.clone();
                let stop = stop.clone();
                let sub_rng = Rng(rng.next() | 1);
                let addr = setup.addr;
                thread::spawn(move || {
                    submit_loop(addr, &mut signer, sub_rng, &acked, &stop);
                    signer
                })
            })
            .collect();
        thread::sleep(kill_after);
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        stop.store(true, std::sync::atomic::Ordering::SeqCst);
        signers = handles.into_iter().map(|h| h.join().unwrap()).collect();
    }
    // Final run: resubmit whatever was in doubt, then check everything.
    let mut child = start_node(&setup, cycles);
    let agent = agent();
    for signer in &mut signers {
        if let Some(batch) = signer.in_doubt.take() {
            let response = agent
                .post(format!("http://{}/v1/events", setup.addr))
                .header("content-type", "application/json")
                .send(&serde_json::to_string(&batch).unwrap())
                .unwrap();
            assert_eq!(response.status(), 202);
            acked
                .lock()
                .unwrap()
                .extend(batch.iter().map(|r| r.event_hash_id.to_string()));
        }
    }
    let acked = acked.lock().unwrap().clone();
    assert!(!acked.is_empty(), "no event was ever acknowledged");
    verify_ledger(&setup, &acked);
    child.kill().unwrap();
    child.wait().unwrap();
    println!("crash test: {} acknowledged events verified", acked.len());
}
