//! Cold chain: every sensor report of the story, held to the temperature limits that apply.
//!
//! Limits, first found wins (ISSUE 5 conventions):
//! 1. declared by the event carrying the readings (`prov:temperatureMin` / `prov:temperatureMax`
//!    / `prov:temperatureUom` as top-level extension members, default unit `CEL`);
//! 2. declared in the `ilmd` of the commissioning or transformation that made a tracked product,
//!    for readings of that product and of whatever contains it, from then on (see
//!    [`super::custody`]);
//! 3. the consumer's [`ColdChainPolicy`] for the subject's GTIN, then its default.
//!
//! Limits are temperatures, so they apply to temperature reports only (type `gs1:Temperature`,
//! or a temperature unit). A report with an `exception` (alarm or error condition) is outside
//! its limits whatever its values. Values are compared in the limits' unit, converting between
//! Celsius, Fahrenheit and Kelvin; a reading in any other unit cannot be judged (`within: None`).

use serde_json::{Map, Value};

use crate::bundle::verdict::{SensorClaim, Threshold};
use crate::epcis::{SensorElement, SensorReport};

use super::ColdChainPolicy;
use super::jsonld::{Names, PROV, number_of, text_of};
use super::read::Seen;

/// The unit limits are in when none is declared.
const DEFAULT_UOM: &str = "CEL";
const TEMPERATURE_TYPE: &str = "https://gs1.org/voc/Temperature";

/// Limits declared in `object` (an event's top level or an `ilmd`) by expanded IRI, if any.
pub(super) fn declared(
    object: &Map<String, Value>,
    names: &Names,
    source: String,
) -> Option<Threshold> {
    let term = |name: &str| names.member(object, &format!("{PROV}{name}"));
    let min = term("temperatureMin").and_then(number_of);
    let max = term("temperatureMax").and_then(number_of);
    if min.is_none() && max.is_none() {
        return None;
    }
    let uom = term("temperatureUom")
        .and_then(|v| text_of(v, names))
        .map_or_else(|| DEFAULT_UOM.to_owned(), |u| u.trim().to_owned());
    Some(Threshold {
        min,
        max,
        uom,
        source,
    })
}

/// The consumer's limits for the subject: its GTIN's, then the default. A policy entry without
/// a source is labelled with where it came from.
pub(super) fn from_policy(policy: &ColdChainPolicy, gtin: Option<&str>) -> Option<Threshold> {
    let by_gtin = gtin.and_then(|g| {
        policy
            .by_gtin
            .get(g)
            .map(|t| labelled(t, format!("default for GTIN {g}")))
    });
    by_gtin.or_else(|| {
        policy
            .default
            .as_ref()
            .map(|t| labelled(t, "default for products without declared limits".to_owned()))
    })
}

fn labelled(threshold: &Threshold, fallback: String) -> Threshold {
    let mut threshold = threshold.clone();
    if threshold.source.trim().is_empty() {
        threshold.source = fallback;
    }
    threshold
}

/// The sensor claims of one event. `inherited` is the limit from (2) or (3) above, used when
/// the event declares none itself.
pub(super) fn claims(seen: &Seen<'_>, inherited: Option<&Threshold>) -> Vec<SensorClaim> {
    let own = declared(
        seen.event.extensions(),
        &seen.names,
        "declared by the event".to_owned(),
    );
    let threshold = own.as_ref().or(inherited);
    seen.event
        .sensor_elements()
        .iter()
        .flat_map(|element| {
            element
                .sensor_report
                .iter()
                .map(move |report| claim(seen.index, element, report, threshold))
        })
        .collect()
}

fn claim(
    event_index: usize,
    element: &SensorElement,
    report: &SensorReport,
    threshold: Option<&Threshold>,
) -> SensorClaim {
    let metadata = element.sensor_metadata.as_ref();
    let threshold = threshold.filter(|_| is_temperature(report)).cloned();
    let within = if report.exception.is_some() {
        Some(false)
    } else {
        threshold.as_ref().and_then(|t| judge(report, t))
    };
    SensorClaim {
        event_index,
        measurement: report.measurement_type.clone(),
        device: report
            .device_id
            .clone()
            .or_else(|| metadata.and_then(|m| m.device_id.clone())),
        start: metadata.and_then(|m| m.start_time.as_ref().map(|t| t.as_str().to_owned())),
        end: metadata.and_then(|m| m.end_time.as_ref().map(|t| t.as_str().to_owned())),
        time: report
            .time
            .as_ref()
            .or_else(|| metadata.and_then(|m| m.time.as_ref()))
            .map(|t| t.as_str().to_owned()),
        value: report.value_f64(),
        min: report.min_value_f64(),
        max: report.max_value_f64(),
        mean: report.mean_value_f64(),
        uom: report.uom.clone(),
        threshold,
        within,
    }
}

fn is_temperature(report: &SensorReport) -> bool {
    report.measurement_type_canonical() == TEMPERATURE_TYPE
        || report
            .uom
            .as_deref()
            .is_some_and(|u| to_celsius(1.0, u).is_some())
}

/// Whether every value of `report` (value, min, max, mean) lies within `threshold`, in the
/// threshold's unit. `None` when the report has no value, no unit that converts, or the
/// threshold no bound.
pub(super) fn judge(report: &SensorReport, threshold: &Threshold) -> Option<bool> {
    if threshold.min.is_none() && threshold.max.is_none() {
        return None;
    }
    let values: Vec<f64> = [
        report.value_f64(),
        report.min_value_f64(),
        report.max_value_f64(),
        report.mean_value_f64(),
    ]
    .into_iter()
    .flatten()
    .collect();
    if values.is_empty() {
        return None;
    }
    let from = report.uom.as_deref()?;
    let mut within = true;
    for value in values {
        let value = convert(value, from, &threshold.uom)?;
        within &= threshold
            .min
            .is_none_or(|min| value >= min - tolerance(min))
            && threshold
                .max
                .is_none_or(|max| value <= max + tolerance(max));
    }
    Some(within)
}

