//! The retry policy of every HTTP output (spec `outputs.md` §7, Q7) and the scoped overrides
//! tests use to change it.

use crate::output::full_jitter;
use std::future::Future;
use std::time::{Duration, SystemTime};

/// When and how often a failed request is tried again (spec decision Q7).
///
/// Retried: timeouts, connection failures (the request never reached the server), HTTP 429 and
/// HTTP 5xx. Before retry *n* (1-based) the request waits a uniformly random time in
/// `[0, cap(n)]` ("full jitter"), with `cap(n) = min(first_backoff · 2^(n-1), max_backoff)`:
/// 1, 2, 4 and 8 s by default. A `Retry-After` header (seconds or HTTP date) on a 429 or 503
/// makes the wait at least that long, and pauses every delivery to the same destination
/// ([`pacing`](crate::output::pacing)); when that wait is longer than `max_retry_after`, or would
/// end after the deadline, the request fails at once with a retryable error, so the alert stays
/// pending for the next delivery pass. Other 4xx statuses, invalid URLs and TLS failures are
/// final.
///
/// ```
/// use std::time::Duration;
/// use streamalert::output::http::RetryPolicy;
///
/// let policy = RetryPolicy::DEFAULT;
/// assert_eq!(policy.max_attempts, 5);
/// let caps: Vec<u64> = (1..=4).map(|n| policy.backoff_cap(n).as_secs()).collect();
/// assert_eq!(caps, [1, 2, 4, 8]);
/// assert!(policy.backoff(3) <= Duration::from_secs(4));
/// assert_eq!(RetryPolicy::SINGLE_ATTEMPT.max_attempts, 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts in all, the first one included (at least 1).
    pub max_attempts: u32,
    /// The cap of the wait before the first retry; each further retry doubles it.
    pub first_backoff: Duration,
    /// The largest cap of a wait.
    pub max_backoff: Duration,
    /// How long one request may take with all its attempts and waits. No attempt starts, and
    /// no wait begins, that would end after it.
    pub deadline: Duration,
    /// The longest `Retry-After` honoured; a longer one fails the request (retryable) at once.
    pub max_retry_after: Duration,
}

impl RetryPolicy {
    /// The policy of Q7: 5 attempts, waits capped at 1, 2, 4, 8 s, a 60 s deadline and
    /// `Retry-After` honoured up to 30 s.
    pub const DEFAULT: Self = Self {
        max_attempts: 5,
        first_backoff: Duration::from_secs(1),
        max_backoff: Duration::from_secs(8),
        deadline: Duration::from_secs(60),
        max_retry_after: Duration::from_secs(30),
    };

    /// One attempt and no retry: how the test vectors were recorded.
    pub const SINGLE_ATTEMPT: Self = Self {
        max_attempts: 1,
        ..Self::DEFAULT
    };

    /// The same policy with `attempts` attempts in all (at least 1).
    ///
    /// ```
    /// use streamalert::output::http::RetryPolicy;
    /// assert_eq!(RetryPolicy::DEFAULT.with_max_attempts(0).max_attempts, 1);
    /// ```
    pub const fn with_max_attempts(self, attempts: u32) -> Self {
        Self {
            max_attempts: if attempts == 0 { 1 } else { attempts },
            ..self
        }
    }

    /// The same policy with another deadline.
    pub const fn with_deadline(self, deadline: Duration) -> Self {
        Self { deadline, ..self }
    }

    /// The same policy with other wait caps (`first` doubles per retry up to `max`).
    ///
    /// ```
    /// use std::time::Duration;
    /// use streamalert::output::http::RetryPolicy;
    /// // pagerduty-incident's incident search: constant 5 s caps.
    /// let five = Duration::from_secs(5);
    /// let search = RetryPolicy::DEFAULT.with_backoff(five, five);
    /// assert_eq!(search.backoff_cap(4), five);
    /// ```
    pub const fn with_backoff(self, first: Duration, max: Duration) -> Self {
        Self {
            first_backoff: first,
            max_backoff: max,
            ..self
        }
    }

    /// The cap of the wait before retry `retry` (1-based).
    pub fn backoff_cap(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(31);
        self.first_backoff
            .saturating_mul(1u32 << doublings)
            .min(self.max_backoff)
    }

