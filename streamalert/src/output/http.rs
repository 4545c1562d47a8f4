//! The HTTP layer every HTTP output uses (feature `http`, part of `saas`).
//!
//! * one process-wide pool of HTTP/1.1 connections (hyper's client on rustls, the platform's
//!   certificate verifier, `User-Agent:` [`USER_AGENT`]), with a [`CONNECT_TIMEOUT`] and a
//!   per-attempt total timeout; redirects are never followed;
//! * the retry policy of spec decision Q7 in one place ([`RetryPolicy`]): timeouts, connection
//!   failures, 429 and 5xx are retried with full-jitter exponential backoff, `Retry-After` is
//!   honoured, any other 4xx is final;
//! * the destination's [pace](crate::output::pacing) before every request after a delivery's
//!   first (whose token the processor took), and a `Retry-After` pausing the destination;
//! * TLS verification on every request unless the descriptor stores `tls_verify: false`
//!   (decision Q8; [`TLS_VERIFY_KEY`]), logged at WARN the first time;
//! * every [`DispatchError`] names `service:descriptor`, the method, the URL (webhook paths and
//!   every secret credential value redacted), the status, the try count, whether it is
//!   retryable, and the service's reply (elided, secrets redacted);
//! * base URLs overridable per descriptor by a stored credential (decision Q11,
//!   [`Http::endpoint`]) and JSON success checks ([`HttpReply::json_nonempty`], decision Q2).
//!
//! An output builds one [`Http`] per delivery and sends its requests through it:
//!
//! ```
//! use streamalert::{Alert, Publication};
//! use streamalert::output::{Credentials, Delivery, http::Http};
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! # let url = doc_server::start(200, "ok");
//! // `url` is a local stand-in for a webhook such as https://hooks.slack.com/services/T0/B0/secret
//! let credentials = Credentials::from_iter([("url", url.clone())]);
//! let alert = Alert::new("r", serde_json::json!({}), ["slack:secops"]);
//! let publication = Publication::new();
//! let delivery = Delivery::new(&alert, "secops", &publication).with_credentials(&credentials);
//!
//! let http = Http::new("slack", &delivery);
//! let webhook = http.url_credential("url").unwrap();
//! let reply = http.post(webhook).json(&serde_json::json!({"text": "hi"})).send().await.unwrap();
//! assert_eq!(reply.status(), 200);
//! assert_eq!(reply.body(), b"ok");
//! # });
//! # mod doc_server {
//! #     use std::io::{Read, Write};
//! #     /// Answers one request with `status` and `body`; returns a URL with a secret-looking path.
//! #     pub fn start(status: u16, body: &'static str) -> String {
//! #         let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
//! #         let url = format!("http://{}/services/T0/B0/secret", listener.local_addr().unwrap());
//! #         std::thread::spawn(move || {
//! #             let (mut socket, _) = listener.accept().unwrap();
//! #             let mut request = Vec::new();
//! #             let mut buf = [0u8; 4096];
//! #             loop {
//! #                 let n = socket.read(&mut buf).unwrap();
//! #                 request.extend_from_slice(&buf[..n]);
//! #                 let text = String::from_utf8_lossy(&request).to_lowercase();
//! #                 if let Some(end) = text.find("\r\n\r\n") {
//! #                     let length = text.lines().find_map(|l| l.strip_prefix("content-length: "))
//! #                         .map_or(0, |v| v.trim().parse::<usize>().unwrap());
//! #                     if request.len() >= end + 4 + length || n == 0 { break; }
//! #                 }
//! #             }
//! #             let reply = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n\r\n{body}", body.len());
//! #             socket.write_all(reply.as_bytes()).unwrap();
//! #         });
//! #         url
//! #     }
//! # }
//! ```

mod client;
mod connect;
mod policy;
mod redact;
mod send;
#[cfg(test)]
mod test_server;
mod tls;
pub use client::{CONNECT_TIMEOUT, USER_AGENT};
pub use hyper::Method;
pub use policy::{HttpOverrides, RetryPolicy, parse_retry_after};
pub use url::Url;

use crate::output::{Delivery, DispatchError, ErrorKind};
use crate::text::quote_plus;
use redact::Redactor;
use secrecy::ExposeSecret;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

/// The stored (non-secret) key by which a descriptor turns TLS certificate verification off:
/// `"tls_verify": "false"` (also `no`, `off`, `0`). Any other value, or none, verifies.
pub const TLS_VERIFY_KEY: &str = "tls_verify";

