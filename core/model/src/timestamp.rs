//! ISO 8601 timestamps as they travel on the wire: a string checked to be RFC 3339 when it is
//! read, kept exactly as written so it round-trips byte for byte, and convertible to and from
//! Unix microseconds (no date-time crate needed).
//!
//! Accord writes timestamps the way Discord does: `2017-07-11T17:27:07.299000+00:00`
//! (microseconds, `+00:00`). Input may use any RFC 3339 form: `Z` or a numeric offset, 0–9
//! fraction digits, `T`, `t` or a space between date and time.

use std::fmt;
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An RFC 3339 timestamp string.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Timestamp(String);

/// The error for a string that is not an RFC 3339 timestamp.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseTimestampError;

impl fmt::Display for ParseTimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("not an ISO8601 (RFC 3339) timestamp")
    }
}
impl std::error::Error for ParseTimestampError {}

/// The fields of a parsed timestamp.
struct Parts {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    micros: u32,
    offset_minutes: i32,
}

fn digits(b: &[u8], at: usize, n: usize) -> Option<u32> {
    let slice = b.get(at..at + n)?;
    slice.iter().try_fold(0u32, |acc, c| {
        c.is_ascii_digit().then(|| acc * 10 + u32::from(c - b'0'))
    })
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

fn parse_parts(s: &str) -> Option<Parts> {
    let b = s.as_bytes();
    let year = i64::from(digits(b, 0, 4)?);
    let month = digits(b, 5, 2)?;
    let day = digits(b, 8, 2)?;
    let hour = digits(b, 11, 2)?;
    let minute = digits(b, 14, 2)?;
    let second = digits(b, 17, 2)?;
    if b.get(4) != Some(&b'-')
        || b.get(7) != Some(&b'-')
        || !matches!(b.get(10), Some(b'T' | b't' | b' '))
        || b.get(13) != Some(&b':')
        || b.get(16) != Some(&b':')
    {
        return None;
    }
    if !(1..=12).contains(&month)
        || day == 0
        || day > days_in_month(year, month)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return None;
    }
    let mut at = 19;
    let mut micros = 0;
    if b.get(at) == Some(&b'.') {
        at += 1;
        let start = at;
        while b.get(at).is_some_and(u8::is_ascii_digit) {
            at += 1;
        }
        let n = at - start;
        if n == 0 || n > 9 {
            return None;
        }
        // Keep microsecond precision: pad or cut the fraction to six digits.
        let take = n.min(6);
        micros = digits(b, start, take)? * 10u32.pow((6 - take) as u32);
    }
    let offset_minutes = match b.get(at)? {
        b'Z' | b'z' if at + 1 == b.len() => 0,
        sign @ (b'+' | b'-') if at + 6 == b.len() && b[at + 3] == b':' => {
            let h = digits(b, at + 1, 2)?;
            let m = digits(b, at + 4, 2)?;
            if h > 23 || m > 59 {
                return None;
            }
            let total = (h * 60 + m) as i32;
            if *sign == b'-' { -total } else { total }
        }
        _ => return None,
    };
    Some(Parts {
        year,
        month,
        day,
        hour,
        minute,
        second,
        micros,
        offset_minutes,
    })
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let m = i64::from(month);
    let day_of_year = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The proleptic Gregorian date of a day count since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

const MICROS_PER_DAY: i64 = 86_400_000_000;

impl Timestamp {
    /// Checks `s` and keeps it as written.
    pub fn parse(s: &str) -> Result<Self, ParseTimestampError> {
        parse_parts(s)
            .map(|_| Self(s.to_owned()))
            .ok_or(ParseTimestampError)
    }

    /// Formats an instant given in microseconds since the Unix epoch, in Discord's form
    /// (`2017-07-11T17:27:07.299000+00:00`). Years outside 0000–9999 are clamped.
    pub fn from_unix_micros(micros: i64) -> Self {
        const MIN: i64 = -62_167_219_200_000_000; // 0000-01-01T00:00:00Z
        const MAX: i64 = 253_402_300_799_999_999; // 9999-12-31T23:59:59.999999Z
        let micros = micros.clamp(MIN, MAX);
        let days = micros.div_euclid(MICROS_PER_DAY);
        let rest = micros.rem_euclid(MICROS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let secs = rest / 1_000_000;
        Self(format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
            secs / 3600,
            secs / 60 % 60,
            secs % 60,
            rest % 1_000_000
        ))
    }

    /// Formats an instant given in milliseconds since the Unix epoch.
    pub fn from_unix_millis(millis: i64) -> Self {
        Self::from_unix_micros(millis.saturating_mul(1000))
    }

    /// The current time.
    pub fn now() -> Self {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_micros() as i64)
            .unwrap_or(0);
        Self::from_unix_micros(micros)
    }

    /// Microseconds since the Unix epoch (fractions beyond microseconds are cut).
    pub fn unix_micros(&self) -> i64 {
        // Only validated strings are ever stored.
        let Some(p) = parse_parts(&self.0) else {
            return 0;
        };
        let days = days_from_civil(p.year, p.month, p.day);
        let secs = i64::from(p.hour) * 3600 + i64::from(p.minute) * 60 + i64::from(p.second)
            - i64::from(p.offset_minutes) * 60;
        days * MICROS_PER_DAY + secs * 1_000_000 + i64::from(p.micros)
    }

    /// Milliseconds since the Unix epoch.
    pub fn unix_millis(&self) -> i64 {
        self.unix_micros().div_euclid(1000)
    }

    /// The string as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The string as written.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({})", self.0)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Timestamp {
    type Err = ParseTimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        if parse_parts(&s).is_none() {
            return Err(serde::de::Error::custom(format!(
                "Could not parse {s}. Should be ISO8601."
            )));
        }
        Ok(Self(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_discord_and_rfc3339_forms() {
        for ok in [
            "2017-07-11T17:27:07.299000+00:00",
            "2021-04-12T23:40:39.855793+00:00",
            "2015-04-26T06:26:56.936000+00:00",
            "2024-02-29T00:00:00Z",
            "2024-02-29t00:00:00.1z",
            "2024-02-29 00:00:00-05:30",
            "2016-12-31T23:59:60Z",
            "2020-01-01T00:00:00.123456789+14:00",
        ] {
            assert!(Timestamp::parse(ok).is_ok(), "{ok} rejected");
        }
        for bad in [
            "",
            "2017-07-11",
            "2017-07-11T17:27:07",
            "2023-02-29T00:00:00Z",
            "2017-13-01T00:00:00Z",
            "2017-07-11T24:00:00Z",
            "2017-07-11T17:27:07.Z",
            "2017-07-11T17:27:07.1234567890Z",
            "2017-07-11T17:27:07+0000",
            "2017-07-11T17:27:07Z ",
            "17-07-11T17:27:07Z",
            "2017/07/11T17:27:07Z",
        ] {
            assert!(Timestamp::parse(bad).is_err(), "{bad} accepted");
            assert!(serde_json::from_value::<Timestamp>(serde_json::json!(bad)).is_err());
        }
    }

    #[test]
    fn converts_known_instants() {
        let t = Timestamp::parse("2017-07-11T17:27:07.299000+00:00").unwrap();
        assert_eq!(t.unix_millis(), 1_499_794_027_299);
        assert_eq!(
            Timestamp::from_unix_millis(1_499_794_027_299).as_str(),
            t.as_str()
        );
        let offset = Timestamp::parse("2017-07-11T19:27:07.299+02:00").unwrap();
        assert_eq!(offset.unix_micros(), t.unix_micros());
        assert_eq!(
            Timestamp::from_unix_micros(0).as_str(),
            "1970-01-01T00:00:00.000000+00:00"
        );
        assert_eq!(
            Timestamp::from_unix_micros(-1).as_str(),
            "1969-12-31T23:59:59.999999+00:00"
        );
        // Discord's epoch (developers/reference.mdx).
        assert_eq!(
            Timestamp::parse("2015-01-01T00:00:00Z")
                .unwrap()
                .unix_millis(),
            1_420_070_400_000
        );
    }

    #[test]
    fn keeps_the_string_as_written() {
        let json = "\"2024-02-29t00:00:00.1z\"";
        let t: Timestamp = serde_json::from_str(json).unwrap();
        assert_eq!(serde_json::to_string(&t).unwrap(), json);
    }

    proptest! {
        #[test]
        fn unix_micros_round_trip(micros in -62_167_219_200_000_000i64..253_402_300_799_999_999) {
            let t = Timestamp::from_unix_micros(micros);
            prop_assert!(Timestamp::parse(t.as_str()).is_ok());
            prop_assert_eq!(t.unix_micros(), micros);
        }
    }
}
