//! Tree names and the byte layout of every key and value [`super::SledStore`] writes.
//!
//! Rules that hold for every tree:
//! * integers are big-endian, so byte order is numeric order and a range scan walks heights and
//!   leaf indexes in ledger order;
//! * a variable-length text that is followed by more key bytes is written as
//!   `u32 length (BE) || bytes` ([`text_prefix`]). The length makes the prefix of one identifier
//!   never the prefix of another's entries (`"a"` vs `"ab"`, or a text containing `0x00`), so a
//!   prefix scan returns exactly one identifier's entries;
//! * structured values that are not signed objects (participants, identifier states) are JSON:
//!   small, self-describing and readable with any sled tool; signed objects keep their canonical
//!   CBOR bytes so what is served is byte-identical to what was signed.

use serde::Serialize;
use serde::de::DeserializeOwned;

use provenance_protocol::event_hash::EventHashId;
use provenance_protocol::rules::EpcKey;

use crate::store::{AggregationStay, StoreError};

/// Names of the sled trees. Changing one is a schema change.
pub(super) mod tree {
    /// Store identity and counters: see [`super::meta`].
    pub const META: &str = "meta";
    /// height (u64 BE) -> canonical `BlockHeader`.
    pub const HEADERS: &str = "headers";
    /// height (u64 BE) -> canonical `FinalityCertificate`.
    pub const CERTIFICATES: &str = "certificates";
    /// header hash (32 bytes) -> height (u64 BE).
    pub const HEADER_HEIGHTS: &str = "header_heights";
    /// Event Hash ID (32 bytes) -> [`super::encode_event_value`] of the original event.
    pub const EVENTS: &str = "events";
    /// Event Hash ID (32 bytes) -> [`super::encode_event_value`] of its error declaration.
    pub const ERROR_DECLARATIONS: &str = "error_declarations";
    /// leaf index (u64 BE) -> Event Hash ID (32 bytes) || [`super::LeafKind`] (1 byte).
    pub const LEAVES: &str = "leaves";
    /// [`super::text_entry`]`(identifier key, leaf)` -> Event Hash ID.
    pub const INDEX_EPC: &str = "index_epc";
    /// [`super::text_entry`]`(gtin14, leaf)` -> Event Hash ID.
    pub const INDEX_GTIN: &str = "index_gtin";
    /// [`super::lot_entry`]`(gtin14, lot, leaf)` -> Event Hash ID.
    pub const INDEX_LOT: &str = "index_lot";
    /// output identifier key -> JSON list of input keys (trace back).
    pub const TRANSFORMED_FROM: &str = "transformed_from";
    /// [`super::pair_key`]`(input, output)` -> empty (trace forward).
    pub const TRANSFORMED_INTO: &str = "transformed_into";
    /// [`super::text_entry`]`(identifier, from_leaf)` -> [`super::encode_stay`].
    pub const AGGREGATION: &str = "aggregation_history";
    /// height (u64 BE) -> canonical `BlockBody` without its events (governance, evidence, next
    /// validators), for blocks that have any of those. Events are stored once, in `events`.
    pub const BODY_EXTRAS: &str = "body_extras";
    /// participant name -> JSON `ParticipantEntry` (registry; removed participants stay).
    pub const PARTICIPANTS: &str = "state_participants";
    /// key (32 bytes) -> JSON `KeyRecord`: every signing and network key ever registered.
    pub const PARTICIPANT_KEYS: &str = "state_keys";
    /// company prefix -> participant name.
    pub const PREFIXES: &str = "state_prefixes";
    /// height (u64 BE) -> JSON `ValidatorSet` certifying blocks from that height on.
    pub const VALIDATOR_SETS: &str = "state_validator_sets";
    /// nonce (u64 BE) -> empty: governance proposals applied.
    pub const GOVERNANCE_NONCES: &str = "state_governance_nonces";
    /// JSON `Offence` -> empty: equivocations committed as evidence.
    pub const OFFENCES: &str = "state_offences";
    /// signer key (32 bytes) -> last accepted sequence (u64 BE).
    pub const SEQUENCES: &str = "state_sequences";
    /// identifier key -> JSON `EpcState`.
    pub const EPC_STATES: &str = "state_epcs";
    /// [`super::pair_key`]`(parent, child)` -> leaf index (u64 BE) of the event that put it in.
    pub const CHILDREN: &str = "state_children";
    /// `merkle::node_key(level, index)` -> 32-byte hash (level 0, the leaf hashes, included).
    pub const MERKLE_NODES: &str = "merkle_nodes";
    /// admission key (u64 BE) -> canonical `SignedEvent` (durable mempool).
    pub const PENDING: &str = "pending";
    /// [`super::meta::SIGNED_STATE`] -> this validator's consensus signing state (JSON, owned
    /// by the consensus module), written and flushed before anything it signs is sent.
    pub const CONSENSUS_STATE: &str = "consensus_state";
    /// [`super::proposal`]`(height, header hash)` -> canonical `Block` this validator proposed,
    /// kept until decided so a restarted validator can serve and commit what it signed.
    pub const PROPOSALS: &str = "proposals";
}