/// The default per-attempt timeout (connect, send and read the whole reply).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Replies are read up to this many bytes; the rest is dropped.
const MAX_REPLY_BYTES: usize = 4 << 20;

/// How many code points of a service's reply an error message quotes.
const MAX_QUOTED_REPLY: usize = 500;

/// The HTTP side of one delivery: which output sends, how it retries, which secrets must never
/// be shown. Build one per [`Delivery`] with [`Http::new`], then send requests with
/// [`get`](Http::get), [`post`](Http::post), [`put`](Http::put).
///
/// By default the value of **every** credential of the delivery is redacted from error
/// messages and log lines; name the non-secret ones (base URLs, ids, e-mail addresses) with
/// [`public`](Http::public) so that errors stay readable.
///
/// ```
/// use std::time::Duration;
/// use streamalert::{Alert, Publication};
/// use streamalert::output::{Credentials, Delivery, ErrorKind, http::{Http, RetryPolicy}};
///
/// let credentials = Credentials::from_iter([
///     ("api", "https://eu.example.com"),
///     ("token", "s3cr3t-token"),
///     ("tls_verify", "false"),
/// ]);
/// let alert = Alert::new("r", serde_json::json!({}), ["pagerduty-incident:oncall"]);
/// let publication = Publication::new();
/// let delivery = Delivery::new(&alert, "oncall", &publication).with_credentials(&credentials);
///
/// let http = Http::new("pagerduty-incident", &delivery)
///     .public(&["api"])
///     .timeout(Duration::from_secs(5))
///     .retry(RetryPolicy::DEFAULT);
/// assert_eq!(http.output(), "pagerduty-incident:oncall");
/// assert!(!http.tls_verify());
/// // Q11: the stored `api` wins over the default.
/// let api = http.endpoint("api", "https://api.pagerduty.com").unwrap();
/// assert_eq!(api.as_str(), "https://eu.example.com/");
/// let err = http.error(ErrorKind::InvalidResponse, "token s3cr3t-token was refused");
/// assert_eq!(err.message(), "pagerduty-incident:oncall: token [REDACTED] was refused");
/// assert!(!format!("{http:?}").contains("s3cr3t"));
/// ```
pub struct Http<'a> {
    output: String,
    credentials: &'a crate::output::Credentials,
    tls_verify: bool,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    /// The credentials whose values errors may show ([`public`](Http::public)).
    public: Vec<&'a str>,
    /// Made on first use: only errors, logs of retries and checks of replies show text that
    /// may hold a secret, so a delivery that succeeds never parses its credentials for it.
    redactor: OnceLock<Redactor>,
}

impl<'a> Http<'a> {
    /// The HTTP context of `delivery` for `service`: default timeout and retry policy, TLS
    /// verified unless the descriptor opted out, every credential value redacted.
    pub fn new(service: &str, delivery: &Delivery<'a>) -> Self {
        Self::for_descriptor(service, delivery.descriptor, delivery.credentials)
    }

    /// The HTTP context of `service:descriptor` with `credentials`, outside one delivery (a
    /// batch carrying several deliveries to one descriptor); otherwise as [`Http::new`].
    ///
    /// ```
    /// use streamalert::output::{Credentials, http::Http};
    /// let credentials = Credentials::from_iter([("token", "s3cr3t-token")]);
    /// let http = Http::for_descriptor("splunk-hec", "siem", &credentials);
    /// assert_eq!(http.output(), "splunk-hec:siem");
    /// assert_eq!(http.redact("token s3cr3t-token"), "token [REDACTED]");
    /// ```
    pub fn for_descriptor(
        service: &str,
        descriptor: &str,
        credentials: &'a crate::output::Credentials,
    ) -> Self {
        let output = format!("{service}:{descriptor}");
        let tls_verify = credentials.get(TLS_VERIFY_KEY).is_none_or(|value| {
            !matches!(
                value.expose_secret().trim().to_ascii_lowercase().as_str(),
                "false" | "no" | "off" | "0"
            )
        });
        if !tls_verify && first_time("tls", &output) {
            tracing::warn!(
                output = %output,
                "TLS certificate verification is turned off for this output (stored `{TLS_VERIFY_KEY}`)"
            );
        }
        Self {
            output,
            credentials,
            tls_verify,
            timeout: Some(DEFAULT_TIMEOUT),
            retry: RetryPolicy::DEFAULT,
            public: vec![TLS_VERIFY_KEY],
            redactor: OnceLock::new(),
        }
    }

