//! Sensor readings as an inline SVG chart, with a table of the same numbers as its text
//! alternative.
//!
//! One chart per kind of measurement and unit (normally one: temperature in °C). A single reading
//! is a point; a report of a period (`minValue`/`maxValue`/`meanValue` between `startTime` and
//! `endTime`) is a band from its minimum to its maximum with its mean across it. The limits are
//! dashed lines (with the allowed band shaded when every reading has the same limits). What lies
//! outside its limits, or raised an alarm, is red *and* drawn with a different shape, so colour
//! is never the only signal. The chart is `role="img"` with a title and a description that
//! summarise it in words; the table after it has every number.

use std::collections::BTreeMap;

use provenance_protocol::bundle::verdict::{SensorClaim, StepClaim, Threshold};

use super::format;
use super::html::Html;

/// The SVG's coordinate system (scaled to the page width by CSS).
const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 46.0;
const RIGHT: f64 = 14.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 36.0;
const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Most x-axis labels; more would collide on a phone.
const MAX_TIME_TICKS: i64 = 5;

/// What a report shows.
#[derive(Debug, Clone, Copy)]
enum Shape {
    /// One reading.
    Point(f64),
    /// A period's minimum and maximum (either may be missing) and mean.
    Range {
        min: Option<f64>,
        max: Option<f64>,
        mean: Option<f64>,
    },
}

/// A report placed in time.
#[derive(Debug)]
struct Plotted<'a> {
    claim: &'a SensorClaim,
    /// Milliseconds since the Unix epoch; equal for a single reading.
    from: i64,
    until: i64,
    shape: Shape,
}

impl Plotted<'_> {
    fn values(&self) -> impl Iterator<Item = f64> {
        let (a, b, c) = match self.shape {
            Shape::Point(v) => (Some(v), None, None),
            Shape::Range { min, max, mean } => (min, max, mean),
        };
        [a, b, c].into_iter().flatten().filter(|v| v.is_finite())
    }

    fn out(&self) -> bool {
        self.claim.within == Some(false)
    }
}

/// The readings of one measurement in one unit.
#[derive(Debug)]
struct Series<'a> {
    measurement: String,
    uom: Option<&'a str>,
    claims: Vec<&'a SensorClaim>,
}

/// Renders one chart (when anything can be placed in time) and one table per measurement.
pub(crate) fn render(h: &mut Html, readings: &[SensorClaim], steps: &[StepClaim]) {
    let groups = group(readings);
    for (number, series) in groups.iter().enumerate() {
        let plotted: Vec<Plotted<'_>> = series
            .claims
            .iter()
            .filter_map(|claim| place(claim, steps))
            .collect();
        if groups.len() > 1 {
            // The section's heading names the one measurement; several need their own.
            let unit = series.uom.map(format::unit).unwrap_or_default();
            h.raw("<h3>").text(&series.measurement);
            if !unit.is_empty() {
                h.text(&format!(" ({unit})"));
            }
            h.raw("</h3>");
        }
        if !plotted.is_empty() {
            chart(h, number, series, &plotted);
        }
        table(h, series, steps);
    }
}

/// Groups readings by measurement and unit, in order of first appearance.
fn group(readings: &[SensorClaim]) -> Vec<Series<'_>> {
    let mut order: Vec<(String, Option<&str>)> = Vec::new();
    let mut groups: BTreeMap<(String, Option<&str>), Vec<&SensorClaim>> = BTreeMap::new();
    for claim in readings {
        let key = (
            format::measurement(&claim.measurement),
            claim.uom.as_deref(),
        );
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(claim);
    }
    order
        .into_iter()
        .filter_map(|key| {
            let claims = groups.remove(&key)?;
            Some(Series {
                measurement: key.0,
                uom: key.1,
                claims,
            })
        })
        .collect()
}

