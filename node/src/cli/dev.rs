//! `provenance-node dev [--demo]`: a one-validator dev network, running, in one command.
//!
//! The network (keys, genesis) comes from [`crate::devnet`]; the node runs on it until
//! Ctrl-C. With `--demo`, once the API is up, the coffee journey of [`crate::demo`] is
//! signed with each organisation's key and submitted, and the product URLs are printed with the
//! exact commands to try.
//!
//! The demo is idempotent: the journey's events are a function of the genesis, so a second run
//! computes the same Event Hash IDs; if the node already knows the first one, nothing is
//! resubmitted (resubmitting would be refused as a replay anyway, with a less helpful message).
//!
//! `dev` is configured by its flags only; `PROVENANCE_*` variables and config files apply to
//! `run`. `RUST_LOG` still sets the log filter.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::record::SignedEvent;
use serde::Serialize;

use crate::config::{DEFAULT_API_LISTEN, MetricsListen, NodeConfig};
use crate::demo;
use crate::devnet::{self, DevNetwork};

use super::http::{HttpClient, encode_segment};
use super::node::StartedNode;

/// File in the dev data directory recording the demo's products.
pub(crate) const DEMO_FILE: &str = "demo.json";
/// Longest wait for the node to record the submitted journey.
const RECORD_TIMEOUT: Duration = Duration::from_secs(30);
/// Per-request time limit towards the local node.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Args)]
pub(crate) struct DevArgs {
    /// Directory of the dev network (keys, genesis, ledger). Reused if it exists.
    #[arg(long, value_name = "DIR", default_value = devnet::DEFAULT_DEV_DATA_DIR)]
    data_dir: PathBuf,
    /// HTTP API address.
    #[arg(long, value_name = "ADDR", default_value_t = DEFAULT_API_LISTEN)]
    api_listen: SocketAddr,
    /// Metrics address, or `off`.
    #[arg(long, value_name = "ADDR|off")]
    metrics_listen: Option<MetricsListen>,
    /// Log filter (tracing EnvFilter directives).
    #[arg(long = "log", value_name = "FILTER")]
    log_filter: Option<String>,
    /// Submit the demo coffee journey once the node is up.
    #[arg(long)]
    demo: bool,
}

pub(super) fn dev(args: &DevArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let network = devnet::setup(&args.data_dir)?;
    let config = dev_config(&network, args)?;
    super::init_logging(&config.log.filter, args.log_filter.is_some())?;
    let runtime = super::tokio_runtime()?;
    runtime.block_on(async {
        let node = StartedNode::start(config).await?;
        let api = node.api_addr();
        let genesis_path = absolute(&network.genesis_path);
        writeln!(
            out,
            "dev network {} is running\n  API      http://{api}\n  genesis  {} (hash {})\n  data     {}\nPress Ctrl-C to stop.",
            network.genesis.chain_id,
            genesis_path.display(),
            network.genesis.hash(),
            absolute(&network.data_dir).display(),
        )?;
        if args.demo {
            let submit_network = network.clone();
            let result = tokio::task::spawn_blocking(move || run_demo(&submit_network, api))
                .await
                .context("the demo task failed")
                .and_then(|r| r);
            match result {
                Ok(report) => report.print(out, api, &genesis_path)?,
                Err(error) => {
                    node.stop().await;
                    return Err(error);
                }
            }
        }
        out.flush()?;
        super::shutdown_signal().await;
        node.stop().await;
        Ok(())
    })
}

/// The node configuration of the dev network with the flags applied.
fn dev_config(network: &DevNetwork, args: &DevArgs) -> anyhow::Result<NodeConfig> {
    let mut config = network.node_config();
    config.api.listen = args.api_listen;
    if let Some(listen) = args.metrics_listen {
        config.metrics.listen = listen.0;
    }
    if let Some(filter) = &args.log_filter {
        config.log.filter.clone_from(filter);
    }
    config.validate()?;
    Ok(config)
}

/// What the demo did.
#[derive(Debug)]
struct DemoReport {
    steps: Vec<demo::DemoStep>,
    already_recorded: bool,
    recorded_in: Option<Duration>,
    products: Vec<String>,
}

