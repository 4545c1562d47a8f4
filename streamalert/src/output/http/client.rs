//! The process-wide clients (hyper's pooled HTTP/1.1 client on rustls): one that verifies TLS
//! certificates and, built only when a descriptor opts out (spec decision Q8), one that does
//! not.

use super::tls;
use crate::output::{DispatchError, ErrorKind};
use http_body_util::Full;
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
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

/// How long establishing a connection (TCP and TLS) may take: StreamAlert's 3.05 s.
pub const CONNECT_TIMEOUT: Duration = Duration::from_millis(3050);

/// How long an unused pooled connection is kept.
const POOL_IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A pooled client sending whole bodies over HTTP/1.1, plain or TLS.
pub(crate) type Client =
    hyper_util::client::legacy::Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

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
        cell.get_or_init(|| build(tls_verify, self.idle_timeout))
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
fn build(tls_verify: bool, idle_timeout: Option<Duration>) -> Built {
    let tls = tls::client_config(tls_verify).map_err(|e| e.to_string())?;
    let mut tcp = HttpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(tcp);
    Ok(
        hyper_util::client::legacy::Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(idle_timeout)
            .build(connector),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clients_build_once() {
        let a = shared(true).unwrap() as *const Client;
        let b = shared(true).unwrap() as *const Client;
        assert_eq!(a, b);
        assert!(shared(false).is_ok());
    }
}
