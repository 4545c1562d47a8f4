//! The `smtp` output against a real SMTP relay: aiosmtpd, which `scripts/smtp-server.sh`
//! starts (STARTTLS on one port, TLS from the first byte on another, a self-signed
//! certificate, AUTH required) and which writes every message it accepts to a JSON file.
//! Without `STREAMALERT_TEST_SMTP_*` the tests print a notice and check nothing (under
//! `CI=true` they fail).

use crate::support::saas::{self, Logs, assert_no_secret};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::time::Duration;
use streamalert::output::{Credentials, ErrorKind};
use streamalert::{Alert, DispatchError, Publication};

/// The relay's account (set by `scripts/smtp-server.sh`).
const USER: &str = "alerts";
const PASSWORD: &str = "smtp-pa55word-secret";

/// The relay: its STARTTLS and TLS `host:port`s and the directory of received mail.
struct Relay {
    starttls: String,
    tls: String,
    maildir: PathBuf,
}

fn relay(test: &str) -> Option<Relay> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("STREAMALERT_TEST_SMTP_STARTTLS"),
        var("STREAMALERT_TEST_SMTP_TLS"),
        var("STREAMALERT_TEST_SMTP_MAILDIR"),
    ) {
        (Some(starttls), Some(tls), Some(maildir)) => Some(Relay {
            starttls,
            tls,
            maildir: maildir.into(),
        }),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test}: STREAMALERT_TEST_SMTP_* are not set, and CI=true requires the SMTP tests to \
             run: start the relay with `eval \"$(scripts/smtp-server.sh start)\"` first"
        ),
        _ => {
            eprintln!(
                "SKIPPED {test}: STREAMALERT_TEST_SMTP_* are not set; run `eval \"$(scripts/smtp-server.sh start)\"` first"
            );
            None
        }
    }
}

/// Credentials for `host:port` (`security` `starttls` or `tls`), the self-signed certificate
/// accepted (`tls_verify: false`).
fn smtp(address: &str, security: &str, password: &str) -> Credentials {
    let (host, port) = address.split_once(':').unwrap();
    Credentials::from_iter([
        ("host", host),
        ("port", port),
        ("security", security),
        ("username", USER),
        ("password", password),
        ("from_email", "streamalert@example.com"),
        ("to_emails", "soc@example.com, oncall@example.com"),
        ("tls_verify", "false"),
    ])
}

async fn dispatch(
    alert: &Alert,
    publication: &Publication,
    credentials: &Credentials,
) -> Result<(), DispatchError> {
    saas::dispatch_with(
        saas::single_attempt(),
        "smtp",
        "soc",
        alert,
        publication,
        credentials,
    )
    .await
}

