//! GS1 CBV 2.0 code lists and their normalisation.
//!
//! EPCIS 2.0 lets a capturing application write a standard vocabulary value in three spellings:
//! the bare word that the JSON-LD context maps (`"shipping"`), the CBV 1.x URN
//! (`"urn:epcglobal:cbv:bizstep:shipping"`) and the CBV 2.0 web URI
//! (`"https://ref.gs1.org/cbv/BizStep-shipping"`); the compact IRI `"cbv:BizStep-shipping"` is a
//! fourth, since the EPCIS context declares the `cbv` prefix. Ledger rules must not care which
//! spelling a producer chose, so every value is normalised to ONE canonical form: the web URI
//! for a standard value, the value itself for a custom (user-defined) URI.
//!
//! What is rejected, and why:
//! * a bare word that is not in the list (`"shipp"`): the JSON-LD context would not expand it, so
//!   it silently becomes a relative IRI that means nothing; the error suggests the closest word;
//! * an unknown word inside the standard's own namespace (`"urn:epcglobal:cbv:bizstep:shipp"`):
//!   only GS1 may mint values there;
//! * a standard value of another code list (`"https://ref.gs1.org/cbv/Disp-in_transit"` as a
//!   bizStep);
//! * `http://` spellings of GS1 namespaces: a different IRI from the `https://` one, so two
//!   producers meaning the same thing would otherwise disagree;
//! * anything with a colon that is not a syntactically valid URI.
//!
//! The code lists are those of CBV 2.0 (BizStep, Disp, BTT, SDT, ER, Comp) and of the GS1 Web
//! Vocabulary terms that EPCIS 2.0 uses for sensor data (MeasurementType, SensorAlertType), as
//! enumerated by the EPCIS 2.0 JSON schema and JSON-LD context.

use std::fmt;

use super::uri::{self, Quoted};

/// The code lists this module knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Vocabulary {
    /// CBV business steps (`bizStep`).
    BizStep,
    /// CBV dispositions (`disposition`, `persistentDisposition`).
    Disposition,
    /// CBV business transaction types (`bizTransactionList[].type`).
    BizTransactionType,
    /// CBV source/destination types (`sourceList[].type`, `destinationList[].type`).
    SourceDestinationType,
    /// CBV error reasons (`errorDeclaration.reason`).
    ErrorReason,
    /// CBV sensor report components (`sensorReport[].component`).
    Component,
    /// GS1 Web Vocabulary measurement types (`sensorReport[].type`).
    MeasurementType,
    /// GS1 Web Vocabulary sensor alert types (`sensorReport[].exception`).
    SensorAlertType,
}