/// When a report happened: its own times, else the time of the event that carries it.
fn place<'a>(claim: &'a SensorClaim, steps: &[StepClaim]) -> Option<Plotted<'a>> {
    let parse = |t: &Option<String>| t.as_deref().and_then(format::parse_timestamp);
    let event_time = || {
        steps
            .iter()
            .find(|s| s.event_index == claim.event_index)
            .map(|s| s.when_ms)
    };
    let finite = |v: Option<f64>| v.filter(|v| v.is_finite());
    let shape = match (finite(claim.value), finite(claim.min), finite(claim.max)) {
        (Some(v), None, None) => Shape::Point(v),
        (value, min, max) => {
            let mean = finite(claim.mean).or(value);
            if min.is_none() && max.is_none() {
                Shape::Point(mean?)
            } else {
                Shape::Range { min, max, mean }
            }
        }
    };
    let (from, until) = match (parse(&claim.time), parse(&claim.start), parse(&claim.end)) {
        (Some(t), _, _) => (t, t),
        (None, Some(s), Some(e)) => (s.min(e), s.max(e)),
        (None, Some(t), None) | (None, None, Some(t)) => (t, t),
        (None, None, None) => {
            let t = event_time()?;
            (t, t)
        }
    };
    Some(Plotted {
        claim,
        from,
        until,
        shape,
    })
}

/// Maps time and value to SVG coordinates.
#[derive(Debug, Clone, Copy)]
struct Frame {
    t0: i64,
    t1: i64,
    v0: f64,
    v1: f64,
}

impl Frame {
    fn fit(plotted: &[Plotted<'_>]) -> Frame {
        let t0 = plotted.iter().map(|p| p.from).min().unwrap_or(0);
        let t1 = plotted.iter().map(|p| p.until).max().unwrap_or(0);
        let (t0, t1) = if t1 - t0 < HOUR_MS {
            (t0 - HOUR_MS / 2, t1 + HOUR_MS / 2)
        } else {
            let pad = (t1 - t0) / 20;
            (t0 - pad, t1 + pad)
        };
        let values = plotted.iter().flat_map(|p| {
            let limits = p
                .claim
                .threshold
                .iter()
                .flat_map(|t| [t.min, t.max])
                .flatten();
            p.values().chain(limits).collect::<Vec<_>>()
        });
        let (lo, hi) = values
            .filter(|v| v.is_finite())
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
                (lo.min(v), hi.max(v))
            });
        let (lo, hi) = if lo.is_finite() { (lo, hi) } else { (0.0, 1.0) };
        let pad = ((hi - lo) * 0.08).max(1.0);
        Frame {
            t0,
            t1,
            v0: lo - pad,
            v1: hi + pad,
        }
    }

    fn x(&self, t: i64) -> f64 {
        let span = (self.t1 - self.t0).max(1) as f64;
        LEFT + (t - self.t0) as f64 / span * (WIDTH - LEFT - RIGHT)
    }

    fn y(&self, v: f64) -> f64 {
        let span = (self.v1 - self.v0).max(f64::EPSILON);
        TOP + (self.v1 - v) / span * (HEIGHT - TOP - BOTTOM)
    }
}

fn chart(h: &mut Html, number: usize, series: &Series<'_>, plotted: &[Plotted<'_>]) {
    let frame = Frame::fit(plotted);
    let unit = series.uom.map(format::unit);
    let id = format!("chart-{number}");
    h.raw("<figure class=\"chart\"><svg")
        .attr("viewBox", &format!("0 0 {WIDTH} {HEIGHT}"))
        .raw(" role=\"img\" xmlns=\"http://www.w3.org/2000/svg\"")
        .attr("aria-labelledby", &format!("{id}-title {id}-desc"))
        .raw(">");
    h.raw("<title").attr("id", &format!("{id}-title")).raw(">");
    h.text(&format!("{} over time", series.measurement));
    h.raw("</title><desc")
        .attr("id", &format!("{id}-desc"))
        .raw(">");
    h.text(&describe(series, plotted)).raw("</desc>");

    h.raw("<rect class=\"plot-bg\"")
        .attr("x", &format::value(LEFT))
        .attr("y", &format::value(TOP))
        .attr("width", &format::value(WIDTH - LEFT - RIGHT))
        .attr("height", &format::value(HEIGHT - TOP - BOTTOM))
        .raw("/>");
    value_axis(h, &frame, unit);
    time_axis(h, &frame);
    limits(h, &frame, plotted, unit);
    lines(h, &frame, plotted);
    for p in plotted {
        mark(h, &frame, p, unit);
    }
    h.raw("</svg><figcaption>");
    legend(h, plotted);
    h.raw("</figcaption></figure>");
}

