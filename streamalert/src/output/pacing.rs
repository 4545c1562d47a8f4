//! Pacing: how fast each destination (`service:descriptor`) is sent to.
//!
//! Every destination has a token bucket: `burst` sends at once, then `per_second` sends a
//! second. The limit comes from `processor.json`'s `rate_limits` (a `service:descriptor` key,
//! else a `service` key), else from the service's default
//! ([`RateLimit::default_for`](crate::config::RateLimit::default_for)), else
//! the destination is unlimited. The processor takes one token before each delivery; the HTTP
//! layer takes one more before every further request of that delivery (a retry, a second
//! call), so each request a vendor counts is paced.
//!
//! A `Retry-After` the HTTP layer receives (on a 429 or a 503) pauses the destination: no
//! delivery to it, in flight or new, sends before the pause ends, and after it the bucket
//! holds one token.
//!
//! Waiting for a token counts against the delivery's deadline (`dispatch_timeout_secs`): a
//! delivery whose next token comes after its deadline fails at once with a retryable error
//! ([`ErrorKind::Paced`]: it stays pending for `retry`, and is never given up for it), without
//! taking the token.
//!
//! The clock is tokio's, so tests drive the buckets on a paused clock.

#![cfg_attr(
    not(feature = "http"),
    allow(
        dead_code,
        reason = "the per-request half (pauses, later requests of a delivery) is the HTTP layer's (feature `http`)"
    )
)]

use super::{DispatchError, ErrorKind};
use crate::config::RateLimit;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::time::Instant;

/// The longest pause a `Retry-After` imposes on a destination (a longer one is cut to it): one
/// day, the longest `dispatch_timeout_secs`, so no delivery waiting on it could succeed anyway.
pub const MAX_PAUSE: Duration = Duration::from_secs(86_400);

/// No token before the deadline: the delivery fails (retryable) and stays pending.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("paced: the next send to this destination is in {} ms, after this delivery's deadline", .wait.as_millis())]
pub(crate) struct Paced {
    /// How long the token would have been waited for.
    pub(crate) wait: Duration,
}

impl Paced {
    /// The retryable [`DispatchError`] of a delivery to `output` that got no token.
    pub(crate) fn into_error(self, output: &str) -> DispatchError {
        DispatchError::new(
            ErrorKind::Paced,
            format!("{output}: {self}; it stays pending"),
        )
    }
}

/// A token taken from a bucket, valid until the destination is next paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Grant(u64);

/// The bucket of one destination.
#[derive(Debug)]
pub(crate) struct Bucket {
    /// The time between tokens (zero: unlimited) and the bucket's size.
    interval: Duration,
    burst: u32,
    state: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// When the bucket is theoretically full again (GCRA): a send may go at
    /// `tat + interval - burst × interval`.
    tat: Instant,
    /// No send before this instant (a `Retry-After`).
    paused_until: Instant,
    /// Counts pauses: a send that waited across one takes a new place in line.
    pauses: u64,
}

