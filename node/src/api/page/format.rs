//! Words and numbers for people: times in the place's own offset, units, identifiers, master-data
//! keys. Pure functions of their input; anything they cannot read is shown as written (and
//! escaped by the writer, like everything else).

use provenance_protocol::gs1::{self, DigitalLink};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Milliseconds since the Unix epoch of an RFC 3339 / EPCIS timestamp
/// (`YYYY-MM-DDThh:mm[:ss[.fff…]](Z|±hh:mm)`).
pub(crate) fn parse_timestamp(text: &str) -> Option<i64> {
    let (date, rest) = text.split_once(['T', 't', ' '])?;
    let days = parse_date(date)?;
    let offset_at = rest.find(['Z', 'z', '+', '-'])?;
    let (clock, zone) = rest.split_at(offset_at);
    let offset = if zone.eq_ignore_ascii_case("z") {
        0
    } else {
        parse_offset(zone)?
    };
    let mut parts = clock.splitn(3, ':');
    let hour = number(parts.next()?, 2, 0, 23)?;
    let minute = number(parts.next()?, 2, 0, 59)?;
    let (second, millis) = match parts.next() {
        None => (0, 0),
        Some(seconds) => {
            let (whole, fraction) = seconds.split_once('.').unwrap_or((seconds, ""));
            if !fraction.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let millis = format!("{fraction:0<3}");
            (
                number(whole, 2, 0, 60)?,
                millis.get(..3)?.parse::<i64>().ok()?,
            )
        }
    };
    Some(
        days * DAY_MS + ((hour * 60 + minute) * 60 + second) * 1000 + millis
            - i64::from(offset) * MINUTE_MS,
    )
}

/// Minutes east of UTC of `±hh:mm` (or `Z`).
pub(crate) fn parse_offset(text: &str) -> Option<i32> {
    if text.eq_ignore_ascii_case("z") {
        return Some(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = text.get(1..)?.split_once(':')?;
    let minutes = number(hours, 2, 0, 23)? * 60 + number(minutes, 2, 0, 59)?;
    i32::try_from(sign * minutes).ok()
}

/// Days since 1970-01-01 of `YYYY-MM-DD`.
fn parse_date(text: &str) -> Option<i64> {
    let mut parts = text.splitn(3, '-');
    let year = number(parts.next()?, 4, 0, 9999)?;
    let month = number(parts.next()?, 2, 1, 12)?;
    let day = number(parts.next()?, 2, 1, 31)?;
    Some(days_from_civil(year, month, day))
}

/// An ASCII decimal of exactly `digits` digits within `min..=max`.
fn number(text: &str, digits: usize, min: i64, max: i64) -> Option<i64> {
    if text.len() != digits || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|n| (min..=max).contains(n))
}

/// H. Hinnant's `days_from_civil`.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// H. Hinnant's `civil_from_days`: (year, month 1–12, day 1–31).
fn civil_from_days(days: i64) -> (i64, usize, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, usize::try_from(month).unwrap_or(1), day)
}

/// `2025-01-08T09:00:00.000Z`: an instant for machines (`<time datetime>`).
pub(crate) fn rfc3339_utc(ms: i64) -> String {
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    let in_day = ms.rem_euclid(DAY_MS);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        in_day / 3_600_000,
        in_day / MINUTE_MS % 60,
        in_day / 1000 % 60,
        in_day % 1000
    )
}

/// `8 Jan 2025` of a UTC instant shifted by `offset` minutes.
pub(crate) fn date_at(ms: i64, offset: i32) -> String {
    let local = ms + i64::from(offset) * MINUTE_MS;
    let (year, month, day) = civil_from_days(local.div_euclid(DAY_MS));
    format!("{day} {} {year}", month_name(month))
}

/// `8 Jan` of a UTC instant.
pub(crate) fn day_month(ms: i64) -> String {
    let (_, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    format!("{day} {}", month_name(month))
}

/// `14:05` of a UTC instant shifted by `offset` minutes.
pub(crate) fn clock_at(ms: i64, offset: i32) -> String {
    let in_day = (ms + i64::from(offset) * MINUTE_MS).rem_euclid(DAY_MS) / MINUTE_MS;
    format!("{:02}:{:02}", in_day / 60, in_day % 60)
}

fn month_name(month: usize) -> &'static str {
    MONTHS.get(month.wrapping_sub(1)).copied().unwrap_or("?")
}

