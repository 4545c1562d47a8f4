//! `smtp`: the alert emailed through an SMTP relay (STARTTLS or implicit TLS, optional
//! authentication), as `aws-ses` lays its email out.

use super::mime;
use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, ErrorKind, Output, OutputProperty};
use lettre::address::{Address, Envelope};
use lettre::transport::smtp::authentication::Credentials as SmtpCredentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use std::time::Duration;

const SERVICE: &str = "smtp";

/// How long one delivery may take (connect, TLS, authenticate, send).
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// Stored values that are configuration, shown in errors and logs (the password is redacted).
const PUBLIC: &[&str] = &[
    "host",
    "port",
    "security",
    "username",
    "from_email",
    "to_emails",
];

/// How the connection to the relay is encrypted. There is no plain-text mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// Plain connection upgraded with `STARTTLS`, which the relay must offer (port 587).
    StartTls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// Emails each alert through an SMTP relay.
///
/// Properties: `descriptor`; `host`; `port` (blank: 587 for `starttls`, 465 for `tls`);
/// `security` (`starttls`, the default, requires the relay to offer STARTTLS; `tls` is TLS
/// from the first byte; there is no unencrypted mode); `username` and `password` (masked,
/// secret, redacted from every error and log; a blank `username` sends no `AUTH`);
/// `from_email`; `to_emails` (comma-separated). Certificates are verified against Mozilla's
/// roots unless the descriptor stores `tls_verify: false` (as for the HTTP outputs).
///
/// The message is `aws-ses`'s: `multipart/mixed` with `record.json` attached (the record as
/// sorted, indented JSON) unless `@smtp.attach_record` is falsy, one attachment per entry of
/// `@smtp.attachments` (`{"name": "content"}`), and the body (`@smtp.body`: text, or a map of
/// subtypes such as `{"html": …, "plain": …}` as `multipart/alternative`; default `Please
/// review the attached record.json`); the subject is `@smtp.subject` or `<rule_name> triggered
/// alert <alert_id>`. Lines end with CRLF.
///
/// One attempt per delivery, within [`SMTP_TIMEOUT`]: a 5xx reply (a refused recipient, bad
/// credentials) or a TLS failure is final; a 4xx reply, a timeout or a lost connection fails
/// the delivery for the processor to try again later.
///
/// ```
/// use streamalert::{Output, outputs::Smtp};
/// let password = Smtp.properties().into_iter().find(|p| p.name == "password").unwrap();
/// assert!(password.mask && password.secret);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "smtp", builtin)]
pub struct Smtp;

