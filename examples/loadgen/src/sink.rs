//! The local HTTP sink the outputs deliver to, and the raw client that measures its ceiling.
//!
//! The sink answers every request like Slack and PagerDuty's Events API v2 accept one: `200`
//! with the JSON body `{"status":"success"}` (a Slack webhook only needs the 2xx; PagerDuty v2
//! also needs a non-empty JSON reply). A request with an `X-Amz-Target` header is a Kinesis
//! Data Firehose call instead, answered as the service does ([`crate::firehose`]), and its
//! records are counted. The sink listens on `127.0.0.1` only, on a free port, and runs on a
//! runtime of its own with one worker thread (the nginx of the baseline's README runs one
//! worker too), so the client being measured never shares its threads with the sink.

use crate::firehose;
use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the sink replies to every request but Firehose calls.
const REPLY: &[u8] = br#"{"status":"success"}"#;

/// The header naming an AWS JSON protocol operation.
const AMZ_TARGET: &str = "x-amz-target";

/// What the sink has answered so far.
#[derive(Debug, Default)]
struct Counters {
    /// Requests of any kind.
    requests: AtomicU64,
    /// Firehose records accepted.
    records: AtomicU64,
}

/// A running sink; dropping it stops it.
pub(crate) struct Sink {
    addr: SocketAddr,
    counters: Arc<Counters>,
    /// Owns the sink's worker thread; dropped last.
    _runtime: tokio::runtime::Runtime,
}

impl Sink {
    /// Starts a sink on a free loopback port.
    pub(crate) fn start() -> Result<Self, String> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("sink")
            .enable_all()
            .build()
            .map_err(|e| format!("cannot start the sink's runtime: {e}"))?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(("127.0.0.1", 0)))
            .map_err(|e| format!("cannot listen on 127.0.0.1: {e}"))?;
        let addr = listener
            .local_addr()
            .map_err(|e| format!("cannot read the sink's address: {e}"))?;
        let counters = Arc::new(Counters::default());
        runtime.spawn(serve(listener, counters.clone()));
        Ok(Self {
            addr,
            counters,
            _runtime: runtime,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests the sink has answered so far.
    pub(crate) fn received(&self) -> u64 {
        self.counters.requests.load(Ordering::Relaxed)
    }

    /// How many Firehose records the sink has accepted so far.
    pub(crate) fn records(&self) -> u64 {
        self.counters.records.load(Ordering::Relaxed)
    }
}

async fn serve(listener: tokio::net::TcpListener, counters: Arc<Counters>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let counters = counters.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let counters = counters.clone();
                async move { Ok::<_, Infallible>(respond(request, &counters).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// Reads the whole body, as a real service does, then answers.
async fn respond(request: Request<Incoming>, counters: &Counters) -> Response<Full<Bytes>> {
    let target = request
        .headers()
        .get(AMZ_TARGET)
        .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned());
    let body = request.into_body().collect().await.map(|c| c.to_bytes());
    counters.requests.fetch_add(1, Ordering::Relaxed);
    let (status, reply, content_type) = match (target, body) {
        (None, _) => (
            StatusCode::OK,
            Bytes::from_static(REPLY),
            "application/json",
        ),
        (Some(target), Ok(body)) => {
            let reply = firehose::answer(&target, &body);
            counters.records.fetch_add(reply.records, Ordering::Relaxed);
            (
                reply.status,
                Bytes::from(reply.body),
                firehose::CONTENT_TYPE,
            )
        }
        (Some(_), Err(error)) => (
            StatusCode::BAD_REQUEST,
            Bytes::from(format!("cannot read the body: {error}")),
            "text/plain",
        ),
    };
    let mut response = Response::new(Full::new(reply));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

/// What the ceiling client posts.
#[derive(Debug, Clone)]
pub(crate) struct Payload {
    body: Bytes,
    /// The `X-Amz-Target` of a Firehose call.
    target: Option<&'static str>,
    /// Records per request (1 but for Firehose batches).
    records: u64,
}

impl Payload {
    /// A fixed 1.5 KB JSON body, as a webhook gets.
    pub(crate) fn webhook() -> Self {
        Self {
            body: Bytes::from(format!("{{\"payload\":\"{}\"}}", "x".repeat(1522))),
            target: None,
            records: 1,
        }
    }

    /// A Firehose `PutRecordBatch` of `records` copies of `data`.
    pub(crate) fn firehose_batch(data: &str, records: usize) -> Self {
        Self {
            body: Bytes::from(firehose::batch_body("ceiling", data, records)),
            target: Some(firehose::PUT_RECORD_BATCH),
            records: records as u64,
        }
    }

    fn request(&self, addr: SocketAddr) -> Result<Request<Full<Bytes>>, String> {
        let mut request = Request::post("/").header(hyper::header::HOST, addr.to_string());
        request = match self.target {
            Some(target) => request
                .header(CONTENT_TYPE, firehose::CONTENT_TYPE)
                .header(AMZ_TARGET, target),
            None => request.header(CONTENT_TYPE, "application/json"),
        };
        request
            .body(Full::new(self.body.clone()))
            .map_err(|e| format!("cannot build the ceiling request: {e}"))
    }
}

/// The sink's ceiling: requests per second the bench's own raw client gets through.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ceiling {
    /// Requests answered with a 2xx.
    pub(crate) requests: u64,
    /// Records per request.
    pub(crate) records_per_request: u64,
    /// How long they took.
    pub(crate) seconds: f64,
}

impl Ceiling {
    /// Requests per second.
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }

    /// Records per second (requests per second for single-record payloads).
    pub(crate) fn records_per_second(&self) -> f64 {
        (self.requests * self.records_per_request) as f64 / self.seconds
    }
}

/// Posts `payload` over `connections` kept-alive HTTP/1.1 connections as fast as the sink
/// answers, until `duration` has passed or `max_requests` were sent (the `wrk -t1 -c32`
/// line of the baseline's README, in-process). Runs on the calling runtime.
pub(crate) async fn ceiling(
    base_url: &str,
    payload: &Payload,
    connections: usize,
    duration: Duration,
    max_requests: u64,
) -> Result<Ceiling, String> {
    let addr: SocketAddr = base_url
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("bad sink address {base_url}: {e}"))?;
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let payload = payload.clone();
        let sent = sent.clone();
        tasks.spawn(async move { post_loop(addr, payload, sent, deadline, max_requests).await });
    }
    let mut requests = 0;
    while let Some(done) = tasks.join_next().await {
        requests += done.map_err(|e| format!("a ceiling connection failed: {e}"))??;
    }
    Ok(Ceiling {
        requests,
        records_per_request: payload.records,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One connection's share of [`ceiling`]: its count of 2xx replies.
async fn post_loop(
    addr: SocketAddr,
    payload: Payload,
    sent: Arc<AtomicU64>,
    deadline: Instant,
    max_requests: u64,
) -> Result<u64, String> {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("cannot connect to the sink: {e}"))?;
    let _ = stream.set_nodelay(true);
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| format!("HTTP handshake with the sink failed: {e}"))?;
    let driver = tokio::spawn(connection);
    let mut ok = 0;
    while Instant::now() < deadline && sent.fetch_add(1, Ordering::Relaxed) < max_requests {
        let request = payload.request(addr)?;
        sender
            .ready()
            .await
            .map_err(|e| format!("the sink closed a connection: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("a ceiling request failed: {e}"))?;
        let status = response.status();
        response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("cannot read the sink's reply: {e}"))?;
        if !status.is_success() {
            return Err(format!("the sink answered {status}"));
        }
        ok += 1;
    }
    drop(sender);
    driver.abort();
    Ok(ok)
}
