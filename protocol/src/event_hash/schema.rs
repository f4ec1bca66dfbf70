//! The canonical property order of CBV 2.0 section 8.9, as data.
//!
//! Each EPCIS structure is a list of known [`Field`]s. An object is serialised as its `Ordered`
//! fields in the order listed here, followed by one group, sorted as strings, that holds its
//! `Sorted` fields and every member the schema does not know (user extensions). Repeated
//! occurrences of one field (the EPCs of an `epcList`, several `sensorReport`s) are sorted too.

use super::value::ValueKind;
use super::vocab::{
    BIZ_STEP, BIZ_TRANSACTION_TYPE, COMPONENT, DISPOSITION, MEASUREMENT_TYPE, SENSOR_ALERT_TYPE,
    SOURCE_DESTINATION_TYPE, Vocabulary,
};

/// What a known member holds.
#[derive(Debug, Clone, Copy)]
pub(super) enum Shape {
    /// A scalar, canonicalised according to its kind.
    Value(ValueKind),
    /// An object with these known members.
    Object(&'static [Field]),
    /// A JSON array written as a list wrapper: `epcList` + one `epc=...` per element.
    List {
        /// Name each element gets in the pre-hash string (`""` for unnamed entries).
        item: &'static str,
        /// Shape of each element.
        shape: &'static Shape,
    },
}

/// Where a known member goes in its object's serialisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// At its position in the schema.
    Ordered,
    /// In the trailing group, sorted together with the user extensions.
    Sorted,
    /// Not hashed at all.
    Excluded,
}

/// A known member of an EPCIS structure.
#[derive(Debug, Clone, Copy)]
pub(super) struct Field {
    pub(super) name: &'static str,
    pub(super) shape: Shape,
    pub(super) placement: Placement,
}

const fn ordered(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        placement: Placement::Ordered,
    }
}

const fn sorted(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        placement: Placement::Sorted,
    }
}

const fn excluded(name: &'static str) -> Field {
    Field {
        name,
        shape: PLAIN,
        placement: Placement::Excluded,
    }
}

const PLAIN: Shape = Shape::Value(ValueKind::Plain);
const TIMESTAMP: Shape = Shape::Value(ValueKind::Timestamp);

const fn vocabulary(vocabulary: &'static Vocabulary) -> Shape {
    Shape::Value(ValueKind::Vocabulary(vocabulary))
}

/// `epcList`, `inputEPCList`, `outputEPCList`, `childEPCs`: every element is an `epc`.
const EPCS: Shape = Shape::List {
    item: "epc",
    shape: &PLAIN,
};

/// The quantity lists: every element is a `quantityElement`.
const QUANTITIES: Shape = Shape::List {
    item: "quantityElement",
    shape: &Shape::Object(&[
        ordered("epcClass", PLAIN),
        ordered("quantity", PLAIN),
        ordered("uom", PLAIN),
    ]),
};

/// `readPoint` and `bizLocation`.
const LOCATION: Shape = Shape::Object(&[ordered("id", PLAIN)]);

const SENSOR_METADATA: Shape = Shape::Object(&[
    ordered("time", TIMESTAMP),
    ordered("startTime", TIMESTAMP),
    ordered("endTime", TIMESTAMP),
    ordered("deviceID", PLAIN),
    ordered("deviceMetadata", PLAIN),
    ordered("rawData", PLAIN),
    ordered("dataProcessingMethod", PLAIN),
    ordered("bizRules", PLAIN),
]);