impl Bucket {
    pub(crate) fn new(limit: Option<RateLimit>) -> Self {
        let now = Instant::now();
        Self {
            interval: limit.map_or(Duration::ZERO, |l| l.interval()),
            burst: limit.map_or(1, |l| l.burst()),
            state: Mutex::new(State {
                tat: now,
                paused_until: now,
                pauses: 0,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a token, waiting for it; `Err` at once when it comes at or after `deadline`
    /// (the token is then left for others). `Ok` holds the [`Grant`] to hand to [`scope`].
    pub(crate) async fn acquire(&self, deadline: Instant) -> Result<Grant, Paced> {
        loop {
            let (at, pauses) = self.reserve(deadline)?;
            if at > Instant::now() {
                tokio::time::sleep_until(at).await;
            }
            if self.pauses() == pauses {
                return Ok(Grant(pauses));
            }
            // Paused while waiting: the place in line is void, take a new one.
        }
    }

    fn pauses(&self) -> u64 {
        self.state().pauses
    }

    /// Reserves the next token: when it may be used, and the pause count at that moment.
    fn reserve(&self, deadline: Instant) -> Result<(Instant, u64), Paced> {
        let now = Instant::now();
        let mut state = self.state();
        let tat = state.tat.max(now) + self.interval;
        let spread = self.interval.saturating_mul(self.burst);
        let at = tat
            .checked_sub(spread)
            .unwrap_or(now)
            .max(now)
            .max(state.paused_until);
        if at > now && at >= deadline {
            return Err(Paced {
                wait: at.saturating_duration_since(now),
            });
        }
        state.tat = tat;
        Ok((at, state.pauses))
    }

    /// Pauses the destination for `wait` (at most [`MAX_PAUSE`]): nothing is sent before it
    /// ends, then one token is there. A pause that ends before the current one changes nothing.
    pub(crate) fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait.min(MAX_PAUSE);
        let mut state = self.state();
        if until <= state.paused_until {
            return;
        }
        state.paused_until = until;
        state.tat = until + self.interval.saturating_mul(self.burst.saturating_sub(1));
        state.pauses += 1;
    }
}

/// The buckets of a processor's destinations, made on first use.
#[derive(Debug, Default)]
pub(crate) struct Pacing {
    overrides: BTreeMap<String, RateLimit>,
    buckets: Mutex<HashMap<String, Arc<Bucket>>>,
}

impl Pacing {
    /// Buckets under `processor.json`'s `rate_limits` (keys `service:descriptor` or `service`).
    pub(crate) fn new(overrides: BTreeMap<String, RateLimit>) -> Self {
        Self {
            overrides,
            buckets: Mutex::default(),
        }
    }

    /// The limit of `service:descriptor`: its own entry, its service's, the service's default,
    /// else none.
    pub(crate) fn limit(&self, service: &str, output: &str) -> Option<RateLimit> {
        self.overrides
            .get(output)
            .or_else(|| self.overrides.get(service))
            .copied()
            .or_else(|| RateLimit::default_for(service))
    }

    /// The bucket of `output` (`service:descriptor` of `service`).
    pub(crate) fn bucket(&self, service: &str, output: &str) -> Arc<Bucket> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(bucket) = buckets.get(output) {
            return Arc::clone(bucket);
        }
        let bucket = Arc::new(Bucket::new(self.limit(service, output)));
        buckets.insert(output.to_owned(), Arc::clone(&bucket));
        bucket
    }
}

/// The destination of the delivery the current task is making.
struct Current {
    bucket: Arc<Bucket>,
    deadline: Instant,
    /// The token the processor took for the delivery's first request.
    prepaid: Cell<Option<Grant>>,
}

tokio::task_local! {
    static CURRENT: Current;
}

/// Runs `future` (one delivery's dispatch, with the token `prepaid` for its first request) as
/// a delivery to `bucket`'s destination ending at `deadline`.
pub(crate) async fn scope<F: std::future::Future>(
    bucket: Arc<Bucket>,
    prepaid: Grant,
    deadline: Instant,
    future: F,
) -> F::Output {
    let current = Current {
        bucket,
        deadline,
        prepaid: Cell::new(Some(prepaid)),
    };
    CURRENT.scope(current, future).await
}

/// Before a request of the current delivery: the first one has its token (unless the
/// destination was paused since it was taken); a later one takes one, waiting no later than
/// `deadline` or the delivery's deadline. Outside a delivery (an output called directly),
/// nothing to wait for.
pub(crate) async fn before_request(deadline: Instant) -> Result<(), Paced> {
    let to_take = CURRENT.try_with(|current| {
        let prepaid = current.prepaid.take();
        (prepaid != Some(Grant(current.bucket.pauses())))
            .then(|| (Arc::clone(&current.bucket), deadline.min(current.deadline)))
    });
    match to_take {
        Ok(Some((bucket, deadline))) => bucket.acquire(deadline).await.map(|_| ()),
        Ok(None) | Err(_) => Ok(()),
    }
}

/// A `Retry-After` of `wait` for the current delivery: pauses its destination.
pub(crate) fn pause_current(wait: Duration) {
    // Outside a delivery there is no destination to pause.
    let _ = CURRENT.try_with(|current| current.bucket.pause(wait));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bucket(per_second: f64, burst: u32) -> Bucket {
        Bucket::new(Some(RateLimit::new(per_second, burst).unwrap()))
    }

    fn far() -> Instant {
        Instant::now() + Duration::from_secs(3600)
    }

    /// The seconds (from `start`) at which `n` sequential acquisitions got their token.
    async fn times(bucket: &Bucket, n: usize, start: Instant) -> Vec<f64> {
        let mut at = Vec::new();
        for _ in 0..n {
            bucket.acquire(far()).await.unwrap();
            at.push((Instant::now() - start).as_secs_f64());
        }
        at
    }

    #[tokio::test(start_paused = true)]
    async fn a_burst_then_the_rate() {
        let start = Instant::now();
        let got = times(&bucket(2.0, 3), 7, start).await;
        assert_eq!(got, [0.0, 0.0, 0.0, 0.5, 1.0, 1.5, 2.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_bucket_refills_up_to_its_burst_only() {
        let b = bucket(1.0, 2);
        let start = Instant::now();
        assert_eq!(times(&b, 2, start).await, [0.0, 0.0]);
        tokio::time::advance(Duration::from_secs(10)).await;
        let got = times(&b, 4, start).await;
        assert_eq!(got, [10.0, 10.0, 11.0, 12.0]);
    }

    #[tokio::test(start_paused = true)]
    async fn concurrent_waiters_are_spaced_by_the_interval() {
        let b = Arc::new(bucket(1.0, 1));
        let start = Instant::now();
        let waiters = (0..5).map(|_| {
            let b = Arc::clone(&b);
            tokio::spawn(async move {
                b.acquire(far()).await.unwrap();
                (Instant::now() - start).as_secs()
            })
        });
        let mut got = Vec::new();
        for waiter in waiters {
            got.push(waiter.await.unwrap());
        }
        got.sort_unstable();
        assert_eq!(got, [0, 1, 2, 3, 4]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_token_after_the_deadline_is_refused_at_once_and_not_taken() {
        let b = bucket(1.0, 1);
        b.acquire(far()).await.unwrap();
        let start = Instant::now();
        let refused = b
            .acquire(start + Duration::from_millis(1000))
            .await
            .unwrap_err();
        assert_eq!(refused.wait, Duration::from_secs(1));
        assert_eq!(Instant::now(), start, "it waited");
        // The refused token is still there for a delivery with more time.
        b.acquire(start + Duration::from_millis(1001))
            .await
            .unwrap();
        assert_eq!(Instant::now() - start, Duration::from_secs(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_every_waiter_then_the_rate_resumes_without_a_burst() {
        let b = Arc::new(bucket(1.0, 3));
        let start = Instant::now();
        // The burst is spent at 0; the next three wait for 1, 2 and 3 s.
        assert_eq!(times(&b, 3, start).await, [0.0, 0.0, 0.0]);
        let waiters: Vec<_> = (0..3)
            .map(|_| {
                let b = Arc::clone(&b);
                tokio::spawn(async move {
                    b.acquire(far()).await.unwrap();
                    (Instant::now() - start).as_secs()
                })
            })
            .collect();
        tokio::time::sleep(Duration::from_millis(500)).await;
        b.pause(Duration::from_secs(10));
        let mut got = Vec::new();
        for waiter in waiters {
            got.push(waiter.await.unwrap());
        }
        got.sort_unstable();
        // 10.5 s: the pause's end, then one a second.
        assert_eq!(got, [10, 11, 12]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_delivery_takes_a_token_per_request_after_its_first_and_a_pause_voids_the_first() {
        let b = Arc::new(bucket(1.0, 2));
        let start = Instant::now();
        let deadline = start + Duration::from_secs(60);
        let since = || (Instant::now() - start).as_secs();
        let grant = b.acquire(deadline).await.unwrap();
        let requests = scope(Arc::clone(&b), grant, deadline, async {
            let mut at = Vec::new();
            for _ in 0..3 {
                before_request(deadline).await.unwrap();
                at.push(since());
            }
            at
        })
        .await;
        // The first request had its token; the bucket's second, then one a second.
        assert_eq!(requests, [0, 0, 1]);

        // A token taken before a pause is void: the first request waits for the pause's end.
        let grant = b.acquire(deadline).await.unwrap();
        assert_eq!(since(), 2);
        b.pause(Duration::from_secs(5));
        let first = scope(Arc::clone(&b), grant, deadline, async {
            before_request(deadline).await.unwrap();
            since()
        })
        .await;
        assert_eq!(first, 7);
        // Outside a delivery nothing waits, and nothing is paused.
        before_request(deadline).await.unwrap();
        pause_current(Duration::from_secs(60));
        assert_eq!(b.pauses(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn an_unlimited_bucket_only_waits_for_pauses() {
        let b = Bucket::new(None);
        let start = Instant::now();
        assert_eq!(times(&b, 100, start).await, [0.0; 100]);
        b.pause(Duration::from_secs(2));
        b.pause(Duration::from_secs(1)); // ends earlier: changes nothing
        assert_eq!(times(&b, 3, start).await, [2.0; 3]);
        // A pause longer than the deadline fails at once.
        b.pause(Duration::from_secs(30));
        let refused = b
            .acquire(Instant::now() + Duration::from_secs(5))
            .await
            .unwrap_err();
        assert_eq!(refused.wait, Duration::from_secs(30));
        assert!(refused.into_error("slack:x").is_retryable());
    }

    #[tokio::test(start_paused = true)]
    async fn a_huge_retry_after_is_cut_to_a_day() {
        let b = Bucket::new(None);
        b.pause(Duration::from_secs(u64::MAX));
        let refused = b.acquire(far()).await.unwrap_err();
        assert_eq!(refused.wait, MAX_PAUSE);
    }

    #[test]
    fn limits_come_from_the_destination_then_the_service_then_the_default() {
        let limit = |p, b| RateLimit::new(p, b).unwrap();
        let pacing = Pacing::new(BTreeMap::from([
            ("slack:secops".to_owned(), limit(5.0, 10)),
            ("slack".to_owned(), limit(2.0, 4)),
            ("file".to_owned(), limit(100.0, 1)),
        ]));
        assert_eq!(pacing.limit("slack", "slack:secops"), Some(limit(5.0, 10)));
        assert_eq!(pacing.limit("slack", "slack:other"), Some(limit(2.0, 4)));
        assert_eq!(pacing.limit("file", "file:a"), Some(limit(100.0, 1)));
        assert_eq!(
            pacing.limit("github", "github:g"),
            RateLimit::default_for("github")
        );
        assert_eq!(pacing.limit("stdout", "stdout:console"), None);
        let first = pacing.bucket("slack", "slack:secops");
        assert!(Arc::ptr_eq(&first, &pacing.bucket("slack", "slack:secops")));
        assert!(!Arc::ptr_eq(&first, &pacing.bucket("slack", "slack:other")));
    }
}
