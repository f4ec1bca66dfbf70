//! The `provenance` binary: parses arguments and hands over to [`provenance_client::cli`].

use clap::Parser;
use provenance_client::cli::{Cli, run};

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    run(cli, &mut stdout.lock(), &mut stderr.lock())
}