const SENSOR_REPORT: Shape = Shape::Object(&[
    ordered("type", vocabulary(&MEASUREMENT_TYPE)),
    ordered("exception", vocabulary(&SENSOR_ALERT_TYPE)),
    ordered("deviceID", PLAIN),
    ordered("deviceMetadata", PLAIN),
    ordered("rawData", PLAIN),
    ordered("dataProcessingMethod", PLAIN),
    ordered("time", TIMESTAMP),
    ordered("microorganism", PLAIN),
    ordered("chemicalSubstance", PLAIN),
    ordered("value", PLAIN),
    ordered("component", vocabulary(&COMPONENT)),
    ordered("stringValue", PLAIN),
    ordered("booleanValue", PLAIN),
    ordered("hexBinaryValue", PLAIN),
    ordered("uriValue", PLAIN),
    ordered("minValue", PLAIN),
    ordered("maxValue", PLAIN),
    ordered("meanValue", PLAIN),
    ordered("sDev", PLAIN),
    ordered("percRank", PLAIN),
    ordered("percValue", PLAIN),
    ordered("uom", PLAIN),
    ordered("coordinateReferenceSystem", PLAIN),
]);

const SENSOR_ELEMENTS: Shape = Shape::List {
    item: "sensorElement",
    shape: &Shape::Object(&[
        ordered("sensorMetadata", SENSOR_METADATA),
        ordered("sensorReport", SENSOR_REPORT),
    ]),
};

/// `bizTransactionList`: unnamed `type` + `bizTransaction` entries.
const BIZ_TRANSACTIONS: Shape = Shape::List {
    item: "",
    shape: &Shape::Object(&[
        ordered("type", vocabulary(&BIZ_TRANSACTION_TYPE)),
        ordered("bizTransaction", PLAIN),
    ]),
};

const SOURCES: Shape = Shape::List {
    item: "",
    shape: &Shape::Object(&[
        ordered("type", vocabulary(&SOURCE_DESTINATION_TYPE)),
        ordered("source", PLAIN),
    ]),
};

const DESTINATIONS: Shape = Shape::List {
    item: "",
    shape: &Shape::Object(&[
        ordered("type", vocabulary(&SOURCE_DESTINATION_TYPE)),
        ordered("destination", PLAIN),
    ]),
};

/// The members of an EPCIS event of any of the five types (each type simply lacks some).
///
/// `bizTransactionList`, `sourceList`, `destinationList` and `ilmd` are `Sorted`: the reference
/// implementation and every published test vector emit them in the trailing sorted group (after
/// `sensorElementList`, alphabetically, before the user extensions) rather than after
/// `bizLocation`, so that is the de-facto canonical order.
pub(super) static EVENT: &[Field] = &[
    ordered("eventTime", TIMESTAMP),
    ordered("eventTimeZoneOffset", PLAIN),
    ordered("certificationInfo", PLAIN),
    ordered("parentID", PLAIN),
    ordered("epcList", EPCS),
    ordered("inputEPCList", EPCS),
    ordered("childEPCs", EPCS),
    ordered("quantityList", QUANTITIES),
    ordered("childQuantityList", QUANTITIES),
    ordered("inputQuantityList", QUANTITIES),
    ordered("outputEPCList", EPCS),
    ordered("outputQuantityList", QUANTITIES),
    ordered("action", PLAIN),
    ordered("transformationID", PLAIN),
    ordered("bizStep", vocabulary(&BIZ_STEP)),
    ordered("disposition", vocabulary(&DISPOSITION)),
    ordered(
        "persistentDisposition",
        Shape::Object(&[
            ordered("set", vocabulary(&DISPOSITION)),
            ordered("unset", vocabulary(&DISPOSITION)),
        ]),
    ),
    ordered("readPoint", LOCATION),
    ordered("bizLocation", LOCATION),
    ordered("sensorElementList", SENSOR_ELEMENTS),
    sorted("bizTransactionList", BIZ_TRANSACTIONS),
    sorted("sourceList", SOURCES),
    sorted("destinationList", DESTINATIONS),
    sorted("ilmd", Shape::Object(&[])),
    // `type` is written first as `eventType=`; the others identify or annotate the event rather
    // than describe what happened (CBV 2.0 section 8.9 excludes them).
    excluded("type"),
    excluded("eventID"),
    excluded("recordTime"),
    excluded("errorDeclaration"),
];
