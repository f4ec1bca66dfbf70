//! Validation of `sensorElementList`.

use serde_json::Value;

use super::ProblemKind;
use super::fields::{self, Checker, Openness};
use crate::epcis::context::NamespaceScope;
use crate::epcis::path;
use crate::epcis::uri::Quoted;
use crate::epcis::vocab::Vocabulary;

/// Checks the list; returns its length when it is an array.
pub(crate) fn check_sensor_elements(
    ck: &mut Checker,
    at: &str,
    value: &Value,
    scope: &NamespaceScope,
) -> Option<usize> {
    fields::check_object_list(ck, at, value, |ck, item_at, element| {
        for (key, member) in element {
            let key_at = path::child(item_at, key);
            match key.as_str() {
                "sensorMetadata" => check_metadata(ck, &key_at, member, scope),
                "sensorReport" => {
                    let Some(reports) = fields::expect_array(ck, &key_at, member) else {
                        continue;
                    };
                    if reports.is_empty() {
                        ck.report(
                            &key_at,
                            ProblemKind::EmptyList,
                            "a sensorElement needs at least one sensorReport",
                        );
                    }
                    for (r, report) in reports.iter().enumerate() {
                        check_report(ck, &path::index(&key_at, r), report, scope);
                    }
                }
                _ => fields::unknown_key(
                    ck,
                    item_at,
                    key,
                    member,
                    scope,
                    Openness::Open,
                    "a sensorElement",
                ),
            }
        }
        fields::require(ck, item_at, element, "sensorReport", "a sensorElement");
    })
}

fn check_metadata(ck: &mut Checker, at: &str, value: &Value, scope: &NamespaceScope) {
    let Some(metadata) = fields::expect_object(ck, at, value) else {
        return;
    };
    let mut start = None;
    let mut end = None;
    for (key, member) in metadata {
        let key_at = path::child(at, key);
        match key.as_str() {
            "time" => {
                fields::check_timestamp(ck, &key_at, member);
            }
            "startTime" => start = fields::check_timestamp(ck, &key_at, member),
            "endTime" => end = fields::check_timestamp(ck, &key_at, member),
            "deviceID" | "deviceMetadata" | "rawData" | "dataProcessingMethod" | "bizRules" => {
                fields::check_uri(ck, &key_at, member);
            }
            _ => fields::unknown_key(ck, at, key, member, scope, Openness::Open, "sensorMetadata"),
        }
    }
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        ck.report(
            path::child(at, "endTime"),
            ProblemKind::InconsistentValues,
            "endTime is before startTime",
        );
    }
}

fn check_report(ck: &mut Checker, at: &str, value: &Value, scope: &NamespaceScope) {
    let Some(report) = fields::expect_object(ck, at, value) else {
        return;
    };
    let mut min = None;
    let mut max = None;
    for (key, member) in report {
        let key_at = path::child(at, key);
        match key.as_str() {
            "type" => fields::check_vocab(ck, &key_at, member, Vocabulary::MeasurementType),
            "exception" => fields::check_vocab(ck, &key_at, member, Vocabulary::SensorAlertType),
            "component" => fields::check_vocab(ck, &key_at, member, Vocabulary::Component),
            "deviceID"
            | "deviceMetadata"
            | "rawData"
            | "dataProcessingMethod"
            | "bizRules"
            | "microorganism"
            | "chemicalSubstance"
            | "coordinateReferenceSystem"
            | "uriValue" => {
                fields::check_uri(ck, &key_at, member);
            }
            "time" => {
                fields::check_timestamp(ck, &key_at, member);
            }
            "value" | "meanValue" | "percValue" => {
                fields::check_number(ck, &key_at, member, ProblemKind::InvalidNumber);
            }
            "minValue" => {
                min = fields::check_number(ck, &key_at, member, ProblemKind::InvalidNumber)
            }
            "maxValue" => {
                max = fields::check_number(ck, &key_at, member, ProblemKind::InvalidNumber)
            }
            "sDev" => {
                if let Some(s) =
                    fields::check_number(ck, &key_at, member, ProblemKind::InvalidNumber)
                    && s < 0.0
                {
                    ck.report(
                        &key_at,
                        ProblemKind::InvalidNumber,
                        format!("standard deviation {s} is negative"),
                    );
                }
            }
            "percRank" => {
                if let Some(p) =
                    fields::check_number(ck, &key_at, member, ProblemKind::InvalidNumber)
                    && !(0.0..=100.0).contains(&p)
                {
                    ck.report(
                        &key_at,
                        ProblemKind::InvalidNumber,
                        format!("percentile rank {p} is outside 0-100"),
                    );
                }
            }
            "stringValue" | "uom" if !member.is_string() => {
                fields::expect_string(ck, &key_at, member);
            }
            "stringValue" => {}
            "uom" => fields::check_uom(ck, &key_at, member),
            "booleanValue" => {
                if !member.is_boolean() {
                    ck.report(
                        &key_at,
                        ProblemKind::WrongType,
                        "booleanValue must be true or false",
                    );
                }
            }
            "hexBinaryValue" => check_hex_binary(ck, &key_at, member),
            _ => fields::unknown_key(ck, at, key, member, scope, Openness::Open, "a sensorReport"),
        }
    }
    fields::require(ck, at, report, "type", "a sensorReport");
    if let (Some(min), Some(max)) = (min, max)
        && min > max
    {
        ck.report(
            path::child(at, "maxValue"),
            ProblemKind::InconsistentValues,
            format!("maxValue {max} is below minValue {min}"),
        );
    }
}

fn check_hex_binary(ck: &mut Checker, at: &str, value: &Value) {
    let Some(text) = fields::expect_string(ck, at, value) else {
        return;
    };
    let ok = !text.is_empty() && text.len() % 2 == 0 && text.chars().all(|c| c.is_ascii_hexdigit());
    if !ok {
        ck.report(
            at,
            ProblemKind::InvalidHexBinary,
            format!(
                "{} is not xsd:hexBinary (an even number of hexadecimal digits)",
                Quoted(text)
            ),
        );
    }
}
