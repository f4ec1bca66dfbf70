//! `provenance epcis hash|validate`: offline EPCIS tools.

use std::io::Write;
use std::path::Path;

use crate::cli::EpcisCommand;
use crate::epcis_tools;
use crate::error::{CommandError, EXIT_INPUT, EXIT_OK};

/// Runs an `epcis` subcommand.
pub fn epcis(
    command: &EpcisCommand,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CommandError> {
    match command {
        EpcisCommand::Hash { file } => hash(file, out),
        EpcisCommand::Validate { file } => validate(file, out, err),
    }
}

fn hash(file: &Path, out: &mut dyn Write) -> Result<u8, CommandError> {
    let input = epcis_tools::read_input(file)?;
    let ids = epcis_tools::hash_ids(&input)?;
    for id in ids {
        writeln!(out, "{id}")?;
    }
    Ok(EXIT_OK)
}

fn validate(file: &Path, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8, CommandError> {
    let input = epcis_tools::read_input(file)?;
    match epcis_tools::validate(&input) {
        Ok(summary) => {
            writeln!(out, "{}: {summary}", input.name)?;
            Ok(EXIT_OK)
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
            Ok(EXIT_INPUT)
        }
    }
}