/// The chart's description in words: how many readings, when, the range, the limits, how many
/// lie outside them.
fn describe(series: &Series<'_>, plotted: &[Plotted<'_>]) -> String {
    let unit = series.uom;
    let (lo, hi) = plotted
        .iter()
        .flat_map(Plotted::values)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
    let from = plotted.iter().map(|p| p.from).min().unwrap_or(0);
    let until = plotted.iter().map(|p| p.until).max().unwrap_or(0);
    let reports = plotted.len();
    let mut text = format!(
        "{reports} report{} from {} to {}",
        if reports == 1 { "" } else { "s" },
        format::moment(from, 0),
        format::moment(until, 0),
    );
    if lo.is_finite() {
        text.push_str(&format!(
            ", between {} and {}",
            format::value(lo),
            format::quantity(hi, unit)
        ));
    }
    text.push('.');
    let limits: Vec<String> = distinct_limits(plotted)
        .into_iter()
        .map(|(min, max)| limit_text(min, max, unit))
        .collect();
    if !limits.is_empty() {
        text.push_str(&format!(" Limits: {}.", limits.join("; ")));
    }
    let out = plotted.iter().filter(|p| p.out()).count();
    match out {
        0 if plotted.iter().any(|p| p.claim.within == Some(true)) => {
            text.push_str(" Every report is within its limits.");
        }
        0 => {}
        1 => text.push_str(" 1 report is outside its limits."),
        n => text.push_str(&format!(" {n} reports are outside their limits.")),
    }
    text
}

type Limits = (Option<f64>, Option<f64>);

/// The different (min, max) limits of the reports, in order of appearance.
fn distinct_limits(plotted: &[Plotted<'_>]) -> Vec<Limits> {
    let mut seen: Vec<Limits> = Vec::new();
    for t in plotted.iter().filter_map(|p| p.claim.threshold.as_ref()) {
        let limits = (t.min, t.max);
        if (limits.0.is_some() || limits.1.is_some()) && !seen.contains(&limits) {
            seen.push(limits);
        }
    }
    seen
}

/// `5 – 25 °C`, `at most 25 °C`, `at least 5 °C`.
pub(crate) fn limit_text(min: Option<f64>, max: Option<f64>, uom: Option<&str>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => {
            format!("{} – {}", format::value(min), format::quantity(max, uom))
        }
        (None, Some(max)) => format!("at most {}", format::quantity(max, uom)),
        (Some(min), None) => format!("at least {}", format::quantity(min, uom)),
        (None, None) => "none".to_owned(),
    }
}

/// Horizontal grid lines with value labels.
fn value_axis(h: &mut Html, frame: &Frame, unit: Option<&str>) {
    let step = nice_step((frame.v1 - frame.v0) / 5.0);
    let mut v = (frame.v0 / step).ceil() * step;
    h.raw("<g class=\"grid\">");
    while v <= frame.v1 {
        let y = frame.y(v);
        h.raw("<line").attr("x1", &format::value(LEFT));
        h.attr("x2", &format::value(WIDTH - RIGHT));
        h.raw(" y1=\"").num(y).raw("\" y2=\"").num(y).raw("\"/>");
        h.raw("<text class=\"tick\" text-anchor=\"end\"")
            .attr("x", &format::value(LEFT - 5.0));
        h.raw(" y=\"").num(y + 4.0).raw("\">");
        h.text(&format::value(v)).raw("</text>");
        v += step;
    }
    if let Some(unit) = unit {
        h.raw("<text class=\"tick\" x=\"4\"")
            .attr("y", &format::value(TOP - 3.0))
            .raw(">")
            .text(unit)
            .raw("</text>");
    }
    h.raw("</g>");
}

/// 1, 2, 2.5 or 5 × 10ⁿ: the smallest such step at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if !raw.is_finite() || raw <= 0.0 {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * magnitude)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * magnitude)
}

