//! CBV 2.0 short names ("bare strings") and the Web URIs they stand for.
//!
//! EPCIS 2.0 JSON-LD lets `bizStep`, `disposition`, the business-transaction and source/destination
//! types, and the sensor `type`/`exception`/`component` carry a short name such as `"receiving"`.
//! The EPCIS 2.0 JSON-LD context (<https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld>)
//! types those members `@vocab` and defines exactly the terms listed here, so JSON-LD expansion
//! turns `"receiving"` into `https://ref.gs1.org/cbv/BizStep-receiving`. The Event Hash ID hashes the
//! expanded form, so we need the same term lists. Only the terms the context defines expand: any
//! other bare word is not a CBV value and is hashed as written, as JSON-LD would leave it.

/// One `@vocab`-typed member: its defined short names and the IRI prefix they expand with.
#[derive(Debug)]
pub(super) struct Vocabulary {
    /// Prepended to a defined short name to form the full Web URI.
    pub(super) iri_prefix: &'static str,
    /// The short names the EPCIS 2.0 context defines, sorted (byte order) for binary search.
    pub(super) terms: &'static [&'static str],
}

impl Vocabulary {
    /// The full Web URI for `short_name`, if the EPCIS context defines it for this member.
    pub(super) fn expand(&self, short_name: &str) -> Option<String> {
        self.terms
            .binary_search(&short_name)
            .ok()
            .map(|_| format!("{}{short_name}", self.iri_prefix))
    }
}

/// `bizStep` values (CBV 2.0 section 7.1).
pub(super) static BIZ_STEP: Vocabulary = Vocabulary {
    iri_prefix: "https://ref.gs1.org/cbv/BizStep-",
    terms: &[
        "accepting",
        "arriving",
        "assembling",
        "collecting",
        "commissioning",
        "consigning",
        "creating_class_instance",
        "cycle_counting",
        "decommissioning",
        "departing",
        "destroying",
        "disassembling",
        "dispensing",
        "encoding",
        "entering_exiting",
        "holding",
        "inspecting",
        "installing",
        "killing",
        "loading",
        "other",
        "packing",
        "picking",
        "receiving",
        "removing",
        "repackaging",
        "repairing",
        "replacing",
        "reserving",
        "retail_selling",
        "sampling",
        "sensor_reporting",
        "shipping",
        "staging_outbound",
        "stock_taking",
        "stocking",
        "storing",
        "transporting",
        "unloading",
        "unpacking",
        "void_shipping",
    ],
};

/// `disposition` and `persistentDisposition` `set`/`unset` values (CBV 2.0 section 7.2).
pub(super) static DISPOSITION: Vocabulary = Vocabulary {
    iri_prefix: "https://ref.gs1.org/cbv/Disp-",
    terms: &[
        "active",
        "available",
        "completeness_inferred",
        "completeness_verified",
        "conformant",
        "container_closed",
        "container_open",
        "damaged",
        "destroyed",
        "dispensed",
        "disposed",
        "encoded",
        "expired",
        "in_progress",
        "in_transit",
        "inactive",
        "mismatch_class",
        "mismatch_instance",
        "mismatch_quantity",
        "needs_replacement",
        "no_pedigree_match",
        "non_conformant",
        "non_sellable_other",
        "partially_dispensed",
        "recalled",
        "reserved",
        "retail_sold",
        "returned",
        "sellable_accessible",
        "sellable_not_accessible",
        "stolen",
        "unavailable",
        "unknown",
    ],
};

/// `bizTransactionList[].type` values (CBV 2.0 section 7.3).
pub(super) static BIZ_TRANSACTION_TYPE: Vocabulary = Vocabulary {
    iri_prefix: "https://ref.gs1.org/cbv/BTT-",
    terms: &[
        "bol",
        "cert",
        "desadv",
        "inv",
        "pedigree",
        "po",
        "poc",
        "prodorder",
        "recadv",
        "rma",
        "testprd",
        "testres",
        "upevt",
    ],
};

/// `sourceList[].type` and `destinationList[].type` values (CBV 2.0 section 7.4).
pub(super) static SOURCE_DESTINATION_TYPE: Vocabulary = Vocabulary {
    iri_prefix: "https://ref.gs1.org/cbv/SDT-",
    terms: &["location", "owning_party", "possessing_party"],
};

