//! The consumer's side through the real binaries: a `provenance-node dev --demo` network and
//! the `provenance` CLI run as processes, the way a developer runs them from the README.
//!
//! - [`DevNode`]: a one-validator dev network with the coffee journey recorded, on a free
//!   loopback port, stopped when dropped.
//! - [`Cli`]: runs the `provenance` binary with an isolated environment (its own state and
//!   config directories, no settings inherited from the developer's shell).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// Environment variable naming the `provenance` binary to test (else: next to the test binary).
pub const CLI_BIN_ENV: &str = "PROVENANCE_CLI_BIN";

/// How long the dev node may take to record and finalise the demo journey.
const DEMO_TIMEOUT: Duration = Duration::from_secs(90);

/// The `provenance` binary: `$PROVENANCE_CLI_BIN`, or the one cargo built into the target
/// directory of this test executable (`target/<profile>/deps/<test>` → `target/<profile>/`).
///
/// # Panics
/// If there is none; the message says how to build it.
pub fn cli_binary() -> PathBuf {
    crate::testnet::workspace_binary("provenance", "provenance-client", CLI_BIN_ENV)
}

/// A free loopback address (bound and released; the node binds it right after).
pub fn free_addr() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.to_string())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// `GET url` as JSON, `None` on any failure.
pub fn get_json(url: &str) -> Option<Value> {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(5)))
            .build(),
    );
    let text = agent
        .get(url)
        .call()
        .ok()?
        .into_body()
        .read_to_string()
        .ok()?;
    serde_json::from_str(&text).ok()
}

/// A running `provenance-node dev --demo`.
#[derive(Debug)]
pub struct DevNode {
    dir: tempfile::TempDir,
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    pub data_dir: PathBuf,
    pub genesis: PathBuf,
    pub genesis_hash: String,
    /// The demo's finished products (canonical Digital Links).
    pub products: Vec<String>,
}

impl DevNode {
    /// Starts a dev network and waits until the demo journey is final.
    ///
    /// # Panics
    /// If the node exits or the journey is not final within [`DEMO_TIMEOUT`].
    pub fn start() -> DevNode {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
        let data_dir = dir.path().join("dev");
        let addr = free_addr();
        let log = std::fs::File::create(dir.path().join("node.log"))
            .unwrap_or_else(|e| panic!("cannot create the node log: {e}"));
        let child = Command::new(crate::testnet::node_binary())
            .args(["dev", "--demo", "--data-dir"])
            .arg(&data_dir)
            .args(["--api-listen", &addr, "--metrics-listen", "off"])
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start provenance-node: {e}"));
        let mut node = DevNode {
            dir,
            child,
            url: format!("http://{addr}"),
            genesis: data_dir.join("genesis.json"),
            data_dir,
            genesis_hash: String::new(),
            products: Vec::new(),
        };
        let deadline = Instant::now() + DEMO_TIMEOUT;
        loop {
            let status = get_json(&format!("{}/v1/status", node.url));
            let demo = std::fs::read_to_string(node.data_dir.join("demo.json"))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok());
            if let (Some(status), Some(demo)) = (status, demo)
                && status["mempool_size"] == 0
                && status["log_size"].as_u64().unwrap_or(0) > 0
            {
                node.genesis_hash = status["genesis_hash"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned();
                node.products = demo["products"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| p.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
                return node;
            }
            if Instant::now() > deadline || node.child.try_wait().ok().flatten().is_some() {
                panic!(
                    "provenance-node dev --demo did not finish its journey; log:\n{}",
                    node.log()
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// The node's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("node.log")).unwrap_or_default()
    }

    /// A scratch directory that lives as long as the node.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The signing key file of a dev organisation (`keys/<slug>.key`).
    pub fn key(&self, slug: &str) -> PathBuf {
        self.data_dir.join("keys").join(format!("{slug}.key"))
    }

    /// `GET /v1/status`.
    pub fn status(&self) -> Value {
        get_json(&format!("{}/v1/status", self.url))
            .unwrap_or_else(|| panic!("the dev node does not answer; log:\n{}", self.log()))
    }

    /// Waits until the mempool is empty and the log holds at least `log_size` events.
    pub fn wait_final(&self, log_size: u64) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let status = self.status();
            if status["mempool_size"] == 0 && status["log_size"].as_u64().unwrap_or(0) >= log_size {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "events not final: {status}; log:\n{}",
                self.log()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for DevNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The `provenance` CLI with an isolated environment.
#[derive(Debug)]
pub struct Cli {
    binary: PathBuf,
    home: tempfile::TempDir,
}

/// What one run of the CLI did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts the exit code, showing both streams when it differs.
    #[track_caller]
    pub fn expect(self, code: i32) -> Run {
        assert_eq!(
            self.code,
            Some(code),
            "exit code\n--- stdout\n{}\n--- stderr\n{}",
            self.stdout,
            self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(output: Output) -> Self {
        Run {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

impl Cli {
    /// A CLI whose HOME, XDG directories and state directory are fresh and private.
    pub fn new() -> Cli {
        Cli {
            binary: cli_binary(),
            home: tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}")),
        }
    }

    /// The state directory the CLI remembers heads and sequences in.
    pub fn state_dir(&self) -> PathBuf {
        self.home.path().join("state")
    }

    /// A command with the isolated environment, for adding env vars before running.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        for name in [
            "PROVENANCE_NODE",
            "PROVENANCE_GENESIS",
            "PROVENANCE_KEY",
            "PROVENANCE_CONFIG",
        ] {
            command.env_remove(name);
        }
        command
            .env("HOME", self.home.path())
            .env("XDG_CONFIG_HOME", self.home.path().join("config"))
            .env("XDG_STATE_HOME", self.home.path().join("xdg-state"))
            .env("PROVENANCE_STATE_DIR", self.state_dir())
            .stdin(Stdio::null());
        command
    }

    /// Runs `provenance ARGS`.
    pub fn run<I, S>(&self, args: I) -> Run
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command()
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run provenance: {e}"))
            .into()
    }
}

impl Default for Cli {
    fn default() -> Self {
        Cli::new()
    }
}

/// `ms` since the Unix epoch as an EPCIS timestamp (`YYYY-MM-DDTHH:MM:SS.mmmZ`).
pub fn timestamp(ms: u64) -> String {
    let days = ms / 86_400_000;
    let rest = ms % 86_400_000;
    // Howard Hinnant's civil_from_days.
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rest / 3_600_000,
        rest / 60_000 % 60,
        rest / 1000 % 60,
        rest % 1000
    )
}

/// Now, as an EPCIS timestamp.
pub fn now_timestamp() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    timestamp(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_match_known_dates() {
        assert_eq!(timestamp(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(timestamp(951_782_400_123), "2000-02-29T00:00:00.123Z");
        assert_eq!(timestamp(1_735_689_599_999), "2024-12-31T23:59:59.999Z");
    }
}