/// Slack for rounding in unit conversions (41 °F is 5 °C, not 4.999999999).
fn tolerance(bound: f64) -> f64 {
    1e-9 * bound.abs().max(1.0)
}

/// `value` in unit `from` expressed in unit `to`; `None` across units that do not convert.
pub(super) fn convert(value: f64, from: &str, to: &str) -> Option<f64> {
    let (from, to) = (from.trim(), to.trim());
    if from.eq_ignore_ascii_case(to) {
        return Some(value);
    }
    from_celsius(to_celsius(value, from)?, to)
}

fn to_celsius(value: f64, uom: &str) -> Option<f64> {
    match uom.trim().to_ascii_uppercase().as_str() {
        "CEL" => Some(value),
        "FAH" => Some((value - 32.0) * 5.0 / 9.0),
        "KEL" => Some(value - 273.15),
        _ => None,
    }
}

fn from_celsius(celsius: f64, uom: &str) -> Option<f64> {
    match uom.trim().to_ascii_uppercase().as_str() {
        "CEL" => Some(celsius),
        "FAH" => Some(celsius * 9.0 / 5.0 + 32.0),
        "KEL" => Some(celsius + 273.15),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn report(value: Value) -> SensorReport {
        serde_json::from_value(value).unwrap()
    }

    fn limits(min: Option<f64>, max: Option<f64>, uom: &str) -> Threshold {
        Threshold {
            min,
            max,
            uom: uom.to_owned(),
            source: "test".to_owned(),
        }
    }

    #[test]
    fn judges_every_value_in_the_limits_unit() {
        let cel = limits(Some(2.0), Some(8.0), "CEL");
        let inside = report(
            json!({"type": "gs1:Temperature", "minValue": 3, "maxValue": 7.5, "meanValue": 5, "uom": "CEL"}),
        );
        assert_eq!(judge(&inside, &cel), Some(true));
        let spike = report(
            json!({"type": "gs1:Temperature", "minValue": 3, "maxValue": 8.5, "uom": "CEL"}),
        );
        assert_eq!(judge(&spike, &cel), Some(false));
        // 41 °F is exactly 5 °C; 46.4 °F is exactly 8 °C, on the bound.
        let fah = report(json!({"type": "gs1:Temperature", "value": 46.4, "uom": "FAH"}));
        assert_eq!(judge(&fah, &cel), Some(true));
        let warm = report(json!({"type": "gs1:Temperature", "value": 50, "uom": "FAH"}));
        assert_eq!(judge(&warm, &cel), Some(false));
        // A threshold in FAH judges a reading in CEL.
        assert_eq!(
            judge(&inside, &limits(None, Some(45.0), "FAH")),
            Some(false)
        );
        assert_eq!(
            judge(&inside, &limits(Some(270.0), None, "KEL")),
            Some(true)
        );
        // Units that do not convert, no unit, no value, no bound: cannot judge.
        let odd = report(json!({"type": "gs1:Temperature", "value": 5, "uom": "XYZ"}));
        assert_eq!(judge(&odd, &cel), None);
        let bare = report(json!({"type": "gs1:Temperature", "value": 5}));
        assert_eq!(judge(&bare, &cel), None);
        let text = report(json!({"type": "gs1:Temperature", "stringValue": "cold", "uom": "CEL"}));
        assert_eq!(judge(&text, &cel), None);
        assert_eq!(judge(&inside, &limits(None, None, "CEL")), None);
    }

    #[test]
    fn policy_prefers_the_gtin_and_labels_its_source() {
        let mut policy = ColdChainPolicy::default();
        assert_eq!(from_policy(&policy, Some("00614142045218")), None);
        policy.default = Some(limits(None, Some(25.0), "CEL"));
        policy.default.as_mut().unwrap().source = String::new();
        let default = from_policy(&policy, Some("00614142045218")).unwrap();
        assert_eq!(
            default.source,
            "default for products without declared limits"
        );
        policy.by_gtin.insert(
            "00614142045218".to_owned(),
            limits(Some(2.0), Some(8.0), "CEL"),
        );
        let by_gtin = from_policy(&policy, Some("00614142045218")).unwrap();
        assert_eq!((by_gtin.max, by_gtin.source.as_str()), (Some(8.0), "test"));
        assert_eq!(from_policy(&policy, None).unwrap().max, Some(25.0));
    }

    proptest! {
        /// Converting to another temperature unit and back gives the value again.
        #[test]
        fn conversions_round_trip(value in -500.0f64..5000.0, from in 0usize..3, to in 0usize..3) {
            let units = ["CEL", "FAH", "KEL"];
            let there = convert(value, units[from], units[to]).unwrap();
            let back = convert(there, units[to], units[from]).unwrap();
            prop_assert!((back - value).abs() <= 1e-9 * value.abs().max(1.0));
        }

        /// Conversion preserves order, so a reading's position against a bound does not depend
        /// on the unit it was written in.
        #[test]
        fn conversions_are_monotonic(a in -500.0f64..500.0, b in -500.0f64..500.0) {
            for (from, to) in [("CEL", "FAH"), ("FAH", "KEL"), ("KEL", "CEL")] {
                let (ca, cb) = (convert(a, from, to).unwrap(), convert(b, from, to).unwrap());
                prop_assert!(a > b || ca <= cb, "{a} {from} -> {ca} {to}, {b} {from} -> {cb} {to}");
            }
        }
    }
}