impl Vocabulary {
    /// Every vocabulary, for cross-list diagnostics.
    pub const ALL: &'static [Vocabulary] = &[
        Vocabulary::BizStep,
        Vocabulary::Disposition,
        Vocabulary::BizTransactionType,
        Vocabulary::SourceDestinationType,
        Vocabulary::ErrorReason,
        Vocabulary::Component,
        Vocabulary::MeasurementType,
        Vocabulary::SensorAlertType,
    ];

    /// Human-readable name used in error messages.
    pub const fn name(self) -> &'static str {
        match self {
            Vocabulary::BizStep => "CBV business step",
            Vocabulary::Disposition => "CBV disposition",
            Vocabulary::BizTransactionType => "CBV business transaction type",
            Vocabulary::SourceDestinationType => "CBV source/destination type",
            Vocabulary::ErrorReason => "CBV error reason",
            Vocabulary::Component => "CBV sensor component",
            Vocabulary::MeasurementType => "GS1 measurement type",
            Vocabulary::SensorAlertType => "GS1 sensor alert type",
        }
    }

    /// The namespace prefixes under which this list's values may be spelled. The first one is
    /// the canonical prefix.
    pub const fn spellings(self) -> &'static [&'static str] {
        match self {
            Vocabulary::BizStep => BizStep::SPELLINGS,
            Vocabulary::Disposition => Disposition::SPELLINGS,
            Vocabulary::BizTransactionType => BizTransactionType::SPELLINGS,
            Vocabulary::SourceDestinationType => SourceDestinationType::SPELLINGS,
            Vocabulary::ErrorReason => ErrorReason::SPELLINGS,
            Vocabulary::Component => Component::SPELLINGS,
            Vocabulary::MeasurementType => MeasurementType::SPELLINGS,
            Vocabulary::SensorAlertType => SensorAlertType::SPELLINGS,
        }
    }

    /// The bare words of this list, in standard order.
    pub fn words(self) -> Vec<&'static str> {
        fn words_of<T: Term>() -> Vec<&'static str> {
            T::all().iter().map(|t| t.word()).collect()
        }
        match self {
            Vocabulary::BizStep => words_of::<BizStep>(),
            Vocabulary::Disposition => words_of::<Disposition>(),
            Vocabulary::BizTransactionType => words_of::<BizTransactionType>(),
            Vocabulary::SourceDestinationType => words_of::<SourceDestinationType>(),
            Vocabulary::ErrorReason => words_of::<ErrorReason>(),
            Vocabulary::Component => words_of::<Component>(),
            Vocabulary::MeasurementType => words_of::<MeasurementType>(),
            Vocabulary::SensorAlertType => words_of::<SensorAlertType>(),
        }
    }

    /// Canonical URI of `word` in this list, if the word belongs to it.
    pub fn canonical_of_word(self, word: &str) -> Option<&'static str> {
        fn find<T: Term>(word: &str) -> Option<&'static str> {
            T::from_word(word).map(Term::uri)
        }
        match self {
            Vocabulary::BizStep => find::<BizStep>(word),
            Vocabulary::Disposition => find::<Disposition>(word),
            Vocabulary::BizTransactionType => find::<BizTransactionType>(word),
            Vocabulary::SourceDestinationType => find::<SourceDestinationType>(word),
            Vocabulary::ErrorReason => find::<ErrorReason>(word),
            Vocabulary::Component => find::<Component>(word),
            Vocabulary::MeasurementType => find::<MeasurementType>(word),
            Vocabulary::SensorAlertType => find::<SensorAlertType>(word),
        }
    }

    /// Normalises `value` against this list; see [`normalise`].
    pub fn canonical(self, value: &str) -> Result<&str, VocabError> {
        fn go<T: Term>(value: &str) -> Result<&str, VocabError> {
            normalise::<T>(value).map(|term| term.canonical())
        }
        match self {
            Vocabulary::BizStep => go::<BizStep>(value),
            Vocabulary::Disposition => go::<Disposition>(value),
            Vocabulary::BizTransactionType => go::<BizTransactionType>(value),
            Vocabulary::SourceDestinationType => go::<SourceDestinationType>(value),
            Vocabulary::ErrorReason => go::<ErrorReason>(value),
            Vocabulary::Component => go::<Component>(value),
            Vocabulary::MeasurementType => go::<MeasurementType>(value),
            Vocabulary::SensorAlertType => go::<SensorAlertType>(value),
        }
    }
}

impl fmt::Display for Vocabulary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A member of one of the code lists.
pub trait Term: Copy + fmt::Debug + 'static {
    /// The list this term belongs to.
    const VOCABULARY: Vocabulary;
    /// Namespace prefixes under which the words may be written; the first is canonical.
    const SPELLINGS: &'static [&'static str];
    /// Every member, in the order the standard lists them.
    fn all() -> &'static [Self];
    /// The bare word (`"shipping"`).
    fn word(self) -> &'static str;
    /// The canonical URI (`"https://ref.gs1.org/cbv/BizStep-shipping"`).
    fn uri(self) -> &'static str;
    /// The member whose bare word is exactly `word` (case-sensitive, as in the JSON-LD context).
    fn from_word(word: &str) -> Option<Self>;
}

