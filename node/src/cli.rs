//! The `provenance-node` command line: argument parsing, one function per command, logging set-up
//! and the mapping from errors to exit codes.
//!
//! This is the binary edge, so errors are `anyhow` here; the library modules it calls
//! (`config`, `devnet`, `demo`, `runtime`) return typed errors, and whether a failure is the
//! user's to fix (exit 2) or a runtime failure (exit 1) is decided from those types in one place,
//! `exit_code`.
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | runtime failure: the node could not start (port in use, data directory locked, missing genesis or key) or stopped abnormally, a file could not be written, the demo submission failed |
//! | 2 | usage or configuration error: bad flags, an invalid or unknown config key, an invalid participants file, a bad log filter |

mod dev;
mod genesis;
mod governance;
mod http;
mod init;
mod keys;
mod node;

use std::io::{IsTerminal as _, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Args, CommandFactory as _, Parser, Subcommand};

use crate::config::{self, CliOverrides, ConfigError, MetricsListen, NodeConfig};

/// Exit code of a runtime failure.
pub const EXIT_RUNTIME: u8 = 1;
/// Exit code of a usage or configuration error (also what clap uses for bad arguments).
pub const EXIT_USAGE: u8 = 2;

const AFTER_HELP: &str = "\
Configuration precedence: flags > environment (PROVENANCE_DATA_DIR, PROVENANCE_GENESIS,
PROVENANCE_SIGNING_KEY, PROVENANCE_NODE_KEY, PROVENANCE_API_LISTEN, PROVENANCE_METRICS_LISTEN,
PROVENANCE_LOG, PROVENANCE_P2P_LISTEN, PROVENANCE_P2P_BOOTSTRAP) > config file > defaults. RUST_LOG, when set, overrides the log filter.

Exit codes: 0 success, 1 runtime failure, 2 usage or configuration error.";

/// Provenance node: stores the ledger, orders events into blocks and serves the HTTP API.
#[derive(Debug, Parser)]
#[command(
    name = "provenance-node",
    version,
    about,
    propagate_version = true,
    after_help = AFTER_HELP
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a data directory with a node key, a signing key and a config.toml (never overwrites).
    Init {
        /// The data directory to create or complete.
        #[arg(long, default_value = config::DEFAULT_DATA_DIR)]
        data_dir: PathBuf,
    },
    /// Build and validate a genesis from a participants file (JSON or TOML); prints its hash.
    Genesis {
        /// Participants file: chain_id, participants (name, roles, signing_key, network_key,
        /// company_prefixes), validators (participant, power), optional genesis_time_ms, params.
        /// Keys are hex, did:key, or a path to a key file (relative to this file).
        #[arg(long)]
        participants: PathBuf,
        /// Where to write the genesis (pretty JSON). Refuses to overwrite an existing file.
        #[arg(long)]
        out: PathBuf,
    },
    /// Run a node until Ctrl-C or SIGTERM.
    #[command(visible_alias = "start")]
    Run(ConfigArgs),
    /// Set up a one-validator dev network (five demo organisations) and run its node.
    Dev(dev::DevArgs),
    /// Print the effective configuration (file + environment + flags) as TOML.
    Config {
        #[command(flatten)]
        args: ConfigArgs,
        /// Print the built-in defaults instead.
        #[arg(long)]
        default: bool,
    },
    /// Inspect this node's keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Change the registry or the validator set: draft, approve (each validator), submit.
    #[command(subcommand)]
    Governance(governance::GovernanceCommand),
    /// Print a shell completion script.
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
}

#[derive(Debug, Subcommand)]
enum KeyCommand {
    /// Print the public keys of the node key and the signing key (hex and did:key).
    Show(ConfigArgs),
}

