//! Connections: straight to the destination, or through the proxy the environment names for
//! it (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY` and `NO_PROXY`, upper or lower case, read as
//! curl reads them, once per process). An `https` destination is reached through a `CONNECT`
//! tunnel (TLS then runs end to end, through the proxy); a plain `http` one is asked of the
//! proxy itself. A proxy URL's `user:password` is sent as `Proxy-Authorization: Basic`.

use hyper::Uri;
use hyper::header::HeaderValue;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll};
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The proxies the environment names, read on first use.
pub(super) fn from_env() -> &'static Matcher {
    static PROXIES: OnceLock<Matcher> = OnceLock::new();
    PROXIES.get_or_init(Matcher::from_env)
}

/// The `Proxy-Authorization` a request to `uri` carries: only a plain `http` request asked of a
/// proxy with credentials (a tunnel's proxy gets them on `CONNECT`, never the destination).
pub(super) fn proxy_authorization(proxies: &Matcher, uri: &Uri) -> Option<HeaderValue> {
    if uri.scheme_str() != Some("http") {
        return None;
    }
    proxies.intercept(uri)?.basic_auth().cloned()
}

/// Opens TCP connections, through a proxy where the environment names one.
#[derive(Clone)]
pub(super) struct Connector {
    tcp: HttpConnector,
    proxies: &'static Matcher,
}

impl Connector {
    /// A connector over `tcp` through `proxies` (usually [`from_env`]).
    pub(super) fn new(tcp: HttpConnector, proxies: &'static Matcher) -> Self {
        Self { tcp, proxies }
    }
}

impl Service<Uri> for Connector {
    type Response = Stream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Stream, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let tcp = self.tcp.clone();
        let proxy = self.proxies.intercept(&destination);
        Box::pin(connect(tcp, proxy, destination))
    }
}

/// Opens the connection for `destination`: straight to it, through a `CONNECT` tunnel of
/// `proxy` (`https`), or to `proxy` itself (`http`).
async fn connect(
    mut tcp: HttpConnector,
    proxy: Option<Intercept>,
    destination: Uri,
) -> Result<Stream, BoxError> {
    let Some(proxy) = proxy else {
        return Ok(Stream::new(tcp.call(destination).await?, false));
    };
    if proxy.uri().scheme_str() != Some("http") {
        let host = proxy.uri().host().unwrap_or_default();
        return Err(format!(
            "the proxy at {host} is not an http:// proxy (the only kind supported)"
        )
        .into());
    }
    if destination.scheme_str() == Some("https") {
        let mut tunnel = Tunnel::new(proxy.uri().clone(), tcp);
        if let Some(auth) = proxy.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        return Ok(Stream::new(tunnel.call(destination).await?, false));
    }
    Ok(Stream::new(tcp.call(proxy.uri().clone()).await?, true))
}

/// A TCP connection, to the destination (or a tunnel to it) or to a proxy that forwards plain
/// `http` requests (which are then written with their whole URL).
pub(super) struct Stream {
    io: TokioIo<TcpStream>,
    to_proxy: bool,
}

impl Stream {
    fn new(io: TokioIo<TcpStream>, to_proxy: bool) -> Self {
        Self { io, to_proxy }
    }
}

impl Connection for Stream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.to_proxy)
    }
}

impl Read for Stream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Stream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