macro_rules! code_list {
    (
        $(#[$meta:meta])*
        $name:ident: $vocab:expr, canonical $canon:literal, also [$($alt:literal),* $(,)?] {
            $($(#[$vmeta:meta])* $variant:ident => $word:literal),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum $name {
            $($(#[$vmeta])* #[doc = concat!("`", $word, "`")] $variant,)*
        }

        impl $name {
            /// Every member, in the order the standard lists them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The bare word as written in EPCIS JSON-LD.
            pub const fn word(self) -> &'static str {
                match self { $($name::$variant => $word,)* }
            }

            /// The canonical web URI.
            pub const fn uri(self) -> &'static str {
                match self { $($name::$variant => concat!($canon, $word),)* }
            }

            /// The member with this exact bare word.
            pub fn from_word(word: &str) -> Option<Self> {
                match word { $($word => Some($name::$variant),)* _ => None }
            }
        }

        impl Term for $name {
            const VOCABULARY: Vocabulary = $vocab;
            const SPELLINGS: &'static [&'static str] = &[$canon, $($alt,)*];
            fn all() -> &'static [Self] { Self::ALL }
            fn word(self) -> &'static str { $name::word(self) }
            fn uri(self) -> &'static str { $name::uri(self) }
            fn from_word(word: &str) -> Option<Self> { $name::from_word(word) }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.word())
            }
        }
    };
}

code_list! {
    /// CBV 2.0 business steps (CBV §7.1).
    BizStep: Vocabulary::BizStep,
    canonical "https://ref.gs1.org/cbv/BizStep-",
    also ["urn:epcglobal:cbv:bizstep:", "cbv:BizStep-"] {
        Accepting => "accepting",
        Arriving => "arriving",
        Assembling => "assembling",
        Collecting => "collecting",
        Commissioning => "commissioning",
        Consigning => "consigning",
        CreatingClassInstance => "creating_class_instance",
        CycleCounting => "cycle_counting",
        Decommissioning => "decommissioning",
        Departing => "departing",
        Destroying => "destroying",
        Disassembling => "disassembling",
        Dispensing => "dispensing",
        Encoding => "encoding",
        EnteringExiting => "entering_exiting",
        Holding => "holding",
        Inspecting => "inspecting",
        Installing => "installing",
        Killing => "killing",
        Loading => "loading",
        Other => "other",
        Packing => "packing",
        Picking => "picking",
        Receiving => "receiving",
        Removing => "removing",
        Repackaging => "repackaging",
        Repairing => "repairing",
        Replacing => "replacing",
        Reserving => "reserving",
        RetailSelling => "retail_selling",
        Sampling => "sampling",
        SensorReporting => "sensor_reporting",
        Shipping => "shipping",
        StagingOutbound => "staging_outbound",
        StockTaking => "stock_taking",
        Stocking => "stocking",
        Storing => "storing",
        Transporting => "transporting",
        Unloading => "unloading",
        Unpacking => "unpacking",
        VoidShipping => "void_shipping",
    }
}

code_list! {
    /// CBV 2.0 dispositions (CBV §7.2).
    Disposition: Vocabulary::Disposition,
    canonical "https://ref.gs1.org/cbv/Disp-",
    also ["urn:epcglobal:cbv:disp:", "cbv:Disp-"] {
        Active => "active",
        Available => "available",
        CompletenessInferred => "completeness_inferred",
        CompletenessVerified => "completeness_verified",
        Conformant => "conformant",
        ContainerClosed => "container_closed",
        ContainerOpen => "container_open",
        Damaged => "damaged",
        Destroyed => "destroyed",
        Dispensed => "dispensed",
        Disposed => "disposed",
        Encoded => "encoded",
        Expired => "expired",
        InProgress => "in_progress",
        InTransit => "in_transit",
        Inactive => "inactive",
        MismatchInstance => "mismatch_instance",
        MismatchClass => "mismatch_class",
        MismatchQuantity => "mismatch_quantity",
        NeedsReplacement => "needs_replacement",
        NoPedigreeMatch => "no_pedigree_match",
        NonConformant => "non_conformant",
        NonSellableOther => "non_sellable_other",
        PartiallyDispensed => "partially_dispensed",
        Recalled => "recalled",
        Reserved => "reserved",
        RetailSold => "retail_sold",
        Returned => "returned",
        SellableAccessible => "sellable_accessible",
        SellableNotAccessible => "sellable_not_accessible",
        Stolen => "stolen",
        Unavailable => "unavailable",
        Unknown => "unknown",
    }
}

