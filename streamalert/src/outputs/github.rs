//! `github`: a GitHub issue per alert (spec `outputs.md` §2.11).

use super::jira_common::{basic_authorization, with_derived_secrets};
use crate::alert::Alert;
use crate::json::PythonJson;
use crate::output::http::Http;
use crate::output::{Delivery, DispatchError, Output, OutputProperty};
use crate::publisher::Publication;
use serde_json::{Value, json};

const SERVICE: &str = "github";

/// The default property `api`: GitHub's REST API.
pub const GITHUB_API_URL: &str = "https://api.github.com";

/// Credentials of `github` that are configuration, not secrets.
const PUBLIC_CREDENTIALS: &[&str] = &["api", "repository", "labels", "username"];

/// Opens a GitHub issue for an alert.
///
/// Properties: `descriptor`; `repository` (`owner/name`); `labels` (comma separated, applied
/// on creation); `username`; `access_token` (masked) — all but the descriptor secret. The
/// default property `api` is [`GITHUB_API_URL`]; a stored `api` (GitHub Enterprise, e.g.
/// `https://ghe.example.com/api/v3`) overrides it (decision Q11).
///
/// Publication keys: `@github.title` (default `StreamAlert: <rule>`) and `@github.body`
/// (default [`default_body`]).
///
/// Request: `POST <api>/repos/<repository>/issues` with
/// `Authorization: Basic base64("<username>:<access_token>")` and
/// `{"title", "body", "labels": <labels split on ",">}`; any 2xx is success.
///
/// ```
/// use streamalert::{Output, outputs::Github};
/// let names: Vec<_> = Github.properties().iter().map(|p| p.name).collect();
/// assert_eq!(names, ["descriptor", "repository", "labels", "username", "access_token"]);
/// ```
#[derive(Debug, Default, Clone, Copy)]
#[crate::output(service = "github", builtin)]
pub struct Github;

#[async_trait::async_trait]
impl Output for Github {
    fn properties(&self) -> Vec<OutputProperty> {
        vec![
            OutputProperty::descriptor("a short and unique descriptor for this Github integration"),
            OutputProperty::new(
                "repository",
                "the repository for this integration in the form :username/:repository",
            )
            .secret(),
            OutputProperty::new(
                "labels",
                "a comma separated list of labels to apply to issues when they are created",
            )
            .secret(),
            OutputProperty::new("username", "the username for this integration").secret(),
            OutputProperty::new("access_token", "the access token for the integration")
                .masked()
                .secret(),
        ]
    }

    async fn dispatch(&self, delivery: &Delivery<'_>) -> Result<(), DispatchError> {
        let http = Http::new(SERVICE, delivery).public(PUBLIC_CREDENTIALS);
        let authorization = basic_authorization(
            http.credential("username")?,
            http.credential("access_token")?,
        );
        // The header value encodes the token: errors and logs redact it too.
        let credentials =
            with_derived_secrets(delivery.credentials, &[("authorization", &authorization)]);
        let delivery = delivery.with_credentials(&credentials);
        let http = Http::new(SERVICE, &delivery).public(PUBLIC_CREDENTIALS);
        let api = http.endpoint("api", GITHUB_API_URL)?;
        let repository = http.credential("repository")?;
        let url = Http::join(&api, &format!("repos/{repository}/issues"))?;
        let labels = http.credential("labels")?;
        let issue = issue(delivery.alert, delivery.publication, labels);
        http.post(url)
            .header("Authorization", authorization)
            .json(&issue)
            .send()
            .await
            .map(|_| ())
    }
}

/// The issue: `{"title", "body", "labels"}`, labels split on `,` without trimming (an empty
/// text gives `[""]`).
///
/// ```
/// use streamalert::{Alert, Publication, outputs::github::issue};
/// let alert = Alert::new("r", serde_json::json!({}), ["github:repo"]);
/// let mut publication = Publication::new();
/// publication.insert("@github.title", "Root login");
/// let issue = issue(&alert, &publication, "bug, p1");
/// assert_eq!(issue["title"], "Root login");
/// assert_eq!(issue["labels"], serde_json::json!(["bug", " p1"]));
/// ```
pub fn issue(alert: &Alert, publication: &Publication, labels: &str) -> Value {
    let title = publication
        .get("@github.title")
        .cloned()
        .unwrap_or_else(|| format!("StreamAlert: {}", alert.rule_name).into());
    let body = publication
        .get("@github.body")
        .cloned()
        .unwrap_or_else(|| default_body(alert).into());
    let labels: Vec<&str> = labels.split(',').collect();
    json!({"title": title, "body": body, "labels": labels})
}

/// The default issue body: the rule description and the alert's **record** (not the
/// publication) as `json.dumps(record, indent=2, sort_keys=True)` in a code block. A missing
/// description is written `None` (decision Q17).
///
/// ```
/// use streamalert::{Alert, outputs::github::default_body};
/// let alert = Alert::new("r", serde_json::json!({"b": 1, "a": [true]}), ["github:repo"]);
/// assert_eq!(
///     default_body(&alert),
///     "### Description\nNone\n\n### Event data\n\n```\n{\n  \"a\": [\n    true\n  ],\n  \"b\": 1\n}\n```"
/// );
/// ```
pub fn default_body(alert: &Alert) -> String {
    let description = alert.rule_description.as_deref().unwrap_or("None");
    let record = PythonJson::pretty(2).sort_keys().dump(&alert.record);
    format!("### Description\n{description}\n\n### Event data\n\n```\n{record}\n```")
}
