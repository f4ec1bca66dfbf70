//! The human form of a verdict: the verdict first (one line), then the product, the timeline
//! with ✓/✗ per step, custody, certifications, cold chain, recalls, the failures each with the
//! place in the bundle it points at, and what could not be checked.
//!
//! This is for people and may change; programs read `--json` (the [`Verdict`] itself).

use std::io::{self, Write};

use provenance_protocol::bundle::Scope;
use provenance_protocol::bundle::verdict::{
    Failure, Place, SensorClaim, Site, StepClaim, Verdict, VerdictStatus,
};

/// The one-line verdict: mark, word, summary.
pub fn headline(verdict: &Verdict) -> String {
    let (mark, word) = match verdict.status {
        VerdictStatus::Verified => ("✓", "VERIFIED"),
        VerdictStatus::Unsafe => ("⚠", "UNSAFE"),
        VerdictStatus::Failed => ("✗", "FAILED"),
    };
    // The verifier's summary starts with the same word; it is not repeated.
    let summary = verdict
        .summary
        .strip_prefix(word)
        .and_then(|rest| rest.strip_prefix(':'))
        .unwrap_or(&verdict.summary)
        .trim_start();
    format!("{mark} {word}  {}", one_line(summary))
}

/// Writes the whole human report of `verdict`.
pub fn verdict(out: &mut dyn Write, verdict: &Verdict) -> io::Result<()> {
    writeln!(out, "{}", headline(verdict))?;
    writeln!(out)?;
    product(out, verdict)?;
    provenance(out, verdict)?;
    timeline(out, &verdict.story.steps)?;
    custody(out, verdict)?;
    certifications(out, verdict)?;
    cold_chain(out, &verdict.story.cold_chain)?;
    recalls(out, verdict)?;
    failures(out, &verdict.failures)?;
    notes(out, &verdict.notes)
}

fn product(out: &mut dyn Write, verdict: &Verdict) -> io::Result<()> {
    let Some(product) = &verdict.story.product else {
        return label(out, "Product", &verdict.subject);
    };
    label(out, "Product", &product.identifier)?;
    if let Some(maker) = &product.maker {
        let mut made = maker.clone();
        if let Some(at) = &product.made_at {
            made.push_str(&format!(", {at}"));
        }
        if let Some(place) = &product.made_where {
            made.push_str(&format!(", at {}", place_text(place)));
        }
        label(out, "Made by", &made)?;
    }
    if let Some(country) = &product.origin_country {
        label(out, "Origin", country)?;
    }
    if let Some(lot) = &product.lot {
        label(out, "Lot", lot)?;
    }
    for (i, (key, value)) in product.master_data.iter().enumerate() {
        let name = if i == 0 { "Details" } else { "" };
        label(out, name, &format!("{key}: {value}"))?;
    }
    Ok(())
}

fn provenance(out: &mut dyn Write, verdict: &Verdict) -> io::Result<()> {
    let genesis = verdict
        .genesis_hash
        .get(..16)
        .unwrap_or(&verdict.genesis_hash);
    label(
        out,
        "Network",
        &format!("{} (genesis {genesis}…)", verdict.chain_id),
    )?;
    if let Some(anchor) = &verdict.anchor {
        let hash = anchor.header_hash.get(..16).unwrap_or(&anchor.header_hash);
        label(
            out,
            "Anchor",
            &format!(
                "block {} of {}, header {hash}…, signed by {} of {} voting power",
                anchor.height, anchor.time, anchor.signed_power, anchor.total_power
            ),
        )?;
    }
    if verdict.scope == Scope::Downstream {
        label(
            out,
            "Scope",
            "downstream (everything made from or shipped with it)",
        )?;
    }
    Ok(())
}

fn label(out: &mut dyn Write, name: &str, value: &str) -> io::Result<()> {
    writeln!(out, "{name:<10} {}", one_line(value))
}

fn section(out: &mut dyn Write, title: &str) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{title}")
}