/// Time labels along the bottom (UTC): dates for long spans, clock times for short ones.
fn time_axis(h: &mut Html, frame: &Frame) {
    let span = frame.t1 - frame.t0;
    let step = [
        HOUR_MS,
        2 * HOUR_MS,
        3 * HOUR_MS,
        6 * HOUR_MS,
        12 * HOUR_MS,
        DAY_MS,
        2 * DAY_MS,
        7 * DAY_MS,
        14 * DAY_MS,
        30 * DAY_MS,
        91 * DAY_MS,
        365 * DAY_MS,
    ]
    .into_iter()
    .find(|step| span / step < MAX_TIME_TICKS)
    .unwrap_or_else(|| (span / MAX_TIME_TICKS).max(1));
    let mut t = frame.t0.div_euclid(step) * step + step;
    let bottom = HEIGHT - BOTTOM;
    h.raw("<g class=\"grid\">");
    while t < frame.t1 {
        let x = frame.x(t);
        h.raw("<line class=\"vertical\" x1=\"").num(x);
        h.raw("\" x2=\"").num(x).raw("\"");
        h.attr("y1", &format::value(TOP))
            .attr("y2", &format::value(bottom))
            .raw("/>");
        let label = if step >= DAY_MS || t.rem_euclid(DAY_MS) == 0 {
            format::day_month(t)
        } else {
            format::clock_at(t, 0)
        };
        h.raw("<text class=\"tick\" text-anchor=\"middle\" x=\"")
            .num(x);
        h.raw("\"")
            .attr("y", &format::value(bottom + 15.0))
            .raw(">");
        h.text(&label).raw("</text>");
        t += step;
    }
    h.raw("<text class=\"tick\" text-anchor=\"end\"")
        .attr("x", &format::value(WIDTH - RIGHT))
        .attr("y", &format::value(HEIGHT - 3.0))
        .raw(">Time (UTC)</text></g>");
}

