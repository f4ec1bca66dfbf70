//! # GS1 identifiers and GS1 Digital Link
//!
//! EPCIS events name objects, classes, places and parties with GS1 keys, written either as EPC
//! URNs (`urn:epc:id:sgtin:0614141.107346.2017`, GS1 Tag Data Standard) or as GS1 Digital Link
//! URIs (`https://id.gs1.org/01/10614141073464/21/2017`, on any domain). This module parses and
//! validates both, converts between them, and gives the ledger one index key per identity.
//!
//! * [`Gtin`], [`Gln`], [`Sscc`], [`check_digit`]: numeric keys with mod-10 check digits.
//! * [`Epc`]: EPC pure identity URNs (SGTIN, SSCC, SGLN, GRAI, GIAI, GSRN(P), GDTI, SGCN,
//!   GINC, GSIN, CPI, UPUI, PGLN), LGTIN classes and SGTIN patterns.
//! * [`DigitalLink`]: parse any domain, build, canonicalise on `id.gs1.org`.
//! * [`DigitalLink::to_epc`] / [`Epc::to_digital_link`]: TDS conversions; the company prefix
//!   length comes from the caller or a [`CompanyPrefixLookup`].
//! * [`parse_any_epc`]: URN or Digital Link in, [`NormalizedEpc`] out, with the canonical
//!   Digital Link URI as index key (module `normalize` explains why).
//!
//! Everything is pure string processing: no I/O, no clock, and no panics on any input
//! (property-tested in `tests/gs1_props.rs`).

mod ai;
mod check_digit;
mod convert;
mod digital_link;
mod epc;
mod escape;
mod keys;
mod normalize;
mod value;

pub use ai::{KeyQualifier, PrimaryKey};
pub use check_digit::{KeyError, check_digit, verify_check_digit};
pub use convert::{CompanyPrefixLookup, ConversionError, KnownPrefixes};
pub use digital_link::{DigitalLink, DigitalLinkError, GS1_RESOLVER};
pub use epc::{Epc, EpcScheme, EpcUrnError};
pub use keys::{Gln, Gtin, Sscc};
pub use normalize::{AnyEpcError, NormalizedEpc, parse_any_epc};
pub use value::ValueError;