    /// The same context, showing the values of these credentials (non-secret configuration
    /// such as base URLs, ids and e-mail addresses) in errors and logs.
    pub fn public(mut self, names: &[&'a str]) -> Self {
        self.public.extend_from_slice(names);
        // A redactor made before (by an error) forgets these names' values too.
        if let Some(redactor) = self.redactor.get_mut() {
            redactor.publish(names);
        }
        self
    }

    /// The same context with another per-attempt timeout.
    pub fn timeout(self, timeout: Duration) -> Self {
        Self {
            timeout: Some(timeout),
            ..self
        }
    }

    /// The same context with another retry policy.
    pub fn retry(self, retry: RetryPolicy) -> Self {
        Self { retry, ..self }
    }

    /// `service:descriptor`.
    pub fn output(&self) -> &str {
        &self.output
    }

    /// Whether TLS certificates are verified (decision Q8).
    pub fn tls_verify(&self) -> bool {
        self.tls_verify
    }

    /// The retry policy requests use (before [`HttpOverrides`]).
    pub fn retry_policy(&self) -> RetryPolicy {
        HttpOverrides::current()
            .retry_policy()
            .unwrap_or(self.retry)
    }

    /// The base URL stored under credential `key`, else `default` (decision Q11: a stored
    /// value is an explicit override of the output's default property; it is logged once, by
    /// key name only).
    pub fn endpoint(&self, key: &str, default: &str) -> Result<Url, DispatchError> {
        let Ok(stored) = self.credentials.http_url(key) else {
            return self.parse_url(key, default);
        };
        if first_time(key, &self.output) {
            tracing::info!(
                output = %self.output,
                "the stored `{key}` overrides the output's default endpoint"
            );
        }
        stored.cloned().ok_or_else(|| self.not_a_url(key))
    }

    /// The URL stored under credential `key` (required), e.g. a webhook URL.
    pub fn url_credential(&self, key: &str) -> Result<Url, DispatchError> {
        let url = self
            .credentials
            .http_url(key)
            .map_err(|e| self.prefixed(e))?;
        url.cloned().ok_or_else(|| self.not_a_url(key))
    }

    /// The value stored under credential `key`, or an [`ErrorKind::Credentials`] error naming
    /// the output and the key.
    ///
    /// ```
    /// # use streamalert::{Alert, Publication, output::{Credentials, Delivery, http::Http}};
    /// # let alert = Alert::new("r", serde_json::json!({}), ["pagerduty:p"]);
    /// # let publication = Publication::new();
    /// let credentials = Credentials::from_iter([("service_key", "k3y")]);
    /// let delivery = Delivery::new(&alert, "p", &publication).with_credentials(&credentials);
    /// let http = Http::new("pagerduty", &delivery);
    /// assert_eq!(http.credential("service_key").unwrap(), "k3y");
    /// let missing = http.credential("url").unwrap_err();
    /// assert_eq!(missing.message(), "pagerduty:p: no `url` stored for this descriptor");
    /// ```
    pub fn credential(&self, key: &str) -> Result<&'a str, DispatchError> {
        self.credentials.require(key).map_err(|e| self.prefixed(e))
    }

    /// `base` with `path` appended below its own path (one `/` between them).
    ///
    /// ```
    /// use streamalert::output::http::{Http, Url};
    /// let base = Url::parse("https://api.example.com/v2/").unwrap();
    /// assert_eq!(Http::join(&base, "/users").unwrap().as_str(), "https://api.example.com/v2/users");
    /// let root = Url::parse("https://api.example.com").unwrap();
    /// assert_eq!(Http::join(&root, "incidents/P1/notes").unwrap().path(), "/incidents/P1/notes");
    /// ```
    pub fn join(base: &Url, path: &str) -> Result<Url, DispatchError> {
        let mut url = base.clone();
        url.set_query(None);
        url.set_fragment(None);
        let joined = format!(
            "{}/{}",
            url.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        Url::parse(&joined).map_err(|e| {
            DispatchError::new(ErrorKind::Config, format!("cannot append a path: {e}"))
        })
    }

    /// A `GET` request.
    pub fn get(&self, url: Url) -> HttpRequest<'_> {
        self.request(Method::GET, url)
    }

