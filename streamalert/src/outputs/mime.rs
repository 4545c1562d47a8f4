//! The email `aws-ses` and `smtp` send: a `multipart/mixed` MIME message laid out as Python's
//! `email` package writes it (StreamAlert's `SESOutput`).

use crate::alert::Alert;
use crate::json::{PythonJson, py_str};
use crate::publisher::Publication;
use serde_json::Value;

/// The body of the email when the publication sets none.
pub(crate) const DEFAULT_BODY: &str = "Please review the attached record.json";

/// The MIME message for `alert`, reading the `@<service>.subject`, `.body`, `.attach_record`
/// and `.attachments` keys of `publication`: `record.json` (the record as
/// `json.dumps(sort_keys=True, indent=2)`, base64) unless `attach_record` is falsy, one
/// attachment per entry of `attachments` (`{"name": "content"}`), then the body (`text/plain`,
/// or a map of subtypes as `multipart/alternative`). The subject defaults to
/// `<rule_name> triggered alert <alert_id>`. Lines end with `\n`.
pub(crate) fn message(
    service: &str,
    alert: &Alert,
    publication: &Publication,
    from: &str,
    to: &str,
) -> String {
    let field = |name: &str| publication.get(&format!("@{service}.{name}"));
    let subject = match field("subject") {
        Some(value) => py_str(value),
        None => format!("{} triggered alert {}", alert.rule_name, alert.alert_id),
    };
    let mut parts = Vec::new();
    let attach_record = field("attach_record").is_none_or(|v| !crate::alert::is_falsy(v));
    if attach_record {
        let record = PythonJson::pretty(2).sort_keys().dump(&alert.record);
        parts.push(attachment("record.json", record.as_bytes()));
    }
    if let Some(Value::Object(files)) = field("attachments") {
        for (name, content) in files {
            let content = match content {
                Value::String(text) => text.clone(),
                other => py_str(other),
            };
            parts.push(attachment(name, content.as_bytes()));
        }
    }
    match field("body") {
        Some(Value::Object(alternatives)) => {
            let texts = alternatives
                .iter()
                .map(|(subtype, text)| text_part(subtype, &py_str(text)))
                .collect();
            parts.push(multipart("alternative", &[], texts));
        }
        Some(other) => parts.push(text_part("plain", &py_str(other))),
        None => parts.push(text_part("plain", DEFAULT_BODY)),
    }
    let headers = [
        ("To", to.to_owned()),
        ("From", from.to_owned()),
        ("Subject", encode_header(&subject)),
    ];
    multipart("mixed", &headers, parts)
}

/// `===============<19 random digits>==`, as Python's `email.generator` makes boundaries.
fn boundary() -> String {
    let random = uuid::Uuid::new_v4().as_u128() % 10u128.pow(19);
    format!("==============={random:019}==")
}

/// A MIME part: its headers and its body, as written.
fn multipart(subtype: &str, extra_headers: &[(&str, String)], parts: Vec<String>) -> String {
    let boundary = boundary();
    let mut out =
        format!("Content-Type: multipart/{subtype}; boundary=\"{boundary}\"\nMIME-Version: 1.0\n");
    for (name, value) in extra_headers {
        out.push_str(&format!("{name}: {value}\n"));
    }
    out.push('\n');
    for (index, part) in parts.iter().enumerate() {
        if index > 0 {
            out.push('\n');
        }
        out.push_str(&format!("--{boundary}\n"));
        out.push_str(part);
    }
    out.push_str(&format!("\n--{boundary}--\n"));
    out
}

/// `MIMEApplication(content)` with `Content-Disposition: attachment; filename="<name>"`.
fn attachment(name: &str, content: &[u8]) -> String {
    format!(
        "Content-Type: application/octet-stream\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"{}\"\n\n{}",
        name.replace('"', "\\\""),
        base64_lines(content)
    )
}

/// `MIMEText(text, subtype)`: us-ascii and 7bit when possible, else utf-8 and base64.
fn text_part(subtype: &str, text: &str) -> String {
    if text.is_ascii() {
        format!(
            "Content-Type: text/{subtype}; charset=\"us-ascii\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 7bit\n\n{text}"
        )
    } else {
        format!(
            "Content-Type: text/{subtype}; charset=\"utf-8\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n{}",
            base64_lines(text.as_bytes())
        )
    }
}

/// A header value: as is when ASCII, else an RFC 2047 encoded word.
fn encode_header(value: &str) -> String {
    if value.is_ascii() {
        value.to_owned()
    } else {
        format!("=?utf-8?b?{}?=", base64(value.as_bytes()))
    }
}

/// Standard base64 with padding.
fn base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Base64 in lines of 76 characters, each ending with a newline (Python's `encodebytes`).
fn base64_lines(bytes: &[u8]) -> String {
    let encoded = base64(bytes);
    let mut out = String::with_capacity(encoded.len() + encoded.len() / 76 + 1);
    for line in encoded.as_bytes().chunks(76) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_python() {
        assert_eq!(base64(b""), "");
        assert_eq!(base64(b"f"), "Zg==");
        assert_eq!(base64(b"fo"), "Zm8=");
        assert_eq!(base64(b"foo"), "Zm9v");
        assert_eq!(base64("café".as_bytes()), "Y2Fmw6k=");
        let long = base64_lines(&[b'x'; 100]);
        assert_eq!(long.lines().map(str::len).collect::<Vec<_>>(), [76, 60]);
        assert!(long.ends_with('\n'));
    }

    #[test]
    fn boundaries_have_python_shape() {
        let b = boundary();
        assert_eq!(b.len(), 15 + 19 + 2);
        assert!(b[15..34].bytes().all(|c| c.is_ascii_digit()));
    }
}