/// Keys of the `meta` tree.
pub(super) mod meta {
    /// u32 BE: [`crate::store::SCHEMA_VERSION`] of the data.
    pub const SCHEMA_VERSION: &[u8] = b"schema_version";
    /// UTF-8 chain id of the genesis the store was created with.
    pub const CHAIN_ID: &[u8] = b"chain_id";
    /// 32 bytes: that genesis's hash.
    pub const GENESIS_HASH: &[u8] = b"genesis_hash";
    /// Key of the one entry of the consensus-state tree.
    pub const SIGNED_STATE: &[u8] = b"signed_state";
    /// u64 BE: height of the newest committed block (0 before the first).
    pub const HEAD_HEIGHT: &[u8] = b"head_height";
    /// u64 BE: number of leaves in the Merkle log.
    pub const LOG_SIZE: &[u8] = b"log_size";
}

/// What a Merkle leaf is: an original event or an error declaration (which shares the ID of the
/// event it corrects, so the ID alone does not say which record the leaf holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeafKind {
    Event = 0,
    ErrorDeclaration = 1,
}

/// A [`StoreError::Corrupt`] saying what is wrong.
pub(super) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt { what: what.into() }
}

pub(super) fn u64_be(value: u64) -> [u8; 8] {
    value.to_be_bytes()
}

/// Decodes a stored u64; `what` names the value in the error.
pub(super) fn decode_u64(bytes: &[u8], what: &str) -> Result<u64, StoreError> {
    <[u8; 8]>::try_from(bytes)
        .map(u64::from_be_bytes)
        .map_err(|_| corrupt(format!("{what} is {} bytes, expected 8", bytes.len())))
}

/// Decodes a stored u32; `what` names the value in the error.
pub(super) fn decode_u32(bytes: &[u8], what: &str) -> Result<u32, StoreError> {
    <[u8; 4]>::try_from(bytes)
        .map(u32::from_be_bytes)
        .map_err(|_| corrupt(format!("{what} is {} bytes, expected 4", bytes.len())))
}

/// Decodes a stored 32-byte hash; `what` names the value in the error.
pub(super) fn decode_hash(bytes: &[u8], what: &str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(bytes)
        .map_err(|_| corrupt(format!("{what} is {} bytes, expected 32", bytes.len())))
}

/// `u32 length (BE) || text`: the scan prefix of every entry about `text`.
pub(super) fn text_prefix(text: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(4 + text.len());
    push_text(&mut key, text);
    key
}

fn push_text(key: &mut Vec<u8>, text: &str) {
    // Texts here are identifiers from events of at most 128 KiB, far below u32::MAX.
    let len = u32::try_from(text.len()).unwrap_or(u32::MAX);
    key.extend_from_slice(&len.to_be_bytes());
    key.extend_from_slice(text.as_bytes());
}

/// `text_prefix(text) || leaf (u64 BE)`: entries of one text sort by leaf, i.e. ledger order.
pub(super) fn text_entry(text: &str, leaf: u64) -> Vec<u8> {
    let mut key = text_prefix(text);
    key.extend_from_slice(&u64_be(leaf));
    key
}

/// `text_prefix(gtin) || text_prefix(lot)`: the scan prefix of one lot's entries.
pub(super) fn lot_prefix(gtin: &str, lot: &str) -> Vec<u8> {
    let mut key = text_prefix(gtin);
    push_text(&mut key, lot);
    key
}

