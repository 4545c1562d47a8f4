//! The local HTTP sink the outputs deliver to, and the raw client that measures its ceiling.
//!
//! The sink answers every request like Slack and PagerDuty's Events API v2 accept one: `200`
//! with the JSON body `{"status":"success"}` (a Slack webhook only needs the 2xx; PagerDuty v2
//! also needs a non-empty JSON reply). It listens on `127.0.0.1` only, on a free port, and runs
//! on a runtime of its own with one worker thread (the nginx of the baseline's README runs one
//! worker too), so the client being measured never shares its threads with the sink.

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What the sink replies to every request.
const REPLY: &[u8] = br#"{"status":"success"}"#;

/// A running sink; dropping it stops it.
pub(crate) struct Sink {
    addr: SocketAddr,
    received: Arc<AtomicU64>,
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
        let received = Arc::new(AtomicU64::new(0));
        runtime.spawn(serve(listener, received.clone()));
        Ok(Self {
            addr,
            received,
            _runtime: runtime,
        })
    }

    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub(crate) fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests the sink has answered so far.
    pub(crate) fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }
}

async fn serve(listener: tokio::net::TcpListener, received: Arc<AtomicU64>) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let _ = stream.set_nodelay(true);
        let received = received.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let received = received.clone();
                async move {
                    // Read the whole body, as a real service does, before answering.
                    let _ = request.into_body().collect().await;
                    received.fetch_add(1, Ordering::Relaxed);
                    let mut response = Response::new(Full::new(Bytes::from_static(REPLY)));
                    *response.status_mut() = StatusCode::OK;
                    response.headers_mut().insert(
                        hyper::header::CONTENT_TYPE,
                        hyper::header::HeaderValue::from_static("application/json"),
                    );
                    Ok::<_, Infallible>(response)
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// The sink's ceiling: requests per second the bench's own raw client gets through.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ceiling {
    /// Requests answered with a 2xx.
    pub(crate) requests: u64,
    /// How long they took.
    pub(crate) seconds: f64,
}

impl Ceiling {
    /// Requests per second.
    pub(crate) fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Posts a fixed 1.5 KB JSON body over `connections` kept-alive HTTP/1.1 connections as fast as
/// the sink answers, until `duration` has passed or `max_requests` were sent (the `wrk -t1 -c32`
/// line of the baseline's README, in-process). Runs on the calling runtime.
pub(crate) async fn ceiling(
    base_url: &str,
    connections: usize,
    duration: Duration,
    max_requests: u64,
) -> Result<Ceiling, String> {
    let addr: SocketAddr = base_url
        .trim_start_matches("http://")
        .parse()
        .map_err(|e| format!("bad sink address {base_url}: {e}"))?;
    let body = Bytes::from(format!("{{\"payload\":\"{}\"}}", "x".repeat(1522)));
    let sent = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..connections.max(1) {
        let body = body.clone();
        let sent = sent.clone();
        tasks.spawn(async move { post_loop(addr, body, sent, deadline, max_requests).await });
    }
    let mut requests = 0;
    while let Some(done) = tasks.join_next().await {
        requests += done.map_err(|e| format!("a ceiling connection failed: {e}"))??;
    }
    Ok(Ceiling {
        requests,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// One connection's share of [`ceiling`]: its count of 2xx replies.
async fn post_loop(
    addr: SocketAddr,
    body: Bytes,
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
        let request = Request::post("/")
            .header(hyper::header::HOST, addr.to_string())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body.clone()))
            .map_err(|e| format!("cannot build the ceiling request: {e}"))?;
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
