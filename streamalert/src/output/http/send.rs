//! Sending one request under the retry policy, and turning failures into [`DispatchError`]s.

use super::{
    HttpReply, HttpRequest, MAX_REPLY_BYTES, client, policy, quote_reply, request_context,
};
use crate::output::{DispatchError, ErrorKind};
use client::Client;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{ACCEPT, HeaderMap, HeaderName, HeaderValue, RETRY_AFTER, USER_AGENT};
use hyper::{Method, StatusCode, Uri};
use std::borrow::Cow;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// One failed attempt, classified.
struct Failure {
    kind: ErrorKind,
    status: Option<u16>,
    /// What happened, e.g. `HTTP 503 Service Unavailable` or `timed out`.
    what: String,
    /// The service's reply, quoted (secrets redacted, elided).
    reply: Option<String>,
    retry: bool,
    retry_after: Option<Duration>,
}

/// A 2xx reply (status and body) or a failure, from one attempt.
type Attempt = Result<(u16, Vec<u8>), Failure>;

pub(super) async fn send(mut request: HttpRequest<'_>) -> Result<HttpReply<'_>, DispatchError> {
    let http = request.http;
    let overrides = policy::HttpOverrides::current();
    let policy = overrides.retry_policy().unwrap_or(http.retry);
    let timeout = overrides.attempt_timeout().unwrap_or(http.timeout);
    // Errors and logs name the request; the URL is redacted only when one needs it.
    let shown_url = || http.show_url(&request.url);
    let context = || request_context(http, &request.method, &request.url);
    let fail = |kind: ErrorKind, what: String| {
        DispatchError::new(kind, format!("{}: {what}; not retryable", context()))
    };

    let client =
        client::for_request(http.tls_verify).map_err(|e| fail(e.kind(), e.message().to_owned()))?;
    let uri: Uri = request.url.as_str().parse().map_err(|_| {
        fail(
            ErrorKind::Config,
            "the URL is not a valid HTTP request target".to_owned(),
        )
    })?;
    let headers = header_map(&request.headers).map_err(|name| {
        fail(
            ErrorKind::Config,
            format!("header `{name}` has an invalid name or value"),
        )
    })?;
    let outgoing = Outgoing {
        method: request.method.clone(),
        uri,
        headers,
        body: request.body.take().map(Bytes::from).unwrap_or_default(),
    };

    let started = Instant::now();
    let deadline = started + policy.deadline;
    let mut tries: u32 = 0;
    loop {
        tries += 1;
        // The destination's pace (and any pause a `Retry-After` put on it) before the first
        // request; before a retry, below.
        if tries == 1
            && let Err(paced) = crate::output::pacing::before_request(deadline).await
        {
            return Err(paced.into_error(&http.output));
        }
        let attempt_timeout =
            timeout.map(|t| t.min(deadline.saturating_duration_since(Instant::now())));
        let failure = match attempt(&outgoing, &client, http, attempt_timeout).await {
            Ok((status, body)) => {
                if tries > 1 {
                    tracing::info!(output = %http.output, method = %request.method, url = %shown_url(), tries, "delivered after retrying");
                }
                return Ok(HttpReply {
                    status,
                    body,
                    http,
                    request: Some((request.method, request.url)),
                });
            }
            Err(failure) => failure,
        };
        if let Some(asked) = failure.retry_after {
            // Every delivery to this destination waits, not only this request.
            crate::output::pacing::pause_current(asked);
        }
        let give_up = |failure: Failure, why: Option<String>| {
            let tries_text = if tries == 1 {
                "1 try".to_owned()
            } else {
                format!("{tries} tries")
            };
            let retryable = if failure.kind.is_retryable() {
                "retryable"
            } else {
                "not retryable"
            };
            let why = why.map(|w| format!(", {w}")).unwrap_or_default();
            let reply = failure
                .reply
                .as_deref()
                .map(|r| format!("; the service said: {r}"))
                .unwrap_or_default();
            let message = format!(
                "{}: {}{why}; {tries_text}; {retryable}{reply}",
                context(),
                failure.what
            );
            if failure.retry {
                tracing::info!(output = %http.output, method = %request.method, url = %shown_url(), tries, error = %failure.what, "giving up");
            }
            let error = DispatchError::new(failure.kind, message);
            match failure.status {
                Some(status) => error.with_status(status),
                None => error,
            }
        };
        if !failure.retry || tries >= policy.max_attempts {
            return Err(give_up(failure, None));
        }
        let mut wait = policy.backoff(tries);
        if let Some(asked) = failure.retry_after {
            if asked > policy.max_retry_after {
                let why = format!(
                    "Retry-After {} s is longer than the {} s this output waits",
                    asked.as_secs(),
                    policy.max_retry_after.as_secs()
                );
                return Err(give_up(failure, Some(why)));
            }
            wait = wait.max(asked);
        }
        if Instant::now() + wait >= deadline {
            let why = format!(
                "the next try (in {} ms) would end after the {} s deadline",
                wait.as_millis(),
                policy.deadline.as_secs()
            );
            return Err(give_up(failure, Some(why)));
        }
        tracing::debug!(
            output = %http.output, method = %request.method, url = %shown_url(), tries,
            wait_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            error = %failure.what,
            "retrying"
        );
        tokio::time::sleep(wait).await;
        if let Err(paced) = crate::output::pacing::before_request(deadline).await {
            return Err(give_up(failure, Some(paced.to_string())));
        }
    }
}

/// Builds the header map, with the client's `User-Agent` and `Accept: */*` unless the request
/// sets its own; `Err(name)` for a name or value that cannot be sent.
fn header_map(headers: &[(Cow<'static, str>, String)]) -> Result<HeaderMap, String> {
    let mut map = HeaderMap::with_capacity(headers.len() + 2);
    for (name, value) in headers {
        let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| name.to_string())?;
        let mut value = HeaderValue::from_str(value).map_err(|_| name.to_string())?;
        value.set_sensitive(true);
        map.append(header, value);
    }
    map.entry(USER_AGENT)
        .or_insert(HeaderValue::from_static(client::USER_AGENT));
    map.entry(ACCEPT).or_insert(HeaderValue::from_static("*/*"));
    Ok(map)
}

/// What every try of one request sends, prepared once.
struct Outgoing {
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
}

impl Outgoing {
    /// The request of one try (the body is shared, not copied).
    fn request(&self) -> hyper::Request<Full<Bytes>> {
        let mut request = hyper::Request::new(Full::new(self.body.clone()));
        *request.method_mut() = self.method.clone();
        *request.uri_mut() = self.uri.clone();
        *request.headers_mut() = self.headers.clone();
        request
    }
}

/// One try: the request sent and its reply read (at most [`MAX_REPLY_BYTES`]), all within
/// `timeout`. `http`'s redactor is made only for a failure.
async fn attempt(
    outgoing: &Outgoing,
    client: &Client,
    http: &super::Http<'_>,
    timeout: Option<Duration>,
) -> Attempt {
    let exchange = exchange(client, outgoing.request());
    let (status, retry_after, body) = match timeout {
        Some(timeout) => tokio::time::timeout(timeout, exchange)
            .await
            .unwrap_or(Err(Transport::TimedOut)),
        None => exchange.await,
    }
    .map_err(|e| e.into_failure(http.redactor()))?;
    if status.is_success() {
        return Ok((status.as_u16(), body));
    }
    let code = status.as_u16();
    let throttled = code == 429;
    let retry = throttled || status.is_server_error();
    let kind = if retry {
        ErrorKind::Unavailable
    } else {
        ErrorKind::Rejected
    };
    let reason = status.canonical_reason().unwrap_or("");
    let mut what = format!("HTTP {code} {reason}").trim_end().to_owned();
    if status.is_redirection() {
        what.push_str(" (redirects are not followed)");
    }
    Err(Failure {
        kind,
        status: Some(code),
        what,
        reply: Some(quote_reply(http.redactor(), &body)),
        retry,
        retry_after: retry_after.filter(|_| throttled || code == 503),
    })
}

/// Sends the request and reads the reply: its status, its `Retry-After`, its body.
async fn exchange(
    client: &Client,
    request: hyper::Request<Full<Bytes>>,
) -> Result<(StatusCode, Option<Duration>, Vec<u8>), Transport> {
    let response = client.request(request).await.map_err(Transport::Send)?;
    let status = response.status();
    let retry_after = response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| policy::parse_retry_after(v, SystemTime::now()));
    let body = read_body(response.into_body())
        .await
        .map_err(Transport::Read)?;
    Ok((status, retry_after, body))
}

/// Reads a reply's body, keeping its first [`MAX_REPLY_BYTES`].
async fn read_body(mut incoming: Incoming) -> Result<Vec<u8>, hyper::Error> {
    let mut body = Vec::new();
    while let Some(frame) = incoming.frame().await {
        let Ok(chunk) = frame?.into_data() else {
            continue;
        };
        let room = MAX_REPLY_BYTES.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= MAX_REPLY_BYTES {
            break;
        }
    }
    Ok(body)
}

/// How a try failed before a reply was read.
enum Transport {
    TimedOut,
    Send(hyper_util::client::legacy::Error),
    Read(hyper::Error),
}

/// True for the I/O errors a TLS handshake fails with: rustls errors travel as
/// `io::ErrorKind::InvalidData`, possibly wrapped in further `io::Error`s (whose `source()`
/// skips the wrapped error, so the wrapping is unwound here).
fn is_tls_failure(cause: &(dyn std::error::Error + 'static)) -> bool {
    let mut io = cause.downcast_ref::<std::io::Error>();
    while let Some(error) = io {
        if error.kind() == std::io::ErrorKind::InvalidData {
            return true;
        }
        io = error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<std::io::Error>());
    }
    false
}

impl Transport {
    /// Classifies the failure: timeouts and connection failures are retried, TLS failures are
    /// not. The text quotes the error's causes, never the URL.
    fn into_failure(self, redactor: &super::Redactor) -> Failure {
        let error: Option<&(dyn std::error::Error + 'static)> = match &self {
            Self::TimedOut => None,
            Self::Send(error) => Some(error),
            Self::Read(error) => Some(error),
        };
        let mut causes = Vec::new();
        let mut tls = false;
        let mut source = error.and_then(std::error::Error::source);
        while let Some(cause) = source {
            let text = cause.to_string();
            if is_tls_failure(cause) || text.to_ascii_lowercase().contains("certificate") {
                tls = true;
            }
            if !causes.contains(&text) {
                causes.push(text);
            }
            source = cause.source();
        }
        let (kind, retry, headline) = match &self {
            Self::TimedOut => (ErrorKind::Timeout, true, "timed out"),
            Self::Send(e) if e.is_connect() && tls => {
                (ErrorKind::Config, false, "TLS handshake failed")
            }
            Self::Send(e) if e.is_connect() => (ErrorKind::Unavailable, true, "connection failed"),
            Self::Send(_) => (ErrorKind::Unavailable, true, "the request failed"),
            Self::Read(_) => (ErrorKind::Unavailable, true, "reading the reply failed"),
        };
        let mut what = headline.to_owned();
        if !causes.is_empty() {
            what.push_str(" (");
            what.push_str(&causes.join(": "));
            what.push(')');
        }
        Failure {
            kind,
            status: None,
            what: crate::text::elide_string_middle(
                &redactor.redact(&what),
                super::MAX_QUOTED_REPLY,
            ),
            reply: None,
            retry,
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::output::http::test_server::{self, Seen, reply};
    use crate::output::http::{Http, HttpOverrides, RetryPolicy};
    use crate::output::{Credentials, Delivery, ErrorKind};
    use crate::{Alert, Publication};
    use std::sync::Arc;
    use std::time::Duration;

    /// A plain-HTTP server answering with `replies`; its URL has a secret-looking path.
    async fn stub(replies: Vec<String>) -> (String, Seen) {
        let (address, seen) = test_server::start(replies, false).await;
        (format!("http://{address}/hook/s3cr3t-path"), seen)
    }

    async fn post(url: &str, policy: RetryPolicy) -> Result<u16, crate::DispatchError> {
        post_with(Credentials::from_iter([("url", url)]), policy).await
    }

    async fn post_with(
        credentials: Credentials,
        policy: RetryPolicy,
    ) -> Result<u16, crate::DispatchError> {
        let alert = Alert::new("r", serde_json::json!({}), ["slack:c"]);
        let publication = Publication::new();
        let delivery = Delivery::new(&alert, "c", &publication).with_credentials(&credentials);
        let http = Http::new("slack", &delivery).retry(policy);
        let url = http.url_credential("url")?;
        HttpOverrides::new()
            .own_connections()
            .timeout(None)
            .run(http.post(url).json(&serde_json::json!({"a": 1})).send())
            .await
            .map(|r| r.status())
    }

    #[tokio::test(start_paused = true)]
    async fn q7_a_500_is_retried() {
        let (url, hits) = stub(vec![
            reply("500 Internal Server Error", "", "boom"),
            reply("200 OK", "", "ok"),
        ])
        .await;
        assert_eq!(post(&url, RetryPolicy::DEFAULT).await.unwrap(), 200);
        assert_eq!(hits.all().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn q7_a_400_is_final_and_quoted_without_the_secret_path() {
        let (url, hits) = stub(vec![reply(
            "400 Bad Request",
            "",
            "invalid_payload for /hook/s3cr3t-path",
        )])
        .await;
        let err = post(&url, RetryPolicy::DEFAULT).await.unwrap_err();
        assert_eq!(hits.all().len(), 1);
        assert_eq!(err.kind(), ErrorKind::Rejected);
        assert_eq!(err.status(), Some(400));
        assert!(!err.is_retryable());
        let text = format!("{err} {err:?}");
        assert!(text.contains("invalid_payload for /[REDACTED]"), "{text}");
        assert!(text.contains("slack:c: POST http://127.0.0.1:"), "{text}");
        assert!(!text.contains("s3cr3t"), "{text}");
    }

    #[tokio::test(start_paused = true)]
    async fn q7_retry_after_is_waited_for() {
        let (url, hits) = stub(vec![
            reply("429 Too Many Requests", "retry-after: 3\r\n", ""),
            reply("200 OK", "", ""),
        ])
        .await;
        let started = tokio::time::Instant::now();
        post(&url, RetryPolicy::DEFAULT).await.unwrap();
        assert!(started.elapsed() >= Duration::from_secs(3));
        assert!(started.elapsed() < Duration::from_secs(4));
        assert_eq!(hits.all().len(), 2);
    }

    #[tokio::test(start_paused = true)]
    async fn q7_retry_after_beyond_the_limit_fails_retryable_at_once() {
        let (url, hits) = stub(vec![reply(
            "503 Service Unavailable",
            "retry-after: 3600\r\n",
            "",
        )])
        .await;
        let err = post(&url, RetryPolicy::DEFAULT).await.unwrap_err();
        assert_eq!(hits.all().len(), 1);
        assert!(err.is_retryable());
        assert!(err.message().contains("Retry-After 3600 s"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn q7_a_wait_past_the_deadline_fails_retryable() {
        let (url, hits) = stub(vec![reply(
            "429 Too Many Requests",
            "retry-after: 20\r\n",
            "",
        )])
        .await;
        let policy = RetryPolicy::DEFAULT.with_deadline(Duration::from_secs(10));
        let err = post(&url, policy).await.unwrap_err();
        assert_eq!(hits.all().len(), 1);
        assert!(err.is_retryable());
        assert!(err.message().contains("deadline"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn q7_gives_up_after_five_tries() {
        let (url, hits) = stub(vec![reply("502 Bad Gateway", "", "")]).await;
        let err = post(&url, RetryPolicy::DEFAULT).await.unwrap_err();
        assert_eq!(hits.all().len(), 5);
        assert!(err.message().contains("5 tries; retryable"), "{err}");
        assert_eq!(err.status(), Some(502));
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_without_a_token_before_the_deadline_gives_up_with_the_failure() {
        use crate::config::RateLimit;
        use crate::output::pacing::{Bucket, scope};
        let (url, hits) = stub(vec![
            reply("500 Internal Server Error", "", "boom"),
            reply("200 OK", "", "ok"),
        ])
        .await;
        // One token every 10 s: the retry's would come at 10 s, after the 5 s deadline.
        let bucket = Arc::new(Bucket::new(Some(RateLimit::new(0.1, 1).unwrap())));
        let started = tokio::time::Instant::now();
        let deadline = started + Duration::from_secs(5);
        let grant = bucket.acquire(deadline).await.unwrap();
        let err = scope(bucket, grant, deadline, post(&url, RetryPolicy::DEFAULT))
            .await
            .unwrap_err();
        assert_eq!(hits.all().len(), 1);
        assert_eq!(
            (err.kind(), err.status()),
            (ErrorKind::Unavailable, Some(500))
        );
        let message = err.message();
        assert!(
            message.contains("HTTP 500 Internal Server Error, paced: "),
            "{message}"
        );
        assert!(message.contains("1 try; retryable"), "{message}");
        assert!(
            started.elapsed() <= Duration::from_secs(1),
            "it waited for the token"
        );
    }

    #[tokio::test]
    async fn q8_a_certificate_no_root_vouches_for_fails_the_handshake_once() {
        let (address, seen) = test_server::start(vec![reply("200 OK", "", "ok")], true).await;
        let url = format!("https://localhost:{}/hook/s3cr3t-path", address.port());
        let err = post(&url, RetryPolicy::DEFAULT).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(!err.is_retryable());
        let message = err.message();
        assert!(message.contains("TLS handshake failed ("), "{message}");
        assert!(message.contains("(invalid peer certificate: "), "{message}");
        assert!(message.contains("1 try; not retryable"), "{message}");
        assert!(!message.contains("s3cr3t"), "{message}");
        assert!(seen.all().is_empty(), "nothing is sent");
    }

    #[tokio::test]
    async fn q8_tls_verify_false_accepts_a_self_signed_certificate() {
        let (address, seen) = test_server::start(vec![reply("200 OK", "", "ok")], true).await;
        let url = format!("https://localhost:{}/hook/s3cr3t-path", address.port());
        let credentials = Credentials::from_iter([("url", url.as_str()), ("tls_verify", "false")]);
        assert_eq!(
            post_with(credentials, RetryPolicy::DEFAULT).await.unwrap(),
            200
        );
        let seen = seen.all();
        assert_eq!(seen.len(), 1);
        assert!(
            seen[0].starts_with("POST /hook/s3cr3t-path HTTP/1.1\r\n"),
            "{seen:?}"
        );
        assert!(seen[0].ends_with("\r\n\r\n{\"a\": 1}"), "{seen:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn every_request_names_the_client_and_accepts_anything_unless_told() {
        let (url, seen) = stub(vec![reply("200 OK", "", "")]).await;
        post(&url, RetryPolicy::DEFAULT).await.unwrap();
        let request = seen.all().remove(0).to_ascii_lowercase();
        let agent = format!("user-agent: {}\r\n", crate::output::http::USER_AGENT);
        assert!(request.contains(&agent), "{request}");
        assert!(request.contains("accept: */*\r\n"), "{request}");
        assert!(
            request.contains("content-type: application/json\r\n"),
            "{request}"
        );
        assert!(request.contains("content-length: 8\r\n"), "{request}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_closed_without_a_reply_fails_retryable_naming_the_cause() {
        let (url, hits) = stub(vec![String::new()]).await;
        let err = post(&url, RetryPolicy::SINGLE_ATTEMPT).await.unwrap_err();
        assert_eq!(hits.all().len(), 1);
        assert_eq!((err.kind(), err.status()), (ErrorKind::Unavailable, None));
        assert!(err.is_retryable());
        let message = err.message();
        assert!(message.contains(": the request failed ("), "{message}");
        assert!(
            message.contains("closed before message completed"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn tls_to_a_plain_http_server_fails_the_handshake_once() {
        use tokio::io::AsyncWriteExt;
        // A plain-HTTP server answers the TLS greeting with a plain reply.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("https://{}/hook", listener.local_addr().unwrap());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let _ = socket.write_all(b"HTTP/1.1 400 Bad Request\r\n\r\n").await;
            }
        });
        let err = post(&url, RetryPolicy::DEFAULT).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config, "{err}");
        assert!(err.message().contains("TLS handshake failed ("), "{err}");
        assert!(err.message().contains("1 try; not retryable"), "{err}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reply_is_kept_up_to_its_first_4_mib() {
        let big = "x".repeat(super::MAX_REPLY_BYTES + 1000);
        let (url, _) = stub(vec![reply("200 OK", "", &big)]).await;
        let credentials = Credentials::from_iter([("url", url.as_str())]);
        let alert = Alert::new("r", serde_json::json!({}), ["slack:c"]);
        let publication = Publication::new();
        let delivery = Delivery::new(&alert, "c", &publication).with_credentials(&credentials);
        let http = Http::new("slack", &delivery);
        let url = http.url_credential("url").unwrap();
        let reply = HttpOverrides::new()
            .own_connections()
            .run(http.get(url).send())
            .await
            .unwrap();
        assert_eq!(reply.body().len(), super::MAX_REPLY_BYTES);
        assert!(reply.body().iter().all(|&b| b == b'x'));
    }

    #[tokio::test]
    async fn q7_connection_refused_is_retryable() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let url = format!("http://127.0.0.1:{port}/hook/s3cr3t-path");
        let err = post(&url, RetryPolicy::SINGLE_ATTEMPT).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Unavailable);
        assert!(err.is_retryable());
        assert!(err.message().contains("connection failed"), "{err}");
        assert!(!err.message().contains("s3cr3t"), "{err}");
    }

    #[tokio::test]
    async fn invalid_header_values_are_named_not_shown() {
        let credentials = Credentials::default();
        let alert = Alert::new("r", serde_json::json!({}), ["x:c"]);
        let publication = Publication::new();
        let delivery = Delivery::new(&alert, "c", &publication).with_credentials(&credentials);
        let http = Http::new("x", &delivery);
        let url = crate::output::http::Url::parse("http://127.0.0.1:9/").unwrap();
        let err = http
            .get(url)
            .header("Authorization", "Token token=abc\ndef")
            .send()
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Config);
        assert!(err.message().contains("`Authorization`"), "{err}");
        assert!(!err.message().contains("abc"), "{err}");
    }
}