/// The message the relay received whose data contains `marker` (waits up to 10 s).
async fn received(relay: &Relay, marker: &str) -> Value {
    for _ in 0..100 {
        for entry in std::fs::read_dir(&relay.maildir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let message: Value =
                    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
                if message["data"].as_str().unwrap().contains(marker) {
                    return message;
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the relay received no message containing {marker:?}");
}

/// A MIME part's body (after its blank line) up to the next boundary line.
fn part_body<'a>(data: &'a str, header: &str) -> &'a str {
    let start = data
        .find(header)
        .unwrap_or_else(|| panic!("no {header:?} in {data}"));
    let body = &data[start..];
    let body = &body[body.find("\r\n\r\n").unwrap() + 4..];
    &body[..body.find("\r\n--").unwrap()]
}

fn base64_decode(text: &str) -> String {
    use base64::Engine as _;
    let joined: String = text.split("\r\n").collect();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(joined)
            .unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn smtp_sends_the_ses_layout_over_starttls_with_auth() {
    let Some(relay) = relay("smtp_sends_the_ses_layout_over_starttls_with_auth") else {
        return;
    };
    let alert = Alert::new(
        "root_login",
        json!({"user": "root", "host": "web-1"}),
        ["smtp:soc"],
    );
    let publication = Publication::new();
    dispatch(
        &alert,
        &publication,
        &smtp(&relay.starttls, "starttls", PASSWORD),
    )
    .await
    .unwrap();
    let message = received(&relay, &alert.alert_id).await;
    assert_eq!(message["mode"], "starttls");
    assert_eq!(
        message["tls"], true,
        "upgraded with STARTTLS before the data"
    );
    assert_eq!(message["authenticated"], true);
    assert_eq!(message["mail_from"], "streamalert@example.com");
    assert_eq!(
        message["rcpt_tos"],
        json!(["soc@example.com", "oncall@example.com"])
    );
    let data = message["data"].as_str().unwrap();
    assert!(
        data.starts_with("Content-Type: multipart/mixed; boundary=\"==============="),
        "{data}"
    );
    assert!(
        data.contains("\r\nTo: soc@example.com, oncall@example.com\r\n"),
        "{data}"
    );
    assert!(
        data.contains("\r\nFrom: streamalert@example.com\r\n"),
        "{data}"
    );
    assert!(
        data.contains(&format!(
            "\r\nSubject: root_login triggered alert {}\r\n",
            alert.alert_id
        )),
        "{data}"
    );
    assert!(
        !data.replace("\r\n", "").contains('\n'),
        "every line ends with CRLF"
    );
    // The record, attached as sorted, indented JSON; then the default body.
    let record = part_body(
        data,
        "Content-Disposition: attachment; filename=\"record.json\"",
    );
    assert_eq!(
        base64_decode(record),
        "{\n  \"host\": \"web-1\",\n  \"user\": \"root\"\n}"
    );
    assert_eq!(
        part_body(data, "Content-Type: text/plain; charset=\"us-ascii\""),
        "Please review the attached record.json"
    );
}

#[tokio::test]
async fn smtp_over_implicit_tls_follows_the_publication_keys() {
    let Some(relay) = relay("smtp_over_implicit_tls_follows_the_publication_keys") else {
        return;
    };
    let alert = Alert::new("r", json!({"k": 1}), ["smtp:soc"]);
    let mut publication = Publication::new();
    publication.insert("@smtp.subject", format!("Root login ({})", alert.alert_id));
    publication.insert("@smtp.attach_record", false);
    publication.insert(
        "@smtp.body",
        json!({"html": "<p>Root login</p>", "plain": "Root login"}),
    );
    publication.insert("@smtp.attachments", json!({"notes.txt": "see the runbook"}));
    dispatch(&alert, &publication, &smtp(&relay.tls, "tls", PASSWORD))
        .await
        .unwrap();
    let message = received(&relay, &alert.alert_id).await;
    assert_eq!(message["mode"], "tls");
    assert_eq!(message["authenticated"], true);
    let data = message["data"].as_str().unwrap();
    assert!(
        data.contains(&format!("\r\nSubject: Root login ({})\r\n", alert.alert_id)),
        "{data}"
    );
    assert!(!data.contains("record.json"), "{data}");
    assert_eq!(
        base64_decode(part_body(
            data,
            "Content-Disposition: attachment; filename=\"notes.txt\""
        )),
        "see the runbook"
    );
    assert!(
        data.contains("Content-Type: multipart/alternative;"),
        "{data}"
    );
    assert_eq!(
        part_body(data, "Content-Type: text/html; charset=\"us-ascii\""),
        "<p>Root login</p>"
    );
}

#[tokio::test]
async fn smtp_a_wrong_password_is_final_and_never_shown() {
    let Some(relay) = relay("smtp_a_wrong_password_is_final_and_never_shown") else {
        return;
    };
    let alert = Alert::new("r", json!({}), ["smtp:soc"]);
    let wrong = "wr0ng-pa55word-secret";
    let logs = Logs::capture();
    let error = dispatch(
        &alert,
        &Publication::new(),
        &smtp(&relay.starttls, "starttls", wrong),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected, "{error}");
    assert!(error.is_permanent());
    assert!(
        error.message().starts_with("smtp:soc: 127.0.0.1:"),
        "{error}"
    );
    assert!(error.message().contains("535"), "{error}");
    let shown = format!("{error}\n{error:?}");
    assert_no_secret("error", &shown, &[wrong, PASSWORD]);
    assert_no_secret("log", &logs.text(), &[wrong, PASSWORD]);
}

#[tokio::test]
async fn smtp_verifies_certificates_unless_told_not_to_and_names_bad_settings() {
    let Some(relay) = relay("smtp_verifies_certificates_unless_told_not_to_and_names_bad_settings")
    else {
        return;
    };
    let alert = Alert::new("r", json!({}), ["smtp:soc"]);
    let publication = Publication::new();
    // The relay's certificate is self-signed: without `tls_verify: false` it is refused.
    let mut credentials = Credentials::default();
    for (key, value) in [
        ("host", "127.0.0.1"),
        ("port", relay.tls.split_once(':').unwrap().1),
        ("security", "tls"),
        ("from_email", "streamalert@example.com"),
        ("to_emails", "soc@example.com"),
    ] {
        credentials.insert(key, value);
    }
    let error = dispatch(&alert, &publication, &credentials)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Config, "{error}");
    assert!(error.is_permanent());

    for (key, value, expected) in [
        (
            "security",
            "none",
            "smtp:soc: the stored `security` must be `starttls` or `tls`, not \"none\"",
        ),
        (
            "port",
            "smtp",
            "smtp:soc: the stored `port` \"smtp\" is not a port number",
        ),
    ] {
        let mut bad = smtp(&relay.tls, "tls", PASSWORD);
        bad.insert(key, value);
        let error = dispatch(&alert, &publication, &bad).await.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Config);
        assert_eq!(error.message(), expected);
    }
    let mut bad = smtp(&relay.tls, "tls", PASSWORD);
    bad.insert("to_emails", "not an address");
    let error = dispatch(&alert, &publication, &bad).await.unwrap_err();
    assert!(
        error
            .message()
            .contains("the stored `to_emails` has an invalid address"),
        "{error}"
    );
}

#[tokio::test]
async fn smtp_without_a_username_sends_no_auth_and_an_unreachable_relay_is_retryable() {
    let Some(relay) =
        relay("smtp_without_a_username_sends_no_auth_and_an_unreachable_relay_is_retryable")
    else {
        return;
    };
    let alert = Alert::new("r", json!({}), ["smtp:soc"]);
    let publication = Publication::new();
    // The relay requires AUTH: a message without it is refused with a final 530.
    let mut anonymous = smtp(&relay.starttls, "starttls", PASSWORD);
    anonymous.insert("username", "");
    let error = dispatch(&alert, &publication, &anonymous)
        .await
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::Rejected, "{error}");
    assert!(error.message().contains("530"), "{error}");

    // Nothing listens on this port: the delivery fails, to be tried again later.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = closed.local_addr().unwrap().to_string();
    drop(closed);
    let error = dispatch(&alert, &publication, &smtp(&address, "tls", PASSWORD))
        .await
        .unwrap_err();
    assert!(error.is_retryable(), "{error}");
    assert!(!error.is_permanent());
}
