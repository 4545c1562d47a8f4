//! The pages' common parts: escaping, the layout and the embedded stylesheet.

use axum::response::Html;
use std::fmt::Write as _;

/// The stylesheet, served at `/console.css` (embedded: the console needs no file and no CDN).
pub(super) const STYLESHEET: &str = include_str!("console.css");

/// `text` with the characters that mean something in HTML escaped.
pub(super) fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// `text` encoded for a URL's path segment or query value.
pub(super) fn url_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            let _ = write!(encoded, "%{byte:02X}");
        }
    }
    encoded
}

/// A whole page: `title` (escaped) and `body` (HTML), with the navigation.
pub(super) fn layout(title: &str, body: &str) -> Html<String> {
    let title = escape(title);
    Html(format!(
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title} · streamalert console</title>\
         <link rel=\"stylesheet\" href=\"/console.css\"></head><body>\
         <nav><a href=\"/\" class=\"brand\">streamalert console</a>\
         <a href=\"/deliveries?state=failed\">failed</a>\
         <a href=\"/deliveries?state=dead\">dead</a>\
         <a href=\"/deliveries?state=pending\">pending</a>\
         <a href=\"/deliveries?state=quarantined\">quarantined</a>\
         <a href=\"/deliveries\">all</a></nav>\
         <main><h1>{title}</h1>\n{body}</main></body></html>\n"
    ))
}

/// A POST form of one button carrying the CSRF token and `fields` (name, value).
pub(super) fn action(path: &str, csrf: &str, fields: &[(&str, &str)], label: &str) -> String {
    let mut form = format!(
        "<form method=\"post\" action=\"{path}\" class=\"action\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(csrf)
    );
    for (name, value) in fields {
        let _ = write!(
            form,
            "<input type=\"hidden\" name=\"{name}\" value=\"{}\">",
            escape(value)
        );
    }
    let _ = write!(
        form,
        "<button type=\"submit\">{}</button></form>",
        escape(label)
    );
    form
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_leaves_no_markup() {
        assert_eq!(
            escape(r#"<script>alert("x&'y")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;&#39;y&quot;)&lt;/script&gt;"
        );
        assert_eq!(url_encode("slack:ops team/1"), "slack%3Aops%20team%2F1");
    }
}
