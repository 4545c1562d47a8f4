//! Keeping secrets out of error messages and log lines.

use crate::output::Credentials;
use crate::text::quote_plus;
use secrecy::{ExposeSecret, SecretString};
use std::fmt;
use url::Url;

/// What replaces a secret.
pub(crate) const REDACTED: &str = "[REDACTED]";

/// Secret values shorter than this (in bytes) are not searched for: replacing every `"1"` or
/// `"yes"` in a message would garble it without protecting anything.
const MIN_SECRET_LEN: usize = 4;

/// Replaces every secret credential value found in a text.
///
/// A value that is an `http(s)` URL (a Slack or Teams webhook) keeps its scheme and host and
/// loses its path and query, wherever it appears: `https://hooks.slack.com/[REDACTED]`. Its
/// path and query alone, and the form-encoded form of other values (as they appear in query
/// strings), are replaced too.
#[derive(Clone, Default)]
pub(crate) struct Redactor {
    /// `(credential name, needle, replacement)`, longest needle first.
    rules: Vec<(String, SecretString, String)>,
}

impl Redactor {
    /// Redacts every value of `credentials` except those of `public` names.
    pub(crate) fn for_credentials(credentials: &Credentials, public: &[&str]) -> Self {
        let mut redactor = Self::default();
        for name in credentials.names().filter(|name| !public.contains(name)) {
            if let Some(value) = credentials.get(name) {
                redactor.add(name, value.expose_secret());
            }
        }
        redactor
    }

    /// Stops redacting the values of `names`.
    pub(crate) fn publish(&mut self, names: &[&str]) {
        self.rules
            .retain(|(name, _, _)| !names.contains(&name.as_str()));
    }

    /// Redacts `value` (the value of credential `name`) from now on.
    pub(crate) fn add(&mut self, name: &str, value: &str) {
        let mut push = |needle: &str, replacement: String| {
            if needle.len() >= MIN_SECRET_LEN
                && !self
                    .rules
                    .iter()
                    .any(|(_, n, _)| n.expose_secret() == needle)
            {
                self.rules
                    .push((name.to_owned(), SecretString::from(needle), replacement));
            }
        };
        match Url::parse(value.trim())
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
        {
            Some(url) => {
                let origin = url.origin().ascii_serialization();
                let replacement = format!("{origin}/{REDACTED}");
                push(value, replacement.clone());
                push(url.as_str(), replacement);
                let rest = &url.as_str()[origin.len()..];
                if rest.trim_matches('/').len() >= MIN_SECRET_LEN {
                    push(rest, format!("/{REDACTED}"));
                }
            }
            None => {
                push(value, REDACTED.to_owned());
                push(&quote_plus(value), REDACTED.to_owned());
            }
        }
        self.rules
            .sort_by_key(|(_, needle, _)| std::cmp::Reverse(needle.expose_secret().len()));
    }

    /// `text` with every secret replaced.
    pub(crate) fn redact(&self, text: &str) -> String {
        let mut text = text.to_owned();
        for (_, needle, replacement) in &self.rules {
            let needle = needle.expose_secret();
            if text.contains(needle) {
                text = text.replace(needle, replacement);
            }
        }
        text
    }

    /// A URL as it may be shown: user information removed, secrets redacted.
    pub(crate) fn url(&self, url: &Url) -> String {
        let mut shown = url.clone();
        // Both only fail for URLs that cannot have credentials, which then have none to remove.
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
        self.redact(shown.as_str())
    }
}

impl fmt::Debug for Redactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: std::collections::BTreeSet<&str> = self
            .rules
            .iter()
            .map(|(name, _, _)| name.as_str())
            .collect();
        f.debug_struct("Redactor").field("redacts", &names).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credentials() -> Credentials {
        Credentials::from_iter([
            ("url", "https://hooks.slack.com/services/T000/B000/XXXX"),
            ("token", "tok en/secret"),
            ("api", "https://api.pagerduty.com"),
            ("short", "yes"),
        ])
    }

    #[test]
    fn webhook_urls_keep_their_host_and_lose_their_path() {
        let r = Redactor::for_credentials(&credentials(), &["api"]);
        assert_eq!(
            r.redact("POST https://hooks.slack.com/services/T000/B000/XXXX failed"),
            "POST https://hooks.slack.com/[REDACTED] failed"
        );
        assert_eq!(
            r.redact("path /services/T000/B000/XXXX"),
            "path /[REDACTED]"
        );
    }

    #[test]
    fn plain_values_and_their_query_form_are_replaced() {
        let r = Redactor::for_credentials(&credentials(), &["api"]);
        assert_eq!(
            r.redact("token tok en/secret, q=tok+en%2Fsecret"),
            "token [REDACTED], q=[REDACTED]"
        );
    }

    #[test]
    fn public_and_short_values_are_kept() {
        let mut r = Redactor::for_credentials(&credentials(), &["api"]);
        assert_eq!(
            r.redact("https://api.pagerduty.com/users yes"),
            "https://api.pagerduty.com/users yes"
        );
        r.publish(&["token"]);
        assert_eq!(r.redact("tok en/secret"), "tok en/secret");
    }

    #[test]
    fn only_http_urls_keep_their_host() {
        let credentials = Credentials::from_iter([("drop", "ftp://files.example.com/drop/s3cr3t")]);
        let r = Redactor::for_credentials(&credentials, &[]);
        assert_eq!(
            r.redact("put ftp://files.example.com/drop/s3cr3t failed"),
            "put [REDACTED] failed"
        );
    }

    #[test]
    fn shown_urls_lose_user_information() {
        let r = Redactor::default();
        let url = Url::parse("https://user:pass@example.com/x?q=1").unwrap();
        assert_eq!(r.url(&url), "https://example.com/x?q=1");
    }

    #[test]
    fn debug_shows_names_only() {
        let r = Redactor::for_credentials(&credentials(), &[]);
        let debug = format!("{r:?}");
        assert!(debug.contains("token"));
        assert!(
            !debug.contains("secret") && !debug.contains("XXXX"),
            "{debug}"
        );
    }
}