    /// A `POST` request.
    pub fn post(&self, url: Url) -> HttpRequest<'_> {
        self.request(Method::POST, url)
    }

    /// A `PUT` request.
    pub fn put(&self, url: Url) -> HttpRequest<'_> {
        self.request(Method::PUT, url)
    }

    /// A request with any method.
    pub fn request(&self, method: Method, url: Url) -> HttpRequest<'_> {
        HttpRequest {
            http: self,
            method,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    /// An error of this output: the message prefixed with `service:descriptor`, secrets
    /// redacted.
    pub fn error(&self, kind: ErrorKind, message: impl AsRef<str>) -> DispatchError {
        DispatchError::new(
            kind,
            format!("{}: {}", self.output, self.redact(message.as_ref())),
        )
    }

    /// `text` with every secret credential value replaced by `[REDACTED]` (webhook URLs keep
    /// their scheme and host).
    pub fn redact(&self, text: &str) -> String {
        self.redactor().redact(text)
    }

    /// `url` as errors and logs show it: no user information, secrets redacted.
    pub fn show_url(&self, url: &Url) -> String {
        self.redactor().url(url)
    }

    /// The redactor of this context's secrets, made on first use.
    fn redactor(&self) -> &Redactor {
        self.redactor
            .get_or_init(|| Redactor::for_credentials(self.credentials, &self.public))
    }

    fn prefixed(&self, error: DispatchError) -> DispatchError {
        let prefixed = self.error(error.kind(), error.message());
        match error.status() {
            Some(status) => prefixed.with_status(status),
            None => prefixed,
        }
    }

    fn parse_url(&self, key: &str, value: &str) -> Result<Url, DispatchError> {
        super::credentials::parse_http_url(value).ok_or_else(|| self.not_a_url(key))
    }

    fn not_a_url(&self, key: &str) -> DispatchError {
        self.error(
            ErrorKind::Config,
            format!("the stored `{key}` is not an http(s) URL"),
        )
    }
}

impl fmt::Debug for Http<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Http")
            .field("output", &self.output)
            .field("credentials", self.credentials)
            .field("tls_verify", &self.tls_verify)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish()
    }
}

/// One request of an [`Http`] context, sent with [`send`](HttpRequest::send).
///
/// ```
/// use streamalert::{Alert, Publication, output::{Delivery, http::{Http, Url}}};
/// let alert = Alert::new("r", serde_json::json!({}), ["pagerduty-incident:p"]);
/// let publication = Publication::new();
/// let delivery = Delivery::new(&alert, "p", &publication);
/// let http = Http::new("pagerduty-incident", &delivery);
/// let request = http
///     .get(Url::parse("https://api.pagerduty.com/users").unwrap())
///     .query("query", "email@domain.com")
///     .header("Accept", "application/vnd.pagerduty+json;version=2");
/// assert_eq!(request.url().as_str(), "https://api.pagerduty.com/users?query=email%40domain.com");
/// ```
#[derive(Debug)]
pub struct HttpRequest<'h> {
    http: &'h Http<'h>,
    method: Method,
    url: Url,
    headers: Vec<(Cow<'static, str>, String)>,
    body: Option<Vec<u8>>,
}

impl<'h> HttpRequest<'h> {
    /// Adds a header (names compare case-insensitively; a later one with the same name is
    /// sent too). Values are never shown in errors or logs.
    pub fn header(mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Appends `key=value` to the query string, form-encoded as Python's `requests` does
    /// ([`quote_plus`], as a browser form does).
    pub fn query(mut self, key: &str, value: &str) -> Self {
        let pair = format!("{}={}", quote_plus(key), quote_plus(value));
        let query = match self.url.query() {
            Some(existing) if !existing.is_empty() => format!("{existing}&{pair}"),
            _ => pair,
        };
        self.url.set_query(Some(&query));
        self
    }

    /// Sets a JSON body exactly as Python's `json.dumps` writes it (`", "` and `": "`
    /// separators, ASCII escapes, key order kept), with `Content-Type: application/json`
    /// unless a `Content-Type` header is set. `value` is a [`Value`] or any [`Serialize`](serde::Serialize)
    /// type, written from its fields ([`PythonJson::serialize`](crate::json::PythonJson::serialize)).
    pub fn json<T: serde::Serialize + ?Sized>(self, value: &T) -> Self {
        let text = crate::json::PythonJson::DEFAULT.serialize(value);
        self.body(text.into_bytes(), "application/json")
    }

    /// Sets a body with `content_type` (unless a `Content-Type` header is set).
    pub fn body(mut self, bytes: impl Into<Vec<u8>>, content_type: &'static str) -> Self {
        if !self.has_header("content-type") {
            self.headers
                .push(("Content-Type".into(), content_type.to_owned()));
        }
        self.body = Some(bytes.into());
        self
    }

    /// The URL as it will be sent.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The body as it will be sent.
    pub fn body_bytes(&self) -> Option<&[u8]> {
        self.body.as_deref()
    }

    fn has_header(&self, lower_name: &str) -> bool {
        self.headers
            .iter()
            .any(|(name, _)| name.eq_ignore_ascii_case(lower_name))
    }

    /// Sends the request under the retry policy; `Ok` for a 2xx reply.
    pub async fn send(self) -> Result<HttpReply<'h>, DispatchError> {
        send::send(self).await
    }
}

