//! EPCIS timestamps and time-zone offsets.
//!
//! EPCIS 2.0 types `eventTime`, `recordTime`, `declarationTime` and the sensor times as
//! `xsd:dateTimeStamp`: an `xsd:dateTime` whose UTC offset is MANDATORY. A time without offset
//! is ambiguous by hours, which a ledger that orders events by time cannot accept. We parse with
//! RFC 3339 (the profile of ISO 8601 that `xsd:dateTimeStamp` lexically matches for four-digit
//! years) and additionally bound the offset to ±14:00 as XML Schema does.
//!
//! [`Timestamp`] keeps the original text next to the parsed instant: the CBV event hash and the
//! lossless round trip need the text as written (`.116000-06:00` is not `.116-06:00`), the ledger
//! rules need the instant.

use std::fmt;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::{OffsetDateTime, UtcOffset};

use super::uri::Quoted;

/// Largest UTC offset XML Schema allows, in minutes (14:00).
const MAX_OFFSET_MINUTES: i16 = 14 * 60;

/// Why a timestamp was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimestampError {
    /// The empty string.
    #[error("timestamp is empty; expected e.g. `2024-05-01T10:00:00.000+02:00`")]
    Empty,
    /// A date-time without `Z` or `±hh:mm`.
    #[error(
        "{} has no UTC offset; append `Z` or `±hh:mm` (e.g. `…{}Z`)",
        Quoted(value),
        tail(value)
    )]
    MissingOffset {
        /// The offending text.
        value: String,
    },
    /// Not an RFC 3339 / `xsd:dateTimeStamp` date-time.
    #[error(
        "{} is not an xsd:dateTimeStamp (expected `YYYY-MM-DDThh:mm:ss[.fff](Z|±hh:mm)`): {reason}",
        Quoted(value)
    )]
    Malformed {
        /// The offending text.
        value: String,
        /// What the parser objected to.
        reason: String,
    },
    /// Offset beyond ±14:00.
    #[error("{} has a UTC offset beyond ±14:00", Quoted(value))]
    OffsetOutOfRange {
        /// The offending text.
        value: String,
    },
}

/// The last few characters of `value`, for a short fix-it hint.
fn tail(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    chars[chars.len().saturating_sub(8)..].iter().collect()
}

/// Parses an `xsd:dateTimeStamp` with mandatory offset.
pub fn parse_timestamp(value: &str) -> Result<OffsetDateTime, TimestampError> {
    if value.is_empty() {
        return Err(TimestampError::Empty);
    }
    let malformed = |reason: &str| TimestampError::Malformed {
        value: value.to_owned(),
        reason: reason.to_owned(),
    };
    // XML Schema only allows the upper-case separators; RFC 3339 parsers accept more.
    if value.as_bytes().get(10) != Some(&b'T') {
        return Err(malformed("the date and the time must be separated by `T`"));
    }
    if value.ends_with('z') {
        return Err(malformed("the UTC designator must be an upper-case `Z`"));
    }
    if looks_offsetless(value) {
        return Err(TimestampError::MissingOffset {
            value: value.to_owned(),
        });
    }
    let parsed = OffsetDateTime::parse(value, &Rfc3339).map_err(|e| malformed(&e.to_string()))?;
    if parsed.offset().whole_minutes().abs() > MAX_OFFSET_MINUTES {
        return Err(TimestampError::OffsetOutOfRange {
            value: value.to_owned(),
        });
    }
    Ok(parsed)
}

/// A date and time part (`YYYY-MM-DDThh:mm:ss[.f…]`) with nothing after it.
fn looks_offsetless(value: &str) -> bool {
    let Some(time_part) = value.get(11..) else {
        return false;
    };
    !time_part.is_empty()
        && time_part
            .chars()
            .all(|c| c.is_ascii_digit() || c == ':' || c == '.')
}

/// An `xsd:dateTimeStamp`: the text as written plus the instant it denotes.
///
/// Equality compares the text (two spellings of the same instant are different JSON); use
/// [`Timestamp::datetime`] to compare instants.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    raw: String,
    datetime: OffsetDateTime,
}

impl Timestamp {
    /// Parses `value`, keeping it verbatim.
    pub fn parse(value: &str) -> Result<Self, TimestampError> {
        Ok(Self {
            datetime: parse_timestamp(value)?,
            raw: value.to_owned(),
        })
    }

    /// The text exactly as it appeared in the document.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The instant, with the offset the document wrote.
    pub fn datetime(&self) -> OffsetDateTime {
        self.datetime
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Timestamp::parse(&raw).map_err(D::Error::custom)
    }
}

/// Why an `eventTimeZoneOffset` was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeZoneOffsetError {
    /// Not of the form `±hh:mm`.
    #[error(
        "{} is not a time-zone offset of the form `±hh:mm` (e.g. `+02:00`, `-06:00`)",
        Quoted(value)
    )]
    Malformed {
        /// The offending text.
        value: String,
    },
    /// Outside −14:00 … +14:00 or minutes above 59.
    #[error(
        "{} is out of range: offsets go from -14:00 to +14:00 with minutes 00-59",
        Quoted(value)
    )]
    OutOfRange {
        /// The offending text.
        value: String,
    },
}

/// The `eventTimeZoneOffset` of an event: text as written plus its value in minutes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZoneOffset {
    raw: String,
    minutes: i16,
}

