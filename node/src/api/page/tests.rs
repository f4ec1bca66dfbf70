//! The page as a whole: each verdict's banner, each section present exactly when there is
//! something to show, every string from events escaped, and well-formed markup.

use std::collections::BTreeMap;

use provenance_protocol::bundle::verdict::{
    AnchorInfo, CertificationClaim, CustodyClaim, ErrorDeclarationClaim, Failure, Place,
    ProductClaim, RecallClaim, SensorClaim, StepClaim, Story, Threshold,
};
use provenance_protocol::bundle::{
    BUNDLE_VERSION, CertifiedHeader, ProofPath, ProvenEvent, ProvenanceBundle, Scope, Site,
    Verdict, VerdictStatus,
};
use provenance_protocol::crypto::SigningKey;
use provenance_protocol::genesis::{ConsensusParams, Genesis};
use provenance_protocol::ledger::{BlockHeader, FinalityCertificate};
use provenance_protocol::record::SignedEvent;
use serde_json::json;

use super::*;

const SUBJECT: &str = "https://id.gs1.org/01/00614142045210/21/R1001";

fn bundle() -> ProvenanceBundle {
    let key = SigningKey::from_seed([7; 32]);
    let genesis = Genesis {
        chain_id: "provenance-test".into(),
        genesis_time_ms: 1_700_000_000_000,
        participants: vec![],
        validators: vec![],
        params: ConsensusParams::default(),
    };
    let header = BlockHeader {
        chain_id: "provenance-test".into(),
        height: 12,
        prev_hash: [1; 32],
        time_ms: 1_736_600_000_000,
        proposer: key.public_key(),
        log_root: [2; 32],
        log_size: 12,
        body_hash: [3; 32],
        validators_hash: [4; 32],
        next_validators_hash: [4; 32],
        app_state_root: [5; 32],
    };
    let event = SignedEvent::sign(
        &key,
        "provenance-test",
        1,
        &json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],
            "type": "ObjectEvent",
            "eventTime": "2025-01-01T10:00:00.000Z",
            "eventTimeZoneOffset": "+00:00",
            "epcList": ["urn:epc:id:sgtin:0614142.004521.R1001"],
            "action": "ADD",
            "bizStep": "commissioning"
        }),
    )
    .unwrap();
    ProvenanceBundle {
        version: BUNDLE_VERSION,
        subject: SUBJECT.into(),
        scope: Scope::Upstream,
        genesis,
        handoffs: vec![],
        governance: vec![],
        anchor: CertifiedHeader {
            certificate: FinalityCertificate {
                height: 12,
                round: 0,
                header_hash: header.hash(),
                signatures: vec![],
            },
            header,
        },
        events: vec![ProvenEvent {
            record: event,
            height: 1,
            leaf_index: 0,
            path: ProofPath::default(),
        }],
    }
}

fn step(index: usize, what: &str, who: &str, when: &str, when_ms: i64) -> StepClaim {
    StepClaim {
        event_index: index,
        event_hash_id: format!("ni:///sha-256;{index:064x}?ver=CBV2.0"),
        what: what.into(),
        event_type: "ObjectEvent".into(),
        biz_step: Some("shipping".into()),
        disposition: Some("in_transit".into()),
        who: who.into(),
        when: when.into(),
        time_zone_offset: "+01:00".into(),
        when_ms,
        where_: Some(Place {
            id: "urn:epc:id:sgln:0614142.00001.0".into(),
            operator: Some(who.into()),
        }),
        identifiers: vec!["urn:epc:id:sgtin:0614142.004521.R1001".into()],
        height: 3,
        verified: true,
        retracted: false,
    }
}

fn temperature(index: usize, time: &str, value: f64, within: bool) -> SensorClaim {
    SensorClaim {
        event_index: index,
        measurement: "gs1:Temperature".into(),
        device: Some("urn:epc:id:giai:0614142.LOGGER-7".into()),
        start: None,
        end: None,
        time: Some(time.into()),
        value: Some(value),
        min: None,
        max: None,
        mean: None,
        uom: Some("CEL".into()),
        threshold: Some(Threshold {
            min: Some(5.0),
            max: Some(25.0),
            uom: "CEL".into(),
            source: "declared at commissioning".into(),
        }),
        within: Some(within),
    }
}