/// `demo.json`: where to find the genesis and which products to verify.
#[derive(Debug, Serialize)]
struct DemoFile<'a> {
    genesis: &'a Path,
    genesis_hash: String,
    node: String,
    products: &'a [String],
}

/// Signs and submits the journey unless the node already has it; writes `demo.json`.
fn run_demo(network: &DevNetwork, api: SocketAddr) -> anyhow::Result<DemoReport> {
    let steps = demo::journey(demo::start_time_for(&network.genesis));
    let keys = devnet::PARTICIPANTS
        .iter()
        .map(|p| Ok((p.name, network.signing_key(p.name)?)))
        .collect::<anyhow::Result<BTreeMap<&str, SigningKey>>>()?;
    let signed = demo::sign_journey(&steps, &network.genesis.chain_id, &keys)?;
    let client = HttpClient::new(api, REQUEST_TIMEOUT);

    let (Some(first), Some(last)) = (signed.first(), signed.last()) else {
        bail!("the demo journey is empty");
    };
    let already_recorded = is_known(&client, first)?;
    let mut recorded_in = None;
    if !already_recorded {
        let body = serde_json::to_vec(&signed).context("cannot encode the demo events")?;
        let response = client.post_json("/v1/events", &body)?;
        if response.status != 202 {
            return Err(response.unexpected_status()).context("the node refused the demo journey");
        }
        let started = Instant::now();
        while !is_known(&client, last)? {
            if started.elapsed() > RECORD_TIMEOUT {
                bail!(
                    "the node accepted the demo journey but had not recorded its last event after {}s",
                    RECORD_TIMEOUT.as_secs()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        recorded_in = Some(started.elapsed());
    }

    let products = demo::finished_products();
    let genesis_path = absolute(&network.genesis_path);
    let file = DemoFile {
        genesis: &genesis_path,
        genesis_hash: network.genesis.hash().to_string(),
        node: format!("http://{}", client.addr()),
        products: &products,
    };
    let demo_path = network.data_dir.join(DEMO_FILE);
    let mut json = serde_json::to_string_pretty(&file).context("cannot encode demo.json")?;
    json.push('\n');
    write_replacing(&demo_path, json.as_bytes())
        .with_context(|| format!("cannot write {}", demo_path.display()))?;
    Ok(DemoReport {
        steps,
        already_recorded,
        recorded_in,
        products,
    })
}

/// Whether the node has this event (`GET /v1/events/{event_hash_id}` answers 200).
fn is_known(client: &HttpClient, event: &SignedEvent) -> anyhow::Result<bool> {
    let path = format!(
        "/v1/events/{}",
        encode_segment(&event.event_hash_id.to_string())
    );
    let response = client.get(&path)?;
    match response.status {
        200 => Ok(true),
        404 => Ok(false),
        _ => Err(response.unexpected_status().into()),
    }
}

impl DemoReport {
    fn print(&self, out: &mut dyn Write, api: SocketAddr, genesis: &Path) -> std::io::Result<()> {
        if self.already_recorded {
            writeln!(
                out,
                "\nThe demo journey is already recorded on this network."
            )?;
        } else {
            let seconds = self.recorded_in.map_or(0.0, |d| d.as_secs_f64());
            writeln!(
                out,
                "\nRecorded the demo journey ({} events, {seconds:.1}s):",
                self.steps.len()
            )?;
            for (number, step) in (1..).zip(&self.steps) {
                writeln!(out, "  {number:>2}. {}", step.description)?;
            }
        }
        writeln!(out, "\nProducts (GS1 Digital Link):")?;
        for product in &self.products {
            writeln!(out, "  {product}")?;
        }
        writeln!(
            out,
            "\nOpen a product's page (its story, verified by this node) in a browser:"
        )?;
        for product in &self.products {
            writeln!(out, "  http://{api}{}", digital_link_path(product))?;
        }
        writeln!(
            out,
            "\nVerify a product yourself, trusting only the genesis:"
        )?;
        for product in &self.products {
            writeln!(
                out,
                "  provenance verify {product} --node http://{api} --genesis {}",
                genesis.display()
            )?;
        }
        writeln!(
            out,
            "\nGenesis (what a verifier pins): {}",
            genesis.display()
        )?;
        Ok(())
    }
}

/// The path of a Digital Link (`/01/.../21/...`), which the node's resolver serves under its own
/// address; the text unchanged when it has no scheme and host.
fn digital_link_path(link: &str) -> &str {
    link.split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|slash| &rest[slash..]))
        .unwrap_or(link)
}

/// `path` made absolute for printing (unchanged if that fails), so commands can be pasted
/// anywhere.
fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_owned())
}

