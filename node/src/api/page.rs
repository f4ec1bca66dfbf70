//! The product page: what a browser gets at a GS1 Digital Link path. Server-rendered HTML with
//! inline CSS and SVG, no scripts, no external resources (works offline, no CDN, no web fonts).
//!
//! The page is for a consumer who scanned a QR code with a phone, so it is one column, verdict
//! first: a banner saying Verified ✓, Unsafe ⚠ or Failed ✗ with the verdict's one-line reason,
//! then any recall, the product (maker, origin, lot, when and where it was made, its master data),
//! its story as a timeline (who did what, where and when, ✓ or ✗ per step, retracted steps struck
//! through with their correction), who held it, its certificates, a temperature chart when sensor
//! data exists, and what the page could not verify, including how to check it independently of
//! the node that served it.
//!
//! Every string of the story comes from signed events, i.e. from whoever signed them: all of it
//! goes through the escaping writer of [`html`], which accepts markup only as `&'static str`.
//! The page reads only the [`Verdict`] (what was proven) and, from the bundle, the few facts the
//! verdict does not repeat (the event count, the genesis).

#[path = "page/chart.rs"]
mod chart;
#[path = "page/format.rs"]
mod format;
#[path = "page/html.rs"]
mod html;
#[cfg(test)]
#[path = "page/tests.rs"]
mod tests;

use provenance_protocol::bundle::verdict::{
    CertificationClaim, ErrorDeclarationClaim, Place, ProductClaim, RecallClaim, StepClaim, Story,
};
use provenance_protocol::bundle::{ProvenanceBundle, Scope, Site, Verdict, VerdictStatus};

use html::Html;

/// Stands for this node's address in the independent-check command when the server did not say.
const NODE_PLACEHOLDER: &str = "NODE_URL";

/// The stylesheet every page inlines.
const STYLE: &str = include_str!("page/style.css");

/// What the page may say about where it was served from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageOptions {
    /// This node's base URL as the request reached it (`http://host:port`), so the
    /// independent-check command can name it; `None` shows a placeholder instead.
    pub node_url: Option<String>,
}

/// The page of a product whose bundle the node assembled and verified, with what the server
/// knows about the request.
pub fn render_with(bundle: &ProvenanceBundle, verdict: &Verdict, options: &PageOptions) -> String {
    let story = &verdict.story;
    let subject = subject_of(bundle, verdict);
    let mut h = Html::new();
    head(
        &mut h,
        &format!(
            "{} · {} · Provenance",
            status_word(verdict.status),
            format::identifier(subject)
        ),
    );
    banner(&mut h, verdict, subject);
    h.raw("<main>");
    if verdict.status == VerdictStatus::Failed {
        h.raw("<p class=\"warning\"><strong>Do not rely on what follows.</strong> ");
        h.raw("Some of this product's records did not verify, so the story below may be ");
        h.raw("incomplete or forged. What failed is listed under ");
        h.raw("<a href=\"#not-verified\">What this page could not verify</a>.</p>");
    }
    recalls(&mut h, story);
    product(&mut h, story, subject, verdict.scope);
    timeline(&mut h, story);
    custody(&mut h, story);
    certificates(&mut h, story);
    sensors(&mut h, story);
    not_verified(&mut h, bundle, verdict, subject, options);
    h.raw("</main>");
    footer(&mut h, bundle, verdict, subject);
    h.raw("</body></html>\n");
    h.finish()
}

/// A page for a product the node cannot show (unknown identifier, malformed link): `title` and
/// `message` are plain text.
pub fn render_problem(title: &str, message: &str) -> String {
    let mut h = Html::new();
    head(&mut h, &format!("{title} · Provenance"));
    h.raw("<header class=\"verdict verdict-problem\"><div class=\"verdict-inner\"><h1>");
    h.text(title)
        .raw("</h1></div></header><main><p>")
        .text(message);
    h.raw("</p><p class=\"muted\">If you scanned a code on a product, check that the whole code ");
    h.raw("was read: a product link ends in <code>/01/</code><i>GTIN</i><code>/21/</code>");
    h.raw("<i>serial</i> or <code>/01/</code><i>GTIN</i><code>/10/</code><i>lot</i>.</p>");
    h.raw("</main></body></html>\n");
    h.finish()
}