/// The demo's story in miniature: made, certified, shipped with readings, sold.
fn story() -> Story {
    Story {
        product: Some(ProductClaim {
            identifier: SUBJECT.into(),
            maker: Some("Nordic Roasters AB".into()),
            made_at: Some("2025-01-08T09:00:00.000Z".into()),
            made_where: Some(Place {
                id: "urn:epc:id:sgln:0614142.00001.0".into(),
                operator: Some("Nordic Roasters AB".into()),
            }),
            origin_country: Some("CO".into()),
            lot: Some("LE-2025-07".into()),
            master_data: BTreeMap::from([
                ("nordic:roastProfile".into(), "medium".into()),
                ("cbvmda:countryOfOrigin".into(), "CO".into()),
                ("prov:temperatureMin".into(), "5".into()),
                ("prov:temperatureMax".into(), "25".into()),
                ("prov:temperatureUom".into(), "CEL".into()),
            ]),
        }),
        steps: vec![
            step(
                0,
                "Commissioned",
                "Finca La Esperanza Cooperative",
                "2025-01-01T15:00:00.000Z",
                1_735_743_600_000,
            ),
            step(
                1,
                "Certified",
                "EcoCert Organic",
                "2025-01-02T15:00:00.000Z",
                1_735_830_000_000,
            ),
            step(
                2,
                "Shipped to TransEuropa Logistics",
                "Nordic Roasters AB",
                "2025-01-09T09:00:00.000Z",
                1_736_413_200_000,
            ),
            step(
                3,
                "Sold",
                "GreenGrocer Retail",
                "2025-01-12T09:00:00.000Z",
                1_736_672_400_000,
            ),
        ],
        custody: vec![CustodyClaim {
            holder: "GreenGrocer Retail".into(),
            from: "2025-01-11T09:00:00.000Z".into(),
            until: None,
            from_event: 3,
            until_event: None,
        }],
        certifications: vec![CertificationClaim {
            event_index: 1,
            certificate: "https://certificates.ecocert.example/EU-ORG-CO-2025-0042".into(),
            issuer: "EcoCert Organic".into(),
            standard: Some("EU Organic Regulation (EU) 2018/848".into()),
            valid_from: Some("2025-01-01".into()),
            valid_until: Some("2026-12-31".into()),
            valid_at_anchor: Some(true),
            verified: true,
        }],
        cold_chain: vec![
            temperature(2, "2025-01-08T12:00:00.000Z", 16.5, true),
            temperature(2, "2025-01-08T18:00:00.000Z", 18.0, true),
            temperature(2, "2025-01-09T06:00:00.000Z", 17.2, true),
        ],
        recalls: vec![],
        error_declarations: vec![],
        related: vec!["urn:epc:id:sscc:0614142.1000004001".into()],
    }
}

fn verdict(status: VerdictStatus) -> Verdict {
    Verdict {
        status,
        summary: match status {
            VerdictStatus::Verified => "Verified: 4 steps from Finca La Esperanza Cooperative",
            VerdictStatus::Unsafe => "Unsafe: recalled by Nordic Roasters AB",
            VerdictStatus::Failed => "Failed: event 3 has a bad signature",
        }
        .into(),
        subject: SUBJECT.into(),
        scope: Scope::Upstream,
        chain_id: "provenance-test".into(),
        genesis_hash: "ab".repeat(32),
        anchor: Some(AnchorInfo {
            height: 12,
            time_ms: 1_736_600_000_000,
            time: "2025-01-11T12:53:20.000Z".into(),
            header_hash: "cd".repeat(32),
            log_size: 12,
            signed_power: 1,
            total_power: 1,
        }),
        story: story(),
        failures: vec![],
        notes: vec!["A node could leave events out; custody gaps would show.".into()],
    }
}