code_list! {
    /// CBV 2.0 business transaction types (CBV §7.3).
    BizTransactionType: Vocabulary::BizTransactionType,
    canonical "https://ref.gs1.org/cbv/BTT-",
    also ["urn:epcglobal:cbv:btt:", "cbv:BTT-"] {
        Bol => "bol",
        Cert => "cert",
        Desadv => "desadv",
        Inv => "inv",
        Pedigree => "pedigree",
        Po => "po",
        Poc => "poc",
        Prodorder => "prodorder",
        Recadv => "recadv",
        Rma => "rma",
        Testprd => "testprd",
        Testres => "testres",
        Upevt => "upevt",
    }
}

code_list! {
    /// CBV 2.0 source/destination types (CBV §7.4).
    SourceDestinationType: Vocabulary::SourceDestinationType,
    canonical "https://ref.gs1.org/cbv/SDT-",
    also ["urn:epcglobal:cbv:sdt:", "cbv:SDT-"] {
        OwningParty => "owning_party",
        PossessingParty => "possessing_party",
        Location => "location",
    }
}

code_list! {
    /// CBV 2.0 error reasons (CBV §7.5).
    ErrorReason: Vocabulary::ErrorReason,
    canonical "https://ref.gs1.org/cbv/ER-",
    also ["urn:epcglobal:cbv:er:", "cbv:ER-"] {
        DidNotOccur => "did_not_occur",
        IncorrectData => "incorrect_data",
    }
}

code_list! {
    /// CBV 2.0 sensor report components (CBV §7.6); new in 2.0, so there is no URN spelling.
    Component: Vocabulary::Component,
    canonical "https://ref.gs1.org/cbv/Comp-",
    also ["cbv:Comp-"] {
        X => "x",
        Y => "y",
        Z => "z",
        AxialDistance => "axial_distance",
        Azimuth => "azimuth",
        Height => "height",
        SphericalRadius => "spherical_radius",
        PolarAngle => "polar_angle",
        ElevationAngle => "elevation_angle",
        Easting => "easting",
        Northing => "northing",
        Latitude => "latitude",
        Longitude => "longitude",
        Altitude => "altitude",
    }
}