/// Where the configuration comes from, and the settings flags may override.
#[derive(Debug, Clone, Default, Args)]
struct ConfigArgs {
    /// Configuration file (TOML). Without one: defaults, environment and flags.
    #[arg(long, short = 'c', env = "PROVENANCE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Data directory.
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Genesis file.
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Signing key file.
    #[arg(long, value_name = "FILE")]
    signing_key: Option<PathBuf>,
    /// Node (network identity) key file.
    #[arg(long, value_name = "FILE")]
    node_key: Option<PathBuf>,
    /// HTTP API address.
    #[arg(long, value_name = "ADDR")]
    api_listen: Option<SocketAddr>,
    /// Metrics address, or `off`.
    #[arg(long, value_name = "ADDR|off")]
    metrics_listen: Option<MetricsListen>,
    /// Log filter (tracing EnvFilter directives).
    #[arg(long = "log", value_name = "FILTER")]
    log_filter: Option<String>,
}

impl ConfigArgs {
    fn overrides(&self) -> CliOverrides {
        CliOverrides {
            data_dir: self.data_dir.clone(),
            genesis: self.genesis.clone(),
            signing_key: self.signing_key.clone(),
            node_key: self.node_key.clone(),
            api_listen: self.api_listen,
            metrics_listen: self.metrics_listen,
            log_filter: self.log_filter.clone(),
        }
    }

    /// The effective configuration, reading the process environment.
    fn load(&self) -> Result<NodeConfig, ConfigError> {
        NodeConfig::load(
            self.config.as_deref(),
            &|name| std::env::var(name).ok(),
            &self.overrides(),
        )
    }
}

/// An input the user must fix (exit code 2) that has no error type of its own elsewhere
/// ([`ConfigError`] and the participants file's `ParticipantsError` are the others).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InputError {
    #[error("invalid log filter {filter:?} (from {origin}): {message}")]
    LogFilter {
        filter: String,
        origin: &'static str,
        message: String,
    },
}

/// Runs a parsed command line; problems go to `err` as `error: ...` lines.
pub fn run(cli: Cli, err: &mut dyn Write) -> ExitCode {
    match dispatch(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            report(&error, err);
            ExitCode::from(exit_code(&error))
        }
    }
}

fn dispatch(cli: Cli) -> anyhow::Result<()> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Init { data_dir } => init::init(&data_dir, &mut out),
        Command::Genesis {
            participants,
            out: path,
        } => genesis::genesis(&participants, &path, &mut out),
        Command::Run(args) => run_command(&args),
        Command::Dev(args) => dev::dev(&args, &mut out),
        Command::Config { args, default } => {
            let config = if default {
                NodeConfig::default()
            } else {
                args.load()?
            };
            out.write_all(config.to_toml_redacted()?.as_bytes())?;
            Ok(())
        }
        Command::Key(KeyCommand::Show(args)) => keys::show(&args.load()?, &mut out),
        Command::Governance(command) => governance::run(command, &mut out),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "provenance-node", &mut out);
            Ok(())
        }
    }
}

/// `run`: load the configuration, start logging, run the node until a shutdown signal.
fn run_command(args: &ConfigArgs) -> anyhow::Result<()> {
    let config = args.load()?;
    init_logging(&config.log.filter, args.log_filter.is_some())?;
    tracing::info!(
        data_dir = %config.data_dir.display(),
        genesis = %config.genesis.display(),
        api = %config.api.listen,
        metrics = %config
            .metrics_addr()
            .map_or_else(|| config::METRICS_OFF.to_owned(), |addr| addr.to_string()),
        "starting provenance-node {}",
        env!("CARGO_PKG_VERSION")
    );
    tokio_runtime()?.block_on(node::run_node(config, shutdown_signal()))
}

/// A multi-threaded tokio runtime for the node.
fn tokio_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Completes on Ctrl-C or, on Unix, SIGTERM. If a handler cannot be installed, that signal is
/// simply not awaited (the node must not stop because of it).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::warn!(%error, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                term.recv().await;
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutdown requested");
}

