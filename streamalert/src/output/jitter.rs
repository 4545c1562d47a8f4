//! The one random wait every retry loop uses (HTTP outputs, AWS batching, PagerDuty's search).

use std::time::Duration;

/// A uniformly random duration in `[0, cap]`, with millisecond resolution ("full jitter").
///
/// ```
/// use std::time::Duration;
/// use streamalert::output::full_jitter;
/// let cap = Duration::from_secs(2);
/// assert!(full_jitter(cap) <= cap);
/// assert_eq!(full_jitter(Duration::ZERO), Duration::ZERO);
/// ```
pub fn full_jitter(cap: Duration) -> Duration {
    let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(fastrand::u64(0..=millis))
}