code_list! {
    /// GS1 Web Vocabulary measurement types used by `sensorReport[].type`.
    ///
    /// The canonical namespace is `https://gs1.org/voc/`, the `gs1` prefix of the EPCIS 2.0.0
    /// context (the CBV Event Hash ID pre-hashes use it too); `https://ref.gs1.org/voc/` (newer
    /// context revisions) and `https://www.gs1.org/voc/` are accepted and normalised to it.
    MeasurementType: Vocabulary::MeasurementType,
    canonical "https://gs1.org/voc/",
    also ["gs1:", "https://ref.gs1.org/voc/", "https://www.gs1.org/voc/"] {
        AbsoluteHumidity => "AbsoluteHumidity",
        AbsorbedDose => "AbsorbedDose",
        AbsorbedDoseRate => "AbsorbedDoseRate",
        Acceleration => "Acceleration",
        Radioactivity => "Radioactivity",
        Altitude => "Altitude",
        AmountOfSubstance => "AmountOfSubstance",
        AmountOfSubstancePerUnitVolume => "AmountOfSubstancePerUnitVolume",
        Angle => "Angle",
        AngularAcceleration => "AngularAcceleration",
        AngularMomentum => "AngularMomentum",
        AngularVelocity => "AngularVelocity",
        Area => "Area",
        Capacitance => "Capacitance",
        Conductance => "Conductance",
        Conductivity => "Conductivity",
        Count => "Count",
        Density => "Density",
        Dimensionless => "Dimensionless",
        DoseEquivalent => "DoseEquivalent",
        DoseEquivalentRate => "DoseEquivalentRate",
        DynamicViscosity => "DynamicViscosity",
        ElectricCharge => "ElectricCharge",
        ElectricCurrent => "ElectricCurrent",
        ElectricCurrentDensity => "ElectricCurrentDensity",
        ElectricFieldStrength => "ElectricFieldStrength",
        Energy => "Energy",
        Exposure => "Exposure",
        Force => "Force",
        Frequency => "Frequency",
        Illuminance => "Illuminance",
        Inductance => "Inductance",
        Irradiance => "Irradiance",
        KinematicViscosity => "KinematicViscosity",
        Length => "Length",
        LinearMomentum => "LinearMomentum",
        Luminance => "Luminance",
        LuminousFlux => "LuminousFlux",
        LuminousIntensity => "LuminousIntensity",
        MagneticFlux => "MagneticFlux",
        MagneticFluxDensity => "MagneticFluxDensity",
        MagneticVectorPotential => "MagneticVectorPotential",
        Mass => "Mass",
        MassConcentration => "MassConcentration",
        MassFlowRate => "MassFlowRate",
        MassPerAreaTime => "MassPerAreaTime",
        MemoryCapacity => "MemoryCapacity",
        MolalityOfSolute => "MolalityOfSolute",
        MolarEnergy => "MolarEnergy",
        MolarMass => "MolarMass",
        MolarVolume => "MolarVolume",
        Power => "Power",
        Pressure => "Pressure",
        RadiantFlux => "RadiantFlux",
        RadiantIntensity => "RadiantIntensity",
        RelativeHumidity => "RelativeHumidity",
        Resistance => "Resistance",
        Resistivity => "Resistivity",
        SolidAngle => "SolidAngle",
        SpecificVolume => "SpecificVolume",
        Speed => "Speed",
        SurfaceDensity => "SurfaceDensity",
        SurfaceTension => "SurfaceTension",
        Temperature => "Temperature",
        Time => "Time",
        Torque => "Torque",
        Voltage => "Voltage",
        Volume => "Volume",
        VolumeFlowRate => "VolumeFlowRate",
        VolumeFraction => "VolumeFraction",
        VolumetricFlux => "VolumetricFlux",
        Wavenumber => "Wavenumber",
    }
}

code_list! {
    /// GS1 Web Vocabulary sensor alert types used by `sensorReport[].exception`.
    SensorAlertType: Vocabulary::SensorAlertType,
    canonical "https://gs1.org/voc/",
    also ["gs1:", "https://ref.gs1.org/voc/", "https://www.gs1.org/voc/"] {
        AlarmCondition => "ALARM_CONDITION",
        ErrorCondition => "ERROR_CONDITION",
    }
}

/// A vocabulary value after normalisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Normalised<'a, T> {
    /// A value of the standard code list.
    Standard(T),
    /// A user-defined URI (kept exactly as written).
    Custom(&'a str),
}

impl<'a, T: Term> Normalised<'a, T> {
    /// The canonical form that ledger rules compare: the standard web URI, or the custom URI.
    pub fn canonical(&self) -> &'a str {
        match self {
            Normalised::Standard(term) => term.uri(),
            Normalised::Custom(uri) => uri,
        }
    }

    /// The standard member, if this is one.
    pub fn standard(&self) -> Option<T> {
        match self {
            Normalised::Standard(term) => Some(*term),
            Normalised::Custom(_) => None,
        }
    }
}

