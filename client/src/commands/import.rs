//! `provenance import`: sign and submit every event of an EPCIS 2.0 document, in order.
//!
//! The whole document is validated first (every problem reported, nothing sent). Events are
//! then signed with consecutive sequences and sent in batches. Progress goes to stderr: a
//! progress bar on a terminal, otherwise a line at every tenth of the way (for documents larger
//! than one batch). Rerunning the same file resumes: events already accepted get their original
//! sequence again, so the node sees identical records and acknowledges them without storing
//! anything twice.

use std::io::Write;

use crate::cli::{Context, ImportArgs};
use crate::commands::submit::{run_submission, session};
use crate::error::{CommandError, EXIT_OK};
use crate::{epcis_tools, events};

/// Reports progress as a bar (terminal) or as periodic lines.
enum Progress<'a> {
    Bar(indicatif::ProgressBar),
    Lines {
        err: &'a mut dyn Write,
        total: usize,
        step: usize,
        next: usize,
    },
    Silent,
}

impl<'a> Progress<'a> {
    fn new(total: usize, batch: usize, interactive: bool, err: &'a mut dyn Write) -> Self {
        if total <= batch {
            return Progress::Silent;
        }
        if interactive {
            let bar = indicatif::ProgressBar::new(total as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{spinner} {wide_bar} {pos}/{len} events ({per_sec}, {eta} left)",
            ) {
                bar.set_style(style);
            }
            return Progress::Bar(bar);
        }
        let step = total.div_ceil(10).max(1);
        Progress::Lines {
            err,
            total,
            step,
            next: step,
        }
    }

    fn update(&mut self, done: usize) {
        match self {
            Progress::Bar(bar) => bar.set_position(done as u64),
            Progress::Lines {
                err,
                total,
                step,
                next,
            } => {
                if done >= *next || done == *total {
                    let _ = writeln!(err, "imported {done}/{total} events");
                    while *next <= done {
                        *next += *step;
                    }
                }
            }
            Progress::Silent => {}
        }
    }

    fn finish(self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// `provenance import`.
pub fn import(
    args: &ImportArgs,
    context: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CommandError> {
    let input = epcis_tools::read_input(&args.file)?;
    let prepared = events::prepare(&input)?;
    let session = session(context, &args.key, &args.node, err)?;
    let batch = args.batch.max(1);
    let mut done_count = 0;
    let mut warnings = Vec::new();
    let result = {
        let mut progress = Progress::new(prepared.len(), batch, context.interactive, err);
        let result = run_submission(
            session,
            &prepared,
            batch,
            &mut |done| {
                done_count = done;
                progress.update(done);
            },
            &mut warnings,
        );
        progress.finish();
        result
    };
    err.write_all(&warnings)?;
    let done = match result {
        Ok(done) => done,
        Err(error) => {
            if done_count > 0 {
                let _ = writeln!(
                    err,
                    "{done_count} of {} events were accepted before the failure; after fixing it, rerun the same command: accepted events are resent identically and acknowledged without being stored twice",
                    prepared.len()
                );
            }
            return Err(error);
        }
    };
    let already = done.iter().filter(|d| d.already_recorded).count();
    let sequences = match (
        done.iter().map(|d| d.sequence).min(),
        done.iter().map(|d| d.sequence).max(),
    ) {
        (Some(low), Some(high)) => format!(", sequences {low} to {high}"),
        _ => String::new(),
    };
    writeln!(
        out,
        "imported {} events from {}{sequences}{}",
        done.len(),
        input.name,
        if already > 0 {
            format!(" ({already} already recorded)")
        } else {
            String::new()
        }
    )?;
    Ok(EXIT_OK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_progress_prints_every_tenth_and_the_end() {
        let mut err = Vec::new();
        {
            let mut progress = Progress::new(95, 10, false, &mut err);
            for done in [10, 20, 30, 40, 50, 60, 70, 80, 90, 95] {
                progress.update(done);
            }
            progress.finish();
        }
        let text = String::from_utf8(err).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.first(), Some(&"imported 10/95 events"));
        assert_eq!(lines.last(), Some(&"imported 95/95 events"));
        assert_eq!(lines.len(), 10, "{text}");
    }

    #[test]
    fn one_batch_needs_no_progress() {
        let mut err = Vec::new();
        let mut progress = Progress::new(5, 10, false, &mut err);
        progress.update(5);
        progress.finish();
        assert!(err.is_empty());
    }
}
