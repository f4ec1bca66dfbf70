//! Timestamp normalisation: any xsd:dateTime becomes UTC with exactly three fractional digits.
//!
//! `2019-04-02T15:00:00+01:00`, `2019-04-02T14:00:00Z` and `2019-04-02T14:00:00.0000Z` denote the
//! same instant and must hash alike, so the pre-hash string uses `2019-04-02T14:00:00.000Z`.

use time::{Date, Duration, Month, PrimitiveDateTime, Time, UtcOffset};

/// Normalises an xsd:dateTime to `YYYY-MM-DDThh:mm:ss.sssZ` in UTC.
///
/// Accepted: `YYYY-MM-DDThh:mm:ss`, an optional fraction of any length, then `Z`, `±hh:mm`,
/// `±hhmm`, `±hh` or nothing (a missing zone is read as UTC, see the module docs). `24:00:00` is
/// midnight at the end of the day, as xsd:dateTime allows. The fraction is rounded to milliseconds
/// half-up on the fourth digit (`.1415` → `.142`, `.9996` carries into the next second).
pub(super) fn normalise(text: &str) -> Result<String, &'static str> {
    let parts = Parts::parse(text)?;
    let date = Date::from_calendar_date(
        parts.year,
        Month::try_from(parts.month).map_err(|_| "the month is not 01-12")?,
        parts.day,
    )
    .map_err(|_| "the day does not exist in that month")?;
    let end_of_day = parts.hour == 24;
    if end_of_day && (parts.minute, parts.second, parts.millis, parts.round_up) != (0, 0, 0, false)
    {
        return Err("hour 24 is only allowed as 24:00:00");
    }
    let time = Time::from_hms_milli(
        if end_of_day { 0 } else { parts.hour },
        parts.minute,
        parts.second,
        parts.millis,
    )
    .map_err(|_| "the time of day is out of range (leap seconds are not supported)")?;
    let offset = UtcOffset::from_hms(parts.offset_hours, parts.offset_minutes, 0)
        .map_err(|_| "the zone offset is out of range")?;

    let mut local = PrimitiveDateTime::new(date, time);
    if end_of_day {
        local = local
            .checked_add(Duration::DAY)
            .ok_or("the date is out of range")?;
    }
    if parts.round_up {
        local = local
            .checked_add(Duration::MILLISECOND)
            .ok_or("the date is out of range")?;
    }
    let utc = local
        .assume_offset(offset)
        .checked_to_offset(UtcOffset::UTC)
        .ok_or("the date is out of range once converted to UTC")?;
    if !(1..=9999).contains(&utc.year()) {
        return Err("the year is outside 0001-9999 once converted to UTC");
    }
    Ok(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second(),
        utc.millisecond()
    ))
}

/// The lexical fields of an xsd:dateTime, before calendar validation.
struct Parts {
    year: i32,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
    second: u8,
    /// First three fractional digits, zero-padded.
    millis: u16,
    /// Whether the fourth fractional digit is 5-9.
    round_up: bool,
    offset_hours: i8,
    offset_minutes: i8,
}

impl Parts {
    fn parse(text: &str) -> Result<Self, &'static str> {
        let mut cursor = Cursor(text.as_bytes());
        let year = cursor.digits(4).ok_or("expected a four-digit year")?;
        cursor.expect(b'-').ok_or("expected '-' after the year")?;
        let month = cursor.digits(2).ok_or("expected a two-digit month")?;
        cursor.expect(b'-').ok_or("expected '-' after the month")?;
        let day = cursor.digits(2).ok_or("expected a two-digit day")?;
        cursor
            .expect(b'T')
            .or_else(|| cursor.expect(b't'))
            .ok_or("expected 'T' between date and time")?;
        let hour = cursor.digits(2).ok_or("expected a two-digit hour")?;
        cursor.expect(b':').ok_or("expected ':' after the hour")?;
        let minute = cursor.digits(2).ok_or("expected two-digit minutes")?;
        cursor
            .expect(b':')
            .ok_or("expected ':' after the minutes")?;
        let second = cursor.digits(2).ok_or("expected two-digit seconds")?;

        let (mut millis, mut round_up) = (0u16, false);
        if cursor.expect(b'.').is_some() {
            let fraction = cursor.take_while(|b| b.is_ascii_digit());
            if fraction.is_empty() {
                return Err("expected digits after the decimal point");
            }
            for (position, digit) in fraction.iter().take(4).enumerate() {
                let digit = u16::from(digit - b'0');
                match position {
                    0..=2 => millis += digit * 10u16.pow(2 - position as u32),
                    _ => round_up = digit >= 5,
                }
            }
        }

