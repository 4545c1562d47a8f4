//! Shared by the AWS test binaries (`aws_outputs`, `aws_ledger`): the moto endpoint, AWS
//! configurations for it and for local HTTP captures, the output vectors.
#![allow(dead_code, unreachable_pub, clippy::unwrap_used)]

use serde_json::Value;
use streamalert::Alert;
use streamalert::aws::{Aws, AwsSettings, StaticCredentials};

/// The variable `scripts/moto-server.sh start` exports.
pub const ENDPOINT_VAR: &str = "STREAMALERT_TEST_AWS_ENDPOINT";

/// The moto endpoint. Missing: a failure under CI (`CI=true`), else a notice and `None` (the
/// test then checks nothing and says so).
pub fn moto_endpoint(test: &str) -> Option<String> {
    match std::env::var(ENDPOINT_VAR) {
        Ok(endpoint) if !endpoint.is_empty() => Some(endpoint),
        _ if std::env::var("CI").is_ok_and(|v| v == "true") => panic!(
            "{test}: {ENDPOINT_VAR} is not set, and CI=true requires the AWS tests to run: \
             start moto with `eval \"$(scripts/moto-server.sh start)\"` before `cargo test`"
        ),
        _ => {
            eprintln!(
                "SKIPPED {test}: {ENDPOINT_VAR} is not set; run `eval \"$(scripts/moto-server.sh start)\"` first"
            );
            None
        }
    }
}

/// Settings for a local endpoint: static test credentials, us-east-1, the vectors' account, one
/// attempt per request (the vectors' harness).
pub fn local_settings(endpoint: &str) -> AwsSettings {
    AwsSettings::from_env()
        .with_region("us-east-1")
        .with_account_id("123456789012")
        .with_endpoint(endpoint)
        .with_credentials(StaticCredentials::new("testing", "testing"))
        .with_max_attempts(1)
}

/// An [`Aws`] for a local endpoint.
pub async fn local_aws(endpoint: &str) -> Aws {
    Aws::load(local_settings(endpoint)).await
}

/// The output vector `id`.
pub fn vector(id: &str) -> Value {
    let path = format!("{}/vectors/outputs/{id}.json", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// The vector's alert, built from its alerts-table item.
pub fn vector_alert(vector: &Value) -> Alert {
    Alert::from_item(&vector["alert_item"]).unwrap()
}

/// The vector's single call `index`.
pub fn call(vector: &Value, index: usize) -> &Value {
    &vector["expected"]["calls"][index]
}

/// A fresh name for a test resource.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid_like()[..12])
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:032x}", nanos ^ (u128::from(std::process::id()) << 64))
        .chars()
        .rev()
        .collect()
}

/// Decodes standard base64 (newlines ignored).
pub fn base64_decode(text: &str) -> Vec<u8> {
    let value = |c: u8| -> u32 {
        match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => panic!("not base64: {c}"),
        }
    };
    let clean: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    let mut out = Vec::new();
    for chunk in clean.chunks(4) {
        let pad = chunk.iter().filter(|&&c| c == b'=').count();
        let n = chunk
            .iter()
            .map(|&c| if c == b'=' { 0 } else { value(c) })
            .fold(0u32, |acc, v| (acc << 6) | v);
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        out.extend_from_slice(&bytes[..3 - pad]);
    }
    out
}

/// A parsed MIME entity: headers (in order) and body, or parts.
#[derive(Debug)]
pub struct Mime {
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub parts: Vec<Mime>,
}

impl Mime {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn header_names(&self) -> Vec<&str> {
        self.headers.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The decoded body (base64 or as is).
    pub fn decoded(&self) -> Vec<u8> {
        match self.header("Content-Transfer-Encoding") {
            Some("base64") => base64_decode(&self.body),
            _ => self.body.as_bytes().to_vec(),
        }
    }
}

/// Parses a MIME message written with `\n` line ends (Python's `as_string`).
pub fn parse_mime(text: &str) -> Mime {
    let (head, body) = text.split_once("\n\n").unwrap_or((text, ""));
    let headers: Vec<(String, String)> = head
        .lines()
        .map(|line| {
            let (n, v) = line.split_once(": ").unwrap();
            (n.to_owned(), v.to_owned())
        })
        .collect();
    let content_type = headers
        .iter()
        .find(|(n, _)| n == "Content-Type")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let mut mime = Mime {
        headers,
        body: body.to_owned(),
        parts: Vec::new(),
    };
    if content_type.starts_with("multipart/") {
        let boundary = content_type
            .split("boundary=\"")
            .nth(1)
            .and_then(|b| b.split('"').next())
            .unwrap()
            .to_owned();
        let delimiter = format!("--{boundary}");
        let closing = format!("\n--{boundary}--\n");
        assert!(
            body.ends_with(&closing),
            "multipart body ends with {closing:?}"
        );
        let inner = &body[..body.len() - closing.len()];
        let inner = inner.strip_prefix(&format!("{delimiter}\n")).unwrap();
        mime.parts = inner
            .split(&format!("\n{delimiter}\n"))
            .map(parse_mime)
            .collect();
    }
    mime
}