/// The identifier the page is about: the verdict's, else the bundle's.
fn subject_of<'a>(bundle: &'a ProvenanceBundle, verdict: &'a Verdict) -> &'a str {
    if verdict.subject.is_empty() {
        &bundle.subject
    } else {
        &verdict.subject
    }
}

fn head(h: &mut Html, title: &str) {
    h.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    h.raw("<meta name=\"color-scheme\" content=\"light dark\">");
    h.raw("<meta name=\"referrer\" content=\"no-referrer\">");
    h.raw("<title>")
        .text(title)
        .raw("</title><style>")
        .raw(STYLE);
    h.raw("</style></head><body>");
}

fn status_word(status: VerdictStatus) -> &'static str {
    match status {
        VerdictStatus::Verified => "Verified",
        VerdictStatus::Unsafe => "Unsafe",
        VerdictStatus::Failed => "Failed",
    }
}

fn banner(h: &mut Html, verdict: &Verdict, subject: &str) {
    h.raw(match verdict.status {
        VerdictStatus::Verified => "<header class=\"verdict verdict-verified\">",
        VerdictStatus::Unsafe => "<header class=\"verdict verdict-unsafe\">",
        VerdictStatus::Failed => "<header class=\"verdict verdict-failed\">",
    });
    h.raw("<div class=\"verdict-inner\"><h1 id=\"verdict\">");
    h.raw(match verdict.status {
        VerdictStatus::Verified => "Verified<span class=\"symbol\" aria-hidden=\"true\"> ✓</span>",
        VerdictStatus::Unsafe => "Unsafe<span class=\"symbol\" aria-hidden=\"true\"> ⚠</span>",
        VerdictStatus::Failed => "Failed<span class=\"symbol\" aria-hidden=\"true\"> ✗</span>",
    });
    h.raw("</h1><p class=\"summary\">")
        .text(&verdict.summary)
        .raw("</p>");
    h.raw("<p class=\"subject\">")
        .text(&format::identifier(subject));
    h.raw("</p></div></header>");
}

/// Recalls come right after the verdict: an active one is the most important thing on the page.
fn recalls(h: &mut Html, story: &Story) {
    if story.recalls.is_empty() {
        return;
    }
    let active = story.recalls.iter().any(|r| !r.retracted);
    if active {
        h.raw("<section class=\"recall\" aria-labelledby=\"recalls\"><h2 id=\"recalls\">");
        h.raw("<span aria-hidden=\"true\">⚠ </span>Recalled</h2>");
        h.raw("<p><strong>Do not use this product.</strong> A recall covers it or something it ");
        h.raw("is made from or travelled in.</p>");
    } else {
        h.raw("<section aria-labelledby=\"recalls\"><h2 id=\"recalls\">Recall withdrawn</h2>");
    }
    h.raw("<ul class=\"plain\">");
    for recall in &story.recalls {
        recall_item(h, recall, story);
    }
    h.raw("</ul></section>");
}

fn recall_item(h: &mut Html, recall: &RecallClaim, story: &Story) {
    h.raw("<li>");
    if recall.retracted {
        h.raw("<del>");
    }
    h.raw("Recalled by <strong>")
        .text(&recall.by)
        .raw("</strong> on ");
    h.text(&format::human_time(&recall.when));
    if !recall.identifiers.is_empty() {
        h.raw(": ");
        let names: Vec<String> = recall
            .identifiers
            .iter()
            .map(|id| format::identifier(id))
            .collect();
        h.text(&names.join(", "));
    }
    if recall.retracted {
        h.raw("</del> <span class=\"ok\">withdrawn");
        if let Some(c) = correction_of(story, recall.event_index) {
            h.raw(" on ").text(&format::human_time(&c.when));
        }
        h.raw("</span>");
    }
    h.raw("</li>");
}

/// The error declaration retracting the event at `event_index`, if the story has it.
fn correction_of(story: &Story, event_index: usize) -> Option<&ErrorDeclarationClaim> {
    let step = story.steps.iter().find(|s| s.event_index == event_index)?;
    story
        .error_declarations
        .iter()
        .find(|c| c.corrects == step.event_hash_id)
}