/// Logs to stderr. The filter is `--log` if given, else `RUST_LOG` if set (the tracing
/// convention), else the configured `log.filter` (which includes `PROVENANCE_LOG`). Colours only
/// when stderr is a terminal, so redirected logs carry no escape codes.
fn init_logging(config_filter: &str, from_flag: bool) -> Result<(), InputError> {
    let rust_log = std::env::var("RUST_LOG")
        .ok()
        .filter(|v| !v.trim().is_empty());
    let (filter, origin) = match rust_log {
        Some(value) if !from_flag => (value, "RUST_LOG"),
        _ => (config_filter.to_owned(), "log.filter"),
    };
    let env_filter =
        tracing_subscriber::EnvFilter::try_new(&filter).map_err(|e| InputError::LogFilter {
            message: e.to_string(),
            filter: filter.clone(),
            origin,
        })?;
    // A second initialisation (only possible in tests) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
    Ok(())
}

/// 2 when the chain holds an error the user fixes by changing their input, 1 otherwise.
fn exit_code(error: &anyhow::Error) -> u8 {
    let usage = error.chain().any(|cause| {
        cause.is::<ConfigError>()
            || cause.is::<InputError>()
            || cause.is::<genesis::ParticipantsError>()
    });
    if usage { EXIT_USAGE } else { EXIT_RUNTIME }
}

/// Prints the error chain, outermost first, one `error: ` line per cause. A cause whose text the
/// previous line already includes (many messages embed their source) is not repeated.
fn report(error: &anyhow::Error, err: &mut dyn Write) {
    let mut previous: Option<String> = None;
    for cause in error.chain() {
        let message = cause.to_string();
        if previous.as_ref().is_some_and(|p| p.contains(&message)) {
            continue;
        }
        let _ = writeln!(err, "error: {message}");
        previous = Some(message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn causes_are_printed_once_each() {
        let io = std::io::Error::new(std::io::ErrorKind::AddrInUse, "address in use");
        let error = anyhow::Error::new(std::io::Error::other(format!(
            "cannot listen on 127.0.0.1:8080: {io}"
        )));
        let mut out = Vec::new();
        report(&error, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "error: cannot listen on 127.0.0.1:8080: address in use\n"
        );

        let error = anyhow::Error::new(io).context("starting the node");
        let mut out = Vec::new();
        report(&error, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "error: starting the node\nerror: address in use\n"
        );
    }

    #[test]
    fn config_and_input_errors_exit_2_others_1() {
        let config = anyhow::Error::new(ConfigError::Invalid {
            key: "api.listen",
            problem: "x".into(),
        })
        .context("loading");
        assert_eq!(exit_code(&config), EXIT_USAGE);
        let filter = anyhow::Error::new(InputError::LogFilter {
            filter: "[".into(),
            origin: "RUST_LOG",
            message: "bad".into(),
        });
        assert_eq!(exit_code(&filter), EXIT_USAGE);
        let io = anyhow::Error::new(std::io::Error::other("disk full"));
        assert_eq!(exit_code(&io), EXIT_RUNTIME);
    }

    #[test]
    fn a_bad_log_filter_is_a_usage_error_naming_its_origin() {
        let err = init_logging("info,[", true).unwrap_err();
        assert!(err.to_string().contains("log.filter"), "{err}");
    }

    #[test]
    fn flags_reach_the_configuration() {
        let cli = Cli::try_parse_from([
            "provenance-node",
            "run",
            "--data-dir",
            "/d",
            "--api-listen",
            "127.0.0.1:9",
            "--metrics-listen",
            "off",
            "--log",
            "debug",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run")
        };
        let config = NodeConfig::load(None, &|_| None, &args.overrides()).unwrap();
        assert_eq!(config.data_dir, PathBuf::from("/d"));
        assert_eq!(config.api.listen.port(), 9);
        assert_eq!(config.metrics_addr(), None);
        assert_eq!(config.log.filter, "debug");
        // `start` is the same command.
        assert!(matches!(
            Cli::try_parse_from(["provenance-node", "start"])
                .unwrap()
                .command,
            Command::Run(_)
        ));
    }
}
