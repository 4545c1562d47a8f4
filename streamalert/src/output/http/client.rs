//! The process-wide `reqwest` clients: one that verifies TLS certificates and, built only when
//! a descriptor opts out (spec decision Q8), one that does not.

use crate::output::{DispatchError, ErrorKind};
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

type Built = Result<reqwest::Client, String>;

/// The shared client for `tls_verify`, built on first use.
pub(crate) fn shared(tls_verify: bool) -> Result<&'static reqwest::Client, DispatchError> {
    static VERIFYING: OnceLock<Built> = OnceLock::new();
    static NOT_VERIFYING: OnceLock<Built> = OnceLock::new();
    let cell = if tls_verify {
        &VERIFYING
    } else {
        &NOT_VERIFYING
    };
    cell.get_or_init(|| build(tls_verify))
        .as_ref()
        .map_err(|e| {
            DispatchError::new(
                ErrorKind::Config,
                format!("the HTTP client cannot be built: {e}"),
            )
        })
}

fn build(tls_verify: bool) -> Built {
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .connect_timeout(CONNECT_TIMEOUT)
        .pool_idle_timeout(POOL_IDLE_TIMEOUT)
        // A webhook that redirects is misconfigured; following it could resend a secret body
        // elsewhere. A 3xx is reported as a final failure instead.
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .tls_danger_accept_invalid_certs(!tls_verify)
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_clients_build_once() {
        let a = shared(true).unwrap() as *const reqwest::Client;
        let b = shared(true).unwrap() as *const reqwest::Client;
        assert_eq!(a, b);
        assert!(shared(false).is_ok());
    }
}