#[async_trait::async_trait]
impl Output for Smtp {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor(
                "a short and unique descriptor for this SMTP relay (ie: team name)",
            ),
            OutputProperty::new("host", "the SMTP relay's host name (ie: smtp.example.com)")
                .secret(),
            OutputProperty::new(
                "port",
                "the SMTP relay's port (leave blank for 587 with starttls, 465 with tls)",
            )
            .secret(),
            OutputProperty::new(
                "security",
                "starttls (leave blank) or tls (TLS from the first byte, usually port 465)",
            )
            .secret(),
            OutputProperty::new(
                "username",
                "the user name to authenticate with (leave blank for none)",
            )
            .secret()
            .forbidding(&[' ']),
            OutputProperty::new("password", "the password to authenticate with")
                .masked()
                .secret()
                .forbidding(&[]),
            OutputProperty::new("from_email", "the email address to send from").secret(),
            OutputProperty::new(
                "to_emails",
                "the recipient email addresses, comma-separated",
            )
            .secret()
            .forbidding(&[]),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).public(PUBLIC);
        let config = |message: String| http.error(ErrorKind::Config, message);
        let host = http.credential("host")?.trim();
        let security = match optional(&http, "security") {
            None => Security::StartTls,
            Some(text) => match text.to_ascii_lowercase().as_str() {
                "starttls" => Security::StartTls,
                "tls" => Security::Tls,
                _ => {
                    return Err(config(format!(
                        "the stored `security` must be `starttls` or `tls`, not {text:?}"
                    )));
                }
            },
        };
        let port = match optional(&http, "port") {
            None if security == Security::Tls => 465,
            None => 587,
            Some(text) => text
                .parse::<u16>()
                .map_err(|_| config(format!("the stored `port` {text:?} is not a port number")))?,
        };
        let from = http.credential("from_email")?.trim();
        let to: Vec<&str> = http
            .credential("to_emails")?
            .split(',')
            .map(str::trim)
            .filter(|address| !address.is_empty())
            .collect();
        let address = |text: &str, key: &str| {
            text.parse::<Address>()
                .map_err(|e| config(format!("the stored `{key}` has an invalid address ({e})")))
        };
        let recipients = to
            .iter()
            .map(|text| address(text, "to_emails"))
            .collect::<Result<Vec<_>, _>>()?;
        let envelope = Envelope::new(Some(address(from, "from_email")?), recipients)
            .map_err(|e| config(format!("no recipient in the stored `to_emails` ({e})")))?;

        let message = mime::message(
            SERVICE,
            delivery.alert,
            delivery.publication,
            from,
            &to.join(", "),
        );
        let tls = TlsParameters::builder(host.to_owned())
            .dangerous_accept_invalid_certs(!http.tls_verify())
            .dangerous_accept_invalid_hostnames(!http.tls_verify())
            .build_rustls()
            .map_err(|e| config(format!("cannot set up TLS: {e}")))?;
        let mut transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .timeout(Some(SMTP_TIMEOUT))
            .tls(match security {
                Security::StartTls => Tls::Required(tls),
                Security::Tls => Tls::Wrapper(tls),
            });
        if let Some(username) = optional(&http, "username") {
            let password = http.credential("password")?;
            transport = transport.credentials(SmtpCredentials::new(
                username.to_owned(),
                password.to_owned(),
            ));
        }
        let transport: AsyncSmtpTransport<Tokio1Executor> = transport.build();
        let sent = tokio::time::timeout(
            SMTP_TIMEOUT,
            transport.send_raw(&envelope, crlf(&message).as_bytes()),
        )
        .await;
        match sent {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(error)) => Err(classify(&http, host, port, &error)),
            Err(_) => Err(http.error(
                ErrorKind::Timeout,
                format!(
                    "{host}:{port}: no answer within {} s; retryable",
                    SMTP_TIMEOUT.as_secs()
                ),
            )),
        }
    }
}

/// A stored value that is present and not blank.
fn optional<'a>(http: &Http<'a>, key: &str) -> Option<&'a str> {
    http.credential(key)
        .ok()
        .map(str::trim)
        .filter(|value| !value.is_empty())
}

/// `text` with every line ending as CRLF, as SMTP requires.
fn crlf(text: &str) -> String {
    text.replace("\r\n", "\n").replace('\n', "\r\n")
}

/// A failed send: 5xx replies, TLS failures (a certificate refused, as the HTTP layer judges
/// them) and client-side errors are final, the rest retryable.
fn classify(
    http: &Http<'_>,
    host: &str,
    port: u16,
    error: &lettre::transport::smtp::Error,
) -> DispatchError {
    let (kind, retryable) = if error.is_permanent() {
        (ErrorKind::Rejected, "not retryable")
    } else if error.is_tls()
        || error.is_client()
        || error
            .to_string()
            .to_ascii_lowercase()
            .contains("certificate")
    {
        (ErrorKind::Config, "not retryable")
    } else if error.is_timeout() {
        (ErrorKind::Timeout, "retryable")
    } else {
        (ErrorKind::Unavailable, "retryable")
    };
    http.error(kind, format!("{host}:{port}: {error}; {retryable}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_end_with_crlf_once() {
        assert_eq!(crlf("a\nb\r\nc\n"), "a\r\nb\r\nc\r\n");
    }
}