/// Why a vocabulary value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VocabError {
    /// The value is the empty string.
    #[error("empty {vocabulary} value: give a standard value or a custom URI")]
    Empty {
        /// The list the value was checked against.
        vocabulary: Vocabulary,
    },
    /// A bare word that is not a member of the list.
    #[error("{} is not a {vocabulary}{}", Quoted(value), suggestion_text(*suggestion, *vocabulary))]
    UnknownWord {
        /// The list the value was checked against.
        vocabulary: Vocabulary,
        /// The offending value.
        value: String,
        /// Closest standard word, if one is close enough to be a likely typo.
        suggestion: Option<&'static str>,
    },
    /// An unknown word written inside the list's own standard namespace.
    #[error(
        "{} uses the standard {vocabulary} namespace but {} is not a {vocabulary}{}",
        Quoted(value),
        Quoted(word),
        suggestion_text(*suggestion, *vocabulary)
    )]
    UnknownInNamespace {
        /// The list the value was checked against.
        vocabulary: Vocabulary,
        /// The offending value.
        value: String,
        /// The part after the namespace prefix.
        word: String,
        /// Closest standard word, if one is close enough to be a likely typo.
        suggestion: Option<&'static str>,
    },
    /// A standard value, but from another code list.
    #[error("{} is a {found}, not a {expected}", Quoted(value))]
    WrongVocabulary {
        /// The list the value was checked against.
        expected: Vocabulary,
        /// The list the value belongs to.
        found: Vocabulary,
        /// The offending value.
        value: String,
    },
    /// A GS1 namespace written with `http://` instead of `https://`.
    #[error(
        "{} uses `http://` for a GS1 namespace; write {}",
        Quoted(value),
        Quoted(https)
    )]
    InsecureNamespace {
        /// The offending value.
        value: String,
        /// The same value with `https://`.
        https: String,
    },
    /// Contains a colon but is not a syntactically valid URI.
    #[error(
        "{} is neither a {vocabulary} nor a valid URI: {reason}",
        Quoted(value)
    )]
    InvalidUri {
        /// The list the value was checked against.
        vocabulary: Vocabulary,
        /// The offending value.
        value: String,
        /// What is wrong with it as a URI.
        reason: uri::UriError,
    },
}

fn suggestion_text(suggestion: Option<&'static str>, vocabulary: Vocabulary) -> String {
    match suggestion {
        Some(word) => format!("; did you mean `{word}`?"),
        None => {
            let words = vocabulary.words();
            if words.len() <= 16 {
                format!(
                    "; valid values are {} (or a custom URI)",
                    words
                        .iter()
                        .map(|w| format!("`{w}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                " (use a standard value or a custom URI such as `https://example.com/voc/my_value`)"
                    .to_owned()
            }
        }
    }
}

/// GS1 namespaces whose `http://` spelling is a mistake rather than a custom URI.
const GS1_HTTP_NAMESPACES: &[&str] = &[
    "http://ref.gs1.org/cbv/",
    "http://gs1.org/voc/",
    "http://www.gs1.org/voc/",
    "http://ref.gs1.org/voc/",
];

/// Normalises a vocabulary value of list `T` (see the module documentation for the rules).
pub fn normalise<T: Term>(value: &str) -> Result<Normalised<'_, T>, VocabError> {
    let vocabulary = T::VOCABULARY;
    if value.is_empty() {
        return Err(VocabError::Empty { vocabulary });
    }
    if !value.contains(':') {
        return T::from_word(value)
            .map(Normalised::Standard)
            .ok_or_else(|| VocabError::UnknownWord {
                vocabulary,
                value: value.to_owned(),
                suggestion: closest(value, T::all().iter().map(|t| t.word())),
            });
    }
    for prefix in T::SPELLINGS {
        if let Some(word) = value.strip_prefix(prefix) {
            if let Some(term) = T::from_word(word) {
                return Ok(Normalised::Standard(term));
            }
            // Another list may share this namespace (the GS1 Web Vocabulary does).
            if let Some(found) = other_list_with(vocabulary, prefix, word) {
                return Err(VocabError::WrongVocabulary {
                    expected: vocabulary,
                    found,
                    value: value.to_owned(),
                });
            }
            return Err(VocabError::UnknownInNamespace {
                vocabulary,
                value: value.to_owned(),
                word: word.to_owned(),
                suggestion: closest(word, T::all().iter().map(|t| t.word())),
            });
        }
    }
    for other in Vocabulary::ALL.iter().copied().filter(|v| *v != vocabulary) {
        for prefix in other.spellings() {
            let Some(word) = value.strip_prefix(prefix) else {
                continue;
            };
            // A list-specific namespace (`…/cbv/Disp-`, `urn:epcglobal:cbv:disp:`) belongs to
            // that list whatever the word; a shared one (`gs1:`) only when the word is a member.
            let list_specific = prefix.ends_with('-') || prefix.starts_with("urn:epcglobal:cbv:");
            if list_specific || other.canonical_of_word(word).is_some() {
                return Err(VocabError::WrongVocabulary {
                    expected: vocabulary,
                    found: other,
                    value: value.to_owned(),
                });
            }
        }
    }
    for http in GS1_HTTP_NAMESPACES {
        if let Some(rest) = value.strip_prefix(http) {
            let https = format!("https://{}{rest}", &http["http://".len()..]);
            return Err(VocabError::InsecureNamespace {
                value: value.to_owned(),
                https,
            });
        }
    }
    uri::check_uri(value).map_err(|reason| VocabError::InvalidUri {
        vocabulary,
        value: value.to_owned(),
        reason,
    })?;
    Ok(Normalised::Custom(value))
}

/// A list other than `this` that is spelled with the same `prefix` and contains `word`.
fn other_list_with(this: Vocabulary, prefix: &str, word: &str) -> Option<Vocabulary> {
    Vocabulary::ALL.iter().copied().find(|other| {
        *other != this
            && other.spellings().contains(&prefix)
            && other.canonical_of_word(word).is_some()
    })
}

/// Normalises a business step; standard values become `https://ref.gs1.org/cbv/BizStep-…`.
pub fn normalise_biz_step(value: &str) -> Result<Normalised<'_, BizStep>, VocabError> {
    normalise::<BizStep>(value)
}

/// Normalises a disposition; standard values become `https://ref.gs1.org/cbv/Disp-…`.
pub fn normalise_disposition(value: &str) -> Result<Normalised<'_, Disposition>, VocabError> {
    normalise::<Disposition>(value)
}

