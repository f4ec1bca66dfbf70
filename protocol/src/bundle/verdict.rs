//! The result of verifying a bundle: what was proven, what failed and where.
//!
//! A [`Verdict`] is data for people and programs alike. Its JSON form (serde) is the stable schema
//! of `provenance verify --json`; fields are only ever added. Every [`Failure`] names its
//! [`Site`]: the event, proof, hand-off or governance transaction at fault.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The one-word outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerdictStatus {
    /// Every proof, signature, certificate and rule checked out, and nothing makes the product
    /// unsafe.
    Verified,
    /// The story is authentic, but it says the product is not safe: an active recall, or a
    /// cold-chain reading outside its thresholds.
    Unsafe,
    /// Something did not verify: tampered or forged data, a missing quorum, broken custody, a
    /// stale anchor. The story must not be trusted.
    Failed,
}

/// Where in the bundle a failure sits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Site {
    /// The bundle as a whole (format, subject, ordering).
    Bundle,
    /// The genesis document or its pinned hash.
    Genesis,
    /// `handoffs[index]`, the block at `height`.
    Handoff { index: usize, height: u64 },
    /// `governance[index]`, included at `height`.
    Governance { index: usize, height: u64 },
    /// The anchor header or its certificate.
    Anchor,
    /// `events[index]`.
    Event { index: usize, event_hash_id: String },
    /// The story as a whole (e.g. the subject's commissioning is missing).
    Story,
}

/// One thing that did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure {
    /// Stable snake_case code for programs (e.g. `bad_signature`, `bad_inclusion_proof`,
    /// `no_quorum`, `not_custodian`, `stale_anchor`).
    pub code: String,
    /// What is wrong, for a person.
    pub message: String,
    pub site: Site,
}

/// The finalised header the story is proven against.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchorInfo {
    pub height: u64,
    /// Block time, milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// Block time, RFC 3339 UTC.
    pub time: String,
    /// Lowercase hex.
    pub header_hash: String,
    pub log_size: u64,
    /// Voting power of the certificate's valid signatures, and of the whole set.
    pub signed_power: u64,
    pub total_power: u64,
}

/// A place an event names (`readPoint` / `bizLocation`), with its registered owner when the
/// identifier's company prefix belongs to a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Place {
    /// The identifier as written (e.g. `urn:epc:id:sgln:0614142.00001.0`).
    pub id: String,
    /// The participant whose company prefix the location carries, if any.
    pub operator: Option<String>,
}

/// The product itself: who made it, where and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductClaim {
    /// The subject as the bundle names it.
    pub identifier: String,
    /// The participant that commissioned the subject (or, for a product made by transformation,
    /// the one that transformed it).
    pub maker: Option<String>,
    /// `eventTime` of the commissioning, as written.
    pub made_at: Option<String>,
    pub made_where: Option<Place>,
    /// Country of origin (`cbvmda:countryOfOrigin`) of the subject or, failing that, of the
    /// earliest raw material that declares one.
    pub origin_country: Option<String>,
    pub lot: Option<String>,
    /// Instance/lot master data (`ilmd`) of the commissioning, flattened to `prefix:name` →
    /// text.
    pub master_data: BTreeMap<String, String>,
}

/// One step of the story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StepClaim {
    /// Position in `bundle.events`.
    pub event_index: usize,
    pub event_hash_id: String,
    /// A short phrase for people: "Commissioned", "Shipped to Nordic Roasters", "Packed onto
    /// pallet …", "Transformed into …", "Certified", "Recalled", "Sold".
    pub what: String,
    /// `ObjectEvent`, `AggregationEvent`, ...
    pub event_type: String,
    /// CBV short names (`shipping`, `in_transit`), or the URI as written when not CBV.
    pub biz_step: Option<String>,
    pub disposition: Option<String>,
    /// The recording participant's registered name.
    pub who: String,
    /// `eventTime` as written, and its offset.
    pub when: String,
    pub time_zone_offset: String,
    /// `eventTime` in milliseconds since the Unix epoch.
    pub when_ms: i64,
    pub where_: Option<Place>,
    /// Identifiers the step acts on that belong to the story (the subject, its containers, its
    /// inputs).
    pub identifiers: Vec<String>,
    /// Height of the including block.
    pub height: u64,
    /// False when this event failed any check (its failure is in `Verdict::failures`).
    pub verified: bool,
    /// An error declaration by the same organisation retracts this event.
    pub retracted: bool,
}

