//! Who may use the console: loopback by default, a bearer token otherwise, and a CSRF token
//! on every action.

use super::app::Console;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse as _, Response};
use base64::Engine as _;
use secrecy::{ExposeSecret as _, SecretString};
use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use subtle::ConstantTimeEq as _;

/// The token requests must present (read from `--token-file`); never shown by `Debug`.
pub(super) struct Token(SecretString);

impl Token {
    /// Reads the token from `path` (surrounding whitespace removed); an empty file is an error.
    pub(super) fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            format!(
                "console: cannot read the token file {}: {e}",
                path.display()
            )
        })?;
        let token = text.trim();
        if token.is_empty() {
            return Err(format!(
                "console: the token file {} is empty",
                path.display()
            ));
        }
        Ok(Self(SecretString::from(token)))
    }

    /// True when `presented` is the token (compared in constant time).
    pub(super) fn matches(&self, presented: &str) -> bool {
        secret_eq(self.0.expose_secret(), presented)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token([REDACTED])")
    }
}

/// `a == b`, in a time that does not depend on where they differ.
pub(super) fn secret_eq(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Refuses a `listen` address that is not loopback unless requests must present a token.
pub(super) fn check_listen(listen: SocketAddr, with_token: bool) -> Result<(), String> {
    if listen.ip().is_loopback() || with_token {
        Ok(())
    } else {
        Err(format!(
            "console: --listen {listen} is not a loopback address: give --token-file FILE too, \
             so that every request must present its token (or listen on 127.0.0.1)"
        ))
    }
}

/// Who made a request, for the log of actions: the peer's address and how it was admitted.
#[derive(Debug, Clone)]
pub(super) struct Operator {
    peer: Option<SocketAddr>,
    identity: &'static str,
}

impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.peer {
            Some(peer) => write!(f, "{peer} ({})", self.identity),
            None => write!(f, "unknown peer ({})", self.identity),
        }
    }
}

/// The token `request` presents: `Bearer TOKEN`, or Basic with the token as password.
fn presented(request: &Request) -> Option<String> {
    let value = request
        .headers()
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, credentials) = value.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        return Some(credentials.trim().to_owned());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        let decoded = base64::engine::general_purpose::STANDARD
            .decode(credentials.trim())
            .ok()?;
        let decoded = String::from_utf8(decoded).ok()?;
        return decoded
            .split_once(':')
            .map(|(_, password)| password.to_owned());
    }
    None
}

/// Admits a request when no token is required, or when it presents the token (401 otherwise),
/// and records who made it ([`Operator`]) for the handlers.
pub(super) async fn admit(
    State(console): State<Console>,
    mut request: Request,
    next: Next,
) -> Response {
    let identity = match console.token() {
        None => "loopback",
        Some(token) if presented(&request).is_some_and(|p| token.matches(&p)) => "token",
        Some(_) => {
            let mut response = (
                StatusCode::UNAUTHORIZED,
                "this console requires its token: Authorization: Bearer TOKEN (or Basic, with the token as password)\n",
            )
                .into_response();
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"streamalert console\""),
            );
            return response;
        }
    };
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0);
    request.extensions_mut().insert(Operator { peer, identity });
    let mut response = next.run(request).await;
    // No framing (clickjacking), no script, forms posted only to the console itself.
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_non_loopback_address_requires_a_token() {
        let any: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let error = check_listen(any, false).unwrap_err();
        assert!(
            error.contains("--listen 0.0.0.0:8080") && error.contains("--token-file"),
            "{error}"
        );
        assert_eq!(check_listen(any, true), Ok(()));
        for loopback in ["127.0.0.1:8080", "[::1]:9000", "127.0.0.2:1"] {
            assert_eq!(
                check_listen(loopback.parse().unwrap(), false),
                Ok(()),
                "{loopback}"
            );
        }
    }

    #[test]
    fn tokens_are_read_trimmed_never_empty_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "s3cret-token\n").unwrap();
        let token = Token::read(&path).unwrap();
        assert!(token.matches("s3cret-token"));
        assert!(!token.matches("s3cret-toke"));
        assert!(!token.matches("s3cret-token\n"));
        assert!(!format!("{token:?}").contains("s3cret"));
        std::fs::write(&path, " \n").unwrap();
        let error = Token::read(&path).unwrap_err();
        assert!(
            error.contains("is empty") && error.contains("token"),
            "{error}"
        );
        let error = Token::read(&dir.path().join("missing")).unwrap_err();
        assert!(error.contains("missing"), "{error}");
    }
}