/// A 2xx reply, from a request of an [`Http`] context.
#[derive(Clone)]
pub struct HttpReply<'h> {
    status: u16,
    body: Vec<u8>,
    http: &'h Http<'h>,
    /// The request's method and URL (`None`: a [`test_reply`](Http::test_reply)).
    request: Option<(Method, Url)>,
}

impl HttpReply<'_> {
    /// The HTTP status.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body (at most 4 MiB of it).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body parsed as JSON; an [`ErrorKind::InvalidResponse`] quoting it otherwise.
    pub fn json(&self) -> Result<Value, DispatchError> {
        serde_json::from_slice(&self.body)
            .map_err(|e| self.invalid(&format!("the reply is not JSON ({e})")))
    }

    /// The body parsed as JSON, which must not be empty or falsy (`{}`, `[]`, `null`, `""`,
    /// `0`, `false`): PagerDuty's success check (StreamAlert's `JsonHttpProvider`, decision Q2).
    ///
    /// ```
    /// # use streamalert::{Alert, Publication, output::{Delivery, http::Http}};
    /// # let alert = Alert::new("r", serde_json::json!({}), ["pagerduty-v2:p"]);
    /// # let publication = Publication::new();
    /// # let delivery = Delivery::new(&alert, "p", &publication);
    /// # let http = Http::new("pagerduty-v2", &delivery);
    /// let reply = http.test_reply(200, br#"{"status": "success"}"#);
    /// assert_eq!(reply.json_nonempty().unwrap()["status"], "success");
    /// let empty = http.test_reply(202, b"{}").json_nonempty().unwrap_err();
    /// assert!(empty.message().contains("empty JSON"), "{empty}");
    /// assert!(http.test_reply(200, b"").json_nonempty().is_err());
    /// ```
    pub fn json_nonempty(&self) -> Result<Value, DispatchError> {
        let value = self.json()?;
        if crate::alert::is_falsy(&value) {
            return Err(self.invalid("the reply is empty JSON; a non-empty JSON reply is required"));
        }
        Ok(value)
    }

    fn invalid(&self, what: &str) -> DispatchError {
        let quoted = quote_reply(self.http.redactor(), &self.body);
        DispatchError::new(
            ErrorKind::InvalidResponse,
            format!(
                "{}: HTTP {}: {what}; not retryable; the service said: {quoted}",
                self.context(),
                self.status
            ),
        )
        .with_status(self.status)
    }

    /// `service:descriptor: METHOD url` (the URL as errors show it).
    fn context(&self) -> String {
        match &self.request {
            Some((method, url)) => request_context(self.http, method, url),
            None => format!("{}: TEST", self.http.output),
        }
    }
}

/// `service:descriptor: METHOD url`, as errors name a request (the URL redacted).
fn request_context(http: &Http<'_>, method: &Method, url: &Url) -> String {
    format!("{}: {method} {}", http.output, http.show_url(url))
}

impl fmt::Debug for HttpReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpReply")
            .field("status", &self.status)
            .field("context", &self.context())
            .field("body", &quote_reply(self.http.redactor(), &self.body))
            .finish()
    }
}

impl<'h> Http<'h> {
    /// A reply as if this context had received it (for tests and examples of reply checks).
    #[doc(hidden)]
    pub fn test_reply(&'h self, status: u16, body: &[u8]) -> HttpReply<'h> {
        HttpReply {
            status,
            body: body.to_vec(),
            http: self,
            request: None,
        }
    }
}

/// A service's reply as an error quotes it: secrets redacted, elided to 500 code points.
fn quote_reply(redactor: &Redactor, body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = redactor.redact(text.trim());
    if text.is_empty() {
        return "(empty)".to_owned();
    }
    crate::text::elide_string_middle(&text, MAX_QUOTED_REPLY)
}

/// True the first time `(what, output)` is seen in this process (for log-once messages).
fn first_time(what: &str, output: &str) -> bool {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    seen.insert(format!("{what}\u{0}{output}"))
}
