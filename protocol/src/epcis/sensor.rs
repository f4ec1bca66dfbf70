//! EPCIS 2.0 sensor data (`sensorElementList`).
//!
//! Sensor readings are kept as `serde_json::Number`, not `f64`: a `26` and a `26.0` are
//! different JSON values and the lossless round trip (and the event hash, computed from the raw
//! JSON) must see them as written. Use the `*_f64` accessors for arithmetic.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Number, Value};

use super::timestamp::Timestamp;

/// One `sensorElement`: optional metadata shared by a list of reports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensorElement {
    /// Metadata common to all reports of this element.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sensor_metadata: Option<SensorMetadata>,
    /// The readings (at least one).
    pub sensor_report: Vec<SensorReport>,
    /// User extensions (namespaced keys), in document order.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// `sensorMetadata`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensorMetadata {
    /// Time of the readings, when they share one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// Start of the interval the readings summarise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    /// End of the interval the readings summarise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_time: Option<Timestamp>,
    /// Identifier of the sensing device.
    #[serde(rename = "deviceID", skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// URI of the device's metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_metadata: Option<String>,
    /// URI of the raw data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_data: Option<String>,
    /// URI describing how the data was processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_processing_method: Option<String>,
    /// URI of the business rules applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_rules: Option<String>,
    /// User extensions.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

/// One `sensorReport`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SensorReport {
    /// Measurement type (GS1 Web Vocabulary term or custom URI), e.g. `Temperature`.
    #[serde(rename = "type")]
    pub measurement_type: String,
    /// Alert type (`ALARM_CONDITION`, `ERROR_CONDITION` or custom URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// Identifier of the sensing device.
    #[serde(rename = "deviceID", skip_serializing_if = "Option::is_none")]
    pub device_id: Option<String>,
    /// URI of the device's metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_metadata: Option<String>,
    /// URI of the raw data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_data: Option<String>,
    /// URI describing how the data was processed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_processing_method: Option<String>,
    /// URI of the business rules applied.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub biz_rules: Option<String>,
    /// Time of this reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Timestamp>,
    /// Microorganism measured (URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub microorganism: Option<String>,
    /// Chemical substance measured (URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chemical_substance: Option<String>,
    /// The reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<Number>,
    /// Vector component the value belongs to (CBV `Comp-…` or custom URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component: Option<String>,
    /// Textual reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    /// Boolean reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boolean_value: Option<bool>,
    /// Binary reading, hexadecimal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hex_binary_value: Option<String>,
    /// URI reading.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri_value: Option<String>,
    /// Minimum over the interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_value: Option<Number>,
    /// Maximum over the interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_value: Option<Number>,
    /// Mean over the interval.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mean_value: Option<Number>,
    /// Standard deviation over the interval.
    #[serde(rename = "sDev", skip_serializing_if = "Option::is_none")]
    pub s_dev: Option<Number>,
    /// Percentile rank (0–100) that `percValue` belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perc_rank: Option<Number>,
    /// Value at percentile `percRank`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub perc_value: Option<Number>,
    /// UN/ECE Recommendation 20 unit code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uom: Option<String>,
    /// Coordinate reference system of a location reading (URI).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coordinate_reference_system: Option<String>,
    /// User extensions.
    #[serde(flatten)]
    pub extensions: Map<String, Value>,
}

impl SensorReport {
    /// `value` as `f64`.
    pub fn value_f64(&self) -> Option<f64> {
        self.value.as_ref().and_then(Number::as_f64)
    }

    /// `minValue` as `f64`.
    pub fn min_value_f64(&self) -> Option<f64> {
        self.min_value.as_ref().and_then(Number::as_f64)
    }

    /// `maxValue` as `f64`.
    pub fn max_value_f64(&self) -> Option<f64> {
        self.max_value.as_ref().and_then(Number::as_f64)
    }

    /// `meanValue` as `f64`.
    pub fn mean_value_f64(&self) -> Option<f64> {
        self.mean_value.as_ref().and_then(Number::as_f64)
    }

    /// Canonical measurement type (GS1 Web Vocabulary URI for standard types, custom URI
    /// unchanged; the raw text if it is not a valid value).
    pub fn measurement_type_canonical(&self) -> &str {
        super::vocab::Vocabulary::MeasurementType
            .canonical(&self.measurement_type)
            .unwrap_or(&self.measurement_type)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn report_keeps_number_spelling_and_extensions() {
        let raw = json!({
            "type": "Temperature",
            "value": 26.0,
            "minValue": 26,
            "uom": "CEL",
            "ext1:note": {"ext1:x": "1"}
        });
        let report: SensorReport = serde_json::from_value(raw.clone()).unwrap();
        assert_eq!(report.value_f64(), Some(26.0));
        assert_eq!(report.min_value_f64(), Some(26.0));
        assert_eq!(
            report.measurement_type_canonical(),
            "https://gs1.org/voc/Temperature"
        );
        assert_eq!(serde_json::to_value(&report).unwrap(), raw);
        // 26 and 26.0 stay distinct JSON values.
        assert_ne!(json!(26), json!(26.0));
    }

    #[test]
    fn element_requires_reports() {
        assert!(serde_json::from_value::<SensorElement>(json!({"sensorMetadata": {}})).is_err());
        let element: SensorElement = serde_json::from_value(json!({
            "sensorMetadata": {"time": "2019-04-02T13:05:00.000Z", "deviceID": "urn:x:y"},
            "sensorReport": [{"type": "Speed", "value": 160}]
        }))
        .unwrap();
        let metadata = element.sensor_metadata.unwrap();
        assert_eq!(metadata.device_id.as_deref(), Some("urn:x:y"));
        assert_eq!(metadata.time.unwrap().as_str(), "2019-04-02T13:05:00.000Z");
    }
}
