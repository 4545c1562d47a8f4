//! StreamAlert's timestamp text: `%Y-%m-%dT%H:%M:%S.%fZ`, naive UTC, six fractional digits.

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
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
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.format(FORMAT))
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