    /// A random wait before retry `retry`: uniform in `[0, backoff_cap(retry)]` (full jitter).
    pub fn backoff(&self, retry: u32) -> Duration {
        full_jitter(self.backoff_cap(retry))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// The wait a `Retry-After` header asks for: delay-seconds or an HTTP date (a date in the past
/// means no wait). `None` when the value is neither.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use streamalert::output::http::parse_retry_after;
///
/// let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_777); // Sun, 06 Nov 1994 08:49:37 GMT
/// assert_eq!(parse_retry_after("2", now), Some(Duration::from_secs(2)));
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:47 GMT", now), Some(Duration::from_secs(10)));
/// assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now), Some(Duration::ZERO));
/// assert_eq!(parse_retry_after("soon", now), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        return Some(Duration::from_secs(value.parse().unwrap_or(u64::MAX)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_secs(u64::try_from(date.timestamp()).ok()?))?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Changes to the HTTP layer's behaviour within one async scope: the retry policy and the
/// per-attempt timeout of every request sent inside [`HttpOverrides::run`].
///
/// The output vectors run with [`RetryPolicy::SINGLE_ATTEMPT`]; tests on tokio's paused clock
/// turn the per-attempt timeout off, because a paused clock jumps to the next timer whenever
/// the runtime waits for a server on another thread.
///
/// ```
/// use streamalert::output::http::{HttpOverrides, RetryPolicy};
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let scoped = HttpOverrides::new()
///     .retry(RetryPolicy::SINGLE_ATTEMPT)
///     .timeout(None)
///     .run(async { HttpOverrides::current() })
///     .await;
/// assert_eq!(scoped.retry_policy(), Some(RetryPolicy::SINGLE_ATTEMPT));
/// assert_eq!(scoped.attempt_timeout(), Some(None));
/// assert_eq!(HttpOverrides::current(), HttpOverrides::new()); // outside the scope
/// # });
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HttpOverrides {
    retry: Option<RetryPolicy>,
    timeout: Option<Option<Duration>>,
    own_connections: bool,
}

tokio::task_local! {
    static OVERRIDES: HttpOverrides;
}

impl HttpOverrides {
    /// No override.
    pub const fn new() -> Self {
        Self {
            retry: None,
            timeout: None,
            own_connections: false,
        }
    }

    /// Requests in the scope use a connection pool of their own instead of the process-wide
    /// one. A pooled connection belongs to the tokio runtime that opened it, so a process that
    /// runs several runtimes one after the other (a test binary: one per `#[tokio::test]`)
    /// must not hand a connection opened by a finished runtime to the next one.
    ///
    /// ```
    /// use streamalert::output::http::HttpOverrides;
    /// assert!(HttpOverrides::new().own_connections().has_own_connections());
    /// ```
    pub const fn own_connections(self) -> Self {
        Self {
            own_connections: true,
            ..self
        }
    }

    /// Whether the scope uses its own connection pool.
    pub const fn has_own_connections(&self) -> bool {
        self.own_connections
    }

    /// Use `policy` instead of each output's retry policy.
    pub const fn retry(self, policy: RetryPolicy) -> Self {
        Self {
            retry: Some(policy),
            ..self
        }
    }

    /// Use this per-attempt timeout (`None`: no timeout) instead of each output's.
    pub const fn timeout(self, timeout: Option<Duration>) -> Self {
        Self {
            timeout: Some(timeout),
            ..self
        }
    }

    /// The overriding retry policy, if any.
    pub const fn retry_policy(&self) -> Option<RetryPolicy> {
        self.retry
    }

    /// The overriding per-attempt timeout, if any (`Some(None)`: no timeout).
    pub const fn attempt_timeout(&self) -> Option<Option<Duration>> {
        self.timeout
    }

    /// Runs `future` with these overrides for every request it sends (tasks it spawns do not
    /// inherit them).
    pub async fn run<F: Future>(self, future: F) -> F::Output {
        if self.own_connections {
            super::client::scoped(OVERRIDES.scope(self, future)).await
        } else {
            OVERRIDES.scope(self, future).await
        }
    }

    /// The overrides in force for the current task.
    pub fn current() -> Self {
        OVERRIDES.try_with(|o| *o).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn q7_backoff_caps_are_1_2_4_8_and_stay_at_8() {
        let p = RetryPolicy::DEFAULT;
        let caps: Vec<u64> = (1..=6).map(|n| p.backoff_cap(n).as_secs()).collect();
        assert_eq!(caps, [1, 2, 4, 8, 8, 8]);
        assert_eq!(p.backoff_cap(0), Duration::from_secs(1));
        assert_eq!(p.backoff_cap(u32::MAX), Duration::from_secs(8));
    }

    #[test]
    fn q7_full_jitter_stays_within_the_cap_and_varies() {
        let cap = Duration::from_secs(8);
        let waits: Vec<Duration> = (0..200).map(|_| full_jitter(cap)).collect();
        assert!(waits.iter().all(|w| *w <= cap));
        assert!(waits.iter().any(|w| *w != waits[0]), "jitter never varied");
    }

    #[test]
    fn q7_retry_after_accepts_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000); // 2001-09-09T01:46:40Z
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after("0", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 09 Sep 2001 01:46:45 GMT", now),
            Some(Duration::from_secs(5))
        );
        assert_eq!(parse_retry_after("-1", now), None);
        assert_eq!(parse_retry_after("", now), None);
        assert_eq!(
            parse_retry_after("99999999999999999999999", now),
            Some(Duration::from_secs(u64::MAX))
        );
    }

    #[test]
    fn q7_the_default_policy_and_the_single_attempt_of_the_vectors() {
        let d = RetryPolicy::DEFAULT;
        let secs = |d: Duration| d.as_secs();
        assert_eq!(
            (
                d.max_attempts,
                secs(d.first_backoff),
                secs(d.max_backoff),
                secs(d.deadline),
                secs(d.max_retry_after)
            ),
            (5, 1, 8, 60, 30)
        );
        assert_eq!(
            RetryPolicy::SINGLE_ATTEMPT,
            RetryPolicy {
                max_attempts: 1,
                ..RetryPolicy::DEFAULT
            }
        );
    }

    #[test]
    fn q7_backoff_is_a_random_wait_up_to_the_cap() {
        let p = RetryPolicy::DEFAULT;
        let waits: Vec<Duration> = (0..200).map(|_| p.backoff(3)).collect();
        assert!(
            waits.iter().all(|w| *w <= Duration::from_secs(4)),
            "{waits:?}"
        );
        assert!(
            waits.iter().any(|w| *w > Duration::from_secs(2)),
            "the cap of retry 3 is 4 s, not 1 or 2: {waits:?}"
        );
    }

    #[test]
    fn with_max_attempts_sets_the_attempts_and_nothing_else() {
        let p = RetryPolicy::DEFAULT;
        assert_eq!(
            p.with_max_attempts(3),
            RetryPolicy {
                max_attempts: 3,
                ..RetryPolicy::DEFAULT
            }
        );
        assert_eq!(p.with_max_attempts(1).max_attempts, 1);
        assert_eq!(
            p.with_max_attempts(0).max_attempts,
            1,
            "at least one attempt"
        );
    }

    #[test]
    fn with_backoff_sets_both_caps_and_nothing_else() {
        let (first, max) = (Duration::from_millis(300), Duration::from_secs(2));
        let p = RetryPolicy::DEFAULT.with_backoff(first, max);
        assert_eq!(
            p,
            RetryPolicy {
                first_backoff: first,
                max_backoff: max,
                ..RetryPolicy::DEFAULT
            }
        );
        let caps: Vec<u128> = (1..=5).map(|n| p.backoff_cap(n).as_millis()).collect();
        assert_eq!(caps, [300, 600, 1200, 2000, 2000]);
    }

    #[test]
    fn with_deadline_sets_the_deadline_and_nothing_else() {
        let deadline = Duration::from_secs(7);
        assert_eq!(
            RetryPolicy::DEFAULT.with_deadline(deadline),
            RetryPolicy {
                deadline,
                ..RetryPolicy::DEFAULT
            }
        );
        assert_eq!(RetryPolicy::default(), RetryPolicy::DEFAULT);
    }

    #[test]
    fn overrides_hold_what_they_were_given() {
        let none = HttpOverrides::new();
        assert!(!none.has_own_connections());
        assert_eq!((none.retry_policy(), none.attempt_timeout()), (None, None));
        let own = none.own_connections();
        assert!(own.has_own_connections());
        assert_eq!((own.retry_policy(), own.attempt_timeout()), (None, None));
        let timed = none.timeout(Some(Duration::from_secs(3)));
        assert_eq!(timed.attempt_timeout(), Some(Some(Duration::from_secs(3))));
        assert!(!timed.has_own_connections());
        assert_eq!(none.timeout(None).attempt_timeout(), Some(None));
        let retry = none.retry(RetryPolicy::SINGLE_ATTEMPT);
        assert_eq!(retry.retry_policy(), Some(RetryPolicy::SINGLE_ATTEMPT));
        assert_eq!(retry.attempt_timeout(), None);
    }

    #[tokio::test]
    async fn overrides_are_scoped_to_the_future() {
        let inner = HttpOverrides::new()
            .retry(RetryPolicy::SINGLE_ATTEMPT)
            .run(async { HttpOverrides::current().retry_policy() })
            .await;
        assert_eq!(inner, Some(RetryPolicy::SINGLE_ATTEMPT));
        assert_eq!(HttpOverrides::current().retry_policy(), None);
    }
}
