//! `SignedEvent`: an EPCIS event as its signer submitted it, bound to a signer, a sequence number
//! and a chain.
//!
//! ## Why two hashes
//!
//! The CBV 2.0 Event Hash ID is the event's identity across the industry, but by design it leaves
//! some fields out (`recordTime`, `eventID`, ...). A consumer is shown the whole event, so the
//! signature must cover every byte of it: `content_hash` is the domain-separated SHA-256 of the
//! event's RFC 8785 canonical JSON, and the signature covers both hashes. Verification recomputes
//! both from the event itself; neither is ever taken on trust.
//!
//! ## Wire forms
//!
//! * canonical CBOR (what is hashed into the Merkle log, stored and gossiped);
//! * JSON for people and HTTP (`event` as a JSON object, hashes and keys as lowercase hex). The
//!   JSON form carries the same information: the event object is re-canonicalised on the way in.

use minicbor::{Decode, Encode};
use serde::{Deserialize, Serialize};

use crate::codec::{self, Canonical, CodecError, HashDomain};
use crate::crypto::{self, PublicKey, Signature, SigningDomain, SigningKey};
use crate::epcis::{self, EpcisEvent};
use crate::event_hash::{self, EventHashId, JsonLdContext};

/// Largest canonical event JSON accepted (bytes). An event with a large `epcList` fits; a
/// multi-megabyte blob does not. Named so the node can answer "413: event too large".
pub const MAX_EVENT_JSON_BYTES: usize = 128 * 1024;

/// Largest encoded `SignedEvent` (event + fixed overhead).
pub const MAX_SIGNED_EVENT_BYTES: usize = MAX_EVENT_JSON_BYTES + 1024;

/// Largest chain id, in bytes.
pub const MAX_CHAIN_ID_BYTES: usize = 64;

/// A 32-byte SHA-256 digest.
pub type Digest32 = [u8; 32];

/// An EPCIS event signed by a registered participant.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(map)]
pub struct SignedEvent {
    /// The network this event is meant for; also part of the signing domain.
    #[n(0)]
    pub chain_id: String,
    /// The organisation's signing key (not its node's network key).
    #[n(1)]
    pub signer: PublicKey,
    /// Per-signer sequence number: exactly one more than the signer's last accepted event.
    #[n(2)]
    pub sequence: u64,
    /// GS1 CBV 2.0 Event Hash ID of `event`.
    #[n(3)]
    pub event_hash_id: EventHashId,
    /// `domain_hash(EventContent, event)`.
    #[n(4)]
    #[cbor(with = "minicbor::bytes")]
    pub content_hash: Digest32,
    /// The EPCIS 2.0 event as RFC 8785 canonical JSON. Self-contained: its `@context` declares
    /// every namespace prefix it uses.
    #[n(5)]
    pub event: String,
    /// Signature over the canonical [`EventSigningPayload`] in domain [`SigningDomain::Event`].
    #[n(6)]
    pub signature: Signature,
}

impl Canonical for SignedEvent {
    const KIND: &'static str = "SignedEvent";
}

/// One leaf of the global event log (see [`SignedEvent::leaf_data`]).
#[derive(Debug, Encode)]
#[cbor(map)]
struct LogLeaf<'a> {
    #[n(0)]
    height: u64,
    #[n(1)]
    record: &'a SignedEvent,
}

/// What the signer's signature covers. The event itself is covered through `content_hash`.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
#[cbor(map)]
pub struct EventSigningPayload {
    #[n(0)]
    pub signer: PublicKey,
    #[n(1)]
    pub sequence: u64,
    #[n(2)]
    pub event_hash_id: EventHashId,
    #[n(3)]
    #[cbor(with = "minicbor::bytes")]
    pub content_hash: Digest32,
}

impl Canonical for EventSigningPayload {
    const KIND: &'static str = "EventSigningPayload";
}