fn timeline(out: &mut dyn Write, steps: &[StepClaim]) -> io::Result<()> {
    if steps.is_empty() {
        return Ok(());
    }
    section(out, "Timeline")?;
    for step in steps {
        let mark = if !step.verified {
            "✗"
        } else if step.retracted {
            "↺"
        } else {
            "✓"
        };
        writeln!(out, "  {mark} {}  {}", step.when, one_line(&step.what))?;
        let mut detail = format!("by {}", step.who);
        if let Some(place) = &step.where_ {
            detail.push_str(&format!(" at {}", place_text(place)));
        }
        match (&step.biz_step, &step.disposition) {
            (Some(step), Some(disposition)) => {
                detail.push_str(&format!(" ({step}, {disposition})"))
            }
            (Some(only), None) | (None, Some(only)) => detail.push_str(&format!(" ({only})")),
            (None, None) => {}
        }
        writeln!(out, "      {}", one_line(&detail))?;
        if step.retracted {
            writeln!(out, "      retracted by its recorder (error declaration)")?;
        }
        if !step.verified {
            writeln!(
                out,
                "      did not verify; see Failures (event #{})",
                step.event_index
            )?;
        }
    }
    Ok(())
}

fn custody(out: &mut dyn Write, verdict: &Verdict) -> io::Result<()> {
    if verdict.story.custody.is_empty() {
        return Ok(());
    }
    section(out, "Custody")?;
    for period in &verdict.story.custody {
        let until = period.until.as_deref().unwrap_or("now (at the anchor)");
        writeln!(
            out,
            "  {}  from {} until {until}",
            one_line(&period.holder),
            period.from
        )?;
    }
    Ok(())
}

fn certifications(out: &mut dyn Write, verdict: &Verdict) -> io::Result<()> {
    if verdict.story.certifications.is_empty() {
        return Ok(());
    }
    section(out, "Certifications")?;
    for cert in &verdict.story.certifications {
        let mark = match (cert.verified, cert.valid_at_anchor) {
            (false, _) | (true, Some(false)) => "✗",
            (true, _) => "✓",
        };
        writeln!(out, "  {mark} {}", one_line(&cert.certificate))?;
        let mut detail = format!("issued by {}", cert.issuer);
        if let Some(standard) = &cert.standard {
            detail.push_str(&format!(", standard {standard}"));
        }
        match (&cert.valid_from, &cert.valid_until) {
            (Some(from), Some(until)) => detail.push_str(&format!(", valid {from} to {until}")),
            (Some(from), None) => detail.push_str(&format!(", valid from {from}")),
            (None, Some(until)) => detail.push_str(&format!(", valid until {until}")),
            (None, None) => {}
        }
        match cert.valid_at_anchor {
            Some(true) => detail.push_str(" (valid at the anchor)"),
            Some(false) => detail.push_str(" (NOT valid at the anchor)"),
            None => {}
        }
        if !cert.verified {
            detail.push_str("; did not verify, see Failures");
        }
        writeln!(out, "      {}", one_line(&detail))?;
    }
    Ok(())
}

fn cold_chain(out: &mut dyn Write, readings: &[SensorClaim]) -> io::Result<()> {
    if readings.is_empty() {
        return Ok(());
    }
    section(out, "Cold chain")?;
    // A threshold shared by consecutive readings is shown once, after the last of them.
    for (i, reading) in readings.iter().enumerate() {
        let mark = match reading.within {
            Some(true) => "✓",
            Some(false) => "✗",
            None => "·",
        };
        let when = reading
            .time
            .as_deref()
            .or(reading.start.as_deref())
            .unwrap_or("(no time)");
        let uom = reading.uom.as_deref().unwrap_or("");
        let values = [
            ("value", reading.value),
            ("min", reading.min),
            ("max", reading.max),
            ("mean", reading.mean),
        ]
        .iter()
        .filter_map(|(name, v)| v.map(|v| format!("{name} {v} {uom}")))
        .collect::<Vec<_>>()
        .join(", ");
        writeln!(
            out,
            "  {mark} {when}  {}: {}",
            reading.measurement,
            one_line(&values)
        )?;
        let threshold = match &reading.threshold {
            Some(t) => {
                let bound = |v: Option<f64>| v.map_or("-".to_owned(), |v| v.to_string());
                format!(
                    "limits {} to {} {} ({})",
                    bound(t.min),
                    bound(t.max),
                    t.uom,
                    t.source
                )
            }
            None => "no threshold applies".to_owned(),
        };
        let next_shares = readings.get(i + 1).is_some_and(|next| {
            next.threshold == reading.threshold && next.within == reading.within
        });
        if next_shares {
            continue;
        }
        let verdict = match reading.within {
            Some(true) => "within",
            Some(false) => "OUTSIDE",
            None => "not judged",
        };
        writeln!(out, "      {verdict}: {}", one_line(&threshold))?;
    }
    Ok(())
}

