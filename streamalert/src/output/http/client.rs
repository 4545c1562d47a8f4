//! The process-wide clients (hyper's pooled HTTP/1.1 client on rustls): one that verifies TLS
//! certificates and, built only when a descriptor opts out (spec decision Q8), one that does
//! not.

use super::connect::{self, Connector};
use super::tls;
use crate::output::{DispatchError, ErrorKind};
use http_body_util::Full;
use hyper::Request;
use hyper::body::Bytes;
use hyper::header::PROXY_AUTHORIZATION;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::ResponseFuture;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::OnceLock;
use std::time::Duration;

/// The `User-Agent` of every request: `streamalert-rs/<version>` (GitHub rejects requests
/// without one).
///
/// ```
/// assert!(streamalert::output::http::USER_AGENT.starts_with("streamalert-rs/"));
/// ```
pub const USER_AGENT: &str = concat!("streamalert-rs/", env!("CARGO_PKG_VERSION"));

/// How long opening a TCP connection (to the destination, or to its proxy) may take:
/// StreamAlert's 3.05 s. The TLS handshake that follows counts against the attempt's timeout,
/// as it does in Python's `requests`.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3050);

/// How long an unused pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A pooled client sending whole bodies over HTTP/1.1, plain or TLS, through the proxies it
/// was built with.
#[derive(Clone)]
pub(crate) struct Client {
    pool: hyper_util::client::legacy::Client<HttpsConnector<Connector>, Full<Bytes>>,
    proxies: &'static Matcher,
}

impl Client {
    /// Sends `request`; one asked of a proxy carries the proxy's credentials.
    pub(crate) fn request(&self, mut request: Request<Full<Bytes>>) -> ResponseFuture {
        if let Some(auth) = connect::proxy_authorization(self.proxies, request.uri()) {
            request.headers_mut().insert(PROXY_AUTHORIZATION, auth);
        }
        self.pool.request(request)
    }
}

type Built = Result<Client, String>;

/// A verifying and a non-verifying client, each built on first use.
#[derive(Default)]
struct Clients {
    verifying: OnceLock<Built>,
    not_verifying: OnceLock<Built>,
    /// How long unused connections are kept; `None`: as long as the clients live (a scope's
    /// clients, so that no idle-eviction timer runs: on a paused test clock it would make
    /// time jump while a request waits for its server).
    idle_timeout: Option<Duration>,
}

impl Clients {
    fn get(&self, tls_verify: bool) -> Result<&Client, DispatchError> {
        let cell = if tls_verify {
            &self.verifying
        } else {
            &self.not_verifying
        };
        cell.get_or_init(|| build(tls_verify, self.idle_timeout, connect::from_env()))
            .as_ref()
            .map_err(|e| {
                DispatchError::new(
                    ErrorKind::Config,
                    format!("the HTTP client cannot be built: {e}"),
                )
            })
    }
}

tokio::task_local! {
    /// The clients of an [`HttpOverrides::own_connections`](super::HttpOverrides) scope.
    static SCOPED: Clients;
}

/// Runs `future` with clients (and so connection pools) of its own.
pub(crate) async fn scoped<F: std::future::Future>(future: F) -> F::Output {
    SCOPED.scope(Clients::default(), future).await
}

/// The client for `tls_verify`: the scope's own, else the process-wide one.
pub(crate) fn for_request(tls_verify: bool) -> Result<Client, DispatchError> {
    SCOPED
        .try_with(|clients| clients.get(tls_verify).cloned())
        .unwrap_or_else(|_| shared(tls_verify).cloned())
}

/// The process-wide client for `tls_verify`, built on first use.
pub(crate) fn shared(tls_verify: bool) -> Result<&'static Client, DispatchError> {
    static SHARED: OnceLock<Clients> = OnceLock::new();
    SHARED
        .get_or_init(|| Clients {
            idle_timeout: Some(POOL_IDLE_TIMEOUT),
            ..Clients::default()
        })
        .get(tls_verify)
}