/// Why a `SignedEvent` is not acceptable on its own (before any ledger rule is consulted).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecordError {
    #[error("event is for chain {found:?}, this network is {expected:?}")]
    WrongChain { expected: String, found: String },
    #[error("chain id is {len} bytes; the limit is {MAX_CHAIN_ID_BYTES}")]
    ChainIdTooLong { len: usize },
    #[error("event JSON is {len} bytes; the limit is {limit} bytes")]
    EventTooLarge { len: usize, limit: usize },
    #[error("event is not canonical JSON: {0}")]
    EventEncoding(#[source] CodecError),
    #[error("event is not a JSON object")]
    EventNotObject,
    #[error("event content hash does not match the event (claimed {claimed}, computed {computed})")]
    ContentHashMismatch { claimed: String, computed: String },
    #[error("event is not valid EPCIS 2.0: {0}")]
    InvalidEpcis(#[source] epcis::ValidationReport),
    #[error("cannot compute the CBV Event Hash ID: {0}")]
    EventHash(#[source] event_hash::EventHashError),
    #[error("Event Hash ID mismatch: claimed {claimed}, computed {computed}")]
    EventHashMismatch {
        claimed: EventHashId,
        computed: EventHashId,
    },
    #[error("signature does not verify for signer {signer}: {source}")]
    BadSignature {
        signer: PublicKey,
        #[source]
        source: crypto::SignatureError,
    },
    #[error("invalid signed event JSON: {0}")]
    Json(String),
}

/// A `SignedEvent` whose signature, hashes and EPCIS validity have been checked, with the parsed
/// event alongside so later stages do not parse again.
#[derive(Debug, Clone)]
pub struct VerifiedEvent {
    pub record: SignedEvent,
    pub event: EpcisEvent,
}

impl SignedEvent {
    /// Signs `event` (any JSON object that is a valid EPCIS 2.0 event) as `key`.
    ///
    /// The event is canonicalised first; the returned record verifies with [`SignedEvent::verify`].
    pub fn sign(
        key: &SigningKey,
        chain_id: &str,
        sequence: u64,
        event: &serde_json::Value,
    ) -> Result<Self, RecordError> {
        check_chain_id(chain_id)?;
        let text = codec::canonical_json(event).map_err(RecordError::EventEncoding)?;
        check_event_size(&text)?;
        let (_, event_hash_id) = parse_and_hash(event)?;
        let content_hash = codec::domain_hash(HashDomain::EventContent, text.as_bytes());
        let signer = key.public_key();
        let payload = EventSigningPayload {
            signer,
            sequence,
            event_hash_id,
            content_hash,
        };
        let signature = crypto::sign(
            key,
            SigningDomain::Event,
            chain_id,
            &payload.to_canonical_bytes(),
        );
        Ok(SignedEvent {
            chain_id: chain_id.to_owned(),
            signer,
            sequence,
            event_hash_id,
            content_hash,
            event: text,
            signature,
        })
    }

    /// The payload the signature covers.
    pub fn signing_payload(&self) -> EventSigningPayload {
        EventSigningPayload {
            signer: self.signer,
            sequence: self.sequence,
            event_hash_id: self.event_hash_id,
            content_hash: self.content_hash,
        }
    }

    /// Cheap structural checks that need no parsing and no signature: chain, sizes.
    ///
    /// The node runs these before spending CPU on [`SignedEvent::verify`].
    pub fn check_cheap(&self, expected_chain_id: &str) -> Result<(), RecordError> {
        check_chain_id(&self.chain_id)?;
        if self.chain_id != expected_chain_id {
            return Err(RecordError::WrongChain {
                expected: expected_chain_id.to_owned(),
                found: self.chain_id.clone(),
            });
        }
        check_event_size(&self.event)
    }

    /// Full stateless verification: chain, size, canonical JSON, content hash, EPCIS validity,
    /// CBV Event Hash ID, and the strict ed25519 signature. Ledger rules come afterwards.
    pub fn verify(&self, expected_chain_id: &str) -> Result<VerifiedEvent, RecordError> {
        let (event, _) = self.verify_contents(expected_chain_id)?;
        self.verify_signature()?;
        Ok(VerifiedEvent {
            record: self.clone(),
            event,
        })
    }

    /// Everything [`SignedEvent::verify`] checks except the signature, so callers that verify
    /// signatures in batches can do that step separately.
    pub fn verify_contents(
        &self,
        expected_chain_id: &str,
    ) -> Result<(EpcisEvent, serde_json::Value), RecordError> {
        self.check_cheap(expected_chain_id)?;
        let value = codec::parse_canonical_json(&self.event).map_err(RecordError::EventEncoding)?;
        let computed = codec::domain_hash(HashDomain::EventContent, self.event.as_bytes());
        if computed != self.content_hash {
            return Err(RecordError::ContentHashMismatch {
                claimed: hex::encode(self.content_hash),
                computed: hex::encode(computed),
            });
        }
        let (event, event_hash_id) = parse_and_hash(&value)?;
        if event_hash_id != self.event_hash_id {
            return Err(RecordError::EventHashMismatch {
                claimed: self.event_hash_id,
                computed: event_hash_id,
            });
        }
        Ok((event, value))
    }

    /// Strict ed25519 verification of the signature alone.
    pub fn verify_signature(&self) -> Result<(), RecordError> {
        crypto::verify(
            &self.signer,
            SigningDomain::Event,
            &self.chain_id,
            &self.signing_payload().to_canonical_bytes(),
            &self.signature,
        )
        .map_err(|source| RecordError::BadSignature {
            signer: self.signer,
            source,
        })
    }

    /// The RFC 6962 leaf data of this record in the global event log, included at `height`: the
    /// canonical CBOR of `{0: height, 1: record}`. Committing to the height makes an inclusion
    /// proof also prove which block included the event (RFC 6962 leaves carry a timestamp for the
    /// same reason), so a bundle's heights cannot be altered.
    pub fn leaf_data(&self, height: u64) -> Vec<u8> {
        codec::to_canonical_bytes(&LogLeaf {
            height,
            record: self,
        })
    }

    /// The RFC 6962 leaf hash of this record included at `height`.
    pub fn leaf_hash(&self, height: u64) -> crate::merkle::MerkleHash {
        crate::merkle::leaf_hash(&self.leaf_data(height))
    }

    /// The event as a JSON value (the canonical text parsed back).
    pub fn event_json(&self) -> Result<serde_json::Value, RecordError> {
        serde_json::from_str(&self.event).map_err(|e| RecordError::Json(e.to_string()))
    }
}

fn check_chain_id(chain_id: &str) -> Result<(), RecordError> {
    if chain_id.len() > MAX_CHAIN_ID_BYTES {
        return Err(RecordError::ChainIdTooLong {
            len: chain_id.len(),
        });
    }
    Ok(())
}

fn check_event_size(text: &str) -> Result<(), RecordError> {
    if text.len() > MAX_EVENT_JSON_BYTES {
        return Err(RecordError::EventTooLarge {
            len: text.len(),
            limit: MAX_EVENT_JSON_BYTES,
        });
    }
    Ok(())
}

/// Validates the event as EPCIS 2.0 and computes its CBV Event Hash ID with the event's own
/// `@context` (a signed event must be self-contained).
fn parse_and_hash(value: &serde_json::Value) -> Result<(EpcisEvent, EventHashId), RecordError> {
    if !value.is_object() {
        return Err(RecordError::EventNotObject);
    }
    let (_, event) = epcis::validate_event(value, "$", None)
        .map_err(RecordError::InvalidEpcis)?
        .into_parts();
    let context = JsonLdContext::default().with_event(value);
    let id = event_hash::event_hash_id(value, &context).map_err(RecordError::EventHash)?;
    Ok((event, id))
}

/// JSON form of a [`SignedEvent`] for people and HTTP clients.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SignedEventJson {
    chain_id: String,
    signer: PublicKey,
    sequence: u64,
    event_hash_id: EventHashId,
    #[serde(with = "crate::codec::hex32")]
    content_hash: Digest32,
    event: serde_json::Value,
    signature: Signature,
}

impl Serialize for SignedEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = serde_json::from_str(&self.event).map_err(serde::ser::Error::custom)?;
        SignedEventJson {
            chain_id: self.chain_id.clone(),
            signer: self.signer,
            sequence: self.sequence,
            event_hash_id: self.event_hash_id,
            content_hash: self.content_hash,
            event,
            signature: self.signature,
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for SignedEvent {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = SignedEventJson::deserialize(deserializer)?;
        let event = codec::canonical_json(&json.event).map_err(serde::de::Error::custom)?;
        Ok(SignedEvent {
            chain_id: json.chain_id,
            signer: json.signer,
            sequence: json.sequence,
            event_hash_id: json.event_hash_id,
            content_hash: json.content_hash,
            event,
            signature: json.signature,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const CHAIN: &str = "record-test";

    fn event() -> serde_json::Value {
        json!({
            "@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",
                         {"ex": "https://ns.example.com/epcis/"}],
            "type": "ObjectEvent",
            "eventTime": "2025-03-01T08:30:00.000Z",
            "eventTimeZoneOffset": "+00:00",
            "recordTime": "2025-03-01T08:31:00.000Z",
            "epcList": ["urn:epc:id:sgtin:0614141.107346.2017"],
            "action": "OBSERVE",
            "bizStep": "inspecting",
            "ex:note": "weighed 1.50 kg"
        })
    }

    fn signed() -> SignedEvent {
        SignedEvent::sign(&SigningKey::from_seed([3; 32]), CHAIN, 1, &event()).unwrap()
    }

    #[test]
    fn signed_event_verifies_and_round_trips_as_cbor_and_json() {
        let record = signed();
        let verified = record.verify(CHAIN).unwrap();
        assert_eq!(verified.record, record);
        let bytes = record.to_canonical_bytes();
        assert_eq!(
            SignedEvent::from_canonical_bytes(&bytes, MAX_SIGNED_EVENT_BYTES).unwrap(),
            record
        );
        let json = serde_json::to_string_pretty(&record).unwrap();
        let back: SignedEvent = serde_json::from_str(&json).unwrap();
        assert_eq!(back, record);
        back.verify(CHAIN).unwrap();
    }

    #[test]
    fn wrong_chain_is_refused_before_anything_expensive() {
        let err = signed().verify("other-chain").unwrap_err();
        assert!(matches!(err, RecordError::WrongChain { .. }), "{err}");
    }

    #[test]
    fn fields_outside_the_cbv_hash_are_still_signed() {
        // recordTime is not part of the CBV Event Hash ID, but a consumer is shown it.
        let mut record = signed();
        let mut value = record.event_json().unwrap();
        value["recordTime"] = json!("2030-01-01T00:00:00.000Z");
        record.event = codec::canonical_json(&value).unwrap();
        let err = record.verify(CHAIN).unwrap_err();
        assert!(
            matches!(err, RecordError::ContentHashMismatch { .. }),
            "{err}"
        );
        // Fixing up the content hash still leaves the signature broken.
        record.content_hash = codec::domain_hash(HashDomain::EventContent, record.event.as_bytes());
        let err = record.verify(CHAIN).unwrap_err();
        assert!(matches!(err, RecordError::BadSignature { .. }), "{err}");
    }

    #[test]
    fn claimed_event_hash_id_must_match_the_event() {
        let mut record = signed();
        record.event_hash_id = EventHashId::from_bytes([0; 32]);
        let err = record.verify(CHAIN).unwrap_err();
        assert!(
            matches!(err, RecordError::EventHashMismatch { .. }),
            "{err}"
        );
    }

    #[test]
    fn non_canonical_or_invalid_events_are_refused() {
        let mut record = signed();
        record.event = record.event.replacen('{', "{ ", 1);
        assert!(matches!(
            record.verify(CHAIN),
            Err(RecordError::EventEncoding(_))
        ));
        let mut bad = event();
        bad["action"] = json!("SHIP");
        let err = SignedEvent::sign(&SigningKey::from_seed([3; 32]), CHAIN, 1, &bad).unwrap_err();
        assert!(err.to_string().contains("action"), "{err}");
        let huge = json!({"type": "ObjectEvent", "x": "a".repeat(MAX_EVENT_JSON_BYTES)});
        assert!(matches!(
            SignedEvent::sign(&SigningKey::from_seed([3; 32]), CHAIN, 1, &huge),
            Err(RecordError::EventTooLarge { .. })
        ));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        /// Any change to the stored bytes is either refused by the strict decoder or by
        /// verification: no mutation yields another valid record.
        #[test]
        fn any_byte_flip_breaks_decoding_or_verification(
            pos in any::<prop::sample::Index>(), xor in 1u8..=255
        ) {
            let record = signed();
            let mut bytes = record.to_canonical_bytes();
            let i = pos.index(bytes.len());
            bytes[i] ^= xor;
            if let Ok(mutated) = SignedEvent::from_canonical_bytes(&bytes, MAX_SIGNED_EVENT_BYTES) {
                prop_assert!(mutated.verify(CHAIN).is_err() || mutated == record);
            }
        }
    }
}
