//! `splunk-hec`: alerts as events to Splunk's HTTP Event Collector, the deliveries of one run
//! to a descriptor sent together.

use crate::json::PythonJson;
use crate::output::batch::{BatchLimits, BatchSink, Batcher};
use crate::output::http::{Http, HttpOverrides, Url};
use crate::output::{Credentials, Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use serde_json::{Map, Value};
use std::sync::{Arc, OnceLock};

const SERVICE: &str = "splunk-hec";

/// The collector's path below the stored `url` (unless that URL already names it).
pub const EVENT_PATH: &str = "services/collector/event";

/// The events one request carries at most.
pub const MAX_EVENTS: usize = 100;

/// The bytes one request carries at most (HEC's default `max_content_length`).
pub const MAX_BYTES: usize = 1_000_000;

/// The `source` of the events when none is stored.
pub const DEFAULT_SOURCE: &str = "streamalert";

/// The `sourcetype` of the events when none is stored.
pub const DEFAULT_SOURCETYPE: &str = "streamalert:alert";

/// Stored values that are configuration, shown in errors and logs (the token is redacted).
const PUBLIC: &[&str] = &["url", "index", "source", "sourcetype"];

/// Sends each alert's publication as an event to Splunk's HTTP Event Collector.
///
/// Properties: `descriptor`; `url` (the collector's base URL, e.g.
/// `https://splunk.example.com:8088`; [`EVENT_PATH`] is appended unless the URL already
/// contains `/services/collector`); `token` (the HEC token; masked, secret, sent as
/// `Authorization: Splunk <token>` and redacted from every error and log); `index`,
/// `sourcetype`, `source` (blank: the token's default index, [`DEFAULT_SOURCETYPE`],
/// [`DEFAULT_SOURCE`]). Indexer acknowledgement must be off for the token.
///
/// Each event is `{"time": <alert creation, Unix seconds>, "source", "sourcetype", "index"
/// (when stored), "event": <the publication>}`: choose what Splunk indexes with publishers, as
/// for `webhook`. The events of concurrent deliveries to one descriptor (a run's alerts) go
/// out together, newline-separated in one request (at most [`MAX_EVENTS`] events and
/// [`MAX_BYTES`]), as the AWS batching outputs do; a request refused with HTTP 400 (one bad
/// event, such as HEC's `Invalid data format` with its `invalid-event-number`) is sent again
/// event by event, so only the events HEC refuses fail. Any 2xx is success (HEC answers
/// `{"text": "Success", "code": 0}`), under the shared retry policy (HEC's 503 `Server is
/// busy` is retried).
///
/// ```
/// use streamalert::{Alert, Publication, outputs::splunk_hec};
/// use streamalert::output::{Credentials, Delivery};
/// let alert = Alert::new("r", serde_json::json!({}), ["splunk-hec:siem"]);
/// let mut publication = Publication::new();
/// publication.insert("rule_name", "r");
/// let credentials = Credentials::from_iter([("index", "security")]);
/// let delivery = Delivery::new(&alert, "siem", &publication).with_credentials(&credentials);
/// let event: serde_json::Value = serde_json::from_str(&splunk_hec::event(&delivery)).unwrap();
/// assert_eq!(event["sourcetype"], "streamalert:alert");
/// assert_eq!(event["index"], "security");
/// assert_eq!(event["event"]["rule_name"], "r");
/// ```
#[derive(Debug, Default)]
#[crate::output(service = "splunk-hec", builtin)]
pub struct SplunkHec {
    batcher: OnceLock<Batcher<HecSink>>,
}

#[async_trait::async_trait]
impl Output for SplunkHec {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this Splunk HTTP Event Collector",
            ),
            OutputProperty::new(
                "url",
                "the HTTP Event Collector url (ie: https://splunk.example.com:8088)",
            )
            .secret()
            .forbidding(&[' ']),
            OutputProperty::new("token", "the HTTP Event Collector token")
                .masked()
                .secret(),
            OutputProperty::new(
                "index",
                "the index to write to (leave blank for the token's default)",
            )
            .secret(),
            OutputProperty::new(
                "sourcetype",
                "the sourcetype of the events (leave blank for streamalert:alert)",
            )
            .secret()
            .forbidding(&[]),
            OutputProperty::new(
                "source",
                "the source of the events (leave blank for streamalert)",
            )
            .secret()
            .forbidding(&[]),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).public(PUBLIC);
        // Configuration errors fail here, before the event waits for a batch.
        http.credential("token")?;
        endpoint(&http)?;
        let line = event(delivery);
        let size = line.len() + 1;
        if size > MAX_BYTES {
            return Err(http.error(
                ErrorKind::Rejected,
                format!("the event is {size} bytes, more than the {MAX_BYTES} a request may hold"),
            ));
        }
        let event = HecEvent {
            line,
            credentials: delivery.credentials.clone(),
            overrides: HttpOverrides::current(),
        };
        self.batcher
            .get_or_init(|| Batcher::new(Arc::new(HecSink)))
            .submit(delivery.descriptor, event, size)
            .await
    }
}