/// Replaces `path` atomically (write a sibling temporary file, then rename), so a reader never
/// sees half a file.
fn write_replacing(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("json.tmp");
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::super::http::stand_in;
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A stand-in node API: remembers posted events, answers GETs for them.
    fn fake_node() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
        let known: Arc<Mutex<Vec<String>>> = Arc::default();
        let state = known.clone();
        let addr = stand_in::serve(move |request| {
            let mut known = state.lock().unwrap();
            if request.method_and_path == "POST /v1/events" {
                let events: Vec<SignedEvent> = serde_json::from_slice(&request.body).unwrap();
                for e in events {
                    known.push(encode_segment(&e.event_hash_id.to_string()));
                }
                (202, b"[]".to_vec())
            } else {
                let id = request
                    .method_and_path
                    .strip_prefix("GET /v1/events/")
                    .unwrap_or_default();
                let status = if known.iter().any(|k| k == id) {
                    200
                } else {
                    404
                };
                (status, b"{}".to_vec())
            }
        });
        (addr, known)
    }

    #[test]
    fn demo_submits_once_and_records_the_products() {
        let dir = tempfile::tempdir().unwrap();
        let network = devnet::setup(dir.path()).unwrap();
        let (addr, known) = fake_node();

        let report = run_demo(&network, addr).unwrap();
        assert!(!report.already_recorded);
        assert_eq!(known.lock().unwrap().len(), 12);
        let demo: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(DEMO_FILE)).unwrap())
                .unwrap();
        assert_eq!(
            demo["products"],
            serde_json::json!(demo::finished_products())
        );
        assert!(Path::new(demo["genesis"].as_str().unwrap()).is_absolute());

        let again = run_demo(&network, addr).unwrap();
        assert!(again.already_recorded);
        assert_eq!(known.lock().unwrap().len(), 12, "nothing resubmitted");

        let mut printed = Vec::new();
        report
            .print(&mut printed, addr, &network.genesis_path)
            .unwrap();
        let printed = String::from_utf8(printed).unwrap();
        let product = &demo::finished_products()[0];
        assert!(
            printed.contains(&format!(
                "provenance verify {product} --node http://{addr} --genesis {}",
                network.genesis_path.display()
            )),
            "{printed}"
        );
        let path = product.strip_prefix("https://id.gs1.org").unwrap();
        assert!(
            printed.contains(&format!("http://{addr}{path}\n")),
            "{printed}"
        );
    }

    #[test]
    fn a_refusal_is_reported_with_the_nodes_reason() {
        let addr = stand_in::serve(|request| {
            if request.method_and_path.starts_with("GET ") {
                (404, Vec::new())
            } else {
                (
                    422,
                    br#"{"error":{"code":"sequence_gap","message":"boom","index":0},"accepted":[]}"#
                        .to_vec(),
                )
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let network = devnet::setup(dir.path()).unwrap();
        let err = run_demo(&network, addr).unwrap_err();
        assert_eq!(
            format!("{err:#}"),
            format!(
                "the node refused the demo journey: POST http://{addr}/v1/events answered HTTP 422 sequence_gap: boom"
            )
        );
        assert!(!dir.path().join(DEMO_FILE).exists());
    }

    #[test]
    fn an_unexpected_answer_to_a_lookup_names_the_request() {
        let addr = stand_in::serve(|_| {
            (
                503,
                br#"{"error":{"code":"shutting_down","message":"the node is stopping"}}"#.to_vec(),
            )
        });
        let dir = tempfile::tempdir().unwrap();
        let network = devnet::setup(dir.path()).unwrap();
        let err = run_demo(&network, addr).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!(
                "GET http://{addr}/v1/events/ni%3A%2F%2F%2Fsha-256%3B"
            )),
            "{err}"
        );
        assert!(
            err.ends_with("answered HTTP 503 shutting_down: the node is stopping"),
            "{err}"
        );
    }
}
