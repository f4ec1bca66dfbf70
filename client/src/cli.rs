//! The `provenance` command line.
//!
//! Results go to stdout, problems, warnings and progress to stderr. Exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success: verified, valid, submitted, written |
//! | 1 | verification failed, or the product is unsafe (recalled, cold chain broken) |
//! | 2 | usage or input error: bad arguments, unreadable or malformed file (genesis, bundle, event, key, config), missing setting, a request the node refused (unknown product `404`, rejected event `4xx`) |
//! | 3 | node unreachable: connection refused, DNS failure, timeout, or an HTTP `5xx` (or `408`/`429`) that persisted after retries: the node cannot serve the request now |
//!
//! Settings (node URL, genesis, signing key) come from flags, else the environment
//! (`PROVENANCE_NODE`, `PROVENANCE_GENESIS`, `PROVENANCE_KEY`), else the client config file
//! (see [`crate::config`]).

use std::cell::OnceCell;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use provenance_protocol::bundle::Scope;

use crate::commands;
use crate::config::{ConfigError, Environment, Settings};
use crate::error::CommandError;
use crate::http::NodeClient;

pub use crate::error::EXIT_INPUT;

/// Provenance: verifiable supply-chain stories on GS1 EPCIS 2.0.
#[derive(Debug, Parser)]
#[command(
    name = "provenance",
    version,
    about,
    propagate_version = true,
    after_help = "Exit codes: 0 success (verified); 1 verification failed or the product is unsafe; 2 usage or input error; 3 node unreachable or failing."
)]
pub struct Cli {
    /// Client config file (TOML) [default: $PROVENANCE_CONFIG, else
    /// $XDG_CONFIG_HOME/provenance/client.toml].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the client remembers verified heads and signing sequences [default:
    /// $PROVENANCE_STATE_DIR, else $XDG_STATE_HOME/provenance].
    #[arg(long, global = true, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Verify a product's story: fetch its bundle from a node (or read one with --bundle) and
    /// check it against the network's genesis. Exit 0 verified, 1 failed or unsafe.
    Verify(VerifyArgs),
    /// Save a product's bundle to a file, for offline verification.
    Bundle(BundleArgs),
    /// Trace a product: everything it came from (back) or everything made from or shipped with
    /// it (forward, for a recall), verified.
    Trace(TraceArgs),
    /// Sign one EPCIS event locally and submit it (only the signed event leaves the machine).
    Submit(SubmitArgs),
    /// Sign and submit every event of an EPCIS 2.0 document, in order, in batches; rerunning
    /// resumes.
    Import(ImportArgs),
    /// Organisation signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Show a product's GS1 Digital Link as a QR code (terminal, SVG, PNG).
    Qr(QrArgs),
    /// Work with EPCIS 2.0 documents (offline).
    #[command(subcommand)]
    Epcis(EpcisCommand),
}

/// `--node URL`.
#[derive(Debug, Clone, Args)]
pub struct NodeArg {
    /// Node API URL, e.g. http://localhost:8080 [env: PROVENANCE_NODE; config: node].
    #[arg(long, value_name = "URL")]
    pub node: Option<String>,
}

/// What verification trusts.
#[derive(Debug, Clone, Args)]
pub struct TrustArgs {
    /// The network's genesis file [env: PROVENANCE_GENESIS; config: genesis].
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// Trust only this genesis hash (64 hex digits); the bundle's own genesis must match it
    /// [config: genesis_hash].
    #[arg(long, value_name = "HEX", conflicts_with = "genesis")]
    pub genesis_hash: Option<String>,
}

/// Freshness settings shared by `verify` and `trace`.
#[derive(Debug, Clone, Args)]
pub struct FreshnessArgs {
    /// Fail when the bundle's anchor is older than this (e.g. 1h, 7d).
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_age: Option<Duration>,
    /// Fail when the bundle's anchor is below this block height.
    #[arg(long, value_name = "HEIGHT")]
    pub min_height: Option<u64>,
    /// Neither require nor record the highest anchor this client has verified.
    #[arg(long)]
    pub no_remember: bool,
}

/// `--scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// The product's own story, its containers and its inputs back to raw materials.
    Upstream,
    /// Everything made from or shipped with it afterwards.
    Downstream,
}