/// Builds a client. Redirects are never followed (the client has no such layer): a webhook that
/// redirects is misconfigured, and following it could resend a secret body elsewhere.
fn build(tls_verify: bool, idle_timeout: Option<Duration>, proxies: &'static Matcher) -> Built {
    let tls = tls::client_config(tls_verify).map_err(|e| e.to_string())?;
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(Connector::new(tcp, proxies));
    let pool = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(idle_timeout)
        .build(connector);
    Ok(Client { pool, proxies })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::http::test_server::{self, reply};
    use http_body_util::BodyExt;

    /// A client through `proxies`, accepting any certificate.
    fn proxied(proxies: Matcher) -> Client {
        build(false, None, Box::leak(Box::new(proxies))).unwrap()
    }

    /// Posts `{}` to `url`; a request that hangs fails the test after 10 s.
    async fn post(client: &Client, url: &str) -> Result<String, hyper_util::client::legacy::Error> {
        let request = Request::post(url)
            .body(Full::new(Bytes::from_static(b"{}")))
            .unwrap();
        let response = tokio::time::timeout(Duration::from_secs(10), client.request(request))
            .await
            .expect("no reply within 10 s")?;
        let body = response.into_body().collect().await.unwrap().to_bytes();
        Ok(String::from_utf8(body.to_vec()).unwrap())
    }

    #[tokio::test]
    async fn https_goes_through_a_connect_tunnel_that_alone_gets_the_proxy_credentials() {
        let (server, reached) = test_server::start(vec![reply("200 OK", "", "ok")], true).await;
        let (proxy, asked) = test_server::proxy().await;
        let client = proxied(
            Matcher::builder()
                .https(format!("http://alice:pa55@{proxy}"))
                .build(),
        );
        let url = format!("https://localhost:{}/hook", server.port());
        assert_eq!(post(&client, &url).await.unwrap(), "ok");
        let asked = asked.all();
        assert_eq!(asked.len(), 1, "{asked:?}");
        let connect = format!(
            "CONNECT localhost:{0} HTTP/1.1\r\nHost: localhost:{0}\r\n",
            server.port()
        );
        assert!(asked[0].starts_with(&connect), "{asked:?}");
        // alice:pa55
        assert!(
            asked[0].contains("Proxy-Authorization: Basic YWxpY2U6cGE1NQ==\r\n"),
            "{asked:?}"
        );
        let reached = reached.all();
        assert!(
            reached[0].starts_with("POST /hook HTTP/1.1\r\n"),
            "{reached:?}"
        );
        assert!(
            !reached[0]
                .to_ascii_lowercase()
                .contains("proxy-authorization"),
            "{reached:?}"
        );
    }

    #[tokio::test]
    async fn plain_http_is_asked_of_the_proxy_by_its_whole_url_except_where_no_proxy_says() {
        let (server, reached) =
            test_server::start(vec![reply("200 OK", "", "direct")], false).await;
        let (proxy, asked) = test_server::proxy().await;
        let client = proxied(
            Matcher::builder()
                .all(format!("http://alice:pa55@{proxy}"))
                .no("127.0.0.1")
                .build(),
        );
        let proxied_url = "http://alerts.example.invalid:8080/hook?a=1";
        assert_eq!(post(&client, proxied_url).await.unwrap(), "via proxy");
        let asked = asked.all();
        let line = format!("POST {proxied_url} HTTP/1.1\r\n");
        assert!(asked[0].starts_with(&line), "{asked:?}");
        assert!(
            asked[0].contains("proxy-authorization: Basic YWxpY2U6cGE1NQ==\r\n"),
            "{asked:?}"
        );
        // 127.0.0.1 is in NO_PROXY: straight to the server, without the proxy's credentials.
        let direct = format!("http://127.0.0.1:{}/hook", server.port());
        assert_eq!(post(&client, &direct).await.unwrap(), "direct");
        let reached = reached.all();
        assert!(
            reached[0].starts_with("POST /hook HTTP/1.1\r\n"),
            "{reached:?}"
        );
        assert!(!reached[0].contains("proxy-authorization"), "{reached:?}");
    }

    #[tokio::test]
    async fn a_proxy_that_is_not_plain_http_is_named_and_refused() {
        let client = proxied(
            Matcher::builder()
                .https("https://proxy.example.invalid:3128")
                .build(),
        );
        let err = post(&client, "https://localhost:9/hook").await.unwrap_err();
        assert!(err.is_connect());
        let cause = std::error::Error::source(&err).unwrap().to_string();
        assert_eq!(
            cause,
            "the proxy at proxy.example.invalid is not an http:// proxy (the only kind supported)"
        );
    }

    #[test]
    fn both_clients_build_once() {
        let a = shared(true).unwrap() as *const Client;
        let b = shared(true).unwrap() as *const Client;
        assert_eq!(a, b);
        assert!(shared(false).is_ok());
    }
}
