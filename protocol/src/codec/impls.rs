//! Canonical CBOR encodings of hash newtypes defined elsewhere in the crate: each is a 32-byte
//! CBOR byte string, exactly like a raw digest, so wrapping a digest in a type never changes bytes.

use minicbor::decode::{Decoder, Error as DecodeError};
use minicbor::encode::{Encoder, Error as EncodeError, Write};
use minicbor::{CborLen, Decode, Encode};

use crate::event_hash::EventHashId;
use crate::merkle::MerkleHash;

fn decode_32(d: &mut Decoder<'_>, what: &'static str) -> Result<[u8; 32], DecodeError> {
    let bytes = d.bytes()?;
    <[u8; 32]>::try_from(bytes).map_err(|_| DecodeError::message(what))
}

macro_rules! digest_cbor {
    ($ty:ty, $what:literal, $to:expr, $from:expr) => {
        impl<C> Encode<C> for $ty {
            fn encode<W: Write>(
                &self,
                e: &mut Encoder<W>,
                _ctx: &mut C,
            ) -> Result<(), EncodeError<W::Error>> {
                let bytes: &[u8; 32] = $to(self);
                e.bytes(bytes)?;
                Ok(())
            }
        }

        impl<'b, C> Decode<'b, C> for $ty {
            fn decode(d: &mut Decoder<'b>, _ctx: &mut C) -> Result<Self, DecodeError> {
                decode_32(d, $what).map($from)
            }
        }

        impl<C> CborLen<C> for $ty {
            fn cbor_len(&self, _ctx: &mut C) -> usize {
                // Byte-string header for length 32 is two bytes (0x58 0x20).
                2 + 32
            }
        }
    };
}

digest_cbor!(
    EventHashId,
    "Event Hash ID must be a 32-byte string",
    EventHashId::as_bytes,
    EventHashId::from_bytes
);
digest_cbor!(
    MerkleHash,
    "Merkle hash must be a 32-byte string",
    MerkleHash::as_bytes,
    MerkleHash::from_bytes
);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::to_canonical_bytes;

    #[test]
    fn digests_encode_as_plain_byte_strings() {
        let id = EventHashId::from_bytes([9; 32]);
        let bytes = to_canonical_bytes(&id);
        assert_eq!(&bytes[..2], &[0x58, 0x20]);
        assert_eq!(minicbor::decode::<EventHashId>(&bytes).unwrap(), id);
        let short = [0x58, 0x1f]
            .iter()
            .copied()
            .chain([0u8; 31])
            .collect::<Vec<_>>();
        assert!(minicbor::decode::<MerkleHash>(&short).is_err());
    }
}