impl TimeZoneOffset {
    /// Parses `±hh:mm` (EPCIS 2.0 JSON schema: `^[+-]((0[0-9]|1[0-3]):[0-5][0-9]|14:00)$`).
    pub fn parse(value: &str) -> Result<Self, TimeZoneOffsetError> {
        let malformed = || TimeZoneOffsetError::Malformed {
            value: value.to_owned(),
        };
        let bytes = value.as_bytes();
        let shape_ok = bytes.len() == 6
            && matches!(bytes[0], b'+' | b'-')
            && bytes[1].is_ascii_digit()
            && bytes[2].is_ascii_digit()
            && bytes[3] == b':'
            && bytes[4].is_ascii_digit()
            && bytes[5].is_ascii_digit();
        if !shape_ok {
            return Err(malformed());
        }
        let digit = |i: usize| i16::from(bytes[i] - b'0');
        let hours = digit(1) * 10 + digit(2);
        let minutes = digit(4) * 10 + digit(5);
        let total = hours * 60 + minutes;
        if minutes > 59 || total > MAX_OFFSET_MINUTES {
            return Err(TimeZoneOffsetError::OutOfRange {
                value: value.to_owned(),
            });
        }
        let sign = if bytes[0] == b'-' { -1 } else { 1 };
        Ok(Self {
            raw: value.to_owned(),
            minutes: sign * total,
        })
    }

    /// The text exactly as written.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Signed offset from UTC in minutes.
    pub fn minutes(&self) -> i16 {
        self.minutes
    }

    /// The offset as a `time` offset.
    pub fn utc_offset(&self) -> UtcOffset {
        // |minutes| <= 840 by construction, always within UtcOffset's range.
        UtcOffset::from_whole_seconds(i32::from(self.minutes) * 60).unwrap_or(UtcOffset::UTC)
    }
}

impl fmt::Display for TimeZoneOffset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

impl Serialize for TimeZoneOffset {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.raw)
    }
}

impl<'de> Deserialize<'de> for TimeZoneOffset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        TimeZoneOffset::parse(&raw).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_the_spellings_seen_in_vectors() {
        for (text, expected) in [
            (
                "2005-04-03T20:33:31.116-06:00",
                datetime!(2005-04-04 02:33:31.116 UTC),
            ),
            (
                "2005-04-03T20:33:31.116000-06:00",
                datetime!(2005-04-04 02:33:31.116 UTC),
            ),
            ("2005-07-11T11:30:47.0Z", datetime!(2005-07-11 11:30:47 UTC)),
            ("2019-11-01T14:00:00+01:00", datetime!(2019-11-01 13:00 UTC)),
        ] {
            let ts = Timestamp::parse(text).unwrap();
            assert_eq!(ts.datetime(), expected, "{text}");
            assert_eq!(ts.as_str(), text);
        }
    }

    #[test]
    fn rejects_missing_offset_with_specific_error() {
        assert_eq!(
            parse_timestamp("2026-07-22T06:45:00"),
            Err(TimestampError::MissingOffset {
                value: "2026-07-22T06:45:00".into()
            })
        );
        assert!(matches!(
            parse_timestamp("2026-07-22T06:45:00.123"),
            Err(TimestampError::MissingOffset { .. })
        ));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "22-07-2026",
            "2026-07-22",
            "2026-07-22 06:45:00Z",
            "2026-07-22t06:45:00Z",
            "2026-07-22T06:45:00z",
            "2026-13-22T06:45:00Z",
            "2026-07-22T25:45:00Z",
            "x",
        ] {
            assert!(
                matches!(parse_timestamp(bad), Err(TimestampError::Malformed { .. })),
                "{bad}"
            );
        }
        assert_eq!(parse_timestamp(""), Err(TimestampError::Empty));
    }

    #[test]
    fn bounds_offset_to_fourteen_hours() {
        assert!(parse_timestamp("2020-01-01T00:00:00+14:00").is_ok());
        assert!(matches!(
            parse_timestamp("2020-01-01T00:00:00+15:00"),
            Err(TimestampError::OffsetOutOfRange { .. })
        ));
    }

    #[test]
    fn time_zone_offsets() {
        assert_eq!(TimeZoneOffset::parse("+02:00").unwrap().minutes(), 120);
        assert_eq!(TimeZoneOffset::parse("-06:30").unwrap().minutes(), -390);
        assert_eq!(TimeZoneOffset::parse("+14:00").unwrap().minutes(), 840);
        assert_eq!(
            TimeZoneOffset::parse("-00:00").unwrap().utc_offset(),
            UtcOffset::UTC
        );
        for bad in ["+2:00", "02:00", "+02:00:00", "Z", "+0200", "+ab:cd", ""] {
            assert!(
                matches!(
                    TimeZoneOffset::parse(bad),
                    Err(TimeZoneOffsetError::Malformed { .. })
                ),
                "{bad}"
            );
        }
        for bad in ["+14:01", "+15:00", "-99:00", "+01:60"] {
            assert!(
                matches!(
                    TimeZoneOffset::parse(bad),
                    Err(TimeZoneOffsetError::OutOfRange { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn serde_keeps_text() {
        let ts: Timestamp = serde_json::from_str("\"2005-04-03T20:33:31.116000-06:00\"").unwrap();
        assert_eq!(
            serde_json::to_string(&ts).unwrap(),
            "\"2005-04-03T20:33:31.116000-06:00\""
        );
        assert!(serde_json::from_str::<Timestamp>("\"22-07-2026\"").is_err());
        let tz: TimeZoneOffset = serde_json::from_str("\"-06:00\"").unwrap();
        assert_eq!(serde_json::to_string(&tz).unwrap(), "\"-06:00\"");
    }
}