        let (offset_hours, offset_minutes) = match cursor.next() {
            None => (0, 0),
            Some(b'Z' | b'z') => (0, 0),
            Some(sign @ (b'+' | b'-')) => {
                let hours = cursor.digits(2).ok_or("expected a two-digit offset hour")?;
                let minutes = if cursor.expect(b':').is_some() {
                    cursor
                        .digits(2)
                        .ok_or("expected two-digit offset minutes")?
                } else {
                    cursor.digits(2).unwrap_or(0)
                };
                if minutes > 59 {
                    return Err("the offset minutes are not 00-59");
                }
                let (hours, minutes) = (hours as i8, minutes as i8);
                if sign == b'-' {
                    (-hours, -minutes)
                } else {
                    (hours, minutes)
                }
            }
            Some(_) => return Err("expected 'Z' or a ±hh:mm zone offset after the time"),
        };
        if !cursor.0.is_empty() {
            return Err("unexpected characters after the zone offset");
        }
        Ok(Self {
            year: year as i32,
            month: month as u8,
            day: day as u8,
            hour: hour as u8,
            minute: minute as u8,
            second: second as u8,
            millis,
            round_up,
            offset_hours,
            offset_minutes,
        })
    }
}

/// A byte cursor over ASCII text; every accessor is bounds-checked.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn next(&mut self) -> Option<u8> {
        let (&first, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(first)
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        match self.0.split_first() {
            Some((&first, rest)) if first == byte => {
                self.0 = rest;
                Some(())
            }
            _ => None,
        }
    }

    /// Exactly `count` ASCII digits as a number (`count` ≤ 4, so it fits).
    fn digits(&mut self, count: usize) -> Option<u16> {
        let digits = self.0.get(..count)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return None;
        }
        self.0 = &self.0[count..];
        Some(
            digits
                .iter()
                .fold(0u16, |n, d| n * 10 + u16::from(d - b'0')),
        )
    }

    fn take_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a [u8] {
        let end = self
            .0
            .iter()
            .position(|&b| !keep(b))
            .unwrap_or(self.0.len());
        let (taken, rest) = self.0.split_at(end);
        self.0 = rest;
        taken
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn vector_style_timestamps() {
        let cases = [
            ("2023-01-11T12:00:00+01:00", "2023-01-11T11:00:00.000Z"),
            (
                "2005-04-03T20:33:31.116000-06:00",
                "2005-04-04T02:33:31.116Z",
            ),
            ("2019-04-02T13:05:00Z", "2019-04-02T13:05:00.000Z"),
            ("2013-06-08T14:58:56.591Z", "2013-06-08T14:58:56.591Z"),
            ("2023-01-18T11:04:03.1415Z", "2023-01-18T11:04:03.142Z"),
            ("2023-01-18T11:04:03.14149999Z", "2023-01-18T11:04:03.141Z"),
            ("2023-12-31T23:59:59.9996Z", "2024-01-01T00:00:00.000Z"),
            ("2023-01-11T12:00:00.5+0530", "2023-01-11T06:30:00.500Z"),
            ("2023-01-11T12:00:00-03", "2023-01-11T15:00:00.000Z"),
            ("2023-01-11T12:00:00", "2023-01-11T12:00:00.000Z"),
            ("2023-01-11T24:00:00Z", "2023-01-12T00:00:00.000Z"),
            ("2024-02-29t00:00:00z", "2024-02-29T00:00:00.000Z"),
        ];
        for (input, expected) in cases {
            assert_eq!(normalise(input).as_deref(), Ok(expected), "{input}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_date_time() {
        for input in [
            "",
            "2023-01-11",
            "2023-1-11T12:00:00Z",
            "2023-02-30T12:00:00Z",
            "2023-01-11T12:00Z",
            "2023-01-11T12:00:60Z",
            "2023-01-11T24:00:01Z",
            "2023-01-11T12:00:00.Z",
            "2023-01-11T12:00:00+1:00",
            "2023-01-11T12:00:00+01:75",
            "2023-01-11T12:00:00Z ",
            "0000-01-01T00:00:00+01:00",
            "９９９９-01-01T00:00:00Z",
        ] {
            assert!(normalise(input).is_err(), "{input:?} accepted");
        }
    }

    proptest! {
        /// The same instant written in any offset normalises to the same UTC string.
        #[test]
        fn offset_does_not_matter(
            seconds in 0i64..253_402_300_000,
            millis in 0u16..1000,
            offset_minutes in -14i32 * 60..=14 * 60,
        ) {
            let instant = time::OffsetDateTime::from_unix_timestamp(seconds).unwrap()
                + Duration::milliseconds(i64::from(millis));
            let offset = UtcOffset::from_whole_seconds(offset_minutes * 60).unwrap();
            let Some(local) = instant.checked_to_offset(offset) else { return Ok(()) };
            prop_assume!((1..=9999).contains(&local.year()));
            let sign = if offset_minutes < 0 { '-' } else { '+' };
            let written = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}{sign}{:02}:{:02}",
                local.year(), u8::from(local.month()), local.day(), local.hour(),
                local.minute(), local.second(), local.millisecond(),
                offset_minutes.abs() / 60, offset_minutes.abs() % 60,
            );
            let utc = format!(
                "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
                instant.year(), u8::from(instant.month()), instant.day(), instant.hour(),
                instant.minute(), instant.second(), instant.millisecond(),
            );
            prop_assert_eq!(normalise(&written), Ok(utc));
        }

        #[test]
        fn never_panics(text in "\\PC{0,40}") {
            let _ = normalise(&text);
        }
    }
}