/// Who held the subject (or the container it travelled in) from when to when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustodyClaim {
    pub holder: String,
    /// `eventTime` of the event that gave the holder custody.
    pub from: String,
    /// `eventTime` of the event that ended it (`None`: holds it at the anchor).
    pub until: Option<String>,
    /// `bundle.events` positions of the events opening and closing the period.
    pub from_event: usize,
    pub until_event: Option<usize>,
}

/// A certification an event carries (`certificationInfo`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CertificationClaim {
    pub event_index: usize,
    /// The certificate's URI as the event gives it.
    pub certificate: String,
    /// The recording participant (the rules only let certifiers record certifications).
    pub issuer: String,
    /// The standard certified against, when the event declares it (GS1 Web Vocabulary
    /// `gs1:certificationStandard`).
    pub standard: Option<String>,
    pub valid_from: Option<String>,
    pub valid_until: Option<String>,
    /// Whether the anchor's time lies within the declared validity (`None`: no validity
    /// declared).
    pub valid_at_anchor: Option<bool>,
    pub verified: bool,
}

/// The temperature (or other) limits a reading is held to, and where they come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Threshold {
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// UN/CEFACT unit code, e.g. `CEL`.
    pub uom: String,
    /// "declared by the event", "declared at commissioning", "default for GTIN …", ...
    pub source: String,
}

/// One sensor report of the story.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SensorClaim {
    pub event_index: usize,
    /// Sensor type as written (e.g. `gs1:Temperature`).
    pub measurement: String,
    pub device: Option<String>,
    pub start: Option<String>,
    pub end: Option<String>,
    /// `time` of a single reading.
    pub time: Option<String>,
    pub value: Option<f64>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub mean: Option<f64>,
    pub uom: Option<String>,
    pub threshold: Option<Threshold>,
    /// `Some(false)`: outside the threshold (or the report raises an alarm); `None`: no
    /// threshold applies.
    pub within: Option<bool>,
}

/// A recall of the subject or of something it is made from or travelled in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecallClaim {
    pub event_index: usize,
    pub by: String,
    pub when: String,
    pub identifiers: Vec<String>,
    /// An error declaration by the recording organisation retracts the recall.
    pub retracted: bool,
}

/// A correction: an EPCIS 2.0 error declaration retracting an earlier event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorDeclarationClaim {
    /// Position of the declaration in `bundle.events`.
    pub event_index: usize,
    /// Event Hash ID of the retracted event.
    pub corrects: String,
    /// `errorDeclaration.reason` (CBV short name when CBV).
    pub reason: Option<String>,
    pub by: String,
    /// `errorDeclaration.declarationTime`.
    pub when: String,
}

/// Everything the verified events say about the subject.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Story {
    pub product: Option<ProductClaim>,
    /// Every event of the bundle, in `eventTime` order.
    pub steps: Vec<StepClaim>,
    pub custody: Vec<CustodyClaim>,
    pub certifications: Vec<CertificationClaim>,
    pub cold_chain: Vec<SensorClaim>,
    pub recalls: Vec<RecallClaim>,
    pub error_declarations: Vec<ErrorDeclarationClaim>,
    /// Identifiers of the story other than the subject: containers, inputs (upstream) or
    /// outputs (downstream).
    pub related: Vec<String>,
}

/// The outcome of [`super::verify::verify`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub status: VerdictStatus,
    /// One line: the verdict first, then the reason.
    pub summary: String,
    pub subject: String,
    pub scope: super::Scope,
    pub chain_id: String,
    /// Lowercase hex.
    pub genesis_hash: String,
    /// `None` when the anchor itself could not be established.
    pub anchor: Option<AnchorInfo>,
    pub story: Story,
    pub failures: Vec<Failure>,
    /// What the verifier could not check, for people to weigh (e.g. that a node may have
    /// withheld events).
    pub notes: Vec<String>,
}

impl Verdict {
    /// Process exit code of `provenance verify`: 0 verified, 1 failed or unsafe.
    pub fn exit_code(&self) -> u8 {
        match self.status {
            VerdictStatus::Verified => 0,
            VerdictStatus::Unsafe | VerdictStatus::Failed => 1,
        }
    }
}