fn recalls(out: &mut dyn Write, verdict: &Verdict) -> io::Result<()> {
    let story = &verdict.story;
    if story.recalls.is_empty() && story.error_declarations.is_empty() {
        return Ok(());
    }
    section(out, "Recalls and corrections")?;
    for recall in &story.recalls {
        let (mark, state) = if recall.retracted {
            ("↺", "recall retracted")
        } else {
            ("⚠", "RECALLED")
        };
        writeln!(
            out,
            "  {mark} {}  {state} by {}: {}",
            recall.when,
            one_line(&recall.by),
            one_line(&recall.identifiers.join(", "))
        )?;
    }
    for declaration in &story.error_declarations {
        let reason = declaration
            .reason
            .as_deref()
            .map_or(String::new(), |r| format!(" ({r})"));
        writeln!(
            out,
            "  ↺ {}  {} retracted {}{reason}",
            declaration.when,
            one_line(&declaration.by),
            declaration.corrects
        )?;
    }
    Ok(())
}

fn failures(out: &mut dyn Write, failures: &[Failure]) -> io::Result<()> {
    if failures.is_empty() {
        return Ok(());
    }
    section(out, "Failures")?;
    for failure in failures {
        writeln!(
            out,
            "  ✗ {} [{}]: {}",
            site_text(&failure.site),
            failure.code,
            one_line(&failure.message)
        )?;
    }
    Ok(())
}

fn notes(out: &mut dyn Write, notes: &[String]) -> io::Result<()> {
    if notes.is_empty() {
        return Ok(());
    }
    section(out, "Not verified")?;
    for note in notes {
        writeln!(out, "  • {}", one_line(note))?;
    }
    Ok(())
}

/// Where in the bundle a failure sits, for people.
pub fn site_text(site: &Site) -> String {
    match site {
        Site::Bundle => "bundle".to_owned(),
        Site::Genesis => "genesis".to_owned(),
        Site::Handoff { index, height } => format!("hand-off #{index} (block {height})"),
        Site::Governance { index, height } => {
            format!("governance transaction #{index} (block {height})")
        }
        Site::Anchor => "anchor".to_owned(),
        Site::Event {
            index,
            event_hash_id,
        } => format!("event #{index} ({event_hash_id})"),
        Site::Story => "story".to_owned(),
    }
}

fn place_text(place: &Place) -> String {
    match &place.operator {
        Some(operator) => format!("{operator} ({})", place.id),
        None => place.id.clone(),
    }
}

