//! Pacing per destination through the processor, on tokio's paused clock: a burst of alerts to
//! one Slack descriptor drains at its configured rate without a 429 from a mock Slack that
//! enforces that rate, another descriptor keeps its own pace, a `Retry-After` pauses every
//! delivery in flight to its destination, and a delivery that cannot get a token before its
//! dispatch deadline stays pending for `retry`.
//!
//! The mock runs on the test's runtime (not wiremock's thread), so that it reads the paused
//! clock and the clock only moves when every task waits on a timer.

use serde_json::json;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use streamalert::Alert;
use streamalert::config::RateLimit;
use streamalert::config::{LedgerSettings, OutputsConfig, ProcessorSettings};
use streamalert::ledger::{DeliveryState, Ledger as _, SqliteLedger};
use streamalert::output::{CredentialError, CredentialProvider, Credentials};
use streamalert::processor::Processor;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::time::Instant;

/// One request the mock received: its path, when (from the mock's start), and its status.
#[derive(Debug, Clone)]
struct Hit {
    path: String,
    at: Duration,
    status: u16,
}

/// A Slack webhook per path, each enforcing a token bucket of its own (`per_second`, `burst`):
/// a request without a token is answered `429` with `Retry-After: 1`. With `throttle` =
/// `(path, status, seconds)`, the first request to `path` is answered `status` with
/// `Retry-After: seconds`.
struct MockSlack {
    url: String,
    hits: Arc<Mutex<Vec<Hit>>>,
}

#[derive(Clone, Copy)]
struct Enforced {
    per_second: f64,
    burst: f64,
}

struct Buckets {
    limits: BTreeMap<String, Enforced>,
    /// Path → (tokens, when last refilled).
    state: BTreeMap<String, (f64, Instant)>,
    throttle: Option<(String, u16, u64)>,
}

impl Buckets {
    /// The classic token bucket (tokens refilled continuously), written independently of the
    /// processor's: `true` when `path` has a token now (and takes it).
    fn admit(&mut self, path: &str, now: Instant) -> bool {
        let Some(limit) = self.limits.get(path).copied() else {
            return true;
        };
        let (tokens, last) = self
            .state
            .entry(path.to_owned())
            .or_insert((limit.burst, now));
        let refilled = (*tokens + (now - *last).as_secs_f64() * limit.per_second).min(limit.burst);
        *last = now;
        // A nanosecond of rounding in the processor's interval must not count as too early.
        if refilled >= 1.0 - 1e-6 {
            *tokens = refilled - 1.0;
            true
        } else {
            *tokens = refilled;
            false
        }
    }
}

impl MockSlack {
    async fn start(limits: &[(&str, f64, u32)], throttle: Option<(&str, u16, u64)>) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let started = Instant::now();
        let buckets = Arc::new(Mutex::new(Buckets {
            limits: limits
                .iter()
                .map(|(path, per_second, burst)| {
                    let enforced = Enforced {
                        per_second: *per_second,
                        burst: f64::from(*burst),
                    };
                    ((*path).to_owned(), enforced)
                })
                .collect(),
            state: BTreeMap::new(),
            throttle: throttle.map(|(path, status, seconds)| (path.to_owned(), status, seconds)),
        }));
        let recorded = Arc::clone(&hits);
        tokio::spawn(async move {
            loop {
                let (mut socket, _) = listener.accept().await.unwrap();
                let (hits, buckets) = (Arc::clone(&recorded), Arc::clone(&buckets));
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    loop {
                        let mut request = Vec::new();
                        let path = loop {
                            let n = socket.read(&mut buf).await.unwrap_or(0);
                            if n == 0 {
                                return;
                            }
                            request.extend_from_slice(&buf[..n]);
                            let text = String::from_utf8_lossy(&request).to_ascii_lowercase();
                            let Some(end) = text.find("\r\n\r\n") else {
                                continue;
                            };
                            let length = text
                                .lines()
                                .find_map(|l| l.strip_prefix("content-length: "))
                                .map_or(0, |v| v.trim().parse::<usize>().unwrap());
                            if request.len() >= end + 4 + length {
                                break text.split(' ').nth(1).unwrap().to_owned();
                            }
                        };
                        let now = Instant::now();
                        let reply = {
                            let mut buckets = buckets.lock().unwrap();
                            let throttled = buckets
                                .throttle
                                .take_if(|(throttled, _, _)| *throttled == path);
                            if let Some((_, status, seconds)) = throttled {
                                (status, seconds)
                            } else if buckets.admit(&path, now) {
                                (200, 0)
                            } else {
                                (429, 1)
                            }
                        };
                        hits.lock().unwrap().push(Hit {
                            path,
                            at: now - started,
                            status: reply.0,
                        });
                        let text = match reply {
                            (200, _) => "HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok".to_owned(),
                            (status, wait) => format!(
                                "HTTP/1.1 {status} Slow Down\r\nretry-after: {wait}\r\ncontent-length: 0\r\n\r\n"
                            ),
                        };
                        socket.write_all(text.as_bytes()).await.unwrap();
                    }
                });
            }
        });
        Self { url, hits }
    }

    /// The requests to `path`, in order.
    fn hits(&self, path: &str) -> Vec<Hit> {
        let hits = self.hits.lock().unwrap();
        hits.iter().filter(|h| h.path == path).cloned().collect()
    }

    fn throttled(&self) -> usize {
        let hits = self.hits.lock().unwrap();
        hits.iter().filter(|h| h.status != 200).count()
    }
}