fn product(h: &mut Html, story: &Story, subject: &str, scope: Scope) {
    h.raw("<section aria-labelledby=\"product\"><h2 id=\"product\">The product</h2>");
    h.raw("<dl class=\"facts\"><dt>Identifier</dt><dd>")
        .text(&format::identifier(subject));
    h.raw("<br><small><code>")
        .text(subject)
        .raw("</code></small></dd>");
    match &story.product {
        Some(product) => product_facts(h, product),
        None => {
            h.raw("<dt>Made by</dt><dd class=\"bad\">not proven: the bundle has no ");
            h.raw("verified event that made this product</dd>");
        }
    }
    if !story.related.is_empty() {
        h.raw(match scope {
            Scope::Upstream => "<dt>Made from and travelled in</dt><dd><ul class=\"plain\">",
            Scope::Downstream => "<dt>Made into and shipped with</dt><dd><ul class=\"plain\">",
        });
        for id in &story.related {
            h.tag("li", &format::identifier(id));
        }
        h.raw("</ul></dd>");
    }
    h.raw("</dl></section>");
}

/// Master-data keys the facts above the master data already show.
const SHOWN_ELSEWHERE: [&str; 2] = ["cbvmda:countryOfOrigin", "cbvmda:lotNumber"];

/// Local names of the cold-chain limits a maker declares (the project's `prov:` extension),
/// shown together as one fact rather than three lines of master data.
const LIMIT_NAMES: [&str; 3] = ["temperatureMin", "temperatureMax", "temperatureUom"];

fn product_facts(h: &mut Html, product: &ProductClaim) {
    h.raw("<dt>Made by</dt><dd>");
    match &product.maker {
        Some(maker) => h.raw("<strong>").text(maker).raw("</strong>"),
        None => h.raw("unknown"),
    };
    h.raw("</dd>");
    if let Some(origin) = &product.origin_country {
        h.raw("<dt>Origin</dt><dd>").text(origin).raw("</dd>");
    }
    if let Some(lot) = &product.lot {
        h.raw("<dt>Lot</dt><dd>").text(lot).raw("</dd>");
    }
    if let Some(made_at) = &product.made_at {
        h.raw("<dt>Made on</dt><dd>")
            .text(&format::human_time(made_at))
            .raw("</dd>");
    }
    if let Some(place) = &product.made_where {
        h.raw("<dt>Made at</dt><dd>");
        place_html(h, place);
        h.raw("</dd>");
    }
    let limits = declared_limits(product);
    if let Some(limits) = &limits {
        h.raw("<dt>Temperature limits</dt><dd>")
            .text(limits)
            .raw("</dd>");
    }
    for (key, value) in &product.master_data {
        let limit = LIMIT_NAMES.contains(&format::local_name(key));
        if SHOWN_ELSEWHERE.contains(&key.as_str()) || (limit && limits.is_some()) {
            continue;
        }
        h.raw("<dt>")
            .text(&format::master_data_label(key))
            .raw("</dt>");
        h.raw("<dd>").text(&format::human_time(value)).raw("</dd>");
    }
}

/// `5 – 25 °C` from the maker's master data, when it declares a readable minimum or maximum.
fn declared_limits(product: &ProductClaim) -> Option<String> {
    let find = |name: &str| {
        product
            .master_data
            .iter()
            .find(|(key, _)| format::local_name(key) == name)
            .map(|(_, value)| value.as_str())
    };
    let number = |name: &str| find(name).and_then(|v| v.trim().parse::<f64>().ok());
    let (min, max) = (number(LIMIT_NAMES[0]), number(LIMIT_NAMES[1]));
    let uom = find(LIMIT_NAMES[2]).unwrap_or("CEL");
    (min.is_some() || max.is_some()).then(|| chart::limit_text(min, max, Some(uom)))
}

/// `Nordic Roasters AB (GLN 0614142000012)`: the operator when known, and the identifier.
fn place_html(h: &mut Html, place: &Place) {
    let id = format::identifier(&place.id);
    match &place.operator {
        Some(operator) => {
            h.text(operator).raw(" <small>(").text(&id).raw(")</small>");
        }
        None => {
            h.text(&id);
        }
    }
}