/// `lot_prefix(gtin, lot) || leaf (u64 BE)`.
pub(super) fn lot_entry(gtin: &str, lot: &str, leaf: u64) -> Vec<u8> {
    let mut key = lot_prefix(gtin, lot);
    key.extend_from_slice(&u64_be(leaf));
    key
}

/// `text_prefix(first) || second`: `second` is written raw so that one `first`'s entries sort by
/// `second` exactly as `String`s sort (byte order), matching the in-memory reference state.
pub(super) fn pair_key(first: &str, second: &str) -> Vec<u8> {
    let mut key = text_prefix(first);
    key.extend_from_slice(second.as_bytes());
    key
}

/// The `second` of a [`pair_key`] whose `first` had the scan prefix `prefix`.
pub(super) fn pair_second(key: &[u8], prefix: &[u8]) -> Result<EpcKey, StoreError> {
    let rest = key
        .strip_prefix(prefix)
        .ok_or_else(|| corrupt("index key does not start with the scanned prefix"))?;
    String::from_utf8(rest.to_vec())
        .map(EpcKey)
        .map_err(|_| corrupt("identifier in an index key is not UTF-8"))
}

/// The trailing leaf index of a [`text_entry`] or [`lot_entry`].
pub(super) fn entry_leaf(key: &[u8]) -> Result<u64, StoreError> {
    let start = key
        .len()
        .checked_sub(8)
        .ok_or_else(|| corrupt("index key is shorter than its leaf index"))?;
    decode_u64(
        key.get(start..).unwrap_or_default(),
        "leaf index in an index key",
    )
}

/// Value of the `events` and `error_declarations` trees:
/// `leaf (u64 BE) || height (u64 BE) || canonical SignedEvent`.
pub(super) fn encode_event_value(leaf: u64, height: u64, record: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(16 + record.len());
    value.extend_from_slice(&u64_be(leaf));
    value.extend_from_slice(&u64_be(height));
    value.extend_from_slice(record);
    value
}

/// Splits an event value into `(leaf, height, record bytes)`.
pub(super) fn split_event_value(value: &[u8]) -> Result<(u64, u64, &[u8]), StoreError> {
    if value.len() < 16 {
        return Err(corrupt(format!(
            "stored event value is {} bytes, shorter than its 16-byte position header",
            value.len()
        )));
    }
    let (position, record) = value.split_at(16);
    let (leaf, height) = position.split_at(8);
    Ok((
        decode_u64(leaf, "leaf index of a stored event")?,
        decode_u64(height, "height of a stored event")?,
        record,
    ))
}

/// Value of the `leaves` tree: `Event Hash ID || kind`.
pub(super) fn encode_leaf(id: &EventHashId, kind: LeafKind) -> [u8; 33] {
    let mut value = [0u8; 33];
    value[..32].copy_from_slice(id.as_bytes());
    value[32] = kind as u8;
    value
}

/// Decodes a `leaves` value of leaf `leaf`.
pub(super) fn decode_leaf(value: &[u8], leaf: u64) -> Result<(EventHashId, LeafKind), StoreError> {
    let bad = || corrupt(format!("entry of Merkle leaf {leaf} is malformed"));
    let (id, kind) = value.split_first_chunk::<32>().ok_or_else(bad)?;
    let kind = match kind {
        [0] => LeafKind::Event,
        [1] => LeafKind::ErrorDeclaration,
        _ => return Err(bad()),
    };
    Ok((EventHashId::from_bytes(*id), kind))
}

/// Value of the aggregation history: `0x00` (still inside) or `0x01 || to_leaf (u64 BE)`,
/// then the parent's key.
pub(super) fn encode_stay(parent: &EpcKey, to_leaf: Option<u64>) -> Vec<u8> {
    let mut value = Vec::with_capacity(9 + parent.0.len());
    match to_leaf {
        None => value.push(0),
        Some(leaf) => {
            value.push(1);
            value.extend_from_slice(&u64_be(leaf));
        }
    }
    value.extend_from_slice(parent.0.as_bytes());
    value
}