/// Each `slack` descriptor's webhook is the mock's `/<descriptor>`.
struct Webhooks(String);

#[streamalert::async_trait]
impl CredentialProvider for Webhooks {
    async fn credentials(
        &self,
        service: &str,
        descriptor: &str,
    ) -> Result<Option<Credentials>, CredentialError> {
        Ok((service == "slack")
            .then(|| Credentials::from_iter([("url", format!("{}/{descriptor}", self.0))])))
    }
}

fn processor(mock: &MockSlack, settings: ProcessorSettings) -> Processor {
    let config = OutputsConfig::from_json(r#"{"slack": ["secops", "other", "quiet"]}"#).unwrap();
    Processor::new(config)
        .with_settings(settings)
        .with_credentials(Arc::new(Webhooks(mock.url.clone())))
}

fn alerts(n: usize, output: &str) -> Vec<Alert> {
    (0..n)
        .map(|i| Alert::new("r", json!({"n": i, "to": output}), [output]))
        .collect()
}

fn seconds(hits: &[Hit]) -> Vec<f64> {
    hits.iter().map(|h| h.at.as_secs_f64()).collect()
}

#[tokio::test(start_paused = true)]
async fn a_hundred_alerts_drain_at_the_configured_rate_without_a_429_and_others_keep_their_pace() {
    // slack:secops at 1 a second with bursts of 5 (processor.json); slack:other at Slack's
    // default (1 a second, bursts of 3). The mock enforces exactly these.
    let mock = MockSlack::start(&[("/secops", 1.0, 5), ("/other", 1.0, 3)], None).await;
    let settings = ProcessorSettings::from_json(
        r#"{"concurrency": 1000, "dispatch_timeout_secs": 300,
            "rate_limits": {"slack:secops": {"per_second": 1, "burst": 5}}}"#,
    )
    .unwrap();
    let processor = processor(&mock, settings);
    let mut batch = alerts(100, "slack:secops");
    batch.extend(alerts(5, "slack:other"));
    let started = Instant::now();
    let report = processor.process(batch).await.unwrap();

    assert_eq!((report.sent, report.failed), (105, 0));
    assert_eq!(mock.throttled(), 0, "the mock answered 429");
    let secops = mock.hits("/secops");
    assert_eq!(secops.len(), 100);
    // Five at once, then one a second: the last at 95 s.
    let mut expected = vec![0.0; 5];
    expected.extend((1..=95).map(f64::from));
    assert_eq!(seconds(&secops), expected);
    // slack:other was not held behind slack:secops: its default burst at once, then 1 a second.
    assert_eq!(seconds(&mock.hits("/other")), [0.0, 0.0, 0.0, 1.0, 2.0]);
    assert_eq!(started.elapsed(), Duration::from_secs(95));
}