fn timeline(h: &mut Html, story: &Story) {
    h.raw("<section aria-labelledby=\"story\"><h2 id=\"story\">Its story</h2>");
    if story.steps.is_empty() {
        h.raw("<p>No recorded step.</p></section>");
        return;
    }
    h.raw("<p class=\"muted\">");
    h.text(&format!(
        "{} recorded step{}, oldest first; times are local to where each step happened.",
        story.steps.len(),
        if story.steps.len() == 1 { "" } else { "s" }
    ));
    h.raw("</p><ol class=\"timeline\">");
    for step in &story.steps {
        step_item(h, step, &story.error_declarations);
    }
    h.raw("</ol></section>");
}

fn step_item(h: &mut Html, step: &StepClaim, corrections: &[ErrorDeclarationClaim]) {
    h.raw(match (step.verified, step.retracted) {
        (true, false) => "<li class=\"step\">",
        (true, true) => "<li class=\"step retracted\">",
        (false, false) => "<li class=\"step failed\">",
        (false, true) => "<li class=\"step failed retracted\">",
    });
    h.raw(if step.verified {
        "<span class=\"mark ok\" aria-hidden=\"true\">✓</span>"
    } else {
        "<span class=\"mark bad\" aria-hidden=\"true\">✗</span>"
    });
    h.raw("<p class=\"step-what\">");
    if step.retracted {
        h.raw("<del>").text(&step.what).raw("</del>");
    } else {
        h.text(&step.what);
    }
    h.raw(if step.verified {
        "<span class=\"sr-only\"> (verified)</span>"
    } else {
        " <span class=\"bad\">(did not verify)</span>"
    });
    h.raw("</p><p class=\"step-meta\">");
    let offset = format::parse_offset(&step.time_zone_offset).unwrap_or(0);
    h.raw("<time")
        .attr("datetime", &format::rfc3339_utc(step.when_ms))
        .raw(">")
        .text(&format::moment(step.when_ms, offset))
        .raw("</time></p><p class=\"step-meta\"><strong>")
        .text(&step.who)
        .raw("</strong>");
    if let Some(place) = &step.where_ {
        if place.operator.as_deref() == Some(step.who.as_str()) {
            // At the recorder's own site: the site's identifier is enough.
            h.raw(" <small>at ")
                .text(&format::identifier(&place.id))
                .raw("</small>");
        } else {
            h.raw(" at ");
            place_html(h, place);
        }
    }
    h.raw("</p>");
    if step.retracted {
        h.raw("<p class=\"correction\">");
        match corrections
            .iter()
            .find(|c| c.corrects == step.event_hash_id)
        {
            Some(c) => {
                h.raw("Retracted by <strong>")
                    .text(&c.by)
                    .raw("</strong> on ");
                h.text(&format::human_time(&c.when));
                if let Some(reason) = &c.reason {
                    h.raw(", reason: ").text(&format::code(reason));
                }
                h.raw(". The step did not happen as recorded.");
            }
            None => {
                h.raw("Retracted by a later correction: the step did not happen as recorded.");
            }
        }
        h.raw("</p>");
    }
    let chips: Vec<String> = [&step.biz_step, &step.disposition]
        .into_iter()
        .flatten()
        .map(|c| format::code(c))
        .collect();
    if !chips.is_empty() {
        h.raw("<ul class=\"chips\" aria-label=\"business step and disposition\">");
        for chip in &chips {
            h.tag("li", chip);
        }
        h.raw("</ul>");
    }
    h.raw("<details class=\"proof\"><summary>Record details</summary><dl class=\"facts\">");
    h.raw("<dt>Event type</dt><dd>")
        .text(&step.event_type)
        .raw("</dd>");
    h.raw("<dt>Event time as recorded</dt><dd><code>")
        .text(&step.when)
        .raw("</code></dd>");
    h.raw("<dt>Event Hash ID</dt><dd><code>")
        .text(&step.event_hash_id)
        .raw("</code></dd>");
    h.raw("<dt>Block</dt><dd>").int(step.height).raw("</dd>");
    if !step.identifiers.is_empty() {
        h.raw("<dt>Concerns</dt><dd><ul class=\"plain\">");
        for id in &step.identifiers {
            h.tag("li", &format::identifier(id));
        }
        h.raw("</ul></dd>");
    }
    h.raw("</dl></details></li>");
}