/// The limits: full-width lines and a shaded allowed band when every report has the same
/// limits, otherwise a dashed segment over each report's own period.
fn limits(h: &mut Html, frame: &Frame, plotted: &[Plotted<'_>], unit: Option<&str>) {
    let distinct = distinct_limits(plotted);
    let everywhere = distinct.len() == 1
        && plotted.iter().all(|p| {
            p.claim.threshold.as_ref().map(|t| (t.min, t.max)) == distinct.first().copied()
        });
    h.raw("<g class=\"limits\">");
    if let (true, Some((min, max))) = (everywhere, distinct.first().copied()) {
        let (x1, x2) = (LEFT, WIDTH - RIGHT);
        let top = max.map_or(TOP, |m| frame.y(m));
        let bottom = min.map_or(HEIGHT - BOTTOM, |m| frame.y(m));
        h.raw("<rect class=\"allowed\"")
            .attr("x", &format::value(x1))
            .raw(" y=\"")
            .num(top)
            .raw("\"")
            .attr("width", &format::value(x2 - x1))
            .raw(" height=\"")
            .num((bottom - top).max(0.0))
            .raw("\"/>");
        for (level, word, dy) in [(max, "max", -4.0), (min, "min", 12.0)] {
            let Some(level) = level else { continue };
            let y = frame.y(level);
            h.raw("<line class=\"limit\"")
                .attr("x1", &format::value(x1))
                .attr("x2", &format::value(x2))
                .raw(" y1=\"")
                .num(y)
                .raw("\" y2=\"")
                .num(y)
                .raw("\"/>");
            h.raw("<text class=\"limit-label\" text-anchor=\"end\"")
                .attr("x", &format::value(x2 - 3.0))
                .raw(" y=\"")
                .num(y + dy)
                .raw("\">")
                .text(&format!("{word} {}", format::quantity(level, unit)))
                .raw("</text>");
        }
    } else {
        for p in plotted {
            let Some(Threshold { min, max, .. }) = p.claim.threshold.as_ref() else {
                continue;
            };
            for level in [min, max].into_iter().flatten() {
                let y = frame.y(*level);
                h.raw("<line class=\"limit\" x1=\"")
                    .num(frame.x(p.from) - 6.0)
                    .raw("\" x2=\"")
                    .num(frame.x(p.until) + 6.0)
                    .raw("\" y1=\"")
                    .num(y)
                    .raw("\" y2=\"")
                    .num(y)
                    .raw("\"/>");
            }
        }
    }
    h.raw("</g>");
}

/// Connects the single readings of each event (one logger's series) in time order.
fn lines(h: &mut Html, frame: &Frame, plotted: &[Plotted<'_>]) {
    let mut by_event: BTreeMap<usize, Vec<(i64, f64)>> = BTreeMap::new();
    for p in plotted {
        if let Shape::Point(v) = p.shape {
            by_event
                .entry(p.claim.event_index)
                .or_default()
                .push((p.from, v));
        }
    }
    for points in by_event.values_mut().filter(|points| points.len() > 1) {
        points.sort_by_key(|(t, _)| *t);
        h.raw("<polyline class=\"line\" points=\"");
        for (i, (t, v)) in points.iter().enumerate() {
            if i > 0 {
                h.raw(" ");
            }
            h.num(frame.x(*t)).raw(",").num(frame.y(*v));
        }
        h.raw("\"/>");
    }
}

/// One report: a dot (a diamond when outside its limits) or a band with its mean, with a
/// tooltip in words.
fn mark(h: &mut Html, frame: &Frame, p: &Plotted<'_>, unit: Option<&str>) {
    let out = p.out();
    match p.shape {
        Shape::Point(v) => {
            let (x, y) = (frame.x(p.from), frame.y(v));
            if out {
                h.raw("<path class=\"point out\" d=\"M")
                    .num(x)
                    .raw(" ")
                    .num(y - 6.0)
                    .raw("l6 6l-6 6l-6-6z\">");
            } else {
                h.raw("<circle class=\"point\" r=\"3.5\" cx=\"")
                    .num(x)
                    .raw("\" cy=\"")
                    .num(y)
                    .raw("\">");
            }
        }
        Shape::Range { min, max, mean } => {
            let x1 = frame.x(p.from);
            let width = (frame.x(p.until) - x1).max(4.0);
            let low = min.or(mean).or(max).unwrap_or_default();
            let high = max.or(mean).or(min).unwrap_or_default();
            h.raw(if out {
                "<g class=\"range out\">"
            } else {
                "<g class=\"range\">"
            });
            h.raw("<rect x=\"")
                .num(x1)
                .raw("\" y=\"")
                .num(frame.y(high));
            h.raw("\" width=\"").num(width).raw("\" height=\"");
            h.num((frame.y(low) - frame.y(high)).max(2.0)).raw("\"/>");
            if let Some(mean) = mean {
                let y = frame.y(mean);
                h.raw("<line class=\"mean\" x1=\"").num(x1).raw("\" x2=\"");
                h.num(x1 + width).raw("\" y1=\"").num(y).raw("\" y2=\"");
                h.num(y).raw("\"/>");
            }
            if out {
                let x = x1 + width / 2.0;
                let y = frame.y(high);
                h.raw("<path class=\"point out\" d=\"M")
                    .num(x)
                    .raw(" ")
                    .num(y - 12.0)
                    .raw("l6 6l-6 6l-6-6z\"/>");
            }
        }
    }
    h.raw("<title>")
        .text(&reading_words(p, unit))
        .raw("</title>");
    h.raw(match p.shape {
        Shape::Point(_) if out => "</path>",
        Shape::Point(_) => "</circle>",
        Shape::Range { .. } => "</g>",
    });
}

/// `8 Jan 2025, 09:00 UTC: 16.8 °C, outside its limits (5 – 25 °C)`.
fn reading_words(p: &Plotted<'_>, unit: Option<&str>) -> String {
    let mut text = format!("{}: {}", when_text(p.claim), reading_text(p.claim));
    let verdict = match p.claim.within {
        Some(true) => ", within its limits",
        Some(false) => ", outside its limits",
        None => "",
    };
    text.push_str(verdict);
    if let Some(t) = &p.claim.threshold {
        text.push_str(&format!(" ({})", limit_text(t.min, t.max, unit)));
    }
    text
}

/// When a report was taken, as the event wrote it.
fn when_text(claim: &SensorClaim) -> String {
    match (&claim.time, &claim.start, &claim.end) {
        (Some(t), _, _) => format::human_time(t),
        (None, Some(s), Some(e)) => {
            format!("{} to {}", format::human_time(s), format::human_time(e))
        }
        (None, Some(t), None) => format!("from {}", format::human_time(t)),
        (None, None, Some(t)) => format!("until {}", format::human_time(t)),
        (None, None, None) => String::new(),
    }
}

/// `16.8 °C`, or `14.5 – 19.5 °C, mean 16.8 °C`.
fn reading_text(claim: &SensorClaim) -> String {
    let uom = claim.uom.as_deref();
    let mut parts = Vec::new();
    if let Some(v) = claim.value {
        parts.push(format::quantity(v, uom));
    }
    match (claim.min, claim.max) {
        (Some(min), Some(max)) => parts.push(format!(
            "{} – {}",
            format::value(min),
            format::quantity(max, uom)
        )),
        (Some(min), None) => parts.push(format!("min {}", format::quantity(min, uom))),
        (None, Some(max)) => parts.push(format!("max {}", format::quantity(max, uom))),
        (None, None) => {}
    }
    if let Some(mean) = claim.mean {
        parts.push(format!("mean {}", format::quantity(mean, uom)));
    }
    if parts.is_empty() {
        "no value".to_owned()
    } else {
        parts.join(", ")
    }
}

/// What the marks mean, in text under the chart (only the kinds the chart uses).
fn legend(h: &mut Html, plotted: &[Plotted<'_>]) {
    let points = plotted
        .iter()
        .any(|p| matches!(p.shape, Shape::Point(_)) && !p.out());
    let ranges = plotted
        .iter()
        .any(|p| matches!(p.shape, Shape::Range { .. }));
    let out = plotted.iter().any(Plotted::out);
    let limited = plotted.iter().any(|p| p.claim.threshold.is_some());
    h.raw("<ul class=\"legend\">");
    if points {
        h.raw("<li><span class=\"key key-point\" aria-hidden=\"true\"></span>a reading</li>");
    }
    if ranges {
        h.raw(
            "<li><span class=\"key key-range\" aria-hidden=\"true\"></span>lowest to highest over a period, with the mean</li>",
        );
    }
    if limited {
        h.raw("<li><span class=\"key key-limit\" aria-hidden=\"true\"></span>limits</li>");
    }
    if out {
        h.raw(
            "<li><span class=\"key key-out\" aria-hidden=\"true\"></span>outside the limits</li>",
        );
    }
    h.raw("</ul>");
}

/// Every report of the series as a table: the chart's text alternative. Limits and sensors
/// shared by every row are said once, so the table fits a phone.
fn table(h: &mut Html, series: &Series<'_>, steps: &[StepClaim]) {
    let mut rows: Vec<(Option<i64>, &SensorClaim)> = series
        .claims
        .iter()
        .map(|claim| (place(claim, steps).map(|p| p.from), *claim))
        .collect();
    rows.sort_by_key(|(t, _)| (t.is_none(), *t));
    let first_threshold = series.claims.first().and_then(|c| c.threshold.as_ref());
    let common = series
        .claims
        .iter()
        .all(|c| c.threshold.as_ref() == first_threshold);
    h.raw("<div class=\"table-wrap\"><table class=\"readings\"><caption>");
    h.text(&format!("{} readings", series.measurement));
    if let (true, Some(t)) = (common, first_threshold) {
        h.raw("<br><small>").text(&format!(
            "Limits {}, {}",
            limit_text(t.min, t.max, Some(t.uom.as_str())),
            t.source
        ));
        h.raw("</small>");
    }
    h.raw("</caption><thead><tr><th scope=\"col\">When</th><th scope=\"col\">Reading</th>");
    if !common {
        h.raw("<th scope=\"col\">Limits</th>");
    }
    h.raw("<th scope=\"col\">Result</th></tr></thead><tbody>");
    for (_, claim) in rows {
        let when = when_text(claim);
        h.raw("<tr><td>")
            .text(if when.is_empty() { "—" } else { &when })
            .raw("</td><td>")
            .text(&reading_text(claim))
            .raw("</td>");
        if !common {
            h.raw("<td>");
            match &claim.threshold {
                Some(t) => {
                    h.text(&limit_text(t.min, t.max, Some(t.uom.as_str())));
                    h.raw("<br><small>").text(&t.source).raw("</small>");
                }
                None => {
                    h.raw("none declared");
                }
            }
            h.raw("</td>");
        }
        h.raw(match claim.within {
            Some(true) => "<td class=\"ok result\">✓ within</td>",
            Some(false) => "<td class=\"bad result\">✗ outside</td>",
            None => "<td class=\"result\">no limit</td>",
        });
        h.raw("</tr>");
    }
    h.raw("</tbody></table></div>");
    let mut devices: Vec<&str> = series
        .claims
        .iter()
        .filter_map(|c| c.device.as_deref())
        .collect();
    devices.sort_unstable();
    devices.dedup();
    if !devices.is_empty() {
        h.raw("<p class=\"muted sensors\">")
            .text(if devices.len() == 1 {
                "Sensor: "
            } else {
                "Sensors: "
            })
            .text(&devices.join(", "))
            .raw("</p>");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(index: usize, time: &str, value: f64, within: Option<bool>) -> SensorClaim {
        SensorClaim {
            event_index: index,
            measurement: "gs1:Temperature".into(),
            device: None,
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
            within,
        }
    }

    fn draw(readings: &[SensorClaim]) -> String {
        let mut h = Html::new();
        render(&mut h, readings, &[]);
        h.finish()
    }

    #[test]
    fn readings_within_limits_are_points_on_a_line_between_limit_lines() {
        let svg = draw(&[
            reading(1, "2025-01-08T09:00:00Z", 16.0, Some(true)),
            reading(1, "2025-01-08T12:00:00Z", 18.5, Some(true)),
            reading(1, "2025-01-08T15:00:00Z", 17.0, Some(true)),
        ]);
        assert_eq!(svg.matches("<circle class=\"point\"").count(), 3);
        assert_eq!(svg.matches("<polyline class=\"line\"").count(), 1);
        assert_eq!(svg.matches("<line class=\"limit\"").count(), 2);
        assert!(
            svg.contains("max 25 °C") && svg.contains("min 5 °C"),
            "{svg}"
        );
        assert!(svg.contains("class=\"allowed\""));
        assert!(!svg.contains("point out"));
        assert!(svg.contains("3 reports from 8 Jan 2025, 09:00 UTC to 8 Jan 2025, 15:00 UTC, between 16 and 18.5 °C. Limits: 5 – 25 °C. Every report is within its limits."), "{svg}");
        // The table has a row per reading.
        assert_eq!(svg.matches("<td class=\"ok result\">").count(), 3);
        assert!(svg.contains("<caption>Temperature readings<br><small>Limits 5 – 25 °C, declared at commissioning</small></caption>"));
        assert!(!svg.contains("<th scope=\"col\">Limits</th>"));
    }

    #[test]
    fn readings_outside_are_red_diamonds_and_counted() {
        let svg = draw(&[
            reading(1, "2025-01-08T09:00:00Z", 16.0, Some(true)),
            reading(1, "2025-01-08T10:00:00Z", 31.0, Some(false)),
        ]);
        assert_eq!(svg.matches("<path class=\"point out\"").count(), 1);
        assert!(svg.contains("1 report is outside its limits."));
        assert!(svg.contains("<td class=\"bad result\">✗ outside</td>"));
        assert!(svg.contains("outside the limits</li>"));
    }

    #[test]
    fn a_period_report_is_a_band_with_its_mean() {
        let mut claim = reading(2, "", 0.0, Some(true));
        claim.time = None;
        claim.value = None;
        claim.start = Some("2025-01-08T03:00:00.000Z".into());
        claim.end = Some("2025-01-09T00:00:00.000Z".into());
        (claim.min, claim.max, claim.mean) = (Some(14.5), Some(19.5), Some(16.8));
        let svg = draw(&[claim]);
        assert!(svg.contains("<g class=\"range\"><rect"), "{svg}");
        assert!(svg.contains("<line class=\"mean\""));
        assert!(svg.contains("14.5 – 19.5 °C, mean 16.8 °C"));
    }

    #[test]
    fn different_limits_are_drawn_per_report_and_a_report_without_time_uses_its_event() {
        let mut other = reading(3, "2025-01-09T09:00:00Z", 3.0, Some(true));
        other.threshold = Some(Threshold {
            min: None,
            max: Some(8.0),
            uom: "CEL".into(),
            source: "default".into(),
        });
        let mut untimed = reading(4, "", 6.0, None);
        untimed.time = None;
        untimed.threshold = None;
        let step = StepClaim {
            event_index: 4,
            event_hash_id: "ni:///x".into(),
            what: "Observed".into(),
            event_type: "ObjectEvent".into(),
            biz_step: None,
            disposition: None,
            who: "X".into(),
            when: "2025-01-10T00:00:00Z".into(),
            time_zone_offset: "+00:00".into(),
            when_ms: 1_736_467_200_000,
            where_: None,
            identifiers: vec![],
            height: 1,
            verified: true,
            retracted: false,
        };
        let mut h = Html::new();
        render(
            &mut h,
            &[
                reading(1, "2025-01-08T09:00:00Z", 16.0, Some(true)),
                other,
                untimed,
            ],
            &[step],
        );
        let svg = h.finish();
        assert!(!svg.contains("class=\"allowed\""));
        assert_eq!(svg.matches("<line class=\"limit\"").count(), 3, "{svg}");
        assert_eq!(svg.matches("<circle class=\"point\"").count(), 3);
        assert!(svg.contains("Limits: 5 – 25 °C; at most 8 °C."));
        // Different limits get their own column.
        assert!(svg.contains("<th scope=\"col\">Limits</th>"));
        assert!(svg.contains("<td>at most 8 °C<br><small>default</small></td>"));
        assert!(svg.contains("<td>none declared</td>"));
    }

    #[test]
    fn each_measurement_gets_its_own_chart() {
        let mut humidity = reading(1, "2025-01-08T09:00:00Z", 40.0, None);
        humidity.measurement = "gs1:RelativeHumidity".into();
        humidity.uom = Some("P1".into());
        humidity.threshold = None;
        let svg = draw(&[
            reading(1, "2025-01-08T09:00:00Z", 16.0, Some(true)),
            humidity,
        ]);
        assert_eq!(svg.matches("<svg").count(), 2);
        assert!(svg.contains("<h3>Temperature (°C)</h3>"));
        assert!(svg.contains("<h3>Relative humidity (%)</h3>"));
        assert!(svg.contains("chart-0-title") && svg.contains("chart-1-title"));
    }

    #[test]
    fn a_report_that_cannot_be_placed_in_time_is_only_in_the_table() {
        let mut lost = reading(9, "", 16.0, Some(true));
        lost.time = Some("not a time".into());
        lost.device = Some("<logger>".into());
        let svg = draw(&[lost]);
        assert!(!svg.contains("<svg"));
        assert!(svg.contains("<td>not a time</td>"), "{svg}");
        assert!(svg.contains("<p class=\"muted sensors\">Sensor: &lt;logger&gt;</p>"));
    }

    #[test]
    fn steps_are_nice() {
        assert_eq!(nice_step(0.7), 1.0);
        assert_eq!(nice_step(1.2), 2.0);
        assert_eq!(nice_step(2.2), 2.5);
        assert_eq!(nice_step(31.0), 50.0);
        assert_eq!(nice_step(0.0), 1.0);
        assert_eq!(nice_step(f64::NAN), 1.0);
    }

    proptest::proptest! {
        /// Whatever the numbers, the chart's coordinates stay numbers and every mark is drawn.
        #[test]
        fn any_readings_draw(values in proptest::collection::vec((-1e6f64..1e6, 0i64..10_000_000_000, proptest::option::of(proptest::bool::ANY)), 1..20)) {
            let readings: Vec<SensorClaim> = values
                .iter()
                .map(|(v, t, within)| {
                    reading(0, &format::rfc3339_utc(1_700_000_000_000 + t), *v, *within)
                })
                .collect();
            let svg = draw(&readings);
            proptest::prop_assert!(!svg.contains("NaN") && !svg.contains("inf"));
            let marks = svg.matches("<circle class=\"point\"").count() + svg.matches("<path class=\"point out\"").count();
            proptest::prop_assert_eq!(marks, readings.len());
        }
    }
}