/// The HEC event of `delivery`, compact JSON (see [`SplunkHec`]).
pub fn event(delivery: &Delivery<'_>) -> String {
    let stored = |name: &str| {
        delivery
            .credentials
            .require(name)
            .ok()
            .map(str::trim)
            .filter(|value| !value.is_empty())
    };
    let mut event = Map::new();
    event.insert("time".into(), delivery.alert.created.unix_seconds().into());
    event.insert(
        "source".into(),
        stored("source").unwrap_or(DEFAULT_SOURCE).into(),
    );
    event.insert(
        "sourcetype".into(),
        stored("sourcetype").unwrap_or(DEFAULT_SOURCETYPE).into(),
    );
    if let Some(index) = stored("index") {
        event.insert("index".into(), index.into());
    }
    event.insert("event".into(), Value::from(delivery.publication.clone()));
    PythonJson::COMPACT.dump(&Value::Object(event))
}

/// The collector URL: the stored `url`, with [`EVENT_PATH`] appended unless it names the
/// collector already.
fn endpoint(http: &Http<'_>) -> Result<Url, DispatchError> {
    let base = http.url_credential("url")?;
    if base.path().contains("/services/collector") {
        return Ok(base);
    }
    Http::join(&base, EVENT_PATH)
}

/// One queued event: its JSON line, and what its delivery's request needs.
struct HecEvent {
    line: String,
    credentials: Credentials,
    overrides: HttpOverrides,
}

/// Sends the queued events of one descriptor (the batcher's destination).
#[derive(Debug)]
struct HecSink;

#[async_trait::async_trait]
impl BatchSink for HecSink {
    type Record = HecEvent;

    fn limits(&self) -> BatchLimits {
        BatchLimits {
            max_records: MAX_EVENTS,
            max_bytes: MAX_BYTES,
        }
    }

    async fn send(&self, descriptor: &str, events: &[HecEvent]) -> Vec<Result<(), DispatchError>> {
        let Some(first) = events.first() else {
            return Vec::new();
        };
        // The deliveries of one descriptor share its stored credentials.
        let http = Http::for_descriptor(SERVICE, descriptor, &first.credentials).public(PUBLIC);
        let lines: Vec<&str> = events.iter().map(|e| e.line.as_str()).collect();
        first
            .overrides
            .run(async {
                match post(&http, &lines).await {
                    Ok(()) => vec![Ok(()); events.len()],
                    Err(error) if error.status() == Some(400) && events.len() > 1 => {
                        tracing::info!(
                            output = %http.output(),
                            events = events.len(),
                            "the collector refused a batch; sending its events one by one"
                        );
                        let mut results = Vec::with_capacity(lines.len());
                        for line in &lines {
                            results.push(post(&http, &[line]).await);
                        }
                        results
                    }
                    Err(error) => vec![Err(error); events.len()],
                }
            })
            .await
    }
}

/// Posts `lines` in one request.
async fn post(http: &Http<'_>, lines: &[&str]) -> Result<(), DispatchError> {
    let token = http.credential("token")?;
    let url = endpoint(http)?;
    http.post(url)
        .header("Authorization", format!("Splunk {token}"))
        .body(lines.join("\n").into_bytes(), "application/json")
        .send()
        .await
        .map(|_| ())
}