fn custody(h: &mut Html, story: &Story) {
    if story.custody.is_empty() {
        return;
    }
    h.raw("<section aria-labelledby=\"custody\"><h2 id=\"custody\">Who held it</h2>");
    h.raw("<ol class=\"plain\">");
    for period in &story.custody {
        h.raw("<li><strong>")
            .text(&period.holder)
            .raw("</strong>, from ");
        h.text(&format::human_time(&period.from));
        match &period.until {
            Some(until) => h.raw(" until ").text(&format::human_time(until)),
            None => h.raw(" until now (as of the proof)"),
        };
        h.raw("</li>");
    }
    h.raw("</ol></section>");
}

fn certificates(h: &mut Html, story: &Story) {
    h.raw("<section aria-labelledby=\"certificates\"><h2 id=\"certificates\">Certificates</h2>");
    if story.certifications.is_empty() {
        h.raw("<p>No certification is recorded for this product or what it is made from.</p>");
        h.raw("</section>");
        return;
    }
    h.raw("<ul class=\"cards\">");
    for certification in &story.certifications {
        certificate_card(h, certification);
    }
    h.raw("</ul></section>");
}

fn certificate_card(h: &mut Html, c: &CertificationClaim) {
    h.raw("<li class=\"certificate\"><p><strong>");
    h.text(c.standard.as_deref().unwrap_or("Certificate"));
    h.raw(if c.verified {
        "</strong> <span class=\"ok\">✓ verified</span></p>"
    } else {
        "</strong> <span class=\"bad\">✗ did not verify</span></p>"
    });
    h.raw("<dl class=\"facts\"><dt>Certified by</dt><dd>")
        .text(&c.issuer)
        .raw("</dd>");
    h.raw("<dt>Certificate</dt><dd>")
        .link_or_text(&c.certificate, &c.certificate)
        .raw("</dd>");
    if c.valid_from.is_some() || c.valid_until.is_some() {
        h.raw("<dt>Valid</dt><dd>");
        match (&c.valid_from, &c.valid_until) {
            (Some(from), Some(until)) => h
                .text(&format::human_time(from))
                .raw(" to ")
                .text(&format::human_time(until)),
            (Some(from), None) => h.raw("from ").text(&format::human_time(from)),
            (None, Some(until)) => h.raw("until ").text(&format::human_time(until)),
            (None, None) => h,
        };
        h.raw("</dd>");
    }
    h.raw("<dt>At the time of the proof</dt><dd>");
    h.raw(match c.valid_at_anchor {
        Some(true) => "<span class=\"ok\">valid</span>",
        Some(false) => "<span class=\"bad\">not valid (expired or not yet valid)</span>",
        None => "no validity period declared",
    });
    h.raw("</dd></dl></li>");
}

fn sensors(h: &mut Html, story: &Story) {
    if story.cold_chain.is_empty() {
        return;
    }
    let all_temperature = story
        .cold_chain
        .iter()
        .all(|r| format::measurement(&r.measurement) == "Temperature");
    h.raw("<section aria-labelledby=\"sensors\"><h2 id=\"sensors\">");
    h.raw(if all_temperature {
        "Temperature"
    } else {
        "Sensor readings"
    });
    h.raw("</h2>");
    let out = story
        .cold_chain
        .iter()
        .filter(|r| r.within == Some(false))
        .count();
    if out > 0 {
        h.raw("<p class=\"bad\">")
            .text(&format!(
                "{out} reading{} outside {} limits.",
                if out == 1 { " is" } else { "s are" },
                if out == 1 { "its" } else { "their" }
            ))
            .raw("</p>");
    }
    chart::render(h, &story.cold_chain, &story.steps);
    h.raw("</section>");
}

