//! `provenance trace back|forward`: which identifiers a product's story reaches, verified.
//!
//! `back` follows the upstream bundle (containers it travelled in, inputs it was made from);
//! `forward` the downstream one (what was made from it or shipped with it: what a recall of it
//! must reach). Each identifier reached is listed with the last verified step that names it and
//! the participant that recorded that step, its holder as far as the ledger knows.

use std::io::Write;

use provenance_protocol::bundle::verdict::{Place, StepClaim, Verdict};
use provenance_protocol::bundle::{Scope, Subject};
use serde::Serialize;

use crate::cli::{Context, Direction, TraceArgs};
use crate::commands::verify::{Request, check, fetch_bundle, ignore_broken_pipe, load_trust};
use crate::error::CommandError;
use crate::render;

/// One identifier a trace reached.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reached {
    pub identifier: String,
    /// The last verified, unretracted step naming it, if any.
    pub last_step: Option<LastStep>,
    /// The participant that recorded that step.
    pub holder: Option<String>,
}

/// A step, as the trace output shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LastStep {
    pub event_index: usize,
    pub when: String,
    pub what: String,
    pub who: String,
    #[serde(rename = "where")]
    pub where_: Option<Place>,
}

/// `--json` output of `trace`.
#[derive(Debug, Serialize)]
struct TraceJson<'a> {
    verdict: &'a Verdict,
    reached: &'a [Reached],
}

/// The identifiers the verdict's story reaches, each with its last step.
pub fn reached(verdict: &Verdict) -> Vec<Reached> {
    verdict
        .story
        .related
        .iter()
        .map(|identifier| {
            let key = index_key(identifier);
            let last = verdict
                .story
                .steps
                .iter()
                .filter(|s| s.verified && !s.retracted)
                .filter(|s| s.identifiers.iter().any(|i| index_key(i) == key))
                .max_by_key(|s| (s.when_ms, s.event_index));
            Reached {
                identifier: identifier.clone(),
                holder: last.map(|s| s.who.clone()),
                last_step: last.map(last_step),
            }
        })
        .collect()
}

fn last_step(step: &StepClaim) -> LastStep {
    LastStep {
        event_index: step.event_index,
        when: step.when.clone(),
        what: step.what.clone(),
        who: step.who.clone(),
        where_: step.where_.clone(),
    }
}

/// The ledger's key of an identifier (URN and Digital Link of one object compare equal).
fn index_key(identifier: &str) -> String {
    Subject::parse(identifier).map_or_else(|_| identifier.to_owned(), |s| s.key().0.clone())
}

/// `provenance trace`.
pub fn trace(
    args: &TraceArgs,
    context: &Context,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> Result<u8, CommandError> {
    let scope = match args.direction {
        Direction::Back => Scope::Upstream,
        Direction::Forward => Scope::Downstream,
    };
    let trust = load_trust(context, &args.trust)?;
    Subject::parse(&args.id)?;
    let client = context.node_client(&args.node)?;
    let bundle = fetch_bundle(&client, &args.id, scope)?;
    let request = Request {
        id: Some(args.id.clone()),
        scope: Some(scope),
    };
    let verdict = check(context, &bundle, &trust, &request, &args.freshness, err)?;
    let reached = reached(&verdict);
    let printed = if args.json {
        let json = TraceJson {
            verdict: &verdict,
            reached: &reached,
        };
        serde_json::to_writer_pretty(&mut *out, &json)
            .map_err(std::io::Error::from)
            .and_then(|()| writeln!(out))
    } else {
        print_trace(out, &verdict, &reached, args.direction)
    };
    ignore_broken_pipe(printed)?;
    Ok(verdict.exit_code())
}

fn print_trace(
    out: &mut dyn Write,
    verdict: &Verdict,
    reached: &[Reached],
    direction: Direction,
) -> std::io::Result<()> {
    writeln!(out, "{}", render::headline(verdict))?;
    writeln!(out)?;
    let what = match direction {
        Direction::Back => "what it came from and travelled in",
        Direction::Forward => "everything made from or shipped with it",
    };
    writeln!(out, "{}: {what}", render::one_line(&verdict.subject))?;
    writeln!(out)?;
    writeln!(out, "Reached ({})", reached.len())?;
    for item in reached {
        writeln!(out, "  {}", render::one_line(&item.identifier))?;
        match &item.last_step {
            Some(step) => writeln!(
                out,
                "      last: {} {}, by {}",
                step.when,
                render::one_line(&step.what),
                render::one_line(&step.who)
            )?,
            None => writeln!(out, "      no verified step names it")?,
        }
    }
    if !verdict.story.recalls.is_empty() {
        writeln!(out)?;
        writeln!(out, "Recalls")?;
        for recall in &verdict.story.recalls {
            let state = if recall.retracted {
                "retracted"
            } else {
                "ACTIVE"
            };
            writeln!(
                out,
                "  {} {state}, by {}: {}",
                recall.when,
                render::one_line(&recall.by),
                render::one_line(&recall.identifiers.join(", "))
            )?;
        }
    }
    if !verdict.failures.is_empty() {
        writeln!(out)?;
        writeln!(out, "Failures")?;
        for failure in &verdict.failures {
            writeln!(
                out,
                "  ✗ {} [{}]: {}",
                render::site_text(&failure.site),
                failure.code,
                render::one_line(&failure.message)
            )?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use provenance_protocol::bundle::VerdictStatus;

    use super::*;
    use crate::render::tests::{SUBJECT, sample};

    #[test]
    fn each_reached_identifier_gets_its_last_verified_step() {
        let mut verdict = sample(VerdictStatus::Verified);
        let pallet = "urn:epc:id:sscc:0614142.1000004001";
        verdict.story.related = vec![
            pallet.to_owned(),
            "urn:epc:id:sgtin:0614141.107346.X".to_owned(),
        ];
        // Step 1 names the pallet by its Digital Link; the URN above must match it.
        verdict.story.steps[1].identifiers = vec![
            SUBJECT.to_owned(),
            "https://id.gs1.org/00/106141420000040014".to_owned(),
        ];
        verdict.story.steps[1].when_ms = 5;
        let reached = reached(&verdict);
        assert_eq!(reached.len(), 2);
        assert_eq!(reached[0].identifier, pallet);
        assert_eq!(reached[0].holder.as_deref(), Some("TransEuropa Logistics"));
        assert_eq!(reached[0].last_step.as_ref().unwrap().event_index, 1);
        assert_eq!(reached[1].last_step, None);

        let mut out = Vec::new();
        print_trace(&mut out, &verdict, &reached, Direction::Forward).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("✓ VERIFIED"), "{text}");
        assert!(
            text.contains("everything made from or shipped with it"),
            "{text}"
        );
        assert!(text.contains(&format!("  {pallet}\n      last: 2025-06-02T08:00:00+02:00 Shipped to GreenGrocer Retail, by TransEuropa Logistics")), "{text}");
        assert!(text.contains("no verified step names it"), "{text}");
    }

    #[test]
    fn failed_or_retracted_steps_do_not_count() {
        let mut verdict = sample(VerdictStatus::Failed);
        verdict.story.related = vec![SUBJECT.to_owned()];
        verdict.story.steps[0].retracted = true;
        let reached = reached(&verdict);
        // Step 0 is retracted and step 1 failed: nothing verified names it.
        assert_eq!(reached[0].last_step, None);
        let json = serde_json::to_value(&reached).unwrap();
        assert_eq!(json[0]["holder"], serde_json::Value::Null);
    }
}
