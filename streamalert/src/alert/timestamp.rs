//! StreamAlert's timestamp text: `%Y-%m-%dT%H:%M:%S.%fZ`, naive UTC, six fractional digits.

use chrono::{DateTime, Datelike, NaiveDateTime, TimeDelta, Timelike, Utc};
use std::fmt;
use std::str::FromStr;

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

/// A UTC time that prints and parses as `2019-01-01T00:00:00.000000Z`.
///
/// ```
/// use streamalert::alert::Timestamp;
/// let t: Timestamp = "2020-02-03T04:05:06.000789Z".parse().unwrap();
/// assert_eq!(t.to_string(), "2020-02-03T04:05:06.000789Z");
/// assert!("2020-02-03T04:05:06Z".parse::<Timestamp>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(NaiveDateTime);

impl Timestamp {
    /// 1970-01-01T00:00:00.000000Z, the "never dispatched" value.
    pub const EPOCH: Self = Self(DateTime::UNIX_EPOCH.naive_utc());

    /// The current time, truncated to microseconds.
    pub fn now() -> Self {
        let now = Utc::now().naive_utc();
        Self(now - TimeDelta::nanoseconds(i64::from(now.and_utc().timestamp_subsec_nanos() % 1000)))
    }

    /// Whole seconds since the Unix epoch, fraction dropped.
    pub fn unix_seconds(self) -> i64 {
        self.0.and_utc().timestamp()
    }

    /// This time plus `minutes`, saturating at the latest representable time.
    pub fn plus_minutes(self, minutes: u64) -> Self {
        let later = i64::try_from(minutes)
            .ok()
            .and_then(TimeDelta::try_minutes)
            .and_then(|delta| self.0.checked_add_signed(delta));
        Self(later.unwrap_or(NaiveDateTime::MAX))
    }
}

impl From<NaiveDateTime> for Timestamp {
    fn from(value: NaiveDateTime) -> Self {
        Self(value)
    }
}

impl fmt::Display for Timestamp {
    /// Writes `FORMAT`'s text digit by digit (chrono's `format` parses the format string on
    /// every call); years outside 0–9999 (written with a sign) and a leap second go through
    /// chrono.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, nanos) = (self.0.year(), self.0.nanosecond());
        let (Ok(year @ 0..=9999), 0..=999_999_999) = (u32::try_from(year), nanos) else {
            return write!(f, "{}", self.0.format(FORMAT));
        };
        let mut text = *b"0000-00-00T00:00:00.000000Z";
        for (range, value) in [
            (0..4, year),
            (5..7, self.0.month()),
            (8..10, self.0.day()),
            (11..13, self.0.hour()),
            (14..16, self.0.minute()),
            (17..19, self.0.second()),
            (20..26, nanos / 1000),
        ] {
            write_digits(&mut text[range], value);
        }
        f.write_str(std::str::from_utf8(&text).expect("ASCII digits and separators"))
    }
}

/// Writes `value`'s last `digits.len()` decimal digits into `digits`, zero-padded.
fn write_digits(digits: &mut [u8], mut value: u32) {
    for digit in digits.iter_mut().rev() {
        *digit = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

/// The text was not a timestamp in StreamAlert's format.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time data {0:?} does not match format '%Y-%m-%dT%H:%M:%S.%fZ'")]
pub struct InvalidTimestamp(String);

impl FromStr for Timestamp {
    type Err = InvalidTimestamp;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || InvalidTimestamp(s.to_owned());
        // Python's %f takes 1 to 6 digits; the literal `.` and `Z` are required.
        let (head, fraction) = s
            .strip_suffix('Z')
            .and_then(|t| t.split_once('.'))
            .ok_or_else(invalid)?;
        if fraction.is_empty()
            || fraction.len() > 6
            || !fraction.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(invalid());
        }
        let padded = format!("{head}.{fraction:0<6}");
        NaiveDateTime::parse_from_str(&padded, "%Y-%m-%dT%H:%M:%S%.6f")
            .map(Self)
            .map_err(|_| invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    /// The text is chrono's `format(FORMAT)` for every time: the first and last times chrono
    /// represents, years 0 and 9999 and past them, a leap second, and times spread over the
    /// years 0–9999.
    #[test]
    fn prints_as_chrono_formats_it() {
        let at = |y, mo, d, h, mi, s, nanos| {
            NaiveDate::from_ymd_opt(y, mo, d)
                .and_then(|date| date.and_hms_nano_opt(h, mi, s, nanos))
                .expect("a valid time")
        };
        let mut times = vec![
            NaiveDateTime::MIN,
            NaiveDateTime::MAX,
            DateTime::UNIX_EPOCH.naive_utc(),
            at(0, 1, 1, 0, 0, 0, 0),
            at(-1, 12, 31, 23, 59, 59, 999_999_999),
            at(9999, 12, 31, 23, 59, 59, 999_999_000),
            at(10000, 1, 1, 0, 0, 0, 0),
            at(2016, 12, 31, 23, 59, 59, 1_000_001_000),
            at(7, 3, 9, 4, 5, 6, 789),
        ];
        // Spread over the years written digit by digit (chrono writes the others).
        let first = at(0, 1, 1, 0, 0, 0, 0).and_utc().timestamp();
        let last = at(9999, 12, 31, 23, 59, 59, 0).and_utc().timestamp();
        times.extend((0..1000).filter_map(|i: i64| {
            let nanos = u32::try_from(i * 7_654_321 % 1_000_000_000).expect("under 10^9");
            DateTime::from_timestamp(first + i * ((last - first) / 999), nanos)
                .map(|t| t.naive_utc())
        }));
        for time in times {
            assert_eq!(
                Timestamp(time).to_string(),
                time.format(FORMAT).to_string(),
                "{time:?}"
            );
        }
    }
}