/// Attributes the page may use; an event handler or anything else in a tag means text escaped
/// its context.
const ATTRIBUTES: [&str; 32] = [
    "lang",
    "charset",
    "name",
    "content",
    "class",
    "id",
    "href",
    "rel",
    "type",
    "datetime",
    "aria-hidden",
    "aria-labelledby",
    "aria-label",
    "role",
    "scope",
    "viewBox",
    "xmlns",
    "x",
    "y",
    "x1",
    "x2",
    "y1",
    "y2",
    "width",
    "height",
    "r",
    "cx",
    "cy",
    "d",
    "points",
    "text-anchor",
    "title",
];

/// Checks that every non-void element is closed in order (outside `<style>`) and that every
/// attribute is one of [`ATTRIBUTES`] with a double-quoted value. Escaped text guarantees both:
/// any `<` in the output is our own markup, and no `"` ends a value early.
fn assert_well_formed(page: &str) {
    const VOID: [&str; 4] = ["meta", "br", "hr", "img"];
    let style_end = page.find("</style>").expect("a stylesheet");
    let body = &page[style_end + "</style>".len()..];
    let mut open: Vec<&str> = vec!["html", "head"];
    let mut rest = body;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("an unterminated tag") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let expected = open.pop();
            assert_eq!(expected, Some(name), "closing </{name}>");
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.strip_suffix('/').unwrap_or(tag);
        let (name, mut attributes) = tag.split_once(' ').unwrap_or((tag, ""));
        assert!(
            name.bytes().all(|b| b.is_ascii_alphanumeric()),
            "tag name {name:?}"
        );
        while !attributes.is_empty() {
            let (attribute, after) = attributes
                .split_once("=\"")
                .unwrap_or_else(|| panic!("attribute without a quoted value in <{tag}>"));
            assert!(
                ATTRIBUTES.contains(&attribute),
                "attribute {attribute:?} in <{tag}>"
            );
            let (_, after) = after.split_once('"').expect("an unterminated value");
            attributes = after.strip_prefix(' ').unwrap_or(after);
        }
        if !VOID.contains(&name) && !self_closing {
            open.push(name);
        }
    }
    assert!(open.is_empty(), "unclosed {open:?}");
}