fn not_verified(
    h: &mut Html,
    bundle: &ProvenanceBundle,
    verdict: &Verdict,
    subject: &str,
    options: &PageOptions,
) {
    h.raw("<section aria-labelledby=\"not-verified\"><h2 id=\"not-verified\">");
    h.raw("What this page could not verify</h2>");
    if !verdict.failures.is_empty() {
        h.raw("<p>These checks failed:</p><ul class=\"plain failures\">");
        for failure in &verdict.failures {
            h.raw("<li><strong>")
                .text(&failure.message)
                .raw("</strong> <small>(");
            h.text(&site_text(&failure.site, &verdict.story));
            h.raw("; <code>")
                .text(&failure.code)
                .raw("</code>)</small></li>");
        }
        h.raw("</ul>");
    }
    if !verdict.notes.is_empty() {
        h.raw("<ul class=\"plain notes\">");
        for note in &verdict.notes {
            h.tag("li", note);
        }
        h.raw("</ul>");
    }
    let genesis_hash = if verdict.genesis_hash.is_empty() {
        bundle.genesis.hash().to_string()
    } else {
        verdict.genesis_hash.clone()
    };
    let chain_id = if verdict.chain_id.is_empty() {
        &bundle.genesis.chain_id
    } else {
        &verdict.chain_id
    };
    h.raw("<p>This page was checked by the node that served it, so it is only as trustworthy ");
    h.raw("as that node. To check the product yourself, trusting nothing but the network's ");
    h.raw("genesis, run the Provenance client with the genesis file of network <code>");
    h.text(chain_id)
        .raw("</code>, whose hash is <code class=\"genesis-hash\">");
    h.text(&genesis_hash).raw("</code>:</p><pre><code>");
    let node = options.node_url.as_deref().unwrap_or(NODE_PLACEHOLDER);
    h.text(&format!(
        "provenance verify {} --node {} --genesis genesis.json",
        format::shell_word(subject),
        format::shell_word(node)
    ));
    h.raw("</code></pre>");
    if options.node_url.is_none() {
        h.raw("<p><code>NODE_URL</code> is the address this page came from (scheme, host and ");
        h.raw("port), or that of any other node of the network.</p>");
    }
    h.raw("</section>");
}

/// Where a failure sits, in words: the step's own description when the site is an event.
fn site_text(site: &Site, story: &Story) -> String {
    match site {
        Site::Bundle => "the bundle as a whole".to_owned(),
        Site::Genesis => "the network's genesis".to_owned(),
        Site::Handoff { index, height } => {
            format!("validator hand-off {} at block {height}", index + 1)
        }
        Site::Governance { index, height } => {
            format!("governance transaction {} at block {height}", index + 1)
        }
        Site::Anchor => "the block the proofs rest on".to_owned(),
        Site::Event {
            index,
            event_hash_id,
        } => match story.steps.iter().find(|s| s.event_index == *index) {
            Some(step) => format!("step “{}”, event {event_hash_id}", step.what),
            None => format!("event {} ({event_hash_id})", index + 1),
        },
        Site::Story => "the story as a whole".to_owned(),
    }
}

fn footer(h: &mut Html, bundle: &ProvenanceBundle, verdict: &Verdict, subject: &str) {
    h.raw("<footer><p>");
    match &verdict.anchor {
        Some(anchor) => {
            h.text(&format!(
                "Proven against block {} finalised {} (signatures of {} of {} voting power); \
                 header hash ",
                anchor.height,
                format::human_time(&anchor.time),
                anchor.signed_power,
                anchor.total_power
            ));
            h.raw("<code>").text(&anchor.header_hash).raw("</code>.");
        }
        None => {
            h.raw("No finalised block could be established for this story.");
        }
    }
    h.raw("</p><p>");
    h.text(&format!(
        "{} signed event{} in the proof bundle. ",
        bundle.events.len(),
        if bundle.events.len() == 1 { "" } else { "s" }
    ));
    h.raw("<a")
        .attr(
            "href",
            &format!("/v1/products/{}/bundle", format::path_segment(subject)),
        )
        .raw(" type=\"application/json\">Download the proof bundle (JSON)</a></p>");
    h.raw("</footer>");
}
