//! CBOR encoding of keys and signatures: a definite-length byte string of exactly 32 (key) or
//! 64 (signature) bytes. Decoding applies the same validation as every other constructor, so a
//! [`PublicKey`] read from CBOR is as trustworthy as one parsed from hex.

use minicbor::decode::{Decoder, Error as DecodeError};
use minicbor::encode::{Encoder, Error as EncodeError, Write};
use minicbor::{CborLen, Decode, Encode};

use super::public_key::{PUBLIC_KEY_LENGTH, PublicKey};
use super::signature::{SIGNATURE_LENGTH, Signature};

/// Size of the CBOR header of a byte string of length 24..=255 (major type 2, one length byte).
const BYTE_STRING_HEADER: usize = 2;

impl<C> Encode<C> for PublicKey {
    fn encode<W: Write>(
        &self,
        e: &mut Encoder<W>,
        _ctx: &mut C,
    ) -> Result<(), EncodeError<W::Error>> {
        e.bytes(self.as_bytes())?.ok()
    }
}

impl<C> CborLen<C> for PublicKey {
    fn cbor_len(&self, _ctx: &mut C) -> usize {
        BYTE_STRING_HEADER + PUBLIC_KEY_LENGTH
    }
}

impl<'b, C> Decode<'b, C> for PublicKey {
    fn decode(d: &mut Decoder<'b>, _ctx: &mut C) -> Result<Self, DecodeError> {
        let position = d.position();
        let bytes = d.bytes()?;
        PublicKey::from_slice(bytes).map_err(|error| DecodeError::message(error).at(position))
    }
}

impl<C> Encode<C> for Signature {
    fn encode<W: Write>(
        &self,
        e: &mut Encoder<W>,
        _ctx: &mut C,
    ) -> Result<(), EncodeError<W::Error>> {
        e.bytes(&self.to_bytes())?.ok()
    }
}

impl<C> CborLen<C> for Signature {
    fn cbor_len(&self, _ctx: &mut C) -> usize {
        BYTE_STRING_HEADER + SIGNATURE_LENGTH
    }
}

impl<'b, C> Decode<'b, C> for Signature {
    fn decode(d: &mut Decoder<'b>, _ctx: &mut C) -> Result<Self, DecodeError> {
        let position = d.position();
        let bytes = d.bytes()?;
        Signature::from_slice(bytes).map_err(|error| DecodeError::message(error).at(position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::SigningKey;
    use crate::crypto::test_support::SMALL_ORDER_POINTS;
    use proptest::prelude::*;

    #[test]
    fn public_key_is_a_32_byte_string() {
        let key = SigningKey::from_seed([7; 32]).public_key();
        let encoded = minicbor::to_vec(key).unwrap();
        assert_eq!(encoded[..2], [0x58, 0x20]);
        assert_eq!(&encoded[2..], key.as_bytes());
        assert_eq!(encoded.len(), minicbor::len(key));
        assert_eq!(minicbor::decode::<PublicKey>(&encoded).unwrap(), key);
    }

    #[test]
    fn decoding_validates_keys_and_lengths() {
        let mut small_order = vec![0x58, 0x20];
        small_order.extend(::hex::decode(SMALL_ORDER_POINTS[1]).unwrap());
        let err = minicbor::decode::<PublicKey>(&small_order).unwrap_err();
        assert!(err.to_string().contains("small-order point"), "{err}");

        let mut short = vec![0x58, 31];
        short.extend([1u8; 31]);
        let err = minicbor::decode::<PublicKey>(&short).unwrap_err();
        assert!(
            err.to_string()
                .contains("public key must be 32 bytes, got 31"),
            "{err}"
        );
        let err = minicbor::decode::<Signature>(&short).unwrap_err();
        assert!(
            err.to_string()
                .contains("signature must be 64 bytes, got 31"),
            "{err}"
        );
        // A text string is not accepted in place of bytes.
        assert!(minicbor::decode::<PublicKey>(&minicbor::to_vec("ab").unwrap()).is_err());
    }

    proptest! {
        #[test]
        fn signature_round_trips(bytes in proptest::collection::vec(any::<u8>(), 64)) {
            let signature = Signature::from_slice(&bytes).unwrap();
            let encoded = minicbor::to_vec(signature).unwrap();
            prop_assert_eq!(encoded.len(), minicbor::len(signature));
            prop_assert_eq!(minicbor::decode::<Signature>(&encoded).unwrap(), signature);
        }

        #[test]
        fn public_key_round_trips(seed in proptest::array::uniform32(any::<u8>())) {
            let key = SigningKey::from_seed(seed).public_key();
            let encoded = minicbor::to_vec(key).unwrap();
            prop_assert_eq!(minicbor::decode::<PublicKey>(&encoded).unwrap(), key);
        }
    }
}