/// Text from a bundle on one line: control characters (newlines, escape sequences a hostile
/// event could carry to rewrite the terminal) become spaces.
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use std::collections::BTreeMap;

    use provenance_protocol::bundle::verdict::{
        AnchorInfo, CertificationClaim, CustodyClaim, ProductClaim, RecallClaim, Story, Threshold,
    };

    use super::*;

    pub(crate) const SUBJECT: &str = "https://id.gs1.org/01/00614142045210/21/R1001";

    fn step(index: usize, what: &str, who: &str, verified: bool) -> StepClaim {
        StepClaim {
            event_index: index,
            event_hash_id: format!("ni:///sha-256;{}?ver=CBV2.0", "a".repeat(64)),
            what: what.to_owned(),
            event_type: "ObjectEvent".to_owned(),
            biz_step: Some("shipping".to_owned()),
            disposition: Some("in_transit".to_owned()),
            who: who.to_owned(),
            when: format!("2025-06-0{}T08:00:00+02:00", index + 1),
            time_zone_offset: "+02:00".to_owned(),
            when_ms: 0,
            where_: Some(Place {
                id: "urn:epc:id:sgln:0614142.00001.0".to_owned(),
                operator: Some("Nordic Roasters AB".to_owned()),
            }),
            identifiers: vec![SUBJECT.to_owned()],
            height: 3,
            verified,
            retracted: false,
        }
    }

    /// A verdict with a bit of everything, for rendering tests.
    pub(crate) fn sample(status: VerdictStatus) -> Verdict {
        Verdict {
            status,
            summary: "the story checks out".to_owned(),
            subject: SUBJECT.to_owned(),
            scope: Scope::Upstream,
            chain_id: "provenance-dev".to_owned(),
            genesis_hash: "ab".repeat(32),
            anchor: Some(AnchorInfo {
                height: 12,
                time_ms: 1,
                time: "2025-06-10T00:00:00Z".to_owned(),
                header_hash: "cd".repeat(32),
                log_size: 12,
                signed_power: 1,
                total_power: 1,
            }),
            story: Story {
                product: Some(ProductClaim {
                    identifier: SUBJECT.to_owned(),
                    maker: Some("Nordic Roasters AB".to_owned()),
                    made_at: Some("2025-06-01T08:00:00+02:00".to_owned()),
                    made_where: None,
                    origin_country: Some("CO".to_owned()),
                    lot: Some("R-2025-1".to_owned()),
                    master_data: BTreeMap::from([("nordic:roast".to_owned(), "medium".to_owned())]),
                }),
                steps: vec![
                    step(0, "Commissioned", "Nordic Roasters AB", true),
                    step(
                        1,
                        "Shipped to GreenGrocer\nRetail",
                        "TransEuropa Logistics",
                        status != VerdictStatus::Failed,
                    ),
                ],
                custody: vec![CustodyClaim {
                    holder: "Nordic Roasters AB".to_owned(),
                    from: "2025-06-01T08:00:00+02:00".to_owned(),
                    until: None,
                    from_event: 0,
                    until_event: None,
                }],
                certifications: vec![CertificationClaim {
                    event_index: 0,
                    certificate: "https://certificates.example/EU-ORG-1".to_owned(),
                    issuer: "EcoCert Organic".to_owned(),
                    standard: Some("EU 2018/848".to_owned()),
                    valid_from: Some("2025-01-01".to_owned()),
                    valid_until: Some("2026-01-01".to_owned()),
                    valid_at_anchor: Some(true),
                    verified: true,
                }],
                cold_chain: vec![SensorClaim {
                    event_index: 1,
                    measurement: "gs1:Temperature".to_owned(),
                    device: None,
                    start: None,
                    end: None,
                    time: Some("2025-06-02T08:00:00+02:00".to_owned()),
                    value: None,
                    min: Some(3.5),
                    max: Some(if status == VerdictStatus::Unsafe {
                        11.0
                    } else {
                        7.0
                    }),
                    mean: None,
                    uom: Some("CEL".to_owned()),
                    threshold: Some(Threshold {
                        min: Some(2.0),
                        max: Some(8.0),
                        uom: "CEL".to_owned(),
                        source: "declared by the event".to_owned(),
                    }),
                    within: Some(status != VerdictStatus::Unsafe),
                }],
                recalls: if status == VerdictStatus::Unsafe {
                    vec![RecallClaim {
                        event_index: 2,
                        by: "Nordic Roasters AB".to_owned(),
                        when: "2025-06-09T08:00:00+02:00".to_owned(),
                        identifiers: vec![SUBJECT.to_owned()],
                        retracted: false,
                    }]
                } else {
                    Vec::new()
                },
                error_declarations: Vec::new(),
                related: vec!["https://id.gs1.org/00/106141420000040014".to_owned()],
            },
            failures: if status == VerdictStatus::Failed {
                vec![Failure {
                    code: "bad_signature".to_owned(),
                    message: "the signature of TransEuropa Logistics does not verify".to_owned(),
                    site: Site::Event {
                        index: 1,
                        event_hash_id: "ni:///sha-256;aa?ver=CBV2.0".to_owned(),
                    },
                }]
            } else {
                Vec::new()
            },
            notes: vec!["a node could have withheld events".to_owned()],
        }
    }

    fn rendered(v: &Verdict) -> String {
        let mut out = Vec::new();
        verdict(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn verified_report_starts_with_the_verdict_and_tells_the_story() {
        let text = rendered(&sample(VerdictStatus::Verified));
        let first = text.lines().next().unwrap();
        assert_eq!(first, "✓ VERIFIED  the story checks out");
        for needle in [
            "Product    https://id.gs1.org/01/00614142045210/21/R1001",
            "Made by    Nordic Roasters AB, 2025-06-01T08:00:00+02:00",
            "Origin     CO",
            "Anchor     block 12 of 2025-06-10T00:00:00Z",
            "Timeline",
            "  ✓ 2025-06-01T08:00:00+02:00  Commissioned",
            "      by Nordic Roasters AB at Nordic Roasters AB (urn:epc:id:sgln:0614142.00001.0) (shipping, in_transit)",
            "Custody",
            "until now (at the anchor)",
            "  ✓ https://certificates.example/EU-ORG-1",
            "issued by EcoCert Organic, standard EU 2018/848, valid 2025-01-01 to 2026-01-01 (valid at the anchor)",
            "Cold chain",
            "      within: limits 2 to 8 CEL (declared by the event)",
            "Not verified",
        ] {
            assert!(text.contains(needle), "missing {needle:?} in\n{text}");
        }
        assert!(!text.contains("Failures"), "{text}");
        // Sections come in the documented order.
        let order = [
            "Timeline",
            "Custody",
            "Certifications",
            "Cold chain",
            "Not verified",
        ];
        let positions: Vec<usize> = order.iter().map(|s| text.find(s).unwrap()).collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
    }

    #[test]
    fn failed_report_marks_the_step_and_names_the_site() {
        let text = rendered(&sample(VerdictStatus::Failed));
        assert!(text.starts_with("✗ FAILED  "), "{text}");
        assert!(
            text.contains("  ✗ 2025-06-02T08:00:00+02:00  Shipped to GreenGrocer Retail"),
            "{text}"
        );
        assert!(
            text.contains("  ✗ event #1 (ni:///sha-256;aa?ver=CBV2.0) [bad_signature]: the signature of TransEuropa Logistics does not verify"),
            "{text}"
        );
        assert!(text.find("Failures").unwrap() > text.find("Timeline").unwrap());
    }

    #[test]
    fn unsafe_report_shows_the_recall_and_the_excursion() {
        let text = rendered(&sample(VerdictStatus::Unsafe));
        assert!(text.starts_with("⚠ UNSAFE  "), "{text}");
        assert!(
            text.contains("⚠ 2025-06-09T08:00:00+02:00  RECALLED by Nordic Roasters AB"),
            "{text}"
        );
        assert!(
            text.contains(
                "  ✗ 2025-06-02T08:00:00+02:00  gs1:Temperature: min 3.5 CEL, max 11 CEL"
            ),
            "{text}"
        );
        assert!(text.contains("OUTSIDE: limits 2 to 8 CEL"), "{text}");
    }

    #[test]
    fn a_threshold_shared_by_consecutive_readings_is_shown_once() {
        let mut v = sample(VerdictStatus::Verified);
        let mut second = v.story.cold_chain[0].clone();
        second.time = Some("2025-06-02T09:00:00+02:00".to_owned());
        v.story.cold_chain.push(second);
        let text = rendered(&v);
        assert_eq!(
            text.matches("within: limits 2 to 8 CEL").count(),
            1,
            "{text}"
        );
        assert_eq!(text.matches("gs1:Temperature").count(), 2, "{text}");
    }

    #[test]
    fn the_verifiers_leading_word_is_not_repeated() {
        let mut v = sample(VerdictStatus::Failed);
        v.summary = "FAILED: 1 problem found; first: x".to_owned();
        assert_eq!(headline(&v), "✗ FAILED  1 problem found; first: x");
        v.summary = "FAILEDX".to_owned();
        assert_eq!(headline(&v), "✗ FAILED  FAILEDX");
    }

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let mut v = sample(VerdictStatus::Verified);
        v.summary = "ok\u{1b}[2J\nnext".to_owned();
        assert_eq!(headline(&v), "✓ VERIFIED  ok [2J next");
    }

    #[test]
    fn sites_read_naturally() {
        assert_eq!(
            site_text(&Site::Handoff {
                index: 0,
                height: 7
            }),
            "hand-off #0 (block 7)"
        );
        assert_eq!(site_text(&Site::Anchor), "anchor");
        assert_eq!(
            site_text(&Site::Governance {
                index: 2,
                height: 1
            }),
            "governance transaction #2 (block 1)"
        );
    }
}