/// `sensorReport.type` measurement types (GS1 Web Vocabulary).
pub(super) static MEASUREMENT_TYPE: Vocabulary = Vocabulary {
    iri_prefix: "https://gs1.org/voc/",
    terms: &[
        "AbsoluteHumidity",
        "AbsorbedDose",
        "AbsorbedDoseRate",
        "Acceleration",
        "Altitude",
        "AmountOfSubstance",
        "AmountOfSubstancePerUnitVolume",
        "Angle",
        "AngularAcceleration",
        "AngularMomentum",
        "AngularVelocity",
        "Area",
        "Capacitance",
        "Conductance",
        "Conductivity",
        "Count",
        "Density",
        "Dimensionless",
        "DoseEquivalent",
        "DoseEquivalentRate",
        "DynamicViscosity",
        "ElectricCharge",
        "ElectricCurrent",
        "ElectricCurrentDensity",
        "ElectricFieldStrength",
        "Energy",
        "Exposure",
        "Force",
        "Frequency",
        "Illuminance",
        "Inductance",
        "Irradiance",
        "KinematicViscosity",
        "Length",
        "LinearMomentum",
        "Luminance",
        "LuminousFlux",
        "LuminousIntensity",
        "MagneticFlux",
        "MagneticFluxDensity",
        "MagneticVectorPotential",
        "Mass",
        "MassConcentration",
        "MassFlowRate",
        "MassPerAreaTime",
        "MemoryCapacity",
        "MolalityOfSolute",
        "MolarEnergy",
        "MolarMass",
        "MolarVolume",
        "Power",
        "Pressure",
        "RadiantFlux",
        "RadiantIntensity",
        "Radioactivity",
        "RelativeHumidity",
        "Resistance",
        "Resistivity",
        "SolidAngle",
        "SpecificVolume",
        "Speed",
        "SurfaceDensity",
        "SurfaceTension",
        "Temperature",
        "Time",
        "Torque",
        "Voltage",
        "Volume",
        "VolumeFlowRate",
        "VolumeFraction",
        "VolumetricFlux",
        "Wavenumber",
    ],
};

/// `sensorReport.exception` values (GS1 Web Vocabulary).
pub(super) static SENSOR_ALERT_TYPE: Vocabulary = Vocabulary {
    iri_prefix: "https://gs1.org/voc/",
    terms: &["ALARM_CONDITION", "ERROR_CONDITION"],
};

/// `sensorReport.component` values (CBV 2.0 section 7.6).
pub(super) static COMPONENT: Vocabulary = Vocabulary {
    iri_prefix: "https://ref.gs1.org/cbv/Comp-",
    terms: &[
        "altitude",
        "axial_distance",
        "azimuth",
        "easting",
        "elevation_angle",
        "height",
        "latitude",
        "longitude",
        "northing",
        "polar_angle",
        "spherical_radius",
        "x",
        "y",
        "z",
    ],
};

/// EPCIS 1.x URN prefixes of CBV values and the CBV 2.0 Web URI prefixes that replace them.
///
/// `urn:epcglobal:cbv:bt:` (business transaction *identifiers*) is deliberately absent: those are
/// identifiers, not vocabulary, and stay URNs in the pre-hash string.
pub(super) const URN_TO_WEB_URI: [(&str, &str); 5] = [
    (
        "urn:epcglobal:cbv:bizstep:",
        "https://ref.gs1.org/cbv/BizStep-",
    ),
    ("urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-"),
    ("urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-"),
    ("urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-"),
    ("urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [&Vocabulary; 7] = [
        &BIZ_STEP,
        &DISPOSITION,
        &BIZ_TRANSACTION_TYPE,
        &SOURCE_DESTINATION_TYPE,
        &MEASUREMENT_TYPE,
        &SENSOR_ALERT_TYPE,
        &COMPONENT,
    ];

    #[test]
    fn term_lists_are_sorted_and_unique_so_binary_search_is_sound() {
        for vocabulary in ALL {
            assert!(
                vocabulary.terms.windows(2).all(|w| w[0] < w[1]),
                "{} terms not strictly sorted",
                vocabulary.iri_prefix
            );
        }
    }

    #[test]
    fn defined_terms_expand_and_others_do_not() {
        assert_eq!(
            BIZ_STEP.expand("receiving").as_deref(),
            Some("https://ref.gs1.org/cbv/BizStep-receiving")
        );
        assert_eq!(
            MEASUREMENT_TYPE.expand("Temperature").as_deref(),
            Some("https://gs1.org/voc/Temperature")
        );
        assert_eq!(
            BIZ_STEP.expand("Receiving"),
            None,
            "terms are case-sensitive"
        );
        assert_eq!(BIZ_STEP.expand("my_own_step"), None);
        assert_eq!(DISPOSITION.expand(""), None);
    }
}