/// slack:secops at 1 a second, no burst; its first request is answered `status` with
/// `Retry-After: 5`. The three other deliveries hold tokens for 1, 2 and 3 s when that reply
/// arrives; without a shared pause the second would be sent at 1 s, into the throttle.
async fn a_retry_after_pauses_every_delivery_in_flight(status: u16) {
    let mock = MockSlack::start(&[], Some(("/secops", status, 5))).await;
    let settings = ProcessorSettings::from_json(
        r#"{"concurrency": 100, "rate_limits": {"slack:secops": {"per_second": 1, "burst": 1},
            "slack:quiet": {"per_second": 1000, "burst": 1000}}}"#,
    )
    .unwrap();
    let processor = processor(&mock, settings);
    let mut batch = alerts(4, "slack:secops");
    batch.extend(alerts(2, "slack:quiet"));
    let report = processor.process(batch).await.unwrap();

    assert_eq!((report.sent, report.failed), (6, 0));
    let secops = mock.hits("/secops");
    let statuses: Vec<u16> = secops.iter().map(|h| h.status).collect();
    assert_eq!(statuses, [status, 200, 200, 200, 200]);
    // Nothing before the pause's end at 5 s, then one a second again (the throttled delivery's
    // retry takes a token too: the last one).
    assert_eq!(seconds(&secops), [0.0, 5.0, 6.0, 7.0, 8.0]);
    // Another destination is not paused.
    assert_eq!(seconds(&mock.hits("/quiet")), [0.0, 0.0]);
}

#[tokio::test(start_paused = true)]
async fn a_429s_retry_after_pauses_every_delivery_in_flight_to_the_destination() {
    a_retry_after_pauses_every_delivery_in_flight(429).await;
}

#[tokio::test(start_paused = true)]
async fn a_503s_retry_after_pauses_every_delivery_in_flight_to_the_destination() {
    a_retry_after_pauses_every_delivery_in_flight(503).await;
}

#[tokio::test(start_paused = true)]
async fn a_delivery_without_a_token_before_its_deadline_stays_pending_for_retry() {
    let dir = tempfile::tempdir().unwrap();
    let mock = MockSlack::start(&[("/secops", 1.0, 5)], None).await;
    let settings = ProcessorSettings {
        concurrency: 100,
        dispatch_timeout_secs: 10,
        // A delivery is never given up for want of a token, even on its last attempt.
        max_attempts: 1,
        rate_limits: BTreeMap::from([("slack:secops".to_owned(), RateLimit::new(1.0, 5).unwrap())]),
        ledger: LedgerSettings {
            path: dir.path().join("ledger.sqlite3"),
            ..LedgerSettings::default()
        },
        ..ProcessorSettings::default()
    };
    let ledger = Arc::new(SqliteLedger::open(&settings.ledger).unwrap());
    let processor = processor(&mock, settings).with_ledger(ledger.clone());

    // 20 alerts, 10 s each: five at once, then one a second up to 9 s; the token at 10 s
    // would come at the deadline, so the six left fail at once, retryable, without waiting.
    let report = processor.process(alerts(20, "slack:secops")).await.unwrap();
    assert_eq!((report.sent, report.failed, report.dead), (14, 6, 0));
    assert_eq!(ledger.counts().await.unwrap().unsent(), 6);
    assert_eq!(mock.throttled(), 0);
    // Each of the six is failed (not dead) after one attempt, with the reason.
    let failed: Vec<_> = ledger
        .open_alerts()
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.deliveries[0].clone())
        .collect();
    assert_eq!(failed.len(), 6);
    for delivery in &failed {
        assert_eq!(
            (delivery.state, delivery.attempts),
            (DeliveryState::Failed, 1)
        );
        let error = delivery.last_error.as_deref().unwrap();
        assert!(error.contains("slack:secops: paced: "), "{error}");
    }

    // The next pass delivers them, at the same pace: nothing lost, nothing sent twice.
    let retried = processor.retry().await.unwrap();
    assert_eq!((retried.sent, retried.failed), (6, 0));
    assert_eq!(ledger.counts().await.unwrap().unsent(), 0);
    let secops = mock.hits("/secops");
    assert_eq!(secops.len(), 20);
    assert_eq!(mock.throttled(), 0);
}
