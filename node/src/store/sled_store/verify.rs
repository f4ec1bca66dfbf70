//! Start-up integrity check of the head: is what the store holds still what was finalised?
//!
//! Cheap (a few dozen reads and one certificate verification) and run before the node serves or
//! extends anything, so a damaged disk or a hand-edited store is caught at start, not after the
//! node has signed or served something built on it.

use provenance_protocol::genesis::Genesis;
use provenance_protocol::merkle;

use super::SledStore;
use super::keys::corrupt;
use crate::store::{LedgerStore, StoreError, StoredEvent};

impl SledStore {
    /// Verifies the head against itself and `genesis`:
    ///
    /// * the Merkle root recomputed from stored nodes at the stored log size is the head header's
    ///   `log_root`, and the sizes agree;
    /// * the newest leaf's stored event hashes to the stored leaf node;
    /// * the head certificate finalises the head header under the genesis validator set;
    /// * the head header links to the previous header (or, at height 1, to the genesis hash) and
    ///   the header-hash index points at it.
    ///
    /// Any mismatch is [`StoreError::Corrupt`] naming what is broken; a `genesis` other than the
    /// one the store was created with is [`StoreError::WrongChain`].
    ///
    /// The head's certificate is checked against the validator set the stored registry
    /// assigns to the head's height (which follows every governance hand-off), and that set
    /// must be the one the header names.
    pub fn verify_head(&self, genesis: &Genesis) -> Result<(), StoreError> {
        self.check_chain(genesis)?;
        let log_size = self.log_size()?;
        let Some(head) = self.head()? else {
            if log_size != 0 {
                return Err(corrupt(format!(
                    "no block is committed, but the log size is {log_size}"
                )));
            }
            return Ok(());
        };
        let header = &head.header;
        let height = header.height;
        if header.log_size != log_size {
            return Err(corrupt(format!(
                "the stored log size is {log_size} but head header {height} says {}",
                header.log_size
            )));
        }
        let root = merkle::root_at(self, log_size).map_err(|e| {
            corrupt(format!(
                "cannot recompute the log root at size {log_size}: {e}"
            ))
        })?;
        if root.to_bytes() != header.log_root {
            return Err(corrupt(format!(
                "log root at size {log_size} is {root} but head header {height} says {}",
                hex::encode(header.log_root)
            )));
        }
        if let Some(last) = log_size.checked_sub(1) {
            self.verify_leaf(last)?;
        }
        let validators = self
            .try_scheduled_validator_set(height)?
            .map(|(_, set)| set)
            .ok_or_else(|| corrupt(format!("no validator set is recorded for height {height}")))?;
        head.certificate.verify(header, &validators).map_err(|e| {
            corrupt(format!(
                "certificate of head block {height} does not verify: {e}"
            ))
        })?;
        let header_hash = header.hash();
        if self.height_of(&header_hash)? != Some(height) {
            return Err(corrupt(format!(
                "the header-hash index does not point {} at head block {height}",
                hex::encode(header_hash)
            )));
        }
        let (expected, what) = match height.checked_sub(1).filter(|h| *h > 0) {
            Some(previous) => (
                self.header(previous)?
                    .ok_or_else(|| {
                        corrupt(format!("block {previous} below the head has no header"))
                    })?
                    .hash(),
                format!("the hash of header {previous}"),
            ),
            None => (genesis.hash().0, "the genesis hash".to_owned()),
        };
        if header.prev_hash != expected {
            return Err(corrupt(format!(
                "head header {height} links to {} but {what} is {}",
                hex::encode(header.prev_hash),
                hex::encode(expected)
            )));
        }
        Ok(())
    }

    /// The record stored for leaf `leaf` hashes to the stored leaf node.
    fn verify_leaf(&self, leaf: u64) -> Result<(), StoreError> {
        let StoredEvent { record, height, .. } = self.record_at(leaf)?;
        let stored = merkle::NodeStore::get(self, 0, leaf)?
            .ok_or_else(|| corrupt(format!("Merkle leaf node {leaf} is missing")))?;
        let computed = record.leaf_hash(height);
        if stored != computed {
            return Err(corrupt(format!(
                "Merkle leaf {leaf} is stored as {stored} but its event {} hashes to {computed}",
                record.event_hash_id
            )));
        }
        Ok(())
    }
}