/// Decodes an aggregation-history entry.
pub(super) fn decode_stay(key: &[u8], value: &[u8]) -> Result<AggregationStay, StoreError> {
    let from_leaf = entry_leaf(key)?;
    let bad = || {
        corrupt(format!(
            "aggregation history entry from leaf {from_leaf} is malformed"
        ))
    };
    let (to_leaf, parent) = match value.split_first() {
        Some((0, parent)) => (None, parent),
        Some((1, rest)) => {
            let (to, parent) = rest.split_first_chunk::<8>().ok_or_else(bad)?;
            (Some(u64::from_be_bytes(*to)), parent)
        }
        _ => return Err(bad()),
    };
    let parent = String::from_utf8(parent.to_vec()).map_err(|_| bad())?;
    Ok(AggregationStay {
        parent: EpcKey(parent),
        from_leaf,
        to_leaf,
    })
}

/// JSON bytes of a state value.
pub(super) fn to_json<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, StoreError> {
    // Only maps with non-string keys fail to serialise; no stored type has one.
    serde_json::to_vec(value).map_err(|e| corrupt(format!("cannot encode {what}: {e}")))
}

/// Decodes a JSON state value; `what` names it in the error.
pub(super) fn from_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| corrupt(format!("{what} does not decode: {e}")))
}

/// Key of a recorded proposal: height (u64 BE) then header hash, so proposals sort by height.
pub fn proposal(height: u64, header_hash: &[u8; 32]) -> Vec<u8> {
    let mut key = Vec::with_capacity(40);
    key.extend_from_slice(&height.to_be_bytes());
    key.extend_from_slice(header_hash);
    key
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn values_round_trip() {
        let id = EventHashId::from_bytes([7; 32]);
        for kind in [LeafKind::Event, LeafKind::ErrorDeclaration] {
            assert_eq!(decode_leaf(&encode_leaf(&id, kind), 3).unwrap(), (id, kind));
        }
        assert!(decode_leaf(&[0; 32], 3).is_err());
        assert!(decode_leaf(&[0; 34], 3).is_err());
        let value = encode_event_value(5, 9, b"record");
        assert_eq!(split_event_value(&value).unwrap(), (5, 9, &b"record"[..]));
        assert!(split_event_value(&value[..15]).is_err());
        let parent = EpcKey("https://id.gs1.org/00/106141412345678908".into());
        for to in [None, Some(12)] {
            let stay = decode_stay(&text_entry("x", 4), &encode_stay(&parent, to)).unwrap();
            assert_eq!(
                stay,
                AggregationStay {
                    parent: parent.clone(),
                    from_leaf: 4,
                    to_leaf: to
                }
            );
        }
        assert!(decode_stay(&text_entry("x", 4), &[2]).is_err());
        assert!(decode_stay(&[1, 2], &[0]).is_err());
        assert!(decode_u64(&[1; 7], "x").is_err());
        assert!(decode_u32(&[1; 5], "x").is_err());
        assert!(decode_hash(&[1; 31], "x").is_err());
    }

    proptest! {
        /// A prefix scan for one text never yields entries of another text, and entries of one
        /// text come out in leaf order.
        #[test]
        fn text_entries_are_isolated_and_sorted_by_leaf(
            a in "[a-c\u{0}]{0,4}", b in "[a-c\u{0}]{0,4}", x in any::<u64>(), y in any::<u64>()
        ) {
            let pa = text_prefix(&a);
            prop_assert_eq!(text_entry(&b, y).starts_with(&pa), a == b);
            prop_assert_eq!(text_entry(&a, x) < text_entry(&a, y), x < y);
            prop_assert_eq!(entry_leaf(&text_entry(&a, x)).unwrap(), x);
            prop_assert_eq!(lot_entry(&b, &a, y).starts_with(&lot_prefix(&a, &b)), a == b);
            prop_assert_eq!(entry_leaf(&lot_entry(&a, &b, x)).unwrap(), x);
        }

        /// Pair keys of one first text sort by the second text exactly as strings do, and give
        /// the second text back.
        #[test]
        fn pair_keys_sort_like_strings(
            first in "[a-c]{0,3}", s in "\\PC{0,6}", t in "\\PC{0,6}", other in "[a-c]{0,3}"
        ) {
            let prefix = text_prefix(&first);
            prop_assert_eq!(pair_key(&first, &s).cmp(&pair_key(&first, &t)), s.cmp(&t));
            prop_assert_eq!(pair_second(&pair_key(&first, &s), &prefix).unwrap().0, s.clone());
            prop_assert_eq!(pair_key(&other, &t).starts_with(&prefix), other == first);
        }
    }
}