/// `UTC`, `UTC+01:00`, `UTC−05:00` (with a real minus sign).
pub(crate) fn offset_label(offset: i32) -> String {
    if offset == 0 {
        return "UTC".to_owned();
    }
    let sign = if offset < 0 { '\u{2212}' } else { '+' };
    let abs = offset.unsigned_abs();
    format!("UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
}

/// `8 Jan 2025, 09:00 UTC+01:00`: an instant in the offset it was recorded in.
pub(crate) fn moment(ms: i64, offset: i32) -> String {
    format!(
        "{}, {} {}",
        date_at(ms, offset),
        clock_at(ms, offset),
        offset_label(offset)
    )
}

/// A timestamp or date as written, for people: `8 Jan 2025, 09:00 UTC+01:00` for a timestamp
/// (in its own offset), `8 Jan 2025` for a date, otherwise the text unchanged.
pub(crate) fn human_time(text: &str) -> String {
    if let Some(ms) = parse_timestamp(text) {
        let offset = text
            .get(text.len().saturating_sub(6)..)
            .and_then(parse_offset)
            .unwrap_or(0);
        return moment(ms, offset);
    }
    match parse_date(text) {
        Some(days) => date_at(days * DAY_MS, 0),
        None => text.to_owned(),
    }
}

/// A measured value: at most two decimals, trailing zeros dropped, no `-0`.
pub(crate) fn value(v: f64) -> String {
    if !v.is_finite() {
        return "?".to_owned();
    }
    let text = format!("{v:.2}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    match text {
        "-0" | "" => "0".to_owned(),
        t => t.replace('-', "\u{2212}"),
    }
}

/// The symbol of a UN/CEFACT unit code the page is likely to meet; other codes as written.
pub(crate) fn unit(uom: &str) -> &str {
    match uom {
        "CEL" => "°C",
        "FAH" => "°F",
        "KEL" => "K",
        "P1" => "%",
        "A93" => "g/m³",
        "KGM" => "kg",
        "GRM" => "g",
        "MTR" => "m",
        "PAL" => "Pa",
        "LUX" => "lx",
        other => other,
    }
}

/// `16.8 °C` (`16.8` without a unit).
pub(crate) fn quantity(v: f64, uom: Option<&str>) -> String {
    match uom.map(unit) {
        Some(u) if !u.is_empty() => format!("{} {u}", value(v)),
        _ => value(v),
    }
}

/// The readable part of a sensor type: `gs1:Temperature`, `https://gs1.org/voc/Temperature` and
/// `Temperature` all give `Temperature`; `RelativeHumidity` gives `Relative humidity`.
pub(crate) fn measurement(kind: &str) -> String {
    let local = kind.rsplit(['/', '#', ':']).next().unwrap_or(kind);
    words(local).unwrap_or_else(|| kind.to_owned())
}

/// The last name of a flattened master-data key: `temperatureMin` of `prov:temperatureMin` or of
/// `x:limits.prov:temperatureMin`.
pub(crate) fn local_name(key: &str) -> &str {
    key.rsplit([':', '/', '#', '.']).next().unwrap_or(key)
}

/// `nordic:roastProfile` → `Roast profile`; `cbvmda:bestBeforeDate` → `Best before date`.
pub(crate) fn master_data_label(key: &str) -> String {
    words(local_name(key)).unwrap_or_else(|| key.to_owned())
}

/// Splits camelCase and snake_case into words, capitalising the first (`None` for blank text).
fn words(text: &str) -> Option<String> {
    let mut out = String::with_capacity(text.len() + 4);
    let mut previous: Option<char> = None;
    for c in text.chars() {
        let c = if c == '_' || c == '-' { ' ' } else { c };
        if c.is_uppercase() && previous.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
            out.push(' ');
        }
        if out.is_empty() {
            out.extend(c.to_uppercase());
        } else if c.is_uppercase() && previous.is_some_and(char::is_lowercase) {
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
        previous = Some(c);
    }
    (!out.trim().is_empty()).then_some(out)
}

/// A CBV short name for people: `in_transit` → `in transit`.
pub(crate) fn code(text: &str) -> String {
    text.replace('_', " ")
}

/// A GS1 identifier for people: `GTIN 00614142045210 · serial number R1001`; other identifiers
/// as written.
pub(crate) fn identifier(id: &str) -> String {
    let link = DigitalLink::parse(id).ok().or_else(|| {
        gs1::parse_any_epc(id)
            .ok()
            .and_then(|epc| DigitalLink::parse(&epc.index_key()).ok())
    });
    let Some(link) = link else {
        return id.to_owned();
    };
    let mut out = format!("{} {}", link.primary_key().name(), link.primary_value());
    for (qualifier, value) in link.qualifiers() {
        out.push_str(" · ");
        out.push_str(qualifier.name());
        out.push(' ');
        out.push_str(value);
    }
    out
}

/// `text` percent-encoded as one URL path segment (RFC 3986 unreserved characters kept).
pub(crate) fn path_segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// `arg` as one POSIX shell word: unchanged when it is made only of characters no shell treats
/// specially, otherwise single-quoted.
pub(crate) fn shell_word(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg.bytes().all(|b| {
            b.is_ascii_alphanumeric()
                || matches!(
                    b,
                    b'@' | b'%' | b'+' | b'=' | b':' | b',' | b'.' | b'/' | b'_' | b'-'
                )
        });
    if plain {
        arg.to_owned()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_in_their_offset() {
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp("2025-01-01T10:00:00.000Z"),
            Some(1_735_725_600_000)
        );
        assert_eq!(
            parse_timestamp("2025-01-01T05:00:00.5-05:00"),
            Some(1_735_725_600_500)
        );
        assert_eq!(
            parse_timestamp("2025-01-01T11:00+01:00"),
            Some(1_735_725_600_000)
        );
        assert_eq!(parse_timestamp("1969-12-31T23:59:59Z"), Some(-1000));
        for bad in [
            "",
            "2025-01-01",
            "2025-13-01T00:00:00Z",
            "2025-01-01T25:00:00Z",
            "2025-01-01T10:00:00",
            "2025-01-01T10:00:00.x1Z",
            "2025-01-01T10:00:00+1:00",
            "２０２５-01-01T10:00:00Z",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn times_read_naturally() {
        assert_eq!(
            human_time("2025-01-01T10:00:00.000Z"),
            "1 Jan 2025, 10:00 UTC"
        );
        assert_eq!(
            human_time("2025-01-08T09:30:00+01:00"),
            "8 Jan 2025, 09:30 UTC+01:00"
        );
        assert_eq!(
            moment(1_735_725_600_000, -300),
            "1 Jan 2025, 05:00 UTC\u{2212}05:00"
        );
        assert_eq!(human_time("2024-02-29"), "29 Feb 2024");
        assert_eq!(human_time("next Tuesday"), "next Tuesday");
        assert_eq!(day_month(951_782_400_000), "29 Feb");
        assert_eq!(date_at(-1, 0), "31 Dec 1969");
    }

    #[test]
    fn values_units_and_labels() {
        assert_eq!(value(16.80), "16.8");
        assert_eq!(value(-0.001), "0");
        assert_eq!(value(-4.5), "\u{2212}4.5");
        assert_eq!(value(f64::INFINITY), "?");
        assert_eq!(quantity(5.0, Some("CEL")), "5 °C");
        assert_eq!(quantity(5.0, Some("XYZ")), "5 XYZ");
        assert_eq!(quantity(5.0, None), "5");
        assert_eq!(measurement("gs1:Temperature"), "Temperature");
        assert_eq!(
            measurement("https://gs1.org/voc/RelativeHumidity"),
            "Relative humidity"
        );
        assert_eq!(master_data_label("nordic:roastProfile"), "Roast profile");
        assert_eq!(
            master_data_label("cbvmda:bestBeforeDate"),
            "Best before date"
        );
        assert_eq!(
            master_data_label("esperanza:altitudeMetres"),
            "Altitude metres"
        );
        assert_eq!(master_data_label("x:lot_number"), "Lot number");
        assert_eq!(master_data_label("x:"), "x:");
        assert_eq!(code("sellable_accessible"), "sellable accessible");
    }

    #[test]
    fn gs1_identifiers_are_named() {
        assert_eq!(
            identifier("urn:epc:id:sgtin:0614142.004521.R1001"),
            "GTIN 00614142045210 · serial number R1001"
        );
        assert_eq!(
            identifier("urn:epc:id:sscc:0614142.1000004001"),
            "SSCC 106141420000040014"
        );
        assert_eq!(identifier("urn:example:thing"), "urn:example:thing");
    }

    #[test]
    fn segments_and_shell_words_are_quoted() {
        assert_eq!(
            path_segment("https://id.gs1.org/01/1/21/a b"),
            "https%3A%2F%2Fid.gs1.org%2F01%2F1%2F21%2Fa%20b"
        );
        assert_eq!(
            shell_word("https://id.gs1.org/01/00614142045210/21/R1001"),
            "https://id.gs1.org/01/00614142045210/21/R1001"
        );
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's; rm -rf /"), "'it'\\''s; rm -rf /'");
        assert_eq!(shell_word(""), "''");
    }

    proptest::proptest! {
        #[test]
        fn every_instant_survives_formatting_and_parsing(ms in -62_135_596_800_000i64..253_402_300_799_999, offset in -840i32..=840) {
            proptest::prop_assert_eq!(parse_timestamp(&rfc3339_utc(ms)), Some(ms));
            let local = ms + i64::from(offset) * MINUTE_MS;
            let (y, m, d) = civil_from_days(local.div_euclid(DAY_MS));
            let in_day = local.rem_euclid(DAY_MS);
            proptest::prop_assume!((0..=9999).contains(&y));
            let sign = if offset < 0 { '-' } else { '+' };
            let text = format!(
                "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}{sign}{:02}:{:02}",
                in_day / 3_600_000, in_day / 60_000 % 60, in_day / 1000 % 60, in_day % 1000,
                offset.unsigned_abs() / 60, offset.unsigned_abs() % 60
            );
            proptest::prop_assert_eq!(parse_timestamp(&text), Some(ms));
        }

        #[test]
        fn parsing_never_panics(text in ".{0,40}") {
            let _ = parse_timestamp(&text);
            let _ = human_time(&text);
            let _ = identifier(&text);
        }
    }
}