#[test]
fn a_verified_page_has_every_section_in_order() {
    let page = render_with(
        &bundle(),
        &verdict(VerdictStatus::Verified),
        &PageOptions::default(),
    );
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(
        page.contains("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
    );
    assert!(page.contains(
        "<title>Verified · GTIN 00614142045210 · serial number R1001 · Provenance</title>"
    ));
    assert!(page.contains("<header class=\"verdict verdict-verified\">"));
    assert!(page.contains(
        "<h1 id=\"verdict\">Verified<span class=\"symbol\" aria-hidden=\"true\"> ✓</span></h1>"
    ));
    assert!(page.contains("Verified: 4 steps from Finca La Esperanza Cooperative"));
    let order = [
        "id=\"verdict\"",
        "id=\"product\"",
        "id=\"story\"",
        "id=\"custody\"",
        "id=\"certificates\"",
        "id=\"sensors\"",
        "id=\"not-verified\"",
        "<footer>",
    ];
    let positions: Vec<usize> = order
        .iter()
        .map(|s| page.find(s).unwrap_or_else(|| panic!("{s} missing")))
        .collect();
    assert!(positions.is_sorted(), "{positions:?}");
    for text in [
        "<strong>Nordic Roasters AB</strong>",
        "<dt>Origin</dt><dd>CO</dd>",
        "<dt>Lot</dt><dd>LE-2025-07</dd>",
        "<dt>Roast profile</dt><dd>medium</dd>",
        "<dt>Made on</dt><dd>8 Jan 2025, 09:00 UTC</dd>",
        "EU Organic Regulation (EU) 2018/848",
        "href=\"https://certificates.ecocert.example/EU-ORG-CO-2025-0042\"",
        "1 Jan 2025 to 31 Dec 2026",
        "<li>SSCC 106141420000040014</li>",
        "Shipped to TransEuropa Logistics",
        "<time datetime=\"2025-01-09T09:00:00.000Z\">9 Jan 2025, 10:00 UTC+01:00</time>",
        "<li>shipping</li><li>in transit</li>",
        "until now (as of the proof)",
        "<svg",
        "A node could leave events out; custody gaps would show.",
        "1 signed event in the proof bundle.",
        "href=\"/v1/products/https%3A%2F%2Fid.gs1.org%2F01%2F00614142045210%2F21%2FR1001/bundle\"",
    ] {
        assert!(page.contains(text), "{text} missing");
    }
    // Master data shown as facts is not repeated as master data.
    assert!(!page.contains("Country of origin"));
    assert!(page.contains("<dt>Temperature limits</dt><dd>5 – 25 °C</dd>"));
    assert!(!page.contains("Temperature min"));
    assert_eq!(page.matches("<span class=\"mark ok\"").count(), 4);
    assert!(!page.contains("class=\"warning\""));
    assert!(!page.contains("class=\"recall\""));
    assert!(!page.contains("These checks failed"));
    assert_well_formed(&page);
}

#[test]
fn the_page_needs_nothing_from_the_network_and_runs_no_script() {
    let page = render_with(
        &bundle(),
        &verdict(VerdictStatus::Verified),
        &PageOptions::default(),
    );
    for forbidden in [
        "<script", "<link", "src=", "@import", "url(", "<iframe", "<object", " on",
    ] {
        let found = page.to_ascii_lowercase().contains(forbidden);
        // ` on` would only match an inline event handler attribute like ` onload=`.
        if forbidden == " on" {
            assert!(
                !page.contains(" onload=")
                    && !page.contains(" onerror=")
                    && !page.contains(" onclick="),
                "inline handler"
            );
        } else {
            assert!(!found, "{forbidden}");
        }
    }
}

#[test]
fn each_status_has_its_banner() {
    let unsafe_page = render_with(
        &bundle(),
        &verdict(VerdictStatus::Unsafe),
        &PageOptions::default(),
    );
    assert!(unsafe_page.contains("<header class=\"verdict verdict-unsafe\">"));
    assert!(
        unsafe_page.contains(">Unsafe<span class=\"symbol\" aria-hidden=\"true\"> ⚠</span></h1>")
    );
    assert!(unsafe_page.contains("Unsafe: recalled by Nordic Roasters AB"));

    let mut failed = verdict(VerdictStatus::Failed);
    failed.failures.push(Failure {
        code: "bad_signature".into(),
        message: "the signature of event 3 does not verify".into(),
        site: Site::Event {
            index: 2,
            event_hash_id: "ni:///sha-256;02?ver=CBV2.0".into(),
        },
    });
    failed.failures.push(Failure {
        code: "no_quorum".into(),
        message: "too few validators signed".into(),
        site: Site::Handoff {
            index: 0,
            height: 7,
        },
    });
    failed.story.steps[2].verified = false;
    let page = render_with(&bundle(), &failed, &PageOptions::default());
    assert!(page.contains("<header class=\"verdict verdict-failed\">"));
    assert!(page.contains(">Failed<span class=\"symbol\" aria-hidden=\"true\"> ✗</span></h1>"));
    assert!(page.contains("class=\"warning\"><strong>Do not rely on what follows."));
    assert!(page.contains("These checks failed:"));
    assert!(page.contains(
        "<li><strong>the signature of event 3 does not verify</strong> <small>(step “Shipped to TransEuropa Logistics”, event ni:///sha-256;02?ver=CBV2.0; <code>bad_signature</code>)</small></li>"
    ));
    assert!(page.contains("(validator hand-off 1 at block 7; <code>no_quorum</code>)"));
    assert!(page.contains("<span class=\"mark bad\" aria-hidden=\"true\">✗</span>"));
    assert!(page.contains("(did not verify)"));
    assert_well_formed(&page);
}

#[test]
fn an_active_recall_comes_first_and_a_withdrawn_one_is_struck_through() {
    let mut v = verdict(VerdictStatus::Unsafe);
    v.story.recalls.push(RecallClaim {
        event_index: 3,
        by: "Nordic Roasters AB".into(),
        when: "2025-01-12T10:00:00.000Z".into(),
        identifiers: vec!["urn:epc:id:sgtin:0614142.004521.R1001".into()],
        retracted: false,
    });
    let page = render_with(&bundle(), &v, &PageOptions::default());
    let recall = page
        .find("<section class=\"recall\"")
        .expect("a recall section");
    assert!(recall < page.find("id=\"product\"").unwrap());
    assert!(page.contains("Do not use this product."));
    assert!(page.contains("Recalled by <strong>Nordic Roasters AB</strong> on 12 Jan 2025, 10:00 UTC: GTIN 00614142045210 · serial number R1001"));

    v.story.recalls[0].retracted = true;
    v.story.error_declarations.push(ErrorDeclarationClaim {
        event_index: 4,
        corrects: v.story.steps[3].event_hash_id.clone(),
        reason: Some("incorrect_data".into()),
        by: "Nordic Roasters AB".into(),
        when: "2025-01-13T10:00:00.000Z".into(),
    });
    let page = render_with(&bundle(), &v, &PageOptions::default());
    assert!(!page.contains("<section class=\"recall\""));
    assert!(page.contains("Recall withdrawn"));
    assert!(page.contains("</del> <span class=\"ok\">withdrawn on 13 Jan 2025, 10:00 UTC</span>"));
    assert_well_formed(&page);
}

#[test]
fn a_retracted_step_is_struck_through_with_its_correction() {
    let mut v = verdict(VerdictStatus::Verified);
    v.story.steps[2].retracted = true;
    v.story.error_declarations.push(ErrorDeclarationClaim {
        event_index: 9,
        corrects: v.story.steps[2].event_hash_id.clone(),
        reason: Some("incorrect_data".into()),
        by: "Nordic Roasters AB".into(),
        when: "2025-01-10T08:00:00.000Z".into(),
    });
    let page = render_with(&bundle(), &v, &PageOptions::default());
    assert!(page.contains("<li class=\"step retracted\">"));
    assert!(page.contains("<del>Shipped to TransEuropa Logistics</del>"));
    assert!(page.contains("Retracted by <strong>Nordic Roasters AB</strong> on 10 Jan 2025, 08:00 UTC, reason: incorrect data."));
    assert_well_formed(&page);
}

#[test]
fn sections_without_content_are_left_out_or_say_so() {
    let mut v = verdict(VerdictStatus::Verified);
    v.story.cold_chain.clear();
    v.story.certifications.clear();
    v.story.custody.clear();
    v.story.related.clear();
    v.story.product = None;
    v.notes.clear();
    v.anchor = None;
    let page = render_with(&bundle(), &v, &PageOptions::default());
    assert!(!page.contains("<svg"), "no chart without sensor data");
    assert!(!page.contains("id=\"sensors\""));
    assert!(!page.contains("id=\"custody\""));
    assert!(!page.contains("Made from and travelled in"));
    assert!(page.contains("No certification is recorded"));
    assert!(page.contains("not proven: the bundle has no verified event that made this product"));
    assert!(page.contains("No finalised block could be established"));
    assert!(!page.contains("class=\"plain notes\""));
    // The standing note is always there.
    assert!(page.contains("This page was checked by the node that served it"));
    assert_well_formed(&page);

    v.story.steps.clear();
    let page = render_with(&bundle(), &v, &PageOptions::default());
    assert!(page.contains("<p>No recorded step.</p>"));
    assert_well_formed(&page);
}

#[test]
fn the_chart_appears_with_sensor_data_and_flags_what_is_outside() {
    let mut v = verdict(VerdictStatus::Unsafe);
    v.story
        .cold_chain
        .push(temperature(2, "2025-01-09T07:00:00.000Z", 29.5, false));
    let page = render_with(&bundle(), &v, &PageOptions::default());
    assert_eq!(page.matches("<svg").count(), 1);
    assert!(page.contains("<h2 id=\"sensors\">Temperature</h2>"));
    assert!(page.contains("<p class=\"bad\">1 reading is outside its limits.</p>"));
    assert!(page.contains("role=\"img\""));
    assert!(page.contains("<table class=\"readings\">"));
    assert_eq!(page.matches("<path class=\"point out\"").count(), 1);
    assert_well_formed(&page);
}

#[test]
fn the_independent_check_names_the_genesis_and_the_node() {
    let page = render_with(
        &bundle(),
        &verdict(VerdictStatus::Verified),
        &PageOptions::default(),
    );
    assert!(page.contains(&format!(
        "<code class=\"genesis-hash\">{}</code>",
        "ab".repeat(32)
    )));
    assert!(page.contains("network <code>provenance-test</code>"));
    assert!(page.contains(
        "<pre><code>provenance verify https://id.gs1.org/01/00614142045210/21/R1001 --node NODE_URL --genesis genesis.json</code></pre>"
    ));
    assert!(page.contains("<p><code>NODE_URL</code> is the address this page came from"));
    let page = render_with(
        &bundle(),
        &verdict(VerdictStatus::Verified),
        &PageOptions {
            node_url: Some("http://127.0.0.1:8080".into()),
        },
    );
    assert!(page.contains("--node http://127.0.0.1:8080 --genesis genesis.json"));
    assert!(!page.contains("NODE_URL"));

    // Without a genesis hash in the verdict, the bundle's genesis is named.
    let mut v = verdict(VerdictStatus::Failed);
    v.genesis_hash.clear();
    let b = bundle();
    let page = render_with(&b, &v, &PageOptions::default());
    assert!(page.contains(&b.genesis.hash().to_string()));
}

/// Strings an attacker could put into any event field.
const HOSTILE: [&str; 8] = [
    "<script>alert(1)</script>",
    "</style><script>alert(2)</script>",
    "\"><img src=x onerror=alert(3)>",
    "' onmouseover='alert(4)",
    "</title><h1>fake</h1>",
    "javascript:alert(5)",
    "<svg onload=alert(6)>",
    "]]><!--",
];

/// Every text field of the verdict set to `text`.
fn hostile_verdict(text: &str) -> Verdict {
    let s = || text.to_owned();
    let mut v = verdict(VerdictStatus::Failed);
    v.summary = s();
    v.subject = s();
    v.chain_id = s();
    v.genesis_hash = s();
    v.notes = vec![s()];
    v.failures = vec![
        Failure {
            code: s(),
            message: s(),
            site: Site::Event {
                index: 99,
                event_hash_id: s(),
            },
        },
        Failure {
            code: s(),
            message: s(),
            site: Site::Event {
                index: 0,
                event_hash_id: s(),
            },
        },
    ];
    if let Some(anchor) = v.anchor.as_mut() {
        anchor.time = s();
        anchor.header_hash = s();
    }
    let story = &mut v.story;
    if let Some(p) = story.product.as_mut() {
        p.identifier = s();
        p.maker = Some(s());
        p.made_at = Some(s());
        p.made_where = Some(Place {
            id: s(),
            operator: Some(s()),
        });
        p.origin_country = Some(s());
        p.lot = Some(s());
        p.master_data = BTreeMap::from([(s(), s()), (format!("x:{text}"), s())]);
    }
    for step in &mut story.steps {
        step.what = s();
        step.who = s();
        step.when = s();
        step.time_zone_offset = s();
        step.event_hash_id = s();
        step.event_type = s();
        step.biz_step = Some(s());
        step.disposition = Some(s());
        step.where_ = Some(Place {
            id: s(),
            operator: Some(s()),
        });
        step.identifiers = vec![s()];
        step.retracted = true;
    }
    story.error_declarations = vec![ErrorDeclarationClaim {
        event_index: 7,
        corrects: s(),
        reason: Some(s()),
        by: s(),
        when: s(),
    }];
    story.custody = vec![CustodyClaim {
        holder: s(),
        from: s(),
        until: Some(s()),
        from_event: 0,
        until_event: Some(1),
    }];
    story.certifications = vec![CertificationClaim {
        event_index: 1,
        certificate: s(),
        issuer: s(),
        standard: Some(s()),
        valid_from: Some(s()),
        valid_until: Some(s()),
        valid_at_anchor: Some(false),
        verified: false,
    }];
    for reading in &mut story.cold_chain {
        reading.measurement = s();
        reading.device = Some(s());
        reading.uom = Some(s());
        if let Some(t) = reading.threshold.as_mut() {
            t.uom = s();
            t.source = s();
        }
    }
    story.cold_chain.push(SensorClaim {
        start: Some(s()),
        end: Some(s()),
        time: None,
        ..temperature(1, "", 1.0, false)
    });
    story.recalls = vec![RecallClaim {
        event_index: 0,
        by: s(),
        when: s(),
        identifiers: vec![s()],
        retracted: false,
    }];
    story.related = vec![s()];
    v
}

#[test]
fn every_string_from_events_is_escaped() {
    for text in HOSTILE {
        let mut b = bundle();
        b.subject = text.to_owned();
        let page = render_with(
            &b,
            &hostile_verdict(text),
            &PageOptions {
                node_url: Some(text.to_owned()),
            },
        );
        let lower = page.to_ascii_lowercase();
        assert!(!lower.contains("<script"), "{text}: {page}");
        assert!(!lower.contains("<img"), "{text}");
        assert!(!lower.contains("<h1>fake"), "{text}");
        assert!(!lower.contains("<svg onload"), "{text}");
        assert!(!lower.contains("<!--"), "{text}");
        assert!(!lower.contains("href=\"javascript"), "{text}");
        assert_eq!(lower.matches("</style>").count(), 1, "{text}");
        assert!(
            page.contains(&html::escape(text)),
            "{text} not shown at all"
        );
        assert_well_formed(&page);
    }
}

#[test]
fn hostile_text_in_attributes_stays_inside_them() {
    let text = "x\"onfocus=\"alert(1)\"autofocus=\"";
    let mut v = verdict(VerdictStatus::Verified);
    v.story.certifications[0].certificate = format!("https://cert.example/{text}");
    let mut b = bundle();
    b.subject = text.into();
    v.subject = text.into();
    let page = render_with(&b, &v, &PageOptions::default());
    assert!(page.contains(
        "href=\"https://cert.example/x&quot;onfocus=&quot;alert(1)&quot;autofocus=&quot;\""
    ));
    assert!(
        page.contains(
            "href=\"/v1/products/x%22onfocus%3D%22alert%281%29%22autofocus%3D%22/bundle\""
        )
    );
    assert_well_formed(&page);
}

#[test]
fn a_problem_page_is_escaped_and_complete() {
    let page = render_problem("Unknown <product>", "No event names \"</style><script>x\".");
    assert!(page.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(page.contains("<title>Unknown &lt;product&gt; · Provenance</title>"));
    assert!(page.contains("<h1>Unknown &lt;product&gt;</h1>"));
    assert!(page.contains("No event names &quot;&lt;/style&gt;&lt;script&gt;x&quot;."));
    assert!(!page.contains("<script"));
    assert_eq!(page.matches("</style>").count(), 1);
    assert_well_formed(&page);
}

#[test]
fn unreadable_limits_stay_master_data() {
    let mut v = verdict(VerdictStatus::Verified);
    let product = v.story.product.as_mut().unwrap();
    product.master_data = BTreeMap::from([
        ("prov:temperatureMin".into(), "cold".into()),
        ("x:limits.prov:temperatureUom".into(), "FAH".into()),
    ]);
    let page = render_with(&bundle(), &v, &PageOptions::default());
    assert!(!page.contains("Temperature limits"));
    assert!(page.contains("<dt>Temperature min</dt><dd>cold</dd>"));
    assert!(page.contains("<dt>Temperature uom</dt><dd>FAH</dd>"));

    product_with_max_only(&mut v);
    let page = render_with(&bundle(), &v, &PageOptions::default());
    assert!(page.contains("<dt>Temperature limits</dt><dd>at most 46.4 °F</dd>"));
}

fn product_with_max_only(v: &mut Verdict) {
    let product = v.story.product.as_mut().unwrap();
    product.master_data = BTreeMap::from([
        ("p:temperatureMax".into(), " 46.4 ".into()),
        ("p:temperatureUom".into(), "FAH".into()),
    ]);
}