impl From<ScopeArg> for Scope {
    fn from(scope: ScopeArg) -> Self {
        match scope {
            ScopeArg::Upstream => Scope::Upstream,
            ScopeArg::Downstream => Scope::Downstream,
        }
    }
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The product: a GS1 Digital Link (any domain) or an EPC URN. With --bundle it is
    /// optional and, when given, must be what the bundle is about.
    #[arg(required_unless_present = "bundle")]
    pub id: Option<String>,
    /// Verify this saved bundle (JSON or CBOR) instead of asking a node.
    #[arg(long, value_name = "FILE")]
    pub bundle: Option<PathBuf>,
    #[command(flatten)]
    pub node: NodeArg,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub freshness: FreshnessArgs,
    /// Which story to verify [default: upstream; with --bundle: whatever the bundle holds].
    #[arg(long, value_enum)]
    pub scope: Option<ScopeArg>,
    /// Print the verdict as JSON (the stable schema) and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
    /// Also fetch the bundle from this node (repeatable) and fail if it proves an event of the
    /// story, final before the verified bundle's anchor, that the verified bundle left out.
    /// One honest node among those asked is enough to expose a withheld event.
    #[arg(long = "cross-check", value_name = "URL")]
    pub cross_check: Vec<String>,
}

/// `--format` of a saved bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BundleFormat {
    /// Pretty JSON, hashes and signatures as hex.
    Json,
    /// Canonical CBOR (compact).
    Cbor,
}

#[derive(Debug, Args)]
pub struct BundleArgs {
    /// The product: a GS1 Digital Link or an EPC URN.
    pub id: String,
    #[command(flatten)]
    pub node: NodeArg,
    /// Where to write the bundle (`-`: stdout).
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Encoding [default: cbor for a .cbor file, else json].
    #[arg(long, value_enum)]
    pub format: Option<BundleFormat>,
    #[arg(long, value_enum, default_value = "upstream")]
    pub scope: ScopeArg,
}

/// Which way `trace` goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Direction {
    /// Upstream: what it came from and travelled in.
    Back,
    /// Downstream: what was made from it or shipped with it (a recall's reach).
    Forward,
}

