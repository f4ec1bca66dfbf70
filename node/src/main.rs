//! `provenance-node`: parses the command line and hands over to [`provenance_node::cli::run`],
//! which maps every failure to an `error: ...` message on stderr and a documented exit code.

use clap::Parser as _;
use provenance_node::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let parsed = Cli::parse();
    // Unlocked stderr: the node's log writers on other threads share it while the node runs.
    run(parsed, &mut std::io::stderr())
}