/// Normalises a business transaction type; standard values become `…/cbv/BTT-…`.
pub fn normalise_biz_transaction_type(
    value: &str,
) -> Result<Normalised<'_, BizTransactionType>, VocabError> {
    normalise::<BizTransactionType>(value)
}

/// Normalises a source/destination type; standard values become `…/cbv/SDT-…`.
pub fn normalise_source_destination_type(
    value: &str,
) -> Result<Normalised<'_, SourceDestinationType>, VocabError> {
    normalise::<SourceDestinationType>(value)
}

/// Normalises an error reason; standard values become `…/cbv/ER-…`.
pub fn normalise_error_reason(value: &str) -> Result<Normalised<'_, ErrorReason>, VocabError> {
    normalise::<ErrorReason>(value)
}

/// Longest input for which a spelling suggestion is computed (bounds the O(n·m) distance).
const MAX_SUGGESTION_INPUT: usize = 64;

/// The candidate closest to `input` by edit distance, when it is close enough to be a typo.
fn closest(input: &str, candidates: impl Iterator<Item = &'static str>) -> Option<&'static str> {
    if input.chars().count() > MAX_SUGGESTION_INPUT {
        return None;
    }
    let lowered = input.to_lowercase();
    let mut best: Option<(usize, &'static str)> = None;
    for candidate in candidates {
        let distance = edit_distance(&lowered, &candidate.to_lowercase());
        if best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.and_then(|(distance, candidate)| {
        let limit = (candidate.chars().count() / 2).max(3);
        (distance <= limit).then_some(candidate)
    })
}

/// Levenshtein distance over characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_sizes_match_cbv_2_0() {
        assert_eq!(BizStep::ALL.len(), 41);
        assert_eq!(Disposition::ALL.len(), 33);
        assert_eq!(BizTransactionType::ALL.len(), 13);
        assert_eq!(SourceDestinationType::ALL.len(), 3);
        assert_eq!(ErrorReason::ALL.len(), 2);
        assert_eq!(Component::ALL.len(), 14);
        assert_eq!(SensorAlertType::ALL.len(), 2);
        assert_eq!(MeasurementType::ALL.len(), 72);
    }

    #[test]
    fn three_spellings_normalise_to_the_web_uri() {
        let expected = "https://ref.gs1.org/cbv/BizStep-shipping";
        for spelling in [
            "shipping",
            "urn:epcglobal:cbv:bizstep:shipping",
            "https://ref.gs1.org/cbv/BizStep-shipping",
            "cbv:BizStep-shipping",
        ] {
            let n = normalise_biz_step(spelling).unwrap();
            assert_eq!(n.canonical(), expected, "{spelling}");
            assert_eq!(n.standard(), Some(BizStep::Shipping));
        }
    }

    #[test]
    fn custom_uris_are_kept_unchanged() {
        for custom in [
            "https://example.com/bizstep/summarising",
            "urn:example:bizstep:x",
            "ext1:summarising_discharge",
        ] {
            assert_eq!(
                normalise_biz_step(custom).unwrap(),
                Normalised::Custom(custom)
            );
        }
    }

    #[test]
    fn misspelt_word_suggests_the_closest() {
        let err = normalise_biz_step("shipp").unwrap_err();
        assert!(matches!(
            err,
            VocabError::UnknownWord {
                suggestion: Some("shipping"),
                ..
            }
        ));
        assert!(err.to_string().contains("did you mean `shipping`"), "{err}");
        let err = normalise_disposition("in_transport").unwrap_err();
        assert!(err.to_string().contains("`in_transit`"), "{err}");
        let err = normalise_biz_step("Shipping").unwrap_err();
        assert!(err.to_string().contains("`shipping`"), "{err}");
    }

    #[test]
    fn far_off_word_lists_short_vocabularies() {
        let err = normalise_source_destination_type("place").unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("`owning_party`") && text.contains("`location`"),
            "{text}"
        );
    }

    #[test]
    fn unknown_word_in_standard_namespace_is_rejected() {
        for value in [
            "urn:epcglobal:cbv:bizstep:shipp",
            "https://ref.gs1.org/cbv/BizStep-shipp",
            "cbv:BizStep-shipp",
        ] {
            assert!(
                matches!(
                    normalise_biz_step(value),
                    Err(VocabError::UnknownInNamespace {
                        suggestion: Some("shipping"),
                        ..
                    })
                ),
                "{value}"
            );
        }
    }

    #[test]
    fn value_of_another_list_is_rejected() {
        assert!(matches!(
            normalise_biz_step("https://ref.gs1.org/cbv/Disp-in_transit"),
            Err(VocabError::WrongVocabulary {
                found: Vocabulary::Disposition,
                ..
            })
        ));
        assert!(matches!(
            normalise::<MeasurementType>("gs1:ALARM_CONDITION"),
            Err(VocabError::WrongVocabulary {
                found: Vocabulary::SensorAlertType,
                ..
            })
        ));
    }

    #[test]
    fn cbv_namespace_outside_any_list_is_custom() {
        // Used by the openepcis CurieString_document vector as a destination type.
        assert_eq!(
            normalise_source_destination_type("cbv:my_own_party").unwrap(),
            Normalised::Custom("cbv:my_own_party")
        );
    }

    #[test]
    fn http_gs1_namespace_is_rejected_with_https_hint() {
        let err = normalise_biz_step("http://ref.gs1.org/cbv/BizStep-shipping").unwrap_err();
        assert_eq!(
            err,
            VocabError::InsecureNamespace {
                value: "http://ref.gs1.org/cbv/BizStep-shipping".into(),
                https: "https://ref.gs1.org/cbv/BizStep-shipping".into()
            }
        );
    }

    #[test]
    fn gs1_voc_spellings_of_measurement_types() {
        for spelling in [
            "Temperature",
            "gs1:Temperature",
            "https://gs1.org/voc/Temperature",
            "https://ref.gs1.org/voc/Temperature",
        ] {
            assert_eq!(
                normalise::<MeasurementType>(spelling).unwrap().canonical(),
                "https://gs1.org/voc/Temperature"
            );
        }
        assert!(matches!(
            normalise::<MeasurementType>("gs1:Temprature"),
            Err(VocabError::UnknownInNamespace {
                suggestion: Some("Temperature"),
                ..
            })
        ));
    }

    #[test]
    fn empty_and_malformed_values() {
        assert!(matches!(
            normalise_biz_step(""),
            Err(VocabError::Empty { .. })
        ));
        assert!(matches!(
            normalise_biz_step("not a:uri"),
            Err(VocabError::InvalidUri { .. })
        ));
    }

    #[test]
    fn edit_distance_basics() {
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("same", "same"), 0);
    }
}