#[derive(Debug, Args)]
pub struct TraceArgs {
    pub direction: Direction,
    /// The product: a GS1 Digital Link or an EPC URN.
    pub id: String,
    #[command(flatten)]
    pub node: NodeArg,
    #[command(flatten)]
    pub trust: TrustArgs,
    #[command(flatten)]
    pub freshness: FreshnessArgs,
    /// Print `{"verdict": ..., "reached": [...]}` as JSON and nothing else on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--key FILE`.
#[derive(Debug, Clone, Args)]
pub struct KeyArg {
    /// The organisation's signing key [env: PROVENANCE_KEY; config: key].
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// One EPCIS 2.0 event (or a document holding one); `-` reads stdin.
    pub event: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub node: NodeArg,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// EPCISDocument (JSON-LD); `-` reads stdin.
    pub file: PathBuf,
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub node: NodeArg,
    /// Events per request.
    #[arg(long, value_name = "N", default_value_t = crate::submission::DEFAULT_BATCH, value_parser = clap::value_parser!(usize))]
    pub batch: usize,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a signing key into a new file (mode 0600) and print its public key.
    New {
        /// The key file to create.
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Replace an existing file (its key is lost, and with it the identity it signs for).
        #[arg(long)]
        force: bool,
    },
    /// Print the public key and did:key of a key file.
    Show {
        /// The key file.
        file: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct QrArgs {
    /// The product: a GS1 Digital Link (any domain) or an EPC URN.
    pub id: String,
    /// Resolver the link points at.
    #[arg(long, value_name = "URL", default_value = provenance_protocol::gs1::GS1_RESOLVER)]
    pub base: String,
    /// Also write the QR code as SVG.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
    /// Also write the QR code as PNG.
    #[arg(long, value_name = "FILE")]
    pub png: Option<PathBuf>,
    /// Pixels per module in the PNG.
    #[arg(long, value_name = "N", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub scale: u32,
    /// Draw dark modules in the terminal (for light backgrounds; the default suits dark ones).
    #[arg(long)]
    pub invert: bool,
}

#[derive(Debug, Subcommand)]
pub enum EpcisCommand {
    /// Print the CBV 2.0 Event Hash ID of each event, one per line, in document order.
    Hash {
        /// EPCISDocument, EPCISQueryDocument or single event (JSON / JSON-LD); `-` reads stdin.
        file: PathBuf,
    },
    /// Validate against EPCIS 2.0 and CBV 2.0; exit 2 and list every problem when invalid.
    Validate {
        /// EPCISDocument, EPCISQueryDocument or single event (JSON / JSON-LD); `-` reads stdin.
        file: PathBuf,
    },
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (examples: 90s, 1h, 7d)"))
}

/// What every command can reach: the environment, settings (loaded on first use, so commands
/// that need none never fail on a broken config file) and the state directory.
#[derive(Debug)]
pub struct Context {
    env: Environment,
    config_flag: Option<PathBuf>,
    state_dir_flag: Option<PathBuf>,
    settings: OnceCell<Settings>,
    /// Whether stderr is a terminal (progress bars) .
    pub interactive: bool,
}

impl Context {
    /// A context over `env` with the global flags of `cli`.
    pub fn new(cli: &Cli, env: Environment, interactive: bool) -> Self {
        Context {
            env,
            config_flag: cli.config.clone(),
            state_dir_flag: cli.state_dir.clone(),
            settings: OnceCell::new(),
            interactive,
        }
    }

    /// The settings, loading the config file on first use.
    pub fn settings(&self) -> Result<&Settings, ConfigError> {
        if let Some(settings) = self.settings.get() {
            return Ok(settings);
        }
        let loaded = Settings::load(self.config_flag.as_deref(), self.env.clone())?;
        Ok(self.settings.get_or_init(|| loaded))
    }

    /// `--state-dir`, else `$PROVENANCE_STATE_DIR`, else `$XDG_STATE_HOME/provenance`.
    pub fn state_dir(&self) -> Option<PathBuf> {
        self.state_dir_flag.clone().or_else(|| self.env.state_dir())
    }

    /// A client for the node the flag, environment or config names.
    pub fn node_client(&self, flag: &NodeArg) -> Result<NodeClient, CommandError> {
        let url = self.settings()?.node(flag.node.as_deref())?;
        Ok(NodeClient::new(&url.value)?)
    }
}

/// Writes a warning line to stderr (best effort: a closed stderr is no reason to fail).
pub fn warn(err: &mut dyn Write, message: impl std::fmt::Display) {
    let _ = writeln!(err, "warning: {message}");
}

/// Runs a parsed command line with the process environment.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    use std::io::IsTerminal as _;
    let interactive = std::io::stderr().is_terminal();
    run_with(cli, Environment::from_process(), interactive, out, err)
}

/// Runs a parsed command line with `env`, writing results to `out` and problems to `err`.
pub fn run_with(
    cli: Cli,
    env: Environment,
    interactive: bool,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> ExitCode {
    let context = Context::new(&cli, env, interactive);
    let result = match &cli.command {
        Command::Verify(args) => commands::verify::verify(args, &context, out, err),
        Command::Bundle(args) => commands::verify::save_bundle(args, &context, out, err),
        Command::Trace(args) => commands::trace::trace(args, &context, out, err),
        Command::Submit(args) => commands::submit::submit(args, &context, out, err),
        Command::Import(args) => commands::import::import(args, &context, out, err),
        Command::Key(command) => commands::key::key(command, out),
        Command::Qr(args) => commands::qr::qr(args, out),
        Command::Epcis(command) => commands::epcis::epcis(command, out, err),
    };
    let _ = out.flush();
    match result {
        Ok(code) => ExitCode::from(code),
        // stdout was closed early (`| head`): the reader has what it wanted; no message.
        Err(error) if error.is_broken_pipe() => ExitCode::from(error.kind().exit_code()),
        Err(error) => {
            // One line per cause, outermost first.
            let _ = writeln!(err, "error: {error}");
            let mut source = std::error::Error::source(&error);
            while let Some(cause) = source {
                let _ = writeln!(err, "  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(error.kind().exit_code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn usage_errors_exit_2_like_clap_does() {
        for args in [
            vec!["provenance", "verify"],
            vec![
                "provenance",
                "verify",
                "x",
                "--genesis",
                "g",
                "--genesis-hash",
                "ab",
            ],
            vec!["provenance", "verify", "x", "--max-age", "soon"],
            vec!["provenance", "trace", "sideways", "x"],
            vec!["provenance", "qr", "x", "--scale", "0"],
        ] {
            let err = Cli::try_parse_from(&args).unwrap_err();
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        }
        let cli = Cli::try_parse_from([
            "provenance",
            "verify",
            "--bundle",
            "b.json",
            "--genesis",
            "g",
        ])
        .unwrap();
        assert!(matches!(
            cli.command,
            Command::Verify(VerifyArgs { id: None, .. })
        ));
        let cli = Cli::try_parse_from([
            "provenance",
            "verify",
            "x",
            "--max-age",
            "7d",
            "--state-dir",
            "/s",
        ])
        .unwrap();
        let Command::Verify(args) = &cli.command else {
            panic!()
        };
        assert_eq!(
            args.freshness.max_age,
            Some(Duration::from_secs(7 * 86_400))
        );
        assert_eq!(cli.state_dir, Some(PathBuf::from("/s")));
    }

    #[test]
    fn settings_load_lazily_and_once() {
        let cli = Cli::try_parse_from([
            "provenance",
            "--config",
            "/nonexistent/c.toml",
            "key",
            "show",
            "k",
        ])
        .unwrap();
        let context = Context::new(&cli, Environment::default(), false);
        // The broken config only matters to a command that asks for settings.
        assert!(context.settings().is_err());
        assert_eq!(context.state_dir(), None);
    }
}
