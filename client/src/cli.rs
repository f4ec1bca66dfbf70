//! The `provenance` command line.
//!
//! Results go to stdout, problems and progress to stderr. Exit codes:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success (the document is valid, the hashes were printed) |
//! | 1 | verification failed (reserved for `provenance verify`) |
//! | 2 | usage or input error (unreadable file, invalid JSON, invalid EPCIS) |
//! | 3 | node unreachable (reserved for commands that talk to a node) |

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::epcis_tools;

/// Exit code for usage and input errors.
pub const EXIT_INPUT: u8 = 2;

/// Provenance: verifiable supply-chain stories on GS1 EPCIS 2.0.
#[derive(Debug, Parser)]
#[command(name = "provenance", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Work with EPCIS 2.0 documents (offline).
    #[command(subcommand)]
    Epcis(EpcisCommand),
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

/// Runs a parsed command line, writing results to `out` and problems to `err`.
pub fn run(cli: Cli, out: &mut dyn Write, err: &mut dyn Write) -> ExitCode {
    let result = match cli.command {
        Command::Epcis(EpcisCommand::Hash { file }) => epcis_hash(&file, out),
        Command::Epcis(EpcisCommand::Validate { file }) => epcis_validate(&file, out, err),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            // One line per cause, outermost first.
            let _ = writeln!(err, "error: {e}");
            let mut source = std::error::Error::source(e.as_ref());
            while let Some(cause) = source {
                let _ = writeln!(err, "  caused by: {cause}");
                source = cause.source();
            }
            ExitCode::from(EXIT_INPUT)
        }
    }
}

type CommandResult = Result<ExitCode, Box<dyn std::error::Error>>;

fn epcis_hash(file: &std::path::Path, out: &mut dyn Write) -> CommandResult {
    let input = epcis_tools::read_input(file)?;
    let ids = epcis_tools::hash_ids(&input)?;
    for id in ids {
        writeln!(out, "{id}")?;
    }
    Ok(ExitCode::SUCCESS)
}

fn epcis_validate(
    file: &std::path::Path,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> CommandResult {
    let input = epcis_tools::read_input(file)?;
    match epcis_tools::validate(&input) {
        Ok(summary) => {
            writeln!(out, "{}: {summary}", input.name)?;
            Ok(ExitCode::SUCCESS)
        }
        Err(report) => {
            let problems = report.problems();
            writeln!(
                err,
                "{}: invalid EPCIS 2.0, {} problem{}:",
                input.name,
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            )?;
            for problem in problems {
                writeln!(err, "  {}: {}", problem.path, problem.message)?;
            }
            Ok(ExitCode::from(EXIT_INPUT))
        }
    }
}
